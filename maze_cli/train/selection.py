"""Model selection: keep the weights of the best epoch (``checkpoints/best.pt`` and in memory)."""
from __future__ import annotations

import logging
import math
from typing import Any, Dict, Mapping, Optional, Tuple

import torch

from maze_cli.core.errors import ConfigError

BEST_CHECKPOINT = "checkpoints/best.pt"
DEFAULT_CONFIRM_EPISODES = 10
DEFAULT_REPORT_EPISODES = 20
ModelState = Dict[str, Dict[str, torch.Tensor]]
logger = logging.getLogger("maze_cli")


class BestModelSelection:
    """Remembers the best value of the selection metric and the epochs since it was last beaten (for patience).

    :param mode: ``"max"`` (returns) or ``"min"`` (a cost KPI).
    """

    def __init__(self, mode: str = "max"):
        self.sign = 1.0 if mode == "max" else -1.0
        self.best_return = -math.inf * self.sign
        self.epochs_without_improvement = 0

    def beats_best(self, value: float) -> bool:
        """Whether ``value`` would be a new best (NaN, a broken evaluation, never is)."""
        return not math.isnan(value) and self.sign * value > self.sign * self.best_return

    def ties_best(self, value: float) -> bool:
        return value == self.best_return

    def update(self, mean_return: float, keep_ties: bool = False) -> bool:
        """Record one evaluation; True if it is a new best (or, with ``keep_ties``, as good as the best: kept, but
        not an improvement for patience)."""
        if self.beats_best(mean_return):
            self.best_return = mean_return
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return keep_ties and self.ties_best(mean_return)


def selection_return(stats: Dict[str, float], metric: str = "return") -> float:
    """What selection compares: the evaluation's mean return (or ``metric``, e.g. ``kpi/cost``), from the training
    episodes when nothing was evaluated."""
    key = "episode_return_mean" if metric == "return" else metric
    return stats.get(f"eval/{key}", stats.get(f"train/{key}", math.nan))


def selection_settings(node: Any, kpis: Mapping[str, str]) -> Tuple[str, str, int, int]:
    """``(metric, mode, confirm_episodes, report_episodes)`` of the ``selection`` config (default: the highest
    return, confirmed on ``DEFAULT_CONFIRM_EPISODES`` fresh episodes and reported on ``DEFAULT_REPORT_EPISODES``),
    checked against the KPIs."""
    node = dict(node or {})
    metric, mode = str(node.get("metric", "return")), str(node.get("mode", "max"))
    unknown = sorted(set(node) - {"metric", "mode", "confirm_episodes", "report_episodes"})
    if unknown:
        raise ConfigError(f"selection.{unknown[0]}: unknown key; selection takes metric, mode, confirm_episodes and "
                          f"report_episodes")
    confirm_episodes = _episodes(node, "confirm_episodes", DEFAULT_CONFIRM_EPISODES, "episodes that confirm a new "
                                 "best before it is kept; 0: keep it on the evaluation alone")
    report_episodes = _episodes(node, "report_episodes", DEFAULT_REPORT_EPISODES,
                                "held-out episodes the kept weights play when training ends; 0: report the value "
                                "that selected them")
    if mode not in ("max", "min"):
        raise ConfigError(f"selection.mode={mode!r} is invalid: expected 'max' or 'min'")
    if metric != "return" and (not metric.startswith("kpi/") or metric[len("kpi/"):] not in kpis):
        raise ConfigError(f"selection.metric={metric!r} is invalid: expected 'return' or 'kpi/<name>' of a configured "
                          f"KPI (kpis: {sorted(kpis)})")
    return metric, mode, confirm_episodes, report_episodes


def _episodes(node: Mapping[str, Any], key: str, default: int, meaning: str) -> int:
    value = node.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"selection.{key}={value!r} is invalid: expected an integer >= 0 ({meaning})")
    return value


class ModelSelectionCallback:
    """Saves ``best.pt`` on every new best and hands out the best weights after ``train()``.

    :param metric: ``return`` or ``kpi/<name>`` (see :func:`selection_return`).
    :param mode: ``max`` or ``min``.
    :param confirm_episodes: a candidate whose evaluation beats or ties the best is kept only if it scores at
        least the best on this many fresh episodes (seeds no evaluation uses) too (0: keep a candidate that
        beats the best on its evaluation alone). The best plays the same fresh episodes, and its value is the
        mean over every episode it has played in these comparisons. A small noisy evaluation picks the
        luckiest policy; comparing the next candidate with a best that was itself lucky would keep it, and
        report its lucky value, forever. Ties go to the candidate: at a return ceiling (CartPole's 500)
        nothing can beat the first weights to touch it, which are the least trained that do, while later
        weights that hold it on as many fresh episodes are the more robust.
    :param report_episodes: when training ends, the kept weights play this many more fresh episodes and their
        mean replaces the best's value (see :class:`ReportBest`; 0: the value that selected them stays).

    A later ``train()`` call continues from the weights where the previous one stopped (the
    optimiser state belongs to those), while between calls the models hold the selected best.
    """

    def __init__(self, metric: str = "return", mode: str = "max", confirm_episodes: int = 0,
                 report_episodes: int = 0) -> None:
        self.metric = metric
        self.confirm_episodes = confirm_episodes
        self.report_episodes = report_episodes
        self.reported_episodes = 0  # held-out episodes of the value the last train() call reports (0: none)
        self.selection = BestModelSelection(mode=mode)
        self._best: Optional[ModelState] = None
        self._continue: Optional[ModelState] = None
        self._evidence = (0.0, 0)  # sum and count of the best's confirmation episodes

    def on_train_start(self, loop: Any) -> None:
        self.reported_episodes = 0
        if self._continue is not None:
            load_models(loop, self._continue)
            self._continue = None

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        value = selection_return(stats, self.metric)
        confirming = bool(self.confirm_episodes and loop.evaluator is not None
                          and (self.selection.beats_best(value) or self.selection.ties_best(value)))
        if confirming:
            value = self._confirm(loop, stats)
        kept = self.selection.update(value, keep_ties=confirming)
        if kept:
            self._best = copy_models(loop)
            self._evidence = (value * self.confirm_episodes, self.confirm_episodes) if confirming else (0.0, 0)
            loop.save(BEST_CHECKPOINT)
        stats["eval/new_best"] = float(kept)
        stats["eval/best_return"] = self.selection.best_return

    def _confirm(self, loop: Any, stats: Dict[str, float]) -> float:
        """The candidate's value on fresh episodes; the best plays the same ones, which refines its value."""
        n = self.confirm_episodes
        candidate = selection_return(loop.evaluator.confirm(loop.policy, n), self.metric)
        stats["eval/confirmed_selection"] = candidate
        stats["eval/confirmed_episodes"] = n
        if self.metric == "return":
            stats["eval/confirmed_return"] = candidate
        if self._best is not None:
            best = self._play_best(loop, n, same_episodes=True)
            self.add_evidence(best, n)
            stats["eval/best_on_same_episodes"] = best
        return candidate

    def _play_best(self, loop: Any, n: int, same_episodes: bool) -> float:
        """The kept weights' value on ``n`` confirmation episodes; the loop's own weights are back afterwards."""
        current = copy_models(loop)
        load_models(loop, self._best)
        value = selection_return(loop.evaluator.confirm(loop.policy, n, same_episodes=same_episodes), self.metric)
        load_models(loop, current)
        return value

    def confirm_best(self, loop: Any, episodes: int) -> float:
        """Plays the kept weights on ``episodes`` more fresh episodes and pools them into the best's value, which
        it returns: a stop judged on the best needs as many episodes of evidence as the stop rule asks for."""
        if self._best is None:
            return self.selection.best_return
        return self.add_evidence(self._play_best(loop, episodes, same_episodes=False), episodes)

    def report_best(self, loop: Any) -> float:
        """Plays the kept weights on ``report_episodes`` fresh episodes, and makes their mean the best's value: no
        decision used these episodes, so unlike the value that selected the weights it is not biased upwards."""
        value = self._play_best(loop, self.report_episodes, same_episodes=False)
        self._evidence = (value * self.report_episodes, self.report_episodes)
        self.selection.best_return = value
        self.reported_episodes = self.report_episodes
        return value

    @property
    def has_best(self) -> bool:
        return self._best is not None

    @property
    def evidence_episodes(self) -> int:
        """The fresh episodes the best's value is the mean of (0: its value is one evaluation's)."""
        return self._evidence[1]

    def add_evidence(self, mean: float, episodes: int) -> float:
        """Pools ``episodes`` more fresh episodes of the best (their ``mean``) into its value, and returns that value:
        a stop rule that confirms the best on more episodes refines what the run reports."""
        total, count = self._evidence
        self._evidence = (total + mean * episodes, count + episodes)
        self.selection.best_return = self._evidence[0] / self._evidence[1]
        return self.selection.best_return

    def on_train_end(self, loop: Any) -> None:
        if self._best is not None:
            self._continue = copy_models(loop)
            load_models(loop, self._best)


class ReportBest:
    """After the last epoch (its stop rules have run, its loggers have not), replaces the best's value by the kept
    weights' mean on ``selection.report_episodes`` held-out episodes, in that epoch's statistics too: what the run
    reports (``train()``'s value, the last ``eval/best_return``) is then what the weights it hands back score.

    Whatever picked the best (the highest of many noisy evaluations, the confirmations it passed) favours luck:
    on Pendulum PPO (seeds 26-30) the value that selected the weights beat their mean on 50 fresh episodes by
    6-41% (-111.0 against -189.2 at worst).
    """

    def __init__(self) -> None:
        self._message: Optional[str] = None  # said when training ends, after the last epoch's line and stop reason

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        selection = loop.model_selection
        if not (loop.finishing and selection.report_episodes and loop.evaluator is not None and selection.has_best):
            return
        selected = loop.selection.best_return
        stats["eval/best_return"] = selection.report_best(loop)
        stats["eval/best_selected_return"] = selected
        stats["eval/best_report_episodes"] = selection.report_episodes
        self._message = (f"the kept weights score {stats['eval/best_return']:.1f} on {selection.report_episodes} "
                         f"held-out episodes (selected at {selected:.1f}): the run reports that")

    def on_train_end(self, loop: Any) -> None:
        if self._message is not None:
            logger.info(self._message)
            self._message = None


def copy_models(loop: Any) -> ModelState:
    return {name: {k: v.clone() for k, v in module.state_dict().items()} for name, module in loop.models().items()}


def load_models(loop: Any, state: ModelState) -> None:
    for name, module in loop.models().items():
        module.load_state_dict(state[name])
