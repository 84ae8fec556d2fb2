"""Cached 0-dim constants give the results of Python floats bit for bit, and work under inference mode."""
import math

import torch

from maze_cli.core.scalars import mean, scalar


def test_mean_equals_torch_mean_forward_and_backward_bit_for_bit():
    torch.manual_seed(0)
    for size in (1, 7, 64, 1000):
        x0 = torch.randn(size) * 100
        a, b = x0.clone().requires_grad_(), x0.clone().requires_grad_()
        expected, got = a.mean(), mean(b)
        expected.backward()
        got.backward()
        assert torch.equal(expected, got) and torch.equal(a.grad, b.grad)


def test_a_scalar_tensor_computes_what_the_python_float_computes():
    torch.manual_seed(1)
    x = torch.randn(256)
    for value in (2.0, math.log(math.sqrt(2 * math.pi)), 0.1, 1e-6, -20.0):
        assert torch.equal(x * value, x * scalar(value)) and torch.equal(x - value, x - scalar(value))
        assert scalar(value).dtype == torch.float32 and scalar(value, torch.float64).item() == value


def test_a_scalar_first_made_under_inference_mode_can_be_saved_for_backward():
    with torch.inference_mode():
        scalar(0.123456)  # first use while acting
    x = torch.ones(3, requires_grad=True)
    (x * x * scalar(0.123456)).sum().backward()  # mul saves the constant for backward
    assert torch.allclose(x.grad, torch.full((3,), 2 * 0.123456))


def test_the_cache_stays_bounded_when_a_schedule_makes_a_new_value_every_update():
    for update in range(3000):
        scalar(1.0 - 0.2 * (1 - update / 3000))  # a linearly decaying clip range's bound
    assert scalar.cache_info().currsize <= 1024
