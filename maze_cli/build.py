"""The one place where a config becomes objects; the CLI and RunContext both call :func:`build`."""
from __future__ import annotations

import copy
import inspect
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Type, Union

import gymnasium as gym
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from maze_cli.algorithms.a2c import A2C
from maze_cli.algorithms.bc import BC
from maze_cli.algorithms.bc_config import BCAlgorithmConfig
from maze_cli.algorithms.config import A2CAlgorithmConfig, AlgorithmConfig, IMPALAAlgorithmConfig, PPOAlgorithmConfig
from maze_cli.algorithms.es_config import ESAlgorithmConfig
from maze_cli.algorithms.sac_config import SACAlgorithmConfig
from maze_cli.algorithms.es import ES
from maze_cli.algorithms.impala import IMPALA
from maze_cli.algorithms.ppo import PPO
from maze_cli.algorithms.sac import SAC
from maze_cli.config_validation import instantiate_node, target_of, validated_dataclass
from maze_cli.core.device import resolve_device
from maze_cli.core.errors import POSITIVE_INT, ConfigError, check
from maze_cli.envs.gym_maze_env import GymMazeEnv
from maze_cli.envs.kpis import parse_kpis, wrap_kpis
from maze_cli.envs.maze_env import MazeEnv, check_structure
from maze_cli.logging import ConsoleLogger, LearningCurve
from maze_cli.logging.trackers import Tracker, flat_params
from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.normalization import ObservationNormalizer
from maze_cli.models.policy import TorchPolicy
from maze_cli.models.q_critic import TorchQCritic
from maze_cli.models.sharing import share_encoders
from maze_cli.runners.base import Runner
from maze_cli.train.callbacks import build_callbacks
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint, load_state_strict
from maze_cli.train.evaluator import RolloutEvaluator
from maze_cli.train.budget import apply_budget, describe_budget
from maze_cli.train.loop import LAST_CHECKPOINT, TrainingLoop
from maze_cli.train.selection import BEST_CHECKPOINT, ModelSelectionCallback, ReportBest, selection_settings
from maze_cli.train.stop_rules import EarlyStopping, StopAtReturn

logger = logging.getLogger("maze_cli")

ALGORITHMS: Dict[type, Type[Any]] = {A2CAlgorithmConfig: A2C, PPOAlgorithmConfig: PPO, SACAlgorithmConfig: SAC,
                                     BCAlgorithmConfig: BC, ESAlgorithmConfig: ES,
                                     IMPALAAlgorithmConfig: IMPALA}
"""Algorithm config class -> algorithm class; each algorithm registers itself here."""

EVAL_SEED_OFFSET = 1_000_003


class EnvFactory:
    """Picklable zero-argument env factory: the ``env`` config node plus the ``wrappers`` applied to it.

    gymnasium's own wrappers (``gymnasium.wrappers.TimeLimit``, ``NormalizeReward``, ``ClipAction``, ...)
    wrap the gymnasium env inside a :class:`GymMazeEnv`, in the listed order, before its spaces become
    dicts; any other entry is a MazeEnv wrapper (called with ``env=<the MazeEnv>``) applied after them.
    Configured ``kpis`` wrap the result in a :class:`~maze_cli.envs.kpis.KpiRecorder`.
    """

    def __init__(self, env: Any, wrappers: Optional[Mapping[str, Any]] = None,
                 kpis: Optional[Mapping[str, str]] = None):
        self.env = env
        self.wrappers = {name: node for name, node in dict(wrappers or {}).items() if node is not None}
        self.kpis = dict(kpis or {})

    def __call__(self) -> MazeEnv:
        env = self.env() if callable(self.env) else instantiate_node(self.env, "env")
        if not isinstance(env, MazeEnv):
            raise ConfigError(f"env: the env factory returned {type(env).__name__}, expected a MazeEnv "
                              f"(wrap gymnasium envs in maze_cli.GymMazeEnv)")
        gym_wrappers = {n: w for n, w in self.wrappers.items() if _is_gymnasium_wrapper(w, f"wrappers.{n}")}
        if gym_wrappers:
            if not isinstance(env, GymMazeEnv):
                raise ConfigError(f"wrappers.{next(iter(gym_wrappers))}: gymnasium wrappers wrap the gymnasium env "
                                  f"inside a GymMazeEnv, but the env is a {type(env).__name__}; use a MazeEnv wrapper")
            inner = env.env
            for name, wrapper in gym_wrappers.items():
                inner = instantiate_node(wrapper, f"wrappers.{name}", env=inner)
            env = GymMazeEnv(inner)
        for name, wrapper in self.wrappers.items():
            if name not in gym_wrappers:
                env = _maze_wrapper(instantiate_node(wrapper, f"wrappers.{name}", env=env), name)
        return wrap_kpis(env, self.kpis)


def _is_gymnasium_wrapper(node: Any, where: str) -> bool:
    target = target_of(node, where)
    return isinstance(target, type) and issubclass(target, gym.Wrapper) and target.__module__.startswith("gymnasium.")


def _maze_wrapper(env: Any, name: str) -> Any:
    """``env`` if it still is a MazeEnv (possibly wrapped); else one line naming the entry."""
    try:
        is_maze = isinstance(env, gym.Env) and isinstance(env.get_wrapper_attr("observation_spaces_dict"), Mapping)
    except AttributeError:
        is_maze = False
    if not is_maze:
        raise ConfigError(f"wrappers.{name}: {type(env).__name__} is not an env wrapper: expected a gymnasium "
                          f"wrapper (gymnasium.wrappers.*) or a MazeEnv wrapper taking env=<MazeEnv>")
    return env


@dataclass
class Components:
    """Everything a training run is made of, wired from one config."""

    cfg: DictConfig
    env_factory: EnvFactory
    probe_env: MazeEnv
    algorithm: AlgorithmConfig
    policy: TorchPolicy
    critic: Union[TorchStateCritic, TorchQCritic]
    runner: Runner

    def make_trainer(self, run_dir: Optional[Path] = None) -> TrainingLoop:
        """The training loop with algorithm, collector, evaluator and callbacks; starts env workers per train()."""
        seed = int(self.cfg.seed)
        algorithm = ALGORITHMS[type(self.algorithm)](self.algorithm, self.policy, self.critic,
                                                     max_nonfinite_updates=int(self.cfg.max_nonfinite_updates))

        def make_collector(first_epoch: int):
            # A later train() call continues with fresh env episodes rather than replaying the first ones.
            collector_seed = seed + 7919 * first_epoch
            if hasattr(algorithm, "population"):  # whole episodes of a population (ES)
                return self.runner.make_population_collector(self.env_factory, algorithm, collector_seed,
                                                             self.probe_env)
            if getattr(algorithm, "asynchronous", False):  # actors that keep acting while the learner updates
                return self.runner.make_async_collector(self.env_factory, self.policy, algorithm.rollout_steps,
                                                        collector_seed, self.probe_env, self.algorithm.broadcast_interval,
                                                        self.algorithm.queue_size)
            return self.runner.make_collector(self.env_factory, self.policy, algorithm.critic, algorithm.rollout_steps,
                                              collector_seed, self.probe_env, algorithm.store_next_observations)
        def make_evaluator(first_epoch: int) -> RolloutEvaluator:
            return self.make_evaluator(self.algorithm.eval_repeats, self.algorithm.deterministic_eval, first_epoch)
        selection = ModelSelectionCallback(*selection_settings(self.cfg.get("selection"), self.env_factory.kpis))
        return TrainingLoop(algorithm, make_collector, make_evaluator if self.algorithm.eval_repeats > 0 else None,
                            self.callbacks(run_dir), run_dir, selection)

    def callbacks(self, run_dir: Optional[Path]) -> List[Any]:
        """The config's callbacks, the stop rules the algorithm config asks for, then the loggers (which so
        log what the others added to an epoch's statistics)."""
        callbacks = build_callbacks(self.cfg.get("callbacks"))
        callbacks.append(EarlyStopping(self.algorithm.patience))
        threshold = stop_threshold(self.algorithm.stop_at_return, self.probe_env)
        if threshold is not None:
            callbacks.append(StopAtReturn(threshold, self.algorithm.confirm_episodes))
        callbacks.append(ReportBest())  # once the stop rules have decided that the epoch is the last
        callbacks.append(ConsoleLogger())
        if run_dir is not None:
            callbacks.append(LearningCurve(run_dir))  # before the trackers, which store the curve
            callbacks += build_loggers(self.cfg, run_dir)
        return callbacks

    def make_evaluator(self, n_episodes: int, deterministic: bool, first_evaluation: int = 0,
                       seed: Optional[int] = None) -> RolloutEvaluator:
        """Batched over ``n_episodes`` envs, one episode each, for every kind of env (where: the runner says);
        seeded from the run's seed unless ``seed`` is given."""
        vector_env = self.runner.make_evaluation_env(self.env_factory, n_episodes, self.probe_env)
        return RolloutEvaluator(vector_env=vector_env, deterministic=deterministic,
                                seed=int(self.cfg.seed) + EVAL_SEED_OFFSET if seed is None else seed,
                                first_evaluation=first_evaluation)


def build_loggers(cfg: DictConfig, run_dir: Path) -> List[Any]:
    """The ``logger`` group's entries (csv, tensorboard, mlflow, wandb, ...) for a run writing to ``run_dir``;
    a tracker whose library is missing fails here, before training, naming its extra."""
    loggers = []
    nodes = cfg.get("logger")
    if nodes is None:  # a run saved before the logger group existed
        nodes = {"csv": {"_target_": "maze_cli.logging.CsvLogger"},
                 "tensorboard": {"_target_": "maze_cli.logging.TensorBoardLogger"}}
    for name, node in nodes.items():
        target = target_of(node, f"logger.{name}")
        kwargs: Dict[str, Any] = {"run_dir": run_dir}
        if isinstance(target, type) and issubclass(target, Tracker):
            target.check_installed()
            kwargs.update(params=flat_params(OmegaConf.to_container(cfg, resolve=True)), sweep=sweep_group())
        loggers.append(instantiate_node(node, f"logger.{name}", **kwargs))
    return loggers


def sweep_group() -> Optional[str]:
    """The sweep directory of a ``--multirun`` job (trackers group its jobs by it); None for a single run."""
    from hydra.core.hydra_config import HydraConfig
    if HydraConfig.initialized() and HydraConfig.get().mode.name == "MULTIRUN":
        return str(HydraConfig.get().sweep.dir)
    return None


def stop_threshold(stop_at_return: Any, env: MazeEnv) -> Optional[float]:
    """``stop_at_return`` as a number: ``"auto"`` is the env's ``spec.reward_threshold`` (None if it has none)."""
    if stop_at_return != "auto":
        return None if stop_at_return is None else float(stop_at_return)
    spec = getattr(env, "spec", None)
    threshold = getattr(spec, "reward_threshold", None)
    if threshold is None:
        logger.info(f"stop_at_return=auto: {env!r} declares no reward_threshold; training the full budget")
    return None if threshold is None else float(threshold)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def _algorithm(cfg: DictConfig, algorithm: Any) -> AlgorithmConfig:
    algo = algorithm if algorithm is not None else validated_dataclass(cfg.algorithm, "algorithm")
    if type(algo) not in ALGORITHMS:
        raise ConfigError(f"algorithm: {type(algo).__name__} has no algorithm; expected one of "
                          f"{[c.__name__ for c in ALGORITHMS]}")
    algo.validate()
    return algo


def _keep_loaded_statistics(cfg: DictConfig) -> None:
    """A warm-started run keeps the observation statistics that come with the loaded weights: the policy was
    trained on inputs scaled by them, and letting this run's rollouts move them changes what it does before any
    update (a cloned Acrobot policy fell from -79 to -158 in the critic's burn-in). ``config.yaml`` records it."""
    node = cfg.get("normalization")
    if node and node.get("update", True):
        with open_dict(cfg):
            cfg.normalization.update = False
        logger.info("policy.init_from: the observation normalisation statistics of the loaded run stay fixed "
                    "(normalization.update=false)")


def _normalizer(cfg: DictConfig, probe_env: MazeEnv) -> Optional[ObservationNormalizer]:
    """The observation normaliser of the ``normalization`` group (statistics sampled from the probe env)."""
    node = cfg.get("normalization")
    if not node:
        return None
    settings = validated_dataclass(node, "normalization")
    normalizer = ObservationNormalizer(probe_env.get_wrapper_attr("observation_spaces_dict"), settings)
    normalizer.sample_statistics(probe_env, settings.sampling_steps, int(cfg.seed))
    return normalizer


def _model(given: Any, node: Any, group: str, attribute: str, spaces: Dict[str, Any]) -> Any:
    """A policy/critic from a composer instance, a ready module, or the config group."""
    if given is None:
        given = instantiate_node(node, group, **spaces)
    if hasattr(given, attribute):
        return getattr(given, attribute)
    if isinstance(given, (TorchPolicy, TorchStateCritic, TorchQCritic)):
        return given
    raise ConfigError(f"{group}: expected a {group} composer (with a .{attribute} attribute), "
                      f"got {type(given).__name__}")


WARM_START_KEYS = ("init_from", "init_checkpoint")
"""Keys of the policy node that are not composer arguments: whose weights the policy starts from."""
WARM_START_CHECKPOINTS = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT}


def _split_warm_start(node: Any) -> tuple:
    """``(policy node without the warm-start keys, init_from, init_checkpoint)``; the node in ``cfg`` keeps
    them, so the run's config.yaml says where its weights came from."""
    if not OmegaConf.is_dict(node) or not any(key in node for key in WARM_START_KEYS):
        return node, None, "best"
    node = copy.deepcopy(node)
    with open_dict(node):
        init_from, which = node.pop("init_from", None), node.pop("init_checkpoint", "best")
    return node, init_from, which


def _split_sharing(node: Any) -> tuple:
    """``(critic node without share_encoders, share_encoders)``; config.yaml keeps the key."""
    if not OmegaConf.is_dict(node) or "share_encoders" not in node:
        return node, False
    node = copy.deepcopy(node)
    with open_dict(node):
        shared = node.pop("share_encoders")
    check(isinstance(shared, bool), "critic.share_encoders", shared, "true or false")
    return node, shared


def warm_start(policy: TorchPolicy, init_from: str, which: Any) -> None:
    """Loads the policy weights of the run ``init_from`` (its ``best`` or ``last`` checkpoint) into ``policy``;
    raises naming the first parameter that does not fit."""
    check(which in WARM_START_CHECKPOINTS, "policy.init_checkpoint", which, f"one of {list(WARM_START_CHECKPOINTS)}")
    if not Path(init_from).is_dir():
        raise CheckpointError(f"policy.init_from={str(init_from)!r} does not exist: expected the directory of an "
                              f"earlier run (it holds {WARM_START_CHECKPOINTS[which]})")
    path = Path(init_from) / WARM_START_CHECKPOINTS[which]
    state = load_checkpoint(path)
    if "policy" not in state:
        raise CheckpointError(f"policy.init_from={init_from}: {path} holds no policy weights")
    load_state_strict(policy, state["policy"], f"policy.init_from={init_from} ({path})")
    logger.info(f"policy starts from the weights of {path}")


def _takes_actions(given: Any, node: Any) -> bool:
    """Whether the critic group's composer takes the action spaces (state-action critics do)."""
    if given is not None or not node:
        return False
    target = target_of(node, "critic")
    return isinstance(target, type) and "action_spaces_dict" in inspect.signature(target).parameters


def build(cfg: DictConfig, env: Optional[Callable[[], MazeEnv]] = None, algorithm: Any = None,
          policy: Any = None, critic: Any = None) -> Components:
    """Wire a run from ``cfg``; Python objects passed here replace the matching config group.

    Order matters for reproducibility: the seed is set before any network is initialised.
    """
    check(isinstance(cfg.get("seed"), int) and not isinstance(cfg.get("seed"), bool), "seed", cfg.get("seed"),
          "an integer")
    check(POSITIVE_INT(cfg.get("max_nonfinite_updates")), "max_nonfinite_updates", cfg.get("max_nonfinite_updates"),
          "an integer >= 1")
    runner = instantiate_node(cfg.runner, "runner")
    if not isinstance(runner, Runner):
        raise ConfigError(f"runner: expected a maze_cli Runner, got {type(runner).__name__}")
    runner.setup()
    algo = apply_budget(_algorithm(cfg, algorithm), runner.n_envs, cfg.get("budget"))
    if cfg.get("budget") and any(v is not None for v in cfg.budget.values()):
        with open_dict(cfg):  # config.yaml records the epochs the budget gave
            cfg.algorithm.n_epochs, cfg.algorithm.epoch_length = algo.n_epochs, algo.epoch_length
    logger.info(describe_budget(algo, runner.n_envs))
    if env is not None and not callable(env):
        raise ConfigError(f"env: expected a zero-argument callable returning a MazeEnv (an env factory), "
                          f"got {type(env).__name__}")
    device = resolve_device(algo.device)
    env_factory = EnvFactory(env if env is not None else cfg.env, cfg.get("wrappers"), parse_kpis(cfg.get("kpis")))
    selection_settings(cfg.get("selection"), env_factory.kpis)
    seed_everything(int(cfg.seed))
    probe_env = env_factory()
    try:
        check_structure(probe_env)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    spaces = {"observation_spaces_dict": probe_env.get_wrapper_attr("observation_spaces_dict"),
              "agent_counts_dict": probe_env.get_wrapper_attr("agent_counts_dict")}
    action_spaces = probe_env.get_wrapper_attr("action_spaces_dict")
    policy_node, init_from, init_checkpoint = _split_warm_start(cfg.policy)
    policy_obj = _model(policy, policy_node, "policy", "policy",
                        {"action_spaces_dict": action_spaces, **spaces})
    critic_spaces = dict(spaces, action_spaces_dict=action_spaces) if _takes_actions(critic, cfg.critic) else spaces
    critic_node, shared = _split_sharing(cfg.critic)
    critic_obj = _model(critic, critic_node, "critic", "critic", critic_spaces)
    if init_from is not None and policy is None and not cfg.get("input_dir"):
        _keep_loaded_statistics(cfg)
    normalizer = _normalizer(cfg, probe_env)
    if normalizer is not None:
        policy_obj.observation_normalizer = critic_obj.observation_normalizer = normalizer
    try:
        policy_obj.check_fits(spaces["observation_spaces_dict"], action_spaces, spaces["agent_counts_dict"])
        critic_obj.check_fits(spaces["observation_spaces_dict"])
        if shared:
            share_encoders(policy_obj, critic_obj)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if init_from is not None and policy is None:
        if cfg.get("input_dir"):
            logger.info(f"policy.init_from={init_from} is skipped: the resumed run's checkpoint holds the weights")
        else:
            warm_start(policy_obj, init_from, init_checkpoint)
    return Components(cfg=cfg, env_factory=env_factory, probe_env=probe_env, algorithm=algo,
                      policy=policy_obj.to(device), critic=critic_obj.to(device), runner=runner)
