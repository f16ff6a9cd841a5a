"""The Gram kernel against NumPy/int64 references: dtypes, shapes, layouts, weights,
threads, chunking, and the MNIST-sized exactness check."""

import gzip

import numpy as np
import pytest

from fastlin._threads import row_ranges, threads
from fastlin.kernels import gram
from naive_gram import NAMES, gram_reference

# float64 accumulation in panels of 128 rows against BLAS: a few ulps of the largest
# |entry| of each statistic (mixed-sign data can cancel, so not elementwise).
RTOL = 1e-12


def run_kernel(X, Y, w=None, chunk=None, n_threads=1, byte_path=None, path=None, single=False):
    """Feed X in chunks to ``gram_update`` as an accumulator would; return merged stats.

    Parts and scratch are allocated once and accumulated into across chunks (a chunk
    with fewer row ranges uses the leading parts), then summed in part order.
    byte_path=False forces the float64 scratch (the path CPUs without AVX2 take); ``path``
    chooses one of the small-integer paths this CPU has (``gram.available_paths()``);
    ``single`` packs float32 X into float32 panels.
    """
    n, d = X.shape
    t = Y.shape[1]
    chunk = chunk or max(n, 1)
    small_int = X.dtype in (np.uint8, np.int8) if byte_path is None else byte_path
    weighted = w is not None
    w_all = np.empty(0) if w is None else w
    (ps, pdt), (as_, adt) = gram.scratch_shapes(
        d, n_threads, weighted, small_int, path, single=single
    )
    P, A = np.empty(ps, pdt), np.empty(as_, adt)
    parts = [
        np.zeros((n_threads, d, d)),
        np.zeros((n_threads, d, t)),
        np.zeros((n_threads, d)),
        np.zeros((n_threads, t)),
        np.zeros((n_threads, t, t)),
        np.zeros((n_threads, 1)),
    ]
    per_length = {}  # bounds and leading-part views, by chunk length (cheap chunks of 1)
    with threads(n_threads):
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            if stop - start not in per_length:
                bounds = row_ranges(stop - start, n_threads, gram.BLOCK)
                p = bounds.shape[0] - 1
                per_length[stop - start] = (bounds, P[:p], A[:p], [part[:p] for part in parts])
            bounds, P_p, A_p, parts_p = per_length[stop - start]
            gram.gram_update(
                X[start:stop],
                Y[start:stop],
                w_all[start:stop] if weighted else w_all,
                bounds,
                P_p,
                A_p,
                *parts_p,
            )
    return {name: part.sum(axis=0) for name, part in zip(NAMES, parts)}


def _ints(rng, shape, dtype):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -3000), min(info.max, 3000)
    X = rng.integers(lo, hi, size=shape, endpoint=True)
    X.ravel()[::7] = 0  # zeros and both extremes, so packing and sparsity paths are hit
    X.ravel()[1::11] = lo
    X.ravel()[2::13] = hi
    if shape[1] > 2:
        X[:, 1] = 0  # an all-zero column
    return X.astype(dtype)


def _one_hot(rng, n, t=3):
    return np.eye(t)[rng.integers(0, t, n)]


def _assert_exact(got, ref):
    for name in NAMES:
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)


def _assert_close(got, ref, rtol=RTOL):
    for name in NAMES:
        scale = max(np.abs(ref[name]).max(initial=0.0), 1e-300)
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=rtol * scale, err_msg=name)


SHAPES = [(1, 1), (3, 1), (300, 1), (5, 40), (20, 50), (257, 3), (1100, 37), (2100, 70)]


PATHS = gram.available_paths()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_small_int_exact(rng, path, dtype, shape, n_threads):
    X = _ints(rng, shape, dtype)
    Y = _one_hot(rng, shape[0])
    got = run_kernel(X, Y, n_threads=n_threads, path=path)
    _assert_exact(got, gram_reference(X, Y))
    assert not np.tril(got["xtx"], -1).any(), "strictly lower triangle must stay untouched"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_small_int_extremes_exact(path, dtype):
    # every entry at the extreme of its dtype over many rows: the largest lane sums
    info = np.iinfo(dtype)
    for value in (info.min, info.max):
        X = np.full((3 * 1024 + 5, 35), value, dtype)
        X[::3, 4] = 0
        Y = np.ones((X.shape[0], 1))
        _assert_exact(run_kernel(X, Y, n_threads=2, path=path), gram_reference(X, Y))


def test_the_fastest_small_int_path_is_chosen():
    (_, pdt), _ = gram.scratch_shapes(10, 1, False, True)
    expect = {"vnni": np.uint8, "pair": np.int16, "float64": np.float64}[gram.byte_path()]
    assert pdt == expect and gram.byte_path() == PATHS[0]
    with pytest.raises(ValueError, match="not available"):
        gram.scratch_shapes(10, 1, False, True, "no-such-path")


@pytest.mark.parametrize(("dtype", "order"), [(np.uint8, "C"), (np.int8, "F")])
def test_small_int_float64_fallback_exact(rng, dtype, order):
    # the path CPUs without AVX2 take for uint8/int8 (and weighted rows) is exact too
    X = np.asarray(_ints(rng, (1030, 45), dtype), order=order)
    Y = _one_hot(rng, 1030)
    _assert_exact(run_kernel(X, Y, n_threads=2, byte_path=False), gram_reference(X, Y))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("sparse", [False, True])
def test_small_int_chunk_and_thread_invariance(rng, path, dtype, sparse):
    # sparse rows make chunks of 7 take the rank-1 path, dense rows the packed one
    n, d = 2600, 45
    X = _ints(rng, (n, d), dtype)
    if sparse:
        X[rng.random((n, d)) < 0.9] = 0
    Y = _one_hot(rng, n, 4)
    ref = gram_reference(X, Y)
    for chunk in (1, 7, 256, 1000, n):
        for n_threads in (1, 2):
            _assert_exact(run_kernel(X, Y, chunk=chunk, n_threads=n_threads, path=path), ref)


def test_fortran_order_read_only(rng):
    # (Fortran order on the float64 path: the int8 fallback case above)
    n, d = 1300, 33
    X = np.asfortranarray(_ints(rng, (n, d), np.uint8))
    X.flags.writeable = False
    Y = _one_hot(rng, n)
    ref = gram_reference(X, Y)
    _assert_exact(run_kernel(X, Y, n_threads=2), ref)
    _assert_exact(run_kernel(X, Y, chunk=5, n_threads=1), ref)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (20, 50), (700, 1), (1100, 37)])
@pytest.mark.parametrize("weighted", [False, True])
def test_general_dtypes_match_numpy(rng, dtype, shape, weighted):
    n, d = shape
    if np.dtype(dtype).kind == "i":
        X = _ints(rng, shape, dtype)
    else:
        X = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    Y = rng.standard_normal((n, 2))
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    ref = gram_reference(X, Y, w)
    for n_threads in (1, 2):
        _assert_close(run_kernel(X, Y, w, n_threads=n_threads), ref)
    _assert_close(run_kernel(X, Y, w, chunk=300, n_threads=2), ref)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (130, 24), (300, 25), (1100, 49)])
@pytest.mark.parametrize("weighted", [False, True])
def test_float32_panels_within_their_bound(rng, shape, weighted):
    """float32 panels: XᵀWX within (_KB_F64 + 1) 2**-24 of |X|ᵀW|X| per entry (float32
    products summed over one panel, then float64), for any threads and chunking; the
    other statistics are float64 sums (rtol 1e-12)."""
    n, d = shape
    X = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    Y = rng.standard_normal((n, 2))
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    ref = gram_reference(X, Y, w)
    sw = np.ones(n) if w is None else w
    A = np.abs(X.astype(np.float64))
    bound = (gram._KB_F64 + 1) * 2.0**-24 * (A.T @ (sw[:, None] * A))
    upper = np.triu(np.ones((d, d), bool))
    for n_threads, chunk in ((1, None), (2, None), (2, 97)):
        got = run_kernel(X, Y, w, chunk=chunk, n_threads=n_threads, single=True)
        assert np.all(np.abs(got["xtx"] - ref["xtx"])[upper] <= bound[upper])
        for name in NAMES:
            if name != "xtx":
                np.testing.assert_allclose(
                    got[name],
                    ref[name],
                    rtol=RTOL,
                    atol=RTOL * np.abs(ref[name]).max(),
                    err_msg=name,
                )


def test_weighted_uint8(rng):
    n, d = 900, 29
    X = _ints(rng, (n, d), np.uint8)
    Y = _one_hot(rng, n)
    w = rng.uniform(0.0, 3.0, n)
    ref = gram_reference(X, Y, w)
    _assert_close(run_kernel(X, Y, w, n_threads=2), ref)
    _assert_close(run_kernel(X, Y, w, chunk=3, n_threads=1), ref)


def test_accumulates_into_existing_parts(rng):
    X = _ints(rng, (600, 20), np.uint8)
    Y = _one_hot(rng, 600)
    ref = gram_reference(X, Y)
    bounds = row_ranges(600, 1, gram.BLOCK)
    (ps, pdt), (as_, adt) = gram.scratch_shapes(20, 1, False, True)
    P, A = np.empty(ps, pdt), np.empty(as_, adt)
    parts = [
        np.ones((1, 20, 20)),
        np.ones((1, 20, 3)),
        np.ones((1, 20)),
        np.ones((1, 3)),
        np.ones((1, 3, 3)),
        np.ones((1, 1)),
    ]
    gram.gram_update(X, Y, np.empty(0), bounds, P, A, *parts)
    for name, part in zip(NAMES, parts):
        expect = ref[name] + 1.0
        if name in ("xtx", "yty"):
            expect = np.where(np.triu(np.ones_like(expect)) > 0, expect, 1.0)
        np.testing.assert_array_equal(part[0], expect, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (37, 5), (300, 129)])
@pytest.mark.parametrize("weighted", [False, True])
def test_add_block_matches_numpy(rng, dtype, shape, weighted):
    m, d = shape
    X = rng.standard_normal(shape).astype(dtype)
    B = (X.T @ X).astype(dtype)
    w = rng.uniform(0.5, 2.0, m) if weighted else np.empty(0)
    G = rng.standard_normal((d, d))
    before = G.copy()
    sx = np.full(d, np.nan)  # set, not added to
    gram.add_block(G, B, X, w, weighted, sx)
    upper = np.triu(np.ones((d, d), bool))
    # float64 sums of the block's entries: one rounding per added entry.
    np.testing.assert_allclose(G[upper], (before + B.astype(np.float64))[upper], rtol=1e-15)
    np.testing.assert_array_equal(G[~upper], before[~upper])
    ref = ((w if weighted else np.ones(m))[:, None] * X.astype(np.float64)).sum(axis=0)
    scale = ((w if weighted else np.ones(m))[:, None] * np.abs(X.astype(np.float64))).sum(axis=0)
    assert np.all(np.abs(sx - ref) <= m * 2.0**-52 * scale)


def test_scratch_shapes():
    (ps, pdt), (as_, adt) = gram.scratch_shapes(784, 2, True, True)
    assert pdt == np.float64 and adt == np.float64 and ps == as_ and ps[0] == 2
    (ps, pdt), (as_, adt) = gram.scratch_shapes(10, 3, False, False)
    assert pdt == np.float64 and as_ == (3, 1)
    (ps, pdt), _ = gram.scratch_shapes(10, 1, False, True, "float64")
    assert pdt == np.float64
    (ps, pdt), (as_, adt) = gram.scratch_shapes(10, 2, True, False, single=True)
    assert pdt == np.float32 and adt == np.float32 and ps == as_
    assert ps == (2, gram.BLOCK * gram._padded(10, gram._NR_F32))


@pytest.mark.parametrize("path", [p for p in PATHS if p != "float64"] + ["float32"])
def test_integer_scratch_rejects_other_dtypes(rng, path):
    """Byte and pair scratch refuse float X; float32 scratch refuses float64 X."""
    X = rng.standard_normal((300, 4))
    if path == "float32":
        (ps, pdt), (as_, adt) = gram.scratch_shapes(4, 1, False, False, single=True)
    else:
        (ps, pdt), (as_, adt) = gram.scratch_shapes(4, 1, False, True, path)
    parts = [
        np.zeros((1, 4, 4)),
        np.zeros((1, 4, 1)),
        np.zeros((1, 4)),
        np.zeros((1, 1)),
        np.zeros((1, 1, 1)),
        np.zeros((1, 1)),
    ]
    message = "needs float32 X, got float64" if path == "float32" else "uint8 or int8"
    with pytest.raises(ValueError, match=message):
        gram.gram_update(
            X,
            np.zeros((300, 1)),
            np.empty(0),
            row_ranges(300, 1, gram.BLOCK),
            np.empty(ps, pdt),
            np.empty(as_, adt),
            *parts,
        )


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


@pytest.mark.slow
def test_mnist_sized_exact_for_any_chunking(mnist_dir):
    # 60000 x 784: the real test images six times, each copy shifted differently
    imgs = _read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = _read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    shifts = [(0, 0), (1, 0), (0, 1), (-1, -1), (2, -1), (-2, 2)]
    X = np.concatenate([np.roll(imgs, s, axis=(1, 2)).reshape(len(imgs), -1) for s in shifts])
    Y = np.eye(10)[np.tile(labels, len(shifts))]
    ref = gram_reference(X, Y)
    for chunk in (1, 7, 256, 1000, X.shape[0]):
        for n_threads in (1, 2):
            _assert_exact(run_kernel(X, Y, chunk=chunk, n_threads=n_threads), ref)
    if "pair" in PATHS and gram.byte_path() != "pair":
        _assert_exact(run_kernel(X, Y, n_threads=2, path="pair"), ref)
