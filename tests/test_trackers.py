"""The logger group: MLflow (SQLite store) and W&B (offline) receive params, per-epoch metrics and files; an
unreachable tracker warns and the run directory is still complete."""
import csv

import pytest

from maze_cli import RunContext

SHORT = {"algorithm.n_epochs": 3, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 10,
         "algorithm.eval_repeats": 1, "algorithm.lr": 0.001}


def stats_rows(rc):
    with open(rc.run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_mlflow_sqlite_store_holds_params_every_epochs_metrics_and_the_files(run_root):
    from mlflow.tracking import MlflowClient
    rc = RunContext(overrides={**SHORT, "logger": ["csv", "mlflow"]}, output_dir=run_root / "outputs")
    rc.train()
    client = MlflowClient(tracking_uri=f"sqlite:///{run_root / 'outputs' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("maze_cli").experiment_id])
    assert run.info.run_name == rc.run_dir.name and run.info.status == "FINISHED"
    assert run.data.params["algorithm.lr"] == "0.001" and run.data.params["env._target_"]
    history = client.get_metric_history(run.info.run_id, "eval/episode_return_mean")
    rows = stats_rows(rc)
    assert [m.step for m in history] == [int(float(r["time/env_steps"])) for r in rows]
    assert [m.value for m in history] == pytest.approx([float(r["eval/episode_return_mean"]) for r in rows])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | \
        {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert {"config.yaml", "learning_curve.png", "checkpoints/best.pt"} <= artifacts
    assert not (rc.run_dir / "events.out.tfevents").exists() and not list(rc.run_dir.glob("events.*"))


def test_wandb_offline_writes_its_run_files(run_root):
    rc = RunContext(overrides={**SHORT, "logger": ["csv", "wandb"], "logger.wandb.mode": "offline"})
    rc.train()
    (offline,) = list((rc.run_dir / "wandb").glob("offline-run-*"))
    assert list(offline.glob("run-*.wandb")) and (offline / "files" / "config.yaml").is_file()


def test_an_unreachable_mlflow_server_warns_once_and_the_run_directory_is_complete(run_root):
    rc = RunContext(overrides={**SHORT, "logger": ["csv", "tensorboard", "mlflow"],
                               "logger.mlflow.tracking_uri": "http://127.0.0.1:9", "logger.mlflow.timeout_s": 2})
    rc.train()
    warnings = [line for line in (rc.run_dir / "maze_cli.log").read_text().splitlines() if "logger mlflow" in line]
    assert len(warnings) == 1 and "[WARNING]" in warnings[0] and "is complete" in warnings[0]
    assert len(stats_rows(rc)) == 3 and (rc.run_dir / "checkpoints" / "best.pt").is_file()
    assert list(rc.run_dir.glob("events.*")) and (rc.run_dir / "learning_curve.png").is_file()


def test_a_missing_tracker_library_names_its_extra_before_training(run_root, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ImportError, match=r'logger=wandb needs wandb, which is not installed: pip install "maze_cli\[wandb\]"'):
        RunContext(overrides={**SHORT, "logger": ["wandb"]}).train()


def test_a_sweep_logs_one_mlflow_run_per_job_tagged_with_the_sweep(run_root):
    from mlflow.tracking import MlflowClient
    from cli_helpers import maze_run
    args = ["--multirun", "logger=[csv,mlflow]", "seed=1,2"] + [f"{k}={v}" for k, v in SHORT.items()]
    result = maze_run(args, cwd=run_root)
    assert result.returncode == 0, result.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{run_root / 'multirun' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("maze_cli").experiment_id])
    sweep = next(run_root.glob("multirun/*/"))
    assert len(runs) == 2 and {r.data.tags["maze_cli.sweep"] for r in runs} == {str(sweep.relative_to(run_root))}
