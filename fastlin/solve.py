"""Coefficients from Gram statistics: Cholesky when well posed, minimum norm otherwise.

The centred Gram C (plus alpha on the diagonal for ridge) is first scaled to unit
diagonal, so that the condition number judged is that of the standardised design (as
Belsley recommends) and not an artefact of column units. Columns that are constant
(zero centred variance) have coefficient 0 in the minimum-norm solution and are set
aside before factorising; this is what makes MNIST's always-zero border pixels cheap.

Route "cholesky": the hand-written kernel factorises the standardised system and LAPACK's
``dpocon`` estimates its reciprocal condition number. If the factorisation fails or the
system is too ill conditioned to trust, the route "minimum_norm" takes over: an
eigendecomposition of the (small, d x d) system, eigenvalues below a relative threshold
treated as zero, giving the solution ``numpy.linalg.lstsq`` gives on the centred data,
with a :class:`RankDeficientWarning` naming the numerical rank.
"""

import dataclasses
import warnings

import numpy as np
from scipy.linalg import lapack

from .kernels import cholesky as _chol

RCOND_MIN = 1e-10
"""Below this reciprocal condition number (standardised system) Cholesky is not trusted."""

RCOND_QR = 1e-8
"""Below this, "auto" re-solves by QR when the rows can be read again: the normal
equations square the condition number and would keep fewer than ~8 digits."""

SOLVERS = ("auto", "cholesky", "minimum_norm", "qr")


class RankDeficientWarning(UserWarning):
    """The design is rank deficient or nearly so; a minimum-norm solution was returned."""


@dataclasses.dataclass
class LinearSolution:
    """What :func:`solve_gram` returns.

    Attributes
    ----------
    coef : ndarray of shape (n_targets, n_features), float64
    intercept : ndarray of shape (n_targets,), float64 (zeros without intercept)
    rank : int
        Numerical rank of the (centred, regularised) system.
    solver : str
        The route taken: "cholesky" or "minimum_norm".
    rcond : float
        Estimated reciprocal condition number of the standardised system (1-norm),
        NaN when the Cholesky route was not completed.
    constant_columns : ndarray of int
        Indices of columns with zero centred variance (zero coefficient).
    null_columns : ndarray of int
        Columns that load on the null space found by the minimum-norm route (members of
        near-linear dependencies), empty otherwise.
    r2 : ndarray of shape (n_targets,)
        Weighted coefficient of determination on the rows folded in.
    residual_variance : ndarray of shape (n_targets,)
        Weighted residual sum of squares over (sum of weights - rank - intercept).
    """

    coef: np.ndarray
    intercept: np.ndarray
    rank: int
    solver: str
    rcond: float
    constant_columns: np.ndarray
    null_columns: np.ndarray
    r2: np.ndarray
    residual_variance: np.ndarray


def solve_gram(stats, alpha=0.0, fit_intercept=True, solver="auto", warn=True):
    """Least squares (alpha = 0) or ridge coefficients from :class:`~fastlin.stats.GramStats`.

    Minimises sum_i w_i ||y_i - b - W x_i||² + alpha ||W||² (the intercept b is not
    penalised), the objective of scikit-learn's ``LinearRegression`` and ``Ridge``.

    Parameters
    ----------
    stats : GramStats
    alpha : float >= 0
    fit_intercept : bool
    solver : {"auto", "cholesky", "minimum_norm"}
        "auto" takes Cholesky when it succeeds and the standardised system is well
        conditioned, else the minimum-norm route. "cholesky" raises
        ``numpy.linalg.LinAlgError`` instead of falling back. ("qr" needs the rows, not
        the Gram: see :class:`fastlin.tsqr.QRStats`.)
    warn : bool, default=True
        Emit :class:`RankDeficientWarning` when the rank is below the number of features.

    Returns
    -------
    LinearSolution
    """
    if solver not in ("auto", "cholesky", "minimum_norm"):
        raise ValueError(f"solver must be 'auto', 'cholesky' or 'minimum_norm', got {solver!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    C, Cxy, x_mean, y_mean = stats.centred(fit_intercept)
    d = C.shape[0]
    diag = np.diag(C).copy()
    raw_diag = stats.xtx_diag
    # A centred variance that is a rounding residue of the raw second moment is zero.
    constant = diag <= 64 * np.finfo(np.float64).eps * raw_diag
    constant |= diag <= 0
    active = np.flatnonzero(~constant)

    coef = np.zeros((d, Cxy.shape[1]))
    rcond = float("nan")
    route = "cholesky"
    rank = active.size
    null_columns = np.zeros(0, dtype=np.int64)
    if active.size:
        A = C[np.ix_(active, active)]
        A[np.diag_indices_from(A)] += alpha
        B = Cxy[active]
        beta = None
        if solver in ("auto", "cholesky"):
            beta, rcond, info = _cholesky_route(A, B)
            if beta is None and solver == "cholesky":
                why = (f"leading minor of order {info} is not positive definite" if info
                       else f"reciprocal condition number {rcond:.3g} < {RCOND_MIN:g}")
                raise np.linalg.LinAlgError(f"Cholesky route failed: {why}; use solver='auto'")
        if beta is None:
            route = "minimum_norm"
            beta, rank, null_local = _minimum_norm(A, B)
            null_columns = active[null_local]
        coef[active] = beta
    if warn and rank < d:
        warn_rank(rank, d, np.flatnonzero(constant), null_columns, alpha, route)
    intercept = y_mean - x_mean @ coef if fit_intercept else np.zeros(Cxy.shape[1])
    r2, resid_var = _fit_quality(stats, C, Cxy, coef, rank, fit_intercept)
    return LinearSolution(coef.T.copy(), intercept, int(rank), route, rcond,
                          np.flatnonzero(constant), null_columns, r2, resid_var)


def _cholesky_route(A, B):
    """Solve A beta = B by Cholesky of the unit-diagonal scaled A; None when not trusted."""
    scale = 1.0 / np.sqrt(np.diag(A))
    S = A * scale[:, None] * scale[None, :]
    L = np.ascontiguousarray(S)
    info = _chol.cholesky_inplace(L)
    if info != 0:
        return None, float("nan"), int(info)
    anorm = np.abs(S).sum(axis=0).max()
    rcond, lapack_info = lapack.dpocon(L, anorm, uplo="L")
    if lapack_info != 0 or not rcond >= RCOND_MIN:
        return None, float(rcond), 0
    rhs = np.ascontiguousarray(B * scale[:, None])
    _chol.cholesky_solve_inplace(L, rhs)
    return rhs * scale[:, None], float(rcond), 0


def _minimum_norm(A, B):
    """Minimum-norm solution of A beta = B for symmetric positive semi-definite A."""
    evals, evecs = np.linalg.eigh(A)
    top = max(float(evals[-1]), 0.0)
    # Eigenvalues of a Gram matrix carry absolute error ~ eps * largest: below a small
    # multiple of that they cannot be told from zero.
    keep = evals > top * A.shape[0] * np.finfo(np.float64).eps * 8
    V = evecs[:, keep]
    beta = V @ ((V.T @ B) / evals[keep][:, None])
    # Columns with weight in the null space are the ones tied up in dependencies.
    null = evecs[:, ~keep]
    null_local = np.flatnonzero((null ** 2).sum(axis=1) > 0.1) if null.size else np.zeros(0, np.int64)
    return beta, int(keep.sum()), null_local


def warn_rank(rank, d, constant, null_columns, alpha, route):
    """Warn that the design has rank ``rank`` < ``d``, naming the columns involved."""
    parts = [f"the design has numerical rank {rank} of {d} features"]
    if len(constant):
        parts.append(f"{len(constant)} constant column(s) [{_show(constant)}] get coefficient 0")
    if len(null_columns):
        parts.append(f"columns [{_show(null_columns)}] are (near) linear combinations of "
                     "each other")
    if route in ("minimum_norm", "qr"):
        parts.append("the minimum-norm least-squares solution was returned")
    if alpha == 0:
        parts.append("consider Ridge (alpha > 0)")
    warnings.warn("; ".join(parts), RankDeficientWarning, stacklevel=5)


def _show(idx, limit=10):
    idx = list(idx)
    return ", ".join(str(int(i)) for i in idx[:limit]) + (", ..." if len(idx) > limit else "")


def _fit_quality(stats, C, Cxy, coef, rank, fit_intercept):
    """Weighted R² and residual variance per target, from the statistics alone."""
    if fit_intercept:
        tss = np.diag(stats.yty) - stats.y_sum ** 2 / stats.sum_w
    else:
        tss = np.diag(stats.yty).copy()
    # rss = yᵀy - 2 βᵀ Cxy + βᵀ C β, per target (C here is without alpha).
    rss = tss - 2 * np.einsum("dt,dt->t", coef, Cxy) + np.einsum("dt,dt->t", coef, C @ coef)
    rss = np.maximum(rss, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(tss > 0, 1 - rss / np.where(tss > 0, tss, 1), np.where(rss > 0, 0.0, 1.0))
        dof = stats.sum_w - rank - int(fit_intercept)
        resid_var = rss / dof if dof > 0 else np.full_like(rss, np.nan)
    return r2, resid_var
