"""An example env whose observation dict mixes an image, a vector, a Discrete key and an action mask.

Each step shows a ``size`` x ``size`` RGB image (uint8, channels last) with one bright square in one of
its four quadrants, a ``cue`` (Discrete(2)) and a ``noise`` vector that carries no information. The
right action (Discrete(4)) is the bright quadrant, or the opposite quadrant (``3 - quadrant``) when the
cue is 1; it earns reward 1, any other action 0. Episodes last ``episode_length`` steps, so the
optimal return is ``episode_length`` and a random policy's is a quarter of it.

With ``action_masks=True`` the observation also carries ``action_mask`` (MultiBinary(4)) forbidding
one wrong action per step, and the env raises if a forbidden action arrives: a policy that acts
through it proves the masks were applied.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import gymnasium as gym
import numpy as np

from maze_cli.envs.maze_env import MazeEnv


class QuadrantEnv(MazeEnv):
    """Find the bright quadrant (mirrored by the cue); see the module doc.

    :param size: image height and width (even, at least 4).
    :param episode_length: steps per episode.
    :param action_masks: add ``action_mask`` and refuse masked actions.
    """

    def __init__(self, size: int = 16, episode_length: int = 8, action_masks: bool = False):
        if not (isinstance(size, int) and size >= 4 and size % 2 == 0):
            raise ValueError(f"QuadrantEnv: size={size!r}, expected an even integer >= 4")
        if not (isinstance(episode_length, int) and episode_length >= 1):
            raise ValueError(f"QuadrantEnv: episode_length={episode_length!r}, expected an integer >= 1")
        self.size, self.episode_length, self.action_masks = size, episode_length, bool(action_masks)
        spaces = {"image": gym.spaces.Box(0, 255, (size, size, 3), dtype=np.uint8),
                  "cue": gym.spaces.Discrete(2),
                  "noise": gym.spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)}
        if self.action_masks:
            spaces["action_mask"] = gym.spaces.MultiBinary(4)
        self.observation_spaces_dict = {0: gym.spaces.Dict(spaces)}
        self.action_spaces_dict = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(4)})}
        self._target, self._mask, self._t = 0, np.ones(4, dtype=np.int8), 0

    def _observation(self) -> Dict[str, Any]:
        quadrant, cue = int(self.np_random.integers(4)), int(self.np_random.integers(2))
        self._target = quadrant if cue == 0 else 3 - quadrant
        half = self.size // 2
        image = self.np_random.integers(0, 40, (self.size, self.size, 3)).astype(np.uint8)
        row, col = divmod(quadrant, 2)
        image[row * half + 1:(row + 1) * half - 1, col * half + 1:(col + 1) * half - 1] = 255
        obs = {"image": image, "cue": cue, "noise": self.np_random.uniform(-1, 1, 3).astype(np.float32)}
        if self.action_masks:
            wrong = [a for a in range(4) if a != self._target]
            self._mask = np.ones(4, dtype=np.int8)
            self._mask[wrong[int(self.np_random.integers(3))]] = 0
            obs["action_mask"] = self._mask.copy()
        return obs

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action: Dict[str, Any]):
        chosen = int(action["action"])
        if self.action_masks and not self._mask[chosen]:
            raise ValueError(f"QuadrantEnv: action {chosen} is masked at step {self._t} (mask {self._mask.tolist()})")
        reward = float(chosen == self._target)
        self._t += 1
        return self._observation(), reward, False, self._t >= self.episode_length, {}
