"""The logistic sums of ``fastlin.kernels.losses`` in NumPy, for problems too small to pay
for compiling a kernel.

Compiling the fused loss/gradient and Hessian-product kernels takes 20-25 s on a 2-core
machine, once per install and dtype; a first fit of 2000 rows x 30 features would spend
all of it compiling. Below ``SMALL_ELEMENTS`` values of X per update the accumulators
use these functions instead: the same sums with the same numerics (losses and residuals
formed so that neither side of a sigmoid cancels), computed with BLAS on a float64 copy
of the rows. At that size the copy and NumPy's overheads cost about what the kernel's
thread start does.

Every function takes what the kernel takes: X (n, d) of any real dtype, class indices
``y`` (n,) int64 (binary: 1 is the positive class, W has one row), weights ``w`` (n,)
float64 or None, coefficients W (K, d) and intercepts b (K,) float64, and ``scale``
multiplying every X value as it is read.
"""

import numpy as np
from scipy.special import expit, log_softmax, softmax

SMALL_ELEMENTS = 1 << 17
"""Values of X (rows x features) up to which an update takes the NumPy route."""


def is_small(n_rows, n_features):
    return n_rows * max(n_features, 1) <= SMALL_ELEMENTS


def _rows(X, rows):
    Xr = X if rows is None else X[rows]
    return np.asarray(Xr, dtype=np.float64)


def logits(X, W, b, scale=1.0, rows=None):
    """Z (n, K) float64: ``scale * X W^T + b``."""
    Xf = _rows(X, rows)
    return (Xf @ W.T) * scale + b


def loss_grad(X, y, w, W, b, scale, multinomial, want_grad=True, rows=None):
    """``(loss_sum, weight_sum, G, gb)``: sum_i w_i loss_i, sum_i w_i, and the gradient sums
    sum_i w_i (p_i - y_i) x_i * scale (K, d) and sum_i w_i (p_i - y_i) (K,)."""
    Xf = _rows(X, rows)
    yi = y if rows is None else y[rows]
    wi = None if w is None else (w if rows is None else w[rows])
    Z = (Xf @ W.T) * scale + b
    n = Z.shape[0]
    if multinomial:
        L = log_softmax(Z, axis=1)
        loss = -L[np.arange(n), yi]
        R = np.exp(L)
        R[np.arange(n), yi] -= 1.0
    else:
        z = Z[:, 0]
        pos = yi == 1
        # log(1 + e^-z) for positives, log(1 + e^z) for negatives; p - y as -sigmoid(-z)
        # for positives: neither side cancels for logits of any size.
        loss = np.logaddexp(0.0, np.where(pos, -z, z))
        R = np.where(pos, -expit(-z), expit(z))[:, None]
    if wi is None:
        loss_sum, weight_sum = float(loss.sum()), float(n)
    else:
        loss_sum, weight_sum = float(loss @ wi), float(wi.sum())
        R = R * wi[:, None]
    K, d = W.shape
    if not want_grad:
        return loss_sum, weight_sum, np.zeros((K, d)), np.zeros(K)
    return loss_sum, weight_sum, (R.T @ Xf) * scale, R.sum(axis=0)


def hessp(X, w, W, b, V, vb, scale, multinomial):
    """``(HV, hvb)``: the data term's Hessian in (W, b) times the direction (V, vb), summed
    over rows, shapes (K, d) and (K,)."""
    Xf = _rows(X, None)
    Z = (Xf @ W.T) * scale + b
    U = (Xf @ V.T) * scale + vb
    if multinomial:
        P = np.exp(log_softmax(Z, axis=1))
        HU = P * (U - (P * U).sum(axis=1, keepdims=True))
    else:
        # p (1 - p) as sigmoid(z) sigmoid(-z): full relative accuracy in the tails
        HU = expit(Z) * expit(-Z) * U
    if w is not None:
        HU = HU * w[:, None]
    return (HU.T @ Xf) * scale, HU.sum(axis=0)


def proba(Z):
    """Class probabilities (n, n_classes) from logits Z (n, K): [1 - p, p] for K = 1, each
    side computed without cancellation; else softmax rows."""
    if Z.shape[1] == 1:
        return np.column_stack([expit(-Z[:, 0]), expit(Z[:, 0])])
    return softmax(Z, axis=1)


def log_proba(Z):
    """Log class probabilities (n, n_classes) from logits Z (n, K), finite for finite Z."""
    if Z.shape[1] == 1:
        return np.column_stack([-np.logaddexp(0.0, Z[:, 0]), -np.logaddexp(0.0, -Z[:, 0])])
    return log_softmax(Z, axis=1)
