"""pytest-benchmark: TSQR and the Householder kernels against LAPACK.

Run with ``python -m pytest benchmarks/bench_qr.py --benchmark-only -p no:cacheprovider``
(not collected by the default test run). Each case warms up once first, so Numba
compilation is not part of the timings; groups put ours and LAPACK side by side.
``python -m scripts.bench_qr`` prints the ratios of one run.
"""

import numpy as np
import pytest

from benchmarks.cases.qr import (
    householder,
    kernel_fold,
    make_problem,
    numpy_lstsq,
    numpy_qr_r,
    scipy_qr_r,
    tsqr_fit,
)

SIZES = [(100_000, 64), (20_000, 256)]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def problem(request):
    n, d = request.param
    return make_problem(np.random.default_rng(0), n, d)


def _run(benchmark, fn, rounds=3):
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


def test_tsqr_fit(benchmark, problem):
    X, y = problem
    benchmark.group = f"lstsq {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: tsqr_fit(X, y))


def test_numpy_lstsq(benchmark, problem):
    X, y = problem
    benchmark.group = f"lstsq {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: numpy_lstsq(X, y))


def test_tsqr_kernel(benchmark, problem):
    X, y = problem
    Y = y[:, None].copy()
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: kernel_fold(X, Y))


def test_scipy_qr_r(benchmark, problem):
    X, _ = problem
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: scipy_qr_r(X))


def test_numpy_qr_r(benchmark, problem):
    X, _ = problem
    benchmark.group = f"qr R {X.shape[0]}x{X.shape[1]}"
    _run(benchmark, lambda: numpy_qr_r(X))


def test_householder_dense_small(benchmark):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 64))
    B = rng.normal(size=(2000, 1))
    benchmark.group = "dense qr 2000x64"
    _run(benchmark, lambda: householder(A, B), rounds=5)


def test_scipy_qr_dense_small(benchmark):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 64))
    benchmark.group = "dense qr 2000x64"
    _run(benchmark, lambda: scipy_qr_r(A), rounds=5)
