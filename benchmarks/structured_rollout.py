"""Rollout throughput of the one collector on a structured env (PackingEnv) and an ordinary one (CartPole).

Prints decisions (env steps) per second of ``collect()`` alone, without training, for a few env
counts and both runner modes. Run from the repository root: ``python benchmarks/structured_rollout.py``.
"""
from __future__ import annotations

import argparse
import time

import torch

from maze_cli import GymMazeEnv, ProbabilisticPolicyComposer, SharedStateCriticComposer, StepStateCriticComposer
from maze_cli.envs import PackingEnv
from maze_cli.train.collectors import make_rollout_collector


def cartpole() -> GymMazeEnv:
    return GymMazeEnv("CartPole-v1")


def measure(env_factory, n_envs: int, mode: str, critic_kind: str, n_steps: int, seconds: float):
    """(decisions per second, flat steps per second) of repeated ``collect()`` calls."""
    probe = env_factory()
    policy = ProbabilisticPolicyComposer(probe.action_spaces_dict, probe.observation_spaces_dict,
                                         agent_counts_dict=probe.agent_counts_dict).policy
    critic = (SharedStateCriticComposer(probe.observation_spaces_dict, stack_observations=True) if critic_kind == "shared"
              else StepStateCriticComposer(probe.observation_spaces_dict)).critic
    collector = make_rollout_collector(env_factory, n_envs, mode, policy, critic, n_steps, seed=0, probe_env=probe)
    try:
        collector.collect()  # warm-up
        decisions, start, flat_before = 0, time.perf_counter(), collector.env_steps
        while time.perf_counter() - start < seconds:
            collector.collect()
            decisions += n_steps * n_envs
        elapsed = time.perf_counter() - start
        return decisions / elapsed, (collector.env_steps - flat_before) / elapsed
    finally:
        collector.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per configuration")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'env':<10} {'collector':<11} {'mode':<11} {'critic':<7} {'envs':>5} {'decisions/s':>12} {'flat steps/s':>13}")
    rows = [(cartpole, "CartPole", "flat", "sequential", "shared", n) for n in (4, 16, 64)]
    rows += [(PackingEnv, "Packing", "structured", "sequential", critic, n) for critic in ("shared", "step")
             for n in (4, 16, 64)]
    rows += [(PackingEnv, "Packing", "structured", "subprocess", "shared", n) for n in (2, 8)]
    for factory, name, kind, mode, critic, n_envs in rows:
        decisions, flat = measure(factory, n_envs, mode, critic, 32, args.seconds)
        print(f"{name:<10} {kind:<11} {mode:<11} {critic:<7} {n_envs:>5} {decisions:>12,.0f} {flat:>13,.0f}")


if __name__ == "__main__":
    main()
