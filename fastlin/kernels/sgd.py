"""Mini-batch parameter updates: plain SGD, momentum and Adam, with an L2 penalty.

The gradient of a mini-batch comes from :func:`fastlin.kernels.losses.loss_grad` run on
the batch's positions in a shuffled order, as per-part sums. :func:`apply_step` merges the
parts in a fixed order, forms the mean gradient plus the L2 term, and updates the
coefficients in place, so an epoch is deterministic for a given shuffle and thread count.

Schedules (``learning_rate``), with ``t`` the number of steps taken before this one:

- constant: ``eta0``
- inverse scaling: ``eta0 / (t + 1) ** power_t``
- cosine: ``eta0 * (1 + cos(pi * min(t, T) / T)) / 2`` over ``T`` planned steps
"""

import math

from .._numba import jit

SGD = 0
MOMENTUM = 1
ADAM = 2

CONSTANT = 0
INVSCALING = 1
COSINE = 2


@jit
def learning_rate(schedule, eta0, t, total_steps, power_t):
    """Step size of step ``t`` (0-based) under ``schedule`` (CONSTANT, INVSCALING, COSINE)."""
    if schedule == INVSCALING:
        return eta0 / (t + 1.0) ** power_t
    if schedule == COSINE:
        T = max(total_steps, 1)
        frac = min(t, T) / T
        return 0.5 * eta0 * (1.0 + math.cos(math.pi * frac))
    return eta0


@jit
def apply_step(
    G_parts,
    gb_parts,
    sw,
    W,
    b,
    method,
    lr,
    alpha,
    fit_intercept,
    momentum,
    beta1,
    beta2,
    eps,
    t,
    VW,
    Vb,
    MW,
    Mb,
):
    """One update of W (K, d) and b (K,) in place from per-part gradient sums.

    Parameters
    ----------
    G_parts : (P, K, d) float64 per-part sums of w_i (p_i - y_i) x_i
    gb_parts : (P, K) float64 per-part sums of w_i (p_i - y_i)
    sw : float
        Total sample weight of the batch; the data term is the weighted mean loss.
    W : (K, d) float64, b : (K,) float64
        Updated in place. The penalty ``alpha / 2 * ||W||^2`` leaves b alone.
    method : int
        SGD, MOMENTUM or ADAM.
    lr, alpha, momentum, beta1, beta2, eps : float
    fit_intercept : bool
        When False b is left unchanged.
    t : int
        Number of steps taken before this one (Adam's bias correction uses t + 1).
    VW, Vb : (K, d), (K,) float64
        Velocity (MOMENTUM) or second moment (ADAM); unused by SGD.
    MW, Mb : (K, d), (K,) float64
        First moment (ADAM); unused otherwise.
    """
    P, K, d = G_parts.shape
    inv = 1.0 / sw
    if method == ADAM:
        c1 = 1.0 / (1.0 - beta1 ** (t + 1.0))
        c2 = 1.0 / (1.0 - beta2 ** (t + 1.0))
    else:
        c1 = 1.0
        c2 = 1.0
    for k in range(K):
        for j in range(d):
            g = G_parts[0, k, j]
            for p in range(1, P):
                g += G_parts[p, k, j]
            g = g * inv + alpha * W[k, j]
            if method == SGD:
                W[k, j] -= lr * g
            elif method == MOMENTUM:
                v = momentum * VW[k, j] - lr * g
                VW[k, j] = v
                W[k, j] += v
            else:
                m = beta1 * MW[k, j] + (1.0 - beta1) * g
                s = beta2 * VW[k, j] + (1.0 - beta2) * g * g
                MW[k, j] = m
                VW[k, j] = s
                W[k, j] -= lr * (m * c1) / (math.sqrt(s * c2) + eps)
        if fit_intercept:
            g = gb_parts[0, k]
            for p in range(1, P):
                g += gb_parts[p, k]
            g *= inv
            if method == SGD:
                b[k] -= lr * g
            elif method == MOMENTUM:
                v = momentum * Vb[k] - lr * g
                Vb[k] = v
                b[k] += v
            else:
                m = beta1 * Mb[k] + (1.0 - beta1) * g
                s = beta2 * Vb[k] + (1.0 - beta2) * g * g
                Mb[k] = m
                Vb[k] = s
                b[k] -= lr * (m * c1) / (math.sqrt(s * c2) + eps)
