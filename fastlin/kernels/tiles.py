"""Register-tiled float64 products of a packed row block: logits ``Z = A Wᵀ`` and gradient
``G += Rᵀ A``, the two products of every logistic loss/gradient pass.

Shapes: a block ``A`` (BLOCK, dp) holds float64 rows whose width ``dp`` is the feature
count rounded up to a multiple of 8 (the padding is zero); coefficients ``W`` and gradient
``G`` are (Kp, dp) with the class count rounded up to a multiple of the tile's class count
``nk`` (see ``class_tile``; padded rows are zero). Logits and residuals are stored class by
class, ``Z[k, i]`` and ``R[k, i]`` of shape (Kp, BLOCK), so that the row-wise numerics
that follow run along contiguous rows of the block and vectorise.

The micro-kernels are written in LLVM IR (see ``fastlin.kernels.ir``) with 512-bit
vectors; the auto-vectoriser splits them in two on CPUs tuned for 256-bit vectors and turns
register tiles into dot products with a reduction per pair.

* Logits: an ``MR x nk`` tile of (row, class) dot products, vectors along the features:
  each step loads ``MR`` row vectors and ``nk`` coefficient vectors for ``MR * nk`` fused
  multiply-adds, and each sum is reduced across its lanes once per column chunk.
* Gradient: an ``nk x NV`` tile of (class, 8 features) sums over the rows of the block:
  each step loads ``NV`` row vectors and broadcasts ``nk`` residuals; no reduction at all.

Tile shapes are chosen so the sums and the values of one step fit the 32 vector registers.
"""

from llvmlite import ir as llir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._numba import jit
from .ir import (I64, V8F64, allow_512_bit, element_ptr_2d, emit_tile_loop, horizontal_sum,
                 is_array, row_stride_elements, splat)

LANES = 8
"""float64 lanes of a vector; row widths are padded to a multiple of this."""

LOGIT_CHUNK = 48
"""Most vectors per column chunk of the logits: a chunk of four panel rows and five
coefficient rows (9 x 48 x 64 bytes = 27 kB) stays in L1 while the row tiles walk it."""


def _fma(builder):
    return cgutils.get_or_insert_function(
        builder.module, llir.FunctionType(V8F64, [V8F64] * 3), "llvm.fma.v8f64")


def _vec_ptr(builder, ptr, offset):
    return builder.bitcast(builder.gep(ptr, [offset]), V8F64.as_pointer())


def _const(value):
    return llir.Constant(I64, value)


def _f64_matrices(*tys):
    return all(is_array(t, types.float64, 2) for t in tys)


def _make_logit_tile(MR, NK):
    @intrinsic
    def tile(typingctx, A, i0, W, k0, j0, nvec, Z):
        """Z[k0 + c, i0 + r] += sum_{j0 <= j < j0 + 8 nvec} A[i0 + r, j] W[k0 + c, j] (r < MR, c < NK)."""
        if not _f64_matrices(A, W, Z):
            return None

        def codegen(context, builder, sig, args):
            A_ty, _, W_ty, _, _, _, Z_ty = sig.args
            A_v, i0_v, W_v, k0_v, j0_v, n_v, Z_v = args
            allow_512_bit(builder.function)
            fma = _fma(builder)
            a_rows = [element_ptr_2d(context, builder, A_ty, A_v, builder.add(i0_v, _const(r)), j0_v)
                      for r in range(MR)]
            w_rows = [element_ptr_2d(context, builder, W_ty, W_v, builder.add(k0_v, _const(c)), j0_v)
                      for c in range(NK)]

            def step(k, accs):
                off = builder.mul(k, _const(LANES))
                av = [builder.load(_vec_ptr(builder, p, off), align=8) for p in a_rows]
                wv = [builder.load(_vec_ptr(builder, p, off), align=8) for p in w_rows]
                return [builder.call(fma, [av[r], wv[c], accs[r * NK + c]])
                        for r in range(MR) for c in range(NK)]

            sums = emit_tile_loop(builder, n_v, V8F64, MR * NK, step)
            for r in range(MR):
                for c in range(NK):
                    p = element_ptr_2d(context, builder, Z_ty, Z_v, builder.add(k0_v, _const(c)),
                                       builder.add(i0_v, _const(r)))
                    builder.store(builder.fadd(builder.load(p), horizontal_sum(builder, sums[r * NK + c])), p)
            return context.get_dummy_value()

        return types.void(A, i0, W, k0, j0, nvec, Z), codegen

    return tile


def _make_grad_tile(NK, NV):
    @intrinsic
    def tile(typingctx, A, R, n, G, k0, j0):
        """G[k0 + c, j0 + 8 v + l] += sum_{i < n} R[k0 + c, i] A[i, j0 + 8 v + l], n >= 1."""
        if not _f64_matrices(A, R, G):
            return None

        def codegen(context, builder, sig, args):
            A_ty, R_ty, _, G_ty, _, _ = sig.args
            A_v, R_v, n_v, G_v, k0_v, j0_v = args
            allow_512_bit(builder.function)
            fma = _fma(builder)
            zero = _const(0)
            a0 = element_ptr_2d(context, builder, A_ty, A_v, zero, j0_v)
            r0 = element_ptr_2d(context, builder, R_ty, R_v, k0_v, zero)
            sa = row_stride_elements(context, builder, A_ty, A_v)
            sr = row_stride_elements(context, builder, R_ty, R_v)

            def step(i, accs):
                a_row = builder.gep(a0, [builder.mul(i, sa)])
                r_col = builder.gep(r0, [i])
                av = [builder.load(_vec_ptr(builder, a_row, _const(LANES * v)), align=8) for v in range(NV)]
                rv = [splat(builder, builder.load(builder.gep(r_col, [builder.mul(sr, _const(c))])), V8F64)
                      for c in range(NK)]
                return [builder.call(fma, [rv[c], av[v], accs[c * NV + v]])
                        for c in range(NK) for v in range(NV)]

            sums = emit_tile_loop(builder, n_v, V8F64, NK * NV, step)
            for c in range(NK):
                g = element_ptr_2d(context, builder, G_ty, G_v, builder.add(k0_v, _const(c)), j0_v)
                for v in range(NV):
                    p = _vec_ptr(builder, g, _const(LANES * v))
                    builder.store(builder.fadd(builder.load(p, align=8), sums[c * NV + v]), p, align=8)
            return context.get_dummy_value()

        return types.void(A, R, n, G, k0, j0), codegen

    return tile


# (rows, classes) of the logit tiles and (classes, vectors) of the gradient tiles, by nk
_logit_1 = _make_logit_tile(8, 1)
_logit_2 = _make_logit_tile(8, 2)
_logit_3 = _make_logit_tile(4, 3)
_logit_4 = _make_logit_tile(4, 4)
_logit_5 = _make_logit_tile(4, 5)
_grad_1 = _make_grad_tile(1, 8)
_grad_2 = _make_grad_tile(2, 8)
_grad_3 = _make_grad_tile(3, 6)
_grad_4 = _make_grad_tile(4, 5)
_grad_5 = _make_grad_tile(5, 4)
_grad_1_tail = _make_grad_tile(1, 1)
_grad_2_tail = _make_grad_tile(2, 1)
_grad_3_tail = _make_grad_tile(3, 1)
_grad_4_tail = _make_grad_tile(4, 1)
_grad_5_tail = _make_grad_tile(5, 1)


@jit
def class_tile(K):
    """Classes per tile for K classes: K itself up to 3, else 4 or 5, whichever pads less."""
    if K <= 3:
        return K
    return 4 if -(-K // 4) * 4 < -(-K // 5) * 5 else 5


@jit
def padded_classes(K):
    """K rounded up to a multiple of ``class_tile(K)``."""
    nk = class_tile(K)
    return -(-K // nk) * nk


@jit
def padded_width(d):
    """d rounded up to a multiple of ``LANES``."""
    return -(-d // LANES) * LANES


@jit
def logit_rows(nk):
    """Rows of a logit tile: blocks are computed in groups of this many rows (8 or 4)."""
    return 8 if nk <= 2 else 4


@jit
def logits_block(A, nb, W, Z, nk):
    """Z[k, i] += A[i] · W[k] for i < nb rounded up to ``logit_rows(nk)``, every k < Kp.

    A (BLOCK, dp), W (Kp, dp), Z (at least Kp, BLOCK) float64; rows of A past nb up to the
    next multiple of 8 must be finite (zero).
    """
    nvec = A.shape[1] // LANES
    mr = logit_rows(nk)
    rows = -(-nb // mr) * mr
    n_chunks = -(-nvec // LOGIT_CHUNK)
    per_chunk = -(-nvec // n_chunks)
    for c0 in range(0, nvec, per_chunk):
        nv = min(per_chunk, nvec - c0)
        j0 = LANES * c0
        for k0 in range(0, W.shape[0], nk):
            for i0 in range(0, rows, mr):
                if nk == 5:
                    _logit_5(A, i0, W, k0, j0, nv, Z)
                elif nk == 4:
                    _logit_4(A, i0, W, k0, j0, nv, Z)
                elif nk == 3:
                    _logit_3(A, i0, W, k0, j0, nv, Z)
                elif nk == 2:
                    _logit_2(A, i0, W, k0, j0, nv, Z)
                else:
                    _logit_1(A, i0, W, k0, j0, nv, Z)


@jit
def grad_block(A, nb, R, G, nk):
    """G[k, :] += sum_{i < nb} R[k, i] A[i, :] for every k < Kp (nb >= 1).

    A (BLOCK, dp), R (at least Kp, BLOCK), G (Kp, dp) float64.
    """
    dp = A.shape[1]
    nv = 4 if nk == 5 else 5 if nk == 4 else 6 if nk == 3 else 8
    full = dp // (LANES * nv) * (LANES * nv)
    # column strips outermost: the strip of A (nb x 8 nv) stays in L1 across the classes
    for j0 in range(0, full, LANES * nv):
        for k0 in range(0, G.shape[0], nk):
            if nk == 5:
                _grad_5(A, R, nb, G, k0, j0)
            elif nk == 4:
                _grad_4(A, R, nb, G, k0, j0)
            elif nk == 3:
                _grad_3(A, R, nb, G, k0, j0)
            elif nk == 2:
                _grad_2(A, R, nb, G, k0, j0)
            else:
                _grad_1(A, R, nb, G, k0, j0)
    for j0 in range(full, dp, LANES):
        for k0 in range(0, G.shape[0], nk):
            if nk == 5:
                _grad_5_tail(A, R, nb, G, k0, j0)
            elif nk == 4:
                _grad_4_tail(A, R, nb, G, k0, j0)
            elif nk == 3:
                _grad_3_tail(A, R, nb, G, k0, j0)
            elif nk == 2:
                _grad_2_tail(A, R, nb, G, k0, j0)
            else:
                _grad_1_tail(A, R, nb, G, k0, j0)


@jit
def pack_rows(X, r0, r1, A):
    """A[t, :d] = X[r0 + t] as float64; rows nb..(next multiple of 8) of A zeroed.

    The padding columns d..dp of A are left alone: the caller zeroes them once.
    """
    d = X.shape[1]
    nb = r1 - r0
    for t in range(nb):
        row = X[r0 + t]
        out = A[t]
        for j in range(d):
            out[j] = row[j]
    for t in range(nb, min(A.shape[0], (nb + 7) & ~7)):
        A[t, :] = 0.0


@jit
def pack_gathered(X, idx, i0, i1, A):
    """A[t, :d] = X[idx[i0 + t]] as float64 (a mini-batch block), padded like ``pack_rows``."""
    d = X.shape[1]
    nb = i1 - i0
    for t in range(nb):
        row = X[idx[i0 + t]]
        out = A[t]
        for j in range(d):
            out[j] = row[j]
    for t in range(nb, min(A.shape[0], (nb + 7) & ~7)):
        A[t, :] = 0.0
