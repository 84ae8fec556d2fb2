"""Playing episodes with a trained policy or a user's controller, optionally recording them to a dataset.

The controller contract (what ``maze-run -cn rollout policy._target_=mypkg.MyController`` instantiates):
any object with ``compute_action(observation) -> action dict``, where ``observation`` is the env's dict
observation of one step (no batch dimension) and the action dict has one entry per action head, as the
env's ``action_space`` expects it. In structured envs ``compute_action`` also receives ``actor_id=(sub-step,
agent)`` if its signature names that argument. A trained :class:`~maze_cli.models.policy.TorchPolicy` fits too.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

from maze_cli.core.errors import ConfigError
from maze_cli.imitation.dataset import TrajectoryWriter

Act = Callable[[Mapping[str, Any], Tuple[int, int]], Dict[str, Any]]


def controller_act(controller: Any, where: str) -> Act:
    """``(observation, actor_id) -> action`` of a controller; raises naming ``where`` if it has no ``compute_action``."""
    compute = getattr(controller, "compute_action", None)
    if not callable(compute):
        raise ConfigError(f"{where}: {type(controller).__name__} has no compute_action(observation) method; expected "
                          f"a controller returning an action dict per observation")
    try:
        takes_actor = "actor_id" in inspect.signature(compute).parameters
    except (TypeError, ValueError):
        takes_actor = False
    if takes_actor:
        return lambda observation, actor_id: compute(observation, actor_id=actor_id)
    return lambda observation, actor_id: compute(observation)


def play_episodes(env: Any, act: Act, n_episodes: int, seed: Optional[int],
                  writer: Optional[TrajectoryWriter] = None) -> List[float]:
    """Runs ``n_episodes`` one after the other (the first reset seeded); returns their returns.

    Every decision goes to ``writer`` with the actor that took it; an action the controller returns is
    checked against the actor's action space, so a bad controller fails on its first step.
    """
    actor_id = env.get_wrapper_attr("actor_id")
    action_spaces = env.get_wrapper_attr("action_spaces_dict")
    returns: List[float] = []
    observation, _ = env.reset(seed=seed)
    episode_return = 0.0
    while len(returns) < n_episodes:
        actor = tuple(int(i) for i in actor_id())
        action = act(observation, actor)
        space = action_spaces[actor[0]]
        if not isinstance(action, Mapping) or set(action) != set(space.spaces):
            got = sorted(action) if isinstance(action, Mapping) else type(action).__name__
            raise ValueError(f"controller: returned {got} for actor {actor}, expected a dict with the action heads "
                             f"{sorted(space.spaces)}")
        action = {head: np.asarray(value, dtype=space[head].dtype) for head, value in action.items()}
        next_observation, reward, terminated, truncated, _ = env.step(action)
        if writer is not None:
            writer.add(actor, observation, action, float(reward), bool(terminated), bool(truncated))
        episode_return += float(reward)
        observation = next_observation
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            if len(returns) < n_episodes:
                observation, _ = env.reset()
    return returns
