"""Discounted returns and generalised advantage estimation (GAE)."""
from __future__ import annotations

from typing import Tuple

import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor,
                episode_end: torch.Tensor, gamma: float, gae_lambda: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) advantages and value targets for a ``(T, n_envs)`` rollout.

    TD(lambda) in advantage form: ``delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)``
    and ``A_t = delta_t + gamma * lambda * (1 - episode_end_t) * A_{t+1}``.
    ``values`` has ``T + 1`` rows: row ``t + 1`` is the value of the observation that step ``t``
    returned. When an episode was *truncated* at step ``t`` that observation is its final one,
    so the time limit is bootstrapped; when it *terminated* nothing is bootstrapped. Either way
    the lambda-chain stops at the episode end. ``lambda = 1`` gives Monte-Carlo returns
    bootstrapped at the rollout end, ``lambda = 0`` one-step TD.

    :param rewards: ``(T, n)`` rewards.
    :param values: ``(T + 1, n)`` state values, the last row for the rollout's final observations.
    :param terminated: ``(T, n)`` true where the episode ended in a terminal state.
    :param episode_end: ``(T, n)`` true where the episode ended (terminated or truncated).
    :returns: ``(advantages, returns)``, each ``(T, n)``; ``returns = advantages + values[:-1]``.
    """
    not_terminal = 1.0 - terminated.to(values.dtype)
    continues = 1.0 - episode_end.to(values.dtype)
    deltas = rewards + gamma * values[1:] * not_terminal - values[:-1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * gae_lambda * continues[t] * running
        advantages[t] = running
    return advantages, advantages + values[:-1]


def compute_structured_gae(actors: torch.Tensor, rewards: torch.Tensor, values: torch.Tensor,
                           last_values: torch.Tensor, episode_end: torch.Tensor, end_values: torch.Tensor,
                           n_actors: int, gamma: float, gae_lambda: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) for a ``(T, n_envs)`` rollout of a structured env, one trajectory per actor.

    Every env step is one decision of one actor (``actors[t, i]``). Each actor's decisions form
    their own trajectory, so sub-steps never mix in one advantage estimate:

    - the reward of a decision is the sum of all rewards received from that step until the same
      actor decides again (so rewards may arrive at any sub-step, e.g. once per flat step);
    - its next value is the value of that actor's next decision, and gamma and lambda apply once
      per decision of that actor;
    - an episode end applies to every actor: a terminal end bootstraps nothing, a truncated one
      bootstraps from ``end_values`` (the value of the episode's final observation);
    - at the rollout end, and at a truncation, an actor whose next decision lies beyond the data
      bootstraps from the value of the boundary observation under the critic of whoever decides there.

    :param actors: ``(T, n)`` actor index (0 .. n_actors - 1) of every decision.
    :param rewards: ``(T, n)`` reward returned by every step.
    :param values: ``(T, n)`` value of every decision's observation under its actor's critic.
    :param last_values: ``(n,)`` value of each env's observation after the last step.
    :param episode_end: ``(T, n)`` true where the step ended the episode (terminated or truncated).
    :param end_values: ``(T, n)`` where an episode ended: 0 if it terminated, else its final observation's value.
    :returns: ``(advantages, returns)``, each ``(T, n)``; ``returns = advantages + values``.
    """
    n_steps, n_envs = rewards.shape
    envs = torch.arange(n_envs)
    next_value = last_values.to(values.dtype).expand(n_actors, n_envs).clone()
    next_advantage = torch.zeros(n_actors, n_envs, dtype=values.dtype)
    pending_reward = torch.zeros(n_actors, n_envs, dtype=values.dtype)
    advantages = torch.zeros_like(values)
    for t in range(n_steps - 1, -1, -1):
        ended = episode_end[t]
        if ended.any():
            pending_reward[:, ended] = 0.0
            next_value[:, ended] = end_values[t, ended].to(values.dtype)
            next_advantage[:, ended] = 0.0
        pending_reward += rewards[t]
        actor = actors[t]
        advantage = (pending_reward[actor, envs] + gamma * next_value[actor, envs] - values[t]
                     + gamma * gae_lambda * next_advantage[actor, envs])
        advantages[t] = advantage
        next_value[actor, envs] = values[t]
        next_advantage[actor, envs] = advantage
        pending_reward[actor, envs] = 0.0
    return advantages, advantages + values
