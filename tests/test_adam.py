"""FusedAdam: torch.optim.Adam(fused=True)'s arithmetic and state dict, without importing torch._dynamo."""
import subprocess
import sys

import pytest
import torch

from maze_cli.algorithms.adam import FusedAdam


def net_and_batches(seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    batches = [(torch.randn(16, 4), torch.randn(16, 2)) for _ in range(6)]
    return net, batches


def train(net, optimizer, batches, lrs):
    for (x, y), lr in zip(batches, lrs):
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()


def copy_of(net):
    clone, _ = net_and_batches()
    clone.load_state_dict(net.state_dict())
    return clone


LRS = [1e-2, 1e-2, 3e-3, 3e-3, 1e-3, 1e-3]


def test_steps_equal_torch_fused_adam_bit_for_bit_with_a_learning_rate_schedule():
    ours, batches = net_and_batches()
    theirs = copy_of(ours)
    train(ours, FusedAdam(ours.parameters(), lr=1e-2), batches, LRS)
    train(theirs, torch.optim.Adam(theirs.parameters(), lr=1e-2, fused=True), batches, LRS)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(next(ours.parameters()), next(net_and_batches()[0].parameters()))  # it did train


def test_step_counts_follow_torch_when_some_updates_leave_parameters_out():
    """Steps whose loss leaves the last layer out count only the others, as torch's do; a saved state keeps
    its counts."""
    ours, batches = net_and_batches()
    theirs = copy_of(ours)
    optimizers = [FusedAdam(ours.parameters(), lr=1e-2), torch.optim.Adam(theirs.parameters(), lr=1e-2, fused=True)]
    saved = None
    for k, (x, y) in enumerate(batches):
        for net, optimizer in zip((ours, theirs), optimizers):
            optimizer.zero_grad(set_to_none=True)
            hidden = net[1](net[0](x))
            loss = hidden.square().mean() if k % 3 == 1 else torch.nn.functional.mse_loss(net[2](hidden), y)
            loss.backward()
            optimizer.step()
        if k == 2:
            saved = optimizers[0].state_dict()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    counts = [float(s["step"]) for s in optimizers[0].state_dict()["state"].values()]
    assert counts == [float(s["step"]) for s in optimizers[1].state_dict()["state"].values()] == [6, 6, 4, 4]
    assert [float(s["step"]) for s in saved["state"].values()] == [3, 3, 2, 2]


@pytest.mark.parametrize("first, second", [(FusedAdam, torch.optim.Adam), (torch.optim.Adam, FusedAdam)])
def test_a_state_dict_of_either_class_resumes_in_the_other(first, second):
    """A checkpoint written before this class existed (torch.optim.Adam) resumes exactly, and the reverse."""
    kwargs = {torch.optim.Adam: {"fused": True}, FusedAdam: {}}
    net, batches = net_and_batches()
    reference = copy_of(net)
    train(reference, FusedAdam(reference.parameters(), lr=1e-2), batches, LRS)
    optimizer = first(net.parameters(), lr=1e-2, **kwargs[first])
    train(net, optimizer, batches[:3], LRS[:3])
    saved = optimizer.state_dict()
    resumed_net = copy_of(net)
    resumed = second(resumed_net.parameters(), lr=1.0, **kwargs[second])
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == LRS[2]
    train(resumed_net, resumed, batches[3:], LRS[3:])
    for a, b in zip(resumed_net.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


def test_a_state_of_other_parameters_is_refused_naming_the_counts():
    net, batches = net_and_batches()
    optimizer = FusedAdam(net.parameters(), lr=1e-2)
    train(net, optimizer, batches[:1], LRS[:1])
    other = FusedAdam(list(net.parameters())[:2], lr=1e-2)
    with pytest.raises(ValueError, match=r"saved for 4 parameters in 1 group\(s\), this optimizer has 2 parameters"):
        other.load_state_dict(optimizer.state_dict())


def test_a_training_run_does_not_import_torch_dynamo(tmp_path):
    """The point of the class: torch.optim's first call imports torch._dynamo, about 1.1 s per process."""
    script = ("import sys\n"
              "from maze_cli import RunContext\n"
              "RunContext(algorithm='ppo', seed=1, overrides={'algorithm.n_epochs': 1, 'algorithm.epoch_length': 2,"
              " 'algorithm.eval_repeats': 1}).train()\n"
              "print('torch._dynamo' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5, 1e6])
def test_gradient_clipping_equals_torch_clip_grad_norm_bit_for_bit(max_grad_norm):
    """GradientStep clips as torch.nn.utils.clip_grad_norm_ does (0 disables clipping), skipping parameters
    without a gradient, e.g. a policy's during the critic's burn-in."""
    from maze_cli.algorithms.optim import GradientStep
    ours, theirs = net_and_batches()[0], copy_of(net_and_batches()[0])
    idle = torch.nn.Parameter(torch.ones(3))  # never gets a gradient
    for net in (ours, theirs):
        x, y = net_and_batches()[1][0]
        (torch.nn.functional.mse_loss(net(x), y) * 50).backward()
    step = GradientStep([*ours.parameters(), idle], lr=1e-3, max_grad_norm=max_grad_norm)
    norm = step.clip_gradients()
    their_norm = torch.nn.utils.clip_grad_norm_([*theirs.parameters(), idle],
                                                max_grad_norm if max_grad_norm > 0 else float("inf"))
    assert torch.equal(norm, their_norm) and idle.grad is None
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(ours.parameters(), theirs.parameters()))
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in ours.parameters()]))
    expected = 0.5 if max_grad_norm == 0.5 else float(norm)  # the gradients' norm after clipping
    assert float(norm) > 0.5 and abs(float(clipped) - expected) < 1e-4 * expected
