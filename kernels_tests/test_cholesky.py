"""Cholesky kernels against NumPy/SciPy.

Tolerances (float64, eps = 2.2e-16), from the standard error bounds:

* backward error, elementwise: |A - L Lᵀ| <= 2 (d + 1) eps (|L| |L|ᵀ), and for the solves
  |L X - B| <= 2 (d + 1) eps (|L| |X|). These hold for any summation order, so they are
  tight checks of the blocked code whatever the blocking.
* forward error against LAPACK, which has its own error of the same size: max |ours - ref|
  <= 4 d eps kappa max |ref|, with kappa = cond(A) for the factor and for cho_solve and
  sqrt(cond(A)) = cond(L) for one triangular solve. The test matrices have cond(A) = 1e3.
"""

import numpy as np
import pytest

from fastlin._threads import threads
from fastlin.kernels import cholesky as ch

from naive_cholesky import (
    cholesky_reference,
    indefinite_at,
    solve_references,
    spd_matrix,
    zero_pivot_at,
)

EPS = np.finfo(np.float64).eps
COND = 1e3
# Sizes around the 4-row tiles, the 64-column panels, the 64-row solve blocks and the
# 256-row solve slabs; none but 64 a multiple of the panel width.
SIZES = [0, 1, 2, 3, 5, 17, 64, 65, 130, 200, 301]
RHS = [1, 3, 4, 5, 9, 17, 30, 130]


def _factor(A):
    L = np.ascontiguousarray(A, dtype=np.float64).copy()
    info = ch.cholesky_inplace(L)
    return L, info


def _forward_tol(d, kappa, ref):
    return 4 * max(d, 1) * EPS * kappa * max(np.abs(ref).max(initial=0.0), 1e-300)


@pytest.mark.parametrize("d", SIZES)
def test_factor_matches_numpy(rng, d):
    A = spd_matrix(rng, d, COND)
    L, info = _factor(A)
    assert info == 0
    assert np.array_equal(L, np.tril(L)), "strict upper triangle not zeroed"
    bound = 2 * (d + 1) * EPS * (np.abs(L) @ np.abs(L).T)
    assert np.all(np.abs(L @ L.T - A) <= bound)
    if d:
        ref = np.linalg.cholesky(A)
        np.testing.assert_allclose(L, ref, rtol=0, atol=_forward_tol(d, COND, ref))


@pytest.mark.parametrize("d", [3, 65, 200])
def test_factor_reads_only_lower_triangle(rng, d):
    A = spd_matrix(rng, d, COND)
    garbage = np.tril(A) + np.triu(np.full((d, d), np.nan), 1)
    L_clean, info_clean = _factor(A)
    L_dirty, info_dirty = _factor(garbage)
    assert info_clean == info_dirty == 0
    np.testing.assert_array_equal(L_dirty, L_clean)


@pytest.mark.parametrize("d", [1, 17, 130])
def test_factor_matches_naive_reference(rng, d):
    A = spd_matrix(rng, d, COND)
    ref, info_ref = cholesky_reference(A)
    L, info = _factor(A)
    assert info == info_ref == 0
    np.testing.assert_allclose(L, ref, rtol=0, atol=_forward_tol(d, COND, ref))


@pytest.mark.parametrize("d", [1, 2, 17, 64, 65, 200])
@pytest.mark.parametrize("t", RHS)
def test_solves_match_scipy(rng, d, t):
    A = spd_matrix(rng, d, COND)
    L, info = _factor(A)
    assert info == 0
    B = rng.standard_normal((d, t))
    lower, upper, both = solve_references(L, B)
    for kernel, ref, kappa, tri in [
        (ch.solve_lower_inplace, lower, np.sqrt(COND), L),
        (ch.solve_upper_from_lower_inplace, upper, np.sqrt(COND), L.T),
        (ch.cholesky_solve_inplace, both, COND, None),
    ]:
        X = B.copy()
        kernel(L, X)
        np.testing.assert_allclose(
            X, ref, rtol=0, atol=_forward_tol(d, kappa, ref), err_msg=kernel.__name__
        )
        if tri is not None:
            bound = 2 * (d + 1) * EPS * (np.abs(tri) @ np.abs(X))
            assert np.all(np.abs(tri @ X - B) <= bound), kernel.__name__


@pytest.mark.parametrize("t", [1, 9, 130])
def test_solves_ignore_upper_triangle(rng, t):
    d = 70
    L, _ = _factor(spd_matrix(rng, d, COND))
    dirty = L + np.triu(np.full((d, d), np.nan), 1)
    B = rng.standard_normal((d, t))
    for kernel in (
        ch.solve_lower_inplace,
        ch.solve_upper_from_lower_inplace,
        ch.cholesky_solve_inplace,
    ):
        X1, X2 = B.copy(), B.copy()
        kernel(L, X1)
        kernel(dirty, X2)
        np.testing.assert_array_equal(X2, X1, err_msg=kernel.__name__)


@pytest.mark.parametrize("t", [1, 9, 30, 130])
def test_cholesky_solve_is_both_substitutions(rng, t):
    d = 150
    L, _ = _factor(spd_matrix(rng, d, COND))
    B = rng.standard_normal((d, t))
    X1, X2 = B.copy(), B.copy()
    ch.cholesky_solve_inplace(L, X1)
    ch.solve_lower_inplace(L, X2)
    ch.solve_upper_from_lower_inplace(L, X2)
    # Same arithmetic, but separately compiled: LLVM may fuse or reassociate the sums
    # differently in each, so agreement is to rounding, not to the bit.
    np.testing.assert_allclose(X1, X2, rtol=0, atol=_forward_tol(d, COND, X2))


@pytest.mark.parametrize(
    "d,k", [(1, 0), (5, 0), (17, 16), (64, 63), (65, 64), (200, 130), (200, 7)]
)
def test_indefinite_returns_pivot_index(rng, d, k):
    A = indefinite_at(rng, d, k)
    _, info_ref = cholesky_reference(A)
    assert info_ref == k + 1
    _, info = _factor(A)
    assert info == k + 1


@pytest.mark.parametrize("d,k", [(1, 0), (17, 3), (65, 64), (200, 100)])
def test_zero_pivot_returns_its_index(rng, d, k):
    _, info = _factor(zero_pivot_at(rng, d, k))
    assert info == k + 1


@pytest.mark.parametrize("d", [2, 40, 150])
def test_negative_eigenvalue_matches_reference(rng, d):
    A = spd_matrix(rng, d, COND)
    v = rng.standard_normal(d)
    v /= np.linalg.norm(v)
    A -= (COND + 1.0) * np.outer(v, v)  # the top eigenvalue, at most COND, turns negative
    assert np.linalg.eigvalsh(A)[0] < 0
    _, info_ref = cholesky_reference(A)
    _, info = _factor(A)
    assert info > 0
    assert info == info_ref


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("d,i,j", [(1, 0, 0), (20, 7, 7), (130, 100, 3), (130, 70, 69)])
def test_non_finite_input_returns_failure(rng, value, d, i, j):
    A = spd_matrix(rng, d, COND)
    A[i, j] = value
    A[j, i] = value
    _, info_ref = cholesky_reference(A)
    _, info = _factor(A)
    assert info > 0
    assert info == info_ref
    # A bad entry at (i, j), j <= i, is first met by pivot i.
    assert info == i + 1


@pytest.mark.parametrize("d,t", [(200, 1), (200, 3), (301, 9), (301, 130)])
def test_one_and_two_threads_give_the_same_bits(rng, d, t):
    A = spd_matrix(rng, d, COND)
    B = rng.standard_normal((d, t))
    results = []
    for n in (1, 2):
        with threads(n):
            L, info = _factor(A)
            X = B.copy()
            ch.cholesky_solve_inplace(L, X)
            Y = B.copy()
            ch.solve_lower_inplace(L, Y)
        results.append((info, L, X, Y))
    assert results[0][0] == results[1][0] == 0
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("d,t", [(301, 9), (301, 130)])
def test_parallel_matches_serial_variant(rng, d, t):
    # The serial variants (the same loops over the same tasks, compiled without
    # parallel=True) that the dispatchers use for small problems, run here on a large one.
    # Separate compilations may round differently (see above): agreement to rounding.
    A = spd_matrix(rng, d, COND)
    B = rng.standard_normal((d, t))
    L_par, info_par = _factor(A)
    # A rounding difference early on is amplified like any perturbation of A: kappa.
    tol = _forward_tol(d, COND, L_par)
    L_ser = A.copy()
    assert ch._factor_serial(L_ser) == info_par == 0
    np.testing.assert_allclose(L_ser, L_par, rtol=0, atol=tol)
    X_par, X_ser = B.copy(), B.copy()
    ch._solve_parallel(L_par, X_par, True, True)
    ch._solve_serial(L_par, X_ser, True, True)
    np.testing.assert_allclose(X_ser, X_par, rtol=0, atol=_forward_tol(d, COND, X_par))


def test_repeated_runs_are_identical(rng):
    A = spd_matrix(rng, 200, COND)
    L1, _ = _factor(A)
    L2, _ = _factor(A)
    np.testing.assert_array_equal(L1, L2)


def test_factor_of_exact_integer_matrix(rng):
    # M Mᵀ with M integer lower triangular and unit-sized entries: small integers all the
    # way, so the factor is recovered to the last bits (up to the diagonal's sign, + here).
    d = 90
    M = np.tril(rng.integers(-3, 4, (d, d)).astype(np.float64), -1) + np.diag(
        rng.integers(1, 4, d).astype(np.float64)
    )
    L, info = _factor(M @ M.T)
    assert info == 0
    np.testing.assert_allclose(L, M, rtol=0, atol=1e-9 * np.abs(M).max())
