"""Refinement passes over the rows: corrected semi-normal equations.

A Gram solve loses digits in proportion to the condition number of XᵀX, the square of
X's. Given the factored Gram (``LinearSolution.correct``) and the rows again, each pass
computes the exact residual r = y - b - Xβ from the rows and the gradient
g = Σ w (x - x̄) rᵀ - alpha β, then steps β += correct(g). The error shrinks by about
(rounding level of the statistics) / rcond per pass, so a pass or two bring the solution
to the accuracy of a QR solve whenever that ratio is well below 1; when it does not
shrink the caller falls back to TSQR.

``ResidualStats`` is the accumulator of one pass (update / merge / finalize), so its
passes run over arrays, chunk sources and workers alike.
"""

import dataclasses

import numpy as np

from ._validation import as_2d_array, as_targets, check_sample_weight

_BLOCK_ELEMENTS = 1 << 20
"""Elements of X converted to float64 at a time."""

MAX_PASSES = 4
"""Refinement passes before the solution is declared not to converge."""

CONVERGED = 1e-13
"""A step smaller than this, relative to the coefficients, ends the refinement (or the
rounding floor of the residuals themselves, about eps / sqrt(rcond), when larger)."""


class ResidualStats:
    """Σ w (x - s) rᵀ, Σ w r, Σ w r² and Σ w for residuals r = y - b - Xβ.

    Parameters
    ----------
    coef : ndarray of shape (n_targets, n_features)
    intercept : ndarray of shape (n_targets,)
    x_shift : ndarray of shape (n_features,)
        Rows are taken about this shift (the Gram statistics' own), so large column
        offsets cancel before any product.
    """

    def __init__(self, coef, intercept, x_shift):
        self.coef = np.asarray(coef, dtype=np.float64)
        t, d = self.coef.shape
        self.x_shift = np.asarray(x_shift, dtype=np.float64)
        # Prediction about the shift: b + sβ, so that r = y - c0 - (x - s)β.
        self.c0 = np.asarray(intercept, dtype=np.float64) + self.coef @ self.x_shift
        self.xr = np.zeros((d, t))
        self.r_sum = np.zeros(t)
        self.rss = np.zeros(t)
        self.sum_w = 0.0

    def update(self, X, y, sample_weight=None):
        """Fold the residuals of a chunk of rows in (X any numeric dtype, never copied whole)."""
        X = as_2d_array(X, "X")
        Y, _ = as_targets(y, X.shape[0], "y")
        w = check_sample_weight(sample_weight, X.shape[0])
        n, d = X.shape
        if d != self.coef.shape[1] or Y.shape[1] != self.coef.shape[0]:
            raise ValueError(f"chunk has {d} features and {Y.shape[1]} targets; the solution "
                             f"has {self.coef.shape[1]} and {self.coef.shape[0]}")
        step = max(64, _BLOCK_ELEMENTS // max(d, 1))
        shifted = bool(self.x_shift.any())
        Bt = self.coef.T
        for r0 in range(0, n, step):
            r1 = min(r0 + step, n)
            Xb = X[r0:r1]
            if shifted or Xb.dtype != np.float64:
                Xb = np.subtract(Xb, self.x_shift, dtype=np.float64)
            R = np.asarray(Y[r0:r1], dtype=np.float64) - self.c0
            R -= Xb @ Bt
            if w is None:
                Rw = R
                self.sum_w += float(r1 - r0)
            else:
                wb = w[r0:r1]
                Rw = R * wb[:, None]
                self.sum_w += float(wb.sum())
            self.xr += Xb.T @ Rw
            self.r_sum += Rw.sum(axis=0)
            self.rss += np.einsum("ij,ij->j", Rw, R)
        return self

    def merge(self, other):
        """Add another pass's sums (disjoint rows, same solution)."""
        self.xr += other.xr
        self.r_sum += other.r_sum
        self.rss += other.rss
        self.sum_w += other.sum_w
        return self

    def finalize(self, x_mean):
        """Centred gradient Σ w (x - x̄) rᵀ, shape (n_features, n_targets)."""
        return self.xr - np.outer(x_mean - self.x_shift, self.r_sum)


def refine(sol, stats, rows, alpha=0.0, fit_intercept=True, fold=None):
    """Refine a :class:`~fastlin.solve.LinearSolution` by passes over the rows.

    Parameters
    ----------
    sol : LinearSolution
        From :func:`fastlin.solve.solve_gram` on ``stats`` (its ``correct`` is used).
    stats : GramStats
        The statistics of the same rows (means and shift).
    rows : callable
        ``rows()`` yields the rows again as ``(X, y, sample_weight)`` chunks.
    alpha : float
        Ridge penalty of ``sol``.
    fit_intercept : bool
    fold : callable, optional
        ``fold(rows, state)`` drives a state over the rows (defaults to a plain loop).

    Returns
    -------
    (LinearSolution, bool)
        The refined solution (solver name with "+refine", ``refinement_passes`` set,
        ``needs`` cleared) and whether the steps converged. When they did not, the
        caller should solve by TSQR instead.
    """
    if fold is None:
        fold = _fold
    _, _, x_mean, y_mean = stats.centred(fit_intercept)
    coef = sol.coef.T.copy()  # (d, t)
    active = np.zeros(coef.shape[0], bool)
    active[np.setdiff1d(np.arange(coef.shape[0]), sol.constant_columns)] = True
    previous = np.inf
    converged = False
    rcond = sol.rcond if np.isfinite(sol.rcond) and sol.rcond > 0 else np.finfo(float).eps
    floor = max(CONVERGED, 16 * np.finfo(float).eps / np.sqrt(rcond))
    passes = 0
    for _ in range(MAX_PASSES):
        intercept = y_mean - x_mean @ coef if fit_intercept else np.zeros(coef.shape[1])
        shift = stats.x_shift if fit_intercept else np.zeros_like(stats.x_shift)
        state = fold(rows, ResidualStats(coef.T, intercept, shift))
        passes += 1
        g = state.finalize(x_mean if fit_intercept else np.zeros_like(x_mean))
        if alpha:
            g -= alpha * coef
        step = sol.correct(g)
        step[~active] = 0.0
        size = float(np.abs(step).max()) / max(float(np.abs(coef).max()), np.finfo(float).tiny)
        coef += step
        if size <= floor:
            converged = True
            break
        if size > 0.5 * previous:
            break
        previous = size
    intercept = y_mean - x_mean @ coef if fit_intercept else np.zeros(coef.shape[1])
    out = dataclasses.replace(sol, coef=coef.T.copy(), intercept=intercept,
                              solver=sol.solver + "+refine", needs="",
                              refinement_passes=passes)
    return out, converged


def _fold(rows, state):
    for X, y, w in rows():
        state.update(X, y, w)
    return state
