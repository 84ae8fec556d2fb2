"""Env steps and wall seconds each experiment preset needs to reach its return threshold.

    python benchmarks/learning.py                         # every preset, seed 1
    python benchmarks/learning.py cartpole_ppo --seeds 1 2 3
    python benchmarks/learning.py pendulum_sac mountain_car_continuous_sac --seeds 1 2

Each run trains ``+experiment=<preset>`` with ``stop_at_return`` set to the threshold and as many
epochs as fit in the budget, then reads its ``stats.csv``: the first epoch whose deterministic
evaluation mean reaches the threshold gives the steps, the summed epoch times (training and
evaluation) the seconds. Thresholds and budgets are those of the learning tests (tests/test_learning_presets.py,
tests/test_composite_actions.py).
"""
from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from maze_cli import RunContext

# preset: (threshold on the deterministic eval mean return, budget in env steps)
PRESETS: Dict[str, Tuple[float, int]] = {
    "cartpole_ppo": (475.0, 100_000),
    "acrobot_ppo": (-100.0, 200_000),
    "acrobot_a2c": (-100.0, 200_000),
    "pendulum_ppo": (-300.0, 500_000),
    "target_matching_ppo": (16.875, 20_000),  # random play + 75% of the gap to perfect play
    # SAC presets against the RL Zoo's figures and budgets (box2d and mujoco extras for the last two)
    "pendulum_sac": (-157.0, 20_000),
    "mountain_car_continuous_sac": (94.7, 50_000),
    "lunar_lander_continuous_sac": (260.0, 500_000),
    "half_cheetah_sac": (9535.0, 1_000_000),
}


def steps_per_epoch(rc: RunContext) -> int:
    """On-policy: rollout steps per update; off-policy (SAC): ``train_freq`` env steps per update."""
    algo, runner = rc.config.algorithm, rc.config.runner
    per_update = algo.n_rollout_steps if "n_rollout_steps" in algo else algo.train_freq
    return int(algo.epoch_length) * int(per_update) * int(runner.n_envs)


def run_preset(preset: str, seed: int, output_dir: Path, threshold: float, budget: int
               ) -> Tuple[Optional[int], Optional[float], float, float]:
    """``(steps to threshold, seconds to threshold, best return, total wall seconds)``; None when not reached."""
    probe = RunContext(experiment=preset, seed=seed, output_dir=output_dir)
    n_epochs = budget // steps_per_epoch(probe)
    rc = RunContext(experiment=preset, seed=seed, output_dir=output_dir,
                    overrides={"algorithm.n_epochs": n_epochs, "algorithm.stop_at_return": threshold})
    start = time.perf_counter()
    best = rc.train()
    wall = time.perf_counter() - start
    with open(rc.run_dir / "stats.csv") as f:
        rows: List[Dict[str, str]] = list(csv.DictReader(f))
    seconds = 0.0
    for row in rows:
        seconds += float(row["time/epoch_seconds"])
        if float(row["eval/episode_return_mean"]) >= threshold:
            return int(row["time/env_steps"]), seconds, best, wall
    return None, None, best, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=list(PRESETS), help=f"any of {list(PRESETS)}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--verbose", action="store_true", help="show the runs' epoch lines")
    args = parser.parse_args()
    if not args.verbose:
        logging.getLogger("maze_cli").addFilter(lambda record: False)
    print(f"{'preset':<22}{'seed':>5}{'threshold':>11}{'budget':>9}{'steps':>9}{'seconds':>9}{'best':>9}{'wall s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            threshold, budget = PRESETS[preset]
            for seed in args.seeds:
                steps, seconds, best, wall = run_preset(preset, seed, Path(tmp), threshold, budget)
                reached = (f"{steps:>9,}{seconds:>9.1f}" if steps is not None else f"{'-':>9}{'-':>9}")
                print(f"{preset:<22}{seed:>5}{threshold:>11.1f}{budget:>9,}{reached}{best:>9.1f}{wall:>8.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
