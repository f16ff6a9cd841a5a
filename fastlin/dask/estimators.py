"""Estimator classes whose ``fit`` and ``predict`` take Dask arrays."""

import numpy as np

from ..estimators.linear_model import LinearRegression, Ridge
from ..estimators.logistic import LogisticRegression
from ..estimators.preprocessing import StandardScaler
from .arrays import _as_X, _as_rows, _is_dask_collection
from .fitting import fit
from .predict import _check_fitted, decision_function, predict, predict_proba, transform
from .reduce import _merge_states, _reduce
from .statistics import _state_block


# Thin subclasses: Dask input goes through the backend's functions (fit, predict, ...),
# anything else takes the in-memory path of the parent class. Parameters and fitted
# attributes are the parent's.


def _dask_input(X):
    return _is_dask_collection(X)


class _DaskRegressorMixin:
    """Dask input goes to :func:`fit` / :func:`predict`; NumPy input to the parent class."""

    def fit(self, X, y, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, y, sample_weight)
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        if _dask_input(X):
            return predict(self, X)
        return super().predict(X)


class DaskLinearRegression(_DaskRegressorMixin, LinearRegression):
    """:class:`fastlin.LinearRegression` that fits on Dask arrays across a cluster.

    ``fit`` with a Dask array (or DataFrame) X runs :func:`fastlin.dask.fit`: one pass,
    d x d statistics per block, tree-merged, solved on the client. ``predict`` on a Dask
    array returns a Dask array. ``inference`` with Dask arrays folds its pass over the
    blocks where they live. NumPy input takes the in-memory path.
    """

    def inference(
        self,
        X=None,
        y=None,
        *,
        sample_weight=None,
        cov_type="nonrobust",
        use_t=None,
        feature_names=None,
        split_every=None,
        kernel_threads=None,
        **kwargs,
    ):
        """See :meth:`fastlin.LinearRegression.inference`; Dask X and y are folded on
        the workers (``split_every``, ``kernel_threads`` as in :func:`fit`)."""
        if X is None or not _dask_input(X):
            return super().inference(
                X,
                y,
                sample_weight=sample_weight,
                cov_type=cov_type,
                use_t=use_t,
                feature_names=feature_names,
                **kwargs,
            )
        from ..core.inference_stats import regression_inference

        _check_fitted(self)
        Xd = _as_X(X)
        arrays = (
            Xd,
            _as_rows(y, Xd, "y"),
            _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,)),
        )
        if arrays[1] is None:
            raise ValueError("y is required")

        def fold(template):
            return _reduce(
                _state_block,
                arrays,
                _merge_states,
                extra=(template,),
                split_every=split_every,
                kernel_threads=kernel_threads,
                compute=True,
            )

        coef = np.atleast_2d(np.asarray(self.coef_, dtype=np.float64))
        intercept = np.broadcast_to(
            np.atleast_1d(np.asarray(self.intercept_, np.float64)), (coef.shape[0],)
        )
        names = (
            feature_names if feature_names is not None else getattr(self, "feature_names_in_", None)
        )
        return regression_inference(
            self.stats_,
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


class DaskRidge(_DaskRegressorMixin, Ridge):
    """:class:`fastlin.Ridge` that fits on Dask arrays (see :class:`DaskLinearRegression`)."""


class DaskLogisticRegression(LogisticRegression):
    """:class:`fastlin.LogisticRegression` that fits on Dask arrays (``solver="lbfgs"``).

    Each L-BFGS evaluation is one distributed pass of the fused loss/gradient kernel; X,
    the encoded labels and the weights are persisted on the workers for the passes.
    ``predict``, ``predict_proba`` and ``decision_function`` on a Dask array return Dask
    arrays.
    """

    def fit(self, X, y=None, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, y, sample_weight)
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        if _dask_input(X):
            return predict(self, X)
        return super().predict(X)

    def predict_proba(self, X):
        if _dask_input(X):
            return predict_proba(self, X)
        return super().predict_proba(X)

    def decision_function(self, X):
        if _dask_input(X):
            return decision_function(self, X)
        return super().decision_function(X)


class DaskStandardScaler(StandardScaler):
    """:class:`fastlin.estimators.preprocessing.StandardScaler` that fits on Dask arrays.

    ``transform`` on a Dask array returns a Dask array.
    """

    def fit(self, X, y=None, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, None, sample_weight)
        return super().fit(X, y, sample_weight)

    def transform(self, X, copy=None):
        if _dask_input(X):
            return transform(self, X)
        return super().transform(X, copy)
