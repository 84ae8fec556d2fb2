"""Envs that fail on purpose, importable by worker processes and by maze-run (env._target_=...)."""
import os
import signal

from maze_cli import GymMazeEnv


class FailingCartPole(GymMazeEnv):
    """CartPole that raises (or kills its own process) after ``fail_after`` steps in this process.

    :param mode: ``"raise"`` raises RuntimeError in step, ``"reset"`` raises in reset,
        ``"kill"`` SIGKILLs the process it runs in (a crashed worker), ``"nan"`` returns NaN rewards,
        ``"nan_obs"`` NaN observations.
    """

    def __init__(self, fail_after: int = 3000, mode: str = "raise"):
        super().__init__("CartPole-v1")
        self.fail_after = fail_after
        self.mode = mode
        self.steps = 0

    def reset(self, **kwargs):
        if self.mode == "reset" and self.steps >= self.fail_after:
            raise RuntimeError("the simulator lost its license during reset")
        return super().reset(**kwargs)

    def step(self, action):
        self.steps += 1
        obs, reward, terminated, truncated, info = super().step(action)
        if self.steps >= self.fail_after:
            if self.mode == "raise":
                raise RuntimeError("the simulator diverged")
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "nan":
                reward = float("nan")
            if self.mode == "nan_obs":
                obs = {key: value * float("nan") for key, value in obs.items()}
        return obs, reward, terminated, truncated, info


def failing_cartpole(fail_after: int = 3000, mode: str = "raise") -> FailingCartPole:
    return FailingCartPole(fail_after, mode)


class SlowCartPole(GymMazeEnv):
    """CartPole whose step sleeps a little, so that a signal arrives mid-training."""

    def __init__(self, sleep: float = 0.0005):
        super().__init__("CartPole-v1")
        self.sleep = sleep

    def step(self, action):
        import time
        time.sleep(self.sleep)
        return super().step(action)


def slow_cartpole(sleep: float = 0.0005) -> SlowCartPole:
    return SlowCartPole(sleep)


class HangingCartPole(GymMazeEnv):
    """CartPole whose ``hang_at``-th step in its process sleeps ``seconds`` (a hung simulator).

    With ``once_file`` only the first env to get there hangs (it creates the file first), so a
    replacement worker runs on.
    """

    def __init__(self, hang_at: int = 300, seconds: float = 3600.0, once_file: str = ""):
        super().__init__("CartPole-v1")
        self.hang_at, self.seconds, self.once_file = hang_at, seconds, once_file
        self.steps = 0

    def step(self, action):
        import time
        self.steps += 1
        if self.steps == self.hang_at and self._claim_the_hang():
            time.sleep(self.seconds)
        return super().step(action)

    def _claim_the_hang(self) -> bool:
        """Whether this env hangs: always without ``once_file``; with it, only the env that creates the file.
        The creation is atomic (O_EXCL), because the workers reach ``hang_at`` in the same step, and a check
        then a create let two of them hang at once."""
        if not self.once_file:
            return True
        try:
            os.close(os.open(self.once_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True


def hanging_cartpole(hang_at: int = 300, seconds: float = 3600.0, once_file: str = "") -> HangingCartPole:
    return HangingCartPole(hang_at, seconds, once_file)


def unsupported_observation_env():
    """A gymnasium env with a Text observation space, which no default network can read."""
    import gymnasium as gym

    class TextObs(gym.Env):
        observation_space = gym.spaces.Text(5)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return "hello", {}

        def step(self, action):
            return "hello", 0.0, True, False, {}

    return GymMazeEnv(TextObs())




class PaintedCartPole(GymMazeEnv):
    """CartPole whose ``rgb_array`` frames are drawn with numpy (no pygame needed): the cart's position
    sets the column of a white bar, so frames differ from step to step."""

    def __init__(self, render_mode=None):
        super().__init__("CartPole-v1")
        self.render_mode = render_mode
        self._x = 0.0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._x = float(obs["observation"][0])
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        import numpy as np
        frame = np.zeros((24, 48, 3), dtype=np.uint8)
        column = int(np.clip((self._x + 2.4) / 4.8 * 47, 0, 47))
        frame[:, column] = 255
        return frame


def painted_cartpole(render_mode=None) -> PaintedCartPole:
    return PaintedCartPole(render_mode)


__all__ = ["FailingCartPole", "HangingCartPole", "PaintedCartPole", "failing_cartpole", "hanging_cartpole",
           "painted_cartpole", "slow_cartpole",
           "unsupported_observation_env"]
