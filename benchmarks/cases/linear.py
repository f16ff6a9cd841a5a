"""LinearRegression and Ridge fits: fastlin against scikit-learn and oneDAL
(scikit-learn-intelex, which has the same estimator API).

``kind`` is ``"linear"`` (ordinary least squares) or ``"ridge"`` (``alpha=1``).
"""

import numpy as np

import fastlin


def onedal():
    """scikit-learn-intelex's ``linear_model`` module, or None when it is not installed."""
    try:
        import sklearnex.linear_model as lm
    except ImportError:
        return None
    return lm


def fastlin_fit(kind, X, Y):
    return (fastlin.LinearRegression() if kind == "linear" else fastlin.Ridge(alpha=1.0)).fit(X, Y)


def peer_fit(module, kind, X, Y, **ridge_kw):
    """The same fit with ``module`` (``sklearn.linear_model`` or ``onedal()``);
    ``ridge_kw`` go to Ridge, e.g. ``solver="cholesky"``."""
    return (
        module.LinearRegression() if kind == "linear" else module.Ridge(alpha=1.0, **ridge_kw)
    ).fit(X, Y)


def rss(model, X, Y):
    """Residual sum of squares of ``model`` on (X, Y), in float64, 8192 rows at a time."""
    total = 0.0
    for r0 in range(0, X.shape[0], 8192):
        R = Y[r0 : r0 + 8192] - model.predict(X[r0 : r0 + 8192]).reshape(-1, *Y.shape[1:])
        total += float((np.asarray(R, np.float64) ** 2).sum())
    return total
