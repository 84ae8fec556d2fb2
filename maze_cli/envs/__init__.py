"""Envs: the MazeEnv interface, gymnasium adapter, statistics wrapper and vector envs."""
from maze_cli.envs.gym_families import atari_wrappers, make_atari_env, make_minigrid_env
from maze_cli.envs.gym_maze_env import GymMazeEnv, make_gym_env
from maze_cli.envs.log_stats import EpisodeStats, LogStatsWrapper
from maze_cli.envs.maze_env import ActorID, MazeEnv
from maze_cli.envs.packing import PackingEnv
from maze_cli.envs.quadrant import QuadrantEnv
from maze_cli.envs.target_matching import TargetMatchingEnv
from maze_cli.envs.make import make_vector_env
from maze_cli.envs.vector import EnvError, EnvWorkerDied, VectorStep

__all__ = ["ActorID", "EnvError", "EnvWorkerDied", "EpisodeStats", "GymMazeEnv", "LogStatsWrapper",
           "MazeEnv", "PackingEnv", "QuadrantEnv", "VectorStep", "TargetMatchingEnv", "atari_wrappers",
           "make_atari_env", "make_gym_env", "make_minigrid_env", "make_vector_env"]
