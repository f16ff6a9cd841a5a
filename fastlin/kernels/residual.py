"""Residuals and their gradient in one read of each row: the refinement pass.

For coefficients B (t, d), offsets c0 (t,) and a column shift s (d,), each row x gives
r = y - c0 - B (x - s) (or r = -c0 - B (x - s) without targets) and the kernel sums
w r (x - s)ᵀ, w r and w r² per target. Rows are read where they sit (uint8, float32 or
float64, C order) and every product and sum is float64, so a float32 or byte row enters
exactly: the pass measures the true residual of float64 coefficients, which is what the
corrected semi-normal equations need.

Parallel over contiguous row ranges, one private set of sums per range (``*_parts``),
merged by the caller in a fixed order.
"""

import numpy as np
from numba import prange

from .._numba import jit, pjit


@jit
def _range_sums(X, Y, w, B, c0, shift, with_targets, lo, hi, xr, rsum, rss, buf):
    d = X.shape[1]
    t = B.shape[0]
    weighted = w.shape[0] > 0
    total = 0.0
    for i in range(lo, hi):
        wi = w[i] if weighted else 1.0
        total += wi
        for j in range(d):
            buf[j] = np.float64(X[i, j]) - shift[j]
        for k in range(t):
            acc = 0.0
            Bk = B[k]
            for j in range(d):
                acc += Bk[j] * buf[j]
            r = (Y[i, k] if with_targets else 0.0) - c0[k] - acc
            wr = wi * r
            rsum[k] += wr
            rss[k] += wr * r
            xk = xr[k]
            for j in range(d):
                xk[j] += wr * buf[j]
    return total


@pjit
def residual_sums(
    X, Y, w, B, c0, shift, with_targets, bounds, xr_parts, rsum_parts, rss_parts, sw_parts
):
    """Fold rows of X into per-range residual sums.

    Parameters
    ----------
    X : (n, d) uint8, float32 or float64, C order
    Y : (n, t) float64 targets (ignored, may be (n, 0), when ``with_targets`` is False)
    w : (n,) float64 weights, or an empty array for unit weights
    B : (t, d) float64 coefficients; c0 : (t,) float64; shift : (d,) float64
    with_targets : bool
    bounds : (P + 1,) int64 row boundaries of the P ranges
    xr_parts : (P, t, d), rsum_parts : (P, t), rss_parts : (P, t), sw_parts : (P,)
        float64 outputs, accumulated into (zero them first)
    """
    d = X.shape[1]
    for p in prange(bounds.shape[0] - 1):
        buf = np.empty(d)
        sw_parts[p] += _range_sums(
            X,
            Y,
            w,
            B,
            c0,
            shift,
            with_targets,
            bounds[p],
            bounds[p + 1],
            xr_parts[p],
            rsum_parts[p],
            rss_parts[p],
            buf,
        )
