"""Algorithms: each reads top to bottom from a rollout to losses and a gradient step; configs and shared maths."""
from maze_cli.algorithms.a2c import A2C
from maze_cli.algorithms.config import (A2CAlgorithmConfig, AlgorithmConfig, OnPolicyAlgorithmConfig,
                                        PPOAlgorithmConfig)
from maze_cli.algorithms.ppo import PPO

__all__ = ["A2C", "A2CAlgorithmConfig", "AlgorithmConfig", "OnPolicyAlgorithmConfig", "PPO", "PPOAlgorithmConfig"]
