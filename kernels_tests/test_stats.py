"""GramStats: statistics against NumPy references, exactness, invariance, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

import fastlin
from fastlin.core.stats import GramStats
from naive import gram_reference

KEYS = ("sum_w", "x_sum", "xtx", "xty", "y_sum", "yty")

SHAPES = [(1, 1), (5, 1), (3, 7), (257, 3), (300, 17), (513, 33)]


def _data(rng, n, d, dtype, t=2):
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        X = rng.integers(0, np.iinfo(dtype).max, size=(n, d), endpoint=True).astype(dtype)
    elif dtype.kind == "i":
        hi = min(np.iinfo(dtype).max, 1000)
        X = rng.integers(-hi, hi, size=(n, d), endpoint=True).astype(dtype)
    else:
        X = (rng.standard_normal((n, d)) * 3 + 1).astype(dtype)
    Y = rng.standard_normal((n, t))
    return X, Y


def _stats_dict(s):
    return {
        "sum_w": s.sum_w,
        "x_sum": s.x_sum,
        "xtx": s.xtx,
        "xty": s.xty,
        "y_sum": s.y_sum,
        "yty": s.yty,
    }


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64]
)
@pytest.mark.parametrize("shape", SHAPES)
def test_statistics_match_numpy(rng, dtype, shape):
    X, Y = _data(rng, *shape, dtype)
    got = _stats_dict(GramStats().update(X, Y))
    ref = gram_reference(X, Y)
    if dtype == np.float32:
        # float32 products summed in float32 over blocks of at most FLOAT32_BLOCK rows:
        # the error bound of the docstring, entry by entry against |X|ᵀ|X| and |X|ᵀ|Y|.
        from fastlin.core.stats import FLOAT32_BLOCK

        gamma = min(shape[0], FLOAT32_BLOCK) * 2.0**-24 + 1e-12
        A = np.abs(X.astype(np.float64))
        bounds = {"xtx": A.T @ A, "xty": A.T @ np.abs(Y), "x_sum": A.sum(axis=0)}
        for key, bound in bounds.items():
            assert np.all(np.abs(got[key] - ref[key]) <= gamma * bound + 1e-300), key
        keys = ("sum_w", "y_sum", "yty")
    else:
        keys = KEYS
    for key in keys:
        # Other dtypes are accumulated in float64 (integer data exactly).
        np.testing.assert_allclose(
            got[key], ref[key], rtol=1e-12, atol=1e-12 * np.abs(ref[key]).max(), err_msg=key
        )


@pytest.mark.parametrize("d", [3, 1100])
@pytest.mark.parametrize("weighted", [False, True])
def test_float32_blocks_within_the_bound_through_either_blas(rng, monkeypatch, d, weighted):
    """float32 blocks go through NumPy's syrk below SCIPY_FLOAT32_MIN_COLUMNS and SciPy's
    from it: both within the docstring's bound of float64 sums, with weights and
    targets. The threshold is lowered so that a small design takes SciPy's route too."""
    from fastlin.core import stats as S

    monkeypatch.setattr(S, "SCIPY_FLOAT32_MIN_COLUMNS", 500)
    monkeypatch.setattr(S, "TILE_MAX_FEATURES", {})  # the float32 tiles: tested below
    n = 2 * S.FLOAT32_BLOCK + 7
    X = (rng.standard_normal((n, d)) * 3 + 1).astype(np.float32)
    Y = rng.standard_normal((n, 2))
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    got = _stats_dict(GramStats().update(X, Y, w))
    Xf = X.astype(np.float64)
    sw = np.ones(n) if w is None else w
    ref = {"xtx": Xf.T @ (sw[:, None] * Xf), "xty": Xf.T @ (sw[:, None] * Y)}
    ref.update(x_sum=sw @ Xf, y_sum=sw @ Y, yty=Y.T @ (sw[:, None] * Y), sum_w=sw.sum())
    gamma = S.FLOAT32_BLOCK * 2.0**-24 + 1e-12
    A = np.abs(Xf) * np.sqrt(sw)[:, None]
    bounds = {"xtx": A.T @ A, "xty": A.T @ (np.abs(Y) * np.sqrt(sw)[:, None])}
    for key, bound in bounds.items():
        assert np.all(np.abs(got[key] - ref[key]) <= gamma * bound), key
    for key in ("y_sum", "yty", "sum_w"):
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-6, err_msg=key)
    # Column sums are float64 sums (the intercept rests on them): float64 rounding alone
    # unweighted; a weighted row carries two float32 roundings (sqrt(w), then sqrt(w) x).
    rounding = n * 2.0**-52 + (2.0**-23 if weighted else 0.0)
    assert np.all(np.abs(got["x_sum"] - ref["x_sum"]) <= rounding * (sw @ np.abs(Xf)))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_small_integers_are_exact(rng, dtype):
    X, _ = _data(rng, 1111, 37, dtype)
    Y = rng.integers(0, 2, size=(1111, 3)).astype(np.float64)
    got = _stats_dict(GramStats().update(X, Y))
    ref = gram_reference(X, Y)
    for key in KEYS:
        assert np.array_equal(got[key], ref[key]), key


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint16, np.uint64])
def test_wide_integers_that_fit_a_byte_are_the_byte_statistics(rng, dtype):
    # CSV pixels arrive as int64: read as uint8 (or int8), the same bits and the exact
    # route; a chunk with a value beyond a byte is read as it is, still exact integers.
    for lo, hi, small in ((0, 255, np.uint8), (-128, 127, np.int8)):
        if lo < 0 and np.dtype(dtype).kind == "u":
            continue
        X8 = rng.integers(lo, hi, size=(700, 19), endpoint=True).astype(small)
        Y = rng.integers(0, 2, size=(700, 2)).astype(np.float64)
        wide = GramStats().update(X8.astype(dtype), Y)
        ref = GramStats().update(X8, Y)
        assert wide.exact and ref.exact
        for key, value in ref.to_arrays().items():
            np.testing.assert_array_equal(wide.to_arrays()[key], value, err_msg=key)
    X = rng.integers(0, 255, size=(700, 19)).astype(dtype)
    X[650, 3] = 1000
    mixed = GramStats().update(X[:400], Y[:400]).update(X[400:], Y[400:])
    assert not mixed.exact
    for key, value in _stats_dict(mixed).items():
        np.testing.assert_array_equal(value, gram_reference(X, Y)[key], err_msg=key)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_layouts_and_read_only(rng, order, dtype, tmp_path):
    X, Y = _data(rng, 300, 9, dtype)
    X = np.asarray(X, order=order)
    path = tmp_path / "x.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    assert not Xm.flags.writeable
    a = _stats_dict(GramStats().update(X, Y))
    b = _stats_dict(GramStats().update(Xm, Y))
    ref = gram_reference(X, Y)
    for key in KEYS:
        np.testing.assert_allclose(a[key], ref[key], rtol=1e-12, err_msg=key)
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_weighted_matches_reference(rng):
    X, Y = _data(rng, 400, 11, np.float64)
    w = rng.uniform(0.1, 3.0, 400)
    got = _stats_dict(GramStats().update(X, Y, sample_weight=w))
    ref = gram_reference(X, Y, w)
    for key in KEYS:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, err_msg=key)


def test_integer_weights_equal_repeated_rows(rng):
    X, Y = _data(rng, 200, 6, np.uint8)
    w = rng.integers(0, 4, 200)
    w[0] = 2
    a = _stats_dict(GramStats().update(X, Y, sample_weight=w))
    reps = np.repeat(np.arange(200), w)
    b = _stats_dict(GramStats().update(X[reps], Y[reps]))
    for key in KEYS:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-13, err_msg=key)


def test_caller_arrays_not_modified(rng):
    X, Y = _data(rng, 100, 5, np.float64)
    w = rng.uniform(0.5, 2, 100)
    copies = X.copy(), Y.copy(), w.copy()
    GramStats().update(X, Y, sample_weight=w)
    for a, b in zip((X, Y, w), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("chunk", [1, 7, 256, 1000, 3001])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_uint8_chunk_and_thread_invariance_is_bitwise(rng, chunk, n_threads):
    X, _ = _data(rng, 3001, 29, np.uint8)
    Y = np.eye(10)[rng.integers(0, 10, 3001)]
    ref = gram_reference(X, Y)
    s = GramStats()
    with fastlin.threads(n_threads):
        for r0 in range(0, 3001, chunk):
            s.update(X[r0 : r0 + chunk], Y[r0 : r0 + chunk])
    got = _stats_dict(s)
    for key in KEYS:
        assert np.array_equal(got[key], ref[key]), key


def test_float64_threads_agree(rng):
    X, Y = _data(rng, 5000, 13, np.float64)
    with fastlin.threads(1):
        a = _stats_dict(GramStats().update(X, Y))
    with fastlin.threads(2):
        b = _stats_dict(GramStats().update(X, Y))
        c = _stats_dict(GramStats().update(X, Y))
    for key in KEYS:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, err_msg=key)
        # Fixed thread count: deterministic reduction order, identical bits.
        np.testing.assert_array_equal(b[key], c[key], err_msg=key)


def _routes(monkeypatch):
    """Record which pass each GramStats update takes."""
    from fastlin.core import stats as S

    taken = []
    for name in ("_kernel_pass", "_blas_pass"):
        original = getattr(S.GramStats, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            taken.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(S.GramStats, name, spy)
    return taken


TILES = pytest.mark.skipif(
    not fastlin.kernels.gram.float_tiles_tuned(), reason="float chunks stay on BLAS here"
)


@TILES
@pytest.mark.parametrize("d", [1, 11, 12, 13, 131, 512])
@pytest.mark.parametrize("t", [0, 1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_float64_tiles_agree_with_blas(rng, monkeypatch, d, t, weighted):
    """float64 chunks of at most TILE_MAX_FEATURES columns take the tiles; their
    statistics equal the BLAS route's to float64 rounding (both sum in float64, in
    different orders: rtol 1e-12 against the largest entry)."""
    from fastlin.core import stats as S

    n = 3 * 256 + 77 if d < 500 else 700
    X = rng.standard_normal((n, d)) * 3 + 1
    Y = rng.standard_normal((n, t)) if t else None
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    taken = _routes(monkeypatch)
    with fastlin.threads(2):
        tiles = _stats_dict(GramStats().update(X, Y, w))
        assert taken == ["_kernel_pass"]
        monkeypatch.setattr(S, "TILE_MAX_FEATURES", {})
        blas = _stats_dict(GramStats().update(X, Y, w))
        assert taken[1:] == ["_blas_pass"]
    for key in KEYS:
        ref = np.asarray(blas[key])
        np.testing.assert_allclose(
            tiles[key], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max(initial=1.0), err_msg=key
        )


@TILES
@pytest.mark.parametrize("d", [1, 23, 24, 25, 131, 800])
@pytest.mark.parametrize("weighted", [False, True])
def test_float32_tiles_within_their_bound(rng, monkeypatch, d, weighted):
    """float32 chunks of at most TILE_MAX_FEATURES columns take the float32 tiles: XᵀWX
    within (128 + 1) 2**-24 of |X|ᵀW|X| entry by entry against float64 sums (128-row
    float32 panels; one more rounding for w x), the column sums, XᵀWY and YᵀWY to float64
    rounding. The bound is 16 times tighter than the BLAS route's 2048-row blocks."""
    from fastlin.core import stats as S

    n = 3 * 256 + 77 if d < 500 else 600
    X = (rng.standard_normal((n, d)) * 3 + 1).astype(np.float32)
    Y = rng.standard_normal((n, 2))
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    taken = _routes(monkeypatch)
    with fastlin.threads(2):
        got = _stats_dict(GramStats().update(X, Y, w))
    assert taken == ["_kernel_pass"]
    assert S.TILE_MAX_FEATURES[np.dtype(np.float32)] >= 800
    ref = gram_reference(X, Y, w)
    sw = np.ones(n) if w is None else w
    A = np.abs(X.astype(np.float64))
    bound = (129 * 2.0**-24) * (A.T @ (sw[:, None] * A)) + 1e-300
    assert np.all(np.abs(got["xtx"] - ref["xtx"]) <= bound)
    for key in ("x_sum", "xty", "y_sum", "yty", "sum_w"):
        ref_k = np.asarray(ref[key])
        np.testing.assert_allclose(
            got[key], ref_k, rtol=1e-12, atol=1e-12 * np.abs(ref_k).max(initial=1.0), err_msg=key
        )


@pytest.mark.parametrize("tiles", [True, False])
def test_float32_squares_that_overflow_float32_are_summed_in_float64(rng, monkeypatch, tiles):
    """Finite float32 values whose squares overflow float32 (1e20) are no error: the chunk
    is folded again with float64 products, on either route."""
    from fastlin.core import stats as S

    if not tiles:
        monkeypatch.setattr(S, "TILE_MAX_FEATURES", {})
    X = (rng.standard_normal((500, 6)) * 3 + 1).astype(np.float32)
    X[:, 2] *= np.float32(1e20)
    Y = rng.standard_normal((500, 1))
    got = _stats_dict(GramStats().update(X, Y))
    ref = gram_reference(X.astype(np.float64), Y)
    assert np.all(np.isfinite(got["xtx"]))
    for key in KEYS:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, err_msg=key)


@pytest.mark.parametrize(
    "make",
    [
        lambda X: np.asfortranarray(X),  # column order: BLAS reads it in place
        lambda X: X + 1e9,  # offset columns: a shifted copy per block
        lambda X: np.hstack([X] * 60),  # above TILE_MAX_FEATURES
    ],
)
def test_float64_chunks_the_tiles_do_not_take(rng, monkeypatch, make):
    X = make(rng.standard_normal((300, 12)))
    taken = _routes(monkeypatch)
    got = _stats_dict(GramStats().update(X))
    assert taken == ["_blas_pass"]
    ref = gram_reference(X, np.zeros((300, 0)))
    np.testing.assert_allclose(got["xtx"], ref["xtx"], rtol=1e-9)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.nan, r"X contains NaN at position \(17, 5\)"),
        (-np.inf, r"X contains -inf at position \(17, 5\)"),
        (1e200, r"X column 5 has a value of magnitude 1e\+200"),
    ],
)
def test_bad_float64_chunk_on_the_tiles_leaves_state(rng, bad, message):
    """The tiles fold into scratch; the products are judged before the state changes."""
    X, Y = _data(rng, 600, 9, np.float64)
    with fastlin.threads(2):
        s = GramStats().update(X[:300], Y[:300])
        before = _snapshot(s)
        Xb = X[300:].copy()
        Xb[17, 5] = bad
        with pytest.raises(ValueError, match=message):
            s.update(Xb, Y[300:])
    after = _snapshot(s)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def test_merge_equals_single_pass(rng):
    X, Y = _data(rng, 700, 8, np.float64)
    whole = _stats_dict(GramStats().update(X, Y))
    a = GramStats().update(X[:250], Y[:250])
    b = GramStats().update(X[250:], Y[250:])
    merged = _stats_dict(a.merge(b))
    for key in KEYS:
        np.testing.assert_allclose(merged[key], whole[key], rtol=1e-12, err_msg=key)
    assert a.n_rows == 700


def test_round_trip_arrays(rng):
    X, Y = _data(rng, 50, 4, np.float64)
    s = GramStats().update(X, Y)
    r = GramStats.from_arrays(s.to_arrays())
    for key in KEYS:
        np.testing.assert_array_equal(_stats_dict(r)[key], _stats_dict(s)[key])
    assert r.n_rows == s.n_rows


# -- bad input: a ValueError naming the problem, state unchanged ------------------------


def _snapshot(s):
    return {k: (None if v is None else np.copy(v)) for k, v in _stats_dict(s).items()} | {
        "n_rows": s.n_rows
    }


BAD_CASES = [
    (lambda X, Y: (X[:, 0], Y, None), "reshape(-1, 1)"),
    (lambda X, Y: (X[None], Y, None), "must be 2-D"),
    (lambda X, Y: (X[:0], Y[:0], None), "0 rows"),
    (lambda X, Y: (X[:, :0], Y, None), "0 features"),
    (lambda X, Y: (X, Y[:-1], None), "different numbers of rows"),
    (lambda X, Y: (X[:, :-1], Y, None), "earlier chunks had 4"),
    (lambda X, Y: (X, Y[:, :1], None), "earlier chunks had 2"),
    (lambda X, Y: (X.astype(complex), Y, None), "complex"),
    (lambda X, Y: (X.astype(object), Y, None), "dtype object"),
    (lambda X, Y: (X, Y, -np.ones(len(X))), "non-negative"),
    (lambda X, Y: (X, Y, np.zeros(len(X))), "zero for every row"),
    (lambda X, Y: (X, Y, np.full(len(X), np.inf)), "sample_weight contains inf"),
    (lambda X, Y: (X, Y, np.ones(len(X) + 1)), "one weight per row"),
]


@pytest.mark.parametrize("make_bad, message", BAD_CASES)
def test_bad_chunks_raise_and_leave_state(rng, make_bad, message):
    X, Y = _data(rng, 20, 4, np.float64)
    s = GramStats().update(X, Y)
    before = _snapshot(s)
    bX, bY, bw = make_bad(X.copy(), Y.copy())
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        s.update(bX, bY, sample_weight=bw)
    after = _snapshot(s)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


@pytest.mark.parametrize("where, what", [((3, 2), "nan"), ((7, 0), "inf"), ((0, 3), "-inf")])
def test_non_finite_position_is_named(rng, where, what):
    X, Y = _data(rng, 20, 4, np.float64)
    X[where] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[what]
    with pytest.raises(
        ValueError,
        match=rf"X contains {'NaN' if what == 'nan' else what} at position \({where[0]}, {where[1]}\)",
    ):
        GramStats().update(X, Y)
    X[where] = 0
    Y[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN at position \(5, 1\)"):
        GramStats().update(X, Y)


# -- properties: any split, order and merge grouping gives the same statistics ----------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 90),
    cuts=st.lists(st.integers(0, 90), max_size=6),
    seed=st.integers(0, 2**31 - 1),
    grouping=st.sampled_from(["left", "right", "pairs"]),
)
def test_split_reorder_and_merge_grouping_give_same_uint8_stats(n, cuts, seed, grouping):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 5)).astype(np.uint8)
    Y = rng.integers(0, 3, size=(n, 2)).astype(np.float64)
    perm = rng.permutation(n)
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    parts = [GramStats().update(X[perm][a:b], Y[perm][a:b]) for a, b in zip(bounds, bounds[1:])]
    if grouping == "left":
        total = parts[0]
        for p in parts[1:]:
            total = total.merge(p)
    elif grouping == "right":
        total = parts[-1]
        for p in reversed(parts[:-1]):
            total = p.merge(total)
    else:
        while len(parts) > 1:
            parts = [
                parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i]
                for i in range(0, len(parts), 2)
            ]
        total = parts[0]
    ref = gram_reference(X, Y)
    got = _stats_dict(total)
    for key in KEYS:
        assert np.array_equal(got[key], ref[key]), key


@pytest.mark.parametrize("d", [1, 127, 128, 129, 300])
def test_symmetrize_mirrors_the_upper_triangle_block_by_block(rng, d):
    from fastlin.core.stats import _symmetrize

    U = rng.standard_normal((d, d))
    ref = np.triu(U) + np.triu(U, 1).T
    np.testing.assert_array_equal(_symmetrize(U), ref)


def test_means_are_those_of_centred(rng):
    X = rng.standard_normal((500, 4)) + [0.0, 1e9, -3.0, 0.5]
    Y = rng.standard_normal((500, 2))
    s = GramStats().update(X, Y)
    for fit_intercept in (True, False):
        _, _, xm, ym = s.centred(fit_intercept)
        got = s.means(fit_intercept)
        np.testing.assert_array_equal(got[0], xm)
        np.testing.assert_array_equal(got[1], ym)
