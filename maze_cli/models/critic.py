"""State critics (value functions) and the composers that build them from spaces."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

import gymnasium as gym
import torch
from torch import nn

from maze_cli.envs.maze_env import check_sub_steps
from maze_cli.models.networks import resolve_networks
from maze_cli.models.observations import ObservationConverter
from maze_cli.models.policy import sample_batch
from maze_cli.models.stacking import ObservationStacker

Inputs = Tuple[Dict[str, Tuple[int, ...]], Dict[str, torch.Tensor], Dict[str, gym.Space]]
"""A value network's input shapes, a sample input batch and the input keys' spaces."""

DEFAULT_VALUE_NET = {"_target_": "maze_cli.models.DefaultValueNet", "hidden_units": [64, 64],
                     "activation": "torch.nn.Tanh"}


class TorchStateCritic(nn.Module):
    """State-value function V(s) of each sub-step's observation.

    :param networks: ``{network key: module}`` returning ``{"value": (batch, 1) or (batch,)}``.
    :param step_to_key: ``{sub-step: network key}``; several sub-steps may share one network.
    :param stacking: when set, the critic reads stacked inputs (every sub-step of the flat step,
        see :mod:`maze_cli.models.stacking`) instead of the observation of the decision's sub-step;
        the rollout collector builds them.
    """

    def __init__(self, networks: Dict[str, nn.Module], step_to_key: Mapping[int, str],
                 stacking: Optional[ObservationStacker] = None):
        super().__init__()
        self.networks = nn.ModuleDict(networks)
        self.step_to_key = dict(step_to_key)
        self.stacking = stacking
        self.observation_normalizer: Optional[nn.Module] = None  # shared with the policy, set by build

    def predict_value(self, obs: Dict[str, torch.Tensor], step: int = 0) -> torch.Tensor:
        """Values of a batch of converted observations of ``step`` (stacked inputs if :attr:`stacking`): ``(batch,)``.

        Stacked inputs (keys ``substep<s>/<key>``) are not normalised: the normaliser knows plain keys only.
        """
        if self.observation_normalizer is not None:
            obs = self.observation_normalizer(obs)
        value = self.networks[self.step_to_key[step]](obs)["value"]
        return value.reshape(value.shape[0])

    def check_fits(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict]) -> None:
        """Raise naming the sub-step if this critic cannot value every sub-step of an env with these spaces."""
        missing = [step for step in sorted(observation_spaces_dict) if step not in self.step_to_key]
        if missing:
            raise ValueError(f"critic: has no value network for sub-step {missing[0]} (it values sub-steps "
                             f"{sorted(self.step_to_key)}, the env has sub-steps {sorted(observation_spaces_dict)})")
        if self.stacking is not None and set(self.stacking.spaces) != set(observation_spaces_dict):
            raise ValueError(f"critic: stacks the observations of sub-steps {self.stacking.steps}, but the env has "
                             f"sub-steps {sorted(observation_spaces_dict)}")
        for step, space in (self.stacking.spaces.items() if self.stacking is not None else ()):
            if space != observation_spaces_dict[step]:
                raise ValueError(f"critic: sub-step {step}'s observation space {space} differs from the env's "
                                 f"{observation_spaces_dict[step]}")


def _check_value_output(net: nn.Module, key: str, obs: Dict[str, torch.Tensor]) -> None:
    """Fail at build time, naming the network key, when a value network cannot read its inputs or returns no value."""
    shapes = {name: tuple(value.shape[1:]) for name, value in obs.items()}
    try:
        with torch.no_grad():
            out = net(obs)
    except Exception as err:
        raise ValueError(f"critic network {key!r} ({type(net).__name__}) fails on a batch of its inputs "
                         f"{shapes} (batch excluded): {type(err).__name__}: {err}") from None
    batch = next(iter(obs.values())).shape[0]
    if not isinstance(out, Mapping) or "value" not in out:
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise ValueError(f"critic network {key!r} ({type(net).__name__}) returned {got}, expected a dict "
                         f"with key 'value'")
    if tuple(out["value"].shape) not in ((batch,), (batch, 1)):
        raise ValueError(f"critic network {key!r} ({type(net).__name__}): 'value' has shape "
                         f"{tuple(out['value'].shape)}, expected (batch, 1) or (batch,)")


def _check_agent_counts(agent_counts_dict: Mapping[int, int], observation_spaces_dict: Mapping[int, Any],
                        what: str) -> Dict[int, int]:
    """``agent_counts_dict`` as ints, refused (naming the sub-step) if it does not cover exactly the env's sub-steps."""
    counts = {int(step): int(count) for step, count in agent_counts_dict.items()}
    check_sub_steps(counts, observation_spaces_dict, f"{what}: agent_counts_dict")
    return counts


class _CriticComposer:
    """Shared machinery: build and check the networks for the given keys from the input shapes they read."""

    def _build(self, networks: Any, inputs_by_key: Mapping[str, Inputs],
               step_to_key: Mapping[int, str], stacking: Optional[ObservationStacker] = None) -> TorchStateCritic:
        """``inputs_by_key``: ``{network key: (input shapes, sample input batch, input spaces)}``."""
        nets = resolve_networks(networks, list(inputs_by_key), DEFAULT_VALUE_NET,
                                lambda key: {"obs_shapes": dict(inputs_by_key[key][0]),
                                             "obs_spaces": dict(inputs_by_key[key][2])}, "critic")
        for key, net in nets.items():
            _check_value_output(net, key, inputs_by_key[key][1])
        return TorchStateCritic(nets, step_to_key, stacking)

    @property
    def critic(self) -> TorchStateCritic:
        return self._critic


def _plain_inputs(space: gym.spaces.Dict) -> Inputs:
    converter = ObservationConverter(space)
    return dict(converter.shapes), sample_batch(space, converter), dict(space.spaces)


class SharedStateCriticComposer(_CriticComposer):
    """One value function for every sub-step and agent.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``.
    :param agent_counts_dict: ``{sub-step: number of agents}``; must name the same sub-steps.
    :param networks: value network(s): ``None`` (default MLP), a config, ``[net]`` or ``{0: net}``.
    :param stack_observations: for structured envs, feed the critic the observations of every
        sub-step of the flat step (keys ``substep<s>/<key>``, zeros for sub-steps not yet seen in
        the flat step) plus a one-hot ``substep`` of the sub-step being valued. Needed when the
        sub-steps' observation spaces differ; a no-op for single-sub-step envs.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 agent_counts_dict: Optional[Mapping[int, int]] = None, networks: Any = None,
                 stack_observations: bool = False):
        self.observation_spaces_dict = dict(observation_spaces_dict)
        self.agent_counts_dict = _check_agent_counts(
            agent_counts_dict or {s: 1 for s in self.observation_spaces_dict}, self.observation_spaces_dict, "critic")
        self.stack_observations = bool(stack_observations)
        steps = sorted(self.observation_spaces_dict)
        if isinstance(networks, Mapping) and "_target_" not in networks:
            networks = list(networks.values())
        step_to_key = {step: "0" for step in steps}
        if self.stack_observations and len(steps) > 1:
            stacker = ObservationStacker(self.observation_spaces_dict)
            inputs = (stacker.shapes, stacker.sample_batch(), stacker.key_spaces)
            self._critic = self._build(networks, {"0": inputs}, step_to_key, stacker)
            return
        first = self.observation_spaces_dict[steps[0]]
        for step in steps[1:]:
            if self.observation_spaces_dict[step] != first:
                raise ValueError(f"SharedStateCriticComposer: sub-step {step}'s observation space differs from "
                                 f"sub-step {steps[0]}'s, so one value network cannot read both: set "
                                 "stack_observations=True (critic.stack_observations=true) or use "
                                 "StepStateCriticComposer (critic=step) for one value function per sub-step")
        self._critic = self._build(networks, {"0": _plain_inputs(first)}, step_to_key)


class StepStateCriticComposer(_CriticComposer):
    """One value function per sub-step.

    :param observation_spaces_dict: ``{sub-step: Dict observation space}``.
    :param agent_counts_dict: ``{sub-step: number of agents}``; must name the same sub-steps.
    :param networks: ``None`` (default MLP per sub-step), one config, a list or ``{sub_step: net}``.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 agent_counts_dict: Optional[Mapping[int, int]] = None, networks: Any = None):
        self.observation_spaces_dict = dict(observation_spaces_dict)
        self.agent_counts_dict = _check_agent_counts(
            agent_counts_dict or {s: 1 for s in self.observation_spaces_dict}, self.observation_spaces_dict, "critic")
        inputs_by_key = {str(step): _plain_inputs(space) for step, space in sorted(self.observation_spaces_dict.items())}
        self._critic = self._build(networks, inputs_by_key, {step: str(step) for step in self.observation_spaces_dict})
