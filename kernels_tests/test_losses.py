"""The fused loss/gradient kernels against NumPy references, gradient checks, edge logits."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastlin._threads import row_ranges, threads
from fastlin.core.gradcheck import check_grad
from fastlin.kernels import losses as L
from fastlin.core.losses import LossGradState

import naive_losses as naive
from conftest import rtol_for

EMPTY_F = np.empty(0)
EMPTY_I = np.empty(0, dtype=np.int64)


def run_loss_grad(X, y, w, W, b, scale, multinomial, n_parts, rows=None, want_grad=True):
    """Call the kernel on n_parts row ranges and merge the parts in order."""
    m = X.shape[0] if rows is None else rows.shape[0]
    bounds = row_ranges(m, n_parts, 8)
    P = bounds.shape[0] - 1
    K, d = W.shape
    a_shape, z_shape = L.scratch_shapes(P, K, d)
    A = np.full(a_shape, np.nan)  # scratch contents must not matter
    Z = np.full(z_shape, np.nan)
    G = np.zeros((P, K, d))
    gb = np.zeros((P, K))
    lp = np.zeros((P, 2))
    L.loss_grad(
        X,
        y,
        EMPTY_F if w is None else w,
        EMPTY_I if rows is None else rows,
        W,
        b,
        scale,
        bounds,
        multinomial,
        want_grad,
        A,
        Z,
        G,
        gb,
        lp,
    )
    return lp[:, 0].sum(), lp[:, 1].sum(), G.sum(axis=0), gb.sum(axis=0)


def make_problem(rng, n, d, K, dtype, weighted=True, logit_scale=1.0):
    if np.dtype(dtype) == np.uint8:
        X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
        scale = 1.0 / 255.0
    else:
        X = rng.normal(size=(n, d)).astype(dtype)
        scale = 1.0
    n_classes = 2 if K == 1 else K
    y = rng.integers(0, n_classes, size=n).astype(np.int64)
    w = rng.uniform(0.2, 2.0, size=n) if weighted else None
    W = rng.normal(size=(K, d)) * logit_scale / np.sqrt(d)
    b = rng.normal(size=K) * 0.3
    return X, y, w, W, b, scale


# ---------------------------------------------------------------------------------------
# scalar and row-wise numerics at extreme logits


def test_sigmoid_saturates_exactly():
    assert L.sigmoid(710.0) == 1.0
    assert L.sigmoid(-710.0) == 0.0
    assert L.sigmoid(0.0) == 0.5
    # no overflow anywhere, and the small side keeps full relative accuracy
    assert_allclose(L.sigmoid(-30.0), np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-15)
    assert L.sigmoid(1e4) == 1.0 and L.sigmoid(-1e4) == 0.0


def test_vectorisable_exp_and_log_match_numpy_to_an_ulp_or_two(rng):
    from numba import njit

    @njit
    def apply(fn, x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])

    x = np.concatenate(
        [
            -rng.uniform(0, 708.39, 200_000),
            -rng.exponential(1e-3, 1000),
            [0.0, -0.0, -1e-300, np.log(2.0) * -0.5, -708.39],
        ]
    )
    got = np.empty_like(x)
    apply(L.exp_nonpositive, x, got)
    ref = np.exp(x)
    assert np.all(np.abs(got - ref) <= np.spacing(ref))  # 1 ulp
    below = np.array([-708.4, -709.0, -745.2, -1e4, -np.inf])
    apply(L.exp_nonpositive, below, got[:5])
    assert not got[:5].any()  # flushed to 0 below the smallest normal result

    # positive normal numbers over the whole exponent range, and the sums log-softmax sees
    s = np.concatenate(
        [
            np.exp(rng.uniform(-700, 700, 200_000)),
            rng.uniform(1.0, 20.0, 10_000),
            [1.0, 2.0, np.sqrt(2.0), np.sqrt(0.5), 2.2250738585072014e-308, 1.7976931348623157e308],
        ]
    )
    got = np.empty_like(s)
    apply(L.log_normal, s, got)
    ref = np.log(s)
    assert np.all(np.abs(got - ref) <= 2 * np.spacing(np.abs(ref)) + (ref == 0) * 1e-300)
    assert L.log_normal(1.0) == 0.0


def test_log_sigmoid_far_tail():
    out = np.empty((3, 2))
    L.log_sigmoid_pair(np.array([-750.0, 750.0, 0.0]), out)
    # log sigmoid(-750) = -750 - log1p(e^-750) = -750 exactly in float64
    assert out[0, 1] == -750.0
    assert out[0, 0] == 0.0 or abs(out[0, 0]) < 1e-300
    assert out[1, 0] == -750.0
    assert_allclose(out[2], [-np.log(2.0), -np.log(2.0)], rtol=1e-15)
    assert L.log1pexp(1e4) == 1e4
    assert L.log1pexp(-1e4) == 0.0
    assert_allclose(L.log1pexp(-40.0), np.exp(-40.0), rtol=1e-14)


def test_log_sum_exp_of_equal_large_logits():
    Z = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [1e4, -1e4]])
    out = np.empty_like(Z)
    L.log_softmax_rows(Z, out)
    # logsumexp([1000, 1000]) = 1000 + log 2
    assert_allclose(Z[0, 0] - out[0, 0], 1000.0 + np.log(2.0), rtol=1e-15)
    assert_allclose(out[1], [-np.log(2.0)] * 2, rtol=1e-15)
    assert out[2, 0] == 0.0 and out[2, 1] == -2e4
    assert np.isfinite(out).all()


@pytest.mark.parametrize("shift", [-1e4, -700.0, 0.0, 3.5, 800.0, 1e4])
def test_softmax_invariant_to_constant_shift(rng, shift):
    Z = rng.normal(size=(17, 10)) * 5
    base = np.empty_like(Z)
    moved = np.empty_like(Z)
    L.softmax_rows(Z, base)
    L.softmax_rows(Z + shift, moved)
    # adding a constant only perturbs the logits by their rounding (|shift| * eps)
    tol = 1e-13 + 2 * abs(shift) * np.finfo(float).eps * 20
    assert_allclose(moved, base, rtol=tol, atol=1e-300)
    assert_allclose(base, naive.softmax(Z), rtol=1e-13)


def test_predict_proba_rows_sum_to_one(rng):
    Z = rng.normal(size=(200, 10)) * 300
    P = np.empty_like(Z)
    L.softmax_rows(Z, P)
    assert np.abs(P.sum(axis=1) - 1.0).max() <= 1e-12
    z = rng.normal(size=200) * 50
    P2 = np.empty((200, 2))
    L.sigmoid_pair(z, P2)
    assert np.abs(P2.sum(axis=1) - 1.0).max() <= 1e-12


# ---------------------------------------------------------------------------------------
# fused kernel vs reference


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
# K = 2, 3, 5, 7, 10, 11 take class tiles of 4 (padded to 4), 4, 5, 4 (padded to 8), 5, 4
# (padded to 12); d = 2100 (263 vectors) spans several column chunks of the logits (of 48
# or 128 vectors) and whole and partial strips of the gradient
@pytest.mark.parametrize(
    "n,d,K",
    [
        (1, 5, 3),
        (7, 1, 1),
        (65, 13, 1),
        (130, 37, 10),
        (200, 9, 2),
        (129, 24, 5),
        (90, 16, 7),
        (70, 33, 11),
        (67, 2100, 10),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_grad_matches_reference(rng, dtype, n, d, K, weighted):
    X, y, w, W, b, scale = make_problem(rng, n, d, K, dtype, weighted)
    multinomial = K > 1
    ref = naive.loss_grad(X, y, w, W, b, scale, multinomial)
    # float32 X is widened exactly, so all dtypes are computed in float64
    rtol = rtol_for(np.float64) * 10
    for parts in (1, 2, 3):
        got = run_loss_grad(X, y, w, W, b, scale, multinomial, parts)
        assert_allclose(got[0], ref[0], rtol=rtol)
        assert_allclose(got[1], ref[1], rtol=rtol)
        assert_allclose(got[2], ref[2], rtol=rtol, atol=1e-12 * np.abs(ref[2]).max())
        assert_allclose(got[3], ref[3], rtol=rtol, atol=1e-12 * max(1.0, np.abs(ref[3]).max()))


# Each (dtype, layout) is a kernel specialisation to compile: the pairs cover reading in
# place (C order uint8 and float32; float64 C order runs in most other tests), packing by
# layout (Fortran order, a column slice with its own row stride) and packing by dtype
# (int16).
@pytest.mark.parametrize(
    "dtype,layouts",
    [(np.uint8, ("C", "F", "column slice")), (np.float32, ("C",)), (np.int16, ("C",))],
)
@pytest.mark.parametrize("K", [1, 10])
def test_rows_read_in_place_or_packed_agree_for_any_layout(rng, dtype, layouts, K):
    """Blocks of C-ordered rows with a width of whole vectors are read in X itself; other
    layouts and dtypes are packed first. Every layout and dtype gives the reference sums."""
    n, d = 200, 32
    if np.dtype(dtype).kind == "f":
        base = rng.normal(size=(n, d + 8)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        base = rng.integers(max(info.min, -1000), min(info.max, 1000), size=(n, d + 8)).astype(
            dtype
        )
    scale = 1.0 / 255.0 if np.dtype(dtype).kind in "ui" else 1.0
    _, y, w, W, b, _ = make_problem(rng, n, d, K, np.float64)
    W = W * 0.05 / max(1.0, np.abs(base).max() * scale)
    views = {
        "C": np.ascontiguousarray(base[:, :d]),
        "F": np.asfortranarray(base[:, :d]),
        "column slice": base[:, 4 : 4 + d],
    }
    for name in layouts:
        X = views[name]
        ref = naive.loss_grad(np.ascontiguousarray(X), y, w, W, b, scale, K > 1)
        got = run_loss_grad(X, y, w, W, b, scale, K > 1, 2)
        assert_allclose(got[0], ref[0], rtol=1e-12, err_msg=name)
        assert_allclose(got[2], ref[2], rtol=1e-11, atol=1e-12 * np.abs(ref[2]).max(), err_msg=name)
        assert_allclose(got[3], ref[3], rtol=1e-11, atol=1e-12 * np.abs(ref[3]).max(), err_msg=name)


def test_loss_only_mode_and_gathered_rows(rng):
    X, y, w, W, b, scale = make_problem(rng, 150, 20, 4, np.float64)
    rows = rng.permutation(150)[:77].astype(np.int64)
    ref = naive.loss_grad(X[rows], y[rows], w[rows], W, b, scale, True)
    got = run_loss_grad(X, y, w, W, b, scale, True, 2, rows=rows)
    assert_allclose(got[0], ref[0], rtol=1e-12)
    assert_allclose(got[2], ref[2], rtol=1e-11, atol=1e-13)
    loss_only = run_loss_grad(X, y, w, W, b, scale, True, 2, want_grad=False)
    assert not loss_only[2].any()
    assert_allclose(loss_only[0], naive.loss_grad(X, y, w, W, b, scale, True)[0], rtol=1e-12)


@pytest.mark.parametrize("K", [1, 10])
def test_read_only_inputs(rng, K):
    # read-only uint8, as np.frombuffer and memory-mapped chunk sources give
    X, y, w, W, b, scale = make_problem(rng, 90, 11, K, np.uint8)
    ref = naive.loss_grad(X, y, w, W, b, scale, K > 1)
    Xr = X.copy()
    Xr.flags.writeable = False
    got = run_loss_grad(Xr, y, w, W, b, scale, K > 1, 2)
    assert_allclose(got[0], ref[0], rtol=1e-11)
    assert_allclose(got[2], ref[2], rtol=1e-10, atol=1e-13)


@pytest.fixture(params=["kernel", "numpy"])
def route(request, monkeypatch):
    """Run the accumulators through the compiled kernels or the small-problem NumPy
    route (``fastlin.core.losses_numpy``), whatever the problem size."""
    import fastlin.core.losses_numpy as small

    monkeypatch.setattr(small, "SMALL_ELEMENTS", -1 if request.param == "kernel" else 1 << 40)
    return request.param


@pytest.mark.parametrize("K", [1, 10])
def test_threads_one_and_two_agree_and_are_deterministic(rng, K, route):
    X, y, w, W, b, scale = make_problem(rng, 700, 30, K, np.uint8)
    st = {}
    for t in (1, 2):
        with threads(t):
            a = LossGradState(W, b, K > 1, scale).update(X, y, w).finalize()
            again = LossGradState(W, b, K > 1, scale).update(X, y, w).finalize()
        assert a[0] == again[0] and np.array_equal(a[2], again[2])
        st[t] = a
    assert_allclose(st[1][0], st[2][0], rtol=1e-13)
    assert_allclose(st[1][2], st[2][2], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("K", [1, 6])
def test_chunk_invariance_of_full_batch_loss_and_gradient(rng, K, route):
    X, y, w, W, b, scale = make_problem(rng, 500, 17, K, np.float64)
    whole = LossGradState(W, b, K > 1, scale).update(X, y, w).finalize()
    for cuts in ([0, 1, 200, 500], [0, 64, 128, 333, 499, 500]):
        parts = []
        for a, c in zip(cuts[:-1], cuts[1:]):
            parts.append(LossGradState(W, b, K > 1, scale).update(X[a:c], y[a:c], w[a:c]))
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        got = merged.finalize()
        assert_allclose(got[0], whole[0], rtol=1e-12)
        assert_allclose(got[1], whole[1], rtol=1e-14)
        assert_allclose(got[2], whole[2], rtol=1e-11, atol=1e-13)
        assert_allclose(got[3], whole[3], rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("big", [1e2, 1e4])
def test_extreme_logits_finite_and_correct(rng, K, big):
    n, d = 40, 6
    X = rng.normal(size=(n, d))
    X[:, 0] = np.sign(X[:, 0]) * 1.0
    W = np.zeros((K, d))
    W[:, 0] = big * (1 + np.arange(K))  # logits of size big * k, both signs
    b = np.zeros(K)
    y = rng.integers(0, 2 if K == 1 else K, size=n).astype(np.int64)
    got = run_loss_grad(X, y, None, W, b, 1.0, K > 1, 2)
    ref = naive.loss_grad(X, y, None, W, b, 1.0, K > 1)
    assert np.isfinite(got[0]) and np.isfinite(got[2]).all() and np.isfinite(got[3]).all()
    assert_allclose(got[0], ref[0], rtol=1e-12)
    assert_allclose(got[2], ref[2], rtol=1e-12, atol=1e-12)
    assert_allclose(got[3], ref[3], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# gradient checks on every loss


def _objective(X, y, w, K, d, scale, multinomial):
    def split(theta):
        return theta[: K * d].reshape(K, d), theta[K * d :]

    def fun(theta):
        W, b = split(theta)
        return run_loss_grad(X, y, w, W, b, scale, multinomial, 2)[0]

    def grad(theta):
        W, b = split(theta)
        _, _, G, gb = run_loss_grad(X, y, w, W, b, scale, multinomial, 2)
        return np.concatenate([G.ravel(), gb])

    return fun, grad


@pytest.mark.parametrize("K", [1, 2, 4])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_check_grad_every_loss(rng, K, weighted, dtype):
    n, d = 30, 5
    X, y, w, W, b, scale = make_problem(rng, n, d, K, dtype, weighted, logit_scale=2.0)
    fun, grad = _objective(X, y, w, K, d, scale, K > 1)
    theta = np.concatenate([W.ravel(), b])
    assert check_grad(fun, grad, theta) < 1e-6


def test_check_grad_detects_a_wrong_gradient(rng):
    X, y, w, W, b, scale = make_problem(rng, 30, 4, 3, np.float64)
    fun, grad = _objective(X, y, w, 3, 4, scale, True)
    theta = np.concatenate([W.ravel(), b])
    assert check_grad(fun, lambda t: grad(t) * 1.01, theta) > 1e-3
    worst, errs = check_grad(fun, grad, theta, return_errors=True)
    assert errs.shape == theta.shape and worst == errs.max()


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("n,d,K", [(101, 9, 1), (130, 21, 3), (77, 16, 7), (150, 40, 10)])
def test_hessp_matches_reference_and_gradient_differences(rng, dtype, n, d, K):
    X, y, w, W, b, scale = make_problem(rng, n, d, K, dtype, logit_scale=3.0)
    V = rng.normal(size=(K, d))
    vb = rng.normal(size=K)
    multinomial = K > 1
    bounds = row_ranges(n, 2, 8)
    P = bounds.shape[0] - 1
    a_shape, z_shape = L.scratch_shapes(P, K, d)
    H = np.zeros((P, K, d))
    hb = np.zeros((P, K))
    L.hessp(
        X,
        w,
        W,
        b,
        V,
        vb,
        scale,
        bounds,
        multinomial,
        np.full(a_shape, np.nan),
        np.full(z_shape, np.nan),
        np.full(z_shape, np.nan),
        H,
        hb,
    )
    ref_H, ref_hb = naive.hessp(X, w, W, b, V, vb, scale, multinomial)
    # sums of n products of O(1) terms: relative to the largest entry
    assert_allclose(H.sum(0), ref_H, rtol=1e-11, atol=1e-12 * np.abs(ref_H).max())
    assert_allclose(hb.sum(0), ref_hb, rtol=1e-11, atol=1e-12 * np.abs(ref_hb).max())
    # directional derivative of the gradient, by central differences (error O(h^2))
    h = 1e-5
    gp = run_loss_grad(X, y, w, W + h * V, b + h * vb, scale, multinomial, 2)
    gm = run_loss_grad(X, y, w, W - h * V, b - h * vb, scale, multinomial, 2)
    assert_allclose(H.sum(0), (gp[2] - gm[2]) / (2 * h), rtol=1e-6, atol=1e-7 * np.abs(ref_H).max())
    assert_allclose(
        hb.sum(0), (gp[3] - gm[3]) / (2 * h), rtol=1e-6, atol=1e-7 * np.abs(ref_hb).max()
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5, 64, 131])
def test_logits_kernel(rng, dtype, n):
    X, y, w, W, b, scale = make_problem(rng, n, 19, 7, dtype)
    bounds = row_ranges(n, 2, L.BLOCK)
    a_shape, z_shape = L.scratch_shapes(bounds.shape[0] - 1, 7, 19)
    Z = np.empty((n, 7))
    L.logits(X, W, b, scale, bounds, np.full(a_shape, np.nan), np.full(z_shape, np.nan), Z)
    ref = (X.astype(np.float64) * scale) @ W.T + b
    assert_allclose(Z, ref, rtol=1e-11, atol=1e-12)


# ---------------------------------------------------------------------------------------
# the small-problem NumPy route against the kernels


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("n,d,K", [(300, 7, 1), (257, 20, 3), (64, 784, 10), (9, 3, 2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_numpy_route_equals_the_kernels(rng, monkeypatch, dtype, n, d, K, weighted):
    """LossGradState, hessp_sums and the predictions agree between the routes to the
    rounding of sums of n terms (1e-12 relative to the largest entry)."""
    import fastlin.core.losses_numpy as small
    from fastlin.core.losses import hessp_sums
    from fastlin.estimators.logistic import LogisticRegression

    X, y, w, W, b, scale = make_problem(rng, n, d, K, dtype, weighted, logit_scale=4.0)
    V = rng.normal(size=(K, d))
    vb = rng.normal(size=K)
    rows = rng.permutation(n)[: max(1, n // 3)].astype(np.int64)
    out = {}
    for name, limit in (("kernel", -1), ("numpy", 1 << 40)):
        monkeypatch.setattr(small, "SMALL_ELEMENTS", limit)
        full = LossGradState(W, b, K > 1, scale).update(X, y, w).finalize()
        some = LossGradState(W, b, K > 1, scale).update(X, y, w, rows=rows).finalize()
        loss_only = LossGradState(W, b, K > 1, scale, want_grad=False).update(X, y, w)
        out[name] = (full, some, loss_only.loss_sum, hessp_sums(X, w, W, b, V, vb, K > 1, scale))
    for a, c in ((out["kernel"][0], out["numpy"][0]), (out["kernel"][1], out["numpy"][1])):
        for u, v in zip(a, c):
            u, v = np.asarray(u), np.asarray(v)
            assert_allclose(u, v, rtol=1e-12, atol=1e-12 * max(np.abs(v).max(), 1e-300))
    assert_allclose(out["kernel"][2], out["numpy"][2], rtol=1e-12)
    assert out["kernel"][2] == pytest.approx(out["kernel"][0][0], rel=1e-14)
    for u, v in zip(out["kernel"][3], out["numpy"][3]):
        assert_allclose(u, v, rtol=1e-11, atol=1e-12 * np.abs(v).max())

    # Predictions: logits, probabilities and log-probabilities of a fitted model.
    classes = np.arange(2 if K == 1 else K)
    model = LogisticRegression(x_scale=scale)
    model.coef_, model.intercept_, model.classes_ = W.astype(np.float64), b, classes
    model.n_features_in_ = d
    preds = {}
    for name, limit in (("kernel", -1), ("numpy", 1 << 40)):
        monkeypatch.setattr(small, "SMALL_ELEMENTS", limit)
        preds[name] = (
            model.decision_function(X),
            model.predict_proba(X),
            model.predict_log_proba(X),
        )
    for u, v in zip(preds["kernel"], preds["numpy"]):
        assert_allclose(u, v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("big", [1e2, 1e4])
def test_numpy_route_extreme_logits(rng, K, big):
    """The NumPy route keeps the kernels' numerics at logits of +-1e4: finite, and equal
    to the reference (neither side of a sigmoid cancels)."""
    import fastlin.core.losses_numpy as small

    n, d = 40, 6
    X = rng.normal(size=(n, d))
    X[:, 0] = np.sign(X[:, 0])
    W = np.zeros((K, d))
    W[:, 0] = big * (1 + np.arange(K))
    b = np.zeros(K)
    y = rng.integers(0, 2 if K == 1 else K, size=n).astype(np.int64)
    got = small.loss_grad(X, y, None, W, b, 1.0, K > 1)
    ref = naive.loss_grad(X, y, None, W, b, 1.0, K > 1)
    assert np.isfinite(got[0]) and np.isfinite(got[2]).all()
    assert_allclose(got[0], ref[0], rtol=1e-12)
    assert_allclose(got[2], ref[2], rtol=1e-12, atol=1e-12)
    assert_allclose(got[3], ref[3], rtol=1e-12, atol=1e-12)
    assert np.isfinite(small.log_proba(X @ W.T)).all()


@pytest.mark.parametrize("K", [1, 4])
@pytest.mark.parametrize("gathered", [False, True])
def test_parts_on_python_threads_give_the_parallel_kernels_bits(rng, K, gathered):
    """loss_grad_parts runs the same part kernel as the prange kernel loss_grad: the same
    bits per part, for 1 and 2 threads."""
    X, y, w, W, b, scale = make_problem(rng, 900, 23, K, np.uint8)
    rows = rng.permutation(900)[:500].astype(np.int64) if gathered else EMPTY_I
    m = rows.shape[0] if gathered else 900
    for n in (1, 2):
        with threads(n):
            bounds = row_ranges(m, 2 * n, 8)
            P = bounds.shape[0] - 1
            a_shape, z_shape = L.scratch_shapes(P, K, 23)
            out = []
            for fn in (L.loss_grad, L.loss_grad_parts):
                G, gb, lp = np.zeros((P, K, 23)), np.zeros((P, K)), np.zeros((P, 2))
                fn(
                    X,
                    y,
                    w,
                    rows,
                    W,
                    b,
                    scale,
                    bounds,
                    K > 1,
                    True,
                    np.empty(a_shape),
                    np.empty(z_shape),
                    G,
                    gb,
                    lp,
                )
                out.append((G, gb, lp))
            for u, v in zip(*out):
                np.testing.assert_array_equal(u, v)
