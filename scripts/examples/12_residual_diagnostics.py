"""Residual diagnostics: residual summary, leverage, Cook's distance, residual plots.

A straight line is fitted to data that curve upwards and that contain one far-out point
off the curve. The residual plot shows the missed curvature; leverage h_i = diag(H) and
Cook's distance D_i = e_i^2 h_i / (p s^2 (1 - h_i)^2) single out the far-out point.
``fastlin.residual_summary`` and ``fastlin.influence`` compute them in streaming passes
(no n x n matrix); NumPy computes them from the hat matrix here.

    python scripts/examples/12_residual_diagnostics.py [--out DIR]
"""

from pathlib import Path

import numpy as np

import fastlin
from _gallery import parse_out
from fastlin.edges import plot

NAME = Path(__file__).stem


def main(argv=None):
    args = parse_out(__doc__, argv, what="the figures")

    rng = np.random.default_rng(12)
    n = 200
    x = np.r_[rng.uniform(0, 10, n - 1), 18.0]
    y = 1.0 + 0.5 * x + 0.08 * x**2 + rng.normal(scale=0.6, size=n)
    y[-1] -= 20.0  # the far-out point also sits well below the curve
    X = x[:, None]
    model = fastlin.LinearRegression().fit(X, y)
    r = y - model.predict(X)

    summary = fastlin.residual_summary(model, X, y)
    print(summary)
    np.testing.assert_allclose(summary.mean, [r.mean()], atol=1e-12)
    np.testing.assert_allclose(summary.std, [r.std()], rtol=1e-12)
    np.testing.assert_allclose(summary.rmse, [np.sqrt(np.mean(r**2))], rtol=1e-12)
    for q, value in summary.quantiles.items():
        np.testing.assert_allclose(value, [np.quantile(r, q)], rtol=1e-12)

    inf = fastlin.influence(X, y, model=model)
    A = np.c_[np.ones(n), X]
    h = np.einsum("ij,ji->i", A, np.linalg.solve(A.T @ A, A.T))
    p = A.shape[1]
    s2 = r @ r / (n - p)
    cooks = r**2 * h / (p * s2 * (1 - h) ** 2)
    student = r / np.sqrt(s2 * (1 - h))
    # Float64 throughout and a well-conditioned 2 x 2 system: 1e-10 relative.
    np.testing.assert_allclose(inf.leverage, h, rtol=1e-10)
    np.testing.assert_allclose(inf.cooks_distance, cooks, rtol=1e-10)
    np.testing.assert_allclose(inf.studentized_residuals, student, rtol=1e-10)
    np.testing.assert_allclose(fastlin.leverage(X), h, rtol=1e-10)
    np.testing.assert_allclose(fastlin.cooks_distance(X, y, model=model), cooks, rtol=1e-10)
    top = np.argsort(inf.cooks_distance)[::-1][:3]
    print(f"leverages sum to {inf.leverage.sum():.10f} (= p = {p}); mean leverage {p / n:.4f}")
    for i in top:
        print(
            f"  row {i:3d}: x = {x[i]:6.2f}, residual {r[i]:+7.3f}, leverage "
            f"{inf.leverage[i]:.4f}, Cook's distance {inf.cooks_distance[i]:.4f}"
        )
    assert top[0] == n - 1, "the planted point must be the most influential"
    assert inf.cooks_distance[-1] > 1.0 > np.max(inf.cooks_distance[:-1])

    fitted = model.predict(X)
    path = plot.plot_residuals(
        fitted,
        r,
        args.out / f"{NAME}.png",
        title="straight line fitted to a curve: residuals vs fitted",
    )
    print(f"wrote {path}")
    path = plot.plot_influence(
        inf.leverage,
        inf.studentized_residuals,
        args.out / f"{NAME}_influence.png",
        cooks_distance=inf.cooks_distance,
        n_params=inf.n_params,
        title="influence: the far-out point",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
