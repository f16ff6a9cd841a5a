"""pytest-benchmark: the squared-loss pass and SGDRegressor epochs against scikit-learn.

Run with ``python -m pytest benchmarks/bench_sgd_regressor.py -p no:cacheprovider``.
Every benchmark warms up first (compilation or cache load is not timed). An epoch is one
``partial_fit`` call on both sides (input checks included on both); scikit-learn's SGD
steps once per sample, fastlin once per batch. ``scripts/bench_sgd_regressor.py`` prints
the same comparison as a ratio table, with the marginal time of an epoch.
"""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastlin._threads import n_threads, row_ranges
from fastlin.kernels import squared_loss as K
from fastlin.sgd_regressor import SGDRegressor

# The script shares this file's name, so it is loaded under another one.
_spec = importlib.util.spec_from_file_location(
    "_bench_sgd_regressor_script",
    Path(__file__).resolve().parents[1] / "scripts" / "bench_sgd_regressor.py")
_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_script)

N, D = 100000, 100


@pytest.fixture(scope="module", params=["float64", "uint8"])
def data(request):
    return request.param, _script.make_data(N, D, request.param)


def _numpy_loss_grad(Xf, y, w, b):
    r = Xf @ w + b - y
    return 0.5 * float(r @ r), Xf.T @ r, r.sum()


def _fastlin_loss_grad(X, Y, W, b, scale, bounds, G, gb, loss):
    G[:] = 0.0
    gb[:] = 0.0
    loss[:] = 0.0
    K.loss_grad(X, Y, np.empty(0), np.empty(0, np.int64), W, b, scale, bounds, True, G, gb, loss)
    return loss.sum(0), G.sum(0), gb.sum(0)


@pytest.mark.benchmark(group="squared loss + gradient pass, 100000 x 100")
@pytest.mark.parametrize("impl", ["numpy float64", "fastlin"])
def test_loss_grad_pass(benchmark, data, impl):
    kind, (X, Xf, y, scale) = data
    rng = np.random.default_rng(0)
    w = rng.normal(size=D) * 0.01
    if impl == "numpy float64":
        benchmark.pedantic(_numpy_loss_grad, args=(Xf, y, w, 0.5), rounds=20, warmup_rounds=1)
        return
    bounds = row_ranges(N, 2 * n_threads(), K.BLOCK)
    P = bounds.shape[0] - 1
    args = (X, np.ascontiguousarray(y.reshape(-1, 1)), w.reshape(1, -1).copy(), np.full(1, 0.5),
            scale, bounds, np.zeros((P, 1, D)), np.zeros((P, 1)), np.zeros((P, 2)))
    benchmark.extra_info["X dtype"] = kind
    benchmark.pedantic(_fastlin_loss_grad, args=args, rounds=20, warmup_rounds=1)


@pytest.mark.benchmark(group="one epoch (partial_fit), 100000 x 100")
@pytest.mark.parametrize("impl", ["sklearn per-sample", "fastlin batch 1", "fastlin batch 32",
                                  "fastlin batch 256", "fastlin full batch"])
def test_epoch(benchmark, data, impl):
    kind, (X, Xf, y, scale) = data
    benchmark.extra_info["X dtype"] = kind
    if impl.startswith("sklearn"):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDRegressor as SkSGD

        model = SkSGD(penalty=None, learning_rate="constant", eta0=1e-3, random_state=0)

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return model.partial_fit(Xf, y)
    else:
        tail = impl.rsplit(" ", 1)[1]
        bs = None if tail == "batch" else int(tail)
        eta0 = {1: 1e-3, 32: 1e-2, 256: 2e-2}.get(bs, 5e-2)
        model = SGDRegressor(batch_size=bs, eta0=eta0, x_scale=scale, random_state=0)

        def run():
            return model.partial_fit(X, y)
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
