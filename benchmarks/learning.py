"""How well the experiment presets learn, against the RL Baselines3 Zoo, on several seeds.

    python benchmarks/learning.py                                   # every on-policy preset, 5 seeds
    python benchmarks/learning.py cartpole_ppo acrobot_a2c --seeds 1 2
    python benchmarks/learning.py pendulum_sac --budget-fraction 1.0 --out /tmp/sac

Each run trains ``+experiment=<preset>`` for ``--budget-fraction`` (default half) of the Zoo's step budget,
with no early stop (``patience`` and ``stop_at_return`` off), so that the last epoch shows whether a solved
run stays solved. From each run's ``stats.csv`` it takes the env steps of the first epoch whose deterministic
evaluation reaches the Zoo's figure, the best return (what the run reports: the kept weights' mean on
``selection.report_episodes`` held-out episodes) and the last epoch's evaluation return; the issue's reading of
"stays solved" compares these two. Then the best and the last weights play the same ``--final-episodes`` fresh
episodes (default 50; start states of their own per run, which no evaluation in training saw): the stricter
reading compares those two means, as a 10-episode evaluation is too noisy for a 5% margin (on Pendulum its mean
moves by about 15% between evaluations of the same policy). Per preset it prints mean ± std over seeds against the
Zoo's figure and budget and saves ``<preset>.json`` in ``--out``; from every such file there it writes ``learning.md`` (the
table) and ``learning.png`` (every seed's curve, the mean and the band between the lowest and the highest
seed), so invocations for different presets (e.g. one per core) add up to one table.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml
from hydra.utils import instantiate

from maze_cli import RunContext
from maze_cli.logging.csv import read_stats

# preset: (the Zoo's return, the Zoo's env steps for it); PPO and A2C from the Zoo's benchmark table,
# SAC likewise (box2d and mujoco extras for the LunarLander and HalfCheetah presets)
ZOO: Dict[str, tuple] = {
    "cartpole_a2c": (500.0, 500_000),
    "cartpole_ppo": (500.0, 100_000),
    "acrobot_a2c": (-83.0, 500_000),
    "acrobot_ppo": (-73.5, 1_000_000),
    "mountain_car_ppo": (-110.0, 1_000_000),
    "pendulum_ppo": (-172.0, 100_000),
    "mountain_car_continuous_ppo": (88.0, 20_000),
    "lunar_lander_ppo": (242.0, 1_000_000),
    "cartpole_impala": (500.0, 500_000),  # the Zoo has no IMPALA: its A2C figures
    "acrobot_impala": (-83.0, 500_000),
    "pendulum_sac": (-157.0, 20_000),
    "mountain_car_continuous_sac": (94.7, 50_000),
    "lunar_lander_continuous_sac": (260.0, 500_000),
    "half_cheetah_sac": (9535.0, 1_000_000),
}
ON_POLICY = [name for name in ZOO if not name.endswith("_sac")]
STABLE_FRACTION = 0.05  # "stays solved": the last epoch within 5% of the best


@dataclass
class SeedResult:
    seed: int
    steps_to_figure: Optional[int]
    best: float
    final: float
    wall_seconds: float
    curve: List[tuple]  # (env steps, eval return) per epoch
    best_fresh: Optional[float] = None  # best.pt and last.pt on the same fresh episodes (None: not measured)
    last_fresh: Optional[float] = None

    @property
    def last_epoch_stable(self) -> bool:
        """The last epoch's evaluation is no more than 5% below the best return the run reports."""
        return within_margin(self.final, self.best)

    @property
    def stable(self) -> bool:
        """The last weights score no more than 5% below the best (on the same fresh episodes when measured)."""
        best, last = (self.best, self.final) if self.best_fresh is None else (self.best_fresh, self.last_fresh)
        return within_margin(last, best)


def within_margin(last: float, best: float) -> bool:
    return last >= best - STABLE_FRACTION * abs(best)


def steps_per_epoch(rc: RunContext) -> int:
    """Env steps of all envs per epoch (per update: on-policy rollout steps, SAC's ``train_freq``)."""
    algo = instantiate(rc.config.algorithm)
    return algo.epoch_length * algo.steps_per_env_per_update * instantiate(rc.config.runner).n_envs


# far above the seeds of the runs' own evaluations (run seed + 1,000,003 + 7,919 per evaluation)
FRESH_EPISODE_SEEDS = 1_000_000_000


def run_seed(preset: str, seed: int, budget: int, figure: float, output_dir: Path,
             overrides: Optional[Dict[str, str]] = None, final_episodes: int = 50) -> SeedResult:
    probe = RunContext(experiment=preset, seed=seed, output_dir=output_dir, overrides=overrides)
    n_epochs = max(1, budget // steps_per_epoch(probe))
    rc = RunContext(experiment=preset, seed=seed, output_dir=output_dir,
                    overrides={**(overrides or {}), "algorithm.n_epochs": n_epochs, "algorithm.patience": n_epochs + 1,
                               "algorithm.stop_at_return": None})
    start = time.perf_counter()
    best = rc.train()
    wall = time.perf_counter() - start
    curve = [(int(row["time/env_steps"]), float(row["eval/episode_return_mean"]))
             for row in read_stats(rc.run_dir / "stats.csv")]
    reached = next((steps for steps, value in curve if value >= figure), None)
    # each run's own start states: runs with neighbouring seeds would otherwise share all but one of them
    fresh_seed = FRESH_EPISODE_SEEDS + seed * final_episodes
    best_fresh, last_fresh = (RunContext.from_run_dir(rc.run_dir, checkpoint).evaluate(final_episodes, seed=fresh_seed)
                              ["eval/episode_return_mean"] for checkpoint in ("best", "last"))
    return SeedResult(seed, reached, best, curve[-1][1], wall, curve, best_fresh, last_fresh)


def mean_std(values: Sequence[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {spread:.1f}"


def save(path: Path, budget: int, results: List[SeedResult]) -> None:
    path.write_text(json.dumps({"budget": budget, "seeds": [asdict(r) for r in results]}))


def load(out: Path) -> Dict[str, tuple]:
    """``{preset: (budget, results)}`` of every ``<preset>.json`` in ``out``, in the order of :data:`ZOO`."""
    saved = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json") if path.stem in ZOO}
    return {name: (saved[name]["budget"], [SeedResult(**seed) for seed in saved[name]["seeds"]])
            for name in ZOO if name in saved}


def table_row(preset: str, budget: int, results: List[SeedResult]) -> str:
    figure, zoo_budget = ZOO[preset]
    reached = [r.steps_to_figure for r in results if r.steps_to_figure is not None]
    steps = f"{statistics.mean(reached):,.0f} (max {max(reached):,})" if reached else "-"
    return (f"| `{preset}` | {figure:g} at {zoo_budget:,} | {budget:,} | {len(reached)}/{len(results)} | {steps} | "
            f"{mean_std([r.best for r in results])} | {mean_std([r.final for r in results])} | "
            f"{sum(r.last_epoch_stable for r in results)}/{len(results)} | {fresh_pair(results)} | "
            f"{fresh_reach(results, figure)} | {sum(r.stable for r in results)}/{len(results)} | "
            f"{statistics.mean(r.wall_seconds for r in results):.0f} |")


def fresh_pair(results: List[SeedResult]) -> str:
    """``best / last`` on the same fresh episodes, mean over seeds (``-`` for results saved without them)."""
    if any(r.best_fresh is None for r in results):
        return "-"
    return (f"{statistics.mean(r.best_fresh for r in results):.1f} / "
            f"{statistics.mean(r.last_fresh for r in results):.1f}")


def fresh_reach(results: List[SeedResult], figure: float) -> str:
    """Seeds whose best weights score the Zoo's figure on the fresh episodes: the 10-episode evaluation that found
    them was the highest of many, so it flatters them."""
    if any(r.best_fresh is None for r in results):
        return "-"
    return f"{sum(r.best_fresh >= figure for r in results)}/{len(results)}"


TABLE_HEAD = ("| preset | Zoo figure at Zoo steps | our budget | seeds reaching it | env steps to it (mean) | "
              "best return (reported) | last-epoch return | last epoch within 5% of it | "
              "best / last weights, same fresh episodes | best weights at the figure there | "
              "last within 5% of best there | wall s per seed |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def plot(results: Dict[str, List[SeedResult]], path: Path) -> None:
    """One panel per preset: each seed's curve, their mean and the min..max band, the Zoo's figure dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    columns = min(4, len(results))
    rows = math.ceil(len(results) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for ax, (preset, seeds) in zip(axes.flat, results.items()):
        length = min(len(r.curve) for r in seeds)
        steps = np.array([s for s, _ in seeds[0].curve[:length]])
        values = np.array([[v for _, v in r.curve[:length]] for r in seeds])
        for seed_values in values:
            ax.plot(steps, seed_values, color="tab:blue", alpha=0.25, linewidth=0.8)
        ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color="tab:blue", alpha=0.15)
        ax.plot(steps, values.mean(axis=0), color="tab:blue", label=f"mean of {len(seeds)} seeds")
        ax.axhline(ZOO[preset][0], color="tab:red", linestyle="--", linewidth=1, label="Zoo figure")
        ax.set_title(preset, fontsize=10)
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k")
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    axes.flat[0].set_ylabel("deterministic eval return")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=ON_POLICY, help=f"any of {list(ZOO)}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[11, 12, 13, 14, 15])
    parser.add_argument("--budget-fraction", type=float, default=0.5, help="of the Zoo's env steps")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/learning"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides for every run, e.g. algorithm.lr=0.001 (to try settings on tuning seeds)")
    parser.add_argument("--final-episodes", type=int, default=50,
                        help="fresh episodes on which the best and the last weights are compared after training")
    parser.add_argument("--verbose", action="store_true", help="show the runs' epoch lines")
    args = parser.parse_args()
    # values read as YAML, so lists and mappings pass too (policy.networks.hidden_units=[128,128])
    overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    unknown = sorted(set(args.presets) - set(ZOO))
    if unknown:
        parser.error(f"unknown preset {unknown[0]!r}: expected one of {list(ZOO)}")
    if not args.verbose:
        logging.getLogger("maze_cli").addFilter(lambda record: False)
    args.out.mkdir(parents=True, exist_ok=True)
    print(TABLE_HEAD, flush=True)
    for preset in args.presets:
        figure, zoo_budget = ZOO[preset]
        budget = int(zoo_budget * args.budget_fraction)
        results: List[SeedResult] = []
        for seed in args.seeds:
            result = run_seed(preset, seed, budget, figure, args.out / "runs", overrides, args.final_episodes)
            results.append(result)
            print(f"  {preset} seed {seed}: first at {result.steps_to_figure}, best {result.best:.1f}, last "
                  f"{result.final:.1f}, on {args.final_episodes} fresh episodes best {result.best_fresh:.1f} last "
                  f"{result.last_fresh:.1f}, curve " + " ".join(f"{v:.0f}" for _, v in result.curve), flush=True)
        print(table_row(preset, budget, results), flush=True)
        save(args.out / f"{preset}.json", budget, results)
        everything = load(args.out)
        rows = [table_row(name, saved_budget, seeds) for name, (saved_budget, seeds) in everything.items()]
        (args.out / "learning.md").write_text("\n".join([TABLE_HEAD, *rows]) + "\n")
        plot({name: seeds for name, (_, seeds) in everything.items()}, args.out / "learning.png")
    print(f"table and curves: {args.out / 'learning.md'}, {args.out / 'learning.png'}")


if __name__ == "__main__":
    main()
