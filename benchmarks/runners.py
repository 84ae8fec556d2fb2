"""Rollout throughput of the runners on an env whose step costs ~1 ms of CPU.

Measures env steps per second of rollout collection (env stepping plus batched policy inference,
the part a runner is responsible for; the learner's update is the same under every runner) for
``dev``, ``local`` with 1 and 2 worker processes and ``ray`` with 1 and 2 actors. Every worker
owns ``--envs-per-worker`` envs, so ``dev`` and the 1-worker runs step the same number of envs.

    python benchmarks/runners.py                  # ~1 minute
    python benchmarks/runners.py --step-cost-ms 0 # cheap envs: where per-step overheads show
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from maze_cli.build import build  # noqa: E402
from maze_cli.config_compose import compose_config  # noqa: E402
from maze_cli.envs.expensive import ExpensiveGymEnv  # noqa: E402
from maze_cli.runners import DevRunner, LocalRunner, RayRunner, Runner  # noqa: E402
from maze_cli.runners.base import Collector  # noqa: E402


def runners(envs_per_worker: int) -> List[Tuple[str, Runner]]:
    """(label, runner) of every measured setting.

    Ray actors reserve half a CPU each, so that both Ray settings fit a 2-CPU instance at once and
    the measurement windows of all settings can interleave (reservations do not limit CPU use).
    """
    ray_kwargs = {"envs_per_worker": envs_per_worker, "num_cpus_per_worker": 0.5}
    return [
        ("dev", DevRunner(n_envs=envs_per_worker)),
        ("local x1", LocalRunner(n_workers=1, envs_per_worker=envs_per_worker)),
        ("local x2", LocalRunner(n_workers=2, envs_per_worker=envs_per_worker)),
        ("ray x1", RayRunner(num_workers=1, **ray_kwargs)),
        ("ray x2", RayRunner(num_workers=2, **ray_kwargs)),
    ]


def rate(collector: Collector, seconds: float) -> float:
    """Env steps/s of rollouts collected for at least ``seconds``."""
    steps_before, start = collector.env_steps, time.perf_counter()
    while time.perf_counter() - start < seconds:
        collector.collect()
    return (collector.env_steps - steps_before) / (time.perf_counter() - start)


def measure(step_cost_ms: float, envs_per_worker: int, n_steps: int, seconds: float,
            rounds: int) -> Dict[str, List[float]]:
    """Steps/s of every setting in each of ``rounds`` rounds; a round measures every setting once,
    so that load from elsewhere on the machine affects all settings alike."""
    cfg, _ = compose_config([])
    components = build(cfg, env=functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=step_cost_ms))
    collectors: Dict[str, Collector] = {}
    try:
        for label, runner in runners(envs_per_worker):
            runner.setup()
            collectors[label] = runner.make_collector(components.env_factory, components.policy,
                                                      components.critic, n_steps, seed=0,
                                                      probe_env=components.probe_env)
            collectors[label].collect()  # warm-up: first resets, lazy allocations
        return interleaved(collectors, rounds, lambda collector: rate(collector, seconds))
    finally:
        for collector in collectors.values():
            collector.close()


def interleaved(collectors: Dict[str, Any], rounds: int, measure_one: Callable[[Any], float]) -> Dict[str, List[float]]:
    """``measure_one`` of every collector in each of ``rounds`` rounds; a round measures every setting once,
    so that load from elsewhere on the machine affects all settings alike."""
    rates: Dict[str, List[float]] = {label: [] for label in collectors}
    for _ in range(rounds):
        for label, collector in collectors.items():
            rates[label].append(measure_one(collector))
    return rates


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-cost-ms", type=float, default=1.0, help="CPU milliseconds per env step")
    parser.add_argument("--envs-per-worker", type=int, default=4)
    parser.add_argument("--n-steps", type=int, default=50, help="steps per env and rollout")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measurement window")
    parser.add_argument("--rounds", type=int, default=5, help="measurement rounds (the median is reported)")
    args = parser.parse_args(argv)

    print(f"env: CartPole-v1 + {args.step_cost_ms} ms CPU per step; {args.envs_per_worker} envs per worker; "
          f"{os.cpu_count()} CPUs; torch threads 1; median of {args.rounds} rounds of {args.seconds} s")
    rates = measure(args.step_cost_ms, args.envs_per_worker, args.n_steps, args.seconds, args.rounds)
    results = {label: statistics.median(values) for label, values in rates.items()}
    for label, value in results.items():
        spread = ", ".join(f"{v:,.0f}" for v in rates[label])
        print(f"{label:<10} {value:>9,.0f} env steps/s   (rounds: {spread})")
    print(f"local x2 / local x1: {results['local x2'] / results['local x1']:.2f}   "
          f"ray x1 / local x1: {results['ray x1'] / results['local x1']:.2f}   "
          f"ray x2 / local x2: {results['ray x2'] / results['local x2']:.2f}")
    return results


if __name__ == "__main__":
    main()
