"""Same seed -> identical trained weights under runner=dev; different seed -> different weights."""
import torch

from maze_cli import RunContext

SHORT = {"algorithm.n_epochs": 2, "algorithm.epoch_length": 5, "algorithm.n_rollout_steps": 20}


def _trained_weights(seed):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", overrides=SHORT, seed=seed)
    rc.train()
    return {k: v.clone() for k, v in rc.policy.state_dict().items()}


def test_same_seed_same_weights_different_seed_different_weights(run_root):
    a, b, c = _trained_weights(7), _trained_weights(7), _trained_weights(8)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
