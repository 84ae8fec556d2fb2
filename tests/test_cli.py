"""maze-run end to end: presets, run directory contract, CLI == RunContext, sweeps, resume, rollout, errors."""
import csv
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from cli_helpers import REPO, maze_run, only_run_dir
from maze_cli import RunContext
from maze_cli.build import build
from maze_cli.config_compose import compose_config

CONF = REPO / "conf"
GROUPS = ["env", "algorithm", "policy", "critic", "runner", "wrappers", "normalization"]
REQUIRED_ARGS = {("env", "gym"): ["env.name=CartPole-v1"], ("wrappers", "atari"): ["env=atari"],
                 ("algorithm", "bc"): ["algorithm.dataset=recorded/trajectories"]}
SHORT = ["algorithm.n_epochs=2", "algorithm.epoch_length=5", "algorithm.n_rollout_steps=20"]
RUN_FILES = [".hydra/config.yaml", "config.yaml", "stats.csv", "checkpoints/best.pt", "checkpoints/last.pt",
             "maze_cli.log", "learning_curve.png"]


def _presets():
    return [(group, path.stem) for group in GROUPS for path in sorted((CONF / group).glob("*.yaml"))]


@pytest.mark.parametrize("group, preset", _presets())
def test_every_preset_composes_and_instantiates(group, preset):
    cfg, choices = compose_config([f"{group}={preset}"] + REQUIRED_ARGS.get((group, preset), []))
    assert choices[group] == preset
    components = build(cfg)
    assert components.policy is not None and components.critic is not None
    components.probe_env.close()


def test_run_directory_contract(run_root):
    result = maze_run(["env=cartpole", "algorithm=a2c", "runner=dev"] + SHORT, cwd=run_root)
    assert result.returncode == 0, result.stderr
    run = only_run_dir(run_root)
    assert run.parent.name == "cartpole-a2c-dev"
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*"))
    rows = list(csv.DictReader(open(run / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"train/episode_return_mean", "eval/episode_return_mean", "losses/policy_loss",
            "time/env_steps"} <= rows[0].keys()
    assert OmegaConf.load(run / "config.yaml").seed == 1234
    checkpoint = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert {"policy", "critic", "optimizer", "epoch", "normalization"} <= checkpoint.keys()
    assert checkpoint["epoch"] == 2
    log = (run / "maze_cli.log").read_text()
    assert "epoch    2/2" in log and "epoch    2/2" in result.stderr + result.stdout


def test_cli_and_run_context_resolve_identically_and_train_identical_weights(run_root):
    overrides = SHORT + ["algorithm.lr=0.001", "seed=11"]
    result = maze_run(["env=cartpole", "algorithm=a2c", "runner=dev"] + overrides, cwd=run_root)
    assert result.returncode == 0, result.stderr
    cli_run = only_run_dir(run_root)

    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", output_dir=run_root / "py",
                    overrides={"algorithm.n_epochs": 2, "algorithm.epoch_length": 5,
                               "algorithm.n_rollout_steps": 20, "algorithm.lr": 1e-3, "seed": 11})
    rc.train()
    assert (rc.run_dir / "config.yaml").read_text() == (cli_run / "config.yaml").read_text()
    cli_weights = torch.load(cli_run / "checkpoints/last.pt", weights_only=True)["policy"]
    py_weights = torch.load(rc.run_dir / "checkpoints/last.pt", weights_only=True)["policy"]
    assert all(torch.equal(cli_weights[k], py_weights[k]) for k in cli_weights)


def test_multirun_writes_one_directory_per_job_and_a_summary_with_failures(run_root):
    result = maze_run(["--multirun", "algorithm.lr=0.001,-1", "seed=1,2"] + SHORT, cwd=run_root)
    assert result.returncode == 1, "a sweep with failed jobs exits non-zero"
    assert "Traceback" not in result.stderr
    sweep = next(run_root.glob("multirun/*"))
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    rows = list(csv.DictReader(open(sweep / "sweep_summary.csv")))
    assert len(rows) == 4
    by_status = {}
    for row in rows:
        by_status.setdefault(row["status"], []).append(row)
    assert len(by_status["completed"]) == 2 and len(by_status["failed"]) == 2
    assert all("algorithm.lr=-1" in r["overrides"] and "algorithm.lr=-1.0 is invalid" in r["error"]
               for r in by_status["failed"])
    for row in by_status["completed"]:
        assert float(row["best_eval_return"]) > 0 and int(row["env_steps"]) == 2 * 5 * 20 * 4
        assert (Path(row["run_dir"]) / "checkpoints/best.pt").is_file()
    assert "| 3 |" in (sweep / "sweep_summary.md").read_text()
    assert (sweep / "sweep_report.png").is_file() and (sweep / "experiment/best_experiment.yaml").is_file()
    # the two completed seeds of algorithm.lr=0.001 are one configuration: mean and std over seeds
    grouped = list(csv.DictReader(open(sweep / "sweep_by_config.csv")))
    assert len(grouped) == 1 and "seed=" not in grouped[0]["config"] and grouped[0]["seeds"] == "2"
    bests = [float(r["best_eval_return"]) for r in by_status["completed"]]
    assert float(grouped[0]["best_mean"]) == pytest.approx(sum(bests) / 2)
    assert float(grouped[0]["best_std"]) == pytest.approx(abs(bests[0] - bests[1]) / 2)
    assert "## Over seeds" in (sweep / "sweep_summary.md").read_text()


def test_resume_continues_epoch_count_and_optimizer_state(run_root):
    first = maze_run(SHORT + ["seed=5"], cwd=run_root)
    assert first.returncode == 0, first.stderr
    run = only_run_dir(run_root)
    resumed = maze_run(SHORT + ["seed=5", f"input_dir={run}"], cwd=run_root)
    assert resumed.returncode == 0, resumed.stderr
    new_run = next(p for p in run_root.glob("outputs/*/*") if p != run)
    rows = list(csv.DictReader(open(new_run / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]  # the epoch count goes on; earlier rows carried over
    assert int(rows[-1]["time/env_steps"]) == 4 * 5 * 20 * 4
    before = torch.load(run / "checkpoints/last.pt", weights_only=True)["optimizer"]["state"]
    after = torch.load(new_run / "checkpoints/last.pt", weights_only=True)["optimizer"]["state"]
    assert int(before[0]["step"]) == 10 and int(after[0]["step"]) == 20


def test_resume_refuses_a_run_of_another_env(run_root):
    assert maze_run(SHORT, cwd=run_root).returncode == 0
    run = only_run_dir(run_root)
    result = maze_run(SHORT + ["env=acrobot", f"input_dir={run}"], cwd=run_root)
    assert result.returncode == 1
    assert "holds a run of env" in result.stderr and "Traceback" not in result.stderr


def test_rollout_reproduces_the_eval_return_within_noise(run_root):
    train = ["algorithm.n_epochs=3", "algorithm.deterministic_eval=true", "algorithm.eval_repeats=10"]
    assert maze_run(train, cwd=run_root).returncode == 0
    run = only_run_dir(run_root)
    best = max(float(r["eval/episode_return_mean"]) for r in csv.DictReader(open(run / "stats.csv")))
    result = maze_run(["-cn", "rollout", f"input_dir={run}", "n_episodes=10"], cwd=run_root)
    assert result.returncode == 0, result.stderr
    line = next(l for l in (result.stdout + result.stderr).splitlines() if l.startswith("rollout of"))
    mean = float(line.split("mean ")[1].split()[0])
    assert abs(mean - best) <= 0.35 * best, (mean, best)


def test_help_lists_groups_and_presets(run_root):
    result = maze_run(["--help"], cwd=run_root)
    assert result.returncode == 0
    for group, preset in _presets():
        assert f"  {group}:" in result.stdout and f"    {preset} " in result.stdout


def test_rollout_render_records_a_gif(run_root):
    env_args = ["env._target_=faulty_envs.painted_cartpole", "~env.name"]
    paths = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    assert maze_run(env_args + SHORT, cwd=run_root, env=paths).returncode == 0
    run = only_run_dir(run_root)
    result = maze_run(["-cn", "rollout", f"input_dir={run}", "n_episodes=2", "render=true"], cwd=run_root, env=paths)
    assert result.returncode == 0, result.stderr
    gif = next(run_root.glob("outputs/rollout/*/rollout.gif"))
    from PIL import Image
    with Image.open(gif) as image:
        assert image.size == (48, 24) and image.n_frames > 2


def test_rollout_render_of_an_env_that_cannot_render_says_why(run_root):
    env_args = ["env._target_=faulty_envs.slow_cartpole", "~env.name", "+env.sleep=0"]
    paths = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
    assert maze_run(env_args + SHORT, cwd=run_root, env=paths).returncode == 0
    run = only_run_dir(run_root)
    result = maze_run(["-cn", "rollout", f"input_dir={run}", "render=true"], cwd=run_root, env=paths)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot render" in result.stderr or "expected an RGB array" in result.stderr, result.stderr
