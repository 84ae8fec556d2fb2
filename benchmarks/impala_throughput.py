"""IMPALA's training throughput against synchronous A2C on the same runner, with an env whose step time varies.

Both train the same network on CartPole-v1 whose every step burns a random 0.5-3 ms of CPU (a simulator
whose step time varies), on ``runner=local`` with the same workers, envs per worker and rollout length.
Synchronous A2C steps all envs in lockstep (every step waits for the slowest worker) and learns while the
envs wait; IMPALA's actors act on their own and keep acting while the learner updates. Each round starts
both afresh, warms them up with one update, then times ``--updates`` updates (collection and learning);
the settings alternate round by round so that other load affects both alike. Also prints IMPALA's policy lag.

    python benchmarks/impala_throughput.py            # ~1 minute
    python benchmarks/impala_throughput.py --step-cost-ms 0 --step-cost-max-ms 0   # cheap envs
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from typing import Dict, List, Tuple

from maze_cli.build import build
from maze_cli.config_compose import compose_config
from maze_cli.envs.expensive import ExpensiveGymEnv


def train_rate(algorithm_name: str, args: argparse.Namespace) -> Tuple[float, float]:
    """(env steps/s over ``args.updates`` updates after one warm-up update, mean policy lag or NaN)."""
    cfg, _ = compose_config([f"algorithm={algorithm_name}", "runner=local", f"runner.n_workers={args.workers}",
                             f"runner.envs_per_worker={args.envs_per_worker}",
                             f"algorithm.n_rollout_steps={args.n_steps}", "algorithm.eval_repeats=0"])
    env = functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=args.step_cost_ms,
                            step_cost_max_ms=args.step_cost_max_ms)
    components = build(cfg, env=env)
    components.runner.setup()
    trainer = components.make_trainer()
    collector = trainer.make_collector(0)
    try:
        trainer.algorithm.update(collector.collect(), 0, 0.0)  # warm-up: first resets, lazy allocations
        collector.pop_episode_stats()
        steps_before, start = collector.env_steps, time.perf_counter()
        for index in range(args.updates):
            trainer.algorithm.update(collector.collect(), 0, index / args.updates)
        rate = (collector.env_steps - steps_before) / (time.perf_counter() - start)
        return rate, collector.pop_episode_stats().get("train/policy_lag_mean", float("nan"))
    finally:
        collector.close()


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-cost-ms", type=float, default=0.5, help="least CPU milliseconds per env step")
    parser.add_argument("--step-cost-max-ms", type=float, default=3.0, help="most CPU milliseconds per env step")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--envs-per-worker", type=int, default=1, help="one simulator per worker process")
    parser.add_argument("--n-steps", type=int, default=32, help="steps per env and rollout")
    parser.add_argument("--updates", type=int, default=20, help="timed updates per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (the median is reported)")
    args = parser.parse_args(argv)
    print(f"CartPole-v1 + {args.step_cost_ms}-{args.step_cost_max_ms} ms CPU per step (uniform); runner=local, "
          f"{args.workers} workers x {args.envs_per_worker} envs, {args.n_steps} steps per rollout; "
          f"{os.cpu_count()} CPUs; median of {args.rounds} rounds of {args.updates} updates")
    rates: Dict[str, List[float]] = {"a2c": [], "impala": []}
    lags: List[float] = []
    for _ in range(args.rounds):
        for name in rates:
            rate, lag = train_rate(name, args)
            rates[name].append(rate)
            if name == "impala":
                lags.append(lag)
    results = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in results.items():
        print(f"{name:<7} {value:>8,.0f} env steps/s   (rounds: {', '.join(f'{v:,.0f}' for v in rates[name])})")
    results["ratio"] = results["impala"] / results["a2c"]
    results["policy_lag"] = statistics.median(lags)
    print(f"impala / a2c: {results['ratio']:.2f}   impala's policy lag: {results['policy_lag']:.2f} updates (median "
          f"of the rounds' means)")
    return results


if __name__ == "__main__":
    main()
