"""pytest-benchmark: LinearRegression / Ridge fits on MNIST-sized data vs scikit-learn.

Run: python -m pytest benchmarks/bench_linear.py --benchmark-only -p no:cacheprovider
(``python -m scripts.bench_linear`` prints the same comparison as a ratio table.)
"""

import warnings

import pytest
import sklearn.linear_model as skl

import fastlin
from benchmarks.cases.data import mnist_one_hot
from benchmarks.cases.linear import fastlin_fit, peer_fit

FITS = {
    "fastlin-LinearRegression": lambda X, Y: fastlin_fit("linear", X, Y),
    "fastlin-Ridge": lambda X, Y: fastlin_fit("ridge", X, Y),
    "sklearn-LinearRegression": lambda X, Y: peer_fit(skl, "linear", X, Y),
    "sklearn-Ridge-cholesky": lambda X, Y: peer_fit(skl, "ridge", X, Y, solver="cholesky"),
}


@pytest.fixture(scope="module")
def data():
    X, Y, _ = mnist_one_hot(60000)
    return X, Y


@pytest.mark.benchmark(group="fit-60000x784")
@pytest.mark.parametrize("impl", list(FITS))
def test_fit(benchmark, data, impl):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        rounds = 1 if impl == "sklearn-LinearRegression" else 3
        benchmark.pedantic(FITS[impl], args=(X, Y), rounds=rounds, warmup_rounds=1)
