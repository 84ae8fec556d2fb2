"""Model selection: keep the weights of the best epoch (``checkpoints/best.pt`` and in memory)."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional

import torch

BEST_CHECKPOINT = "checkpoints/best.pt"
ModelState = Dict[str, Dict[str, torch.Tensor]]


class BestModelSelection:
    """Remembers the best return and calls ``on_improvement`` when it is beaten.

    :param on_improvement: called with the new best return (e.g. to save ``best.pt``).
    """

    def __init__(self, on_improvement: Optional[Callable[[float], None]] = None):
        self.on_improvement = on_improvement
        self.best_return = -math.inf
        self.epochs_without_improvement = 0

    def update(self, mean_return: float) -> bool:
        """Record one evaluation; True if it is a new best."""
        if not math.isnan(mean_return) and mean_return > self.best_return:
            self.best_return = mean_return
            self.epochs_without_improvement = 0
            if self.on_improvement is not None:
                self.on_improvement(mean_return)
            return True
        self.epochs_without_improvement += 1
        return False


def selection_return(stats: Dict[str, float]) -> float:
    """What selection compares: the evaluation return, or the training return when nothing was evaluated."""
    return stats.get("eval/episode_return_mean", stats.get("train/episode_return_mean", math.nan))


class ModelSelectionCallback:
    """Saves ``best.pt`` on every new best and hands out the best weights after ``train()``.

    A later ``train()`` call continues from the weights where the previous one stopped (the
    optimiser state belongs to those), while between calls the models hold the selected best.
    """

    def __init__(self) -> None:
        self.selection = BestModelSelection()
        self._best: Optional[ModelState] = None
        self._continue: Optional[ModelState] = None

    def on_train_start(self, loop: Any) -> None:
        if self._continue is not None:
            load_models(loop, self._continue)
            self._continue = None

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if self.selection.update(selection_return(stats)):
            self._best = copy_models(loop)
            loop.save(BEST_CHECKPOINT)
        stats["eval/best_return"] = self.selection.best_return

    def on_train_end(self, loop: Any) -> None:
        if self._best is not None:
            self._continue = copy_models(loop)
            load_models(loop, self._best)


def copy_models(loop: Any) -> ModelState:
    return {name: {k: v.clone() for k, v in module.state_dict().items()} for name, module in loop.models().items()}


def load_models(loop: Any, state: ModelState) -> None:
    for name, module in loop.models().items():
        module.load_state_dict(state[name])
