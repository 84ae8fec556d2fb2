"""The structured collector: bookkeeping against a scripted env, stacked critic inputs, routing per actor,
and the subprocess vector env (same data as in-process, errors and dead workers named)."""
import os
import signal

import pytest
import torch

from maze_cli import GymMazeEnv, ProbabilisticPolicyComposer, SharedStateCriticComposer, StepStateCriticComposer
from maze_cli.envs import PackingEnv
from maze_cli.envs.vector import EnvError, EnvWorkerDied
from maze_cli.train.collectors import make_rollout_collector
from maze_cli.train.batch import RolloutBatch
from maze_cli.train.rollout import RolloutCollector
from maze_cli.train.samples import actor_samples as prepare_samples
from structured_helpers import FailingEnv, FixedChoice, MultiAgentEnv, ObsValue, ScriptedEnv


def _policy(env, **kwargs):
    return ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                       agent_counts_dict=env.agent_counts_dict, **kwargs).policy


def test_scripted_rollout_rewards_values_and_returns_per_sub_step():
    """One env, 6 decisions: episode 1 = t0..t3 (truncated after t3, final observation v=5), episode 2 = t4, t5.

    Values are the observations' v: [1, 2, 3, 4, 1, 2], end value 5, last value 3 (decision k=2 of episode 2).
    Sub-step 0's steps reward 1, sub-step 1's steps reward 10. gamma = 0.5, lambda = 1:
    actor 0: t4: 1+10 + .5*3 - 1 = 11.5;  t2: 11 + .5*5 - 3 = 10.5;  t0: 11 + .5*3 - 1 = 11.5 -> + .5*10.5 = 16.75
    actor 1: t5: 10 + .5*3 - 2 = 9.5;  t3: 10 + .5*5 - 4 = 8.5;  t1: 10+1 + .5*4 - 2 = 11 -> + .5*8.5 = 15.25
    """
    env = ScriptedEnv()
    critic = StepStateCriticComposer(env.observation_spaces_dict, networks=[ObsValue(), ObsValue()]).critic
    collector = make_rollout_collector(ScriptedEnv, 1, "sequential", _policy(env), critic, n_steps=6, seed=0)
    assert isinstance(collector, RolloutCollector)
    batch = collector.collect()

    assert batch.actors[:, 0].tolist() == [0, 1, 0, 1, 0, 1]
    assert batch.values[:, 0].tolist() == [1, 2, 3, 4, 1, 2]
    assert batch.rewards[:, 0].tolist() == [1, 10, 1, 10, 1, 10]
    assert batch.episode_end[:, 0].tolist() == [False, False, False, True, False, False]
    assert batch.end_values[3, 0] == 5.0 and batch.last_values.tolist() == [3.0]
    assert batch.env_steps == 3 and collector.env_steps == 3
    stats = collector.pop_episode_stats()
    assert stats["train/episode_count"] == 1
    assert stats["train/episode_return_mean"] == 22 and stats["train/episode_length_mean"] == 2

    samples = {s.actor_id: s for s in prepare_samples(batch, gamma=0.5, gae_lambda=1.0)}
    assert sorted(samples) == [(0, 0), (1, 0)]
    assert samples[(0, 0)].returns.tolist() == [16.75 + 1, 10.5 + 3, 11.5 + 1]
    assert samples[(1, 0)].returns.tolist() == [15.25 + 2, 8.5 + 4, 9.5 + 2]
    assert samples[(0, 0)].old_values.tolist() == [1, 3, 1]
    # Each actor's samples carry its own sub-step's observations and actions.
    assert set(samples[(0, 0)].observations) == {"v", "x"} and set(samples[(1, 0)].observations) == {"v", "y"}
    assert samples[(1, 0)].observations["y"].shape == (3, 3)  # Discrete(3), one-hot
    assert samples[(1, 0)].actions["amount"].shape == (3, 1)
    for s in samples.values():  # normalised per actor
        assert abs(float(s.advantages.mean())) < 1e-6 and abs(float(s.advantages.std(unbiased=False)) - 1) < 1e-4
    collector.close()


def test_stacked_critic_reads_every_sub_step_of_the_current_flat_step():
    """The stacked input holds sub-step 0's and 1's observations of the current flat step (zeros before
    a sub-step was seen in it); the critic here values a decision by sub-step 0's v of its flat step."""
    env = ScriptedEnv()
    critic = SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=True,
                                       networks=ObsValue("substep0/v")).critic
    collector = make_rollout_collector(ScriptedEnv, 1, "sequential", _policy(env), critic, n_steps=6, seed=0)
    batch = collector.collect()

    stacked = batch.critic_observations
    assert stacked["substep0/v"][:, 0, 0].tolist() == [1, 1, 3, 3, 1, 1]
    assert stacked["substep1/v"][:, 0, 0].tolist() == [0, 2, 0, 4, 0, 2]
    assert stacked["substep"][:, 0].tolist() == [[1, 0], [0, 1]] * 3
    assert stacked["substep1/y"][1, 0].tolist() == [0, 1, 0]  # decision k=1 observes y = 1
    assert batch.values[:, 0].tolist() == [1, 1, 3, 3, 1, 1]
    assert batch.end_values[3, 0] == 5.0  # final observation (sub-step 0, v=5) in a fresh flat step
    assert batch.last_values.tolist() == [3.0]
    samples = {s.actor_id: s for s in prepare_samples(batch, 0.5, 1.0)}
    assert samples[(1, 0)].critic_observations["substep0/v"][:, 0].tolist() == [1, 3, 1]
    collector.close()


def test_envs_at_different_actors_are_routed_to_their_own_agent_networks():
    """Episodes of 4 and 5 decisions over a 3-decision cycle desynchronise the envs; every env still gets
    each decision from the network of the actor it waits for (fixed choices: 2, 0, 1)."""
    lengths = [4, 5, 3]
    envs = [MultiAgentEnv(n) for n in lengths]
    factories = iter(envs)
    probe = MultiAgentEnv()
    policy = _policy(probe, substeps_with_separate_agent_nets=[1],
                     networks={"0": FixedChoice(2, 3), "1_0": FixedChoice(0, 2), "1_1": FixedChoice(1, 2)})
    critic = StepStateCriticComposer(probe.observation_spaces_dict).critic
    collector = make_rollout_collector(lambda: next(factories), 3, "sequential", policy, critic, n_steps=12,
                                       seed=0, probe_env=probe)
    batch = collector.collect()

    expected_choice = {(0, 0): 2, (1, 0): 0, (1, 1): 1}
    for index, env in enumerate(envs):
        assert len(env.log) == 12
        assert all(action == expected_choice[actor] for actor, action in env.log)
        actors = [batch.actor_ids[a] for a in batch.actors[:, index].tolist()]
        assert actors == [actor for actor, _ in env.log]
    assert {tuple(batch.actors[0].tolist())} == {(0, 0, 0)}
    assert len({tuple(row.tolist()) for row in batch.actors}) > 1 and \
        any(len(set(row.tolist())) > 1 for row in batch.actors)  # envs were at different actors at once
    samples = {s.actor_id: s for s in prepare_samples(batch, 0.9, 0.9)}
    assert sorted(samples) == [(0, 0), (1, 0), (1, 1)]
    assert (samples[(1, 1)].actions["pick"] == 1).all() and (samples[(1, 0)].actions["pick"] == 0).all()
    collector.close()


def test_unknown_actor_is_reported_naming_it():
    class Rogue(MultiAgentEnv):
        def actor_id(self):
            return (1, 5)
    probe = MultiAgentEnv()
    policy = _policy(probe)
    critic = StepStateCriticComposer(probe.observation_spaces_dict).critic
    with pytest.raises(EnvError, match=r"actor \(sub-step, agent\) = \(1, 5\)"):
        make_rollout_collector(Rogue, 2, "sequential", policy, critic, 4, 0, probe_env=probe).collect()


def test_flat_envs_are_the_single_actor_case_of_the_same_collector():
    env = GymMazeEnv("CartPole-v1")
    policy = _policy(env)
    critic = SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=True).critic
    assert critic.stacking is None  # a no-op for single-sub-step envs
    collector = make_rollout_collector(lambda: GymMazeEnv("CartPole-v1"), 2, "sequential", policy, critic, 4, 0)
    assert isinstance(collector, RolloutCollector)
    batch = collector.collect()
    assert batch.actor_ids == [(0, 0)] and batch.critic_observations is None
    assert [s.actor_id for s in prepare_samples(batch, 0.9, 1.0)] == [(0, 0)]
    collector.close()


# categorical; gSDE Gaussian on normalised observations (the preset reads raw ones)
@pytest.mark.parametrize("preset, normalization", [("cartpole_ppo", "none"), ("pendulum_ppo", "obs_norm")])
def test_log_probs_and_values_of_one_forward_after_the_rollout_are_each_steps_own(preset, normalization, tmp_path):
    """A single-actor rollout scores its actions and values its observations in one batched forward after the
    rollout; they must be what the policy and critic give for each step's batch of envs alone."""
    from maze_cli import RunContext
    from maze_cli.runners.local import DevRunner
    parts = RunContext(experiment=preset, normalization=normalization, seed=3, output_dir=tmp_path).components
    if normalization == "obs_norm":
        assert parts.policy.observation_normalizer is not None
    collector = DevRunner(n_envs=3).make_collector(parts.env_factory, parts.policy, parts.critic, 12, 3,
                                                   parts.probe_env)
    batch = collector.collect()
    collector.close()
    with torch.inference_mode():
        for t in range(12):
            obs = {key: value[t] for key, value in batch.observations[0].items()}
            actions = {key: value[t] for key, value in batch.actions[0].items()}
            torch.testing.assert_close(batch.log_probs[t], parts.policy.distribution(obs).log_prob(actions))
            torch.testing.assert_close(batch.values[t], parts.critic.predict_value(obs, 0))
    assert batch.log_probs.abs().sum() > 0  # filled in, not the storage's zeros


def _packing_batch(mode: str, envs_per_worker: int = 1) -> RolloutBatch:
    env = PackingEnv()
    torch.manual_seed(5)
    policy = _policy(env)
    critic = SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=True).critic
    collector = make_rollout_collector(PackingEnv, 4, mode, policy, critic, 10, seed=3,
                                       envs_per_worker=envs_per_worker)
    try:
        torch.manual_seed(7)
        collector.collect()
        return collector.collect()
    finally:
        collector.close()


def test_subprocess_workers_give_the_same_rollout_as_in_process():
    sequential = _packing_batch("sequential")
    for envs_per_worker in (1, 3):
        parallel = _packing_batch("subprocess", envs_per_worker)
        for name in ("actors", "rewards", "values", "last_values", "episode_end", "log_probs"):
            assert torch.equal(getattr(sequential, name), getattr(parallel, name)), name
        assert torch.equal(sequential.observations[0]["items"], parallel.observations[0]["items"])
        assert torch.equal(sequential.critic_observations["substep1/item"], parallel.critic_observations["substep1/item"])


@pytest.mark.parametrize("mode", ["sequential", "subprocess"])
def test_env_error_names_the_env_and_step(mode):
    env = ScriptedEnv()
    critic = StepStateCriticComposer(env.observation_spaces_dict).critic
    collector = make_rollout_collector(FailingEnv, 2, mode, _policy(env), critic, 5, 0, probe_env=env)
    try:
        with pytest.raises(EnvError, match=r"env worker 0 .* raised in step at step 3: RuntimeError: conveyor jammed"):
            collector.collect()
    finally:
        collector.close()


def test_dead_worker_is_reported():
    env = ScriptedEnv()
    critic = StepStateCriticComposer(env.observation_spaces_dict).critic
    collector = make_rollout_collector(ScriptedEnv, 2, "subprocess", _policy(env), critic, 3, 0, probe_env=env)
    try:
        collector.collect()
        os.kill(collector.vector_env.processes[1].pid, signal.SIGKILL)
        with pytest.raises(EnvWorkerDied, match="env worker 1 .* died"):
            collector.collect()
    finally:
        collector.close()


def test_batches_of_env_groups_join_along_the_env_axis():
    """What a distributed runner does with its workers' rollouts: the joined batch trains like one."""
    env = ScriptedEnv()
    policy = _policy(env)
    critic = SharedStateCriticComposer(env.observation_spaces_dict, stack_observations=True).critic
    parts = []
    for flat_steps, seed in ((2, 0), (3, 10)):
        collector = make_rollout_collector(lambda: ScriptedEnv(flat_steps), 2, "sequential", policy, critic, 7, seed,
                                           probe_env=env)
        parts.append(collector.collect())
        collector.close()
    joined = RolloutBatch.concat_envs(parts)
    assert joined.actors.shape == (7, 4) and joined.last_values.shape == (4,)
    assert joined.critic_observations["substep"].shape == (7, 4, 2)
    assert joined.env_steps == parts[0].env_steps + parts[1].env_steps
    separate = [prepare_samples(part, 0.9, 1.0) for part in parts]
    for index, samples in enumerate(prepare_samples(joined, 0.9, 1.0)):
        expected = torch.cat([part[index].returns for part in separate])
        assert torch.allclose(samples.returns.sort().values, expected.sort().values)
