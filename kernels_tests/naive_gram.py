"""NumPy references for the Gram kernel (``fastlin.kernels.gram``).

For integer X without weights and integer-valued Y the reference is exact: products are
formed in int64, or in float64 where every product and every partial sum is an integer
below 2**53 (then any summation order, BLAS included, gives the exact value).
"""

import numpy as np

NAMES = ("xtx", "xty", "xs", "ys", "yty", "sw")


def gram_reference(X, Y, w=None):
    """Statistics in the kernel's layout: xtx and yty as upper triangles.

    Returns a dict with xtx (d, d), xty (d, t), xs (d,), ys (t,), yty (t, t), sw (1,),
    all float64.
    """
    X = np.asarray(X)
    Y = np.asarray(Y, dtype=np.float64)
    if w is None and X.dtype.kind in "ui" and np.array_equal(Y, np.round(Y)):
        big = max(float(np.abs(X).max(initial=0)), float(np.abs(Y).max(initial=0)), 1.0)
        if X.shape[0] * big * big < 2.0**53:
            # every product and partial sum is an integer below 2**53: float64 BLAS is
            # exact in any summation order, and far faster than int64 matmul at MNIST size
            Xe, Ye = X.astype(np.float64), Y
        else:
            Xe, Ye = X.astype(np.int64), Y.astype(np.int64)
        return {
            "xtx": np.triu(Xe.T @ Xe).astype(np.float64),
            "xty": (Xe.T @ Ye).astype(np.float64),
            "xs": X.astype(np.int64).sum(axis=0).astype(np.float64),
            "ys": Ye.sum(axis=0).astype(np.float64),
            "yty": np.triu(Ye.T @ Ye).astype(np.float64),
            "sw": np.array([float(X.shape[0])]),
        }
    w = np.ones(X.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    Xf = X.astype(np.float64)
    Xw = Xf * w[:, None]
    return {
        "xtx": np.triu(Xw.T @ Xf),
        "xty": Xw.T @ Y,
        "xs": w @ Xf,
        "ys": w @ Y,
        "yty": np.triu((Y * w[:, None]).T @ Y),
        "sw": np.array([w.sum()]),
    }
