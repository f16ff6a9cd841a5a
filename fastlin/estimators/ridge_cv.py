"""``RidgeCV``: ridge with alpha chosen by leave-one-out, GCV or folds, from one
eigendecomposition of the Gram statistics (:mod:`fastlin.core.path`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import ArrayLike

from ..core.stats import GramStats
from ..io.fold import accumulate, data_fold, is_chunked, is_source
from .._threads import model_lock
from .._validation import edge_Xy
from .linear_model import _GramRegressor, _is_1d, _set_feature_names

if TYPE_CHECKING:
    from .._typing import CrossValidation, FitData, Fold


class RidgeCV(_GramRegressor):
    """Ridge with alpha chosen by exact leave-one-out or GCV, from one decomposition.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
        Candidate penalties, each >= 0.
    fit_intercept : bool, default=True
    cv : None, "loo", "gcv", int, cross-validation splitter or iterable, default=None
        None: exact leave-one-out when the rows can be read again (``fit`` on arrays,
        ``fit`` on a chunk source) and GCV under ``partial_fit``. "loo": exact
        leave-one-out mean squared error (a second pass over the rows, no n x n matrix).
        "gcv": generalised cross-validation from the statistics alone, which also works
        with ``partial_fit`` and ``fit`` on one-pass iterables. An int (k-fold),
        a scikit-learn splitter or an iterable of (train, test) index arrays (``fit`` on
        arrays only): Gram statistics of each training fold and one eigendecomposition
        give every alpha's coefficients; the score is the test fold's mean squared error,
        weighted by ``sample_weight``, averaged over folds.
    alpha_per_target : bool, default=False
        Choose an alpha for each target instead of one minimising the mean over targets.

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
    cv_results_ : ndarray of shape (n_alphas, n_targets)
        Mean squared leave-one-out (or cross-validation) error, or GCV score, per alpha
        and target.
    best_score_ : float or ndarray
        Minus the chosen mean squared error (scikit-learn's sign convention).
    coef_, intercept_, n_features_in_, stats_ : as for :class:`Ridge`.
    """

    solver = "auto"  # the chosen alpha goes through Ridge's solver route

    def __init__(
        self,
        alphas: ArrayLike = (0.1, 1.0, 10.0),
        *,
        fit_intercept: bool = True,
        cv: CrossValidation = None,
        alpha_per_target: bool = False,
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.alpha_per_target = alpha_per_target

    def _alpha(self):
        return 0.0

    def _check_params(self):
        super()._check_params()
        if isinstance(self.cv, str) and self.cv not in ("loo", "gcv"):
            raise ValueError(
                f"cv must be None, 'loo', 'gcv', an int, a splitter or an "
                f"iterable of (train, test) splits, got {self.cv!r}"
            )
        from ..core.path import _check_alphas

        _check_alphas(self.alphas)

    def fit(
        self,
        X: FitData,
        y: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        **source_options: Any,
    ) -> Self:
        """Fit on arrays, or on a chunk source with ``y=None`` (``chunk_rows``,
        ``target_transform``, ``verbose``)."""

        if y is None and sample_weight is None and is_chunked(X):
            return self._fit_source(X, **source_options)
        if source_options:
            raise TypeError(
                f"{', '.join(sorted(source_options))}: options of a chunk source; "
                "X is an array here"
            )
        self._check_params()
        X, y = edge_Xy(self, X, y, reset=True)
        stats = GramStats().update(X, y, sample_weight)
        fold = scores = None
        if self.cv is None or self.cv == "loo":
            fold = data_fold(X, y, sample_weight)
        elif self.cv != "gcv":
            scores = self._fold_scores(X, y, sample_weight)
        self._select(stats, _is_1d(y), scores, fold=fold)
        return self

    def _fold_scores(self, X, y, sample_weight):
        """Mean over folds of each alpha's weighted test mean squared error, (n_alphas, t)."""
        from sklearn.model_selection import check_cv

        from ..core.path import _check_alphas, ridge_path

        alphas = _check_alphas(self.alphas)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        Y = y.reshape(len(y), -1)
        total, n_folds = 0.0, 0
        for train, test in check_cv(self.cv).split(X, y):
            wt = None if w is None else w[train]
            fold = GramStats().update(X[train], Y[train], wt)
            coefs, intercepts = ridge_path(fold, alphas, self.fit_intercept)
            Xt = np.asarray(X[test], dtype=np.float64)
            pred = np.einsum("nd,atd->ant", Xt, coefs) + intercepts[:, None, :]
            err = (pred - Y[test][None]) ** 2
            ww = np.ones(len(test)) if w is None else w[test]
            if ww.sum() <= 0:
                continue
            total = total + np.einsum("ant,n->at", err, ww) / ww.sum()
            n_folds += 1
        if n_folds == 0:
            raise ValueError("every cross-validation test fold has zero total weight")
        return total / n_folds

    def _fit_source(self, chunks, *, chunk_rows=None, target_transform=None, verbose=False):
        """Fit from a chunk source; "loo" reads it twice, so it must be a ChunkSource."""

        self._check_params()
        if self.cv not in (None, "loo", "gcv"):
            raise ValueError(
                f"a chunk source chooses alpha by leave-one-out or GCV; cv={self.cv!r} "
                "needs arrays (fit)"
            )
        if self.cv == "loo" and not is_source(chunks):
            raise ValueError(
                "cv='loo' needs a second pass over the rows: pass a ChunkSource "
                "(fastlin.io.open_source), or use cv='gcv'"
            )
        stats, y_1d = accumulate(
            chunks,
            GramStats(),
            chunk_rows=chunk_rows,
            target_transform=target_transform,
            verbose=verbose,
        )
        fold = None
        if self.cv == "loo" or (self.cv is None and is_source(chunks)):
            fold = data_fold(chunks, chunk_rows=chunk_rows, target_transform=target_transform)
        self._select(stats, bool(y_1d), fold=fold)
        _set_feature_names(self, chunks)
        return self

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk in and choose alpha by GCV (``cv`` None or "gcv": the rows are
        not kept, so leave-one-out and fold scores are not available here)."""
        if self.cv is not None and self.cv != "gcv":
            raise ValueError(
                f"partial_fit keeps no rows for cv={self.cv!r}; use cv='gcv' "
                "(or the default cv=None)"
            )
        self._check_params()
        with model_lock(self):
            stats = self.__dict__.get("stats_")
            X, y = edge_Xy(self, X, y, reset=stats is None)
            new = stats.copy() if stats is not None else GramStats()
            new.update(X, y, sample_weight)
            self._select(new, _is_1d(y))
        return self

    def fit_stats(self, stats: GramStats, y_1d: bool = False, fold: Fold | None = None) -> Self:
        """Choose alpha and fit from accumulated :class:`~fastlin.core.stats.GramStats` (e.g.
        merged from workers). With ``fold`` (``fold(state) -> state`` over the same rows,
        as ``fastlin.dask.fit`` passes it), ``cv`` None or "loo" scores exact
        leave-one-out in that pass; without it, or with "gcv", GCV from the statistics."""
        self._check_params()
        if not isinstance(stats, GramStats):
            raise TypeError(f"stats must be GramStats, got {type(stats).__name__}")
        if self.cv not in (None, "loo", "gcv"):
            raise ValueError(
                f"cv={self.cv!r} needs the rows as arrays (fit); statistics "
                "choose alpha by leave-one-out or GCV"
            )
        if self.cv == "loo" and fold is None:
            raise ValueError("cv='loo' needs a pass over the rows: pass fold=, or use cv='gcv'")
        loo_fold = fold if self.cv in (None, "loo") else None
        self._select(stats.copy(), bool(y_1d), fold=loo_fold)
        return self

    def _select(self, stats, y_1d, scores=None, fold=None):
        from ..core.path import LOOStats, _check_alphas, gcv_scores, ridge_eigen, ridge_path

        alphas = _check_alphas(self.alphas)
        eigen = ridge_eigen(stats, self.fit_intercept)
        if scores is not None:
            pass
        elif fold is not None:
            scores = fold(LOOStats(eigen, alphas)).finalize()
        else:
            scores = gcv_scores(eigen, alphas)
        if self.alpha_per_target:
            best = np.argmin(scores, axis=0)
        else:
            best = np.full(scores.shape[1], int(np.argmin(scores.mean(axis=1))))
        chosen = alphas[best]
        # The chosen alpha goes through the same solver as Ridge(alpha_).
        self._commit(stats, y_1d, alpha=float(chosen[0]))
        if self.alpha_per_target:
            coefs, intercepts = ridge_path(stats, alphas, self.fit_intercept, eigen=eigen)
            t = np.arange(scores.shape[1])
            dtype = self.coef_.dtype
            coef = coefs[best, t].astype(dtype)
            self.coef_ = coef[0] if y_1d else coef
            if self.fit_intercept:
                icpt = intercepts[best, t].astype(dtype)
                self.intercept_ = icpt[0] if y_1d else icpt
        self.alpha_ = float(chosen[0]) if not self.alpha_per_target or y_1d else chosen
        self.cv_results_ = scores
        picked = scores[best, np.arange(scores.shape[1])]
        self.best_score_ = -float(picked.mean()) if not self.alpha_per_target else -picked
