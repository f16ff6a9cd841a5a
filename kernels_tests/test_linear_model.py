"""LinearRegression and Ridge against scikit-learn and numpy.linalg.lstsq."""

import warnings

import numpy as np
import pytest
import sklearn.linear_model as skl
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler as SkScaler

import fastlin
from fastlin.core.solve import RankDeficientWarning
from naive import lstsq_reference

COEF_RTOL = 1e-8  # the bar for well-conditioned problems


def _problem(rng, n, d, t=None, dtype=np.float64):
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d)
    coef = rng.standard_normal((d,) if t is None else (d, t))
    y = X @ coef + 0.1 * rng.standard_normal(coef.shape[1:] and (n, t) or (n,)) + 1.5
    return X.astype(dtype), y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n, d", [(50, 1), (200, 7), (1000, 40)])
def test_linear_regression_matches_sklearn(rng, n, d, fit_intercept):
    X, y = _problem(rng, n, d)
    ours = fastlin.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    ref = skl.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=COEF_RTOL)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=COEF_RTOL, atol=1e-12)
    assert ours.coef_.shape == ref.coef_.shape and np.shape(ours.intercept_) == np.shape(
        ref.intercept_
    )
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9)
    assert ours.solver_ == "cholesky" and ours.rank_ == d
    assert ours.n_features_in_ == d


@pytest.mark.parametrize("alpha", [0.0, 0.1, 1.0, 10.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_matches_sklearn_multioutput_weighted(rng, alpha, fit_intercept):
    X, y = _problem(rng, 300, 12, t=3)
    w = rng.uniform(0.2, 2.0, 300)
    ours = fastlin.Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    ref = skl.Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(
        X, y, sample_weight=w
    )
    assert ours.coef_.shape == ref.coef_.shape == (3, 12)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=COEF_RTOL, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=COEF_RTOL, atol=1e-12)


def test_uint8_fit_matches_lstsq(rng):
    X = rng.integers(0, 256, size=(2000, 30)).astype(np.uint8)
    y = np.eye(10)[rng.integers(0, 10, 2000)]
    ours = fastlin.LinearRegression().fit(X, y)
    coef, intercept = lstsq_reference(X, y)
    np.testing.assert_allclose(ours.coef_, coef, rtol=COEF_RTOL, atol=1e-14)
    np.testing.assert_allclose(ours.intercept_, intercept, rtol=COEF_RTOL)


def test_float32_input_gives_float32_coefficients(rng):
    X, y = _problem(rng, 300, 5, dtype=np.float32)
    m = fastlin.LinearRegression().fit(X, y)
    assert m.coef_.dtype == np.float32 and m.predict(X).dtype == np.float32
    coef, _ = lstsq_reference(X, y)
    np.testing.assert_allclose(m.coef_, coef[0], rtol=1e-5)


@pytest.mark.parametrize("kind", ["duplicate", "zero", "both", "n_less_than_d"])
def test_rank_deficient_gives_minimum_norm(rng, kind):
    n = 15 if kind == "n_less_than_d" else 300
    X = rng.standard_normal((n, 25))
    if kind in ("duplicate", "both"):
        X[:, 5] = X[:, 2]
        X[:, 7] = 2 * X[:, 3] - X[:, 4]
    if kind in ("zero", "both"):
        X[:, [0, 11, 24]] = 0.0
    y = rng.standard_normal((n, 2))
    with pytest.warns(RankDeficientWarning, match="numerical rank"):
        ours = fastlin.LinearRegression().fit(X, y)
    coef, intercept = lstsq_reference(X, y)
    expected_rank = np.linalg.matrix_rank(X - X.mean(0))
    assert ours.rank_ == expected_rank
    np.testing.assert_allclose(ours.coef_, coef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, intercept, rtol=1e-7, atol=1e-9)
    if kind in ("zero", "both"):
        assert set(ours.constant_columns_) >= {0, 11, 24}
        assert np.all(ours.coef_[:, [0, 11, 24]] == 0)


def test_ridge_with_zero_columns_warns_and_matches_sklearn(rng):
    X = rng.standard_normal((100, 6))
    X[:, 2] = 0
    y = rng.standard_normal(100)
    with pytest.warns(RankDeficientWarning, match="constant column"):
        ours = fastlin.Ridge(alpha=0.5).fit(X, y)
    ref = skl.Ridge(alpha=0.5).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=COEF_RTOL, atol=1e-14)


@pytest.mark.parametrize("chunk", [1, 13, 100])
def test_partial_fit_equals_fit(rng, chunk):
    X, y = _problem(rng, 240, 6, t=2)
    full = fastlin.Ridge(alpha=0.3).fit(X, y)
    part = fastlin.Ridge(alpha=0.3)
    with warnings.catch_warnings():
        # First chunks alone are rank deficient (fewer rows than features).
        warnings.simplefilter("ignore", RankDeficientWarning)
        for r0 in range(0, 240, chunk):
            part.partial_fit(X[r0 : r0 + chunk], y[r0 : r0 + chunk])
    np.testing.assert_allclose(part.coef_, full.coef_, rtol=1e-10)
    np.testing.assert_allclose(part.intercept_, full.intercept_, rtol=1e-10)
    assert part.n_samples_seen_ == 240


def test_integer_weights_equal_repeated_rows(rng):
    X, y = _problem(rng, 120, 4)
    w = rng.integers(0, 4, 120)
    reps = np.repeat(np.arange(120), w)
    a = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    b = fastlin.LinearRegression().fit(X[reps], y[reps])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-10)


def test_fortran_and_read_only_inputs(rng, tmp_path):
    X, y = _problem(rng, 200, 5)
    np.save(tmp_path / "X.npy", np.asfortranarray(X))
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    a = fastlin.LinearRegression().fit(X, y)
    b = fastlin.LinearRegression().fit(Xm, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    np.testing.assert_allclose(a.predict(Xm), a.predict(X), rtol=1e-12)


def test_sklearn_tools(rng):
    X, y = _problem(rng, 200, 5)
    pipe = make_pipeline(SkScaler(), fastlin.Ridge(alpha=1.0)).fit(X, y)
    assert pipe.score(X, y) > 0.9
    c = clone(fastlin.Ridge(alpha=2.0, fit_intercept=False))
    assert c.get_params()["alpha"] == 2.0 and not hasattr(c, "coef_")
    search = GridSearchCV(fastlin.Ridge(), {"alpha": [0.01, 1.0, 100.0]}, cv=3).fit(X, y)
    assert search.best_params_["alpha"] in (0.01, 1.0)
    ref = skl.LinearRegression().fit(X, y)
    assert fastlin.LinearRegression().fit(X, y).score(X, y) == pytest.approx(
        ref.score(X, y), rel=1e-10
    )


def test_hosiery_mill_example():
    output = np.array([13.11, 14.35, 17.09, 20.25, 24.58, 28.20]).reshape(-1, 1)
    cost = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    m = fastlin.LinearRegression().fit(output, cost)
    assert m.coef_[0] == pytest.approx(1.7722402, abs=5e-8)
    assert m.intercept_ == pytest.approx(6.74499953, abs=5e-8)


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [-0.1, np.nan, np.inf, "1", True])
def test_bad_alpha(rng, alpha):
    X, y = _problem(rng, 20, 2)
    with pytest.raises(ValueError, match="alpha"):
        fastlin.Ridge(alpha=alpha).fit(X, y)


def test_bad_solver_and_intercept(rng):
    X, y = _problem(rng, 20, 2)
    with pytest.raises(ValueError, match="solver must be one of"):
        fastlin.LinearRegression(solver="magic").fit(X, y)
    with pytest.raises(ValueError, match="fit_intercept must be True or False"):
        fastlin.LinearRegression(fit_intercept="yes").fit(X, y)


def test_failed_partial_fit_leaves_model_unchanged(rng):
    X, y = _problem(rng, 50, 3)
    m = fastlin.LinearRegression().partial_fit(X, y)
    coef, intercept, seen = m.coef_.copy(), m.intercept_, m.n_samples_seen_
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \(4, 1\)"):
        m.partial_fit(bad, y)
    with pytest.raises(ValueError, match="X has 2 features, but LinearRegression is expecting 3"):
        m.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="2-D but earlier chunks had 1-D"):
        m.partial_fit(X, y[:, None])
    np.testing.assert_array_equal(m.coef_, coef)
    assert m.intercept_ == intercept and m.n_samples_seen_ == seen
    m.partial_fit(X, y)
    assert m.n_samples_seen_ == 100


def test_predict_errors(rng):
    X, y = _problem(rng, 30, 3)
    with pytest.raises(NotFittedError):
        fastlin.LinearRegression().predict(X)
    m = fastlin.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but LinearRegression is expecting 3"):
        m.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="reshape"):
        m.predict(np.ones(3))


def test_cholesky_solver_raises_on_singular(rng):
    X = rng.standard_normal((40, 3))
    X[:, 2] = X[:, 0] + X[:, 1]
    with pytest.raises(np.linalg.LinAlgError, match="Cholesky route failed"):
        fastlin.LinearRegression(solver="cholesky").fit(X, rng.standard_normal(40))


def test_real_mnist_split_accuracy_matches_sklearn(mnist_dir):
    from fastlin.io.datasets import load_mnist_test, one_hot

    X, y = load_mnist_test(mnist_dir, as_arrays=True)
    Xtr, ytr, Xte, yte = X[:8000], y[:8000], X[8000:], y[8000:]
    with pytest.warns(RankDeficientWarning, match="constant column"):
        ours = fastlin.LinearRegression().fit(Xtr, one_hot(ytr, 10))
    ref = skl.LinearRegression().fit(Xtr.astype(np.float64), one_hot(ytr, 10))
    acc_ours = np.mean(np.argmax(ours.predict(Xte), 1) == yte)
    acc_ref = np.mean(np.argmax(ref.predict(Xte.astype(np.float64)), 1) == yte)
    assert acc_ours == acc_ref
    assert 0.8 < acc_ours < 0.95
