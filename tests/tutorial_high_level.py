"""The Maze high-level tutorial (shared/seed/plain_python_training_high_level.rst), verbatim.

Only the imports point at maze_cli, and the tutorial's two slips are fixed as DESIGN.md says:
``observation_space``/``action_space`` are taken from the env (the full tutorial script does so),
and the value net receives the ``obs_shapes`` *dict*.
"""
from typing import Dict, Sequence

import gymnasium as gym
import torch
import torch.nn as nn

import maze_cli
import maze_cli.api.run_context
from maze_cli import (A2CAlgorithmConfig, DistributionMapper, GymMazeEnv, LogStatsWrapper,
                      ProbabilisticPolicyComposer, RolloutEvaluator, SharedStateCriticComposer, TorchModelBlock)
from maze_cli.api import run_context

maze = maze_cli  # the tutorial spells maze.api.run_context.RunContext


def cartpole_env_factory():
    """ Env factory for the cartpole MazeEnv """
    # Registered gym environments can be instantiated first and then provided to GymMazeEnv:
    cartpole_env = gym.make("CartPole-v0")
    maze_env = GymMazeEnv(env=cartpole_env)

    # Another possibility is to supply the gym env string to GymMazeEnv directly:
    maze_env = GymMazeEnv(env="CartPole-v0")

    return maze_env


class CartpolePolicyNet(nn.Module):
    """ Simple linear policy net for demonstration purposes. """
    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_logit_shapes: Dict[str, Sequence[int]]):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(
                in_features=obs_shapes['observation'][0],
                out_features=action_logit_shapes['action'][0]
            )
        )

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        # Since x_dict has to be a dictionary in Maze, we extract the input for the network.
        x = x_dict['observation']

        # Do the forward pass.
        logits = self.net(x)

        # Since the return value has to be a dict again, put the
        # forward pass result into a dict with the correct key.
        logits_dict = {'action': logits}

        return logits_dict


class CartpoleValueNet(nn.Module):
    """ Simple linear value net for demonstration purposes. """
    def __init__(self, obs_shapes: Dict[str, Sequence[int]]):
        super().__init__()
        self.value_net = nn.Sequential(nn.Linear(in_features=obs_shapes['observation'][0], out_features=1))

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """ Forward method. """
        # The same as for the policy can be said about the value
        # net: Inputs and outputs have to be dicts.
        x = x_dict['observation']

        value = self.value_net(x)

        value_dict = {'value': value}
        return value_dict


def main() -> dict:
    """Runs the tutorial top to bottom; returns what the test inspects."""
    env = cartpole_env_factory()
    observation_space = env.observation_space
    action_space = env.action_space

    algorithm_config = A2CAlgorithmConfig(
        n_epochs=5,
        epoch_length=25,
        deterministic_eval=False,
        eval_repeats=2,
        patience=15,
        critic_burn_in_epochs=0,
        n_rollout_steps=100,
        lr=0.0005,
        gamma=0.98,
        gae_lambda=1.0,
        policy_loss_coef=1.0,
        value_loss_coef=0.5,
        entropy_coef=0.00025,
        max_grad_norm=0.0,
        device='cpu'
    )

    rc = maze.api.run_context.RunContext(env=cartpole_env_factory, algorithm=algorithm_config)
    rc.train()
    default_rc = rc

    # Instantiate our custom policy net.
    policy_net = CartpolePolicyNet(
        obs_shapes={'observation': env.observation_space.spaces['observation'].shape},
        action_logit_shapes={'action': (env.action_space.spaces['action'].n,)}
    )

    policy_net = TorchModelBlock(
        in_keys='observation',
        out_keys='action',
        in_shapes=env.observation_space.spaces['observation'].shape,
        in_num_dims=[2],
        out_num_dims=2,
        net=policy_net
    )

    policy_networks = [policy_net]  # Alternative: {0: policy_net}

    distribution_mapper = DistributionMapper(action_space=env.action_space, distribution_mapper_config={})

    distribution_mapper = DistributionMapper(
        action_space=action_space,
        distribution_mapper_config=[{
            "action_space": gym.spaces.Discrete,
            "distribution": "maze_cli.distributions.CategoricalProbabilityDistribution"}])

    policy_composer = ProbabilisticPolicyComposer(
        action_spaces_dict=env.action_spaces_dict,
        observation_spaces_dict=env.observation_spaces_dict,
        distribution_mapper=distribution_mapper,
        networks=policy_networks,
        # We have only one agent and network, thus this is an empty list.
        substeps_with_separate_agent_nets=[],
        # We have only one step and one agent.
        agent_counts_dict={0: 1}
    )

    rc = maze.api.run_context.RunContext(
        env=cartpole_env_factory,
        algorithm=algorithm_config,
        policy=policy_composer
    )
    rc.train()
    custom_policy_rc = rc

    value_networks = {
        0: TorchModelBlock(
            in_keys='observation', out_keys='value',
            in_shapes=observation_space.spaces['observation'].shape,
            in_num_dims=[2],
            out_num_dims=2,
            net=CartpoleValueNet(obs_shapes={'observation': env.observation_space.spaces['observation'].shape})
        )
    }

    critic_composer = SharedStateCriticComposer(
        observation_spaces_dict=env.observation_spaces_dict,
        agent_counts_dict={0: 1},
        networks=value_networks,
        stack_observations=True
    )

    rc = run_context.RunContext(
        env=cartpole_env_factory,
        algorithm=algorithm_config,
        policy=policy_composer,
        critic=critic_composer
    )
    rc.train()
    custom_both_rc = rc

    rc = run_context.RunContext(
        env=cartpole_env_factory,
        algorithm=algorithm_config,
        policy=policy_composer,
        critic=critic_composer,
        runner="local"
    )
    rc.train(n_epochs=1)

    evaluator = RolloutEvaluator(
        eval_env=LogStatsWrapper.wrap(cartpole_env_factory(), logging_prefix="eval"),
        n_episodes=3,
        model_selection=None
    )
    eval_stats = evaluator.evaluate(rc.policy)
    return {"default": default_rc, "custom_policy": custom_policy_rc, "custom_both": custom_both_rc,
            "local": rc, "policy_net": policy_net, "critic_composer": critic_composer, "eval_stats": eval_stats}
