"""Coefficients from Gram statistics: Cholesky when well posed, minimum norm otherwise.

The centred Gram C (plus alpha on the diagonal for ridge) is first scaled to unit
diagonal, so that the condition number judged is that of the standardised design (as
Belsley recommends) and not an artefact of column units. Columns that are constant
(zero centred variance) have coefficient 0 in the minimum-norm solution and are set
aside before factorising; this is what makes MNIST's always-zero border pixels cheap.

The route, judged against the rounding level of the statistics (``relative_accuracy``:
eps for exact byte statistics, more for float blocks):

* "cholesky": LAPACK ``dpotrf`` on the standardised system (faster than a hand-written
  factorisation at every size benchmarked, ``python -m scripts.bench_cholesky``) and ``dpocon``
  for its reciprocal condition number; taken when the factorisation succeeds and the
  condition leaves the answer meaningful.
* "minimum_norm": otherwise a rank-revealing (pivoted) Cholesky factorisation of the
  same system, pivots at the rounding level of the statistics treated as zero, and the
  solution's part along the null space removed: the solution ``numpy.linalg.lstsq``
  gives on the centred data, with a :class:`RankDeficientWarning` naming the numerical
  rank. (An eigendecomposition would judge the rank the same way at 15-20 times the
  cost: 85 ms against 5 ms for d = 668.)

Each solution says what it still needs (``LinearSolution.needs``): "refine" when the
conditioning leaves fewer digits than a least-squares solve would keep, so that passes
over the rows (corrected semi-normal equations, :mod:`fastlin.core.refine`) should follow;
"qr" when the kept part is conditioned within ``GAP`` of the rounding level, so that
the rank cannot be told from the Gram and a TSQR pass should decide.
"""

from __future__ import annotations

import contextlib
import dataclasses

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import lapack

from .._blas_threads import single_thread_blas
from .._warnings import warn

if TYPE_CHECKING:
    from .._typing import Solver
    from .stats import GramStats

RCOND_MIN = 1e-12
"""Below this reciprocal condition number (standardised system) Cholesky is not trusted:
its errors (about eps / rcond) would be too large for refinement passes to remove."""

PRECONDITION_SHIFTS = (1.0, 30.0)
"""Shifts, in units of the statistics' rounding level, of the regularised Cholesky factor
that preconditions the passes over float32 rows, tried in turn until one factors. The
rounding level is a per-entry figure; the error's spectral norm is what the shift must
cover, and it is about that size on real and synthetic designs (1.2e-6 against a level
of 2.7e-6 for 40000 x 2048 embeddings). The larger the shift, the further the factor is
from the Gram: at 30 those embeddings took 10 passes, at 1 five (four once the passes end
on a summed geometric tail, see :mod:`fastlin.core.refine`)."""

REFINE_TOL = 1e-7
"""Refine by passes over the rows when (statistics' rounding level) / rcond exceeds this:
the normal equations alone would lose more than ~7 of the digits lstsq keeps."""

GAP = 100.0
"""A kept block conditioned within this factor of the rank cut-off means no clear gap
between kept and dropped directions: "qr"."""

SOLVERS = ("auto", "cholesky", "minimum_norm", "qr")

SINGLE_THREAD_SOLVE_BELOW = 1536
"""Systems of fewer features are factorised with BLAS on one thread: right after a Gram
pass (NumPy's OpenBLAS threads still spinning) SciPy's LAPACK took 6-140 ms for d = 400
and 1024 on two threads, 4-43 ms on one; from d = 2048 two threads win (see
:mod:`fastlin._blas_threads`)."""


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
        The route taken: "cholesky", "minimum_norm" or "qr"; refined solutions add
        "+refine".
    rcond : float
        Estimated reciprocal condition number of the standardised system (1-norm for
        Cholesky, of the kept block for minimum norm).
    constant_columns : ndarray of int
        Indices of columns with zero centred variance (zero coefficient).
    null_columns : ndarray of int
        Columns that load on the null space found by the minimum-norm route (members of
        near-linear dependencies), empty otherwise.
    r2 : ndarray of shape (n_targets,)
        Weighted coefficient of determination on the rows folded in.
    residual_variance : ndarray of shape (n_targets,)
        Weighted residual sum of squares over (sum of weights - rank - intercept).
    needs : str
        "" when the solution is final, "refine" or "qr" as the module docstring says.
    correct : callable or None
        ``correct(g)`` solves the same (factored) system for a right-hand side g of
        shape (n_features, n_targets): the step of a refinement pass.
    refinement_passes : int
        Passes over the rows made to refine this solution.
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
    needs: str = ""
    correct: Callable[[np.ndarray], np.ndarray] | None = None
    refinement_passes: int = 0


def solve_gram(
    stats: GramStats,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    solver: Solver = "auto",
    warn: bool = True,
    refinable: bool = False,
) -> LinearSolution:
    """Least squares (alpha = 0) or ridge coefficients from :class:`~fastlin.core.stats.GramStats`.

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
        the Gram: see :class:`fastlin.core.tsqr.QRStats`.)
    warn : bool, default=True
        Emit :class:`RankDeficientWarning` when the rank is below the number of features.
    refinable : bool, default=False
        Whether the caller can refine the solution by passes over the rows
        (:func:`fastlin.core.refine.refine`). Statistics of float32 blocks are then allowed a
        regularised Cholesky factor, S + mu I with mu of the order of ``rel``
        (``PRECONDITION_SHIFTS``), as the preconditioner of those passes
        when their own rounding (``relative_accuracy``) hides the smallest directions.

    Returns
    -------
    LinearSolution
    """
    d = stats.n_features or 0
    pools = single_thread_blas() if d < SINGLE_THREAD_SOLVE_BELOW else contextlib.nullcontext()
    with pools:
        return _solve_gram(stats, alpha, fit_intercept, solver, warn, refinable)


def _solve_gram(stats, alpha, fit_intercept, solver, warn, refinable):
    if solver not in ("auto", "cholesky", "minimum_norm"):
        raise ValueError(f"solver must be 'auto', 'cholesky' or 'minimum_norm', got {solver!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    C, Cxy, x_mean, y_mean = stats.centred(fit_intercept)
    d = C.shape[0]
    rel = stats.relative_accuracy
    diag = np.diag(C).copy()
    # A centred variance that is a rounding residue of the (shifted) second moment is zero.
    scale_diag = stats.shifted_diag if fit_intercept else stats.xtx_diag
    constant = diag <= 64 * np.finfo(np.float64).eps * scale_diag
    constant |= diag <= 0
    active = np.flatnonzero(~constant)

    coef = np.zeros((d, Cxy.shape[1]))
    rcond = float("nan")
    route = "cholesky"
    rank = active.size
    null_columns = np.zeros(0, dtype=np.int64)
    needs = ""
    correct = None
    if active.size:
        S = C[np.ix_(active, active)] if active.size < d else C  # C is ours to overwrite
        S[np.diag_indices_from(S)] += alpha
        scale = 1.0 / np.sqrt(np.diag(S))
        S *= scale[:, None]
        S *= scale[None, :]
        solve_std = None
        # float32 block sums hide the smallest directions of their own design; when
        # passes over the rows will follow, a regularised factor preconditions them.
        precondition = refinable and solver == "auto" and stats.float32_seen
        if precondition:
            for shift in PRECONDITION_SHIFTS:
                mu = shift * rel
                S[np.diag_indices_from(S)] += mu
                solve_std, rcond, info = _cholesky(S, rel, floor=0.0)
                S[np.diag_indices_from(S)] -= mu
                if solve_std is not None:
                    needs = "refine"
                    break
        if solve_std is None and solver in ("auto", "cholesky"):
            solve_std, rcond, info = _cholesky(S, rel)
            if solve_std is None and solver == "cholesky":
                why = (
                    f"leading minor of order {info} is not positive definite"
                    if info
                    else f"reciprocal condition number {rcond:.3g} is below {_rcond_floor(rel):g}"
                )
                raise np.linalg.LinAlgError(f"Cholesky route failed: {why}; use solver='auto'")
        Q = None
        if solve_std is None:
            route = "minimum_norm"
            solve_std, rank, null_local, rcond, grey, N = _pivoted(S, rel)
            null_columns = active[null_local]
            if grey:
                needs = "qr"
            if N.shape[1]:
                # The rank is judged on the standardised system, but the minimum norm is
                # that of the coefficients in the data's own units (lstsq's): remove the
                # solution's part along the null space mapped back to those units.
                Q = np.linalg.qr(N * scale[:, None])[0]
        if not needs and rel / rcond > REFINE_TOL:
            needs = "refine"

        def correct(g, _solve=solve_std, _scale=scale, _active=active, _Q=Q):
            out = np.zeros_like(g)
            x = _solve(g[_active] * _scale[:, None]) * _scale[:, None]
            if _Q is not None:
                x -= _Q @ (_Q.T @ x)
            out[_active] = x
            return out

        coef[active] = correct(Cxy)[active]
        # βᵀ C β from the standardised system (C itself was overwritten by it):
        # C_active = S / (scale scaleᵀ) - alpha I.
        z = coef[active] / scale[:, None]
        quad = np.einsum("at,at->t", z, S @ z) - alpha * np.einsum(
            "at,at->t", coef[active], coef[active]
        )
    else:
        quad = np.zeros(Cxy.shape[1])
    if warn and rank < d:
        warn_rank(rank, d, np.flatnonzero(constant), null_columns, alpha, route)
    intercept = y_mean - x_mean @ coef if fit_intercept else np.zeros(Cxy.shape[1])
    r2, resid_var = _fit_quality(stats, quad, Cxy, coef, rank, fit_intercept)
    return LinearSolution(
        coef.T.copy(),
        intercept,
        int(rank),
        route,
        rcond,
        np.flatnonzero(constant),
        null_columns,
        r2,
        resid_var,
        needs,
        correct,
    )


def _rcond_floor(rel):
    """Smallest reciprocal condition number at which a Cholesky solve is still trusted
    (and refinement, whose passes shrink the error by about rel / rcond, converges)."""
    return max(RCOND_MIN, 1e3 * rel)


def _cholesky(S, rel, floor=None):
    """LAPACK Cholesky of the unit-diagonal S; ``(solve, rcond, info)``, solve None when
    the factorisation fails or S is too ill conditioned to trust (rcond below ``floor``,
    by default :func:`_rcond_floor`)."""
    # S is symmetric: its transpose is the Fortran-ordered array LAPACK reads.
    L, info = lapack.dpotrf(S.T, lower=1, clean=0, overwrite_a=0)
    if info != 0:
        return None, float("nan"), int(info)
    anorm = np.abs(S).sum(axis=0).max()
    rcond, lapack_info = lapack.dpocon(L, anorm, uplo="L")
    rcond = float(rcond)
    if lapack_info != 0 or not rcond >= (_rcond_floor(rel) if floor is None else floor):
        return None, rcond, 0

    def solve(B):
        x, _ = lapack.dpotrs(L, np.asfortranarray(B), lower=1)
        return x

    return solve, rcond, 0


def _pivoted(S, rel):
    """Minimum-norm solve of S x = B for symmetric positive semi-definite, unit-diagonal S.

    LAPACK's pivoted Cholesky (``dpstrf``) factors the largest well-determined set of
    columns, stopping when every remaining Schur complement pivot is at most ``tol``, the
    larger of the factorisation's rounding (8 d eps) and the statistics' own (30 rel).
    The remaining columns are linear combinations of the kept ones: null-space basis
    N = P [-S11⁻¹ S12; I]. A solve returns the basic solution (zero on the dropped
    columns); the caller removes its part along N in the data's units.

    Returns ``(solve, rank, null_local, rcond, grey, N)``: ``rcond`` is the reciprocal
    condition estimate of the kept block, ``grey`` is True when it sits within ``GAP`` of
    the cut-off or the dropped part is more than ``tol / GAP`` away from zero (either
    way the rank cannot be told from the Gram).
    """
    k = S.shape[0]
    tol = max(8 * k * np.finfo(np.float64).eps, 30 * rel)
    c, piv, r, info = lapack.dpstrf(S, lower=1, tol=tol)
    if info < 0:
        raise np.linalg.LinAlgError(f"dpstrf failed (info={info})")
    piv = piv - 1
    r = int(r)
    p1, p2 = piv[:r], piv[r:]
    L = np.ascontiguousarray(np.tril(c[:r, :r]))
    if r:
        anorm = np.abs(S[np.ix_(p1, p1)]).sum(axis=0).max()
        rcond = float(lapack.dpocon(L, anorm, uplo="L")[0])
    else:
        rcond = float("nan")
    grey = bool(r and (not rcond >= tol * GAP))
    N = np.zeros((k, k - r))
    if k - r:
        S12 = S[np.ix_(p1, p2)]
        N[p1] = -lapack.dpotrs(L, np.asfortranarray(S12), lower=1)[0]
        N[p2, np.arange(k - r)] = 1.0
        # The dropped part: the Schur complement S22 - S21 S11⁻¹ S12. Exact dependencies
        # leave it at the statistics' rounding; a genuine direction just below the
        # cut-off leaves it well above that, and only the rows can tell it from zero.
        schur = np.diag(S)[p2] + np.einsum("ij,ij->j", S12, N[p1])
        grey = grey or bool(np.max(np.abs(schur)) > tol / GAP)

    def solve(B):
        x = np.zeros((k, B.shape[1]))
        if r:
            x[p1] = lapack.dpotrs(L, np.asfortranarray(B[p1]), lower=1)[0]
        return x

    # Columns with weight in the null space are the ones tied up in dependencies.
    if k - r:
        Qn = np.linalg.qr(N)[0]
        null_local = np.flatnonzero((Qn**2).sum(axis=1) > 0.1)
    else:
        null_local = np.zeros(0, np.int64)
    return solve, r, null_local, rcond, grey, N


def warn_rank(rank, d, constant, null_columns, alpha, route):
    """Warn that the design has rank ``rank`` < ``d``, naming the columns involved."""
    parts = [f"the design has numerical rank {rank} of {d} features"]
    if len(constant):
        parts.append(f"{len(constant)} constant column(s) [{_show(constant)}] get coefficient 0")
    if len(null_columns):
        parts.append(
            f"columns [{_show(null_columns)}] are (near) linear combinations of each other"
        )
    if route in ("minimum_norm", "qr"):
        parts.append("the minimum-norm least-squares solution was returned")
    if alpha == 0:
        parts.append("consider Ridge (alpha > 0)")
    warn("; ".join(parts), RankDeficientWarning)


def _show(idx, limit=10):
    idx = list(idx)
    return ", ".join(str(int(i)) for i in idx[:limit]) + (", ..." if len(idx) > limit else "")


def _fit_quality(stats, quad, Cxy, coef, rank, fit_intercept):
    """Weighted R² and residual variance per target, from the statistics alone.

    ``quad`` is βᵀ C β per target (C the centred Gram, without alpha).
    """
    tss = stats.centred_yy(fit_intercept)
    rss = tss - 2 * np.einsum("dt,dt->t", coef, Cxy) + quad
    rss = np.maximum(rss, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(tss > 0, 1 - rss / np.where(tss > 0, tss, 1), np.where(rss > 0, 0.0, 1.0))
        dof = stats.sum_w - rank - int(fit_intercept)
        resid_var = rss / dof if dof > 0 else np.full_like(rss, np.nan)
    return r2, resid_var
