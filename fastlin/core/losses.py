"""The logistic loss as mergeable sums, and the objective L-BFGS minimises.

``LossGradState`` and ``HesspState`` are accumulators (:mod:`fastlin.core.accumulator`)
of the summed cross-entropy, its gradient and its Hessian-vector products at fixed
coefficients, over rows of any supported dtype (``x_scale`` multiplies every value as it
is read). Small problems take the NumPy route (:mod:`fastlin.core.losses_numpy`), larger
ones the fused kernels (:mod:`fastlin.kernels.losses`) over row parts.

``fit_lbfgs`` minimises scikit-learn's ``LogisticRegression(C=C)`` objective from those
sums, in centred coordinates; the in-memory estimator and the Dask backend share it.
"""

from __future__ import annotations

import contextlib
import math
from typing import Self

import numba
import numpy as np
from numpy.typing import ArrayLike

from .._threads import n_threads, row_ranges
from .._validation import as_2d_array, check_finite, check_sample_weight
from ..kernels import losses as _losses
from . import losses_numpy as _small
from . import optim
from .accumulator import Accumulator


_PARTS_PER_THREAD = 2
_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)


class _Scratch:
    """Per-part scratch and accumulators for the kernels, reused across evaluations."""

    def __init__(self, n_features, n_out):
        self.d = n_features
        self.K = n_out
        self.P = 0

    def get(self, n_parts):
        if n_parts > self.P:
            self.P = n_parts
            d, K = self.d, self.K
            a_shape, z_shape = _losses.scratch_shapes(n_parts, K, d)
            self.A = np.empty(a_shape)
            self.Z = np.empty(z_shape)
            self.U = np.empty(z_shape)
            self.G = np.zeros((n_parts, K, d))
            self.gb = np.zeros((n_parts, K))
            self.loss = np.zeros((n_parts, 2))
        return self

    def zero(self, n_parts):
        self.G[:n_parts] = 0.0
        self.gb[:n_parts] = 0.0
        self.loss[:n_parts] = 0.0


@contextlib.contextmanager
def _parts(scratch, m, step):
    """Row ranges for a parallel kernel over m rows, with zeroed scratch for them.

    Yields (bounds, P, scratch). A few parts per thread, handed out one at a time: a
    thread that the OS descheduled on a busy machine delays one small part, not half of
    the pass. The parts depend only on the thread count, so the sums stay deterministic.
    """
    bounds = row_ranges(m, _PARTS_PER_THREAD * n_threads(), step)
    P = bounds.shape[0] - 1
    s = scratch.get(P)
    s.zero(P)
    old = numba.set_parallel_chunksize(1)
    try:
        yield bounds, P, s
    finally:
        numba.set_parallel_chunksize(old)


def _checked_rows(X, y_idx, sample_weight, rows, n_out, n_features):
    """The arguments of a loss or Hessian update, validated before any state changes."""
    X = as_2d_array(X, "X")
    n, d = X.shape
    if d != n_features:
        raise ValueError(f"X has {d} features, the coefficients have {n_features}")
    check_finite(X, "X")
    w = check_sample_weight(sample_weight, n)
    if y_idx is not None:
        y_idx = np.asarray(y_idx)
        if y_idx.shape != (n,) or y_idx.dtype.kind not in "iu":
            raise ValueError(
                f"y must hold {n} integer class indices (one per row of X), got "
                f"{y_idx.dtype} of shape {y_idx.shape}"
            )
        top = max(n_out, 2)  # a binary model has one output and two classes
        if n and (y_idx.min() < 0 or y_idx.max() >= top):
            bad = int(np.flatnonzero((y_idx < 0) | (y_idx >= top))[0])
            raise ValueError(f"y[{bad}] = {int(y_idx[bad])} is not a class index in 0..{top - 1}")
        y_idx = np.ascontiguousarray(y_idx, dtype=np.int64)
    if rows is not None:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= n)):
            raise ValueError(f"rows must be a 1-D array of row indices in 0..{n - 1}")
    return X, y_idx, w, rows


class LossGradState(Accumulator):
    """Mergeable sums of a logistic model's loss and gradient over rows.

    ``update`` folds rows in, ``merge`` adds another state, ``finalize`` returns
    ``(loss_sum, weight_sum, grad_W, grad_b)``: the weighted sum of per-row
    cross-entropies, the total weight, and the gradients of that sum with respect to the
    coefficients (n_out, n_features) and intercepts (n_out,). The result does not depend on
    how the rows were split (up to floating-point summation order).

    Parameters
    ----------
    W : ndarray of shape (n_out, n_features), float64
        Coefficients; ``n_out`` is 1 for binary and the number of classes for multinomial.
    b : ndarray of shape (n_out,), float64
    multinomial : bool
    x_scale : float, default 1.0
        Multiplies every X value as it is read.
    want_grad : bool, default True
    """

    _SUMS = ("loss_sum", "weight_sum", "grad_W", "grad_b")

    def __init__(
        self,
        W: ArrayLike,
        b: ArrayLike,
        multinomial: bool,
        x_scale: float = 1.0,
        want_grad: bool = True,
        _scratch: _Scratch | None = None,
    ):
        self.W = np.ascontiguousarray(W, dtype=np.float64)
        self.b = np.ascontiguousarray(b, dtype=np.float64)
        self.multinomial = bool(multinomial)
        self.x_scale = float(x_scale)
        self.want_grad = bool(want_grad)
        K, d = self.W.shape
        self.loss_sum = 0.0
        self.weight_sum = 0.0
        self.grad_W = np.zeros((K, d))
        self.grad_b = np.zeros(K)
        self._scratch = _scratch if _scratch is not None else _Scratch(d, K)

    def update(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        rows: ArrayLike | None = None,
    ) -> Self:
        """Fold rows in: X (n, n_features) of any supported dtype, class indices ``y``
        (n,) (0/1 for binary), weights (n,) or None.

        ``rows`` (indices into X) restricts the update to those rows, in that order.
        Validated before anything changes.
        """
        if y is None:
            raise ValueError("LossGradState.update needs y, the class index of each row")
        X, y, w, rows = _checked_rows(X, y, sample_weight, rows, *self.W.shape)
        return self._fold(X, y, w, rows)

    def _fold(self, X, y_idx, sample_weight=None, rows=None):
        """:meth:`update` on arguments the caller has validated (the estimators' passes)."""
        w = _EMPTY_F if sample_weight is None else sample_weight
        r = _EMPTY_I if rows is None else rows
        m = X.shape[0] if rows is None else rows.shape[0]
        if m == 0:
            return self
        if _small.is_small(m, X.shape[1]):
            loss, weight, gW, gb = _small.loss_grad(
                X,
                y_idx,
                sample_weight,
                self.W,
                self.b,
                self.x_scale,
                self.multinomial,
                self.want_grad,
                rows,
            )
            self.loss_sum += loss
            self.weight_sum += weight
            if self.want_grad:
                self.grad_W += gW
                self.grad_b += gb
            return self
        with _parts(self._scratch, m, 8 if rows is not None else _losses.BLOCK) as (bounds, P, s):
            _losses.loss_grad_parts(
                X,
                y_idx,
                w,
                r,
                self.W,
                self.b,
                self.x_scale,
                bounds,
                self.multinomial,
                self.want_grad,
                s.A,
                s.Z,
                s.G,
                s.gb,
                s.loss,
            )
        self.loss_sum += float(s.loss[:P, 0].sum())
        self.weight_sum += float(s.loss[:P, 1].sum())
        if self.want_grad:
            for p in range(P):  # fixed order: same bits for the same thread count
                self.grad_W += s.G[p]
                self.grad_b += s.gb[p]
        return self

    def copy(self) -> Self:
        """An independent state, with scratch of its own (copies may run in threads)."""
        new = super().copy()
        new._scratch = _Scratch(*self.W.shape[::-1])
        return new

    def _settings(self):
        return {
            "W": self.W,
            "b": self.b,
            "multinomial": np.bool_(self.multinomial),
            "x_scale": np.float64(self.x_scale),
            "want_grad": np.bool_(self.want_grad),
        }

    @classmethod
    def _from_settings(cls, arrays):
        return cls(
            arrays["W"],
            arrays["b"],
            bool(arrays["multinomial"]),
            float(arrays["x_scale"]),
            bool(arrays["want_grad"]),
        )

    def finalize(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        return self.loss_sum, self.weight_sum, self.grad_W, self.grad_b


class HesspState(Accumulator):
    """Mergeable Hessian-vector products of a logistic model's summed cross-entropy.

    At coefficients (W, b), ``finalize`` returns ``(HV, hvb)`` of shapes
    (n_out, n_features) and (n_out,): the data term's Hessian in (W, b) times the
    direction (V, vb), summed over the rows folded in. The Hessian does not depend on the
    labels, so ``update`` reads no ``y``.

    Parameters
    ----------
    W, V : ndarray of shape (n_out, n_features), float64
    b, vb : ndarray of shape (n_out,), float64
    multinomial : bool
    x_scale : float, default 1.0
    """

    _SUMS = ("HV", "hvb")

    def __init__(
        self,
        W: ArrayLike,
        b: ArrayLike,
        V: ArrayLike,
        vb: ArrayLike,
        multinomial: bool,
        x_scale: float = 1.0,
        _scratch: _Scratch | None = None,
    ):
        self.W, self.b, self.V, self.vb = (
            np.ascontiguousarray(a, dtype=np.float64) for a in (W, b, V, vb)
        )
        self.multinomial = bool(multinomial)
        self.x_scale = float(x_scale)
        self.HV = np.zeros(self.W.shape)
        self.hvb = np.zeros(self.W.shape[0])
        self._scratch = _scratch

    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold rows in: X (n, n_features) of any supported dtype, weights (n,) or None
        (``y`` is not read). Validated before anything changes."""
        X, _, w, _ = _checked_rows(X, None, sample_weight, None, *self.W.shape)
        return self._fold(X, None, w)

    def _fold(self, X, y=None, sample_weight=None):
        """:meth:`update` on arguments the caller has validated (``y`` is not read)."""
        h, hb = hessp_sums(
            X,
            sample_weight,
            self.W,
            self.b,
            self.V,
            self.vb,
            self.multinomial,
            self.x_scale,
            self._scratch,
        )
        self.HV += h
        self.hvb += hb
        return self

    def copy(self) -> Self:
        new = super().copy()
        new._scratch = None
        return new

    def _settings(self):
        return {
            "W": self.W,
            "b": self.b,
            "V": self.V,
            "vb": self.vb,
            "multinomial": np.bool_(self.multinomial),
            "x_scale": np.float64(self.x_scale),
        }

    @classmethod
    def _from_settings(cls, arrays):
        return cls(
            arrays["W"],
            arrays["b"],
            arrays["V"],
            arrays["vb"],
            bool(arrays["multinomial"]),
            float(arrays["x_scale"]),
        )

    def finalize(self) -> tuple[np.ndarray, np.ndarray]:
        return self.HV, self.hvb


def hessp_sums(X, sample_weight, W, b, V, vb, multinomial, x_scale=1.0, _scratch=None):
    """Hessian of the summed cross-entropy over the rows of X, times a direction.

    Returns ``(HV, hvb)`` of shapes (n_out, n_features) and (n_out,): the products with
    the direction (V, vb) of the data term's Hessian in (W, b) at (W, b). Like the loss and
    gradient, these are sums over rows, so chunks and workers add them up.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), float64, or None
    W, V : ndarray of shape (n_out, n_features), float64; b, vb : (n_out,) float64
    multinomial : bool
    x_scale : float, default 1.0
    """
    K, d = W.shape
    HV = np.zeros((K, d))
    hvb = np.zeros(K)
    n = X.shape[0]
    if n == 0:
        return HV, hvb
    if _small.is_small(n, d):
        return _small.hessp(
            X,
            sample_weight,
            np.asarray(W, np.float64),
            np.asarray(b, np.float64),
            np.asarray(V, np.float64),
            np.asarray(vb, np.float64),
            float(x_scale),
            bool(multinomial),
        )
    scratch = _scratch if _scratch is not None else _Scratch(d, K)
    with _parts(scratch, n, _losses.BLOCK) as (bounds, P, s):
        _losses.hessp(
            X,
            _EMPTY_F if sample_weight is None else sample_weight,
            np.ascontiguousarray(W, dtype=np.float64),
            np.ascontiguousarray(b, dtype=np.float64),
            np.ascontiguousarray(V, dtype=np.float64),
            np.ascontiguousarray(vb, dtype=np.float64),
            float(x_scale),
            bounds,
            bool(multinomial),
            s.A,
            s.Z,
            s.U,
            s.G,
            s.gb,
        )
    for p in range(P):  # fixed order: same bits for the same thread count
        HV += s.G[p]
        hvb += s.gb[p]
    return HV, hvb


def objective_fun(data_term, K, d, C, sw_sum, fit_intercept):
    """The L-BFGS objective and its gradient, from the data term's sums.

    ``data_term(theta, W, b) -> (loss_sum, grad_W, grad_b)`` sums the weighted
    cross-entropy and its gradient over all rows; the objective adds ``||W||^2 / (2 C)``
    and divides by ``sw_sum``. theta = [W.ravel(), b] (b only with an intercept, else 0).
    """
    inv_C = 0.0 if math.isinf(C) else 1.0 / float(C)
    inv_sw = 1.0 / sw_sum
    zero_b = np.zeros(K)

    def fun(theta):
        W = theta[: K * d].reshape(K, d)
        b = theta[K * d :] if fit_intercept else zero_b
        loss, gW, gb = data_term(theta, W, b)
        f = (loss + 0.5 * inv_C * float(W.ravel() @ W.ravel())) * inv_sw
        g = np.empty_like(theta)
        g[: K * d] = ((gW + inv_C * W) * inv_sw).ravel()
        if fit_intercept:
            g[K * d :] = gb * inv_sw
        return f, g

    return fun


def objective_hessp(data_term, K, d, C, sw_sum, fit_intercept):
    """Hessian-vector product of the L-BFGS objective, from its data term's.

    ``data_term(W, b, V, vb) -> (HV, hvb)`` sums the cross-entropy Hessian times (V, vb)
    over all rows; the objective adds ``||W||^2 / (2 C)`` and divides by ``sw_sum``.
    Without an intercept, b stays 0 and is not part of theta.
    """
    inv_C = 0.0 if math.isinf(C) else 1.0 / float(C)
    inv_sw = 1.0 / sw_sum
    zero_b = np.zeros(K)

    def hessp(theta, v):
        W = theta[: K * d].reshape(K, d)
        V = v[: K * d].reshape(K, d)
        b = theta[K * d :] if fit_intercept else zero_b
        vb = v[K * d :] if fit_intercept else zero_b
        HV, hvb = data_term(W, b, V, vb)
        out = np.empty_like(theta)
        out[: K * d] = ((HV + inv_C * V) * inv_sw).ravel()
        if fit_intercept:
            out[K * d :] = hvb * inv_sw
        return out

    return hessp


def centring_shift(data_hessp, K, d):
    """Weighted mean of the (scaled) rows, from one Hessian-vector pass of the data term.

    At W = 0, b = 0 every row has the same probabilities p (1/2 binary, 1/K multinomial),
    so the Hessian times the direction (V = 0, vb = e_0) is ``c * sum_i s_i [x_i, 1]`` for
    the class-0 row, with c = p (1 - p): its W part divided by its intercept part is the
    weighted mean. The same pass on every backend, with no other reader of the data.
    """
    zeros_W = np.zeros((K, d))
    vb = np.zeros(K)
    vb[0] = 1.0
    HV, hvb = data_hessp(zeros_W, np.zeros(K), zeros_W, vb)
    return np.asarray(HV[0], dtype=np.float64) / float(hvb[0])


def fit_lbfgs(
    data_term,
    data_hessp,
    K,
    d,
    C,
    sw_sum,
    fit_intercept,
    W0,
    b0,
    *,
    max_iter,
    tol,
    memory,
    callback=None,
):
    """Minimise the L-BFGS objective from (W0, b0); returns (W, b, objective, n_iter).

    ``data_term`` and ``data_hessp`` are as for :func:`objective_fun` and
    :func:`objective_hessp`; the in-memory and the Dask fits both come through here, so
    they take the same steps. With an intercept the minimiser works in centred
    coordinates, ``logits = W (x - mu) + c`` with ``b = c - W mu`` and ``mu`` the weighted
    mean row (:func:`centring_shift`): the same function of (W, b), with the coupling
    between the coefficients and the intercept that all-positive features (pixels) put
    into the Hessian taken out, which L-BFGS then needs far fewer iterations to undo.
    """
    fun = objective_fun(data_term, K, d, C, sw_sum, fit_intercept)
    hessp = objective_hessp(data_hessp, K, d, C, sw_sum, fit_intercept)
    Kd = K * d
    theta0 = np.concatenate([np.ravel(W0), b0]) if fit_intercept else np.ravel(W0).copy()
    if fit_intercept:
        mu = centring_shift(data_hessp, K, d)
        theta0[Kd:] += np.reshape(W0, (K, d)) @ mu

        def uncentre(theta):
            W = theta[:Kd].reshape(K, d)
            out = theta.copy()
            out[Kd:] -= W @ mu
            return out

        def to_centred(gradient):
            gradient[:Kd] -= np.outer(gradient[Kd:], mu).ravel()
            return gradient

        def fun_c(theta):
            f, g = fun(uncentre(theta))
            return f, to_centred(g)

        def hessp_c(theta, v):
            return to_centred(hessp(uncentre(theta), uncentre(v)))
    else:

        def uncentre(theta):
            return theta

        fun_c, hessp_c = fun, hessp
    theta, fval, n_iter = optim.minimize(
        fun_c, hessp_c, theta0, max_iter=max_iter, tol=tol, memory=memory, callback=callback
    )
    theta = uncentre(theta)
    W = theta[:Kd].reshape(K, d).copy()
    b = theta[Kd:].copy() if fit_intercept else np.zeros(K)
    if K > 1:
        # softmax ignores a common shift of the logits and the intercepts carry no penalty,
        # so the minimiser is unique only up to such a shift: return the one with
        # sum(b) = 0, as a fit from zero (and scikit-learn's) has
        b -= b.mean()
    return W, b, fval, n_iter
