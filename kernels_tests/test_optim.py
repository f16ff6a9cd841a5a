"""L-BFGS finished by Newton-CG: reaches gradient tolerances L-BFGS alone stops short of."""

import numpy as np
import pytest

from fastlin import optim


def _quadratic(rng, n, cond, offset):
    """f(x) = offset + x'Ax/2 - b'x with eigenvalues from 1 to ``cond``; returns f, grad, hessp, x*.

    A large ``offset`` puts the objective's rounding far above the decreases L-BFGS's
    line search looks for near the minimiser, while the gradient stays exact.
    """
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = (Q * np.geomspace(1.0, cond, n)) @ Q.T
    b = rng.normal(size=n)

    def fun(x):
        Ax = A @ x
        return offset + 0.5 * x @ Ax - b @ x, Ax - b

    return fun, (lambda x, v: A @ v), np.linalg.solve(A, b)


@pytest.mark.parametrize("n,cond", [(20, 1e2), (40, 1e4)])
def test_newton_finish_reaches_tolerance_lbfgs_alone_misses(rng, n, cond):
    fun, hessp, x_star = _quadratic(rng, n, cond, offset=1e8)
    x0 = np.zeros(n)
    tol = 1e-12
    x_lbfgs, _, _ = optim.minimize(fun, None, x0, max_iter=1000, tol=tol, memory=10)
    g_lbfgs = np.abs(fun(x_lbfgs)[1]).max()
    assert g_lbfgs > 1e3 * tol  # the situation the finish is for
    x, f, n_iter = optim.minimize(fun, hessp, x0, max_iter=1000, tol=tol, memory=10)
    assert np.abs(fun(x)[1]).max() <= tol
    # error <= ||A^-1|| * ||g|| <= sqrt(n) * tol (smallest eigenvalue is 1)
    np.testing.assert_allclose(x, x_star, rtol=0, atol=np.sqrt(n) * tol * 10)
    assert np.abs(x_lbfgs - x_star).max() > np.abs(x - x_star).max()


def test_no_newton_steps_after_max_iter_or_at_tolerance(rng):
    fun, hessp, x_star = _quadratic(rng, 10, 1e2, offset=0.0)
    calls = []

    def counting(x, v):
        calls.append(1)
        return hessp(x, v)

    optim.minimize(fun, counting, np.zeros(10), max_iter=3, tol=1e-14, memory=10)
    assert not calls  # max_iter is a hard limit
    x, _, _ = optim.minimize(fun, counting, np.zeros(10), max_iter=500, tol=1e-6, memory=10)
    assert not calls  # L-BFGS met the tolerance by itself
    assert np.abs(fun(x)[1]).max() <= 1e-6


def test_unreachable_tolerance_stops_at_the_rounding_floor(rng):
    fun, hessp, x_star = _quadratic(rng, 30, 1e3, offset=1e8)
    calls = []

    def counting(x, v):
        calls.append(1)
        return hessp(x, v)

    x, _, _ = optim.minimize(fun, counting, np.zeros(30), max_iter=1000, tol=1e-300, memory=10)
    # a few Newton steps reach the floor and the loop stops instead of using all its steps
    assert len(calls) <= 4 * optim.CG_ITERATIONS
    np.testing.assert_allclose(x, x_star, rtol=0, atol=1e-9)
