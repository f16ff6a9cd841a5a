"""Closed form: least squares solves the normal equations A^T A theta = A^T y.

Two small data sets with known answers: the hosiery mill (cost against output, a line)
and the fertilizer trial (yield against nitrogen, a quadratic). fastlin's fit, the
normal equations solved with NumPy and ``numpy.linalg.lstsq`` agree.

    python scripts/examples/02_closed_form.py [--out DIR]
"""

from pathlib import Path

import numpy as np

import fastlin
from _gallery import parse_out
from fastlin.edges import plot

NAME = Path(__file__).stem


def normal_equations(X, y):
    A = np.c_[np.ones(len(y)), X]
    return np.linalg.solve(A.T @ A, A.T @ y)


def check(name, model, X, y, known_intercept, known_coef, known_atol):
    theta_ne = normal_equations(X, y)
    theta_ls = np.linalg.lstsq(np.c_[np.ones(len(y)), X], y, rcond=None)[0]
    theta = np.r_[model.intercept_, model.coef_]
    coef = np.array2string(model.coef_, precision=8)
    print(
        f"{name}: intercept {model.intercept_:.8f}, coef {coef} (solver {model.solver_}, "
        f"R^2 {model.score(X, y):.6f})"
    )
    print(f"  normal equations {np.array2string(theta_ne, precision=8)}")
    print(f"  numpy lstsq      {np.array2string(theta_ls, precision=8)}")
    # Tiny well-scaled problems: every route agrees to far below the printed digits.
    np.testing.assert_allclose(theta, theta_ls, rtol=1e-9)
    np.testing.assert_allclose(theta, theta_ne, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, known_intercept, atol=known_atol)
    np.testing.assert_allclose(model.coef_, known_coef, atol=known_atol)


def main(argv=None):
    args = parse_out(__doc__, argv)

    output = np.array([13.11, 14.35, 17.09, 20.25, 24.58, 28.20])[:, None]
    cost = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    mill = fastlin.LinearRegression().fit(output, cost)
    # The known values are given to 8 or 9 digits: half a unit in the last place.
    check("hosiery mill", mill, output, cost, 6.74499953, [1.7722402], 5e-8)

    N = np.array([0, 1, 2, 3, 4, 6, 8, 9], dtype=float)
    Y = np.array([24.5, 41.5, 52.1, 61.4, 73.5, 86.0, 92.8, 94.0])
    design = np.c_[N, N**2]
    for solver in ("auto", "qr"):
        crop = fastlin.LinearRegression(solver=solver).fit(design, Y)
        check(
            f"fertilizer, solver={solver!r}",
            crop,
            design,
            Y,
            25.3953155,
            [15.08787638, -0.8306277],
            5e-7,
        )
    best = -crop.coef_[0] / (2 * crop.coef_[1])
    print(f"  the fitted yield peaks at N = {best:.3f}")

    path = plot.plot_fit(
        N,
        Y,
        args.out / f"{NAME}.png",
        coef=np.r_[crop.intercept_, crop.coef_],
        title="fertilizer: yield = b + w1 N + w2 N^2",
        xlabel="nitrogen N",
        ylabel="yield",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
