"""Stop rules: callbacks that end training early (patience, a return threshold)."""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, Tuple

from maze_cli.train.selection import selection_return

logger = logging.getLogger("maze_cli")


class EarlyStopping:
    """Stops after ``patience`` epochs without a better selection return.

    :param patience: epochs without improvement to tolerate.
    """

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if loop.selection.epochs_without_improvement >= self.patience:
            loop.request_stop(f"early stop: no better return for {self.patience} epochs")


class StopAtReturn:
    """Stops once an epoch's return reaches ``threshold`` and ``confirm_episodes`` fresh episodes confirm it.

    A short evaluation can be lucky; confirming on more episodes (with seeds no evaluation used) keeps a
    run from stopping on noise. Without an evaluator (``eval_repeats=0``) the training return decides.

    :param threshold: the return that counts as solved.
    :param confirm_episodes: episodes of the confirming evaluation (0: none).
    """

    def __init__(self, threshold: float, confirm_episodes: int = 20):
        self.threshold = threshold
        self.confirm_episodes = confirm_episodes
        self._start = time.perf_counter()

    def on_train_start(self, loop: Any) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        if not selection_return(stats) >= self.threshold:  # NaN (a broken evaluation) never counts as solved
            return
        selection = loop.model_selection
        if selection.metric == "return" and not stats.get("eval/new_best", 1.0):
            # this epoch's policy lost to the earlier best: the best is what a stop hands back, so it is the best that
            # needs confirm_episodes fresh episodes of evidence (it may have been kept on fewer, below the threshold)
            missing = self.confirm_episodes - selection.evidence_episodes
            if missing > 0 and loop.evaluator is not None and loop.selection.best_return >= self.threshold:
                stats["eval/best_return"] = selection.confirm_best(loop, missing)
            confirmed, episodes = loop.selection.best_return, selection.evidence_episodes
        else:
            confirmed, episodes = self._confirm(loop, stats)
        if not confirmed >= self.threshold:
            logger.info(f"epoch {loop.epoch}: return {selection_return(stats):.1f} reached {self.threshold:g}, but the "
                        f"policy model selection keeps scored {confirmed:.1f} on {episodes} fresh episodes; training on")
            return
        loop.request_stop(f"solved: eval return {confirmed:.1f} >= {self.threshold:g}"
                          + (f" on {episodes} fresh episodes" if episodes else "")
                          + f" at {loop.env_steps:,} env steps, {time.perf_counter() - self._start:.1f} s")

    def _confirm(self, loop: Any, stats: Dict[str, float]) -> Tuple[float, int]:
        """This epoch's return on ``confirm_episodes`` fresh episodes (those of model selection if it played as
        many), and their number. When this policy is the new best, they add to the evidence of its value, and
        that value and all its episodes are returned."""
        if not self.confirm_episodes or loop.evaluator is None:
            return selection_return(stats), 0
        if stats.get("eval/confirmed_episodes", 0) >= self.confirm_episodes and "eval/confirmed_return" in stats:
            # model selection confirmed this epoch's policy already
            return stats["eval/confirmed_return"], int(stats["eval/confirmed_episodes"])
        confirmed = loop.evaluator.confirm(loop.policy, self.confirm_episodes)["eval/episode_return_mean"]
        stats["eval/confirmed_return"] = confirmed
        stats["eval/confirmed_episodes"] = self.confirm_episodes
        selection = loop.model_selection
        if selection.metric != "return" or not stats.get("eval/new_best", 0.0):
            return confirmed, self.confirm_episodes
        stats["eval/best_return"] = selection.add_evidence(confirmed, self.confirm_episodes)
        return stats["eval/best_return"], selection.evidence_episodes
