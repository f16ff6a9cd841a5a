"""Leverage and Cook's distance of MNIST-sized data (60000 x 784 uint8, 10 one-hot targets).

Run: python -m pytest benchmarks/bench_diagnostics.py --benchmark-only -p no:cacheprovider
(FASTLIN_BENCH_THREADS sets the thread count, default 2). Compare within the group: the
Gram pass that fits the model, fastlin's influence pass (hat factor + streaming forward
substitution), and NumPy/SciPy on a float64 copy of X. Peak memory is measured by
``python -m scripts.bench_diagnostics``.
"""

import os

import pytest

from benchmarks.cases.data import mnist_one_hot
from benchmarks.cases.diagnostics import gram, model_of, numpy_reference, ours

THREADS = int(os.environ.get("FASTLIN_BENCH_THREADS", "2"))


@pytest.fixture(scope="module")
def data():
    X, Y, _ = mnist_one_hot(60000)
    stats = gram(X, Y)
    return X, Y, stats, model_of(stats)


@pytest.fixture(scope="module")
def limits():
    from threadpoolctl import threadpool_limits

    import fastlin

    with threadpool_limits(THREADS), fastlin.threads(THREADS):
        yield


def _run(benchmark, fn):
    fn()  # compile or load from the cache before timing
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1, iterations=1)


@pytest.mark.benchmark(group="influence-60000x784")
def test_gram_pass(benchmark, data, limits):
    X, Y, _, _ = data
    _run(benchmark, lambda: gram(X, Y))


@pytest.mark.benchmark(group="influence-60000x784")
def test_fastlin_influence(benchmark, data, limits):
    _run(benchmark, lambda: ours(*data))


@pytest.mark.benchmark(group="influence-60000x784")
def test_numpy_scipy_influence(benchmark, data, limits):
    _run(benchmark, lambda: numpy_reference(*data))
