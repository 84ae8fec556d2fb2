"""PPO: the clipped objective and value clipping against hand-computed values; the update schedule."""
import csv
import math

import pytest
import torch

from maze_cli import A2CAlgorithmConfig, ConfigError, PPOAlgorithmConfig, RunContext
from maze_cli.build import build
from maze_cli.algorithms.ppo import approx_kl, clipped_surrogate, minibatches, ratio_statistics, value_error
from maze_cli.train.samples import actor_samples as prepare_samples


def test_clipped_surrogate_matches_hand_computed_values():
    ratios = torch.tensor([0.5, 1.0, 1.5, 1.5, 0.5])
    advantages = torch.tensor([1.0, 2.0, 1.0, -1.0, -1.0])
    old = torch.tensor([-1.0, -0.3, -2.0, -0.7, -1.2])
    log_probs = (old + ratios.log()).requires_grad_()
    loss = clipped_surrogate(torch.exp(log_probs - old), advantages, clip_range=0.2)
    # r=0.5,A=1: min(0.5, 0.8)=0.5 | r=1,A=2: 2 | r=1.5,A=1: min(1.5, 1.2)=1.2
    # r=1.5,A=-1: min(-1.5, -1.2)=-1.5 | r=0.5,A=-1: min(-0.5, -0.8)=-0.8; the loss is the negative.
    assert torch.allclose(loss, torch.tensor([-0.5, -2.0, -1.2, 1.5, 0.8]), atol=1e-6)
    loss.sum().backward()
    # d(-r*A)/dlog_prob = -r*A where the unclipped term is the minimum, 0 where the clipped one is.
    assert torch.allclose(log_probs.grad, torch.tensor([-0.5, -2.0, 0.0, 1.5, 0.0]), atol=1e-6)


def test_value_clipping_takes_the_larger_error_around_the_rollout_value():
    values, old, returns = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0]), torch.tensor([0.0, 2.5])
    assert torch.allclose(value_error(values, old, returns, None), torch.tensor([1.0, 0.25]))
    # clipped predictions: 2 - 0.5 = 1.5 -> (1.5 - 0)^2 = 2.25 > 1; 2 + 0.5 = 2.5 -> 0 < 0.25
    assert torch.allclose(value_error(values, old, returns, 0.5), torch.tensor([2.25, 0.25]))


def test_approx_kl_is_zero_for_equal_policies_and_matches_formula():
    assert approx_kl(torch.ones(4), torch.zeros(4)).item() == 0.0
    log_ratio = torch.tensor([math.log(2.0)])
    assert math.isclose(approx_kl(log_ratio.exp(), log_ratio).item(), 1.0 - math.log(2.0), rel_tol=1e-6)



def test_ratio_statistics_average_over_every_sample_of_the_update():
    # two minibatch steps with ratios (1, 1.5) and (0.5): two of three samples lie outside 1 +- 0.2
    ratios = [torch.tensor([1.0, 1.5]), torch.tensor([0.5])]
    stats = ratio_statistics(ratios, [r.log() for r in ratios], clip_range=0.2)
    assert math.isclose(stats["losses/clip_fraction"], 2 / 3, rel_tol=1e-6)
    expected_kl = (0.0 + (0.5 - math.log(1.5)) + (-0.5 - math.log(0.5))) / 3
    assert math.isclose(stats["losses/approx_kl"], expected_kl, rel_tol=1e-5)

def test_minibatches_cover_every_sample_once_per_pass_and_split_actors_evenly():
    from maze_cli.train.samples import TrainingSamples
    def samples(actor, n):  # each sample's returns and observation hold its number, to follow the shuffle
        rows = torch.arange(float(n))
        return TrainingSamples((actor, 0), {"x": rows[:, None] * 10}, {}, torch.zeros(n), torch.zeros(n),
                               torch.zeros(n), rows)
    a, b = samples(0, 10), samples(1, 5)
    batches = minibatches([a, b], batch_size=4)
    assert len(batches) == 4  # ceil(15 / 4)
    seen = {0: [], 1: []}
    for batch in batches:
        shares = {s.actor_id[0]: len(s.returns[idx]) for s, idx in batch}
        assert shares[0] in (2, 3) and shares.get(1, 1) in (1, 2)  # every actor's share of each minibatch
        for s, idx in batch:
            assert torch.equal(s.observations["x"][idx][:, 0], s.returns[idx] * 10)  # rows stay together
            seen[s.actor_id[0]] += s.returns[idx].tolist()
    assert sorted(seen[0]) == list(range(10)) and sorted(seen[1]) == list(range(5))
    # one minibatch holds every sample: taken as it is, without a shuffle (nor a draw from the generator)
    state = torch.get_rng_state()
    [whole] = minibatches([a, b], batch_size=15)
    assert torch.equal(torch.get_rng_state(), state)
    assert [(s.returns[idx].tolist()) for s, idx in whole] == [list(range(10)), list(range(5))]


def _trainer_and_batch(algorithm, run_root):
    rc = RunContext(env="cartpole", algorithm=algorithm, overrides={"runner.n_envs": 2}, seed=3,
                    output_dir=run_root)
    components = build(rc.config, algorithm=algorithm)
    trainer = components.make_trainer()
    trainer.collector = trainer.make_collector(0)
    batch = trainer.collector.collect()
    return trainer, batch


def test_one_ppo_step_on_the_whole_batch_equals_the_a2c_step(run_root):
    """At ratio 1 the clipped objective's gradient is the policy gradient: same batch, same weights after."""
    shared = dict(n_rollout_steps=16, lr=0.01, gamma=0.97, gae_lambda=0.9, entropy_coef=0.01, max_grad_norm=0.5)
    a2c, batch = _trainer_and_batch(A2CAlgorithmConfig(**shared), run_root)
    ppo, _ = _trainer_and_batch(PPOAlgorithmConfig(**shared, n_optimization_epochs=1, batch_size=10_000), run_root)
    for trainer in (a2c, ppo):
        trainer.algorithm.update(batch, epoch=0, progress=0.0)
    for (name, p_a2c), (_, p_ppo) in zip(a2c.policy.state_dict().items(), ppo.policy.state_dict().items()):
        assert torch.allclose(p_a2c, p_ppo, atol=1e-6), name
    for (name, v_a2c), (_, v_ppo) in zip(a2c.critic.state_dict().items(), ppo.critic.state_dict().items()):
        assert torch.allclose(v_a2c, v_ppo, atol=1e-6), name


def test_update_runs_all_minibatches_unless_target_kl_stops_it(run_root):
    cfg = dict(n_rollout_steps=32, batch_size=16, n_optimization_epochs=3, lr=0.05)
    trainer, batch = _trainer_and_batch(PPOAlgorithmConfig(**cfg), run_root)
    n_valid = int(batch.valid.sum())
    stats = trainer.algorithm.update(batch, epoch=0, progress=0.0)
    assert stats["losses/minibatch_steps"] == 3 * math.ceil(n_valid / 16)
    assert stats["losses/optimization_epochs"] == 3
    assert stats["losses/approx_kl"] > 0 and 0 <= stats["losses/clip_fraction"] <= 1

    trainer, batch = _trainer_and_batch(PPOAlgorithmConfig(**cfg, target_kl=1e-9), run_root)
    stats = trainer.algorithm.update(batch, epoch=0, progress=0.0)
    # the first step starts at the rollout policy (KL 0); after it the KL exceeds the target
    assert stats["losses/minibatch_steps"] == 1 and stats["losses/optimization_epochs"] == 0
    assert len(prepare_samples(batch, 0.99, 0.95)[0].returns) == n_valid


def test_linear_learning_rate_and_clip_schedules_and_stop_at_return_in_the_shared_loop(run_root):
    algo = PPOAlgorithmConfig(n_epochs=2, epoch_length=2, n_rollout_steps=8, lr=0.004, lr_schedule="linear",
                              clip_range=0.2, clip_range_schedule="linear", eval_repeats=1)
    rc = RunContext(env="cartpole", algorithm=algo, overrides={"runner.n_envs": 2}, seed=1, output_dir=run_root)
    rc.train()
    with open(rc.run_dir / "stats.csv") as f:
        rows = list(csv.DictReader(f))
    # the last update of epoch 1 is update 1 of 4 planned, of epoch 2 update 3: lr * (1 - 1/4), lr * (1 - 3/4)
    assert [float(r["train/learning_rate"]) for r in rows] == pytest.approx([0.003, 0.001])
    assert [float(r["train/clip_range"]) for r in rows] == pytest.approx([0.15, 0.05])
    assert trainer_lr(rc) == pytest.approx(0.001)

    algo = PPOAlgorithmConfig(n_epochs=5, epoch_length=1, n_rollout_steps=8, eval_repeats=1, stop_at_return=-1.0)
    rc = RunContext(env="cartpole", algorithm=algo, overrides={"runner.n_envs": 2}, seed=1, output_dir=run_root)
    rc.train()
    with open(rc.run_dir / "stats.csv") as f:
        assert len(list(csv.DictReader(f))) == 1  # any return reaches -1: stop after the first evaluation


def trainer_lr(rc):
    return rc.trainer.algorithm.optimizer.param_groups[0]["lr"]


@pytest.mark.parametrize("field, value, message", [
    ("clip_range", 0.0, "algorithm.clip_range=0.0 is invalid: expected a value in (0, 1)"),
    ("batch_size", 0, "algorithm.batch_size=0 is invalid: expected an integer >= 1"),
    ("n_optimization_epochs", 1.5, "algorithm.n_optimization_epochs=1.5 is invalid"),
    ("clip_range_vf", -0.1, "algorithm.clip_range_vf=-0.1 is invalid: expected a value > 0 or null"),
    ("target_kl", 0.0, "algorithm.target_kl=0.0 is invalid"),
    ("lr_schedule", "cosine", "algorithm.lr_schedule='cosine' is invalid: expected one of ('constant', 'linear')"),
    ("clip_range_schedule", "step", "algorithm.clip_range_schedule='step' is invalid: expected one of ('constant', "),
])
def test_ppo_config_rejects_bad_values_naming_the_key(field, value, message):
    with pytest.raises(ConfigError) as err:
        PPOAlgorithmConfig(**{field: value})
    assert message in str(err.value)


def test_ppo_yaml_equals_the_dataclass_defaults_and_bad_yaml_values_fail(run_root):
    from dataclasses import asdict
    rc = RunContext(algorithm="ppo", output_dir=run_root)
    yaml_values = {k: v for k, v in rc.config.algorithm.items() if k != "_target_"}
    assert yaml_values == asdict(PPOAlgorithmConfig())
    with pytest.raises(ConfigError, match="algorithm.clip_range=2.0 is invalid"):
        RunContext(algorithm="ppo", overrides={"algorithm.clip_range": 2.0}, output_dir=run_root).policy
