"""Which observation key masks which action head.

An env puts a boolean mask (``MultiBinary(n)`` or a bool/0-1 Box of the head's logits shape) into
its observation dict: by default ``<head>_mask`` for any head, and ``action_mask`` when the action
space has a single head. ``policy.action_masks: {head: key}`` names other keys.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

import gymnasium as gym

from maze_cli.distributions import DistributionMapper
from maze_cli.models.perception import MASK_KEY, MASK_SUFFIX

MaskKeys = Dict[str, str]
"""``{action head: observation key of its mask}``."""


def resolve_mask_keys(mapper: DistributionMapper, observation_space: gym.spaces.Dict,
                      configured: Optional[Mapping[str, str]], step: int) -> MaskKeys:
    """The mask keys of one sub-step: configured ones for its heads, else the default names present in the space."""
    heads = list(mapper.action_space.spaces)
    keys = dict(observation_space.spaces)
    if configured:
        chosen = {head: str(key) for head, key in configured.items() if head in heads}
    else:
        chosen = {head: head + MASK_SUFFIX for head in heads if head + MASK_SUFFIX in keys}
        if len(heads) == 1 and not chosen and MASK_KEY in keys:
            chosen = {heads[0]: MASK_KEY}
    for head, key in chosen.items():
        where = f"policy.action_masks: sub-step {step}'s head {head!r}"
        if key not in keys:
            raise ValueError(f"{where} is masked by observation key {key!r}, which the observation space lacks "
                             f"(keys {sorted(keys)})")
        space, cls = keys[key], mapper.head_distributions[head]
        if not cls.supports_mask:
            raise ValueError(f"{where}: its distribution {cls.__name__} does not support action masks "
                             f"(Categorical and MultiCategorical heads do); remove the mask key {key!r}")
        expected = mapper.required_logits_shape(head)
        if not isinstance(space, (gym.spaces.MultiBinary, gym.spaces.Box)) or tuple(space.shape) != tuple(expected):
            raise ValueError(f"{where}: mask key {key!r} has space {space}, expected MultiBinary({list(expected)}) "
                             f"or a 0/1 Box of shape {tuple(expected)} (one entry per action)")
    return chosen


def check_configured_heads(configured: Optional[Mapping[str, str]],
                           mappers: Mapping[int, DistributionMapper]) -> None:
    """Refuse configured heads no sub-step has (a typo would silently leave a head unmasked)."""
    heads = {head for mapper in mappers.values() for head in mapper.action_space.spaces}
    unknown = sorted(set(configured or {}) - heads)
    if unknown:
        raise ValueError(f"policy.action_masks names action head(s) {unknown}, which no sub-step has "
                         f"(heads {sorted(heads)})")
