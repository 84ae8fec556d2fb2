"""Shared fixtures: every test writes its runs into a temporary directory."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture
def run_root(tmp_path, monkeypatch):
    """A clean working directory, so ``outputs/`` of a run lands in the test's tmp dir."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance (2 CPUs) shared by every test that needs it: starting Ray takes seconds.

    The RayRunner reuses an initialised Ray instead of starting its own. Actors import maze_cli from
    this checkout, as the tests do, whatever copy is installed.
    """
    import ray

    checkout = str(Path(__file__).resolve().parents[1])
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {"PYTHONPATH": checkout}})
    yield ray
    ray.shutdown()
