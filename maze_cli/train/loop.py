"""The training loop: collect -> update -> evaluate -> select -> checkpoint -> callbacks (loggers, stop rules).

It knows nothing of any algorithm's maths: it asks the runner's collector for rollouts of
``algorithm.rollout_steps`` steps per env and hands each to ``algorithm.update``. Everything
else that happens after an epoch (loggers, stop rules, trackers, sweep pruning) is a callback
(see :mod:`maze_cli.train.callbacks`), so adding one touches no loop code.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
from torch import nn
from tqdm import tqdm

from maze_cli.algorithms.base import Algorithm
from maze_cli.core.io import WriteError
from maze_cli.runners.base import Collector
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.callbacks import call_hook
from maze_cli.train.checkpoint import load_state_strict, save_checkpoint
from maze_cli.train.evaluator import RolloutEvaluator
from maze_cli.train.interrupts import NonFiniteTrainingError, StopRequest, TrainingInterrupted
from maze_cli.train.selection import ModelSelectionCallback

logger = logging.getLogger("maze_cli")

LAST_CHECKPOINT = "checkpoints/last.pt"


def update_observation_statistics(policy: nn.Module, batch: RolloutBatch) -> None:
    """Feeds the observations of a rollout to the observation normaliser (when there is one).

    Called after the update, so acting on and training with a rollout used the same statistics, and
    here in the trainer's process on the collected batch, so every runner yields the same statistics.
    """
    normalizer = getattr(policy, "observation_normalizer", None)
    if normalizer is not None:
        for observations, mask in batch.observation_groups():
            normalizer.update(observations, mask)


def epoch_update_stats(update_stats: List[Dict[str, float]]) -> Dict[str, float]:
    """One epoch's update statistics: ``losses/...`` averaged over the updates that reported them, anything
    else (a learning rate) at its last value. Updates may report nothing (an off-policy warm-up)."""
    keys = list(dict.fromkeys(key for stats in update_stats for key in stats))
    return {key: float(np.mean([s[key] for s in update_stats if key in s])) if key.startswith("losses/")
            else float([s[key] for s in update_stats if key in s][-1]) for key in keys}


class TrainingLoop:
    """Epochs of ``epoch_length`` updates, each followed by evaluation, model selection, ``last.pt`` and callbacks.

    :param algorithm: the update rule (see :class:`~maze_cli.algorithms.base.Algorithm`).
    :param make_collector: ``(first_epoch) -> Collector``; called at the start of each :meth:`train`
        (so env workers live only while training), closed at its end.
    :param make_evaluator: ``(first_epoch) -> RolloutEvaluator``, made at the start of each :meth:`train` and
        closed at its end like the collector; ``None`` selects on the training return.
    :param callbacks: called after every epoch, in order (loggers, stop rules, user callbacks).
    :param run_dir: where checkpoints go (None: nothing is written).
    :param model_selection: what "best" means (default: the highest evaluation return).
    """

    def __init__(self, algorithm: Algorithm, make_collector: Callable[[int], Collector],
                 make_evaluator: Optional[Callable[[int], RolloutEvaluator]] = None,
                 callbacks: Optional[List[Any]] = None,
                 run_dir: Optional[Path] = None, model_selection: Optional[ModelSelectionCallback] = None):
        self.algorithm = algorithm
        self._statistics_from_rollouts = getattr(algorithm, "observation_statistics_from_rollouts", True)
        self.make_collector = make_collector
        self.make_evaluator = make_evaluator
        self.evaluator: Optional[RolloutEvaluator] = None
        self.callbacks = list(callbacks or [])
        self.run_dir = run_dir
        self.collector: Optional[Collector] = None
        self.epoch = 0
        self.env_steps = 0
        self.target_epoch = 0
        self.model_selection = model_selection or ModelSelectionCallback()
        self._planned_updates = self.config.n_epochs * self.config.epoch_length
        self._stop_reason: Optional[str] = None
        self._signals: Optional[StopRequest] = None

    @property
    def config(self) -> Any:
        return self.algorithm.config

    @property
    def policy(self) -> nn.Module:
        return self.algorithm.policy

    @property
    def critic(self) -> Optional[nn.Module]:
        return self.algorithm.critic

    @property
    def selection(self) -> Any:
        """The best return so far and the epochs since it improved."""
        return self.model_selection.selection

    def models(self) -> Dict[str, nn.Module]:
        return self.algorithm.models()

    def request_stop(self, reason: str) -> None:
        """Ends training after the current epoch (called by callbacks such as stop rules); the first reason counts."""
        if self._stop_reason is None:
            self._stop_reason = reason

    @property
    def finishing(self) -> bool:
        """Whether the epoch just ended is the last of this :meth:`train` call (a stop was requested, or the epochs
        are done): the loop's own condition, for callbacks that act once at the end."""
        return self._stop_reason is not None or self.epoch >= self.target_epoch

    @property
    def stop_reason(self) -> Optional[str]:
        """Why the last :meth:`train` call stopped early (``None``: it trained all its epochs)."""
        return self._stop_reason

    def train(self, n_epochs: Optional[int] = None) -> float:
        """Train ``n_epochs`` more epochs (default: the config's); returns the best selection return (after
        the last epoch a :class:`~maze_cli.train.selection.ReportBest` callback may have made it a held-out report)."""
        n_epochs = self.config.n_epochs if n_epochs is None else n_epochs
        self.target_epoch = self.epoch + n_epochs
        self._planned_updates = max(self.config.n_epochs, self.target_epoch) * self.config.epoch_length
        progress = tqdm(total=n_epochs * self.config.epoch_length, desc="training", unit="update", disable=None,
                        leave=False)
        self._stop_reason = None
        self.model_selection.on_train_start(self)
        call_hook(self.callbacks, "on_train_start", self)
        self.collector = self.make_collector(self.epoch)
        try:
            self.evaluator = self.make_evaluator(self.epoch) if self.make_evaluator is not None else None
            with StopRequest() as self._signals:
                while not self.finishing:
                    self._epoch(progress)
        except TrainingInterrupted as interrupt:
            self.save(LAST_CHECKPOINT)
            logger.warning(f"{interrupt}: saved the model after {self.epoch} complete epochs"
                           + (f" to {self.run_dir / LAST_CHECKPOINT}; resume with input_dir={self.run_dir}"
                              if self.run_dir is not None else ""))
            raise
        except WriteError as err:
            raise WriteError(f"{err}. What was written before is intact (checkpoints, stats.csv); free space and "
                             f"resume with input_dir={self.run_dir}") from err
        except NonFiniteTrainingError as err:
            where = f" {self.run_dir / LAST_CHECKPOINT}" if self.run_dir is not None else ""
            raise NonFiniteTrainingError(f"{err} Stopped at epoch {self.epoch + 1}; the last good checkpoint"
                                         f"{where} is kept.") from None
        finally:
            self.collector.close()
            self.collector = None
            if self.evaluator is not None:
                self.evaluator.close()
                self.evaluator = None
            progress.close()
            call_hook(self.callbacks, "on_train_end", self)
            self.model_selection.on_train_end(self)
        return self.selection.best_return

    def _epoch(self, progress: tqdm) -> None:
        """One epoch: updates, evaluation, selection, ``last.pt``, callbacks."""
        start, steps_before = time.perf_counter(), self.collector.env_steps
        update_stats: List[Dict[str, float]] = []
        for index in range(self.config.epoch_length):
            done = (self.epoch * self.config.epoch_length + index) / self._planned_updates
            batch = self.collector.collect()
            update_stats.append(self.algorithm.update(batch, self.epoch, done))
            if self._statistics_from_rollouts:
                update_observation_statistics(self.policy, batch)
            progress.update(1)
            self._signals.check()
        train_seconds = time.perf_counter() - start
        self.epoch += 1
        env_steps = self.collector.env_steps - steps_before
        self.env_steps += env_steps
        stats: Dict[str, float] = {"epoch": self.epoch, **self.collector.pop_episode_stats()}
        stats.update(epoch_update_stats(update_stats))
        if self.evaluator is not None:
            stats.update(self.evaluator.evaluate(self.policy))
        stats.update({"time/env_steps": self.env_steps, "time/epoch_seconds": time.perf_counter() - start,
                      "time/steps_per_second": env_steps / train_seconds})
        self.model_selection.on_epoch_end(self, stats)
        self.save(LAST_CHECKPOINT)
        call_hook(self.callbacks, "on_epoch_end", self, stats)
        if self._stop_reason is not None:
            logger.info(f"stop: {self._stop_reason}")
        progress.set_postfix(best=f"{self.selection.best_return:.1f}")
        self._signals.check()

    # --- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Models, algorithm state (optimiser), counters and normalisation statistics: everything resume needs."""
        normalizer = getattr(self.policy, "observation_normalizer", None)
        return {
            **{name: module.state_dict() for name, module in self.models().items()},
            **self.algorithm.state_dict(),
            "epoch": self.epoch, "env_steps": self.env_steps,
            "best_return": self.selection.best_return,
            "epochs_without_improvement": self.selection.epochs_without_improvement,
            # also inside the policy and critic state; here on its own for readers of the checkpoint
            "normalization": None if normalizer is None else normalizer.state_dict(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for name, module in self.models().items():
            load_state_strict(module, state[name], name)
        self.algorithm.load_state_dict(state)
        self.epoch = int(state["epoch"])
        self.env_steps = int(state["env_steps"])
        self.selection.best_return = float(state["best_return"])
        self.selection.epochs_without_improvement = int(state["epochs_without_improvement"])

    def save(self, relative: str) -> None:
        """Writes :meth:`state_dict` to ``run_dir / relative`` atomically (nothing without a run dir); with
        ``last.pt`` also the algorithm's side state (e.g. a replay buffer) beside it."""
        if self.run_dir is not None:
            save_checkpoint(self.run_dir / relative, self.state_dict())
            save_side_state = getattr(self.algorithm, "save_side_state", None)
            if relative == LAST_CHECKPOINT and save_side_state is not None:
                save_side_state((self.run_dir / relative).parent)

    def load_side_state(self, checkpoint_dir: Path) -> None:
        """Restores what :meth:`save` wrote beside ``last.pt`` in ``checkpoint_dir`` (for algorithms that have any)."""
        load_side_state = getattr(self.algorithm, "load_side_state", None)
        if load_side_state is not None:
            load_side_state(checkpoint_dir)
