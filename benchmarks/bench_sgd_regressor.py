"""pytest-benchmark: the squared-loss pass and SGDRegressor epochs against scikit-learn.

Run with ``python -m pytest benchmarks/bench_sgd_regressor.py -p no:cacheprovider``.
Every benchmark warms up first (compilation or cache load is not timed). An epoch is one
``partial_fit`` call on both sides (input checks included on both); scikit-learn's SGD
steps once per sample, fastlin once per batch. ``python -m scripts.bench_sgd_regressor``
prints the same comparison as a ratio table, with the marginal time of an epoch.
"""

import numpy as np
import pytest

from benchmarks.cases.sgd_regressor import (
    fastlin_loss_grad,
    fastlin_model,
    make_data,
    numpy_loss_grad,
    sklearn_model,
    sklearn_partial_fit,
)
from fastlin._threads import n_threads, row_ranges
from fastlin.kernels import squared_loss as K

N, D = 100000, 100


@pytest.fixture(scope="module", params=["float64", "uint8"])
def data(request):
    return request.param, make_data(N, D, request.param)


@pytest.mark.benchmark(group="squared loss + gradient pass, 100000 x 100")
@pytest.mark.parametrize("impl", ["numpy float64", "fastlin"])
def test_loss_grad_pass(benchmark, data, impl):
    kind, (X, Xf, y, scale) = data
    rng = np.random.default_rng(0)
    w = rng.normal(size=D) * 0.01
    if impl == "numpy float64":
        benchmark.pedantic(numpy_loss_grad, args=(Xf, y, w, 0.5), rounds=20, warmup_rounds=1)
        return
    bounds = row_ranges(N, 2 * n_threads(), K.BLOCK)
    P = bounds.shape[0] - 1
    args = (
        X,
        np.ascontiguousarray(y.reshape(-1, 1)),
        w.reshape(1, -1).copy(),
        np.full(1, 0.5),
        scale,
        bounds,
        np.zeros((P, 1, D)),
        np.zeros((P, 1)),
        np.zeros((P, 2)),
    )
    benchmark.extra_info["X dtype"] = kind
    benchmark.pedantic(fastlin_loss_grad, args=args, rounds=20, warmup_rounds=1)


@pytest.mark.benchmark(group="one epoch (partial_fit), 100000 x 100")
@pytest.mark.parametrize(
    "impl",
    [
        "sklearn per-sample",
        "fastlin batch 1",
        "fastlin batch 32",
        "fastlin batch 256",
        "fastlin full batch",
    ],
)
def test_epoch(benchmark, data, impl):
    kind, (X, Xf, y, scale) = data
    benchmark.extra_info["X dtype"] = kind
    if impl.startswith("sklearn"):
        model = sklearn_model()

        def run():
            return sklearn_partial_fit(model, Xf, y)
    else:
        tail = impl.rsplit(" ", 1)[1]
        model = fastlin_model(None if tail == "batch" else int(tail), scale)

        def run():
            return model.partial_fit(X, y)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
