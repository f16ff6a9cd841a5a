"""Slow, obviously-correct NumPy references and test matrices for the Cholesky kernels."""

import numpy as np
import scipy.linalg


def cholesky_reference(A):
    """Unblocked Cholesky of the lower triangle of A, with the kernel's failure convention.

    Returns ``(L, info)``: L lower triangular with zeros above, info 0 on success or k + 1
    for the first k whose pivot A[k, k] - L[k, :k] @ L[k, :k] is not a finite positive
    number (L is then only valid in its first k rows).
    """
    A = np.tril(np.asarray(A, dtype=np.float64))
    d = A.shape[0]
    L = np.zeros_like(A)
    with np.errstate(all="ignore"):
        for k in range(d):
            pivot = A[k, k] - L[k, :k] @ L[k, :k]
            if not (pivot > 0.0 and np.isfinite(pivot)):
                return L, k + 1
            L[k, k] = np.sqrt(pivot)
            L[k + 1 :, k] = (A[k + 1 :, k] - L[k + 1 :, :k] @ L[k, :k]) / L[k, k]
    return L, 0


def spd_matrix(rng, d, cond=1e3):
    """Symmetric positive definite (d, d) with 2-norm condition number ``cond``.

    Eigenvalues spread geometrically from 1 to ``cond`` under a random orthogonal basis,
    so error bounds that scale with the condition number can be stated exactly.
    """
    if d == 0:
        return np.zeros((0, 0))
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    evals = np.geomspace(1.0, cond, d) if d > 1 else np.ones(1)
    A = (Q * evals) @ Q.T
    return (A + A.T) / 2


def indefinite_at(rng, d, k):
    """A = M D Mᵀ with M unit lower triangular and D positive except D[k] = -1.

    The leading minors of order <= k are positive definite and the one of order k + 1 is
    not: the pivot at k is -1 (up to rounding), far from zero.
    """
    M = np.tril(rng.uniform(-0.5, 0.5, (d, d)), -1) + np.eye(d)
    D = rng.uniform(1.0, 2.0, d)
    D[k] = -1.0
    A = (M * D) @ M.T
    return (A + A.T) / 2


def zero_pivot_at(rng, d, k):
    """SPD except that row k of the lower triangle (diagonal included) is exactly zero.

    The pivot at k is then 0 - 0 = 0 exactly, whatever the summation order.
    """
    A = spd_matrix(rng, d, cond=10.0)
    A[k, : k + 1] = 0.0
    A[: k + 1, k] = 0.0
    return A


def solve_references(L, B):
    """L⁻¹ B, L⁻ᵀ B and (L Lᵀ)⁻¹ B from SciPy for lower triangular L."""
    lower = scipy.linalg.solve_triangular(L, B, lower=True)
    upper = scipy.linalg.solve_triangular(L.T, B, lower=False)
    both = scipy.linalg.cho_solve((L, True), B)
    return lower, upper, both
