"""The seed tutorial's code runs against maze_cli and trains what it says it trains."""
import csv

import torch

import tutorial_high_level


def _rows(rc):
    with open(rc.run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_tutorial_runs_end_to_end(run_root):
    result = tutorial_high_level.main()

    for name, epochs in (("default", 5), ("custom_policy", 5), ("custom_both", 5), ("local", 1)):
        rc = result[name]
        rows = _rows(rc)
        assert len(rows) == epochs, name
        # 25 updates x 100 steps x n_envs per epoch
        n_envs = rc.components.runner.n_envs
        assert int(rows[-1]["time/env_steps"]) == epochs * 25 * 100 * n_envs
        assert (rc.run_dir / "checkpoints" / "best.pt").is_file()
        assert (rc.run_dir / "config.yaml").is_file()

    # The custom composers' networks are the ones trained, not defaults.
    assert result["custom_policy"].policy.networks["0"] is result["policy_net"]
    assert result["custom_both"].policy.networks["0"] is result["policy_net"]
    assert result["custom_both"].components.critic is result["critic_composer"].critic
    assert "runner" in result["local"].config and "LocalRunner" in result["local"].config.runner._target_

    # Default models learn within the tutorial's 5 epochs (50k steps): from ~20 to clearly more.
    default_rows = _rows(result["default"])
    assert float(default_rows[-1]["train/episode_return_mean"]) > 2 * float(default_rows[0]["train/episode_return_mean"])

    stats = result["eval_stats"]
    assert stats["eval/episode_count"] == 3
    assert stats["eval/episode_return_mean"] > 0


def test_tutorial_policy_net_through_torch_model_block_accepts_any_batch_shape():
    net = tutorial_high_level.CartpolePolicyNet(obs_shapes={"observation": (4,)},
                                                action_logit_shapes={"action": (2,)})
    from maze_cli import TorchModelBlock
    block = TorchModelBlock(in_keys="observation", out_keys="action", in_shapes=(4,), in_num_dims=[2],
                            out_num_dims=2, net=net)
    assert block({"observation": torch.zeros(4)})["action"].shape == (2,)
    assert block({"observation": torch.zeros(7, 4)})["action"].shape == (7, 2)
    assert block({"observation": torch.zeros(3, 5, 4)})["action"].shape == (3, 5, 2)
