"""Cholesky factorisation and solves against SciPy (LAPACK dpotrf / dpotrs).

Run: python -m pytest benchmarks/bench_cholesky.py --benchmark-only -p no:cacheprovider
(set FASTLIN_BENCH_THREADS to change the thread count, default 2; Numba's and OpenBLAS's
both). Groups by operation and size; compare within a group. Each round times one call on
a fresh copy made outside the timed region; compilation happens before timing. For the
ratio table in one run see ``python -m scripts.bench_cholesky``.
"""

import os

import numpy as np
import pytest

from benchmarks.cases.cholesky import fastlin_factor, fastlin_solve, scipy_factor, scipy_solve, spd
from fastlin._threads import threads

THREADS = int(os.environ.get("FASTLIN_BENCH_THREADS", "2"))
SIZES = [256, 784, 2048]


@pytest.fixture(scope="module", autouse=True)
def pinned_threads():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(THREADS), threads(THREADS):
        yield


def _run(benchmark, fn, make):
    fn(make())  # compile or load from the cache before timing
    rounds = 5 if any(s >= 2048 for s in make().shape) else 15
    benchmark.pedantic(
        fn, setup=lambda: ((make(),), {}), rounds=rounds, warmup_rounds=1, iterations=1
    )


@pytest.mark.parametrize("d", SIZES)
@pytest.mark.parametrize("impl", ["fastlin", "scipy"])
def test_factor(benchmark, d, impl):
    benchmark.group = f"cholesky-factor-d{d}"
    A = spd(np.random.default_rng(d), d)
    if impl == "fastlin":
        _run(benchmark, fastlin_factor, A.copy)
    else:
        Af = np.asfortranarray(A)
        _run(benchmark, scipy_factor, lambda: Af.copy(order="F"))


@pytest.mark.parametrize("d", SIZES)
@pytest.mark.parametrize("t", ["1", "10", "d"])
@pytest.mark.parametrize("impl", ["fastlin", "scipy"])
def test_solve(benchmark, d, t, impl):
    n_rhs = d if t == "d" else int(t)
    benchmark.group = f"cholesky-solve-d{d}-t{n_rhs}"
    L = spd(np.random.default_rng(d), d)
    fastlin_factor(L)
    B = np.random.default_rng(1).standard_normal((d, n_rhs))
    if impl == "fastlin":
        _run(benchmark, lambda b: fastlin_solve(L, b), B.copy)
    else:
        Lf = np.asfortranarray(L)
        Bf = np.asfortranarray(B)
        _run(benchmark, lambda b: scipy_solve(Lf, b), lambda: Bf.copy(order="F"))
