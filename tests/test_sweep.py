"""Sweeps that tune: the maze_optuna sweeper prunes, keeps its study in SQLite, resumes, survives failing
trials, draws a report and writes the best job as a preset that trains the same config."""
import csv
import signal
import subprocess
import sys
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from packaging.requirements import Requirement

from cli_helpers import REPO, default_sigint, maze_run, only_run_dir

optuna = pytest.importorskip("optuna", reason="the sweep extra is part of the test extra")

TINY = ["algorithm.n_epochs=3", "algorithm.epoch_length=2"]
TUNE = ["--multirun", "hydra/sweeper=maze_optuna", "hydra.sweep.dir=multirun/study", "hydra.sweeper.n_trials=6",
        "hydra.sweeper.pruner.n_startup_trials=1", "hydra.sweeper.pruner.n_warmup_steps=0",
        "algorithm.lr=tag(log,interval(3e-3,3e-1))"] + TINY
STUDY = "multirun/study"


def study_trials(sweep: Path):
    study = optuna.load_study(study_name="maze_sweep", storage=f"sqlite:///{sweep / 'optuna.db'}")
    return study, study.get_trials(deepcopy=False)


def summary_rows(sweep: Path):
    return list(csv.DictReader(open(sweep / "sweep_summary.csv")))


def without_bookkeeping(config_yaml: Path) -> dict:
    """A run's resolved config minus what may differ between a sweep job and its preset re-run."""
    cfg = OmegaConf.to_container(OmegaConf.load(config_yaml))
    cfg.get("callbacks", {}).pop("optuna_pruning", None)
    for key in ("seed", "run_dir", "output_dir"):
        cfg.pop(key, None)
    return cfg


def test_optuna_sweep_prunes_reports_and_its_best_preset_trains_the_same_config(run_root):
    # lr from 3e-3 up makes trials differ from the first epoch on: sampler seeds 0-7 all gave 2-5 pruned trials
    result = maze_run(TUNE + ["hydra.sweeper.sampler.seed=0"], cwd=run_root)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = run_root / STUDY
    rows = summary_rows(sweep)
    study, trials = study_trials(sweep)
    assert len(rows) == 6 and len(trials) == 6
    statuses = sorted(r["status"] for r in rows)
    assert "pruned" in statuses and "completed" in statuses, statuses
    assert statuses == sorted(t.state.name.lower().replace("complete", "completed") for t in trials)
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert all(t.intermediate_values for t in pruned), "pruned trials were fed every epoch's eval return"
    for row in rows:
        epochs = len(list(csv.DictReader(open(Path(row["run_dir"]) / "stats.csv"))))
        assert epochs == 3 if row["status"] == "completed" else 1 <= epochs <= 3, row
    assert "callbacks.optuna_pruning" not in rows[0]["overrides"]
    assert (sweep / "sweep_report.png").stat().st_size > 10_000

    # the best trial: completed with the study's best value; its preset trains the same resolved config
    best_row = max((r for r in rows if r["status"] == "completed"), key=lambda r: float(r["best_eval_return"]))
    assert float(best_row["best_eval_return"]) == pytest.approx(study.best_value)
    preset = sweep / "experiment" / "best_experiment.yaml"
    assert preset.read_text().startswith("# @package _global_")
    rerun = maze_run(["+experiment=best_experiment", f"hydra.searchpath=[file://{sweep}]", "seed=99"], cwd=run_root)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert without_bookkeeping(only_run_dir(run_root) / "config.yaml") == \
        without_bookkeeping(Path(best_row["run_dir"]) / "config.yaml")

    # the report is redrawn from the files alone
    (sweep / "sweep_report.png").unlink()
    redraw = maze_run(["-cn", "sweep_report", f"input_dir={sweep}"], cwd=run_root)
    assert redraw.returncode == 0, redraw.stderr[-3000:]
    assert (sweep / "sweep_report.png").is_file() and not (sweep / ".hydra").exists()


def test_interrupted_sweep_resumes_with_the_remaining_trials_only(run_root):
    args = TUNE + ["hydra.sweeper.pruner.name=none", "hydra.sweeper.sampler.seed=3"]
    env = {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "maze_cli"] + args, cwd=run_root, preexec_fn=default_sigint,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**__import__("os").environ, **env})
    sweep = run_root / STUDY
    deadline = time.monotonic() + 240
    while len(list(sweep.glob("*/job_result.json"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep was still running when interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    assert "run the same command again to resume" in stderr.splitlines()[-1]
    _, trials = study_trials(sweep)
    finished_before = {t.number: t.params for t in trials if t.state.name == "COMPLETE"}
    assert 2 <= len(finished_before) < 6, stderr[-2000:]
    jobs_before = {p.name for p in sweep.iterdir() if p.name.isdigit()}

    resumed = maze_run(args, cwd=run_root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _, trials = study_trials(sweep)
    complete = {t.number: t.params for t in trials if t.state.name == "COMPLETE"}
    assert len(complete) == 6 and all(complete[n] == p for n, p in finished_before.items())
    new_jobs = {p.name for p in sweep.iterdir() if p.name.isdigit()} - jobs_before
    assert len(new_jobs) == 6 - len(finished_before), "finished trials are not repeated"
    assert len(summary_rows(sweep)) >= 6


def test_a_trial_that_raises_is_failed_and_the_study_continues(run_root):
    args = ["--multirun", "hydra/sweeper=maze_optuna", "hydra.sweep.dir=multirun/study", "hydra.sweeper.n_trials=3",
            "hydra.sweeper.sampler.name=grid", "hydra.sweeper.pruner.name=none", "env._target_=faulty_envs.failing_cartpole",
            "~env.name", "+env.fail_after=choice(1000000,300,2000000)"] + TINY
    result = maze_run(args, cwd=run_root, env={"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"})
    assert result.returncode == 1, "a sweep with a failed trial exits non-zero at the end"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    sweep = run_root / STUDY
    _, trials = study_trials(sweep)
    assert sorted(t.state.name for t in trials) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert next(t for t in trials if t.state.name == "FAIL").params == {"env.fail_after": "300"}
    rows = summary_rows(sweep)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 3 and len(failed) == 1 and "the simulator diverged" in failed[0]["error"]


def test_the_sweep_extra_brings_current_optuna_and_is_in_the_test_extra():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    sweep = {Requirement(r).name.lower(): Requirement(r) for r in extras["sweep"]}
    assert "hydra-optuna-sweeper" not in sweep, "the sweeper is our own; Hydra's plugin pins optuna 2.10"
    assert sweep["optuna"].specifier.contains("4.0") and not sweep["optuna"].specifier.contains("2.10.1")
    for name, requirement in sweep.items():
        assert requirement.specifier.contains(version(name), prereleases=True), (name, version(name))
    assert any(Requirement(r).name == "maze_cli" and "sweep" in Requirement(r).extras for r in extras["test"])


def test_a_job_that_crashed_outside_maze_cli_errors_is_failed_and_recorded(tmp_path):
    """An exception Hydra caught (not a user error maze_cli reported) fails the trial and gets a job result."""
    from hydra.core.utils import JobReturn, JobStatus

    from maze_cli.sweep.tuning import tell_outcome

    study = optuna.create_study(direction="maximize")
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2)})
    job = JobReturn(overrides=["algorithm.lr=0.001"], status=JobStatus.FAILED, _return_value=ZeroDivisionError("boom"),
                    hydra_cfg=OmegaConf.create({"hydra": {"runtime": {"output_dir": str(tmp_path)}}}))
    assert tell_outcome(study, trial, job, job_number=7) == "failed"
    assert study.trials[0].state.name == "FAIL"
    recorded = OmegaConf.load(tmp_path / "job_result.json")
    assert recorded.job == 7 and recorded.status == "failed" and recorded.error == "ZeroDivisionError: boom"


def test_bad_sweeper_settings_are_one_line_before_any_trial(run_root):
    result = maze_run(["--multirun", "hydra/sweeper=maze_optuna", "hydra.sweeper.sampler.name=bayes",
                       "hydra.sweep.dir=multirun/study", "algorithm.lr=interval(0.001,0.01)"], cwd=run_root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "hydra.sweeper.sampler.name='bayes' is not a sampler; expected one of" in result.stderr
    assert not any((run_root / STUDY).glob("*/job_result.json"))


def test_the_report_draws_a_study_without_completed_trials(tmp_path):
    """An interrupted or all-pruned sweep still gets its picture (history and importances say what is missing)."""
    from maze_cli.sweep.report import write_sweep_report

    study = optuna.create_study(direction="maximize")
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2)})
    trial.report(12.0, step=1)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert write_sweep_report(tmp_path, study).stat().st_size > 10_000


def test_sweep_report_of_a_directory_without_jobs_is_one_line(run_root):
    result = maze_run(["-cn", "sweep_report", "input_dir=multirun/missing"], cwd=run_root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "input_dir=multirun/missing holds no sweep jobs" in result.stderr
