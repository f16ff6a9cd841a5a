"""Squared loss and its gradient in one read of each row, and the mini-batch epoch on it.

For coefficients W (t, d), intercepts b (t,) and a row x (d,) with targets y (t,) and
weight w, the residuals are ``r = s W x + b - y`` (``s`` the ``scale`` every value of X is
multiplied by as it is read, ``1 / 255`` for pixels) and the row adds ``0.5 w |r|^2`` to the
loss, ``w r`` to the intercept gradient and ``s w r xᵀ`` to the coefficient gradient. Each
row is read from memory once: its dot products are taken, and it is folded into the
gradient while it is still in L1 (four rows at a time, see ``_part_sums``); the rows a few
positions ahead are requested from memory meanwhile, which is what keeps a shuffled
mini-batch, read from anywhere in X, from waiting on every row. Rows are read where they
sit (uint8, float32 or float64, C order), every product and sum in float64, so X never
needs a float copy.

W is laid out as :func:`fastlin.kernels.sgd.apply_step` updates it (one row per target),
and the gradient parts have the shape that function merges, so the step reads what the
pass wrote and the coefficients the next pass reads, without a transpose.

:func:`loss_grad` is the parallel pass: ``prange`` over contiguous ranges of whole row
blocks (``bounds``), each with its own sums, merged by the caller in a fixed order.
:func:`sgd_epoch` runs the steps of one epoch: for each mini-batch (consecutive positions
of a shuffled index array) one pass and one :func:`fastlin.kernels.sgd.apply_step`. A step
on a small batch is a few microseconds of work, less than a Python call costs, so the
loop over batches is compiled. A batch given as one part runs on the calling thread:
for a few hundred rows, starting the threads would cost more than it saves.
:func:`shuffle` draws the epoch's order.
"""

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._numba import jit, pjit
from .ir_helpers import I32, element_ptr_2d
from .sgd import apply_step, learning_rate

BLOCK = 64
"""Rows per block: part boundaries of a pass fall on multiples of it."""

MIN_PART_ROWS = 256
"""Fewest rows worth a part of their own: callers give a pass over fewer than twice this
many rows a single part."""

PREFETCH_BYTES = 4096
"""How far ahead rows are requested from memory, in bytes of X (between 2 and 16 rows)."""

GROUP = 4
"""Rows that share each load of the coefficients and of the gradient."""

_CACHE_LINE = 64


@intrinsic
def _prefetch_row(typingctx, X, i):
    """Hint that row i of X (adjacent columns) is read soon: ``llvm.prefetch`` on each of
    its cache lines. A hint never faults, and compiles to nothing on targets without one.
    """
    if not (isinstance(X, types.Array) and X.ndim == 2 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        X_ty, i_ty = signature.args
        i8p = ir.IntType(8).as_pointer()
        row = context.cast(builder, args[1], i_ty, types.intp)
        zero = context.get_constant(types.intp, 0)
        start = builder.bitcast(element_ptr_2d(context, builder, X_ty, args[0], row, zero), i8p)
        arr = context.make_array(X_ty)(context, builder, args[0])
        n_cols = cgutils.unpack_tuple(builder, arr.shape, 2)[1]
        itemsize = context.get_abi_sizeof(context.get_data_type(X_ty.dtype))
        nbytes = builder.mul(n_cols, context.get_constant(types.intp, itemsize))
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8p, I32, I32, I32]),
            "llvm.prefetch.p0i8",
        )
        # read access, keep in all cache levels, data cache
        flags = [ir.Constant(I32, 0), ir.Constant(I32, 3), ir.Constant(I32, 1)]
        line = context.get_constant(types.intp, _CACHE_LINE)
        with cgutils.for_range_slice(builder, zero, nbytes, line) as (off, _):
            builder.call(fn, [builder.gep(start, [off])] + flags)
        return context.get_dummy_value()

    return types.void(X, i), codegen


@jit
def _prefetch_distance(X):
    """Rows ahead to request: about ``PREFETCH_BYTES`` of X, at least 2 and at most 16."""
    row_bytes = max(X.shape[1] * X.itemsize, 1)
    return max(2, min(16, PREFETCH_BYTES // row_bytes))


@jit
def _row(rows, gathered, w, weighted, q, hi):
    """(row of X, weight) at position q of a part ending at hi. Positions past the end
    stand for the part's last row with weight 0, so a group of ``GROUP`` rows is always
    whole and adds nothing for them."""
    p = min(q, hi - 1)
    i = rows[p] if gathered else p
    if q >= hi:
        return i, 0.0
    return i, (w[i] if weighted else 1.0)


@jit
def _part_sums(X, Y, w, rows, W, b, scale, lo, hi, want_grad, G, gb):
    """Sums over positions lo..hi (of ``rows``, or rows of X when ``rows`` is empty).

    Adds ``w r`` into gb (t,) and, when ``want_grad``, ``s w r xᵀ`` into G (t, d); returns
    (``0.5 * sum w |r|^2``, ``sum w``).

    Rows go in groups of four: each coefficient loaded serves four dot products, and each
    gradient entry is loaded and stored once for four rows, which halves the loads and
    stores per row (a row's own dot product and update are two dependent passes over it).
    """
    t, d = W.shape
    # the loss alone runs the update loop over no columns: a branch around it instead
    # costs the loops their vectorised form (a third of the speed)
    d_grad = d if want_grad else 0
    weighted = w.shape[0] > 0
    gathered = rows.shape[0] > 0
    ahead = _prefetch_distance(X)
    # rows past this part's (the next part's or batch's) are requested too: they are
    # valid rows, and the next batch then starts without waiting
    end = rows.shape[0] if gathered else X.shape[0]
    loss = 0.0
    wsum = 0.0
    for q in range(lo, hi, GROUP):
        # A shuffled batch reads rows from anywhere in X: without the request made rows
        # ahead, each row waits for memory before its arithmetic can start.
        for a in range(q + ahead, min(q + ahead + GROUP, end)):
            _prefetch_row(X, rows[a] if gathered else a)
        i0, w0 = _row(rows, gathered, w, weighted, q, hi)
        i1, w1 = _row(rows, gathered, w, weighted, q + 1, hi)
        i2, w2 = _row(rows, gathered, w, weighted, q + 2, hi)
        i3, w3 = _row(rows, gathered, w, weighted, q + 3, hi)
        x0 = X[i0]
        x1 = X[i1]
        x2 = X[i2]
        x3 = X[i3]
        for k in range(t):
            Wk = W[k]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for j in range(d):
                a0 += Wk[j] * x0[j]
                a1 += Wk[j] * x1[j]
                a2 += Wk[j] * x2[j]
                a3 += Wk[j] * x3[j]
            r0 = (scale * a0 + b[k]) - Y[i0, k]
            r1 = (scale * a1 + b[k]) - Y[i1, k]
            r2 = (scale * a2 + b[k]) - Y[i2, k]
            r3 = (scale * a3 + b[k]) - Y[i3, k]
            wr0 = w0 * r0
            wr1 = w1 * r1
            wr2 = w2 * r2
            wr3 = w3 * r3
            loss += (wr0 * r0 + wr1 * r1) + (wr2 * r2 + wr3 * r3)
            gb[k] += (wr0 + wr1) + (wr2 + wr3)
            s0 = scale * wr0
            s1 = scale * wr1
            s2 = scale * wr2
            s3 = scale * wr3
            Gk = G[k]
            for j in range(d_grad):
                Gk[j] += (s0 * x0[j] + s1 * x1[j]) + (s2 * x2[j] + s3 * x3[j])
        wsum += (w0 + w1) + (w2 + w3)
    return 0.5 * loss, wsum


@jit
def _private_part(X, Y, w, rows, W, b, scale, lo, hi, want_grad, G, gb, loss_out):
    """``_part_sums`` into private accumulators, then added into G, gb and loss_out.

    A part's sums change with every row; the parts' slices of a shared output array lie
    next to each other, and threads writing to the cache lines they share would stall
    each other. Serial, so that it compiles as one loop when called under ``prange``.
    """
    t, d = W.shape
    Gp = np.zeros((t, d))
    gbp = np.zeros(t)
    loss, wsum = _part_sums(X, Y, w, rows, W, b, scale, lo, hi, want_grad, Gp, gbp)
    if want_grad:
        for k in range(t):
            gb[k] += gbp[k]
            for j in range(d):
                G[k, j] += Gp[k, j]
    loss_out[0] += loss
    loss_out[1] += wsum


@pjit
def loss_grad(X, Y, w, rows, W, b, scale, bounds, want_grad, G_parts, gb_parts, loss_parts):
    """Fold rows of X into per-part squared-loss and gradient sums.

    Parameters
    ----------
    X : (n, d) uint8, float32 or float64, C order
    Y : (n, t) float64 targets
    w : (n,) float64 sample weights, or an empty array for unit weights
    rows : (m,) int64 row indices into X (a shuffled mini-batch, a validation set), or an
        empty array to take the rows of X in order; ``bounds`` then index ``rows``
    W : (t, d) float64 coefficients; b : (t,) float64 intercepts
    scale : float
        Every X value is multiplied by it as it is read.
    bounds : (P + 1,) int64 boundaries of the P parts (positions in ``rows``, or rows of X)
    want_grad : bool
        When False only the loss and weight sums are accumulated.
    G_parts : (P', t, d) float64, P' >= P, accumulated into: sum_i w_i r_i x_i * scale
    gb_parts : (P', t) float64, accumulated into: sum_i w_i r_i
    loss_parts : (P', 2) float64, accumulated into: [0.5 sum_i w_i |r_i|^2, sum_i w_i]
    """
    for p in prange(bounds.shape[0] - 1):
        _private_part(
            X,
            Y,
            w,
            rows,
            W,
            b,
            scale,
            bounds[p],
            bounds[p + 1],
            want_grad,
            G_parts[p],
            gb_parts[p],
            loss_parts[p],
        )


@jit
def shuffle(order, seed):
    """Shuffle ``order`` (m,) in place: Fisher-Yates driven by SplitMix64 from ``seed``.

    The same seed gives the same order. A five-times faster stand-in for NumPy's
    permutation, which would otherwise take a tenth of a shuffled epoch: positions are
    drawn from 53-bit uniforms, so each of the m! orders has probability within
    m / 2**53 (relative) of 1 / m!.
    """
    state = np.uint64(seed)
    for i in range(order.shape[0] - 1, 0, -1):
        state += np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        u = np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        j = int(u * (i + 1))
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


@jit
def _zero(G_parts, gb_parts, loss_parts, P):
    for p in range(P):
        G_parts[p] = 0.0
        gb_parts[p] = 0.0
        loss_parts[p] = 0.0


@jit
def _half_sq_norm(W):
    s = 0.0
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            s += W[k, j] * W[k, j]
    return 0.5 * s


@jit
def sgd_epoch(
    X,
    Y,
    w,
    order,
    bounds_full,
    bounds_last,
    W,
    b,
    VW,
    Vb,
    MW,
    Mb,
    G_parts,
    gb_parts,
    loss_parts,
    n_rows,
    batch_size,
    scale,
    method,
    schedule,
    eta0,
    power_t,
    total_steps,
    t0,
    alpha,
    fit_intercept,
    momentum,
    beta1,
    beta2,
    eps,
):
    """One epoch of mini-batch steps on the squared loss, W and b updated in place.

    Batch k holds positions ``k * batch_size`` up to ``min((k + 1) * batch_size, n_rows)``
    of ``order`` (or those rows of X when ``order`` is empty). Each step minimises the
    batch's weighted mean of ``0.5 |r|^2`` plus ``alpha / 2 * ||W||^2`` by the ``method``
    of :func:`fastlin.kernels.sgd.apply_step`, with the step size of
    :func:`fastlin.kernels.sgd.learning_rate`. A batch of zero total weight is skipped.

    Parameters
    ----------
    X, Y, w : as for :func:`loss_grad`
    order : (m,) int64 row indices, m >= n_rows, or an empty array
    bounds_full, bounds_last : (P + 1,) int64 part boundaries relative to a batch's first
        position, for a batch of ``batch_size`` rows and for the last, shorter one (its
        boundaries are not read when n_rows is a multiple of batch_size). One part runs
        on the calling thread.
    W : (t, d), b : (t,) float64, updated in place
    VW, MW : (t, d), Vb, Mb : (t,) float64
        Optimiser state as ``apply_step`` keeps it, updated in place.
    G_parts, gb_parts, loss_parts : float64 scratch of shapes (P', t, d), (P', t), (P', 2)
        with P' at least the part count of either boundary array
    n_rows, batch_size : int, batch_size >= 1
    scale : float
    method, schedule : int
        ``fastlin.kernels.sgd`` constants (SGD, MOMENTUM, ADAM; CONSTANT, INVSCALING, COSINE).
    eta0, power_t : float; total_steps : int (the cosine schedule's length)
    t0 : int
        Steps taken before this epoch.
    alpha, momentum, beta1, beta2, eps : float; fit_intercept : bool

    Returns
    -------
    (objective_sum, weight_sum, steps) : (float, float, int)
        ``objective_sum`` adds, over the steps, the batch's loss sum plus its weight times
        the penalty, both at the coefficients before the step: divided by ``weight_sum``
        it is the weighted mean objective over the epoch.
    """
    t = t0
    objective = 0.0
    wtotal = 0.0
    for s0 in range(0, n_rows, batch_size):
        s1 = min(s0 + batch_size, n_rows)
        bounds = bounds_full if s1 - s0 == batch_size else bounds_last
        P = bounds.shape[0] - 1
        _zero(G_parts, gb_parts, loss_parts, P)
        if P == 1:
            loss, wsum = _part_sums(
                X, Y, w, order, W, b, scale, s0, s1, True, G_parts[0], gb_parts[0]
            )
            loss_parts[0, 0] = loss
            loss_parts[0, 1] = wsum
        else:
            loss_grad(X, Y, w, order, W, b, scale, bounds + s0, True, G_parts, gb_parts, loss_parts)
        loss = loss_parts[0, 0]
        wsum = loss_parts[0, 1]
        for p in range(1, P):  # fixed order: same bits for the same thread count
            loss += loss_parts[p, 0]
            wsum += loss_parts[p, 1]
        if not wsum > 0.0:
            continue
        penalty = alpha * _half_sq_norm(W) if alpha > 0.0 else 0.0
        objective += loss + wsum * penalty
        wtotal += wsum
        lr = learning_rate(schedule, eta0, t, total_steps, power_t)
        apply_step(
            G_parts[:P],
            gb_parts[:P],
            wsum,
            W,
            b,
            method,
            lr,
            alpha,
            fit_intercept,
            momentum,
            beta1,
            beta2,
            eps,
            t,
            VW,
            Vb,
            MW,
            Mb,
        )
        t += 1
    return objective, wtotal, t - t0
