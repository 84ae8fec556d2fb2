"""Imitation: trajectory datasets, the BC loss, bad datasets, warm starts and cloning a CartPole heuristic."""
import csv
import json
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from maze_cli import ConfigError, RunContext
from maze_cli.algorithms.bc import BC
from maze_cli.build import EnvFactory, build
from maze_cli.config_compose import compose_config
from maze_cli.distributions import (CategoricalProbabilityDistribution, DictProbabilityDistribution,
                                    SquashedGaussianProbabilityDistribution)
from maze_cli.examples.acrobot import AcrobotHeuristic
from maze_cli.examples.cartpole import CartPoleHeuristic
from maze_cli.examples.lunar_lander import LunarLanderHeuristic
from maze_cli.examples.mountain_car import MountainCarHeuristic
from maze_cli.imitation.dataset import DatasetError, TrajectoryWriter, load_trajectories
from maze_cli.imitation.recording import controller_act, play_episodes
from maze_cli.examples.pendulum import PendulumHeuristic
from maze_cli.train.checkpoint import CheckpointError, load_checkpoint

from cli_helpers import maze_run

OBS = {0: gym.spaces.Dict({"image": gym.spaces.Box(0, 255, (3, 2), np.uint8),
                           "position": gym.spaces.Box(-1.0, 1.0, (2,), np.float64)}),
       1: gym.spaces.Dict({"count": gym.spaces.Box(0, 9, (), np.int16)})}
ACTIONS = {0: gym.spaces.Dict({"move": gym.spaces.Discrete(3), "force": gym.spaces.Box(-2.0, 2.0, (2,), np.float32)}),
           1: gym.spaces.Dict({"pick": gym.spaces.MultiBinary(4)})}


def write_structured(directory, n_episodes=5, episodes_per_shard=2):
    """Episodes of alternating sub-steps 0 and 1 (two agents at sub-step 1) with random spaces samples."""
    writer = TrajectoryWriter(directory, "toy", OBS, ACTIONS, episodes_per_shard)
    for space in list(OBS.values()) + list(ACTIONS.values()):
        space.seed(0)
    written = []
    for episode in range(n_episodes):
        length = 3 + episode
        for t in range(length):
            step, agent = t % 2, (t // 2) % 2 if t % 2 else 0
            obs, action = OBS[step].sample(), ACTIONS[step].sample()
            written.append((step, agent, obs, action))
            writer.add((step, agent), obs, action, reward=0.5 * t, terminated=t == length - 1, truncated=False)
    writer.add((0, 0), OBS[0].sample(), ACTIONS[0].sample(), 1.0, False, False)  # unfinished: dropped
    return writer.close(), written


def test_dataset_round_trip_keeps_arrays_and_dtypes_and_loads_with_numpy_alone(tmp_path):
    directory, written = write_structured(tmp_path / "data")
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["episodes"] == 5 and len(manifest["shards"]) == 3 and manifest["decisions"] == len(written)
    assert manifest["returns"][0] == pytest.approx(0.0 + 0.5 + 1.0)
    data = load_trajectories(directory)
    assert data.rows["sub_step"].tolist() == [s for s, _, _, _ in written]
    assert data.rows["agent"].tolist() == [a for _, a, _, _ in written]
    assert data.rows["terminated"].sum() == 5 and data.rows["episode"].max() == 4
    for step in (0, 1):
        rows = [(obs, action) for s, _, obs, action in written if s == step]
        for key, space in OBS[step].spaces.items():
            assert data.observations[step][key].dtype == space.dtype
            np.testing.assert_array_equal(data.observations[step][key], np.stack([o[key] for o, _ in rows]))
        for head, space in ACTIONS[step].spaces.items():
            assert data.actions[step][head].dtype == space.dtype
            np.testing.assert_array_equal(data.actions[step][head], np.stack([a[head] for _, a in rows]))
    script = ("import json, sys, numpy as np\n"
              f"d = {str(directory)!r}\n"
              "m = json.load(open(d + '/manifest.json'))\n"
              "images = np.concatenate([np.load(d + '/' + s['file'])['observations/0/image'] for s in m['shards']])\n"
              "assert 'maze_cli' not in sys.modules and 'torch' not in sys.modules\n"
              "print(images.dtype, int(images.sum()))\n")
    bare = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert bare.returncode == 0, bare.stderr
    images = data.observations[0]["image"]
    assert bare.stdout.split() == ["uint8", str(int(images.astype(np.int64).sum()))]


def test_truncated_shard_and_missing_manifest_are_refused_naming_the_file(tmp_path):
    directory, _ = write_structured(tmp_path / "data")
    shard = directory / "shard_00001.npz"
    shard.write_bytes(shard.read_bytes()[:200])
    with pytest.raises(DatasetError, match="shard_00001.npz is corrupt or truncated"):
        load_trajectories(directory)
    with pytest.raises(DatasetError, match=f"dataset {tmp_path}: no manifest.json"):
        load_trajectories(tmp_path)


def test_nll_of_recorded_actions_by_hand_for_a_categorical_and_a_squashed_box_head():
    discrete = CategoricalProbabilityDistribution(torch.tensor([[0.0, math.log(3.0)]]), gym.spaces.Discrete(2))
    box = SquashedGaussianProbabilityDistribution(torch.tensor([[0.5]]), gym.spaces.Box(-2.0, 2.0, (1,)),
                                                  log_std=torch.tensor([math.log(0.5)]))
    dist = DictProbabilityDistribution({"move": discrete, "force": box})
    recorded = {"move": torch.tensor([1]), "force": torch.tensor([[1.0]])}
    nll = -dist.log_prob(dist.from_env_actions(recorded)).item()
    u = math.atanh(1.0 / 2.0)  # the env action 1.0 of Box(-2, 2) is 2 * tanh(u)
    gaussian = -0.5 * ((u - 0.5) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)
    by_hand = -math.log(3 / 4) - (gaussian - math.log(2.0 * (1 - 0.5 ** 2)))
    assert nll == pytest.approx(by_hand, rel=1e-5)
    # a saturated controller's action on the bound stays finite
    edge = box.from_env_action(torch.tensor([[2.0]]))
    assert torch.isfinite(box.log_prob(edge)).all()


class ZeroTorque:
    def compute_action(self, observation):
        return {"action": np.zeros(1)}


class BangBang:
    """Pendulum-v1: full torque against the angular velocity, so every recorded action is on a Box bound."""

    def compute_action(self, observation):
        return {"action": np.array([-2.0 if observation["observation"][2] > 0 else 2.0], dtype=np.float32)}


def record_heuristic(directory, n_episodes, env="cartpole", seed=0, controller=None):
    node = {"_target_": "maze_cli.envs.make_gym_env", "name": "CartPole-v1" if env == "cartpole" else env}
    env_obj = EnvFactory(node)()
    writer = TrajectoryWriter(directory, node["name"], env_obj.observation_spaces_dict, env_obj.action_spaces_dict)
    returns = play_episodes(env_obj, controller_act(controller or CartPoleHeuristic(), "test"), n_episodes, seed,
                            writer)
    writer.close()
    return float(np.mean(returns)) if returns else math.nan


@pytest.mark.parametrize("env, controller, low, high", [("MountainCar-v0", MountainCarHeuristic(), -125, -112),
                                                         ("Acrobot-v1", AcrobotHeuristic(), -100, -75),
                                                         ("Pendulum-v1", PendulumHeuristic(), -300, -140),
                                                         ("LunarLander-v3", LunarLanderHeuristic(), 180, 230)])
def test_example_heuristics_score_what_their_docstrings_say(tmp_path, env, controller, low, high):
    assert low <= record_heuristic(tmp_path / "data", 20, env=env, controller=controller) <= high


def stats_rows(run_dir):
    with open(run_dir / "stats.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("case, message", [
    ("missing", "no manifest.json there"),
    ("empty", "holds no decisions"),
    ("other env", "recorded with observation space .* at sub-step 0, but the env has"),
    ("unset", "algorithm.dataset=None is invalid"),
])
def test_bad_datasets_fail_before_training_naming_the_path(run_root, case, message):
    path = run_root / "data"
    if case == "empty":
        record_heuristic(path, 0)
    elif case == "other env":
        record_heuristic(path, 1, env="Pendulum-v1", controller=ZeroTorque())
    overrides = {} if case == "unset" else {"algorithm.dataset": str(path)}
    rc = RunContext(env="cartpole", algorithm="bc", overrides=overrides)
    with pytest.raises(ValueError, match=message) as error:
        rc.train()
    if case != "unset":
        assert str(path) in str(error.value)
    assert not list(run_root.glob("outputs/*/*/stats.csv"))


def test_bc_clones_the_cartpole_heuristic_and_ppo_warm_starts_from_it(run_root):
    heuristic = record_heuristic(run_root / "data", 20)
    rc = RunContext(env="cartpole", algorithm="bc", seed=3,
                    overrides={"algorithm.dataset": str(run_root / "data"), "algorithm.n_epochs": 4,
                               "algorithm.epoch_length": 100, "algorithm.eval_repeats": 10, "runner.n_envs": 1})
    best = rc.train()
    rows = stats_rows(rc.run_dir)
    assert float(rows[-1]["train/bc_validation_accuracy"]) > 0.9
    assert float(rows[-1]["losses/bc_nll"]) < float(rows[0]["losses/bc_nll"])
    assert best >= 0.9 * heuristic, (heuristic, [r["eval/episode_return_mean"] for r in rows])
    # PPO starts from the BC weights: its first evaluation, before PPO has changed much, is already BC-like
    ppo = RunContext(env="cartpole", algorithm="ppo", seed=3,
                     overrides={"policy.init_from": str(rc.run_dir), "algorithm.n_epochs": 1,
                                "algorithm.epoch_length": 1, "algorithm.n_rollout_steps": 16,
                                "algorithm.eval_repeats": 5, "algorithm.deterministic_eval": True})
    ppo.train()
    assert float(stats_rows(ppo.run_dir)[0]["eval/episode_return_mean"]) >= 0.7 * heuristic


def normalizer_state(checkpoint):
    return {k: v for k, v in load_checkpoint(checkpoint)["policy"].items() if k.startswith("observation_normalizer.")}


def test_bc_normalises_with_the_datasets_statistics_and_a_warm_start_keeps_them(run_root):
    record_heuristic(run_root / "data", 5, env="Acrobot-v1", controller=AcrobotHeuristic())
    bc = RunContext(env="acrobot", algorithm="bc", seed=1,
                    overrides={"normalization": "obs_norm", "policy.networks.hidden_units": [128, 128],
                               "algorithm.dataset": str(run_root / "data"),
                               "algorithm.validation_split": 0.0, "algorithm.n_epochs": 2,
                               "algorithm.epoch_length": 5, "algorithm.eval_repeats": 1})
    bc.train()
    recorded = load_trajectories(run_root / "data").observations[0]["observation"].astype(np.float64)
    stats = normalizer_state(bc.run_dir / "checkpoints" / "last.pt")
    # the recorded observations' moments, not the random actions' ones, nor moved by the loop's ignored steps
    assert float(stats["observation_normalizer.moments.observation.count"]) == len(recorded)
    np.testing.assert_allclose(stats["observation_normalizer.moments.observation.mean"], recorded.mean(0), atol=1e-12)
    np.testing.assert_allclose(stats["observation_normalizer.moments.observation.var"], recorded.var(0), atol=1e-12)
    ppo = RunContext(experiment="acrobot_ppo", seed=1,
                     overrides={"policy.init_from": str(bc.run_dir), "policy.init_checkpoint": "last",
                                "algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 16,
                                "algorithm.eval_repeats": 1})
    ppo.train()
    after = normalizer_state(ppo.run_dir / "checkpoints" / "last.pt")
    assert all(torch.equal(after[key], value) for key, value in stats.items())
    assert "update: false" in (ppo.run_dir / "config.yaml").read_text().split("normalization:")[1]


def test_init_from_refuses_networks_that_do_not_fit_and_a_missing_run(run_root):
    record_heuristic(run_root / "data", 2)
    rc = RunContext(env="cartpole", algorithm="bc", overrides={"algorithm.dataset": str(run_root / "data"),
                                                                "algorithm.n_epochs": 1, "algorithm.epoch_length": 2,
                                                                "algorithm.eval_repeats": 1})
    rc.train()
    smaller = RunContext(env="cartpole", algorithm="a2c",
                         overrides={"policy.init_from": str(rc.run_dir), "policy.networks.hidden_units": [32]})
    with pytest.raises(CheckpointError, match="parameter 'networks.0.trunk.0.weight' has shape \\(64, 4\\) in the "
                                              "checkpoint but \\(32, 4\\)"):
        smaller.train()
    with pytest.raises(CheckpointError, match="policy.init_from='nowhere' does not exist"):
        RunContext(env="cartpole", overrides={"policy.init_from": "nowhere"}).train()
    with pytest.raises(ConfigError, match="policy.init_checkpoint='worst' is invalid"):
        RunContext(env="cartpole", overrides={"policy.init_from": str(rc.run_dir),
                                              "policy.init_checkpoint": "worst"}).train()


def test_cli_records_a_controller_and_a_run(run_root):
    recorded = maze_run(["-cn", "rollout", "env=cartpole", "policy._target_=maze_cli.examples.cartpole.CartPoleHeuristic",
                         "n_episodes=10", "record=true"], cwd=run_root)
    assert recorded.returncode == 0, recorded.stderr
    dataset = next(run_root.glob("outputs/rollout/*/trajectories"))
    assert json.loads((dataset / "manifest.json").read_text())["episodes"] == 10
    trained = maze_run(["algorithm=bc", f"algorithm.dataset={dataset}", "algorithm.n_epochs=1",
                        "algorithm.epoch_length=2", "algorithm.eval_repeats=1"], cwd=run_root)
    assert trained.returncode == 0, trained.stderr
    run = [p for p in run_root.glob("outputs/*/*") if "rollout" not in str(p)][0]
    assert {"losses/bc_nll", "losses/bc_validation_nll", "train/bc_validation_accuracy"} <= stats_rows(run)[0].keys()
    resumed = maze_run([f"input_dir={run}", "algorithm.n_epochs=2"], cwd=run_root)
    assert resumed.returncode == 0, resumed.stderr
    continued = [p for p in run_root.glob("outputs/*/*") if "rollout" not in str(p) and p != run][0]
    assert [int(r["epoch"]) for r in stats_rows(continued)] == [1, 2, 3]  # its row, then two more epochs
    assert torch.load(continued / "checkpoints/last.pt", weights_only=True)["bc_updates"] == 6
    again = maze_run(["-cn", "rollout", f"input_dir={run}", "n_episodes=1", "record=true"], cwd=run_root)
    assert again.returncode == 0, again.stderr
    bad = maze_run(["-cn", "rollout", "env=cartpole", "policy._target_=builtins.object", "record=true"], cwd=run_root)
    assert bad.returncode == 1 and "object has no compute_action(observation) method" in bad.stderr


def test_structured_env_records_and_each_sub_step_network_learns_its_own_decisions(run_root):
    """The packing env picks an item (sub-step 0), then a bin (sub-step 1): two networks, two decision groups."""
    args = ["env=packing", "algorithm=bc", f"algorithm.dataset={run_root / 'data'}", "algorithm.eval_repeats=1",
            "algorithm.lr=0.01"]
    recorder = build(compose_config(args + ["seed=1"])[0])
    env = recorder.env_factory()
    writer = TrajectoryWriter(run_root / "data", "packing", env.observation_spaces_dict, env.action_spaces_dict)
    play_episodes(env, lambda obs, actor: recorder.policy.compute_action(obs, actor, deterministic=True), 20, 0,
                  writer)
    data = load_trajectories(writer.close())
    assert set(data.rows["sub_step"].tolist()) == {0, 1} and set(data.actions) == {0, 1}
    learner = build(compose_config(args + ["seed=2"])[0])
    bc = BC(learner.algorithm, learner.policy)
    assert sorted(group.actor_id[0] for group in bc.train_groups) == [0, 1]
    before = bc.evaluate(bc.validation_groups, "validation")
    weights = {key: net.trunk[0].weight.detach().clone() for key, net in learner.policy.networks.items()}
    for _ in range(learner.algorithm.epoch_length):
        stats = bc.update(None, 0, 0.0)
    assert stats["train/bc_validation_accuracy"] > before["train/bc_validation_accuracy"], (before, stats)
    assert stats["losses/bc_validation_nll"] < before["losses/bc_validation_nll"]
    assert all(not torch.equal(net.trunk[0].weight, weights[key]) for key, net in learner.policy.networks.items())


@pytest.mark.learning
def test_bc_on_20_recorded_episodes_of_a_solved_ppo_run_solves_cartpole(run_root):
    ppo = RunContext(experiment="cartpole_ppo", seed=1,
                     overrides={"algorithm.epoch_length": 10, "algorithm.n_epochs": 20, "algorithm.stop_at_return": 475})
    assert ppo.train() >= 475
    recorded = maze_run(["-cn", "rollout", f"input_dir={ppo.run_dir}", "n_episodes=20", "record=true",
                         "hydra.run.dir=recorded"], cwd=run_root)
    assert recorded.returncode == 0, recorded.stderr
    bc = RunContext(env="cartpole", algorithm="bc", seed=1,
                    overrides={"algorithm.dataset": "recorded/trajectories", "algorithm.n_epochs": 5,
                               "algorithm.eval_repeats": 10, "algorithm.stop_at_return": 475})
    # (the stop rule's 20 confirmation episodes matter: without them this run stopped at epoch 3 on weights kept on
    # 10 lucky episodes, which scored 413.7 on the 20 held-out ones; with them it stops at epoch 4, at 500)
    assert bc.train() >= 475, [r["eval/episode_return_mean"] for r in stats_rows(bc.run_dir)]


@pytest.mark.parametrize("policy", ["default", "sac"])
def test_box_actions_on_the_bounds_clone_with_gaussian_and_squashed_gaussian_heads(run_root, policy):
    record_heuristic(run_root / "data", 2, env="Pendulum-v1", controller=BangBang())
    rc = RunContext(env="pendulum", algorithm="bc", policy=policy,
                    overrides={"algorithm.dataset": str(run_root / "data"), "algorithm.n_epochs": 1,
                               "algorithm.epoch_length": 50, "algorithm.eval_repeats": 1,
                               "algorithm.validation_split": 0.5})
    rc.train()
    row = stats_rows(rc.run_dir)[-1]
    assert math.isfinite(float(row["losses/bc_validation_nll"])) and "train/bc_validation_accuracy" not in row
