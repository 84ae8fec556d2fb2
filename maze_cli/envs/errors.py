"""Errors of envs running in workers: they name the worker (and env) so users know where to look."""


class EnvError(RuntimeError):
    """An env raised inside ``reset`` or ``step``; the message names the worker, env and step."""


class EnvWorkerDied(RuntimeError):
    """An env worker process exited without answering."""


class EnvWorkerTimeout(EnvWorkerDied):
    """An env worker did not answer within the step timeout; it was killed."""
