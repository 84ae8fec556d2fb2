"""Heuristic -> behavioural cloning -> PPO on CartPole-v1, against PPO from scratch (docs/imitation.md).

    python benchmarks/imitation.py --seeds 1 2

Per seed: records ``--episodes`` episodes of :class:`maze_cli.examples.cartpole.CartPoleHeuristic`, trains
``algorithm=bc`` on them, then runs ``+experiment=cartpole_ppo`` (epochs of 10 updates, 2,560 env steps, so the
step count is fine-grained) twice until its deterministic evaluation reaches ``--threshold``: from scratch and
from the BC weights (``policy.init_from``, ``--burn-in`` critic burn-in epochs so the random critic does not
undo the cloned policy). Prints the heuristic's and BC's returns and each PPO run's env steps to the threshold.
"""
from __future__ import annotations

import argparse
import csv
import logging
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from maze_cli import RunContext
from maze_cli.build import EnvFactory
from maze_cli.examples.cartpole import CartPoleHeuristic
from maze_cli.imitation.dataset import TrajectoryWriter
from maze_cli.imitation.recording import controller_act, play_episodes


def record(directory: Path, episodes: int, seed: int) -> float:
    env = EnvFactory({"_target_": "maze_cli.envs.make_gym_env", "name": "CartPole-v1"})()
    writer = TrajectoryWriter(directory, "CartPole-v1", env.observation_spaces_dict, env.action_spaces_dict)
    returns = play_episodes(env, controller_act(CartPoleHeuristic(), "heuristic"), episodes, seed, writer)
    writer.close()
    return float(np.mean(returns))


def steps_to(rows: List[Dict[str, str]], threshold: float) -> Optional[int]:
    for row in rows:
        if float(row["eval/episode_return_mean"]) >= threshold:
            return int(row["time/env_steps"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--burn-in", type=int, default=1, help="critic burn-in epochs of PPO from BC")
    parser.add_argument("--from-bc", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of PPO from BC only, e.g. algorithm.entropy_coef=0.01")
    parser.add_argument("--scratch", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of PPO from scratch only")
    parser.add_argument("--bc", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of the BC run, e.g. algorithm.lr=0.0003")
    args = parser.parse_args()
    logging.getLogger("maze_cli").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            heuristic = record(Path(tmp) / f"data{seed}", args.episodes, seed)
            bc = RunContext(env="cartpole", algorithm="bc", seed=seed, output_dir=Path(tmp) / "runs",
                            overrides={"algorithm.dataset": str(Path(tmp) / f"data{seed}"),
                                       "algorithm.eval_repeats": 20, **dict(item.split("=", 1) for item in args.bc)})
            bc_return = bc.train()
            ppo = {"scratch": dict(item.split("=", 1) for item in args.scratch), "from BC": {"policy.init_from": str(bc.run_dir),
                                             "algorithm.critic_burn_in_epochs": args.burn_in,
                                             **dict(item.split("=", 1) for item in args.from_bc)}}
            results = {}
            for name, extra in ppo.items():
                rc = RunContext(experiment="cartpole_ppo", seed=seed, output_dir=Path(tmp) / "runs",
                                overrides={"algorithm.epoch_length": 10, "algorithm.n_epochs": args.max_epochs,
                                           "algorithm.stop_at_return": args.threshold, **extra})
                best = rc.train()
                with open(rc.run_dir / "stats.csv") as f:
                    rows = list(csv.DictReader(f))
                results[name] = (steps_to(rows, args.threshold), best, float(rows[0]["eval/episode_return_mean"]))
            print(f"seed {seed}: heuristic {heuristic:.1f} | BC best eval {bc_return:.1f} | " + " | ".join(
                f"PPO {name}: first eval {first:.1f}, best {best:.1f}, steps to {args.threshold:g}: {steps}"
                for name, (steps, best, first) in results.items()), flush=True)


if __name__ == "__main__":
    main()
