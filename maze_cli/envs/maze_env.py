"""The env interface every part of maze_cli talks to: dict observations, dict actions, sub-steps."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

import gymnasium as gym

ActorID = Tuple[int, int]
"""(sub-step id, agent id) of the decision an env currently asks for."""


class MazeEnv(gym.Env):
    """A gymnasium env whose observations and actions are dicts, organised in sub-steps.

    Ordinary envs have one sub-step, ``0``. A structured env splits one flat step into
    several sub-steps, each with its own spaces (and so its own policy network), and a sub-step
    may have several agents. Because it *is* a ``gymnasium.Env``, gymnasium's wrappers apply
    unchanged. The contract of a structured env (see ``docs/structured_envs.md``):

    - :meth:`actor_id` names the ``(sub-step, agent)`` whose action the next ``step`` expects;
      ``reset`` and ``step`` return the observation for that actor, in its sub-step's space;
    - ``step`` returns rewards from any sub-step, and ``info["flat_step_done"]`` (true from the
      step that completes a flat step), so that lengths and step counts are in flat steps;
    - ``terminated`` / ``truncated`` end the episode for every actor.

    Subclasses set :attr:`observation_spaces_dict` and :attr:`action_spaces_dict`
    (``{sub_step: gym.spaces.Dict}``), override :attr:`agent_counts_dict` for several agents in
    a sub-step, and implement ``reset`` / ``step``.
    """

    observation_spaces_dict: Dict[int, gym.spaces.Dict]
    action_spaces_dict: Dict[int, gym.spaces.Dict]

    @property
    def agent_counts_dict(self) -> Dict[int, int]:
        """Number of agents acting in each sub-step (one per sub-step unless overridden)."""
        return {step: 1 for step in self.action_spaces_dict}

    def actor_id(self) -> ActorID:
        """The (sub-step, agent) whose decision the next ``step`` call expects."""
        return 0, 0

    @property
    def observation_space(self) -> gym.spaces.Dict:  # type: ignore[override]
        return self.observation_spaces_dict[self.actor_id()[0]]

    @property
    def action_space(self) -> gym.spaces.Dict:  # type: ignore[override]
        return self.action_spaces_dict[self.actor_id()[0]]


def check_sub_steps(given: Mapping[int, Any], expected: Mapping[int, Any], what: str,
                    expected_what: str = "the env") -> None:
    """Raise naming the first sub-step that ``given`` lacks or has in excess compared to ``expected``."""
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    if missing or extra:
        problem = f"no entry for sub-step {missing[0]}" if missing else \
            f"sub-step {extra[0]} is not one of {expected_what}'s"
        raise ValueError(f"{what} has sub-steps {sorted(given)}, but {expected_what} has sub-steps "
                         f"{sorted(expected)}: {problem}")


def check_structure(env: gym.Env) -> None:
    """Raise naming the sub-step if an env's spaces and agent counts do not describe the same sub-steps."""
    actions = env.get_wrapper_attr("action_spaces_dict")
    check_sub_steps(env.get_wrapper_attr("observation_spaces_dict"), actions,
                    f"env {env!r}: observation_spaces_dict", "its action_spaces_dict")
    counts = env.get_wrapper_attr("agent_counts_dict")
    check_sub_steps(counts, actions, f"env {env!r}: agent_counts_dict", "its action_spaces_dict")
    for step, count in counts.items():
        if not (isinstance(count, int) and count >= 1):
            raise ValueError(f"env {env!r}: agent_counts_dict[{step}] = {count!r}: expected an integer >= 1 "
                             f"(agents acting in sub-step {step})")
