"""State-action critics (twin Q functions with target copies) for off-policy algorithms such as SAC.

Q networks read the observation dict through the default perception. For Box action heads the
action, rescaled to [-1, 1] and concatenated over heads, enters the perception as one more vector key
(:data:`ACTION_KEY`) and the network outputs one value; for a single Discrete head the network
outputs one value per action (discrete SAC), so no action input is needed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from maze_cli.envs.maze_env import check_sub_steps
from maze_cli.models.default_nets import DefaultValueNet
from maze_cli.models.encoders import Activation, run_layer
from maze_cli.models.networks import resolve_networks
from maze_cli.models.observations import ObservationConverter
from maze_cli.models.policy import sample_batch

ACTION_KEY = "_action"
"""The input key under which continuous Q networks receive the action."""

DEFAULT_Q_NET = {"_target_": "maze_cli.models.DefaultQNet", "hidden_units": [256, 256],
                 "activation": "torch.nn.ReLU"}

TWINS = ("q1", "q2")


@dataclass(frozen=True)
class QActionLayout:
    """How the actions of a Dict action space enter a Q function.

    :param heads: the action heads in the order their (rescaled) actions are concatenated.
    :param action_dim: width of the concatenated continuous action; 0 for a discrete head.
    :param n_actions: number of actions of the single Discrete head; 0 for continuous heads.
    """

    heads: List[str]
    action_dim: int
    n_actions: int

    @property
    def discrete(self) -> bool:
        return self.n_actions > 0

    @staticmethod
    def of(action_space: gym.spaces.Dict) -> "QActionLayout":
        """The layout, or a ValueError saying which Dict action spaces a Q function can take."""
        spaces = dict(action_space.spaces)
        if len(spaces) == 1 and isinstance(next(iter(spaces.values())), gym.spaces.Discrete):
            head, space = next(iter(spaces.items()))
            return QActionLayout([head], 0, int(space.n))
        for head, space in spaces.items():
            if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1
                    and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
                raise ValueError(
                    f"Q critic: action head {head!r} has space {space}; a state-action critic takes either one "
                    f"Discrete head or only 1-d Box heads with finite bounds (the action spaces are "
                    f"{ {k: str(v) for k, v in spaces.items()} })")
        return QActionLayout(sorted(spaces), sum(int(spaces[h].shape[0]) for h in sorted(spaces)), 0)


class DefaultQNet(DefaultValueNet):
    """The default perception over the observation (and the action, for continuous heads), then a linear Q head.

    :param obs_shapes: ``{observation key: converted shape}``.
    :param action_dim: width of the continuous action input (0 for a discrete head).
    :param n_actions: outputs per observation for a Discrete head (0: one output, the Q of the given action).
    """

    def __init__(self, obs_shapes: Dict[str, Sequence[int]], action_dim: int = 0, n_actions: int = 0,
                 hidden_units: Sequence[int] = (256, 256), activation: Activation = "torch.nn.ReLU",
                 obs_spaces: Optional[Mapping[str, gym.Space]] = None, **perception: Any):
        if ACTION_KEY in obs_shapes:
            raise ValueError(f"Q network: the observation key {ACTION_KEY!r} is reserved for the action input")
        shapes, spaces = dict(obs_shapes), dict(obs_spaces) if obs_spaces is not None else None
        if action_dim:
            shapes[ACTION_KEY] = (int(action_dim),)
            if spaces is not None:
                spaces[ACTION_KEY] = gym.spaces.Box(-1.0, 1.0, (int(action_dim),), dtype=np.float32)
        super().__init__(shapes, hidden_units, activation, spaces, **perception)
        self.value_head = nn.Linear(self.out_features, max(1, int(n_actions)))

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"q": run_layer(self.value_head, self.features(x_dict))}


class TorchQCritic(nn.Module):
    """Twin Q functions ``q1``, ``q2`` and their target copies (updated by Polyak averaging, never by gradients).

    :param networks: ``{"q1": module, "q2": module}``, each mapping an input dict to ``{"q": (batch, k)}``.
    :param layout: how actions enter the networks (see :class:`QActionLayout`).
    :param observation_space: the env's observation space (one sub-step).
    """

    def __init__(self, networks: Dict[str, nn.Module], layout: QActionLayout, observation_space: gym.spaces.Dict):
        super().__init__()
        self.networks = nn.ModuleDict(networks)
        self.target_networks = copy.deepcopy(self.networks).requires_grad_(False)
        self.layout = layout
        self.observation_space = observation_space
        self.observation_normalizer: Optional[nn.Module] = None  # shared with the policy, set by build

    def online_parameters(self) -> List[nn.Parameter]:
        """The parameters gradients train (the target copies are excluded)."""
        return list(self.networks.parameters())

    def q_values(self, obs: Dict[str, torch.Tensor], action: Optional[torch.Tensor] = None,
                 target: bool = False) -> List[torch.Tensor]:
        """``[Q1, Q2]`` of a batch: ``(batch,)`` for continuous heads (``action`` rescaled to [-1, 1],
        concatenated over :attr:`layout` heads), ``(batch, n_actions)`` for a Discrete head."""
        if self.observation_normalizer is not None:
            obs = self.observation_normalizer(obs)
        if not self.layout.discrete:
            obs = {**obs, ACTION_KEY: action}
        networks = self.target_networks if target else self.networks
        outputs = [networks[name](obs)["q"] for name in TWINS]
        return outputs if self.layout.discrete else [q.reshape(q.shape[0]) for q in outputs]

    @torch.no_grad()
    def update_targets(self, tau: float) -> None:
        """Polyak averaging ``target <- target + tau * (online - target)``, one fused call for all tensors."""
        torch._foreach_lerp_(list(self.target_networks.parameters()), list(self.networks.parameters()), tau)

    def check_fits(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict]) -> None:
        """Raise if this critic was built for other observations than the env's."""
        check_sub_steps({0: None}, observation_spaces_dict, "Q critic")
        if observation_spaces_dict[0] != self.observation_space:
            raise ValueError(f"Q critic: its observation space {self.observation_space} differs from the env's "
                             f"{observation_spaces_dict[0]}")


class QCriticComposer:
    """Builds a :class:`TorchQCritic` for an env with one sub-step (``critic=q``).

    :param observation_spaces_dict: ``{0: Dict observation space}``.
    :param action_spaces_dict: ``{0: Dict action space}``.
    :param agent_counts_dict: ``{0: 1}`` (one actor).
    :param networks: ``None`` (:class:`DefaultQNet`) or a config with ``_target_`` whose class takes ``obs_shapes``
        and optionally ``obs_spaces``, ``action_dim``, ``n_actions``; twins are built from it independently.
    """

    def __init__(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 action_spaces_dict: Mapping[int, gym.spaces.Dict], agent_counts_dict: Optional[Mapping[int, int]] = None,
                 networks: Any = None):
        if len(action_spaces_dict) != 1 or any(int(c) != 1 for c in dict(agent_counts_dict or {0: 1}).values()):
            raise ValueError(f"Q critic: supports envs with one sub-step and one agent (ordinary envs); this env has "
                             f"sub-steps {sorted(action_spaces_dict)} with agent counts {dict(agent_counts_dict or {})}")
        layout = QActionLayout.of(action_spaces_dict[0])
        converter = ObservationConverter(observation_spaces_dict[0])
        kwargs = {"obs_shapes": dict(converter.shapes), "obs_spaces": dict(observation_spaces_dict[0].spaces),
                  "action_dim": layout.action_dim, "n_actions": layout.n_actions}
        nets = resolve_networks(networks, list(TWINS), DEFAULT_Q_NET, lambda key: dict(kwargs), "critic")
        self._critic = TorchQCritic(nets, layout, observation_spaces_dict[0])
        obs = sample_batch(observation_spaces_dict[0], converter)
        action = torch.zeros(2, layout.action_dim)
        try:
            with torch.no_grad():
                q = self._critic.q_values(obs, action)[0]
        except Exception as err:
            raise ValueError(f"critic network 'q1' fails on a batch of observations and actions: "
                             f"{type(err).__name__}: {err}") from None
        expected = (2, layout.n_actions) if layout.discrete else (2,)
        if tuple(q.shape) != expected:
            raise ValueError(f"critic network 'q1' returned Q of shape {tuple(q.shape)} for a batch of 2, expected "
                             f"{expected} (one value per {'action' if layout.discrete else 'state-action pair'})")

    @property
    def critic(self) -> TorchQCritic:
        return self._critic
