"""Benchmarks are opt-in: ``python -m pytest -m benchmark --benchmark-enable``."""
