"""Benchmarks: ``python -m benchmarks.run`` (see the README's performance section)."""
