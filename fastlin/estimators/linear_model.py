"""scikit-learn-compatible least squares and ridge over streamed statistics.

The estimators hold an accumulator (:class:`~fastlin.core.stats.GramStats`, or
:class:`~fastlin.core.tsqr.QRStats` with ``solver="qr"``) and a solution; they never loop
over rows. ``partial_fit`` on chunks gives the same model as ``fit`` on all rows.

Solvers: "auto" accumulates the Gram statistics and solves them (Cholesky, or the
minimum-norm eigen route when singular; see :mod:`fastlin.core.solve`). When the conditioning
leaves fewer digits than a least-squares solve would keep and the rows can be read again
(``fit`` on arrays or on a ChunkSource), passes over the rows refine the
solution (corrected semi-normal equations, :mod:`fastlin.core.refine`); when those do not
converge, or the rank cannot be told from the Gram, a TSQR pass decides. When the rows
cannot be read again (``partial_fit``, one-shot iterables) the Gram solution is kept and
a warning says so. ``solver_`` records the route taken ("cholesky", "minimum_norm",
either with "+refine", or "qr").
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..core.refine import refine
from ..core.solve import REFINE_TOL, SOLVERS, RankDeficientWarning, warn_rank
from ..core.stats import GramStats
from ..io.fold import accumulate, data_fold, is_chunked, is_source
from ._saveable import Saveable
from .._threads import drop_lock, model_lock
from .._warnings import warn
from .._validation import check_finite, edge_X, edge_Xy

if TYPE_CHECKING:
    from .._typing import FitData, Fold, Solver, TargetTransform
    from ..core.inference import RegressionInference

_PREDICT_ROWS = 8192


class _Solved:
    """A fitted attribute that triggers a pending solve when read (see ``partial_fit``)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        if obj.__dict__.get("_pending"):
            obj._solve_pending()
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(
                f"{type(obj).__name__!r} object has no attribute {self.name!r}"
            ) from None

    def __set__(self, obj, value):
        obj.__dict__[self.name] = value

    def __delete__(self, obj):
        obj.__dict__.pop(self.name, None)


class _GramRegressor(Saveable, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Shared machinery of LinearRegression and Ridge (alpha comes from the subclass)."""

    coef_ = _Solved()
    intercept_ = _Solved()
    rank_ = _Solved()
    solver_ = _Solved()
    rcond_ = _Solved()
    refinement_passes_ = _Solved()
    constant_columns_ = _Solved()

    def _alpha(self):
        raise NotImplementedError

    def _check_params(self):
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        alpha = self._alpha()
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"alpha must be a real number >= 0, got {alpha!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")

    def fit(
        self,
        X: FitData,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        **source_options: Any,
    ) -> Self:
        """Fit on all rows: arrays, or a chunk source streamed in one pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunk source
            uint8, integer, float32 or float64, C or Fortran order (never copied whole).
            A chunk source (``fastlin.open_source``: IDX, .npy, Parquet, CSV, ...) or an
            iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks, with ``y=None``,
            is folded in one pass in constant memory; the model is replaced only once
            the whole pass succeeded.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative; integer weights give the model of repeated rows.

        **source_options
            For a chunk source only: ``chunk_rows`` (rows per chunk), ``target_transform``
            (applied to each y chunk, e.g. ``fastlin.io.datasets.one_hot``), ``checkpoint``
            (a path: save the statistics every ``checkpoint_every`` chunks and resume
            from it; it records the estimator, its parameters and the transform, a resume
            with others is refused, and it is deleted once the model is solved unless
            ``keep_checkpoint=True``), ``verbose`` (a progress bar with rows/s).

        Returns
        -------
        self
        """

        if y is None and sample_weight is None and is_chunked(X):
            return self._fit_source(X, **source_options)
        if source_options:
            raise TypeError(
                f"{', '.join(sorted(source_options))}: options of a chunk source; "
                "X is an array here"
            )
        self._check_params()
        X, y = edge_Xy(self, X, y, reset=True)
        stats = self._new_stats().update(X, y, sample_weight)
        self._commit(stats, _is_1d(y), fold=data_fold(X, y, sample_weight))
        return self

    def _new_stats(self):
        if self.solver == "qr":
            from ..core.tsqr import QRStats

            return QRStats(centre=bool(self.fit_intercept))
        return GramStats()

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold one more chunk of rows into the model.

        The solve is deferred until a fitted attribute (``coef_``, ``intercept_``, ...) is
        first read, or ``predict`` is called, so a stream of chunks costs the
        accumulation alone. Validation happens before any state changes: a chunk that
        raises leaves the fitted model exactly as it was.
        """
        self._check_params()
        with model_lock(self):  # several threads feeding one model: every chunk counts
            stats = self.__dict__.get("stats_")
            if stats is None and hasattr(self, "coef_"):
                raise ValueError(
                    "this model was loaded without its statistics, so partial_fit cannot "
                    "continue it; save it with include_stats=True, or fit afresh"
                )
            X, y = edge_Xy(self, X, y, reset=stats is None)
            y_1d = _is_1d(y)
            if stats is not None and y_1d != self._y_1d:
                raise ValueError(
                    f"y is {'1-D' if y_1d else '2-D'} but earlier chunks had "
                    f"{'1-D' if self._y_1d else '2-D'} targets"
                )
            # update validates before it changes anything, so a bad chunk leaves the model
            # (and its statistics) as they were; the solve waits until it is needed.
            new = stats if stats is not None else self._new_stats()
            try:
                new.update(X, y, sample_weight)
            except BaseException:
                if stats is None:  # the first chunk: validation set what it may not keep
                    for k in ("n_features_in_", "feature_names_in_"):
                        self.__dict__.pop(k, None)
                raise
            self._defer(new, y_1d)
        return self

    def __getstate__(self):
        return drop_lock(super().__getstate__())

    def _fit_source(
        self,
        chunks,
        *,
        chunk_rows=None,
        target_transform=None,
        checkpoint=None,
        checkpoint_every=1,
        keep_checkpoint=False,
        verbose=False,
    ):
        """Fit in one pass over a chunk source, in constant memory.

        Parameters
        ----------
        chunks : fastlin.io.ChunkSource or iterable of tuples
            A source opened with ``fastlin.io.open_source`` (IDX, .npy, arrays), or any
            iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks.
        chunk_rows : int, optional
            Rows per chunk for a ChunkSource.
        target_transform : callable, optional
            Applied to each y chunk, e.g. ``fastlin.io.datasets.one_hot``.
        checkpoint : path, optional
            Save the statistics there after every ``checkpoint_every`` chunks and resume
            from it if it exists (ChunkSource only); see :mod:`fastlin.io.fold`. The
            checkpoint records the estimator, its parameters and the target transform;
            resuming with others is refused. It is deleted once the model is solved.
        keep_checkpoint : bool, default=False
            Keep the checkpoint after a successful fit.
        verbose : bool, default=False
            Show a progress bar (rows/s).

        Returns
        -------
        self

        Notes
        -----
        The model is replaced only after the last chunk was folded in without error: a
        failure anywhere in the pass (bad chunk, corrupt file) leaves it as it was.
        """

        self._check_params()
        if checkpoint is not None and self.solver == "qr":
            raise ValueError("checkpoints hold Gram statistics; solver='qr' cannot use them")
        # The checkpoint records the estimator and its settings (a resume with others is
        # refused) and is kept until the model is solved, so a failing solve loses no pass.
        meta = {"estimator": type(self).__name__, "params": _json_params(self)}

        def commit(stats, y_1d):
            if _n_rows(stats) == 0:
                raise ValueError("the chunk source yielded no rows")
            if y_1d is None:  # resumed from a checkpoint that covered every row
                y_1d = _n_targets(stats) == 1 and not _source_has_2d_targets(
                    chunks, target_transform
                )
            # Refinement or TSQR passes read a source again; a one-pass iterable cannot be.
            fold = (
                data_fold(chunks, chunk_rows=chunk_rows, target_transform=target_transform)
                if is_source(chunks)
                else None
            )
            self._commit(stats, y_1d, fold=fold)
            _set_feature_names(self, chunks)

        accumulate(
            chunks,
            self._new_stats(),
            chunk_rows=chunk_rows,
            target_transform=target_transform,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_meta=meta,
            keep_checkpoint=keep_checkpoint,
            verbose=verbose,
            desc=type(self).__name__,
            then=commit,
        )
        return self

    def save(
        self,
        path: os.PathLike | str,
        *,
        include_stats: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Save the fitted model to a versioned ``.npz`` (see :func:`fastlin.save`).

        Parameters
        ----------
        path : str or path-like
        include_stats : bool, default=False
            Also store the Gram statistics (d x d), so that a loaded model can continue
            with ``partial_fit``.
        metadata : dict, optional
            JSON-serialisable user data stored in the header (e.g. class labels).
        """
        import fastlin

        fastlin.save(self, path, include_stats=include_stats, metadata=metadata)

    def fit_stats(self, stats: GramStats, y_1d: bool = False, fold: Fold | None = None) -> Self:
        """Fit from already accumulated :class:`~fastlin.core.stats.GramStats` (e.g. merged
        from several files or workers). The statistics are copied.

        ``fold``, optional: ``fold(state) -> state`` folds an accumulator over the same
        rows again (see ``_commit``), for refinement or TSQR passes where needed.
        """
        self._check_params()
        if not isinstance(stats, GramStats):
            raise TypeError(f"stats must be GramStats, got {type(stats).__name__}")
        self._commit(stats.copy(), bool(y_1d), fold=fold)
        return self

    def _commit(self, stats, y_1d, alpha=None, fold=None):
        """Solve, then (only then) replace the fitted attributes.

        ``fold``, when given, folds an accumulator over the rows the statistics came
        from, wherever they live (``fold(state) -> state``: arrays, a source or Dask
        blocks, see :func:`fastlin.io.fold.fold`). "auto" uses it for refinement
        passes, or a TSQR pass, when the Gram solution says it needs them
        (``LinearSolution.needs``).
        """
        alpha = self._alpha() if alpha is None else alpha
        if self.solver == "qr":
            sol = _qr_solution(stats, alpha, self.fit_intercept)
            float32_only = False
        else:
            sol = stats.finalize(
                alpha=alpha,
                fit_intercept=self.fit_intercept,
                solver=self.solver,
                warn=False,
                refinable=self.solver == "auto" and fold is not None,
            )
            float32_only = stats.float32_only
            auto = self.solver == "auto"
            if auto and sol.needs and fold is not None:
                converged = False
                if sol.needs == "refine":
                    sol, converged = refine(sol, stats, fold, alpha, self.fit_intercept)
                if not converged:
                    from ..core.tsqr import QRStats

                    qr_stats = fold(QRStats(centre=bool(self.fit_intercept)))
                    sol = _qr_solution(qr_stats, alpha, self.fit_intercept)
            if sol.solver != "qr" and sol.rank < stats.n_features:
                warn_rank(
                    sol.rank,
                    stats.n_features,
                    sol.constant_columns,
                    sol.null_columns,
                    alpha,
                    sol.solver,
                )
            # Refinement asked for only by float32 rounding (a well-conditioned design)
            # is not worth a warning; lost digits from the conditioning itself are.
            eps = np.finfo(np.float64).eps
            if auto and (sol.needs == "qr" or sol.needs and not eps / sol.rcond <= REFINE_TOL):
                what = (
                    "its rank cannot be told from the Gram statistics"
                    if sol.needs == "qr"
                    else "coefficients may have lost digits"
                )
                warn(
                    f"the normal equations are ill conditioned (reciprocal condition number "
                    f"{sol.rcond:.2g}): {what}; the rows are not available for another pass "
                    "here (partial_fit / one-pass iterable), so fit with solver='qr', fit on "
                    "arrays or a chunk source, or use Ridge",
                    RankDeficientWarning,
                )
        dtype = np.float32 if float32_only else np.float64
        coef = sol.coef.astype(dtype)
        intercept = sol.intercept.astype(dtype)
        if y_1d:
            coef = coef[0]
        if not self.fit_intercept:
            intercept = 0.0  # as scikit-learn sets it, for single and multiple targets
        elif y_1d:
            intercept = intercept[0]
        self.__dict__.pop("_pending", None)
        self.stats_ = stats
        self._y_1d = y_1d
        self.coef_ = coef
        self.intercept_ = intercept
        self.rank_ = sol.rank
        self.solver_ = sol.solver
        self.rcond_ = sol.rcond
        self.refinement_passes_ = sol.refinement_passes
        self.constant_columns_ = sol.constant_columns
        self.n_features_in_ = _n_features(stats)
        self.n_samples_seen_ = _n_rows(stats)

    def _defer(self, stats, y_1d):
        """Record new statistics; the solve happens when a fitted attribute is read."""
        self.stats_ = stats
        self._y_1d = y_1d
        self.n_features_in_ = _n_features(stats)
        self.n_samples_seen_ = _n_rows(stats)
        self._pending = True

    def _solve_pending(self):
        self._commit(self.stats_, self._y_1d)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of shape (n_samples,) or (n_samples, n_targets).

        X may be any supported dtype; it is converted to float64 a block of rows at a
        time, so memory stays bounded for memory-mapped input.
        """
        check_is_fitted(self, "coef_")
        X = edge_X(self, X, reset=False)
        check_finite(X, "X")
        W = np.atleast_2d(self.coef_).astype(np.float64)
        b = np.atleast_1d(self.intercept_).astype(np.float64)
        out = np.empty((X.shape[0], W.shape[0]))
        for r0 in range(0, X.shape[0], _PREDICT_ROWS):
            block = np.asarray(X[r0 : r0 + _PREDICT_ROWS], dtype=np.float64)
            np.matmul(block, W.T, out=out[r0 : r0 + _PREDICT_ROWS])
        out += b
        dtype = self.coef_.dtype
        return (out[:, 0] if self._y_1d else out).astype(dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LinearRegression(_GramRegressor):
    """Ordinary least squares, exact in one pass over the rows.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit an intercept by centring from the column sums (no column of ones is added).
    solver : {"auto", "cholesky", "minimum_norm"}, default="auto"
        See :func:`fastlin.core.solve.solve_gram`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        float32 when every chunk of X was float32, else float64.
    intercept_ : float or ndarray of shape (n_targets,)
    rank_ : int
        Numerical rank of the centred design.
    solver_ : str
        The route taken ("cholesky" or "minimum_norm").
    rcond_ : float
        Reciprocal condition number estimate of the standardised system (NaN when the
        Cholesky route was not completed).
    constant_columns_ : ndarray of int
        Columns with zero centred variance (coefficient 0).
    stats_ : GramStats
        The accumulated statistics (``partial_fit`` continues from them).
    n_features_in_ : int
    n_samples_seen_ : int

    Examples
    --------
    >>> import numpy as np, fastlin
    >>> X = np.array([[13.11], [14.35], [17.09], [20.25], [24.58], [28.20]])
    >>> y = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    >>> m = fastlin.LinearRegression().fit(X, y)
    >>> round(float(m.coef_[0]), 7), round(float(m.intercept_), 7)
    (1.7722402, 6.7449995)
    """

    def __init__(self, *, fit_intercept: bool = True, solver: Solver = "auto"):
        self.fit_intercept = fit_intercept
        self.solver = solver

    def _alpha(self):
        return 0.0

    def inference(
        self,
        X: FitData | None = None,
        y: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        cov_type: Literal["nonrobust", "HC0", "HC1", "HC2", "HC3"] = "nonrobust",
        use_t: bool | None = None,
        feature_names: Sequence[str] | None = None,
        chunk_rows: int | None = None,
        target_transform: TargetTransform | None = None,
    ) -> RegressionInference:
        """Standard errors, tests and fit statistics, with statsmodels' names.

        Parameters
        ----------
        X, y : optional
            The rows the model was fitted on: arrays (with ``sample_weight`` if the fit
            had weights), a chunk source (``fastlin.open_source``) with ``y=None``, or an
            iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks. Without them,
            classical inference comes from the statistics alone (no pass over the
            rows); with them, one pass gives robust covariances and the exact residual
            sum of squares.
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default "nonrobust"
        use_t : bool, optional
            t and F distributions; default True for "nonrobust", False otherwise.
        feature_names : sequence of str, optional
            Default ``feature_names_in_`` when the model has it, else x1, x2, ...
        chunk_rows : int, optional
            Rows per chunk for a chunk source.
        target_transform : callable, optional
            Applied to each y chunk of a source, as in ``fit``.

        Returns
        -------
        fastlin.core.inference.RegressionInference
            ``params`` (intercept first, named ``const``), ``bse``, ``tvalues``,
            ``pvalues``, ``conf_int()``, ``rsquared``, ``rsquared_adj``, ``fvalue``,
            ``f_pvalue``, ``llf``, ``aic``, ``bic``, ``df_resid``, ``scale``,
            ``summary()``; one column per target for several targets. Sample weights
            give weighted least squares.
        """
        from ..core.inference_stats import regression_inference

        check_is_fitted(self, "coef_")
        coef = np.atleast_2d(np.asarray(self.coef_, dtype=np.float64))
        intercept = np.broadcast_to(
            np.atleast_1d(np.asarray(self.intercept_, np.float64)), (coef.shape[0],)
        )

        fold = None
        if X is not None:
            fold = data_fold(
                X, y, sample_weight, chunk_rows=chunk_rows, target_transform=target_transform
            )
        elif y is not None or sample_weight is not None:
            raise ValueError("y and sample_weight need X")
        stats = self.stats_
        if not isinstance(stats, GramStats):
            if fold is None:
                raise ValueError(
                    "solver='qr' keeps a TSQR factor, not Gram statistics: "
                    "pass the rows (X, y) so that they are folded first"
                )
            stats = fold(GramStats())
        names = feature_names
        if names is None:
            names = getattr(self, "feature_names_in_", None)
        return regression_inference(
            stats,
            coef,
            intercept,
            fit_intercept=self.fit_intercept,
            rank=self.rank_,
            y_1d=self._y_1d,
            names=names,
            cov_type=cov_type,
            fold=fold,
            use_t=use_t,
        )


class Ridge(_GramRegressor):
    """Ridge regression: least squares plus ``alpha * ||coef||²`` (intercept unpenalised).

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    fit_intercept : bool, default=True
    solver : {"auto", "cholesky", "minimum_norm"}, default="auto"

    Attributes
    ----------
    Same as :class:`LinearRegression`.
    """

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, solver: Solver = "auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def _alpha(self):
        return self.alpha


def _json_params(model):
    return {
        k: (v if isinstance(v, (bool, int, float, str, type(None))) else repr(v))
        for k, v in model.get_params(deep=False).items()
    }


def _set_feature_names(model, data):
    """``feature_names_in_`` from a source that names its columns (Parquet, CSV, ...)."""
    names = getattr(data, "feature_names", None)
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    else:
        model.__dict__.pop("feature_names_in_", None)


def _is_1d(y):
    return np.ndim(y) == 1


def _n_rows(stats):
    return stats.n_rows if isinstance(stats, GramStats) else stats.n_samples_


def _n_features(stats):
    return stats.n_features if isinstance(stats, GramStats) else stats.n_features_


def _n_targets(stats):
    return stats.n_targets if isinstance(stats, GramStats) else stats.n_targets_


def _qr_solution(qr_stats, alpha, fit_intercept):
    """A LinearSolution from a TSQR factor (rank-deficient: minimum norm, warned)."""
    from ..core.solve import LinearSolution

    res = qr_stats.finalize(alpha=alpha, fit_intercept=fit_intercept, warn=False)
    R, _, _ = qr_stats.factor(0.0, fit_intercept)
    d = R.shape[0]
    # ||R e_j||² is column j's centred sum of squares; against its raw second moment it
    # tells a constant column from a rounding residue, as the Gram route does.
    centred_sq = np.einsum("ij,ij->j", R, R)
    raw_sq = centred_sq + qr_stats.sum_weights_ * qr_stats.mean_x_**2
    constant = np.flatnonzero(centred_sq <= 64 * np.finfo(np.float64).eps * raw_sq)
    res.coef[constant] = 0.0  # the minimum-norm value, without the SVD's rounding
    if fit_intercept:
        res = res._replace(intercept=qr_stats.mean_y_ - qr_stats.mean_x_ @ res.coef)
    if res.rank < d:
        warn_rank(res.rank, d, constant, np.zeros(0, np.int64), alpha, "qr")
    dof = qr_stats.sum_weights_ - res.rank - int(fit_intercept)
    resid_var = res.rss / dof if dof > 0 else np.full_like(res.rss, np.nan)
    r2 = np.full_like(res.rss, np.nan)  # QRStats keeps no total sum of squares
    return LinearSolution(
        res.coef.T.copy(),
        res.intercept,
        int(res.rank),
        "qr",
        float("nan"),
        constant,
        np.zeros(0, np.int64),
        r2,
        resid_var,
    )


def _source_has_2d_targets(chunks, target_transform):
    if target_transform is not None:
        return True
    y_shape = getattr(chunks, "y_shape", None)
    return y_shape is None or len(y_shape) == 2
