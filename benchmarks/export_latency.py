"""Serving latency of an exported policy: one observation (and a batch of 256) through the TorchScript file,
the ONNX file in onnxruntime and the policy in maze_cli, on the default CartPole networks.

    pip install -e .[onnx]
    python benchmarks/export_latency.py
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from maze_cli import RunContext
from maze_cli.export.formats import export_policy


def per_call_us(call, repeats: int = 2000) -> float:
    for _ in range(50):
        call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    import onnxruntime
    torch.set_num_threads(1)
    policy = RunContext(env="cartpole").policy.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_policy(policy, [(0, 0)], Path(tmp), "benchmark", "torchscript")
        export_policy(policy, [(0, 0)], Path(tmp), "benchmark", "onnx")
        scripted = torch.jit.load(str(Path(tmp) / "policy.pt"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(Path(tmp) / "policy.onnx"), options)
        sizes = {name: (Path(tmp) / name).stat().st_size for name in ("policy.pt", "policy.onnx")}
        print(f"file sizes: TorchScript {sizes['policy.pt'] / 1024:.0f} KiB, ONNX {sizes['policy.onnx'] / 1024:.0f} KiB")
        print(f"{'batch':>6}{'maze_cli us':>13}{'TorchScript us':>16}{'onnxruntime us':>16}")
        for batch in (1, 256):
            obs = np.random.default_rng(0).normal(size=(batch, 4)).astype(np.float32)
            tensor = torch.from_numpy(obs)
            with torch.inference_mode():
                maze = per_call_us(lambda: policy.compute_actions({"observation": obs}, deterministic=True))
                script = per_call_us(lambda: scripted({"observation": tensor}))
            onnx = per_call_us(lambda: session.run(None, {"observation": obs}))
            print(f"{batch:>6}{maze:>13.0f}{script:>16.0f}{onnx:>16.0f}")


if __name__ == "__main__":
    main()
