"""Leverage (hat-matrix diagonal) and residuals of rows, one streaming pass.

For a row x the leverage needs the quadratic form q = zᵀ z with z = L⁻¹ D (x[cols] - m),
where L is the Cholesky factor of the scaled centred Gram D (C + alpha I) D restricted to
the columns ``cols`` (D = ``scale``, m = ``mean``); the Python layer
(:mod:`fastlin.diagnostics`) turns q into the leverage and Cook's distance. The n x n hat
matrix is never formed.

Rows are processed in blocks of ``ROW_BLOCK``: a block is gathered transposed into a
(k, ROW_BLOCK) float64 scratch (row i of the scratch holds feature i of every row of the
block, contiguous), so that the forward substitution is a sequence of vector updates along
rows of the block, on 4 x 4 register tiles of L. A row's arithmetic does not depend on the
chunk or thread it falls in, except that the vectorised body and the scalar tail of a
block may round a multiply-add differently: results agree to a few ulp for any split, and
bit for bit for the same split.

Contract
--------
``leverage_pass(X, Y, coef, intercept, cols, mean, scale, L, bounds, Z_parts, q_out,
resid_out)``

* ``X`` (n, d) of any real dtype and layout (read, cast per element); ``Y`` (n, t) float64
  or shape (n, 0) when no residuals are wanted; ``coef`` (t, d) and ``intercept`` (t,)
  float64.
* ``cols`` int64 (k,), ``mean`` and ``scale`` float64 (k,), ``L`` float64 (k, k) C-contiguous
  lower triangular with positive diagonal.
* ``bounds`` int64 (p + 1,) row ranges; ``Z_parts`` float64 (p, k, ROW_BLOCK) scratch.
* Outputs: ``q_out`` float64 (n,), ``resid_out`` float64 (n, t) (y - intercept - coef x).
  Each part writes only its own rows.
"""

import numpy as np
from numba import prange

from .._numba import jit, pjit

ROW_BLOCK = 64
"""Rows per block of the forward substitution (the vector length of the tiles)."""


@jit
def _gather(X, r0, nb, cols, mean, scale, Z):
    k = cols.shape[0]
    for c in range(nb):
        row = X[r0 + c]
        for i in range(k):
            Z[i, c] = (np.float64(row[cols[i]]) - mean[i]) * scale[i]


@jit
def _residuals(X, Y, coef, intercept, r0, nb, resid_out):
    t = Y.shape[1]
    d = X.shape[1]
    for c in range(nb):
        row = X[r0 + c]
        for o in range(t):
            w = coef[o]
            acc = 0.0
            for j in range(d):
                acc += w[j] * np.float64(row[j])
            resid_out[r0 + c, o] = Y[r0 + c, o] - intercept[o] - acc


@jit
def _update4(Z, i0, u, L, nb):
    """Z[i0 + a, :nb] -= sum_b L[i0 + a, u + b] Z[u + b, :nb] for a, b < 4."""
    z0 = Z[i0]
    z1 = Z[i0 + 1]
    z2 = Z[i0 + 2]
    z3 = Z[i0 + 3]
    w0 = Z[u]
    w1 = Z[u + 1]
    w2 = Z[u + 2]
    w3 = Z[u + 3]
    a00 = L[i0, u]
    a01 = L[i0, u + 1]
    a02 = L[i0, u + 2]
    a03 = L[i0, u + 3]
    a10 = L[i0 + 1, u]
    a11 = L[i0 + 1, u + 1]
    a12 = L[i0 + 1, u + 2]
    a13 = L[i0 + 1, u + 3]
    a20 = L[i0 + 2, u]
    a21 = L[i0 + 2, u + 1]
    a22 = L[i0 + 2, u + 2]
    a23 = L[i0 + 2, u + 3]
    a30 = L[i0 + 3, u]
    a31 = L[i0 + 3, u + 1]
    a32 = L[i0 + 3, u + 2]
    a33 = L[i0 + 3, u + 3]
    for j in range(nb):
        x0 = w0[j]
        x1 = w1[j]
        x2 = w2[j]
        x3 = w3[j]
        z0[j] -= a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3
        z1[j] -= a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3
        z2[j] -= a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3
        z3[j] -= a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3


@jit
def _update1(Z, i, u0, u1, L, nb):
    """Z[i, :nb] -= sum_{u0 <= u < u1} L[i, u] Z[u, :nb]."""
    zi = Z[i]
    u = u0
    while u + 4 <= u1:
        w0 = Z[u]
        w1 = Z[u + 1]
        w2 = Z[u + 2]
        w3 = Z[u + 3]
        a0 = L[i, u]
        a1 = L[i, u + 1]
        a2 = L[i, u + 2]
        a3 = L[i, u + 3]
        for j in range(nb):
            zi[j] -= a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
        u += 4
    while u < u1:
        wu = Z[u]
        a = L[i, u]
        for j in range(nb):
            zi[j] -= a * wu[j]
        u += 1


@jit
def _divide(Z, i, nb, diag):
    zi = Z[i]
    inv = 1.0 / diag
    for j in range(nb):
        zi[j] = zi[j] * inv


@jit
def forward_block(L, Z, nb):
    """Z[:, :nb] <- L⁻¹ Z[:, :nb] in place (Z of shape (k, >= nb), L (k, k) lower)."""
    k = L.shape[0]
    i0 = 0
    while i0 + 4 <= k:
        for u in range(0, i0, 4):
            _update4(Z, i0, u, L, nb)
        for a in range(4):
            _update1(Z, i0 + a, i0, i0 + a, L, nb)
            _divide(Z, i0 + a, nb, L[i0 + a, i0 + a])
        i0 += 4
    for i in range(i0, k):
        _update1(Z, i, 0, i, L, nb)
        _divide(Z, i, nb, L[i, i])


@jit
def _sum_squares(Z, k, nb, r0, q_out):
    for c in range(nb):
        q_out[r0 + c] = 0.0
    # i outer, c inner: a fixed summation order per row, vectorised across rows.
    for i in range(k):
        zi = Z[i]
        for c in range(nb):
            q_out[r0 + c] += zi[c] * zi[c]


@jit
def _part(X, Y, coef, intercept, cols, mean, scale, L, start, stop, Z, q_out, resid_out):
    k = cols.shape[0]
    nb_max = Z.shape[1]
    r0 = start
    while r0 < stop:
        nb = min(nb_max, stop - r0)
        if Y.shape[1] > 0:
            _residuals(X, Y, coef, intercept, r0, nb, resid_out)
        if k > 0:
            _gather(X, r0, nb, cols, mean, scale, Z)
            forward_block(L, Z, nb)
            _sum_squares(Z, k, nb, r0, q_out)
        else:
            for c in range(nb):
                q_out[r0 + c] = 0.0
        r0 += nb


@pjit
def leverage_pass(X, Y, coef, intercept, cols, mean, scale, L, bounds, Z_parts, q_out, resid_out):
    """Quadratic forms q_i = |L⁻¹ D (x_i[cols] - m)|² and residuals, parallel over parts.

    Parameters
    ----------
    X : ndarray of shape (n, d), any real dtype
    Y : ndarray of shape (n, t), float64; t = 0 skips the residuals
    coef : ndarray of shape (t, d), float64
    intercept : ndarray of shape (t,), float64
    cols : ndarray of shape (k,), int64
    mean, scale : ndarray of shape (k,), float64
    L : ndarray of shape (k, k), float64, C-contiguous, lower triangular
    bounds : ndarray of shape (p + 1,), int64
    Z_parts : ndarray of shape (p, k, ROW_BLOCK), float64 (scratch)
    q_out : ndarray of shape (n,), float64 (output)
    resid_out : ndarray of shape (n, t), float64 (output)
    """
    for p in prange(bounds.shape[0] - 1):
        _part(
            X,
            Y,
            coef,
            intercept,
            cols,
            mean,
            scale,
            L,
            bounds[p],
            bounds[p + 1],
            Z_parts[p],
            q_out,
            resid_out,
        )


@jit
def leverage_pass_serial(
    X, Y, coef, intercept, cols, mean, scale, L, bounds, Z_parts, q_out, resid_out
):
    """The same as :func:`leverage_pass`, one part after another on the calling thread."""
    for p in range(bounds.shape[0] - 1):
        _part(
            X,
            Y,
            coef,
            intercept,
            cols,
            mean,
            scale,
            L,
            bounds[p],
            bounds[p + 1],
            Z_parts[p],
            q_out,
            resid_out,
        )
