"""Ridge paths and leave-one-out / GCV scores from one eigendecomposition.

With the centred Gram C = V diag(λ) Vᵀ and q = Vᵀ Cxy (both from
:class:`~fastlin.core.stats.GramStats`), the ridge solution for any alpha is

    β(α) = V diag(1 / (λ + α)) q,

so a path over many alphas costs one ``eigh`` of the d x d matrix plus a d x d by
d x t product per alpha: no further pass over the data.

Generalised cross-validation needs only the statistics:
RSS(α) = tss - Σ q² (λ + 2α) / (λ + α)² and df(α) = Σ λ / (λ + α) (+1 for the intercept),
GCV(α) = W · RSS(α) / (W - df(α))².

Exact leave-one-out errors need each row's leverage under every alpha, h_i(α) =
w_i (1/W + Σ_j z_ij² / (λ_j + α)) with z_i = Vᵀ (x_i - x̄), so they take a second pass
over the rows (:class:`LOOStats`, chunk by chunk, memory independent of n): the
leave-one-out residual of row i is e_i / (1 - h_i). That identity is exact for ridge with
an unpenalised intercept, which is why the scores equal brute-force refits.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_2d_array, check_finite, check_sample_weight, as_targets
from .accumulator import Accumulator, dataclass_arrays, dataclass_from_arrays, prefixed, unprefixed

if TYPE_CHECKING:
    from .stats import GramStats


@dataclasses.dataclass
class RidgeEigen:
    """The decomposition every alpha shares.

    Attributes
    ----------
    evals : (d,) eigenvalues of the centred Gram, ascending, clipped at 0
    evecs : (d, d) eigenvectors (columns)
    q : (d, t) Vᵀ Cxy
    x_mean, y_mean : (d,), (t,)
    tss : (t,) weighted total sum of squares of each target (about its mean when
        fitting an intercept)
    sum_w : float
    fit_intercept : bool
    tol : float
        Eigenvalues at or below this count as zero when alpha is 0 (minimum norm).
    """

    evals: np.ndarray
    evecs: np.ndarray
    q: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray
    tss: np.ndarray
    sum_w: float
    fit_intercept: bool
    tol: float

    def shrink(self, alpha):
        """1 / (λ + α), with zero for null directions when α is 0 (minimum norm)."""
        denom = self.evals + alpha
        out = np.zeros_like(denom)
        keep = denom > (self.tol if alpha == 0 else 0)
        out[keep] = 1.0 / denom[keep]
        return out


def ridge_eigen(stats, fit_intercept=True):
    """Eigendecomposition of the centred Gram of ``stats`` (a GramStats)."""
    C, Cxy, x_mean, y_mean = stats.centred(fit_intercept)
    evals, evecs = np.linalg.eigh(C)
    top = max(float(evals[-1]), 0.0)
    tol = top * C.shape[0] * np.finfo(np.float64).eps * 8
    evals = np.maximum(evals, 0.0)
    yty = np.diag(stats.yty)
    tss = yty - stats.y_sum**2 / stats.sum_w if fit_intercept else yty.copy()
    return RidgeEigen(
        evals,
        evecs,
        evecs.T @ Cxy,
        x_mean,
        y_mean,
        tss,
        float(stats.sum_w),
        bool(fit_intercept),
        tol,
    )


def _check_alphas(alphas):
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        bad = int(np.flatnonzero(~np.isfinite(a) | (a < 0))[0])
        raise ValueError(f"alphas must be finite and >= 0; alphas[{bad}] = {float(a[bad])!r}")
    return a


def ridge_path(
    stats: GramStats, alphas: ArrayLike, fit_intercept: bool = True, eigen: RidgeEigen | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients for many alphas from one pass over the data.

    Parameters
    ----------
    stats : GramStats
    alphas : array-like of shape (n_alphas,), each >= 0 (0 gives the minimum-norm
        least-squares solution)
    fit_intercept : bool
    eigen : RidgeEigen, optional
        Reuse a decomposition (from :func:`ridge_eigen`).

    Returns
    -------
    coefs : ndarray of shape (n_alphas, n_targets, n_features)
    intercepts : ndarray of shape (n_alphas, n_targets)
    """
    alphas = _check_alphas(alphas)
    e = eigen if eigen is not None else ridge_eigen(stats, fit_intercept)
    shrink = np.stack([e.shrink(a) for a in alphas])  # (A, d)
    # β(α)ᵀ = (q * shrink)ᵀ Vᵀ: one product for all alphas at once.
    scaled = e.q[None, :, :] * shrink[:, :, None]  # (A, d, t)
    coefs = np.einsum("adt,fd->atf", scaled, e.evecs, optimize=True)
    intercepts = (
        e.y_mean[None, :] - coefs @ e.x_mean
        if fit_intercept
        else np.zeros((alphas.size, e.q.shape[1]))
    )
    return coefs, intercepts


def gcv_scores(eigen, alphas):
    """Generalised cross-validation score per alpha and target, shape (n_alphas, n_targets)."""
    alphas = _check_alphas(alphas)
    out = np.empty((alphas.size, eigen.q.shape[1]))
    q2 = eigen.q**2
    for k, a in enumerate(alphas):
        s = eigen.shrink(a)
        # RSS = tss - 2 Σ q² s + Σ λ q² s²
        rss = eigen.tss - q2.T @ (2 * s - eigen.evals * s * s)
        df = float(np.sum(eigen.evals * s)) + int(eigen.fit_intercept)
        out[k] = eigen.sum_w * np.maximum(rss, 0) / (eigen.sum_w - df) ** 2
    return out


_LOO_BLOCK = 8192
"""Rows per block of the leave-one-out pass."""


class LOOStats(Accumulator):
    """Leave-one-out squared errors for every alpha, accumulated chunk by chunk.

    A mergeable accumulator for the second pass over the rows: ``update(X, Y, w)`` adds
    the weighted squared leave-one-out residuals of the chunk's rows under each alpha;
    ``finalize()`` returns their weighted mean, shape (n_alphas, n_targets).

    Parameters
    ----------
    eigen : RidgeEigen
    alphas : array-like of shape (n_alphas,)
    """

    _SUMS = ("sq_err", "sum_w", "n_rows")

    def __init__(self, eigen, alphas):
        self.eigen = eigen
        self.alphas = _check_alphas(alphas)
        self.shrink = np.stack([eigen.shrink(a) for a in self.alphas])  # (A, d)
        self.sq_err = np.zeros((self.alphas.size, eigen.q.shape[1]))
        self.sum_w = 0.0
        self.n_rows = 0
        # Per alpha: a row with leverage 1 has no leave-one-out fit (its score is inf).
        self.undefined = np.zeros(self.alphas.size, dtype=bool)

    def update(self, X, Y=None, sample_weight=None):
        """Fold a chunk (the rows the statistics were built from) into the scores."""
        if Y is None:
            raise ValueError("LOOStats.update needs y: the scores are of its residuals")
        X = as_2d_array(X, "X")
        Y, _ = as_targets(Y, X.shape[0], "y")
        if X.shape[1] != self.eigen.evecs.shape[0]:
            raise ValueError(f"X has {X.shape[1]} features, expected {self.eigen.evecs.shape[0]}")
        check_finite(X, "X")
        check_finite(Y, "y")
        w = check_sample_weight(sample_weight, X.shape[0])
        wv = np.ones(X.shape[0]) if w is None else w
        sq_err = self.sq_err.copy()
        undefined = self.undefined.copy()
        # Blocks of rows: BLAS on each, and memory bounded by the block, not the chunk.
        for r0 in range(0, X.shape[0], _LOO_BLOCK):
            r1 = min(r0 + _LOO_BLOCK, X.shape[0])
            self._fold_block(X[r0:r1], Y[r0:r1], wv[r0:r1], sq_err, undefined)
        self.sq_err = sq_err
        self.undefined = undefined
        self.sum_w += float(wv.sum())
        self.n_rows += X.shape[0]
        return self

    def _fold_block(self, X, Y, wv, sq_err, undefined):
        e = self.eigen
        Z = (np.asarray(X, dtype=np.float64) - e.x_mean) @ e.evecs  # (n, d)
        Yc = np.asarray(Y, dtype=np.float64) - e.y_mean  # (n, t)
        base = 1.0 / e.sum_w if e.fit_intercept else 0.0
        H = wv[:, None] * (base + (Z * Z) @ self.shrink.T)  # (n, A)
        bad = (H >= 1.0 - 1e-10).any(axis=0)
        undefined |= bad
        H[:, bad] = 0.0
        for k in range(self.alphas.size):
            fitted = Z @ (e.q * self.shrink[k][:, None])  # (n, t)
            resid = (Yc - fitted) / (1.0 - H[:, k])[:, None]
            sq_err[k] += wv @ (resid * resid)

    def copy(self):
        """An independent copy (the decomposition is shared: it is never changed)."""
        new = super().copy()
        new.undefined = self.undefined.copy()
        return new

    def merge(self, other):
        """Add another LOOStats built from the same decomposition and alphas."""
        super().merge(other)
        self.undefined = self.undefined | other.undefined
        return self

    def to_arrays(self):
        return {**super().to_arrays(), "undefined": self.undefined.copy()}

    @classmethod
    def from_arrays(cls, arrays):
        new = super().from_arrays(arrays)
        new.undefined = np.asarray(arrays["undefined"], dtype=bool).reshape(new.alphas.shape)
        return new

    def _settings(self):
        return {"alphas": self.alphas, **prefixed("eigen", dataclass_arrays(self.eigen))}

    @classmethod
    def _from_settings(cls, arrays):
        eigen = dataclass_from_arrays(RidgeEigen, unprefixed("eigen", arrays))
        return cls(eigen, arrays["alphas"])

    def finalize(self):
        """Weighted mean squared leave-one-out error, shape (n_alphas, n_targets).

        inf for an alpha under which some row has leverage 1 (that row alone determines
        a direction of the fit, so leaving it out is undefined).
        """
        if self.sum_w <= 0:
            raise ValueError("no rows have been folded into the leave-one-out scores")
        out = self.sq_err / self.sum_w
        out[self.undefined] = np.inf
        return out
