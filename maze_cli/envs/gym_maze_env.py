"""GymMazeEnv: any gymnasium env (or registered id) as a single-sub-step MazeEnv."""
from __future__ import annotations

from typing import Any, Dict, Optional, Union

import gymnasium as gym
import numpy as np

from maze_cli.envs.maze_env import MazeEnv

OBS_KEY = "observation"
ACTION_KEY = "action"


FAMILIES = {"ALE/": ("ale_py", "atari"), "MiniGrid-": ("minigrid", "minigrid"), "BabyAI-": ("minigrid", "minigrid")}
"""Id prefix -> (module that registers the ids on import, maze_cli extra that installs it)."""
DEPENDENCY_EXTRAS = {"box2d": "box2d", "mujoco": "mujoco", "ale": "atari", "minigrid": "minigrid"}
"""A word in gymnasium's DependencyNotInstalled message -> the maze_cli extra that installs the dependency."""


def missing_dependency(env_id: str, package: str, extra: str) -> ImportError:
    return ImportError(f"env {env_id!r} needs {package}, which is not installed: pip install \"maze_cli[{extra}]\"")


def _register_family(env_id: str) -> None:
    """Import the package whose import registers ``env_id`` (ALE, MiniGrid), naming our extra if it is missing."""
    for prefix, (module, extra) in FAMILIES.items():
        if env_id.startswith(prefix):
            try:
                __import__(module)
            except ImportError:
                raise missing_dependency(env_id, module, extra) from None


def make_gym(env_id: str, **make_kwargs: Any) -> gym.Env:
    """``gymnasium.make`` with errors that say what to do: install our extra, or use a registered id."""
    _register_family(env_id)
    try:
        return gym.make(env_id, **make_kwargs)
    except gym.error.DependencyNotInstalled as err:
        text = str(err)
        extra = next((extra for word, extra in DEPENDENCY_EXTRAS.items() if word in text.lower()), None)
        if extra is None:
            raise ImportError(f"env {env_id!r} needs a package that is not installed: {text.splitlines()[0]}") from None
        raise missing_dependency(env_id, extra, extra) from None
    except gym.error.Error as err:
        raise ValueError(f"unknown gymnasium env id {env_id!r}: expected a registered id such as "
                         f"'CartPole-v1' ({type(err).__name__}: {err})") from None


def dict_space(space: gym.Space, key: str) -> gym.spaces.Dict:
    """Dict spaces pass through; any other space becomes ``Dict({key: space})``."""
    return space if isinstance(space, gym.spaces.Dict) else gym.spaces.Dict({key: space})


class GymMazeEnv(MazeEnv):
    """Wraps a gymnasium env so that observations and actions are dicts.

    :param env: a registered gymnasium id (``"CartPole-v1"``) or a ``gymnasium.Env`` instance.
    :param make_kwargs: passed to ``gymnasium.make`` when ``env`` is an id.

    Terminated and truncated stay distinct, so that time-limit truncations can be
    bootstrapped by the trainer.
    """

    def __init__(self, env: Union[str, gym.Env], **make_kwargs: Any):
        if isinstance(env, str):
            self.gym_id: Optional[str] = env
            self.make_kwargs = make_kwargs
            env = make_gym(env, **make_kwargs)
        elif isinstance(env, gym.Env):
            self.gym_id = None
            self.make_kwargs = {}
        else:
            raise TypeError(f"GymMazeEnv(env=...) expects a gymnasium id string or a gymnasium.Env, "
                            f"got {type(env).__name__}")
        self.env = env
        self._obs_is_dict = isinstance(env.observation_space, gym.spaces.Dict)
        self._act_is_dict = isinstance(env.action_space, gym.spaces.Dict)
        self.observation_spaces_dict = {0: dict_space(env.observation_space, OBS_KEY)}
        self.action_spaces_dict = {0: dict_space(env.action_space, ACTION_KEY)}
        self.metadata = env.metadata
        self.render_mode = env.render_mode
        self.spec = env.spec

    def _wrap_obs(self, obs: Any) -> Dict[str, Any]:
        return obs if self._obs_is_dict else {OBS_KEY: obs}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._wrap_obs(obs), info

    def step(self, action: Dict[str, Any]):
        gym_action = action if self._act_is_dict else action[ACTION_KEY]
        if isinstance(gym_action, np.ndarray) and gym_action.ndim == 0:
            gym_action = gym_action.item()
        obs, reward, terminated, truncated, info = self.env.step(gym_action)
        return self._wrap_obs(obs), float(reward), bool(terminated), bool(truncated), info

    def render(self):
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return f"GymMazeEnv({self.gym_id or self.env!r})"


def make_gym_env(name: str, **make_kwargs: Any) -> GymMazeEnv:
    """YAML-facing factory: ``env.name=<any registered gymnasium id>``."""
    return GymMazeEnv(env=name, **make_kwargs)
