"""scikit-learn-compatible least squares and ridge over streamed Gram statistics.

The estimators hold a :class:`~fastlin.stats.GramStats` and a solution; they never loop
over rows. ``fit`` is ``partial_fit`` on a fresh state; ``partial_fit`` on chunks gives
the same model as ``fit`` on all rows (the statistics are sums).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .solve import SOLVERS
from .stats import GramStats
from ._validation import as_2d_array, check_finite

_PREDICT_ROWS = 8192


class _GramRegressor(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Shared machinery of LinearRegression and Ridge (alpha comes from the subclass)."""

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

    def fit(self, X, y, sample_weight=None):
        """Fit on all rows at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            uint8, integer, float32 or float64, C or Fortran order (never copied whole).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative; integer weights give the model of repeated rows.

        Returns
        -------
        self
        """
        self._check_params()
        stats = GramStats()
        y_1d = _is_1d(y)
        stats.update(X, y, sample_weight)
        self._commit(stats, y_1d)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """Fold one more chunk of rows into the model and re-solve.

        Validation happens before any state changes: a chunk that raises leaves the
        fitted model exactly as it was.
        """
        self._check_params()
        y_1d = _is_1d(y)
        stats = getattr(self, "stats_", None)
        if stats is None and hasattr(self, "coef_"):
            raise ValueError(
                "this model was loaded without its statistics, so partial_fit cannot "
                "continue it; save it with include_stats=True, or fit afresh"
            )
        if stats is not None and y_1d != self._y_1d:
            raise ValueError(
                f"y is {'1-D' if y_1d else '2-D'} but earlier chunks had "
                f"{'1-D' if self._y_1d else '2-D'} targets"
            )
        new = stats.copy() if stats is not None else GramStats()
        new.update(X, y, sample_weight)
        self._commit(new, y_1d)
        return self

    def fit_chunks(self, chunks, *, chunk_rows=None, target_transform=None, checkpoint=None,
                   checkpoint_every=1, verbose=False):
        """Fit in one pass over a chunk source, in constant memory.

        Parameters
        ----------
        chunks : fastlin.io.ChunkSource or iterable of tuples
            A source opened with ``fastlin.io.open_source`` (IDX, .npy, arrays), or any
            iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks.
        chunk_rows : int, optional
            Rows per chunk for a ChunkSource.
        target_transform : callable, optional
            Applied to each y chunk, e.g. ``fastlin.datasets.one_hot``.
        checkpoint : path, optional
            Save the statistics there after every ``checkpoint_every`` chunks and resume
            from it if it exists (ChunkSource only); see :mod:`fastlin.streaming`.
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
        from .streaming import accumulate

        self._check_params()
        stats, y_1d = accumulate(chunks, GramStats(), chunk_rows=chunk_rows,
                           target_transform=target_transform, checkpoint=checkpoint,
                           checkpoint_every=checkpoint_every, verbose=verbose,
                           desc=type(self).__name__)
        if stats.n_rows == 0:
            raise ValueError("the chunk source yielded no rows")
        if y_1d is None:  # resumed from a checkpoint that covered every row
            y_1d = stats.n_targets == 1 and not _source_has_2d_targets(chunks, target_transform)
        self._commit(stats, y_1d)
        return self

    def save(self, path, *, include_stats=False, metadata=None):
        """Save the fitted model to a versioned ``.npz`` (see :mod:`fastlin.persistence`).

        Parameters
        ----------
        path : str or path-like
        include_stats : bool, default=False
            Also store the Gram statistics (d x d), so that a loaded model can continue
            with ``partial_fit``.
        metadata : dict, optional
            JSON-serialisable user data stored in the header (e.g. class labels).
        """
        from . import persistence

        check_is_fitted(self, "coef_")
        header = {
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "n_features_in": int(self.n_features_in_),
            "n_samples_seen": int(self.n_samples_seen_),
            "y_1d": bool(self._y_1d),
            "rank": int(self.rank_),
            "solver": self.solver_,
            "rcond": float(self.rcond_),
            "metadata": metadata or {},
        }
        arrays = {"coef": self.coef_, "intercept": np.asarray(self.intercept_),
                  "constant_columns": self.constant_columns_}
        if include_stats:
            arrays.update(persistence.stats_arrays(self.stats_))
        persistence.write(path, "model", header, arrays)

    @classmethod
    def load(cls, path):
        """Load a model saved by :meth:`save`; the class must match (see ``fastlin.load``)."""
        model = load(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def fit_stats(self, stats, y_1d=False):
        """Fit from already accumulated :class:`~fastlin.stats.GramStats` (e.g. merged
        from several files or workers). The statistics are copied."""
        self._check_params()
        if not isinstance(stats, GramStats):
            raise TypeError(f"stats must be GramStats, got {type(stats).__name__}")
        self._commit(stats.copy(), bool(y_1d))
        return self

    def _commit(self, stats, y_1d):
        # Solve first; only a successful solve replaces the fitted attributes.
        sol = stats.finalize(alpha=self._alpha(), fit_intercept=self.fit_intercept,
                             solver=self.solver)
        dtype = np.float32 if stats.float32_only else np.float64
        coef = sol.coef.astype(dtype)
        intercept = sol.intercept.astype(dtype)
        if y_1d:
            coef = coef[0]
        if not self.fit_intercept:
            intercept = 0.0  # as scikit-learn sets it, for single and multiple targets
        elif y_1d:
            intercept = intercept[0]
        self.stats_ = stats
        self._y_1d = y_1d
        self.coef_ = coef
        self.intercept_ = intercept
        self.rank_ = sol.rank
        self.solver_ = sol.solver
        self.rcond_ = sol.rcond
        self.constant_columns_ = sol.constant_columns
        self.n_features_in_ = stats.n_features
        self.n_samples_seen_ = stats.n_rows

    def predict(self, X):
        """Predictions of shape (n_samples,) or (n_samples, n_targets).

        X may be any supported dtype; it is converted to float64 a block of rows at a
        time, so memory stays bounded for memory-mapped input.
        """
        check_is_fitted(self, "coef_")
        X = as_2d_array(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but this model was fitted with "
                f"{self.n_features_in_}"
            )
        check_finite(X, "X")
        W = np.atleast_2d(self.coef_).astype(np.float64)
        b = np.atleast_1d(self.intercept_).astype(np.float64)
        out = np.empty((X.shape[0], W.shape[0]))
        for r0 in range(0, X.shape[0], _PREDICT_ROWS):
            block = np.asarray(X[r0:r0 + _PREDICT_ROWS], dtype=np.float64)
            np.matmul(block, W.T, out=out[r0:r0 + _PREDICT_ROWS])
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
        See :func:`fastlin.solve.solve_gram`.

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

    def __init__(self, *, fit_intercept=True, solver="auto"):
        self.fit_intercept = fit_intercept
        self.solver = solver

    def _alpha(self):
        return 0.0


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

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver

    def _alpha(self):
        return self.alpha


def _is_1d(y):
    return np.ndim(y) == 1


def _source_has_2d_targets(chunks, target_transform):
    if target_transform is not None:
        return True
    y_shape = getattr(chunks, "y_shape", None)
    return y_shape is None or len(y_shape) == 2


def load(path):
    """Load a model saved with ``save`` (LinearRegression or Ridge) from ``path``.

    Raises
    ------
    fastlin.persistence.FileFormatError
        Corrupt file, another kind of fastlin file, or a newer format version.
    """
    from . import persistence

    header, arrays = persistence.read(path, "model")
    classes = {"LinearRegression": LinearRegression, "Ridge": Ridge}
    name = header.get("estimator")
    if name not in classes:
        raise persistence.FileFormatError(f"{path}: unknown estimator {name!r}")
    try:
        model = classes[name](**header["params"])
        coef = arrays["coef"]
        intercept = arrays["intercept"]
        d = int(header["n_features_in"])
        if coef.shape[-1] != d or coef.ndim != (1 if header["y_1d"] else 2):
            raise ValueError(f"coef has shape {coef.shape} for {d} features")
        model.coef_ = coef
        model.intercept_ = float(intercept) if intercept.ndim == 0 else intercept
        model._y_1d = bool(header["y_1d"])
        model.n_features_in_ = d
        model.n_samples_seen_ = int(header["n_samples_seen"])
        model.rank_ = int(header["rank"])
        model.solver_ = header["solver"]
        model.rcond_ = float(header["rcond"])
        model.constant_columns_ = arrays["constant_columns"]
        model.metadata_ = header.get("metadata", {})
        stats = persistence.stats_from(arrays, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise persistence.FileFormatError(f"{path}: corrupt model file ({exc})") from exc
    if stats is not None:
        model.stats_ = stats
    return model
