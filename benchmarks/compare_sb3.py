"""maze_cli against Stable-Baselines3, side by side on the same work.

    pip install -e .[bench]
    python benchmarks/compare_sb3.py                      # full comparison (about 15 minutes on 2 cores)
    python benchmarks/compare_sb3.py --steps 4000 --solve-budget 0 --seeds 1   # smoke run

Tables:

1. Matched settings (:func:`settings`): A2C and PPO on CartPole with long rollouts at 4 and 16 envs, and
   small rollouts and batches on CartPole, Pendulum and Acrobot. Same rollout length, network (separate
   2x64 tanh policy and value nets), Adam with the same learning rate and epsilon, advantage
   normalisation, gradient clipping, PPO epochs and minibatch size. Each framework trains ``--steps`` env
   steps without evaluation; the table gives env steps/s of training, the ratio maze_cli / SB3, the peak
   resident memory of the process, and the geometric mean of the ratios. The runs of a pair are
   interleaved seed by seed (each in a fresh process), so machine load affects both alike.
   Then the whole-run wall time of a training call of about 20 s (building to the end, saving included).
2. The acting ceiling: gymnasium's vectorised CartPole plus a 2x64 MLP forward and categorical
   sample (no learning, no critic), and maze_cli's acting phase (``RolloutCollector.collect``, which
   also runs the critic and stores the rollout) as a fraction of it; the two alternate in rounds in one
   process, and each gives its fastest round.
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
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 475.0
EVAL_EPISODES = 10


@dataclass(frozen=True)
class Setting:
    """One matched training setting: both frameworks get these hyper-parameters (names as in SB3's
    constructors), the same env, envs, rollout length and separate 2x64 tanh policy and value networks."""
    algo: str
    env_id: str
    maze_env: str
    n_envs: int
    n_steps: int
    hyper: Dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.algo}-{self.maze_env}-{self.n_envs}x{self.n_steps}"


MAZE_KEYS = {"learning_rate": "algorithm.lr", "gamma": "algorithm.gamma", "gae_lambda": "algorithm.gae_lambda",
             "ent_coef": "algorithm.entropy_coef", "max_grad_norm": "algorithm.max_grad_norm",
             "batch_size": "algorithm.batch_size", "n_epochs": "algorithm.n_optimization_epochs",
             "clip_range": "algorithm.clip_range"}
A2C_ONLY = {"use_rms_prop": False, "normalize_advantage": True}  # Adam and normalised advantages, as maze_cli
LONG_A2C = {"learning_rate": 5e-4, "gamma": 0.98, "gae_lambda": 1.0, "ent_coef": 0.0, "max_grad_norm": 0.5}
LONG_PPO = {"learning_rate": 3e-4, "gamma": 0.99, "gae_lambda": 0.95, "ent_coef": 0.0, "max_grad_norm": 0.5,
            "batch_size": 64, "n_epochs": 10, "clip_range": 0.2}


def settings(long_rollout_envs: List[int]) -> List[Setting]:
    """Long rollouts (A2C T=100, PPO T=256) at each of ``long_rollout_envs``, then small rollouts and batches
    where per-step and per-update overhead dominate: SB3's A2C default (8 x 5), the RL Zoo's PPO CartPole
    (8 x 32, batch 256, 20 epochs), PPO Pendulum (4 x 512) and A2C Acrobot (16 x 20)."""
    long = [Setting("a2c", "CartPole-v1", "cartpole", n, 100, LONG_A2C) for n in long_rollout_envs]
    long += [Setting("ppo", "CartPole-v1", "cartpole", n, 256, LONG_PPO) for n in long_rollout_envs]
    return long + [
        Setting("a2c", "CartPole-v1", "cartpole", 8, 5, {**LONG_A2C, "learning_rate": 7e-4, "gamma": 0.99}),
        Setting("ppo", "CartPole-v1", "cartpole", 8, 32, {**LONG_PPO, "learning_rate": 1e-3, "gamma": 0.98,
                                                          "gae_lambda": 0.8, "batch_size": 256, "n_epochs": 20}),
        Setting("ppo", "Pendulum-v1", "pendulum", 4, 512, {**LONG_PPO, "learning_rate": 1e-3, "gamma": 0.9}),
        Setting("a2c", "Acrobot-v1", "acrobot", 16, 20, {**LONG_A2C, "learning_rate": 7e-4, "gamma": 0.99}),
    ]


# SAC on Pendulum-v1, one env, one gradient step per env step, 256x256 ReLU actor and twin critics.
SAC_ENV, SAC_THRESHOLD = "Pendulum-v1", -200.0
SAC_MATCHED = ({"algorithm.lr": 1e-3, "algorithm.batch_size": 256, "algorithm.learning_starts": 100,
                "algorithm.tau": 0.005, "algorithm.gamma": 0.99, "runner.n_envs": 1},
               {"learning_rate": 1e-3, "batch_size": 256, "learning_starts": 100, "tau": 0.005, "gamma": 0.99,
                "policy_kwargs": {"net_arch": [256, 256]}})


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


# --- jobs, each run in its own process -----------------------------------------------------------

def maze_throughput(setting: Dict[str, Any], seed: int, steps: int) -> Dict[str, Any]:
    """Training env steps/s of one setting (no evaluation) and, in ``seconds``, the whole ``RunContext(...).train()``
    call: building, training, the last checkpoint and the learning curve."""
    from maze_cli import RunContext
    s = Setting(**setting)
    updates = max(1, steps // (s.n_steps * s.n_envs))
    overrides = {**{MAZE_KEYS[k]: v for k, v in s.hyper.items() if k in MAZE_KEYS}, "runner.n_envs": s.n_envs,
                 "algorithm.n_rollout_steps": s.n_steps, "algorithm.eval_repeats": 0, "algorithm.n_epochs": 1,
                 "algorithm.epoch_length": updates}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rc = RunContext(env=s.maze_env, algorithm=s.algo, runner="dev", seed=seed, overrides=overrides,
                        output_dir=tmp)
        rc.train()
        seconds = time.perf_counter() - start
        row = list(csv.DictReader(open(rc.run_dir / "stats.csv")))[-1]
    return {"steps_per_s": float(row["time/steps_per_second"]), "memory_mb": peak_memory_mb(), "seconds": seconds}


def sb3_model(algo: str, env: Any, seed: int, **kwargs: Any) -> Any:
    """SB3 gets maze_cli's default of one torch thread (two threads on shared cores are often much slower), and a
    logger that writes nothing: its default makes an empty ``SB3-<time>`` folder in the temp dir per run."""
    import torch
    from stable_baselines3 import A2C, PPO, SAC
    from stable_baselines3.common.logger import Logger
    torch.set_num_threads(1)
    model = {"a2c": A2C, "ppo": PPO, "sac": SAC}[algo]("MlpPolicy", env, seed=seed, device="cpu", **kwargs)
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


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


def sb3_throughput(setting: Dict[str, Any], seed: int, steps: int) -> Dict[str, Any]:
    """As :func:`maze_throughput`; ``seconds`` is making the vector env and the model plus ``learn``."""
    from stable_baselines3.common.env_util import make_vec_env
    s = Setting(**setting)
    start = time.perf_counter()
    policy_kwargs = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "optimizer_kwargs": {"eps": 1e-8}}
    extra = A2C_ONLY if s.algo == "a2c" else {}
    model = sb3_model(s.algo, make_vec_env(s.env_id, n_envs=s.n_envs, seed=seed), seed, n_steps=s.n_steps,
                      policy_kwargs=policy_kwargs, **s.hyper, **extra)
    clock = make_clock()
    total = max(1, steps // (s.n_steps * s.n_envs)) * s.n_steps * s.n_envs
    model.learn(total, callback=clock)
    end = time.perf_counter()
    return {"steps_per_s": model.num_timesteps / (end - clock.start), "memory_mb": peak_memory_mb(),
            "seconds": end - start}


def ceiling(n_envs: int, seed: int, steps: int, rounds: int = 5) -> Dict[str, Any]:
    """Vector CartPole + 2x64 MLP forward + categorical sample; and maze_cli's collector on the same env.

    The two loops alternate in ``rounds`` rounds of ``steps / rounds`` env steps each, and each keeps its fastest
    round: run one after the other, a moment of load on the machine fell on one of them and moved the fraction
    by up to 0.07 between benchmark runs.
    """
    import gymnasium as gym
    import torch
    from maze_cli import RunContext
    from maze_cli.runners.local import DevRunner
    torch.set_num_threads(1)
    env = gym.make_vec("CartPole-v1", n_envs, vectorization_mode="vector_entry_point")
    net = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 2))
    obs, _ = env.reset(seed=seed)
    rc = RunContext(algorithm="a2c", runner="dev", seed=seed, output_dir=tempfile.gettempdir())
    components = rc._build()
    collector = DevRunner(n_envs=n_envs).make_collector(components.env_factory, components.policy,
                                                        components.critic, 100, seed, components.probe_env)
    collector.collect()
    n_iter = max(1, steps // (rounds * n_envs))
    n_collect = max(1, steps // (rounds * 100 * n_envs))
    bare, acting = 0.0, 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        with torch.inference_mode():
            for _ in range(n_iter):
                probs = torch.softmax(net(torch.from_numpy(obs)), dim=-1)  # the categorical draw maze_cli makes:
                obs, *_ = env.step((probs / torch.empty_like(probs).exponential_()).argmax(dim=-1).numpy())
        bare = max(bare, n_iter * n_envs / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(n_collect):
            collector.collect()
        acting = max(acting, n_collect * 100 * n_envs / (time.perf_counter() - start))
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


def geometric_mean(values: List[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def throughput_table(args: argparse.Namespace) -> None:
    print(f"\nMatched settings, {args.steps:,} env steps per run, seeds {args.seeds} (means)")
    print(f"{'setting':<22}{'maze steps/s':>14}{'SB3 steps/s':>13}{'ratio':>7}{'maze MB':>9}{'SB3 MB':>8}"
          f"{'MB ratio':>9}")
    ratios = []
    for setting in settings(args.envs):
        if args.settings and setting.name not in args.settings:
            continue
        maze, sb3 = [], []
        for seed in args.seeds:  # interleaved, so load changes hit both
            maze.append(run_job("maze_throughput", setting=asdict(setting), seed=seed, steps=args.steps))
            sb3.append(run_job("sb3_throughput", setting=asdict(setting), seed=seed, steps=args.steps))
        m, s = mean([r["steps_per_s"] for r in maze]), mean([r["steps_per_s"] for r in sb3])
        mm, sm = max(r["memory_mb"] for r in maze), max(r["memory_mb"] for r in sb3)
        ratios.append(m / s)
        print(f"{setting.name:<22}{m:>14,.0f}{s:>13,.0f}{m / s:>7.2f}{mm:>9.0f}{sm:>8.0f}{mm / sm:>9.2f}", flush=True)
    if ratios:
        print(f"geometric mean of the ratios {geometric_mean(ratios):.2f}, lowest {min(ratios):.2f}")


def whole_run_table(args: argparse.Namespace) -> None:
    """Wall time of whole training calls (setup, training, saving) of about 20 s, fresh processes, interleaved."""
    setting = next(s for s in settings([]) if s.name == "ppo-cartpole-8x32")
    print(f"\nWhole run: {setting.name}, {args.whole_steps:,} env steps, construction to the end of training")
    print(f"{'seed':>5}{'maze s':>9}{'SB3 s':>9}{'ratio':>7}")
    for seed in args.seeds:
        maze = run_job("maze_throughput", setting=asdict(setting), seed=seed, steps=args.whole_steps)
        sb3 = run_job("sb3_throughput", setting=asdict(setting), seed=seed, steps=args.whole_steps)
        print(f"{seed:>5}{maze['seconds']:>9.1f}{sb3['seconds']:>9.1f}{sb3['seconds'] / maze['seconds']:>7.2f}",
              flush=True)


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
    parser.add_argument("--envs", type=int, nargs="+", default=[4, 16], help="envs of the long-rollout settings")
    parser.add_argument("--settings", nargs="+", help="only these settings of the throughput table (names as printed)")
    parser.add_argument("--whole-steps", type=int, default=100_000,
                        help="env steps of the whole-run comparison (about 20 s); 0 skips it")
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
    print(f"maze_cli vs Stable-Baselines3; load average {load} (1/5/15 min)")
    throughput_table(args)
    if args.whole_steps > 0:
        whole_run_table(args)
    ceiling_table(args)
    if args.solve_budget > 0:
        solve_table(args)
    if args.sac_steps > 0:
        sac_table(args)


if __name__ == "__main__":
    main()
