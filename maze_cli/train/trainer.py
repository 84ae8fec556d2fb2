"""The on-policy epoch loop shared by all algorithms: rollout -> advantages -> update -> evaluate -> select."""
from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

from maze_cli.models.critic import TorchStateCritic
from maze_cli.models.policy import TorchPolicy
from maze_cli.train.callbacks import call_hook
from maze_cli.train.checkpoint import load_state_strict, save_checkpoint
from maze_cli.train.config import A2CAlgorithmConfig
from maze_cli.train.evaluator import BestModelSelection, RolloutEvaluator
from maze_cli.train.interrupts import NonFiniteTrainingError, StopRequest, TrainingInterrupted
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.run_logger import RunLogger
from maze_cli.train.samples import TrainingSamples, actor_samples

logger = logging.getLogger("maze_cli")

BEST_CHECKPOINT = "checkpoints/best.pt"
LAST_CHECKPOINT = "checkpoints/last.pt"

Batch = RolloutBatch


def prepare_samples(batch: Batch, gamma: float, gae_lambda: float) -> List[TrainingSamples]:
    """Advantages and returns of a rollout, as one :class:`TrainingSamples` per actor (sub-step/agent).

    Losses route each entry to its actor's own network; an ordinary env has the single actor
    ``(0, 0)``. Every batch type computes its own returns (see ``training_samples``).
    """
    return actor_samples(batch, gamma, gae_lambda)


class Collector(Protocol):
    """What a trainer needs from a runner's rollout machinery (see ``maze_cli.runners``)."""

    env_steps: int

    def collect(self) -> Batch:
        """The next rollout, acted with the current policy weights."""

    def pop_episode_stats(self) -> Dict[str, float]:
        """``train/...`` statistics of the episodes finished since the last call."""

    def close(self) -> None:
        """Release envs and workers."""


class OnPolicyTrainer(ABC):
    """Epoch loop of on-policy actor-critic algorithms; subclasses define only :meth:`update`.

    :param config: the algorithm's hyper-parameters.
    :param policy: the policy to train.
    :param critic: its value function.
    :param make_collector: ``(first_epoch) -> Collector``; called at the start of each :meth:`train`
        (so env workers live only while training), closed at its end.
    :param evaluator: evaluation per epoch feeding model selection (None: select on train return).
    :param run_dir: where checkpoints and stats go (None: nothing is written).
    :param max_nonfinite_updates: stop after this many updates in a row with a non-finite loss or
        gradient (each of them is skipped, not applied).
    """

    def __init__(self, config: A2CAlgorithmConfig, policy: TorchPolicy, critic: TorchStateCritic,
                 make_collector: Callable[[int], Collector], evaluator: Optional[RolloutEvaluator] = None,
                 run_dir: Optional[Path] = None,
                 max_nonfinite_updates: int = 10, callbacks: Optional[List[Any]] = None):
        self.config = config
        self.policy = policy
        self.critic = critic
        self.make_collector = make_collector
        self.collector: Optional[Collector] = None
        self.evaluator = evaluator
        self.run_dir = run_dir
        # fused: one kernel for all parameters instead of a Python loop of small ops per tensor.
        self.optimizer = torch.optim.Adam(list(policy.parameters()) + list(critic.parameters()), lr=config.lr,
                                          fused=True)
        self.epoch = 0
        self.env_steps = 0
        self._planned_epochs = config.n_epochs
        self.model_selection = BestModelSelection(on_improvement=self._save_best)
        self._best_state: Optional[Dict[str, Any]] = None
        self._continue_state: Optional[Dict[str, Any]] = None
        self.run_logger = RunLogger(run_dir)
        self.max_nonfinite_updates = max_nonfinite_updates
        self.nonfinite_in_a_row = 0
        self._stop: Optional[StopRequest] = None
        self.callbacks: List[Any] = list(callbacks or [])
        self._stop_reason: Optional[str] = None

    def request_stop(self, reason: str) -> None:
        """Ends training after the current epoch (called by callbacks such as stop rules)."""
        self._stop_reason = reason

    @abstractmethod
    def update(self, batch: Batch, train_policy: bool) -> Dict[str, float]:
        """Apply the algorithm's update to one rollout; returns ``losses/...`` statistics."""

    def loss_terms(self, samples: TrainingSamples, idx: Optional[torch.Tensor] = None):
        """Log-probs, entropy and values of (a minibatch of) samples under the current weights."""
        def select(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
            return tensors if idx is None else {k: v[idx] for k, v in tensors.items()}
        obs = select(samples.observations)
        dist = self.policy.distribution(obs, samples.actor_id)
        critic_obs = obs if samples.critic_observations is None else select(samples.critic_observations)
        return (dist.log_prob(select(samples.actions)), dist.entropy(),
                self.critic.predict_value(critic_obs, samples.actor_id[0]))

    def combine_losses(self, policy_terms: List[torch.Tensor], value_terms: List[torch.Tensor],
                       entropies: List[torch.Tensor], train_policy: bool) -> Tuple[torch.Tensor, Dict[str, float]]:
        """The weighted loss from per-sample terms of all actors, and its ``losses/...`` statistics.

        Policy and entropy terms are left out while the critic burns in (``train_policy`` false).
        """
        cfg = self.config
        policy_loss = torch.cat(policy_terms).mean()
        value_loss = torch.cat(value_terms).mean()
        entropy = torch.cat(entropies).mean()
        loss = cfg.value_loss_coef * value_loss
        if train_policy:
            loss = loss + cfg.policy_loss_coef * policy_loss - cfg.entropy_coef * entropy
        return loss, {"losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
                      "losses/entropy": entropy.item()}

    def apply_gradients(self, loss: torch.Tensor) -> float:
        """Backward, optional global-norm clipping, optimizer step; returns the gradient norm.

        A non-finite loss or gradient is not applied (NaN is returned); after
        ``max_nonfinite_updates`` of them in a row training stops with a clear error.
        """
        self.optimizer.zero_grad(set_to_none=True)
        if torch.isfinite(loss):
            loss.backward()
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            max_norm = self.config.max_grad_norm if self.config.max_grad_norm > 0 else float("inf")
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            if torch.isfinite(grad_norm):
                self.optimizer.step()
                self.nonfinite_in_a_row = 0
                return float(grad_norm)
            self.optimizer.zero_grad(set_to_none=True)
        self.nonfinite_in_a_row += 1
        logger.warning(f"skipped an update with a non-finite loss or gradient (loss {loss.item()}, "
                       f"{self.nonfinite_in_a_row} in a row)")
        if self.nonfinite_in_a_row >= self.max_nonfinite_updates:
            where = f" {self.run_dir / LAST_CHECKPOINT}" if self.run_dir is not None else ""
            raise NonFiniteTrainingError(
                f"{self.nonfinite_in_a_row} updates in a row had a non-finite loss or gradient; stopped at epoch "
                f"{self.epoch + 1}. The last good checkpoint{where} is kept. Check the env's rewards and "
                f"observations for NaN/inf, lower algorithm.lr or set algorithm.max_grad_norm")
        return float("nan")

    def _set_learning_rate(self, update_index: int) -> float:
        """Applies the config's learning-rate schedule before update number ``update_index`` of the run."""
        progress = update_index / (self._planned_epochs * self.config.epoch_length)
        learning_rate = self.config.learning_rate(progress)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        return learning_rate

    def _update_observation_statistics(self, batch: RolloutBatch) -> None:
        """After the update, so that acting on and training with a rollout used the same statistics.

        Done here in the trainer's process on the collected batch, so every runner yields the same statistics.
        """
        normalizer = self.policy.observation_normalizer
        if normalizer is not None:
            for observations, mask in batch.observation_groups():
                normalizer.update(observations, mask)

    # --- epoch loop -------------------------------------------------------------------------

    def train(self, n_epochs: Optional[int] = None) -> float:
        """Train ``n_epochs`` more epochs (default: the config's); returns the best selection return."""
        n_epochs = self.config.n_epochs if n_epochs is None else n_epochs
        target_epoch = self.epoch + n_epochs
        self._planned_epochs = max(self.config.n_epochs, target_epoch)
        self.run_logger.n_epochs = target_epoch
        updates = n_epochs * self.config.epoch_length
        progress = tqdm(total=updates, desc="training", unit="update", disable=None, leave=False)
        if self._continue_state is not None:
            self._load_model_state(self._continue_state)
            self._continue_state = None
        self.collector = self.make_collector(self.epoch)
        self._stop_reason = None
        call_hook(self.callbacks, "on_train_start", self)
        try:
            with StopRequest() as self._stop:
                while self.epoch < target_epoch:
                    stats = self._train_epoch(progress)
                    call_hook(self.callbacks, "on_epoch_end", self, stats)
                    self.run_logger.log_epoch(stats)
                    self._save(LAST_CHECKPOINT)
                    self._stop.check()
                    if self.model_selection.epochs_without_improvement >= self.config.patience:
                        logger.info(f"early stop: no better return for {self.config.patience} epochs")
                        break
                    if self.config.stop_at_return is not None \
                            and self.model_selection.best_return >= self.config.stop_at_return:
                        logger.info(f"stop: return {self.model_selection.best_return:.2f} reached "
                                    f"stop_at_return={self.config.stop_at_return}")
                        break
                    if self._stop_reason is not None:
                        logger.info(f"stop: {self._stop_reason}")
                        break
        except TrainingInterrupted as interrupt:
            self._save(LAST_CHECKPOINT)
            logger.warning(f"{interrupt}: saved the model after {self.epoch} complete epochs"
                           + (f" to {self.run_dir / LAST_CHECKPOINT}; resume with input_dir={self.run_dir}"
                              if self.run_dir is not None else ""))
            raise
        finally:
            call_hook(self.callbacks, "on_train_end", self)
            self.collector.close()
            self.collector = None
            progress.close()
            self.run_logger.close()
        if self._best_state is not None:
            # Hand out the selected model, but continue a later train() call from where this one stopped.
            self._continue_state = self._model_state()
            self._load_model_state(self._best_state)
        return self.model_selection.best_return

    def _train_epoch(self, progress: tqdm) -> Dict[str, float]:
        start = time.perf_counter()
        steps_before = self.collector.env_steps
        train_policy = self.epoch >= self.config.critic_burn_in_epochs
        losses: List[Dict[str, float]] = []
        for index in range(self.config.epoch_length):
            learning_rate = self._set_learning_rate(self.epoch * self.config.epoch_length + index)
            batch = self.collector.collect()
            losses.append(self.update(batch, train_policy))
            self._update_observation_statistics(batch)
            progress.update(1)
            self._stop.check()
        train_seconds = time.perf_counter() - start
        self.epoch += 1
        stats: Dict[str, float] = {"epoch": self.epoch}
        stats.update(self.collector.pop_episode_stats())
        stats.update({key: float(np.mean([l[key] for l in losses])) for key in losses[0]})
        if self.evaluator is not None:
            stats.update(self.evaluator.evaluate(self.policy))
            selection_return = stats["eval/episode_return_mean"]
        else:
            selection_return = stats["train/episode_return_mean"]
        self.model_selection.update(selection_return)
        env_steps = self.collector.env_steps - steps_before
        self.env_steps += env_steps
        stats.update({
            "eval/best_return": self.model_selection.best_return,
            "train/learning_rate": learning_rate,
            "time/env_steps": self.env_steps,
            "time/epoch_seconds": time.perf_counter() - start,
            "time/steps_per_second": env_steps / train_seconds,
        })
        progress.set_postfix(ret=f"{selection_return:.1f}", best=f"{self.model_selection.best_return:.1f}")
        return stats

    # --- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Model, optimizer, counters and env-normalisation statistics: everything resume needs."""
        return {
            "policy": self.policy.state_dict(), "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
            "env_steps": self.env_steps,
            "best_return": self.model_selection.best_return,
            "epochs_without_improvement": self.model_selection.epochs_without_improvement,
            # also inside the policy and critic state; here on its own for readers of the checkpoint
            "normalization": None if self.policy.observation_normalizer is None
            else self.policy.observation_normalizer.state_dict(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        load_state_strict(self.policy, state["policy"], "policy")
        load_state_strict(self.critic, state["critic"], "critic")
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.env_steps = int(state["env_steps"])
        self.model_selection.best_return = float(state["best_return"])
        self.model_selection.epochs_without_improvement = int(state["epochs_without_improvement"])

    def _save(self, relative: str) -> None:
        if self.run_dir is not None:
            save_checkpoint(self.run_dir / relative, self.state_dict())

    def _model_state(self) -> Dict[str, Dict[str, torch.Tensor]]:
        return {"policy": {k: v.clone() for k, v in self.policy.state_dict().items()},
                "critic": {k: v.clone() for k, v in self.critic.state_dict().items()}}

    def _load_model_state(self, state: Dict[str, Dict[str, torch.Tensor]]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])

    def _save_best(self, best_return: float) -> None:
        self._best_state = self._model_state()
        self._save(BEST_CHECKPOINT)
