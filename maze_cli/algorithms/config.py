"""Algorithm configs: plain dataclasses that are also the Hydra schema of ``conf/algorithm/*.yaml``.

:class:`AlgorithmConfig` holds what the training loop needs of every algorithm; the on-policy
actor-critic settings live in :class:`OnPolicyAlgorithmConfig`, shared by A2C, PPO and IMPALA. SAC, behavioural
cloning and ES have their own modules (``sac_config``, ``bc_config``, ``es_config``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from maze_cli.core.device import DEVICE_PATTERN
from maze_cli.core.errors import POSITIVE_INT, check

SCHEDULES = ("constant", "linear")  # what scheduled() takes: lr_schedule, clip_range_schedule


def scheduled(value: float, schedule: str, progress: float) -> float:
    """``value`` once ``progress`` (in [0, 1]) of the planned updates are done: as is (``'constant'``),
    or decayed linearly towards 0 (``'linear'``)."""
    if schedule == "linear":
        return value * (1.0 - min(max(progress, 0.0), 1.0))
    return value


@dataclass
class AlgorithmConfig:
    """What the training loop needs of any algorithm.

    :param n_epochs: training epochs (each: ``epoch_length`` updates, then an evaluation).
    :param epoch_length: updates per epoch.
    :param deterministic_eval: evaluate with the distribution's mode instead of samples.
    :param eval_repeats: evaluation episodes per epoch (0 disables evaluation and model selection).
    :param patience: stop after this many epochs without a better evaluation return.
    :param device: torch device of the networks and updates: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or
        ``auto`` (a GPU when there is one).
    :param stop_at_return: stop training once the selection return (evaluation, or training when
        ``eval_repeats=0``) reaches this value and ``confirm_episodes`` fresh episodes confirm it;
        ``"auto"`` uses the env's ``spec.reward_threshold`` (475 for CartPole-v1); ``None`` trains all epochs.
    :param confirm_episodes: evaluation episodes that must confirm ``stop_at_return`` before training stops
        (one lucky short evaluation is not "solved"); 0 stops on the epoch's evaluation alone.
    """

    n_epochs: int = 5
    epoch_length: int = 25
    deterministic_eval: bool = False
    eval_repeats: int = 2
    patience: int = 15
    device: str = "cpu"
    stop_at_return: Any = None
    confirm_episodes: int = 20

    def __post_init__(self) -> None:
        self.validate()

    @property
    def steps_per_env_per_update(self) -> Optional[int]:
        """Env steps (decisions, for structured envs) each env takes per update; the loop's unit of budget
        (``None``: each update plays whole episodes, see :class:`ESAlgorithmConfig`)."""
        raise NotImplementedError

    def validate(self) -> None:
        """Range checks that a type schema cannot express; raises :class:`ConfigError`."""
        p = "algorithm."
        for name in ("n_epochs", "epoch_length"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        check(isinstance(self.eval_repeats, int) and self.eval_repeats >= 0, p + "eval_repeats", self.eval_repeats,
              "an integer >= 0")
        check(POSITIVE_INT(self.patience), p + "patience", self.patience, "an integer >= 1")
        check(isinstance(self.device, str) and bool(DEVICE_PATTERN.match(self.device)), p + "device", self.device,
              "one of 'cpu', 'cuda', 'cuda:N', 'mps', 'auto'")
        check(self.stop_at_return in (None, "auto") or (isinstance(self.stop_at_return, (int, float))
                                                          and not isinstance(self.stop_at_return, bool)),
              p + "stop_at_return", self.stop_at_return, "a number, 'auto' (the env's reward threshold) or null")
        check(isinstance(self.confirm_episodes, int) and self.confirm_episodes >= 0, p + "confirm_episodes",
              self.confirm_episodes, "an integer >= 0")


@dataclass
class OnPolicyAlgorithmConfig(AlgorithmConfig):
    """Settings of on-policy actor-critic algorithms: rollouts, returns, losses and the optimiser.

    :param critic_burn_in_epochs: epochs at the start in which only the critic is trained.
    :param n_rollout_steps: steps of every env per update.
    :param lr: Adam learning rate.
    :param gamma: discount factor.
    :param gae_lambda: GAE(lambda) bias-variance trade-off (1.0 = Monte-Carlo advantages).
    :param policy_loss_coef: weight of the policy-gradient loss.
    :param value_loss_coef: weight of the value (critic) loss.
    :param entropy_coef: weight of the entropy bonus.
    :param max_grad_norm: clip the global gradient norm to this value; 0 disables clipping.
    :param lr_schedule: ``'constant'``, or ``'linear'``: decay from ``lr`` towards 0 over the planned
        updates (``n_epochs * epoch_length``, or more when ``train(n_epochs)`` asks for more).
    :param normalize_advantages: standardise each actor's advantages per rollout.
    :param normalize_rewards: divide rewards by the running standard deviation of the discounted return
        (:mod:`maze_cli.algorithms.reward_scaling`), so value targets stay near unit scale.
    """

    critic_burn_in_epochs: int = 0
    n_rollout_steps: int = 100
    lr: float = 0.0005
    gamma: float = 0.98
    gae_lambda: float = 1.0
    policy_loss_coef: float = 1.0
    value_loss_coef: float = 0.5
    entropy_coef: float = 0.00025
    max_grad_norm: float = 0.0
    lr_schedule: str = "constant"
    normalize_advantages: bool = True
    normalize_rewards: bool = False

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        check(POSITIVE_INT(self.n_rollout_steps), p + "n_rollout_steps", self.n_rollout_steps, "an integer >= 1")
        check(isinstance(self.critic_burn_in_epochs, int) and self.critic_burn_in_epochs >= 0,
              p + "critic_burn_in_epochs", self.critic_burn_in_epochs, "an integer >= 0")
        check(self.lr > 0, p + "lr", self.lr, "a learning rate > 0")
        check(0 < self.gamma <= 1, p + "gamma", self.gamma, "a discount in (0, 1]")
        check(0 <= self.gae_lambda <= 1, p + "gae_lambda", self.gae_lambda, "a value in [0, 1]")
        for name in ("policy_loss_coef", "value_loss_coef", "entropy_coef", "max_grad_norm"):
            check(getattr(self, name) >= 0, p + name, getattr(self, name), "a value >= 0")
        check(self.lr_schedule in SCHEDULES, p + "lr_schedule", self.lr_schedule, f"one of {SCHEDULES}")

    @property
    def steps_per_env_per_update(self) -> int:
        return self.n_rollout_steps

    def learning_rate(self, progress: float) -> float:
        """The learning rate once ``progress`` (in [0, 1]) of the planned updates are done."""
        return scheduled(self.lr, self.lr_schedule, progress)


@dataclass
class A2CAlgorithmConfig(OnPolicyAlgorithmConfig):
    """Hyper-parameters of A2C (synchronous advantage actor-critic); the defaults are the Maze tutorial's."""


@dataclass
class PPOAlgorithmConfig(OnPolicyAlgorithmConfig):
    """Hyper-parameters of PPO (proximal policy optimisation with a clipped surrogate objective).

    All of :class:`OnPolicyAlgorithmConfig`'s fields (some with PPO-typical defaults), plus:

    :param n_optimization_epochs: passes over each rollout.
    :param batch_size: transitions per minibatch (a rollout has ``n_rollout_steps * n_envs``).
    :param clip_range: the policy ratio is clipped to ``[1 - clip_range, 1 + clip_range]``.
    :param clip_range_schedule: ``'constant'``, or ``'linear'``: decay ``clip_range`` towards 0 over the
        planned updates, as ``lr_schedule`` does the learning rate, so late updates move the policy less.
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
    clip_range_schedule: str = "constant"
    clip_range_vf: Optional[float] = None
    target_kl: Optional[float] = None

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        for name in ("n_optimization_epochs", "batch_size"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        check(0 < self.clip_range < 1, p + "clip_range", self.clip_range, "a value in (0, 1)")
        check(self.clip_range_schedule in SCHEDULES, p + "clip_range_schedule", self.clip_range_schedule,
              f"one of {SCHEDULES}")
        check(self.clip_range_vf is None or self.clip_range_vf > 0, p + "clip_range_vf", self.clip_range_vf,
              "a value > 0 or null (no value clipping)")
        check(self.target_kl is None or self.target_kl > 0, p + "target_kl", self.target_kl,
              "a value > 0 or null (no early stop)")

    def clip_at(self, progress: float) -> float:
        """The policy-ratio clip range once ``progress`` (in [0, 1]) of the planned updates are done."""
        return scheduled(self.clip_range, self.clip_range_schedule, progress)


@dataclass
class IMPALAAlgorithmConfig(OnPolicyAlgorithmConfig):
    """Hyper-parameters of IMPALA (importance-weighted actor-learner, Espeholt et al. 2018).

    Actors act on the runner's workers with the weights they last received while the learner updates;
    each update takes ``n_rollout_steps`` steps of as many envs as the runner has (``runner.n_envs``),
    from whichever workers deliver first, and corrects for the policy lag with V-trace
    (:mod:`maze_cli.algorithms.vtrace`). ``gae_lambda`` is V-trace's ``lambda``. All of
    :class:`OnPolicyAlgorithmConfig`'s fields, plus:

    :param rho_bar: clip of the importance weights in the value targets (the fixed point's bias).
    :param c_bar: clip of the trace-cutting weights (the speed of the traces).
    :param pg_rho_bar: clip of the importance weights in the policy gradient.
    :param broadcast_interval: the learner publishes its weights to the actors every this many updates.
    :param queue_size: rollouts that may wait for the learner; a full queue holds the actors back, which
        bounds the policy lag (``None``: one per worker).
    """

    n_rollout_steps: int = 32
    lr: float = 0.0005
    gamma: float = 0.99
    entropy_coef: float = 0.01
    max_grad_norm: float = 40.0
    normalize_advantages: bool = False
    rho_bar: float = 1.0
    c_bar: float = 1.0
    pg_rho_bar: float = 1.0
    broadcast_interval: int = 1
    queue_size: Optional[int] = None

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        for name in ("rho_bar", "c_bar", "pg_rho_bar"):
            value = getattr(self, name)
            check(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0, p + name, value,
                  "a clip > 0 (1.0 is the paper's)")
        check(POSITIVE_INT(self.broadcast_interval), p + "broadcast_interval", self.broadcast_interval,
              "an integer >= 1 (updates between weight broadcasts)")
        check(self.queue_size is None or POSITIVE_INT(self.queue_size), p + "queue_size", self.queue_size,
              "an integer >= 1, or null (one rollout per worker)")
