"""The rollout batch: one type for every env, ordinary (one actor) or structured (several sub-steps/agents)."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import torch

from maze_cli.envs.maze_env import ActorID

TensorDict = Dict[str, torch.Tensor]


class TrainingSamples(NamedTuple):
    """One actor's transitions of a rollout, flattened over time and envs, ready for a loss.

    ``critic_observations`` is set when the critic reads other inputs than the policy
    (stacked observations of every sub-step); ``None`` means it reads ``observations``.
    """

    actor_id: ActorID
    observations: Dict[str, torch.Tensor]
    actions: Dict[str, torch.Tensor]
    old_log_probs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    critic_observations: Optional[Dict[str, torch.Tensor]] = None


@dataclass
class RolloutBatch:
    """``n_steps`` decisions of each of ``n_envs`` envs; tensors are time-major ``(T, n_envs, ...)``.

    Cell ``(t, i)`` is a decision of actor ``actor_ids[actors[t, i]]`` on env ``i``. An ordinary env
    has one actor, ``(0, 0)``. ``observations[step]`` and ``actions[step]`` hold sub-step ``step``'s
    data (shapes differ between sub-steps) and are meaningful only in the cells of its actors.
    ``valid`` is false on the reset steps of gymnasium's NEXT_STEP autoreset (a step that carried
    no transition); such cells are excluded from every loss.
    """

    actor_ids: List[ActorID]
    actors: torch.Tensor
    valid: torch.Tensor
    observations: Dict[int, TensorDict]
    actions: Dict[int, TensorDict]
    critic_observations: Optional[TensorDict]  # stacked critic inputs, when the critic stacks sub-steps
    log_probs: torch.Tensor
    values: torch.Tensor  # V of every decision's observation (zeros when collected without a critic)
    last_values: torch.Tensor  # (n_envs,): V of each env's observation after the last step
    rewards: torch.Tensor
    terminated: torch.Tensor
    episode_end: torch.Tensor
    end_values: torch.Tensor  # where an episode ended: 0 if terminated, V(final observation) if truncated
    flat_step_done: torch.Tensor
    # what each step returned (the final observation at an episode end); only when asked for (off-policy)
    next_observations: Optional[Dict[int, TensorDict]] = None

    @staticmethod
    def concat_envs(batches: List["RolloutBatch"]) -> "RolloutBatch":
        """Joins batches of different env groups (e.g. remote workers) along the env axis."""
        def cat(items: List[Any], dim: int) -> Any:
            if items[0] is None:
                return None
            if isinstance(items[0], dict):
                return {key: cat([item[key] for item in items], dim) for key in items[0]}
            return torch.cat(items, dim=dim)
        joined = {f.name: cat([getattr(b, f.name) for b in batches], 0 if f.name == "last_values" else 1)
                  for f in fields(RolloutBatch) if f.name != "actor_ids"}
        return RolloutBatch(actor_ids=batches[0].actor_ids, **joined)

    def to(self, device: torch.device) -> "RolloutBatch":
        """The batch with every tensor on ``device`` (itself when already there)."""
        if self.actors.device == torch.device(device):
            return self
        return self.apply(lambda tensor: tensor.to(device))

    def apply(self, fn: Callable[[Any], Any]) -> "RolloutBatch":
        """The batch with ``fn`` applied to every array (e.g. to numpy and back, to send it to another process)."""
        def each(item: Any) -> Any:
            if isinstance(item, dict):
                return {key: each(value) for key, value in item.items()}
            return None if item is None else fn(item)
        return replace(self, **{f.name: each(getattr(self, f.name)) for f in fields(self) if f.name != "actor_ids"})

    @property
    def env_steps(self) -> int:
        """Env steps the rollout took: flat steps of structured envs, and every step, reset steps included."""
        return int(self.flat_step_done.sum())

    def actor_masks(self) -> List[Tuple[int, ActorID, torch.Tensor]]:
        """``(actor index, actor id, mask of its valid cells)`` for every actor that decided in this rollout."""
        if len(self.actor_ids) == 1:
            return [(0, self.actor_ids[0], self.valid)] if bool(self.valid.any()) else []
        masks = []
        for index, actor_id in enumerate(self.actor_ids):
            mask = (self.actors == index) & self.valid
            if bool(mask.any()):
                masks.append((index, actor_id, mask))
        return masks

    def observation_groups(self) -> List[Tuple[TensorDict, torch.Tensor]]:
        """``(observations, mask of the valid cells they belong to)`` per sub-step, for normalisation statistics."""
        groups = []
        for step, observations in self.observations.items():
            indices = torch.tensor([i for i, actor in enumerate(self.actor_ids) if actor[0] == step])
            mask = self.valid if len(self.actor_ids) == 1 else torch.isin(self.actors, indices) & self.valid
            groups.append((observations, mask))
        return groups

    def per_actor(self, advantages: torch.Tensor, returns: torch.Tensor) -> List[TrainingSamples]:
        """One :class:`TrainingSamples` per actor that decided: its valid cells, flattened over time and envs."""
        samples = []
        for _, actor_id, mask in self.actor_masks():
            step = actor_id[0]
            samples.append(TrainingSamples(
                actor_id=actor_id,
                observations={key: value[mask] for key, value in self.observations[step].items()},
                actions={key: value[mask] for key, value in self.actions[step].items()},
                old_log_probs=self.log_probs[mask], old_values=self.values[mask],
                advantages=advantages[mask], returns=returns[mask],
                critic_observations=None if self.critic_observations is None
                else {key: value[mask] for key, value in self.critic_observations.items()}))
        return samples
