"""StandardScaler / Moments / PolynomialFeatures / polynomial_gram against NumPy and sklearn."""

from fractions import Fraction

import numpy as np
import pytest
import sklearn.preprocessing as skp
from numpy.testing import assert_allclose

from fastlin._threads import threads
from fastlin.core.moments import Moments
from fastlin.estimators.preprocessing import PolynomialFeatures, StandardScaler, polynomial_gram


def _data(rng, n, d, dtype):
    if dtype == np.uint8:
        return rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 4.0, size=d) + rng.normal(size=d) * 10
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("n,d", [(1, 3), (2, 1), (255, 4), (1000, 7)])
def test_moments_match_numpy(rng, dtype, n, d):
    X = _data(rng, n, d, dtype)
    m = Moments().update(X)
    cnt, mean, var = m.finalize()
    Xf = X.astype(np.float64)
    assert_allclose(cnt, n)
    assert_allclose(mean, Xf.mean(0), rtol=1e-13, atol=1e-13)
    assert_allclose(var, Xf.var(0), rtol=1e-12, atol=1e-13)
    if n > 1:
        assert_allclose(m.finalize(ddof=1)[2], Xf.var(0, ddof=1), rtol=1e-12, atol=1e-13)


def test_moments_weighted_and_nan(rng):
    X = rng.normal(size=(600, 3))
    X[5, 0] = np.nan
    X[::7, 2] = np.nan
    w = rng.uniform(0.0, 2.0, size=600)
    cnt, mean, var = Moments().update(X, sample_weight=w).finalize()
    for j in range(3):
        ok = ~np.isnan(X[:, j])
        mj = np.average(X[ok, j], weights=w[ok])
        assert_allclose(cnt[j], w[ok].sum(), rtol=1e-13)
        assert_allclose(mean[j], mj, rtol=1e-12)
        assert_allclose(var[j], np.average((X[ok, j] - mj) ** 2, weights=w[ok]), rtol=1e-12)


def test_moments_merge_any_split_and_threads(rng):
    X = rng.normal(size=(1500, 4)) * 3 + 7
    whole = Moments().update(X)
    parts = [Moments().update(X[i : i + 211]) for i in range(0, 1500, 211)]
    merged = parts[-1].copy()
    for p in reversed(parts[:-1]):
        merged.merge(p)
    with threads(1):
        one = Moments().update(X)
    for m in (merged, one):
        for a, b in zip(m.finalize(), whole.finalize()):
            assert_allclose(a, b, rtol=1e-13)
    assert merged.n_rows_ == 1500


def _exact_var(col):
    fs = [Fraction(float(v)) for v in col]
    mean = sum(fs) / len(fs)
    return float(sum((f - mean) ** 2 for f in fs) / len(fs))


@pytest.mark.parametrize("chunk", [None, 77, 256])
def test_large_mean_is_stable(rng, chunk):
    X = rng.normal(size=(1200, 2)) * [1.0, 1e-3] + [1e9, 1e9]
    s = StandardScaler()
    step = chunk or 1200
    for r0 in range(0, 1200, step):
        s.partial_fit(X[r0 : r0 + step])
    exact = [_exact_var(X[:, j]) for j in range(2)]
    # Exact to rounding: a sum-of-squares or a mean rounded per block loses ~8 digits.
    assert_allclose(s.var_, exact, rtol=1e-13)
    ref = skp.StandardScaler().fit(X)
    assert_allclose(s.mean_, ref.mean_, rtol=1e-15)


@pytest.mark.parametrize(
    "with_mean,with_std", [(True, True), (False, True), (True, False), (False, False)]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_scaler_matches_sklearn(rng, with_mean, with_std, dtype):
    X = _data(rng, 500, 5, dtype)
    if dtype != np.uint8:
        X[:, 3] = 2.5  # a constant column gets scale 1
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    ref = skp.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    assert ours.n_features_in_ == ref.n_features_in_ == 5
    assert ours.n_samples_seen_ == ref.n_samples_seen_
    for name in ("mean_", "var_", "scale_"):
        a, b = getattr(ours, name), getattr(ref, name)
        if b is None:
            assert a is None, name
        else:
            assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)
    T = ours.transform(X)
    Tr = ref.transform(X)
    assert T.dtype == Tr.dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(T, Tr, rtol=rtol, atol=rtol)
    assert_allclose(ours.inverse_transform(T), X.astype(T.dtype), rtol=rtol, atol=rtol * 300)


def test_scaler_partial_fit_equals_fit_and_sklearn(rng):
    X = rng.normal(size=(1000, 6)) * 5 + 3
    X[10, 1] = np.nan
    ours = StandardScaler()
    ref = skp.StandardScaler()
    for r0 in range(0, 1000, 123):
        ours.partial_fit(X[r0 : r0 + 123])
        ref.partial_fit(X[r0 : r0 + 123])
    full = StandardScaler().fit(X)
    assert_allclose(ours.var_, full.var_, rtol=1e-13)
    assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(ours.var_, ref.var_, rtol=1e-12)
    assert np.array_equal(ours.n_samples_seen_, ref.n_samples_seen_)
    T = ours.transform(X)
    assert np.isnan(T[10, 1]) and np.isfinite(np.delete(T, 10, axis=0)).all()
    assert_allclose(T, ref.transform(X), rtol=1e-12, atol=1e-12)


def test_scaler_sample_weight_matches_sklearn(rng):
    X = rng.normal(size=(300, 4)) + 2
    w = rng.uniform(0.1, 3.0, size=300)
    ours = StandardScaler().fit(X, sample_weight=w)
    ref = skp.StandardScaler().fit(X, sample_weight=w)
    assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    assert_allclose(ours.var_, ref.var_, rtol=1e-12)
    assert_allclose(ours.n_samples_seen_, ref.n_samples_seen_, rtol=1e-12)
    rep = np.repeat(X, 3, axis=0)
    assert_allclose(
        StandardScaler().fit(X, sample_weight=np.full(300, 3.0)).var_,
        StandardScaler().fit(rep).var_,
        rtol=1e-13,
    )


def test_scaler_merge_and_copy_false(rng):
    X = rng.normal(size=(400, 3))
    a = StandardScaler().fit(X[:150])
    b = StandardScaler().fit(X[150:])
    a.merge(b)
    assert_allclose(a.var_, X.var(0), rtol=1e-13)
    Y = X.copy()
    out = a.transform(Y, copy=False)
    assert out is Y
    assert_allclose(out, (X - a.mean_) / a.scale_, rtol=1e-14)


def test_scaler_errors(rng):
    s = StandardScaler().fit(rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="expecting 3 features"):
        s.transform(rng.normal(size=(4, 2)))
    with pytest.raises(ValueError, match="expecting 3 features"):
        s.partial_fit(rng.normal(size=(4, 2)))
    bad = rng.normal(size=(4, 3))
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"inf at position \(1, 2\)"):
        StandardScaler().fit(bad)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        StandardScaler().transform(bad)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        StandardScaler().fit(np.ones(5))


@pytest.mark.parametrize("degree", [0, 1, 2, 3, (2, 3), (0, 2), (3, 3)])
@pytest.mark.parametrize("interaction_only", [False, True])
@pytest.mark.parametrize("include_bias", [False, True])
@pytest.mark.parametrize("d", [1, 4])
def test_polynomial_features_match_sklearn(rng, degree, interaction_only, include_bias, d):
    X = rng.normal(size=(9, d))
    hi = degree if isinstance(degree, int) else degree[1]
    if hi == 0 and not include_bias:
        with pytest.raises(ValueError, match="no output columns"):
            PolynomialFeatures(degree, include_bias=include_bias).fit(X)
        return
    ours = PolynomialFeatures(
        degree, interaction_only=interaction_only, include_bias=include_bias
    ).fit(X)
    lo = 0 if isinstance(degree, int) else degree[0]
    if interaction_only and max(lo, 1) > d:
        # No monomial qualifies (scikit-learn 1.9 fails on this case inside transform).
        assert ours.transform(X).shape == (9, int(include_bias))
        return
    ref = skp.PolynomialFeatures(
        degree, interaction_only=interaction_only, include_bias=include_bias
    ).fit(X)
    assert ours.n_output_features_ == ref.n_output_features_
    assert np.array_equal(ours.powers_, ref.powers_)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_polynomial_features_dtypes(rng, dtype):
    X = _data(rng, 50, 3, dtype)
    out = PolynomialFeatures(3).fit_transform(X)
    ref = skp.PolynomialFeatures(3, include_bias=False).fit_transform(X.astype(np.float64))
    assert out.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("n", [1, 63, 64, 200])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "degree,interaction_only,include_bias", [(2, False, False), (3, False, True), (3, True, False)]
)
def test_polynomial_gram_matches_explicit_expansion(
    rng, n, weighted, degree, interaction_only, include_bias
):
    X = rng.normal(size=(n, 4))
    Y = rng.normal(size=(n, 2))
    w = rng.uniform(0.1, 2.0, size=n) if weighted else None
    g = polynomial_gram(
        X, Y, degree, interaction_only=interaction_only, include_bias=include_bias, sample_weight=w
    )
    F = skp.PolynomialFeatures(
        degree, interaction_only=interaction_only, include_bias=include_bias
    ).fit_transform(X)
    wv = np.ones(n) if w is None else w
    G = (F * wv[:, None]).T @ F
    assert_allclose(g.xtx, G, rtol=1e-12, atol=1e-12 * np.abs(G).max())
    assert_allclose(g.xty, (F * wv[:, None]).T @ Y, rtol=1e-12, atol=1e-12 * np.abs(G).max())
    assert_allclose(g.yty, (Y * wv[:, None]).T @ Y, rtol=1e-12)
    assert_allclose(g.sum_x, wv @ F, rtol=1e-12, atol=1e-12)
    assert_allclose(g.sum_y, wv @ Y, rtol=1e-12, atol=1e-13)
    assert_allclose(g.sum_weights, wv.sum(), rtol=1e-14)
    assert g.n_samples == n
    assert np.array_equal(
        g.powers,
        PolynomialFeatures(degree, interaction_only=interaction_only, include_bias=include_bias)
        .fit(X)
        .powers_,
    )


def test_polynomial_gram_streams_and_merges(rng):
    X = rng.normal(size=(500, 3))
    y = rng.normal(size=500)
    whole = polynomial_gram(X, y, 2)
    acc = None
    for r0 in range(0, 500, 130):
        acc = polynomial_gram(X[r0 : r0 + 130], y[r0 : r0 + 130], 2, out=acc)
    other = polynomial_gram(X[:200], y[:200], 2).merge(polynomial_gram(X[200:], y[200:], 2))
    for g in (acc, other):
        assert_allclose(g.xtx, whole.xtx, rtol=1e-12)
        assert_allclose(g.xty, whole.xty, rtol=1e-12)
    sxx, sxy, mx, my = whole.centred()
    F = PolynomialFeatures(2).fit_transform(X)
    Fc = F - F.mean(0)
    assert_allclose(sxx, Fc.T @ Fc, rtol=1e-9, atol=1e-9)
    # Fitting from the Gram reproduces a least-squares fit on the expanded matrix.
    coef = np.linalg.solve(sxx, sxy)
    ref = np.linalg.lstsq(Fc, y - y.mean(), rcond=None)[0]
    assert_allclose(coef[:, 0], ref, rtol=1e-8)
    with pytest.raises(ValueError, match="different expansion"):
        polynomial_gram(X, y, 3, out=whole)
    g0 = polynomial_gram(X, None, 2)
    assert g0.xty.shape == (9, 0)


def test_scaler_refit_resets_and_clones(rng):
    from sklearn.base import clone

    X = rng.normal(size=(40, 2))
    s = StandardScaler().fit(X, sample_weight=np.full(40, 2.0))
    assert s.n_samples_seen_ == 80.0
    s.fit(X)
    assert s.n_samples_seen_ == 40 and isinstance(s.n_samples_seen_, (int, np.integer))
    c = clone(s)
    assert c.get_params() == s.get_params() and not hasattr(c, "mean_")
    assert list(s.get_feature_names_out()) == ["x0", "x1"]
