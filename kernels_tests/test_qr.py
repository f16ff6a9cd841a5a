"""Householder QR kernels against numpy.linalg.qr / lstsq and plain back substitution."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastlin._threads import row_ranges, threads
from fastlin.kernels import qr as kqr

import naive_qr as nq

RTOL = 1e-11  # float64 data throughout: the kernels work in float64


def _dense(A, B):
    A2 = np.array(A, dtype=np.float64, order="C")
    B2 = np.array(B, dtype=np.float64, order="C")
    tau = np.empty(min(A2.shape))
    kqr.householder_qr(A2, B2, tau)
    return A2, B2, tau


@pytest.mark.parametrize(
    "m,d,t", [(1, 1, 1), (5, 1, 2), (50, 7, 1), (7, 7, 3), (3, 7, 1), (300, 40, 2)]
)
def test_householder_qr_matches_numpy(rng, m, d, t):
    A = rng.normal(size=(m, d))
    B = rng.normal(size=(m, t))
    A2, B2, tau = _dense(A, B)
    k = min(m, d)
    R = np.triu(A2[:k])
    Rn, QtB = nq.qr_r_and_qty(A, B)
    Rn_fixed, s = nq.sign_fix(R, Rn)
    scale = np.abs(A).max()
    assert_allclose(R, Rn_fixed, rtol=0, atol=RTOL * scale * m)
    assert_allclose(B2[:k], QtB[:k] * s[:, None], rtol=0, atol=RTOL * np.abs(B).max() * m)
    # Orthogonality: the squared norms of B are preserved.
    assert_allclose((B2**2).sum(0), (B**2).sum(0), rtol=RTOL * m)
    if m > d:
        coef = np.linalg.lstsq(A, B, rcond=None)[0]
        assert_allclose((B2[d:] ** 2).sum(0), ((A @ coef - B) ** 2).sum(0), rtol=1e-9)


def test_householder_qr_reflectors_rebuild_q(rng):
    m, d = 30, 6
    A = rng.normal(size=(m, d))
    A2, B2, tau = _dense(A, np.eye(m))
    # B started as I, so it now holds Qᵀ; Q R must rebuild A.
    Qt = B2
    R = np.zeros((m, d))
    R[:d] = np.triu(A2[:d])
    assert_allclose(Qt.T @ R, A, atol=1e-12 * m)
    assert_allclose(Qt @ Qt.T, np.eye(m), atol=1e-13 * m)
    assert np.all(np.abs(tau) <= 2.0) and np.all(tau >= 0.0)


def test_zero_column_gives_tau_zero_and_no_nan(rng):
    A = rng.normal(size=(20, 4))
    A[:, 1] = 0.0
    A[:, 3] = 0.0
    A2, B2, tau = _dense(A, rng.normal(size=(20, 1)))
    assert np.isfinite(A2).all() and np.isfinite(B2).all()
    assert tau[3] == 0.0
    R = np.triu(A2[:4])
    assert_allclose(R.T @ R, A.T @ A, atol=1e-12 * np.abs(A.T @ A).max())


def test_column_already_triangular_keeps_sign(rng):
    # A column that is zero below its diagonal needs no reflector.
    A = np.triu(rng.normal(size=(4, 4))) - 3 * np.eye(4)
    A2, _, tau = _dense(A, np.ones((4, 1)))
    assert np.all(tau == 0.0)
    assert_allclose(A2, A)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_no_overflow_or_underflow_in_norms(rng, scale):
    A = rng.normal(size=(40, 3)) * scale
    A2, _, _ = _dense(A, np.ones((40, 1)))
    R = np.triu(A2[:3])
    Rn = np.linalg.qr(A / scale, mode="r") * scale
    Rn_fixed, _ = nq.sign_fix(R, Rn)
    assert np.isfinite(R).all() and (np.abs(np.diag(R)) > 0).all()
    assert_allclose(R / scale, Rn_fixed / scale, atol=1e-12)


def _fold(R0, Z0, rows, targets, triangular=False):
    R = R0.copy()
    Z = Z0.copy()
    rss = np.zeros(Z.shape[1])
    P = np.array(rows.T, dtype=np.float64, order="C")
    Q = np.array(targets.T, dtype=np.float64, order="C")
    kqr.qr_fold_panel(R, Z, P, Q, rows.shape[0], triangular, rss)
    return R, Z, rss


@pytest.mark.parametrize("d,b,t", [(1, 1, 1), (5, 3, 1), (6, 40, 2), (17, 256, 1), (8, 1, 3)])
def test_fold_panel_is_qr_of_the_stack(rng, d, b, t):
    A0 = rng.normal(size=(d + 4, d))
    Y0 = rng.normal(size=(d + 4, t))
    R0, QtY0 = nq.qr_r_and_qty(A0, Y0)
    rows = rng.normal(size=(b, d))
    targ = rng.normal(size=(b, t))
    R, Z, rss = _fold(R0, QtY0, rows, targ)
    stack = np.vstack([A0, rows])
    ystack = np.vstack([Y0, targ])
    Rn, QtY = nq.qr_r_and_qty(stack, ystack)
    Rn_fixed, s = nq.sign_fix(R, Rn)
    assert_allclose(np.triu(R), Rn_fixed, atol=1e-12 * np.abs(stack).max() * len(stack))
    assert_allclose(Z, QtY * s[:, None], atol=1e-12 * np.abs(ystack).max() * len(stack))
    coef = np.linalg.lstsq(stack, ystack, rcond=None)[0]
    rss_ref = ((stack @ coef - ystack) ** 2).sum(0)
    rss0 = (Y0**2).sum(0) - (QtY0**2).sum(0)
    assert_allclose(rss + rss0, rss_ref, rtol=1e-9)


def test_fold_panel_triangular_path_matches_dense_path(rng):
    d, t = 9, 2
    R0 = np.triu(rng.normal(size=(d, d)))
    Z0 = rng.normal(size=(d, t))
    R2 = np.triu(rng.normal(size=(d, d)))
    Z2 = rng.normal(size=(d, t))
    Ra, Za, ra = _fold(R0, Z0, R2, Z2, triangular=True)
    Rb, Zb, rb = _fold(R0, Z0, R2, Z2, triangular=False)
    assert_allclose(Ra, Rb, atol=1e-13)
    assert_allclose(Za, Zb, atol=1e-13)
    assert_allclose(ra, rb, rtol=1e-11, atol=1e-13)


def test_fold_panel_zero_rows_leave_factor_unchanged(rng):
    R0 = np.triu(rng.normal(size=(4, 4)))
    Z0 = rng.normal(size=(4, 1))
    R, Z, rss = _fold(R0, Z0, np.zeros((3, 4)), np.zeros((3, 1)))
    assert_allclose(R, R0)
    assert_allclose(Z, Z0)
    assert rss[0] == 0.0


def _fold_rows(X, Y, w, n_parts, centre, block=kqr.BLOCK):
    n, d = X.shape
    t = Y.shape[1]
    bounds = row_ranges(n, n_parts, block)
    P = bounds.shape[0] - 1
    out = dict(
        R=np.zeros((P, d, d)),
        Z=np.zeros((P, d, t)),
        rss=np.zeros((P, t)),
        mx=np.empty((P, d)),
        my=np.empty((P, t)),
        sw=np.empty(P),
    )
    kqr.qr_fold_rows(
        X,
        Y,
        w,
        bounds,
        centre,
        np.empty((P, d, kqr.BLOCK)),
        np.empty((P, t, kqr.BLOCK)),
        out["R"],
        out["Z"],
        out["rss"],
        out["mx"],
        out["my"],
        out["sw"],
    )
    return bounds, out


# The kernel is called with float64 only (QRStats converts other dtypes slice by slice);
# the integer-valued case checks exactness of the packing on uint8-like data.
@pytest.mark.parametrize("kind", ["normal", "uint8 values"])
@pytest.mark.parametrize("n,d", [(1, 3), (255, 4), (600, 7), (513, 1)])
@pytest.mark.parametrize("centre", [False, True])
def test_fold_rows_each_range_is_qr_of_its_rows(rng, kind, n, d, centre):
    if kind == "uint8 values":
        X = rng.integers(0, 256, size=(n, d)).astype(np.float64)
    else:
        X = rng.normal(size=(n, d))
    Y = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 2.0, size=n)
    bounds, out = _fold_rows(X, Y, w, 2, centre)
    for p in range(bounds.shape[0] - 1):
        sl = slice(bounds[p], bounds[p + 1])
        Xp = X[sl].astype(np.float64)
        Yp = Y[sl]
        wp = w[sl]
        if centre:
            Xs, Ys, mx, my = nq.centred_weighted(Xp, Yp, wp)
            assert_allclose(out["mx"][p], mx, rtol=1e-12, atol=1e-12)
            assert_allclose(out["my"][p], my, rtol=1e-12, atol=1e-12)
        else:
            Xs, Ys = np.sqrt(wp)[:, None] * Xp, np.sqrt(wp)[:, None] * Yp
        assert_allclose(out["sw"][p], wp.sum(), rtol=1e-13)
        R = out["R"][p]
        G = Xs.T @ Xs
        assert_allclose(R.T @ R, G, atol=1e-12 * max(np.abs(G).max(), 1.0))
        assert_allclose(R.T @ out["Z"][p], Xs.T @ Ys, atol=1e-11 * max(np.abs(Xs).max(), 1.0) ** 2)


def test_fold_rows_unweighted_and_same_bits_for_any_thread_count(rng):
    X = rng.normal(size=(1100, 5))
    Y = rng.normal(size=(1100, 1))
    with threads(1):
        b1, o1 = _fold_rows(X, Y, np.empty(0), 3, True)
    b2, o2 = _fold_rows(X, Y, np.empty(0), 3, True)
    assert np.array_equal(b1, b2)
    for key in o1:
        assert np.array_equal(o1[key], o2[key]), key
    wb, ow = _fold_rows(X, Y, np.ones(1100), 3, True)
    for key in o1:
        assert_allclose(ow[key], o1[key], rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("d,t,n", [(1, 1, 1), (6, 2, 6), (30, 3, 12)])
def test_solve_upper_matches_back_substitution(rng, d, t, n):
    R = np.triu(rng.normal(size=(d, d))) + 4 * np.eye(d)
    B = rng.normal(size=(d, t))
    X = B.copy()
    kqr.solve_upper(R, X, n)
    ref = nq.back_substitution(R[:n, :n], B[:n])
    assert_allclose(X[:n], ref, rtol=1e-12, atol=1e-12)
    assert_allclose(X[n:], B[n:])


@pytest.mark.parametrize("d", [4, 9, 13])
def test_blocked_fold_with_zero_and_duplicate_columns(rng, d):
    # Zero tails inside a group of four reflectors give tau = 0 there; the compact WY
    # update must then leave those rows alone.
    R0 = np.zeros((d, d))
    Z0 = np.zeros((d, 1))
    rows = rng.normal(size=(40, d))
    rows[:, 1] = 0.0
    rows[:, d - 1] = rows[:, 0]
    targ = rng.normal(size=(40, 1))
    R, Z, rss = _fold(R0, Z0, rows, targ)
    assert np.isfinite(R).all() and np.isfinite(Z).all()
    assert_allclose(R.T @ R, rows.T @ rows, atol=1e-12 * np.abs(rows.T @ rows).max())
    assert_allclose(R.T @ Z, rows.T @ targ, atol=1e-12 * 40)
    assert_allclose((Z**2).sum() + rss.sum(), (targ**2).sum(), rtol=1e-13)
    # Folding a second panel on top of a factor that has zero rows stays exact.
    more = rng.normal(size=(7, d))
    R2, Z2, _ = _fold(R, Z, more, rng.normal(size=(7, 1)))
    G = rows.T @ rows + more.T @ more
    assert_allclose(R2.T @ R2, G, atol=1e-12 * np.abs(G).max())


def _rel_err(x, beta):
    return np.linalg.norm(np.ravel(x) - beta) / np.linalg.norm(beta)


def _dense_solve(A, b):
    A2, B2, _ = _dense(A, b[:, None])
    d = A.shape[1]
    coef = B2[:d].copy()
    kqr.solve_upper(A2, coef, d)
    return coef[:, 0]


@pytest.mark.parametrize("design", ["vandermonde12", "lauchli", "scaled1e6"])
def test_dense_qr_solve_on_ill_conditioned_designs(rng, design):
    # The error of any backward-stable solver on cond ~ 1e9 scatters over an order of
    # magnitude from draw to draw (LAPACK's QR and lstsq disagree by 10x on single
    # draws), so medians over several draws are compared.
    ours, ref = [], []
    for _ in range(7):
        if design == "vandermonde12":
            A = np.vander(np.sort(rng.uniform(0, 1, size=1000)), 13, increasing=True)
        elif design == "lauchli":
            A = nq.lauchli(5, 1e-9)
        else:
            A = rng.normal(size=(300, 5)) * [1.0, 1e6, 1e-6, 1.0, 1e6]
        beta = rng.normal(size=A.shape[1])
        b = A @ beta
        ours.append(_rel_err(_dense_solve(A, b), beta))
        ref.append(_rel_err(np.linalg.lstsq(A, b, rcond=None)[0], beta))
    assert np.median(ours) <= 10 * np.median(ref) + 1e-12, (ours, ref)


# --------------------------------------------------------------------------------------
# Short panels, subnormals and the noise floor (the NaN / "SVD did not converge" defect)


@pytest.mark.parametrize("scale", [1e-310, 1e-320])
def test_subnormal_columns_give_finite_scaled_factor(rng, scale):
    # 1 / scale of a subnormal overflows to inf; the reflector must scale up first.
    A = rng.normal(size=(12, 3))
    A2, _, tau = _dense(A * scale, np.ones((12, 1)))
    assert np.isfinite(A2).all() and np.isfinite(tau).all()
    R = np.triu(A2[:3])
    Rn, _ = nq.sign_fix(R, np.linalg.qr(A, mode="r"))
    # A value of 1e-320 carries about 10 significant bits, 1e-310 about 44.
    assert_allclose(R / scale, Rn, atol=(3e-3 if scale < 1e-315 else 1e-9) * np.abs(Rn).max())
    Rf, _, _ = _fold(np.zeros((3, 3)), np.zeros((3, 1)), A * scale, np.zeros((12, 1)))
    assert np.isfinite(Rf).all()
    Rfn, _ = nq.sign_fix(Rf, Rn)
    assert_allclose(Rf / scale, Rfn, atol=(3e-3 if scale < 1e-315 else 1e-9) * np.abs(Rn).max())


@pytest.mark.parametrize("n,d", [(8, 200), (1, 64), (3, 97), (44, 300)])
def test_panel_shorter_than_factor_has_no_nan_and_no_subnormals(rng, n, d):
    # The reported case: one chunk of 8 rows x 200 features onto a zero factor. Every
    # column past the panel's rank used to reflect the previous columns' rounding noise,
    # shrinking it by eps per n columns until 1 / scale overflowed.
    rows = rng.normal(size=(n, d)) + 1.0
    targ = rng.normal(size=(n, 2))
    R, Z, rss = _fold(np.zeros((d, d)), np.zeros((d, 2)), rows, targ)
    assert np.isfinite(R).all() and np.isfinite(Z).all() and np.isfinite(rss).all()
    tiny = (np.abs(R) > 0) & (np.abs(R) < 1e-250)
    assert not tiny.any()
    G = rows.T @ rows
    assert_allclose(R.T @ R, G, atol=1e-12 * np.abs(G).max())
    atol = 1e-12 * np.abs(rows).max() * np.abs(targ).max() * n
    assert_allclose(R.T @ Z, rows.T @ targ, atol=atol)
    assert_allclose((Z**2).sum() + rss.sum(), (targ**2).sum(), rtol=1e-12)
    # Folding more short panels on top keeps it so (7-row partial_fit chunks).
    for _ in range(3):
        more = rng.normal(size=(7, d))
        R, Z, _ = _fold(R, Z, more, rng.normal(size=(7, 2)))
        G += more.T @ more
        assert np.isfinite(R).all()
        assert not ((np.abs(R) > 0) & (np.abs(R) < 1e-250)).any()
    assert_allclose(R.T @ R, G, atol=1e-12 * np.abs(G).max())


def test_noise_floor_is_relative_to_each_column(rng):
    # Column scales 1, 1e-150 and 1e150, and a column independent of the first only at
    # 1e-10: none of them is rounding noise, so none may be dropped. R(A D) = R(A) D.
    base = rng.normal(size=(40, 4))
    base[:, 3] = base[:, 0] + 1e-10 * base[:, 3]
    D = np.array([1.0, 1e-150, 1e150, 1.0])
    R, _, _ = _fold(np.zeros((4, 4)), np.zeros((4, 1)), base * D, np.zeros((40, 1)))
    Rn, _ = nq.sign_fix(R, np.linalg.qr(base, mode="r"))
    scaled = np.triu(R) / D
    assert_allclose(scaled[:3, :3], Rn[:3, :3], rtol=1e-12, atol=1e-12 * np.abs(Rn).max())
    # The last column's own part is 1e-10 of its norm: relative accuracy about eps / 1e-10.
    assert_allclose(scaled[3, 3], Rn[3, 3], rtol=1e-5)
    assert abs(R[3, 3]) > 1e-11
