"""The policy (observation -> action distribution) and the composer that builds it from spaces."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from maze_cli.distributions import DictProbabilityDistribution, DistributionMapper
from maze_cli.distributions.gsde import GSDENoise
from maze_cli.distributions.mapper import ExplorationNoise
from maze_cli.envs.maze_env import ActorID, check_sub_steps
from maze_cli.models.encoders import layers_of
from maze_cli.models.masks import MaskKeys, check_configured_heads, resolve_mask_keys
from maze_cli.models.networks import is_config, optional_list, resolve_networks
from maze_cli.models.observations import ObservationConverter
from maze_cli.models.perception import is_mask_key

DEFAULT_POLICY_NET = {"_target_": "maze_cli.models.DefaultPolicyNet", "hidden_units": [64, 64],
                      "activation": "torch.nn.Tanh"}


def network_keys(agent_counts_dict: Mapping[int, int], separate: Iterable[int]) -> List[str]:
    """``"step"`` per sub-step, or ``"step_agent"`` for sub-steps whose agents have their own nets."""
    separate = set(separate)
    keys = []
    for step, count in sorted(agent_counts_dict.items()):
        keys += [f"{step}_{agent}" for agent in range(count)] if step in separate else [str(step)]
    return keys


def _step_of(network_key: str) -> int:
    return int(network_key.split("_")[0])


def sample_batch(space: gym.spaces.Dict, converter: ObservationConverter, n: int = 2,
                 mask_keys: Iterable[str] = ()) -> Dict[str, torch.Tensor]:
    """A small batch of random observations, used to check networks at build time.

    Action masks (``mask_keys`` and keys named like masks) allow every action: a random mask may allow none.
    """
    masks = set(mask_keys)
    samples = [space.sample() for _ in range(n)]
    batch = {key: np.stack([s[key] for s in samples]) for key in converter.spaces}
    for key in batch:
        if key in masks or is_mask_key(key):
            batch[key] = np.ones_like(batch[key])
    return converter(batch)


class TorchPolicy(nn.Module):
    """Routes each observation to its sub-step's (or agent's) network and distribution.

    Besides the networks it owns, per network, the state-independent distribution parameters
    its mapper declares (e.g. a Gaussian head's log-std), as ``distribution_parameters[key][head][name]``,
    and optionally an observation normaliser shared with the critic (set by ``build``).

    :param networks: ``{network key: module}``, see :func:`network_keys`.
    :param distribution_mappers: ``{sub-step: DistributionMapper}``.
    :param observation_spaces_dict: ``{sub-step: Dict space}``.
    :param substeps_with_separate_agent_nets: sub-steps keyed per agent.
    :param mask_keys: ``{sub-step: {action head: observation key}}``: the observation entries that
        mask each head's actions (see :mod:`maze_cli.models.masks`); applied in :meth:`distribution`.
    :param sde_sample_freq: acting steps between draws of the exploration matrices of gSDE heads, if any.
    """

    def __init__(self, networks: Dict[str, nn.Module], distribution_mappers: Dict[int, DistributionMapper],
                 observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 substeps_with_separate_agent_nets: Sequence[int] = (),
                 mask_keys: Optional[Mapping[int, MaskKeys]] = None, sde_sample_freq: int = 4):
        super().__init__()
        self.mask_keys = {step: dict((mask_keys or {}).get(step, {})) for step in distribution_mappers}
        self.networks = nn.ModuleDict(networks)
        self.distribution_mappers = dict(distribution_mappers)
        self.converters = {step: ObservationConverter(space) for step, space in observation_spaces_dict.items()}
        self.separate = set(substeps_with_separate_agent_nets)
        self.distribution_parameters = nn.ModuleDict({
            key: nn.ModuleDict({head: nn.ParameterDict({name: nn.Parameter(value) for name, value in params.items()})
                                for head, params in self.distribution_mappers[_step_of(key)].init_parameters(
                                    _feature_width(key, net, self.distribution_mappers[_step_of(key)])).items()})
            for key, net in networks.items()})
        self.observation_normalizer: Optional[nn.Module] = None
        # rollouts pass it to sample(): gSDE's exploration matrices, or colored noise an off-policy algorithm sets
        self.exploration_noise: Optional[ExplorationNoise] = None
        if any(mapper.feature_heads for mapper in self.distribution_mappers.values()):
            self.exploration_noise = GSDENoise(sde_sample_freq, seed=int(torch.randint(2 ** 31, ()).item()))

    def network_key(self, actor_id: ActorID) -> str:
        step, agent = actor_id
        return f"{step}_{agent}" if step in self.separate else str(step)

    def check_fits(self, observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                   action_spaces_dict: Mapping[int, gym.spaces.Dict], agent_counts_dict: Mapping[int, int]) -> None:
        """Raise naming the sub-step (and agent) if this policy cannot act in an env with these spaces.

        Composers build policies that fit by construction; this catches a policy built for another env
        (e.g. a composer given its own ``agent_counts_dict``).
        """
        check_sub_steps(self.distribution_mappers, action_spaces_dict, "policy")
        for step in sorted(action_spaces_dict):
            if self.distribution_mappers[step].action_space != action_spaces_dict[step]:
                raise ValueError(f"policy: sub-step {step}'s action space {self.distribution_mappers[step].action_space} "
                                 f"differs from the env's {action_spaces_dict[step]}")
            if self.converters[step].space != observation_spaces_dict[step]:
                raise ValueError(f"policy: sub-step {step}'s observation space {self.converters[step].space} "
                                 f"differs from the env's {observation_spaces_dict[step]}")
        expected = network_keys(agent_counts_dict, self.separate)
        mismatched = sorted(set(expected) ^ set(self.networks))
        if mismatched:
            key = mismatched[0]
            step, _, agent = key.partition("_")
            who = f"agent {agent} of sub-step {step}" if agent else f"sub-step {step}"
            has = "has no network" if key in expected else "has a network"
            raise ValueError(f"policy: {has} for {who} (network key {key!r}), but the env's sub-step {step} has "
                             f"{agent_counts_dict[int(step)]} agent(s): the policy's networks {sorted(self.networks)} "
                             f"do not match the env's {expected}; was it built with a different agent_counts_dict "
                             f"or substeps_with_separate_agent_nets?")

    def logits(self, obs: Dict[str, torch.Tensor], actor_id: ActorID = (0, 0)) -> Dict[str, torch.Tensor]:
        """Network output for a batch of converted observations of one actor."""
        return layers_of(self, "networks")[self.network_key(actor_id)](self._normalized(obs))

    def _normalized(self, obs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """What the networks read: ``obs`` through the observation normaliser, if there is one."""
        return obs if self.observation_normalizer is None else self.observation_normalizer(obs)

    def distribution(self, obs: Dict[str, torch.Tensor], actor_id: ActorID = (0, 0)) -> DictProbabilityDistribution:
        """The action distribution for a batch of converted observations, masked by their mask keys."""
        if not self.distribution_mappers[actor_id[0]].feature_heads:
            return self.distribution_from_logits(self.logits(obs, actor_id), obs, actor_id)
        net = layers_of(self, "networks")[self.network_key(actor_id)]
        features = net.features(self._normalized(obs))
        return self.distribution_from_logits(net.logits_from_features(features), obs, actor_id, features.detach())

    def distribution_from_logits(self, logits: Dict[str, torch.Tensor], obs: Dict[str, torch.Tensor],
                                 actor_id: ActorID = (0, 0), features: Optional[torch.Tensor] = None
                                 ) -> DictProbabilityDistribution:
        """The distribution for network outputs computed elsewhere (e.g. with perturbed weights), masked by
        the mask keys of ``obs``; gSDE heads also need the network's ``features`` of ``obs``."""
        # {head: its ParameterDict}: the mapper copies each into the head's arguments (built at every acting step)
        parameters = dict(layers_of(self, "distribution_parameters")[self.network_key(actor_id)].items())
        for head in self.distribution_mappers[actor_id[0]].feature_heads:
            if features is None:
                raise ValueError(f"policy of actor {tuple(actor_id)}: action head {head!r} explores with gSDE, "
                                 f"which needs the policy network's features; this caller passes logits only")
            parameters[head] = {**parameters[head], "features": features}
        masks = {head: obs[obs_key] for head, obs_key in self.mask_keys[actor_id[0]].items()}
        try:
            return self.distribution_mappers[actor_id[0]].logits_dict_to_distribution(logits, parameters, masks)
        except ValueError as err:
            if not masks:
                raise
            raise ValueError(f"policy of actor (sub-step, agent) {tuple(actor_id)}: {err}") from None

    @torch.inference_mode()
    def compute_actions(self, observation: Mapping[str, np.ndarray], actor_id: ActorID = (0, 0),
                        deterministic: bool = False) -> Dict[str, np.ndarray]:
        """Actions for a batch of raw (numpy) observations of one actor."""
        dist = self.distribution(self.converters[actor_id[0]](observation), actor_id)
        return dist.env_actions(dist.deterministic_sample() if deterministic else dist.sample())

    def compute_action(self, observation: Mapping[str, Any], actor_id: Optional[ActorID] = None,
                       deterministic: bool = False) -> Dict[str, np.ndarray]:
        """The action for one raw observation (no batch dim), as the env expects it."""
        batched = {key: np.asarray(value)[None] for key, value in observation.items()}
        actions = self.compute_actions(batched, actor_id or (0, 0), deterministic)
        return {key: value[0] for key, value in actions.items()}


def _feature_width(key: str, net: nn.Module, mapper: DistributionMapper) -> int:
    """The width of ``net``'s features when a head of ``mapper`` reads them (gSDE), else 0."""
    if not mapper.feature_heads:
        return 0
    if not (callable(getattr(net, "features", None)) and callable(getattr(net, "logits_from_features", None))
            and isinstance(getattr(net, "out_features", None), int)):
        raise ValueError(f"policy network for sub-step/agent {key!r} ({type(net).__name__}): action head(s) "
                         f"{mapper.feature_heads} explore with gSDE, which reads the network's last hidden features; "
                         f"the network needs features(obs), logits_from_features(features) and out_features, as "
                         f"maze_cli.models.DefaultPolicyNet has")
    return net.out_features


def _distribution_mappers(distribution_mapper: Any, action_spaces_dict: Mapping[int, gym.spaces.Dict]
                          ) -> Dict[int, DistributionMapper]:
    """One mapper per sub-step from an instance (one sub-step), a config list or ``{distribution_mapper_config}``."""
    if isinstance(distribution_mapper, DistributionMapper):
        matching = [s for s, space in action_spaces_dict.items() if space == distribution_mapper.action_space]
        if len(action_spaces_dict) > 1 and len(matching) != len(action_spaces_dict):
            raise ValueError("a DistributionMapper instance serves one action space; this env has sub-steps "
                             f"{sorted(action_spaces_dict)} with different action spaces: pass "
                             "distribution_mapper as a config ({'distribution_mapper_config': [...]}) instead")
        return {step: distribution_mapper for step in action_spaces_dict}
    config = distribution_mapper
    if isinstance(config, Mapping) or is_config(config):
        config = dict(config).get("distribution_mapper_config", [])
    return {step: DistributionMapper(space, list(config or [])) for step, space in action_spaces_dict.items()}


class ProbabilisticPolicyComposer:
    """Builds a :class:`TorchPolicy` from the env's spaces, a distribution mapper and networks.

    :param action_spaces_dict: ``{sub-step: Dict action space}``.
    :param observation_spaces_dict: ``{sub-step: Dict observation space}``.
    :param distribution_mapper: a :class:`DistributionMapper`, or its config (list of entries or
        ``{"distribution_mapper_config": [...]}``); ``None`` uses the defaults.
    :param networks: policy networks: ``None`` (default MLP), one config for every sub-step, a list,
        or ``{sub_step: net}``; each an ``nn.Module`` or a config with ``_target_`` whose class takes
        ``obs_shapes`` and ``action_logit_shapes``.
    :param substeps_with_separate_agent_nets: sub-steps where each agent gets its own network.
    :param agent_counts_dict: ``{sub-step: number of agents}``.
    :param action_masks: ``{action head: observation key}`` of masks; ``None``: ``<head>_mask``,
        or ``action_mask`` for a single head, where the observation space has them.
    :param sde_sample_freq: acting steps between draws of gSDE's exploration matrices (used only by heads with
        :class:`~maze_cli.distributions.GSDEGaussianProbabilityDistribution`).
    """

    def __init__(self, action_spaces_dict: Mapping[int, gym.spaces.Dict],
                 observation_spaces_dict: Mapping[int, gym.spaces.Dict],
                 distribution_mapper: Any = None, networks: Any = None,
                 substeps_with_separate_agent_nets: Optional[Sequence[int]] = None,
                 agent_counts_dict: Optional[Mapping[int, int]] = None,
                 action_masks: Optional[Mapping[str, str]] = None, sde_sample_freq: int = 4):
        self.action_spaces_dict = dict(action_spaces_dict)
        self.observation_spaces_dict = dict(observation_spaces_dict)
        self.agent_counts_dict = {int(k): int(v) for k, v in
                                  (agent_counts_dict or {s: 1 for s in self.action_spaces_dict}).items()}
        separate = optional_list(substeps_with_separate_agent_nets)
        _check_steps(self.agent_counts_dict, self.action_spaces_dict, self.observation_spaces_dict, separate)
        mappers = _distribution_mappers(distribution_mapper, self.action_spaces_dict)
        converters = {s: ObservationConverter(space) for s, space in self.observation_spaces_dict.items()}
        action_masks = dict(action_masks or {})
        check_configured_heads(action_masks, mappers)
        mask_keys = {step: resolve_mask_keys(mappers[step], space, action_masks, step)
                     for step, space in self.observation_spaces_dict.items()}

        def kwargs_for(key: str) -> Dict[str, Any]:
            step = _step_of(key)
            return {"obs_shapes": dict(converters[step].shapes),
                    "obs_spaces": dict(self.observation_spaces_dict[step].spaces),
                    "action_logit_shapes": mappers[step].logits_shapes}

        keys = network_keys(self.agent_counts_dict, separate)
        nets = resolve_networks(networks, keys, DEFAULT_POLICY_NET, kwargs_for, "policy")
        for key, net in nets.items():
            step = _step_of(key)
            obs = sample_batch(self.observation_spaces_dict[step], converters[step], mask_keys=mask_keys[step].values())
            _check_policy_output(net, key, obs, mappers[step].logits_shapes)
        self._policy = TorchPolicy(nets, mappers, self.observation_spaces_dict, separate, mask_keys, sde_sample_freq)

    @property
    def policy(self) -> TorchPolicy:
        return self._policy


def _check_steps(agent_counts_dict: Mapping[int, int], action_spaces_dict: Mapping[int, Any],
                 observation_spaces_dict: Mapping[int, Any], separate: Sequence[int]) -> None:
    check_sub_steps(observation_spaces_dict, action_spaces_dict, "policy: observation_spaces_dict",
                    "action_spaces_dict")
    check_sub_steps(agent_counts_dict, action_spaces_dict, "policy: agent_counts_dict")
    for step, count in agent_counts_dict.items():
        if count < 1:
            raise ValueError(f"policy: agent_counts_dict[{step}] = {count}: expected at least one agent in sub-step {step}")
    unknown = [s for s in separate if s not in action_spaces_dict]
    if unknown:
        raise ValueError(f"policy: substeps_with_separate_agent_nets names sub-step {unknown[0]}, which the env "
                         f"does not have (sub-steps {sorted(action_spaces_dict)})")


def _check_policy_output(net: nn.Module, key: str, obs: Dict[str, torch.Tensor],
                         logits_shapes: Mapping[str, Tuple[int, ...]]) -> None:
    """Fail at build time, naming the network key and action head, when a network does not fit its sub-step."""
    try:
        with torch.no_grad():
            out = net(obs)
    except Exception as err:
        shapes = {name: tuple(value.shape[1:]) for name, value in obs.items()}
        raise ValueError(f"policy network for sub-step/agent {key!r} ({type(net).__name__}) fails on a batch of "
                         f"that sub-step's observations {shapes} (batch excluded): {type(err).__name__}: {err}") from None
    if not isinstance(out, Mapping) or set(out) != set(logits_shapes):
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise ValueError(f"policy network for sub-step/agent {key!r} ({type(net).__name__}) returned {got}, "
                         f"expected a dict with the action heads {sorted(logits_shapes)}")
    batch = next(iter(obs.values())).shape[0]
    for head, shape in logits_shapes.items():
        if tuple(out[head].shape) != (batch,) + tuple(shape):
            raise ValueError(f"policy network for sub-step/agent {key!r} ({type(net).__name__}): logits for "
                             f"action head {head!r} have shape {tuple(out[head].shape[1:])} (batch excluded), "
                             f"expected {tuple(shape)}")
