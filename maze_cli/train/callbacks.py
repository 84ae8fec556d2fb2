"""Extension points of the training loop: components it calls at fixed points, built from config.

A callback is any object with some of the methods below; the loop calls what it has, in the order
the callbacks are listed. Loggers, model selection, checkpoints and stop rules are callbacks, so a
new one (a tracker, a pruning report for a sweep, a stop rule) is written without touching the loop.

What a callback may read from the loop (``loop``):

- ``loop.epoch`` (epochs completed), ``loop.env_steps`` (env steps so far), ``loop.run_dir`` (``None``
  when nothing is written), ``loop.config`` (the algorithm config), ``loop.policy``;
- ``loop.request_stop(reason)``: end training after this epoch, logging ``reason``.

``stats`` is the epoch's row of ``stats.csv`` (``train/...``, ``eval/...``, ``losses/...``, ``time/...``);
a callback may add keys to it in ``on_epoch_end`` for the callbacks after it.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from maze_cli.core.errors import ConfigError


class Callback:
    """Base class with no-op hooks; subclassing it is optional (duck typing is enough)."""

    def on_train_start(self, loop: Any) -> None:
        """Before the first epoch of a ``train()`` call."""

    def on_epoch_end(self, loop: Any, stats: Dict[str, float]) -> None:
        """After the epoch's updates and evaluation; may call ``loop.request_stop(reason)``."""

    def on_train_end(self, loop: Any) -> None:
        """After the last epoch of a ``train()`` call (also when it was interrupted)."""


HOOKS = ("on_train_start", "on_epoch_end", "on_train_end")


def check_callback(callback: Any, name: str) -> Any:
    """``callback`` if it has at least one hook, else a :class:`ConfigError` naming the entry."""
    if not any(callable(getattr(callback, hook, None)) for hook in HOOKS):
        raise ConfigError(f"callbacks.{name}: {type(callback).__name__} has none of the hooks {list(HOOKS)}; "
                          f"expected a training-loop callback (see maze_cli.train.callbacks)")
    return callback


def call_hook(callbacks: Iterable[Any], hook: str, *args: Any) -> None:
    """Calls ``hook(*args)`` on every callback that has it, in order."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def build_callbacks(nodes: Optional[Mapping[str, Any]]) -> List[Any]:
    """Callbacks from the config's ``callbacks`` mapping (``name: {_target_: ..., key: value}``; ``null`` drops one)."""
    from maze_cli.config_validation import instantiate_node

    return [check_callback(instantiate_node(node, f"callbacks.{name}"), name)
            for name, node in (nodes or {}).items() if node is not None]
