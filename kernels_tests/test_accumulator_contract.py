"""One contract for every row accumulator: ``update(X, y, sample_weight)``, ``merge``,
``copy``, ``to_arrays`` and a failed update that changes nothing.

For each accumulator: folding the rows in one update, or in chunks merged in two
different groupings, gives the same statistics (exactly for the integer Gram, to 1e-12
relative otherwise: only the summation order differs); a copy is independent of its
original; a chunk with a non-finite value raises ``ValueError`` and leaves the state
as it was; the state survives a round trip through plain arrays where the accumulator
rebuilds itself from them.
"""

import numpy as np
import pytest

import fastlin
from fastlin.diagnostics import hat_factor
from fastlin.inference import LogitHessianStats, SandwichStats
from fastlin.preprocessing import Moments
from fastlin.refine import ResidualStats
from fastlin.stats import GramStats
from fastlin.tsqr import QRStats


def _data(rng, kind):
    n, d = 900, 6
    if kind == "uint8":
        X = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    else:
        X = rng.standard_normal((n, d)) * [1, 10, 0.1, 1, 3, 1] + [0, 5, 0, 1e3, 0, 0]
    y = X[:, :3].astype(np.float64) @ [1.0, -0.5, 2.0] + rng.standard_normal(n)
    # Unit weights and integer targets for bytes: their Gram statistics are exact integers.
    w = None if kind == "uint8" else rng.uniform(0.5, 2.0, n)
    if kind == "uint8":
        y = np.round(y)
    return X, y, w


def _rows(w, a, b):
    return None if w is None else w[a:b]


def _fitted(X, y, w):
    m = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    # Away from the optimum, so the residual sums are not a cancellation to compare.
    coef = 1.1 * np.atleast_2d(m.coef_).astype(np.float64)
    return m, coef, np.atleast_1d(m.intercept_).astype(np.float64) + 0.3


def _make(name, X, y, w):
    """(new empty state, rows folded by update(X, y, w), arrays of the final state)."""
    if name == "GramStats":  # the raw sums: each part takes its own shift
        return GramStats, lambda s: {"xtx": s.xtx, "xty": s.xty, "yty": s.yty,
                                     "x_sum": s.x_sum, "y_sum": s.y_sum, "sum_w": s.sum_w,
                                     "n": s.n_rows}
    if name == "QRStats":
        return lambda: QRStats(centre=True), lambda s: {
            "rss": s.rss_, "RtR": s.R_.T @ s.R_, "mean_x": s.mean_x_, "w": s.sum_weights_}
    if name == "Moments":
        return Moments, lambda s: dict(zip(("count", "mean", "var"), s.finalize()))
    m, coef, icpt = _fitted(X, y, w)
    if name == "ResidualStats":
        shift = m.stats_.x_shift
        return lambda: ResidualStats(coef, icpt, shift), lambda s: {
            "xr": s.xr, "r_sum": s.r_sum, "rss": s.rss, "sum_w": s.sum_w}
    if name == "SandwichStats":
        factor = hat_factor(m.stats_, 0.0, True)
        _, _, _, y_mean = m.stats_.centred(True)
        parts = m.stats_.mean_parts()
        return lambda: SandwichStats(coef, y_mean, factor, parts, "HC3"), lambda s: dict(
            zip(("meat", "ssr"), s.finalize()))
    if name == "LogitHessianStats":
        lab = (y > np.median(y)).astype(int)
        lr = fastlin.LogisticRegression(max_iter=20).fit(X, lab)
        state = lambda: LogitHessianStats(lr.coef_[0], lr.intercept_[0], lr.classes_)  # noqa: E731
        return state, lambda s: {"H": s.hessian.xtx, "sum": s.hessian.x_sum,
                                 "loglik": s.loglik, "w": s.sum_w}
    raise KeyError(name)


NAMES = ["GramStats", "QRStats", "Moments", "ResidualStats", "SandwichStats",
         "LogitHessianStats"]


def _target(name, y):
    return (y > np.median(y)).astype(int) if name == "LogitHessianStats" else y


def _assert_same(a, b, exact):
    assert a.keys() == b.keys()
    for k in a:
        x, z = np.asarray(a[k], dtype=np.float64), np.asarray(b[k], dtype=np.float64)
        if exact:
            np.testing.assert_array_equal(x, z, err_msg=k)
        else:
            scale = max(float(np.abs(z).max()), 1e-300)
            np.testing.assert_allclose(x, z, rtol=1e-12, atol=1e-12 * scale, err_msg=k)


@pytest.mark.parametrize("kind", ["uint8", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_split_and_merge_in_any_grouping(rng, name, kind):
    X, y, w = _data(rng, kind)
    t = _target(name, y)
    new, view = _make(name, X, y, w)
    whole = new().update(X, t, w)
    cuts = [0, 100, 101, 450, 800, 900]
    parts = [new().update(X[a:b], t[a:b], _rows(w, a, b))
             for a, b in zip(cuts[:-1], cuts[1:])]
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    right = parts[-1].copy()
    for p in parts[-2::-1]:
        right.merge(p)
    exact = name == "GramStats" and kind == "uint8"
    _assert_same(view(left), view(whole), exact)
    _assert_same(view(right), view(whole), exact)


@pytest.mark.parametrize("name", NAMES)
def test_copy_is_independent_and_failed_update_changes_nothing(rng, name):
    X, y, w = _data(rng, "float64")
    t = _target(name, y)
    new, view = _make(name, X, y, w)
    state = new().update(X[:500], t[:500], _rows(w, 0, 500))
    before = {k: np.array(v, copy=True) for k, v in view(state).items()}
    twin = state.copy()
    twin.update(X[500:], t[500:], _rows(w, 500, 900))
    _assert_same(view(state), before, exact=True)
    bad = X[500:].copy()
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="inf"):
        state.update(bad, t[500:], _rows(w, 500, 900))
    _assert_same(view(state), before, exact=True)


@pytest.mark.parametrize("name", ["GramStats", "QRStats", "Moments"])
def test_round_trip_through_arrays(rng, name):
    X, y, w = _data(rng, "float64")
    new, view = _make(name, X, y, w)
    state = new().update(X, y, w)
    arrays = state.to_arrays()
    assert all(isinstance(v, (np.ndarray, np.generic)) for v in arrays.values())
    again = type(state).from_arrays(arrays)
    _assert_same(view(again), view(state), exact=True)
    again.update(X[:10], y[:10], _rows(w, 0, 10))  # and it goes on accumulating
