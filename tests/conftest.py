"""Shared fixtures: every test writes its runs into a temporary directory."""
import os

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture
def run_root(tmp_path, monkeypatch):
    """A clean working directory, so ``outputs/`` of a run lands in the test's tmp dir."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
