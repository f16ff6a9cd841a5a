"""Gradient descent on least squares, and its loss curve.

The loss is L(w, b) = 0.5 * mean(r^2) with r = X w + b - y; its gradient is
(X^T r / n, mean(r)), the intercept being updated like the weight of a column of ones.
Sixty steps of size 0.1 from zero with ``SGDRegressor`` (full batch, constant
step, no penalty) reproduce the plain NumPy loop, and both approach the closed-form
least-squares solution exactly as the theory of a quadratic says:
theta_k - theta* = (I - step * H)^k (theta_0 - theta*), H = A^T A / n, A = [1, X].

    python scripts/examples/04_gradient_descent.py [--out DIR]
"""

from pathlib import Path

import numpy as np

import fastlin
from _gallery import parse_out
from fastlin.edges import plot

NAME = Path(__file__).stem
STEP, N_STEPS = 0.1, 60


def gradient_descent(X, y, step, n_steps):
    """The textbook loop: returns w, b and the loss before each step."""
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    losses = []
    for _ in range(n_steps):
        r = X @ w + b - y
        losses.append(0.5 * np.mean(r**2))
        w = w - step * (X.T @ r) / n
        b = b - step * np.mean(r)
    return w, b, np.array(losses)


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(4)
    n = 50
    X = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    y = 1.5 + X @ [2.0, -1.0] + rng.normal(scale=0.5, size=n)

    w_loop, b_loop, loss_loop = gradient_descent(X, y, STEP, N_STEPS)
    sgd = fastlin.SGDRegressor(
        alpha=0, learning_rate="constant", eta0=STEP, batch_size=None, max_iter=N_STEPS, tol=None
    ).fit(X, y)
    loss_sgd = np.asarray(sgd.loss_history_["train"])
    print(
        f"SGDRegressor after {N_STEPS} steps: coef {sgd.coef_}, intercept "
        f"{np.asarray(sgd.intercept_).item():.10f}"
    )
    print(f"NumPy loop after {N_STEPS} steps:   coef {w_loop}, intercept {b_loop:.10f}")
    # The same arithmetic up to summation order, and the iteration is a contraction, so
    # rounding differences do not grow: 1e-10 relative.
    assert loss_sgd.shape == (N_STEPS,)
    np.testing.assert_allclose(loss_sgd, loss_loop, rtol=1e-10)
    np.testing.assert_allclose(sgd.coef_, w_loop, rtol=1e-10)
    np.testing.assert_allclose(sgd.intercept_, b_loop, rtol=1e-10)

    exact = fastlin.LinearRegression().fit(X, y)
    theta_star = np.r_[exact.intercept_, exact.coef_]
    A = np.c_[np.ones(n), X]
    H = A.T @ A / n
    contraction = np.linalg.matrix_power(np.eye(3) - STEP * H, N_STEPS)
    predicted = theta_star - contraction @ theta_star
    theta_gd = np.r_[sgd.intercept_, sgd.coef_]
    print(f"closed form:                  coef {exact.coef_}, intercept {exact.intercept_:.10f}")
    print(f"theory (I - step H)^60:       theta {predicted}")
    np.testing.assert_allclose(theta_gd, predicted, rtol=1e-10)

    r_star = y - exact.predict(X)
    loss_star = 0.5 * np.mean(r_star**2)
    rate = 1 - STEP * np.linalg.eigvalsh(H)[0]
    print(
        f"loss: start {loss_sgd[0]:.6f}, step {N_STEPS} {loss_sgd[-1]:.6f}, "
        f"minimum {loss_star:.6f}; slowest contraction factor per step {rate:.4f}"
    )
    assert np.all(np.diff(loss_sgd) < 0), "the loss must fall at every step"
    assert loss_sgd[-1] > loss_star

    path = plot.plot_loss_curve(
        {
            "SGDRegressor": loss_sgd,
            "NumPy loop": loss_loop,
            "closed-form minimum": np.full(N_STEPS, loss_star),
        },
        args.out / f"{NAME}.png",
        title=f"gradient descent, step {STEP}: 0.5 * mean(r^2)",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
