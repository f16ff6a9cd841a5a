"""QRStats never produces NaN: short chunks, any chunk size and thread count, wide data.

Regression tests for the reported R full of NaN (then ``LinAlgError: SVD did not
converge``): one chunk of 8 x 200, wide 300 x 2048 data, 7-row ``partial_fit`` chunks,
MNIST t10k in 3000-row chunks and stacked to 20000 rows on 1, 2 and 8 threads. Property
tests compare coefficients and RSS with ``numpy.linalg.lstsq`` on the centred design.
Thread counts above the cores are run in a subprocess with ``NUMBA_NUM_THREADS=8``.
"""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import naive_qr as nq
from fastlin._threads import threads
from fastlin.kernels import qr as kqr
from fastlin.core.tsqr import QRStats

HERE = Path(__file__).resolve().parent
MAX_THREADS = numba.config.NUMBA_NUM_THREADS


def _fit(X, Y, chunk=None, w=None, fit_intercept=True, rcond=None, block=None, n_threads=None):
    """QRStats over X in chunks of ``chunk`` rows; ``block`` overrides the kernel's rows per
    panel (and so the row ranges a chunk is split into), to get many ranges from small data."""
    stats = QRStats(centre=fit_intercept)
    n = X.shape[0]
    step = chunk or max(n, 1)
    patch = mock.patch.object(kqr, "BLOCK", block) if block else contextlib.nullcontext()
    with patch, threads(n_threads or numba.get_num_threads()):
        for r0 in range(0, n, step):
            stats.update(
                X[r0 : r0 + step], Y[r0 : r0 + step], None if w is None else w[r0 : r0 + step]
            )
    return stats, stats.finalize(fit_intercept=fit_intercept, rcond=rcond, warn=False)


def _check(stats, res, X, Y, w, fit_intercept, rcond=None, rtol=1e-8):
    """Finite, same rank, coefficients within ``rtol`` and RSS within 1e-9 of lstsq's."""
    for a in (stats.R_, stats.Z_, stats.rss_, res.coef, res.intercept, res.rss):
        assert np.isfinite(a).all()
    coef, icpt, rss, rank = nq.lstsq_reference(X, Y, w, fit_intercept, rcond)
    assert res.rank == rank
    scale = np.abs(coef).max()
    assert_allclose(res.coef, coef, rtol=rtol, atol=rtol * scale)
    xmax = np.abs(X).max(0).astype(np.float64).sum() if X.size else 0.0
    assert_allclose(
        res.intercept, icpt, rtol=rtol, atol=rtol * (1.0 + np.abs(icpt).max() + xmax * scale)
    )
    # RSS relative to lstsq's, and to the targets' own sum of squares where the fit is
    # exact (n <= d), since 1e-27 against 1e-28 is no disagreement.
    Yc = nq.lstsq_reference(np.zeros((X.shape[0], 0)), Y, w, fit_intercept)[2]
    assert_allclose(res.rss, rss, rtol=1e-9, atol=1e-9 * max(Yc.max(), 1e-300))


def _design(rng, n, d, t, zero_column=False, duplicate_column=False, offset=1.0):
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + offset * rng.normal(size=d)
    if zero_column and d > 1:
        X[:, rng.integers(d)] = 0.0
    if duplicate_column and d > 2:
        i, j = rng.choice(d, size=2, replace=False)
        X[:, j] = 2.0 * X[:, i]
    Y = X @ rng.normal(size=(d, t)) + rng.normal(size=(n, t)) + 3.0
    return X, Y


# ------------------------------------------------------------------ reported cases


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_single_chunk_of_8_rows_and_200_features(rng, fit_intercept):
    X, Y = _design(rng, 8, 200, 1)
    stats, res = _fit(X, Y[:, 0], fit_intercept=fit_intercept)
    assert res.rank == (7 if fit_intercept else 8)
    _check(stats, res, X, Y, None, fit_intercept)


@pytest.mark.parametrize("weighted", [False, True])
def test_wide_300_by_2048_is_the_minimum_norm_solution(rng, weighted):
    X, Y = _design(rng, 300, 2048, 2)
    w = rng.uniform(0.5, 2.0, size=300) if weighted else None
    stats, res = _fit(X, Y, w=w)
    assert res.rank == 299
    _check(stats, res, X, Y, w, True)
    # The exact zero rows of R are left out of the SVD; the singular values keep d entries.
    assert res.singular_values.shape == (2048,)
    sv = np.linalg.svd(nq.centred_weighted(X, Y, w)[0], compute_uv=False)
    assert_allclose(res.singular_values[:299], sv[:299], rtol=1e-10)


@pytest.mark.parametrize(
    "n,d,fit_intercept,weighted",
    [
        (400, 160, True, False),
        (300, 200, False, True),
        (60, 150, True, True),
        (100, 300, False, False),
    ],
)
def test_partial_fit_style_7_row_chunks(rng, n, d, fit_intercept, weighted):
    X, Y = _design(rng, n, d, 1, zero_column=True)
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None
    stats, res = _fit(X, Y, chunk=7, w=w, fit_intercept=fit_intercept)
    _check(stats, res, X, Y, w, fit_intercept)
    # Same factor, up to rounding, as one chunk.
    _, whole = _fit(X, Y, w=w, fit_intercept=fit_intercept)
    assert_allclose(res.coef, whole.coef, rtol=1e-9, atol=1e-9 * np.abs(whole.coef).max())


def test_mnist_in_7_row_chunks(mnist_dir):
    from fastlin.io.datasets import load_mnist_test

    X, labels = load_mnist_test(mnist_dir, as_arrays=True)
    X, y = X[:700], labels[:700].astype(np.float64)
    stats, res = _fit(X, y, chunk=7)
    _check(stats, res, X, y, None, True)


def test_one_row_chunks_of_wide_rows(rng):
    # One row per update: every update is a panel of one row onto a factor of d rows.
    X, Y = _design(rng, 30, 40, 1)
    stats, res = _fit(X, Y, chunk=1, rcond=1e-10)
    _check(stats, res, X, Y, None, True, rcond=1e-10)


# ------------------------------------------------------------------ property tests


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    # Wide ones too: a panel of k rows onto a zero factor used to give NaN from d ~ 20 k.
    n=st.integers(1, 40),
    d=st.one_of(st.integers(1, 12), st.integers(100, 128)),
    t=st.integers(1, 2),
    chunk=st.integers(1, 40),
    block=st.sampled_from([1, 3, 8, kqr.BLOCK]),
    n_threads=st.integers(1, MAX_THREADS),
    fit_intercept=st.booleans(),
    weighted=st.booleans(),
    zero_column=st.booleans(),
    duplicate_column=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_matches_lstsq_on_the_centred_design(
    n, d, t, chunk, block, n_threads, fit_intercept, weighted, zero_column, duplicate_column, seed
):
    rng = np.random.default_rng(seed)
    if fit_intercept and n == 1:
        # One row centred about its own weighted mean is zero only up to the rounding of
        # that mean: its "rank" is a coin toss for lstsq and for us alike.
        n = 2
    X, Y = _design(rng, n, d, t, zero_column, duplicate_column)
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    # An explicit rcond far from both the rounding noise (~1e-15) and the singular values
    # of a small Gaussian design: the rank, hence the minimum-norm solution, is well posed.
    stats, res = _fit(
        X,
        Y,
        chunk=chunk,
        w=w,
        fit_intercept=fit_intercept,
        rcond=1e-10,
        block=block,
        n_threads=n_threads,
    )
    _check(stats, res, X, Y, w, fit_intercept, rcond=1e-10)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    n=st.integers(2, 30),
    d=st.one_of(st.integers(1, 12), st.integers(100, 128)),
    n_parts=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_merge_of_short_states_matches_lstsq(n, d, n_parts, seed):
    # Partial states of a few rows each (fewer than d), merged as threads or workers do.
    rng = np.random.default_rng(seed)
    X, Y = _design(rng, n, d, 1, zero_column=True)
    cuts = np.sort(rng.integers(0, n + 1, size=n_parts - 1))
    parts = np.split(np.arange(n), cuts)
    total = QRStats()
    for idx in parts:
        part = QRStats()
        if idx.size:
            part.update(X[idx], Y[idx])
        total.merge(part)
    res = total.finalize(rcond=1e-10, warn=False)
    _check(total, res, X, Y, None, True, rcond=1e-10)


# ------------------------------------------------------------------ 1 to 8 threads


_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {here!r})
    import numpy as np
    import test_tsqr_robust as T
    from fastlin.kernels import qr as kqr
    out = []
    rng = np.random.default_rng(7)
    cases = [
        # (n, d, chunk, block, weighted, fit_intercept)
        (3000, 60, 1000, None, True, True),
        (300, 500, None, 16, False, True),
        (200, 50, 7, 4, True, False),
        (64, 30, 5, 2, False, True),
    ]
    for n, d, chunk, block, weighted, fit_intercept in cases:
        X, Y = T._design(rng, n, d, 2, zero_column=True)
        w = rng.uniform(0.5, 2.0, size=n) if weighted else None
        for nt in range(1, 9):
            try:
                stats, res = T._fit(X, Y, chunk=chunk, w=w, fit_intercept=fit_intercept,
                                    block=block, n_threads=nt)
                T._check(stats, res, X, Y, w, fit_intercept)
                out.append([n, d, chunk, nt, "ok"])
            except Exception as e:
                out.append([n, d, chunk, nt, repr(e)[:2000]])
    print(json.dumps(out))
""")


def _run_with_8_threads(script):
    env = dict(os.environ, NUMBA_NUM_THREADS="8")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_thread_counts_1_to_8_match_lstsq():
    results = _run_with_8_threads(_SCRIPT.format(here=str(HERE)))
    assert len(results) == 32
    bad = [r for r in results if r[-1] != "ok"]
    assert not bad, bad


_MNIST_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {here!r})
    import numpy as np
    import test_tsqr_robust as T
    import naive_qr as nq
    from fastlin.io.datasets import load_mnist_test
    X, labels = load_mnist_test({mnist!r}, as_arrays=True)
    y = labels.astype(np.float64)
    coef, icpt, rss, rank = nq.lstsq_reference(X, y)
    out = []
    def record(name, stats, res, factor=1.0):
        finite = bool(np.isfinite(stats.R_).all() and np.isfinite(res.coef).all())
        out.append(dict(
            name=name, finite=finite, rank=res.rank, ref_rank=rank,
            coef_err=float(np.abs(res.coef - coef).max() / np.abs(coef).max()),
            icpt_err=float(np.abs(res.intercept - icpt).max() / max(abs(icpt).max(), 1.0)),
            rss_err=float(abs(res.rss[0] - factor * rss[0]) / (factor * rss[0]))))
    for nt in (1, 2, 8):
        stats, res = T._fit(X, y, chunk=3000, n_threads=nt)
        record(f"chunks of 3000, {{nt}} threads", stats, res)
    stats, res = T._fit(X, y, n_threads=8)
    record("one chunk, 8 threads", stats, res)
    # Stacked twice: same minimum-norm solution, twice the RSS.
    stats, res = T._fit(np.vstack([X, X]), np.concatenate([y, y]), n_threads=8)
    record("20000 rows stacked, 8 threads", stats, res, factor=2.0)
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_mnist_t10k_chunks_of_3000_on_1_2_and_8_threads(mnist_dir):
    results = _run_with_8_threads(_MNIST_SCRIPT.format(here=str(HERE), mnist=str(mnist_dir)))
    assert len(results) == 5
    for r in results:
        assert r["finite"], r
        assert r["rank"] == r["ref_rank"], r
        # MNIST's kept singular values span a condition number of about 2e6, so the
        # coefficients carry about 1e-10 of rounding in either solver.
        assert r["coef_err"] < 1e-8 and r["icpt_err"] < 1e-8, r
        assert r["rss_err"] < 1e-9, r
