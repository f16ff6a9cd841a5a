"""Helpers for micro-kernels written in LLVM IR (``numba.extending.intrinsic``).

The auto-vectoriser turns register-tiled loops into dot products with a reduction per
tile, and on CPUs tuned with prefer-256-bit it splits 512-bit vectors in two. Kernels that
need a tile of sums held in vector registers build it here instead: a counted loop whose
body the caller emits, carrying the sums as SSA values.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils

I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()
V8F64 = ir.VectorType(F64, 8)


def allow_512_bit(fn):
    # Recent x86 CPUs are tuned with prefer-256-bit, under which LLVM splits 512-bit
    # vectors in two. This per-function attribute makes them legal here only, so the
    # tiles use zmm registers without touching how any other code is compiled.
    #
    # There is no supported interface for it. llvmlite's FunctionAttributes (checked up
    # to llvmlite 0.50) accepts only the keyword attributes in its ``_known`` list; LLVM
    # string attributes (key="value") have no API. The supported switch, Numba's
    # NUMBA_CPU_FEATURES="-prefer-256-bit", is process-wide: it would change how every
    # Numba function in the user's process is compiled. So the key="value" string is
    # added to the attribute set's underlying ``set``, which llvmlite prints verbatim
    # into the IR. Should a llvmlite release store attributes differently, the attribute
    # is left out: the tiles stay correct, with 512-bit vectors split in two. Without
    # AVX-512 LLVM ignores the attribute.
    try:
        set.add(fn.attributes, '"min-legal-vector-width"="512"')
    except TypeError:
        pass


def compile_features():
    """The CPU features Numba compiles for (``NUMBA_CPU_FEATURES``, else the host's), as a
    set of "+name" strings: tiles are shaped and instructions chosen from these."""
    from numba.core import config
    from numba.core.codegen import get_host_cpu_features

    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return set(features.split(","))


def is_array(ty, dtype, ndim):
    """Whether ``ty`` is a C-contiguous Numba array of this dtype and rank."""
    return (
        isinstance(ty, types.Array) and ty.dtype == dtype and ty.ndim == ndim and ty.layout == "C"
    )


def splat(builder, value, vec_type):
    """A vector with every lane equal to the scalar ``value``."""
    undef = ir.Constant(vec_type, ir.Undefined)
    one = builder.insert_element(undef, value, ir.Constant(I32, 0))
    mask = ir.Constant(ir.VectorType(I32, vec_type.count), [0] * vec_type.count)
    return builder.shuffle_vector(one, undef, mask)


def emit_tile_loop(builder, n_steps, acc_type, n_acc, step):
    """Emit ``for k in range(n_steps)`` (n_steps >= 1) carrying ``n_acc`` vector sums.

    ``step(k, accs) -> new accs`` emits one iteration. Returns the final sums.
    """
    entry = builder.basic_block
    loop = builder.append_basic_block("tile.loop")
    done = builder.append_basic_block("tile.done")
    builder.branch(loop)
    builder.position_at_end(loop)
    k = builder.phi(I64)
    k.add_incoming(ir.Constant(I64, 0), entry)
    accs = []
    for _ in range(n_acc):
        phi = builder.phi(acc_type)
        phi.add_incoming(ir.Constant(acc_type, None), entry)
        accs.append(phi)
    new = step(k, accs)
    k_next = builder.add(k, ir.Constant(I64, 1))
    k.add_incoming(k_next, builder.basic_block)
    for phi, value in zip(accs, new):
        phi.add_incoming(value, builder.basic_block)
    builder.cbranch(builder.icmp_signed("<", k_next, n_steps), loop, done)
    builder.position_at_end(done)
    return new


def data_ptr(context, builder, ty, val, elem):
    """Pointer to the first element of an array argument, typed as ``elem``."""
    return builder.bitcast(context.make_array(ty)(context, builder, val).data, elem.as_pointer())


def element_ptr_2d(context, builder, ty, val, row, col):
    """``&M[row, col]`` of a matrix whose columns are adjacent (any row stride)."""
    arr = context.make_array(ty)(context, builder, val)
    row_stride = cgutils.unpack_tuple(builder, arr.strides, 2)[0]
    i8 = ir.IntType(8)
    base = builder.gep(builder.bitcast(arr.data, i8.as_pointer()), [builder.mul(row, row_stride)])
    elem = context.get_data_type(ty.dtype)
    return builder.gep(builder.bitcast(base, elem.as_pointer()), [col])


def load_as_f64(builder, ptr, dtype, lanes=8):
    """Load ``lanes`` adjacent elements of Numba type ``dtype`` at ``ptr`` as float64 lanes.

    Integers convert exactly (up to 2**53), float32 widens exactly. No alignment is assumed.
    """
    vec_in = ir.VectorType(ptr.type.pointee, lanes)
    value = builder.load(builder.bitcast(ptr, vec_in.as_pointer()), align=1)
    vec_out = ir.VectorType(F64, lanes)
    if isinstance(dtype, types.Float):
        return value if dtype.bitwidth == 64 else builder.fpext(value, vec_out)
    if dtype.signed:
        return builder.sitofp(value, vec_out)
    return builder.uitofp(value, vec_out)


def row_stride_bytes(context, builder, ty, val):
    """Row stride of a matrix in bytes."""
    arr = context.make_array(ty)(context, builder, val)
    return cgutils.unpack_tuple(builder, arr.strides, 2)[0]


def row_stride_elements(context, builder, ty, val):
    """Row stride of a float64 matrix in elements."""
    return builder.sdiv(row_stride_bytes(context, builder, ty, val), ir.Constant(I64, 8))


def horizontal_sum(builder, vec):
    """Sum of the lanes of a float64 vector, as a halving tree (log2(lanes) adds)."""
    n = vec.type.count
    undef = ir.Constant(vec.type, ir.Undefined)
    while n > 1:
        half = n // 2
        lo = builder.shuffle_vector(
            vec, undef, ir.Constant(ir.VectorType(I32, half), list(range(half)))
        )
        hi = builder.shuffle_vector(
            vec, undef, ir.Constant(ir.VectorType(I32, half), list(range(half, n)))
        )
        vec = builder.fadd(lo, hi)
        undef = ir.Constant(vec.type, ir.Undefined)
        n = half
    return builder.extract_element(vec, ir.Constant(I32, 0))
