"""Logistic regression: probability sigmoid(w x + b) and binary cross-entropy.

One feature, labels drawn from a known logistic curve. ``fastlin.LogisticRegression``
minimises scikit-learn's objective (mean cross-entropy + |w|^2 / (2 C n)): the fitted
probabilities are sigmoid(x w + b), the cross-entropy from
``fastlin.negative_log_likelihood`` is -mean(y log p + (1 - y) log(1 - p)), and the fit
agrees with scikit-learn's.

    python scripts/examples/08_logistic.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.special import expit
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import log_loss

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem
C = 1.0


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(8)
    n = 80
    x = rng.normal(0, 1.5, n)
    y = (rng.random(n) < expit(2.0 * x - 0.5)).astype(int)
    X = x[:, None]

    model = fastlin.LogisticRegression(C=C).fit(X, y)
    w, b = model.coef_[0, 0], model.intercept_[0]
    p = model.predict_proba(X)[:, 1]
    print(f"fitted w = {w:.6f}, b = {b:.6f} (data drawn with w = 2, b = -0.5)")
    np.testing.assert_allclose(p, expit(x * w + b), rtol=1e-12)

    bce = fastlin.negative_log_likelihood(y, p)
    by_hand = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    print(
        f"binary cross-entropy {bce:.10f} (NumPy {by_hand:.10f}, scikit-learn "
        f"{log_loss(y, p):.10f})"
    )
    np.testing.assert_allclose(bce, by_hand, rtol=1e-12)
    np.testing.assert_allclose(bce, log_loss(y, p), rtol=1e-12)
    objective = bce + w**2 / (2 * C * n)
    print(
        f"objective = cross-entropy + w^2 / (2 C n) = {objective:.10f} "
        f"(model.objective_ {model.objective_:.10f})"
    )
    np.testing.assert_allclose(model.objective_, objective, rtol=1e-12)

    sk = SkLogisticRegression(C=C, tol=1e-10, max_iter=1000).fit(X, y)
    print(f"scikit-learn: w = {sk.coef_[0, 0]:.6f}, b = {sk.intercept_[0]:.6f}")
    # Both minimise one strictly convex objective; the solvers stop at slightly different
    # points near the minimiser.
    np.testing.assert_allclose([w, b], [sk.coef_[0, 0], sk.intercept_[0]], rtol=1e-5, atol=1e-6)
    accuracy = model.score(X, y)
    print(f"training accuracy {100 * accuracy:.2f} %, decision boundary x = {-b / w:.4f}")

    grid = np.linspace(x.min() - 0.5, x.max() + 0.5, 300)
    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    jitter = rng.uniform(-0.03, 0.03, n)
    ax.scatter(x, y + jitter, s=12, alpha=0.6, label="labels (jittered)")
    ax.plot(
        grid,
        model.predict_proba(grid[:, None])[:, 1],
        color="tab:red",
        label=f"fitted sigmoid({w:.2f} x {'+' if b >= 0 else '-'} {abs(b):.2f})",
    )
    ax.plot(
        grid, expit(2.0 * grid - 0.5), color="gray", linestyle="--", label="true sigmoid(2 x - 0.5)"
    )
    ax.axvline(-b / w, color="tab:red", linestyle=":", label="p = 0.5")
    ax.set_xlabel("x")
    ax.set_ylabel("P(y = 1 | x)")
    ax.set_title(f"logistic regression, cross-entropy {bce:.4f}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
