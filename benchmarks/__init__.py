"""Benchmarks of fastlin against its peers.

``benchmarks/bench_<topic>.py`` are pytest-benchmark files
(``python -m pytest benchmarks/bench_gram.py --benchmark-only``);
``scripts/bench_<topic>.py`` print ratio tables measured in one run
(``python -m scripts.bench_gram``, from the repository root). Both take their cases from
``benchmarks.cases``.
"""
