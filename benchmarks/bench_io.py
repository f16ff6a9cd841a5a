"""Chunked readers against whole-file NumPy loading (60000 x 784 uint8), and the
synthetic digit generator.

Run: python -m pytest benchmarks/bench_io.py --benchmark-only -p no:cacheprovider
Data: synthetic digits (fastlin.datasets) written as raw IDX, gzip IDX and .npy. Every
contender computes per-column uint64 sums, so each byte is read. Compare within a group;
scripts/bench_io.py prints the ratio table with peak memory.
"""

import gzip

import numpy as np
import pytest

from fastlin import io as fio
from fastlin.datasets import make_synthetic_digits, synthetic_digits

N = 60000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench_io")
    make_synthetic_digits(d, n_train=N, n_test=0)
    raw = d / "train-images-idx3-ubyte"
    gz = d / "images.gz"
    with open(raw, "rb") as f, gzip.open(gz, "wb", compresslevel=6) as g:
        g.write(f.read())
    np.save(d / "X.npy", fio.read_idx(raw).reshape(N, -1))
    return {"raw": raw, "gz": gz, "npy": d / "X.npy"}


def _colsums(source):
    acc = np.zeros(source.n_features, np.uint64)
    for X, _ in source.iter_chunks(8192):
        acc += X.sum(axis=0, dtype=np.uint64)
    return acc


def _run(benchmark, fn):
    fn()  # page cache and Numba cache warm before timing
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="raw IDX")
@pytest.mark.parametrize("impl", ["numpy-fromfile", "fastlin-chunks"])
def test_raw(benchmark, files, impl):
    if impl == "numpy-fromfile":
        _run(benchmark, lambda: np.fromfile(files["raw"], np.uint8, offset=16)
             .reshape(N, -1).sum(0, dtype=np.uint64))
    else:
        _run(benchmark, lambda: _colsums(fio.open_idx(files["raw"])))


@pytest.mark.benchmark(group="gzip IDX")
@pytest.mark.parametrize("impl", ["numpy-gzip.decompress", "fastlin-stream"])
def test_gzip(benchmark, files, impl):
    if impl == "numpy-gzip.decompress":
        _run(benchmark, lambda: np.frombuffer(gzip.decompress(files["gz"].read_bytes()),
                                              np.uint8, offset=16).reshape(N, -1)
             .sum(0, dtype=np.uint64))
    else:
        _run(benchmark, lambda: _colsums(fio.open_idx(files["gz"])))


@pytest.mark.benchmark(group="npy")
@pytest.mark.parametrize("impl", ["numpy-load", "fastlin-mmap"])
def test_npy(benchmark, files, impl):
    if impl == "numpy-load":
        _run(benchmark, lambda: np.load(files["npy"]).sum(0, dtype=np.uint64))
    else:
        _run(benchmark, lambda: _colsums(fio.open_npy(files["npy"])))


@pytest.mark.benchmark(group="synthetic digits")
def test_synthetic_10k(benchmark):
    _run(benchmark, lambda: synthetic_digits(10000, seed=0))
