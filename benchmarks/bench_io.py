"""Chunked readers against whole-file NumPy loading (60000 x 784 uint8), and the
synthetic digit generator.

Run: python -m pytest benchmarks/bench_io.py --benchmark-only -p no:cacheprovider
Data: synthetic digits (fastlin.synthetic_digits) written as raw IDX, gzip IDX and .npy. Every
contender computes per-column uint64 sums, so each byte is read. Compare within a group;
``python -m scripts.bench_io`` prints the ratio table with peak memory.
"""

import pytest

from benchmarks.cases.io import (
    fastlin_idx,
    fastlin_npy,
    numpy_gzip,
    numpy_npy,
    numpy_raw,
    write_copies,
    write_digits,
)
from fastlin import synthetic_digits

N = 60000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_io")
    return write_copies(write_digits(d, N), d, N)


def _run(benchmark, fn):
    fn()  # page cache and Numba cache warm before timing
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="raw IDX")
@pytest.mark.parametrize("impl", ["numpy-fromfile", "fastlin-chunks"])
def test_raw(benchmark, files, impl):
    if impl == "numpy-fromfile":
        _run(benchmark, lambda: numpy_raw(files["raw"], N))
    else:
        _run(benchmark, lambda: fastlin_idx(files["raw"]))


@pytest.mark.benchmark(group="gzip IDX")
@pytest.mark.parametrize("impl", ["numpy-gzip.decompress", "fastlin-stream"])
def test_gzip(benchmark, files, impl):
    if impl == "numpy-gzip.decompress":
        _run(benchmark, lambda: numpy_gzip(files["gz"], N))
    else:
        _run(benchmark, lambda: fastlin_idx(files["gz"]))


@pytest.mark.benchmark(group="npy")
@pytest.mark.parametrize("impl", ["numpy-load", "fastlin-mmap"])
def test_npy(benchmark, files, impl):
    if impl == "numpy-load":
        _run(benchmark, lambda: numpy_npy(files["npy"]))
    else:
        _run(benchmark, lambda: fastlin_npy(files["npy"]))


@pytest.mark.benchmark(group="synthetic digits")
def test_synthetic_10k(benchmark):
    _run(benchmark, lambda: synthetic_digits(10000, seed=0))
