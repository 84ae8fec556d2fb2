"""PPO on Atari (default Pong) with the standard preprocessing: maze_cli against SB3's CnnPolicy PPO.

    pip install -e .[atari,bench]
    python benchmarks/atari_throughput.py                  # 20,480 env steps per framework
    python benchmarks/atari_throughput.py --steps 2048     # smoke run

Both frameworks train on the same work: gymnasium's AtariPreprocessing (no-op starts, frame skip 4,
84x84 grayscale) and FrameStackObservation(4) on ``ALE/<game>`` with frameskip=1, 8 envs stepped
sequentially in the learner's process (maze_cli ``runner=dev``, SB3 ``DummyVecEnv``), 128-step
rollouts, 4 PPO epochs over minibatches of 256, the Nature-DQN conv stack with a 512-unit layer,
separate policy and value networks (SB3: ``share_features_extractor=False``). Each framework runs
in a fresh process; the table gives env steps/s of training, the ratio maze_cli / SB3, peak resident
memory, and the bytes the rollout's observations occupy (maze_cli keeps them uint8).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
N_ENVS, N_STEPS, BATCH, EPOCHS, LR = 8, 128, 256, 4, 2.5e-4


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_maze(game: str, steps: int) -> dict:
    """maze_cli's +experiment=atari_ppo on the dev runner for ``steps`` env steps."""
    import tempfile

    from maze_cli import RunContext

    epoch = N_ENVS * N_STEPS
    overrides = {"runner.n_envs": N_ENVS, "env.name": f"ALE/{game}-v5", "algorithm.epoch_length": 1,
                 "algorithm.n_rollout_steps": N_STEPS}
    with tempfile.TemporaryDirectory() as tmp:
        rc = RunContext(experiment="atari_ppo", runner="dev", overrides=overrides, seed=1, output_dir=tmp)
        start = time.perf_counter()
        rc.train(n_epochs=max(1, steps // epoch))
        elapsed = time.perf_counter() - start
        parts = rc.components  # one more rollout, untimed, to read the storage's real size
        collector = parts.runner.make_collector(parts.env_factory, parts.policy, None, N_STEPS, 0, parts.probe_env)
        obs_bytes = sum(value.nbytes for value in collector.collect().observations[0].values())
        collector.close()
    return {"steps": max(1, steps // epoch) * epoch, "seconds": elapsed, "peak_mb": _peak_mb(), "obs_bytes": obs_bytes}


def run_sb3(game: str, steps: int) -> dict:
    """SB3 PPO with CnnPolicy on the same wrappers and hyper-parameters."""
    import ale_py
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    gym.register_envs(ale_py)

    def make():
        env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.25)
        return gym.wrappers.FrameStackObservation(gym.wrappers.AtariPreprocessing(env, frame_skip=4), 4)

    vec = DummyVecEnv([make] * N_ENVS)
    model = PPO("CnnPolicy", vec, n_steps=N_STEPS, batch_size=BATCH, n_epochs=EPOCHS, learning_rate=LR,
                clip_range=0.1, ent_coef=0.01, seed=1, device="cpu",
                policy_kwargs={"share_features_extractor": False})
    epoch = N_ENVS * N_STEPS
    start = time.perf_counter()
    model.learn(total_timesteps=max(1, steps // epoch) * epoch)
    elapsed = time.perf_counter() - start
    obs_bytes = model.rollout_buffer.observations.nbytes
    return {"steps": max(1, steps // epoch) * epoch, "seconds": elapsed, "peak_mb": _peak_mb(), "obs_bytes": obs_bytes}


def _in_subprocess(framework: str, game: str, steps: int) -> dict:
    cmd = [sys.executable, __file__, "--job", framework, "--game", game, "--steps", str(steps)]
    out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_480)
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--job", choices=["maze", "sb3"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps((run_maze if args.job == "maze" else run_sb3)(args.game, args.steps)))
        return
    maze, sb3 = _in_subprocess("maze", args.game, args.steps), _in_subprocess("sb3", args.game, args.steps)
    rate = {name: r["steps"] / r["seconds"] for name, r in (("maze", maze), ("sb3", sb3))}
    print(f"PPO on ALE/{args.game}-v5, {N_ENVS} envs x {N_STEPS} steps, {maze['steps']:,} env steps each")
    print(f"{'framework':<10} {'env steps/s':>12} {'peak MB':>9} {'rollout obs MB':>15}")
    for name, r in (("maze_cli", maze), ("sb3", sb3)):
        key = "maze" if name == "maze_cli" else "sb3"
        print(f"{name:<10} {rate[key]:>12,.0f} {r['peak_mb']:>9,.0f} {r['obs_bytes'] / 2 ** 20:>15,.1f}")
    print(f"ratio maze_cli / sb3: {rate['maze'] / rate['sb3']:.2f}")


if __name__ == "__main__":
    main()
