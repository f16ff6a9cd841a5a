"""QRStats (TSQR accumulator) against numpy.linalg.lstsq / solve and worked examples."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import naive_qr as nq
from fastlin._threads import threads
from fastlin.core.solve import RankDeficientWarning
from fastlin.core.tsqr import QRStats, tsqr_lstsq


def _fit(X, y, chunk=None, w=None, centre=True, **kw):
    stats = QRStats(centre=centre)
    n = X.shape[0]
    step = chunk or n
    for r0 in range(0, n, step):
        stats.update(X[r0 : r0 + step], y[r0 : r0 + step], None if w is None else w[r0 : r0 + step])
    return stats, stats.finalize(**kw)


def _design(rng, n, d, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    return (rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + rng.normal(size=d)).astype(
        dtype
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("n,d,t", [(2, 1, 1), (40, 5, 1), (700, 9, 3), (300, 30, 2)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_matches_lstsq(rng, dtype, n, d, t, fit_intercept):
    X = _design(rng, n, d, dtype)
    Y = X.astype(np.float64) @ rng.normal(size=(d, t)) + rng.normal(size=(n, t)) + 2.0
    _, res = _fit(X, Y, fit_intercept=fit_intercept)
    coef, icpt = nq.lstsq_fit(X, Y, fit_intercept=fit_intercept)
    # Both solutions carry cond(X) * eps of rounding; 1e-9 leaves room for cond ~ 1e2.
    scale = np.abs(coef).max()
    assert_allclose(res.coef, coef, rtol=1e-9, atol=1e-9 * scale)
    assert_allclose(res.intercept, icpt, rtol=1e-9, atol=1e-9 * max(np.abs(icpt).max(), 1.0))
    assert res.rank == d
    Xf = X.astype(np.float64)
    rss = ((Xf @ coef + icpt - Y) ** 2).sum(0)
    assert_allclose(res.rss, rss, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("chunk", [None, 33])
def test_uncentred_state_matches_lstsq_without_intercept(rng, chunk):
    X = rng.normal(size=(300, 6)) + 3.0
    Y = rng.normal(size=(300, 2))
    w = rng.uniform(0.1, 2.0, size=300)
    stats, res = _fit(X, Y, chunk=chunk, w=w, centre=False, fit_intercept=False)
    coef, _ = nq.lstsq_fit(X, Y, w=w, fit_intercept=False)
    assert_allclose(res.coef, coef, rtol=1e-10)
    assert np.all(res.intercept == 0.0)
    with pytest.raises(ValueError, match="centre=False"):
        stats.finalize(fit_intercept=True)
    with pytest.raises(ValueError, match="centre"):
        stats.merge(QRStats().update(X, Y))


def test_one_dimensional_targets(rng):
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    stats, res = _fit(X, y)
    assert stats.targets_1d_ is True
    assert res.coef.shape == (3, 1) and res.intercept.shape == (1,)


@pytest.mark.parametrize("chunk", [1, 7, 255, 256, 300, 999])
def test_chunk_invariance(rng, chunk):
    X = rng.normal(size=(1000, 6)) + 5.0
    Y = rng.normal(size=(1000, 2))
    _, whole = _fit(X, Y)
    s, part = _fit(X, Y, chunk=chunk)
    assert s.n_samples_ == 1000
    assert_allclose(part.coef, whole.coef, rtol=1e-11, atol=1e-13)
    assert_allclose(part.intercept, whole.intercept, rtol=1e-11, atol=1e-13)
    assert_allclose(part.rss, whole.rss, rtol=1e-11)


def test_merge_order_invariance(rng):
    X = rng.normal(size=(900, 5)) * [1, 10, 0.1, 3, 1] + [0, 100, -5, 0, 1e3]
    Y = rng.normal(size=(900, 1))
    states = [QRStats().update(X[i : i + 150], Y[i : i + 150]) for i in range(0, 900, 150)]
    a = states[0].copy()
    for s in states[1:]:
        a.merge(s)
    b = states[5].copy().merge(states[4]).merge(states[3])
    c = states[0].copy().merge(states[1]).merge(states[2])
    b.merge(c)
    ra, rb = a.finalize(), b.finalize()
    _, whole = _fit(X, Y)
    for r in (ra, rb):
        assert_allclose(r.coef, whole.coef, rtol=1e-11, atol=1e-13)
        assert_allclose(r.intercept, whole.intercept, rtol=1e-11, atol=1e-12)
    assert a.n_samples_ == b.n_samples_ == 900
    assert_allclose(a.sum_weights_, 900.0)
    assert_allclose(a.mean_x_, X.mean(0), rtol=1e-13, atol=1e-13)


def test_merge_leaves_other_unchanged_and_empty_merges(rng):
    X = rng.normal(size=(30, 1))
    y = rng.normal(size=30)
    a = QRStats().update(X[:10], y[:10])
    b = QRStats().update(X[10:], y[10:])
    saved = (b.R_.copy(), b.Z_.copy(), b.mean_x_.copy(), b.rss_.copy())
    a.merge(b)
    for before, after in zip(saved, (b.R_, b.Z_, b.mean_x_, b.rss_)):
        assert np.array_equal(before, after)
    e = QRStats()
    e.merge(a)
    a.merge(QRStats())
    assert_allclose(e.finalize().coef, a.finalize().coef)


def test_threads_give_the_same_answer(rng):
    X = rng.normal(size=(2000, 8))
    Y = rng.normal(size=(2000, 1))
    with threads(1):
        _, one = _fit(X, Y)
    _, many = _fit(X, Y)
    assert_allclose(one.coef, many.coef, rtol=1e-12, atol=1e-14)


def test_weighted_equals_repeated_rows(rng):
    X = rng.normal(size=(60, 4))
    y = rng.normal(size=60)
    w = rng.integers(1, 4, size=60)
    _, weighted = _fit(X, y, w=w.astype(float), chunk=17)
    _, repeated = _fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert_allclose(weighted.coef, repeated.coef, rtol=1e-11)
    assert_allclose(weighted.intercept, repeated.intercept, rtol=1e-11)
    assert_allclose(weighted.rss, repeated.rss, rtol=1e-10)
    coef, icpt = nq.lstsq_fit(X, y, w=w)
    assert_allclose(weighted.coef, coef, rtol=1e-10)


def test_zero_weight_rows_are_dropped(rng):
    X = rng.normal(size=(600, 3))
    y = rng.normal(size=600)
    w = np.ones(600)
    w[::3] = 0.0
    w[256:520] = 0.0  # a whole row range with zero weight
    _, weighted = _fit(X, y, w=w)
    keep = w > 0
    _, dropped = _fit(X[keep], y[keep])
    assert_allclose(weighted.coef, dropped.coef, rtol=1e-11)
    assert_allclose(weighted.intercept, dropped.intercept, rtol=1e-11)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [1e-3, 1.0, 250.0])
def test_ridge_via_augmentation_matches_normal_equations(rng, alpha, fit_intercept):
    X = rng.normal(size=(400, 7)) + 1.0
    Y = X @ rng.normal(size=(7, 2)) + rng.normal(size=(400, 2))
    _, res = _fit(X, Y, chunk=97, alpha=alpha, fit_intercept=fit_intercept)
    coef, icpt = nq.ridge_normal_equations(X, Y, alpha, fit_intercept)
    # Well conditioned (cond(XᵀX) ~ 10): the normal equations are accurate here.
    assert_allclose(res.coef, coef, rtol=1e-10)
    assert_allclose(res.intercept, icpt, rtol=1e-10, atol=1e-12)
    Xc = X - X.mean(0) if fit_intercept else X
    Yc = Y - Y.mean(0) if fit_intercept else Y
    assert_allclose(res.rss, ((Xc @ coef - Yc) ** 2).sum(0), rtol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_minimum_norm_on_rank_deficient_design(rng, fit_intercept):
    # Integer-valued columns with exact linear dependences: centring stays exact, so
    # numpy.linalg.lstsq sees the same rank.
    base = rng.integers(-5, 6, size=(80, 3)).astype(np.float64)
    X = np.column_stack(
        [base[:, 0], base[:, 1], base[:, 0] + base[:, 1], 2 * base[:, 2], base[:, 2]]
    )
    y = rng.normal(size=80)
    with pytest.warns(RankDeficientWarning, match="rank 3 < 5"):
        _, res = _fit(X, y, chunk=13, fit_intercept=fit_intercept)
    coef, icpt = nq.lstsq_fit(X, y, fit_intercept=fit_intercept)
    assert res.rank == 3
    assert_allclose(res.coef, coef, rtol=1e-9, atol=1e-12)
    assert_allclose(res.intercept, icpt, rtol=1e-9, atol=1e-12)


def test_more_features_than_rows_is_minimum_norm(rng):
    X = rng.normal(size=(6, 10))
    y = rng.normal(size=6)
    with pytest.warns(RankDeficientWarning, match="rank 5 < 10"):
        _, res = _fit(X, y, chunk=4)
    coef, icpt = nq.lstsq_fit(X, y)
    assert_allclose(res.coef, coef, rtol=1e-9, atol=1e-12)
    assert_allclose(res.rss, 0.0, atol=1e-20)


def test_zero_column_is_rank_deficient_not_nan(rng):
    X = rng.normal(size=(50, 3))
    X[:, 1] = 0.0
    y = rng.normal(size=50)
    with pytest.warns(RankDeficientWarning):
        _, res = _fit(X, y)
    assert np.isfinite(res.coef).all()
    assert res.coef[1, 0] == 0.0
    coef, _ = nq.lstsq_fit(X, y)
    assert_allclose(res.coef, coef, rtol=1e-10, atol=1e-14)
    assert QRStats().update(X, y).rank() == 2


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_polynomial_degree_12_as_accurate_as_lstsq(rng, fit_intercept):
    # Medians over draws: single-draw errors at cond ~ 1e9 scatter by 10x for any solver.
    ours, ref = [], []
    for _ in range(7):
        x = np.sort(rng.uniform(0.0, 1.0, size=1000))
        V = np.vander(x, 13, increasing=True)  # 1, x, ..., x^12
        beta = rng.normal(size=13)
        y = V @ beta
        if fit_intercept:
            _, res = _fit(V[:, 1:], y, chunk=128)
            coef = np.concatenate([res.intercept, res.coef[:, 0]])
        else:
            _, res = _fit(V, y, chunk=128, centre=False, fit_intercept=False)
            coef = res.coef[:, 0]
        ours.append(np.linalg.norm(coef - beta) / np.linalg.norm(beta))
        lst = np.linalg.lstsq(V, y, rcond=None)[0]
        ref.append(np.linalg.norm(lst - beta) / np.linalg.norm(beta))
    assert np.median(ours) <= 10 * np.median(ref) + 1e-12, (ours, ref)
    assert max(ours) <= 10 * max(ref) + 1e-12, (ours, ref)
    # The normal equations would square cond(V) ~ 1e9 and lose every digit.
    assert max(ours) < 1e-5


@pytest.mark.parametrize("eps", [1e-7, 1e-10])
def test_lauchli_matrix(rng, eps):
    L = nq.lauchli(4, eps)
    beta = rng.normal(size=4)
    y = L @ beta
    # Raw rows: centring would cost digits here (see the QRStats notes).
    _, res = _fit(L, y, chunk=2, fit_intercept=False, centre=False)
    ref = np.linalg.lstsq(L, y, rcond=None)[0]
    err_ours = np.linalg.norm(res.coef[:, 0] - beta) / np.linalg.norm(beta)
    err_ref = np.linalg.norm(ref - beta) / np.linalg.norm(beta)
    assert err_ours <= 10 * err_ref + 1e-9, (err_ours, err_ref)
    assert res.rank == 4


def test_columns_scaled_by_1e6(rng):
    X = rng.normal(size=(500, 4)) * [1.0, 1e6, 1e-6, 1.0]
    beta = rng.normal(size=4) / [1.0, 1e6, 1e-6, 1.0]
    y = X @ beta + 0.5
    _, res = _fit(X, y, chunk=77)
    assert_allclose(res.coef[:, 0], beta, rtol=1e-9)
    assert_allclose(res.intercept, 0.5, rtol=1e-9)


def test_large_mean_intercept(rng):
    X = rng.normal(size=(3000, 2)) + 1e9
    y = (X - 1e9) @ np.array([2.0, -1.0]) + 7.0 + 1e-3 * rng.normal(size=3000)
    _, res = _fit(X, y, chunk=512)
    coef, icpt = nq.lstsq_fit(X, y)
    assert_allclose(res.coef[:, 0], coef[:, 0], rtol=1e-6)
    assert_allclose(res.coef[:, 0], [2.0, -1.0], rtol=1e-4)


def test_hosiery_mill():
    output = np.array([13.11, 14.35, 17.09, 20.25, 24.58, 28.20])
    cost = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    res = tsqr_lstsq(output[:, None], cost, chunk_rows=2)
    assert_allclose(res.coef[0, 0], 1.7722402, rtol=1e-7)
    assert_allclose(res.intercept[0], 6.74499953, rtol=1e-7)


def test_fertilizer_quadratic():
    N = np.array([0, 1, 2, 3, 4, 6, 8, 9], dtype=np.float64)
    Y = np.array([24.5, 41.5, 52.1, 61.4, 73.5, 86.0, 92.8, 94.0])
    res = tsqr_lstsq(np.column_stack([N, N**2]), Y, chunk_rows=3)
    assert_allclose(res.intercept[0], 25.3953155, rtol=1e-7)
    assert_allclose(res.coef[:, 0], [15.08787638, -0.8306277], rtol=1e-7)


def test_bad_input_raises_before_state_changes(rng):
    s = QRStats().update(rng.normal(size=(5, 2)), rng.normal(size=5))
    R = s.R_.copy()
    with pytest.raises(ValueError, match="3 features"):
        s.update(rng.normal(size=(5, 3)), rng.normal(size=5))
    bad = rng.normal(size=(5, 2))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \(2, 1\)"):
        s.update(bad, rng.normal(size=5))
    with pytest.raises(ValueError, match="different numbers of rows"):
        s.update(rng.normal(size=(5, 2)), rng.normal(size=4))
    with pytest.raises(ValueError, match="non-negative"):
        s.update(rng.normal(size=(2, 2)), np.ones(2), sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="alpha"):
        s.finalize(alpha=-1.0)
    assert np.array_equal(s.R_, R) and s.n_samples_ == 5
    with pytest.raises(ValueError, match="no rows"):
        QRStats().finalize()
    with pytest.raises(ValueError, match="merge"):
        s.merge("not a state")


def test_warning_can_be_silenced(rng):
    X = np.ones((10, 2))
    X[:, 1] = np.arange(10.0)
    X = np.column_stack([X, X[:, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = QRStats().update(X, np.arange(10.0)).finalize(warn=False)
    assert res.rank == 1


def test_other_dtypes_are_folded_in_float64_slices(rng, monkeypatch):
    import fastlin.core.tsqr as tsqr_module

    X = rng.integers(0, 256, size=(1500, 4)).astype(np.uint8)
    y = X @ np.array([0.5, -1.0, 2.0, 0.25]) + rng.normal(size=1500)
    _, whole = _fit(X, y)
    # Slices of 512 rows: several kernel calls for one update.
    monkeypatch.setattr(tsqr_module, "_SLICE_ELEMENTS", 4 * 300)
    w = rng.uniform(0.5, 1.5, size=1500)
    stats, sliced = _fit(X, y)
    assert stats.n_samples_ == 1500
    assert_allclose(sliced.coef, whole.coef, rtol=1e-11)
    _, sw = _fit(X, y, w=w)
    coef, _ = nq.lstsq_fit(X, y, w=w)
    assert_allclose(sw.coef, coef, rtol=1e-9)
