"""Slow, explicit NumPy references for fastlin.diagnostics (hat matrix formed in full)."""

import numpy as np


def design(X, fit_intercept):
    Xf = np.asarray(X, dtype=np.float64)
    if fit_intercept:
        return np.hstack([np.ones((Xf.shape[0], 1)), Xf])
    return Xf


def hat_matrix(X, w=None, alpha=0.0, fit_intercept=True):
    """W^½ X̃ (X̃ᵀ W X̃ + Λ)⁺ X̃ᵀ W^½ with the intercept unpenalised (n x n)."""
    Xt = design(X, fit_intercept)
    n, p = Xt.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    Lam = alpha * np.eye(p)
    if fit_intercept:
        Lam[0, 0] = 0.0
    G = Xt.T @ (w[:, None] * Xt) + Lam
    sw = np.sqrt(w)
    A = sw[:, None] * Xt
    return A @ np.linalg.pinv(G, hermitian=True) @ A.T


def leverage(X, w=None, alpha=0.0, fit_intercept=True):
    return np.diag(hat_matrix(X, w, alpha, fit_intercept)).copy()


def fit(X, Y, w=None, alpha=0.0, fit_intercept=True):
    """(coef (t, d), intercept (t,)) of weighted least squares / ridge (minimum norm)."""
    Xt = design(X, fit_intercept)
    n, p = Xt.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    Lam = alpha * np.eye(p)
    if fit_intercept:
        Lam[0, 0] = 0.0
    G = Xt.T @ (w[:, None] * Xt) + Lam
    B = np.linalg.pinv(G, hermitian=True) @ (Xt.T @ (w[:, None] * Y))
    if fit_intercept:
        return B[1:].T, B[0]
    return B.T, np.zeros(Y.shape[1])


def cooks_distance_refit(X, Y, w=None, fit_intercept=True):
    """Cook's distance of least squares by refitting without each row (n refits)."""
    Xt = design(X, fit_intercept)
    n, p = Xt.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    coef, b = fit(X, Y, w, 0.0, fit_intercept)
    beta = np.vstack([b[None, :], coef.T]) if fit_intercept else coef.T
    R = Y - Xt @ beta
    rank = np.linalg.matrix_rank(Xt[w > 0])
    s2 = (w[:, None] * R * R).sum(0) / (w.sum() - rank)
    G = Xt.T @ (w[:, None] * Xt)
    out = np.zeros((n, Y.shape[1]))
    for i in range(n):
        wi = w.copy()
        wi[i] = 0.0
        c, bi = fit(X, Y, wi, 0.0, fit_intercept)
        beta_i = np.vstack([bi[None, :], c.T]) if fit_intercept else c.T
        diff = beta - beta_i
        out[i] = np.einsum("pt,pq,qt->t", diff, G, diff) / (rank * s2)
    return out


def cooks_distance_formula(X, Y, coef, intercept, w=None, alpha=0.0, fit_intercept=True):
    """w e² h / (p s² (1 - h)²) with p = trace(H), s² = Σ w e² / (W - p), H explicit."""
    H = hat_matrix(X, w, alpha, fit_intercept)
    h = np.diag(H)
    n = h.size
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    p = np.trace(H)
    R = Y - np.asarray(X, dtype=np.float64) @ coef.T - intercept
    s2 = (w[:, None] * R * R).sum(0) / (w.sum() - p)
    return w[:, None] * R**2 * h[:, None] / (p * s2 * (1 - h[:, None]) ** 2), h, R, p
