"""The shared minimiser: L-BFGS that stops on the objective, finished by Newton-CG when
rounding hides the last decreases."""

import numpy as np
import pytest
from scipy import optimize

from fastlin.core import optim


def _quadratic(rng, n, cond, offset, low=1.0):
    """f(x) = offset + (x - x*)'A(x - x*)/2, eigenvalues of A from ``low`` to ``low * cond``.

    Returns f (with gradient), the Hessian product, x* and the exact distance
    f(x) - f(x*), computed without the offset's rounding. A large ``offset`` puts the
    objective's rounding far above the decreases L-BFGS's line search looks for near the
    minimiser, while the gradient stays exact.
    """
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = (Q * np.geomspace(low, low * cond, n)) @ Q.T
    x_star = rng.normal(size=n)

    def gap(x):
        e = x - x_star
        return 0.5 * e @ A @ e

    def fun(x):
        return offset + gap(x), A @ (x - x_star)

    return fun, (lambda x, v: A @ v), x_star, gap


@pytest.mark.parametrize("n,cond", [(20, 1e2), (40, 1e4)])
def test_newton_finish_reaches_a_target_below_the_objectives_rounding(rng, n, cond):
    fun, hessp, x_star, gap = _quadratic(rng, n, cond, offset=1e8)
    x0 = np.zeros(n)
    tol = 1e-12  # the objective to within tol**2 * |f| = 1e-16, far below its rounding
    target = tol**2 * 1e8
    x_lbfgs, _, _ = optim.minimize(fun, None, x0, max_iter=1000, tol=tol, memory=10)
    assert gap(x_lbfgs) > 100 * target  # the situation the finish is for
    x, f, n_iter = optim.minimize(fun, hessp, x0, max_iter=1000, tol=tol, memory=10)
    assert gap(x) <= target
    # error <= sqrt(2 gap / smallest eigenvalue), the smallest eigenvalue being 1
    np.testing.assert_allclose(x, x_star, rtol=0, atol=np.sqrt(2 * target))
    assert np.abs(x_lbfgs - x_star).max() > np.abs(x - x_star).max()


def test_no_newton_steps_after_max_iter_or_at_a_resolvable_target(rng):
    fun, hessp, x_star, gap = _quadratic(rng, 10, 1e2, offset=1.0)
    calls = []

    def counting(x, v):
        calls.append(1)
        return hessp(x, v)

    optim.minimize(fun, counting, np.zeros(10), max_iter=3, tol=1e-14, memory=10)
    assert not calls  # max_iter is a hard limit
    x, f, _ = optim.minimize(fun, counting, np.zeros(10), max_iter=500, tol=1e-6, memory=10)
    assert not calls  # L-BFGS met the target by itself
    assert gap(x) <= 1e-12 * abs(f)


def test_unreachable_tolerance_stops_at_the_rounding_floor(rng):
    fun, hessp, x_star, _ = _quadratic(rng, 30, 1e3, offset=1e8)
    calls = []

    def counting(x, v):
        calls.append(1)
        return hessp(x, v)

    x, _, _ = optim.minimize(fun, counting, np.zeros(30), max_iter=1000, tol=1e-300, memory=10)
    # a few Newton steps reach the floor and the loop stops instead of using all its steps
    assert len(calls) <= 4 * optim.CG_ITERATIONS
    np.testing.assert_allclose(x, x_star, rtol=0, atol=1e-9)


def test_objective_rule_reaches_the_minimum_where_a_gradient_rule_stops_high(rng):
    """The cause of the logistic fits stopping high: with small Hessian eigenvalues (a weak
    penalty) a gradient whose largest entry is below tol still leaves the objective far
    above its minimum. The window rule stops on the objective itself."""
    fun, _, x_star, gap = _quadratic(rng, 60, 1e4, offset=1.0, low=1e-4)
    tol = 1e-4
    gtol = optimize.minimize(
        fun,
        np.zeros(60),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": tol, "maxcor": 60, "maxiter": 10000, "ftol": 64 * np.finfo(float).eps},
    )
    assert np.abs(gtol.jac).max() <= tol
    assert gap(gtol.x) > 100 * tol**2  # f* = 1: relative and absolute targets agree
    x, f, n_iter = optim.minimize(fun, None, np.zeros(60), max_iter=10000, tol=tol, memory=60)
    assert gap(x) <= tol**2
    assert f <= gtol.fun


def test_geometric_tail_sums_the_decreases_still_to_come():
    from collections import deque

    # f = 1 + 0.8^k: each half-window of 10 falls by 0.8^10 ~ 0.107 of the one before.
    f = deque(1.0 + 0.8 ** np.arange(30, 51.0), maxlen=21)
    still_to_come = 0.8**50
    np.testing.assert_allclose(optim._tail(f), still_to_come, rtol=1e-9)
    # slower than halving per half-window, flat, or rising: left to the window rule
    for history in ([1 + 0.98**k for k in range(21)], [1.0] * 21, list(np.linspace(1, 2, 21))):
        assert optim._tail(deque(history)) == np.inf


@pytest.mark.parametrize("n", [30, 60])
def test_geometric_tail_stops_earlier_within_the_target(rng, n):
    # well conditioned: L-BFGS converges geometrically, and the tail rule ends it
    fun, _, x_star, gap = _quadratic(rng, n, 1e2, offset=1.0)
    tol = 1e-5
    seen = []
    x, f, n_iter = optim.minimize(
        fun, None, np.zeros(n), max_iter=10000, tol=tol, memory=5, callback=seen.append
    )
    assert gap(x) <= tol**2 * abs(f)
    # the whole-window rule alone would have gone on: the last window fell by more
    assert n_iter > optim.WINDOW and seen[-21] - seen[-1] > tol**2 * abs(f)


def test_lbfgs_on_a_nonconvex_valley_and_the_callback():
    """Rosenbrock's valley: curvature changing by orders of magnitude along the path, a
    test of the line search (bracketing, interpolation, extrapolation)."""
    seen = []
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5])
    x, f, n_iter = optim.minimize(
        lambda x: (optimize.rosen(x), optimize.rosen_der(x)),
        None,
        x0,
        max_iter=2000,
        tol=1e-8,
        memory=10,
        callback=seen.append,
    )
    np.testing.assert_allclose(x, np.ones(5), atol=1e-6)
    assert len(seen) == n_iter and seen[-1] == f
    assert all(b <= a for a, b in zip(seen, seen[1:]))  # every accepted step descends


def _two_loop_reference(pairs, g):
    """-H g by the textbook two-loop recursion in NumPy; pairs oldest first."""
    q = -g.copy()
    alphas = []
    for s, y in reversed(pairs):
        a = (s @ q) / (s @ y)
        alphas.append(a)
        q -= a * y
    s, y = pairs[-1]
    q *= (s @ y) / (y @ y)
    for (s, y), a in zip(pairs, reversed(alphas)):
        q += (a - (y @ q) / (s @ y)) * s
    return q


@pytest.mark.parametrize("memory", [1, 3, 7])
@pytest.mark.parametrize("n", [1, 13, 400])
def test_two_loop_over_the_last_pairs_as_they_grow_and_wrap(rng, memory, n):
    """The ring arrays grow, then drop the oldest pair: each direction equals the NumPy
    two-loop over the last ``memory`` pairs, to 1e-12 relative."""
    pairs = optim._Pairs(memory)
    g = rng.normal(size=n)
    np.testing.assert_array_equal(pairs.direction(g), -g)  # no pair yet: steepest descent
    kept = []
    for _ in range(2 * memory + 5):
        s = rng.normal(size=n)
        y = s * rng.uniform(0.5, 2.0, n)  # positive curvature: every pair is kept
        pairs.push(s, y)
        kept = (kept + [(s, y)])[-memory:]
        g = rng.normal(size=n)
        ref = _two_loop_reference(kept, g)
        got = pairs.direction(g)
        assert len(pairs) == len(kept)
        assert np.abs(got - ref).max() <= 1e-12 * np.abs(ref).max()
    pairs.push(s, -y)  # negative curvature: not kept
    assert len(pairs) == len(kept)
    pairs.clear()
    np.testing.assert_array_equal(pairs.direction(g), -g)
