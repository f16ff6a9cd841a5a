"""Affine prediction: a linear model predicts y_hat = X w + b.

An affine function of three features is recovered exactly from noise-free rows, and
``predict`` is the matrix-vector product plus the intercept. Then the hosiery-mill fit
(cost against output) predicts the cost of new production levels.

    python scripts/examples/01_affine_prediction.py [--out DIR]
"""

from pathlib import Path

import numpy as np

import fastlin
from _gallery import parse_out
from fastlin.edges import plot

NAME = Path(__file__).stem


def main(argv=None):
    args = parse_out(__doc__, argv)

    # y = 2 x0 - x1 + 0.5 x2 + 3, no noise: 8 rows in general position determine it.
    w, b = np.array([2.0, -1.0, 0.5]), 3.0
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3))
    model = fastlin.LinearRegression().fit(X, X @ w + b)
    print(f"recovered w = {model.coef_}, b = {model.intercept_:.12f}")
    # Exact data leave only rounding error, far below 1e-12 at these magnitudes.
    np.testing.assert_allclose(model.coef_, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=0, atol=1e-12)
    X_new = rng.normal(size=(4, 3))
    np.testing.assert_allclose(
        model.predict(X_new), X_new @ model.coef_ + model.intercept_, rtol=1e-14, atol=1e-14
    )
    print("predict(X_new) == X_new @ coef_ + intercept_")

    output = np.array([13.11, 14.35, 17.09, 20.25, 24.58, 28.20])[:, None]
    cost = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    mill = fastlin.LinearRegression().fit(output, cost)
    print(f"hosiery mill: cost = {mill.intercept_:.8f} + {mill.coef_[0]:.7f} * output")
    # The reference values are given to 8 and 9 significant digits.
    assert abs(mill.coef_[0] - 1.7722402) < 5e-8
    assert abs(mill.intercept_ - 6.74499953) < 5e-8
    levels = np.array([[10.0], [20.0], [30.0]])
    predicted = mill.predict(levels)
    for level, c in zip(levels[:, 0], predicted):
        print(f"  output {level:5.1f} -> predicted cost {c:.4f}")
    np.testing.assert_allclose(predicted, 6.74499953 + 1.7722402 * levels[:, 0], atol=1e-6)

    path = plot.plot_fit(
        output[:, 0],
        cost,
        args.out / f"{NAME}.png",
        model=mill,
        title="hosiery mill: cost = b + w * output",
        xlabel="output",
        ylabel="cost",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
