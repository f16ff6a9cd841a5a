"""Softmax regression: P(class k | x) = softmax(W x + b)_k and the cross-entropy.

Three classes in two dimensions. ``fastlin.LogisticRegression`` fits the multinomial
model; its probabilities are ``scipy.special.softmax`` of the logits, they do not change
when a constant is added to every logit, and the cross-entropy -mean(log P[i, y_i]) from
``fastlin.negative_log_likelihood`` matches NumPy and scikit-learn.

    python scripts/examples/09_softmax.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import log_loss

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem
C = 1.0
COLOURS = ["tab:blue", "tab:orange", "tab:green"]


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(9)
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    y = rng.integers(0, 3, 150)
    X = centres[y] + rng.normal(scale=1.1, size=(150, 2))

    model = fastlin.LogisticRegression(C=C).fit(X, y)
    logits = X @ model.coef_.T + model.intercept_
    P = model.predict_proba(X)
    print(f"W =\n{model.coef_}\nb = {model.intercept_}")
    np.testing.assert_allclose(P, softmax(logits, axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(softmax(logits + 1000.0, axis=1), P, rtol=1e-12, atol=1e-15)
    print("predict_proba == softmax(X W^T + b); adding 1000 to every logit changes nothing")

    ce = fastlin.negative_log_likelihood(y, P)
    by_hand = -np.mean(np.log(P[np.arange(y.size), y]))
    print(f"cross-entropy {ce:.10f} (NumPy {by_hand:.10f}, scikit-learn {log_loss(y, P):.10f})")
    np.testing.assert_allclose(ce, by_hand, rtol=1e-12)
    np.testing.assert_allclose(ce, log_loss(y, P), rtol=1e-12)

    sk = SkLogisticRegression(C=C, tol=1e-10, max_iter=1000).fit(X, y)
    # One strictly convex objective (the penalty fixes W; the probabilities fix b up to a
    # constant): compare what is identified, to the solvers' stopping accuracy.
    np.testing.assert_allclose(model.coef_, sk.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(P, sk.predict_proba(X), atol=1e-5)
    print(f"agrees with scikit-learn; training accuracy {100 * model.score(X, y):.2f} %")

    g0, g1 = np.meshgrid(np.linspace(-5, 5, 201), np.linspace(-4.5, 5, 191))
    grid = np.c_[g0.ravel(), g1.ravel()]
    region = model.predict(grid).reshape(g0.shape)
    confidence = model.predict_proba(grid).max(axis=1).reshape(g0.shape)
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.contourf(
        g0, g1, region, levels=[-0.5, 0.5, 1.5, 2.5], cmap=ListedColormap(COLOURS), alpha=0.2
    )
    lines = ax.contour(g0, g1, confidence, levels=[0.5, 0.7, 0.9], colors="gray", linewidths=0.8)
    ax.clabel(lines, fmt="max p = %.1f", fontsize=7)
    for k in range(3):
        ax.scatter(*X[y == k].T, s=14, color=COLOURS[k], label=f"class {k}")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_title(f"softmax regression: regions and confidence (cross-entropy {ce:.3f})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
