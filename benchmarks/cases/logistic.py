"""Multinomial logistic regression on real MNIST digits: fastlin against scikit-learn and
the NumPy expression its fused loss + gradient kernel replaces.

Split: the MNIST test set, first 8000 rows to train, last 2000 to test (``data.mnist_split``).
fastlin reads the uint8 pixels with ``x_scale=1/255``; the peers get the float64 array
``X / 255``.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.linear_model import SGDClassifier

from benchmarks.cases.data import MNIST_DIR, mnist_split
from fastlin import LogisticRegression, LossGradState

# fastlin's SGD: momentum (0.9) and a constant step of 0.05, stable on pixels / 255
SGD = dict(
    solver="sgd",
    x_scale=1 / 255,
    optimizer="momentum",
    eta0=0.05,
    batch_size=256,
    tol=None,
    random_state=0,
)


def load(mnist_dir=MNIST_DIR):
    """The split: first 8000 test images train, last 2000 test (uint8 rows, int64 labels)."""
    Xtr, ytr, Xte, yte = mnist_split(mnist_dir)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


def initial_weights(seed=0):
    """(W (10, 784), b (10,)): small random weights to take one loss + gradient pass at."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(10, 784)) * 0.01, np.zeros(10)


def fastlin_loss_grad(X, y, W, b, x_scale=1.0):
    """One fused pass: loss, gradient of W and of b."""
    return LossGradState(W, b, True, x_scale).update(X, y).finalize()


def numpy_loss_grad(Xf, Y, W, b):
    """The NumPy expression the fused kernel replaces: logits, softmax CE, gradient."""
    Z = Xf @ W.T + b
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    s = E.sum(axis=1, keepdims=True)
    loss = float((np.log(s[:, 0]) - (Z - m)[Y.astype(bool)]).sum())
    R = E / s - Y
    return loss, R.T @ Xf, R.sum(axis=0)


def fastlin_lbfgs(X, y, max_iter=100, **kw):
    return LogisticRegression(x_scale=1 / 255, max_iter=max_iter, **kw).fit(X, y)


def sklearn_lbfgs(Xf, y, max_iter=100):
    """scikit-learn's default fit (lbfgs, multinomial, C=1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkLR(max_iter=max_iter).fit(Xf, y)


def fastlin_sgd(X, y, epochs):
    return LogisticRegression(max_iter=epochs, **SGD).fit(X, y)


def sklearn_sgd(Xf, y, epochs):
    """``SGDClassifier(loss="log_loss")``: one step per sample."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SGDClassifier(loss="log_loss", max_iter=epochs, tol=None, random_state=0).fit(Xf, y)


def objective(Xf, y, coef, intercept, C=1.0):
    """scikit-learn's lbfgs objective: mean loss + ||W||^2 / (2 C n), in float64 NumPy."""
    Z = Xf @ coef.T + intercept
    m = Z.max(1)
    lse = m + np.log(np.exp(Z - m[:, None]).sum(1))
    n = Xf.shape[0]
    return float(((lse - Z[np.arange(n), y]).sum() + 0.5 / C * (coef**2).sum()) / n)
