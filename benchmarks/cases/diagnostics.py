"""Leverage and Cook's distance of every row: fastlin's influence pass against NumPy/SciPy
on a float64 copy of X, next to the Gram pass that fits the model.

Data: ``data.mnist_one_hot`` (60000 x 784 uint8, 10 one-hot float64 targets); the model
is the least-squares fit of those rows.
"""

import warnings

import numpy as np
from scipy.linalg import solve_triangular

from fastlin import GramStats, RankDeficientWarning, diagnostics, solve_gram


def gram(X, Y):
    """The pass that fits the model: ``GramStats.update`` (XᵀX, XᵀY, sums) from uint8."""
    return GramStats().update(X, Y)


def model_of(stats):
    """The least-squares fit of ``stats``, as ``diagnostics.influence`` takes a model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        sol = solve_gram(stats)

    class M:
        coef_ = sol.coef
        intercept_ = sol.intercept
        fit_intercept = True
        alpha = 0.0

    return M()


def ours(X, Y, stats, model):
    """``hat_factor`` (Cholesky of the centred Gram) and the streaming leverage pass."""
    return diagnostics.influence(X, Y, model=model, stats=stats)


def numpy_reference(X, Y, stats, model):
    """Leverage, residuals and Cook's distance with a float64 copy of X and SciPy."""
    f = diagnostics.hat_factor(stats)
    Xf = X.astype(np.float64)
    Z = (Xf[:, f.cols] - f.mean) * f.scale
    Z = solve_triangular(f.L, Z.T, lower=True, check_finite=False)
    h = (Z * Z).sum(axis=0) + f.inv_sum_w
    del Z
    R = Y - Xf @ model.coef_.T - model.intercept_
    p = f.n_params
    s2 = (R * R).sum(axis=0) / (X.shape[0] - p)
    cooks = R**2 * h[:, None] / (p * s2 * (1 - h[:, None]) ** 2)
    return h, R, cooks
