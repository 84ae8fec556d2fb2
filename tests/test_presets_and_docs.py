"""Every experiment preset composes and builds (docs/algorithms.md's examples run in test_docs.py)."""
from pathlib import Path

import pytest

from maze_cli import RunContext

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


def test_presets_exist_for_the_documented_learning_tasks():
    assert {"cartpole_ppo", "acrobot_ppo", "acrobot_a2c", "pendulum_ppo", "target_matching_ppo"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_builds_and_names_its_env_and_algorithm(run_root, preset):
    env_name, algorithm = preset.rsplit("_", 1)
    rc = RunContext(experiment=preset, output_dir=run_root)
    assert rc.config.algorithm._target_ == f"maze_cli.{algorithm.upper()}AlgorithmConfig"
    assert env_name.replace("_", "") in str(rc.config.env).lower().replace("-", "").replace("_", "")
    assert rc.policy is not None
    # group choices and overrides still apply on top of a preset
    assert RunContext(experiment=preset, overrides={"algorithm.lr": 0.123}, output_dir=run_root
                      ).config.algorithm.lr == 0.123
