"""Factories for gymnasium env families that need an optional package: Atari (ale-py) and MiniGrid.

Gymnasium's own wrappers act on the gymnasium env inside :class:`GymMazeEnv`; :func:`atari_wrappers`
is the ``wrappers=atari`` entry, which receives the MazeEnv like every ``wrappers`` entry and returns
a GymMazeEnv around the wrapped gymnasium env.
"""
from __future__ import annotations

import importlib
from typing import Any, Sequence

import gymnasium as gym

from maze_cli.envs.gym_maze_env import GymMazeEnv, make_gym
from maze_cli.envs.maze_env import MazeEnv


def _require(module: str, extra: str, what: str) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValueError(f"{what} needs the {module!r} package: pip install 'maze_cli[{extra}]'") from None


def make_atari_env(name: str = "ALE/Pong-v5", **make_kwargs: Any) -> GymMazeEnv:
    """An Atari game from ale-py (which ships the ROMs), e.g. ``env.name=ALE/Breakout-v5``."""
    gym.register_envs(_require("ale_py", "atari", "env=atari"))
    return GymMazeEnv(make_gym(name, **make_kwargs))


def atari_wrappers(env: MazeEnv, noop_max: int = 30, frame_skip: int = 4, screen_size: int = 84,
                   terminal_on_life_loss: bool = False, grayscale_obs: bool = True, frame_stack: int = 4) -> GymMazeEnv:
    """Gymnasium's ``AtariPreprocessing`` then ``FrameStackObservation`` on the env inside a GymMazeEnv.

    Observations stay ``uint8``: ``(frame_stack, screen_size, screen_size)`` for grayscale frames.
    The base env must not skip frames itself (``env.frameskip=1``, as the ``env=atari`` preset sets).
    """
    if not isinstance(env, GymMazeEnv):
        raise ValueError(f"wrappers.atari: expected a gymnasium env wrapped in GymMazeEnv (env=atari), got {env!r}")
    try:
        wrapped = gym.wrappers.AtariPreprocessing(env.env, noop_max=noop_max, frame_skip=frame_skip,
                                                  screen_size=screen_size, terminal_on_life_loss=terminal_on_life_loss,
                                                  grayscale_obs=grayscale_obs)
    except (gym.error.Error, ValueError) as err:
        raise ValueError(f"wrappers.atari: cannot apply AtariPreprocessing to {env!r} ({err}); use env=atari "
                         f"(an ALE game with frameskip=1)") from None
    if frame_stack > 1:
        wrapped = gym.wrappers.FrameStackObservation(wrapped, frame_stack)
    return GymMazeEnv(wrapped)


def make_minigrid_env(name: str = "MiniGrid-Empty-8x8-v0", drop_keys: Sequence[str] = ("mission",),
                      **make_kwargs: Any) -> GymMazeEnv:
    """A MiniGrid env; its ``mission`` text (no default encoder reads text) is dropped by default.

    Observations: ``image`` (7x7x3 uint8 grid encoding of the agent's view) and ``direction`` (Discrete(4)).
    """
    _require("minigrid", "minigrid", "env=minigrid")
    env = make_gym(name, **make_kwargs)
    keep = [key for key in env.observation_space.spaces if key not in set(drop_keys)]
    return GymMazeEnv(gym.wrappers.FilterObservation(env, keep) if drop_keys else env)
