"""Shared fixtures: every test writes its runs into a temporary directory."""
import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
CHECKOUT = str(Path(__file__).resolve().parents[1])


@pytest.fixture
def run_root(tmp_path, monkeypatch):
    """A clean working directory, so ``outputs/`` of a run lands in the test's tmp dir."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs) shared by every test that needs it: starting Ray takes seconds.

    The RayRunner reuses an initialised Ray instead of starting its own; CLI runs in subprocesses
    join it through ``RAY_ADDRESS``. Ray's worker processes inherit ``PYTHONPATH`` from the
    instance, so they import maze_cli from this checkout, as the tests do, whatever copy is installed.
    """
    import ray

    saved = {key: os.environ.get(key) for key in ("PYTHONPATH", "RAY_ADDRESS")}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [CHECKOUT, saved["PYTHONPATH"]]))
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    os.environ["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    yield ray
    if started:
        ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_collection_modifyitems(items):
    """Under ``pytest -n`` (xdist, ``--dist loadgroup``) every test that shares the Ray instance runs in
    one worker, so the suite starts Ray once rather than once per worker."""
    for item in items:
        if "ray_session" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture
def maze_log():
    """The messages maze_cli logs during the test (its logger does not propagate to pytest's caplog)."""
    messages = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("maze_cli")
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)
