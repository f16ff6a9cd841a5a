"""Gram statistics of MNIST-sized data (60000 x 784 uint8, 10 one-hot targets).

Run: python -m pytest benchmarks/bench_gram.py --benchmark-only -p no:cacheprovider
(set FASTLIN_BENCH_THREADS to change the thread count, default 2). Data: the real MNIST
test images stacked six times without shifts, or synthetic digit-like strokes when
the files are absent (see benchmarks/cases/data.py). Compare within a group;
``python -m scripts.bench_gram`` prints the ratios of one run.
"""

import os

import numpy as np
import pytest

from benchmarks.cases.data import mnist_one_hot
from benchmarks.cases.gram import fastlin_gram, fastlin_gram_chunks, numpy_cast_syrk, numpy_syrk

THREADS = int(os.environ.get("FASTLIN_BENCH_THREADS", "2"))


@pytest.fixture(scope="module")
def data():
    X, Y, _ = mnist_one_hot(60000)
    return X, Y, X.astype(np.float64)


@pytest.fixture(scope="module")
def blas_threads():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS):
        yield


def _run(benchmark, fn):
    fn()  # compile or load from the cache before timing
    benchmark.pedantic(fn, rounds=7, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="gram-uint8-60000x784")
def test_fastlin_uint8(benchmark, data, blas_threads):
    X, Y, _ = data
    _run(benchmark, lambda: fastlin_gram(X, Y, THREADS))


@pytest.mark.benchmark(group="gram-uint8-60000x784")
def test_numpy_syrk_on_float64_copy(benchmark, data, blas_threads):
    _, _, Xf = data
    _run(benchmark, lambda: numpy_syrk(Xf))


@pytest.mark.benchmark(group="gram-uint8-60000x784")
def test_numpy_cast_then_syrk(benchmark, data, blas_threads):
    X, _, _ = data
    _run(benchmark, lambda: numpy_cast_syrk(X))


@pytest.mark.benchmark(group="gram-float64-60000x784")
def test_fastlin_float64(benchmark, data, blas_threads):
    _, Y, Xf = data
    _run(benchmark, lambda: fastlin_gram(Xf, Y, THREADS))


@pytest.mark.benchmark(group="gram-float64-60000x784")
def test_numpy_syrk_float64(benchmark, data, blas_threads):
    _, _, Xf = data
    _run(benchmark, lambda: numpy_syrk(Xf))


@pytest.mark.benchmark(group="gram-uint8-chunks-of-1000")
def test_fastlin_uint8_chunks_of_1000(benchmark, data, blas_threads):
    X, Y, _ = data
    _run(benchmark, lambda: fastlin_gram_chunks(X, Y, THREADS, 1000))
