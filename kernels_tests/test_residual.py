"""The residual kernel of the refinement passes against NumPy, and the accumulator."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin
from fastlin.core.refine import ResidualSums


def _reference(X, Y, w, B, b, shift):
    Xs = X.astype(np.float64) - shift
    R = (Y if Y is not None else 0.0) - (b + B @ shift) - Xs @ B.T
    w = np.ones(len(X)) if w is None else w
    return (Xs * w[:, None]).T @ R, w @ R, w @ (R * R), w.sum()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.int16])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 17), (1025, 40)])
def test_residual_sums_match_numpy(rng, dtype, order, weighted, shape):
    n, d = shape
    X = np.asarray(
        rng.integers(0, 200, size=shape)
        if np.dtype(dtype).kind in "ui"
        else rng.standard_normal(shape),
        dtype=dtype,
        order=order,
    )
    Y = rng.standard_normal((n, 3))
    B = rng.standard_normal((3, d))
    b = rng.standard_normal(3)
    shift = np.where(rng.random(d) < 0.5, 0.0, rng.standard_normal(d))
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    s = ResidualSums(B, b, shift).update(X, Y, w)
    xr, rsum, rss, sw = _reference(X, Y, w, B, b, shift)
    # float64 throughout; the sums of a few thousand terms agree to a few ulps.
    assert_allclose(s.xr, xr, rtol=1e-11, atol=1e-11 * np.abs(xr).max())
    assert_allclose(s.r_sum, rsum, rtol=1e-11, atol=1e-11 * np.abs(rsum).max())
    assert_allclose(s.rss, rss, rtol=1e-12)
    assert s.sum_w == pytest.approx(sw, rel=1e-14)
    p = ResidualSums(B, b, shift, with_targets=False).update(X, None, w)
    xr0, _, _, _ = _reference(X, None, w, B, b, shift)
    assert_allclose(p.xr, xr0, rtol=1e-11, atol=1e-11 * np.abs(xr0).max())


def test_split_merge_and_threads_agree(rng):
    X = rng.integers(0, 256, size=(3000, 30)).astype(np.uint8)
    Y = rng.standard_normal((3000, 2))
    B = rng.standard_normal((2, 30))
    b = np.zeros(2)
    shift = np.zeros(30)
    whole = ResidualSums(B, b, shift).update(X, Y)
    parts = ResidualSums(B, b, shift).update(X[:1234], Y[:1234])
    parts.merge(ResidualSums(B, b, shift).update(X[1234:], Y[1234:]))
    assert_allclose(parts.xr, whole.xr, rtol=1e-12)
    with fastlin.threads(1):
        one = ResidualSums(B, b, shift).update(X, Y)
    assert_allclose(one.xr, whole.xr, rtol=1e-12)
    again = ResidualSums(B, b, shift).update(X, Y)
    np.testing.assert_array_equal(again.xr, whole.xr)  # fixed thread count: same bits
