"""Evolution strategies: noise, ranks and the update against hand-computed values, members acting with their
own weights, bad settings, resume, and learning CartPole on the dev and local runners."""
import csv

import numpy as np
import pytest
import torch
from torch.func import functional_call

from maze_cli import ConfigError, ESAlgorithmConfig, GymMazeEnv, ProbabilisticPolicyComposer, RunContext
from maze_cli.algorithms.es import ES, PopulationBatch, centered_ranks
from maze_cli.envs.vector import SequentialVectorEnv
from maze_cli.train.population import PopulationCollector

from cli_helpers import maze_run, only_run_dir


def cartpole_es(**settings):
    env = GymMazeEnv("CartPole-v1")
    policy = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict).policy
    config = ESAlgorithmConfig(**{"noise_table_size": 100_000, **settings})
    return env, policy, ES(config, policy)


def stats_rows(run_dir):
    with open(run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


def test_centered_ranks_by_hand():
    assert centered_ranks(np.array([3.0, 1.0, 2.0, 10.0])) == pytest.approx([1 / 6, -0.5, -1 / 6, 0.5])
    np.testing.assert_allclose(centered_ranks(np.array([[10.0, 0.0], [3.0, 5.0]])), [[0.5, -0.5], [-1 / 6, 1 / 6]])


def test_members_are_antithetic_slices_of_the_noise_table():
    _, _, es = cartpole_es(n_pairs=3, sigma=0.1)
    theta = es._flat_weights()
    population = es.population()
    members = torch.stack([torch.cat([population.parameters[key][name][m].reshape(-1) for key, name, _ in es.named])
                           for m in range(population.size)])
    eps = es.noise.slices(population.offsets, es.n_weights)
    assert torch.allclose(members[0::2] - theta, 0.1 * eps, atol=1e-6)
    assert torch.allclose(members[1::2] - theta, -0.1 * eps, atol=1e-6)


def test_each_env_acts_with_its_members_weights():
    env, policy, es = cartpole_es(n_pairs=2)
    collector = PopulationCollector(SequentialVectorEnv([GymMazeEnv("CartPole-v1") for _ in range(4)]), es, seed=0)
    population = es.population()
    obs = policy.converters[0]({"observation": np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)})
    rows = np.array([3, 0, 2])  # envs 3, 0 and 2 wait for the actor
    logits = collector._member_logits(population, (0, 0), obs, rows)["action"]
    network = policy.networks["0"]
    for i, member in enumerate(rows):
        weights = {name: value[member] for name, value in population.parameters["0"].items()}
        expected = functional_call(network, weights, ({k: v[i:i + 1] for k, v in obs.items()},))["action"][0]
        assert torch.allclose(logits[i], expected, atol=1e-6)
    collector.close()


def test_update_is_one_adam_step_along_the_rank_weighted_noise():
    _, _, es = cartpole_es(n_pairs=2, lr=0.01, l2_coef=0.005)
    theta = es._flat_weights().clone()
    offsets = np.array([7, 1234])
    returns = np.array([10.0, 0.0, 3.0, 5.0])  # pairs (+eps0, -eps0), (+eps1, -eps1)
    stats = es.update(PopulationBatch(offsets, returns, np.ones(4, dtype=np.int64), []), 0, 0.0)
    eps = es.noise.slices(offsets, es.n_weights)
    ascent = (1.0 * eps[0] - (1 / 3) * eps[1]) / 4  # rank weights 0.5 - (-0.5) and -1/6 - 1/6
    gradient = -ascent + 0.005 * theta
    adam_first_step = 0.01 * gradient / (gradient.abs() + 1e-8)  # m / sqrt(v) after one bias-corrected step
    assert torch.allclose(es._flat_weights(), theta - adam_first_step, atol=1e-6)
    assert stats["es/population_return_mean"] == 4.5 and stats["es/ascent_norm"] == pytest.approx(float(ascent.norm()))


def test_a_non_finite_return_stops_the_update_naming_it():
    _, _, es = cartpole_es(n_pairs=1)
    with pytest.raises(ValueError, match="not finite"):
        es.update(PopulationBatch(np.array([0]), np.array([1.0, np.nan]), np.ones(2, dtype=np.int64), []), 0, 0.0)


@pytest.mark.parametrize("overrides, message", [
    ({"algorithm.noise_table_size": 1000}, "algorithm.noise_table_size=1000: the policy's networks have 4,"),
    ({"algorithm.n_pairs": 0}, "algorithm.n_pairs=0 is invalid"),
    ({"algorithm.sigma": -0.1}, "algorithm.sigma=-0.1 is invalid"),
    ({"budget.env_steps": 10000}, "budget: ESAlgorithmConfig plays whole episodes"),
])
def test_bad_es_settings_fail_before_training(run_root, overrides, message):
    rc = RunContext(env="cartpole", algorithm="es", overrides=overrides)
    with pytest.raises(ConfigError, match=message):
        rc.train()
    assert not list(run_root.glob("outputs/*/*/stats.csv"))


def test_cli_run_resumes_its_generations_and_rolls_out(run_root):
    args = ["env=cartpole", "algorithm=es", "algorithm.n_pairs=2", "algorithm.n_epochs=1", "algorithm.epoch_length=3",
            "algorithm.eval_repeats=2"]
    first = maze_run(args, cwd=run_root)
    assert first.returncode == 0, first.stderr
    run = only_run_dir(run_root)
    rows = stats_rows(run)
    assert float(rows[-1]["es/generations"]) == 3 and float(rows[-1]["train/episode_count"]) == 4
    assert int(rows[-1]["time/env_steps"]) >= 3 * 4 * 8  # every member's episode is counted (>= 8 steps each)
    resumed = maze_run(args + [f"input_dir={run}", "algorithm.n_epochs=2"], cwd=run_root)
    assert resumed.returncode == 0, resumed.stderr
    second = [p for p in run_root.glob("outputs/*/*") if p != run][0]
    last = stats_rows(second)[-1]
    generations = 3 * int(last["epoch"])
    assert int(last["epoch"]) >= 2 and float(last["es/generations"]) == generations, "the generation count carries on"
    state = torch.load(second / "checkpoints" / "last.pt", weights_only=True)
    assert int(state["optimizer"]["state"][0]["step"]) == generations, "and so does Adam's state"
    rollout = maze_run(["-cn", "rollout", f"input_dir={second}", "n_episodes=2"], cwd=run_root)
    assert rollout.returncode == 0, rollout.stderr


@pytest.mark.learning
@pytest.mark.parametrize("seed", [6, 7])
def test_es_solves_cartpole(run_root, seed):
    """The preset was tuned on seeds 1-5; 150 generations at most."""
    rc = RunContext(experiment="cartpole_es", seed=seed, output_dir=run_root)
    best = rc.train()
    rows = stats_rows(rc.run_dir)
    assert float(rows[-1]["eval/best_return"]) == best >= 475, [r["eval/episode_return_mean"] for r in rows]


@pytest.mark.learning
def test_es_solves_acrobot_within_ten_generations(run_root):
    """The preset was tuned on seeds 1-3 (solved after 5 generations on each)."""
    rc = RunContext(experiment="acrobot_es", seed=4, output_dir=run_root, overrides={"algorithm.n_epochs": 2})
    assert rc.train() >= -100


@pytest.mark.learning
def test_es_solves_cartpole_with_its_episodes_in_two_worker_processes(run_root):
    rc = RunContext(experiment="cartpole_es", runner="local", seed=6, output_dir=run_root,
                    overrides={"runner.n_workers": 2})
    best = rc.train()
    assert best >= 475
    assert "cartpole-es-local" in str(rc.run_dir)


class ItemCallingNet(torch.nn.Module):
    """A network that reads a value out of a tensor (``.item()``), which vmap cannot batch."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, obs):
        x = obs["observation"]
        return {"action": self.linear(x * 0 if x.abs().max().item() > 1e9 else x)}


def test_a_network_that_cannot_be_vmapped_is_named():
    env = GymMazeEnv("CartPole-v1")
    policy = ProbabilisticPolicyComposer(env.action_spaces_dict, env.observation_spaces_dict,
                                         networks={0: ItemCallingNet()}).policy
    es = ES(ESAlgorithmConfig(n_pairs=1, noise_table_size=1000), policy)
    collector = PopulationCollector(SequentialVectorEnv([GymMazeEnv("CartPole-v1") for _ in range(2)]), es, seed=0)
    with pytest.raises(RuntimeError, match="policy network '0' \\(ItemCallingNet\\) cannot be vmapped: vmap: .*item"):
        collector.collect()
    collector.close()


def _generation_returns(runner, env, n_pairs=4, **runner_options):
    """One generation's member returns, played through the runner's population collector."""
    from maze_cli.build import build
    from maze_cli.config_compose import compose_config
    cfg, _ = compose_config(["algorithm=es", f"algorithm.n_pairs={n_pairs}", f"runner={runner}", "seed=3",
                             *[f"runner.{k}={v}" for k, v in runner_options.items()]])
    components = build(cfg, env=env)
    algorithm = components.make_trainer().algorithm
    collector = components.runner.make_population_collector(components.env_factory, algorithm, 11,
                                                            components.probe_env)
    try:
        batch = collector.collect()
        return batch, collector.pop_episode_stats()
    finally:
        collector.close()


def test_worker_processes_play_exactly_the_generation_the_trainer_would():
    """runner=local sends each worker only noise offsets; its members and env seeds are runner=dev's."""
    import functools
    from maze_cli.envs.expensive import ExpensiveGymEnv
    env = functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=0.0)  # one gymnasium env per member
    in_process, _ = _generation_returns("dev", env)
    in_workers, stats = _generation_returns("local", env, n_workers=3)  # 4 chunks of one pair, as workers free up
    np.testing.assert_array_equal(in_workers.offsets, in_process.offsets)
    np.testing.assert_array_equal(in_workers.returns, in_process.returns)
    np.testing.assert_array_equal(in_workers.lengths, in_process.lengths)
    assert stats["train/episode_count"] == 8 and stats["train/episode_return_mean"] == in_process.returns.mean()


def test_a_dead_population_worker_is_named_or_replaced(run_root):
    from maze_cli.envs import EnvWorkerDied
    with pytest.raises(EnvWorkerDied, match=r"population worker 1 \(pid \d+\) died with exit code -9; the run stops"):
        _generation_returns("local", _killing_env, n_workers=2)
    batch, stats = _generation_returns("local", _killing_env_once(run_root), n_workers=2,
                                       on_worker_failure="restart")
    assert len(batch.returns) == 8 and np.isfinite(batch.returns).all()
    assert stats["time/worker_restarts"] == 1.0


def test_a_hung_population_worker_is_killed_and_named(run_root):
    from maze_cli.envs import EnvWorkerDied
    import faulty_envs
    env = functools_partial(faulty_envs.hanging_cartpole, hang_at=5)
    with pytest.raises(EnvWorkerDied, match=r"population worker 0 \(pid \d+\) took no env step for 1 s"):
        _generation_returns("local", env, n_pairs=2, n_workers=1, step_timeout_s=1)


def functools_partial(fn, **kwargs):
    import functools
    return functools.partial(fn, **kwargs)


class _KillingCartPole(GymMazeEnv):
    """CartPole whose 5th step SIGKILLs its process, in the worker playing the second half of the pairs."""

    def __init__(self, marker=None):
        super().__init__("CartPole-v1")
        self.steps, self.marker = 0, marker

    def step(self, action):
        import multiprocessing
        import os
        import signal
        self.steps += 1
        in_last_worker = multiprocessing.current_process().name.endswith("worker-1")
        if self.steps == 5 and in_last_worker and not (self.marker and os.path.exists(self.marker)):
            if self.marker:
                open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().step(action)


def _killing_env():
    return _KillingCartPole()


def _killing_env_once(directory):
    return functools_partial(_KillingCartPole, marker=str(directory / "killed"))


def test_ray_actors_play_exactly_the_generation_the_trainer_would(ray_session):
    import functools
    from maze_cli.envs.expensive import ExpensiveGymEnv
    env = functools.partial(ExpensiveGymEnv, "CartPole-v1", step_cost_ms=0.0)
    in_process, _ = _generation_returns("dev", env)
    on_ray, stats = _generation_returns("ray", env, num_workers=2)
    np.testing.assert_array_equal(on_ray.returns, in_process.returns)
    np.testing.assert_array_equal(on_ray.lengths, in_process.lengths)
    assert stats["train/episode_count"] == 8


def test_es_on_ray_survives_a_killed_actor(ray_session, run_root):
    import os
    import signal
    import threading
    import time
    rc = RunContext(experiment="cartpole_es", runner="ray", seed=6, output_dir=run_root,
                    overrides={"runner.num_workers": 2, "algorithm.n_epochs": 4, "algorithm.stop_at_return": None})
    killed = []

    def kill():
        while rc.trainer is None or rc.trainer.collector is None or rc.trainer.epoch < 1:
            time.sleep(0.02)
        pid = rc.trainer.collector.worker_pids()[1]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    rc.train()
    thread.join(timeout=5)
    assert killed
    rows = stats_rows(rc.run_dir)
    assert len(rows) == 4 and float(rows[-1]["time/worker_restarts"]) >= 1
