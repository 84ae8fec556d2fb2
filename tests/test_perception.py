"""The default perception: an encoder for every supported observation space, the build-time message for
unsupported ones, ignore_keys, image layout detection and uint8 scaling, and the converter's dtypes."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from maze_cli import MazeEnv, RunContext
from maze_cli.models import DefaultPolicyNet, DefaultValueNet, ObservationConverter, Perception
from maze_cli.models.encoders import EmbeddingEncoder, FlatEncoder, ImageEncoder
from maze_cli.models.policy import ProbabilisticPolicyComposer

SMALL_IMAGE = {"channels": [4], "kernel_sizes": [3], "strides": [1], "out_features": 8}
SPACES = {
    "rgb_last": gym.spaces.Box(0, 255, (10, 10, 3), dtype=np.uint8),
    "stack_first": gym.spaces.Box(0, 255, (4, 10, 10), dtype=np.uint8),
    "vector": gym.spaces.Box(-1, 1, (5,), dtype=np.float32),
    "matrix": gym.spaces.Box(-1, 1, (2, 3), dtype=np.float64),
    "discrete": gym.spaces.Discrete(4, start=1),
    "multi_discrete": gym.spaces.MultiDiscrete([2, 3]),
    "binary": gym.spaces.MultiBinary(3),
}


def _batch(space: gym.spaces.Dict, n: int = 3):
    converter = ObservationConverter(space)
    samples = [space.sample() for _ in range(n)]
    return converter, converter({key: np.stack([s[key] for s in samples]) for key in converter.spaces})


def test_every_supported_space_gets_its_encoder_and_the_net_runs():
    space = gym.spaces.Dict(SPACES)
    converter, obs = _batch(space)
    net = DefaultPolicyNet(converter.shapes, {"action": (2,)}, obs_spaces=space.spaces, image=SMALL_IMAGE)
    kinds = dict(zip(net.in_keys, (type(e) for e in net.encoders)))
    assert kinds == {"binary": FlatEncoder, "discrete": FlatEncoder, "matrix": FlatEncoder,
                     "multi_discrete": FlatEncoder, "rgb_last": ImageEncoder, "stack_first": ImageEncoder,
                     "vector": FlatEncoder}
    encoders = dict(zip(net.in_keys, net.encoders))
    assert encoders["rgb_last"].channels_last and not encoders["stack_first"].channels_last
    assert net(obs)["action"].shape == (3, 2)
    embedded = DefaultValueNet(converter.shapes, obs_spaces=space.spaces, image=SMALL_IMAGE,
                               discrete_encoding="embedding", embedding_dim=5)
    kinds = dict(zip(embedded.in_keys, embedded.encoders))
    assert isinstance(kinds["discrete"], EmbeddingEncoder) and isinstance(kinds["multi_discrete"], EmbeddingEncoder)
    assert embedded(obs)["value"].shape == (3, 1)


def test_converter_keeps_compact_dtypes_and_one_hots_discrete_keys():
    space = gym.spaces.Dict(SPACES)
    _, obs = _batch(space)
    assert obs["rgb_last"].dtype == torch.uint8 and obs["binary"].dtype == torch.int8
    assert obs["vector"].dtype == torch.float32 and obs["matrix"].dtype == torch.float32
    assert obs["discrete"].shape == (3, 4) and obs["multi_discrete"].shape == (3, 5)
    assert torch.equal(obs["discrete"].sum(-1), torch.ones(3))


def test_uint8_images_are_scaled_to_unit_range_inside_the_encoder():
    space = gym.spaces.Box(0, 255, (6, 6, 1), dtype=np.uint8)
    encoder = ImageEncoder("img", space, channels=[1], kernel_sizes=[6], strides=[1], out_features=0)
    with torch.no_grad():
        encoder.convs[0].weight.fill_(1.0)
        encoder.convs[0].bias.zero_()
    full = torch.full((1, 6, 6, 1), 255, dtype=torch.uint8)
    assert encoder(full).item() == pytest.approx(36.0)  # 36 pixels of 1.0 after scaling, ReLU keeps it
    float_space = gym.spaces.Box(0.0, 1.0, (6, 6, 1), dtype=np.float32)
    assert ImageEncoder("img", float_space, channels=[1], kernel_sizes=[6], strides=[1]).scale == 1.0


def test_conv_stack_too_large_for_the_image_names_key_and_settings():
    with pytest.raises(ValueError, match=r"image encoder for 'small'.*kernel_sizes"):
        ImageEncoder("small", gym.spaces.Box(0, 255, (7, 7, 3), dtype=np.uint8), kernel_sizes=[8, 4, 3])


@pytest.mark.parametrize("space", [gym.spaces.Text(5), gym.spaces.Sequence(gym.spaces.Discrete(2)),
                                   gym.spaces.Graph(gym.spaces.Box(0, 1, (2,)), None)])
def test_unsupported_space_fails_at_build_time_naming_key_and_remedy(space):
    obs_space = gym.spaces.Dict({"mission": space, "x": gym.spaces.Box(-1, 1, (2,))})
    act = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(2)})}
    with pytest.raises(ValueError, match=r"'mission'.*ignore_keys=\[mission\]"):
        ProbabilisticPolicyComposer(act, {0: obs_space})
    policy = ProbabilisticPolicyComposer(act, {0: obs_space}, networks={
        "_target_": "maze_cli.models.DefaultPolicyNet", "ignore_keys": ["mission"]}).policy
    assert policy.networks["0"].in_keys == ["x"]


def test_ignore_keys_and_masks_are_not_read_unless_asked():
    spaces = {"x": gym.spaces.Box(-1, 1, (2,)), "y": gym.spaces.Box(-1, 1, (2,)),
              "action_mask": gym.spaces.MultiBinary(3), "move_mask": gym.spaces.MultiBinary(2)}
    shapes = ObservationConverter(gym.spaces.Dict(spaces)).shapes
    assert Perception(shapes, spaces, ignore_keys=["y"]).in_keys == ["x"]
    assert Perception(shapes, spaces, read_masks=True).in_keys == ["action_mask", "move_mask", "x", "y"]
    with pytest.raises(ValueError, match=r"ignore_keys names \['z'\]"):
        Perception(shapes, spaces, ignore_keys=["z"])


def test_nets_built_from_shapes_alone_read_flat_floats():
    net = DefaultPolicyNet({"a": (3,), "b": (2, 2)}, {"action": (4,)})
    out = net({"a": torch.zeros(5, 3), "b": torch.zeros(5, 2, 2)})
    assert out["action"].shape == (5, 4)


def test_default_conv_stack_depends_on_image_size():
    atari = ImageEncoder("frames", gym.spaces.Box(0, 255, (4, 84, 84), dtype=np.uint8))
    grid = ImageEncoder("grid", gym.spaces.Box(0, 255, (7, 7, 3), dtype=np.uint8))
    assert [conv.kernel_size[0] for conv in atari.convs if isinstance(conv, torch.nn.Conv2d)] == [8, 4, 3]
    assert [conv.kernel_size[0] for conv in grid.convs if isinstance(conv, torch.nn.Conv2d)] == [2, 2, 2]
    assert atari.out_features == 512 and not atari.channels_last and grid.channels_last


class TextKeyEnv(MazeEnv):
    """An observation with a text key next to a vector."""

    def __init__(self):
        self.observation_spaces_dict = {0: gym.spaces.Dict({"mission": gym.spaces.Text(10),
                                                            "x": gym.spaces.Box(-1, 1, (2,), dtype=np.float32)})}
        self.action_spaces_dict = {0: gym.spaces.Dict({"action": gym.spaces.Discrete(2)})}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observation(), {}

    def _observation(self):
        return {"mission": "go right", "x": self.np_random.uniform(-1, 1, 2).astype(np.float32)}

    def step(self, action):
        self.t += 1
        return self._observation(), float(action["action"]), False, self.t >= 5, {}


def test_an_ignored_text_key_trains_and_evaluates(run_root):
    keys = {"+policy.networks.ignore_keys": ["mission"], "+critic.networks.ignore_keys": ["mission"]}
    rc = RunContext(env=TextKeyEnv, algorithm="ppo", overrides={"algorithm.n_epochs": 1, "algorithm.epoch_length": 1,
                                                                "algorithm.eval_repeats": 2, **keys})
    rc.train()
    assert rc.evaluate(n_episodes=2)["eval/episode_count"] == 2


def test_single_encoder_output_is_copied_for_training_and_hooks_on_the_network_run():
    """Layers run by their forward (no per-layer hooks); the network's own call runs its hooks. Without
    gradients a single encoder's output goes to the trunk as it is; with them it is copied, so observations
    recorded under inference mode can be trained on."""
    net = DefaultPolicyNet({"vector": (5,)}, {"action": (2,)}, hidden_units=[8])
    calls = []
    net.register_forward_hook(lambda module, inputs, output: calls.append(output["action"].shape))
    with torch.inference_mode():
        recorded = torch.randn(4, 5)
        net({"vector": recorded})
    assert calls == [(4, 2)]
    loss = net({"vector": recorded})["action"].sum()
    loss.backward()  # would raise "Inference tensors cannot be saved for backward" without the copy
    assert net.heads[0].weight.grad is not None
