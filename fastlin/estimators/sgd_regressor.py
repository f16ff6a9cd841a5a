"""Least squares by full-batch or mini-batch gradient descent.

:class:`SGDRegressor` minimises, at every step, the (weighted) mean of ``0.5 * r^2`` over
the step's rows plus ``alpha / 2 * ||W||^2`` (intercept unpenalised), with ``r = x_scale *
X W^T + b - y``, using the update rules of :mod:`fastlin.kernels.sgd` (plain SGD, momentum,
Adam) and their schedules. ``batch_size=None`` is gradient descent: one step per
iteration from the gradient over all rows. An int is mini-batch SGD over a shuffled order,
``ceil(n / batch_size)`` steps per epoch.

Each pass over rows is one read of them by :func:`fastlin.kernels.squared_loss.loss_grad`
(loss and gradient together), and the steps of a mini-batch epoch run in the compiled
:func:`fastlin.kernels.squared_loss.sgd_epoch`. uint8, float32 and float64 rows are read
as they are (``x_scale`` multiplies every value as it is read); other dtypes are copied to
float64 first. Predictions come from the linear-predictor kernel the logistic model uses,
:func:`fastlin.kernels.losses.logits`.

Results are deterministic for a given ``random_state`` and thread count: the parts a pass
is split into depend only on the row count and the thread count, and their sums are merged
in a fixed order. Batches of fewer than ``2 * MIN_PART_ROWS`` rows (512) are not split, so
mini-batch fits with such batches give the same bits on any number of threads.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import TYPE_CHECKING, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from ._saveable import Saveable
from .._threads import drop_lock, model_lock, n_threads, row_ranges
from .._validation import (
    as_2d_array,
    as_targets,
    check_real_scalar,
    check_sample_weight,
    edge_X,
    edge_Xy,
)
from ..kernels import losses as _losses
from ..kernels import squared_loss as _sq
from ..core.sgd import OPTIMIZERS as _OPTIMIZERS
from ..core.sgd import OptimizerState
from ..core.sgd import SCHEDULES as _SCHEDULES
from .logistic import _progress
from ..io.fold import is_chunked
from .logistic_data import _check_X
from .sgd_data import (
    _ArrayPasses,
    _Chunk,
    _SourcePasses,
    _Stopper,
    _check_values,
    _kernel_rows,
    _mean,
)

if TYPE_CHECKING:
    from .._typing import FitData, Seed, TargetTransform

__all__ = ["SGDRegressor"]

_EMPTY_F = np.empty(0, dtype=np.float64)
_EMPTY_I = np.empty(0, dtype=np.int64)

# name: (lower bound, lower bound allowed, upper bound excluded or None)
_REAL_PARAMS = {
    "alpha": (0.0, True, None),
    "eta0": (0.0, False, None),
    "power_t": (0.0, True, None),
    "momentum": (0.0, True, 1.0),
    "beta_1": (0.0, True, 1.0),
    "beta_2": (0.0, True, 1.0),
    "epsilon": (0.0, False, None),
    "validation_fraction": (0.0, False, 1.0),
    "x_scale": (0.0, False, None),
}
_BOOL_PARAMS = ("fit_intercept", "early_stopping", "shuffle", "warm_start")
_SEED_TYPES = (
    numbers.Integral,
    np.random.Generator,
    np.random.BitGenerator,
    np.random.SeedSequence,
)


# ---------------------------------------------------------------------------------------
# the estimator


class SGDRegressor(Saveable, RegressorMixin, BaseEstimator):
    """Linear least squares fitted by gradient descent (full batch) or mini-batch SGD.

    Each step minimises the weighted mean over its rows of ``0.5 * r^2`` plus
    ``alpha / 2 * ||W||^2``, with ``r = x_scale * X @ coef_.T + intercept_ - y``; the
    intercept is not penalised and is updated like a coefficient of a column of ones.

    Parameters
    ----------
    alpha : float, default 0.0
        L2 penalty strength.
    fit_intercept : bool, default True
    batch_size : int or None, default None
        None: full-batch gradient descent, one step per iteration from all rows. An int:
        mini-batch SGD, ``ceil(n_samples / batch_size)`` steps per epoch over a shuffled
        order (the last batch is the remainder).
    max_iter : int, default 1000
        Iterations (full batch) or epochs (mini-batch).
    tol : float or None, default 1e-4
        Stop once the monitored loss (validation loss with early stopping, else the
        training loss of the iteration or epoch) has not fallen below its best value minus
        ``tol`` for ``n_iter_no_change`` iterations/epochs in a row. An absolute
        tolerance, as scikit-learn's. None runs all ``max_iter``.
    optimizer : {"sgd", "momentum", "adam"}, default "sgd"
    learning_rate : {"constant", "invscaling", "cosine"}, default "constant"
        Step size of step t (0-based): ``eta0``; ``eta0 / (t + 1) ** power_t``; or
        ``eta0 * (1 + cos(pi * t / T)) / 2`` over ``T = max_iter * steps per epoch`` steps.
    eta0 : float, default 0.01
        Initial step size. Gradient descent on the squared loss converges for
        ``eta0 < 2 / L``, with L the largest eigenvalue of the (scaled) weighted mean of
        ``[1, x] [1, x]^T``; standardised features have L of about ``1 + n_features``
        at worst, often far less.
    power_t : float, default 0.5
    momentum : float, default 0.9
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's moment decays and denominator guard.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (chosen at random, seeded), monitor
        their mean loss after each iteration/epoch, stop by the ``tol`` rule and keep the
        best coefficients. Under ``partial_fit`` each chunk holds out the same fraction, and
        once stopped further calls leave the model unchanged (``stopped_early_``).
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 5
    shuffle : bool, default True
        Shuffle the rows before every mini-batch epoch (no effect on full batch).
    random_state : int, numpy Generator or None, default None
        Seeds the shuffles and the validation split. A Generator is copied at the start of
        each ``fit`` (and of the first ``partial_fit``) and never advanced itself, so
        repeated fits with it give the same model, as with an int.
    x_scale : float, default 1.0
        Every X value is multiplied by it as it is read; the model is that of
        ``x_scale * X`` (``1 / 255`` fits uint8 pixels without a float copy).
    warm_start : bool, default False
        Start ``fit`` from the previous coefficients when features and targets match
        (the optimiser state starts afresh).
    verbose : int, default 0
        When > 0, a tqdm progress bar over iterations/epochs.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) for 1-D y, else (n_targets, n_features)
    intercept_ : float for 1-D y, else ndarray of shape (n_targets,)
    n_features_in_ : int
    n_iter_ : int
        Iterations or epochs of the last ``fit``; ``partial_fit`` calls so far.
    t_ : int
        Steps (coefficient updates) taken.
    loss_history_ : dict
        ``"train"``: full batch, the objective (``0.5 * mean r^2`` plus penalty) at the
        coefficients before each step; mini-batch, per epoch the weighted mean over the
        steps of the batch objective before each step. ``"validation"``: mean loss of the
        held-out rows after each iteration/epoch with early stopping, else empty.
    stopped_early_ : bool
        Whether the ``tol`` rule ended the fit (or, under ``partial_fit``, stopped it).

    Notes
    -----
    With ``alpha=0``, ``learning_rate="constant"`` and ``batch_size=None`` the iterates
    are those of ``theta -= eta0 * Xa.T @ (Xa @ theta - y) / n`` with ``Xa = [1, X]``, to
    rounding.
    """

    def __init__(
        self,
        *,
        alpha: float = 0.0,
        fit_intercept: bool = True,
        batch_size: int | None = None,
        max_iter: int = 1000,
        tol: float | None = 1e-4,
        optimizer: Literal["sgd", "momentum", "adam"] = "sgd",
        learning_rate: Literal["constant", "invscaling", "cosine"] = "constant",
        eta0: float = 0.01,
        power_t: float = 0.5,
        momentum: float = 0.9,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        shuffle: bool = True,
        random_state: Seed = None,
        x_scale: float = 1.0,
        warm_start: bool = False,
        verbose: int = 0,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.x_scale = x_scale
        self.warm_start = warm_start
        self.verbose = verbose

    # -- parameters -----------------------------------------------------------------------

    def _check_params(self):
        for name in _BOOL_PARAMS:
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("max_iter", "n_iter_no_change", "batch_size"):
            v = getattr(self, name)
            if name == "batch_size" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                none = " or None" if name == "batch_size" else ""
                raise ValueError(f"{name} must be an integer >= 1{none}, got {v!r}")
        if self.tol is not None:
            check_real_scalar(self.tol, "tol", 0.0)
        for name, (low, low_inclusive, high) in _REAL_PARAMS.items():
            v = check_real_scalar(getattr(self, name), name, low, low_inclusive)
            if high is not None and v >= high:
                raise ValueError(f"{name} must be < {high}, got {getattr(self, name)!r}")
        for name, choices in (("optimizer", _OPTIMIZERS), ("learning_rate", _SCHEDULES)):
            v = getattr(self, name)
            if not isinstance(v, str) or v not in choices:
                raise ValueError(f"{name} must be one of {sorted(choices)}, got {v!r}")
        rs = self.random_state
        if rs is not None and (isinstance(rs, bool) or not isinstance(rs, _SEED_TYPES)):
            raise ValueError(f"random_state must be None, an int or a numpy Generator, got {rs!r}")
        if isinstance(rs, numbers.Integral) and rs < 0:
            raise ValueError(f"random_state must be a non-negative int, got {rs!r}")

    # -- data -----------------------------------------------------------------------------

    def _validate_data(self, X, y, sample_weight, n_features=None, n_targets=None):
        """(X for the kernels, Y (n, t) float64, whether y was 1-D, weights or empty)."""
        # scikit-learn's validation at the edge (feature names, sparse, complex, empty);
        # a first call that fails later leaves no feature count or names behind.
        X, y = edge_Xy(self, X, y, reset=n_features is None)
        X = as_2d_array(X, "X")
        n, d = X.shape
        if n == 0:
            raise ValueError(f"X has 0 rows (shape {X.shape}); need at least one sample")
        if d == 0:
            raise ValueError(f"X has 0 features (shape {X.shape}); need at least one")
        if n_features is not None and d != n_features:
            raise ValueError(f"X has {d} features, but the model expects {n_features}")
        Y, y_1d = as_targets(y, n)
        if n_targets is not None and Y.shape[1] != n_targets:
            raise ValueError(
                f"y has {Y.shape[1]} target(s), but the model was fitted with {n_targets}"
            )
        w = check_sample_weight(sample_weight, n)
        # float X is checked by the first epoch's sums instead of a pass of its own
        _check_values(X, "X", float(self.x_scale), search=False)
        _check_values(Y, "y")
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        return _kernel_rows(X), Y, y_1d, (_EMPTY_F if w is None else w)

    def _chunk(self, X, Y, w, split_seed, index):
        """The rows of one call split into training and validation rows.

        With early stopping, ``round(validation_fraction * n)`` rows (at least 1, and at
        most n - 1) chosen by a generator seeded from (split_seed, index) are held out.
        """
        n = X.shape[0]
        train, val = None, _EMPTY_I
        if self.early_stopping and n >= 2:
            n_val = min(max(1, round(float(self.validation_fraction) * n)), n - 1)
            perm = np.random.default_rng([split_seed, index]).permutation(n)
            val = np.sort(perm[:n_val]).astype(np.int64)
            train = np.sort(perm[n_val:]).astype(np.int64)
        return _Chunk(X, Y, w, float(self.x_scale), train, val, self.batch_size)

    # -- steps ----------------------------------------------------------------------------

    def _epoch(self, chunk, W, b, st, rng, total_steps):
        """One epoch (one step for full batch) over a chunk; returns the training
        objective's weighted sum and the weight it is over."""
        order = chunk.order(rng, bool(self.shuffle) and self.batch_size is not None)
        objective, wsum, steps = _sq.sgd_epoch(
            chunk.X,
            chunk.Y,
            chunk.w,
            order,
            chunk.bounds_full,
            chunk.bounds_last,
            W,
            b,
            st.VW,
            st.Vb,
            st.MW,
            st.Mb,
            chunk.G,
            chunk.gb,
            chunk.loss,
            chunk.m,
            chunk.bs,
            chunk.scale,
            _OPTIMIZERS[self.optimizer],
            _SCHEDULES[self.learning_rate],
            float(self.eta0),
            float(self.power_t),
            int(total_steps),
            int(st.t),
            float(self.alpha),
            bool(self.fit_intercept),
            float(self.momentum),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
        )
        st.t += int(steps)
        return float(objective), float(wsum)

    def _check_result(self, chunk, losses, W, b, when):
        """Refuse bad X, or a diverged fit, once an epoch's results are not finite.

        Every training row enters the epoch's loss and coefficients, and the validation
        rows the validation loss, so a NaN or inf in X makes them non-finite: X is then
        searched, to name the problem (``ValueError``). Clean data that gives non-finite
        results has diverged. Either way nothing has been committed yet.
        """
        if all(math.isfinite(v) for v in losses) and np.isfinite(W).all() and np.isfinite(b).all():
            return
        _check_values(chunk.X, "X", chunk.scale)
        raise ValueError(
            f"gradient descent diverged at {when} (loss {', '.join(f'{v:.3g}' for v in losses)}, "
            f"coefficients {'finite' if np.isfinite(W).all() else 'not finite'}); lower eta0, "
            "or scale X (x_scale, StandardScaler)"
        )

    # -- fitting --------------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike | FitData,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        chunk_rows: int | None = None,
        target_transform: TargetTransform | None = None,
    ) -> Self:
        """Fit by ``max_iter`` iterations (full batch) or epochs (mini-batch) at most.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunk source
            uint8, float32 or float64 C-ordered arrays are read in place; other dtypes and
            layouts are copied to float64 (C order). A chunk source (``fastlin.io``, or a
            re-iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks) is read once to
            validate it and once per epoch, in constant memory: each epoch steps through
            the chunks in turn, shuffling the rows within each; with early stopping each
            chunk holds out its own validation rows, the same in every epoch.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Required with array X; a source carries its targets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative; a step's loss is the weighted mean over its rows.
        chunk_rows, target_transform
            For a chunk source: rows per chunk, and a function applied to each y chunk.

        Returns
        -------
        self
        """
        self._check_params()
        if y is None and is_chunked(X):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight comes with the chunks of a source; yield "
                    "(X, y, sample_weight) chunks"
                )
            if hasattr(X, "__next__"):
                raise ValueError(
                    "the chunk source is a one-shot iterator (e.g. a generator); fitting "
                    "reads it once per epoch: pass a list of chunks or a fastlin.io source"
                )
            return self._fit_passes(_SourcePasses(self, X, chunk_rows, target_transform))
        if chunk_rows is not None or target_transform is not None:
            raise TypeError("chunk_rows and target_transform are options of a chunk source")
        X, Y, y_1d, w = self._validate_data(X, y, sample_weight)  # names a missing y
        if self.early_stopping and X.shape[0] < 2:
            raise ValueError(
                "early_stopping holds out validation_fraction of the rows and "
                f"needs at least 2 rows, got {X.shape[0]}"
            )
        return self._fit_passes(_ArrayPasses(self, X, Y, y_1d, w))

    def _fit_passes(self, passes):
        """The epoch loop over ``passes`` (rows in memory or a chunk source)."""
        t, d = passes.shape
        W, b = np.zeros((t, d)), np.zeros(t)
        if self.warm_start and hasattr(self, "coef_") and self._shape() == (t, d):
            W[:] = np.reshape(self.coef_, (t, d))
            b[:] = np.reshape(self.intercept_, t)
        st = OptimizerState(t, d)
        total = int(self.max_iter) * passes.steps
        stopper = _Stopper(self.tol, int(self.n_iter_no_change), bool(self.early_stopping))
        unit = "iteration" if self.batch_size is None else "epoch"
        hist_tr, hist_va = [], []
        stopped = False
        bar = _progress(self.verbose, self.max_iter, "sgd")
        try:
            for it in range(int(self.max_iter)):
                tr, va = passes.epoch(W, b, st, total, f"{unit} {it + 1}")
                hist_tr.append(tr)
                monitored = tr
                if self.early_stopping:
                    monitored = va
                    hist_va.append(va)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        {
                            "train": f"{tr:.5g}",
                            **({"val": f"{monitored:.5g}"} if self.early_stopping else {}),
                        }
                    )
                if stopper.update(monitored, W, b):
                    stopped = True
                    break
        finally:
            if bar is not None:
                bar.close()
        if stopper.best_params is not None:
            W, b = stopper.best_params
        self._commit(W, b, passes.y_1d)
        passes.commit_names()
        self.__dict__.pop("_pf", None)  # a later partial_fit starts its own bookkeeping
        self._opt_state = st
        self.n_iter_ = len(hist_tr)
        self.t_ = st.t
        self.loss_history_ = {
            "train": np.asarray(hist_tr),
            "validation": np.asarray(hist_va) if hist_va else _EMPTY_F,
        }
        self.stopped_early_ = stopped
        return self

    def __getstate__(self):
        return drop_lock(super().__getstate__())

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """One epoch over the rows of one chunk; see :meth:`_partial_fit`. Calls from
        several threads on one model run one after the other."""
        with model_lock(self):
            first = not hasattr(self, "coef_")
            try:
                return self._partial_fit(X, y, sample_weight)
            except BaseException:
                if first:  # validation recorded the feature count of a chunk never used
                    for k in ("n_features_in_", "feature_names_in_"):
                        self.__dict__.pop(k, None)
                raise

    def _partial_fit(self, X, y, sample_weight=None):
        """One epoch over the rows of one chunk (one step when ``batch_size`` is None).

        Continues from the current coefficients and optimiser state (after ``fit`` too).
        Every check runs before anything changes: a call that raises leaves the model,
        and its random generator, as they were.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The number of targets must stay the same from call to call; the shape of
            ``coef_`` follows the call that created the model.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_params()
        fitted = hasattr(self, "coef_")
        shape = self._shape() if fitted else None
        X, Y, y_1d, w = self._validate_data(
            X, y, sample_weight, shape[1] if fitted else None, shape[0] if fitted else None
        )
        pf = getattr(self, "_pf", None)
        if pf is not None and pf["stopped"]:
            return self
        t, d = Y.shape[1], X.shape[1]
        # everything below works on copies, committed only once the epoch has succeeded
        if pf is None:
            rng = self._new_rng()
            pf = {
                "rng": rng,
                "split_seed": int(rng.integers(2**63 - 1)),
                "calls": 0,
                "stopper": _Stopper(self.tol, int(self.n_iter_no_change), False),
                "stopped": False,
                "history": {"train": _EMPTY_F, "validation": _EMPTY_F},
            }
        else:
            pf = copy.deepcopy(pf)
        if fitted:
            W = np.reshape(self.coef_, (t, d)).astype(np.float64)
            b = np.reshape(self.intercept_, t).astype(np.float64)
            st = self._opt_state.copy()
            y_1d = self.coef_.ndim == 1
        else:
            W, b, st = np.zeros((t, d)), np.zeros(t), OptimizerState(t, d)
        chunk = self._chunk(X, Y, w, pf["split_seed"], pf["calls"])
        total = int(self.max_iter) * chunk.steps
        tr = _mean(*self._epoch(chunk, W, b, st, pf["rng"], total))
        hist = pf["history"]
        hist["train"] = np.append(hist["train"], tr)
        losses = [tr]
        if self.early_stopping and chunk.val.shape[0]:
            va = chunk.validation_loss(W, b)
            losses.append(va)
            hist["validation"] = np.append(hist["validation"], va)
            pf["stopped"] = pf["stopper"].update(va, W, b)
        self._check_result(chunk, losses, W, b, f"partial_fit call {pf['calls'] + 1}")
        pf["calls"] += 1
        self._commit(W, b, y_1d)
        self._opt_state = st
        self._pf = pf
        self.n_iter_ = pf["calls"]
        self.t_ = st.t
        self.loss_history_ = {k: v.copy() for k, v in hist.items()}
        self.stopped_early_ = pf["stopped"]
        return self

    def _new_rng(self):
        # a copy, so that the model never advances a Generator it was given, and a call
        # that fails leaves it as it was
        return np.random.default_rng(copy.deepcopy(self.random_state))

    def _shape(self):
        """(n_targets, n_features) of the fitted model."""
        c = self.coef_
        return (1, c.shape[0]) if c.ndim == 1 else c.shape

    def _commit(self, W, b, y_1d):
        if not self.fit_intercept:
            b = np.zeros_like(b)
        self.coef_ = W[0].copy() if y_1d else W
        self.intercept_ = float(b[0]) if y_1d else b
        self.n_features_in_ = W.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one coefficient row per target column
        return tags

    # -- prediction -----------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> np.ndarray:
        """``x_scale * X @ coef_.T + intercept_``: shape (n_samples,) for a model fitted on
        1-D y, else (n_samples, n_targets)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        X = _kernel_rows(_check_X(edge_X(self, X, reset=False), "X", self.n_features_in_))
        t, d = self._shape()
        W = np.ascontiguousarray(np.reshape(self.coef_, (t, d)), dtype=np.float64)
        b = np.ascontiguousarray(np.reshape(self.intercept_, t), dtype=np.float64)
        n = X.shape[0]
        Z = np.empty((n, t))
        if n:
            bounds = row_ranges(n, n_threads(), _losses.BLOCK)
            a_shape, z_shape = _losses.scratch_shapes(bounds.shape[0] - 1, t, d)
            _losses.logits(
                X, W, b, float(self.x_scale), bounds, np.empty(a_shape), np.empty(z_shape), Z
            )
        return Z[:, 0] if self.coef_.ndim == 1 else Z
