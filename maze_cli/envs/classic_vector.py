"""Pendulum-v1 and Acrobot-v1 stepped as arrays: every env of a vector env in one numpy expression.

gymnasium ships a vectorised CartPole only. Stepped one by one, gymnasium's Pendulum and Acrobot (with the
wrappers ``gym.make`` adds) cost more than the policy at small rollouts: Acrobot's Runge-Kutta step alone was
60% of A2C's time at 16 envs. These classes compute the same expressions in the same order as gymnasium's
``PendulumEnv`` and ``AcrobotEnv``, with one random generator per env seeded as ``gym.make(id).reset(seed=s)``
seeds it, the registered time limit, and same-step autoreset as :class:`~maze_cli.envs.vector.SequentialVectorEnv`.
So a seeded run sees the same observations, rewards and episode ends as with gymnasium's envs
(``tests/test_classic_vector.py`` checks this step by step, through resets), only faster.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, List, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from maze_cli.envs.gym_maze_env import ACTION_KEY, OBS_KEY
from maze_cli.envs.maze_env import ActorID
from maze_cli.envs.vector import Observation, VectorStep


class ArrayVectorEnv(ABC):
    """The bookkeeping both envs share: seeding, the time limit, same-step autoreset and the :class:`VectorStep`.

    A subclass holds its envs' states as arrays with a row per env and implements :meth:`_reset_rows` and
    :meth:`_advance`.

    :param num_envs: how many envs.
    """

    gym_id: str
    actor_ids: List[ActorID] = [(0, 0)]

    def __init__(self, num_envs: int):
        spec = gym.spec(self.gym_id)
        template = gym.make(self.gym_id).unwrapped  # only for the spaces
        self.max_episode_steps = int(spec.max_episode_steps)
        self.num_envs = num_envs
        self.observation_spaces_dict = {0: gym.spaces.Dict({OBS_KEY: template.observation_space})}
        self.action_spaces_dict = {0: gym.spaces.Dict({ACTION_KEY: template.action_space})}
        self._obs = np.zeros((num_envs,) + template.observation_space.shape, dtype=np.float32)
        self._actors = np.zeros(num_envs, dtype=np.int64)
        self._elapsed = np.zeros(num_envs, dtype=np.int64)
        self._rngs: List[Optional[np.random.Generator]] = [None] * num_envs

    def _rng(self, env: int) -> np.random.Generator:
        """Env ``env``'s generator; unseeded envs get a random seed, as gymnasium's do."""
        if self._rngs[env] is None:
            self._rngs[env] = seeding.np_random()[0]
        return self._rngs[env]

    @abstractmethod
    def _reset_rows(self, envs: np.ndarray) -> None:
        """Draws fresh start states for ``envs`` (each from its own generator) and writes their observations."""

    @abstractmethod
    def _advance(self, envs: np.ndarray, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Steps ``envs`` with their ``actions``, writes their observations; returns their rewards and terminations."""

    def _observations(self) -> Dict[int, Observation]:
        return {0: {OBS_KEY: self._obs}}

    def reset(self, seed: Optional[int] = None) -> VectorStep:
        """Resets every env, env ``i`` with ``seed + i``."""
        if seed is not None:
            self._rngs = [seeding.np_random(seed + env)[0] for env in range(self.num_envs)]
        everyone = np.arange(self.num_envs)
        self._reset_rows(everyone)
        self._elapsed[:] = 0
        n = self.num_envs
        no = np.zeros(n, dtype=bool)
        return VectorStep(self._observations(), self._actors, np.zeros(n, dtype=np.float32), no, no.copy(),
                          np.ones(n, dtype=bool), np.ones(n, dtype=bool))

    def step(self, actions: Dict[int, Observation], active: Optional[np.ndarray] = None) -> VectorStep:
        n = self.num_envs
        envs = np.arange(n) if active is None else np.flatnonzero(active)
        rewards = np.zeros(n, dtype=np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        rewards[envs], terminated[envs] = self._advance(envs, np.asarray(actions[0][ACTION_KEY])[envs])
        self._elapsed[envs] += 1
        truncated[envs] = self._elapsed[envs] >= self.max_episode_steps
        ended = np.flatnonzero(terminated | truncated)
        final = {int(env): ({OBS_KEY: self._obs[env].copy()}, 0) for env in ended}
        if len(ended):
            self._reset_rows(ended)
            self._elapsed[ended] = 0
        valid = np.ones(n, dtype=bool) if active is None else np.array(active, dtype=bool)
        return VectorStep(self._observations(), self._actors, rewards, terminated, truncated, valid.copy(), valid,
                          final)

    def close(self) -> None:
        """Nothing to release: the envs are arrays."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_envs={self.num_envs})"


class PendulumVectorEnv(ArrayVectorEnv):
    """gymnasium's ``Pendulum-v1`` (g = 10): state ``(theta, theta_dot)`` per env, torque in [-2, 2]."""

    gym_id = "Pendulum-v1"
    MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8, 2.0, 0.05, 10.0, 1.0, 1.0

    def __init__(self, num_envs: int):
        super().__init__(num_envs)
        self._state = np.zeros((num_envs, 2))

    def _reset_rows(self, envs: np.ndarray) -> None:
        high = np.array([np.pi, 1.0])
        for env in envs:
            self._state[env] = self._rng(env).uniform(low=-high, high=high)
        self._observe(envs)

    def _observe(self, envs: np.ndarray) -> None:
        theta, theta_dot = self._state[envs, 0], self._state[envs, 1]
        self._obs[envs] = np.stack([np.cos(theta), np.sin(theta), theta_dot], axis=-1)

    def _advance(self, envs: np.ndarray, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        th, thdot = self._state[envs, 0], self._state[envs, 1]
        g, m, l, dt = self.G, self.M, self.L, self.DT
        u = np.clip(actions, -self.MAX_TORQUE, self.MAX_TORQUE)[:, 0]  # the action's dtype, as gymnasium's
        costs = (((th + np.pi) % (2 * np.pi)) - np.pi) ** 2 + 0.1 * thdot ** 2 + 0.001 * (u ** 2)
        new_thdot = thdot + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l ** 2) * u) * dt
        new_thdot = np.clip(new_thdot, -self.MAX_SPEED, self.MAX_SPEED)
        self._state[envs, 0] = th + new_thdot * dt
        self._state[envs, 1] = new_thdot
        self._observe(envs)
        return -costs, np.zeros(len(envs), dtype=bool)


class AcrobotVectorEnv(ArrayVectorEnv):
    """gymnasium's ``Acrobot-v1`` ("book" dynamics, no torque noise): state ``(theta1, theta2, dtheta1,
    dtheta2)`` per env, integrated over ``dt`` = 0.2 with one fourth-order Runge-Kutta step."""

    gym_id = "Acrobot-v1"
    DT = 0.2
    M1 = M2 = L1 = 1.0
    LC1 = LC2 = 0.5
    I1 = I2 = 1.0
    G = 9.8
    MAX_VEL_1, MAX_VEL_2 = 4 * np.pi, 9 * np.pi
    TORQUES = np.array([-1.0, 0.0, 1.0])

    def __init__(self, num_envs: int):
        super().__init__(num_envs)
        self._state = np.zeros((num_envs, 4))

    def _reset_rows(self, envs: np.ndarray) -> None:
        for env in envs:
            start = self._rng(env).uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32)
            self._state[env] = start
            # gymnasium's first observation takes cos and sin of the float32 start state
            self._obs[env] = [np.cos(start[0]), np.sin(start[0]), np.cos(start[1]), np.sin(start[1]), start[2],
                              start[3]]

    def _derivatives(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``d(theta1, theta2, dtheta1, dtheta2)/dt`` of rows ``s`` under torques ``a``."""
        m1, m2, l1, lc1, lc2, i1, i2, g = self.M1, self.M2, self.L1, self.LC1, self.LC2, self.I1, self.I2, self.G
        theta1, theta2, dtheta1, dtheta2 = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * np.cos(theta2)) + i1 + i2
        d2 = m2 * (lc2 ** 2 + l1 * lc2 * np.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - np.pi / 2.0)
        phi1 = (-m2 * l1 * lc2 * dtheta2 ** 2 * np.sin(theta2)
                - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * np.sin(theta2)
                + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - np.pi / 2) + phi2)
        ddtheta2 = ((a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * np.sin(theta2) - phi2)
                    / (m2 * lc2 ** 2 + i2 - d2 ** 2 / d1))
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return np.stack([dtheta1, dtheta2, ddtheta1, ddtheta2], axis=-1)

    def _advance(self, envs: np.ndarray, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        s, a = self._state[envs], self.TORQUES[actions.astype(np.int64)]
        dt = self.DT
        dt2 = dt / 2.0
        k1 = self._derivatives(s, a)
        k2 = self._derivatives(s + dt2 * k1, a)
        k3 = self._derivatives(s + dt2 * k2, a)
        k4 = self._derivatives(s + dt * k3, a)
        ns = s + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        ns[:, 0], ns[:, 1] = _wrap(ns[:, 0]), _wrap(ns[:, 1])
        ns[:, 2] = np.minimum(np.maximum(ns[:, 2], -self.MAX_VEL_1), self.MAX_VEL_1)
        ns[:, 3] = np.minimum(np.maximum(ns[:, 3], -self.MAX_VEL_2), self.MAX_VEL_2)
        self._state[envs] = ns
        self._obs[envs] = np.stack([np.cos(ns[:, 0]), np.sin(ns[:, 0]), np.cos(ns[:, 1]), np.sin(ns[:, 1]),
                                    ns[:, 2], ns[:, 3]], axis=-1)
        terminated = -np.cos(ns[:, 0]) - np.cos(ns[:, 1] + ns[:, 0]) > 1.0
        return np.where(terminated, 0.0, -1.0), terminated


def _wrap(x: np.ndarray) -> np.ndarray:
    """Angles into [-pi, pi] by whole turns, subtracted or added one at a time as gymnasium's ``wrap`` does."""
    turn = np.pi - (-np.pi)
    x = x.copy()
    while (above := x > np.pi).any():
        x[above] = x[above] - turn
    while (below := x < -np.pi).any():
        x[below] = x[below] + turn
    return x


ARRAY_VECTOR_ENVS = {cls.gym_id: cls for cls in (PendulumVectorEnv, AcrobotVectorEnv)}
"""gymnasium id -> its array implementation, used by :func:`~maze_cli.envs.make.make_vector_env`."""
