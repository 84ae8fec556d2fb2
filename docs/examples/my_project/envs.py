"""A user's own env, trained through ``env._target_=my_project.envs.make_corridor``."""
import gymnasium as gym
import numpy as np

from maze_cli import MazeEnv


class CorridorEnv(MazeEnv):
    """Walk right along a corridor of ``length`` cells; reward 1 at the end, -0.01 per step."""

    def __init__(self, length: int = 8):
        self.length = length
        self.observation_spaces_dict = {0: gym.spaces.Dict(
            {"position": gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"move": gym.spaces.Discrete(2)})}  # 0 left, 1 right
        self.position = 0
        self.steps = 0

    def _obs(self):
        return {"position": np.array([self.position / self.length], dtype=np.float32)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position, self.steps = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.position = max(0, self.position + (1 if int(action["move"]) == 1 else -1))
        self.steps += 1
        done = self.position == self.length
        return self._obs(), (1.0 if done else -0.01), done, self.steps >= 50, {}


def make_corridor(length: int = 8) -> CorridorEnv:
    return CorridorEnv(length)
