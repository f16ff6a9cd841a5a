"""Squared-loss kernels and SGDRegressor: NumPy references, the plain gradient-descent loop,
convergence to least squares, partial_fit, weights, determinism and input checks.

Tolerances: every kernel product and sum is float64 on exactly converted inputs (uint8 and
float32 widen exactly), so kernel results agree with the float64 NumPy references to
rounding of the summation order: rtol 1e-11 (``conftest.rtol_for(np.float64)``), with an
absolute floor at the same fraction of the largest entry for sums that cancel to near
zero. Fits run 10 to 60 steps of a contracting iteration, which does not amplify those
roundings: 1e-12 relative to the largest coefficient.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import naive_losses as naive
from conftest import rtol_for
from fastlin._threads import row_ranges, threads
from fastlin.kernels import sgd as S
from fastlin.kernels import squared_loss as K
from fastlin.estimators.sgd_regressor import SGDRegressor

RTOL = rtol_for(np.float64)
FIT_RTOL = 1e-12
EMPTY_F = np.empty(0)
EMPTY_I = np.empty(0, dtype=np.int64)
METHODS = {"sgd": S.SGD, "momentum": S.MOMENTUM, "adam": S.ADAM}


# ---------------------------------------------------------------------------------------
# NumPy references


def loss_grad_reference(X, Y, w, rows, W, b, scale):
    """(0.5 sum w |r|^2, sum w, G (t, d), gb (t,)) over ``rows`` of X (all when None)."""
    idx = np.arange(X.shape[0]) if rows is None else rows
    Xf = X[idx].astype(np.float64) * scale
    R = Xf @ W.T + b - Y[idx]
    wt = np.ones(idx.shape[0]) if w is None else w[idx]
    WR = R * wt[:, None]
    return 0.5 * float((WR * R).sum()), float(wt.sum()), WR.T @ Xf, WR.sum(axis=0)


def epoch_reference(
    X,
    Y,
    w,
    order,
    batch_size,
    W,
    b,
    scale,
    method,
    schedule,
    eta0,
    power_t,
    total,
    t0,
    alpha,
    fit_intercept,
    state,
):
    """Mini-batch epoch by the step reference of ``naive_losses``: (W, b, objective sum,
    weight sum, steps, state)."""
    W, b = W.copy(), b.copy()
    VW, Vb, MW, Mb = (a.copy() for a in state)
    t = t0
    obj = wtot = 0.0
    for s0 in range(0, order.shape[0], batch_size):
        rows = order[s0 : s0 + batch_size]
        loss, sw, G, gb = loss_grad_reference(X, Y, w, rows, W, b, scale)
        obj += loss + sw * 0.5 * alpha * float((W**2).sum())
        wtot += sw
        lr = naive.learning_rate(schedule, eta0, t, total, power_t)
        W, b, VW, Vb, MW, Mb = naive.step(
            G,
            gb,
            sw,
            W,
            b,
            method,
            lr,
            alpha,
            fit_intercept,
            0.9,
            0.9,
            0.999,
            1e-8,
            t,
            VW,
            Vb,
            MW,
            Mb,
        )
        t += 1
    return W, b, obj, wtot, t - t0, (VW, Vb, MW, Mb)


def gd_reference(X, y, eta, n_iter, alpha=0.0, fit_intercept=True, w=None):
    """Plain full-batch gradient descent with the intercept as a column of ones."""
    n, d = X.shape
    Xa = np.c_[np.ones(n), X] if fit_intercept else X
    wt = np.ones(n) if w is None else w
    theta = np.zeros(Xa.shape[1])
    pen = np.r_[0.0, np.ones(d)] if fit_intercept else np.ones(d)
    losses = []
    for _ in range(n_iter):
        r = Xa @ theta - y
        losses.append(0.5 * (wt @ r**2) / wt.sum() + 0.5 * alpha * ((pen * theta) @ theta))
        theta = theta - eta * (Xa.T @ (wt * r) / wt.sum() + alpha * pen * theta)
    b = theta[0] if fit_intercept else 0.0
    coef = theta[1:] if fit_intercept else theta
    return coef, b, np.asarray(losses)


def _data(rng, dtype, n, d, t):
    if dtype == np.uint8:
        X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    else:
        X = rng.normal(size=(n, d)).astype(dtype)
    return X, rng.normal(size=(n, t))


def _regression(rng, n=400, d=5, noise=0.1, t=None):
    X = rng.normal(size=(n, d))
    beta = rng.normal(size=(d,) if t is None else (d, t))
    y = X @ beta + 1.5 + noise * rng.normal(size=(n,) if t is None else (n, t))
    return X, y


def _scratch(P, t, d):
    return np.zeros((P, t, d)), np.zeros((P, t)), np.zeros((P, 2))


# ---------------------------------------------------------------------------------------
# kernels


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("subset", [False, True])
@pytest.mark.parametrize("n,d,t", [(1, 1, 1), (37, 5, 1), (300, 17, 3), (1000, 64, 2)])
def test_loss_grad_matches_reference(rng, dtype, weighted, subset, n, d, t):
    X, Y = _data(rng, dtype, n, d, t)
    scale = 1 / 255 if dtype == np.uint8 else 1.0
    W = rng.normal(size=(t, d))
    b = rng.normal(size=t)
    w = rng.uniform(0.0, 3.0, size=n) if weighted else None
    rows = rng.integers(0, n, size=max(1, 2 * n // 3)).astype(np.int64) if subset else None
    loss, sw, G, gb = loss_grad_reference(X, Y, w, rows, W, b, scale)
    m = n if rows is None else rows.shape[0]
    for P in (1, 3):
        bounds = row_ranges(m, P, 8)
        Gp, gbp, lp = _scratch(P, t, d)
        K.loss_grad(
            X,
            Y,
            EMPTY_F if w is None else w,
            EMPTY_I if rows is None else rows,
            W,
            b,
            scale,
            bounds,
            True,
            Gp,
            gbp,
            lp,
        )
        used = bounds.shape[0] - 1
        assert_allclose(lp[:used, 0].sum(), loss, rtol=RTOL)
        assert_allclose(lp[:used, 1].sum(), sw, rtol=RTOL)
        assert_allclose(Gp.sum(0), G, rtol=RTOL, atol=RTOL * np.abs(G).max())
        assert_allclose(gbp.sum(0), gb, rtol=RTOL, atol=RTOL * np.abs(gb).max())


def test_loss_grad_accumulates_and_loss_only_leaves_gradient(rng):
    X, Y = _data(rng, np.float64, 200, 9, 2)
    W = rng.normal(size=(2, 9))
    b = rng.normal(size=2)
    bounds = row_ranges(200, 2, K.BLOCK)
    G, gb, lp = _scratch(2, 2, 9)
    K.loss_grad(X, Y, EMPTY_F, EMPTY_I, W, b, 1.0, bounds, True, G, gb, lp)
    once = [a.copy() for a in (G, gb, lp)]
    K.loss_grad(X, Y, EMPTY_F, EMPTY_I, W, b, 1.0, bounds, True, G, gb, lp)
    for a, a1 in zip((G, gb, lp), once):
        assert_allclose(a, 2 * a1, rtol=1e-15)
    G[:] = 7.0
    gb[:] = 7.0
    lp[:] = 0.0
    K.loss_grad(X, Y, EMPTY_F, EMPTY_I, W, b, 1.0, bounds, False, G, gb, lp)
    assert (G == 7.0).all() and (gb == 7.0).all()
    assert_allclose(lp[:, 0].sum(), loss_grad_reference(X, Y, None, None, W, b, 1.0)[0], rtol=RTOL)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("batch_size,n", [(7, 100), (600, 1000)])
def test_sgd_epoch_matches_reference(rng, method, batch_size, n):
    """Small batches run on one thread, large ones in parts; both against the reference."""
    d, t = 6, 2
    X, Y = _data(rng, np.float64, n, d, t)
    w = rng.uniform(0.5, 2.0, size=n)
    order = rng.permutation(n).astype(np.int64)
    W = rng.normal(size=(t, d)) * 0.1
    b = rng.normal(size=t) * 0.1
    state = (np.zeros((t, d)), np.zeros(t), np.zeros((t, d)), np.zeros(t))
    args = dict(
        scale=1.0,
        method=method,
        schedule="invscaling",
        eta0=0.05,
        power_t=0.5,
        total=100,
        t0=3,
        alpha=1e-2,
        fit_intercept=True,
    )
    W_ref, b_ref, obj_ref, w_ref, steps_ref, st_ref = epoch_reference(
        X, Y, w, order, batch_size, W, b, state=state, **args
    )
    steps = -(-n // batch_size)
    bounds_full = row_ranges(batch_size, max(1, min(4, batch_size // K.MIN_PART_ROWS)), K.BLOCK)
    last = n - (steps - 1) * batch_size
    bounds_last = row_ranges(last, max(1, min(4, last // K.MIN_PART_ROWS)), K.BLOCK)
    G, gb, lp = _scratch(4, t, d)
    Wk, bk = W.copy(), b.copy()
    st = [a.copy() for a in state]
    obj, wsum, n_steps = K.sgd_epoch(
        X,
        Y,
        w,
        order,
        bounds_full,
        bounds_last,
        Wk,
        bk,
        *st,
        G,
        gb,
        lp,
        n,
        batch_size,
        1.0,
        METHODS[method],
        S.INVSCALING,
        0.05,
        0.5,
        100,
        3,
        1e-2,
        True,
        0.9,
        0.9,
        0.999,
        1e-8,
    )
    assert n_steps == steps_ref == steps
    assert_allclose(Wk, W_ref, rtol=RTOL, atol=RTOL * np.abs(W_ref).max())
    assert_allclose(bk, b_ref, rtol=RTOL, atol=RTOL * np.abs(b_ref).max())
    assert_allclose(obj, obj_ref, rtol=RTOL)
    assert_allclose(wsum, w_ref, rtol=RTOL)
    for a, r in zip(st, st_ref):
        assert_allclose(a, r, rtol=RTOL, atol=RTOL * max(np.abs(r).max(), 1e-300))


def test_sgd_epoch_skips_zero_weight_batches(rng):
    X, Y = _data(rng, np.float64, 20, 3, 1)
    w = np.ones(20)
    w[:10] = 0.0
    W, b = np.zeros((1, 3)), np.zeros(1)
    st = [np.zeros((1, 3)), np.zeros(1), np.zeros((1, 3)), np.zeros(1)]
    G, gb, lp = _scratch(1, 1, 3)
    one = row_ranges(10, 1, K.BLOCK)
    _, wsum, steps = K.sgd_epoch(
        X,
        Y,
        w,
        EMPTY_I,
        one,
        one,
        W,
        b,
        *st,
        G,
        gb,
        lp,
        20,
        10,
        1.0,
        S.SGD,
        S.CONSTANT,
        0.1,
        0.5,
        2,
        0,
        0.0,
        True,
        0.9,
        0.9,
        0.999,
        1e-8,
    )
    assert steps == 1 and wsum == 10.0


@pytest.mark.parametrize("m", [1, 2, 7, 1000])
def test_shuffle_is_a_seeded_permutation(m):
    a = np.arange(m, dtype=np.int64)
    K.shuffle(a, 42)
    assert_array_equal(np.sort(a), np.arange(m))
    b = np.arange(m, dtype=np.int64)
    K.shuffle(b, 42)
    assert_array_equal(a, b)
    if m >= 7:
        c = np.arange(m, dtype=np.int64)
        K.shuffle(c, 43)
        assert not np.array_equal(a, c)


def test_shuffle_is_uniform():
    """Over 20000 shuffles of 5 items every item lands in every slot a fifth of the time:
    counts of 4000 have a standard deviation of 57, so 300 is over five of them."""
    counts = np.zeros((5, 5))
    for seed in range(20000):
        a = np.arange(5, dtype=np.int64)
        K.shuffle(a, seed)
        counts[a, np.arange(5)] += 1
    assert np.abs(counts - 4000).max() < 300


# ---------------------------------------------------------------------------------------
# the estimator against the plain loop and least squares


def test_full_batch_reproduces_the_plain_gradient_descent_loop(rng):
    X, y = _regression(rng, n=500, d=6)
    n, d = X.shape
    m = SGDRegressor(
        alpha=0, learning_rate="constant", eta0=0.1, batch_size=None, max_iter=60, tol=None
    ).fit(X, y)
    Xa = np.c_[np.ones(n), X]
    theta = np.zeros(d + 1)
    losses = []
    for _ in range(60):
        r = Xa @ theta - y
        losses.append(0.5 * np.mean(r**2))
        theta -= 0.1 * (Xa.T @ r / n)
    scale = np.abs(theta).max()
    assert isinstance(m.intercept_, float)
    assert m.coef_.shape == (d,)
    assert abs(m.intercept_ - theta[0]) <= FIT_RTOL * scale
    assert_allclose(m.coef_, theta[1:], rtol=FIT_RTOL, atol=FIT_RTOL * scale)
    assert m.loss_history_["train"].shape == (60,)
    assert_allclose(m.loss_history_["train"], losses, rtol=FIT_RTOL)
    assert m.loss_history_["validation"].shape == (0,)
    assert m.n_iter_ == 60 and m.t_ == 60 and not m.stopped_early_


@pytest.mark.parametrize(
    "alpha,fit_intercept,weighted", [(0.05, True, False), (0.0, False, False), (0.02, True, True)]
)
def test_full_batch_penalty_intercept_and_weights_match_the_loop(
    rng, alpha, fit_intercept, weighted
):
    X, y = _regression(rng, n=300, d=4)
    w = rng.uniform(0.1, 3.0, size=300) if weighted else None
    m = SGDRegressor(alpha=alpha, fit_intercept=fit_intercept, eta0=0.2, max_iter=40, tol=None).fit(
        X, y, sample_weight=w
    )
    coef, b, losses = gd_reference(X, y, 0.2, 40, alpha, fit_intercept, w)
    scale = np.abs(coef).max()
    assert_allclose(m.coef_, coef, rtol=FIT_RTOL, atol=FIT_RTOL * scale)
    assert abs(m.intercept_ - b) <= FIT_RTOL * scale
    assert_allclose(m.loss_history_["train"], losses, rtol=FIT_RTOL)


def test_minibatch_reaches_least_squares_in_30_epochs(rng):
    """Batch 32 with a cosine schedule from eta0=0.05: the step size decays to 0 over the
    30 epochs, so the noise of the batch gradients dies out and the last iterate lands on
    the least-squares solution (about 4e-4 relative here; asked: 1e-2)."""
    n, d = 20000, 20
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 1.5 + 0.5 * rng.normal(size=n)
    ref = np.linalg.lstsq(np.c_[np.ones(n), X], y, rcond=None)[0]
    m = SGDRegressor(
        batch_size=32, learning_rate="cosine", eta0=0.05, max_iter=30, tol=None, random_state=0
    ).fit(X, y)
    est = np.r_[m.intercept_, m.coef_]
    assert np.linalg.norm(est - ref) <= 1e-2 * np.linalg.norm(ref)
    assert np.abs(m.coef_ - ref[1:]).max() <= 1e-2 * np.abs(ref[1:]).max()
    assert m.n_iter_ == 30 and m.t_ == 30 * math.ceil(n / 32)
    assert m.loss_history_["train"].shape == (30,)


def test_uint8_with_scale_and_float32_match_float64(rng):
    Xu = rng.integers(0, 256, size=(300, 8)).astype(np.uint8)
    y = Xu @ rng.normal(size=8) / 255 + 0.3
    kw = dict(eta0=0.5, max_iter=20, tol=None)
    ref = SGDRegressor(**kw).fit(Xu / 255.0, y)
    got = SGDRegressor(x_scale=1 / 255, **kw).fit(Xu, y)
    assert_allclose(got.coef_, ref.coef_, rtol=1e-11, atol=1e-11 * np.abs(ref.coef_).max())
    assert_allclose(got.predict(Xu), ref.predict(Xu / 255.0), rtol=1e-11)
    X32 = rng.normal(size=(300, 8)).astype(np.float32)
    a = SGDRegressor(**kw, batch_size=16, random_state=1).fit(X32, y)
    b = SGDRegressor(**kw, batch_size=16, random_state=1).fit(X32.astype(np.float64), y)
    assert_allclose(a.coef_, b.coef_, rtol=FIT_RTOL, atol=FIT_RTOL * np.abs(b.coef_).max())


def test_predict_and_score(rng):
    X, y = _regression(rng)
    m = SGDRegressor(eta0=0.1, max_iter=200).fit(X, y)
    assert_allclose(m.predict(X), X @ m.coef_ + m.intercept_, rtol=1e-12)
    assert m.score(X, y) > 0.99
    with pytest.raises(ValueError, match="0 sample"):  # as scikit-learn's estimators
        m.predict(X[:0])
    assert m.n_features_in_ == X.shape[1]


# ---------------------------------------------------------------------------------------
# partial_fit, multi-output, weights


@pytest.mark.parametrize("batch_size,schedule", [(None, "constant"), (16, "cosine")])
def test_partial_fit_calls_equal_fit_epochs(rng, batch_size, schedule):
    X, y = _regression(rng, n=200)
    kw = dict(
        batch_size=batch_size,
        learning_rate=schedule,
        eta0=0.05,
        max_iter=5,
        tol=None,
        random_state=3,
    )
    full = SGDRegressor(**kw).fit(X, y)
    part = SGDRegressor(**kw)
    for _ in range(5):
        part.partial_fit(X, y)
    assert_array_equal(part.coef_, full.coef_)
    assert part.intercept_ == full.intercept_
    assert_array_equal(part.loss_history_["train"], full.loss_history_["train"])
    assert part.n_iter_ == 5 and part.t_ == full.t_


def test_partial_fit_streams_chunks_and_continues_after_fit(rng):
    X, y = _regression(rng, n=2000, d=5)
    m = SGDRegressor(batch_size=32, eta0=0.05, random_state=0)
    for i in list(range(0, 2000, 500)) * 2:
        m.partial_fit(X[i : i + 500], y[i : i + 500])
    hist = m.loss_history_["train"]
    assert hist.shape == (8,) and hist[-1] < hist[0]
    assert m.score(X, y) > 0.99
    f = SGDRegressor(eta0=0.1, max_iter=5, tol=None).fit(X, y)
    before = f.coef_.copy()
    f.partial_fit(X, y)
    assert f.t_ == 6 and not np.array_equal(f.coef_, before)
    assert f.loss_history_["train"].shape == (1,)


@pytest.mark.parametrize("batch_size,optimizer", [(None, "sgd"), (24, "adam")])
def test_multi_output_equals_one_fit_per_target(rng, batch_size, optimizer):
    X, Y = _regression(rng, n=300, d=4, t=3)
    kw = dict(
        batch_size=batch_size,
        optimizer=optimizer,
        eta0=0.05,
        max_iter=15,
        tol=None,
        alpha=1e-3,
        random_state=5,
    )
    m = SGDRegressor(**kw).fit(X, Y)
    assert m.coef_.shape == (3, 4) and m.intercept_.shape == (3,)
    assert m.predict(X).shape == (300, 3)
    for k in range(3):
        one = SGDRegressor(**kw).fit(X, Y[:, k])
        scale = np.abs(one.coef_).max()
        assert_allclose(m.coef_[k], one.coef_, rtol=FIT_RTOL, atol=FIT_RTOL * scale)
        assert abs(m.intercept_[k] - one.intercept_) <= FIT_RTOL * scale
    col = SGDRegressor(**kw).fit(X, Y[:, :1])
    assert col.coef_.shape == (1, 4) and col.intercept_.shape == (1,)
    assert col.predict(X).shape == (300, 1)


def test_integer_weights_equal_repeated_rows_in_full_batch(rng):
    X, y = _regression(rng, n=150, d=4)
    w = rng.integers(0, 4, size=150)
    kw = dict(eta0=0.2, max_iter=30, tol=None)
    a = SGDRegressor(**kw).fit(X, y, sample_weight=w)
    b = SGDRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    scale = np.abs(b.coef_).max()
    assert_allclose(a.coef_, b.coef_, rtol=FIT_RTOL, atol=FIT_RTOL * scale)
    assert abs(a.intercept_ - b.intercept_) <= FIT_RTOL * scale
    assert_allclose(a.loss_history_["train"], b.loss_history_["train"], rtol=FIT_RTOL)
    ones = SGDRegressor(**kw).fit(X, y, sample_weight=np.ones(150))
    plain = SGDRegressor(**kw).fit(X, y)
    assert_array_equal(ones.coef_, plain.coef_)


# ---------------------------------------------------------------------------------------
# optimisers, schedules, stopping


@pytest.mark.parametrize("optimizer,eta0", [("sgd", 0.02), ("momentum", 0.005), ("adam", 0.02)])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "cosine"])
@pytest.mark.parametrize("batch_size", [None, 64])
def test_optimizers_and_schedules_decrease_the_loss(rng, optimizer, eta0, schedule, batch_size):
    X, y = _regression(rng, n=1000, d=5, noise=0.3)
    n_iter = 60 if batch_size is None else 8
    m = SGDRegressor(
        optimizer=optimizer,
        learning_rate=schedule,
        eta0=eta0,
        power_t=0.25,
        batch_size=batch_size,
        max_iter=n_iter,
        tol=None,
        random_state=0,
    ).fit(X, y)
    hist = m.loss_history_["train"]
    assert hist.shape == (n_iter,) and np.isfinite(hist).all()
    assert hist[-1] < 0.5 * hist[0]
    if batch_size is None and optimizer == "sgd":
        assert (np.diff(hist) < 0).all()  # small steps on a quadratic: monotone


def test_tol_stops_and_early_stopping_keeps_the_best(rng):
    X, y = _regression(rng, n=1000, d=5, noise=0.5)
    m = SGDRegressor(eta0=0.1, max_iter=1000, tol=1e-6, n_iter_no_change=3).fit(X, y)
    assert m.stopped_early_ and m.n_iter_ < 1000
    assert m.loss_history_["train"].shape == (m.n_iter_,)
    kw = dict(
        batch_size=32,
        eta0=0.01,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    )
    es = SGDRegressor(max_iter=200, tol=1e-4, **kw).fit(X, y)
    va = es.loss_history_["validation"]
    assert es.stopped_early_ and es.n_iter_ < 200
    assert va.shape == (es.n_iter_,) == es.loss_history_["train"].shape
    assert es.score(X, y) > 0.95
    # the coefficients kept are those of the best validation loss: the same seed run for
    # that many epochs ends on them
    best = int(np.argmin(va))
    assert best >= es.n_iter_ - 1 - 3
    again = SGDRegressor(max_iter=best + 1, tol=None, **kw).fit(X, y)
    assert_array_equal(es.coef_, again.coef_)
    assert_array_equal(again.loss_history_["validation"], va[: best + 1])
    pf = SGDRegressor(
        batch_size=32, eta0=0.01, tol=1e-3, early_stopping=True, n_iter_no_change=2, random_state=0
    )
    for _ in range(40):
        pf.partial_fit(X, y)
        if pf.stopped_early_:
            break
    assert pf.stopped_early_
    frozen = pf.coef_.copy()
    pf.partial_fit(X, y)
    assert_array_equal(pf.coef_, frozen)


def test_deterministic_for_a_seed_and_across_threads_for_small_batches(rng):
    X, y = _regression(rng, n=3000, d=7)
    kw = dict(batch_size=32, optimizer="adam", eta0=0.01, max_iter=3, tol=None)
    runs = {}
    for nt in (1, 2):
        with threads(nt):
            runs[nt] = [SGDRegressor(**kw, random_state=s).fit(X, y).coef_ for s in (0, 0, 1)]
    for nt in (1, 2):
        assert_array_equal(runs[nt][0], runs[nt][1])
        assert not np.array_equal(runs[nt][0], runs[nt][2])
    assert_array_equal(runs[1][0], runs[2][0])  # batches below 2 * MIN_PART_ROWS: one part
    full = {}
    for nt in (1, 2):
        with threads(nt):
            full[nt] = SGDRegressor(eta0=0.1, max_iter=20, tol=None).fit(X, y).coef_
    assert_allclose(full[1], full[2], rtol=FIT_RTOL, atol=FIT_RTOL * np.abs(full[1]).max())
    g = np.random.default_rng(11)
    state = g.bit_generator.state
    a = SGDRegressor(**kw, random_state=g).fit(X, y).coef_
    SGDRegressor(**kw, random_state=g).partial_fit(X, y)
    assert g.bit_generator.state == state  # copied, never advanced
    assert_array_equal(a, SGDRegressor(**kw, random_state=g).fit(X, y).coef_)


# ---------------------------------------------------------------------------------------
# input checks


@pytest.mark.parametrize(
    "param,value",
    [
        ("alpha", -1.0),
        ("eta0", 0.0),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("max_iter", 0),
        ("tol", -1e-3),
        ("optimizer", "rmsprop"),
        ("learning_rate", "adaptive"),
        ("momentum", 1.0),
        ("beta_1", 1.0),
        ("beta_2", -0.1),
        ("epsilon", 0.0),
        ("validation_fraction", 1.0),
        ("n_iter_no_change", 0),
        ("x_scale", 0.0),
        ("fit_intercept", "yes"),
        ("shuffle", None),
        ("random_state", "seed"),
        ("power_t", math.nan),
    ],
)
def test_bad_parameters_are_named(rng, param, value):
    X, y = _regression(rng, n=20)
    with pytest.raises(ValueError, match=param):
        SGDRegressor(**{param: value}).fit(X, y)


def test_bad_data_is_refused_with_its_problem(rng):
    X, y = _regression(rng, n=20, d=3)
    m = SGDRegressor()
    Xn = X.copy()
    Xn[4, 1] = np.nan
    cases = [
        ((Xn, y), "NaN"),
        ((X, np.where(np.arange(20) == 3, np.inf, y)), "inf"),
        ((X[:, 0], y), "Expected 2D array"),
        ((X, y[:-1]), "inconsistent numbers of samples"),
        ((X, y.reshape(20, 1, 1)), "dim"),
        ((X[:0], y[:0]), "0 sample"),
        ((X, np.full(20, 1e200)), "overflow"),
        ((X, y.astype(str)), "could not convert|dtype"),
    ]
    for args, msg in cases:
        with pytest.raises(ValueError, match=msg):
            m.fit(*args)
    with pytest.raises(ValueError, match="non-negative"):
        m.fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="early_stopping"):
        SGDRegressor(early_stopping=True).fit(X[:1], y[:1])
    assert not hasattr(m, "coef_")
    with pytest.raises(NotFittedError):
        m.predict(X)
    m.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])


def test_failed_calls_leave_the_model_unchanged(rng):
    X, y = _regression(rng, n=400, d=4)
    chunks = [(X[i : i + 100], y[i : i + 100]) for i in range(0, 400, 100)]
    kw = dict(batch_size=16, eta0=0.02, early_stopping=True, tol=None, random_state=7)
    clean = SGDRegressor(**kw)
    tried = SGDRegressor(**kw)
    bad = [
        (X[:10, :3], y[:10]),
        (X[:10], np.c_[y[:10], y[:10]]),
        (np.where(X[:10] > 1, np.nan, X[:10]), y[:10]),
    ]
    with pytest.raises(ValueError, match="0 sample"):
        tried.partial_fit(X[:0], y[:0])
    assert not hasattr(tried, "coef_") and not hasattr(tried, "_pf")
    for i, (Xc, yc) in enumerate(chunks):
        clean.partial_fit(Xc, yc)
        tried.partial_fit(Xc, yc)
        Xb, yb = bad[i % len(bad)]
        snapshot = (
            tried.coef_.copy(),
            tried.intercept_,
            tried.t_,
            tried.loss_history_["train"].copy(),
        )
        with pytest.raises(ValueError):
            tried.partial_fit(Xb, yb)
        assert_array_equal(tried.coef_, snapshot[0])
        assert (tried.intercept_, tried.t_) == snapshot[1:3]
        assert_array_equal(tried.loss_history_["train"], snapshot[3])
    assert_array_equal(tried.coef_, clean.coef_)
    assert_array_equal(tried.loss_history_["validation"], clean.loss_history_["validation"])
    # a diverging fit or epoch is refused too, after the fact, and leaves the earlier fit
    fitted = SGDRegressor(eta0=0.1, max_iter=10, tol=None).fit(X, y)
    coef = fitted.coef_.copy()
    fitted.set_params(eta0=50.0, max_iter=200)
    with pytest.raises(ValueError, match="diverged"):
        fitted.fit(X * 1e3, y)
    assert_array_equal(fitted.coef_, coef)
    fitted.partial_fit(X * 1e100, y)  # one step: huge, still finite
    coef, t = fitted.coef_.copy(), fitted.t_
    with pytest.raises(ValueError, match="diverged"):
        fitted.partial_fit(X * 1e100, y)
    assert_array_equal(fitted.coef_, coef)
    assert fitted.t_ == t


def test_pipeline_clone_and_params(rng):
    X, y = _regression(rng, n=500, d=4)
    X = X * [1.0, 10.0, 100.0, 0.1] + 50.0
    pipe = make_pipeline(
        StandardScaler(), SGDRegressor(batch_size=32, eta0=0.05, max_iter=20, random_state=0)
    )
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.99
    est = SGDRegressor(alpha=0.1, batch_size=8, optimizer="adam", random_state=4)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "coef_")
    assert clone(pipe).steps[1][1].get_params()["batch_size"] == 32


# ---------------------------------------------------------------------------------------
# chunk sources


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_one_chunk_source_is_the_array_fit_bit_for_bit(rng, early_stopping):
    X, y = _regression(rng, n=300)
    kw = dict(batch_size=32, eta0=0.05, max_iter=6, random_state=4, early_stopping=early_stopping)
    ref = SGDRegressor(**kw).fit(X, y)
    got = SGDRegressor(**kw).fit([(X, y)])
    assert_array_equal(got.coef_, ref.coef_)
    assert got.intercept_ == ref.intercept_
    for k in ("train", "validation"):
        assert_array_equal(got.loss_history_[k], ref.loss_history_[k])
    assert got.t_ == ref.t_ and got.n_iter_ == ref.n_iter_


def test_chunks_aligned_with_batches_take_the_array_fit_steps(rng):
    """Without shuffling, batches that never straddle a chunk are the array fit's
    batches: the same coefficients, bit for bit; the loss sums only group differently
    (1e-13)."""
    from fastlin import io as fio

    X, y = _regression(rng, n=1000)
    kw = dict(batch_size=50, shuffle=False, eta0=0.05, max_iter=4, tol=None, random_state=1)
    ref = SGDRegressor(**kw).fit(X, y)
    got = SGDRegressor(**kw).fit(fio.from_arrays(X, y), chunk_rows=200)
    assert_array_equal(got.coef_, ref.coef_)
    assert got.intercept_ == ref.intercept_ and got.t_ == ref.t_ == 80
    assert_allclose(got.loss_history_["train"], ref.loss_history_["train"], rtol=1e-13)


def test_a_source_fit_reaches_least_squares_and_takes_a_target_transform(rng):
    from fastlin import io as fio

    X, y = _regression(rng, n=4000, d=6)
    src = fio.from_arrays(X, y)
    m = SGDRegressor(batch_size=64, eta0=0.02, max_iter=20, random_state=0)
    m.fit(src, chunk_rows=700, target_transform=lambda yc: np.column_stack([yc, 2 * yc]))
    A = np.column_stack([X, np.ones(len(X))])
    ls = np.linalg.lstsq(A, y, rcond=None)[0]
    assert m.coef_.shape == (2, 6)
    assert_allclose(m.coef_[0], ls[:-1], atol=0.02)  # SGD noise at this step size
    assert_allclose(m.coef_[1], 2 * ls[:-1], atol=0.04)
    hist = m.loss_history_["train"]
    assert hist[-1] < 0.1 * hist[0]


def test_source_fit_refuses_what_it_cannot_read_again_and_names_bad_rows(rng):
    from fastlin import io as fio

    X, y = _regression(rng, n=600)
    m = SGDRegressor(max_iter=3)
    with pytest.raises(ValueError, match="one-shot iterator"):
        m.fit(((X[i : i + 100], y[i : i + 100]) for i in range(0, 600, 100)))
    with pytest.raises(ValueError, match="sample_weight comes with the chunks"):
        m.fit([(X, y)], sample_weight=np.ones(600))
    with pytest.raises(TypeError, match="options of a chunk source"):
        m.fit(X, y, chunk_rows=100)
    bad = X.copy()
    bad[437, 2] = np.nan
    with pytest.raises(ValueError, match="row 437"):
        m.fit(fio.from_arrays(bad, y), chunk_rows=100)
    assert not hasattr(m, "coef_")  # the validating pass runs before any step
