"""QR / TSQR least squares: fastlin's kernels against LAPACK (SciPy and NumPy).

* ``tsqr_fit``: ``QRStats().update(X, y).finalize()``: least squares with intercept
  (centring, R, Qᵀy and the triangular solve);
* ``kernel_fold``: ``qr_fold_rows`` alone (R and Qᵀy of the uncentred rows);
* ``householder``: the dense unblocked in-place kernel, on a copy of X;
* LAPACK: ``scipy.linalg.qr(X, mode="r")`` (dgeqrf, R only), ``numpy.linalg.qr(X,
  mode="r")`` and ``numpy.linalg.lstsq`` (dgelsd, SVD based).
"""

import numpy as np
import scipy.linalg

from fastlin import QRStats
from fastlin._threads import n_threads, row_ranges
from fastlin.kernels import qr as kqr


def make_problem(rng, n, d):
    """(X (n, d) Gaussian, y = X beta + noise)."""
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    return X, y


def tsqr_fit(X, y):
    return QRStats().update(X, y).finalize()


def kernel_fold(X, Y):
    """The per-thread R and Qᵀy of X's rows and the columns of Y."""
    n, d = X.shape
    t = Y.shape[1]
    bounds = row_ranges(n, n_threads(), kqr.BLOCK)
    P = bounds.shape[0] - 1
    R = np.zeros((P, d, d))
    Z = np.zeros((P, d, t))
    kqr.qr_fold_rows(
        X,
        Y,
        np.empty(0),
        bounds,
        False,
        np.empty((P, d, kqr.BLOCK)),
        np.empty((P, t, kqr.BLOCK)),
        R,
        Z,
        np.zeros((P, t)),
        np.empty((P, d)),
        np.empty((P, t)),
        np.empty(P),
    )
    return R, Z


def householder(X, Y):
    A = X.copy()
    B = Y.copy()
    kqr.householder_qr(A, B, np.empty(X.shape[1]))
    return A, B


def scipy_qr_r(X):
    return scipy.linalg.qr(X, mode="r")


def numpy_qr_r(X):
    return np.linalg.qr(X, mode="r")


def numpy_lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)
