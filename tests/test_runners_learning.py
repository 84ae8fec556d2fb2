"""The same seed and config learn CartPole under dev, local and ray: same threshold, same run directory."""
import csv

import pytest

from maze_cli import A2CAlgorithmConfig, RunContext

BUDGET_STEPS = 150_000
SEED = 1
# 4 envs under every runner: in one process, in 2 worker processes, in 2 Ray actors.
RUNNERS = {
    "dev": {"runner.n_envs": 4},
    "local": {"runner.n_workers": 2, "runner.envs_per_worker": 2},
    "ray": {"runner.num_workers": 2, "runner.envs_per_worker": 2},
}
RUN_FILES = ["config.yaml", "stats.csv", "maze_cli.log", "learning_curve.png", "checkpoints/best.pt",
             "checkpoints/last.pt"]


def tutorial_a2c(n_epochs: int) -> A2CAlgorithmConfig:
    """The tutorial's hyper-parameters; evaluation is deterministic over 10 episodes.

    Patience 3 (the tutorial: 15) ends a run 3 epochs after its last improvement, e.g. after it
    reached the maximum return 500; updates before that are the same, so the threshold is met (or
    not) within the same steps. Measured: no run stalled 3 epochs before reaching 475.
    """
    return A2CAlgorithmConfig(
        n_epochs=n_epochs, epoch_length=25, deterministic_eval=True, eval_repeats=10, patience=3,
        critic_burn_in_epochs=0, n_rollout_steps=100, lr=0.0005, gamma=0.98, gae_lambda=1.0,
        policy_loss_coef=1.0, value_loss_coef=0.5, entropy_coef=0.00025, max_grad_norm=0.0, device="cpu")


@pytest.mark.learning
def test_same_seed_and_config_learn_cartpole_under_dev_local_and_ray(ray_session, run_root):
    n_epochs = BUDGET_STEPS // (25 * 100 * 4)
    results = {}
    for runner, overrides in RUNNERS.items():
        rc = RunContext(env="cartpole", algorithm=tutorial_a2c(n_epochs), runner=runner, overrides=overrides,
                        seed=SEED)
        best = rc.train()
        with open(rc.run_dir / "stats.csv") as f:
            rows = list(csv.DictReader(f))
        results[runner] = {"best": best, "rows": rows, "run_dir": rc.run_dir,
                           "eval": [round(float(r["eval/episode_return_mean"])) for r in rows]}
    print({runner: r["eval"] for runner, r in results.items()})  # the learning curves, for the record

    for runner, r in results.items():
        assert int(r["rows"][-1]["time/env_steps"]) <= BUDGET_STEPS, runner
        # each runner learns; what selection keeps of it is tested in test_selection.py (confirmed on fresh episodes,
        # so a 499 evaluation may be kept at 470 and patience 3 end the run there)
        assert max(r["eval"]) >= 475, (runner, r["eval"])
        assert all((r["run_dir"] / name).is_file() for name in RUN_FILES), runner
        assert list(r["run_dir"].glob("events.out.tfevents.*")), runner
    columns = {runner: tuple(r["rows"][0].keys()) for runner, r in results.items()}
    assert columns["local"] == columns["dev"] and columns["ray"] == columns["dev"]
    for runner, r in results.items():  # every epoch of every runner is 10,000 env steps
        assert [int(row["time/env_steps"]) for row in r["rows"]] == [10_000 * (i + 1) for i in range(len(r["rows"]))]
