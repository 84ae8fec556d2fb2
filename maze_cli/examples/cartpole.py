"""A hand-written CartPole-v1 controller: the kind of heuristic imitation learning starts from."""
from __future__ import annotations

from typing import Any, Dict, Mapping

import numpy as np


class CartPoleHeuristic:
    """Pushes the cart the way the pole is falling: right when ``angle_gain * angle + angular_velocity_gain *
    angular_velocity > 0``, else left.

    The defaults react to the angular velocity alone, which keeps the pole up for about 200 of CartPole-v1's
    500 steps (the cart drifts off the track): good enough to clone, and room for RL to improve on it.
    ``angle_gain=1 angular_velocity_gain=0.5`` balances for all 500 steps.

    :param angle_gain: weight of the pole angle (radians).
    :param angular_velocity_gain: weight of the pole's angular velocity (radians per step).
    """

    def __init__(self, angle_gain: float = 0.0, angular_velocity_gain: float = 1.0):
        self.angle_gain, self.angular_velocity_gain = float(angle_gain), float(angular_velocity_gain)

    def compute_action(self, observation: Mapping[str, Any]) -> Dict[str, np.ndarray]:
        """``{'action': 0 or 1}`` for one observation ``{'observation': [x, x_dot, angle, angle_dot]}``."""
        _, _, angle, angular_velocity = np.asarray(observation["observation"], dtype=np.float64)
        push_right = self.angle_gain * angle + self.angular_velocity_gain * angular_velocity > 0
        return {"action": np.int64(push_right)}
