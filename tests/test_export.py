"""Exported policies give the in-process policy's deterministic actions, in a process without maze_cli;
RunContext.from_run_dir rebuilds a finished run."""
import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from cli_helpers import REPO, maze_run
from maze_cli import MazeEnv, RunContext
from maze_cli.export.formats import export_policy

TESTS_PATH = {"PYTHONPATH": f"{REPO}:{REPO / 'tests'}"}
SHORT = {"algorithm.n_epochs": 1, "algorithm.epoch_length": 2, "algorithm.n_rollout_steps": 16,
         "algorithm.eval_repeats": 1}


class ActionSpacesEnv(MazeEnv):
    """A vector and a Discrete observation; the action heads are set per test."""

    def __init__(self, heads):
        self.observation_spaces_dict = {0: gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (3,), dtype=np.float32),
                                                            "mode": gym.spaces.Discrete(4)})}
        self.action_spaces_dict = {0: gym.spaces.Dict(heads)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_spaces_dict[0].sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_spaces_dict[0].sample(), 0.0, False, self.t >= 10, {}


HEADS = {
    "discrete": {"move": gym.spaces.Discrete(5)},
    "box_clipped": {"force": gym.spaces.Box(-0.1, 0.1, (2,), dtype=np.float32)},
    "multidiscrete": {"keys": gym.spaces.MultiDiscrete([3, 2])},
    "dict": {"move": gym.spaces.Discrete(3), "arm": gym.spaces.Box(-2.0, 3.0, (2,), dtype=np.float32),
             "flags": gym.spaces.MultiBinary(2)},
}
SQUASHED = [{"action_space": "gymnasium.spaces.Box",
             "distribution": "maze_cli.distributions.SquashedGaussianProbabilityDistribution"}]


def observations(n=1000):
    rng = np.random.default_rng(0)
    return {"pos": rng.uniform(-1, 1, (n, 3)).astype(np.float32), "mode": rng.integers(0, 4, n)}


def run_exported(fmt, path, obs):
    """The exported file's actions, served by torch alone or by onnxruntime."""
    if fmt == "onnx":
        import onnxruntime
        session = onnxruntime.InferenceSession(str(path))
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(None, {k: np.asarray(v) for k, v in obs.items()})))
    return {k: v.numpy() for k, v in torch.jit.load(str(path))({k: torch.as_tensor(v) for k, v in obs.items()}).items()}


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("heads, squashed", [("discrete", False), ("box_clipped", False), ("box_clipped", True),
                                             ("multidiscrete", False), ("dict", True)])
def test_exported_actions_equal_the_policy_on_1000_observations(run_root, heads, squashed, normalize, fmt):
    overrides = {"normalization": "obs_norm"} if normalize else {}
    if squashed:
        overrides["policy.distribution_mapper.distribution_mapper_config"] = SQUASHED
    rc = RunContext(env=lambda: ActionSpacesEnv(HEADS[heads]), overrides=overrides)
    policy = rc.policy
    if normalize:  # statistics far from the identity, so a missing normalisation would show
        policy.observation_normalizer.update({"pos": torch.randn(500, 3) * 3 + 2}, torch.ones(500, dtype=torch.bool))
    obs = observations()
    expected = policy.compute_actions(obs, deterministic=True)
    signature = json.loads(export_policy(policy, [(0, 0)], run_root / "export", "test", fmt).read_text())
    got = run_exported(fmt, run_root / "export" / signature["actors"][0]["file"], obs)
    assert set(got) == set(expected) == set(signature["actors"][0]["outputs"])
    for head, value in expected.items():
        assert got[head].dtype == value.dtype
        np.testing.assert_allclose(got[head], value, rtol=1e-5, atol=1e-6)


def test_cli_export_runs_in_a_process_without_maze_cli_and_from_run_dir_acts_alike(run_root):
    rc = RunContext(env="cartpole", overrides=SHORT)
    rc.train()
    result = maze_run(["-cn", "export", f"input_dir={rc.run_dir}"], cwd=run_root)
    assert result.returncode == 0, result.stderr
    export_dir = next(run_root.glob("outputs/export/*"))
    signature = json.loads((export_dir / "policy_signature.json").read_text())
    assert signature["actors"][0]["inputs"]["observation"]["shape"] == ["batch", 4]
    obs = observations(20)["pos"].repeat(2, axis=1)[:, :4]
    np.save(run_root / "obs.npy", obs)
    snippet = (f"import sys, numpy as np, torch\n"
               f"m = torch.jit.load({str(export_dir / 'policy.pt')!r})\n"
               f"a = m({{'observation': torch.as_tensor(np.load({str(run_root / 'obs.npy')!r}))}})\n"
               f"assert not any(name.startswith('maze_cli') for name in sys.modules)\n"
               f"print(','.join(str(int(x)) for x in a['action']))\n")
    served = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120, cwd="/")
    assert served.returncode == 0, served.stderr
    loaded = RunContext.from_run_dir(rc.run_dir)
    expected = loaded.policy.compute_actions({"observation": obs}, deterministic=True)["action"]
    assert served.stdout.strip() == ",".join(str(int(x)) for x in expected)
    assert loaded.evaluate(n_episodes=2)["eval/episode_count"] == 2


def test_cli_onnx_export_and_an_unknown_format(run_root):
    rc = RunContext(env="cartpole", overrides=SHORT)
    rc.train()
    result = maze_run(["-cn", "export", f"input_dir={rc.run_dir}", "format=onnx", "checkpoint=last"], cwd=run_root)
    assert result.returncode == 0, result.stderr
    export_dir = next(run_root.glob("outputs/export/*"))
    assert json.loads((export_dir / "policy_signature.json").read_text())["format"] == "onnx"
    obs = {"observation": observations(8)["pos"].repeat(2, axis=1)[:, :4]}
    loaded = RunContext.from_run_dir(rc.run_dir, checkpoint="last")
    assert run_exported("onnx", export_dir / "policy.onnx", obs)["action"].tolist() == \
        loaded.policy.compute_actions(obs, deterministic=True)["action"].tolist()
    result = maze_run(["-cn", "export", f"input_dir={rc.run_dir}", "format=tflite"], cwd=run_root)
    assert result.returncode == 1 and "format='tflite' is invalid: expected one of ['torchscript', 'onnx']" in result.stderr


def test_a_structured_env_exports_one_file_per_actor(run_root):
    from structured_helpers import ScriptedEnv
    rc = RunContext(env=ScriptedEnv)
    signature = json.loads(export_policy(rc.policy, [(0, 0), (1, 0)], run_root / "export", "test").read_text())
    assert [a["file"] for a in signature["actors"]] == ["policy_0_0.pt", "policy_1_0.pt"]
    for actor in signature["actors"]:
        step = actor["actor"][0]
        space = rc.components.probe_env.get_wrapper_attr("observation_spaces_dict")[step]
        obs = {key: np.stack([space.sample()[key] for _ in range(50)]) for key in actor["inputs"]}
        expected = rc.policy.compute_actions(obs, (step, 0), deterministic=True)
        got = run_exported("torchscript", run_root / "export" / actor["file"], obs)
        for head, value in expected.items():
            np.testing.assert_allclose(got[head], value, rtol=1e-5, atol=1e-6)
