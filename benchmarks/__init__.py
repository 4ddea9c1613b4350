"""Benchmarks of Wardplan against its alternatives, a districting baseline and a lower bound.

Run ``uv run python -m benchmarks.run`` (see ``benchmarks/run.py``); it writes
``benchmarks/results/latest.json`` and regenerates ``BENCHMARKS.md`` at the repository root.
Times live here, never in the tests.
"""
