"""Register-tiled float64 products of a block of rows: logits ``Z = A Wᵀ`` and gradient
``G += Rᵀ A``, the two products of every logistic loss/gradient pass.

Shapes: a block ``A`` (BLOCK, dp) holds float64 rows whose width ``dp`` is the feature
count rounded up to a multiple of 8 (the padding is zero); coefficients ``W`` and gradient
``G`` are (Kp, dp) with the class count rounded up to a multiple of the tile's class count
``nk`` (see ``class_tile``; padded rows are zero). Logits and residuals are stored class by
class, ``Z[k, i]`` and ``R[k, i]`` of shape (Kp, BLOCK), so that the row-wise numerics
that follow run along contiguous rows of the block and vectorise.

The micro-kernels are written in LLVM IR (see ``fastlin.kernels.ir_helpers``) with 512-bit
vectors; the auto-vectoriser splits them in two on CPUs tuned for 256-bit vectors and turns
register tiles into dot products with a reduction per pair.

The tiles read float64 panels, or the rows of X directly when they are laid out for it
(``reads_in_place``): every dtype is converted to float64 as it is loaded, so uint8 pixels
reach the multiply-adds without a packed copy.

* Logits: an ``MR x nk`` tile of (row, class) dot products, vectors along the features:
  each step loads ``MR`` row vectors and ``nk`` coefficient vectors for ``MR * nk`` fused
  multiply-adds, and each sum is reduced across its lanes once per column chunk.
* Gradient: an ``nk x NV`` tile of (class, 8 features) sums over the rows of the block:
  each step loads ``NV`` row vectors and broadcasts ``nk`` residuals; no reduction at all.

Tile shapes are chosen so the sums and the values of one step fit the vector registers of
the CPU Numba compiles for: 32 (AVX-512), or 16 (AVX2, where a 512-bit vector takes two):
there the logit tiles take one row for four or five classes and the gradient tiles one
vector of features, so at most ten 256-bit sums are live (spilled sums cost a store and a
load per multiply-add).
"""

from llvmlite import ir as llir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._numba import jit
from .ir_helpers import (
    I64,
    V8F64,
    allow_512_bit,
    compile_features,
    element_ptr_2d,
    emit_tile_loop,
    horizontal_sum,
    is_array,
    load_as_f64,
    row_stride_bytes,
    row_stride_elements,
    splat,
)

LANES = 8
"""float64 lanes of a vector; row widths are padded to a multiple of this."""

WIDE = "+avx512f" in compile_features()
"""Whether the tiles have 32 vector registers of 512 bits (AVX-512)."""

LOGIT_CHUNK = 48 if WIDE else 128
"""Most vectors per column chunk of the logits. With AVX-512 a chunk of four panel rows
and five coefficient rows (9 x 48 x 64 bytes = 27 kB) stays in L1 while the row tiles walk
it. The one-row AVX2 tiles reuse nothing across rows, so a chunk buys them no locality,
only one more tile call (and horizontal sums) per row and class group: on a Zen 3 core,
128 (the 98 vectors of a 784-pixel row in one chunk) cut the logits of MNIST from 7.5 ms
to 5.1 ms per 8000 rows, and a whole loss + gradient pass from 11-12.4 to 9.2-9.6 ms."""


def _fma(builder):
    return cgutils.get_or_insert_function(
        builder.module, llir.FunctionType(V8F64, [V8F64] * 3), "llvm.fma.v8f64"
    )


def _vec_ptr(builder, ptr, offset):
    return builder.bitcast(builder.gep(ptr, [offset]), V8F64.as_pointer())


def _const(value):
    return llir.Constant(I64, value)


def _f64_matrices(*tys):
    return all(is_array(t, types.float64, 2) for t in tys)


def _row_matrix(ty):
    """Rows the tiles read: any real numeric 2-D array; its columns must be adjacent."""
    return (
        isinstance(ty, types.Array)
        and ty.ndim == 2
        and isinstance(ty.dtype, (types.Integer, types.Float))
    )


def _make_logit_tile(MR, NK):
    @intrinsic
    def tile(typingctx, A, i0, W, k0, j0, nvec, Z, z0):
        """Z[k0 + c, z0 + r] += sum_{j0 <= j < j0 + 8 nvec} A[i0 + r, j] W[k0 + c, j] (r < MR, c < NK).

        A: any real dtype (converted to float64 as it is loaded), adjacent columns.
        """
        if not (_row_matrix(A) and _f64_matrices(W, Z)):
            return None

        def codegen(context, builder, sig, args):
            A_ty, _, W_ty, _, _, _, Z_ty, _ = sig.args
            A_v, i0_v, W_v, k0_v, j0_v, n_v, Z_v, z0_v = args
            allow_512_bit(builder.function)
            fma = _fma(builder)
            a_rows = [
                element_ptr_2d(context, builder, A_ty, A_v, builder.add(i0_v, _const(r)), j0_v)
                for r in range(MR)
            ]
            w_rows = [
                element_ptr_2d(context, builder, W_ty, W_v, builder.add(k0_v, _const(c)), j0_v)
                for c in range(NK)
            ]

            def step(k, accs):
                off = builder.mul(k, _const(LANES))
                av = [load_as_f64(builder, builder.gep(p, [off]), A_ty.dtype) for p in a_rows]
                wv = [builder.load(_vec_ptr(builder, p, off), align=8) for p in w_rows]
                return [
                    builder.call(fma, [av[r], wv[c], accs[r * NK + c]])
                    for r in range(MR)
                    for c in range(NK)
                ]

            sums = emit_tile_loop(builder, n_v, V8F64, MR * NK, step)
            for r in range(MR):
                for c in range(NK):
                    p = element_ptr_2d(
                        context,
                        builder,
                        Z_ty,
                        Z_v,
                        builder.add(k0_v, _const(c)),
                        builder.add(z0_v, _const(r)),
                    )
                    builder.store(
                        builder.fadd(builder.load(p), horizontal_sum(builder, sums[r * NK + c])), p
                    )
            return context.get_dummy_value()

        return types.void(A, i0, W, k0, j0, nvec, Z, z0), codegen

    return tile


def _make_grad_tile(NK, NV):
    @intrinsic
    def tile(typingctx, A, i0, R, n, G, k0, j0):
        """G[k0 + c, j0 + 8 v + l] += sum_{i < n} R[k0 + c, i] A[i0 + i, j0 + 8 v + l], n >= 1.

        A: any real dtype (converted to float64 as it is loaded), adjacent columns.
        """
        if not (_row_matrix(A) and _f64_matrices(R, G)):
            return None

        def codegen(context, builder, sig, args):
            A_ty, _, R_ty, _, G_ty, _, _ = sig.args
            A_v, i0_v, R_v, n_v, G_v, k0_v, j0_v = args
            allow_512_bit(builder.function)
            fma = _fma(builder)
            zero = _const(0)
            i8 = llir.IntType(8)
            a0 = builder.bitcast(
                element_ptr_2d(context, builder, A_ty, A_v, i0_v, j0_v), i8.as_pointer()
            )
            r0 = element_ptr_2d(context, builder, R_ty, R_v, k0_v, zero)
            sa = row_stride_bytes(context, builder, A_ty, A_v)
            sr = row_stride_elements(context, builder, R_ty, R_v)
            elem = context.get_data_type(A_ty.dtype).as_pointer()

            def step(i, accs):
                a_row = builder.bitcast(builder.gep(a0, [builder.mul(i, sa)]), elem)
                r_col = builder.gep(r0, [i])
                av = [
                    load_as_f64(builder, builder.gep(a_row, [_const(LANES * v)]), A_ty.dtype)
                    for v in range(NV)
                ]
                rv = [
                    splat(
                        builder,
                        builder.load(builder.gep(r_col, [builder.mul(sr, _const(c))])),
                        V8F64,
                    )
                    for c in range(NK)
                ]
                return [
                    builder.call(fma, [rv[c], av[v], accs[c * NV + v]])
                    for c in range(NK)
                    for v in range(NV)
                ]

            sums = emit_tile_loop(builder, n_v, V8F64, NK * NV, step)
            for c in range(NK):
                g = element_ptr_2d(context, builder, G_ty, G_v, builder.add(k0_v, _const(c)), j0_v)
                for v in range(NV):
                    p = _vec_ptr(builder, g, _const(LANES * v))
                    builder.store(
                        builder.fadd(builder.load(p, align=8), sums[c * NV + v]), p, align=8
                    )
            return context.get_dummy_value()

        return types.void(A, i0, R, n, G, k0, j0), codegen

    return tile


# Rows of the logit tiles and vectors of the gradient tiles, for 1, 4 and 5 classes.
_LOGIT_MR = (8, 4, 4) if WIDE else (4, 1, 1)
_GRAD_NV = (8, 5, 4) if WIDE else (4, 1, 1)
_logit_1 = _make_logit_tile(_LOGIT_MR[0], 1)
_logit_4 = _make_logit_tile(_LOGIT_MR[1], 4)
_logit_5 = _make_logit_tile(_LOGIT_MR[2], 5)
_grad_1 = _make_grad_tile(1, _GRAD_NV[0])
_grad_4 = _make_grad_tile(4, _GRAD_NV[1])
_grad_5 = _make_grad_tile(5, _GRAD_NV[2])
_grad_1_tail = _make_grad_tile(1, 1)
_grad_4_tail = _make_grad_tile(4, 1)
_grad_5_tail = _make_grad_tile(5, 1)


@jit
def class_tile(K):
    """Classes per tile for K classes: 1 for one logit, else 4 or 5, whichever pads less.

    Each tile shape is code compiled into every kernel that uses the tiles, so there are
    only three; two or three classes take a tile of four (one or two rows of zeros).
    """
    if K == 1:
        return 1
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
    return 8 if nk == 1 else 4


@jit
def logits_block(A, i0, nb, W, Z, nk):
    """Z[k, t] += A[i0 + t] · W[k] for t < nb rounded up to ``logit_rows(nk)``, every k < Kp.

    A: the packed panel (BLOCK, dp) float64, or the rows of X themselves (any real dtype,
    adjacent columns, width a multiple of 8, and the rounded-up rows present). W (Kp, dp),
    Z (at least Kp, BLOCK) float64. Panel rows past nb up to the next multiple of 8 must be
    finite (zero).
    """
    nvec = W.shape[1] // LANES
    mr = logit_rows(nk)
    rows = -(-nb // mr) * mr
    tr = _LOGIT_MR[2] if nk == 5 else _LOGIT_MR[1] if nk == 4 else _LOGIT_MR[0]
    n_chunks = -(-nvec // LOGIT_CHUNK)
    per_chunk = -(-nvec // n_chunks)
    for c0 in range(0, nvec, per_chunk):
        nv = min(per_chunk, nvec - c0)
        j0 = LANES * c0
        for k0 in range(0, W.shape[0], nk):
            for t in range(0, rows, tr):
                if nk == 5:
                    _logit_5(A, i0 + t, W, k0, j0, nv, Z, t)
                elif nk == 4:
                    _logit_4(A, i0 + t, W, k0, j0, nv, Z, t)
                else:
                    _logit_1(A, i0 + t, W, k0, j0, nv, Z, t)


@jit
def grad_block(A, i0, nb, R, G, nk):
    """G[k, :] += sum_{t < nb} R[k, t] A[i0 + t, :] for every k < Kp (nb >= 1).

    A as in ``logits_block``; R (at least Kp, BLOCK), G (Kp, dp) float64.
    """
    dp = G.shape[1]
    nv = _GRAD_NV[2] if nk == 5 else _GRAD_NV[1] if nk == 4 else _GRAD_NV[0]
    full = dp // (LANES * nv) * (LANES * nv)
    # column strips outermost: the strip of A (nb x 8 nv) stays in L1 across the classes
    for j0 in range(0, full, LANES * nv):
        for k0 in range(0, G.shape[0], nk):
            if nk == 5:
                _grad_5(A, i0, R, nb, G, k0, j0)
            elif nk == 4:
                _grad_4(A, i0, R, nb, G, k0, j0)
            else:
                _grad_1(A, i0, R, nb, G, k0, j0)
    for j0 in range(full, dp, LANES):
        for k0 in range(0, G.shape[0], nk):
            if nk == 5:
                _grad_5_tail(A, i0, R, nb, G, k0, j0)
            elif nk == 4:
                _grad_4_tail(A, i0, R, nb, G, k0, j0)
            else:
                _grad_1_tail(A, i0, R, nb, G, k0, j0)


@jit
def reads_in_place(X, nb, nk):
    """Whether the tiles can read a block of ``nb`` rows of X where it is, without packing.

    Needs adjacent columns, a width of whole vectors (the padding columns would be the
    next row's values, and past the last row outside X) and whole row tiles.
    """
    return X.strides[1] == X.itemsize and X.shape[1] % LANES == 0 and nb % logit_rows(nk) == 0


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
