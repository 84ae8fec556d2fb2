"""Experiment trackers (``logger=[tensorboard,mlflow]``, ``logger=[...,wandb]``): a run's params, every epoch's
metrics at its env-step count, and its files, sent to MLflow or Weights & Biases.

A tracker is a training-loop callback. One that fails (a server down, a bad URI) warns once and stops
sending; training goes on and the run directory is written in full, so nothing is lost locally.
Trackers are optional extras, imported when the run starts.
"""
from __future__ import annotations

import importlib.util
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

from maze_cli.core.imports import require
from maze_cli.core.nested import flatten_keys
from maze_cli.logging.curve import CURVE_FILE

logger = logging.getLogger("maze_cli")

ARTIFACTS = ("config.yaml", CURVE_FILE, "checkpoints/best.pt")
"""The files a tracker stores with the run when training ends (those that exist)."""


def flat_params(config: Mapping[str, Any], prefix: str = "") -> Dict[str, str]:
    """A nested config as ``{"algorithm.lr": "0.0005", ...}``: what trackers show as a run's parameters."""
    return {name: str(value)[:500] for name, value in flatten_keys(config, prefix).items()}


def finite_metrics(stats: Mapping[str, float]) -> Dict[str, float]:
    """The ``group/name`` statistics with a finite value (trackers reject NaN)."""
    return {key: float(value) for key, value in stats.items()
            if "/" in key and isinstance(value, (int, float)) and math.isfinite(value)}


class Tracker:
    """Calls into a tracker library, guarded: the first failure is logged once and the tracker turns off.

    :param run_dir: the run directory (its name names the tracked run; its files become artifacts).
    :param params: the resolved config, flattened.
    :param sweep: the sweep directory of a ``--multirun`` job (``None`` for a single run): trackers group by it.
    """

    name = "tracker"
    module = ""
    """The library the tracker needs (checked before training)."""

    @classmethod
    def check_installed(cls) -> None:
        """Raises naming the extra when the tracker's library is missing: before anything trains."""
        if importlib.util.find_spec(cls.module) is None:
            raise ImportError(f"logger={cls.name} needs {cls.module}, which is not installed: "
                              f"pip install \"maze_cli[{cls.name}]\"")

    def __init__(self, run_dir: Path, params: Dict[str, str], sweep: Optional[str] = None):
        self.run_dir, self.params, self.sweep = Path(run_dir), params, sweep
        self.active = False

    def _guard(self, what: str, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as err:  # a tracker must never stop training
            self.active = False
            logger.warning(f"logger {self.name}: {what} failed ({type(err).__name__}: {str(err)[:300]}); not "
                           f"sending more to {self.name} for this run; the run directory {self.run_dir} is complete")

    def on_train_start(self, loop: Any) -> None:
        self.active = True
        self._guard("starting the run", self.start)

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if self.active:
            self._guard("logging metrics", lambda: self.log(finite_metrics(stats), int(stats["time/env_steps"])))

    def on_train_end(self, loop: Any) -> None:
        if self.active:
            self._guard("storing the run's files", self.finish)
        self.active = False

    def artifacts(self) -> List[Path]:
        return [self.run_dir / name for name in ARTIFACTS if (self.run_dir / name).is_file()]

    def start(self) -> None:
        raise NotImplementedError

    def log(self, metrics: Dict[str, float], step: int) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class MlflowLogger(Tracker):
    """MLflow: params, metrics per epoch (step = env steps) and artifacts of one MLflow run per maze_cli run.

    :param tracking_uri: ``None``: a SQLite database ``mlflow.db`` beside the run directories (``outputs/``);
        else any MLflow URI (``http://server:5000``, ``file:./mlruns``, ``sqlite:///path.db``).
    :param experiment: the MLflow experiment the runs go to.
    :param timeout_s: seconds an HTTP request to a tracking server may take before the tracker gives up.
    """

    name, module = "mlflow", "mlflow"

    def __init__(self, run_dir: Path, params: Dict[str, str], sweep: Optional[str] = None,
                 tracking_uri: Optional[str] = None, experiment: str = "maze_cli", timeout_s: float = 10.0):
        super().__init__(run_dir, params, sweep)
        self.tracking_uri = tracking_uri or f"sqlite:///{(self.run_dir.parent.parent / 'mlflow.db').resolve()}"
        self.experiment, self.timeout_s = experiment, timeout_s
        self._client, self._run_id = None, None

    def start(self) -> None:
        # an unreachable server fails fast instead of retrying for minutes
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(self.timeout_s)))
        mlflow = require("mlflow", "mlflow", "logger=mlflow")
        client = mlflow.tracking.MlflowClient(tracking_uri=self.tracking_uri)
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(self.experiment)
        tags = {"maze_cli.run_dir": str(self.run_dir)} | ({"maze_cli.sweep": self.sweep} if self.sweep else {})
        run = client.create_run(experiment_id, run_name=self.run_dir.name, tags=tags)
        self._client, self._run_id = client, run.info.run_id
        params = [mlflow.entities.Param(key, value) for key, value in self.params.items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(self._run_id, params=params[start:start + 100])

    def log(self, metrics: Dict[str, float], step: int) -> None:
        from mlflow.entities import Metric
        stamp = int(1000 * time.time())
        self._client.log_batch(self._run_id, metrics=[Metric(key, value, stamp, step) for key, value in metrics.items()])

    def finish(self) -> None:
        for path in self.artifacts():
            folder = path.relative_to(self.run_dir).parent
            self._client.log_artifact(self._run_id, str(path), artifact_path=None if folder == Path(".") else str(folder))
        self._client.set_terminated(self._run_id)


class WandbLogger(Tracker):
    """Weights & Biases: one W&B run per maze_cli run, its files under ``<run dir>/wandb``.

    :param project: the W&B project.
    :param entity: the W&B team or user (``None``: your default).
    :param mode: ``online``, ``offline`` (no network; ``wandb sync`` uploads later) or ``disabled``.
    """

    name, module = "wandb", "wandb"

    def __init__(self, run_dir: Path, params: Dict[str, str], sweep: Optional[str] = None,
                 project: str = "maze_cli", entity: Optional[str] = None, mode: str = "online"):
        super().__init__(run_dir, params, sweep)
        self.project, self.entity, self.mode = project, entity, mode
        self._run = None

    def start(self) -> None:
        wandb = require("wandb", "wandb", "logger=wandb")
        self._run = wandb.init(project=self.project, entity=self.entity, mode=self.mode, dir=str(self.run_dir),
                               name=self.run_dir.name, group=self.sweep, config=self.params, reinit="create_new")

    def log(self, metrics: Dict[str, float], step: int) -> None:
        self._run.log(metrics, step=step)

    def finish(self) -> None:
        for path in self.artifacts():
            self._run.save(str(path), base_path=str(self.run_dir), policy="now")
        self._run.finish()
