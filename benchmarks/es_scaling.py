"""How evolution strategies scale with env worker processes, on an env whose step costs CPU time.

A generation of ES is ``2 * n_pairs`` whole episodes with perturbed weights. Under ``runner=local`` the
pairs are cut into chunks, and each worker process is sent the noise offsets of the next chunk whenever it
is free and plays those members' episodes itself (``maze_cli.train.population_pool``). This measures env steps/s of playing generations (the ES
update itself takes well under a millisecond) with 1 and 2 workers, round by round so that other load on
the machine affects both alike, and prints the ratio (the issue's goal: >= 1.7x). A generation lasts as
long as its longest episode.

    python benchmarks/es_scaling.py                   # ~1 minute
    python benchmarks/es_scaling.py --step-cost-ms 0  # cheap envs: the per-step message cost shows
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from typing import Dict, List

import torch

from maze_cli.build import build
from maze_cli.config_compose import compose_config
from maze_cli.envs.expensive import ExpensiveGymEnv
from maze_cli.runners import LocalRunner
from runners import interleaved  # benchmarks/runners.py


def rate(collector, generations: int) -> float:
    """Env steps/s of playing ``generations`` generations."""
    steps_before, start = collector.env_steps, time.perf_counter()
    for _ in range(generations):
        collector.collect()
    return (collector.env_steps - steps_before) / (time.perf_counter() - start)


def measure(step_cost_ms: float, n_pairs: int, generations: int, rounds: int) -> Dict[str, List[float]]:
    """Both settings play the same generations (the same weights, noise offsets and env seeds), so each
    round compares the wall time of identical work."""
    cfg, _ = compose_config(["algorithm=es", f"algorithm.n_pairs={n_pairs}"])
    components = build(cfg, env=functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=step_cost_ms))
    collectors = {}
    try:
        for workers in (1, 2):
            torch.manual_seed(0)  # the same noise offsets for both
            algorithm = components.make_trainer().algorithm
            runner = LocalRunner(n_workers=workers)
            runner.setup()
            collectors[f"local x{workers}"] = runner.make_population_collector(components.env_factory, algorithm, 0,
                                                                               components.probe_env)
        return interleaved(collectors, rounds, lambda collector: rate(collector, generations))
    finally:
        for collector in collectors.values():
            collector.close()


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-cost-ms", type=float, default=1.0, help="CPU milliseconds per env step")
    parser.add_argument("--n-pairs", type=int, default=16, help="antithetic pairs per generation")
    parser.add_argument("--generations", type=int, default=3, help="generations per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurement rounds (the median is reported)")
    args = parser.parse_args(argv)
    print(f"ES generations of {2 * args.n_pairs} CartPole-v1 episodes + {args.step_cost_ms} ms CPU per step; "
          f"{os.cpu_count()} CPUs; median of {args.rounds} rounds of {args.generations} generations")
    rates = measure(args.step_cost_ms, args.n_pairs, args.generations, args.rounds)
    results = {label: statistics.median(values) for label, values in rates.items()}
    for label, value in results.items():
        print(f"{label:<10} {value:>9,.0f} env steps/s   (rounds: {', '.join(f'{v:,.0f}' for v in rates[label])})")
    print(f"local x2 / local x1: {results['local x2'] / results['local x1']:.2f}")
    return results


if __name__ == "__main__":
    main()
