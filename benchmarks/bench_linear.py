"""pytest-benchmark: LinearRegression / Ridge fits on MNIST-sized data vs scikit-learn.

Run: python3 -m pytest benchmarks/bench_linear.py --benchmark-only
(``scripts/bench_linear.py`` prints the same comparison as a ratio table.)
"""

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _data import mnist_sized  # noqa: E402

import fastlin  # noqa: E402
from fastlin.datasets import one_hot  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, y, _ = mnist_sized(60000)
    return X, one_hot(y, 10)


def _fits():
    import sklearn.linear_model as skl

    return {
        "fastlin-LinearRegression": lambda X, Y: fastlin.LinearRegression().fit(X, Y),
        "fastlin-Ridge": lambda X, Y: fastlin.Ridge(alpha=1.0).fit(X, Y),
        "sklearn-LinearRegression": lambda X, Y: skl.LinearRegression().fit(X, Y),
        "sklearn-Ridge-cholesky": lambda X, Y: skl.Ridge(alpha=1.0, solver="cholesky").fit(X, Y),
    }


@pytest.mark.benchmark(group="fit-60000x784")
@pytest.mark.parametrize("impl", list(_fits()))
def test_fit(benchmark, data, impl):
    X, Y = data
    fn = _fits()[impl]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        rounds = 1 if impl == "sklearn-LinearRegression" else 3
        benchmark.pedantic(fn, args=(X, Y), rounds=rounds, warmup_rounds=1)
