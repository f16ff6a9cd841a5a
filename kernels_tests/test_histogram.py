"""The calibration histogram kernels against bincount / numpy.histogram references."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlin import threads
from fastlin._threads import n_threads, row_ranges
from fastlin.kernels import histogram as H

import naive_calibration as naive

MODES = {"positive": H.POSITIVE, "top_label": H.TOP_LABEL, "classwise": H.CLASSWISE}


def _linspace_edges(n_bins):
    e = np.arange(n_bins + 1) * (1.0 / n_bins)
    e[-1] = 1.0
    return e


def run(p, y, edges, mode="positive", uniform=True, w=None, n_parts=None, scores=False, eps=1e-15):
    """Call the kernel directly; returns (hist (G, n_bins, 4) merged, scores, bad)."""
    edges = np.atleast_2d(np.asarray(edges, dtype=np.float64))
    if mode == "classwise":
        G = 2 if p.ndim == 1 else p.shape[1]
        edges = np.tile(edges[0], (G, 1))
    G = edges.shape[0]
    bounds = row_ranges(p.shape[0], n_parts or n_threads(), H.BLOCK)
    P = bounds.shape[0] - 1
    hist = np.zeros((P, G, edges.shape[1] - 1, 4))
    sc = np.zeros((P, 2))
    bad = np.zeros((P, 2), dtype=np.int64)
    w_arg = np.empty(0) if w is None else w
    if p.ndim == 1:
        H.binary_update(
            p, y, w_arg, edges, bounds, hist, sc, bad, MODES[mode], uniform, scores, eps
        )
    else:
        H.multiclass_update(
            p, y, w_arg, edges, bounds, hist, sc, bad, mode == "classwise", uniform, scores, eps
        )
    return hist.sum(axis=0), sc.sum(axis=0), bad.sum(axis=0)


def edge_values(edges, rng, n):
    """Random values in [0, 1] mixed with 0, 1, every edge and its two neighbours."""
    special = [0.0, 1.0]
    for e in edges:
        special += [e, np.nextafter(e, -1.0), np.nextafter(e, 2.0)]
    special = np.clip(np.array(special), 0.0, 1.0)
    x = np.concatenate([rng.random(n), special, special])
    return rng.permutation(x)


def check_against_naive(hist, groups, edges, w=None, rtol=1e-12):
    for g, (conf, correct) in enumerate(groups):
        ref = naive.histogram(conf, correct, edges, w)
        assert_array_equal(hist[g, :, 0], ref[0])  # counts are exact
        for s in (1, 2, 3):
            assert_allclose(hist[g, :, s], ref[s], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("n_bins", [1, 2, 3, 7, 10, 13, 100])
def test_uniform_edges_definition_matches_linspace(n_bins):
    # The kernel recomputes uniform edges as b * (1 / n_bins); numpy.linspace must agree.
    assert_array_equal(_linspace_edges(n_bins), np.linspace(0.0, 1.0, n_bins + 1))


@pytest.mark.parametrize("uniform", [True, False], ids=["arith", "search"])
@pytest.mark.parametrize("n_bins", [1, 3, 10, 13, 100])
def test_bins_on_edge_values_match_numpy_histogram(rng, n_bins, uniform):
    edges = _linspace_edges(n_bins)
    p = edge_values(edges, rng, 3000)
    y = (rng.random(p.shape[0]) < 0.5).astype(np.int64)
    hist, _, bad = run(p, y, edges, uniform=uniform)
    assert_array_equal(bad, [0, 0])
    assert_array_equal(hist[0, :, 0], naive.histogram_mirrored(p, edges))
    check_against_naive(hist, naive.groups(p, y, "positive"), edges)
    # 0 is in the first bin, 1 in the last, an edge in the bin it closes.
    b0 = run(np.array([0.0]), np.array([1]), edges, uniform=uniform)[0][0, :, 0]
    b1 = run(np.array([1.0]), np.array([1]), edges, uniform=uniform)[0][0, :, 0]
    assert b0[0] == 1 and b1[-1] == 1
    if n_bins > 1:
        on_edge = run(np.array([edges[1]]), np.array([1]), edges, uniform=uniform)[0][0, :, 0]
        assert on_edge[0] == 1


@pytest.mark.parametrize("n_bins", [600, 1500])
def test_binary_search_many_bins(rng, n_bins):
    # Past 512 bins the search takes its loop path before the unrolled steps.
    edges = np.concatenate([[0.0], np.sort(rng.random(n_bins - 1)), [1.0]])
    p = edge_values(edges[::7], rng, 4000)
    y = (rng.random(p.shape[0]) < p).astype(np.int64)
    hist, _, _ = run(p, y, edges, uniform=False)
    check_against_naive(hist, naive.groups(p, y, "positive"), edges)


def test_custom_edges_with_search(rng):
    edges = np.array([0.0, 0.05, 0.5, 0.75, 0.9, 1.0])
    p = edge_values(edges, rng, 2000)
    y = (rng.random(p.shape[0]) < p).astype(np.int64)
    hist, _, _ = run(p, y, edges, uniform=False)
    check_against_naive(hist, naive.groups(p, y, "positive"), edges)
    assert_array_equal(hist[0, :, 0], naive.histogram_mirrored(p, edges))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["positive", "top_label", "classwise"])
@pytest.mark.parametrize("n", [1, 7, H.BLOCK, H.BLOCK + 1, 3 * H.BLOCK + 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_kernel_matches_reference(rng, dtype, mode, n, weighted):
    edges = _linspace_edges(10)
    p = rng.random(n).astype(dtype)
    p[: min(n, 3)] = np.array([0.0, 1.0, 0.5], dtype=dtype)[: min(n, 3)]
    y = (rng.random(n) < p).astype(np.int64)
    w = rng.random(n) * 3.0 if weighted else None
    for uniform in (True, False):
        hist, _, bad = run(p, y, edges, mode=mode, uniform=uniform, w=w)
        assert_array_equal(bad, [0, 0])
        check_against_naive(hist, naive.groups(p, y, mode), edges, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["top_label", "classwise"])
@pytest.mark.parametrize("shape", [(1, 2), (9, 3), (H.BLOCK + 3, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_kernel_matches_reference(rng, dtype, mode, shape, weighted):
    n, K = shape
    edges = _linspace_edges(8)
    P = rng.dirichlet(np.ones(K), size=n).astype(dtype)
    if n > 2:
        P[0] = 1.0 / K  # a tie: the first column is the prediction
        P[1] = 0.0
        P[1, K - 1] = 1.0
    y = rng.integers(0, K, size=n)
    w = rng.random(n) if weighted else None
    for uniform in (True, False):
        hist, _, bad = run(P, y, edges, mode=mode, uniform=uniform, w=w)
        assert_array_equal(bad, [0, 0])
        check_against_naive(hist, naive.groups(P, y, mode), edges, w)


def test_scores_match_reference(rng):
    edges = _linspace_edges(4)
    p = rng.random(5000)
    p[:2] = [0.0, 1.0]
    y = (rng.random(5000) < p).astype(np.int64)
    y[:2] = [1, 0]  # certain and wrong: clipped at eps
    w = rng.random(5000)
    _, sc, _ = run(p, y, edges, w=w, scores=True)
    assert_allclose(sc[0] / w.sum(), naive.brier(p, y, w), rtol=1e-12)
    assert_allclose(sc[1] / w.sum(), naive.nll(p, y, w), rtol=1e-12)
    for K in (2, 4):
        P = rng.dirichlet(np.ones(K), size=3000)
        yk = rng.integers(0, K, 3000)
        P[0] = 0.0
        P[0, (yk[0] + 1) % K] = 1.0
        _, sc, _ = run(P, yk, edges, mode="top_label", scores=True)
        assert_allclose(sc[0] / 3000, naive.brier(P, yk), rtol=1e-12)
        assert_allclose(sc[1] / 3000, naive.nll(P, yk), rtol=1e-12)


def test_bad_values_are_counted_and_left_out(rng):
    edges = _linspace_edges(10)
    p = rng.random(3000)
    y = (rng.random(3000) < 0.5).astype(np.int64)
    p[[5, 70, 2999]] = [np.nan, -0.25, 1.5]
    y[[10, 11]] = [2, -1]
    hist, _, bad = run(p, y, edges)
    assert_array_equal(bad, [3, 2])
    assert hist[0, :, 0].sum() == 3000 - 5
    hist, _, bad = run(p, y, edges, uniform=False)
    assert_array_equal(bad, [3, 2])
    P = rng.dirichlet(np.ones(3), size=100)
    yk = rng.integers(0, 3, 100)
    P[4, 1] = np.nan
    P[8, 2] = 1.0 + 1e-12
    yk[[20, 21, 22]] = [3, -1, 7]
    for mode in ("top_label", "classwise"):
        hist, _, bad = run(P, yk, edges, mode=mode)
        assert_array_equal(bad, [2, 3])
        assert hist[0, :, 0].sum() == 95


@pytest.mark.parametrize("mode", ["positive", "top_label"])
def test_one_and_two_threads_and_parts(rng, mode):
    edges = _linspace_edges(10)
    n = 5 * H.BLOCK + 17
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    with threads(1):
        h1, s1, _ = run(p, y, edges, mode=mode, scores=True)
    with threads(2):
        h2, s2, _ = run(p, y, edges, mode=mode, scores=True)
        h2b, s2b, _ = run(p, y, edges, mode=mode, scores=True)
    assert_array_equal(h2, h2b)  # deterministic for a fixed thread count
    assert_array_equal(s2, s2b)
    assert_array_equal(h1[..., 0], h2[..., 0])
    assert_allclose(h1, h2, rtol=1e-13)
    assert_allclose(s1, s2, rtol=1e-13)
    for parts in (1, 3, 7):
        h, _, _ = run(p, y, edges, mode=mode, n_parts=parts)
        assert_array_equal(h[..., 0], h1[..., 0])
        assert_allclose(h, h1, rtol=1e-13)


def test_float32_input_equals_its_float64_upcast(rng):
    edges = _linspace_edges(10)
    p32 = rng.random(4000).astype(np.float32)
    y = (rng.random(4000) < p32).astype(np.int64)
    for uniform in (True, False):
        h32, _, _ = run(p32, y, edges, uniform=uniform)
        h64, _, _ = run(p32.astype(np.float64), y, edges, uniform=uniform)
        assert_array_equal(h32, h64)


def test_empty_input():
    edges = _linspace_edges(10)
    hist, sc, bad = run(np.empty(0), np.empty(0, np.int64), edges, scores=True)
    assert not hist.any() and not sc.any() and not bad.any()
