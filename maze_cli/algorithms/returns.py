"""Returns and advantages: pure functions of rollout arrays, shared by the algorithms.

Every rollout is a ``(T, n_envs)`` grid of decisions, each made by one actor (a sub-step/agent of
a structured env; the single actor 0 of an ordinary env). Each actor's decisions form their own
trajectory, so one GAE serves both kinds of env: with one actor it is the ordinary GAE.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import torch


def compute_gae(actors: torch.Tensor, valid: torch.Tensor, rewards: torch.Tensor, values: torch.Tensor,
                last_values: torch.Tensor, episode_end: torch.Tensor, end_values: torch.Tensor, n_actors: int,
                gamma: float, gae_lambda: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) advantages and value targets, one trajectory per actor.

    TD(lambda) in advantage form, per actor: ``A_t = r_t + gamma * V(next) - V(s_t) + gamma * lambda * A_next``,
    where "next" is the same actor's next decision in the same env, and:

    - the reward of a decision is the sum of the rewards received from its step until the same actor
      decides again (so rewards may arrive at any sub-step, e.g. once per flat step);
    - an episode end applies to every actor and stops the lambda-chain: a *terminated* episode
      bootstraps nothing (``end_values`` 0), a *truncated* one bootstraps from ``end_values``, the value
      of the episode's final observation, so time limits are not mistaken for terminal states;
    - at the rollout end an actor bootstraps from ``last_values``, the value of each env's current observation;
    - cells with ``valid`` false (the reset steps of NEXT_STEP autoreset) are no decision: they get
      advantage 0 and are skipped.

    ``lambda = 1`` gives Monte-Carlo returns bootstrapped at the rollout end, ``lambda = 0`` one-step TD.

    :param actors: ``(T, n)`` actor index (0 .. n_actors - 1) of every decision.
    :param valid: ``(T, n)`` true where the cell is a decision.
    :param rewards: ``(T, n)`` reward returned by every step (0 where not valid).
    :param values: ``(T, n)`` value of every decision's observation under its actor's critic.
    :param last_values: ``(n,)`` value of each env's observation after the last step.
    :param episode_end: ``(T, n)`` true where the step ended the episode (terminated or truncated).
    :param end_values: ``(T, n)`` where an episode ended: 0 if it terminated, else its final observation's value.
    :returns: ``(advantages, returns)``, each ``(T, n)``; ``returns = advantages + values``.
    """
    # numpy: on these small per-step arrays its indexing costs a fraction of torch's per-op overhead
    def array(tensor: torch.Tensor, dtype: Any = None) -> np.ndarray:
        values = tensor.detach().cpu().numpy()
        return values if dtype is None else values.astype(dtype, copy=False)
    actor, is_valid, ended = array(actors), array(valid, bool), array(episode_end, bool)
    reward, value, end_value = array(rewards, np.float64), array(values, np.float64), array(end_values, np.float64)
    if n_actors == 1:
        advantages = _single_actor_gae(is_valid, reward, value, array(last_values, np.float64), ended, end_value,
                                       gamma, gae_lambda)
    else:
        advantages = _per_actor_gae(actor, is_valid, reward, value, array(last_values, np.float64), ended,
                                    end_value, n_actors, gamma, gae_lambda)
    advantages_t = torch.from_numpy(advantages).to(device=values.device, dtype=values.dtype)
    return advantages_t, advantages_t + values


def normalize_advantages(advantages: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance (left as is for fewer than two samples)."""
    if advantages.numel() < 2:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + 1e-8)


def _single_actor_gae(valid: np.ndarray, reward: np.ndarray, value: np.ndarray, last_value: np.ndarray,
                      ended: np.ndarray, end_value: np.ndarray, gamma: float, gae_lambda: float) -> np.ndarray:
    """:func:`compute_gae` for one actor: every valid cell is a decision of it (no bookkeeping per actor)."""
    n_steps = reward.shape[0]
    next_value, next_advantage = last_value.copy(), np.zeros_like(last_value)
    advantages = np.zeros_like(reward)
    for t in range(n_steps - 1, -1, -1):
        done = ended[t]
        if done.any():
            next_value = np.where(done, end_value[t], next_value)
            next_advantage = np.where(done, 0.0, next_advantage)
        advantage = reward[t] + gamma * next_value - value[t] + gamma * gae_lambda * next_advantage
        decided = valid[t]
        if decided.all():
            advantages[t], next_value, next_advantage = advantage, value[t], advantage
        else:  # reset steps carry no decision: the chain passes through them unchanged
            advantages[t] = np.where(decided, advantage, 0.0)
            next_value = np.where(decided, value[t], next_value)
            next_advantage = np.where(decided, advantage, next_advantage)
    return advantages


def _per_actor_gae(actor: np.ndarray, valid: np.ndarray, reward: np.ndarray, value: np.ndarray,
                   last_value: np.ndarray, ended: np.ndarray, end_value: np.ndarray, n_actors: int, gamma: float,
                   gae_lambda: float) -> np.ndarray:
    """:func:`compute_gae` for several actors: a running value, advantage and reward per actor and env."""
    n_steps, n_envs = reward.shape
    envs = np.arange(n_envs)
    next_value = np.tile(last_value, (n_actors, 1))
    next_advantage = np.zeros((n_actors, n_envs))
    pending_reward = np.zeros((n_actors, n_envs))
    advantages = np.zeros((n_steps, n_envs))
    for t in range(n_steps - 1, -1, -1):
        if ended[t].any():
            done = ended[t]
            pending_reward[:, done] = 0.0
            next_value[:, done] = end_value[t, done]
            next_advantage[:, done] = 0.0
        pending_reward += reward[t]
        a = actor[t]
        advantage = (pending_reward[a, envs] + gamma * next_value[a, envs] - value[t]
                     + gamma * gae_lambda * next_advantage[a, envs])
        decided = valid[t]
        advantages[t] = np.where(decided, advantage, 0.0)
        a, cols = a[decided], envs[decided]
        next_value[a, cols] = value[t, decided]
        next_advantage[a, cols] = advantage[decided]
        pending_reward[a, cols] = 0.0
    return advantages
