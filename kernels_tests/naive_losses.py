"""Slow, obviously-correct NumPy references for the logistic loss and update kernels."""

import numpy as np


def log1pexp(z):
    """log(1 + e^z) elementwise, via np.logaddexp(0, z)."""
    return np.logaddexp(0.0, np.asarray(z, dtype=np.float64))


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.where(
            z >= 0,
            1.0 / (1.0 + np.exp(-np.abs(z))),
            np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))),
        )


def logsumexp(Z):
    Z = np.asarray(Z, dtype=np.float64)
    m = Z.max(axis=1, keepdims=True)
    return m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))


def log_softmax(Z):
    return Z - logsumexp(Z)[:, None]


def softmax(Z):
    return np.exp(log_softmax(Z))


def loss_grad(X, y, w, W, b, scale, multinomial):
    """(weighted loss sum, weight sum, grad_W (K, d), grad_b (K,)) in float64.

    X is converted to float64 and scaled; ``w`` may be None.
    """
    Xf = np.asarray(X, dtype=np.float64) * scale
    n = Xf.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    Z = Xf @ W.T + b
    if multinomial:
        K = W.shape[0]
        Y = np.zeros((n, K))
        Y[np.arange(n), y] = 1.0
        loss = logsumexp(Z) - Z[np.arange(n), y]
        R = (softmax(Z) - Y) * w[:, None]
    else:
        yb = (y == 1).astype(np.float64)
        z = Z[:, 0]
        loss = log1pexp(z) - yb * z
        R = ((sigmoid(z) - yb) * w)[:, None]
    return float(w @ loss), float(w.sum()), R.T @ Xf, R.sum(axis=0)


def hessp(X, w, W, b, V, vb, scale, multinomial):
    """Hessian of the summed cross-entropy in (W, b) times (V, vb), row by row.

    Binary: row Hessian p (1 - p) in the logit. Multinomial: the explicit K x K matrix
    diag(p) - p pᵀ per row, applied to the direction's logits u = X Vᵀ + vb.
    """
    Xf = np.asarray(X, dtype=np.float64) * scale
    n = Xf.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    Z = Xf @ W.T + b
    U = Xf @ V.T + vb
    if multinomial:
        P = softmax(Z)
        S = np.stack([(np.diag(P[i]) - np.outer(P[i], P[i])) @ U[i] for i in range(n)])
    else:
        p = sigmoid(Z[:, 0])
        S = (p * (1.0 - p) * U[:, 0])[:, None]
    S = S * w[:, None]
    return S.T @ Xf, S.sum(axis=0)


def learning_rate(schedule, eta0, t, total, power_t):
    if schedule == "invscaling":
        return eta0 / (t + 1.0) ** power_t
    if schedule == "cosine":
        T = max(total, 1)
        return 0.5 * eta0 * (1.0 + np.cos(np.pi * min(t, T) / T))
    return eta0


def step(
    G,
    gb,
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
    """Returns updated copies (W, b, VW, Vb, MW, Mb) for one step from merged sums G, gb."""
    W, b, VW, Vb, MW, Mb = (a.copy() for a in (W, b, VW, Vb, MW, Mb))
    gW = G / sw + alpha * W
    gB = gb / sw
    pairs = [(W, gW, VW, MW)]
    if fit_intercept:
        pairs.append((b, gB, Vb, Mb))
    for P, g, V, M in pairs:
        if method == "sgd":
            P -= lr * g
        elif method == "momentum":
            V[...] = momentum * V - lr * g
            P += V
        else:
            M[...] = beta1 * M + (1 - beta1) * g
            V[...] = beta2 * V + (1 - beta2) * g * g
            mhat = M / (1 - beta1 ** (t + 1))
            vhat = V / (1 - beta2 ** (t + 1))
            P -= lr * mhat / (np.sqrt(vhat) + eps)
    return W, b, VW, Vb, MW, Mb
