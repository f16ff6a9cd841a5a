"""Mini-batch update kernels and the SGD solver: references, schedules, determinism."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import naive_losses as naive
from fastlin._threads import threads
from fastlin.kernels import sgd as S
from fastlin.estimators.logistic import LogisticRegression

METHODS = {"sgd": S.SGD, "momentum": S.MOMENTUM, "adam": S.ADAM}
SCHEDULES = {"constant": S.CONSTANT, "invscaling": S.INVSCALING, "cosine": S.COSINE}


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("t", [0, 1, 7, 99, 100, 250])
def test_learning_rate_schedules(schedule, t):
    got = S.learning_rate(SCHEDULES[schedule], 0.3, t, 100, 0.25)
    assert_allclose(got, naive.learning_rate(schedule, 0.3, t, 100, 0.25), rtol=1e-14)


def test_cosine_schedule_ends_at_zero():
    assert S.learning_rate(S.COSINE, 0.1, 0, 50, 0.5) == 0.1
    assert abs(S.learning_rate(S.COSINE, 0.1, 50, 50, 0.5)) < 1e-17
    assert abs(S.learning_rate(S.COSINE, 0.1, 80, 50, 0.5)) < 1e-17


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("P,K,d", [(1, 1, 5), (2, 3, 7), (3, 10, 1)])
def test_apply_step_matches_reference(rng, method, fit_intercept, P, K, d):
    G_parts = rng.normal(size=(P, K, d))
    gb_parts = rng.normal(size=(P, K))
    W = rng.normal(size=(K, d))
    b = rng.normal(size=K)
    VW = rng.normal(size=(K, d)) * 0.1
    Vb = rng.normal(size=K) * 0.1
    MW = rng.normal(size=(K, d)) * 0.1
    Mb = rng.normal(size=K) * 0.1
    if method == "adam":
        VW, Vb = np.abs(VW), np.abs(Vb)
    args = (37.5, method, 0.05, 1e-3, fit_intercept, 0.9, 0.9, 0.999, 1e-8, 4)
    ref = naive.step(G_parts.sum(0), gb_parts.sum(0), args[0], W, b, *args[1:], VW, Vb, MW, Mb)
    got = [a.copy() for a in (W, b, VW, Vb, MW, Mb)]
    S.apply_step(
        G_parts,
        gb_parts,
        args[0],
        got[0],
        got[1],
        METHODS[method],
        *args[2:],
        got[2],
        got[3],
        got[4],
        got[5],
    )
    for g, r in zip(got, ref):
        assert_allclose(g, r, rtol=1e-12, atol=1e-15)
    if not fit_intercept:
        assert np.array_equal(got[1], b)


def _blobs(rng, n=600, d=8, k=3, dtype=np.float64, spread=3.0):
    centers = rng.normal(size=(k, d)) * spread
    y = rng.integers(0, k, size=n)
    X = (centers[y] + rng.normal(size=(n, d))).astype(dtype)
    return X, y


@pytest.mark.parametrize("optimizer,eta0", [("sgd", 0.2), ("momentum", 0.02), ("adam", 0.02)])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "cosine"])
def test_sgd_solver_learns(rng, optimizer, eta0, schedule):
    X, y = _blobs(rng)
    m = LogisticRegression(
        solver="sgd",
        optimizer=optimizer,
        eta0=eta0,
        learning_rate=schedule,
        power_t=0.1,
        max_iter=15,
        tol=None,
        batch_size=32,
        random_state=0,
    ).fit(X, y)
    assert m.score(X, y) > 0.95
    hist = m.loss_history_["train"]
    assert hist.shape == (15,) and np.isfinite(hist).all()
    assert hist[-1] < hist[0]
    assert m.n_iter_[0] == 15


def test_sgd_deterministic_for_seed_and_thread_count(rng):
    X, y = _blobs(rng, n=500)
    runs = {}
    for t in (1, 2):
        with threads(t):
            a = LogisticRegression(
                solver="sgd", eta0=0.05, max_iter=3, tol=None, batch_size=64, random_state=7
            ).fit(X, y)
            b = LogisticRegression(
                solver="sgd", eta0=0.05, max_iter=3, tol=None, batch_size=64, random_state=7
            ).fit(X, y)
        assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.intercept_, b.intercept_)
        runs[t] = a.coef_
    # the two thread counts sum the batch gradient in different orders only
    assert_allclose(runs[1], runs[2], rtol=1e-9, atol=1e-12)
    c = LogisticRegression(
        solver="sgd", eta0=0.05, max_iter=3, tol=None, batch_size=64, random_state=8
    ).fit(X, y)
    assert not np.array_equal(c.coef_, runs[2])


def test_sgd_minimises_the_lbfgs_objective(rng):
    X, y = _blobs(rng, n=400, d=5, spread=0.7)  # overlapping classes: a curved optimum
    exact = LogisticRegression(C=0.5, max_iter=500, tol=1e-10).fit(X, y)
    sgd = LogisticRegression(
        solver="sgd",
        C=0.5,
        optimizer="adam",
        eta0=0.02,
        learning_rate="cosine",
        max_iter=120,
        tol=None,
        batch_size=50,
        random_state=0,
    ).fit(X, y)
    assert sgd.loss(X, y) < exact.objective_ * 1.01
    assert sgd.loss(X, y) >= exact.objective_ - 1e-12


def test_early_stopping_stops_and_keeps_best(rng):
    X, y = _blobs(rng, n=800)
    m = LogisticRegression(
        solver="sgd",
        optimizer="adam",
        eta0=0.05,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        tol=1e-3,
        random_state=0,
    ).fit(X, y)
    hist = m.loss_history_
    assert m.stopped_early_ and m.n_iter_[0] < 200
    assert hist["validation"].shape == hist["train"].shape == (m.n_iter_[0],)
    assert np.isfinite(hist["validation"]).all()


def test_partial_fit_matches_fit_for_one_chunk(rng):
    X, y = _blobs(rng, n=300)
    kw = dict(solver="sgd", eta0=0.05, max_iter=1, tol=None, batch_size=40, random_state=3)
    a = LogisticRegression(**kw).fit(X, y)
    b = LogisticRegression(**kw).partial_fit(X, y, classes=np.unique(y))
    assert_allclose(a.coef_, b.coef_, rtol=1e-13, atol=1e-15)


def test_partial_fit_early_stopping_freezes_model(rng):
    X, y = _blobs(rng, n=300)
    m = LogisticRegression(
        solver="sgd", eta0=0.05, early_stopping=True, n_iter_no_change=2, tol=10.0, random_state=0
    )
    for _ in range(3):
        m.partial_fit(X, y, classes=[0, 1, 2])
    assert m.stopped_early_
    frozen = m.coef_.copy()
    m.partial_fit(X, y)
    assert np.array_equal(m.coef_, frozen)
    assert m.loss_history_["validation"].shape == (3,)


@pytest.mark.parametrize("batch_size", [200, 64])
def test_logistic_epoch_takes_the_numpy_steps(batch_size):
    """One epoch of plain SGD (no shuffle, constant rate) against the steps written in
    NumPy: W <- W - lr (Xᵀ(p - y)/m + alpha W), b <- b - lr mean(p - y), batch by batch.
    Tolerance 1e-12: the kernels only sum in another order."""
    from fastlin.core.sgd import LogisticEpoch, OptimizerState, StepRule

    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 3)) * [1.0, 2.0, 0.5]
    y = (X @ [1.0, -1.0, 2.0] + rng.standard_normal(200) > 0).astype(np.int64)
    W0, b0 = np.array([[0.1, -0.2, 0.05]]), np.array([0.3])
    lr, alpha = 0.1, 0.01
    rule = StepRule("sgd", "constant", lr, 0.5, 0.9, 0.9, 0.999, 1e-8, True)
    W, b = W0.copy(), b0.copy()
    epoch = LogisticEpoch(
        W,
        b,
        False,
        1.0,
        rule,
        OptimizerState(1, 3),
        alpha,
        np.random.default_rng(0),
        7,
        10,
        batch_size=batch_size,
        shuffle=False,
        validation_fraction=0.0,
    )
    epoch._fold(X, y, None)
    Wr, br, loss = W0[0].copy(), b0[0], 0.0
    for s0 in range(0, 200, batch_size):
        Xb, yb = X[s0 : s0 + batch_size], y[s0 : s0 + batch_size]
        z = Xb @ Wr + br
        p = 1 / (1 + np.exp(-z))
        loss += float(np.sum(np.logaddexp(0, z) - yb * z))
        g = Xb.T @ (p - yb) / len(yb)
        Wr, br = Wr - lr * (g + alpha * Wr), br - lr * float(np.mean(p - yb))
    np.testing.assert_allclose(W[0], Wr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b[0], br, rtol=1e-12)
    train, val_sum, val_w = epoch.finalize()
    assert train == pytest.approx(loss / 200 + 0.5 * alpha * float(Wr @ Wr), rel=1e-12)
    assert val_sum == 0.0 and val_w == 0.0 and epoch.chunks == 1
