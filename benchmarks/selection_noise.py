"""Does the policy model selection hands back score what the run reported? The Maze tutorial's A2C settings.

    python benchmarks/selection_noise.py --seeds 1 2 3

The tutorial evaluates 2 stochastic episodes per epoch, the noisiest selection there is. Per seed it trains
those settings (CartPole-v1, 15 epochs of 10,000 env steps, ``--patience``) twice: selecting on the evaluation
alone (``selection.confirm_episodes=0``) and with every new best confirmed on fresh episodes (the default).
Then it evaluates the returned policy as a user would, stochastically on ``--fresh`` episodes from seeds no
run used, and prints the reported best, the fresh mean and their gap.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from maze_cli import A2CAlgorithmConfig, GymMazeEnv, LogStatsWrapper, RolloutEvaluator, RunContext

FRESH_SEED = 900_001


def tutorial_config(patience: int) -> A2CAlgorithmConfig:
    return A2CAlgorithmConfig(n_epochs=15, epoch_length=25, deterministic_eval=False, eval_repeats=2,
                              patience=patience, critic_burn_in_epochs=0, n_rollout_steps=100, lr=0.0005,
                              gamma=0.98, gae_lambda=1.0, policy_loss_coef=1.0, value_loss_coef=0.5,
                              entropy_coef=0.00025, max_grad_norm=0.0, device="cpu")


def cartpole() -> GymMazeEnv:
    return GymMazeEnv("CartPole-v1")


def reported_and_fresh(seed: int, confirm_episodes: int, patience: int, fresh: int, output_dir: Path):
    rc = RunContext(env=cartpole, algorithm=tutorial_config(patience), seed=seed, output_dir=output_dir,
                    overrides={"selection.confirm_episodes": confirm_episodes})
    reported = rc.train()
    evaluator = RolloutEvaluator(eval_env=LogStatsWrapper.wrap(cartpole(), logging_prefix="eval"),
                                 n_episodes=fresh, seed=FRESH_SEED + seed)
    return reported, evaluator.evaluate(rc.policy)["eval/episode_return_mean"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--fresh", type=int, default=10, help="episodes of the user's evaluation")
    args = parser.parse_args()
    logging.getLogger("maze_cli").addFilter(lambda record: False)
    print(f"{'seed':>4} {'selection':<22}{'reported':>9}{'fresh':>8}{'gap':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for label, confirm in (("evaluation alone", 0), ("confirmed on 10 fresh", 10)):
                reported, fresh = reported_and_fresh(seed, confirm, args.patience, args.fresh, Path(tmp))
                print(f"{seed:>4} {label:<22}{reported:>9.1f}{fresh:>8.1f}{fresh - reported:>+8.1f}", flush=True)


if __name__ == "__main__":
    main()
