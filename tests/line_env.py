"""A tiny gymnasium env registered on import, for the ``env.name=<module>:<Id>`` form (gymnasium's own)."""
import gymnasium as gym
import numpy as np


class Line(gym.Env):
    """Walk right along a line of 5 cells: reward 1 at the end, -0.01 per step."""

    observation_space = gym.spaces.Box(0.0, 4.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.position = max(0, min(4, self.position + (1 if int(action) == 1 else -1)))
        done = self.position == 4
        return np.array([self.position], dtype=np.float32), 1.0 if done else -0.01, done, False, {}


gym.register("Line-v0", entry_point=Line, max_episode_steps=20)
