"""Behavioural cloning's config: the Hydra schema of ``conf/algorithm/bc.yaml`` (torch-free)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.algorithms.config import AlgorithmConfig


@dataclass
class BCAlgorithmConfig(AlgorithmConfig):
    """Hyper-parameters of behavioural cloning: supervised training of the policy on recorded decisions.

    The loss is the negative log-likelihood of the recorded actions under the policy's distributions, so
    every action space the distribution mapper handles works. Each update takes ``gradient_steps``
    minibatch steps; an epoch ends with the usual evaluation in the env, which feeds model selection.

    :param dataset: a dataset directory (holding ``manifest.json``, written by ``maze-run -cn rollout ...
        record=true``) or a list of them.
    :param validation_split: share of the episodes held out to report ``losses/bc_validation_nll`` (0: none).
    :param batch_size: decisions per minibatch.
    :param gradient_steps: minibatch steps per update.
    :param lr: Adam learning rate.
    :param max_grad_norm: clip the gradient norm to this value; 0 disables clipping.
    """

    n_epochs: int = 10
    epoch_length: int = 100
    deterministic_eval: bool = True
    eval_repeats: int = 5
    dataset: Any = None
    validation_split: float = 0.1
    batch_size: int = 256
    gradient_steps: int = 1
    lr: float = 0.001
    max_grad_norm: float = 0.0

    @property
    def steps_per_env_per_update(self) -> int:
        return 1  # the loop's token env step per update (BC learns from its dataset)

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        paths = [self.dataset] if isinstance(self.dataset, str) else self.dataset
        check(isinstance(paths, (list, tuple)) and len(paths) > 0 and all(isinstance(d, str) and d for d in paths),
              p + "dataset", self.dataset, "a dataset directory (with manifest.json) or a list of them, e.g. "
              "algorithm.dataset=outputs/rollout/<time>/trajectories")
        check(isinstance(self.validation_split, (int, float)) and 0 <= self.validation_split < 1,
              p + "validation_split", self.validation_split, "a share of the episodes in [0, 1)")
        for name in ("batch_size", "gradient_steps"):
            check(POSITIVE_INT(getattr(self, name)), p + name, getattr(self, name), "an integer >= 1")
        check(self.lr > 0, p + "lr", self.lr, "a learning rate > 0")
        check(self.max_grad_norm >= 0, p + "max_grad_norm", self.max_grad_norm, "a value >= 0")
