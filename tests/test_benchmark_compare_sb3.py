"""Smoke test of benchmarks/compare_sb3.py: the command docs/performance.md gives runs and prints its tables.

Figures are not checked (timings belong to the benchmark, not to tests); the shape of the output is.
Needs the ``bench`` extra (stable-baselines3).
"""
import re
import shlex
import subprocess
import sys

from cli_helpers import REPO


def smoke_command() -> list:
    page = (REPO / "docs" / "performance.md").read_text()
    line = next(l for l in page.splitlines() if l.startswith("python benchmarks/compare_sb3.py") and "--steps" in l)
    return shlex.split(line.split("#")[0])


def test_benchmark_smoke_run_prints_every_table():
    args = smoke_command()
    result = subprocess.run([sys.executable] + args[1:], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    ratios = []
    for setting in ("a2c-cartpole-2x100", "ppo-pendulum-4x512"):
        row = re.search(rf"^{setting}\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)", out, re.M)
        assert row is not None, out
        maze, sb3, ratio = (float(g.replace(",", "")) for g in row.groups())
        assert maze > 0 and sb3 > 0 and abs(ratio - maze / sb3) <= 0.01 + 0.01 * ratio
        ratios.append(ratio)
    geometric = float(re.search(r"^geometric mean of the ratios ([\d.]+), lowest ([\d.]+)", out, re.M).group(1))
    assert abs(geometric - (ratios[0] * ratios[1]) ** 0.5) <= 0.02 + 0.01 * geometric
    whole = re.search(r"^Whole run: .*\n.*\n\s+1\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert whole is not None, out
    maze_s, sb3_s, ratio = (float(g) for g in whole.groups())
    # seconds are printed to 0.05 s, the ratio to 0.005: it must lie between the ratios the rounded seconds allow
    # (a fast machine prints 0.6 and 0.9 s, whose true ratio may be anywhere from 1.31 to 1.69)
    assert maze_s > 0 and sb3_s > 0
    assert (sb3_s - 0.05) / (maze_s + 0.05) - 0.005 <= ratio <= (sb3_s + 0.05) / max(maze_s - 0.05, 1e-9) + 0.005
    ceiling = re.search(r"^\s+2\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)$", out, re.M)
    assert ceiling is not None, out
    sac = re.search(r"^SAC on Pendulum-v1.*\n.*\n\s+1\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)", out, re.M)
    assert sac is not None, out
    maze, sb3, ratio = (float(g.replace(",", "")) for g in sac.groups())
    assert maze > 0 and sb3 > 0 and abs(ratio - maze / sb3) <= 0.01 + 0.01 * ratio
