"""SAC's config: the Hydra schema of ``conf/algorithm/sac.yaml`` (torch-free, like :mod:`maze_cli.algorithms.config`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.algorithms.config import AlgorithmConfig


@dataclass
class SACAlgorithmConfig(AlgorithmConfig):
    """Hyper-parameters of SAC (soft actor-critic, Haarnoja et al. 2018; discrete-action form by Christodoulou 2019).

    An update collects ``train_freq`` steps of every env into the replay buffer, then takes
    ``gradient_steps`` gradient steps on minibatches drawn from it (none before ``learning_starts``).

    :param train_freq: env steps per env between updates.
    :param gradient_steps: gradient steps per update.
    :param batch_size: transitions per minibatch.
    :param buffer_size: transitions the replay buffer keeps.
    :param learning_starts: env steps (over all envs) collected before the first gradient step.
    :param gamma: discount factor.
    :param tau: Polyak coefficient of the target Q networks (1 = copy).
    :param lr: actor learning rate.
    :param critic_lr: Q networks' learning rate (``None``: ``lr``).
    :param alpha_lr: entropy coefficient's learning rate (``None``: ``lr``).
    :param alpha: a fixed entropy coefficient, or ``None`` to tune it towards ``target_entropy``.
    :param init_alpha: the tuned coefficient's initial value.
    :param target_entropy: ``"auto"`` (``-dim(A)`` for Box heads, ``target_entropy_scale * log(n)`` for a
        Discrete head) or a number.
    :param target_entropy_scale: the share of the maximum entropy ``log(n)`` a Discrete head aims at.
    :param max_grad_norm: clip each network's gradient norm to this value; 0 disables clipping.
    :param save_replay: save the replay buffer as ``checkpoints/replay.pt`` with every ``last.pt``, so a
        resumed run continues with the same buffer (turn off for buffers too large to write each epoch).
    :param exploration_noise_beta: Box heads act with colored noise whose power falls as ``1 / f ** beta``
        (0: the usual independent draws; 1: pink noise, correlated over many steps; see
        :mod:`maze_cli.distributions.colored_noise`). Acting only: the updates are unchanged.
    :param exploration_noise_length: steps per block of colored noise: its slowest correlations span about this
        many steps (the env's episode length is a good value).
    """

    n_epochs: int = 20
    epoch_length: int = 1000
    deterministic_eval: bool = True
    eval_repeats: int = 5
    train_freq: int = 1
    gradient_steps: int = 1
    batch_size: int = 256
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    gamma: float = 0.99
    tau: float = 0.005
    lr: float = 0.0003
    critic_lr: Optional[float] = None
    alpha_lr: Optional[float] = None
    alpha: Optional[float] = None
    init_alpha: float = 1.0
    target_entropy: Any = "auto"
    target_entropy_scale: float = 0.5
    max_grad_norm: float = 0.0
    save_replay: bool = True
    exploration_noise_beta: float = 0.0
    exploration_noise_length: int = 1000

    @property
    def steps_per_env_per_update(self) -> int:
        return self.train_freq

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        for name in ("train_freq", "gradient_steps", "batch_size", "buffer_size"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        check(isinstance(self.learning_starts, int) and self.learning_starts >= 0, p + "learning_starts",
              self.learning_starts, "an integer >= 0")
        check(0 < self.gamma <= 1, p + "gamma", self.gamma, "a discount in (0, 1]")
        check(0 < self.tau <= 1, p + "tau", self.tau, "a value in (0, 1]")
        for name in ("lr", "critic_lr", "alpha_lr"):
            value = getattr(self, name)
            check(value is None and name != "lr" or isinstance(value, (int, float)) and value > 0, p + name, value,
                  "a learning rate > 0" + ("" if name == "lr" else " or null (use algorithm.lr)"))
        check(self.alpha is None or self.alpha >= 0, p + "alpha", self.alpha,
              "a fixed entropy coefficient >= 0, or null to tune it")
        check(self.init_alpha > 0, p + "init_alpha", self.init_alpha, "a value > 0")
        check(self.target_entropy == "auto" or (isinstance(self.target_entropy, (int, float))
                                                and not isinstance(self.target_entropy, bool)),
              p + "target_entropy", self.target_entropy, "'auto' or a number")
        check(0 < self.target_entropy_scale <= 1, p + "target_entropy_scale", self.target_entropy_scale,
              "a value in (0, 1]")
        check(self.max_grad_norm >= 0, p + "max_grad_norm", self.max_grad_norm, "a value >= 0")
        check(isinstance(self.exploration_noise_beta, (int, float)) and self.exploration_noise_beta >= 0,
              p + "exploration_noise_beta", self.exploration_noise_beta, "a value >= 0 (0 white, 1 pink, 2 red)")
        check(isinstance(self.exploration_noise_length, int) and self.exploration_noise_length >= 2,
              p + "exploration_noise_length", self.exploration_noise_length, "an integer >= 2")
