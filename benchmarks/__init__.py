"""Benchmarks at scale (issue 8): data generation, the timed pipeline, the floor and the peers.

``python -m benchmarks.run --sizes 1M,10M`` (or ``make bench``) is the entry point; see
``benchmarks/README.md``. Nothing here is imported by ``cjm_pipeline``.
"""
