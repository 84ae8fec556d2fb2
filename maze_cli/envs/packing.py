"""A small structured env shipped as an example: pick an item, then pick a bin for it.

Every flat step has two sub-steps with different observation and action spaces:

- sub-step 0 ("pick item"): sees the sizes of the items still to pack and the free capacity of
  every bin; chooses an item (``Discrete(n_items)``).
- sub-step 1 ("pick bin"): sees the chosen item's size and the free capacities; chooses a bin
  (``Discrete(n_bins)``, or with ``bin_action="continuous"`` a number in ``[0, 1]`` whose
  ``n_bins``-quantile is the bin: a ``Box`` action).

Each episode draws ``n_bins`` bin capacities and as many items whose sizes are exactly those
capacities, plus ``n_decoys`` items too large for any bin. An episode lasts ``n_bins`` flat steps
(one item per flat step). An item that fits into the chosen bin is packed and earns its size
divided by the total capacity; an item that does not fit (or an item picked twice) earns nothing.
The optimum is therefore known: packing every real item, return 1.0, reached by picking an item
that still fits somewhere and putting it into the bin it fits best (the largest item first is always safe).

With ``action_masks=True`` (discrete bins only) the observations carry the masks of the actions that
can earn anything: ``item_mask`` (items not yet packed that fit into some bin) and ``bin_mask``
(bins the chosen item fits into); an episode then also ends when no remaining item fits anywhere.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np

from maze_cli.envs.maze_env import ActorID, MazeEnv

PICK_ITEM, PICK_BIN = 0, 1
OPTIMAL_RETURN = 1.0
"""Return of the optimal policy in every episode."""
_FIT_TOLERANCE = 1e-6


class PackingEnv(MazeEnv):
    """Two-sub-step packing: sub-step 0 picks an item, sub-step 1 picks the bin it goes into.

    :param n_bins: bins per episode (and real items per episode, and flat steps per episode).
    :param n_decoys: extra items per episode that fit into no bin.
    :param bin_action: ``"discrete"`` (``Discrete(n_bins)``) or ``"continuous"`` (``Box(0, 1, (1,))``).
    :param min_gap: least difference between two bin capacities, so that "which bin fits best" is learnable.
    :param action_masks: add ``item_mask`` and ``bin_mask`` to the observations (see the module doc).
    """

    def __init__(self, n_bins: int = 2, n_decoys: int = 1, bin_action: str = "discrete", min_gap: float = 0.15,
                 action_masks: bool = False):
        if not (isinstance(n_bins, int) and n_bins >= 1):
            raise ValueError(f"PackingEnv: n_bins={n_bins!r}, expected an integer >= 1")
        if not (isinstance(n_decoys, int) and n_decoys >= 0):
            raise ValueError(f"PackingEnv: n_decoys={n_decoys!r}, expected an integer >= 0")
        if bin_action not in ("discrete", "continuous"):
            raise ValueError(f"PackingEnv: bin_action={bin_action!r}, expected 'discrete' or 'continuous'")
        if not 0 <= min_gap * (n_bins - 1) < 0.8:
            raise ValueError(f"PackingEnv: min_gap={min_gap!r} leaves no room for {n_bins} capacities in [0.2, 1]")
        if action_masks and bin_action != "discrete":
            raise ValueError("PackingEnv: action_masks=True needs bin_action='discrete' (a Box action has no mask)")
        self.n_bins, self.n_decoys, self.min_gap = n_bins, n_decoys, float(min_gap)
        self.action_masks = bool(action_masks)
        self.n_items = n_bins + n_decoys
        self.bin_action = bin_action
        sizes = gym.spaces.Box(0.0, 2.0, shape=(self.n_items,), dtype=np.float32)
        free = gym.spaces.Box(0.0, 1.0, shape=(n_bins,), dtype=np.float32)
        self.observation_spaces_dict = {
            PICK_ITEM: gym.spaces.Dict({"items": sizes, "free": free}),
            PICK_BIN: gym.spaces.Dict({"item": gym.spaces.Box(0.0, 2.0, shape=(1,), dtype=np.float32), "free": free}),
        }
        if self.action_masks:
            self.observation_spaces_dict[PICK_ITEM]["item_mask"] = gym.spaces.MultiBinary(self.n_items)
            self.observation_spaces_dict[PICK_BIN]["bin_mask"] = gym.spaces.MultiBinary(n_bins)
        bin_space = gym.spaces.Discrete(n_bins) if bin_action == "discrete" \
            else gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_spaces_dict = {
            PICK_ITEM: gym.spaces.Dict({"item": gym.spaces.Discrete(self.n_items)}),
            PICK_BIN: gym.spaces.Dict({"bin": bin_space}),
        }
        self._sub_step = PICK_ITEM
        self._items = np.zeros(self.n_items, dtype=np.float32)
        self._free = np.zeros(n_bins, dtype=np.float32)
        self._total = 1.0
        self._picked = 0
        self._flat_steps = 0

    def actor_id(self) -> ActorID:
        return self._sub_step, 0

    def _capacities(self) -> np.ndarray:
        """``n_bins`` capacities in [0.2, 1], pairwise at least ``min_gap`` apart."""
        span = 0.8 - self.min_gap * (self.n_bins - 1)
        cuts = np.sort(self.np_random.uniform(0.0, span, size=self.n_bins))
        capacities = 0.2 + cuts + self.min_gap * np.arange(self.n_bins)
        return self.np_random.permutation(capacities).astype(np.float32)

    def _fits(self, sizes: np.ndarray) -> np.ndarray:
        """``(len(sizes), n_bins)``: whether each (non-zero) size fits into each bin's free capacity."""
        return (sizes[:, None] > 0.0) & (sizes[:, None] <= self._free[None, :] + _FIT_TOLERANCE)

    def _observation(self) -> Dict[str, np.ndarray]:
        if self._sub_step == PICK_ITEM:
            obs = {"items": self._items.copy(), "free": self._free.copy()}
            if self.action_masks:
                obs["item_mask"] = self._fits(self._items).any(axis=1).astype(np.int8)
            return obs
        item = np.array([self._items[self._picked]], dtype=np.float32)
        obs = {"item": item, "free": self._free.copy()}
        if self.action_masks:
            obs["bin_mask"] = self._fits(item)[0].astype(np.int8)
        return obs

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        capacities = self._capacities()
        decoys = self.np_random.uniform(1.2, 2.0, size=self.n_decoys).astype(np.float32)
        self._items = self.np_random.permutation(np.concatenate([capacities, decoys])).astype(np.float32)
        self._free = self.np_random.permutation(capacities).astype(np.float32)
        self._total = float(capacities.sum())
        self._sub_step, self._flat_steps = PICK_ITEM, 0
        return self._observation(), {}

    def _bin_index(self, action: Any) -> int:
        if self.bin_action == "discrete":
            return int(action)
        position = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], 0.0, 1.0))
        return min(int(position * self.n_bins), self.n_bins - 1)

    def step(self, action: Dict[str, Any]) -> Tuple[Dict[str, np.ndarray], float, bool, bool, Dict[str, Any]]:
        if self._sub_step == PICK_ITEM:
            self._picked = int(action["item"])
            self._sub_step = PICK_BIN
            return self._observation(), 0.0, False, False, {"flat_step_done": False}
        size = float(self._items[self._picked])
        target = self._bin_index(action["bin"])
        reward = 0.0
        if 0.0 < size <= self._free[target] + _FIT_TOLERANCE:
            self._free[target] = max(float(self._free[target]) - size, 0.0)
            reward = size / self._total
        self._items[self._picked] = 0.0
        self._sub_step = PICK_ITEM
        self._flat_steps += 1
        terminated = self._flat_steps >= self.n_bins or (self.action_masks and not self._fits(self._items).any())
        return self._observation(), reward, terminated, False, {"flat_step_done": True}

