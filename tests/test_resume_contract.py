"""Resume continues what was saved: the saved config plus explicit overrides, refused changes, full history."""
import csv

import yaml

from cli_helpers import maze_run
from maze_cli.train.checkpoint import load_checkpoint

PPO = ["+experiment=cartpole_ppo", "algorithm.n_epochs=2", "algorithm.epoch_length=2", "algorithm.n_rollout_steps=32",
       "algorithm.lr=0.001", "algorithm.stop_at_return=null", "seed=4"]


def _runs(root):
    return sorted(p for p in root.glob("outputs/*/*") if p.is_dir())


def test_resume_with_only_input_dir_continues_the_saved_ppo_run(run_root):
    assert maze_run(PPO, run_root).returncode == 0
    first = _runs(run_root)[0]
    result = maze_run([f"input_dir={first}", "algorithm.n_epochs=1"], run_root)  # one more epoch
    assert result.returncode == 0, result.stderr
    resumed = [run for run in _runs(run_root) if run != first][0]
    saved, now = (yaml.safe_load(open(run / "config.yaml")) for run in (first, resumed))
    assert now["algorithm"]["_target_"] == "maze_cli.PPOAlgorithmConfig" and now["algorithm"]["lr"] == 0.001
    assert now["runner"] == saved["runner"] and now["env"] == saved["env"]
    changed = {key for key in now if now[key] != saved.get(key)}
    assert changed == {"algorithm", "input_dir", "resumed_from"}  # algorithm: only n_epochs
    assert {k for k in now["algorithm"] if now["algorithm"][k] != saved["algorithm"][k]} == {"n_epochs"}
    assert now["resumed_from"] == str(first)
    rows = list(csv.DictReader(open(resumed / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # the earlier epochs too
    assert int(rows[-1]["time/env_steps"]) > int(rows[1]["time/env_steps"])
    assert load_checkpoint(resumed / "checkpoints" / "last.pt")["epoch"] == 3
    assert list(resumed.glob("events.out.tfevents.*"))
    assert "these changes: algorithm.n_epochs" in (resumed / "maze_cli.log").read_text()


def test_changing_the_algorithm_of_a_resumed_run_is_refused_naming_it(run_root):
    assert maze_run(PPO, run_root).returncode == 0
    first = _runs(run_root)[0]
    result = maze_run(["algorithm=a2c", f"input_dir={first}"], run_root)
    assert result.returncode == 1
    assert (f"input_dir='{first}' holds a run of algorithm maze_cli.PPOAlgorithmConfig, but this run's algorithm is "
            f"maze_cli.A2CAlgorithmConfig (algorithm._target_ changed)") in result.stderr
    assert "resume.allow_changes=true" in result.stderr and "Traceback" not in result.stderr
