"""Full-batch minimisation of a smooth convex objective: L-BFGS, finished by Newton-CG.

L-BFGS-B (SciPy, with the options scikit-learn uses) does most of the work. Its line search
compares objective values, and near the minimiser the decrease it looks for falls below the
rounding of the objective, so it can stop with a gradient far above a small tolerance (the
coefficients then carry an error of about sqrt(machine epsilon), which depends on summation
order). The gradient keeps its full accuracy there, so Newton steps, each solved by
conjugate gradients on Hessian-vector products, finish the job: they converge
quadratically, and steps are accepted on the gradient norm, which rounding does not hide.

The same function drives the in-memory and the Dask fits, so both take identical steps from
identical values.
"""

import numpy as np
from scipy import optimize
from scipy.sparse.linalg import LinearOperator, cg

NEWTON_STEPS = 20
"""Most Newton-CG steps after L-BFGS."""

CG_ITERATIONS = 200
"""Most conjugate-gradient iterations (Hessian-vector products) per Newton step; a
truncated solve is still a descent direction."""

_SHRINK = 0.5
_BACKTRACKS = 10


def minimize(fun, hessp, theta0, *, max_iter, tol, memory, callback=None):
    """Minimise ``fun`` from ``theta0``; returns (theta, f, n_iter).

    Parameters
    ----------
    fun : callable theta -> (f, gradient)
    hessp : callable (theta, v) -> Hessian at theta times v, or None for L-BFGS alone
    theta0 : ndarray of shape (n,), float64
    max_iter : int
        L-BFGS iterations; Newton steps come on top only when L-BFGS stopped early.
    tol : float
        Largest absolute gradient entry at which to stop (L-BFGS-B's ``gtol``); 0 runs
        L-BFGS to its own stopping rules and skips the Newton steps.
    memory : int
        L-BFGS correction pairs.
    callback : callable f -> None, optional
        Called with the objective after every iteration.
    """
    def report(intermediate_result):  # SciPy passes the result object to this parameter name
        if callback is not None:
            callback(float(intermediate_result.fun))

    res = optimize.minimize(
        fun, theta0, method="L-BFGS-B", jac=True, callback=report,
        options={"maxiter": int(max_iter), "maxls": 50, "maxcor": int(memory),
                 "gtol": float(tol), "ftol": 64 * np.finfo(float).eps},
    )
    theta, f, g, n_iter = res.x, float(res.fun), res.jac, int(res.nit)
    if hessp is None or tol <= 0 or n_iter >= max_iter or np.abs(g).max() <= tol:
        return theta, f, n_iter
    theta, f, steps = _newton_cg(fun, hessp, theta, f, g, tol, callback)
    return theta, f, n_iter + steps


def _newton_cg(fun, hessp, theta, f, g, tol, callback):
    n = theta.shape[0]
    steps = 0
    for _ in range(NEWTON_STEPS):
        g_norm = np.linalg.norm(g)
        if np.abs(g).max() <= tol or not g_norm > 0:
            break
        H = LinearOperator((n, n), matvec=lambda v, t=theta: hessp(t, v), dtype=np.float64)
        # forcing term min(0.1, ||g||): superlinear far out, quadratic near the minimiser
        direction, _ = cg(H, -g, rtol=min(0.1, g_norm), atol=0.0, maxiter=CG_ITERATIONS)
        if not np.all(np.isfinite(direction)) or not direction @ g < 0:
            break
        step = 1.0
        noise = 8 * np.finfo(float).eps * max(abs(f), 1.0)
        slope = float(direction @ g)
        for _ in range(_BACKTRACKS):
            t_new = theta + step * direction
            f_new, g_new = fun(t_new)
            # Armijo decrease where the objective can still see it; where it is flat to
            # rounding, a smaller gradient with no increase beyond the rounding
            if f_new <= f + 1e-4 * step * slope and f_new < f - noise:
                break
            if abs(f_new - f) <= noise and np.linalg.norm(g_new) < g_norm:
                break
            step *= _SHRINK
        else:
            break
        theta, f, g = t_new, float(f_new), g_new
        steps += 1
        if callback is not None:
            callback(f)
        if np.linalg.norm(g) > 0.5 * g_norm:
            break  # the gradient has reached its rounding floor: more steps would not help
    return theta, f, steps
