"""Smoke test of benchmarks/learning.py with a tiny budget: it trains, reads stats.csv, writes table and plot.

Figures are the benchmark's business; here the table's shape and its arithmetic on the runs' curves are checked.
"""
import re
import subprocess
import sys

from cli_helpers import REPO


def test_learning_benchmark_writes_a_table_row_per_preset_and_the_curves(tmp_path):
    out = tmp_path / "learning"
    result = subprocess.run([sys.executable, "benchmarks/learning.py", "cartpole_ppo", "--seeds", "1", "2",
                             "--budget-fraction", "0.21", "--out", str(out), "--final-episodes", "3"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    seed_lines = [l for l in result.stdout.splitlines() if l.startswith("  cartpole_ppo seed")]
    assert len(seed_lines) == 2  # 21,000 steps of 10,240-step epochs: 2 epochs, each a point of the curve
    assert all(len(l.split("curve ")[1].split()) == 2 for l in seed_lines), seed_lines
    table = (out / "learning.md").read_text().splitlines()
    row = next(l for l in table if l.startswith("| `cartpole_ppo`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "500 at 100,000" and cells[2] == "21,000"
    reached = sum("first at None" not in l for l in seed_lines)
    assert cells[3] == f"{reached}/2"
    # the last epoch within 5% of the best the run reports
    best_last = [(float(l.split(", best ")[1].split(",")[0]), float(l.split(", last ")[1].split(",")[0]))
                 for l in seed_lines]
    assert cells[7] == f"{sum(last >= best - 0.05 * abs(best) for best, last in best_last)}/2", cells
    assert re.fullmatch(r"[0-9.]+ / [0-9.]+", cells[8]), cells  # best.pt and last.pt on the same fresh episodes
    best_fresh = [float(l.split("fresh episodes best ")[1].split()[0]) for l in seed_lines]
    assert cells[9] == f"{sum(b >= 500 for b in best_fresh)}/2", cells  # best.pt at the Zoo's 500 there
    assert (out / "learning.png").stat().st_size > 10_000


def test_an_unknown_preset_is_refused_naming_the_known_ones():
    result = subprocess.run([sys.executable, "benchmarks/learning.py", "nope_ppo"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "unknown preset 'nope_ppo'" in result.stderr and "cartpole_ppo" in result.stderr
