"""pytest-benchmark: fused logistic loss/gradient, SGD epochs and lbfgs fits on MNIST digits.

Run with ``python -m pytest benchmarks/bench_logistic.py -p no:cacheprovider``. Every
benchmark warms up first (compilation or cache load is not timed). Groups put fastlin next
to its baseline; ``python -m scripts.bench_logistic`` prints the same comparisons as a
ratio table.
"""

import numpy as np
import pytest

from benchmarks.cases.data import MNIST_DIR, mnist_found
from benchmarks.cases.logistic import (
    fastlin_lbfgs,
    fastlin_loss_grad,
    fastlin_sgd,
    initial_weights,
    load,
    numpy_loss_grad,
    sklearn_lbfgs,
    sklearn_sgd,
)


@pytest.fixture(scope="module")
def mnist():
    if not mnist_found(MNIST_DIR):
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    X, y, _, _ = load(MNIST_DIR)
    return X, y, X / 255.0


@pytest.mark.benchmark(group="loss+grad pass, 8000 x 784, 10 classes")
@pytest.mark.parametrize("impl", ["numpy float64", "fastlin uint8", "fastlin float64"])
def test_loss_grad_pass(benchmark, mnist, impl):
    X, y, Xf = mnist
    W, b = initial_weights()
    if impl == "numpy float64":
        Y = np.eye(10)[y]
        benchmark.pedantic(numpy_loss_grad, args=(Xf, Y, W, b), rounds=10, warmup_rounds=1)
    elif impl == "fastlin uint8":
        benchmark.pedantic(
            lambda: fastlin_loss_grad(X, y, W, b, 1 / 255), rounds=20, warmup_rounds=1
        )
    else:
        benchmark.pedantic(lambda: fastlin_loss_grad(Xf, y, W, b), rounds=20, warmup_rounds=1)


@pytest.mark.benchmark(group="one SGD epoch, batch 256")
@pytest.mark.parametrize("impl", ["sklearn SGDClassifier", "fastlin sgd"])
def test_sgd_epoch(benchmark, mnist, impl):
    X, y, Xf = mnist
    if impl == "sklearn SGDClassifier":
        benchmark.pedantic(lambda: sklearn_sgd(Xf, y, 1), rounds=5, warmup_rounds=1)
    else:
        benchmark.pedantic(lambda: fastlin_sgd(X, y, 1), rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="lbfgs fit, C=1, 30 iterations")
@pytest.mark.parametrize("impl", ["sklearn", "fastlin"])
def test_lbfgs_fit(benchmark, mnist, impl):
    X, y, Xf = mnist
    if impl == "sklearn":
        benchmark.pedantic(lambda: sklearn_lbfgs(Xf, y, 30), rounds=2, warmup_rounds=1)
    else:
        benchmark.pedantic(lambda: fastlin_lbfgs(X, y, 30), rounds=2, warmup_rounds=1)
