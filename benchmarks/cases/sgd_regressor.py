"""SGDRegressor against scikit-learn's SGDRegressor, and the squared-loss pass against NumPy.

Data: n x d rows, either standard normal float64, or uint8 pixels (uniform 0..255) that
fastlin reads as they are with ``x_scale=1/255`` while scikit-learn gets the float64
array ``X / 255``. Both sides run a constant step size without penalty; scikit-learn
steps once per sample, fastlin once per batch.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor as SkSGD

from fastlin import SGDRegressor
from fastlin.kernels import squared_loss as K


def make_data(n, d, kind, seed=0):
    """(X for fastlin, X float64 for scikit-learn, y, x_scale) for ``kind`` 'float64' or
    'uint8'."""
    rng = np.random.default_rng(seed)
    if kind == "uint8":
        X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
        Xf = X / 255.0
        scale = 1 / 255
    else:
        X = rng.normal(size=(n, d))
        Xf = X
        scale = 1.0
    y = Xf @ rng.normal(size=d) / np.sqrt(d) + 1.0 + 0.1 * rng.normal(size=n)
    return X, Xf, y, scale


def eta0(batch_size):
    """A constant step well inside the stable range of each batch size (None: full)."""
    return {1: 1e-3, 32: 1e-2, 256: 2e-2}.get(batch_size, 5e-2)


def sklearn_model(**kw):
    return SkSGD(penalty=None, learning_rate="constant", eta0=1e-3, random_state=0, **kw)


def fastlin_model(batch_size, x_scale, **kw):
    return SGDRegressor(
        batch_size=batch_size, eta0=eta0(batch_size), x_scale=x_scale, random_state=0, **kw
    )


def sklearn_fit(Xf, y, epochs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sklearn_model(max_iter=epochs, tol=None, shuffle=True).fit(Xf, y)


def sklearn_partial_fit(model, Xf, y):
    """One epoch of ``model`` (from ``sklearn_model``), input checks included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.partial_fit(Xf, y)


def fastlin_fit(X, y, scale, batch_size, epochs):
    return fastlin_model(batch_size, scale, max_iter=epochs, tol=None).fit(X, y)


def numpy_loss_grad(Xf, y, w, b):
    """Half the squared residuals and their gradient, in NumPy."""
    r = Xf @ w + b - y
    return 0.5 * float(r @ r), Xf.T @ r, r.sum()


def fastlin_loss_grad(X, Y, W, b, scale, bounds, G, gb, loss):
    """The fused pass over per-part scratch (``G``, ``gb``, ``loss``), merged."""
    G[:] = 0.0
    gb[:] = 0.0
    loss[:] = 0.0
    K.loss_grad(X, Y, np.empty(0), np.empty(0, np.int64), W, b, scale, bounds, True, G, gb, loss)
    return loss.sum(0), G.sum(0), gb.sum(0)
