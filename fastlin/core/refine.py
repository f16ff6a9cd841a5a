"""Refinement passes over the rows: corrected semi-normal equations.

A Gram solve loses digits in proportion to the condition number of XᵀX, the square of
X's. Given the factored Gram (``LinearSolution.correct``) and the rows again, a pass
computes the exact residual r = y - b - Xβ from the rows and the gradient
g = Σ w (x - x̄) rᵀ - alpha β; stepping β += correct(g) is the corrected semi-normal
equations, whose error shrinks by about (rounding level of the statistics) / rcond per
pass. :func:`refine` accelerates those steps by conjugate gradients (the factor as
preconditioner, one pass per product), so that they converge even when that ratio is
near 1, as for float32 block sums; when they do not, the caller falls back to TSQR.

``ResidualSums`` is the accumulator of one pass (update / merge / finalize), so its
passes run over arrays, chunk sources and workers alike.
"""

import dataclasses

import numpy as np

from .._blas_threads import single_thread_blas
from .._threads import n_threads, row_ranges
from .accumulator import Accumulator
from .._validation import as_2d_array, as_targets, check_finite, check_sample_weight
from ..kernels import residual as _residual
from .stats import _BLOCK_ELEMENTS

_IN_PLACE = (np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64))
"""Row dtypes the residual kernel reads without a copy (C order)."""

MAX_PASSES = 24
"""Conjugate-gradient passes before the solution is declared not to converge."""

CONVERGED = 1e-13
"""A step smaller than this, relative to the coefficients, ends the refinement (or the
rounding floor of the residuals themselves, about eps / sqrt(rcond), when larger)."""


FAST_RATE = 0.1
"""A step at most this fraction of the one before counts as geometric convergence, whose
remaining steps can be summed instead of taken."""


class ResidualSums(Accumulator):
    """Σ w (x - s) rᵀ, Σ w r, Σ w r² and Σ w for residuals r = y - b - Xβ.

    Parameters
    ----------
    coef : ndarray of shape (n_targets, n_features)
    intercept : ndarray of shape (n_targets,)
    x_shift : ndarray of shape (n_features,)
        Rows are taken about this shift (the Gram statistics' own), so large column
        offsets cancel before any product.
    with_targets : bool, default True
        False folds r = -b - Xβ (the targets are zero; ``y`` is not read).
    """

    _SUMS = ("xr", "r_sum", "rss", "sum_w")

    def __init__(self, coef, intercept, x_shift, with_targets=True):
        self.with_targets = bool(with_targets)
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        t, d = self.coef.shape
        self.x_shift = np.ascontiguousarray(x_shift, dtype=np.float64)
        # Prediction about the shift: b + sβ, so that r = y - c0 - (x - s)β.
        self.c0 = np.asarray(intercept, dtype=np.float64) + self.coef @ self.x_shift
        self.xr = np.zeros((d, t))
        self.r_sum = np.zeros(t)
        self.rss = np.zeros(t)
        self.sum_w = 0.0

    def update(self, X, y=None, sample_weight=None):
        """Fold the residuals of a chunk of rows in (X any numeric dtype, never copied whole)."""
        X = as_2d_array(X, "X")
        w = check_sample_weight(sample_weight, X.shape[0])
        n, d = X.shape
        t = self.coef.shape[0]
        if self.with_targets:
            Y, _ = as_targets(y, n, "y")
            t = Y.shape[1]
        if d != self.coef.shape[1] or t != self.coef.shape[0]:
            raise ValueError(
                f"chunk has {d} features and {t} targets; the solution "
                f"has {self.coef.shape[1]} and {self.coef.shape[0]}"
            )
        Y = np.ascontiguousarray(Y, dtype=np.float64) if self.with_targets else np.empty((0, 0))
        check_finite(Y, "y")
        w_arr = np.empty(0) if w is None else w
        sums = [np.zeros((d, t)), np.zeros(t), np.zeros(t), 0.0]
        if X.dtype in _IN_PLACE and X.flags.c_contiguous:
            self._fold(X, Y, w_arr, sums)
        else:
            # Other dtypes and layouts: converted to C-ordered float64 a block at a time.
            step = max(64, _BLOCK_ELEMENTS // max(d, 1))
            for r0 in range(0, n, step):
                r1 = min(r0 + step, n)
                self._fold(
                    np.ascontiguousarray(X[r0:r1], dtype=np.float64),
                    Y[r0:r1] if self.with_targets else Y,
                    w_arr[r0:r1] if w is not None else w_arr,
                    sums,
                )
        # X is judged by the sums it produced (no pass of its own: these passes are the
        # refinement's whole cost); only a chunk that broke them is searched.
        if not all(np.isfinite(s).all() for s in sums[:3]):
            check_finite(X, "X")  # names the position of a NaN or inf
            raise ValueError("the residual sums overflowed float64 on this chunk: rescale X")
        self.xr += sums[0]
        self.r_sum += sums[1]
        self.rss += sums[2]
        self.sum_w += sums[3]
        return self

    def _fold(self, X, Y, w, sums):
        """Add a block's sums into ``sums`` = [xr (d, t), r_sum, rss, sum_w]."""
        n, d = X.shape
        t = self.coef.shape[0]
        bounds = row_ranges(n, n_threads(), 256)
        p = bounds.shape[0] - 1
        xr = np.zeros((p, t, d))
        rsum = np.zeros((p, t))
        rss = np.zeros((p, t))
        sw = np.zeros(p)
        _residual.residual_sums(
            X, Y, w, self.coef, self.c0, self.x_shift, self.with_targets, bounds, xr, rsum, rss, sw
        )
        for k in range(p):  # fixed order: deterministic for a thread count
            sums[0] += xr[k].T
            sums[1] += rsum[k]
            sums[2] += rss[k]
            sums[3] += float(sw[k])

    def _settings(self):
        return {
            "coef": self.coef,
            "c0": self.c0,
            "x_shift": self.x_shift,
            "with_targets": np.bool_(self.with_targets),
        }

    @classmethod
    def _from_settings(cls, arrays):
        new = cls(
            arrays["coef"],
            np.zeros(np.shape(arrays["c0"])),
            arrays["x_shift"],
            bool(arrays["with_targets"]),
        )
        new.c0 = np.asarray(arrays["c0"], dtype=np.float64).copy()
        return new

    def finalize(self, x_mean):
        """Centred gradient Σ w (x - x̄) rᵀ, shape (n_features, n_targets)."""
        return self.xr - np.outer(x_mean - self.x_shift, self.r_sum)


def refine(sol, stats, fold, alpha=0.0, fit_intercept=True):
    """Refine a :class:`~fastlin.core.solve.LinearSolution` by passes over the rows.

    Conjugate gradients on the normal equations (XcᵀWXc + alpha I) β = XcᵀWyc, each
    product with the matrix one pass over the rows, preconditioned by the factored Gram
    (``sol.correct``): with an accurate factor the first step is the corrected
    semi-normal equations' and the iteration ends after one or two passes; with a
    factor that only approximates the Gram (float32 block sums, a regularised factor)
    conjugate gradients still converge, in about sqrt(error / rcond) more passes.

    Parameters
    ----------
    sol : LinearSolution
        From :func:`fastlin.core.solve.solve_gram` on ``stats`` (its ``correct`` is used).
    stats : GramStats
        The statistics of the same rows (means and shift).
    fold : callable
        ``fold(state) -> state`` folds an accumulator (update / merge) over the rows
        again: a loop over chunks in memory, a tree of tasks on Dask.
    alpha : float
        Ridge penalty of ``sol``.
    fit_intercept : bool

    Returns
    -------
    (LinearSolution, bool)
        The refined solution (solver name with "+refine", ``refinement_passes`` set,
        ``needs`` cleared) and whether the iteration converged. When it did not, the
        caller should solve by TSQR instead.
    """
    x_mean, y_mean = stats.means(fit_intercept)  # zeros without an intercept
    d = sol.coef.shape[1]
    shift = stats.x_shift if fit_intercept else np.zeros(d)
    coef = sol.coef.T.copy()  # (d, t)
    active = np.ones(d, bool)
    active[sol.constant_columns] = False
    rcond = sol.rcond if np.isfinite(sol.rcond) and sol.rcond > 0 else np.finfo(float).eps
    floor = max(CONVERGED, 2 * np.finfo(float).eps / np.sqrt(rcond))
    if stats.float32_only:
        floor = max(floor, FLOAT32_CONVERGED)  # the coefficients are returned as float32

    def precondition(g):
        z = sol.correct(g)
        z[~active] = 0.0
        return z

    def gradient(beta):
        icpt = y_mean - x_mean @ beta if fit_intercept else np.zeros(beta.shape[1])
        state = fold(ResidualSums(beta.T, icpt, shift))
        return state.finalize(x_mean) - alpha * beta

    def product(P):
        state = fold(ResidualSums(P.T, -(x_mean @ P), shift, with_targets=False))
        return -state.finalize(x_mean) + alpha * P

    # The passes run on Numba's threads; the small products between them would wake
    # BLAS thread pools whose spinning slows the next pass, so BLAS runs on one thread.
    with single_thread_blas():
        return _conjugate_gradients(
            sol, coef, active, floor, precondition, gradient, product, x_mean, y_mean, fit_intercept
        )


def _conjugate_gradients(
    sol, coef, active, floor, precondition, gradient, product, x_mean, y_mean, fit_intercept
):
    g = gradient(coef)
    passes = 1
    z = precondition(g)
    p = z.copy()
    rz = np.einsum("ij,ij->j", g, z)
    converged = False
    previous = np.inf
    for _ in range(MAX_PASSES):
        q = product(p)
        passes += 1
        pq = np.einsum("ij,ij->j", p, q)
        a = np.where(pq > 0, rz / np.where(pq > 0, pq, 1.0), 0.0)
        step = p * a
        coef += step
        size = float(np.abs(step).max()) / max(float(np.abs(coef).max()), np.finfo(float).tiny)
        # Converged, or stalled at the rounding level of the passes themselves.
        if size <= floor or (size <= 1e3 * floor and size > 0.5 * previous):
            converged = True
            break
        # Converging fast: the steps still to come, a geometric tail at this rate, are
        # below the floor already, and one more pass over the rows would only show it.
        rate = size / previous if np.isfinite(previous) else 1.0
        if rate <= FAST_RATE and size * rate / (1.0 - rate) <= floor:
            converged = True
            break
        previous = size
        g -= q * a
        z = precondition(g)
        rz_new = np.einsum("ij,ij->j", g, z)
        b = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        p = z + p * b
        rz = rz_new
    intercept = y_mean - x_mean @ coef if fit_intercept else np.zeros(coef.shape[1])
    out = dataclasses.replace(
        sol,
        coef=coef.T.copy(),
        intercept=intercept,
        solver=sol.solver + "+refine",
        needs="",
        refinement_passes=passes,
    )
    return out, converged


FLOAT32_CONVERGED = 1e-8
"""Steps below this relative size no longer change float32 coefficients."""
