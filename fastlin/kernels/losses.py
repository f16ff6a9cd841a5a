"""Fused logits, cross-entropy loss and gradient for binary and multinomial logistic models.

One pass per block of ``BLOCK`` rows: the rows are copied (scaled, as float64) into a
per-part scratch panel, the logits of the block are computed from the panel, the loss and
the residuals ``w_i * (p_i - y_i)`` are formed row by row, and the residuals are folded
straight back into the gradient while the panel is still in cache. X is read from memory
once per evaluation, whatever its dtype; uint8 pixels are scaled on the fly and never need a
float copy of the whole matrix.

Layout. Coefficients are ``W`` of shape (n_classes, d), C order, like the gradient G: every
inner loop then runs from 0 along a contiguous slice of a row, which LLVM vectorises. The
logits are dot products over d in a 4-row x 4-class register tile of 16 reductions (8 loads
per 16 fused multiply-adds). The gradient adds eight panel rows, weighted by their
residuals (scalars in registers), into one row of G per loop: G is loaded and stored once
per eight rows. One G row per loop because with several stored rows LLVM needs more
runtime alias checks than it allows and leaves the loop scalar. Both walk the columns in
chunks of about ``JCHUNK`` so that the rows of the tile and the slice of W or G they touch
stay in L1. With (d, n_classes) layout the inner loop would run over the ten classes,
too short to vectorise well.

Numerics. Binary: ``log(1 + e^z) = max(z, 0) + log1p(e^-|z|)`` and a sigmoid that only ever
exponentiates a non-positive number. Multinomial: log-sum-exp with the row maximum
subtracted. Both are finite and correct for logits of any finite size (tested at +-1e4).

Parallelism: ``prange`` over contiguous row ranges (``bounds``), each part with its own
scratch, gradient, intercept-gradient and loss accumulators; the caller merges the parts in
a fixed order, so the result is deterministic for a fixed thread count.
"""

import math

import numpy as np
from numba import prange

from .._numba import FASTMATH, jit, pjit

# Row-wise numerics compile without ``reassoc``: with it LLVM rewrites (z - m) - log(s) as
# z - (m + log(s)), hoisting the sum out of the loop and bringing back the cancellation
# that subtracting the maximum first avoids (log-softmax of [-1000, -1000] off by 1e-13).
jit_exact = jit(fastmath=set(FASTMATH - {"reassoc"}))

BLOCK = 64
"""Rows per packed block: 64 rows of 784 float64 pixels (400 kB) stay in L2."""

JCHUNK = 256
"""Target columns per inner chunk (784 columns: chunks of 264, 264, 256)."""


# ---------------------------------------------------------------------------------------
# scalar helpers


@jit_exact
def log1pexp(z):
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


LOG_TINY = -708.3964185322641
"""log of the smallest normal float64; sigmoid is flushed to 0 below it."""


@jit_exact
def sigmoid(z):
    """Logistic function; exponentiates only non-positive numbers, so never overflows.

    Results that would be subnormal (z below ``LOG_TINY``, about -708.4) are flushed to
    exactly 0: sigmoid(-710) is 0 and sigmoid(710) is 1, and no subnormal arithmetic
    reaches the gradient sums.
    """
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    if z < LOG_TINY:
        return 0.0
    e = math.exp(z)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------
# packing and register-tiled products


@jit
def _pack_range(X, r0, r1, scale, A):
    """A[t, :] = X[r0 + t, :] * scale for the block; rows up to the next multiple of 8 zeroed."""
    d = X.shape[1]
    nb = r1 - r0
    for t in range(nb):
        row = X[r0 + t]
        out = A[t]
        for j in range(d):
            out[j] = row[j] * scale
    for t in range(nb, min(A.shape[0], (nb + 7) & ~7)):
        out = A[t]
        for j in range(d):
            out[j] = 0.0


@jit
def _pack_index(X, idx, i0, i1, scale, A):
    """A[t, :] = X[idx[i0 + t], :] * scale (a gathered mini-batch block), padded as above."""
    d = X.shape[1]
    nb = i1 - i0
    for t in range(nb):
        row = X[idx[i0 + t]]
        out = A[t]
        for j in range(d):
            out[j] = row[j] * scale
    for t in range(nb, min(A.shape[0], (nb + 7) & ~7)):
        out = A[t]
        for j in range(d):
            out[j] = 0.0


@jit
def _chunk_width(d):
    """Column chunk width: about ``JCHUNK`` columns, equal chunks, a multiple of 8."""
    n_chunks = max(1, -(-d // JCHUNK))
    return ((-(-d // n_chunks)) + 7) & ~7


@jit
def _logits_block(A, nb, W, b, Z):
    """Z[i, k] = b[k] + sum_j A[i, j] * W[k, j] for i < nb, rows up to a multiple of 4.

    Columns are taken in chunks so that four panel rows and the matching slice of W
    (10 classes: 20 kB) stay in L1 while every class tile walks them.
    """
    K = W.shape[0]
    d = W.shape[1]
    n4 = (nb + 3) & ~3
    for i in range(n4):
        for k in range(K):
            Z[i, k] = b[k]
    cw = _chunk_width(d)
    for j0 in range(0, d, cw):
        j1 = min(j0 + cw, d)
        for i0 in range(0, n4, 4):
            a0 = A[i0, j0:j1]
            a1 = A[i0 + 1, j0:j1]
            a2 = A[i0 + 2, j0:j1]
            a3 = A[i0 + 3, j0:j1]
            k0 = 0
            while k0 + 4 <= K:
                s = _dot4x4(a0, a1, a2, a3, W[k0, j0:j1], W[k0 + 1, j0:j1],
                            W[k0 + 2, j0:j1], W[k0 + 3, j0:j1])
                for t in range(4):
                    for u in range(4):
                        Z[i0 + t, k0 + u] += s[4 * t + u]
                k0 += 4
            if k0 + 2 <= K:
                s = _dot4x2(a0, a1, a2, a3, W[k0, j0:j1], W[k0 + 1, j0:j1])
                for t in range(4):
                    Z[i0 + t, k0] += s[2 * t]
                    Z[i0 + t, k0 + 1] += s[2 * t + 1]
                k0 += 2
            while k0 < K:
                s0, s1, s2, s3 = _dot4x1(a0, a1, a2, a3, W[k0, j0:j1])
                Z[i0, k0] += s0
                Z[i0 + 1, k0] += s1
                Z[i0 + 2, k0] += s2
                Z[i0 + 3, k0] += s3
                k0 += 1


@jit
def _dot4x4(a0, a1, a2, a3, w0, w1, w2, w3):
    """The 16 dot products of four rows with four coefficient rows (all of one length).

    Loops run from 0 over whole 1-D views: with a variable start Numba's negative-index
    wraparound check stays in the loop and blocks vectorisation.
    """
    s00 = 0.0; s01 = 0.0; s02 = 0.0; s03 = 0.0
    s10 = 0.0; s11 = 0.0; s12 = 0.0; s13 = 0.0
    s20 = 0.0; s21 = 0.0; s22 = 0.0; s23 = 0.0
    s30 = 0.0; s31 = 0.0; s32 = 0.0; s33 = 0.0
    for j in range(a0.shape[0]):
        x0 = a0[j]; x1 = a1[j]; x2 = a2[j]; x3 = a3[j]
        v0 = w0[j]; v1 = w1[j]; v2 = w2[j]; v3 = w3[j]
        s00 += x0 * v0; s01 += x0 * v1; s02 += x0 * v2; s03 += x0 * v3
        s10 += x1 * v0; s11 += x1 * v1; s12 += x1 * v2; s13 += x1 * v3
        s20 += x2 * v0; s21 += x2 * v1; s22 += x2 * v2; s23 += x2 * v3
        s30 += x3 * v0; s31 += x3 * v1; s32 += x3 * v2; s33 += x3 * v3
    return (s00, s01, s02, s03, s10, s11, s12, s13,
            s20, s21, s22, s23, s30, s31, s32, s33)


@jit
def _dot4x2(a0, a1, a2, a3, w0, w1):
    """The 8 dot products of four rows with two coefficient rows."""
    s00 = 0.0; s01 = 0.0; s10 = 0.0; s11 = 0.0
    s20 = 0.0; s21 = 0.0; s30 = 0.0; s31 = 0.0
    for j in range(a0.shape[0]):
        x0 = a0[j]; x1 = a1[j]; x2 = a2[j]; x3 = a3[j]
        v0 = w0[j]; v1 = w1[j]
        s00 += x0 * v0; s01 += x0 * v1
        s10 += x1 * v0; s11 += x1 * v1
        s20 += x2 * v0; s21 += x2 * v1
        s30 += x3 * v0; s31 += x3 * v1
    return s00, s01, s10, s11, s20, s21, s30, s31


@jit
def _dot4x1(a0, a1, a2, a3, w0):
    """Dot products of four rows with one coefficient row."""
    s0 = 0.0; s1 = 0.0; s2 = 0.0; s3 = 0.0
    for j in range(a0.shape[0]):
        v = w0[j]
        s0 += a0[j] * v
        s1 += a1[j] * v
        s2 += a2[j] * v
        s3 += a3[j] * v
    return s0, s1, s2, s3


@jit
def _grad_block(A, nb, R, G):
    """G[k, j] += sum_i R[i, k] * A[i, j] over i < nb; rows past nb must have R = 0 and A = 0.

    Column chunks keep the slice of G being updated (10 classes: 20 kB) and eight panel
    rows in L1 while every class walks them.
    """
    d = G.shape[1]
    n8 = (nb + 7) & ~7
    cw = _chunk_width(d)
    for j0 in range(0, d, cw):
        j1 = min(j0 + cw, d)
        for i0 in range(0, n8, 8):
            a0 = A[i0, j0:j1]; a1 = A[i0 + 1, j0:j1]
            a2 = A[i0 + 2, j0:j1]; a3 = A[i0 + 3, j0:j1]
            a4 = A[i0 + 4, j0:j1]; a5 = A[i0 + 5, j0:j1]
            a6 = A[i0 + 6, j0:j1]; a7 = A[i0 + 7, j0:j1]
            for k in range(G.shape[0]):
                _axpy8(a0, a1, a2, a3, a4, a5, a6, a7,
                       R[i0, k], R[i0 + 1, k], R[i0 + 2, k], R[i0 + 3, k],
                       R[i0 + 4, k], R[i0 + 5, k], R[i0 + 6, k], R[i0 + 7, k],
                       G[k, j0:j1])


@jit
def _axpy8(a0, a1, a2, a3, a4, a5, a6, a7, r0, r1, r2, r3, r4, r5, r6, r7, g):
    """g += sum_t r_t a_t over eight rows (1-D views of one length).

    One output row per loop on purpose: with several rows stored in the same loop LLVM
    needs more runtime alias checks than it allows and gives up vectorising.
    """
    for j in range(g.shape[0]):
        g[j] += ((r0 * a0[j] + r1 * a1[j]) + (r2 * a2[j] + r3 * a3[j])) + (
            (r4 * a4[j] + r5 * a5[j]) + (r6 * a6[j] + r7 * a7[j]))


# ---------------------------------------------------------------------------------------
# per-row losses on a block of logits (residuals overwrite the logits)


@jit_exact
def _binary_rows(Z, nb, y, w, weighted, rows, i0, gb):
    """Binary cross-entropy of a block; Z[:, 0] becomes w_i (sigmoid(z_i) - y_i).

    ``rows`` maps block row t to its data row (``rows[i0 + t]``) or is empty for the
    contiguous case where the data row is ``i0 + t``. Returns (weighted loss sum, weight sum).
    """
    loss = 0.0
    sw = 0.0
    gsum = 0.0
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        wi = w[r] if weighted else 1.0
        z = Z[t, 0]
        yi = 1.0 if y[r] == 1 else 0.0
        # log(1 + e^z) - y z, with the exact form on each side to keep it non-negative
        loss += wi * (log1pexp(z) - yi * z)
        res = wi * (sigmoid(z) - yi)
        Z[t, 0] = res
        gsum += res
        sw += wi
    for t in range(nb, min(Z.shape[0], (nb + 7) & ~7)):
        Z[t, 0] = 0.0
    gb[0] += gsum
    return loss, sw


@jit_exact
def _softmax_rows(Z, nb, y, w, weighted, rows, i0, gb):
    """Multinomial cross-entropy of a block; Z[t, :] becomes w_i (softmax(z_t) - onehot(y_i)).

    Returns (weighted loss sum, weight sum); ``gb`` (K,) accumulates the residual sums.
    """
    K = Z.shape[1]
    loss = 0.0
    sw = 0.0
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        wi = w[r] if weighted else 1.0
        zt = Z[t]
        m = zt[0]
        for k in range(1, K):
            if zt[k] > m:
                m = zt[k]
        c = y[r]
        zc = zt[c] - m
        s = 0.0
        for k in range(K):
            e = math.exp(zt[k] - m)
            zt[k] = e
            s += e
        # log(s) - (z_c - m): the row maximum never enters as a large term that cancels
        loss += wi * (math.log(s) - zc)
        ws = wi / s
        for k in range(K):
            res = ws * zt[k]
            if k == c:
                res -= wi
            zt[k] = res
            gb[k] += res
        sw += wi
    for t in range(nb, min(Z.shape[0], (nb + 7) & ~7)):
        for k in range(K):
            Z[t, k] = 0.0
    return loss, sw


# ---------------------------------------------------------------------------------------
# full-batch kernels


@pjit
def loss_grad(X, y, w, rows, W, b, scale, bounds, multinomial, want_grad,
              A_parts, Z_parts, G_parts, gb_parts, loss_parts):
    """Fold rows of X into per-part loss and gradient sums of a logistic model.

    Parameters
    ----------
    X : (n, d) uint8, integer, float32 or float64
    y : (n,) int64 class indices in [0, K) (binary: 1 is the positive class, K = 1)
    w : (n,) float64 sample weights, or an empty array for unit weights
    rows : (m,) int64 row indices into X (a shuffled mini-batch), or an empty array to
        take the rows of X in order; ``bounds`` then index ``rows``
    W : (K, d) float64 C-contiguous coefficients; K = 1 for binary
    b : (K,) float64 intercepts
    scale : float
        Every X value is multiplied by ``scale`` as it is read (1 / 255 for pixels).
    bounds : (P + 1,) int64 boundaries of the P parts (positions in ``rows``, or rows of X)
    multinomial : bool
        Softmax cross-entropy when True, binary cross-entropy on W[0] when False.
    want_grad : bool
        When False only the loss is accumulated (line searches).
    A_parts : (P, BLOCK, d) float64 scratch
    Z_parts : (P, BLOCK, K) float64 scratch
    G_parts : (P, K, d) float64, accumulated into: sum_i w_i (p_i - y_i) x_i * scale
    gb_parts : (P, K) float64, accumulated into: sum_i w_i (p_i - y_i)
    loss_parts : (P, 2) float64, accumulated into: [sum_i w_i loss_i, sum_i w_i]
    """
    weighted = w.shape[0] > 0
    gathered = rows.shape[0] > 0
    for p in prange(bounds.shape[0] - 1):
        A = A_parts[p]
        Z = Z_parts[p]
        ls = 0.0
        ws = 0.0
        for r0 in range(bounds[p], bounds[p + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[p + 1])
            nb = r1 - r0
            if gathered:
                _pack_index(X, rows, r0, r1, scale, A)
            else:
                _pack_range(X, r0, r1, scale, A)
            _logits_block(A, nb, W, b, Z)
            if multinomial:
                l, s = _softmax_rows(Z, nb, y, w, weighted, rows, r0, gb_parts[p])
            else:
                l, s = _binary_rows(Z, nb, y, w, weighted, rows, r0, gb_parts[p])
            ls += l
            ws += s
            if want_grad:
                _grad_block(A, nb, Z, G_parts[p])
        loss_parts[p, 0] += ls
        loss_parts[p, 1] += ws


@pjit
def binary_hessp(X, w, W, b, V, vb, scale, bounds, A_parts, Z_parts, U_parts, H_parts, hb_parts):
    """Hessian-vector product of the summed binary cross-entropy, per part.

    With D = diag(w_i p_i (1 - p_i)) and u = X v + vb, accumulates ``H_parts[p] += Xᵀ D u``
    (times ``scale``) and ``hb_parts[p] += sum_i D_ii u_i``.

    Parameters
    ----------
    X : (n, d) uint8, integer, float32 or float64
    w : (n,) float64 or empty
    W, V : (1, d) float64 coefficients and direction; b, vb : (1,) float64
    A_parts : (P, BLOCK, d), Z_parts and U_parts : (P, BLOCK, 1) float64 scratch
    H_parts : (P, 1, d), hb_parts : (P, 1) float64, accumulated into
    """
    weighted = w.shape[0] > 0
    for p in prange(bounds.shape[0] - 1):
        A = A_parts[p]
        Z = Z_parts[p]
        U = U_parts[p]
        hb = 0.0
        for r0 in range(bounds[p], bounds[p + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[p + 1])
            nb = r1 - r0
            _pack_range(X, r0, r1, scale, A)
            _logits_block(A, nb, W, b, Z)
            _logits_block(A, nb, V, vb, U)
            for t in range(nb):
                wi = w[r0 + t] if weighted else 1.0
                pr = sigmoid(Z[t, 0])
                # p (1 - p) as sigmoid(z) sigmoid(-z) keeps full relative accuracy in the tails
                q = sigmoid(-Z[t, 0])
                U[t, 0] = wi * pr * q * U[t, 0]
                hb += U[t, 0]
            for t in range(nb, min(U.shape[0], (nb + 7) & ~7)):
                U[t, 0] = 0.0
            _grad_block(A, nb, U, H_parts[p])
        hb_parts[p, 0] += hb


@pjit
def logits(X, W, b, scale, bounds, A_parts, Z_out):
    """Z_out[i, k] = scale * (X[i] · W[k]) + b[k]; each part writes only its own rows.

    X : (n, d), W : (K, d) float64, b : (K,), A_parts : (P, BLOCK, d) float64 scratch,
    Z_out : (n, K) float64.
    """
    for p in prange(bounds.shape[0] - 1):
        A = A_parts[p]
        for r0 in range(bounds[p], bounds[p + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[p + 1])
            nb = r1 - r0
            _pack_range(X, r0, r1, scale, A)
            if nb % 4 == 0:
                _logits_block(A, nb, W, b, Z_out[r0:r1])
            else:
                # the tile writes whole groups of four rows; finish the tail in scratch
                Zt = np.empty(((nb + 7) & ~7, W.shape[0]))
                _logits_block(A, nb, W, b, Zt)
                Z_out[r0:r1] = Zt[:nb]


@jit_exact
def log_softmax_rows(Z, out):
    """out[i] = Z[i] - logsumexp(Z[i]), as (Z[i] - max) - log(sum exp(Z[i] - max)) (Z, out: (n, K))."""
    n, K = Z.shape
    for i in range(n):
        m = Z[i, 0]
        for k in range(1, K):
            if Z[i, k] > m:
                m = Z[i, k]
        s = 0.0
        for k in range(K):
            s += math.exp(Z[i, k] - m)
        ls = math.log(s)
        for k in range(K):
            out[i, k] = (Z[i, k] - m) - ls


@jit_exact
def softmax_rows(Z, out):
    """out[i] = softmax(Z[i]), normalised by its own sum so rows add to 1 to rounding."""
    n, K = Z.shape
    for i in range(n):
        m = Z[i, 0]
        for k in range(1, K):
            if Z[i, k] > m:
                m = Z[i, k]
        s = 0.0
        for k in range(K):
            e = math.exp(Z[i, k] - m)
            out[i, k] = e
            s += e
        inv = 1.0 / s
        for k in range(K):
            out[i, k] *= inv


@jit_exact
def log_sigmoid_pair(z, out):
    """out[i] = [log(1 - sigmoid(z_i)), log(sigmoid(z_i))] = [-log1pexp(z), -log1pexp(-z)]."""
    for i in range(z.shape[0]):
        out[i, 0] = -log1pexp(z[i])
        out[i, 1] = -log1pexp(-z[i])


@jit_exact
def sigmoid_pair(z, out):
    """out[i] = [1 - sigmoid(z_i), sigmoid(z_i)], each side computed without cancellation."""
    for i in range(z.shape[0]):
        out[i, 0] = sigmoid(-z[i])
        out[i, 1] = sigmoid(z[i])
