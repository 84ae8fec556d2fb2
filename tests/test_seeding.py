"""Same seed -> identical trained weights under runner=dev; different seed -> different weights."""
import torch

from maze_cli import RunContext

# the tutorial's evaluation (2 sampled episodes), which the seeds below were chosen with
SHORT = {"algorithm.n_epochs": 2, "algorithm.epoch_length": 5, "algorithm.n_rollout_steps": 20,
         "algorithm.eval_repeats": 2, "algorithm.deterministic_eval": False, "algorithm.stop_at_return": None}


def _trained_weights(seed):
    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", overrides=SHORT, seed=seed)
    rc.train()
    return {k: v.clone() for k, v in rc.policy.state_dict().items()}


def test_same_seed_same_weights_different_seed_different_weights(run_root):
    a, b, c = _trained_weights(7), _trained_weights(7), _trained_weights(8)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_a_second_train_call_continues_from_the_last_weights_not_the_selected_best(run_root):
    from maze_cli.train.checkpoint import load_checkpoint

    rc = RunContext(env="cartpole", overrides={**SHORT, "algorithm.n_epochs": 3}, seed=4)
    rc.train()
    last = load_checkpoint(rc.run_dir / "checkpoints" / "last.pt")["policy"]
    best = load_checkpoint(rc.run_dir / "checkpoints" / "best.pt")["policy"]
    assert not all(torch.equal(v, best[k]) for k, v in last.items()), "this seed's best epoch is not its last"
    assert all(torch.equal(v, rc.policy.state_dict()[k]) for k, v in best.items()), "rc.policy is the best model"
    trainer, original, seen = rc.trainer, rc.trainer.make_collector, []

    def make_collector_after_checking(first_epoch):
        # called at the start of the next train(), once the weights to continue from are in place
        seen.append(all(torch.equal(v, rc.policy.state_dict()[k]) for k, v in last.items()))
        return original(first_epoch)

    trainer.make_collector = make_collector_after_checking
    rc.train(n_epochs=1)
    assert seen == [True], "training resumes from the last weights (the optimizer state belongs to them)"


def test_evaluate_starts_its_episodes_from_the_seed_it_is_given(run_root):
    """By default from the run's seed (its first evaluation's start states); ``seed=`` picks other episodes."""
    from maze_cli.build import EVAL_SEED_OFFSET

    rc = RunContext(env="cartpole", algorithm="a2c", runner="dev", overrides={**SHORT, "algorithm.n_epochs": 1},
                    seed=3)
    rc.train()

    def lengths(**kwargs):  # CartPole's return is its length
        stats = rc.evaluate(n_episodes=6, deterministic=True, **kwargs)
        return tuple(stats[f"eval/episode_return_{s}"] for s in ("mean", "std", "min", "max"))

    assert lengths() == lengths(seed=3 + EVAL_SEED_OFFSET)
    assert lengths(seed=10_000) == lengths(seed=10_000)
    assert lengths(seed=10_000) != lengths()
