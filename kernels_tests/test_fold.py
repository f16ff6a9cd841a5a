"""The fold engine's own features: weights passed beside a source, accumulators fed a
function of the rows (``Mapped``), and the centred co-moments the diagnostics fold."""

import numpy as np
import pytest

from fastlin import io as fio
from fastlin.core.accumulator import Mapped
from fastlin.core.moments import CoMoments
from fastlin.core.stats import GramStats
from fastlin.diagnostics import ResidualStats
from fastlin.io.fold import accumulate, fold


def _weighted_corr(X, Y, w):
    """Reference: weighted Pearson correlations of every column with every target."""
    W = w.sum()
    Xc = X - (w @ X) / W
    Yc = Y - (w @ Y) / W
    cov = Xc.T @ (w[:, None] * Yc)
    return cov / np.sqrt(np.outer(w @ (Xc * Xc), w @ (Yc * Yc)))


@pytest.mark.parametrize(
    "dtype, offset",
    [
        (np.float64, 0.0),
        (np.float64, 1e6),
        (np.float64, 1.7e9),
        (np.float32, 0.0),
        (np.float32, 1e3),
    ],
)
def test_comoments_match_the_weighted_correlation(rng, dtype, offset):
    """Correlations are offset-invariant: within 1e-12 of the reference on the unshifted
    rows plus what the offset costs the rows themselves (float64 spacing at the offset,
    relative to the smallest column's spread of 0.1)."""
    n, d = 2000, 5
    X = rng.standard_normal((n, d)) * [1, 3, 0.1, 2, 1]
    Y = np.column_stack([X[:, 0] - X[:, 3], X[:, 1] ** 2]) + rng.standard_normal((n, 2))
    w = rng.uniform(0.2, 3.0, n)
    Xo = (X + offset).astype(dtype)
    # The reference sees the rows as stored, without their offset.
    ref = _weighted_corr(Xo.astype(np.float64) - offset, Y, w)
    state = CoMoments()
    for a, b in [(0, 1), (1, 700), (700, 2000)]:
        state.update(Xo[a:b], Y[a:b], w[a:b])
    tol = 1e-12 + 100 * np.spacing(offset) / 0.1
    np.testing.assert_allclose(state.finalize(), ref, rtol=0, atol=tol)
    assert state.n_rows == n and state.sum_w == pytest.approx(w.sum(), rel=1e-14)


def test_comoments_constant_column_and_errors(rng):
    X = rng.standard_normal((50, 3))
    X[:, 1] = 7.0
    y = X[:, 0] + 0.1 * rng.standard_normal(50)
    corr = CoMoments().update(X, y).finalize()
    assert corr.shape == (3, 1) and corr[1, 0] == 0.0 and corr[0, 0] > 0.9
    state = CoMoments().update(X, y)
    before = state.to_arrays()
    with pytest.raises(ValueError, match="needs y"):
        state.update(X)
    with pytest.raises(ValueError, match="4 features and 1 targets; this accumulator holds 3"):
        state.update(np.ones((2, 4)), np.ones(2))
    big = X.copy()
    big[3, 2] = 1e200
    with pytest.raises(ValueError, match="column 2 has a value of magnitude 1e\\+200"):
        state.update(big, y)
    for k, v in state.to_arrays().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    with pytest.raises(ValueError, match="no weighted rows"):
        CoMoments().finalize()


def _source(rng, n=1000, d=4):
    X = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    y = X[:, :2].astype(np.float64) @ [1.0, -2.0] + rng.standard_normal(n)
    return X, y, fio.from_arrays(X, y)


@pytest.mark.parametrize("chunk_rows", [1, 99, 1000])
def test_weights_beside_a_source_equal_weights_with_the_arrays(rng, chunk_rows):
    X, y, src = _source(rng)
    w = rng.uniform(0.0, 2.0, X.shape[0])
    ref = GramStats().update(X, y, w)
    got = fold(src, GramStats(), sample_weight=w, chunk_rows=chunk_rows)
    np.testing.assert_allclose(got.xtx, ref.xtx, rtol=1e-12)
    np.testing.assert_allclose(got.xty, ref.xty, rtol=1e-12)
    assert got.sum_w == pytest.approx(ref.sum_w, rel=1e-14)


def test_weights_beside_a_source_are_checked(rng, tmp_path):
    X, y, src = _source(rng)
    w = np.ones(X.shape[0])
    with pytest.raises(ValueError, match="999 entries but the source has 1000 rows"):
        fold(src, GramStats(), sample_weight=w[:-1])
    with pytest.raises(ValueError, match="a checkpoint records the source"):
        accumulate(src, GramStats(), sample_weight=w, checkpoint=tmp_path / "c.npz")
    chunks = [(X[:500], y[:500], w[:500]), (X[500:], y[500:], w[500:])]
    with pytest.raises(ValueError, match="carries sample_weight and sample_weight was also"):
        fold(chunks, GramStats(), sample_weight=w)
    plain = [(X[:500], y[:500]), (X[500:], y[500:])]
    with pytest.raises(ValueError, match="the chunk at row 500 has 500"):
        fold(plain, GramStats(), sample_weight=w[:700])
    with pytest.raises(ValueError, match="1200 entries but the chunks held 1000 rows"):
        fold(plain, GramStats(), sample_weight=np.ones(1200))


def test_mapped_folds_derived_rows_and_merges(rng):
    X, y, src = _source(rng)
    coef = np.array([1.0, -2.0, 0.0, 0.0])

    def residuals(Xc, yc):
        return yc - np.asarray(Xc, dtype=np.float64) @ coef, None

    mapped = fold(src, Mapped(ResidualStats(None), residuals), chunk_rows=128)
    ref = ResidualStats(None).update(y - X.astype(np.float64) @ coef).finalize()
    np.testing.assert_allclose(mapped.finalize().rmse, ref.rmse, rtol=1e-12)
    # Split, merged in another order, from empty states that keep the function.
    a = Mapped(ResidualStats(None), residuals).update(X[:300], y[:300])
    b = a.empty().update(X[300:], y[300:])
    np.testing.assert_allclose(b.merge(a).finalize().rmse, ref.rmse, rtol=1e-12)
    # A failing function leaves the state as it was.
    before = a.copy().finalize().rmse

    def broken(Xc, yc):
        raise ValueError("bad rows")

    with pytest.raises(ValueError, match="bad rows"):
        Mapped(a.state, broken).update(X[:5], y[:5])
    np.testing.assert_array_equal(a.finalize().rmse, before)
