"""Heuristic -> behavioural cloning -> PPO, against PPO from scratch (docs/imitation.md).

    python benchmarks/imitation.py --seeds 1 2                        # CartPole-v1
    python benchmarks/imitation.py --task mountain_car --seeds 1 2    # MountainCar-v0
    python benchmarks/imitation.py --task acrobot --seeds 1 2         # Acrobot-v1
    python benchmarks/imitation.py --task pendulum --seeds 1 2        # Pendulum-v1
    python benchmarks/imitation.py --task lunar_lander --seeds 1 2    # LunarLander-v3 (the box2d extra)

Per seed: records ``--episodes`` episodes of the task's heuristic (:mod:`maze_cli.examples`), trains
``algorithm=bc`` on them with the env, observation normalisation and policy of the task's PPO preset, then runs
that preset twice until its deterministic evaluation reaches ``--threshold``: from scratch and from the BC weights
(``policy.init_from``, ``--burn-in`` critic burn-in epochs so the random critic does not undo the cloned policy).
Epochs are short (the task's ``eval_every_env_steps``), so the step count is fine-grained. Prints the
heuristic's and BC's returns and each PPO run's env steps to the threshold.
"""
from __future__ import annotations

import argparse
import csv
import logging
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import yaml
from omegaconf import DictConfig, OmegaConf

from maze_cli import RunContext
from maze_cli.build import EnvFactory
from maze_cli.config_compose import compose_config
from maze_cli.core.nested import flatten_keys
from maze_cli.examples.acrobot import AcrobotHeuristic
from maze_cli.examples.cartpole import CartPoleHeuristic
from maze_cli.examples.lunar_lander import LunarLanderHeuristic
from maze_cli.examples.mountain_car import MountainCarHeuristic
from maze_cli.examples.pendulum import PendulumHeuristic
from maze_cli.imitation.dataset import TrajectoryWriter
from maze_cli.imitation.recording import controller_act, play_episodes

PAIRED_SEED = 10_000


class Task(NamedTuple):
    heuristic: type  # the controller's class, from maze_cli.examples
    preset: str  # the PPO preset; its env, normalisation and policy are the BC run's too
    threshold: float
    eval_every_env_steps: int  # PPO's epochs here (budget.eval_every_env_steps: whatever the preset's envs)
    bc_epochs: Optional[int] = None  # where BC's default epochs are too few to fit the heuristic


TASKS = {
    "cartpole": Task(CartPoleHeuristic, "cartpole_ppo", 475.0, 2_560),
    "mountain_car": Task(MountainCarHeuristic, "mountain_car_ppo", -110.0, 5_120),
    "acrobot": Task(AcrobotHeuristic, "acrobot_ppo", -75.0, 6_144),
    "pendulum": Task(PendulumHeuristic, "pendulum_ppo", -172.0, 2_048, bc_epochs=30),
    "lunar_lander": Task(LunarLanderHeuristic, "lunar_lander_ppo", 242.0, 8_192, bc_epochs=30),
}


@lru_cache(maxsize=None)
def preset_config(preset: str) -> Tuple[DictConfig, Dict[str, str]]:
    """The preset's composed config and its choice per config group."""
    return compose_config([f"+experiment={preset}"])


def bc_run(task: Task, seed: int, dataset: Path, output_dir: Path, overrides: Dict[str, Any]) -> RunContext:
    """The BC run, with the env, observation normalisation and policy of the task's PPO preset, so that PPO can
    start from the clone's weights (``policy.init_from``) and a preset edit needs no edit here. They are passed
    as overrides (not as a ``policy=`` object), so ``--bc policy.KEY=VALUE`` still applies."""
    cfg, choices = preset_config(task.preset)
    fit = {key: value for group in ("env", "normalization", "policy")
           for key, value in flatten_keys(OmegaConf.to_container(cfg[group]), group + ".").items()}
    epochs = {} if task.bc_epochs is None else {"algorithm.n_epochs": task.bc_epochs}
    return RunContext(env=choices["env"], algorithm="bc", normalization=choices["normalization"], seed=seed,
                      output_dir=output_dir, overrides={"algorithm.dataset": str(dataset),
                                                        "algorithm.eval_repeats": 20, **fit, **epochs, **overrides})


def task_env(task: Task) -> Any:
    """A fresh env of the task, as the runs build it."""
    return EnvFactory(preset_config(task.preset)[0].env)()


def record(directory: Path, task: Task, heuristic: Any, episodes: int, seed: int) -> float:
    env = task_env(task)
    writer = TrajectoryWriter(directory, preset_config(task.preset)[0].env.name, env.observation_spaces_dict,
                              env.action_spaces_dict)
    returns = play_episodes(env, controller_act(heuristic, "heuristic"), episodes, seed, writer)
    writer.close()
    return float(np.mean(returns))


def paired_returns(task: Task, controller: Any, episodes: int, seed: int) -> float:
    """Mean return of ``controller`` on ``episodes`` fresh episodes whose starts depend on ``seed`` only, so the
    heuristic and its clone are compared on the same starts (a best-of-ten evaluation is optimistic)."""
    return float(np.mean(play_episodes(task_env(task), controller_act(controller, "controller"), episodes,
                                       PAIRED_SEED + seed)))


class DeterministicPolicy:
    """A finished run's policy acting on its mode, as the runs' evaluations do."""

    def __init__(self, run_dir: Path):
        self.run = RunContext.from_run_dir(run_dir)

    def compute_action(self, observation: Dict[str, Any]) -> Dict[str, Any]:
        return self.run.compute_action(observation, deterministic=True)


def steps_to(rc: RunContext, rows: List[Dict[str, str]]) -> Optional[int]:
    """Env steps at which the run stopped solved, or None: the stop rule's own test (the policy the run hands back
    held the threshold on at least ``--confirm-episodes`` fresh episodes; one 10-episode evaluation is too noisy)."""
    return int(rows[-1]["time/env_steps"]) if (rc.trainer.stop_reason or "").startswith("solved") else None


def key_values(items: List[str]) -> Dict[str, Any]:
    """``KEY=VALUE`` command-line items as a dict, values read as YAML (``[64,64]`` is a list, as in maze-run)."""
    return {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in items)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="cartpole")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--heuristic", nargs="*", default=[], metavar="KEY=VALUE",
                        help="arguments of the task's heuristic, e.g. centre_gain=0.2 for lunar_lander")
    parser.add_argument("--confirm-episodes", type=int, default=20,
                        help="fresh episodes on which a PPO run's first return at the threshold must hold")
    parser.add_argument("--paired-episodes", type=int, default=50,
                        help="fresh episodes on which the heuristic and the clone are compared")
    parser.add_argument("--threshold", type=float, default=None, help="default: the task's (" + ", ".join(
        f"{name} {task.threshold:g}" for name, task in TASKS.items()) + ")")
    parser.add_argument("--max-epochs", type=int, default=60, help="PPO epochs each run may take (no early stop)")
    parser.add_argument("--burn-in", type=int, default=1, help="critic burn-in epochs of PPO from BC")
    parser.add_argument("--from-bc", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of PPO from BC only, e.g. algorithm.entropy_coef=0.01")
    parser.add_argument("--scratch", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of PPO from scratch only")
    parser.add_argument("--bc", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further overrides of the BC run, e.g. algorithm.lr=0.0003")
    args = parser.parse_args()
    task = TASKS[args.task]
    heuristic = task.heuristic(**{key: float(value) for key, value in key_values(args.heuristic).items()})
    threshold = task.threshold if args.threshold is None else args.threshold
    logging.getLogger("maze_cli").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            recorded = record(Path(tmp) / f"data{seed}", task, heuristic, args.episodes, seed)
            bc = bc_run(task, seed, Path(tmp) / f"data{seed}", Path(tmp) / "runs", key_values(args.bc))
            bc_return = bc.train()
            paired = (paired_returns(task, heuristic, args.paired_episodes, seed),
                      paired_returns(task, DeterministicPolicy(bc.run_dir), args.paired_episodes, seed))
            ppo = {"scratch": key_values(args.scratch), "from BC": {"policy.init_from": str(bc.run_dir),
                                             "algorithm.critic_burn_in_epochs": args.burn_in,
                                             **key_values(args.from_bc)}}
            results = {}
            for name, extra in ppo.items():
                rc = RunContext(experiment=task.preset, seed=seed, output_dir=Path(tmp) / "runs",
                                overrides={"budget.eval_every_env_steps": task.eval_every_env_steps,
                                           "algorithm.n_epochs": args.max_epochs,
                                           "algorithm.patience": args.max_epochs,  # the budget, not patience, ends it
                                           "algorithm.stop_at_return": threshold,
                                           "algorithm.confirm_episodes": args.confirm_episodes, **extra})
                best = rc.train()
                with open(rc.run_dir / "stats.csv") as f:
                    rows = list(csv.DictReader(f))
                results[name] = (steps_to(rc, rows), best, float(rows[0]["eval/episode_return_mean"]))
            print(f"seed {seed}: heuristic {recorded:.1f} | BC best eval {bc_return:.1f} | on the same "
                  f"{args.paired_episodes} fresh episodes: heuristic {paired[0]:.1f}, BC {paired[1]:.1f} | " + " | ".join(
                f"PPO {name}: first eval {first:.1f}, best {best:.1f}, steps to {threshold:g}: {steps}"
                for name, (steps, best, first) in results.items()), flush=True)


if __name__ == "__main__":
    main()
