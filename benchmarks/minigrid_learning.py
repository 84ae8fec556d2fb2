"""The shipped +experiment=minigrid_ppo (MiniGrid-Empty-8x8-v0, 143,360 env steps) for several seeds.

    pip install -e .[minigrid]
    python benchmarks/minigrid_learning.py --seeds 1 2

Prints, per seed, the env steps at which the evaluation mean return (20 stochastic episodes) first
reached 0.9, the final and the best evaluation means, and the wall time.
"""
from __future__ import annotations

import argparse
import csv
import tempfile
import time

from maze_cli import RunContext

THRESHOLD = 0.9


def run(seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rc = RunContext(experiment="minigrid_ppo", seed=seed, output_dir=tmp)
        start = time.perf_counter()
        best = rc.train()
        seconds = time.perf_counter() - start
        with open(rc.run_dir / "stats.csv") as f:
            curve = [(int(r["time/env_steps"]), float(r["eval/episode_return_mean"])) for r in csv.DictReader(f)]
    first = next((steps for steps, value in curve if value >= THRESHOLD), None)
    return {"seed": seed, "first": first, "final": curve[-1][1], "best": best, "steps": curve[-1][0],
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{'seed':>4} {'steps to 0.9':>13} {'final':>6} {'best':>6} {'env steps':>10} {'seconds':>8}")
    for seed in args.seeds:
        r = run(seed)
        first = f"{r['first']:,}" if r["first"] is not None else "not reached"
        print(f"{r['seed']:>4} {first:>13} {r['final']:>6.3f} {r['best']:>6.3f} {r['steps']:>10,} {r['seconds']:>8.0f}")


if __name__ == "__main__":
    main()
