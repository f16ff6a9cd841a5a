"""Fused logits, cross-entropy loss and gradient for binary and multinomial logistic models.

One pass per block of ``BLOCK`` rows: the logits of the block are computed, the loss and
the residuals ``w_i * (p_i - y_i)`` are formed row by row, and the residuals are folded
straight back into the gradient while the block is still in cache. X is read from memory
once per evaluation, whatever its dtype. The products are the register tiles of
``fastlin.kernels.tiles``: C-ordered uint8, float32 and float64 rows whose width is a whole
number of vectors are read where they are (uint8 pixels converted as they are loaded, so
they never need a float copy); other inputs are copied block by block into a per-part
float64 panel first.

The tiles work on copies of W and G padded to whole tiles. ``scale`` is folded into that
copy of W (``(s x) · w = x · (s w)``) and applied once to each part's gradient, so rows
are read unscaled. Logits sit class by class (``Z[k, t]`` for block row t), so the
row-wise numerics run along contiguous rows and vectorise: ``exp_nonpositive`` and
``log_normal`` stand in for ``math.exp`` and ``math.log``, library calls LLVM cannot
vectorise.

Numerics. Binary: ``log(1 + e^z) = max(z, 0) + log1p(e^-|z|)`` and a sigmoid that only ever
exponentiates a non-positive number. Multinomial: log-sum-exp with the row maximum
subtracted. Both are finite and correct for logits of any finite size (tested at +-1e4).

Parallelism: contiguous row ranges (``bounds``), each part with its own scratch,
gradient, intercept-gradient and loss accumulators; the caller merges the parts in a fixed
order, so the result is deterministic for a fixed thread count. Full passes
(``loss_grad_parts``, ``hessp``, ``logits``) run serial part kernels on Python threads
(``_threads.run_parts``), which compile in about half the time of a ``prange`` kernel;
mini-batches take ``loss_grad``, a ``prange`` over the same part kernel, whose thread start
is cheaper per call.
"""

import math

import numpy as np
from numba import prange, types
from numba.extending import intrinsic, overload

from .._numba import FASTMATH, jit, pjit
from .._threads import run_parts
from . import tiles

# Row-wise numerics compile without ``reassoc``: with it LLVM rewrites (z - m) - log(s) as
# z - (m + log(s)), hoisting the sum out of the loop and bringing back the cancellation
# that subtracting the maximum first avoids (log-softmax of [-1000, -1000] off by 1e-13).
jit_exact = jit(fastmath=set(FASTMATH - {"reassoc"}))

BLOCK = 64
"""Rows per block: 64 rows of 784 float64 pixels (400 kB) stay in L2."""

ROW_VECTORS = 4
"""Per-row working vectors kept under the logits in Z scratch (row maxima, sums, weights,
true-class logits)."""


def scratch_shapes(n_parts, n_out, n_features):
    """Shapes of the float64 scratch ``(A_parts, Z_parts)`` the kernels take for P parts.

    A_parts is (P, BLOCK, dp): the feature count rounded up to whole vectors. Z_parts is
    (P, Kp + ROW_VECTORS, BLOCK): logits stored class by class, the number of outputs (K)
    rounded up to whole class tiles, then per-row working vectors. Contents need not be
    initialised.
    """
    return (
        (n_parts, BLOCK, int(tiles.padded_width(n_features))),
        (n_parts, int(tiles.padded_classes(n_out)) + ROW_VECTORS, BLOCK),
    )


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

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    if not isinstance(bits, types.Integer) or bits.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(bits), codegen


@jit_exact
def exp_nonpositive(x):
    """``exp(x)`` for x <= 0 to within 1 ulp, in straight-line code that vectorises.

    ``math.exp`` is a library call LLVM cannot vectorise. Here x = k ln2 + r with
    |r| <= ln2 / 2 (ln 2 split in two so that k ln2 is exact), e^r is its Taylor series to
    degree 13 (truncation below 1e-17 relative) and 2^k is built from its exponent bits.
    Results below the smallest normal number (x < ``LOG_TINY``) are flushed to 0.
    """
    if x < LOG_TINY:
        return 0.0
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _float_from_bits((np.int64(k) + 1023) << 52)


@intrinsic
def _bits_of_float(typingctx, x):
    """The IEEE-754 bit pattern of the float64 ``x``, as int64."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(x), codegen


_SQRT2 = 1.4142135623730951
_LN2 = 0.6931471805599453
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@jit_exact
def log_normal(x):
    """``log(x)`` for positive normal x to within 2 ulp, in straight-line code that vectorises.

    x = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(f) with f = (m - 1) / (m + 1),
    |f| < 0.172, summed as an odd series to f^23 (truncation below 1e-18 relative).
    """
    bits = _bits_of_float(x)
    e = (bits >> 52) - 1023
    m = _float_from_bits((bits & _MANTISSA) | _ONE_BITS)
    if m > _SQRT2:
        m = 0.5 * m
        e += 1
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    q = 1.0 / 23.0
    q = q * f2 + 1.0 / 21.0
    q = q * f2 + 1.0 / 19.0
    q = q * f2 + 1.0 / 17.0
    q = q * f2 + 1.0 / 15.0
    q = q * f2 + 1.0 / 13.0
    q = q * f2 + 1.0 / 11.0
    q = q * f2 + 1.0 / 9.0
    q = q * f2 + 1.0 / 7.0
    q = q * f2 + 1.0 / 5.0
    q = q * f2 + 1.0 / 3.0
    # 2 f + 2 f^3 q: the leading term is kept apart so the rounding of the series is small
    return e * _LN2 + (2.0 * f + 2.0 * f * (f2 * q))


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
# per-row losses on a block of logits (residuals overwrite the logits)


@jit_exact
def _sum4(v, n):
    """sum(v[:n]) in four interleaved lanes, then (l0 + l1) + (l2 + l3): a fixed order that
    does not wait on one chain of n dependent additions."""
    l0 = 0.0
    l1 = 0.0
    l2 = 0.0
    l3 = 0.0
    n4 = n & ~3
    for t in range(0, n4, 4):
        l0 += v[t]
        l1 += v[t + 1]
        l2 += v[t + 2]
        l3 += v[t + 3]
    for t in range(n4, n):
        l0 += v[t]
    return (l0 + l1) + (l2 + l3)


@jit_exact
def _row_weights(nb, w, weighted, rows, i0, out):
    """out[t] = weight of block row t (``rows`` maps it to a data row, or is empty)."""
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        out[t] = w[r] if weighted else 1.0


@jit_exact
def _binary_rows(Z, nb, y, w, weighted, rows, i0, gb):
    """Binary cross-entropy of a block; Z[0, t] becomes w_t (sigmoid(z_t) - y_t).

    Z is (1 + ROW_VECTORS, BLOCK), logits in row 0. ``rows`` maps block row t to its data
    row (``rows[i0 + t]``) or is empty for the contiguous case where the data row is
    ``i0 + t``. Returns (weighted loss sum, weight sum).
    """
    z = Z[0]
    wt = Z[1]
    lt = Z[2]
    _row_weights(nb, w, weighted, rows, i0, wt)
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        yi = 1.0 if y[r] == 1 else 0.0
        zt = z[t]
        # log(1 + e^z) - y z, with the exact form on each side to keep it non-negative
        lt[t] = wt[t] * (log1pexp(zt) - yi * zt)
        z[t] = wt[t] * (sigmoid(zt) - yi)
    for t in range(nb, min(Z.shape[1], (nb + 7) & ~7)):
        z[t] = 0.0
    gb[0] += _sum4(z, nb)
    return _sum4(lt, nb), _sum4(wt, nb)


@jit_exact
def _exp_shifted(Z, nb, K):
    """Z[:K, t] becomes exp(z_t - max z_t); returns (m, s): Z's rows holding each row's
    maximum and the sum of its exponentials (classes taken in order)."""
    Kp = Z.shape[0] - ROW_VECTORS
    m = Z[Kp]
    s = Z[Kp + 1]
    for t in range(nb):
        m[t] = Z[0, t]
    for k in range(1, K):
        zk = Z[k]
        for t in range(nb):
            m[t] = max(m[t], zk[t])
    for k in range(K):
        zk = Z[k]
        for t in range(nb):
            zk[t] = exp_nonpositive(zk[t] - m[t])
    for t in range(nb):
        s[t] = Z[0, t]
    for k in range(1, K):
        zk = Z[k]
        for t in range(nb):
            s[t] += zk[t]
    return m, s


@jit_exact
def _softmax_rows(Z, nb, K, y, w, weighted, rows, i0, gb):
    """Multinomial cross-entropy of a block; Z[:K, t] becomes w_t (softmax(z_t) - onehot(y_t)).

    Z is (Kp + ROW_VECTORS, BLOCK) with the logits of row t in column t. Every step runs
    along the rows of the block, so it vectorises; per row the classes are taken in order.
    Returns (weighted loss sum, weight sum); ``gb`` (K,) accumulates the residual sums.
    Rows K..Kp of Z (padding) are left as they are (zero logits, zero residuals).
    """
    Kp = Z.shape[0] - ROW_VECTORS
    wt = Z[Kp + 2]
    zc = Z[Kp + 3]
    _row_weights(nb, w, weighted, rows, i0, wt)
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        zc[t] = Z[y[r], t]
    m, s = _exp_shifted(Z, nb, K)
    # log(s) - (z_c - m): the row maximum never enters as a large term that cancels
    for t in range(nb):
        zc[t] = wt[t] * (log_normal(s[t]) - (zc[t] - m[t]))
    loss = _sum4(zc, nb)
    for t in range(nb):
        s[t] = wt[t] / s[t]
    for k in range(K):
        zk = Z[k]
        for t in range(nb):
            zk[t] *= s[t]
    for t in range(nb):
        r = rows[i0 + t] if rows.shape[0] > 0 else i0 + t
        Z[y[r], t] -= wt[t]
    for k in range(K):
        gb[k] += _sum4(Z[k], nb)
    for k in range(Kp):
        for t in range(nb, min(Z.shape[1], (nb + 7) & ~7)):
            Z[k, t] = 0.0
    return loss, _sum4(wt, nb)


# ---------------------------------------------------------------------------------------
# full-batch kernels


@jit
def _padded_coefficients(W, scale, Kp, dp):
    """(Kp, dp) copy of ``scale * W``, zero outside W."""
    K, d = W.shape
    Wp = np.zeros((Kp, dp))
    for k in range(K):
        for j in range(d):
            Wp[k, j] = scale * W[k, j]
    return Wp


def _in_place_view(X):
    """X itself where the tiles may read it in place (C order; uint8, float32 or float64),
    else an empty float64 matrix. A type-level choice: the tiles are compiled for these
    dtypes only, and every other input goes through the packed float64 panel."""
    raise NotImplementedError("only callable from compiled code")


@overload(_in_place_view)
def _in_place_view_impl(X):
    if X.layout == "C" and X.dtype in (types.uint8, types.float32, types.float64):
        return lambda X: X
    return lambda X: np.empty((0, 0))


@jit
def _block_logits(X, r0, r1, rows, gathered, Wp, b, A, Z, nk):
    """Set Z to the logits of rows r0..r1 (of X, or of ``rows`` when gathered).

    Returns True when the tiles read the rows in X itself; otherwise the rows are packed
    into A first. Either way the gradient is to be taken from the same place.
    """
    nb = r1 - r0
    K = b.shape[0]
    n8 = min(Z.shape[1], (nb + 7) & ~7)
    for k in range(Z.shape[0] - ROW_VECTORS):
        bk = b[k] if k < K else 0.0
        for t in range(n8):
            Z[k, t] = bk
    Xv = _in_place_view(X)
    if not gathered and Xv.shape[0] > 0 and tiles.reads_in_place(Xv, nb, nk):
        tiles.logits_block(Xv, r0, nb, Wp, Z, nk)
        return True
    if gathered:
        tiles.pack_gathered(X, rows, r0, r1, A)
    else:
        tiles.pack_rows(X, r0, r1, A)
    tiles.logits_block(A, 0, nb, Wp, Z, nk)
    return False


@jit
def _block_grad(X, r0, nb, in_place, A, R, G, nk):
    """G += the residuals R of a block times its rows, read from where the logits were."""
    if in_place:
        tiles.grad_block(_in_place_view(X), r0, nb, R, G, nk)
    else:
        tiles.grad_block(A, 0, nb, R, G, nk)


@jit
def _start_part(A, d, Kp):
    """Zero the padding columns of a part's panel; a zeroed (Kp, dp) gradient accumulator.

    Serial helpers, called from the parallel loops: array expressions written there
    directly would each become a nested parallel loop to compile.
    """
    for t in range(A.shape[0]):
        for j in range(d, A.shape[1]):
            A[t, j] = 0.0
    return np.zeros((Kp, A.shape[1]))


@jit
def _add_scaled(G, Gp, scale):
    """G[k, j] += scale * Gp[k, j] over the shape of G (Gp is padded)."""
    for k in range(G.shape[0]):
        for j in range(G.shape[1]):
            G[k, j] += scale * Gp[k, j]


@jit
def _loss_grad_part(
    X, y, w, rows, Wp, b, scale, lo, hi, multinomial, want_grad, A, Z, G, gb, lossp
):
    """One part of ``loss_grad``: positions lo..hi, into its own G, gb and lossp."""
    K = b.shape[0]
    d = G.shape[1]
    weighted = w.shape[0] > 0
    gathered = rows.shape[0] > 0
    nk = tiles.class_tile(K)
    Kp = Z.shape[0] - ROW_VECTORS
    Gp = _start_part(A, d, Kp)
    ls = 0.0
    ws = 0.0
    for r0 in range(lo, hi, BLOCK):
        r1 = min(r0 + BLOCK, hi)
        nb = r1 - r0
        in_place = _block_logits(X, r0, r1, rows, gathered, Wp, b, A, Z, nk)
        if multinomial:
            l, s = _softmax_rows(Z, nb, K, y, w, weighted, rows, r0, gb)
        else:
            l, s = _binary_rows(Z, nb, y, w, weighted, rows, r0, gb)
        ls += l
        ws += s
        if want_grad:
            _block_grad(X, r0, nb, in_place, A, Z, Gp, nk)
    if want_grad:
        _add_scaled(G, Gp, scale)
    lossp[0] += ls
    lossp[1] += ws


@pjit
def loss_grad(
    X,
    y,
    w,
    rows,
    W,
    b,
    scale,
    bounds,
    multinomial,
    want_grad,
    A_parts,
    Z_parts,
    G_parts,
    gb_parts,
    loss_parts,
):
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
    A_parts, Z_parts : float64 scratch of the shapes ``scratch_shapes(P, K, d)`` gives
    G_parts : (P, K, d) float64, accumulated into: sum_i w_i (p_i - y_i) x_i * scale
    gb_parts : (P, K) float64, accumulated into: sum_i w_i (p_i - y_i)
    loss_parts : (P, 2) float64, accumulated into: [sum_i w_i loss_i, sum_i w_i]
    """
    Kp = Z_parts.shape[1] - ROW_VECTORS
    Wp = _padded_coefficients(W, scale, Kp, A_parts.shape[2])
    for p in prange(bounds.shape[0] - 1):
        _loss_grad_part(
            X,
            y,
            w,
            rows,
            Wp,
            b,
            scale,
            bounds[p],
            bounds[p + 1],
            multinomial,
            want_grad,
            A_parts[p],
            Z_parts[p],
            G_parts[p],
            gb_parts[p],
            loss_parts[p],
        )


def loss_grad_parts(
    X,
    y,
    w,
    rows,
    W,
    b,
    scale,
    bounds,
    multinomial,
    want_grad,
    A_parts,
    Z_parts,
    G_parts,
    gb_parts,
    loss_parts,
):
    """``loss_grad`` with its parts on Python threads (``_threads.run_parts``): the same
    arguments and the same bits per part.

    For full passes over many rows. Compiling the parallel kernel re-optimises every
    inlined tile per signature (about 20 s on a 2-core machine); the serial part kernel
    compiles in half that. Mini-batches (a few hundred rows, many calls) keep
    ``loss_grad``, whose thread start costs less than a Python thread pool's.
    """
    Kp = Z_parts.shape[1] - ROW_VECTORS
    Wp = _padded_coefficients(W, scale, Kp, A_parts.shape[2])

    def part(p):
        _loss_grad_part(
            X,
            y,
            w,
            rows,
            Wp,
            b,
            scale,
            bounds[p],
            bounds[p + 1],
            multinomial,
            want_grad,
            A_parts[p],
            Z_parts[p],
            G_parts[p],
            gb_parts[p],
            loss_parts[p],
        )

    run_parts(part, bounds.shape[0] - 1)


@jit_exact
def _hessian_rows(Z, U, nb, K, multinomial, w, weighted, rows, i0):
    """U[:K, t] becomes w_t H_t u_t, the row's logit Hessian times the direction's logits.

    Binary: H = p (1 - p). Multinomial: H = diag(p) - p pᵀ, so (H u)_k = p_k (u_k - pᵀu).
    Z (logits) and U (direction logits) are (Kp + ROW_VECTORS, BLOCK), rows t in columns;
    Z is overwritten with probabilities. ``rows`` as in ``_binary_rows``.
    """
    Kp = Z.shape[0] - ROW_VECTORS
    wt = Z[Kp + 2]
    _row_weights(nb, w, weighted, rows, i0, wt)
    if not multinomial:
        z = Z[0]
        u = U[0]
        for t in range(nb):
            # p (1 - p) as sigmoid(z) sigmoid(-z) keeps full relative accuracy in the tails
            u[t] = wt[t] * (sigmoid(z[t]) * sigmoid(-z[t])) * u[t]
        return
    pu = Z[Kp + 3]
    _, s = _exp_shifted(Z, nb, K)
    for t in range(nb):
        s[t] = 1.0 / s[t]
        pu[t] = 0.0
    for k in range(K):
        zk = Z[k]
        uk = U[k]
        for t in range(nb):
            zk[t] *= s[t]
            pu[t] += zk[t] * uk[t]
    for k in range(K):
        zk = Z[k]
        uk = U[k]
        for t in range(nb):
            uk[t] = wt[t] * zk[t] * (uk[t] - pu[t])


@jit
def _hessp_part(X, w, Wp, b, Vp, vb, scale, lo, hi, multinomial, A, Z, U, H, hb):
    """One part of ``hessp``: rows lo..hi, into its own H and hb."""
    K = b.shape[0]
    d = H.shape[1]
    weighted = w.shape[0] > 0
    nk = tiles.class_tile(K)
    Kp = Z.shape[0] - ROW_VECTORS
    Hp = _start_part(A, d, Kp)
    no_rows = np.empty(0, np.int64)
    for r0 in range(lo, hi, BLOCK):
        r1 = min(r0 + BLOCK, hi)
        nb = r1 - r0
        in_place = _block_logits(X, r0, r1, no_rows, False, Wp, b, A, Z, nk)
        for k in range(Kp):
            vk = vb[k] if k < K else 0.0
            for t in range(min(U.shape[1], (nb + 7) & ~7)):
                U[k, t] = vk
        if in_place:
            tiles.logits_block(_in_place_view(X), r0, nb, Vp, U, nk)
        else:
            tiles.logits_block(A, 0, nb, Vp, U, nk)
        _hessian_rows(Z, U, nb, K, multinomial, w, weighted, no_rows, r0)
        for k in range(K):
            hb[k] += _sum4(U[k], nb)
        _block_grad(X, r0, nb, in_place, A, U, Hp, nk)
    _add_scaled(H, Hp, scale)


def hessp(
    X, w, W, b, V, vb, scale, bounds, multinomial, A_parts, Z_parts, U_parts, H_parts, hb_parts
):
    """Hessian-vector product of the summed (weighted) cross-entropy, per part.

    With u_i = scale * V x_i + vb the direction's logits and H_i the Hessian of row i's
    loss in its logits, accumulates ``H_parts[p] += sum_i w_i (H_i u_i) ⊗ x_i * scale``
    and ``hb_parts[p] += sum_i w_i H_i u_i``: the product of the data term's Hessian in
    (W, b) with the direction (V, vb). One pass, the same blocks as ``loss_grad``.

    Parameters
    ----------
    X : (n, d) uint8, integer, float32 or float64
    w : (n,) float64 or empty
    W, V : (K, d) float64 coefficients and direction; b, vb : (K,) float64
    bounds : (P + 1,) int64 row ranges of the parts
    multinomial : bool
        Softmax cross-entropy when True, binary (K = 1) when False.
    A_parts, Z_parts : float64 scratch of the shapes ``scratch_shapes(P, K, d)`` gives;
        U_parts : float64 scratch shaped like Z_parts
    H_parts : (P, K, d), hb_parts : (P, K) float64, accumulated into
    """
    Kp = Z_parts.shape[1] - ROW_VECTORS
    dp = A_parts.shape[2]
    Wp = _padded_coefficients(W, scale, Kp, dp)
    Vp = _padded_coefficients(V, scale, Kp, dp)

    # Parts on Python threads, as in ``loss_grad_parts``.
    def part(p):
        _hessp_part(
            X,
            w,
            Wp,
            b,
            Vp,
            vb,
            scale,
            bounds[p],
            bounds[p + 1],
            multinomial,
            A_parts[p],
            Z_parts[p],
            U_parts[p],
            H_parts[p],
            hb_parts[p],
        )

    run_parts(part, bounds.shape[0] - 1)


@jit
def _logits_part(X, Wp, b, lo, hi, A, Z, Z_out):
    K = b.shape[0]
    nk = tiles.class_tile(K)
    _start_part(A, X.shape[1], 0)
    no_rows = np.empty(0, np.int64)
    for r0 in range(lo, hi, BLOCK):
        r1 = min(r0 + BLOCK, hi)
        _block_logits(X, r0, r1, no_rows, False, Wp, b, A, Z, nk)
        for t in range(r1 - r0):
            for k in range(K):
                Z_out[r0 + t, k] = Z[k, t]


def logits(X, W, b, scale, bounds, A_parts, Z_parts, Z_out):
    """Z_out[i, k] = scale * (X[i] · W[k]) + b[k]; each part writes only its own rows.

    X : (n, d), W : (K, d) float64, b : (K,), A_parts and Z_parts : float64 scratch of the
    shapes ``scratch_shapes(P, K, d)`` gives, Z_out : (n, K) float64. Parts on Python
    threads, as in ``loss_grad_parts``.
    """
    Wp = _padded_coefficients(W, scale, Z_parts.shape[1] - ROW_VECTORS, A_parts.shape[2])

    def part(p):
        _logits_part(X, Wp, b, bounds[p], bounds[p + 1], A_parts[p], Z_parts[p], Z_out)

    run_parts(part, bounds.shape[0] - 1)


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
