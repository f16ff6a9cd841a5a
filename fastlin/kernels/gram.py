"""Gram statistics of a chunk of rows: XᵀWX (upper triangle), XᵀWY, YᵀWY and sums.

The product XᵀWX is computed the way optimised BLAS does it: each block of rows is packed
into column panels, and a register-tiled micro-kernel keeps an ``_MR x NR`` tile of sums
in vector registers while it walks the block's rows, so there is no horizontal reduction
and each loaded value feeds ``NR`` (or ``_MR``) multiply-adds. The micro-kernels are
written directly in LLVM IR (``numba.extending.intrinsic``) because the auto-vectoriser
turns register-tiled loops into dot products with a reduction per tile.

Three paths, chosen by the dtype of the packing scratch (see ``scratch_shapes``) from the
CPU features Numba compiles for (``byte_path``):

* Exact small-integer path (uint8/int8 X, no weights, CPU with AVX-512 VNNI): blocks of up
  to ``_KB_INT`` rows are packed as bytes, four rows interleaved per 32-bit lane, and
  ``vpdpbusd`` multiplies unsigned by signed bytes, four rows per instruction, into int32
  lanes. uint8 values u enter as u (unsigned side) and u - 128 (signed side), so a tile
  holds sum u_i (u_j - 128) = G_ij - 128 S_i with S the column sums; int8 values x enter
  as x + 128 and x, giving G_ij + 128 S_j. The correction is added exactly afterwards.
  |lane| <= _KB_INT * 255 * 128 < 2**31, and every flushed value is an integer below
  2**53, so the result is exact and has the same bits for any chunk size and thread
  count.
* Exact int16-pair path (uint8/int8 X, no weights, CPU with AVX2 but not AVX-512 VNNI):
  blocks of up to ``_KB_PAIR`` rows are packed as int16, two rows interleaved per 32-bit
  lane, and ``vpmaddwd`` multiplies pairs and adds them into int32 lanes: sixteen
  multiply-adds per instruction against four for float64 FMA on 256-bit vectors. Both
  operands are the values themselves (0..255 or -128..127 fit int16), so no correction
  follows; |lane| <= _KB_PAIR / 2 * 2 * 255**2 < 2**31, flushed exactly to float64 per block.
  The tile is ``_MR_PAIR x _NR_PAIR`` (8 ymm accumulators: the 16 registers of AVX2 hold
  them with the column vectors and a broadcast).
* float64 path (everything else, and the small-integer fallback on other CPUs): blocks of
  ``_KB_F64`` rows packed as float64 panels (the column sums taken in the same read of X),
  FMA tiles of ``_MR_F64 x _NR_F64``: 8 x 16 with AVX-512, 4 x 12 otherwise. Integer data
  stays exact in this path too (products and sums are integers below 2**53).
* float32 path (float32 X with float32 scratch, ``scratch_shapes(..., single=True)``): the
  same, on float32 panels with twice the lanes per vector; each tile's float32 sums over
  one panel are added into the float64 parts.

Accumulators send narrow float chunks to the float paths too, where they beat BLAS (see
``float_tiles_tuned``).

Small chunks (streaming a row at a time) skip packing when that is cheaper: each row is a
rank-1 update over its non-zero entries, in float64, which is exact for integers.

Parallelism is over contiguous row ranges (``bounds``), one private set of accumulators
per range, merged by the caller in a fixed order. The ranges run on Python threads
(``_threads.run_parts``) through serial ``nogil`` part kernels rather than a ``prange``:
a parallel wrapper makes Numba re-optimise the inlined tile code for every signature,
seconds of compiling per dtype for no speed.
"""

import functools

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._numba import jit
from .._threads import run_parts
from .ir_helpers import allow_512_bit as _allow_512_bit
from .ir_helpers import compile_features as _compile_features
from .ir_helpers import data_ptr as _data_ptr
from .ir_helpers import emit_tile_loop as _emit_tile_loop
from .ir_helpers import is_array as _is_array
from .ir_helpers import splat as _splat

BLOCK = 256
"""Row granularity of ``bounds`` and rows per float64 panel (a 256 x 800 float64 panel
fits in L2)."""

_MR = 8
"""Rows of a byte tile (features broadcast from the panel)."""
_NR_INT = 32
"""Columns of an integer tile: two 16-lane int32 vectors."""
_WIDE_F64 = "+avx512f" in _compile_features()
_VW_F64 = 8 if _WIDE_F64 else 4
"""Lanes of a float64 vector: 512-bit registers with AVX-512, else 256-bit."""
_NR_F64 = 16 if _WIDE_F64 else 12
"""Columns of a float64 tile: two 8-lane vectors (AVX-512) or three 4-lane ones."""
_MR_F64 = 8 if _WIDE_F64 else 4
"""Rows of a float64 tile. AVX-512: 16 accumulators of its 32 registers; AVX2: 12
accumulators, the three column vectors and a broadcast fill its 16 (an 8 x 16 tile there
spilled and ran at 1.5x NumPy's syrk time, against 0.6-0.9x for 4 x 12 at d <= 640)."""
_VW_F32, _NR_F32, _MR_F32 = 2 * _VW_F64, 2 * _NR_F64, _MR_F64
"""float32 tiles: the float64 shapes with twice the lanes in the same registers."""
_KB_F64 = 128
"""Rows per float64 (and float32) panel: 128 rather than 256 kept more of the panel in L2
and took 0.7-0.95x the time at d = 128-784 (``BLOCK`` rows fit the scratch either way)."""
_KB_INT = 1024
"""Rows per byte panel: a 32-column sliver (32 KiB) stays in L1 while the tiles of one
column panel are computed, and int32 lanes cannot overflow (1024 * 255 * 128 < 2**31)."""
_MR_PAIR = 4
"""Rows of an AVX2 pair tile: 8 accumulators of 8 int32 plus the two column vectors and
a broadcast fit the 16 ymm registers."""
_NR_PAIR = 16
"""Columns of an AVX2 pair tile: two 8-lane int32 vectors."""
_KB_PAIR = 512
"""Rows per int16 pair panel: a 16-column sliver (16 KiB) stays in L1 while the tiles of
one column panel are computed; int32 lanes cannot overflow (256 * 2 * 255**2 < 2**31)."""
_FEW_ROWS = 64
"""Chunks with at most this many rows may take the rank-1 path (no packing, no threads),
when their non-zero entries are few enough (see ``_gram_few_rows``)."""


# --------------------------------------------------------------------------------------
# Micro-kernels in LLVM IR


def _u8_tile_sums(context, builder, P_ty, P_val, a_off, b_off, n4):
    """Emit the byte tile loop; returns _MR * 2 vectors of 16 int32 sums, row-major."""
    _allow_512_bit(builder.function)
    i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
    v16 = ir.VectorType(i32, 16)
    n_vec = _NR_INT // 16
    base = _data_ptr(context, builder, P_ty, P_val, i8)
    a0 = builder.gep(base, [a_off])
    b0 = builder.gep(base, [b_off])
    dot = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(v16, [v16, v16, v16]), "llvm.x86.avx512.vpdpbusd.512"
    )
    flip = ir.Constant(v16, [0x80808080 - (1 << 32)] * 16)

    def step(k, accs):
        offset = builder.mul(k, ir.Constant(i64, 4 * _NR_INT))
        b_row = builder.gep(b0, [offset])
        bs = []
        for c in range(n_vec):
            ptr = builder.bitcast(builder.gep(b_row, [ir.Constant(i64, 64 * c)]), v16.as_pointer())
            # the column side is the signed operand: byte - 128
            bs.append(builder.xor(builder.load(ptr, align=1), flip))
        a_row = builder.gep(a0, [offset])
        new = []
        for r in range(_MR):
            ptr = builder.bitcast(builder.gep(a_row, [ir.Constant(i64, 4 * r)]), i32.as_pointer())
            a = _splat(builder, builder.load(ptr, align=1), v16)
            for c in range(n_vec):
                new.append(builder.call(dot, [accs[r * n_vec + c], a, bs[c]]))
        return new

    return _emit_tile_loop(builder, n4, v16, _MR * n_vec, step)


def _pair_tile_sums(context, builder, P_ty, P_val, a_off, b_off, n2):
    """Emit the int16-pair tile loop (AVX2 ``vpmaddwd``); returns _MR_PAIR * 2 vectors of
    8 int32 sums, row-major."""
    i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
    v8 = ir.VectorType(i32, 8)
    v16s = ir.VectorType(ir.IntType(16), 16)
    n_vec = _NR_PAIR // 8
    base = _data_ptr(context, builder, P_ty, P_val, i8)
    a0 = builder.gep(base, [a_off])
    b0 = builder.gep(base, [b_off])
    madd = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(v8, [v16s, v16s]), "llvm.x86.avx2.pmadd.wd"
    )

    def step(k, accs):
        offset = builder.mul(k, ir.Constant(i64, 4 * _NR_PAIR))
        b_row = builder.gep(b0, [offset])
        bs = []
        for c in range(n_vec):
            ptr = builder.bitcast(builder.gep(b_row, [ir.Constant(i64, 32 * c)]), v16s.as_pointer())
            bs.append(builder.load(ptr, align=1))
        a_row = builder.gep(a0, [offset])
        new = []
        for r in range(_MR_PAIR):
            ptr = builder.bitcast(builder.gep(a_row, [ir.Constant(i64, 4 * r)]), i32.as_pointer())
            a = builder.bitcast(_splat(builder, builder.load(ptr, align=1), v8), v16s)
            for c in range(n_vec):
                new.append(builder.add(accs[r * n_vec + c], builder.call(madd, [a, bs[c]])))
        return new

    return _emit_tile_loop(builder, n2, v8, _MR_PAIR * n_vec, step)


def _float_shape(dtype):
    """(lanes per vector, tile columns, tile rows) of the float tiles for this dtype."""
    if dtype == types.float32:
        return _VW_F32, _NR_F32, _MR_F32
    return _VW_F64, _NR_F64, _MR_F64


def _float_tile_sums(context, builder, A_ty, A_val, a_off, B_ty, B_val, b_off, nk):
    """Emit the float tile loop (the panels' dtype, float32 or float64); returns
    mr * (nr / vw) vectors of vw sums, row-major, with (vw, nr, mr) = ``_float_shape``."""
    _allow_512_bit(builder.function)
    single = A_ty.dtype == types.float32
    vw, nr, mr = _float_shape(A_ty.dtype)
    elem, i64 = (ir.FloatType() if single else ir.DoubleType()), ir.IntType(64)
    vec = ir.VectorType(elem, vw)
    size = 4 if single else 8
    n_vec = nr // vw
    a0 = builder.gep(_data_ptr(context, builder, A_ty, A_val, elem), [a_off])
    b0 = builder.gep(_data_ptr(context, builder, B_ty, B_val, elem), [b_off])
    fma = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(vec, [vec, vec, vec]),
        f"llvm.fma.v{vw}{'f32' if single else 'f64'}",
    )

    def step(k, accs):
        offset = builder.mul(k, ir.Constant(i64, nr))
        b_row = builder.gep(b0, [offset])
        bs = []
        for c in range(n_vec):
            ptr = builder.bitcast(builder.gep(b_row, [ir.Constant(i64, vw * c)]), vec.as_pointer())
            bs.append(builder.load(ptr, align=size))
        a_row = builder.gep(a0, [offset])
        new = []
        for r in range(mr):
            a = _splat(builder, builder.load(builder.gep(a_row, [ir.Constant(i64, r)])), vec)
            for c in range(n_vec):
                new.append(builder.call(fma, [a, bs[c], accs[r * n_vec + c]]))
        return new

    return _emit_tile_loop(builder, nk, vec, mr * n_vec, step)


def _as_f64(builder, vec):
    if isinstance(vec.type.element, ir.DoubleType):
        return vec
    wide = ir.VectorType(ir.DoubleType(), vec.type.count)
    if isinstance(vec.type.element, ir.FloatType):
        return builder.fpext(vec, wide)
    return builder.sitofp(vec, wide)


def _store_tile(context, builder, sums, C_ty, C_val):
    """C[r * NR + c] = tile sum (r, c), as float64."""
    f64, i64 = ir.DoubleType(), ir.IntType(64)
    C_ptr = _data_ptr(context, builder, C_ty, C_val, f64)
    offset = 0
    for value in sums:
        value = _as_f64(builder, value)
        ptr = builder.bitcast(
            builder.gep(C_ptr, [ir.Constant(i64, offset)]), value.type.as_pointer()
        )
        builder.store(value, ptr, align=8)
        offset += value.type.count


def _add_tile(context, builder, sums, G_ty, G_val, i0, jp, fixes=None, mr=_MR):
    """G[i0 + r, jp + c] += sum (r, c) [+ Frow[i0 + r] + Fcol[jp + c]], G with unit column stride."""
    f64, i8, i64 = ir.DoubleType(), ir.IntType(8), ir.IntType(64)
    G = context.make_array(G_ty)(context, builder, G_val)
    row_stride = cgutils.unpack_tuple(builder, G.strides, 2)[0]
    base = builder.gep(builder.bitcast(G.data, i8.as_pointer()), [builder.mul(i0, row_stride)])
    base = builder.gep(builder.bitcast(base, f64.as_pointer()), [jp])
    per_row = len(sums) // mr
    if fixes is not None:
        (Fr_ty, Fr_val), (Fc_ty, Fc_val) = fixes
        frow = builder.gep(_data_ptr(context, builder, Fr_ty, Fr_val, f64), [i0])
        fcol = builder.gep(_data_ptr(context, builder, Fc_ty, Fc_val, f64), [jp])
    for r in range(mr):
        row = builder.gep(
            builder.bitcast(base, i8.as_pointer()), [builder.mul(ir.Constant(i64, r), row_stride)]
        )
        row = builder.bitcast(row, f64.as_pointer())
        if fixes is not None:
            fr = builder.load(builder.gep(frow, [ir.Constant(i64, r)]))
        offset = 0
        for value in sums[r * per_row : (r + 1) * per_row]:
            value = _as_f64(builder, value)
            vec = value.type
            if fixes is not None:
                fc_ptr = builder.bitcast(
                    builder.gep(fcol, [ir.Constant(i64, offset)]), vec.as_pointer()
                )
                fc = builder.load(fc_ptr, align=8)
                value = builder.fadd(builder.fadd(value, _splat(builder, fr, vec)), fc)
            ptr = builder.bitcast(builder.gep(row, [ir.Constant(i64, offset)]), vec.as_pointer())
            builder.store(builder.fadd(builder.load(ptr, align=8), value), ptr, align=8)
            offset += vec.count


@intrinsic
def _tile_u8(typingctx, P, a_off, b_off, n4, C):
    """C[r * _NR_INT + c] = sum over n4 >= 1 steps of (P[a_off + 4 r] bytes) . (P[b_off + 4 c] bytes - 128).

    P: packed byte panel (1-d uint8); offsets in bytes at step 0, steps ``4 * _NR_INT``
    bytes apart; C: (_MR * _NR_INT,) float64.
    """
    if not (_is_array(P, types.uint8, 1) and _is_array(C, types.float64, 1)):
        return None

    def codegen(context, builder, signature, args):
        sums = _u8_tile_sums(
            context, builder, signature.args[0], args[0], args[1], args[2], args[3]
        )
        _store_tile(context, builder, sums, signature.args[4], args[4])
        return context.get_dummy_value()

    return types.void(P, a_off, b_off, n4, C), codegen


@intrinsic
def _tile_u8_into(typingctx, P, a_off, b_off, n4, G, i0, jp, Frow, Fcol):
    """Like ``_tile_u8`` but G[i0 + r, jp + c] += sum + Frow[i0 + r] + Fcol[jp + c] (whole tile)."""
    if not (
        _is_array(P, types.uint8, 1)
        and _is_array(G, types.float64, 2)
        and _is_array(Frow, types.float64, 1)
        and _is_array(Fcol, types.float64, 1)
    ):
        return None

    def codegen(context, builder, signature, args):
        sums = _u8_tile_sums(
            context, builder, signature.args[0], args[0], args[1], args[2], args[3]
        )
        fixes = ((signature.args[7], args[7]), (signature.args[8], args[8]))
        _add_tile(context, builder, sums, signature.args[4], args[4], args[5], args[6], fixes)
        return context.get_dummy_value()

    return types.void(P, a_off, b_off, n4, G, i0, jp, Frow, Fcol), codegen


@intrinsic
def _tile_pair(typingctx, P, a_off, b_off, n2, C):
    """C[r * _NR_PAIR + c] = sum over n2 >= 1 steps of the int16 pair dot product of word
    ``a_off + 4 r`` with word ``b_off + 4 c`` (byte offsets at step 0, steps
    ``4 * _NR_PAIR`` bytes apart). P: packed int16 pair panel (1-d); C: (_MR_PAIR * _NR_PAIR,)
    float64.
    """
    if not (_is_array(P, types.int16, 1) and _is_array(C, types.float64, 1)):
        return None

    def codegen(context, builder, signature, args):
        sums = _pair_tile_sums(
            context, builder, signature.args[0], args[0], args[1], args[2], args[3]
        )
        _store_tile(context, builder, sums, signature.args[4], args[4])
        return context.get_dummy_value()

    return types.void(P, a_off, b_off, n2, C), codegen


@intrinsic
def _tile_pair_into(typingctx, P, a_off, b_off, n2, G, i0, jp):
    """Like ``_tile_pair`` but G[i0 + r, jp + c] += sum (whole tile)."""
    if not (_is_array(P, types.int16, 1) and _is_array(G, types.float64, 2)):
        return None

    def codegen(context, builder, signature, args):
        sums = _pair_tile_sums(
            context, builder, signature.args[0], args[0], args[1], args[2], args[3]
        )
        _add_tile(context, builder, sums, signature.args[4], args[4], args[5], args[6], mr=_MR_PAIR)
        return context.get_dummy_value()

    return types.void(P, a_off, b_off, n2, G, i0, jp), codegen


def _float_panels(A, B):
    """Whether A and B are float panels of one dtype (float32 or float64, 1-d, C order)."""
    return any(_is_array(A, t, 1) and _is_array(B, t, 1) for t in (types.float32, types.float64))


@intrinsic
def _tile_float(typingctx, A, a_off, B, b_off, nk, C):
    """C[r * nr + c] = sum_k A[a_off + k * nr + r] * B[b_off + k * nr + c], with
    (nr, mr) = (_NR_F64, _MR_F64) for float64 panels and (_NR_F32, _MR_F32) for float32
    ones (summed in that dtype).

    A, B: packed panels (1-d, one dtype); offsets in elements; nk >= 1; C: (mr * nr,)
    float64.
    """
    if not (_float_panels(A, B) and _is_array(C, types.float64, 1)):
        return None

    def codegen(context, builder, signature, args):
        sums = _float_tile_sums(
            context,
            builder,
            signature.args[0],
            args[0],
            args[1],
            signature.args[2],
            args[2],
            args[3],
            args[4],
        )
        _store_tile(context, builder, sums, signature.args[5], args[5])
        return context.get_dummy_value()

    return types.void(A, a_off, B, b_off, nk, C), codegen


@intrinsic
def _tile_float_into(typingctx, A, a_off, B, b_off, nk, G, i0, jp):
    """Like ``_tile_float`` but G[i0 + r, jp + c] += sum (whole tile, in float64)."""
    if not (_float_panels(A, B) and _is_array(G, types.float64, 2)):
        return None
    mr = _float_shape(A.dtype)[2]

    def codegen(context, builder, signature, args):
        sums = _float_tile_sums(
            context,
            builder,
            signature.args[0],
            args[0],
            args[1],
            signature.args[2],
            args[2],
            args[3],
            args[4],
        )
        _add_tile(context, builder, sums, signature.args[5], args[5], args[6], args[7], mr=mr)
        return context.get_dummy_value()

    return types.void(A, a_off, B, b_off, nk, G, i0, jp), codegen


# --------------------------------------------------------------------------------------
# Scratch layout


def _padded(d, width):
    return -(-d // width) * width


@functools.lru_cache(maxsize=None)
def int_tiles_available():
    """Whether the CPU Numba compiles for has AVX-512 VNNI (the exact byte-tile path)."""
    return {"+avx512f", "+avx512bw", "+avx512vnni"} <= _compile_features()


@functools.lru_cache(maxsize=None)
def pair_tiles_available():
    """Whether the CPU Numba compiles for has AVX2 (the exact int16-pair path)."""
    return "+avx2" in _compile_features()


@functools.lru_cache(maxsize=None)
def float_tiles_tuned():
    """Whether the float tiles have a shape benchmarked against BLAS for this CPU: AVX2
    without AVX-512 (4 x 12 float64, 4 x 24 float32). The AVX-512 shapes have not been
    measured against BLAS, so accumulators keep float chunks on BLAS there."""
    return "+avx2" in _compile_features() and not _WIDE_F64


def available_paths():
    """The small-integer paths this CPU can run, fastest first."""
    return tuple(
        p
        for p, ok in (
            ("vnni", int_tiles_available()),
            ("pair", pair_tiles_available()),
            ("float64", True),
        )
        if ok
    )


def byte_path():
    """The exact small-integer path this CPU takes: "vnni", "pair" or "float64"."""
    if int_tiles_available():
        return "vnni"
    if pair_tiles_available():
        return "pair"
    return "float64"


def scratch_shapes(d, n_parts, weighted, small_int, path=None, single=False):
    """Shapes and dtypes of the scratch arrays ``gram_update`` packs rows into.

    Parameters
    ----------
    d : int
        Number of features (columns of X).
    n_parts : int
        Number of row ranges (``len(bounds) - 1``).
    weighted : bool
        Whether sample weights are given.
    small_int : bool
        Whether X is uint8 or int8.
    path : {"vnni", "pair", "float64"}, optional
        The small-integer path (default: ``byte_path()``, the fastest this CPU has); tests
        choose each path the CPU supports.
    single : bool, optional
        float32 X folded with float32 products (float32 panels): each panel's products
        are summed in float32 over at most ``_KB_F64`` rows, then added into the float64
        parts. Otherwise float X is packed as float64 (exact products of float32 values).

    Returns
    -------
    ((P_shape, P_dtype), (A_shape, A_dtype))
        Allocate ``P_parts`` and ``A_parts`` C-contiguous with these; their contents need
        not be initialised. ``P_dtype`` says the path: uint8 for the AVX-512 VNNI byte
        tiles, int16 for the AVX2 pair tiles (both for unweighted uint8/int8 X only),
        float32 for the float32 tiles (``single``), and float64 otherwise.
    """
    if small_int and not weighted:
        path = byte_path() if path is None else path
        if path not in available_paths():
            raise ValueError(
                f"small-integer path {path!r} is not available on this CPU "
                f"(available: {available_paths()})"
            )
        if path == "vnni":
            panel = _KB_INT * _padded(d, _NR_INT)
            return ((n_parts, panel), np.dtype(np.uint8)), ((n_parts, 1), np.dtype(np.float64))
        if path == "pair":
            panel = _KB_PAIR * _padded(d, _NR_PAIR)
            return ((n_parts, panel), np.dtype(np.int16)), ((n_parts, 1), np.dtype(np.float64))
    if single:
        panel, dt = BLOCK * _padded(d, _NR_F32), np.dtype(np.float32)
    else:
        panel, dt = BLOCK * _padded(d, _NR_F64), np.dtype(np.float64)
    return ((n_parts, panel), dt), ((n_parts, panel if weighted else 1), dt)


# --------------------------------------------------------------------------------------
# Packing and per-block pieces


@jit
def _pack_bytes(X, r0, r1, P, n4, flip):
    """Byte panels of rows r0..r1: 32-bit word (c, k4, col) holds X[r0 + 4 k4 + q, 32 c + col]
    in byte q, XOR ``flip``. Missing rows and columns hold the encoding of zero.

    Panel by panel, so the writes are sequential; the full-width case is a separate loop
    on row slices so that LLVM vectorises it.
    """
    d = X.shape[1]
    W = P.view(np.uint32)
    words = n4 * _NR_INT
    low = np.uint32(255)
    flip32 = np.uint32(flip)
    for c in range(0, d, _NR_INT):
        width = min(_NR_INT, d - c)
        for k4 in range(n4):
            ra = r0 + 4 * k4
            nr = min(4, r1 - ra)
            base = (c // _NR_INT) * words + k4 * _NR_INT
            if nr == 4 and width == _NR_INT:
                x0 = X[ra, c : c + _NR_INT]
                x1 = X[ra + 1, c : c + _NR_INT]
                x2 = X[ra + 2, c : c + _NR_INT]
                x3 = X[ra + 3, c : c + _NR_INT]
                for col in range(_NR_INT):
                    W[base + col] = (
                        (np.uint32(x0[col]) & low)
                        | ((np.uint32(x1[col]) & low) << np.uint32(8))
                        | ((np.uint32(x2[col]) & low) << np.uint32(16))
                        | ((np.uint32(x3[col]) & low) << np.uint32(24))
                    ) ^ flip32
            else:
                for col in range(width):
                    word = 0
                    for q in range(nr):
                        word |= (np.int64(X[ra + q, c + col]) & 255) << (8 * q)
                    W[base + col] = word ^ flip
                for col in range(width, _NR_INT):
                    W[base + col] = flip


@jit
def _pack_pairs(X, r0, r1, P, n2):
    """int16 pair panels of rows r0..r1: int16 (c, k2, col, q) holds X[r0 + 2 k2 + q,
    16 c + col]. Missing rows and columns hold zero."""
    d = X.shape[1]
    words = n2 * _NR_PAIR
    for c in range(0, d, _NR_PAIR):
        width = min(_NR_PAIR, d - c)
        for k2 in range(n2):
            ra = r0 + 2 * k2
            base = 2 * ((c // _NR_PAIR) * words + k2 * _NR_PAIR)
            if ra + 1 < r1 and width == _NR_PAIR:
                x0 = X[ra, c : c + _NR_PAIR]
                x1 = X[ra + 1, c : c + _NR_PAIR]
                for col in range(_NR_PAIR):
                    P[base + 2 * col] = x0[col]
                    P[base + 2 * col + 1] = x1[col]
            else:
                for col in range(_NR_PAIR):
                    P[base + 2 * col] = X[ra, c + col] if col < width else 0
                    P[base + 2 * col + 1] = X[ra + 1, c + col] if col < width and ra + 1 < r1 else 0


@jit
def _syrk_pairs(P, n2, d, C, G):
    """G[i, j] += (X_blockᵀ X_block)[i, j] for i <= j from the int16 pair panels.

    Tiles wholly above the diagonal are added to G inside the micro-kernel; diagonal and
    edge tiles go through C and skip i > j. Integer sums: exact.
    """
    panel = n2 * 4 * _NR_PAIR
    for jp in range(0, d, _NR_PAIR):
        b_off = (jp // _NR_PAIR) * panel
        full = jp + _NR_PAIR <= d
        for i0 in range(0, min(jp + _NR_PAIR, d), _MR_PAIR):
            a_off = (i0 // _NR_PAIR) * panel + (i0 % _NR_PAIR) * 4
            if full and i0 + _MR_PAIR - 1 <= jp:
                _tile_pair_into(P, a_off, b_off, n2, G, i0, jp)
                continue
            _tile_pair(P, a_off, b_off, n2, C)
            for r in range(min(_MR_PAIR, d - i0)):
                i = i0 + r
                for c in range(max(i - jp, 0), min(_NR_PAIR, d - jp)):
                    G[i, jp + c] += C[r * _NR_PAIR + c]


def _panel_shape(P):
    """(nr, mr): tile columns and rows of the float panels P (by dtype), as compile-time
    constants, so that the packing and tile loops are unrolled for them."""
    raise NotImplementedError("only callable from compiled code")


@overload(_panel_shape, inline="always")
def _panel_shape_impl(P):
    _, nr, mr = _float_shape(P.dtype)
    return lambda P: (nr, mr)


@jit
def _pack_float(X, w, weighted, r0, r1, P, A, S):
    """Float panels (P's dtype) of rows r0..r1: P[(c, k, col)] = X[r0 + k, nr c + col],
    A = w * P; S[j] = sum_k w_k X[r0 + k, j] in float64, in row order (the packing read is
    the only read of X)."""
    nr = _panel_shape(P)[0]
    d = X.shape[1]
    nk = r1 - r0
    full = d - d % nr
    S[:] = 0.0
    for k in range(nk):
        x = X[r0 + k]
        # Separate loops: a copy, then a sum over the row just read (in L1), each
        # vectorised; one fused loop carries a possible P/S alias and stays scalar.
        for c in range(0, full, nr):
            base = (c // nr) * nk * nr + k * nr
            for col in range(nr):
                P[base + col] = x[c + col]
        if full < d:
            base = (full // nr) * nk * nr + k * nr
            for col in range(d - full):
                P[base + col] = x[full + col]
            for col in range(d - full, nr):
                P[base + col] = 0.0
        if weighted:
            wk = w[r0 + k]
            for j in range(d):
                S[j] += wk * np.float64(x[j])
            for c in range(0, d, nr):
                base = (c // nr) * nk * nr + k * nr
                for col in range(nr):
                    A[base + col] = wk * P[base + col]
        else:
            for j in range(d):
                S[j] += np.float64(x[j])


@jit
def _syrk_bytes(P, n4, d, signed, S, C, G):
    """G[i, j] += (X_blockᵀ X_block)[i, j] for i <= j from the byte panels; S: column sums.

    A tile holds G_ij - 128 S_i (uint8) or G_ij + 128 S_j (int8); the correction is a row
    term plus a column term. Tiles wholly above the diagonal are added to G inside the
    micro-kernel; diagonal and edge tiles go through C and skip i > j.
    """
    panel = n4 * 4 * _NR_INT
    fix_row = np.zeros(d)
    fix_col = np.zeros(_padded_jit(d, _NR_INT))
    for j in range(d):
        if signed:
            fix_col[j] = -128.0 * S[j]
        else:
            fix_row[j] = 128.0 * S[j]
    for jp in range(0, d, _NR_INT):
        b_off = (jp // _NR_INT) * panel
        full = jp + _NR_INT <= d
        for i0 in range(0, min(jp + _NR_INT, d), _MR):
            a_off = (i0 // _NR_INT) * panel + (i0 % _NR_INT) * 4
            if full and i0 + _MR - 1 <= jp:
                _tile_u8_into(P, a_off, b_off, n4, G, i0, jp, fix_row, fix_col)
                continue
            _tile_u8(P, a_off, b_off, n4, C)
            for r in range(min(_MR, d - i0)):
                i = i0 + r
                for c in range(max(i - jp, 0), min(_NR_INT, d - jp)):
                    G[i, jp + c] += (C[r * _NR_INT + c] + fix_row[i]) + fix_col[jp + c]


@jit
def _syrk_float(A, P, nk, d, C, G):
    """G[i, j] += sum_k A[k, i] P[k, j] for i <= j from float panels of nk rows."""
    nr, mr = _panel_shape(P)
    panel = nk * nr
    for jp in range(0, d, nr):
        b_off = (jp // nr) * panel
        full = jp + nr <= d
        for i0 in range(0, min(jp + nr, d), mr):
            a_off = (i0 // nr) * panel + i0 % nr
            if full and i0 + mr - 1 <= jp:
                _tile_float_into(A, a_off, P, b_off, nk, G, i0, jp)
                continue
            _tile_float(A, a_off, P, b_off, nk, C)
            for r in range(min(mr, d - i0)):
                i = i0 + r
                for c in range(max(i - jp, 0), min(nr, d - jp)):
                    G[i, jp + c] += C[r * nr + c]


@jit
def _padded_jit(d, width):
    return -(-d // width) * width


@jit
def column_sums(X, w, weighted, r0, r1, S):
    """S[j] = sum over rows r0..r1 of w_k X[k, j] (w_k = 1 when unweighted)."""
    S[:] = 0.0
    for k in range(r0, r1):
        wk = w[k] if weighted else 1.0
        for j in range(X.shape[1]):
            S[j] += wk * X[k, j]


@jit
def add_block(G, B, X, w, weighted, sx):
    """Fold one block's BLAS products into float64 sums.

    G (d, d) float64 gains the upper triangle of B (d, d; float32 or float64, the
    block's XᵀX as syrk leaves it; the lower triangle is not read); sx (d,) float64 is
    set to the column sums Σ w_k X[k, :] of X (m, d), with w (m,) read only when
    ``weighted``. Serial: between two BLAS calls, whose threads still spin, a second
    thread of ours slowed the blocks of a d = 128 Gram by a third.
    """
    d = G.shape[0]
    for i in range(d):
        for j in range(i, d):
            G[i, j] += B[i, j]
    column_sums(X, w, weighted, 0, X.shape[0], sx)


@jit
def _cross_rows(X, Y, w, weighted, r0, r1, T):
    """T[t, j] += sum over rows of w_k Y[k, t] X[k, j] (zero targets skipped: one-hot Y)."""
    for k in range(r0, r1):
        wk = w[k] if weighted else 1.0
        for t in range(Y.shape[1]):
            wy = wk * Y[k, t]
            if wy != 0.0:
                for j in range(X.shape[1]):
                    T[t, j] += wy * X[k, j]


@jit
def _target_rows(Y, w, weighted, r0, r1, ys, yty, sw):
    """Sums of targets, YᵀWY (upper triangle) and the total weight of rows r0..r1."""
    n_t = Y.shape[1]
    total = 0.0
    for k in range(r0, r1):
        wk = w[k] if weighted else 1.0
        total += wk
        for t in range(n_t):
            wy = wk * Y[k, t]
            ys[t] += wy
            for u in range(t, n_t):
                yty[t, u] += wy * Y[k, u]
    sw[0] += total


# --------------------------------------------------------------------------------------
# One part (row range) of the chunk


@jit
def _part_bytes(X, Y, lo, hi, P, flip, xtx, xty, xs, ys, yty, sw):
    d = X.shape[1]
    C = np.empty(_MR * _NR_INT)
    S = np.empty(d)
    T = np.zeros((Y.shape[1], d))
    w = np.empty(0)
    for r0 in range(lo, hi, _KB_INT):
        r1 = min(r0 + _KB_INT, hi)
        n4 = (r1 - r0 + 3) // 4
        _pack_bytes(X, r0, r1, P, n4, flip)
        column_sums(X, w, False, r0, r1, S)
        _syrk_bytes(P, n4, d, flip != 0, S, C, xtx)
        for j in range(d):
            xs[j] += S[j]
        _cross_rows(X, Y, w, False, r0, r1, T)
        _target_rows(Y, w, False, r0, r1, ys, yty, sw)
    for j in range(d):
        for t in range(Y.shape[1]):
            xty[j, t] += T[t, j]


@jit
def _part_pairs(X, Y, lo, hi, P, xtx, xty, xs, ys, yty, sw):
    d = X.shape[1]
    C = np.empty(_MR_PAIR * _NR_PAIR)
    S = np.empty(d)
    T = np.zeros((Y.shape[1], d))
    w = np.empty(0)
    for r0 in range(lo, hi, _KB_PAIR):
        r1 = min(r0 + _KB_PAIR, hi)
        n2 = (r1 - r0 + 1) // 2
        _pack_pairs(X, r0, r1, P, n2)
        column_sums(X, w, False, r0, r1, S)
        _syrk_pairs(P, n2, d, C, xtx)
        for j in range(d):
            xs[j] += S[j]
        _cross_rows(X, Y, w, False, r0, r1, T)
        _target_rows(Y, w, False, r0, r1, ys, yty, sw)
    for j in range(d):
        for t in range(Y.shape[1]):
            xty[j, t] += T[t, j]


@jit
def _part_float(X, Y, w, lo, hi, P, A, xtx, xty, xs, ys, yty, sw):
    d = X.shape[1]
    weighted = w.shape[0] > 0
    nr, mr = _panel_shape(P)
    C = np.empty(mr * nr)
    S = np.empty(d)
    T = np.zeros((Y.shape[1], d))
    for r0 in range(lo, hi, _KB_F64):
        r1 = min(r0 + _KB_F64, hi)
        _pack_float(X, w, weighted, r0, r1, P, A, S)
        _syrk_float(A if weighted else P, P, r1 - r0, d, C, xtx)
        for j in range(d):
            xs[j] += S[j]
        _cross_rows(X, Y, w, weighted, r0, r1, T)
        _target_rows(Y, w, weighted, r0, r1, ys, yty, sw)
    for j in range(d):
        for t in range(Y.shape[1]):
            xty[j, t] += T[t, j]


@jit
def _gram_few_rows(X, Y, w, lo, hi, xtx_parts, xty_parts, xs_parts, ys_parts, yty_parts, sw_parts):
    """Rank-1 updates over each row's non-zero entries, into part 0 (exact for integers).

    Returns False, having changed nothing, when the rows are dense enough that packing
    is cheaper: rank-1 updates touch sum_k nnz_k**2 / 2 entries of G, a packed pass
    touches all d**2 / 2 once.
    """
    d = X.shape[1]
    n_t = Y.shape[1]
    weighted = w.shape[0] > 0
    if hi - lo > 1:
        work = 0
        for k in range(lo, hi):
            m = 0
            for j in range(d):
                if X[k, j] != 0:
                    m += 1
            work += m * m
        if work > d * d:
            return False
    G = xtx_parts[0]
    xty = xty_parts[0]
    xs = xs_parts[0]
    nz = np.empty(d, np.int64)
    vals = np.empty(d)
    tz = np.empty(n_t, np.int64)
    for k in range(lo, hi):
        wk = w[k] if weighted else 1.0
        n_nz_t = 0  # non-zero targets only: one-hot rows have a single one
        for t in range(n_t):
            if Y[k, t] != 0.0:
                tz[n_nz_t] = t
                n_nz_t += 1
        m = 0
        for j in range(d):
            if X[k, j] != 0:
                nz[m] = j
                vals[m] = X[k, j]
                m += 1
        dense = 2 * m > d
        for a in range(m):
            i = nz[a]
            xi = wk * vals[a]
            xs[i] += xi
            Gi = G[i]
            if dense:
                for j in range(i, d):
                    Gi[j] += xi * X[k, j]
            else:
                for b in range(a, m):
                    Gi[nz[b]] += xi * vals[b]
            for q in range(n_nz_t):
                xty[i, tz[q]] += xi * Y[k, tz[q]]
    _target_rows(Y, w, weighted, lo, hi, ys_parts[0], yty_parts[0], sw_parts[0])
    return True


def gram_update(
    X, Y, w, bounds, P_parts, A_parts, xtx_parts, xty_parts, xs_parts, ys_parts, yty_parts, sw_parts
):
    """Fold rows of X (n, d) and Y (n, t) into per-part Gram statistics.

    Parameters
    ----------
    X : (n, d) uint8, integer, float32 or float64, C or F order (read-only is fine)
    Y : (n, t) float64
    w : (n,) float64 sample weights, or an empty array for unit weights
    bounds : (P + 1,) int64 row boundaries of the P parts, from
        ``row_ranges(n, n_parts, BLOCK)``
    P_parts, A_parts : packing scratch, allocated as ``scratch_shapes`` says (for the
        same d, P, weighting and X dtype); contents need not be initialised
    xtx_parts : (P, d, d) float64; the upper triangle (i <= j) is accumulated, the
        strictly lower triangle is left untouched
    xty_parts : (P, d, t), xs_parts : (P, d), ys_parts : (P, t), yty_parts : (P, t, t)
        (upper triangle), sw_parts : (P, 1), all float64, accumulated into

    Notes
    -----
    Unweighted uint8/int8 X gives exact integer statistics (the same bits for any chunk
    size and thread count); other inputs are accumulated in float64, from float32
    products summed over at most ``_KB_F64`` rows when the scratch is float32 (each
    entry of XᵀWX then within (_KB_F64 + 1) 2**-24 of the matching entry of |X|ᵀW|X|,
    plus the float64 rounding of the panel sums; column sums, XᵀWY and YᵀWY in float64).
    """
    n_parts = bounds.shape[0] - 1
    int_scratch = P_parts.dtype in (np.uint8, np.int16)
    if int_scratch and (X.dtype not in (np.uint8, np.int8) or w.shape[0] > 0):
        raise ValueError(
            "byte or pair packing scratch needs unweighted uint8 or int8 X; use scratch_shapes"
        )
    if P_parts.dtype == np.float32 and X.dtype != np.float32:
        raise ValueError(
            f"float32 packing scratch needs float32 X, got {X.dtype}; use scratch_shapes"
        )
    if not xtx_parts.flags.c_contiguous:
        raise ValueError("xtx_parts must be C-contiguous")
    if n_parts < 1 or bounds[n_parts] <= bounds[0]:
        return
    if (
        n_parts == 1
        and bounds[1] - bounds[0] <= _FEW_ROWS
        and _gram_few_rows(
            X,
            Y,
            w,
            bounds[0],
            bounds[1],
            xtx_parts,
            xty_parts,
            xs_parts,
            ys_parts,
            yty_parts,
            sw_parts,
        )
    ):
        return
    # Parts run on Python threads (the part kernels release the GIL): a prange wrapper
    # recompiles the whole inlined part kernel, about 5 s per dtype and layout.
    if P_parts.dtype == np.int16:

        def part(p):
            _part_pairs(
                X,
                Y,
                bounds[p],
                bounds[p + 1],
                P_parts[p],
                xtx_parts[p],
                xty_parts[p],
                xs_parts[p],
                ys_parts[p],
                yty_parts[p],
                sw_parts[p],
            )
    elif P_parts.dtype == np.uint8:
        flip = 0x80808080 if X.dtype == np.int8 else 0

        def part(p):
            _part_bytes(
                X,
                Y,
                bounds[p],
                bounds[p + 1],
                P_parts[p],
                flip,
                xtx_parts[p],
                xty_parts[p],
                xs_parts[p],
                ys_parts[p],
                yty_parts[p],
                sw_parts[p],
            )
    else:

        def part(p):
            _part_float(
                X,
                Y,
                w,
                bounds[p],
                bounds[p + 1],
                P_parts[p],
                A_parts[p],
                xtx_parts[p],
                xty_parts[p],
                xs_parts[p],
                ys_parts[p],
                yty_parts[p],
                sw_parts[p],
            )

    run_parts(part, n_parts)
