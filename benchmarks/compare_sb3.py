"""maze_cli against Stable-Baselines3 on CartPole-v1, side by side on the same work.

    pip install -e .[bench]
    python benchmarks/compare_sb3.py                      # full comparison (about 10 minutes on 2 cores)
    python benchmarks/compare_sb3.py --steps 4000 --solve-budget 0 --seeds 1   # smoke run

Three tables:

1. Matched settings (A2C and PPO at 4 and 16 envs): same rollout length, network (separate 2x64 tanh
   policy and value nets), Adam with the same learning rate and epsilon, advantage normalisation,
   gradient clipping, PPO epochs and minibatch size. Each framework trains ``--steps`` env steps
   without evaluation; the table gives env steps/s of training, the ratio maze_cli / SB3 and the
   peak resident memory of the process. The runs of a pair are interleaved seed by seed (each in a
   fresh process), so machine load affects both alike.
2. The acting ceiling: gymnasium's vectorised CartPole plus a 2x64 MLP forward and categorical
   sample (no learning, no critic), and maze_cli's acting phase (``RolloutCollector.collect``, which
   also runs the critic and stores the rollout) as a fraction of it.
3. Time to solve: maze_cli's shipped presets (``+experiment=cartpole_a2c|cartpole_ppo``) against SB3
   with its default hyper-parameters (``A2C("MlpPolicy", "CartPole-v1")``, one env), both stopping at
   the first deterministic 10-episode evaluation mean >= 475 (SB3 evaluated every ``--eval-every``
   steps on a batch of 10 envs). Wall seconds include evaluation.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 475.0
EVAL_EPISODES = 10
# Matched hyper-parameters: (maze_cli overrides, SB3 constructor arguments); the rollout length is per algorithm.
MATCHED = {
    "a2c": ({"algorithm.lr": 5e-4, "algorithm.gamma": 0.98, "algorithm.gae_lambda": 1.0,
             "algorithm.entropy_coef": 0.0, "algorithm.max_grad_norm": 0.5},
            {"learning_rate": 5e-4, "gamma": 0.98, "gae_lambda": 1.0, "ent_coef": 0.0, "max_grad_norm": 0.5,
             "use_rms_prop": False, "normalize_advantage": True}),
    "ppo": ({"algorithm.lr": 3e-4, "algorithm.gamma": 0.99, "algorithm.gae_lambda": 0.95,
             "algorithm.entropy_coef": 0.0, "algorithm.max_grad_norm": 0.5, "algorithm.batch_size": 64,
             "algorithm.n_optimization_epochs": 10, "algorithm.clip_range": 0.2},
            {"learning_rate": 3e-4, "gamma": 0.99, "gae_lambda": 0.95, "ent_coef": 0.0, "max_grad_norm": 0.5,
             "batch_size": 64, "n_epochs": 10, "clip_range": 0.2}),
}
ROLLOUT_STEPS = {"a2c": 100, "ppo": 256}
# SAC on Pendulum-v1, one env, one gradient step per env step, 256x256 ReLU actor and twin critics.
SAC_ENV, SAC_THRESHOLD = "Pendulum-v1", -200.0
SAC_MATCHED = ({"algorithm.lr": 1e-3, "algorithm.batch_size": 256, "algorithm.learning_starts": 100,
                "algorithm.tau": 0.005, "algorithm.gamma": 0.99, "runner.n_envs": 1},
               {"learning_rate": 1e-3, "batch_size": 256, "learning_starts": 100, "tau": 0.005, "gamma": 0.99,
                "policy_kwargs": {"net_arch": [256, 256]}})


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


# --- jobs, each run in its own process -----------------------------------------------------------

def maze_throughput(algo: str, n_envs: int, seed: int, steps: int) -> Dict[str, Any]:
    from maze_cli import RunContext
    n_steps = ROLLOUT_STEPS[algo]
    updates = max(1, steps // (n_steps * n_envs))
    overrides = {**MATCHED[algo][0], "runner.n_envs": n_envs, "algorithm.n_rollout_steps": n_steps,
                 "algorithm.eval_repeats": 0, "algorithm.n_epochs": 1, "algorithm.epoch_length": updates}
    with tempfile.TemporaryDirectory() as tmp:
        rc = RunContext(algorithm=algo, runner="dev", seed=seed, overrides=overrides, output_dir=tmp)
        rc.train()
        row = list(csv.DictReader(open(rc.run_dir / "stats.csv")))[-1]
    return {"steps_per_s": float(row["time/steps_per_second"]), "memory_mb": peak_memory_mb()}


def sb3_model(algo: str, env: Any, seed: int, **kwargs: Any) -> Any:
    """SB3 gets maze_cli's default of one torch thread (two threads on shared cores are often much slower)."""
    import torch
    from stable_baselines3 import A2C, PPO, SAC
    torch.set_num_threads(1)
    return {"a2c": A2C, "ppo": PPO, "sac": SAC}[algo]("MlpPolicy", env, seed=seed, device="cpu", **kwargs)


def maze_sac(seed: int, steps: int, eval_every: int = 0) -> Dict[str, Any]:
    """SAC's env steps/s without evaluation (``eval_every=0``), or its steps to the threshold when evaluating."""
    from maze_cli import RunContext
    epoch = eval_every or steps
    overrides = {**SAC_MATCHED[0], "algorithm.eval_repeats": EVAL_EPISODES if eval_every else 0,
                 "algorithm.n_epochs": max(1, steps // epoch), "algorithm.epoch_length": epoch,
                 "algorithm.stop_at_return": SAC_THRESHOLD if eval_every else None, "algorithm.confirm_episodes": 0}
    with tempfile.TemporaryDirectory() as tmp:
        rc = RunContext(env="pendulum", algorithm="sac", runner="dev", seed=seed, overrides=overrides, output_dir=tmp)
        start = time.perf_counter()
        rc.train()
        rows = list(csv.DictReader(open(rc.run_dir / "stats.csv")))
    solved = [int(r["time/env_steps"]) for r in rows if float(r.get("eval/episode_return_mean") or "nan") >= SAC_THRESHOLD]
    return {"steps_per_s": float(rows[0]["time/steps_per_second"]), "memory_mb": peak_memory_mb(),
            "steps": solved[0] if solved else None, "seconds": time.perf_counter() - start}


def sb3_sac(seed: int, steps: int, eval_every: int = 0) -> Dict[str, Any]:
    model = sb3_model("sac", SAC_ENV, seed, **SAC_MATCHED[1])
    solved = make_threshold_callback(SAC_ENV, SAC_THRESHOLD, seed, eval_every) if eval_every else None
    clock = make_clock()
    start = time.perf_counter()
    model.learn(steps, callback=[clock] + ([solved] if solved else []))
    return {"steps_per_s": model.num_timesteps / (time.perf_counter() - clock.start), "memory_mb": peak_memory_mb(),
            "steps": solved.solved_at if solved else None, "seconds": time.perf_counter() - start}


def make_clock() -> Any:
    """An SB3 callback whose ``start`` is when training starts (after SB3's setup), as maze_cli's epoch timer."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Clock(BaseCallback):
        def _on_training_start(self) -> None:
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            return True

    return Clock()


def sb3_throughput(algo: str, n_envs: int, seed: int, steps: int) -> Dict[str, Any]:
    from stable_baselines3.common.env_util import make_vec_env
    n_steps = ROLLOUT_STEPS[algo]
    policy_kwargs = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "optimizer_kwargs": {"eps": 1e-8}}
    model = sb3_model(algo, make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed), seed, n_steps=n_steps,
                      policy_kwargs=policy_kwargs, **MATCHED[algo][1])
    clock = make_clock()
    total = max(1, steps // (n_steps * n_envs)) * n_steps * n_envs
    model.learn(total, callback=clock)
    return {"steps_per_s": model.num_timesteps / (time.perf_counter() - clock.start), "memory_mb": peak_memory_mb()}


def ceiling(n_envs: int, seed: int, steps: int) -> Dict[str, Any]:
    """Vector CartPole + 2x64 MLP forward + categorical sample; and maze_cli's collector on the same env."""
    import gymnasium as gym
    import torch
    from maze_cli import RunContext
    from maze_cli.runners.local import DevRunner
    torch.set_num_threads(1)
    env = gym.make_vec("CartPole-v1", n_envs, vectorization_mode="vector_entry_point")
    net = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 2))
    obs, _ = env.reset(seed=seed)
    n_iter = max(1, steps // n_envs)
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(n_iter):
            probs = torch.softmax(net(torch.from_numpy(obs)), dim=-1)
            obs, *_ = env.step(torch.multinomial(probs, 1).squeeze(-1).numpy())
    bare = n_iter * n_envs / (time.perf_counter() - start)
    rc = RunContext(algorithm="a2c", runner="dev", seed=seed, output_dir=tempfile.gettempdir())
    components = rc._build()
    collector = DevRunner(n_envs=n_envs).make_collector(components.env_factory, components.policy,
                                                        components.critic, 100, seed, components.probe_env)
    n_collect = max(1, steps // (100 * n_envs))
    collector.collect()
    start = time.perf_counter()
    for _ in range(n_collect):
        collector.collect()
    acting = n_collect * 100 * n_envs / (time.perf_counter() - start)
    return {"ceiling": bare, "acting": acting}


def maze_solve(algo: str, seed: int, budget: int) -> Dict[str, Any]:
    from maze_cli import RunContext
    preset = f"cartpole_{algo}"
    with tempfile.TemporaryDirectory() as tmp:
        probe = RunContext(experiment=preset, output_dir=tmp).config
        per_epoch = probe.algorithm.epoch_length * probe.algorithm.n_rollout_steps * probe.runner.n_envs
        rc = RunContext(experiment=preset, seed=seed, output_dir=tmp,
                        overrides={"algorithm.n_epochs": max(1, budget // per_epoch), "algorithm.stop_at_return": THRESHOLD})
        rc.train()
        rows = list(csv.DictReader(open(rc.run_dir / "stats.csv")))
    seconds = 0.0
    for row in rows:
        seconds += float(row["time/epoch_seconds"])
        if float(row["eval/episode_return_mean"]) >= THRESHOLD:
            return {"steps": int(row["time/env_steps"]), "seconds": seconds, "memory_mb": peak_memory_mb()}
    return {"steps": None, "seconds": seconds, "memory_mb": peak_memory_mb()}


def make_threshold_callback(env_id: str, threshold: float, seed: int, eval_every: int) -> Any:
    """An SB3 callback that evaluates deterministically on a batch of envs every ``eval_every`` steps and stops
    training at the first mean return >= ``threshold`` (``solved_at`` holds the step count)."""
    import gymnasium as gym
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    mode = "vector_entry_point" if gym.spec(env_id).vector_entry_point else "sync"
    eval_env = gym.make_vec(env_id, EVAL_EPISODES, vectorization_mode=mode)

    def evaluate(model: Any, index: int) -> float:
        obs, _ = eval_env.reset(seed=seed + 1_000_003 + 7919 * index)
        returns, running = np.zeros(EVAL_EPISODES), np.ones(EVAL_EPISODES, dtype=bool)
        while running.any():
            actions, _ = model.predict(obs, deterministic=True)
            obs, rewards, terminated, truncated, _ = eval_env.step(actions)
            returns += np.where(running, rewards, 0.0)
            running &= ~(terminated | truncated)
        return float(returns.mean())

    class StopAtThreshold(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval, self.evaluations, self.solved_at = eval_every, 0, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += eval_every
            self.evaluations += 1
            if evaluate(self.model, self.evaluations) >= threshold:
                self.solved_at = self.num_timesteps
                return False
            return True

    return StopAtThreshold()


def sb3_solve(algo: str, seed: int, budget: int, eval_every: int) -> Dict[str, Any]:
    """SB3 defaults (one env); a batched deterministic evaluation every ``eval_every`` steps."""
    model = sb3_model(algo, "CartPole-v1", seed)
    callback = make_threshold_callback("CartPole-v1", THRESHOLD, seed, eval_every)
    start = time.perf_counter()
    model.learn(budget, callback=callback)
    return {"steps": callback.solved_at, "seconds": time.perf_counter() - start, "memory_mb": peak_memory_mb()}


JOBS = {"maze_throughput": maze_throughput, "sb3_throughput": sb3_throughput, "ceiling": ceiling,
        "maze_solve": maze_solve, "sb3_solve": sb3_solve, "maze_sac": maze_sac, "sb3_sac": sb3_sac}


def run_job(name: str, **kwargs: Any) -> Dict[str, Any]:
    """One job in a fresh process, so its peak memory is its own and no state carries over."""
    # The checkout this script belongs to comes first on the path: the benchmark measures its own code.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, __file__, "--job", json.dumps({"name": name, **kwargs})],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark job {name} {kwargs} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- tables ---------------------------------------------------------------------------------------

def mean(values: List[float]) -> float:
    return sum(values) / len(values)


def throughput_table(args: argparse.Namespace) -> None:
    print(f"\nMatched settings, {args.steps:,} env steps per run, seeds {args.seeds} (means)")
    print(f"{'algo':<5}{'envs':>5}{'T':>5}{'maze steps/s':>14}{'SB3 steps/s':>13}{'ratio':>7}"
          f"{'maze MB':>9}{'SB3 MB':>8}{'MB ratio':>9}")
    for algo in ("a2c", "ppo"):
        for n_envs in args.envs:
            maze, sb3 = [], []
            for seed in args.seeds:  # interleaved, so load changes hit both
                maze.append(run_job("maze_throughput", algo=algo, n_envs=n_envs, seed=seed, steps=args.steps))
                sb3.append(run_job("sb3_throughput", algo=algo, n_envs=n_envs, seed=seed, steps=args.steps))
            m, s = mean([r["steps_per_s"] for r in maze]), mean([r["steps_per_s"] for r in sb3])
            mm, sm = max(r["memory_mb"] for r in maze), max(r["memory_mb"] for r in sb3)
            print(f"{algo:<5}{n_envs:>5}{ROLLOUT_STEPS[algo]:>5}{m:>14,.0f}{s:>13,.0f}{m / s:>7.2f}"
                  f"{mm:>9.0f}{sm:>8.0f}{mm / sm:>9.2f}", flush=True)


def ceiling_table(args: argparse.Namespace) -> None:
    print("\nActing ceiling (vector CartPole + 2x64 MLP + sample, no critic, no storage)")
    print(f"{'envs':>5}{'ceiling steps/s':>17}{'maze acting steps/s':>21}{'fraction':>10}")
    for n_envs in args.envs:
        results = [run_job("ceiling", n_envs=n_envs, seed=seed, steps=args.steps) for seed in args.seeds]
        c, a = mean([r["ceiling"] for r in results]), mean([r["acting"] for r in results])
        print(f"{n_envs:>5}{c:>17,.0f}{a:>21,.0f}{a / c:>10.2f}", flush=True)


def solve_table(args: argparse.Namespace) -> None:
    print(f"\nTime to a deterministic {EVAL_EPISODES}-episode mean >= {THRESHOLD:.0f}: maze_cli presets vs SB3 "
          f"defaults (budget {args.solve_budget:,} env steps)")
    print(f"{'algo':<5}{'seed':>5}{'maze steps':>12}{'maze s':>8}{'SB3 steps':>11}{'SB3 s':>8}{'time ratio':>11}"
          f"{'maze MB':>9}{'SB3 MB':>8}")
    for algo in ("a2c", "ppo"):
        for seed in args.seeds:
            maze = run_job("maze_solve", algo=algo, seed=seed, budget=args.solve_budget)
            sb3 = run_job("sb3_solve", algo=algo, seed=seed, budget=args.solve_budget, eval_every=args.eval_every)

            def fmt(r: Dict[str, Any]) -> str:
                return f"{r['steps']:>12,}{r['seconds']:>8.1f}" if r["steps"] else f"{'-':>12}{'-':>8}"
            ratio = (f"{maze['seconds'] / sb3['seconds']:>11.2f}" if maze["steps"] and sb3["steps"]
                     else f"{'-':>11}")
            print(f"{algo:<5}{seed:>5}{fmt(maze)}{fmt(sb3)[1:]:>19}{ratio}{maze['memory_mb']:>9.0f}"
                  f"{sb3['memory_mb']:>8.0f}", flush=True)


def sac_table(args: argparse.Namespace) -> None:
    print(f"\nSAC on {SAC_ENV}, matched settings (1 env, 1 gradient step per env step, batch 256, 256x256 nets), "
          f"seeds {args.seeds}")
    print(f"{'seed':>5}{'maze steps/s':>14}{'SB3 steps/s':>13}{'ratio':>7}{'maze MB':>9}{'SB3 MB':>8}"
          f"{'maze steps to ' + str(int(SAC_THRESHOLD)):>22}{'SB3 steps':>11}")
    for seed in args.seeds:  # interleaved, each job in a fresh process
        maze = run_job("maze_sac", seed=seed, steps=args.sac_steps)
        sb3 = run_job("sb3_sac", seed=seed, steps=args.sac_steps)
        maze_solved = run_job("maze_sac", seed=seed, steps=args.sac_solve_budget, eval_every=1000)
        sb3_solved = run_job("sb3_sac", seed=seed, steps=args.sac_solve_budget, eval_every=1000)
        fmt = lambda r: f"{r['steps']:,}" if r["steps"] else "-"  # noqa: E731
        print(f"{seed:>5}{maze['steps_per_s']:>14,.0f}{sb3['steps_per_s']:>13,.0f}"
              f"{maze['steps_per_s'] / sb3['steps_per_s']:>7.2f}{maze['memory_mb']:>9.0f}{sb3['memory_mb']:>8.0f}"
              f"{fmt(maze_solved):>22}{fmt(sb3_solved):>11}", flush=True)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60_000, help="env steps per throughput run")
    parser.add_argument("--envs", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--solve-budget", type=int, default=200_000, help="env steps; 0 skips the time-to-solve table")
    parser.add_argument("--eval-every", type=int, default=10_000, help="SB3 evaluation interval in env steps")
    parser.add_argument("--sac-steps", type=int, default=3000, help="env steps per SAC throughput run; 0 skips SAC")
    parser.add_argument("--sac-solve-budget", type=int, default=20_000, help="env steps of SAC's steps-to-threshold runs")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        logging.getLogger("maze_cli").addFilter(lambda record: False)
        spec = json.loads(args.job)
        print(json.dumps(JOBS[spec.pop("name")](**spec)))
        return
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"maze_cli vs Stable-Baselines3 on CartPole-v1; load average {load} (1/5/15 min)")
    throughput_table(args)
    ceiling_table(args)
    if args.solve_budget > 0:
        solve_table(args)
    if args.sac_steps > 0:
        sac_table(args)


if __name__ == "__main__":
    main()
