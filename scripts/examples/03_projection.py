"""The projection view: fitted values are the orthogonal projection of y onto the
column space of the design, so the residual is orthogonal to every column.

With A = [1, X], the hat matrix H = A (A^T A)^-1 A^T is symmetric and idempotent,
y_hat = H y, A^T r = 0, |y|^2 = |y_hat|^2 + |r|^2, and the leverages diag(H) sum to the
number of columns of A. fastlin never forms H; ``projection_check`` and ``leverage`` give
the same answers from streaming passes.

    python scripts/examples/03_projection.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(3)
    n = 15
    X = rng.normal(size=(n, 2))
    y = 1.0 + X @ [2.0, -1.0] + rng.normal(scale=0.7, size=n)
    model = fastlin.LinearRegression().fit(X, y)
    y_hat = model.predict(X)
    r = y - y_hat

    A = np.c_[np.ones(n), X]
    H = A @ np.linalg.solve(A.T @ A, A.T)
    # Everything here is O(1) and well conditioned: 1e-10 leaves room for any summation order.
    tol = 1e-10
    np.testing.assert_allclose(H, H.T, atol=tol)
    np.testing.assert_allclose(H @ H, H, atol=tol)
    np.testing.assert_allclose(y_hat, H @ y, atol=tol)
    print(f"|y_hat - H y|_max = {np.abs(y_hat - H @ y).max():.2e}")

    cosines = np.abs(A.T @ r) / (np.linalg.norm(A, axis=0) * np.linalg.norm(r))
    print(
        "cos(residual, column):",
        ", ".join(f"{name} {c:.1e}" for name, c in zip(["ones", "x0", "x1"], cosines)),
    )
    assert cosines.max() < tol
    check = fastlin.projection_check(model, X, y)
    print(
        f"projection_check: max relative X^T r {check.max_relative:.1e}, "
        f"intercept {check.intercept_relative:.1e}, passed {check.passed}"
    )
    assert check.passed and check.max_relative < tol

    lhs, rhs = y @ y, y_hat @ y_hat + r @ r
    print(f"|y|^2 = {lhs:.10f} = |y_hat|^2 + |r|^2 = {rhs:.10f}")
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)

    h = fastlin.leverage(X)
    np.testing.assert_allclose(h, np.diag(H), rtol=tol)
    print(f"leverages sum to {h.sum():.12f} (columns of A: {A.shape[1]})")
    np.testing.assert_allclose(h.sum(), A.shape[1], rtol=1e-12)

    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    ax.vlines(y_hat, np.minimum(y, y_hat), np.maximum(y, y_hat), color="tab:gray", label="residual")
    ax.scatter(y_hat, y, color="tab:blue", zorder=3, label="observed y")
    lo, hi = min(y.min(), y_hat.min()), max(y.max(), y_hat.max())
    ax.plot([lo, hi], [lo, hi], color="tab:red", label="y = y_hat")
    ax.set_xlabel("fitted value y_hat = H y")
    ax.set_ylabel("y")
    ax.set_title("fitted values and residuals")
    ax.legend()
    ax2 = fig.add_subplot(1, 2, 2)
    eps = np.finfo(np.float64).eps
    ax2.bar(["ones", "x0", "x1"], np.maximum(cosines, eps / 100), color="tab:blue")
    ax2.axhline(eps, color="tab:red", linestyle="--", label="machine epsilon")
    ax2.set_yscale("log")
    ax2.set_ylim(eps / 100, 1)
    ax2.set_ylabel("|cos(residual, column)|")
    ax2.set_title("the residual is orthogonal to every column")
    ax2.legend()
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
