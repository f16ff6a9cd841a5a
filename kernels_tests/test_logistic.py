"""LogisticRegression: agreement with scikit-learn, API shapes, chunk sources, bad input."""

import gzip

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from threadpoolctl import threadpool_limits

from fastlin.core.gradcheck import check_grad
from fastlin.estimators.logistic import LogisticRegression


def _data(rng, n=300, d=6, k=3, spread=1.0, dtype=np.float64):
    centers = rng.normal(size=(k, d)) * spread
    y = rng.integers(0, k, size=n)
    X = (centers[y] + rng.normal(size=(n, d))).astype(dtype)
    return X, y


def _sk_objective(X, y, w, coef, intercept, C, classes):
    """scikit-learn's lbfgs objective (mean weighted loss + ||W||^2 / (2 C sum w))."""
    Z = X @ coef.T + intercept
    n = X.shape[0]
    w = np.ones(n) if w is None else w
    if coef.shape[0] == 1:
        z = Z[:, 0]
        yb = (y == classes[1]).astype(float)
        loss = np.logaddexp(0, z) - yb * z
    else:
        idx = np.searchsorted(classes, y)
        m = Z.max(1)
        lse = m + np.log(np.exp(Z - m[:, None]).sum(1))
        loss = lse - Z[np.arange(n), idx]
    return (w @ loss + 0.5 / C * (coef**2).sum()) / w.sum()


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.1, 10.0])
def test_matches_sklearn_on_the_same_objective(rng, k, weighted, fit_intercept, C):
    X, y = _data(rng, k=k)
    labels = np.array([-3, 4, 7, 9, 11])[:k]
    y = labels[y]
    w = rng.uniform(0.5, 2.0, size=X.shape[0]) if weighted else None
    kw = dict(C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=1000)
    ours = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    sk = SkLogisticRegression(**kw).fit(X, y, sample_weight=w)
    assert np.array_equal(ours.classes_, sk.classes_)
    assert ours.coef_.shape == sk.coef_.shape and ours.intercept_.shape == sk.intercept_.shape
    f_ours = _sk_objective(X, y, w, ours.coef_, ours.intercept_, C, ours.classes_)
    f_sk = _sk_objective(X, y, w, sk.coef_, sk.intercept_, C, sk.classes_)
    assert_allclose(ours.objective_, f_ours, rtol=1e-12)
    assert f_ours <= f_sk * (1 + 1e-9)
    # a strictly convex objective: both converged to the same minimiser
    assert_allclose(ours.coef_, sk.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-4, atol=1e-5)
    assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    assert np.array_equal(ours.predict(X), sk.predict(X))


def _pixel_like(seed, n, d, k):
    """Non-negative, correlated uint8 features (a few dozen 'strokes' mixed, most values
    small), labels from a noisy linear model: the ill-conditioning of pixels in small."""
    rng = np.random.default_rng(seed)
    B = rng.gamma(0.5, 1.0, size=(8, d))
    Z = rng.gamma(1.0, 1.0, size=(n, 8))
    X = np.clip(Z @ B * 40 + rng.normal(0, 8, size=(n, d)), 0, 255).astype(np.uint8)
    logits = (X / 255.0) @ rng.normal(size=(k, d)).T * 0.4 + rng.gumbel(size=(n, k))
    return X, logits.argmax(1)


def _c_objective(Xf, y, W, b, C):
    """C * sum of per-sample log-losses + ||W||^2 / 2, the objective scikit-learn and oneDAL
    minimise (times C n: they divide by n); y holds class indices, W (1, d) is binary."""
    from scipy.special import log_expit

    Z = Xf @ W.T + b
    if W.shape[0] == 1:
        loss = -log_expit(np.where(y == 1, Z[:, 0], -Z[:, 0]))
    else:
        m = Z.max(1)
        loss = m + np.log(np.exp(Z - m[:, None]).sum(1)) - Z[np.arange(y.shape[0]), y]
    return C * loss.sum() + 0.5 * (W**2).sum()


def _reference_fit(Xf, y, C, n_out):
    """The minimiser by SciPy's trust-region Newton-CG on a NumPy objective, gradient and
    Hessian product (nothing of fastlin), to a gradient tolerance near rounding."""
    from scipy import optimize
    from scipy.special import expit

    n, d = Xf.shape
    Y = np.eye(n_out)[y] if n_out > 1 else (y == 1).astype(float)[:, None]

    def split(t):
        return t[: n_out * d].reshape(n_out, d), t[n_out * d :]

    def probs(Z):
        if n_out == 1:
            return expit(Z)
        E = np.exp(Z - Z.max(1, keepdims=True))
        return E / E.sum(1, keepdims=True)

    def fun(t):
        W, b = split(t)
        R = probs(Xf @ W.T + b) - Y
        return _c_objective(Xf, y, W, b, C), np.concatenate(
            [(C * R.T @ Xf + W).ravel(), C * R.sum(0)]
        )

    def hessp(t, v):
        W, b = split(t)
        V, vb = split(v)
        P = probs(Xf @ W.T + b)
        U = Xf @ V.T + vb
        HU = P * (1 - P) * U if n_out == 1 else P * (U - (P * U).sum(1, keepdims=True))
        return np.concatenate([(C * HU.T @ Xf + V).ravel(), C * HU.sum(0)])

    res = optimize.minimize(
        fun,
        np.zeros(n_out * (d + 1)),
        jac=True,
        hessp=hessp,
        method="trust-ncg",
        options={"gtol": 1e-9, "maxiter": 500},
    )
    assert np.abs(res.jac).max() <= 1e-6 * C * n
    return split(res.x)


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_default_fit_reaches_the_minimum(k, C):
    """With default settings (tol, max_iter) the fit is at the minimiser, not just near it:
    its objective is at most that of a tight Newton solve + 1e-9 relative. Stopping on
    scikit-learn's gradient rule (largest entry <= tol) left 1e-7 to 4e-5 relative here."""
    X, y = _pixel_like(7, 600, 30, k)
    Xf = X / 255.0
    W_ref, b_ref = _reference_fit(Xf, y, C, 1 if k == 2 else k)
    ours = LogisticRegression(C=C, x_scale=1 / 255).fit(X, y)
    f_ref = _c_objective(Xf, y, W_ref, b_ref, C)
    f_ours = _c_objective(Xf, y, ours.coef_, ours.intercept_, C)
    assert f_ours <= f_ref * (1 + 1e-9)
    assert ours.n_iter_[0] < ours.max_iter  # stopped on the tolerance, not on max_iter
    assert_allclose(ours.objective_ * C * X.shape[0], f_ours, rtol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_feature_offsets_change_only_the_intercept(rng, k):
    """The minimiser runs in centred coordinates: features moved by a large offset give
    the same coefficients and the intercept moved by -W offset, at the same cost; the
    multinomial intercepts sum to zero (softmax leaves their common shift free)."""
    X, y = _data(rng, k=k)
    offset = rng.uniform(50, 200, size=X.shape[1])
    a = LogisticRegression(C=2.0).fit(X, y)
    b = LogisticRegression(C=2.0).fit(X + offset, y)
    assert_allclose(b.coef_, a.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(b.intercept_, a.intercept_ - a.coef_ @ offset, rtol=1e-6, atol=1e-6)
    assert b.n_iter_[0] <= a.n_iter_[0] + 5
    if k > 2:
        assert abs(a.intercept_.sum()) <= 1e-12 * np.abs(a.intercept_).max()


def test_objective_gradient_check(rng):
    X, y = _data(rng, n=80, d=4, k=3)
    w = rng.uniform(0.5, 2.0, size=80)
    m = LogisticRegression(C=0.7)
    from fastlin.estimators.logistic_data import _Data

    data = _Data(X, y, w, 1.0)
    fun_grad = m._objective(data, True, 3, 4)
    theta = rng.normal(size=3 * 4 + 3)
    assert check_grad(lambda t: fun_grad(t)[0], lambda t: fun_grad(t)[1], theta) < 1e-6


def test_uint8_with_scale_equals_float_input(rng):
    X = rng.integers(0, 256, size=(200, 12)).astype(np.uint8)
    y = (X[:, 0].astype(int) + X[:, 1] > 255).astype(int) + (X[:, 2] > 128)
    a = LogisticRegression(x_scale=1 / 255, tol=1e-10, max_iter=500).fit(X, y)
    b = LogisticRegression(tol=1e-10, max_iter=500).fit(X / 255.0, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-7)
    assert_allclose(a.predict_proba(X), b.predict_proba(X / 255.0), atol=1e-8)


def test_api_shapes_and_probabilities(rng):
    X, y = _data(rng, k=2)
    m = LogisticRegression().fit(X, y)
    assert m.coef_.shape == (1, 6) and m.intercept_.shape == (1,) and m.n_features_in_ == 6
    assert m.decision_function(X).shape == (300,)
    P = m.predict_proba(X)
    assert P.shape == (300, 2) and np.abs(P.sum(1) - 1).max() <= 1e-12
    assert_allclose(m.predict_log_proba(X), np.log(P), rtol=1e-12, atol=1e-300)
    assert 0.5 < m.score(X, y) <= 1.0
    X3, y3 = _data(rng, k=4)
    m3 = LogisticRegression().fit(X3.astype(np.float32), y3)
    assert m3.coef_.shape == (4, 6) and m3.decision_function(X3).shape == (300, 4)
    P3 = m3.predict_proba(X3)
    # float32 in, float32 out (as scikit-learn): rows sum to 1 within float32 rounding.
    assert m3.coef_.dtype == P3.dtype == np.float32
    assert np.abs(P3.sum(1, dtype=np.float64) - 1).max() <= 4 * np.finfo(np.float32).eps
    assert np.array_equal(m3.predict(X3), m3.classes_[P3.argmax(1)])
    assert m3.loss_history_["train"].ndim == 1 and m3.n_iter_.shape == (1,)


def test_extreme_inputs_stay_finite(rng):
    X, y = _data(rng, k=3)
    m = LogisticRegression().fit(X, y)
    Xbig = X * 1e4
    P = m.predict_proba(Xbig)
    lp = m.predict_log_proba(Xbig)
    assert np.isfinite(P).all() and np.isfinite(lp).all()
    assert np.abs(P.sum(1) - 1).max() <= 1e-12


def test_sklearn_clone_and_params():
    m = LogisticRegression(C=3.0, solver="sgd", eta0=0.1)
    c = clone(m)
    assert c.get_params()["C"] == 3.0 and c.get_params()["eta0"] == 0.1
    assert not hasattr(c, "coef_")


def test_warm_start_continues(rng):
    X, y = _data(rng, k=3)
    cold = LogisticRegression(tol=1e-10, max_iter=500).fit(X, y)
    warm = LogisticRegression(max_iter=3, warm_start=True).fit(X, y)
    warm.set_params(max_iter=500, tol=1e-10).fit(X, y)
    assert_allclose(warm.coef_, cold.coef_, rtol=1e-4, atol=1e-5)
    again = LogisticRegression(tol=1e-10, max_iter=500, warm_start=True).fit(X, y)
    n1 = again.n_iter_[0]
    again.fit(X, y)
    assert again.n_iter_[0] < n1


# ---------------------------------------------------------------------------------------
# chunk sources


def _chunks(X, y, cuts, w=None):
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        out.append((X[a:b], y[a:b]) if w is None else (X[a:b], y[a:b], w[a:b]))
    return out


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_chunk_source_list_and_callable(rng, solver):
    X, y = _data(rng, n=400, k=3)
    w = rng.uniform(0.5, 2.0, size=400)
    kw = dict(
        solver=solver,
        tol=1e-10,
        max_iter=200 if solver == "lbfgs" else 3,
        random_state=0,
        shuffle=False,
    )
    whole = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    chunks = _chunks(X, y, [0, 100, 250, 400], w)
    a = LogisticRegression(**kw).fit(chunks)
    b = LogisticRegression(**kw).fit(lambda: iter(chunks))
    if solver == "lbfgs":
        assert_allclose(a.coef_, whole.coef_, rtol=1e-6, atol=1e-7)
    assert np.array_equal(a.coef_, b.coef_)
    assert a.n_features_in_ == 6 and np.array_equal(a.classes_, [0, 1, 2])


def test_chunk_source_with_iter_chunks_method(rng):
    X = rng.integers(0, 256, size=(200, 10)).astype(np.uint8)
    y = (X[:, 0] > X[:, 1]).astype(int)

    class Source:
        """Read-only uint8 chunks, like fastlin.io's sources."""

        def iter_chunks(self, chunk_rows=None):
            for a in range(0, 200, 64):
                Xc = X[a : a + 64].copy()
                Xc.flags.writeable = False
                yield Xc, y[a : a + 64]

    kw = dict(x_scale=1 / 255, tol=1e-10, max_iter=300)
    m = LogisticRegression(**kw).fit(Source())
    whole = LogisticRegression(**kw).fit(X, y)
    assert_allclose(m.coef_, whole.coef_, rtol=1e-6, atol=1e-7)


def test_generator_source_refused(rng):
    X, y = _data(rng, n=100)
    gen = (c for c in _chunks(X, y, [0, 50, 100]))
    with pytest.raises(ValueError, match="one-shot iterator"):
        LogisticRegression().fit(gen)


# ---------------------------------------------------------------------------------------
# bad input: clear errors, model unchanged


def test_not_fitted():
    m = LogisticRegression()
    for method in (m.predict_proba, m.predict, m.decision_function, m.predict_log_proba):
        with pytest.raises(NotFittedError):
            method(np.zeros((2, 3)))


def test_single_class_and_nan(rng):
    X, y = _data(rng, n=50)
    with pytest.raises(ValueError, match="1 class"):
        LogisticRegression().fit(X, np.zeros(50))
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \(3, 2\)"):
        LogisticRegression().fit(Xn, y)
    Xi = X.copy()
    Xi[1, 0] = -np.inf
    with pytest.raises(ValueError, match="-inf"):
        LogisticRegression().fit(Xi, y)
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(X, np.where(np.arange(50) == 4, np.nan, y))
    with pytest.raises(ValueError, match="sample_weight"):
        LogisticRegression().fit(X, y, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=0).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        LogisticRegression(solver="newton").fit(X, y)


def test_bad_input_leaves_model_unchanged(rng):
    X, y = _data(rng, n=120, k=3)
    m = LogisticRegression(solver="sgd", eta0=0.05, random_state=0).fit(X, y)
    before = (m.coef_.copy(), m.intercept_.copy(), m.classes_.copy())
    Xn = X.copy()
    Xn[70, 1] = np.inf
    for bad in (
        lambda: m.fit(Xn, y),
        lambda: m.fit(X, np.zeros(120)),
        lambda: m.partial_fit(X, np.where(y == 2, 5, y)),
        lambda: m.partial_fit(Xn, y),
        lambda: m.partial_fit(X[:, :3], y),
        lambda: m.fit([(X[:60], y[:60]), (Xn[60:], y[60:])]),
    ):
        with pytest.raises(ValueError):
            bad()
        assert np.array_equal(m.coef_, before[0]) and np.array_equal(m.intercept_, before[1])
        assert np.array_equal(m.classes_, before[2])
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :4])


def test_partial_fit_classes(rng):
    X, y = _data(rng, n=150, k=3)
    m = LogisticRegression(solver="sgd", eta0=0.05, random_state=0)
    with pytest.raises(ValueError, match="not in classes"):
        m.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(m, "coef_")
    m.partial_fit(X[y < 2], y[y < 2])  # classes inferred from the first chunk: {0, 1}
    with pytest.raises(ValueError, match="pass classes="):
        m.partial_fit(X, y)
    m2 = LogisticRegression(solver="sgd", eta0=0.05, random_state=0)
    m2.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    m2.partial_fit(X, y)
    assert m2.coef_.shape == (3, 6) and m2.n_iter_[0] == 2
    with pytest.raises(ValueError, match="single|one class"):
        LogisticRegression(solver="sgd").partial_fit(X[y == 0], y[y == 0])


def test_verbose_progress_bar(rng, capsys):
    X, y = _data(rng, n=100)
    LogisticRegression(solver="sgd", max_iter=2, tol=None, verbose=1).fit(X, y)
    LogisticRegression(max_iter=5, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "sgd" in err and "epoch" in err and "lbfgs" in err


# ---------------------------------------------------------------------------------------
# real data


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


@pytest.mark.slow
def test_mnist_subset_agrees_with_sklearn(mnist_dir):
    X = _idx(mnist_dir / "t10k-images-idx3-ubyte.gz").reshape(10000, -1)[:1000]
    y = _idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:1000]
    C = 0.01  # strongly penalised: both solvers converge in a few dozen iterations
    ours = LogisticRegression(x_scale=1 / 255, C=C, tol=1e-7, max_iter=500).fit(X, y)
    with threadpool_limits(1):  # OpenBLAS threads spinning in L-BFGS-B cost 10x here
        sk = SkLogisticRegression(C=C, tol=1e-7, max_iter=500).fit(X / 255.0, y)
    f_ours = _sk_objective(X / 255.0, y, None, ours.coef_, ours.intercept_, C, ours.classes_)
    f_sk = _sk_objective(X / 255.0, y, None, sk.coef_, sk.intercept_, C, sk.classes_)
    assert_allclose(f_ours, f_sk, rtol=1e-7)
    assert_allclose(ours.coef_, sk.coef_, atol=1e-4)
    assert (ours.predict(X) == sk.predict(X / 255.0)).mean() > 0.995
