"""Binary and multinomial logistic regression on the fused loss/gradient kernels.

``solver="lbfgs"`` minimises exactly scikit-learn's ``LogisticRegression(C=C)`` objective::

    f(W, b) = (sum_i s_i * loss_i + ||W||^2 / (2 C)) / sum_i s_i

(cross-entropy ``loss_i``, sample weights ``s_i``, intercept unpenalised; oneDAL's
``sklearnex`` fit minimises the same function), so the fits share one minimiser. L-BFGS
(:mod:`fastlin.core.optim`) runs in centred coordinates (``b = c - W mu``, ``mu`` the weighted
mean row), which takes the coefficient/intercept coupling of all-positive features out of
the Hessian, and stops on the objective: once it fell by at most ``tol**2 * f`` over the
last :data:`fastlin.core.optim.WINDOW` iterations, or once it converges geometrically with a
tail (summed at its rate) a tenth of that, so with the default ``tol=1e-4`` the fit is
at the minimum to about 1e-8 relative (scikit-learn's rule, largest gradient entry at most
``tol``, can leave it far above the minimum when the penalty is weak). Each evaluation is
one pass of :func:`fastlin.kernels.losses.loss_grad` over the rows (or over every chunk of
a chunk source): a mergeable loss/gradient accumulator. When a target below the
objective's rounding stops L-BFGS's line search, Newton steps on Hessian-vector products
(:func:`fastlin.kernels.losses.hessp`, one pass each) finish the fit.

``solver="sgd"`` runs mini-batch updates (plain SGD, momentum or Adam) over a shuffled
order with a constant, inverse-scaling or cosine learning rate, and optional early stopping
on a held-out fraction.

Inputs of any supported dtype (uint8, integer, float32, float64) are read as they are;
``x_scale`` multiplies every value as it is read (``1 / 255`` for pixels), so images never
need a float copy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from .._blas_threads import single_thread_blas
from ..core import losses_numpy as _small
from ._saveable import Saveable
from .logistic_data import _Data, _encode, _is_array_like, _labels_1d
from ..core.sgd import OPTIMIZERS, SCHEDULES, LogisticEpoch, OptimizerState, StepRule
from ..core.losses import (
    _EMPTY_F,
    HesspState,
    LossGradState,
    _Scratch,
    fit_lbfgs,
    objective_fun,
    objective_hessp,
)
from .._threads import drop_lock, model_lock, n_threads, row_ranges
from .._validation import check_finite, check_real_scalar, edge_X, edge_Xy
from ..kernels import losses as _losses

if TYPE_CHECKING:
    from .._typing import FitData, RereadableData, Seed, TargetTransform
    from ..core.inference import LogitInference

__all__ = ["LogisticRegression"]


class LogisticRegression(Saveable, ClassifierMixin, BaseEstimator):
    """Binary and multinomial logistic regression (L2-penalised cross-entropy).

    Parameters
    ----------
    C : float, default 1.0
        Inverse penalty strength, as in scikit-learn: the ``lbfgs`` objective is
        ``(sum_i s_i loss_i + ||W||^2 / (2 C)) / sum_i s_i``. ``np.inf`` for no penalty.
    solver : {"lbfgs", "sgd"}, default "lbfgs"
    fit_intercept : bool, default True
    max_iter : int, default 100
        L-BFGS iterations, or SGD epochs. Like scikit-learn's, 100 L-BFGS iterations may end
        a weakly penalised fit on many features (large C) before ``tol`` is met.
    tol : float or None, default 1e-4
        L-BFGS: the square root of the relative accuracy of the objective. The fit stops
        once the objective fell by at most ``tol**2 * objective`` over the last
        ``fastlin.core.optim.WINDOW`` iterations (1e-8 relative at the default; a gradient of
        relative size ``tol`` leaves an error of relative size ``tol**2``), or once each
        half-window's decrease is at most half the one before and the decreases still to
        come at that rate sum to at most a tenth of that. When the
        objective's rounding hides decreases that small (``tol`` below about 3e-7), up to
        ``fastlin.core.optim.NEWTON_STEPS`` Newton-CG steps take the gradient to its rounding
        floor. This is not scikit-learn's rule (largest gradient entry at most ``tol``),
        which stops above the minimum when small Hessian eigenvalues (a weak penalty) turn a
        small gradient into a large objective error. None or 0: run until the objective
        stops falling. SGD: minimum improvement of the monitored loss (validation loss with
        early stopping, training loss otherwise) over ``n_iter_no_change`` epochs; None runs
        all ``max_iter`` epochs.
    x_scale : float, default 1.0
        Every X value is multiplied by it as it is read; the model is that of ``x_scale * X``
        (``1 / 255`` fits uint8 pixels as ``X / 255`` without a float copy).
    optimizer : {"sgd", "momentum", "adam"}, default "adam"
        SGD solver and ``partial_fit`` update rule.
    learning_rate : {"constant", "invscaling", "cosine"}, default "constant"
    eta0 : float, default 1e-3
        Initial step size.
    power_t : float, default 0.5
        Exponent of the inverse-scaling schedule.
    batch_size : int, default 256
    alpha : float or None, default None
        SGD L2 penalty: each step minimises the batch's mean loss plus
        ``alpha / 2 * ||W||^2``. None means ``1 / (C * n_samples)`` (``n_samples`` of the
        training rows, or of the chunk in ``partial_fit``), the lbfgs objective.
    momentum : float, default 0.9
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's moment decays and denominator guard.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows and stop when the validation loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, keeping the best
        coefficients. Under ``partial_fit`` each chunk holds out the same fraction, and once
        stopped further calls leave the model unchanged (``stopped_early_`` is True).
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 5
    shuffle : bool, default True
    random_state : int, numpy Generator or None, default None
        Seeds the shuffles and the validation split; with an int, results are identical
        from run to run for a fixed thread count.
    warm_start : bool, default False
        Start ``fit`` from the previous coefficients when the classes and features match.
    lbfgs_memory : int, default 60
        Number of correction pairs L-BFGS keeps (SciPy's ``maxcor``; scikit-learn uses
        10). A longer memory costs ``2 * lbfgs_memory`` vectors of ``n_params`` floats (and
        as many vector operations per iteration) and cuts the iterations on ill-conditioned
        problems such as raw pixels: on 8000 MNIST digits at C=1, 100 iterations end 4e-5
        relative above the minimum with 10 pairs and 6e-6 with 60 (scikit-learn's own
        100 iterations: 1.2e-2). The minimiser is the same.
    class_weight : "balanced", dict or None, default None
        Weights per class, multiplying the sample weights in ``fit`` (as scikit-learn's):
        ``{label: weight}`` (absent labels weigh 1), or "balanced",
        ``n_samples / (n_classes * count(label))``. ``partial_fit`` takes a dict only.
    verbose : int, default 0
        When > 0, a tqdm progress bar over iterations (lbfgs) or epochs (sgd).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_features_in_ : int
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations (and Newton-CG steps, if any) or SGD epochs of the last ``fit``.
    loss_history_ : dict
        ``"train"``: objective per L-BFGS iteration, or mean training loss per SGD epoch
        (plus the penalty); ``"validation"``: mean validation loss per epoch (SGD with
        early stopping), else an empty array.
    objective_ : float
        lbfgs: final value of the objective above.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        solver: Literal["lbfgs", "sgd"] = "lbfgs",
        fit_intercept: bool = True,
        max_iter: int = 100,
        tol: float | None = 1e-4,
        x_scale: float = 1.0,
        optimizer: Literal["sgd", "momentum", "adam"] = "adam",
        learning_rate: Literal["constant", "invscaling", "cosine"] = "constant",
        eta0: float = 1e-3,
        power_t: float = 0.5,
        batch_size: int = 256,
        alpha: float | None = None,
        momentum: float = 0.9,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        shuffle: bool = True,
        random_state: Seed = None,
        warm_start: bool = False,
        lbfgs_memory: int = 60,
        class_weight: Literal["balanced"] | dict[Any, float] | None = None,
        verbose: int = 0,
    ):
        self.C = C
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.x_scale = x_scale
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.batch_size = batch_size
        self.alpha = alpha
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.lbfgs_memory = lbfgs_memory
        self.class_weight = class_weight
        self.verbose = verbose

    # -- parameters -----------------------------------------------------------------------

    def _check_params(self):
        if self.solver not in ("lbfgs", "sgd"):
            raise ValueError(f"solver must be 'lbfgs' or 'sgd', got {self.solver!r}")
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            raise ValueError(
                f"C must be a positive real number (np.inf for no penalty), got {self.C!r}"
            )
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")
        for name in ("max_iter", "batch_size", "n_iter_no_change", "lbfgs_memory"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if self.tol is not None:
            check_real_scalar(self.tol, "tol", 0.0)
        check_real_scalar(self.x_scale, "x_scale", 0.0, low_inclusive=False)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.learning_rate not in SCHEDULES:
            raise ValueError(
                f"learning_rate must be one of {sorted(SCHEDULES)}, got {self.learning_rate!r}"
            )
        check_real_scalar(self.eta0, "eta0", 0.0, low_inclusive=False)
        check_real_scalar(self.power_t, "power_t", 0.0)
        if self.alpha is not None:
            check_real_scalar(self.alpha, "alpha", 0.0)
        check_real_scalar(self.momentum, "momentum", 0.0)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        for name in ("beta_1", "beta_2"):
            v = check_real_scalar(getattr(self, name), name, 0.0)
            if v >= 1:
                raise ValueError(f"{name} must be in [0, 1), got {v!r}")
        check_real_scalar(self.epsilon, "epsilon", 0.0, low_inclusive=False)
        v = check_real_scalar(
            self.validation_fraction, "validation_fraction", 0.0, low_inclusive=False
        )
        if v >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {v!r}")

    # -- fitting --------------------------------------------------------------------------

    def fit(
        self,
        X: RereadableData,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        chunk_rows: int | None = None,
        target_transform: TargetTransform | None = None,
    ) -> Self:
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunk source
            uint8, integer, float32 or float64 (never copied whole). A chunk source (with
            ``y=None``) is an object with ``iter_chunks()``, a callable returning a fresh
            iterator, or a re-iterable (e.g. a list) of ``(X, y)`` or ``(X, y, w)`` chunks;
            it is read once to validate and collect the classes, then once per L-BFGS
            evaluation or SGD epoch.
        y : array-like of shape (n_samples,)
            Class labels (at least two distinct values).
        sample_weight : array-like of shape (n_samples,), optional
        chunk_rows : int, optional
            Rows per chunk of a ``fastlin.io`` source.
        target_transform : callable, optional
            Applied to each y chunk of a source (labels in, labels out).

        Returns
        -------
        self
        """
        self._check_params()
        from_source = y is None and not _is_array_like(X)
        if not from_source:
            X, y = edge_Xy(self, X, y, reset=True, classifier=True)
        data = _Data(
            X,
            y,
            sample_weight,
            float(self.x_scale),
            chunk_rows=chunk_rows,
            target_transform=target_transform,
        )
        classes = data.classes
        if classes.shape[0] < 2:
            raise ValueError(
                f"y has 1 class ({classes[0]!r}); logistic regression needs at least two classes"
                if classes.shape[0] == 1
                else "y has no labels"
            )
        self._apply_class_weight(data)
        K = 1 if classes.shape[0] == 2 else classes.shape[0]
        d = data.n_features
        W = np.zeros((K, d))
        b = np.zeros(K)
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and self.coef_.shape == (K, d)
            and np.array_equal(self.classes_, classes)
        ):
            W[:] = self.coef_
            b[:] = self.intercept_
        if self.solver == "lbfgs":
            W, b, n_iter, history, fval = self._fit_lbfgs(data, W, b, K > 1)
            result = dict(objective_=fval, loss_history_={"train": history, "validation": _EMPTY_F})
        else:
            st = OptimizerState(K, d)
            alpha = self._sgd_alpha(data.n_rows)
            rng = np.random.default_rng(self.random_state)
            W, b, n_iter, history, stopped = self._fit_sgd(data, W, b, K > 1, alpha, rng, st)
            result = dict(loss_history_=history, stopped_early_=stopped, _sgd_state=st)
        self._commit(classes, W, b, d, float32=not from_source and X.dtype == np.float32)
        if from_source:  # a source that names its columns (Parquet, CSV, ...) or not
            names = getattr(X, "feature_names", None)
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            else:
                self.__dict__.pop("feature_names_in_", None)
        for name in ("_pf_rng", "_pf_split_seed", "_pf_calls", "_pf_best", "_pf_stopped"):
            self.__dict__.pop(name, None)  # a later partial_fit starts its own bookkeeping
        self.n_iter_ = np.array([n_iter])
        for k, v in result.items():
            setattr(self, k, v)
        return self

    def _apply_class_weight(self, data):
        cw = self.class_weight
        if cw is None:
            return
        classes = data.classes
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be 'balanced', a dict or None, got {cw!r}")
            counts, _ = data.class_sums()
            with np.errstate(divide="ignore"):
                vec = np.where(counts > 0, counts.sum() / (classes.shape[0] * counts), 0.0)
        elif isinstance(cw, dict):
            unknown = [k for k in cw if not np.any(classes == k)]
            if unknown:
                raise ValueError(
                    f"class_weight names label(s) {unknown!r} not in the classes "
                    f"{classes.tolist()!r}"
                )
            vec = np.array(
                [float(cw.get(c.item() if hasattr(c, "item") else c, 1.0)) for c in classes]
            )
            if not np.all(np.isfinite(vec)) or (vec < 0).any():
                raise ValueError(f"class_weight values must be finite and >= 0, got {cw!r}")
        else:
            raise ValueError(f"class_weight must be 'balanced', a dict or None, got {cw!r}")
        data.weigh_classes(vec)

    def _commit(self, classes, W, b, d, float32=False):
        # float32 in, float32 out, as scikit-learn's estimators do; the fit runs in float64.
        dtype = np.float32 if float32 else np.float64
        self.classes_ = classes
        self.coef_ = W.astype(dtype, copy=False)
        self.intercept_ = b.astype(dtype, copy=False)
        self.n_features_in_ = d

    def _sgd_alpha(self, n_rows):
        if self.alpha is not None:
            return float(self.alpha)
        return 0.0 if math.isinf(self.C) else 1.0 / (float(self.C) * max(n_rows, 1))

    # -- L-BFGS ---------------------------------------------------------------------------

    def _data_terms(self, data, multinomial, K, d):
        """The data term's sums over all rows: (loss and gradient, Hessian products)."""
        scratch = _Scratch(d, K)

        def data_term(theta, W, b):
            state = data.fold(LossGradState(W, b, multinomial, data.scale, True, scratch))
            loss, _, gW, gb = state.finalize()
            return loss, gW, gb

        def data_hessp(W, b, V, vb):
            return data.fold(HesspState(W, b, V, vb, multinomial, data.scale, scratch)).finalize()

        return data_term, data_hessp

    def _objective(self, data, multinomial, K, d):
        """f(theta) and its gradient; theta = [W.ravel(), b] (b only with an intercept)."""
        data_term, _ = self._data_terms(data, multinomial, K, d)
        return objective_fun(data_term, K, d, self.C, data.sw_sum, bool(self.fit_intercept))

    def _hessp(self, data, multinomial, K, d):
        """(theta, v) -> Hessian of the objective at theta times v."""
        _, data_hessp = self._data_terms(data, multinomial, K, d)
        return objective_hessp(data_hessp, K, d, self.C, data.sw_sum, bool(self.fit_intercept))

    def _fit_lbfgs(self, data, W, b, multinomial):
        K, d = W.shape
        data_term, data_hessp = self._data_terms(data, multinomial, K, d)
        history = []
        bar = _progress(self.verbose, self.max_iter, "lbfgs")

        def callback(f):
            history.append(f)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(objective=f"{f:.6g}")

        # The L-BFGS vector updates on ~1e4 numbers gain nothing from BLAS threads, and
        # OpenBLAS threads spinning between calls take cores from the parallel kernel.
        try:
            with single_thread_blas():
                W, b, fval, n_iter = fit_lbfgs(
                    data_term,
                    data_hessp,
                    K,
                    d,
                    self.C,
                    data.sw_sum,
                    bool(self.fit_intercept),
                    W,
                    b,
                    max_iter=self.max_iter,
                    tol=float(self.tol if self.tol is not None else 0.0),
                    memory=self.lbfgs_memory,
                    callback=callback,
                )
        finally:
            if bar is not None:
                bar.close()
        return W, b, n_iter, np.asarray(history), fval

    # -- SGD ------------------------------------------------------------------------------

    def _epoch(self, data, W, b, multinomial, alpha, rng, st, split_seed, total_steps):
        """One pass of mini-batch steps (a sequential fold, see :mod:`fastlin.core.sgd`);
        returns (train loss, val loss sum, val weight)."""
        rule = StepRule(
            self.optimizer,
            self.learning_rate,
            float(self.eta0),
            float(self.power_t),
            float(self.momentum),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
            bool(self.fit_intercept),
        )
        epoch = LogisticEpoch(
            W,
            b,
            multinomial,
            data.scale,
            rule,
            st,
            alpha,
            rng,
            split_seed,
            total_steps,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            validation_fraction=self.validation_fraction if self.early_stopping else 0.0,
        )
        return data.fold(epoch).finalize()

    def _steps_per_epoch(self, data):
        bs = int(self.batch_size)
        frac = float(self.validation_fraction) if self.early_stopping else 0.0
        return max(1, -(-int(round(data.n_rows * (1 - frac))) // bs))

    def _fit_sgd(self, data, W, b, multinomial, alpha, rng, st):
        split_seed = int(rng.integers(2**63 - 1))
        total = int(self.max_iter) * self._steps_per_epoch(data)
        tol = self.tol
        hist_tr, hist_va = [], []
        best = np.inf
        best_params = (W.copy(), b.copy())
        no_improve = 0
        stopped = False
        bar = _progress(self.verbose, self.max_iter, "sgd")
        n_epochs = 0
        try:
            for epoch in range(int(self.max_iter)):
                tr, vl, vw = self._epoch(data, W, b, multinomial, alpha, rng, st, split_seed, total)
                n_epochs += 1
                hist_tr.append(tr)
                if self.early_stopping:
                    va = vl / vw if vw > 0 else float("nan")
                    hist_va.append(va)
                    monitored = va
                else:
                    monitored = tr
                if bar is not None:
                    bar.update(1)
                    post = {"train": f"{tr:.5g}"}
                    if self.early_stopping:
                        post["val"] = f"{hist_va[-1]:.5g}"
                    bar.set_postfix(post)
                if tol is None:
                    continue
                if monitored < best - float(tol):
                    no_improve = 0
                else:
                    no_improve += 1
                if monitored < best:
                    best = monitored
                    best_params = (W.copy(), b.copy())
                if no_improve >= int(self.n_iter_no_change):
                    stopped = True
                    break
        finally:
            if bar is not None:
                bar.close()
        if self.early_stopping and tol is not None and np.isfinite(best):
            W, b = best_params
        history = {
            "train": np.asarray(hist_tr),
            "validation": np.asarray(hist_va) if hist_va else _EMPTY_F,
        }
        return W, b, n_epochs, history, stopped

    def __getstate__(self):
        return drop_lock(super().__getstate__())

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """One epoch of mini-batch updates over the rows of one chunk; see
        :meth:`_partial_fit`. Calls from several threads run one after the other."""
        with model_lock(self):
            return self._partial_fit(X, y, classes, sample_weight)

    def _partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch updates over the rows of one chunk.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All the labels the model will see. Needed on the first call unless the first
            chunk already holds every class; a later chunk with a label outside
            ``classes_`` is refused.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_params()
        fitted = hasattr(self, "classes_")
        if classes is not None:
            cls = np.unique(np.asarray(classes))
            if fitted and not np.array_equal(cls, self.classes_):
                raise ValueError(
                    f"classes={cls.tolist()!r} differs from the classes of the earlier calls "
                    f"{self.classes_.tolist()!r}"
                )
        elif fitted:
            cls = self.classes_
        else:
            cls = None
        Xa, yl = edge_Xy(self, X, y, reset=not fitted, classifier=True)
        check_finite(Xa, "X")
        yl = _labels_1d(yl, Xa.shape[0])
        if cls is None:
            cls = np.unique(yl)
        hint = (
            ""
            if classes is not None or not fitted
            else ("; pass classes= with every label on the first partial_fit call")
        )
        _encode(yl, cls, hint)
        data = _Data(Xa, yl, sample_weight, float(self.x_scale), classes=cls)
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs every row at once; partial_fit "
                "takes a dict of class weights"
            )
        self._apply_class_weight(data)
        if cls.shape[0] < 2:
            raise ValueError(
                f"only one class ({cls[0]!r}) is known; pass classes= with every label on the "
                "first partial_fit call"
            )
        K = 1 if cls.shape[0] == 2 else cls.shape[0]
        d = Xa.shape[1]
        if fitted and getattr(self, "_pf_stopped", False):
            return self
        if fitted and hasattr(self, "_sgd_state") and self._sgd_state.VW.shape == (K, d):
            W, b, st = (
                self.coef_.astype(np.float64),
                self.intercept_.astype(np.float64),
                self._sgd_state,
            )
        elif fitted:
            W, b, st = (
                self.coef_.astype(np.float64),
                self.intercept_.astype(np.float64),
                OptimizerState(K, d),
            )
        else:
            W, b, st = np.zeros((K, d)), np.zeros(K), OptimizerState(K, d)
        if not hasattr(self, "_pf_rng") or not fitted:
            self._pf_rng = np.random.default_rng(self.random_state)
            self._pf_split_seed = int(self._pf_rng.integers(2**63 - 1))
            self._pf_calls = 0
            self._pf_best = (np.inf, 0)
            self.loss_history_ = {"train": _EMPTY_F, "validation": _EMPTY_F}
        alpha = self._sgd_alpha(Xa.shape[0])
        total = int(self.max_iter) * self._steps_per_epoch(data)
        tr, vl, vw = self._epoch(
            data, W, b, K > 1, alpha, self._pf_rng, st, self._pf_split_seed + self._pf_calls, total
        )
        self._pf_calls += 1
        self._commit(cls, W, b, d, float32=Xa.dtype == np.float32)
        self._sgd_state = st
        self.n_iter_ = np.array([self._pf_calls])
        hist = self.loss_history_
        hist = {"train": np.append(hist["train"], tr), "validation": hist["validation"]}
        self.stopped_early_ = False
        if self.early_stopping and vw > 0:
            va = vl / vw
            hist["validation"] = np.append(hist["validation"], va)
            best, stall = self._pf_best
            tol = 0.0 if self.tol is None else float(self.tol)
            stall = 0 if va < best - tol else stall + 1
            self._pf_best = (min(best, va), stall)
            self.stopped_early_ = stall >= int(self.n_iter_no_change)
        self._pf_stopped = self.stopped_early_
        self.loss_history_ = hist
        return self

    def inference(
        self,
        X: FitData,
        y: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        feature_names: Sequence[str] | None = None,
        chunk_rows: int | None = None,
    ) -> LogitInference:
        """Standard errors, z and p values from the Hessian at the fitted coefficients.

        Binary models only. One pass over the rows the model was fitted on: arrays
        (``y`` the labels, ``sample_weight`` the fit's weights), a chunk source or an
        iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks. For an unpenalised
        fit (``C=np.inf``) this is maximum-likelihood inference, as statsmodels'
        ``Logit`` gives it; with a finite C the covariance is the inverse of the
        penalised Hessian (``penalised`` is True). Accurate standard errors need an
        accurate optimum: fit with a small ``tol``.

        Returns
        -------
        fastlin.core.inference.LogitInference
            ``params`` (intercept first, named ``const``), ``bse``, ``tvalues`` (z),
            ``pvalues``, ``conf_int()``, ``llf``, ``llnull``, ``prsquared``, ``aic``,
            ``bic``, ``summary()``.
        """
        from ..core.inference_stats import LogitHessianStats
        from ..io.fold import data_fold

        self._check_fitted()
        if self.classes_.shape[0] != 2:
            raise ValueError(
                f"inference is for binary models; this one has {self.classes_.shape[0]} classes"
            )
        fold = data_fold(X, y, sample_weight, chunk_rows=chunk_rows)
        state = fold(
            LogitHessianStats(self.coef_[0], self.intercept_[0], self.classes_, self.x_scale)
        )
        names = (
            feature_names if feature_names is not None else getattr(self, "feature_names_in_", None)
        )
        return state.finalize(C=self.C, fit_intercept=self.fit_intercept, names=names)

    # -- prediction -----------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _logits(self, X):
        self._check_fitted()
        X = edge_X(self, X, reset=False)
        check_finite(X, "X")
        W = np.ascontiguousarray(self.coef_, dtype=np.float64)
        b = np.ascontiguousarray(self.intercept_, dtype=np.float64)
        n = X.shape[0]
        if _small.is_small(n, W.shape[1]):
            return _small.logits(X, W, b, float(self.x_scale))
        Z = np.empty((n, W.shape[0]))
        if n:
            bounds = row_ranges(n, n_threads(), _losses.BLOCK)
            a_shape, z_shape = _losses.scratch_shapes(bounds.shape[0] - 1, W.shape[0], W.shape[1])
            _losses.logits(
                X, W, b, float(self.x_scale), bounds, np.empty(a_shape), np.empty(z_shape), Z
            )
        return Z

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        Z = self._logits(X)
        return (Z[:, 0] if Z.shape[1] == 1 else Z).astype(self.coef_.dtype, copy=False)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes); each row sums to 1. float32
        for a model fitted on float32 X, else float64."""
        Z = self._logits(X)
        if _small.is_small(*Z.shape):
            return _small.proba(Z).astype(self.coef_.dtype, copy=False)
        out = np.empty((Z.shape[0], self.classes_.shape[0]))
        if Z.shape[1] == 1:
            _losses.sigmoid_pair(np.ascontiguousarray(Z[:, 0]), out)
        else:
            _losses.softmax_rows(Z, out)
        return out.astype(self.coef_.dtype, copy=False)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log class probabilities, shape (n_samples, n_classes), finite for finite logits."""
        Z = self._logits(X)
        if _small.is_small(*Z.shape):
            return _small.log_proba(Z).astype(self.coef_.dtype, copy=False)
        out = np.empty((Z.shape[0], self.classes_.shape[0]))
        if Z.shape[1] == 1:
            _losses.log_sigmoid_pair(np.ascontiguousarray(Z[:, 0]), out)
        else:
            _losses.log_softmax_rows(Z, out)
        return out.astype(self.coef_.dtype, copy=False)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Most probable class label of each row, shape (n_samples,)."""
        Z = self._logits(X)
        if Z.shape[1] == 1:
            return self.classes_[(Z[:, 0] > 0).astype(np.intp)]
        return self.classes_[np.argmax(Z, axis=1)]

    def loss(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """The lbfgs objective (mean weighted cross-entropy plus penalty) at the current fit."""
        self._check_fitted()
        data = _Data(
            X,
            y,
            sample_weight,
            float(self.x_scale),
            classes=self.classes_,
            n_features=self.n_features_in_,
        )
        K, d = self.coef_.shape
        fun = self._objective(data, K > 1, K, d)
        theta = (
            np.concatenate([self.coef_.ravel(), self.intercept_])
            if self.fit_intercept
            else self.coef_.ravel().copy()
        )
        return float(fun(theta)[0])


def _progress(verbose, total, desc):
    if not verbose:
        return None
    from tqdm import tqdm

    return tqdm(total=int(total), desc=desc, unit="it" if desc == "lbfgs" else "epoch")
