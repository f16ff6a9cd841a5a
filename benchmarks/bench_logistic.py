"""pytest-benchmark: fused logistic loss/gradient, SGD epochs and lbfgs fits on MNIST digits.

Run with ``python -m pytest benchmarks/bench_logistic.py -p no:cacheprovider``. Every
benchmark warms up first (compilation or cache load is not timed). Groups put fastlin next
to its baseline; ``scripts/bench_logistic.py`` prints the same comparisons as a ratio table.
"""

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastlin.logistic import LogisticRegression, LossGradState

MNIST = Path(os.environ.get("FASTLIN_MNIST_DIR",
                            Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"))

# The script shares this file's name, so it is loaded under another one.
_spec = importlib.util.spec_from_file_location(
    "_bench_logistic_script", Path(__file__).resolve().parents[1] / "scripts" / "bench_logistic.py")
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)
_numpy_loss_grad = _script.numpy_loss_grad


@pytest.fixture(scope="module")
def mnist():
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST}")
    X, y, _, _ = _script.load(MNIST)
    return X, y, X / 255.0


@pytest.mark.benchmark(group="loss+grad pass, 8000 x 784, 10 classes")
@pytest.mark.parametrize("impl", ["numpy float64", "fastlin uint8", "fastlin float64"])
def test_loss_grad_pass(benchmark, mnist, impl):
    X, y, Xf = mnist
    rng = np.random.default_rng(0)
    W = rng.normal(size=(10, 784)) * 0.01
    b = np.zeros(10)
    if impl == "numpy float64":
        Y = np.eye(10)[y]
        benchmark.pedantic(_numpy_loss_grad, args=(Xf, Y, W, b), rounds=10, warmup_rounds=1)
    elif impl == "fastlin uint8":
        benchmark.pedantic(lambda: LossGradState(W, b, True, 1 / 255).update(X, y).finalize(),
                           rounds=20, warmup_rounds=1)
    else:
        benchmark.pedantic(lambda: LossGradState(W, b, True).update(Xf, y).finalize(),
                           rounds=20, warmup_rounds=1)


@pytest.mark.benchmark(group="one SGD epoch, batch 256")
@pytest.mark.parametrize("impl", ["sklearn SGDClassifier", "fastlin sgd"])
def test_sgd_epoch(benchmark, mnist, impl):
    X, y, Xf = mnist
    if impl == "sklearn SGDClassifier":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0).fit(Xf, y)
    else:
        def run():
            return LogisticRegression(solver="sgd", x_scale=1 / 255, optimizer="momentum",
                                      eta0=0.05, max_iter=1, tol=None, random_state=0).fit(X, y)
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="lbfgs fit, C=1, 30 iterations")
@pytest.mark.parametrize("impl", ["sklearn", "fastlin"])
def test_lbfgs_fit(benchmark, mnist, impl):
    X, y, Xf = mnist
    if impl == "sklearn":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression as SkLR

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return SkLR(max_iter=30).fit(Xf, y)
    else:
        def run():
            return LogisticRegression(x_scale=1 / 255, max_iter=30).fit(X, y)
    benchmark.pedantic(run, rounds=2, warmup_rounds=1)
