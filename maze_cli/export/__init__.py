"""Policies exported for serving without maze_cli: ``maze-run -cn export input_dir=<run>`` (TorchScript or ONNX)."""
