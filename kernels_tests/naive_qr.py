"""Slow, obviously correct NumPy references for the QR and TSQR kernels."""

import numpy as np


def qr_r_and_qty(A, B):
    """R (k, d) and the first k rows of QᵀB from ``numpy.linalg.qr``, k = min(m, d)."""
    Q, R = np.linalg.qr(A, mode="reduced")
    return R, Q.T @ B


def sign_fix(R, other):
    """Flip the rows of ``other`` so its diagonal signs match those of ``R``."""
    k = min(R.shape[0], other.shape[0])
    s = np.sign(np.diag(R)[:k]) * np.sign(np.diag(other)[:k])
    s[s == 0] = 1.0
    return other[:k] * s[:, None], s


def centred_weighted(X, Y, w=None):
    """sqrt(w)-scaled data centred about its weighted means, and the means."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    mx = w @ X / w.sum()
    my = w @ Y / w.sum()
    s = np.sqrt(w)[:, None]
    return s * (X - mx), s * (Y - my), mx, my


def lstsq_fit(X, Y, w=None, fit_intercept=True, rcond=None):
    """Weighted least squares by ``numpy.linalg.lstsq``: (coef (d, t), intercept (t,))."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    if fit_intercept:
        Xs, Ys, mx, my = centred_weighted(X, Y, w)
        coef = np.linalg.lstsq(Xs, Ys, rcond=rcond)[0]
        return coef, my - mx @ coef
    s = np.ones(X.shape[0]) if w is None else np.sqrt(np.asarray(w, dtype=np.float64))
    coef = np.linalg.lstsq(s[:, None] * X, s[:, None] * Y, rcond=rcond)[0]
    return coef, np.zeros(Y.shape[1])


def ridge_normal_equations(X, Y, alpha, fit_intercept=True):
    """Ridge by ``numpy.linalg.solve(XᵀX + alpha I, Xᵀy)`` on (centred) data."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    if fit_intercept:
        Xc, Yc, mx, my = centred_weighted(X, Y)
    else:
        Xc, Yc, mx, my = X, Y, np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    coef = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ Yc)
    return coef, my - mx @ coef


def back_substitution(R, B):
    """Solve R X = B for upper-triangular R, one column at a time."""
    d = R.shape[0]
    X = np.zeros_like(B, dtype=np.float64)
    for j in range(d - 1, -1, -1):
        X[j] = (B[j] - R[j, j + 1 :] @ X[j + 1 :]) / R[j, j]
    return X


def lauchli(d, eps):
    """The Läuchli matrix: a row of ones over eps * I (d + 1, d)."""
    return np.vstack([np.ones((1, d)), eps * np.eye(d)])


def lstsq_reference(X, Y, w=None, fit_intercept=True, rcond=None):
    """Minimum-norm weighted least squares by ``numpy.linalg.lstsq`` on the centred design.

    Returns ``(coef (d, t), intercept (t,), rss (t,), rank)``; rss is the weighted
    residual sum of squares of the (centred, sqrt(w)-scaled) design at ``coef``.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    if fit_intercept:
        Xs, Ys, mx, my = centred_weighted(X, Y, w)
    else:
        s = np.ones(X.shape[0]) if w is None else np.sqrt(np.asarray(w, dtype=np.float64))
        Xs, Ys = s[:, None] * X, s[:, None] * Y
        mx, my = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    coef, _, rank, _ = np.linalg.lstsq(Xs, Ys, rcond=rcond)
    rss = ((Xs @ coef - Ys) ** 2).sum(0)
    return coef, my - mx @ coef, rss, int(rank)
