"""Full-batch minimisation of a smooth convex objective: L-BFGS, finished by Newton-CG.

L-BFGS (two-loop recursion over ``memory`` correction pairs, weak-Wolfe line search) does
the work. It stops when the objective has fallen by at most ``tol**2 * |f|`` over the last
``WINDOW`` iterations: an estimate of the distance to the minimum that errs on the safe side
while L-BFGS converges fast, and stays close to the true distance when it converges slowly
(ill-conditioned problems, weak penalties), because a window of several iterations averages
over the occasional short step. A gradient tolerance (scikit-learn's ``gtol``: largest
gradient entry at most ``tol``) says much less: the objective error it leaves is about
``g' H^-1 g / 2``, and with a weak penalty the smallest Hessian eigenvalues make that large
even for a small gradient; a fit stopped there can sit well above the optimum.

Near the minimiser the decreases the line search looks for fall below the rounding of the
objective, so for a target below that rounding L-BFGS stops with the coefficients carrying
an error of about sqrt(machine epsilon), which depends on summation order. The gradient
keeps its full accuracy there, so Newton steps, each solved by conjugate gradients on
Hessian-vector products, finish the job: they converge quadratically, and steps are
accepted on the gradient norm, which rounding does not hide.

The same function drives the in-memory and the Dask fits, so both take identical steps from
identical values.
"""

import collections

import numpy as np
from scipy.linalg.blas import ddot
from scipy.sparse.linalg import LinearOperator, cg

from ..kernels import lbfgs as _lbfgs

WINDOW = 20
"""Iterations over which the objective's decrease is compared with ``tol**2 * |f|``."""

TAIL_SHARE = 0.1
"""A geometric tail ends L-BFGS when it is at most this share of ``tol**2 * |f|``: the
rate is judged from two half-windows only, so its estimate gets a margin."""

NEWTON_STEPS = 20
"""Most Newton-CG steps after L-BFGS."""

CG_ITERATIONS = 200
"""Most conjugate-gradient iterations (Hessian-vector products) per Newton step; a
truncated solve is still a descent direction."""

LINE_SEARCH_STEPS = 30
"""Most objective evaluations per L-BFGS line search."""

_RESOLVED = 512 * np.finfo(float).eps
"""Relative objective targets at least this large are visible above the objective's
rounding (8 eps |f|, times the factor by which L-BFGS's predicted decrease can fall short of
the true distance to the minimum): a stalled line search then means the target is met."""

_ARMIJO = 1e-4
_CURVATURE = 0.9
_FLAT_TRIALS = 3
_SHRINK = 0.5
_CG_RTOL = 1e-10
_BACKTRACKS = 10
_EPS = np.finfo(float).eps


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
        Square root of the relative accuracy wanted of the objective: L-BFGS stops once the
        objective fell by at most ``tol**2 * |f|`` over the last ``WINDOW`` iterations
        (about its distance to the minimum; a gradient of relative size ``tol`` leaves an
        objective error of relative size ``tol**2``), or once it converges geometrically
        (each half-window's decrease at most half the one before) with a tail, summed at
        that rate, of at most ``TAIL_SHARE * tol**2 * |f|``. When the objective's rounding stops
        the line search before that, Newton-CG steps follow until the Newton decrement
        ``g' H^-1 g / 2`` is below ``tol**2 * |f|`` or the gradient reaches its rounding
        floor. 0 runs L-BFGS until its line search fails (or the objective stops falling)
        and skips the Newton steps.
    memory : int
        L-BFGS correction pairs.
    callback : callable f -> None, optional
        Called with the objective after every iteration.
    """
    theta = np.array(theta0, dtype=np.float64).ravel()
    f, g = fun(theta)
    f = float(f)
    target = float(tol) ** 2
    history = collections.deque([f], maxlen=WINDOW + 1)
    pairs = _Pairs(int(memory))
    n_iter = 0
    stalled = False
    while n_iter < max_iter:
        if not np.any(g):
            return theta, f, n_iter  # a stationary point, exactly
        d = pairs.direction(g)
        slope = float(ddot(g, d))
        if not slope < 0:  # rounding in the pairs; start the model again
            pairs.clear()
            d = -g
            slope = -float(ddot(g, g))
        step0 = 1.0 if len(pairs) else 1.0 / np.sqrt(-slope)
        step, f_new, g_new = _line_search(fun, theta, f, d, slope, step0)
        if step is None:
            stalled = True
            break
        s = step * d
        pairs.push(s, g_new - g)
        theta = theta + s
        f, g = float(f_new), g_new
        n_iter += 1
        history.append(f)
        if callback is not None:
            callback(f)
        if len(history) > WINDOW and history[0] - f <= target * abs(f):
            if target >= _RESOLVED:
                return theta, f, n_iter
            stalled = True  # a target below rounding: the objective just stopped moving
            break
        tail_target = TAIL_SHARE * target * abs(f)
        if target >= _RESOLVED and len(history) > WINDOW and _tail(history) <= tail_target:
            return theta, f, n_iter
    if not stalled or hessp is None or tol <= 0 or target >= _RESOLVED:
        # the line search stalls where the objective is flat to its rounding; a target
        # that rounding does not hide is then met (up to the few units of rounding that
        # L-BFGS's predicted decrease can be short of the true distance)
        return theta, f, n_iter
    theta, f, steps = _newton_cg(fun, hessp, theta, f, g, target, callback)
    return theta, f, n_iter + steps


def _tail(history):
    """The decrease still to come when the objective converges geometrically: the last
    half-window's decrease times rho / (1 - rho), rho its ratio to the half-window's
    before; infinite unless rho <= 1/2 (a slower or irregular descent is left to the
    whole-window rule)."""
    half = len(history) // 2
    before = history[0] - history[half]
    recent = history[half] - history[-1]
    if not (before > 0 and 0 <= recent <= 0.5 * before):
        return np.inf
    rho = recent / before
    return recent * rho / (1.0 - rho)


class _Pairs:
    """The last ``m`` L-BFGS correction pairs and the two-loop recursion over them.

    Pairs live in the rows of two ring arrays that grow (doubling) up to ``m`` rows, so
    a fit that converges in a few iterations never holds ``m`` of them.
    """

    def __init__(self, m):
        self._m = max(int(m), 1)
        self._S = self._Y = None
        self._rho = np.empty(0)
        self._start = 0
        self._count = 0
        self._gamma = 1.0

    def __len__(self):
        return self._count

    def clear(self):
        self._start = self._count = 0
        self._gamma = 1.0

    def _row_for_new_pair(self, n):
        capacity = 0 if self._S is None else self._S.shape[0]
        if self._count == capacity and capacity < self._m:
            grown = min(self._m, max(4, 2 * capacity))
            S, Y, rho = np.empty((grown, n)), np.empty((grown, n)), np.empty(grown)
            if self._count:
                order = self._order()
                S[: self._count], Y[: self._count] = self._S[order], self._Y[order]
                rho[: self._count] = self._rho[order]
            self._S, self._Y, self._rho, self._start = S, Y, rho, 0
            capacity = grown
        if self._count < capacity:
            self._count += 1
            return (self._start + self._count - 1) % capacity
        row = self._start  # full: the oldest pair makes room
        self._start = (self._start + 1) % capacity
        return row

    def _order(self):
        capacity = 0 if self._S is None else self._S.shape[0]
        return _lbfgs.ring_order(self._start, self._count, max(capacity, 1))

    def push(self, s, y):
        sy = float(ddot(s, y))
        yy = float(ddot(y, y))
        if not sy > _EPS * yy:  # no positive curvature to learn from (SciPy's rule)
            return
        row = self._row_for_new_pair(s.shape[0])
        self._S[row], self._Y[row], self._rho[row] = s, y, 1.0 / sy
        self._gamma = sy / yy

    def direction(self, g):
        """-H g, with H the L-BFGS inverse Hessian (``-g`` before the first pair)."""
        if not self._count:
            return -g
        g = np.ascontiguousarray(g, dtype=np.float64)
        q = np.empty_like(g)
        order = self._order()
        _lbfgs.two_loop(
            self._S, self._Y, self._rho, order, self._gamma, g, q, np.empty(order.shape[0])
        )
        return q


def _line_search(fun, theta, f, d, slope, step):
    """A step along d meeting the weak Wolfe conditions; (step, f, g), or (None, f, None).

    Bracketing with safeguarded cubic interpolation. Fails when the objective, flat to its
    rounding along d, can no longer show the decrease the Armijo condition asks for.
    """
    noise = 8 * _EPS * max(abs(f), np.finfo(float).tiny)
    lo, f_lo, s_lo = 0.0, f, slope
    hi = f_hi = s_hi = np.inf
    flat = 0
    for _ in range(LINE_SEARCH_STEPS):
        f1, g1 = fun(theta + step * d)
        f1 = float(f1)
        s1 = float(ddot(g1, d)) if np.isfinite(f1) else np.nan
        if not np.isfinite(s1) or f1 > f + _ARMIJO * step * slope or (lo > 0 and f1 >= f_lo):
            if abs(f1 - f) <= noise and -slope * step <= 64 * noise:
                flat += 1  # the decrease asked for is itself lost in the rounding
                if flat >= _FLAT_TRIALS:
                    return None, f, None
            hi, f_hi, s_hi = step, f1, s1
        elif s1 < _CURVATURE * slope:
            lo, f_lo, s_lo = step, f1, s1
        else:
            return step, f1, g1
        if not np.isfinite(hi):
            step = 4.0 * step
            continue
        width = hi - lo
        if width <= 4 * _EPS * hi:
            return None, f, None
        trial = _cubic_min(lo, f_lo, s_lo, hi, f_hi, s_hi)
        step = min(max(trial, lo + 0.1 * width), hi - 0.1 * width)
    return None, f, None


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic through (a, fa, da) and (b, fb, db); the midpoint if none."""
    if not (np.isfinite(fb) and np.isfinite(db)):
        return 0.5 * (a + b)
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if not disc >= 0:
        return 0.5 * (a + b)
    d2 = np.copysign(np.sqrt(disc), b - a)
    den = db - da + 2.0 * d2
    if den == 0:
        return 0.5 * (a + b)
    t = b - (b - a) * (db + d2 - d1) / den
    return t if np.isfinite(t) else 0.5 * (a + b)


def _newton_cg(fun, hessp, theta, f, g, target, callback):
    n = theta.shape[0]
    steps = 0
    for _ in range(NEWTON_STEPS):
        g_norm = np.linalg.norm(g)
        if not g_norm > 0:
            break
        H = LinearOperator((n, n), matvec=lambda v, t=theta: hessp(t, v), dtype=np.float64)
        # forcing term min(0.1, ||g||): superlinear far out, quadratic near the minimiser;
        # no solve beyond 1e-10, past which rounding, not the model, steers CG (and pushes
        # the iterate along flat directions of the objective)
        direction, _ = cg(
            H, -g, rtol=min(0.1, max(g_norm, _CG_RTOL)), atol=0.0, maxiter=CG_ITERATIONS
        )
        if not np.all(np.isfinite(direction)) or not direction @ g < 0:
            break
        step = 1.0
        noise = 8 * _EPS * max(abs(f), 1.0)
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
        if -slope / 2 <= target * abs(f):
            break  # the Newton decrement: the objective is within the target of its minimum
        if np.linalg.norm(g) > 0.5 * g_norm:
            break  # the gradient has reached its rounding floor: more steps would not help
    return theta, f, steps
