"""A full disk while a run writes: one message naming the file and the cause, loadable checkpoints, resume."""
import csv
import errno

import pytest
import torch

from maze_cli import RunContext
from maze_cli.core.io import WriteError, atomic_write
from maze_cli.train.checkpoint import load_checkpoint

SHORT = {"algorithm.n_epochs": 4, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 25,
         "algorithm.eval_repeats": 1}


def test_a_failed_write_names_the_file_and_leaves_the_previous_version(tmp_path):
    target = tmp_path / "stats.csv"
    target.write_text("good")

    def full_disk(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(WriteError, match=rf"could not write {target}: \[Errno 28\] No space left on device"):
        atomic_write(target, full_disk)
    assert target.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["stats.csv"]


def test_disk_full_mid_run_keeps_checkpoints_and_the_run_resumes(run_root, monkeypatch):
    saves = {"n": 0}
    real_save = torch.save

    def save_until_the_disk_is_full(obj, path, *args, **kwargs):
        saves["n"] += 1
        if saves["n"] > 3:  # the 4th checkpoint write (epoch 2 or 3) finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_until_the_disk_is_full)
    rc = RunContext(env="cartpole", runner="dev", seed=3, overrides={**SHORT, "algorithm.patience": 100})
    with pytest.raises(WriteError) as failure:
        rc.train()
    message = str(failure.value)
    assert "could not write" in message and "checkpoints/" in message and "No space left on device" in message
    assert f"resume with input_dir={rc.run_dir}" in message
    monkeypatch.setattr(torch, "save", real_save)
    run = rc.run_dir
    for name in ("best.pt", "last.pt"):
        assert load_checkpoint(run / "checkpoints" / name)["epoch"] >= 1
    last_epoch = load_checkpoint(run / "checkpoints" / "last.pt")["epoch"]
    rows = list(csv.DictReader(open(run / "stats.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, last_epoch + 1))  # no row without its checkpoint

    (run / "checkpoints" / "last.pt").unlink()  # as if the disk was full already at the first last.pt
    resumed = RunContext(env="cartpole", runner="dev", seed=3, overrides={**SHORT, "input_dir": str(run)})
    resumed.train(n_epochs=1)
    resumed_rows = list(csv.DictReader(open(resumed.run_dir / "stats.csv")))
    assert int(resumed_rows[-1]["epoch"]) == load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] + 1
    assert "resuming from checkpoints/best.pt" in (resumed.run_dir / "maze_cli.log").read_text()
