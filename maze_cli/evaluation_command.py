"""``maze-run -cn rollout``: a run's best policy (``input_dir=<run>``) or a user's controller (``env=<preset>
policy._target_=mypkg.MyController``) on fresh episodes, optionally filmed (``render``) or recorded to a
trajectory dataset (``record``, see :mod:`maze_cli.imitation.dataset`)."""
from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, Dict, List

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig

from maze_cli.build import EnvFactory
from maze_cli.config_validation import instantiate_node, target_of
from maze_cli.core.errors import POSITIVE_INT, ConfigError, check
from maze_cli.envs.log_stats import LogStatsWrapper
from maze_cli.imitation.dataset import TrajectoryWriter
from maze_cli.imitation.recording import Act, controller_act, play_episodes
from maze_cli.run_loading import load_run
from maze_cli.train.checkpoint import CheckpointError
from maze_cli.train.evaluator import RolloutEvaluator

logger = logging.getLogger("maze_cli")


class FrameRecorder(gym.Wrapper):
    """Keeps the ``rgb_array`` frame after every reset and step."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.frames: List[np.ndarray] = []

    def _grab(self) -> None:
        try:
            frame = self.env.render()
        except Exception as err:  # e.g. pygame missing for gymnasium's classic-control renderer
            raise RuntimeError(f"the env cannot render frames: {type(err).__name__}: {err}. For gymnasium's "
                               f"classic-control envs install pygame: pip install 'gymnasium[classic-control]'") \
                from None
        if not isinstance(frame, np.ndarray) or frame.ndim != 3:
            raise RuntimeError(f"the env's render() returned {type(frame).__name__}, expected an RGB array "
                               f"(H, W, 3): create it with render_mode='rgb_array'")
        self.frames.append(frame)

    def reset(self, **kwargs: Any):
        result = self.env.reset(**kwargs)
        self._grab()
        return result

    def step(self, action: Any):
        result = self.env.step(action)
        self._grab()
        return result

    # MazeEnv interface of the wrapped env, for the evaluator
    def actor_id(self):
        return self.env.get_wrapper_attr("actor_id")()


def save_gif(frames: List[np.ndarray], path: Path, fps: int = 30) -> None:
    from PIL import Image
    images = [Image.fromarray(frame.astype(np.uint8)) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def accepts(node: DictConfig, argument: str) -> bool:
    """Whether the env config's target takes ``argument`` (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(target_of(node, "env")).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == argument or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


TRAJECTORIES_DIR = "trajectories"


def rollout(cfg: DictConfig, output_dir: Path) -> Dict[str, float]:
    """Play ``cfg.n_episodes`` episodes with the best checkpoint of ``cfg.input_dir``, or with the controller
    ``cfg.policy`` in ``cfg.env`` when no ``input_dir`` is given."""
    controller_given = cfg.get("policy") is not None and cfg.policy.get("_target_") is not None
    if cfg.get("input_dir") and controller_given:
        raise ConfigError("rollout: give either input_dir=<run dir> or policy._target_=<controller>, not both")
    if cfg.record and cfg.render:
        raise ConfigError("rollout: record=true and render=true: record the episodes, or film them, not both")
    if not cfg.get("input_dir") and controller_given:
        return controller_rollout(cfg, output_dir)
    if not cfg.get("input_dir") and cfg.get("env") is not None:
        raise ConfigError("rollout: env is set but no controller: add policy._target_=mypkg.MyController (an object "
                          "with compute_action(observation) -> action dict), or give input_dir=<run dir> instead")
    if not cfg.get("input_dir"):
        raise CheckpointError("input_dir is required: the directory of a finished run (it holds config.yaml); or "
                              "record a controller with env=<preset> policy._target_=mypkg.MyController")

    def film(train_cfg: DictConfig) -> None:
        if cfg.render and "render_mode" not in train_cfg.env and accepts(train_cfg.env, "render_mode"):
            train_cfg.env.render_mode = "rgb_array"
    train_cfg, components = load_run(cfg.input_dir, "best", film)
    if cfg.record:
        policy = components.policy
        return play(cfg, components.env_factory, env_label(train_cfg.env),
                      lambda obs, actor: policy.compute_action(obs, actor, deterministic=cfg.deterministic),
                      output_dir, f"the best policy of {cfg.input_dir}")
    env = components.env_factory()
    recorder = FrameRecorder(env) if cfg.render else None
    evaluator = RolloutEvaluator(LogStatsWrapper.wrap(recorder or env, logging_prefix="rollout"),
                                 n_episodes=cfg.n_episodes, deterministic=cfg.deterministic, seed=cfg.seed)
    stats = evaluator.evaluate(components.policy)
    logger.info(f"rollout of {cfg.input_dir}: {int(stats['rollout/episode_count'])} episodes, return "
                f"mean {stats['rollout/episode_return_mean']:.2f} std {stats['rollout/episode_return_std']:.2f} "
                f"min {stats['rollout/episode_return_min']:.2f} max {stats['rollout/episode_return_max']:.2f}")
    if recorder is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        save_gif(recorder.frames, output_dir / "rollout.gif")
        logger.info(f"recorded {len(recorder.frames)} frames to {output_dir / 'rollout.gif'}")
    return stats


def controller_rollout(cfg: DictConfig, output_dir: Path) -> Dict[str, float]:
    """Episodes of the user's controller ``cfg.policy`` in ``cfg.env`` (recorded with ``record=true``)."""
    if cfg.get("env") is None:
        raise ConfigError("rollout: policy._target_ is set but no env: add env=<preset> (e.g. env=cartpole)")
    if cfg.render:
        raise ConfigError("rollout: render=true films trained runs (input_dir=...), not controllers")
    controller = instantiate_node(cfg.policy, "policy")
    act = controller_act(controller, f"policy._target_={cfg.policy._target_}")
    return play(cfg, EnvFactory(cfg.env, cfg.get("wrappers")), env_label(cfg.env), act,
                  output_dir, type(controller).__name__)


def env_label(node: DictConfig) -> str:
    """What a dataset's manifest calls the env: its gymnasium id, or its target."""
    return str(node.get("name") or node.get("_target_"))


def play(cfg: DictConfig, env_factory: Any, env_name: str, act: Act, output_dir: Path, who: str
           ) -> Dict[str, float]:
    """Plays ``cfg.n_episodes`` with ``act``; with ``cfg.record`` writes them to ``output_dir/trajectories``."""
    check(POSITIVE_INT(cfg.n_episodes), "n_episodes", cfg.n_episodes, "an integer >= 1")
    check(POSITIVE_INT(cfg.episodes_per_shard), "episodes_per_shard", cfg.episodes_per_shard, "an integer >= 1")
    env = env_factory()
    writer = None
    if cfg.record:
        writer = TrajectoryWriter(output_dir / TRAJECTORIES_DIR, env_name,
                                  env.get_wrapper_attr("observation_spaces_dict"),
                                  env.get_wrapper_attr("action_spaces_dict"), int(cfg.episodes_per_shard))
    try:
        returns = np.asarray(play_episodes(env, act, int(cfg.n_episodes), int(cfg.seed), writer))
    finally:
        env.close()
    logger.info(f"rollout of {who}: {len(returns)} episodes, return mean {returns.mean():.2f} std "
                f"{returns.std():.2f} min {returns.min():.2f} max {returns.max():.2f}")
    if writer is not None:
        logger.info(f"recorded {len(returns)} episodes to {writer.close()}: train on them with "
                    f"algorithm=bc algorithm.dataset={output_dir / TRAJECTORIES_DIR}")
    return {"rollout/episode_return_mean": float(returns.mean()), "rollout/episode_return_std": float(returns.std()),
            "rollout/episode_count": float(len(returns))}
