"""RunContext: train, evaluate and act from Python with the same config and wiring as ``maze-run``."""
from __future__ import annotations

import dataclasses
import datetime
import importlib
import inspect
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from maze_cli.build import Components, build
from maze_cli.config_compose import compose_config, drop_keys_of_replaced_targets, override_value
from maze_cli.core.errors import ConfigError
from maze_cli.core.imports import import_dotted
from maze_cli.envs.maze_env import ActorID
from maze_cli.help import run_name
from maze_cli.logging import setup_logging
from maze_cli.models.policy import TorchPolicy
from maze_cli.run import prepare_run
from maze_cli.run_dir import discard_unused_run_dir
from maze_cli.train.loop import TrainingLoop


def _describe(obj: Any) -> Dict[str, Any]:
    """Config entry recording a Python object that was passed instead of a preset (``_python_object_``:
    not importable, so the run can only be rebuilt in Python)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **dataclasses.asdict(obj)}
    name = getattr(obj, "__qualname__", type(obj).__qualname__)
    module = getattr(obj, "__module__", type(obj).__module__)
    return {"_python_object_": f"{module}.{name}"}


def importable_path(obj: Any) -> Optional[str]:
    """``module.qualname`` of a function or class that importing that path gives back; else None (lambdas,
    local functions, instances, objects of ``__main__``, which a later ``maze-run`` cannot import)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(obj, type) or inspect.isfunction(obj)) or not module or not qualname \
            or module == "__main__" or "<" in qualname:
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}.{qualname}" if found is obj else None


def _as_config(group: str, obj: Any, preset: DictConfig) -> Optional[Dict[str, Any]]:
    """The config node an importable object stands for, so config.yaml replays it: an env factory or class
    becomes the env's ``_target_``; a network class (or a ``{_target_: ...}`` network dict) becomes the
    ``networks`` of the group's preset composer. None: keep the object (recorded as ``_python_object_``)."""
    if isinstance(obj, Mapping) and group in ("policy", "critic") and "_target_" in obj:
        target = import_dotted(str(obj["_target_"]))
        if isinstance(target, type) and issubclass(target, nn.Module):
            return {**OmegaConf.to_container(preset), "networks": dict(obj)}
        return dict(obj)
    path = importable_path(obj)
    if path is None:
        return None
    if group == "env":
        return {"_target_": path}
    if group in ("policy", "critic") and isinstance(obj, type) and issubclass(obj, nn.Module):
        return {**OmegaConf.to_container(preset), "networks": {"_target_": path}}
    return None


class RunContext:
    """Train an agent from Python: presets by name, Python objects, or both.

    Each group argument is a preset name (``env="cartpole"``), a Python object that replaces the
    group (an env factory, an ``A2CAlgorithmConfig``, a policy/critic composer), or ``None``
    (the default preset). ``overrides`` are ``maze-run``'s ``key=value`` pairs as a dict.

    :param env: preset name or zero-argument env factory returning a MazeEnv.
    :param algorithm: preset name or algorithm config (e.g. ``A2CAlgorithmConfig``).
    :param policy: preset name, policy composer, network class (or ``{"_target_": network class, ...}``) for the
        preset composer.
    :param critic: preset name, critic composer, or value network class (or its ``_target_`` dict).
    :param runner: runner preset: ``"dev"``, ``"local"`` (``"ray"`` with the extra installed).
    :param wrappers: wrappers preset name.
    :param normalization: observation normalisation preset name (``"obs_norm"``).
    :param experiment: an experiment preset of ``conf/experiment/`` (``maze-run +experiment=NAME``):
        tuned settings for one env and algorithm; group arguments and ``overrides`` apply on top.
    :param overrides: ``{"algorithm.lr": 1e-3, ...}``, applied after the presets.
    :param seed: shorthand for ``overrides={"seed": ...}``.
    :param output_dir: parent of the run directories (default ``./outputs``).
    """

    def __init__(self, env: Union[str, Callable, None] = None, algorithm: Any = None, policy: Any = None,
                 critic: Any = None, runner: Optional[str] = None, wrappers: Optional[str] = None,
                 normalization: Optional[str] = None, experiment: Optional[str] = None,
                 overrides: Optional[Mapping[str, Any]] = None, seed: Optional[int] = None,
                 output_dir: Union[str, Path] = "outputs"):
        given = {"env": env, "algorithm": algorithm, "policy": policy, "critic": critic,
                 "runner": runner, "wrappers": wrappers, "normalization": normalization}
        if runner is not None and not isinstance(runner, str):
            raise ConfigError(f"runner={runner!r}: expected a runner preset name such as 'dev' or 'local'")
        if env is not None and not isinstance(env, str) and not callable(env):
            raise ConfigError(f"env={env!r}: expected a preset name or a zero-argument callable returning "
                              f"a MazeEnv (an env factory), got {type(env).__name__}")
        cli_args: List[str] = [f"{group}={value}" for group, value in given.items() if isinstance(value, str)]
        if experiment is not None:
            cli_args.append(f"+experiment={experiment}")
        all_overrides = dict(overrides or {})
        if seed is not None:
            all_overrides["seed"] = seed
        cli_args += [f"{key}={override_value(value)}" for key, value in all_overrides.items()]
        self.cfg, choices = compose_config(cli_args)
        drop_keys_of_replaced_targets(self.cfg, choices, cli_args)
        self._objects = {group: value for group, value in given.items()
                         if value is not None and not isinstance(value, str)}
        lost = [key for key in all_overrides if key.lstrip("+~").split(".")[0] in self._objects]
        if lost:
            group = lost[0].lstrip("+~").split(".")[0]
            raise ConfigError(f"overrides[{lost[0]!r}] would be lost: {group}= is a Python object, which replaces the "
                              f"whole {group} config; set the value in that object, or pass {group} as a preset name")
        with open_dict(self.cfg):
            for group, obj in list(self._objects.items()):
                node = _as_config(group, obj, self.cfg[group])
                if node is not None:  # built from the config like a preset, so maze-run can replay it
                    del self._objects[group]
                self.cfg[group] = node if node is not None else _describe(obj)
                choices[group] = "custom"
        self.overrides = cli_args
        self._run_name = run_name(self.cfg.env, choices["env"], choices["algorithm"], choices["runner"])
        self._output_dir = Path(output_dir)
        self.run_dir: Optional[Path] = None
        self._components: Optional[Components] = None
        self._trainer: Optional[TrainingLoop] = None

    @classmethod
    def from_run_dir(cls, run_dir: Union[str, Path], checkpoint: str = "best",
                     output_dir: Union[str, Path] = "outputs") -> "RunContext":
        """A finished run rebuilt from its ``config.yaml`` with the weights of its ``best`` (or ``last``)
        checkpoint, ready for :meth:`compute_action` and :meth:`evaluate`; :meth:`train` continues the run
        from its ``last.pt`` into a new run directory, as ``maze-run input_dir=<run>`` does.
        """
        from maze_cli.run_loading import load_run  # the CLI's rollout and export read runs the same way

        cfg, components = load_run(run_dir, checkpoint)
        rc = cls.__new__(cls)
        with open_dict(cfg):
            cfg.input_dir = str(run_dir)
        rc.cfg, rc._components, rc._trainer, rc._objects, rc.overrides = cfg, components, None, {}, []
        rc._run_name, rc._output_dir, rc.run_dir = Path(run_dir).parent.name, Path(output_dir), None
        return rc

    # --- building and training ---------------------------------------------------------------

    def _build(self) -> Components:
        if self._components is None:
            self._components = build(self.cfg, **self._objects)
        return self._components

    def train(self, n_epochs: Optional[int] = None) -> float:
        """Train (``n_epochs`` overrides the config's); returns the best return: the kept
        weights' mean on ``selection.report_episodes`` held-out episodes (0: the value that selected them).

        The first call creates the run directory; later calls continue the same run. Afterwards
        :attr:`policy` holds the best weights found by model selection.
        """
        if self._trainer is None:
            stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
            self.run_dir = self._output_dir / self._run_name / stamp
            try:
                self.cfg, self._components, self._trainer = prepare_run(self.cfg, self.run_dir, self.overrides,
                                                                        **self._objects)
            except Exception:
                discard_unused_run_dir(self.run_dir)  # failed validation: leave no empty run behind
                self.run_dir = None
                raise
        else:
            setup_logging(self.run_dir)
        return self._trainer.train(n_epochs)

    @property
    def components(self) -> Components:
        """Everything the run is wired from (env factory, algorithm config, policy, critic, runner)."""
        return self._build()

    @property
    def trainer(self) -> Optional[TrainingLoop]:
        """The training loop (algorithm, collector, callbacks), once :meth:`train` was called."""
        return self._trainer

    @property
    def policy(self) -> TorchPolicy:
        """The policy (trained, or freshly initialised before :meth:`train`)."""
        return self._build().policy

    @property
    def env_factory(self) -> Callable[[], Any]:
        """Zero-argument factory of the run's env (with its wrappers), e.g. to step it yourself."""
        return self._build().env_factory

    @property
    def config(self) -> DictConfig:
        """The fully composed config, as written to the run's ``config.yaml``."""
        return self.cfg

    def evaluate(self, n_episodes: Optional[int] = None, deterministic: Optional[bool] = None,
                 seed: Optional[int] = None) -> Dict[str, float]:
        """Statistics of ``n_episodes`` (default: the algorithm's ``eval_repeats``) on a fresh env.

        Episode ``i`` starts from ``seed + i``; by default ``seed`` derives from the run's seed, so the start
        states are those of the run's first evaluation. Pass another to judge weights on other episodes.
        """
        components = self._build()
        algo = components.algorithm
        evaluator = components.make_evaluator(n_episodes or max(algo.eval_repeats, 1),
                                              algo.deterministic_eval if deterministic is None else deterministic,
                                              seed=seed)
        try:
            return evaluator.evaluate(components.policy)
        finally:
            evaluator.close()

    def compute_action(self, observation: Mapping[str, Any], actor_id: Optional[ActorID] = None,
                       deterministic: bool = False) -> Dict[str, np.ndarray]:
        """The policy's action for one observation of the env."""
        return self.policy.compute_action(observation, actor_id, deterministic)

    def __repr__(self) -> str:
        return f"RunContext({self._run_name}, run_dir={self.run_dir})"
