"""Algorithms: each reads top to bottom from a rollout (or replay sample) to losses and a gradient step."""
