"""benchmarks/imitation.py's BC run takes its env, normalisation and policy from the task's PPO preset, so PPO
can start from the clone whatever the preset says (its figures are read by people, not asserted here)."""
import importlib.util
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from maze_cli import RunContext

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "imitation.py"


@pytest.fixture(scope="module")
def imitation():
    spec = importlib.util.spec_from_file_location("benchmark_imitation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["cartpole", "mountain_car", "acrobot", "pendulum", "lunar_lander"])
def test_bc_run_has_the_presets_env_normalisation_and_policy(imitation, name, tmp_path):
    task = imitation.TASKS[name]
    bc = imitation.bc_run(task, 1, tmp_path / "data", tmp_path / "runs", {})
    ppo = RunContext(experiment=task.preset)
    for group in ("env", "normalization", "policy"):
        assert OmegaConf.to_container(bc.cfg[group]) == OmegaConf.to_container(ppo.cfg[group]), group
    assert bc.cfg.algorithm.dataset == str(tmp_path / "data")
    if task.bc_epochs is not None:
        assert bc.cfg.algorithm.n_epochs == task.bc_epochs


def test_bc_overrides_from_the_command_line_win_over_the_preset(imitation, tmp_path):
    overrides = imitation.key_values(["policy.networks.hidden_units=[32,32]", "algorithm.lr=0.0003"])
    bc = imitation.bc_run(imitation.TASKS["acrobot"], 1, tmp_path / "data", tmp_path / "runs", overrides)
    assert list(bc.cfg.policy.networks.hidden_units) == [32, 32] and bc.cfg.algorithm.lr == 0.0003


def test_ppo_preset_starts_from_the_clone(imitation, tmp_path):
    """Acrobot's preset has 128x128 layers and observation normalisation: the clone's weights must load."""
    task = imitation.TASKS["acrobot"]
    recorded = imitation.record(tmp_path / "data", task, task.heuristic(), episodes=2, seed=1)
    assert -500 <= recorded < 0
    bc = imitation.bc_run(task, 1, tmp_path / "data", tmp_path / "runs",
                          imitation.key_values(["algorithm.n_epochs=1", "algorithm.eval_repeats=1"]))
    bc.train()
    ppo = RunContext(experiment=task.preset, seed=1, output_dir=tmp_path / "runs",
                     overrides={"policy.init_from": str(bc.run_dir), "algorithm.n_epochs": 1,
                                "algorithm.epoch_length": 1, "algorithm.eval_repeats": 1})
    ppo.train()  # a clone with other layers fails here: "parameter ... has shape (64, 6) in the checkpoint"
    assert (ppo.run_dir / "stats.csv").exists()
