"""What a learning test asserts about a run that should reach a return threshold, read from its stats.csv."""
from typing import Dict, List

# The best return a run reports is the kept weights' mean on 20 held-out episodes, and such a mean falls below
# what the weights are worth by chance: on CartPole one early-ended episode in 20 costs up to 5% (the tutorial
# A2C's seed 3 reports 469.8 for weights that score 490 on 200 fresh episodes); on Pendulum a 10-episode mean of
# one policy moves by about 15% between evaluations.
REPORT_MARGIN = 0.1


def assert_reached(rows: List[Dict[str, str]], best: float, threshold: float) -> None:
    """The kept weights reached ``threshold`` on the evidence that kept them (with a stop rule, the fresh episodes
    that stopped the run), and the best return the run reports (``best``, ``train()``'s value) is their mean on
    held-out episodes, within the noise of such a mean below the threshold."""
    eval_returns = [float(r["eval/episode_return_mean"]) for r in rows]
    selected = float(rows[-1]["eval/best_selected_return"])
    assert selected >= threshold, (eval_returns, selected)
    assert float(rows[-1]["eval/best_report_episodes"]) > 0 and float(rows[-1]["eval/best_return"]) == best
    assert best >= threshold - REPORT_MARGIN * abs(threshold), (eval_returns, selected, best)
