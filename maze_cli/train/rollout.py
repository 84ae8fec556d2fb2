"""Rollout collection: steps a vector env with the current policy into preallocated storage."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Tuple

import gymnasium as gym
import numpy as np
import torch

from maze_cli.envs.log_stats import EpisodeTracker
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.returns import compute_gae
from maze_cli.train.samples import TrainingSamples, normalize_advantages


@dataclass
class RolloutBatch:
    """``n_steps`` steps of ``n_envs`` envs; every tensor is time-major ``(T, n_envs, ...)``.

    ``valid`` is false on the reset steps of gymnasium's NEXT_STEP autoreset (the step after
    an episode ended), which carry no transition and are excluded from every loss.
    """

    observations: Dict[str, torch.Tensor]
    actions: Dict[str, torch.Tensor]
    log_probs: torch.Tensor
    values: torch.Tensor  # (T + 1, n): V of every observation, the last row for the final ones
    rewards: torch.Tensor
    terminated: torch.Tensor
    episode_end: torch.Tensor
    valid: torch.Tensor

    @staticmethod
    def concat_envs(batches: List["RolloutBatch"]) -> "RolloutBatch":
        """Joins batches of different env groups (e.g. remote workers) along the env axis."""
        def cat(items):
            if isinstance(items[0], dict):
                return {key: torch.cat([item[key] for item in items], dim=1) for key in items[0]}
            return torch.cat(items, dim=1)
        return RolloutBatch(**{f.name: cat([getattr(b, f.name) for b in batches]) for f in fields(RolloutBatch)})

    @property
    def n_transitions(self) -> int:
        return int(self.valid.sum())

    @property
    def env_steps(self) -> int:
        """Env steps the rollout took (reset steps included, as every env stepped every time)."""
        return int(self.valid.numel())

    def observation_groups(self) -> List[Tuple[Dict[str, torch.Tensor], torch.Tensor]]:
        """``(observations, mask of the valid steps)``, for normalisation statistics."""
        return [(self.observations, self.valid)]

    def training_samples(self, gamma: float, gae_lambda: float, normalize: bool = True) -> List[TrainingSamples]:
        """GAE over the whole rollout, then the valid steps (advantages normalised over them) of actor ``(0, 0)``."""
        advantages, returns = compute_gae(self.rewards, self.values, self.terminated, self.episode_end,
                                          gamma, gae_lambda)
        mask = self.valid
        return [TrainingSamples(
            actor_id=(0, 0), observations={key: value[mask] for key, value in self.observations.items()},
            actions={key: value[mask] for key, value in self.actions.items()},
            old_log_probs=self.log_probs[mask], old_values=self.values[:-1][mask],
            advantages=normalize_advantages(advantages[mask]) if normalize else advantages[mask], returns=returns[mask])]


class RolloutCollector:
    """Runs the policy on a vector env, batched over envs and without autograd.

    :param vector_env: a dict-space vector env with NEXT_STEP autoreset.
    :param policy: the policy to act with (its weights are read at every step).
    :param critic: the critic whose values the rollout records for advantage estimation.
    :param n_steps: steps per env per :meth:`collect`.
    :param seed: seeds the vector env's first reset.
    """

    def __init__(self, vector_env: gym.vector.VectorEnv, policy: TorchPolicy, critic: TorchStateCritic,
                 n_steps: int, seed: Optional[int] = None):
        self.vector_env = vector_env
        self.policy = policy
        self.critic = critic
        self.n_steps = n_steps
        self.n_envs = vector_env.num_envs
        self.converter = policy.converters[0]
        self.episodes = EpisodeTracker(self.n_envs)
        self.env_steps = 0
        obs, _ = vector_env.reset(seed=seed)
        self._obs = self.converter(obs)
        self._prev_ended = np.zeros(self.n_envs, dtype=bool)
        self._storage: Optional[RolloutBatch] = None
        self._np: Dict[str, np.ndarray] = {}

    def _allocate(self, actions: Dict[str, torch.Tensor]) -> RolloutBatch:
        T, n = self.n_steps, self.n_envs
        # Per-step env outputs are written as numpy rows; the tensors share their memory (no copies).
        self._np = {"rewards": np.zeros((T, n), dtype=np.float32), "terminated": np.zeros((T, n), dtype=bool),
                    "episode_end": np.zeros((T, n), dtype=bool), "valid": np.zeros((T, n), dtype=bool)}
        return RolloutBatch(
            observations={k: torch.zeros((T, n) + tuple(v.shape[1:]), dtype=v.dtype) for k, v in self._obs.items()},
            actions={k: torch.zeros((T, n) + tuple(v.shape[1:]), dtype=v.dtype) for k, v in actions.items()},
            log_probs=torch.zeros(T, n), values=torch.zeros(T + 1, n),
            **{name: torch.from_numpy(array) for name, array in self._np.items()})

    @torch.inference_mode()
    def collect(self) -> RolloutBatch:
        """The next ``n_steps`` steps of every env; buffers are reused, so consume before the next call."""
        for t in range(self.n_steps):
            obs = self._obs
            dist = self.policy.distribution(obs)
            actions = dist.sample()
            if self._storage is None:
                self._storage = self._allocate(actions)
            store, arrays = self._storage, self._np
            store.log_probs[t] = dist.log_prob(actions)
            store.values[t] = self.critic.predict_value(obs)
            for key, value in obs.items():
                store.observations[key][t] = value
            for key, value in actions.items():
                store.actions[key][t] = value
            next_obs, rewards, terminated, truncated, _ = self.vector_env.step(dist.env_actions(actions))
            valid = ~self._prev_ended
            ended = (terminated | truncated) & valid
            arrays["rewards"][t] = rewards
            np.logical_and(terminated, valid, out=arrays["terminated"][t])
            arrays["episode_end"][t] = ended
            arrays["valid"][t] = valid
            self.episodes.record(rewards * valid, valid, ended)
            self._prev_ended = ended
            self._obs = self.converter(next_obs)
        store.values[self.n_steps] = self.critic.predict_value(self._obs)
        self.env_steps += self.n_steps * self.n_envs
        return store

    def pop_episode_stats(self) -> Dict[str, float]:
        return self.episodes.pop("train")

    def close(self) -> None:
        self.vector_env.close()
