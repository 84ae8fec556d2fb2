"""Per-actor returns of structured envs against hand-computed values: GAE alone and through the collector."""
import torch

from maze_cli.algorithms.returns import compute_gae


def _column(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype).reshape(-1, 1)


def test_two_sub_steps_terminated_episode_then_rollout_end():
    """Actors alternate 0,1,0,1 | 0,1; the episode terminates after step 3; the rollout ends after step 5.

    Actor 0: t0 gets r0+r1 = 3, next value v2 = 30; t2 gets r2+r3 = 7, terminal.
    Actor 1: t1 gets r1+r2 = 5, next value v3 = 40; t3 gets r3 = 4, terminal.
    t4 (actor 0) gets r4+r5 = 11, t5 (actor 1) gets r5 = 6; both bootstrap from the last value 70.
    gamma = 0.5, lambda = 1:  t2: 7 - 30 = -23;  t0: 3 + 15 - 10 = 8 -> 8 + .5 * -23 = -3.5
    t3: 4 - 40 = -36;  t1: 5 + 20 - 20 = 5 -> 5 + .5 * -36 = -13;  t4: 11 + 35 - 50 = -4;  t5: 6 + 35 - 60 = -19.
    """
    values = _column([10, 20, 30, 40, 50, 60])
    adv, ret = compute_gae(
        actors=_column([0, 1, 0, 1, 0, 1], torch.long), valid=_column([1] * 6, torch.bool), rewards=_column([1, 2, 3, 4, 5, 6]), values=values,
        last_values=torch.tensor([70.0]), episode_end=_column([0, 0, 0, 1, 0, 0], torch.bool),
        end_values=torch.zeros(6, 1), n_actors=2, gamma=0.5, gae_lambda=1.0)
    expected = _column([-3.5, -13, -23, -36, -4, -19])
    assert torch.allclose(adv, expected)
    assert torch.allclose(ret, expected + values)


def test_lambda_discounting_applies_once_per_decision_of_the_same_actor_and_truncation_bootstraps():
    """One env, actor 0 decides at t0, t1 (its sub-step repeats), actor 1 at t2; truncated after t2.

    gamma = 0.9, lambda = 0.5, end value (final observation) 4.0.
    Actor 0: t1 gets r1 + r2 = 3, next = end value: d1 = 3 + .9*4 - 2 = 4.6; t0 gets r0 = 1, next v1 = 2:
             d0 = 1 + 1.8 - 1 = 1.8 -> 1.8 + .45 * 4.6 = 3.87.
    Actor 1: t2 gets r2 = 2, next = end value: 2 + 3.6 - 3 = 2.6.
    """
    adv, _ = compute_gae(
        actors=_column([0, 0, 1], torch.long), valid=_column([1] * 3, torch.bool), rewards=_column([1, 1, 2]), values=_column([1, 2, 3]),
        last_values=torch.tensor([99.0]), episode_end=_column([0, 0, 1], torch.bool),
        end_values=_column([0, 0, 4.0]), n_actors=2, gamma=0.9, gae_lambda=0.5)
    assert torch.allclose(adv, _column([3.87, 4.6, 2.6]))


def _textbook_gae(rewards, values, last, terminated, gamma, lam):
    """Ordinary GAE of one env, written as the textbook recursion (reference for the single-actor case)."""
    advantages, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = 0.0 if terminated[t] else (values[t + 1] if t + 1 < len(rewards) else last)
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + (0.0 if terminated[t] else gamma * lam * running)
        advantages[t] = running
    return advantages


def test_one_actor_with_terminations_equals_ordinary_gae():
    """With a single actor the per-actor estimate is ordinary GAE (terminal ends bootstrap nothing)."""
    torch.manual_seed(0)
    T, n = 7, 3
    rewards, values, last = torch.randn(T, n), torch.randn(T, n), torch.randn(n)
    terminated = torch.zeros(T, n, dtype=torch.bool)
    terminated[2, 0] = terminated[4, 1] = terminated[6, 2] = terminated[5, 0] = True
    adv, ret = compute_gae(torch.zeros(T, n, dtype=torch.long), torch.ones(T, n, dtype=torch.bool), rewards, values,
                           last, terminated, torch.zeros(T, n), 1, 0.95, 0.8)
    for env in range(n):
        expected = _textbook_gae(rewards[:, env].tolist(), values[:, env].tolist(), float(last[env]),
                                 terminated[:, env].tolist(), 0.95, 0.8)
        assert torch.allclose(adv[:, env], torch.tensor(expected), atol=1e-5)
    assert torch.allclose(ret, adv + values, atol=1e-6)


def test_single_actor_fast_path_equals_the_per_actor_path_with_reset_steps():
    """The per-actor bookkeeping with one actor used (of two) gives the single-actor estimate exactly,
    including truncations, terminations and NEXT_STEP reset steps (invalid cells)."""
    torch.manual_seed(1)
    T, n = 9, 4
    rewards, values, last, end_values = torch.randn(T, n), torch.randn(T, n), torch.randn(n), torch.randn(T, n)
    ended = torch.rand(T, n) < 0.25
    valid = torch.ones(T, n, dtype=torch.bool)
    valid[1:][ended[:-1]] = False  # a reset step after every end but the last row's
    ended &= valid
    rewards = rewards * valid
    actors = torch.zeros(T, n, dtype=torch.long)
    one = compute_gae(actors, valid, rewards, values, last, ended, end_values, 1, 0.9, 0.7)
    two = compute_gae(actors, valid, rewards, values, last, ended, end_values, 2, 0.9, 0.7)
    assert not valid.all() and ended.any()
    assert torch.allclose(one[0], two[0], atol=1e-6) and torch.allclose(one[1], two[1], atol=1e-6)
    assert (one[0][~valid] == 0).all()
