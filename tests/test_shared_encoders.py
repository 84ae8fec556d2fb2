"""critic.share_encoders: policy and critic train one set of encoders (the convolutions of an image key)."""
import pytest
import torch

from maze_cli import ConfigError, RunContext

SHORT = {"algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 8,
         "algorithm.eval_repeats": 1, "critic.share_encoders": True}


def test_shared_image_encoder_is_one_module_trained_once_by_both_losses(run_root):
    initial = RunContext(env="quadrant", algorithm="ppo", overrides=SHORT).policy.networks["0"]  # same seed
    before = {name: p.detach().clone() for name, p in initial.encoders.named_parameters()}
    rc = RunContext(env="quadrant", algorithm="ppo", overrides=SHORT)
    rc.train()
    policy_net, critic_net = rc.policy.networks["0"], rc.components.critic.networks["0"]
    assert critic_net.encoders is policy_net.encoders
    optimizer_params = rc.trainer.algorithm.optimizer.param_groups[0]["params"]
    assert len(optimizer_params) == len({id(p) for p in optimizer_params})  # each shared tensor once
    assert any(not torch.equal(before[name], p) for name, p in policy_net.encoders.named_parameters())
    state = torch.load(rc.run_dir / "checkpoints" / "best.pt", weights_only=True)
    conv = next(k for k in state["policy"] if "encoders" in k and k.endswith("weight"))
    assert torch.equal(state["policy"][conv], state["critic"][conv])  # one set of weights, saved with both


def test_sharing_with_different_inputs_is_refused_before_training(run_root):
    rc = RunContext(env="quadrant", algorithm="ppo", overrides={**SHORT, "+policy.networks.ignore_keys": ["noise"]})
    with pytest.raises(ConfigError, match="critic.share_encoders: sub-step 0's critic reads"):
        rc.train()
