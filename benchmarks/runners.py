"""Rollout throughput of the runners on an env whose step costs ~1 ms of CPU.

Measures env steps per second of rollout collection (env stepping plus batched policy inference,
the part a runner is responsible for; the learner's update is the same under every runner) for
``dev``, ``local`` with 1 and 2 worker processes and ``ray`` with 1 and 2 actors. Every worker
owns ``--envs-per-worker`` envs, so ``dev`` and the 1-worker runs step the same number of envs.

    python benchmarks/runners.py                  # ~1 minute on 2 cores
    python benchmarks/runners.py --step-cost-ms 0 # cheap envs: where per-step overheads show
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from typing import Dict, List, Tuple

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from maze_cli.build import build  # noqa: E402
from maze_cli.config_compose import compose_config  # noqa: E402
from maze_cli.envs.expensive import ExpensiveGymEnv  # noqa: E402
from maze_cli.runners import DevRunner, LocalRunner, RayRunner, Runner  # noqa: E402


def runners(envs_per_worker: int) -> List[Tuple[str, int, Runner]]:
    """(name, workers, runner) of every measured setting."""
    return [
        ("dev", 1, DevRunner(n_envs=envs_per_worker)),
        ("local", 1, LocalRunner(n_workers=1, envs_per_worker=envs_per_worker)),
        ("local", 2, LocalRunner(n_workers=2, envs_per_worker=envs_per_worker)),
        ("ray", 1, RayRunner(num_workers=1, envs_per_worker=envs_per_worker)),
        ("ray", 2, RayRunner(num_workers=2, envs_per_worker=envs_per_worker)),
    ]


def measure(runner: Runner, step_cost_ms: float, n_steps: int, seconds: float, repeats: int) -> float:
    """Median env steps/s over ``repeats`` windows of at least ``seconds``, after one warm-up rollout."""
    cfg, _ = compose_config([])
    components = build(cfg, env=functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=step_cost_ms))
    collector = runner.make_collector(components.env_factory, components.policy, components.critic, n_steps,
                                      seed=0, probe_env=components.probe_env)
    try:
        collector.collect()
        rates = []
        for _ in range(repeats):
            steps_before, start = collector.env_steps, time.perf_counter()
            while time.perf_counter() - start < seconds:
                collector.collect()
            rates.append((collector.env_steps - steps_before) / (time.perf_counter() - start))
        return statistics.median(rates)
    finally:
        collector.close()


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-cost-ms", type=float, default=1.0, help="CPU milliseconds per env step")
    parser.add_argument("--envs-per-worker", type=int, default=4)
    parser.add_argument("--n-steps", type=int, default=50, help="steps per env and rollout")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one measurement window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per setting (the median is reported)")
    args = parser.parse_args(argv)

    print(f"env: CartPole-v1 + {args.step_cost_ms} ms CPU per step; {args.envs_per_worker} envs per worker; "
          f"{os.cpu_count()} CPUs; torch threads 1")
    results: Dict[str, float] = {}
    for name, workers, runner in runners(args.envs_per_worker):
        runner.setup()
        label = name if name == "dev" else f"{name} x{workers}"
        results[label] = measure(runner, args.step_cost_ms, args.n_steps, args.seconds, args.repeats)
        print(f"{label:<10} {runner.n_envs:>3} envs  {results[label]:>9,.0f} env steps/s", flush=True)
    print(f"local x2 / local x1: {results['local x2'] / results['local x1']:.2f}   "
          f"ray x1 / local x1: {results['ray x1'] / results['local x1']:.2f}   "
          f"ray x2 / local x2: {results['ray x2'] / results['local x2']:.2f}")
    return results


if __name__ == "__main__":
    main()
