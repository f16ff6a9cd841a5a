"""Gram statistics of MNIST-sized data (60000 x 784 uint8, 10 one-hot targets).

Run: python -m pytest benchmarks/bench_gram.py --benchmark-only -p no:cacheprovider
(set FASTLIN_BENCH_THREADS to change the thread count, default 2). Data: the real MNIST
test images stacked six times with different shifts, or synthetic digit-like strokes when
the files are absent (see scripts/bench_gram.py). Compare within a group.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

# the data builder and the kernel call are shared with scripts/bench_gram.py (same module
# name as this file, hence loaded by path)
_spec = importlib.util.spec_from_file_location(
    "_gram_bench_script", Path(__file__).resolve().parents[1] / "scripts" / "bench_gram.py")
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)
fastlin_gram, mnist_sized = _script.fastlin_gram, _script.mnist_sized

THREADS = int(os.environ.get("FASTLIN_BENCH_THREADS", "2"))


@pytest.fixture(scope="module")
def data():
    X, Y, _ = mnist_sized(60000, np.random.default_rng(0))
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
    _run(benchmark, lambda: Xf.T @ Xf)


@pytest.mark.benchmark(group="gram-uint8-60000x784")
def test_numpy_cast_then_syrk(benchmark, data, blas_threads):
    X, _, _ = data

    def cast_syrk():
        Xf = X.astype(np.float64)
        return Xf.T @ Xf

    _run(benchmark, cast_syrk)


@pytest.mark.benchmark(group="gram-float64-60000x784")
def test_fastlin_float64(benchmark, data, blas_threads):
    _, Y, Xf = data
    _run(benchmark, lambda: fastlin_gram(Xf, Y, THREADS))


@pytest.mark.benchmark(group="gram-float64-60000x784")
def test_numpy_syrk_float64(benchmark, data, blas_threads):
    _, _, Xf = data
    _run(benchmark, lambda: Xf.T @ Xf)


@pytest.mark.benchmark(group="gram-uint8-chunks-of-1000")
def test_fastlin_uint8_chunks_of_1000(benchmark, data, blas_threads):
    X, Y, _ = data

    def chunked():
        for s in range(0, X.shape[0], 1000):
            fastlin_gram(X[s:s + 1000], Y[s:s + 1000], THREADS)

    _run(benchmark, chunked)
