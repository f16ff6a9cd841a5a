"""scikit-learn's own estimator checks, every one of them, for every public estimator."""

import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastlin

ESTIMATORS = [
    fastlin.LinearRegression(),
    fastlin.Ridge(),
    fastlin.RidgeCV(),
    fastlin.LogisticRegression(max_iter=50),
    fastlin.StandardScaler(),
    fastlin.PolynomialFeatures(),
    # Full-batch gradient descent: deterministic, so weights equal repeated rows.
    fastlin.SGDRegressor(max_iter=50),
]
try:  # the Dask estimators take NumPy input down the in-memory path
    import fastlin.dask as _fd

    ESTIMATORS += [
        _fd.DaskLinearRegression(),
        _fd.DaskRidge(),
        _fd.DaskLogisticRegression(max_iter=50),
        _fd.DaskStandardScaler(),
    ]
except ImportError:
    pass


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # The checks fit tiny, often collinear designs on purpose; fastlin says so.
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_dataframe_names_and_reordered_columns(rng):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(rng.standard_normal((50, 3)), columns=["a", "b", "c"])
    y = X["a"] * 2 - X["c"] + rng.standard_normal(50) * 0.1
    for model in (fastlin.LinearRegression(), fastlin.Ridge(), fastlin.StandardScaler()):
        model.fit(X, y)
        assert list(model.feature_names_in_) == ["a", "b", "c"]
        with pytest.raises(ValueError, match="feature names should match"):
            (model.predict if hasattr(model, "predict") else model.transform)(X[["c", "b", "a"]])
    scaler = fastlin.StandardScaler().set_output(transform="pandas").fit(X)
    out = scaler.transform(X)
    assert list(out.columns) == ["a", "b", "c"]
    poly = fastlin.PolynomialFeatures(2).fit(X)
    assert list(poly.get_feature_names_out())[:4] == ["a", "b", "c", "a^2"]
    nullable = X.astype("Float64")
    np.testing.assert_allclose(
        fastlin.LinearRegression().fit(nullable, y).coef_,
        fastlin.LinearRegression().fit(X, y).coef_,
        rtol=1e-12,
    )
    nullable.loc[5, "b"] = pd.NA
    with pytest.raises(ValueError, match=r"NaN at position \(5, 1\)"):
        fastlin.LinearRegression().fit(nullable, y)


def test_labels_of_every_kind(rng):
    pd = pytest.importorskip("pandas")
    X = rng.standard_normal((120, 2))
    base = (X[:, 0] > 0).astype(int)
    for labels in (
        np.where(base, "yes", "no"),
        pd.Categorical(np.where(base, "b", "a")),
        base.astype(bool),
        np.where(base, 7, -3),
        np.where(base, "y", "n").astype(object),
    ):
        m = fastlin.LogisticRegression().fit(X, labels)
        assert m.predict(X).dtype == np.asarray(m.classes_).dtype
        assert set(np.unique(m.predict(X))) <= set(np.asarray(m.classes_).tolist())
    with pytest.raises(ValueError, match="Unknown label type"):
        fastlin.LogisticRegression().fit(X, rng.standard_normal(120))
    m32 = fastlin.LogisticRegression().fit(X.astype(np.float32), base)
    assert m32.coef_.dtype == m32.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_class_weight_matches_scikit_learn(rng):
    sk = pytest.importorskip("sklearn.linear_model")
    X = rng.standard_normal((400, 3))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(400) > 0.8, "yes", "no")
    for cw in ("balanced", {"yes": 3.0}):
        a = fastlin.LogisticRegression(class_weight=cw, tol=1e-8).fit(X, y)
        b = sk.LogisticRegression(class_weight=cw, tol=1e-10, max_iter=2000).fit(X, y)
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not in the classes"):
        fastlin.LogisticRegression(class_weight={"maybe": 2.0}).fit(X, y)


def test_partial_fit_from_threads_counts_every_row(rng):
    import threading

    X = rng.standard_normal((10000, 5))
    y = X @ np.arange(1.0, 6.0)
    m = fastlin.LinearRegression()
    parts = np.array_split(np.arange(10000), 40)

    def feed(idx):
        for p in idx:
            m.partial_fit(X[parts[p]], y[parts[p]])

    threads = [threading.Thread(target=feed, args=(range(k, 40, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.n_samples_seen_ == 10000
    np.testing.assert_allclose(m.coef_, np.arange(1.0, 6.0), rtol=1e-10)
    import pickle

    assert pickle.loads(pickle.dumps(m)).n_samples_seen_ == 10000
