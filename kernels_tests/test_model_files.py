"""Every estimator saves and loads in the pickle-free format, with the same predictions
bit for bit."""

import numpy as np
import pytest

import fastlin
from fastlin.edges.persistence import FileFormatError


def _data(rng):
    X = rng.standard_normal((300, 4))
    y = X @ [1.0, 2.0, 3.0, 4.0] + rng.standard_normal(300)
    return X, y


def _outputs(model, X):
    out = []
    for name in ("predict", "predict_proba", "decision_function", "transform"):
        if hasattr(model, name):
            out.append(getattr(model, name)(X))
    return out


@pytest.mark.parametrize(
    "make",
    [
        lambda X, y: fastlin.LinearRegression().fit(X, y),
        lambda X, y: fastlin.Ridge(alpha=2.0).fit(X, np.c_[y, -y]),
        lambda X, y: fastlin.RidgeCV(alphas=[0.1, 1, 10]).fit(X, y),
        lambda X, y: fastlin.LogisticRegression().fit(X, np.where(y > 0, "pos", "neg")),
        lambda X, y: fastlin.LogisticRegression(class_weight="balanced").fit(
            X, (y > 1).astype(int) + (y > 3)
        ),
        lambda X, y: fastlin.LogisticRegression(solver="sgd", max_iter=3, random_state=0).fit(
            X.astype(np.float32), y > 0
        ),
        lambda X, y: fastlin.SGDRegressor(batch_size=32, max_iter=5, random_state=1).fit(X, y),
        lambda X, y: fastlin.StandardScaler().fit(X),
        lambda X, y: fastlin.PolynomialFeatures(3, interaction_only=True).fit(X),
    ],
    ids=[
        "linear",
        "ridge-2d",
        "ridgecv",
        "logistic-str",
        "logistic-balanced",
        "logistic-sgd32",
        "sgd",
        "scaler",
        "poly",
    ],
)
def test_round_trip_gives_the_same_bits(rng, tmp_path, make):
    X, y = _data(rng)
    model = make(X, y)
    path = tmp_path / "m.npz"
    model.save(path, metadata={"note": "round trip"})
    again = fastlin.load(path)
    assert type(again) is type(model) and again.get_params() == model.get_params()
    assert again.metadata_ == {"note": "round trip"}
    Xq = X.astype(np.float32) if getattr(model, "coef_", np.zeros(1)).dtype == np.float32 else X
    for a, b in zip(_outputs(model, Xq), _outputs(again, Xq)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    if hasattr(model, "classes_"):
        np.testing.assert_array_equal(again.classes_, model.classes_)
        assert again.classes_.dtype == model.classes_.dtype
    assert type(model).load(path).__class__ is type(model)


def test_scaler_continues_partial_fit_and_names_survive(rng, tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = _data(rng)
    frame = pd.DataFrame(X, columns=list("abcd"))
    s = fastlin.StandardScaler().fit(frame[:200])
    s.save(tmp_path / "s.npz")
    loaded = fastlin.load(tmp_path / "s.npz")
    assert list(loaded.feature_names_in_) == list("abcd")
    loaded.partial_fit(frame[200:])
    whole = fastlin.StandardScaler().fit(frame)
    np.testing.assert_allclose(loaded.mean_, whole.mean_, rtol=1e-14)
    np.testing.assert_allclose(loaded.var_, whole.var_, rtol=1e-13)


def test_what_cannot_be_saved_says_why(rng, tmp_path):
    X, y = _data(rng)
    m = fastlin.SGDRegressor(random_state=np.random.default_rng(0), max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="random_state"):
        m.save(tmp_path / "g.npz")
    assert not (tmp_path / "g.npz").exists()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fastlin.StandardScaler().save(tmp_path / "u.npz")
    fastlin.LinearRegression().fit(X, y).save(tmp_path / "lr.npz")
    with pytest.raises(TypeError, match="holds a LinearRegression"):
        fastlin.LogisticRegression.load(tmp_path / "lr.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError):
        fastlin.load(tmp_path / "bad.npz")
