"""Leverage, residuals and Cook's distance, one value per row, streamed.

Everything streams over chunks of rows (arrays or any :class:`fastlin.io.ChunkSource`), so
memory stays bounded by the chunk size plus outputs of one value per row: the n x n hat
matrix and a float64 copy of X are never formed.

Leverage
--------
For weights w (all 1 without ``sample_weight``), total weight W, weighted column means
x̄ and the weighted centred Gram C = Σ w (x - x̄)(x - x̄)ᵀ, the diagonal of the weighted hat
matrix W^½ X̃ (X̃ᵀ W X̃ + Λ)⁻¹ X̃ᵀ W^½ (X̃ = [1, X], Λ = diag(0, alpha I), intercept not
penalised) is, by eliminating the intercept block,

    h_i = w_i (1/W + (x_i - x̄)ᵀ (C + alpha I)⁻¹ (x_i - x̄))

and without an intercept h_i = w_i x_iᵀ (XᵀWX + alpha I)⁻¹ x_i. It is computed from the
Cholesky factor L of the unit-diagonal scaled system D (C + alpha I) D = L Lᵀ as
h_i = w_i (1/W + |L⁻¹ D (x_i - x̄)|²): one forward substitution per row
(:mod:`fastlin.kernels.leverage`), parallel over row ranges.

Constant and rank-deficient designs. Columns with zero centred variance (the rule of
:func:`fastlin.core.solve.solve_gram`) are left out: their centred values are zero on every
row of positive weight, so nothing changes. When the remaining system is singular or too
ill conditioned for Cholesky (reciprocal condition number below
``fastlin.core.solve.RCOND_MIN``), a pivoted Cholesky factorisation (LAPACK ``dpstrf``) picks a
maximal set of numerically independent columns and the leverage is computed from those:
that is the diagonal of the projection onto the column space of the design, the hat matrix
of the minimum-norm least-squares solution, and the leverages then sum to the numerical
rank (plus 1 with an intercept). :class:`HatFactor` records which columns were used.

Cook's distance
---------------
D_i = w_i e_i² h_i / (p s² (1 - h_i)²) per target, with e_i = y_i - ŷ_i the residual of the
model, p = trace of the hat matrix (rank + 1 with an intercept for least squares; the
effective degrees of freedom 1 + Σ λ/(λ + alpha) over the eigenvalues λ of C for ridge)
and s² = Σ w e² / (W - p). For least squares fitted on these rows this is Cook's distance,
(β̂ - β̂₍ᵢ₎)ᵀ X̃ᵀWX̃ (β̂ - β̂₍ᵢ₎) / (p s²) with β̂₍ᵢ₎ the fit without row i. For ridge it is
the same formula with the ridge hat matrix (a common generalisation; it is not the exact
leave-one-out change of the ridge fit measured in the X̃ᵀWX̃ metric). It is NaN where
h_i = 1 and 0 for rows of zero weight.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg as _sla
from scipy.linalg import lapack

from .. import _threads
from .._validation import check_real_scalar
from ..kernels import cholesky as _chol
from ..kernels import leverage as _lev
from ._common import _fold, _iter, _model_alpha, _model_arrays, _source, _weights

if TYPE_CHECKING:
    from .._typing import SourceOrArray, TargetTransform
    from ..core.stats import GramStats


# -- the factor of the hat matrix ----------------------------------------------------------


@dataclasses.dataclass
class HatFactor:
    """What the leverage pass needs from the Gram statistics.

    Attributes
    ----------
    cols : ndarray of shape (k,), int64
        Columns of X used, in factor order (constant and dependent columns left out).
    mean : ndarray of shape (k,), float64
        Weighted means of those columns (zeros without an intercept).
    scale : ndarray of shape (k,), float64
        1 / sqrt of the diagonal of the (regularised) centred Gram on those columns.
    L : ndarray of shape (k, k), float64
        Cholesky factor of the scaled system ``D (C + alpha I) D``.
    inv_sum_w : float
        1 / W with an intercept, else 0.
    n_params : float
        Trace of the hat matrix: k (+1) for least squares, effective degrees of freedom
        for ridge.
    route : str
        "cholesky", or "pivoted_cholesky" when dependent columns were dropped.
    constant_columns, dropped_columns : ndarray of int
    alpha : float
    fit_intercept : bool
    rcond : float
        Reciprocal condition number estimate of the scaled system (1-norm).
    """

    cols: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    L: np.ndarray
    inv_sum_w: float
    n_params: float
    route: str
    constant_columns: np.ndarray
    dropped_columns: np.ndarray
    alpha: float
    fit_intercept: bool
    rcond: float

    @property
    def rank(self):
        """Columns used (the numerical rank of the centred design for least squares)."""
        return int(self.cols.shape[0])


def centred_gram(stats, fit_intercept=True):
    """Centred weighted Gram and means from :class:`~fastlin.core.stats.GramStats`.

    Unlike ``GramStats.centred`` this needs no targets.

    Returns
    -------
    C : ndarray of shape (d, d), float64
    x_mean : ndarray of shape (d,), float64 (zeros without intercept)
    """
    if stats.x_sum is None or stats.sum_w <= 0:
        raise ValueError("the statistics hold no rows with positive weight")
    return stats.centred_x(fit_intercept)


def hat_factor(stats, alpha=0.0, fit_intercept=True):
    """Factor the (regularised) centred Gram for the leverage pass.

    Parameters
    ----------
    stats : GramStats
        Statistics of the rows whose hat matrix is wanted (targets not needed).
    alpha : float >= 0
        Ridge penalty (intercept not penalised).
    fit_intercept : bool

    Returns
    -------
    HatFactor
    """
    from ..core.solve import RCOND_MIN

    alpha = check_real_scalar(alpha, "alpha", 0.0)
    C, x_mean = centred_gram(stats, fit_intercept)
    diag = np.diag(C).copy()
    raw_diag = stats.shifted_diag if fit_intercept else stats.xtx_diag
    constant = (diag <= 64 * np.finfo(np.float64).eps * raw_diag) | (diag <= 0)
    active = np.flatnonzero(~constant).astype(np.int64)
    inv_w = 1.0 / stats.sum_w if fit_intercept else 0.0
    k = active.size
    empty = np.zeros(0)
    if k == 0:
        return HatFactor(
            active,
            empty,
            empty,
            np.zeros((0, 0)),
            inv_w,
            float(fit_intercept),
            "cholesky",
            np.flatnonzero(constant),
            np.zeros(0, np.int64),
            alpha,
            bool(fit_intercept),
            1.0,
        )
    A = C[np.ix_(active, active)]
    A[np.diag_indices_from(A)] += alpha
    scale = 1.0 / np.sqrt(np.diag(A))
    S = A * scale[:, None] * scale[None, :]
    anorm = float(np.abs(S).sum(axis=0).max())
    L = S.copy()  # S is needed again if the factorisation fails
    info = _chol.cholesky_inplace(L)
    rcond = float("nan")
    if info == 0:
        rcond, _ = lapack.dpocon(L, anorm, uplo="L")
        rcond = float(rcond)
    route = "cholesky"
    cols = active
    dropped = np.zeros(0, np.int64)
    if info != 0 or not rcond >= RCOND_MIN:
        # Pivoted Cholesky keeps a maximal set of columns whose pivots stay above the
        # rounding level of the scaled Gram; the others are in their span.
        tol = 8 * k * np.finfo(np.float64).eps * anorm
        c, piv, r, _ = lapack.dpstrf(S, lower=1, tol=tol)
        piv = piv[:r] - 1
        L = np.ascontiguousarray(np.tril(c[:r, :r]))
        cols = active[piv]
        scale = scale[piv]
        dropped = np.setdiff1d(active, cols)
        route = "pivoted_cholesky"
        rcond = (
            float(
                lapack.dpocon(L, float(np.abs(S[np.ix_(piv, piv)]).sum(axis=0).max()), uplo="L")[0]
            )
            if r
            else 1.0
        )
    mean = x_mean[cols].copy()
    n_params = float(cols.size) + (1.0 if fit_intercept else 0.0)
    if alpha > 0 and cols.size:
        # trace((C + aI)⁻¹ C) = k - a trace((C + aI)⁻¹) and (C + aI)⁻¹ = D S⁻¹ D.
        M = _sla.solve_triangular(L, np.diag(scale), lower=True, check_finite=False)
        n_params -= alpha * float(np.sum(M * M))
    return HatFactor(
        cols,
        mean,
        scale,
        L,
        inv_w,
        n_params,
        route,
        np.flatnonzero(constant),
        dropped,
        alpha,
        bool(fit_intercept),
        rcond,
    )


def gram_of(X, sample_weight=None, *, chunk_rows=None, y=None, target_transform=None):
    """One streaming pass: :class:`~fastlin.core.stats.GramStats` of the rows of ``X``."""
    from ..core.stats import GramStats

    source = _source(X, y)
    w_all = _weights(sample_weight, source.n_rows)
    stats = _fold(source, GramStats(), chunk_rows, w_all, target_transform)
    if stats.n_rows == 0:
        raise ValueError("the data has no rows")
    return stats


# -- influence: leverage, residuals, Cook's distance ---------------------------------------


@dataclasses.dataclass
class Influence:
    """Per-row influence measures (see the module docstring for the formulas).

    Attributes
    ----------
    leverage : ndarray of shape (n,), float64
    residuals : ndarray of shape (n,) or (n, t), float64, or None without targets
    cooks_distance : same shape as residuals, or None
    studentized_residuals : same shape, or None
        Internally studentised: sqrt(w) e / (s sqrt(1 - h)).
    n_params : float
        p, the trace of the hat matrix.
    sigma2 : ndarray of shape (t,) or None
        s² = Σ w e² / (W - p).
    factor : HatFactor
    """

    leverage: np.ndarray
    residuals: object
    cooks_distance: object
    studentized_residuals: object
    n_params: float
    sigma2: object
    factor: HatFactor


def _run_pass(Xc, Y, coef, intercept, factor, q_out, resid_out, n_parts=None):
    m = Xc.shape[0]
    parts = _threads.n_threads() if n_parts is None else n_parts
    bounds = _threads.row_ranges(m, parts, _lev.ROW_BLOCK)
    p = bounds.shape[0] - 1
    Z = np.empty((p, factor.cols.size, _lev.ROW_BLOCK))
    kernel = _lev.leverage_pass if p > 1 else _lev.leverage_pass_serial
    kernel(
        Xc,
        Y,
        coef,
        intercept,
        factor.cols,
        factor.mean,
        factor.scale,
        factor.L,
        bounds,
        Z,
        q_out,
        resid_out,
    )


def influence(
    X: SourceOrArray,
    y: ArrayLike | None = None,
    *,
    model: Any = None,
    stats: GramStats | None = None,
    alpha: float | None = None,
    fit_intercept: bool | None = None,
    sample_weight: ArrayLike | None = None,
    chunk_rows: int | None = None,
    target_transform: TargetTransform | None = None,
) -> Influence:
    """Leverage, residuals and Cook's distance of every row, in constant memory.

    Parameters
    ----------
    X : array-like of shape (n, d) or ChunkSource
        Any supported dtype (uint8 stays uint8: rows are cast one value at a time).
    y : array-like of shape (n,) or (n, t), optional
        Targets (a ChunkSource carries its own). Without targets only the leverage is
        computed.
    model : fitted LinearRegression / Ridge (or any object with ``coef_``,
        ``intercept_``), optional
        Residuals are those of this model; ``alpha`` and ``fit_intercept`` default to its
        own. Without a model the least-squares (or ridge) fit of these rows is used.
    stats : GramStats, optional
        Statistics of exactly these rows (with these weights), e.g. ``model.stats_`` when
        the model was fitted on them. Saves the first of the two passes.
    alpha : float, optional
        Ridge penalty of the hat matrix (default: the model's, else 0).
    fit_intercept : bool, optional
        Default: the model's, else True.
    sample_weight : array-like of shape (n,), optional
    chunk_rows : int, optional
        Rows per chunk (default 8192).
    target_transform : callable, optional
        Applied to each y chunk (e.g. ``fastlin.io.datasets.one_hot``).

    Returns
    -------
    Influence
    """
    source = _source(X, y)
    n = source.n_rows
    w_all = _weights(sample_weight, n)
    if fit_intercept is None:
        fit_intercept = bool(getattr(model, "fit_intercept", True))
    if alpha is None:
        alpha = _model_alpha(model) if model is not None else 0.0
    if stats is None:
        stats = gram_of(source, w_all, chunk_rows=chunk_rows, target_transform=target_transform)
    if stats.n_rows != n:
        raise ValueError(f"stats cover {stats.n_rows} rows but the data has {n}")
    factor = hat_factor(stats, alpha, fit_intercept)
    has_y = source.has_targets
    coef = intercept = None
    y_1d = False
    if has_y:
        if model is not None:
            coef, intercept, y_1d = _model_arrays(model)
        else:
            if stats.n_targets == 0:
                raise ValueError("stats were accumulated without targets; pass a model")
            from ..core.solve import solve_gram

            sol = solve_gram(stats, alpha=alpha, fit_intercept=fit_intercept, warn=False)
            coef, intercept = np.ascontiguousarray(sol.coef), sol.intercept
            y_1d = (
                source.y_shape is not None and len(source.y_shape) == 1 and target_transform is None
            )
        if coef.shape[1] != source.n_features:
            raise ValueError(f"the model has {coef.shape[1]} features, X has {source.n_features}")
    t = coef.shape[0] if has_y else 0
    q = np.empty(n)
    resid = np.empty((n, t))
    empty_coef = np.zeros((0, source.n_features))
    for r0, Xc, Y, _ in _iter(source, chunk_rows, None, target_transform):
        m = Xc.shape[0]
        if has_y:
            if Y.shape[1] != t:
                raise ValueError(f"y has {Y.shape[1]} target column(s) but the model has {t}")
            _run_pass(
                Xc,
                np.ascontiguousarray(Y),
                coef,
                intercept,
                factor,
                q[r0 : r0 + m],
                resid[r0 : r0 + m],
            )
        else:
            _run_pass(
                Xc,
                np.zeros((m, 0)),
                empty_coef,
                np.zeros(0),
                factor,
                q[r0 : r0 + m],
                resid[r0 : r0 + m],
            )
    w = np.ones(n) if w_all is None else w_all
    h = w * (q + factor.inv_sum_w)
    if not has_y:
        return Influence(h, None, None, None, factor.n_params, None, factor)
    p = factor.n_params
    dof = float(w.sum()) - p
    rss = np.einsum("i,it->t", w, resid * resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = rss / dof if dof > 0 else np.full(t, np.nan)
        one_minus = (1.0 - h)[:, None]
        cooks = w[:, None] * resid**2 * h[:, None] / (p * sigma2[None, :] * one_minus**2)
        stud = np.sqrt(w)[:, None] * resid / np.sqrt(sigma2[None, :] * one_minus)
    cooks[w == 0] = 0.0
    stud[w == 0] = 0.0
    if y_1d:
        resid, cooks, stud = resid[:, 0], cooks[:, 0], stud[:, 0]
    return Influence(h, resid, cooks, stud, p, sigma2, factor)


def leverage(
    X: SourceOrArray,
    *,
    stats: GramStats | None = None,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    chunk_rows: int | None = None,
) -> np.ndarray:
    """Diagonal of the (weighted, optionally ridge) hat matrix of the rows of X.

    See the module docstring for the formula and :func:`influence` for the parameters.

    Returns
    -------
    ndarray of shape (n,), float64
        Sums to the numerical rank (+1 with an intercept) for least squares.
    """
    source = _source(X)
    return influence(
        source,
        stats=stats,
        alpha=alpha,
        fit_intercept=fit_intercept,
        sample_weight=sample_weight,
        chunk_rows=chunk_rows,
    ).leverage


def cooks_distance(
    X: SourceOrArray, y: ArrayLike | None, *, model: Any = None, **kwargs: Any
) -> np.ndarray | None:
    """Cook's distance per row (and target); see :func:`influence`."""
    return influence(X, y, model=model, **kwargs).cooks_distance
