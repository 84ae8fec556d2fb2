"""IMPALA's asynchronous actors on Ray (``runner=ray``): the synchronous :class:`RayCollector`'s workers,
restarts and failure handling, but every worker always has one rollout in flight.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from maze_cli.envs.log_stats import merge_reduced_stats
from maze_cli.envs.vector import EnvFactory
from maze_cli.models.policy import TorchPolicy
from maze_cli.runners.ray import RayCollector, RayRunner
from maze_cli.train.actor_pool import PolicyVersions
from maze_cli.train.batch import RolloutBatch


class AsyncRayCollector(RayCollector):
    """IMPALA's actors on Ray: every worker always has one rollout in flight, acted with the weights it was
    sent; the learner takes whichever rollouts finish first and sends each worker the newest weights with
    its next request. Failures are handled as by :class:`RayCollector` (restart and retry once, or stop).

    :param broadcast_interval: updates between new weight publications (one ``ray.put`` each).
    """

    def __init__(self, runner: "RayRunner", env_factory: EnvFactory, policy: TorchPolicy, n_steps: int, seed: int,
                 broadcast_interval: int = 1):
        super().__init__(runner, env_factory, policy, None, n_steps, seed)
        self.broadcast_interval = broadcast_interval
        self.versions = PolicyVersions()
        self._episode_parts: List[Dict[str, float]] = []
        self._weights = self._publish()
        self._in_flight = {self._submit(index, self._weights): (index, self._weights)
                           for index in range(len(self.workers))}

    def _publish(self) -> Any:
        return self.ray.put({"policy": self.policy.state_dict(), "version": self.versions.updates})

    def _submit(self, index: int, weights: Any) -> Any:
        return self.workers[index].rollout.remote(weights)

    def collect(self) -> RolloutBatch:
        if self.versions.updates % self.broadcast_interval == 0 and self.versions.updates > 0:
            self._weights = self._publish()
        rollouts = [self._next_rollout() for _ in self.workers]
        self.versions.consumed([version for version, _, _ in rollouts])
        self._episode_parts += [stats for _, _, stats in rollouts]
        batch = RolloutBatch.concat_envs([batch for _, batch, _ in rollouts])
        self.env_steps += batch.env_steps
        return batch

    def _next_rollout(self) -> Tuple[int, RolloutBatch, Dict[str, float]]:
        """The first rollout to finish (the oldest request, if none finishes in time); its worker gets a new request."""
        ready, _ = self.ray.wait(list(self._in_flight), num_returns=1, timeout=self.timeout)
        ref = ready[0] if ready else next(iter(self._in_flight))
        index, weights = self._in_flight.pop(ref)
        result = self._rollout(index, ref, weights)
        self._in_flight[self._submit(index, self._weights)] = (index, self._weights)
        return result

    def pop_episode_stats(self) -> Dict[str, float]:
        parts, self._episode_parts = self._episode_parts, []
        return {**merge_reduced_stats(parts, "train"), **self.versions.pop_stats(),
                "time/worker_restarts": float(self.restarts)}
