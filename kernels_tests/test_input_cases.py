"""The inputs users hand over, case by case: the right answer or a named error, raised
before any state changes."""

import warnings

import numpy as np
import pytest

import fastlin

REGRESSORS = [fastlin.LinearRegression, fastlin.Ridge, fastlin.SGDRegressor]


def _xy(rng, n=80, d=3):
    X = rng.standard_normal((n, d))
    return X, X @ np.arange(1.0, d + 1) + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("cls", REGRESSORS + [fastlin.LogisticRegression])
def test_big_endian_arrays_are_read_as_native(rng, cls):
    X, y = _xy(rng)
    if cls is fastlin.LogisticRegression:
        y = (y > 0).astype(int)
    ref = cls().fit(X, y)
    got = cls().fit(X.astype(">f8"), y.astype(">f8") if y.dtype.kind == "f" else y)
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_array_equal(got.predict(X.astype(">f8")), ref.predict(X))


def test_gram_stats_take_big_endian_and_keep_state_on_failure(rng):
    X, y = _xy(rng)
    s = fastlin.GramStats()
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \(3, 1\)"):
        s.update(bad.astype(">f8"), y)
    assert s.n_features is None and s.n_rows == 0
    s.update(X.astype(">f8"), y)
    np.testing.assert_array_equal(s.xtx, fastlin.GramStats().update(X, y).xtx)


@pytest.mark.parametrize(
    "make",
    [
        lambda: fastlin.LogisticRegression(),
        lambda: fastlin.LogisticRegression(solver="sgd", max_iter=2),
        lambda: fastlin.StandardScaler(),
        lambda: fastlin.SGDRegressor(max_iter=5),
        lambda: fastlin.LinearRegression(),
    ],
)
def test_values_whose_squares_overflow_are_named(rng, make):
    X, y = _xy(rng)
    X[7, 1] = 1e155
    model = make()
    target = (y > 0).astype(int) if isinstance(model, fastlin.LogisticRegression) else y
    with pytest.raises(ValueError, match="column 1 has a value of magnitude 1e\\+155|1e\\+155"):
        model.fit(X, target) if not isinstance(model, fastlin.StandardScaler) else model.fit(X)
    assert not hasattr(model, "coef_") and not hasattr(model, "mean_")


@pytest.mark.parametrize(
    "model",
    [
        fastlin.LinearRegression(),
        fastlin.LogisticRegression(),
        fastlin.StandardScaler(),
        fastlin.SGDRegressor(),
    ],
)
def test_empty_and_featureless_input_is_refused_by_name(rng, model):
    X = np.zeros((5, 0))
    y = np.array([0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="0 feature"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="0 sample"):
        model.fit(np.zeros((0, 3)), y[:0])
    if hasattr(model, "partial_fit") and not isinstance(model, fastlin.StandardScaler):
        with pytest.raises(ValueError, match="0 sample"):
            model.partial_fit(np.zeros((0, 3)), y[:0])
    assert not hasattr(model, "n_features_in_")


def test_failed_first_partial_fit_leaves_no_trace(rng):
    X, y = _xy(rng)
    bad = X.copy()
    bad[2, 0] = np.inf
    for model in (fastlin.LinearRegression(), fastlin.StandardScaler(), fastlin.SGDRegressor()):
        with pytest.raises(ValueError, match="inf"):
            model.partial_fit(bad, y) if not isinstance(
                model, fastlin.StandardScaler
            ) else model.partial_fit(bad)
        assert not hasattr(model, "n_features_in_"), type(model).__name__
    lr = fastlin.LogisticRegression(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="inf"):
        lr.partial_fit(bad, (y > 0).astype(int), classes=[0, 1])
    assert not hasattr(lr, "coef_") and not hasattr(lr, "_pf_rng")


def test_sparse_and_complex_input_get_scikit_learn_messages(rng):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = _xy(rng)
    for model in (fastlin.LinearRegression(), fastlin.LogisticRegression()):
        target = (y > 0).astype(int) if isinstance(model, fastlin.LogisticRegression) else y
        with pytest.raises(TypeError, match="dense data is required"):
            model.fit(sparse.csr_matrix(X), target)
        with pytest.raises(ValueError, match="Complex data not supported"):
            model.fit(X + 1j, target)


def test_object_arrays_of_numbers_are_converted(rng):
    X, y = _xy(rng)
    got = fastlin.LinearRegression().fit(X.astype(object), y.astype(object))
    np.testing.assert_allclose(got.coef_, fastlin.LinearRegression().fit(X, y).coef_, rtol=1e-12)


def test_rank_warnings_point_at_the_caller(rng):
    X, y = _xy(rng)
    X = np.c_[X, X[:, 0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastlin.Ridge(alpha=0.0).fit(X, y)  # the line the warning must name
        m = fastlin.LinearRegression().partial_fit(X, y)
        m.coef_  # the lazy solve warns here
    ranks = [w for w in caught if issubclass(w.category, fastlin.RankDeficientWarning)]
    assert len(ranks) == 2 and all(w.filename == __file__ for w in ranks)


def test_streamed_errors_name_file_global_row_and_byte_offset(rng, tmp_path):
    X = rng.standard_normal((10000, 30))
    X[7777, 12] = np.nan
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", X[:, 0].copy())
    src = fastlin.open_source(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    offset = 128 + (7777 * 30 + 12) * 8  # the .npy header of this array is 128 bytes
    with pytest.raises(ValueError, match=rf"x\.npy: row 7777, column 12 \(byte offset {offset}\)"):
        fastlin.LinearRegression().fit(src, chunk_rows=2000)
    chunks = [(X[r : r + 3000], X[r : r + 3000, 0]) for r in range(0, 10000, 3000)]
    with pytest.raises(ValueError, match=r"NaN at row 7777, column 12"):
        fastlin.LinearRegression().fit(chunks)
