"""Cholesky factorisation and solves against SciPy (LAPACK dpotrf / dpotrs).

Run: python -m pytest benchmarks/bench_cholesky.py --benchmark-only -p no:cacheprovider
(set FASTLIN_BENCH_THREADS to change the thread count, default 2; Numba's and OpenBLAS's
both). Groups by operation and size; compare within a group. Each round times one call on
a fresh copy made outside the timed region; compilation happens before timing. For the
ratio table in one run see scripts/bench_cholesky.py.
"""

import os

import numpy as np
import pytest
import scipy.linalg

from fastlin._threads import threads
from fastlin.kernels import cholesky as kch

THREADS = int(os.environ.get("FASTLIN_BENCH_THREADS", "2"))
SIZES = [256, 784, 2048]


@pytest.fixture(scope="module", autouse=True)
def pinned_threads():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS), threads(THREADS):
        yield


def _spd(d):
    X = np.random.default_rng(d).standard_normal((2 * d, d))
    return X.T @ X / (2 * d) + 1e-3 * np.eye(d)


def _run(benchmark, fn, make):
    fn(make())  # compile or load from the cache before timing
    rounds = 5 if any(s >= 2048 for s in make().shape) else 15
    benchmark.pedantic(fn, setup=lambda: ((make(),), {}), rounds=rounds, warmup_rounds=1,
                       iterations=1)


def _ours_factor(a):
    assert kch.cholesky_inplace(a) == 0


def _scipy_factor(a):
    scipy.linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False)


@pytest.mark.parametrize("d", SIZES)
@pytest.mark.parametrize("impl", ["fastlin", "scipy"])
def test_factor(benchmark, d, impl):
    benchmark.group = f"cholesky-factor-d{d}"
    A = _spd(d)
    if impl == "fastlin":
        _run(benchmark, _ours_factor, A.copy)
    else:
        Af = np.asfortranarray(A)
        _run(benchmark, _scipy_factor, lambda: Af.copy(order="F"))


@pytest.mark.parametrize("d", SIZES)
@pytest.mark.parametrize("t", ["1", "10", "d"])
@pytest.mark.parametrize("impl", ["fastlin", "scipy"])
def test_solve(benchmark, d, t, impl):
    n_rhs = d if t == "d" else int(t)
    benchmark.group = f"cholesky-solve-d{d}-t{n_rhs}"
    L = _spd(d)
    kch.cholesky_inplace(L)
    B = np.random.default_rng(1).standard_normal((d, n_rhs))
    if impl == "fastlin":
        _run(benchmark, lambda b: kch.cholesky_solve_inplace(L, b), B.copy)
    else:
        Lf = np.asfortranarray(L)
        Bf = np.asfortranarray(B)
        _run(benchmark,
             lambda b: scipy.linalg.cho_solve((Lf, True), b, overwrite_b=True,
                                              check_finite=False),
             lambda: Bf.copy(order="F"))
