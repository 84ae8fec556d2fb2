"""Hydra's sweep syntax (``choice``, ``range``, ``interval``, ``tag(log|int, ...)``) as an Optuna search space."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep

from maze_cli.core.errors import ConfigError


@dataclass
class SearchSpace:
    """Overrides every trial gets, Optuna distributions of the swept keys, and how a value is written back."""

    fixed: List[str]
    distributions: Dict[str, Any]
    keys: Dict[str, str]
    """param name -> the override's key element (``+key``, ``key``, ``group@pkg``)."""
    grid: Optional[Dict[str, list]]
    """Every value of every key for the grid sampler; None when a key is a continuous interval."""

    def overrides(self, params: Dict[str, Any]) -> List[str]:
        """The command-line overrides of one trial's sampled ``params``."""
        return self.fixed + [f"{self.keys[name]}={_as_override_value(value)}" for name, value in params.items()]


def _as_override_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)  # choices are kept as the strings written on the command line; numbers print plainly


def _distribution(override: Override) -> tuple:
    """(Optuna distribution, grid values or None) of one sweep override."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    sweep = override.value()
    if isinstance(sweep, ChoiceSweep) or (isinstance(sweep, RangeSweep) and not _all_int(sweep)):
        values = list(override.sweep_string_iterator())
        return CategoricalDistribution(values), values
    if isinstance(sweep, RangeSweep):
        values = list(range(sweep.start, sweep.stop, sweep.step))
        if not values:
            raise ConfigError(f"{override.input_line}: the range is empty; expected start < stop")
        return IntDistribution(values[0], values[-1], step=sweep.step), values
    if isinstance(sweep, IntervalSweep):
        log = "log" in sweep.tags
        if "int" in sweep.tags:
            return IntDistribution(int(sweep.start), int(sweep.end), log=log), None
        return FloatDistribution(sweep.start, sweep.end, log=log), None
    raise ConfigError(f"{override.input_line}: expected choice(...), range(...), interval(...) or a,b,c")


def _all_int(sweep: RangeSweep) -> bool:
    return all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step))


def parse_search_space(arguments: List[str], params: Optional[Dict[str, str]] = None) -> SearchSpace:
    """Split the sweep's overrides (and ``hydra.sweeper.params``) into fixed ones and a search space."""
    lines = list(arguments) + [f"{key}={value}" for key, value in (params or {}).items()]
    space = SearchSpace(fixed=[], distributions={}, keys={}, grid={})
    for override in OverridesParser.create().parse_overrides(lines):
        if not override.is_sweep_override():
            space.fixed.append(override.input_line)
            continue
        name = override.key_or_group
        if name in space.distributions:
            raise ConfigError(f"{override.input_line}: {name} is swept twice (on the command line and in "
                              f"hydra.sweeper.params); expected one search space per key")
        space.distributions[name], values = _distribution(override)
        space.keys[name] = override.get_key_element()
        space.grid = None if values is None or space.grid is None else {**space.grid, name: values}
    if not space.distributions:
        raise ConfigError("the maze_optuna sweeper found nothing to tune; expected at least one override like "
                          "'algorithm.lr=tag(log,interval(1e-4,1e-2))' or 'algorithm.gamma=choice(0.95,0.99)'")
    return space
