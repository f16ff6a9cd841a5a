"""Cholesky factorisation and triangular solves for symmetric positive definite systems.

Contract (every kernel here)
----------------------------
* Arrays are float64 and C-contiguous (row-major): ``A`` and ``L`` of shape (d, d), right-hand
  sides ``B`` of shape (d, t), t >= 0. Nothing is checked: the caller validates (wrong
  dtype or layout makes Numba compile another specialisation or fail to type).
* Everything is in place; nothing is returned except the status code of ``cholesky_inplace``.
  Outputs are not allocated; small scratch is (the factorisation: one panel of ``NB`` x d
  values; the solves: per parallel task, a copy of its block of at most ``SOLVE_COLS``
  columns of B (d rows) and a ``SOLVE_ROWS`` x ``SOLVE_INNER`` slab of L).
* The four public names are thin Python functions: each picks, from the shape alone, a
  serially or a parallel compiled kernel (``_factor_serial`` / ``_factor_parallel``,
  ``_solve_serial`` / ``_solve_parallel``, which Numba-compiled callers can call directly)
  and runs on ``numba.get_num_threads()`` threads. They are not themselves compiled, so
  that the large kernels are compiled once rather than once per public entry point.

``cholesky_inplace(A) -> int``
    Overwrites the lower triangle of ``A`` with L such that A = L Lᵀ and sets the strict upper
    triangle to zero. The result depends only on the lower triangle (diagonal included) of
    the input; the upper triangle may hold anything, NaN included (a few entries next to
    the diagonal are used as scratch before the upper triangle is zeroed). Returns 0 on success. Returns k + 1 when
    the leading minor of order k + 1 is not positive definite: the k-th pivot (0-based), that
    is A[k, k] minus the squares of the already computed L[k, :k], is <= 0, NaN or +inf. A NaN
    or inf in the lower triangle therefore returns a positive code instead of raising. On
    failure ``A`` holds partial results (the strict upper triangle is still zeroed) and must be
    discarded: keep a copy if a fallback needs the matrix.

``solve_lower_inplace(L, B)``
    B <- L⁻¹ B (forward substitution).
``solve_upper_from_lower_inplace(L, B)``
    B <- L⁻ᵀ B (back substitution with Lᵀ, read from the lower triangle of L).
``cholesky_solve_inplace(L, B)``
    B <- (L Lᵀ)⁻¹ B, both substitutions on a column block while it is in cache.

The solves read only the lower triangle of L (diagonal included) and assume it nonsingular
(as ``cholesky_inplace`` returns it on success); a zero diagonal gives inf/NaN, not an error.

Algorithm
---------
Right-looking blocked Cholesky with panels of ``NB`` columns. For each panel: an unblocked
row-oriented factorisation of the diagonal block (serial, small); the panel below it is copied
transposed into a scratch ``W`` (NB x rest), solved against the diagonal block there
(parallel over column blocks of W) and copied back; then the trailing lower triangle gets
A[i, j] -= sum_u L[i, u] W[u, j] (parallel over row ranges of equal triangle area). All
substantial work is done by one register tile: four output rows by four inner indices, the
innermost loop running over contiguous columns so that LLVM vectorises it with fused
multiply-adds. The triangular solves use the same tile on blocks of columns of B, in parallel
over those blocks: each block is copied into a contiguous scratch with a padded row stride,
and the slab of L each pass needs is packed, so that power-of-two d does not make the
streamed rows collide in cache sets. Up to ``FEW_RHS`` right-hand sides the columns are
solved instead as vectors, four at a time (dot products along rows of L forward, axpys
along rows of L backward), which reads L once per four columns.

Determinism: tasks are cut on fixed grids (4-row tiles from each panel start, ``TRAIL_PARTS``
row ranges, ``PANEL_COLS`` panel columns, right-hand-side blocks chosen from t alone) and
threads only decide who runs a task, so every output element gets the same sequence of
floating-point operations from the same machine code whatever the thread count: results
are bitwise identical for any number of threads, and from run to run. Small problems run a
serially compiled copy of the same loops (chosen from the shape alone); separately
compiled copies agree to rounding, not necessarily to the bit, because LLVM may fuse and
reassociate the fastmath sums differently in each.
"""

import math

import numpy as np
from numba import prange

from .._numba import jit, pjit

NB = 64
"""Panel width (columns factorised per step)."""

TRAIL_COLS = 256
"""Columns of the trailing matrix updated per pass while a block of W stays in cache."""

PANEL_COLS = 64
"""Columns of the transposed panel per parallel task in the panel solve."""

TRAIL_PARTS = 16
"""Row ranges of equal area the trailing update is split into (prange's static schedule
hands each thread a contiguous run of them, so 1, 2, 4, 8 or 16 threads stay balanced).
A constant, not the thread count: reading the thread count inside a kernel stops Numba
from caching it."""

SOLVE_COLS = 128
"""Largest block of right-hand-side columns per parallel task in the triangular solves."""

SOLVE_ROWS = 64
"""Rows of X solved per block in the triangular solves."""

SOLVE_INNER = 256
"""Rows of already solved X applied per pass to a block of SOLVE_ROWS rows."""

SERIAL_FACTOR_MAX = 192
"""Largest d factorised without the thread pool."""

SERIAL_SOLVE_MAX = 2_000_000
"""Largest d * d * t solved without the thread pool."""

FEW_RHS = 24
"""Up to this many right-hand sides, columns are solved as vectors, four at a time (dot
products and axpys along rows of L, each row read once per four columns) instead of by
register tiles."""

MIN_COLS = 48
"""Fewest right-hand-side columns per parallel task on the register-tile path."""


@jit
def _tile4(C, ci, cj, S, si, sm, W, wm, wj, kb, nj):
    """C[ci + r, cj:cj + nj] -= sum_{u < kb} S[si + r, sm + u] * W[wm + u, wj:wj + nj], r < 4.

    The 16 coefficients of a 4 x 4 step stay in registers while the contiguous j loop
    streams four rows of W and four rows of C. The j loops run from 0 over slices: with an
    offset start LLVM does not vectorise them.
    """
    c0 = C[ci, cj : cj + nj]
    c1 = C[ci + 1, cj : cj + nj]
    c2 = C[ci + 2, cj : cj + nj]
    c3 = C[ci + 3, cj : cj + nj]
    kb4 = kb - kb % 4
    for u in range(0, kb4, 4):
        w0 = W[wm + u, wj : wj + nj]
        w1 = W[wm + u + 1, wj : wj + nj]
        w2 = W[wm + u + 2, wj : wj + nj]
        w3 = W[wm + u + 3, wj : wj + nj]
        m = sm + u
        a00 = S[si, m]
        a01 = S[si, m + 1]
        a02 = S[si, m + 2]
        a03 = S[si, m + 3]
        a10 = S[si + 1, m]
        a11 = S[si + 1, m + 1]
        a12 = S[si + 1, m + 2]
        a13 = S[si + 1, m + 3]
        a20 = S[si + 2, m]
        a21 = S[si + 2, m + 1]
        a22 = S[si + 2, m + 2]
        a23 = S[si + 2, m + 3]
        a30 = S[si + 3, m]
        a31 = S[si + 3, m + 1]
        a32 = S[si + 3, m + 2]
        a33 = S[si + 3, m + 3]
        for j in range(nj):
            x0 = w0[j]
            x1 = w1[j]
            x2 = w2[j]
            x3 = w3[j]
            c0[j] -= a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3
            c1[j] -= a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3
            c2[j] -= a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3
            c3[j] -= a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3
    for u in range(kb4, kb):
        w0 = W[wm + u, wj : wj + nj]
        m = sm + u
        a0 = S[si, m]
        a1 = S[si + 1, m]
        a2 = S[si + 2, m]
        a3 = S[si + 3, m]
        for j in range(nj):
            x0 = w0[j]
            c0[j] -= a0 * x0
            c1[j] -= a1 * x0
            c2[j] -= a2 * x0
            c3[j] -= a3 * x0


@jit
def _tile1(C, ci, cj, S, si, sm, W, wm, wj, kb, nj):
    """C[ci, cj:cj + nj] -= sum_{u < kb} S[si, sm + u] * W[wm + u, wj:wj + nj]."""
    c0 = C[ci, cj : cj + nj]
    kb4 = kb - kb % 4
    for u in range(0, kb4, 4):
        w0 = W[wm + u, wj : wj + nj]
        w1 = W[wm + u + 1, wj : wj + nj]
        w2 = W[wm + u + 2, wj : wj + nj]
        w3 = W[wm + u + 3, wj : wj + nj]
        m = sm + u
        a0 = S[si, m]
        a1 = S[si, m + 1]
        a2 = S[si, m + 2]
        a3 = S[si, m + 3]
        for j in range(nj):
            c0[j] -= a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
    for u in range(kb4, kb):
        w0 = W[wm + u, wj : wj + nj]
        a0 = S[si, sm + u]
        for j in range(nj):
            c0[j] -= a0 * w0[j]


@jit
def _divide_row(B, i, cj, nj, diag):
    x = B[i, cj : cj + nj]
    for j in range(nj):
        x[j] = x[j] / diag


@jit
def _gemm_rows(C, ci0, ci1, cj, S, sm, W, wm, kb, nj):
    """C[i, cj:cj+nj] -= sum_{u < kb} S[i, sm + u] * W[wm + u, cj:cj+nj] for ci0 <= i < ci1.

    Rows go in tiles of 4 from ci0, a tail of single rows after. ``S`` and ``C`` share row
    numbering, as do the columns of ``C`` and ``W``.
    """
    i = ci0
    while i + 4 <= ci1:
        _tile4(C, i, cj, S, i, sm, W, wm, cj, kb, nj)
        i += 4
    while i < ci1:
        _tile1(C, i, cj, S, i, sm, W, wm, cj, kb, nj)
        i += 1


@jit
def _trsm_lower_diag(L, l0, I0, I1, X, cj, nj):
    """Forward solve of rows I0..I1 of X[:, cj:cj+nj] against L[l0 + I0:l0 + I1] alone.

    Rows above I0 must already be applied. Row tiles of 4 from I0, single rows at the end.
    """
    i0 = I0
    while i0 + 4 <= I1:
        _tile4(X, i0, cj, L, l0 + i0, l0 + I0, X, I0, cj, i0 - I0, nj)
        for i in range(i0, i0 + 4):
            _tile1(X, i, cj, L, l0 + i, l0 + i0, X, i0, cj, i - i0, nj)
            _divide_row(X, i, cj, nj, L[l0 + i, l0 + i])
        i0 += 4
    for i in range(i0, I1):
        _tile1(X, i, cj, L, l0 + i, l0 + I0, X, I0, cj, i - I0, nj)
        _divide_row(X, i, cj, nj, L[l0 + i, l0 + i])


@jit
def _trsm_upper_t_diag(L, I0, I1, X, nj):
    """Back substitution of rows I0..I1 of X with the diagonal block of Lᵀ alone.

    Rows below I1 must already be applied. Same 4-row grid from I0 as the forward solve;
    the single rows at the bottom go first.
    """
    # Row i of Lᵀ is column i of L: the transposed view reads S[i, m] = L[m, i], no copy.
    LT = L.T
    tail = I0 + (I1 - I0) // 4 * 4
    for i in range(I1 - 1, tail - 1, -1):
        _tile1(X, i, 0, LT, i, i + 1, X, i + 1, 0, I1 - i - 1, nj)
        _divide_row(X, i, 0, nj, L[i, i])
    for i0 in range(tail - 4, I0 - 1, -4):
        _tile4(X, i0, 0, LT, i0, i0 + 4, X, i0 + 4, 0, I1 - i0 - 4, nj)
        for i in range(i0 + 3, i0 - 1, -1):
            _tile1(X, i, 0, LT, i, i + 1, X, i + 1, 0, i0 + 3 - i, nj)
            _divide_row(X, i, 0, nj, L[i, i])


@jit
def _solve_block_columns(L, B, cs, nj, forward, backward):
    """Solve columns cs..cs+nj of B with L (forward) and/or Lᵀ (backward), in place.

    The columns are copied into a contiguous scratch X (n, nj) and the slabs of L each
    pass uses into a small packed P. Both copies cost O(n nj) and O(n² / 2) against
    O(n² nj) of arithmetic, and they keep the data the tiles stream free of the cache-set
    conflicts that power-of-two row strides (d = 1024, 2048, ...) cause.
    """
    n = L.shape[0]
    # Row stride an odd multiple of 32 bytes: rows 32-byte aligned for the vector loads,
    # and no two of the nearby rows the tiles load and store lie a multiple of 4 KiB apart,
    # which would make the loads wait on unrelated stores (4K aliasing).
    ld = (nj + 7) // 8 * 8 + 4
    X = np.empty((n, ld), dtype=np.float64)
    P = np.empty((SOLVE_ROWS, SOLVE_INNER), dtype=np.float64)
    for i in range(n):
        src = B[i, cs : cs + nj]
        dst = X[i]
        for j in range(nj):
            dst[j] = src[j]
    n_blocks = (n + SOLVE_ROWS - 1) // SOLVE_ROWS
    if forward:
        for b in range(n_blocks):
            I0 = b * SOLVE_ROWS
            I1 = min(I0 + SOLVE_ROWS, n)
            # Everything above the block, a slab of SOLVE_INNER solved rows at a time.
            for m0 in range(0, I0, SOLVE_INNER):
                m1 = min(m0 + SOLVE_INNER, I0)
                for r in range(I1 - I0):
                    src = L[I0 + r, m0:m1]
                    dst = P[r]
                    for u in range(m1 - m0):
                        dst[u] = src[u]
                _gemm_rows(X[I0:I1], 0, I1 - I0, 0, P, 0, X, m0, m1 - m0, nj)
            _trsm_lower_diag(L, 0, I0, I1, X, 0, nj)
    if backward:
        for b in range(n_blocks - 1, -1, -1):
            I0 = b * SOLVE_ROWS
            I1 = min(I0 + SOLVE_ROWS, n)
            for m0 in range(I1, n, SOLVE_INNER):
                m1 = min(m0 + SOLVE_INNER, n)
                for u in range(m1 - m0):
                    src = L[m0 + u, I0:I1]
                    for r in range(I1 - I0):
                        P[r, u] = src[r]
                _gemm_rows(X[I0:I1], 0, I1 - I0, 0, P, 0, X, m0, m1 - m0, nj)
            _trsm_upper_t_diag(L, I0, I1, X, nj)
    for i in range(n):
        src = X[i]
        dst = B[i, cs : cs + nj]
        for j in range(nj):
            dst[j] = src[j]


@jit
def _forward_vec(L, x):
    """Solve L y = x in place for one contiguous vector (dot-product form, rows of L)."""
    for i in range(x.shape[0]):
        row = L[i, :i]
        acc = 0.0
        for u in range(i):
            acc += row[u] * x[u]
        x[i] = (x[i] - acc) / L[i, i]


@jit
def _backward_vec(L, x):
    """Solve Lᵀ y = x in place for one contiguous vector (axpy form, rows of L)."""
    for i in range(x.shape[0] - 1, -1, -1):
        xi = x[i] / L[i, i]
        x[i] = xi
        row = L[i, :i]
        for u in range(i):
            x[u] -= xi * row[u]


@jit
def _forward_vec4(L, X):
    """_forward_vec on the four rows of X (4, n) at once: each row of L is read once."""
    x0 = X[0]
    x1 = X[1]
    x2 = X[2]
    x3 = X[3]
    for i in range(X.shape[1]):
        row = L[i, :i]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for u in range(i):
            r = row[u]
            a0 += r * x0[u]
            a1 += r * x1[u]
            a2 += r * x2[u]
            a3 += r * x3[u]
        diag = L[i, i]
        x0[i] = (x0[i] - a0) / diag
        x1[i] = (x1[i] - a1) / diag
        x2[i] = (x2[i] - a2) / diag
        x3[i] = (x3[i] - a3) / diag


@jit
def _backward_vec4(L, X):
    """_backward_vec on the four rows of X (4, n) at once: each row of L is read once."""
    x0 = X[0]
    x1 = X[1]
    x2 = X[2]
    x3 = X[3]
    for i in range(X.shape[1] - 1, -1, -1):
        diag = L[i, i]
        y0 = x0[i] / diag
        y1 = x1[i] / diag
        y2 = x2[i] / diag
        y3 = x3[i] / diag
        x0[i] = y0
        x1[i] = y1
        x2[i] = y2
        x3[i] = y3
        row = L[i, :i]
        for u in range(i):
            r = row[u]
            x0[u] -= y0 * r
            x1[u] -= y1 * r
            x2[u] -= y2 * r
            x3[u] -= y3 * r


@jit
def _potf2(A, k0, k1):
    """Unblocked Cholesky of the diagonal block A[k0:k1, k0:k1] (lower, in place).

    Assumes the contributions of columns before k0 are already subtracted. Returns 0, or
    i + 1 for the first row i whose pivot is not a finite positive number.
    """
    for i in range(k0, k1):
        ri = A[i, k0:i]
        for j in range(k0, i + 1):
            rj = A[j, k0:j]
            s = A[i, j]
            acc = 0.0
            for u in range(j - k0):
                acc += ri[u] * rj[u]
            s -= acc
            if j < i:
                A[i, j] = s / A[j, j]
            else:
                # Written so that NaN fails too (comparisons with NaN are False).
                if not (s > 0.0 and s < np.inf):
                    return i + 1
                A[i, i] = math.sqrt(s)
    return 0


@jit
def _area_bound(nt, p, n_parts):
    """Row boundary giving part p about p / n_parts of a lower triangle with nt rows."""
    if p >= n_parts:
        return nt
    b = int(nt * math.sqrt(p / n_parts))
    return min(nt, b - b % 4)


@jit
def _trailing_rows(A, W, k0, k1, r0, r1):
    """A[i, j] -= sum_u A[i, k0 + u] W[u, j - k1] for rows k1 + [r0, r1), k1 <= j <= i."""
    n = A.shape[0]
    kb = k1 - k0
    nt = n - k1
    for js in range(0, nt, TRAIL_COLS):
        je = min(js + TRAIL_COLS, nt)
        # Row tiles on the fixed 4-row grid; a tile on the diagonal also touches up to three
        # entries above it, which are never read and get zeroed at the end.
        i0 = max(r0, js - js % 4)
        while i0 < r1:
            if i0 + 4 <= nt:
                nj = min(je, i0 + 4) - js
                _tile4(A, k1 + i0, k1 + js, A, k1 + i0, k0, W, 0, js, kb, nj)
                i0 += 4
            else:
                nj = min(je, i0 + 1) - js
                _tile1(A, k1 + i0, k1 + js, A, k1 + i0, k0, W, 0, js, kb, nj)
                i0 += 1


@jit
def _panel_task(A, W, k0, k1, c):
    """Columns c * PANEL_COLS... of the panel: W[u, r] = A[k1 + r, k0 + u], solved against
    the diagonal block L11 in place (so W holds L21ᵀ), then copied back into A."""
    kb = k1 - k0
    cs = c * PANEL_COLS
    ce = min(cs + PANEL_COLS, A.shape[0] - k1)
    for r in range(cs, ce):
        row = A[k1 + r, k0:k1]
        for u in range(kb):
            W[u, r] = row[u]
    _trsm_lower_diag(A, k0, 0, kb, W, cs, ce - cs)
    for r in range(cs, ce):
        row = A[k1 + r, k0:k1]
        for u in range(kb):
            row[u] = W[u, r]


@jit
def _trailing_task(A, W, k0, k1, p):
    """Trailing update of the p-th of TRAIL_PARTS row ranges of equal triangle area."""
    nt = A.shape[0] - k1
    _trailing_rows(
        A, W, k0, k1, _area_bound(nt, p, TRAIL_PARTS), _area_bound(nt, p + 1, TRAIL_PARTS)
    )


@jit
def _zero_upper_row(A, i):
    row = A[i, i + 1 :]
    for j in range(row.shape[0]):
        row[j] = 0.0


@jit
def _panel_scratch(n):
    # Row stride an odd multiple of 32 bytes, not n: with n a multiple of 512 the rows of W
    # would all fall into the same cache sets and alias each other modulo 4 KiB.
    ld = (n + 7) // 8 * 8 + 4
    return np.empty((min(NB, n), ld), dtype=np.float64)


# The serial and the parallel factorisation are the same loops over the same tasks; only
# which thread runs a task differs (and the rounding of separately compiled code).
@jit
def _factor_serial(A):
    n = A.shape[0]
    info = 0
    W = _panel_scratch(n)
    for k0 in range(0, n, NB):
        k1 = min(k0 + NB, n)
        info = _potf2(A, k0, k1)
        if info != 0 or k1 == n:
            break
        for c in range(((n - k1) + PANEL_COLS - 1) // PANEL_COLS):
            _panel_task(A, W, k0, k1, c)
        for p in range(TRAIL_PARTS):
            _trailing_task(A, W, k0, k1, p)
    for i in range(n):
        _zero_upper_row(A, i)
    return info


@pjit
def _factor_parallel(A):
    n = A.shape[0]
    info = 0
    W = _panel_scratch(n)
    for k0 in range(0, n, NB):
        k1 = min(k0 + NB, n)
        info = _potf2(A, k0, k1)
        if info != 0 or k1 == n:
            break
        for c in prange(((n - k1) + PANEL_COLS - 1) // PANEL_COLS):
            _panel_task(A, W, k0, k1, c)
        for p in prange(TRAIL_PARTS):
            _trailing_task(A, W, k0, k1, p)
    for i in prange(n):
        _zero_upper_row(A, i)
    return info


def cholesky_inplace(A):
    """Cholesky factorisation A = L Lᵀ in place (see the module docstring for the contract).

    Parameters
    ----------
    A : ndarray of shape (d, d), float64, C-contiguous
        Symmetric positive definite; only the lower triangle is read. Overwritten with L in
        the lower triangle and zeros above it.

    Returns
    -------
    info : int
        0 on success; k + 1 when the leading minor of order k + 1 is not positive definite
        (pivot k is <= 0, NaN or inf).
    """
    # Below this size a factorisation takes less time than waking the thread pool for each
    # of its parallel steps.
    if A.shape[0] <= SERIAL_FACTOR_MAX:
        return _factor_serial(A)
    return _factor_parallel(A)


@jit
def _solve_columns(L, B, k, forward, backward):
    """Task k of the few-right-hand-sides path: columns 4k..4k+3 of B while four are left,
    then one column per task. The columns are solved as contiguous vectors (B transposed
    into a scratch), so L is read once per task along its rows."""
    n, t = B.shape
    n_groups = t // 4
    if k < n_groups:
        c0 = 4 * k
        m = 4
    else:
        c0 = 4 * n_groups + (k - n_groups)
        m = 1
    X = np.empty((m, n), dtype=np.float64)
    for i in range(n):
        for c in range(m):
            X[c, i] = B[i, c0 + c]
    if m == 4:
        if forward:
            _forward_vec4(L, X)
        if backward:
            _backward_vec4(L, X)
    else:
        if forward:
            _forward_vec(L, X[0])
        if backward:
            _backward_vec(L, X[0])
    for i in range(n):
        for c in range(m):
            B[i, c0 + c] = X[c, i]


@jit
def _n_column_tasks(t):
    """Parallel tasks for t right-hand sides, a function of t alone (not the thread count)."""
    if t <= FEW_RHS:
        return t // 4 + t % 4
    n_blk = (t + SOLVE_COLS - 1) // SOLVE_COLS
    # A multiple of four blocks keeps 2 or 4 threads evenly loaded, as long as a block
    # keeps at least MIN_COLS columns for the tiles to stream.
    n_blk = (n_blk + 3) // 4 * 4
    return max(1, min(n_blk, t // MIN_COLS))


@jit
def _column_task(L, B, k, n_tasks, forward, backward):
    t = B.shape[1]
    if t <= FEW_RHS:
        _solve_columns(L, B, k, forward, backward)
    else:
        blk = (t + n_tasks - 1) // n_tasks
        cs = k * blk
        if cs < t:
            _solve_block_columns(L, B, cs, min(cs + blk, t) - cs, forward, backward)


# As for the factorisation, the serial and the parallel solve run the same tasks.
@jit
def _solve_serial(L, B, forward, backward):
    n_tasks = _n_column_tasks(B.shape[1])
    for k in range(n_tasks):
        _column_task(L, B, k, n_tasks, forward, backward)


@pjit
def _solve_parallel(L, B, forward, backward):
    n_tasks = _n_column_tasks(B.shape[1])
    for k in prange(n_tasks):
        _column_task(L, B, k, n_tasks, forward, backward)


def _solve(L, B, forward, backward):
    """Dispatch, on the problem size alone, to the serial or the parallel solve."""
    n = L.shape[0]
    if n * n * B.shape[1] <= SERIAL_SOLVE_MAX:
        _solve_serial(L, B, forward, backward)
    else:
        _solve_parallel(L, B, forward, backward)


def solve_lower_inplace(L, B):
    """Solve L X = B in place (forward substitution).

    Parameters
    ----------
    L : ndarray of shape (d, d), float64, C-contiguous
        Lower triangular with nonzero diagonal; the strict upper triangle is not read.
    B : ndarray of shape (d, t), float64, C-contiguous
        Right-hand sides, overwritten with X.
    """
    _solve(L, B, True, False)


def solve_upper_from_lower_inplace(L, B):
    """Solve Lᵀ X = B in place (back substitution) using the lower triangular L.

    Parameters
    ----------
    L : ndarray of shape (d, d), float64, C-contiguous
        Lower triangular with nonzero diagonal; the strict upper triangle is not read.
    B : ndarray of shape (d, t), float64, C-contiguous
        Right-hand sides, overwritten with X.
    """
    _solve(L, B, False, True)


def cholesky_solve_inplace(L, B):
    """Solve (L Lᵀ) X = B in place, L from ``cholesky_inplace``.

    Both substitutions run on one block of columns while it is in cache.

    Parameters
    ----------
    L : ndarray of shape (d, d), float64, C-contiguous
        Cholesky factor in the lower triangle; the strict upper triangle is not read.
    B : ndarray of shape (d, t), float64, C-contiguous
        Right-hand sides, overwritten with X.
    """
    _solve(L, B, True, True)
