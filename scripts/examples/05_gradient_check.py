"""Gradient check: central differences against the analytic gradient.

``fastlin.check_grad(fun, grad, w)`` returns the largest relative error between
``grad(w)`` and (fun(w + h e_i) - fun(w - h e_i)) / 2h. It passes for the least-squares
gradient X^T r / n and for fastlin's fused logistic loss/gradient kernel
(``fastlin.LossGradState``), and it catches a gradient that forgot the 1/n. The figure shows
why the default step is about eps^(1/3): truncation error falls with h, rounding error
grows as h shrinks.

    python scripts/examples/05_gradient_check.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy import optimize
from scipy.special import expit

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(5)
    n, d = 40, 3
    X = rng.normal(size=(n, d))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=n)
    w0 = rng.normal(size=d)

    def loss(w):
        r = X @ w - y
        return 0.5 * np.mean(r**2)

    def grad(w):
        return X.T @ (X @ w - y) / n

    def grad_without_mean(w):
        return X.T @ (X @ w - y)

    # A central difference with h ~ 6e-6 is good to ~1e-10 relative here; 1e-6 is a
    # verdict threshold, far above that and far below any real mistake.
    err = fastlin.check_grad(loss, grad, w0)
    err_bug = fastlin.check_grad(loss, grad_without_mean, w0)
    scipy_err = optimize.check_grad(loss, grad, w0) / np.linalg.norm(grad(w0))
    print(
        f"least squares: max relative error {err:.2e} (scipy.optimize.check_grad, relative "
        f"norm: {scipy_err:.2e})"
    )
    print(f"gradient without the 1/n: max relative error {err_bug:.4f} (1 - 1/n = {1 - 1 / n})")
    assert err < 1e-6 and scipy_err < 1e-6
    np.testing.assert_allclose(err_bug, 1 - 1 / n, rtol=1e-6)

    labels = (X @ [1.0, 1.0, 0.0] + rng.normal(size=n) > 0).astype(np.int64)

    def state(theta):
        return fastlin.LossGradState(theta[None, :d], theta[d:], multinomial=False).update(
            X, labels
        )

    def bce(theta):
        loss_sum, weight, _, _ = state(theta).finalize()
        return loss_sum / weight

    def bce_grad(theta):
        _, weight, g_w, g_b = state(theta).finalize()
        return np.r_[g_w[0], g_b] / weight

    theta0 = rng.normal(size=d + 1) * 0.5
    z = X @ theta0[:d] + theta0[d]
    p = expit(z)
    reference = np.mean(np.logaddexp(0, z) - labels * z)
    np.testing.assert_allclose(bce(theta0), reference, rtol=1e-12)
    np.testing.assert_allclose(
        bce_grad(theta0), np.r_[X.T @ (p - labels), np.sum(p - labels)] / n, rtol=1e-12
    )
    err_bce = fastlin.check_grad(bce, bce_grad, theta0)
    print(
        f"binary cross-entropy (fused kernel): loss {bce(theta0):.10f}, max relative gradient "
        f"error {err_bce:.2e}"
    )
    assert err_bce < 1e-6

    # One coordinate of the cross-entropy's gradient by difference quotients, as the step
    # shrinks (a quadratic would hide the truncation error: its central difference is exact).
    steps = np.logspace(-13, -1, 49)
    e0 = np.eye(d + 1)[0]
    exact = bce_grad(theta0)[0]
    central = [
        abs((bce(theta0 + h * e0) - bce(theta0 - h * e0)) / (2 * h) - exact) / abs(exact)
        for h in steps
    ]
    forward = [abs((bce(theta0 + h * e0) - bce(theta0)) / h - exact) / abs(exact) for h in steps]
    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    ax.loglog(steps, central, marker=".", label="central difference")
    ax.loglog(steps, forward, marker=".", label="forward difference")
    default = np.finfo(np.float64).eps ** (1 / 3)
    ax.axvline(default, color="tab:red", linestyle="--", label=f"check_grad's h = {default:.1e}")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the derivative")
    ax.set_title("finite differences of the cross-entropy: truncation vs rounding")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
