"""Dict action spaces train end to end: each head's distribution, log-prob and env action wired through PPO."""
import numpy as np
import pytest

from maze_cli import RunContext
from maze_cli.envs import TargetMatchingEnv

SQUASHED = "maze_cli.distributions.SquashedGaussianProbabilityDistribution"
FOUR_HEADS = {"env.box_dim": 2, "env.nvec": [2, 3], "env.n_switches": 3}


def random_episode_return(env: TargetMatchingEnv, n_episodes: int, seed: int) -> float:
    """Mean return of uniformly random actions, measured."""
    env.action_spaces_dict[0].seed(seed)
    total = 0.0
    for episode in range(n_episodes):
        env.reset(seed=seed + episode)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_spaces_dict[0].sample())
            total += reward
            done = terminated or truncated
    return total / n_episodes


@pytest.mark.parametrize("kwargs", [{}, {"box_dim": 2, "nvec": [2, 3], "n_switches": 3}])
def test_random_policy_baseline_matches_its_closed_form(kwargs):
    env = TargetMatchingEnv(**kwargs)
    expected = env.random_policy_reward() * env.episode_length
    assert random_episode_return(env, 500, seed=0) == pytest.approx(expected, rel=0.05)


def test_env_rejects_an_empty_action_space():
    with pytest.raises(ValueError, match="every head has size 0"):
        TargetMatchingEnv(n_choices=0, box_dim=0)


def _train_and_check(run_root, overrides, n_epochs):
    """Trains the preset; the deterministic policy must close 75% of the gap between random and perfect play."""
    env = TargetMatchingEnv(**{k.split(".")[1]: v for k, v in overrides.items() if k.startswith("env.")})
    random_return = env.random_policy_reward() * env.episode_length
    perfect_return = float(len(env.action_spaces_dict[0].spaces) * env.episode_length)
    threshold = random_return + 0.75 * (perfect_return - random_return)
    rc = RunContext(experiment="target_matching_ppo", seed=1, output_dir=run_root,
                    overrides={"algorithm.n_epochs": n_epochs, "algorithm.stop_at_return": threshold, **overrides})
    best = rc.train()
    fresh = rc.evaluate(n_episodes=20, deterministic=True)["eval/episode_return_mean"]
    assert best >= threshold and fresh >= threshold, (random_return, threshold, best, fresh)
    return rc


@pytest.mark.learning
def test_ppo_learns_a_discrete_and_a_box_head_jointly(run_root):
    """Random play scores 7.5 of 20 per episode; the threshold is 16.875 within 10,240 env steps."""
    rc = _train_and_check(run_root, {}, n_epochs=2)
    heads = rc.policy.distribution_mappers[0].head_distributions
    assert {k: v.__name__ for k, v in heads.items()} == {
        "choice": "CategoricalProbabilityDistribution", "force": "DiagonalGaussianProbabilityDistribution"}


@pytest.mark.learning
def test_ppo_learns_four_head_kinds_with_a_distribution_chosen_per_head_in_yaml(run_root):
    """Discrete, Box (squashed, chosen by head name), MultiDiscrete and MultiBinary heads; random scores 16.7 of 40."""
    overrides = {**FOUR_HEADS, "policy.distribution_mapper.distribution_mapper_config":
                 [{"action_head": "force", "distribution": SQUASHED}]}
    rc = _train_and_check(run_root, overrides, n_epochs=2)
    heads = {k: v.__name__ for k, v in rc.policy.distribution_mappers[0].head_distributions.items()}
    assert heads == {"choice": "CategoricalProbabilityDistribution", "force": "SquashedGaussianProbabilityDistribution",
                     "selection": "MultiCategoricalProbabilityDistribution",
                     "switches": "BernoulliProbabilityDistribution"}
    action = rc.compute_action(TargetMatchingEnv(**{k[4:]: v for k, v in FOUR_HEADS.items()}).reset(seed=0)[0])
    assert action["switches"].dtype == np.int8 and action["selection"].dtype == np.int64
    assert np.all(np.abs(action["force"]) <= 1.0)
