"""State critics (value functions) and the composers that build them from spaces."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import gymnasium as gym
import torch
from torch import nn

from maze_cli.models.networks import resolve_networks
from maze_cli.models.observations import ObservationConverter
from maze_cli.models.policy import sample_batch

DEFAULT_VALUE_NET = {"_target_": "maze_cli.models.DefaultValueNet", "hidden_units": [64, 64],
                     "activation": "torch.nn.Tanh"}


class TorchStateCritic(nn.Module):
    """State-value function V(s) of each sub-step's observation.

    :param networks: ``{network key: module}`` returning ``{"value": (batch, 1) or (batch,)}``.
    :param step_to_key: ``{sub-step: network key}``; several sub-steps may share one network.
    """

    def __init__(self, networks: Dict[str, nn.Module], step_to_key: Mapping[int, str]):
        super().__init__()
        self.networks = nn.ModuleDict(networks)
        self.step_to_key = dict(step_to_key)
        self.observation_normalizer: Optional[nn.Module] = None  # shared with the policy, set by build

    def predict_value(self, obs: Dict[str, torch.Tensor], step: int = 0) -> torch.Tensor:
        """Values of a batch of converted observations of ``step``: shape ``(batch,)``."""
        if self.observation_normalizer is not None:
            obs = self.observation_normalizer(obs)
        value = self.networks[self.step_to_key[step]](obs)["value"]
        return value.reshape(value.shape[0])


def _check_value_output(net: nn.Module, key: str, obs: Dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        out = net(obs)
    batch = next(iter(obs.values())).shape[0]
    if not isinstance(out, Mapping) or "value" not in out:
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise ValueError(f"critic network {key!r} ({type(net).__name__}) returned {got}, expected a dict "
                         f"with key 'value'")
    if tuple(out["value"].shape) not in ((batch,), (batch, 1)):
        raise ValueError(f"critic network {key!r} ({type(net).__name__}): 'value' has shape "
                         f"{tuple(out['value'].shape)}, expected (batch, 1) or (batch,)")


class _CriticComposer:
    """Shared machinery: build networks for the given keys from the observation spaces they read."""

    def _build(self, networks: Any, spaces_by_key: Mapping[str, gym.spaces.Dict],
               step_to_key: Mapping[int, str]) -> TorchStateCritic:
        converters = {key: ObservationConverter(space) for key, space in spaces_by_key.items()}
        nets = resolve_networks(networks, list(spaces_by_key), DEFAULT_VALUE_NET,
                                lambda key: {"obs_shapes": dict(converters[key].shapes)}, "critic")
        for key, net in nets.items():
            _check_value_output(net, key, sample_batch(spaces_by_key[key], converters[key]))
        return TorchStateCritic(nets, step_to_key)

    @property
    def critic(self) -> TorchStateCritic:
        return self._critic


class SharedStateCriticComposer(_CriticComposer):
    """One value function for every sub-step and agent.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``; sub-steps must share
        one observation space (use :class:`StepStateCriticComposer` when they differ).
    :param agent_counts_dict: ``{sub-step: number of agents}`` (kept for API compatibility).
    :param networks: value network(s): ``None`` (default MLP), a config, ``[net]`` or ``{0: net}``.
    :param stack_observations: for structured envs, feed the critic the observations of every
        sub-step of the flat step; a no-op for single-sub-step envs.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 agent_counts_dict: Optional[Mapping[int, int]] = None, networks: Any = None,
                 stack_observations: bool = False):
        self.observation_spaces_dict = dict(observation_spaces_dict)
        self.agent_counts_dict = dict(agent_counts_dict or {s: 1 for s in self.observation_spaces_dict})
        self.stack_observations = bool(stack_observations)
        spaces = list(self.observation_spaces_dict.values())
        if any(space != spaces[0] for space in spaces[1:]):
            raise ValueError("SharedStateCriticComposer: the sub-steps "
                             f"{sorted(self.observation_spaces_dict)} have different observation spaces; "
                             "use StepStateCriticComposer (critic=step) for one value function per sub-step")
        if isinstance(networks, Mapping) and "_target_" not in networks:
            networks = list(networks.values())
        step_to_key = {step: "0" for step in self.observation_spaces_dict}
        self._critic = self._build(networks, {"0": spaces[0]}, step_to_key)


class StepStateCriticComposer(_CriticComposer):
    """One value function per sub-step.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``.
    :param agent_counts_dict: ``{sub-step: number of agents}``.
    :param networks: ``None`` (default MLP per sub-step), one config, a list or ``{sub_step: net}``.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 agent_counts_dict: Optional[Mapping[int, int]] = None, networks: Any = None):
        self.observation_spaces_dict = dict(observation_spaces_dict)
        self.agent_counts_dict = dict(agent_counts_dict or {s: 1 for s in self.observation_spaces_dict})
        spaces_by_key = {str(step): space for step, space in sorted(self.observation_spaces_dict.items())}
        self._critic = self._build(networks, spaces_by_key, {step: str(step) for step in self.observation_spaces_dict})
