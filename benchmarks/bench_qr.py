"""pytest-benchmark: TSQR and the Householder kernels against LAPACK.

Run with ``python -m pytest benchmarks/bench_qr.py --benchmark-only -p no:cacheprovider``
(not collected by the default test run). Each case warms up once first, so Numba
compilation is not part of the timings; groups put ours and LAPACK side by side.
"""

import numpy as np
import pytest
import scipy.linalg

from fastlin._threads import n_threads, row_ranges
from fastlin.kernels import qr as kqr
from fastlin.tsqr import QRStats

SIZES = [(100_000, 64), (20_000, 256)]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def problem(request):
    n, d = request.param
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    return X, y


def _fold(X, Y):
    n, d = X.shape
    t = Y.shape[1]
    bounds = row_ranges(n, n_threads(), kqr.BLOCK)
    P = bounds.shape[0] - 1
    R = np.zeros((P, d, d))
    kqr.qr_fold_rows(X, Y, np.empty(0), bounds, False, np.empty((P, d, kqr.BLOCK)),
                     np.empty((P, t, kqr.BLOCK)), R, np.zeros((P, d, t)), np.zeros((P, t)),
                     np.empty((P, d)), np.empty((P, t)), np.empty(P))
    return R


def _run(benchmark, fn, rounds=3):
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


def test_tsqr_fit(benchmark, problem):
    X, y = problem
    benchmark.group = f"lstsq {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: QRStats().update(X, y).finalize())


def test_numpy_lstsq(benchmark, problem):
    X, y = problem
    benchmark.group = f"lstsq {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: np.linalg.lstsq(X, y, rcond=None))


def test_tsqr_kernel(benchmark, problem):
    X, y = problem
    Y = y[:, None].copy()
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: _fold(X, Y))


def test_scipy_qr_r(benchmark, problem):
    X, _ = problem
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: scipy.linalg.qr(X, mode="r"))


def test_numpy_qr_r(benchmark, problem):
    X, _ = problem
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: np.linalg.qr(X, mode="r"))


def test_householder_dense_small(benchmark):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 64))
    B = rng.normal(size=(2000, 1))
    benchmark.group = "dense qr 2000x64"

    def run():
        kqr.householder_qr(A.copy(), B.copy(), np.empty(64))

    _run(benchmark, run, rounds=5)


def test_scipy_qr_dense_small(benchmark):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 64))
    benchmark.group = "dense qr 2000x64"
    _run(benchmark, lambda: scipy.linalg.qr(A, mode="r"), rounds=5)
