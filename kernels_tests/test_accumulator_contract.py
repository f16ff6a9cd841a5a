"""One contract for every accumulator: ``update(X, y, sample_weight)``, ``merge``,
``copy``, ``to_arrays`` / ``from_arrays`` (and pickling through them), and a failed
update that changes nothing.

For each accumulator: folding the rows in one update, or in chunks merged in two
different groupings, gives the same statistics (exactly for the integer Gram, to 1e-12
relative otherwise: only the summation order differs); a copy is independent of its
original; a chunk with a non-finite value raises ``ValueError`` and leaves the state
as it was; the state survives a round trip through plain arrays and through pickle, and
goes on accumulating after it. A last test checks that every ``Accumulator`` in the
package is one of those run here.
"""

import importlib
import pickle
import pkgutil

import numpy as np
import pytest

import fastlin
from fastlin.core.accumulator import Accumulator
from fastlin.core.calibration import CalibrationStats
from fastlin.diagnostics import ResidualStats, hat_factor
from fastlin.core.inference_stats import LogitHessianStats, SandwichStats
from fastlin.core.losses import HesspState, LossGradState
from fastlin.core.path import LOOStats, ridge_eigen
from fastlin.core.moments import CoMoments, Moments
from fastlin.core.refine import ResidualSums
from fastlin.core.stats import GramStats
from fastlin.core.tsqr import QRStats


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


def _same_rows(X, y):
    return X, y


def _make(name, X, y, w):
    """(new empty state, view of its statistics as a dict, rows -> update arguments).

    ``rows(X, y)`` turns a chunk of the design and targets into what the accumulator
    folds: the design itself for most, probabilities and labels for calibration,
    residuals for the residual summary.
    """
    if name == "GramStats":  # the raw sums: each part takes its own shift
        return (
            GramStats,
            lambda s: {
                "xtx": s.xtx,
                "xty": s.xty,
                "yty": s.yty,
                "x_sum": s.x_sum,
                "y_sum": s.y_sum,
                "sum_w": s.sum_w,
                "n": s.n_rows,
            },
            _same_rows,
        )
    if name == "QRStats":
        return (
            lambda: QRStats(centre=True),
            lambda s: {
                "rss": s.rss_,
                "RtR": s.R_.T @ s.R_,
                "mean_x": s.mean_x_,
                "w": s.sum_weights_,
            },
            _same_rows,
        )
    if name == "Moments":
        return Moments, lambda s: dict(zip(("count", "mean", "var"), s.finalize())), _same_rows
    if name == "CoMoments":  # the columns against y and a second, offset target
        return (
            CoMoments,
            lambda s: {
                "x_mean": s.x_mean,
                "x_m2": s.x_m2,
                "y_mean": s.y_mean,
                "y_m2": s.y_m2,
                "xy_m2": s.xy_m2,
                "w": s.sum_w,
                "n": s.n_rows,
            },
            lambda Xc, yc: (Xc, np.column_stack([yc, 0.5 * yc + 1e4])),
        )
    if name == "CalibrationStats":
        # Probabilities from a fixed score of the row; NaN where the row is not finite.
        def rows(Xc, yc):
            z = np.asarray(Xc, dtype=np.float64) @ np.linspace(-1, 1, Xc.shape[1])
            z = (z - 40.0) / 60.0
            with np.errstate(invalid="ignore", over="ignore"):
                p = 1.0 / (1.0 + np.exp(-z))
            p[~np.isfinite(np.asarray(Xc, dtype=np.float64)).all(axis=1)] = np.nan
            return p, (yc > np.median(y)).astype(np.int64)

        return (
            lambda: CalibrationStats(n_bins=8),
            lambda s: {"hist": s.hist_, "scores": s.scores_, "n": s.n_samples_},
            rows,
        )
    m, coef, icpt = _fitted(X, y, w)
    if name == "ResidualSums":
        shift = m.stats_.x_shift
        return (
            lambda: ResidualSums(coef, icpt, shift),
            lambda s: {"xr": s.xr, "r_sum": s.r_sum, "rss": s.rss, "sum_w": s.sum_w},
            _same_rows,
        )
    if name == "ResidualStats":

        def rows(Xc, yc):
            with np.errstate(invalid="ignore", over="ignore"):
                return yc - (np.asarray(Xc, dtype=np.float64) @ coef[0] + icpt[0]), None

        def view(s):
            out = s.finalize()
            return {
                "mean": out.mean,
                "std": out.std,
                "rmse": out.rmse,
                "min": out.min,
                "max": out.max,
                "n": out.n,
                **{str(q): v for q, v in out.quantiles.items()},
            }

        return ResidualStats, view, rows
    if name == "SandwichStats":
        factor = hat_factor(m.stats_, 0.0, True)
        _, _, _, y_mean = m.stats_.centred(True)
        parts = m.stats_.mean_parts()
        return (
            lambda: SandwichStats(coef, y_mean, factor, parts, "HC3"),
            lambda s: dict(zip(("meat", "ssr"), s.finalize())),
            _same_rows,
        )
    if name == "LOOStats":
        eigen = ridge_eigen(m.stats_, True)
        return (
            lambda: LOOStats(eigen, [0.0, 1.0, 100.0]),
            lambda s: {"score": s.finalize(), "n": s.n_rows},
            _same_rows,
        )
    lab = (y > np.median(y)).astype(int)

    def labels(Xc, yc):
        return Xc, (yc > np.median(y)).astype(np.int64)

    if name == "LogitHessianStats":
        lr = fastlin.LogisticRegression(max_iter=20).fit(X, lab)
        state = lambda: LogitHessianStats(lr.coef_[0], lr.intercept_[0], lr.classes_)  # noqa: E731
        return (
            state,
            lambda s: {
                "H": s.hessian.xtx,
                "sum": s.hessian.x_sum,
                "loglik": s.loglik,
                "w": s.sum_w,
            },
            labels,
        )
    W = np.linspace(-0.02, 0.02, X.shape[1])[None, :]
    b = np.array([0.1])
    if name == "LossGradState":
        return (
            lambda: LossGradState(W, b, False, 1.0 / 255),
            lambda s: dict(zip(("loss", "w", "gW", "gb"), s.finalize())),
            labels,
        )
    if name == "HesspState":
        V = np.cos(np.arange(X.shape[1]))[None, :]
        return (
            lambda: HesspState(W, b, V, np.array([0.5]), False, 1.0 / 255),
            lambda s: dict(zip(("HV", "hvb"), s.finalize())),
            _same_rows,
        )
    raise KeyError(name)


NAMES = [
    "GramStats",
    "QRStats",
    "Moments",
    "CoMoments",
    "ResidualSums",
    "ResidualStats",
    "SandwichStats",
    "LogitHessianStats",
    "LOOStats",
    "CalibrationStats",
    "LossGradState",
    "HesspState",
]


def _assert_same(a, b, exact):
    assert a.keys() == b.keys()
    for k in a:
        x, z = np.asarray(a[k], dtype=np.float64), np.asarray(b[k], dtype=np.float64)
        if exact:
            np.testing.assert_array_equal(x, z, err_msg=k)
        else:
            scale = max(float(np.abs(z).max()), 1e-300)
            np.testing.assert_allclose(x, z, rtol=1e-12, atol=1e-12 * scale, err_msg=k)


def _update(state, rows, X, y, w):
    Xr, yr = rows(X, y)
    return state.update(Xr, yr, w)


@pytest.mark.parametrize("kind", ["uint8", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_split_and_merge_in_any_grouping(rng, name, kind):
    X, y, w = _data(rng, kind)
    new, view, rows = _make(name, X, y, w)
    whole = _update(new(), rows, X, y, w)
    cuts = [0, 100, 101, 450, 800, 900]
    parts = [
        _update(new(), rows, X[a:b], y[a:b], _rows(w, a, b)) for a, b in zip(cuts[:-1], cuts[1:])
    ]
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
    new, view, rows = _make(name, X, y, w)
    state = _update(new(), rows, X[:500], y[:500], _rows(w, 0, 500))
    before = {k: np.array(v, copy=True) for k, v in view(state).items()}
    twin = state.copy()
    _update(twin, rows, X[500:], y[500:], _rows(w, 500, 900))
    _assert_same(view(state), before, exact=True)
    bad = X[500:].copy()
    bad[7, 2] = np.inf
    with pytest.raises(ValueError, match="inf|NaN|nan"):
        _update(state, rows, bad, y[500:], _rows(w, 500, 900))
    _assert_same(view(state), before, exact=True)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_through_arrays_and_pickle(rng, name):
    X, y, w = _data(rng, "float64")
    new, view, rows = _make(name, X, y, w)
    for state in (new(), _update(new(), rows, X[:800], y[:800], _rows(w, 0, 800))):
        arrays = state.to_arrays()
        assert all(isinstance(v, (np.ndarray, np.generic)) for v in arrays.values())
        for again in (type(state).from_arrays(arrays), pickle.loads(pickle.dumps(state))):
            assert type(again) is type(state)
            # it goes on accumulating, to the same statistics as the original
            _update(again, rows, X[800:], y[800:], _rows(w, 800, 900))
            ref = _update(state.copy(), rows, X[800:], y[800:], _rows(w, 800, 900))
            _assert_same(view(again), view(ref), exact=True)
    # empty(): the same settings and no rows, so it folds a chunk as a new state does
    emptied = _update(state.empty(), rows, X[800:], y[800:], _rows(w, 800, 900))
    fresh = _update(new(), rows, X[800:], y[800:], _rows(w, 800, 900))
    _assert_same(view(emptied), view(fresh), exact=True)


def test_every_accumulator_runs_the_contract():
    for info in pkgutil.walk_packages(fastlin.__path__, "fastlin."):
        if ".kernels" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found, todo = set(), [Accumulator]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("fastlin."):
                found.add(sub.__name__)
            todo.append(sub)
    assert found == set(NAMES)
