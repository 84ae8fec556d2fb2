"""Fault-injection soak: many short maze-run runs on dev, local and ray with faults injected at random times.

Faults: env exceptions, NaN rewards and observations, hung steps, SIGKILLed env workers, SIGINT and
SIGTERM to the training process, and a disk that fills up. After every run the invariants are checked:
the exit code is the expected one and a failure says so in one ``Error:`` line without a traceback;
``stats.csv`` parses with epochs 1..n, none missing or repeated; every checkpoint loads with
``weights_only=True`` and ``last.pt`` holds epoch n, so ``input_dir=`` resumes at epoch n + 1 (which is
done for real after every interrupted run). Prints runs, faults by kind and violations (goal: 0).

    python benchmarks/soak.py --runs 300          # the long soak (about 20 minutes on 2 cores)
"""
from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EPOCHS, EPOCH_LENGTH, ROLLOUT = 3, 2, 20
RUNNERS = {
    "dev": ["runner=dev", "runner.n_envs=2"],
    "local": ["runner=local", "runner.n_workers=2", "runner.step_timeout_s=1"],
    "ray": ["runner=ray", "runner.num_workers=2", "runner.step_timeout_s=0.2",
            f"runner.runtime_env={{env_vars:{{PYTHONPATH:'{REPO}{os.pathsep}{HERE}'}}}}"],
}
# fault -> runners it applies to (a hung or killed step in the training process itself cannot be survived)
FAULTS = {"raise": ("dev", "local", "ray"), "nan_reward": ("dev", "local", "ray"),
          "nan_observation": ("dev", "local", "ray"), "hang": ("local", "ray"), "kill": ("local", "ray"),
          "restart": ("local",), "sigint": ("dev", "local", "ray"), "sigterm": ("dev", "local", "ray"),
          "disk_full": ("dev", "local", "ray")}


def case_args(runner: str, fault: str, rng: random.Random, workdir: Path) -> Tuple[List[str], Optional[int]]:
    """maze-run overrides of one case, and the signal to send once training is under way (or None)."""
    env_fault = {"restart": "hang", "sigint": "none", "sigterm": "none", "disk_full": "none"}.get(fault, fault)
    args = ["env._target_=soak_faults.FaultyCartPole", "~env.name", f"+env.fault={env_fault}",
            f"+env.at={rng.randint(20, 100)}", f"algorithm.n_epochs={EPOCHS}", f"algorithm.epoch_length={EPOCH_LENGTH}",
            f"algorithm.n_rollout_steps={ROLLOUT}", "algorithm.eval_repeats=2", "max_nonfinite_updates=2",
            f"seed={rng.randint(0, 10_000)}"] + RUNNERS[runner]
    if fault in ("hang", "kill", "raise", "restart") and runner == "ray" or fault == "restart":
        args.append(f"+env.once_file={workdir / 'injected'}")  # survivable: the replacement runs on
    if fault == "restart":
        args.append("runner.on_worker_failure=restart")
    if fault == "disk_full":
        args += ["+callbacks.full_disk._target_=soak_faults.FullDiskAfter",
                 f"+callbacks.full_disk.epoch={rng.randint(1, EPOCHS - 1)}"]
    return args, {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM}.get(fault)


def expected_exit(runner: str, fault: str) -> Tuple[int, ...]:
    if fault in ("sigint", "sigterm"):
        return (128 + (signal.SIGINT if fault == "sigint" else signal.SIGTERM),)
    if fault == "restart" or (runner == "ray" and fault in ("hang", "kill")):
        return (0,)
    if runner == "ray" and fault == "nan_observation":  # Ray restarts the actor; its fresh env may finish the run
        return (0, 1)
    if runner == "ray" and fault == "raise":  # a rollout actor is restarted by Ray, but an evaluation env runs in a
        return (0, 1)                         # local worker process, where an env exception stops the run
    return (1,)


def run_maze(args: List[str], cwd: Path, send: Optional[int], rng: random.Random) -> subprocess.CompletedProcess:
    """``python -m maze_cli args``; with ``send``, that signal once the first epoch is written (plus a random delay)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    process = subprocess.Popen([sys.executable, "-m", "maze_cli"] + args, cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if send is not None:
        deadline = time.monotonic() + 120
        while process.poll() is None and not list(cwd.glob("outputs/*/*/stats.csv")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        if process.poll() is None:
            process.send_signal(send)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def check_run(result: subprocess.CompletedProcess, run: Optional[Path], expected: Tuple[int, ...]) -> List[str]:
    """The invariants of one finished (or failed) run; returns the violations."""
    from maze_cli.train.checkpoint import load_checkpoint
    problems = []
    if result.returncode not in expected:
        problems.append(f"exit code {result.returncode}, expected {expected}: {result.stderr.strip()[-300:]}")
    if "Traceback" in result.stderr:  # the traceback itself, to find where it came from
        problems.append("a traceback reached the user:\n" + result.stderr[result.stderr.index("Traceback"):][:3000])
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    if result.returncode == 1 and len(errors) != 1:
        problems.append(f"{len(errors)} 'Error:' lines, expected one")
    if run is None:
        return problems + ["no run directory"]
    stats = run / "stats.csv"
    epochs = [int(row["epoch"]) for row in csv.DictReader(open(stats))] if stats.exists() else []
    if epochs != list(range(1, len(epochs) + 1)):
        problems.append(f"stats.csv epochs {epochs}")
    for name in ("best.pt", "last.pt"):
        path = run / "checkpoints" / name
        if path.exists():
            try:
                epoch = int(load_checkpoint(path)["epoch"])
            except Exception as err:  # a violation to report, whatever it is
                problems.append(f"{name} does not load: {err}")
                continue
            if (name == "last.pt" and epoch != len(epochs)) or epoch > len(epochs):
                problems.append(f"{name} holds epoch {epoch}, stats.csv has {len(epochs)} epochs")
    return problems


def check_resume(args: List[str], run: Path, cwd: Path, rng: random.Random) -> List[str]:
    """Resumes an interrupted run for one more epoch: its first row must be the next epoch."""
    from maze_cli.train.checkpoint import load_checkpoint
    last = run / "checkpoints" / "last.pt"
    if not last.exists():
        return []
    done = int(load_checkpoint(last)["epoch"])
    resume_dir = cwd / "resume"
    resume_dir.mkdir()
    extra = [a for a in args if not a.startswith("algorithm.n_epochs")] + [f"input_dir={run}",
                                                                           "algorithm.n_epochs=1"]  # one more
    result = run_maze(extra, resume_dir, None, rng)
    runs = list(resume_dir.glob("outputs/*/*"))
    if result.returncode != 0 or not runs:
        return [f"resume failed with exit code {result.returncode}: {result.stderr.strip()[-300:]}"]
    epochs = [int(row["epoch"]) for row in csv.DictReader(open(runs[0] / "stats.csv"))]
    # the resumed run's stats.csv carries the earlier epochs over, then goes on with the next one
    return [] if epochs == list(range(1, done + 2)) else [f"resume did not continue at epoch {done + 1}: {epochs}"]


def fault_cases(runners: Tuple[str, ...] = tuple(RUNNERS)) -> List[Tuple[str, str]]:
    """Every (runner, fault) pair the soak injects on ``runners``."""
    return [(runner, fault) for fault, where in FAULTS.items() for runner in where if runner in runners]


def soak(n_runs: int, seed: int = 0, runners: Tuple[str, ...] = tuple(RUNNERS)) -> Dict[str, object]:
    """``n_runs`` runs, cycling through every (runner, fault) pair in a shuffled order; returns the tallies."""
    rng = random.Random(seed)
    cases = fault_cases(runners)
    rng.shuffle(cases)
    injected, violations = collections.Counter(), []
    for index in range(n_runs):
        runner, fault = cases[index % len(cases)]
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            args, send = case_args(runner, fault, rng, cwd)
            result = run_maze(args, cwd, send, rng)
            runs = list(cwd.glob("outputs/*/*"))
            problems = check_run(result, runs[0] if runs else None, expected_exit(runner, fault))
            if send is not None and runs and not problems:
                problems += check_resume(args, runs[0], cwd, rng)
        injected[f"{fault}@{runner}"] += 1
        violations += [f"run {index} ({fault} on {runner}): {p}" for p in problems]
        print(f"run {index + 1:>4}/{n_runs}  {fault:<16} {runner:<6} exit {result.returncode:>4}  "
              f"{'ok' if not problems else 'VIOLATION: ' + problems[0]}", flush=True)
    return {"runs": n_runs, "faults": dict(injected), "violations": violations}


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs, each with one injected fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runners", nargs="+", default=["dev", "local", "ray"], choices=list(RUNNERS))
    args = parser.parse_args(argv)
    if "ray" in args.runners and not os.environ.get("RAY_ADDRESS"):  # one Ray instance that every run joins
        import ray
        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
        os.environ["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    result = soak(args.runs, args.seed, tuple(args.runners))
    by_kind = collections.Counter()
    for case, count in result["faults"].items():
        by_kind[case.split("@")[0]] += count
    print(f"\n{result['runs']} runs, {sum(by_kind.values())} faults injected: "
          + ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items())))
    print(f"invariant violations: {len(result['violations'])}")
    for violation in result["violations"]:
        print(f"  {violation}")
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["violations"] else 0)
