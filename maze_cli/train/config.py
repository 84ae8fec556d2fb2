"""Algorithm configs: plain dataclasses that are also the Hydra schema of ``conf/algorithm/*.yaml``."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Dict, Optional


class ConfigError(ValueError):
    """A config value is out of range or of the wrong kind; the message names key, value and what is allowed."""


def check(cond: bool, key: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: expected {allowed}")


LR_SCHEDULES = ("constant", "linear")

POSITIVE_INT: Callable[[Any], bool] = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1


@dataclass
class A2CAlgorithmConfig:
    """Hyper-parameters of A2C (synchronous advantage actor-critic).

    :param n_epochs: training epochs (each: ``epoch_length`` updates, then an evaluation).
    :param epoch_length: updates per epoch.
    :param deterministic_eval: evaluate with the distribution's mode instead of samples.
    :param eval_repeats: evaluation episodes per epoch (0 disables evaluation and model selection).
    :param patience: stop after this many epochs without a better evaluation return.
    :param critic_burn_in_epochs: epochs at the start in which only the critic is trained.
    :param n_rollout_steps: steps of every env per update.
    :param lr: Adam learning rate.
    :param gamma: discount factor.
    :param gae_lambda: GAE(lambda) bias-variance trade-off (1.0 = Monte-Carlo advantages).
    :param policy_loss_coef: weight of the policy-gradient loss.
    :param value_loss_coef: weight of the value (critic) loss.
    :param entropy_coef: weight of the entropy bonus.
    :param max_grad_norm: clip the global gradient norm to this value; 0 disables clipping.
    :param device: torch device; only ``'cpu'`` is supported (small nets gain nothing from a GPU).
    :param lr_schedule: ``'constant'``, or ``'linear'``: decay from ``lr`` towards 0 over the planned
        updates (``n_epochs * epoch_length``, or more when ``train(n_epochs)`` asks for more).
    :param stop_at_return: stop training once the selection return (evaluation, or training when
        ``eval_repeats=0``) reaches this value; ``None`` trains all epochs.
    """

    n_epochs: int = 5
    epoch_length: int = 25
    deterministic_eval: bool = False
    eval_repeats: int = 2
    patience: int = 15
    critic_burn_in_epochs: int = 0
    n_rollout_steps: int = 100
    lr: float = 0.0005
    gamma: float = 0.98
    gae_lambda: float = 1.0
    policy_loss_coef: float = 1.0
    value_loss_coef: float = 0.5
    entropy_coef: float = 0.00025
    max_grad_norm: float = 0.0
    device: str = "cpu"
    lr_schedule: str = "constant"
    stop_at_return: Optional[float] = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Range checks that a type schema cannot express; raises :class:`ConfigError`."""
        p = "algorithm."
        for name in ("n_epochs", "epoch_length", "n_rollout_steps"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        for name in ("eval_repeats", "critic_burn_in_epochs"):
            value = getattr(self, name)
            check(isinstance(value, int) and value >= 0, p + name, value, "an integer >= 0")
        check(POSITIVE_INT(self.patience), p + "patience", self.patience, "an integer >= 1")
        check(self.lr > 0, p + "lr", self.lr, "a learning rate > 0")
        check(0 < self.gamma <= 1, p + "gamma", self.gamma, "a discount in (0, 1]")
        check(0 <= self.gae_lambda <= 1, p + "gae_lambda", self.gae_lambda, "a value in [0, 1]")
        for name in ("policy_loss_coef", "value_loss_coef", "entropy_coef", "max_grad_norm"):
            check(getattr(self, name) >= 0, p + name, getattr(self, name), "a value >= 0")
        check(self.device == "cpu", p + "device", self.device, "'cpu' (maze_cli trains on the CPU)")
        check(self.lr_schedule in LR_SCHEDULES, p + "lr_schedule", self.lr_schedule, f"one of {LR_SCHEDULES}")
        check(self.stop_at_return is None or isinstance(self.stop_at_return, (int, float)), p + "stop_at_return",
              self.stop_at_return, "a number or null")

    def learning_rate(self, progress: float) -> float:
        """The learning rate once ``progress`` (in [0, 1]) of the planned updates are done."""
        if self.lr_schedule == "linear":
            return self.lr * (1.0 - min(max(progress, 0.0), 1.0))
        return self.lr

    def to_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class PPOAlgorithmConfig(A2CAlgorithmConfig):
    """Hyper-parameters of PPO (proximal policy optimisation with a clipped surrogate objective).

    All of :class:`A2CAlgorithmConfig`'s fields (some with PPO-typical defaults), plus:

    :param n_optimization_epochs: passes over each rollout.
    :param batch_size: transitions per minibatch (a rollout has ``n_rollout_steps * n_envs``).
    :param clip_range: the policy ratio is clipped to ``[1 - clip_range, 1 + clip_range]``.
    :param clip_range_vf: clip the value prediction to this distance from the rollout's value
        (the pessimistic maximum of clipped and unclipped losses is used); ``None`` disables it.
    :param target_kl: stop the update's remaining minibatches once the approximate KL divergence
        between the rollout policy and the current one exceeds this; ``None`` disables it.
    """

    n_rollout_steps: int = 256
    epoch_length: int = 10
    lr: float = 0.0003
    gamma: float = 0.99
    gae_lambda: float = 0.95
    entropy_coef: float = 0.0
    max_grad_norm: float = 0.5
    n_optimization_epochs: int = 10
    batch_size: int = 64
    clip_range: float = 0.2
    clip_range_vf: Optional[float] = None
    target_kl: Optional[float] = None

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        for name in ("n_optimization_epochs", "batch_size"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        check(0 < self.clip_range < 1, p + "clip_range", self.clip_range, "a value in (0, 1)")
        check(self.clip_range_vf is None or self.clip_range_vf > 0, p + "clip_range_vf", self.clip_range_vf,
              "a value > 0 or null (no value clipping)")
        check(self.target_kl is None or self.target_kl > 0, p + "target_kl", self.target_kl,
              "a value > 0 or null (no early stop)")
