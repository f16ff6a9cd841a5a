"""Diagnostics of fitted linear models: residuals, leverage, Cook's distance, checks.

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
import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg as _sla
from scipy.linalg import lapack

from . import _threads
from ._validation import check_finite, check_real_scalar, check_sample_weight
from .core.accumulator import Accumulator
from .kernels import cholesky as _chol
from .kernels import leverage as _lev

if TYPE_CHECKING:
    from ._typing import Seed, SourceOrArray, TargetTransform
    from .core.stats import GramStats

DEFAULT_CHUNK_ROWS = 8192
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
STATUSES = ("pass", "warn", "fail", "skip")


# -- chunk iteration ------------------------------------------------------------------------


def _source(X, y=None):
    from .io import ChunkSource, from_arrays

    if isinstance(X, ChunkSource):
        if y is not None:
            raise ValueError("y cannot be given with a ChunkSource; open the source with labels")
        return X
    return from_arrays(X, y)


def _iter(source, chunk_rows, sample_weight=None, target_transform=None):
    """Yield (r0, X, Y, w): Y float64 2-D or None, w float64 or None."""
    from .io.fold import chunks

    for r0, Xc, yc, _ in chunks(source, chunk_rows or DEFAULT_CHUNK_ROWS,
                                target_transform=target_transform):
        m = Xc.shape[0]
        Y = None
        if yc is not None:
            Y = np.asarray(yc, dtype=np.float64)
            if Y.ndim == 1:
                Y = Y.reshape(-1, 1)
        w = None if sample_weight is None else sample_weight[r0:r0 + m]
        yield r0, Xc, Y, w


def _weights(sample_weight, n):
    return check_sample_weight(sample_weight, n)


def _model_arrays(model):
    """(coef (t, d) float64, intercept (t,) float64, 1-D outputs?) of a linear model."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    y_1d = coef.ndim == 1
    coef = np.atleast_2d(coef)
    intercept = np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64)
    intercept = np.broadcast_to(np.atleast_1d(intercept), (coef.shape[0],)).copy()
    return np.ascontiguousarray(coef), intercept, y_1d


def _model_alpha(model):
    alpha = getattr(model, "alpha", 0.0)
    return float(alpha) if isinstance(alpha, numbers.Real) else 0.0


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
    from .core.solve import RCOND_MIN

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
        return HatFactor(active, empty, empty, np.zeros((0, 0)), inv_w, float(fit_intercept),
                         "cholesky", np.flatnonzero(constant), np.zeros(0, np.int64), alpha,
                         bool(fit_intercept), 1.0)
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
        rcond = float(lapack.dpocon(L, float(np.abs(S[np.ix_(piv, piv)]).sum(axis=0).max()),
                                    uplo="L")[0]) if r else 1.0
    mean = x_mean[cols].copy()
    n_params = float(cols.size) + (1.0 if fit_intercept else 0.0)
    if alpha > 0 and cols.size:
        # trace((C + aI)⁻¹ C) = k - a trace((C + aI)⁻¹) and (C + aI)⁻¹ = D S⁻¹ D.
        M = _sla.solve_triangular(L, np.diag(scale), lower=True, check_finite=False)
        n_params -= alpha * float(np.sum(M * M))
    return HatFactor(cols, mean, scale, L, inv_w, n_params, route, np.flatnonzero(constant),
                     dropped, alpha, bool(fit_intercept), rcond)


def gram_of(X, sample_weight=None, *, chunk_rows=None, y=None, target_transform=None):
    """One streaming pass: :class:`~fastlin.core.stats.GramStats` of the rows of ``X``."""
    from .core.stats import GramStats

    source = _source(X, y)
    w_all = _weights(sample_weight, source.n_rows)
    stats = GramStats()
    for _, Xc, Y, w in _iter(source, chunk_rows, w_all, target_transform):
        stats.update(Xc, Y, w)
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
    kernel(Xc, Y, coef, intercept, factor.cols, factor.mean, factor.scale, factor.L, bounds,
           Z, q_out, resid_out)


def influence(X: SourceOrArray, y: ArrayLike | None = None, *, model: Any = None,
              stats: GramStats | None = None, alpha: float | None = None,
              fit_intercept: bool | None = None, sample_weight: ArrayLike | None = None,
              chunk_rows: int | None = None,
              target_transform: TargetTransform | None = None) -> Influence:
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
        stats = gram_of(source, w_all, chunk_rows=chunk_rows,
                        target_transform=target_transform)
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
            from .core.solve import solve_gram

            sol = solve_gram(stats, alpha=alpha, fit_intercept=fit_intercept, warn=False)
            coef, intercept = np.ascontiguousarray(sol.coef), sol.intercept
            y_1d = source.y_shape is not None and len(source.y_shape) == 1 \
                and target_transform is None
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
            _run_pass(Xc, np.ascontiguousarray(Y), coef, intercept, factor, q[r0:r0 + m],
                      resid[r0:r0 + m])
        else:
            _run_pass(Xc, np.zeros((m, 0)), empty_coef, np.zeros(0), factor, q[r0:r0 + m],
                      resid[r0:r0 + m])
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
        cooks = w[:, None] * resid ** 2 * h[:, None] / (p * sigma2[None, :] * one_minus ** 2)
        stud = np.sqrt(w)[:, None] * resid / np.sqrt(sigma2[None, :] * one_minus)
    cooks[w == 0] = 0.0
    stud[w == 0] = 0.0
    if y_1d:
        resid, cooks, stud = resid[:, 0], cooks[:, 0], stud[:, 0]
    return Influence(h, resid, cooks, stud, p, sigma2, factor)


def leverage(X: SourceOrArray, *, stats: GramStats | None = None, alpha: float = 0.0,
             fit_intercept: bool = True, sample_weight: ArrayLike | None = None,
             chunk_rows: int | None = None) -> np.ndarray:
    """Diagonal of the (weighted, optionally ridge) hat matrix of the rows of X.

    See the module docstring for the formula and :func:`influence` for the parameters.

    Returns
    -------
    ndarray of shape (n,), float64
        Sums to the numerical rank (+1 with an intercept) for least squares.
    """
    source = _source(X)
    return influence(source, stats=stats, alpha=alpha, fit_intercept=fit_intercept,
                     sample_weight=sample_weight, chunk_rows=chunk_rows).leverage


def cooks_distance(X: SourceOrArray, y: ArrayLike | None, *, model: Any = None,
                   **kwargs: Any) -> np.ndarray | None:
    """Cook's distance per row (and target); see :func:`influence`."""
    return influence(X, y, model=model, **kwargs).cooks_distance


# -- residual summary ----------------------------------------------------------------------


@dataclasses.dataclass
class ResidualSummary:
    """Per-target summary of residuals y - ŷ.

    Attributes
    ----------
    n : int
    mean, std, rmse, min, max : ndarray of shape (t,)
        Weighted (std with divisor W).
    quantiles : dict of float -> ndarray of shape (t,)
        Unweighted empirical quantiles (empty when not kept).
    """

    n: int
    mean: np.ndarray
    std: np.ndarray
    rmse: np.ndarray
    min: np.ndarray
    max: np.ndarray
    quantiles: dict

    def to_dict(self):
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
               for k, v in dataclasses.asdict(self).items() if k != "quantiles"}
        out["quantiles"] = {str(q): v.tolist() for q, v in self.quantiles.items()}
        return out

    def __str__(self):
        t = self.mean.shape[0]
        names = ["mean", "std", "rmse", "min", "max"]
        lines = [f"residuals of {self.n} rows"]
        head = f"{'target':>8s} " + " ".join(f"{s:>11s}" for s in names)
        head += "".join(f" {'q' + format(q, 'g'):>11s}" for q in self.quantiles)
        lines.append(head)
        for k in range(t):
            vals = [getattr(self, s)[k] for s in names] + [v[k] for v in self.quantiles.values()]
            lines.append(f"{k:>8d} " + " ".join(f"{v:>11.4g}" for v in vals))
        return "\n".join(lines)


class ResidualStats(Accumulator):
    """Mergeable residual summary: weighted moments (Chan's merge), extremes and,
    optionally, the residuals themselves for exact quantiles (8 bytes per residual).

    Parameters
    ----------
    quantiles : sequence of float in [0, 1] or None
        None keeps no residuals (constant memory; no quantiles).
    """

    def __init__(self, quantiles: Sequence[float] | None = DEFAULT_QUANTILES):
        self.quantiles = None if quantiles is None else tuple(float(q) for q in quantiles)
        if self.quantiles is not None and any(not 0 <= q <= 1 for q in self.quantiles):
            raise ValueError(f"quantiles must lie in [0, 1], got {quantiles!r}")
        self.n = 0
        self.sum_w = None
        self.mean = self.m2 = self.ss = self.lo = self.hi = None
        self._kept = []

    def update(self, X: ArrayLike, y: None = None,
               sample_weight: ArrayLike | None = None) -> Self:
        """Fold a chunk of residuals ``X`` of shape (m,) or (m, t) in (``y`` is not used:
        the residuals are the rows)."""
        if y is not None:
            raise TypeError("ResidualStats.update takes the residuals as X and no y; pass "
                            "sample_weight by keyword")
        R = np.asarray(X, dtype=np.float64)
        if R.ndim == 1:
            R = R.reshape(-1, 1)
        if R.ndim != 2:
            raise ValueError(f"residuals must be 1-D or 2-D, got shape {R.shape}")
        m, t = R.shape
        if m == 0:
            return self
        check_finite(R, "residuals")
        w = np.ones(m) if sample_weight is None else _weights(sample_weight, m)
        if self.mean is not None and t != self.mean.shape[0]:
            raise ValueError(f"residuals have {t} targets, earlier chunks had {self.mean.shape[0]}")
        wb = float(w.sum())
        mb = (w @ R) / wb if wb > 0 else np.zeros(t)
        m2b = w @ (R - mb) ** 2
        other = (m, wb, mb, m2b, w @ (R * R), R.min(axis=0), R.max(axis=0))
        self._combine(*other)
        if self.quantiles is not None:
            self._kept.append(R.copy())
        return self

    def _combine(self, n, wb, mb, m2b, ssb, lob, hib):
        if self.mean is None:
            self.n, self.sum_w, self.mean, self.m2, self.ss = n, wb, mb, m2b, ssb
            self.lo, self.hi = lob, hib
            return
        wa = self.sum_w
        W = wa + wb
        delta = mb - self.mean
        if W > 0:
            self.mean = self.mean + delta * (wb / W)
            self.m2 = self.m2 + m2b + delta ** 2 * (wa * wb / W)
        self.ss = self.ss + ssb
        self.sum_w = W
        self.n += n
        self.lo = np.minimum(self.lo, lob)
        self.hi = np.maximum(self.hi, hib)

    def merge(self, other: ResidualStats) -> Self:
        """Add another state (disjoint rows) into this one."""
        if other.mean is None:
            return self
        self._combine(other.n, other.sum_w, other.mean, other.m2, other.ss, other.lo, other.hi)
        if self.quantiles is not None:
            if other.quantiles is None:
                self.quantiles = None
                self._kept = []
            else:
                self._kept.extend(other._kept)
        return self

    def empty(self) -> Self:
        """A state with the same quantiles and no residuals."""
        return type(self)(self.quantiles)

    def copy(self) -> Self:
        """An independent state."""
        new = super().copy()
        new._kept = list(self._kept)  # chunks are never changed in place
        return new

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Settings, moments, extremes and the kept residuals as plain arrays."""
        out = {"quantiles": np.array(self.quantiles if self.quantiles is not None else [],
                                     dtype=np.float64),
               "keep": np.bool_(self.quantiles is not None), "n": np.int64(self.n)}
        if self.mean is not None:
            out.update(sum_w=np.float64(self.sum_w), mean=self.mean, m2=self.m2, ss=self.ss,
                       lo=self.lo, hi=self.hi)
            if self.quantiles is not None:
                out["kept"] = np.concatenate(self._kept) if self._kept else \
                    np.zeros((0, self.mean.shape[0]))
        return {k: np.array(v) for k, v in out.items()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        new = cls(tuple(np.asarray(arrays["quantiles"]).tolist())
                  if bool(arrays["keep"]) else None)
        new.n = int(arrays["n"])
        if "mean" in arrays:
            new.sum_w = float(arrays["sum_w"])
            for name in ("mean", "m2", "ss", "lo", "hi"):
                setattr(new, name, np.array(arrays[name], dtype=np.float64))
            if "kept" in arrays:
                new._kept = [np.array(arrays["kept"], dtype=np.float64)]
        return new

    def finalize(self) -> ResidualSummary:
        """The :class:`ResidualSummary`."""
        if self.mean is None or self.sum_w <= 0:
            raise ValueError("no residuals with positive weight were folded in")
        qs = {}
        if self.quantiles:
            allr = np.concatenate(self._kept)
            vals = np.quantile(allr, self.quantiles, axis=0)
            qs = {q: vals[i] for i, q in enumerate(self.quantiles)}
        return ResidualSummary(self.n, self.mean.copy(), np.sqrt(self.m2 / self.sum_w),
                               np.sqrt(self.ss / self.sum_w), self.lo.copy(), self.hi.copy(), qs)


def _predict(model, Xc):
    out = np.asarray(model.predict(Xc), dtype=np.float64)
    return out.reshape(Xc.shape[0], -1)


def residual_summary(model: Any, X: SourceOrArray, y: ArrayLike | None = None, *,
                     sample_weight: ArrayLike | None = None, chunk_rows: int | None = None,
                     quantiles: Sequence[float] | None = DEFAULT_QUANTILES,
                     target_transform: TargetTransform | None = None) -> ResidualSummary:
    """Summary of the residuals y - model.predict(X), per target, in one streaming pass.

    Returns
    -------
    ResidualSummary
    """
    source = _source(X, y)
    if not source.has_targets:
        raise ValueError("residuals need targets y")
    w_all = _weights(sample_weight, source.n_rows)
    acc = ResidualStats(quantiles)
    for _, Xc, Y, w in _iter(source, chunk_rows, w_all, target_transform):
        acc.update(Y - _predict(model, Xc), sample_weight=w)
    return acc.finalize()


# -- projection check ----------------------------------------------------------------------


@dataclasses.dataclass
class ProjectionCheck:
    """How far the residuals are from orthogonal to the (centred) columns of X.

    For least squares Xcᵀ W R = 0; for ridge Xcᵀ W R = alpha β. ``relative`` is
    |Xcᵀ W R - alpha β| per column and target, divided by |x_c,j| |r_k| (a cosine; 0 for
    constant columns), ``max_relative`` its largest entry, ``frobenius_relative``
    |G|_F / (|Xc|_F |R|_F). ``intercept_relative`` is |Σ w r| / (sqrt(W) |r|) (with an
    intercept it should be 0 too).
    """

    max_relative: float
    frobenius_relative: float
    intercept_relative: float
    relative: np.ndarray
    tol: float

    @property
    def passed(self):
        return bool(self.max_relative <= self.tol and
                    (not np.isfinite(self.intercept_relative)
                     or self.intercept_relative <= self.tol))


def projection_check(model: Any, X: SourceOrArray, y: ArrayLike | None = None, *,
                     sample_weight: ArrayLike | None = None, chunk_rows: int | None = None,
                     target_transform: TargetTransform | None = None,
                     tol: float = 1e-8) -> ProjectionCheck:
    """Check XᵀR ≈ 0 (ridge: Xcᵀ W R = alpha β) for the residuals of a linear model.

    Parameters
    ----------
    model : fitted linear model (``coef_``, ``intercept_``, optional ``alpha`` and
        ``fit_intercept``)
    X, y : data (arrays or a ChunkSource)
    tol : float
        ``passed`` when every relative value is at most ``tol``.

    Returns
    -------
    ProjectionCheck
    """
    source = _source(X, y)
    if not source.has_targets:
        raise ValueError("the projection check needs targets y")
    w_all = _weights(sample_weight, source.n_rows)
    coef, intercept, _ = _model_arrays(model)
    d, t = source.n_features, coef.shape[0]
    G = np.zeros((d, t))
    xs = np.zeros(d)
    xx = np.zeros(d)
    rs = np.zeros(t)
    rr = np.zeros(t)
    W = 0.0
    for _, Xc, Y, w in _iter(source, chunk_rows, w_all, target_transform):
        Xf = np.asarray(Xc, dtype=np.float64)
        R = Y - Xf @ coef.T - intercept
        wv = np.ones(Xf.shape[0]) if w is None else w
        wR = R * wv[:, None]
        G += Xf.T @ wR
        xs += wv @ Xf
        xx += wv @ (Xf * Xf)
        rs += wR.sum(axis=0)
        rr += np.einsum("it,it->t", wR, R)
        W += float(wv.sum())
    fit_intercept = bool(getattr(model, "fit_intercept", True))
    if fit_intercept:
        xm = xs / W
        G -= np.outer(xm, rs)
        xnorm2 = np.maximum(xx - W * xm * xm, 0.0)
    else:
        xnorm2 = xx
    G -= _model_alpha(model) * coef.T
    xn = np.sqrt(xnorm2)
    rn = np.sqrt(rr)
    denom = xn[:, None] * rn[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(denom > 0, np.abs(G) / np.where(denom > 0, denom, 1.0), 0.0)
        fro_den = float(np.sqrt(xnorm2.sum()) * np.sqrt(rr.sum()))
        fro = float(np.linalg.norm(G) / fro_den) if fro_den > 0 else 0.0
        ir = float(np.abs(rs).max() / np.sqrt(W * rr.max())) if rr.max() > 0 else 0.0
    if not fit_intercept:
        ir = float("nan")
    return ProjectionCheck(float(rel.max()) if rel.size else 0.0, fro, ir, rel, float(tol))


# -- linear probe --------------------------------------------------------------------------


@dataclasses.dataclass
class ProbeResult:
    """What :func:`linear_probe` returns.

    Attributes
    ----------
    accuracy : float
        Held-out accuracy of the ridge read-out.
    train_accuracy : float
    n_train, n_val : int
    classes : ndarray
    alpha : float
    model : fastlin.Ridge
        The read-out (one output per class; predict by argmax).
    """

    accuracy: float
    train_accuracy: float
    n_train: int
    n_val: int
    classes: np.ndarray
    alpha: float
    model: object

    def __str__(self):
        return (f"linear probe: held-out accuracy {100 * self.accuracy:.2f} % on {self.n_val} "
                f"rows (train {100 * self.train_accuracy:.2f} % on {self.n_train}, "
                f"{self.classes.size} classes, alpha={self.alpha:g})")


def linear_probe(H: ArrayLike, labels: ArrayLike, H_val: ArrayLike | None = None,
                 labels_val: ArrayLike | None = None, *, alpha: float = 1.0,
                 val_fraction: float = 0.2, random_state: Seed = 0) -> ProbeResult:
    """Fit a ridge read-out (one-hot least squares) on features and score it held out.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Features (e.g. activations of a network layer).
    labels : array-like of shape (n,)
        Class labels (any values; classes are the sorted unique labels).
    H_val, labels_val : optional
        Held-out rows; when not given, ``val_fraction`` of the rows (random, seeded by
        ``random_state``) are held out.
    alpha : float >= 0
    val_fraction : float in (0, 1)

    Returns
    -------
    ProbeResult
    """
    from ._validation import as_2d_array
    from .estimators.linear_model import Ridge
    from ._warnings import collected
    from .core.solve import RankDeficientWarning

    alpha = check_real_scalar(alpha, "alpha", 0.0)
    H = as_2d_array(H, "H")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != H.shape[0]:
        raise ValueError(f"labels must be 1-D with one label per row of H ({H.shape[0]}), "
                         f"got shape {labels.shape}")
    if (H_val is None) != (labels_val is None):
        raise ValueError("give both H_val and labels_val, or neither")
    if H_val is None:
        v = check_real_scalar(val_fraction, "val_fraction", 0.0, low_inclusive=False)
        if v >= 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        rng = np.random.default_rng(random_state)
        mask = rng.random(H.shape[0]) < v
        if mask.all() or not mask.any():
            raise ValueError(f"val_fraction={val_fraction} leaves no training or no held-out rows")
        H_tr, y_tr, H_val, labels_val = H[~mask], labels[~mask], H[mask], labels[mask]
    else:
        H_val = as_2d_array(H_val, "H_val")
        labels_val = np.asarray(labels_val)
        if H_val.shape[1] != H.shape[1]:
            raise ValueError(f"H_val has {H_val.shape[1]} features, H has {H.shape[1]}")
        if labels_val.shape != (H_val.shape[0],):
            raise ValueError("labels_val must be 1-D with one label per row of H_val")
        H_tr, y_tr = H, labels
    classes, idx = np.unique(y_tr, return_inverse=True)
    Y = np.zeros((idx.size, classes.size))
    Y[np.arange(idx.size), idx] = 1.0
    with collected(RankDeficientWarning):  # a probe's rank says nothing about the model
        model = Ridge(alpha=alpha).fit(H_tr, Y)

    def acc(Hx, yx):
        pred = classes[np.argmax(np.atleast_2d(model.predict(Hx)).reshape(len(yx), -1), axis=1)]
        return float(np.mean(pred == yx)) if len(yx) else float("nan")

    return ProbeResult(acc(H_val, labels_val), acc(H_tr, y_tr), int(H_tr.shape[0]),
                       int(H_val.shape[0]), classes, alpha, model)


# -- the checklist -------------------------------------------------------------------------


@dataclasses.dataclass
class Check:
    """One line of the checklist: ``status`` in pass / warn / fail / skip."""

    name: str
    status: str
    message: str
    details: dict = dataclasses.field(default_factory=dict)


class DiagnosticReport:
    """The checklist returned by :func:`diagnose`: print it, or ``to_dict()`` it."""

    def __init__(self, checks: Iterable[Check], model_name: str = ""):
        self.checks = list(checks)
        self.model_name = model_name

    def __getitem__(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __iter__(self):
        return iter(self.checks)

    @property
    def status(self) -> str:
        """The worst status: fail > warn > pass (skip ignored)."""
        found = {c.status for c in self.checks}
        for s in ("fail", "warn", "pass"):
            if s in found:
                return s
        return "skip"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model_name, "status": self.status,
                "checks": [{"name": c.name, "status": c.status, "message": c.message,
                            "details": _jsonable(c.details)} for c in self.checks]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_text(self) -> str:
        width = max([len(c.name) for c in self.checks] + [5])
        lines = [f"diagnostics of {self.model_name}: overall {self.status.upper()}",
                 f"{'check':<{width}}  status  explanation"]
        for c in self.checks:
            lines.append(f"{c.name:<{width}}  {c.status.upper():<6}  {c.message}")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"DiagnosticReport({self.model_name!r}, status={self.status!r})"


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if np.isfinite(v) else None
    return value


def _unwrap(model):
    """(search object or None, estimator, preprocessing steps list, final estimator)."""
    search = None
    est = model
    if hasattr(model, "best_estimator_"):
        search, est = model, model.best_estimator_
    steps = []
    final = est
    if hasattr(est, "steps"):
        steps = [s for _, s in est.steps[:-1] if s is not None and s != "passthrough"]
        final = est.steps[-1][1]
    return search, est, steps, final


def _transform(steps, Xc):
    for s in steps:
        Xc = s.transform(Xc)
    return Xc


class _Task:
    """How to turn labels into targets and predictions into scores for one model."""

    def __init__(self, model, final, targets, n_outputs, classes):
        self.model = model
        self.final = final
        self.kind = targets  # "classifier", "one-hot" or "raw"
        self.n_outputs = n_outputs
        self.classes = classes

    @property
    def classification(self):
        return self.kind in ("classifier", "one-hot")

    def label_index(self, y):
        y = np.asarray(y).reshape(-1)
        if self.kind == "one-hot":
            return y.astype(np.int64)
        return np.searchsorted(self.classes, y)

    def targets(self, y):
        """Float64 (m, t) regression targets (one-hot for classification)."""
        if self.classification:
            idx = self.label_index(y)
            K = self.n_outputs if self.kind == "one-hot" else self.classes.size
            Y = np.zeros((idx.size, K))
            Y[np.arange(idx.size), idx] = 1.0
            return Y
        Y = np.asarray(y, dtype=np.float64)
        return Y.reshape(Y.shape[0], -1)

    def scores(self, Xc):
        """(m, t) predictions (probabilities for classifiers)."""
        if self.kind == "classifier":
            if hasattr(self.model, "predict_proba"):
                P = np.asarray(self.model.predict_proba(Xc), dtype=np.float64)
                return P.reshape(Xc.shape[0], -1)
            D = np.asarray(self.model.decision_function(Xc), dtype=np.float64)
            return D.reshape(Xc.shape[0], -1)
        return _predict(self.model, Xc)


def _infer_task(model, final, y_sample, targets):
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = getattr(final, "classes_", None)
    if classes is not None and targets in ("auto", "classifier"):
        return _Task(model, final, "classifier", len(classes), np.asarray(classes))
    coef = getattr(final, "coef_", None)
    n_out = 1 if coef is None or np.ndim(coef) == 1 else np.shape(coef)[0]
    meta = getattr(final, "metadata_", {}) or {}
    if targets == "auto":
        targets = meta.get("targets") or "raw"
        if targets == "raw" and n_out > 1 and y_sample is not None \
                and np.ndim(y_sample) == 1 and np.asarray(y_sample).dtype.kind in "ui":
            targets = "one-hot"
    if targets == "one-hot":
        return _Task(model, final, "one-hot", n_out, np.arange(n_out))
    return _Task(model, final, "raw", n_out, None)


def diagnose(model: Any, X: SourceOrArray, y: ArrayLike | None = None, *,
             X_val: SourceOrArray | None = None, y_val: ArrayLike | None = None,
             n_train: int | None = None,
             targets: Literal["auto", "raw", "one-hot", "classifier"] = "auto",
             top_k: int = 10, val_fraction: float = 0.2, random_state: Seed = 0,
             chunk_rows: int | None = None, corr_threshold: float = 0.05) -> DiagnosticReport:
    """A checklist of common mistakes and missed structure for a fitted model.

    Parameters
    ----------
    model : fitted estimator
        fastlin LinearRegression / Ridge / LogisticRegression, a scikit-learn estimator,
        a Pipeline (preprocessing steps then the model) or a fitted search object
        (GridSearchCV, RandomizedSearchCV; RidgeCV and LogisticRegressionCV are models).
    X, y : training data (arrays or a ChunkSource carrying its targets)
        The rows the model was fitted on, as far as they are available.
    X_val, y_val : held-out data, optional
        Used for the residual, calibration and baseline checks when given.
    n_train : int, optional
        Rows the model was trained on (default: the model's ``n_samples_seen_``, else the
        rows of X); used by the scaling check.
    targets : {"auto", "raw", "one-hot", "classifier"}
        How y relates to the model's outputs. "auto": classifiers (``classes_``) are
        classifiers; a multi-output regressor with 1-D integer y (or saved with
        ``metadata={"targets": "one-hot"}``) is a one-hot least-squares classifier.
    top_k : int
        Features (largest variance) whose degree-2 terms form the nonlinear baseline.
    val_fraction : float
        Rows of X held out for the baseline when X_val is not given.
    chunk_rows : int, optional
    corr_threshold : float
        Smallest residual correlation reported as structure (above the noise level).

    Returns
    -------
    DiagnosticReport
        Checks: shapes, scaling, conditioning, regularisation, residual structure,
        calibration, nonlinear baseline.
    """
    search, est, steps, final = _unwrap(model)
    name = type(model).__name__ if search is None else \
        f"{type(search).__name__}({type(final).__name__})"
    if steps:
        name = " -> ".join([type(s).__name__ for s in steps] + [name])
    checks = []
    try:
        source = _source(X, y)
    except ValueError as exc:
        checks.append(Check("shapes", "fail", str(exc)))
        return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    val_source = None
    if X_val is not None:
        try:
            val_source = _source(X_val, y_val)
        except ValueError as exc:
            checks.append(Check("shapes", "fail", f"validation data: {exc}"))
            return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    y_sample = source.targets()
    y_head = None if y_sample is None else np.asarray(y_sample[:1000])
    task = _infer_task(model, final, y_head, targets)

    shape_check = _check_shapes(model, final, task, source, val_source)
    checks.append(shape_check)
    if shape_check.status == "fail":
        return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    if n_train is None:
        n_train = getattr(final, "n_samples_seen_", None)
        if n_train is None or isinstance(n_train, np.ndarray):
            n_train = source.n_rows
    checks.append(_check_scaling(steps, int(n_train)))
    cond_check = _check_conditioning(final, steps, source, chunk_rows)
    checks.append(cond_check)
    checks.append(_check_regularisation(search, final, cond_check))
    eval_source = val_source if val_source is not None else source
    checks.append(_check_residuals(task, eval_source, chunk_rows, corr_threshold,
                                   val_source is not None))
    checks.append(_check_calibration(task, eval_source, chunk_rows))
    checks.append(_check_baseline(task, source, val_source, top_k, val_fraction,
                                  random_state, chunk_rows))
    return DiagnosticReport(checks, name)


_CHECK_NAMES = ("scaling", "conditioning", "regularisation", "residual structure",
                "calibration", "nonlinear baseline")


def _skipped(why):
    return [Check(n, "skip", why) for n in _CHECK_NAMES]


def _check_shapes(model, final, task, source, val_source):
    d_model = getattr(model, "n_features_in_", None)
    problems = []
    if d_model is not None and d_model != source.n_features:
        problems.append(f"X has {source.n_features} features but the model expects {d_model}")
    if val_source is not None and val_source.n_features != source.n_features:
        problems.append(f"X_val has {val_source.n_features} features, X has {source.n_features}")
    if not source.has_targets:
        problems.append("no targets y were given")
    else:
        y_shape = source.y_shape
        if task.kind == "raw":
            t = 1 if len(y_shape) == 1 else y_shape[1]
            if t != task.n_outputs:
                problems.append(f"y has {t} target column(s) but the model has {task.n_outputs} "
                                "output(s)")
        else:
            y = np.asarray(source.targets())
            if y.ndim != 1:
                problems.append(f"class labels must be 1-D, got shape {y.shape}")
            elif task.kind == "one-hot":
                if y.dtype.kind not in "ui" or (y.size and (y.min() < 0 or y.max() >= task.n_outputs)):
                    problems.append(f"labels must be integers in [0, {task.n_outputs}) for a "
                                    f"model with {task.n_outputs} one-hot outputs")
            else:
                unknown = np.setdiff1d(np.unique(y), task.classes)
                if unknown.size:
                    problems.append(f"y holds labels the classifier never saw: {unknown[:5].tolist()}")
    if problems:
        return Check("shapes", "fail", "; ".join(problems))
    rows = f"{source.n_rows} rows" + (f" (+{val_source.n_rows} held out)" if val_source else "")
    return Check("shapes", "pass",
                 f"{rows} x {source.n_features} features; {task.n_outputs} output(s) "
                 f"({task.kind}) agree with y",
                 {"n_rows": source.n_rows, "n_features": source.n_features,
                  "n_outputs": task.n_outputs, "task": task.kind})


def _check_scaling(steps, n_train):
    scalers = [s for s in steps if hasattr(s, "n_samples_seen_")
               and (hasattr(s, "scale_") or hasattr(s, "mean_"))]
    if not scalers:
        return Check("scaling", "skip",
                     "no fitted scaler in the model; if X was scaled beforehand, its "
                     "statistics must come from training rows only (cannot be checked here)")
    details = {}
    worst = "pass"
    msgs = []
    for s in scalers:
        seen = s.n_samples_seen_
        seen = float(np.max(seen)) if np.ndim(seen) else float(seen)
        details[type(s).__name__] = {"n_samples_seen": seen, "n_train": n_train}
        if seen > n_train:
            worst = "fail"
            msgs.append(f"{type(s).__name__} saw {seen:g} rows but the model was trained on "
                        f"{n_train}: its statistics include rows outside the training set "
                        "(validation/test leakage)")
        elif seen < n_train:
            if worst == "pass":
                worst = "warn"
            msgs.append(f"{type(s).__name__} saw {seen:g} rows, fewer than the {n_train} "
                        "training rows (fitted on a subset?)")
        else:
            msgs.append(f"{type(s).__name__} statistics come from the {n_train} training rows")
    return Check("scaling", worst, "; ".join(msgs), details)


def _check_conditioning(final, steps, source, chunk_rows):
    from .core.stats import GramStats

    stats = getattr(final, "stats_", None)
    where = "the model's training statistics"
    if not isinstance(stats, GramStats):
        stats = GramStats()
        for _, Xc, _, _ in _iter(source, chunk_rows):
            stats.update(_transform(steps, Xc))
        where = "the rows of X" + (" after preprocessing" if steps else "")
    fit_intercept = bool(getattr(final, "fit_intercept", True))
    C, _ = centred_gram(stats, fit_intercept)
    d = C.shape[0]
    diag = np.diag(C)
    scale = stats.shifted_diag if fit_intercept else stats.xtx_diag
    constant = (diag <= 64 * np.finfo(np.float64).eps * scale) | (diag <= 0)
    active = np.flatnonzero(~constant)
    details = {"n_features": d, "constant_columns": int(constant.sum()), "source": where}
    if active.size == 0:
        return Check("conditioning", "fail", "every column is constant", details)
    s = 1.0 / np.sqrt(diag[active])
    R = C[np.ix_(active, active)] * s[:, None] * s[None, :]
    ev = np.linalg.eigvalsh(R)
    top = float(ev[-1])
    tol = top * active.size * np.finfo(np.float64).eps * 8
    rank = int((ev > tol).sum())
    pos = ev[ev > tol]
    kappa = float(np.sqrt(top / pos[0])) if pos.size else float("inf")
    alpha = _model_alpha(final)
    details.update(rank=rank, condition_number=kappa)
    msg = (f"rank {rank} of {active.size} non-constant columns"
           f" ({int(constant.sum())} constant, harmless with an intercept); condition number "
           f"of the standardised design {kappa:.3g}" if constant.any() and fit_intercept else
           f"rank {rank} of {active.size} non-constant columns; condition number of the "
           f"standardised design {kappa:.3g}")
    if rank < active.size:
        msg = (f"rank {rank} of {active.size} non-constant columns (collinear features); "
               f"condition number of the standardised design {kappa:.3g} on its {rank} "
               "non-null directions"
               + (f"; {int(constant.sum())} constant" if constant.any() else ""))
    ridge_kappa = None
    if alpha > 0:
        A = C[np.ix_(active, active)] + alpha * np.eye(active.size)
        sa = 1.0 / np.sqrt(np.diag(A))
        ev_r = np.linalg.eigvalsh(A * sa[:, None] * sa[None, :])
        if ev_r is not None:
            ridge_kappa = float(np.sqrt(ev_r[-1] / max(ev_r[0], np.finfo(float).tiny)))
            details["ridge_condition_number"] = ridge_kappa
            msg += f"; with alpha={alpha:g} the system has condition number {ridge_kappa:.3g}"
    bad = rank < active.size or kappa > 1e4
    if bad and ridge_kappa is not None and ridge_kappa < 1e4:
        return Check("conditioning", "pass", msg + " (ridge makes it well posed)", details)
    if bad:
        return Check("conditioning", "warn", msg + ": coefficients are poorly determined", details)
    return Check("conditioning", "pass", msg, details)


_DEFAULT_PENALTY = {"Ridge": ("alpha", 1.0), "LogisticRegression": ("C", 1.0),
                    "Lasso": ("alpha", 1.0), "ElasticNet": ("alpha", 1.0),
                    "SGDRegressor": ("alpha", 1e-4), "SGDClassifier": ("alpha", 1e-4)}


def _check_regularisation(search, final, cond_check):
    fname = type(final).__name__
    if search is not None:
        best = getattr(search, "best_params_", {}) or {}
        keys = [k for k in best if k.split("__")[-1] in ("alpha", "C", "l2_reg", "lambda")]
        n_cand = len(getattr(search, "cv_results_", {}).get("params", [])) or "several"
        if keys:
            chosen = ", ".join(f"{k}={best[k]!r}" for k in keys)
            return Check("regularisation", "pass",
                         f"{chosen} chosen by {type(search).__name__} over {n_cand} candidates "
                         "on cross-validation folds", {"best_params": best})
        return Check("regularisation", "warn",
                     f"{type(search).__name__} did not search the penalty (searched "
                     f"{sorted(best)})", {"best_params": best})
    if hasattr(final, "alpha_") or hasattr(final, "C_"):
        what = "alpha_" if hasattr(final, "alpha_") else "C_"
        val = np.asarray(getattr(final, what)).tolist()
        return Check("regularisation", "pass",
                     f"{what[:-1]}={val} chosen by {fname} on validation folds", {what: val})
    meta = getattr(final, "metadata_", {}) or {}
    if meta.get("alpha_selection"):
        return Check("regularisation", "pass",
                     f"penalty chosen by {meta['alpha_selection']} (saved metadata)")
    if fname in _DEFAULT_PENALTY:
        pname, default = _DEFAULT_PENALTY[fname]
        val = getattr(final, pname, None)
        if isinstance(val, numbers.Real) and val == default:
            return Check("regularisation", "warn",
                         f"{pname}={val:g} is {fname}'s default, not chosen on validation data; "
                         "choose it with RidgeCV / GridSearchCV on held-out rows",
                         {pname: val, "default": True})
        return Check("regularisation", "skip",
                     f"{pname}={val!r} was set by hand; whether it was chosen on validation data "
                     "cannot be checked (use a search object to record it)", {pname: val})
    if cond_check.status == "warn":
        return Check("regularisation", "warn",
                     f"{fname} is unregularised on an ill-conditioned or collinear design; "
                     "consider Ridge with alpha chosen on validation data")
    return Check("regularisation", "skip", f"{fname} has no penalty to choose")


def _corr_threshold(n, m, floor):
    """Largest |correlation| expected from noise: Bonferroni over m tests at 1 %."""
    from scipy.stats import norm

    return max(floor, float(norm.isf(0.005 / max(m, 1))) / np.sqrt(max(n - 3, 1)))


def _check_residuals(task, source, chunk_rows, floor, held_out):
    if task.kind == "classifier":
        return Check("residual structure", "skip",
                     "classifier: residual structure is checked for regression outputs")
    d = source.n_features
    shift = None
    acc = None
    n = 0
    for _, Xc, Yraw, _ in _iter_raw_targets(source, chunk_rows):
        Xf = np.asarray(Xc, dtype=np.float64)
        F = task.scores(Xc)
        Y = task.targets(Yraw)
        R = Y - F
        if shift is None:
            shift = Xf.mean(axis=0)
            fshift = F.mean(axis=0)
            t = R.shape[1]
            acc = dict(r=np.zeros(t), rr=np.zeros(t), f=np.zeros(t), ff=np.zeros(t),
                       rf=np.zeros(t), q=np.zeros(d), qq=np.zeros(d), rq=np.zeros((d, t)))
        Q = (Xf - shift) ** 2
        F2 = (F - fshift) ** 2
        acc["r"] += R.sum(0)
        acc["rr"] += (R * R).sum(0)
        acc["f"] += F2.sum(0)
        acc["ff"] += (F2 * F2).sum(0)
        acc["rf"] += (R * F2).sum(0)
        acc["q"] += Q.sum(0)
        acc["qq"] += (Q * Q).sum(0)
        acc["rq"] += Q.T @ R
        n += Xf.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        mr = acc["r"] / n
        vr = acc["rr"] / n - mr ** 2
        mf = acc["f"] / n
        vf = acc["ff"] / n - mf ** 2
        c_fit = (acc["rf"] / n - mr * mf) / np.sqrt(vr * vf)
        mq = acc["q"] / n
        vq = acc["qq"] / n - mq ** 2
        c_feat = (acc["rq"] / n - mq[:, None] * mr[None, :]) / np.sqrt(vq[:, None] * vr[None, :])
    c_fit = np.where(np.isfinite(c_fit) & (vf > 1e-12 * np.maximum(acc["ff"] / n, 1e-300)),
                     c_fit, 0.0)
    ok = np.isfinite(c_feat) & (vq[:, None] > 1e-12 * np.maximum(acc["qq"][:, None] / n, 1e-300))
    c_feat = np.where(ok, c_feat, 0.0)
    t = c_fit.shape[0]
    best_fit = float(np.max(np.abs(c_fit)))
    j, k = np.unravel_index(np.argmax(np.abs(c_feat)), c_feat.shape)
    best_feat = float(abs(c_feat[j, k]))
    thresh = _corr_threshold(n, d * t + t, floor)
    where = "held-out" if held_out else "training"
    details = {"corr_residual_fitted_sq": best_fit, "corr_residual_feature_sq": best_feat,
               "feature": int(j), "target": int(k), "threshold": thresh, "rows": n,
               "data": where}
    worst = max(best_fit, best_feat)
    msg = (f"max |corr(residual, fitted²)| = {best_fit:.3f}, max |corr(residual, x_j²)| = "
           f"{best_feat:.3f} (feature {j}"
           + (f", output {k}" if t > 1 else "") + f") on {n} {where} rows; noise level {thresh:.3f}")
    if worst <= thresh:
        return Check("residual structure", "pass", msg + ": no curvature left", details)
    status = "fail" if worst >= 0.2 else "warn"
    return Check("residual structure", status,
                 msg + ": residuals curve with the fit or a feature, a linear model misses "
                 "a nonlinear (e.g. quadratic) term", details)


def _iter_raw_targets(source, chunk_rows):
    """Chunks with y as given (labels stay labels)."""
    from .io.fold import chunks

    yield from chunks(source, chunk_rows or DEFAULT_CHUNK_ROWS)


def _check_calibration(task, source, chunk_rows):
    from .core.calibration import CalibrationStats

    if not task.classification:
        return Check("calibration", "skip", "regression model: no probabilities to calibrate")
    is_proba = task.kind == "classifier" and hasattr(task.model, "predict_proba")
    if task.kind == "classifier" and not is_proba:
        return Check("calibration", "skip", "classifier without predict_proba")
    state = CalibrationStats(n_bins=15, mode="top_label", scores=False)
    for _, Xc, yc, _ in _iter_raw_targets(source, chunk_rows):
        P = task.scores(Xc)
        if not is_proba:
            P = np.clip(P, 0.0, 1.0)
        idx = task.label_index(yc)
        state.update(P, idx)
    res = state.finalize()
    ece = float(res.ece)
    what = ("predict_proba" if is_proba else
            "one-hot least-squares scores clipped to [0, 1] (a linear probability model)")
    details = {"ece": ece, "mce": float(res.mce), "n_bins": 15, "source": what,
               "table": res.table.to_dict()}
    msg = f"expected calibration error {ece:.4f} (15 bins, top label) of {what}"
    if ece <= 0.05:
        return Check("calibration", "pass", msg, details)
    status = "warn" if ece <= 0.15 else "fail"
    return Check("calibration", status,
                 msg + "; recalibrate (e.g. temperature or isotonic) before trusting "
                 "probabilities", details)


def _split_masks(source, val_source, val_fraction, random_state):
    if val_source is not None:
        return None
    v = check_real_scalar(val_fraction, "val_fraction", 0.0, low_inclusive=False)
    if v >= 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    return np.random.default_rng(random_state).random(source.n_rows) < v


def _baseline_features(Xf, top, mu, sd):
    Z = (Xf[:, top] - mu) / sd
    k = top.size
    iu, ju = np.triu_indices(k)
    return np.hstack([Xf, Z[:, iu] * Z[:, ju]])


def _check_baseline(task, source, val_source, top_k, val_fraction, random_state, chunk_rows):
    from .core.solve import solve_gram
    from .core.stats import GramStats

    mask = _split_masks(source, val_source, val_fraction, random_state)
    if mask is not None and (mask.all() or not mask.any() or source.n_rows < 20):
        return Check("nonlinear baseline", "skip", "too few rows to hold some out")

    def train_chunks():
        for r0, Xc, yc, _ in _iter_raw_targets(source, chunk_rows):
            if mask is None:
                yield Xc, yc
            else:
                keep = ~mask[r0:r0 + Xc.shape[0]]
                if keep.any():
                    yield Xc[keep], np.asarray(yc)[keep]

    def val_chunks():
        if mask is None:
            for _, Xc, yc, _ in _iter_raw_targets(val_source, chunk_rows):
                yield Xc, yc
            return
        for r0, Xc, yc, _ in _iter_raw_targets(source, chunk_rows):
            sel = mask[r0:r0 + Xc.shape[0]]
            if sel.any():
                yield Xc[sel], np.asarray(yc)[sel]

    lin = GramStats()
    for Xc, yc in train_chunks():
        lin.update(Xc, task.targets(yc))
    C, _ = centred_gram(lin, True)
    var = np.diag(C) / lin.sum_w
    k = int(min(top_k, np.count_nonzero(var > 0)))
    if k == 0:
        return Check("nonlinear baseline", "skip", "no feature varies")
    top = np.sort(np.argsort(var)[::-1][:k])
    mu = (lin.x_sum / lin.sum_w)[top]
    sd = np.sqrt(var[top])
    # The baseline's Gram is the linear one bordered by the degree-2 terms: only the
    # cross products with the few extra columns need another pass.
    n_q = k * (k + 1) // 2
    d = lin.n_features
    XQ = np.zeros((d, n_q))
    QQ = np.zeros((n_q, n_q))
    QY = np.zeros((n_q, lin.n_targets))
    q_sum = np.zeros(n_q)
    for Xc, yc in train_chunks():
        Xf = np.asarray(Xc, dtype=np.float64)
        Q = _baseline_features(Xf, top, mu, sd)[:, d:]
        XQ += Xf.T @ Q
        QQ += Q.T @ Q
        QY += Q.T @ task.targets(yc)
        q_sum += Q.sum(axis=0)
    # Raw (unshifted) sums, bordered: the baseline is a diagnostic, not a fit to keep.
    arrays = dict(
        n_rows=np.int64(lin.n_rows), sum_w=np.float64(lin.sum_w), y_sum=lin.y_sum,
        yty=lin.yty, xtx=np.block([[lin.xtx, XQ], [XQ.T, QQ]]), xty=np.vstack([lin.xty, QY]),
        x_sum=np.concatenate([lin.x_sum, q_sum]), float32_only=np.bool_(False))
    quad = GramStats.from_arrays(arrays)

    def solve(stats):
        Cs, _ = centred_gram(stats, True)
        dg = np.diag(Cs)
        a = 1e-6 * float(dg[dg > 0].mean()) if (dg > 0).any() else 1e-6
        return solve_gram(stats, alpha=a, fit_intercept=True, warn=False), a

    sol_lin, a_lin = solve(lin)
    sol_quad, a_quad = solve(quad)
    sse = np.zeros(2)
    sy = syy = 0.0
    correct = np.zeros(2)
    n_val = 0
    for Xc, yc in val_chunks():
        Xf = np.asarray(Xc, dtype=np.float64)
        Y = task.targets(yc)
        P1 = Xf @ sol_lin.coef.T + sol_lin.intercept
        P2 = _baseline_features(Xf, top, mu, sd) @ sol_quad.coef.T + sol_quad.intercept
        for i, P in enumerate((P1, P2)):
            sse[i] += float(((Y - P) ** 2).sum())
            if task.classification:
                correct[i] += int(np.count_nonzero(np.argmax(P, axis=1) == task.label_index(yc)))
        sy += Y.sum(0)
        syy += (Y * Y).sum(0)
        n_val += Xf.shape[0]
    if n_val == 0:
        return Check("nonlinear baseline", "skip", "no held-out rows")
    sst = float(np.sum(syy - np.asarray(sy) ** 2 / n_val))
    r2 = 1 - sse / sst if sst > 0 else np.full(2, np.nan)
    n_terms = k * (k + 1) // 2
    details = {"top_k": k, "features": top.tolist(), "extra_terms": n_terms,
               "held_out_rows": n_val, "r2_linear": float(r2[0]), "r2_baseline": float(r2[1]),
               "alpha": [a_lin, a_quad]}
    base = f"linear + {n_terms} degree-2 terms of the top {k} features by variance"
    if task.classification:
        acc = correct / n_val
        details.update(accuracy_linear=float(acc[0]), accuracy_baseline=float(acc[1]))
        gain = float(acc[1] - acc[0])
        msg = (f"held-out accuracy: one-hot least squares {100 * acc[0]:.2f} %, {base} "
               f"{100 * acc[1]:.2f} % ({n_val} rows)")
        if gain <= 0.01:
            return Check("nonlinear baseline", "pass", msg + ": no clear gain from nonlinearity",
                         details)
        status = "fail" if gain > 0.05 else "warn"
        return Check("nonlinear baseline", status,
                     msg + ": a simple nonlinear model does better", details)
    gain = float(r2[1] - r2[0])
    removed = gain / (1 - r2[0]) if r2[0] < 1 else 0.0
    details["error_removed"] = float(removed)
    msg = (f"held-out R²: linear {r2[0]:.4f}, {base} {r2[1]:.4f} ({n_val} rows)")
    if not (gain > 0.01 and removed > 0.1):
        return Check("nonlinear baseline", "pass", msg + ": no clear gain from nonlinearity",
                     details)
    status = "fail" if removed > 0.5 else "warn"
    return Check("nonlinear baseline", status,
                 msg + f": the baseline removes {100 * removed:.0f} % of the linear model's "
                 "error; the relationship is nonlinear", details)
