"""Evolution strategies' config: the Hydra schema of ``conf/algorithm/es.yaml`` (torch-free)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from maze_cli.core.errors import POSITIVE_INT, check
from maze_cli.algorithms.config import AlgorithmConfig


@dataclass
class ESAlgorithmConfig(AlgorithmConfig):
    """Hyper-parameters of evolution strategies (OpenAI-style, antithetic, centred ranks, Adam).

    Each update is one generation: ``2 * n_pairs`` members (the policy's weights plus and minus ``sigma``
    times a noise-table slice) play one episode each on the runner's evaluation envs, and the weights take
    an Adam step along the rank-weighted noise. The budget is therefore counted in generations
    (``n_epochs * epoch_length``), not env steps.

    :param n_pairs: antithetic pairs per generation (``2 * n_pairs`` episodes, played side by side).
    :param sigma: standard deviation of the weight perturbations.
    :param lr: Adam step size on the weights.
    :param l2_coef: weight decay added to the ascent direction.
    :param deterministic_actions: members act with the distribution's mode (the usual ES setting) rather
        than sampling.
    :param noise_table_size: entries of the shared Gaussian noise table (float32); must exceed the number
        of weights.
    :param noise_seed: the noise table's seed.
    """

    n_epochs: int = 50
    epoch_length: int = 1
    deterministic_eval: bool = True
    eval_repeats: int = 10
    n_pairs: int = 16
    sigma: float = 0.05
    lr: float = 0.02
    l2_coef: float = 0.005
    deterministic_actions: bool = True
    noise_table_size: int = 4_000_000
    noise_seed: int = 0

    @property
    def steps_per_env_per_update(self) -> Optional[int]:
        return None  # whole episodes of unknown length

    @property
    def population_size(self) -> int:
        return 2 * self.n_pairs

    def validate(self) -> None:
        super().validate()
        p = "algorithm."
        check(POSITIVE_INT(self.n_pairs), p + "n_pairs", self.n_pairs, "an integer >= 1 (antithetic pairs)")
        for name in ("sigma", "lr"):
            value = getattr(self, name)
            check(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0, p + name, value,
                  "a number > 0")
        check(isinstance(self.l2_coef, (int, float)) and self.l2_coef >= 0, p + "l2_coef", self.l2_coef,
              "a number >= 0")
        check(POSITIVE_INT(self.noise_table_size), p + "noise_table_size", self.noise_table_size,
              "an integer >= 1 (more than the policy's weights)")
        check(isinstance(self.noise_seed, int) and not isinstance(self.noise_seed, bool), p + "noise_seed",
              self.noise_seed, "an integer")
