"""Slow, obviously-correct NumPy references for the core statistics and solvers.

Other kernel families keep theirs in ``naive_<family>.py`` beside this file.
"""

import numpy as np


def gram_reference(X, Y, w=None):
    """Exact-as-possible Gram statistics: int64 for integer data without weights."""
    X = np.asarray(X)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    if w is None and X.dtype.kind in "ui":
        Xi = X.astype(np.int64)
        return {
            "sum_w": float(X.shape[0]),
            "x_sum": Xi.sum(axis=0).astype(np.float64),
            "xtx": (Xi.T @ Xi).astype(np.float64),
            "xty": X.astype(np.float64).T @ Y,
            "y_sum": Y.sum(axis=0),
            "yty": Y.T @ Y,
        }
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    Xf = X.astype(np.float64)
    return {
        "sum_w": w.sum(),
        "x_sum": w @ Xf,
        "xtx": (Xf * w[:, None]).T @ Xf,
        "xty": (Xf * w[:, None]).T @ Y,
        "y_sum": w @ Y,
        "yty": (Y * w[:, None]).T @ Y,
    }


def lstsq_reference(X, Y, w=None, alpha=0.0, fit_intercept=True):
    """Coefficients (t, d) and intercepts (t,) by SVD on the centred, weighted design.

    For alpha = 0 this is ``numpy.linalg.lstsq``'s minimum-norm solution; for alpha > 0
    the ridge solution by the augmented system.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    if fit_intercept:
        xm = w @ X / w.sum()
        ym = w @ Y / w.sum()
    else:
        xm = np.zeros(X.shape[1])
        ym = np.zeros(Y.shape[1])
    sw = np.sqrt(w)[:, None]
    Xc = (X - xm) * sw
    Yc = (Y - ym) * sw
    if alpha > 0:
        Xc = np.vstack([Xc, np.sqrt(alpha) * np.eye(X.shape[1])])
        Yc = np.vstack([Yc, np.zeros((X.shape[1], Y.shape[1]))])
    coef = np.linalg.lstsq(Xc, Yc, rcond=None)[0].T
    intercept = ym - coef @ xm
    return coef, intercept
