"""Per-sub-step and per-agent networks are separate (parameters and gradients), and mismatches between
agent counts / networks and the env's sub-steps fail at build time naming the sub-step."""
import pytest
import torch

from maze_cli import (A2CAlgorithmConfig, ConfigError, ProbabilisticPolicyComposer, RunContext,
                      SharedStateCriticComposer, StepStateCriticComposer)
from maze_cli.envs import PackingEnv
from maze_cli.models.default_nets import DefaultPolicyNet
from maze_cli.algorithms.a2c import A2C
from maze_cli.algorithms.actor_critic import loss_terms
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.samples import actor_samples as prepare_samples
from structured_helpers import MultiAgentEnv


def _composer(env, **kwargs):
    return ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                       agent_counts_dict=env.agent_counts_dict, **kwargs)


def _param_owner(policy):
    return {id(p): key for key, net in policy.networks.items() for p in net.parameters()}


def _gradient_reach(trainer, samples):
    """Network keys (policy and critic) whose parameters get a non-zero gradient from ``samples``' loss."""
    trainer.optimizer.zero_grad(set_to_none=True)
    log_probs, entropy, values = loss_terms(trainer.policy, trainer.critic, samples)
    (-(log_probs * samples.advantages).mean() - entropy.mean() + ((values - samples.returns) ** 2).mean()).backward()
    reached = set()
    for what, module in (("policy", trainer.policy), ("critic", trainer.critic)):
        for key, net in module.networks.items():
            if any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters()):
                reached.add(f"{what}:{key}")
    return reached


def _trainer_and_samples(env, env_fn, policy, critic, n_steps=12):
    collector = make_rollout_collector(env_fn, 4, "sequential", policy, critic, n_steps, 0, probe_env=env)
    samples = {s.actor_id: s for s in prepare_samples(collector.collect(), 0.9, 0.95)}
    collector.close()
    return A2C(A2CAlgorithmConfig(), policy, critic), samples


def test_each_sub_step_has_its_own_network_and_its_loss_reaches_only_that_network():
    env = PackingEnv()
    policy = _composer(env).policy
    critic = StepStateCriticComposer(env.observation_spaces_dict).critic
    assert sorted(policy.networks) == ["0", "1"] and sorted(critic.networks) == ["0", "1"]
    assert len(_param_owner(policy)) == sum(1 for _ in policy.parameters())  # no parameter shared
    # Different input/output shapes, and independently initialised weights.
    heads = {step: dict(zip(policy.networks[step].logit_shapes, policy.networks[step].heads)) for step in ("0", "1")}
    assert heads["0"]["item"].out_features == 3 and heads["1"]["bin"].out_features == 2
    assert not torch.equal(policy.networks["0"].trunk[0].weight[:, :2], policy.networks["1"].trunk[0].weight[:, :2])

    trainer, samples = _trainer_and_samples(env, PackingEnv, policy, critic)
    assert _gradient_reach(trainer, samples[(0, 0)]) == {"policy:0", "critic:0"}
    assert _gradient_reach(trainer, samples[(1, 0)]) == {"policy:1", "critic:1"}


def test_shared_critic_gets_gradients_from_every_sub_step():
    env = PackingEnv()
    policy = _composer(env).policy
    critic = SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=True).critic
    trainer, samples = _trainer_and_samples(env, PackingEnv, policy, critic)
    assert _gradient_reach(trainer, samples[(0, 0)]) == {"policy:0", "critic:0"}
    assert _gradient_reach(trainer, samples[(1, 0)]) == {"policy:1", "critic:0"}


def test_separate_agent_networks_are_separate_and_shared_ones_are_shared():
    env = MultiAgentEnv(episode_decisions=5)
    separate = _composer(env, substeps_with_separate_agent_nets=[1]).policy
    assert sorted(separate.networks) == ["0", "1_0", "1_1"]
    first = separate.networks["1_0"].trunk[0].weight
    assert first.shape == separate.networks["1_1"].trunk[0].weight.shape
    assert not torch.equal(first, separate.networks["1_1"].trunk[0].weight)
    critic = StepStateCriticComposer(env.observation_spaces_dict).critic
    trainer, samples = _trainer_and_samples(env, lambda: MultiAgentEnv(5), separate, critic)
    assert _gradient_reach(trainer, samples[(1, 0)]) == {"policy:1_0", "critic:1"}
    assert _gradient_reach(trainer, samples[(1, 1)]) == {"policy:1_1", "critic:1"}
    assert _gradient_reach(trainer, samples[(0, 0)]) == {"policy:0", "critic:0"}

    # A sub-step key serves every agent of that sub-step: one network each, built from the same config.
    by_step = _composer(env, substeps_with_separate_agent_nets=[1], networks={
        0: {"_target_": "maze_cli.models.DefaultPolicyNet", "hidden_units": [8]},
        1: {"_target_": "maze_cli.models.DefaultPolicyNet", "hidden_units": [16]}}).policy
    assert [by_step.networks[k].out_features for k in ("0", "1_0", "1_1")] == [8, 16, 16]
    assert by_step.networks["1_0"] is not by_step.networks["1_1"]

    shared = _composer(env).policy
    assert sorted(shared.networks) == ["0", "1"]
    trainer, samples = _trainer_and_samples(env, lambda: MultiAgentEnv(5), shared, critic)
    assert _gradient_reach(trainer, samples[(1, 1)]) == {"policy:1", "critic:1"}


def test_acting_routes_each_observation_to_its_actor_network():
    env = MultiAgentEnv()
    policy = _composer(env, substeps_with_separate_agent_nets=[1]).policy
    obs = {"b": torch.rand(4, 2)}
    for agent in (0, 1):
        expected = policy.networks[f"1_{agent}"](obs)["pick"]
        assert torch.equal(policy.distribution(obs, (1, agent)).distributions["pick"].logits, expected)
    assert not torch.equal(policy.logits(obs, (1, 0))["pick"], policy.logits(obs, (1, 1))["pick"])


# --- bad input: named sub-steps, at build time -----------------------------------------------------

def test_agent_counts_missing_or_extra_sub_step_is_named():
    env = PackingEnv()
    with pytest.raises(ValueError, match=r"policy: agent_counts_dict has sub-steps \[0\], but the env has sub-steps \[0, 1\]: no entry for sub-step 1"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict, agent_counts_dict={0: 1})
    with pytest.raises(ValueError, match="policy: agent_counts_dict .*: sub-step 2 is not one of the env's"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                    agent_counts_dict={0: 1, 1: 1, 2: 1})
    with pytest.raises(ValueError, match="agent_counts_dict\\[1\\] = 0: expected at least one agent in sub-step 1"):
        ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict, agent_counts_dict={0: 1, 1: 0})
    for composer in (SharedStateCriticComposer, StepStateCriticComposer):
        with pytest.raises(ValueError, match="critic: agent_counts_dict .*: no entry for sub-step 1"):
            composer(env.observation_spaces_dict, agent_counts_dict={0: 1})


def test_networks_not_matching_the_sub_steps_are_named():
    env = PackingEnv()
    with pytest.raises(ValueError, match=r"missing \['1'\]"):
        _composer(env, networks={0: {"_target_": "maze_cli.models.DefaultPolicyNet"}})
    with pytest.raises(ValueError, match="got 3 networks for 2 sub-steps"):
        _composer(env, networks=[{"_target_": "maze_cli.models.DefaultPolicyNet"}] * 3)
    # A network made for sub-step 0 given to sub-step 1 (other inputs and heads).
    def made_for_0():
        return DefaultPolicyNet({"items": (3,), "free": (2,)}, {"item": (3,)})
    made_for_1 = DefaultPolicyNet({"item": (1,), "free": (2,)}, {"bin": (2,)})
    with pytest.raises(ValueError, match="policy network for sub-step/agent '1' .* fails on a batch"):
        _composer(env, networks={0: made_for_0(), 1: made_for_0()})
    shared_instance = made_for_0()
    with pytest.raises(ValueError, match=r"one network instance cannot serve the sub-steps/agents \['0', '1'\]"):
        _composer(env, networks={0: shared_instance, 1: shared_instance})
    with pytest.raises(ValueError, match="sub-step/agent '0' .* returned \\['bin'\\], expected .* \\['item'\\]"):
        _composer(env, networks={0: DefaultPolicyNet({"items": (3,), "free": (2,)}, {"bin": (2,)}), 1: made_for_1})
    multi = MultiAgentEnv()
    with pytest.raises(ValueError, match=r"missing \['1_0', '1_1'\], unexpected \['2'\]"):
        _composer(multi, substeps_with_separate_agent_nets=[1],
                  networks={0: {"_target_": "maze_cli.models.DefaultPolicyNet"}, 2: {"_target_": "maze_cli.models.DefaultPolicyNet"}})
    with pytest.raises(ValueError, match=r"critic: networks keys \['0'\] .*missing \['1'\]"):
        StepStateCriticComposer(env.observation_spaces_dict, networks={0: {"_target_": "maze_cli.models.DefaultValueNet"}})
    with pytest.raises(ValueError, match="names sub-step 3"):
        _composer(env, substeps_with_separate_agent_nets=[3])


def test_shared_critic_without_stacking_names_the_differing_sub_step():
    env = PackingEnv()
    with pytest.raises(ValueError, match="sub-step 1's observation space differs from sub-step 0's.*stack_observations"):
        SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=False)


def test_build_refuses_a_policy_made_for_other_agent_counts(run_root):
    env = MultiAgentEnv()
    other = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                        agent_counts_dict={0: 1, 1: 3}, substeps_with_separate_agent_nets=[1])
    with pytest.raises(ConfigError, match="policy: has a network for agent 2 of sub-step 1 .* sub-step 1 has 2 agent"):
        RunContext(env=MultiAgentEnv, policy=other).policy
    fewer = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                        agent_counts_dict={0: 1, 1: 1}, substeps_with_separate_agent_nets=[1])
    with pytest.raises(ConfigError, match="policy: has no network for agent 1 of sub-step 1"):
        RunContext(env=MultiAgentEnv, policy=fewer).policy
    packing = PackingEnv()
    critic = StepStateCriticComposer({0: packing.observation_spaces_dict[0]})
    with pytest.raises(ConfigError, match="critic: has no value network for sub-step 1"):
        RunContext(env=PackingEnv, critic=critic).policy


def test_env_whose_agent_counts_do_not_match_its_sub_steps_is_refused_at_build(run_root):
    class Broken(MultiAgentEnv):
        @property
        def agent_counts_dict(self):
            return {0: 1}
    with pytest.raises(ConfigError, match="agent_counts_dict has sub-steps .*: no entry for sub-step 1"):
        RunContext(env=Broken).policy
