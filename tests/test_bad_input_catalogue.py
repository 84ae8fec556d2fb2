"""The bad-input catalogue: each bad input fails early with one message naming the problem.

CLI cases exit non-zero without a traceback and leave nothing in the run directory but Hydra's
``.hydra/`` and the log. Python cases raise a specific exception type.
"""
import gymnasium as gym
import pytest
import torch

from cli_helpers import REPO, maze_run
from maze_cli import (A2CAlgorithmConfig, ConfigError, DistributionMapper, GymMazeEnv, ProbabilisticPolicyComposer,
                      RolloutEvaluator, RunContext, SharedStateCriticComposer, TorchModelBlock)
from maze_cli.train.checkpoint import CheckpointError

SHORT = ["algorithm.n_epochs=1", "algorithm.epoch_length=2", "algorithm.n_rollout_steps=10"]
TESTS_PATH = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}

CLI_CASES = [
    ("unknown preset", ["env=nope"], "Could not find 'env/nope'"),
    ("unknown preset lists the available ones", ["runner=nope"], "dev"),
    ("unknown key", ["algorithm.nope=1"], "Key 'nope' is not in struct"),
    ("wrong type", ["algorithm.lr=fast"], "algorithm.lr='fast' is invalid"),
    ("negative learning rate", ["algorithm.lr=-1"], "algorithm.lr=-1.0 is invalid: expected a learning rate > 0"),
    ("gamma out of range", ["algorithm.gamma=1.5"], "algorithm.gamma=1.5 is invalid: expected a discount in (0, 1]"),
    ("no rollout steps", ["algorithm.n_rollout_steps=0"], "algorithm.n_rollout_steps=0 is invalid"),
    ("no envs", ["runner.n_envs=0"], "runner.n_envs=0 is invalid: expected an integer >= 1"),
    ("negative worker count", ["runner=local", "runner.n_workers=-1"], "runner.n_workers=-1 is invalid"),
    ("unavailable device", ["algorithm.device=cuda"],
     "algorithm.device='cuda' is not available on this machine: available devices: ['cpu']"),
    ("unknown device", ["algorithm.device=gpu"],
     "algorithm.device='gpu' is invalid: expected one of 'cpu', 'cuda', 'cuda:N', 'mps', 'auto'"),
    ("nonsense stop limit", ["max_nonfinite_updates=0"], "max_nonfinite_updates=0 is invalid"),
    ("env id that does not exist", ["env=gym", "env.name=NoSuchEnv-v0"], "unknown gymnasium env id 'NoSuchEnv-v0'"),
    ("generic gym preset without an id", ["env=gym"], "Missing mandatory value: env.name"),
    ("env spaces no default network reads", ["env._target_=faulty_envs.unsupported_observation_env", "~env.name"],
     "which the default networks cannot encode (they read Box, Discrete, MultiDiscrete and MultiBinary): drop it "
     "with policy.networks.ignore_keys=[observation]"),
    ("custom network with wrong logits shape", ["policy.networks._target_=test_bad_input_core.WrongShapeNet",
                                                "~policy.networks.hidden_units", "~policy.networks.activation"],
     "logits for action head 'action' have shape (3,) (batch excluded), expected (2,)"),
    ("custom network with wrong output keys", ["policy.networks._target_=test_bad_input_core.WrongHeadNet",
                                               "~policy.networks.hidden_units", "~policy.networks.activation"],
     "returned ['move'], expected a dict with the action heads ['action']"),
    ("activation that does not exist", ["policy.networks.activation=torch.nn.Nope"], "cannot import 'torch.nn.Nope'"),
    ("distribution class that does not exist",
     ["policy.distribution_mapper.distribution_mapper_config=[{action_space:gymnasium.spaces.Discrete,"
      "distribution:maze_cli.distributions.Missing}]"], "cannot import 'maze_cli.distributions.Missing'"),
    ("malformed override", ["algorithm.lr=[0.1"], "no viable alternative at input '[0.1'"),
    ("input_dir that does not exist", ["input_dir=/does/not/exist"], "input_dir='/does/not/exist' does not exist"),
]


@pytest.mark.parametrize("args, message", [pytest.param(a, m, id=name) for name, a, m in CLI_CASES])
def test_cli_bad_input(run_root, args, message):
    result = maze_run(SHORT + args, cwd=run_root, env=TESTS_PATH)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    _assert_no_artefacts(run_root)


def _assert_no_artefacts(root):
    """A run that fails validation leaves no run directory (so `ls -d outputs/... | tail -1` finds real runs)."""
    assert not [run for run in root.glob("outputs/*/*") if run.is_dir()]


def test_cli_full_error_shows_the_traceback(run_root):
    result = maze_run(SHORT + ["algorithm.lr=-1"], cwd=run_root, env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_cli_empty_yaml_preset(run_root):
    conf = run_root / "my_conf" / "env"
    conf.mkdir(parents=True)
    (conf / "empty.yaml").write_text("")
    result = maze_run(["--config-dir", str(run_root / "my_conf"), "env=empty"] + SHORT, cwd=run_root)
    assert result.returncode != 0
    assert "env: missing '_target_'" in result.stderr and "Traceback" not in result.stderr


def test_cli_rollout_without_input_dir(run_root):
    result = maze_run(["-cn", "rollout"], cwd=run_root)
    assert result.returncode != 0 and "input_dir is required" in result.stderr and "policy._target_" in result.stderr


@pytest.fixture
def finished_run(run_root):
    result = maze_run(SHORT + ["env=acrobot"], cwd=run_root)
    assert result.returncode == 0, result.stderr
    return next(run_root.glob("outputs/acrobot-*/*"))


def test_cli_input_dir_of_another_env(run_root, finished_run):
    result = maze_run(SHORT + ["env=cartpole", f"input_dir={finished_run}"], cwd=run_root)
    assert result.returncode != 0
    assert f"input_dir='{finished_run}' holds a run of env" in result.stderr and "Traceback" not in result.stderr


def test_cli_truncated_checkpoint_in_input_dir(run_root, finished_run):
    last = finished_run / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    result = maze_run(SHORT + ["env=acrobot", f"input_dir={finished_run}"], cwd=run_root)
    assert result.returncode != 0
    assert "is corrupted, truncated or holds objects other than tensors" in result.stderr


ENV = GymMazeEnv("CartPole-v1")


class _Linear(torch.nn.Module):
    def __init__(self, out: int, key: str):
        super().__init__()
        self.linear, self.key = torch.nn.Linear(4, out), key

    def forward(self, x):
        return {self.key: self.linear(x["observation"])}


PYTHON_CASES = [
    ("env that is not callable", lambda: RunContext(env=42), ConfigError, "zero-argument callable"),
    ("unknown runner name", lambda: RunContext(runner="nope"), ConfigError, "available: dev, local"),
    ("unknown override key", lambda: RunContext(overrides={"algorithm.nope": 1}), ConfigError,
     "Key 'nope' is not in struct"),
    ("zero learning rate", lambda: A2CAlgorithmConfig(lr=0.0), ConfigError, "algorithm.lr=0.0 is invalid"),
    ("negative entropy coefficient", lambda: A2CAlgorithmConfig(entropy_coef=-0.1), ConfigError,
     "algorithm.entropy_coef=-0.1 is invalid: expected a value >= 0"),
    ("gymnasium id that does not exist", lambda: GymMazeEnv("Nope-v0"), ValueError, "unknown gymnasium env id"),
    ("env that is neither id nor gymnasium env", lambda: GymMazeEnv(42), TypeError,
     "expects a gymnasium id string or a gymnasium.Env"),
    ("policy net with a wrong head", lambda: ProbabilisticPolicyComposer(
        ENV.action_spaces_dict, ENV.observation_spaces_dict, None, [_Linear(2, "move")]), ValueError,
     "expected a dict with the action heads ['action']"),
    ("policy networks for sub-steps the env lacks", lambda: ProbabilisticPolicyComposer(
        ENV.action_spaces_dict, ENV.observation_spaces_dict, None, {3: _Linear(2, "action")}), ValueError,
     "networks keys ['3'] do not match the env's sub-steps/agents ['0']"),
    ("agent counts for sub-steps the env lacks", lambda: ProbabilisticPolicyComposer(
        ENV.action_spaces_dict, ENV.observation_spaces_dict, agent_counts_dict={0: 1, 1: 2}), ValueError,
     "agent_counts_dict has sub-steps [0, 1], but the env has sub-steps [0]"),
    ("critic net without a value", lambda: SharedStateCriticComposer(
        ENV.observation_spaces_dict, {0: 1}, [_Linear(1, "v")]), ValueError, "expected a dict with key 'value'"),
    ("distribution that does not exist", lambda: DistributionMapper(
        gym.spaces.Discrete(2), [{"action_space": gym.spaces.Discrete, "distribution": "maze_cli.Nope"}]),
     ValueError, "cannot import 'maze_cli.Nope'"),
    ("model block with mismatched inputs", lambda: TorchModelBlock(
        in_keys=["a", "b"], out_keys="out", in_shapes=[(4,)], in_num_dims=[2, 2], out_num_dims=2,
        net=torch.nn.Identity()), ValueError, "must have one entry per input"),
    ("evaluator without episodes", lambda: RolloutEvaluator(ENV, n_episodes=0), ValueError, "n_episodes=0"),
]


@pytest.mark.parametrize("make, error, message", [pytest.param(f, e, m, id=name) for name, f, e, m in PYTHON_CASES])
def test_python_bad_input(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


def test_python_resume_from_missing_run(run_root):
    with pytest.raises(CheckpointError, match="does not exist: expected the directory of an earlier run"):
        RunContext(overrides={"input_dir": "/no/such/run", "algorithm.n_epochs": 1}).train()


def test_catalogue_size():
    assert len(CLI_CASES) + len(PYTHON_CASES) + 6 >= 20


def test_run_context_that_fails_validation_leaves_no_run_directory(run_root):
    rc = RunContext(overrides={"algorithm.lr": -1}, output_dir=run_root / "runs")
    with pytest.raises(ConfigError, match="algorithm.lr=-1.0 is invalid"):
        rc.train()
    assert rc.run_dir is None and not list((run_root / "runs").rglob("*"))
