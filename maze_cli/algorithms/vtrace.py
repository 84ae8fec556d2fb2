"""V-trace (Espeholt et al. 2018, IMPALA): value targets and policy-gradient advantages for rollouts that an
older policy acted (the behaviour policy ``mu``) while the learner's policy ``pi`` has moved on.

A pure function of ``(T, n_envs)`` rollout arrays, like :func:`~maze_cli.algorithms.returns.compute_gae`.
Each step carries the value of what it led to (``next_values``: the next observation's, or the final
observation's where a time limit truncated the episode), so truncation bootstraps and termination does not.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class VTraceTargets(NamedTuple):
    """``vs``: value targets; ``pg_advantages``: what multiplies ``log pi(a|x)`` in the policy gradient."""

    vs: torch.Tensor
    pg_advantages: torch.Tensor


def vtrace(log_rhos: torch.Tensor, rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
           terminated: torch.Tensor, episode_end: torch.Tensor, valid: torch.Tensor, gamma: float,
           trace_lambda: float = 1.0, rho_bar: float = 1.0, c_bar: float = 1.0,
           pg_rho_bar: float = 1.0) -> VTraceTargets:
    """V-trace targets of one rollout of a single actor.

    With ``rho_t = min(rho_bar, pi/mu)``, ``c_t = lambda * min(c_bar, pi/mu)`` and
    ``delta_t = rho_t * (r_t + gamma * (1 - terminated_t) * V(x_{t+1}) - V(x_t))``:

    ``v_s = V(x_s) + delta_s + gamma * c_s * (v_{s+1} - V(x_{s+1}))``, the trace cut where an episode ended
    (or at the rollout's end, where ``v_T = V(x_T)``). The policy-gradient advantage is
    ``min(pg_rho_bar, pi/mu) * (r_s + gamma * (1 - terminated_s) * v_{s+1} - V(x_s))``, with ``v_{s+1}``
    replaced by ``V(x_{s+1})`` where the trace is cut.

    On-policy (``pi = mu``, bars >= 1) ``v_s`` are the GAE(lambda) returns, so with ``lambda = 1`` the
    n-step returns bootstrapped at the rollout's end.

    :param log_rhos: ``(T, n)`` ``log pi(a_t|x_t) - log mu(a_t|x_t)``.
    :param values: ``(T, n)`` ``V(x_t)`` under the learner's critic.
    :param next_values: ``(T, n)`` ``V`` of what step ``t`` returned (the final observation at an episode end).
    :param episode_end: ``(T, n)`` terminated or truncated.
    :param valid: ``(T, n)`` false on cells that carried no transition (NEXT_STEP autoreset's reset steps):
        they get zero targets' error and advantage, and cut the trace.
    """
    device, dtype = values.device, values.dtype

    def array(tensor: torch.Tensor) -> np.ndarray:
        return tensor.detach().cpu().numpy().astype(np.float64)
    rhos = np.exp(array(log_rhos))
    value, next_value = array(values), array(next_values)
    keep = array(valid)
    not_terminated = 1.0 - array(terminated)
    continues = (1.0 - array(episode_end)) * keep  # the trace goes on into step t + 1
    clipped_rhos = np.minimum(rhos, rho_bar)
    deltas = clipped_rhos * (array(rewards) + gamma * not_terminated * next_value - value) * keep
    decay = gamma * trace_lambda * np.minimum(rhos, c_bar) * continues
    corrections = np.zeros_like(value)  # v_s - V(x_s)
    running = np.zeros(value.shape[1:])
    for t in range(value.shape[0] - 1, -1, -1):
        running = deltas[t] + decay[t] * running
        corrections[t] = running
    vs = value + corrections
    next_vs = next_value.copy()  # v_{s+1}; V(x_{s+1}) where the trace is cut
    inside = continues[:-1] > 0
    next_vs[:-1][inside] = vs[1:][inside]
    pg_advantages = np.minimum(rhos, pg_rho_bar) * (array(rewards) + gamma * not_terminated * next_vs - value) * keep

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(device=device, dtype=dtype)
    return VTraceTargets(tensor(vs), tensor(pg_advantages))
