"""Predictions and transforms mapped over the row blocks."""

import numpy as np

from ..estimators.logistic import LogisticRegression
from .arrays import _as_X


def _map_rows(method, model, X, n_out, dtype, name):
    """``method(X_block)`` over the row blocks of X: a Dask array of shape (n,) or (n, n_out)."""
    Xd = _as_X(X)
    d = getattr(model, "n_features_in_", None)
    if d is not None and Xd.shape[1] != d:
        raise ValueError(f"X has {Xd.shape[1]} features, but this model was fitted with {d}")
    if n_out is None:
        return Xd.map_blocks(_call, method, dtype=dtype, drop_axis=1, name=name)
    return Xd.map_blocks(_call, method, dtype=dtype, chunks=(Xd.chunks[0], (n_out,)), name=name)


def _call(X, method):
    return method(X)


def _n_targets(model):
    coef = np.asarray(model.coef_)
    return None if getattr(model, "_y_1d", coef.ndim == 1) else coef.shape[0]


def predict(model, X):
    """``model.predict`` over the row blocks of a Dask array; returns a Dask array.

    LinearRegression/Ridge give shape (n,) or (n, n_targets); LogisticRegression gives
    the labels, shape (n,).
    """
    _check_fitted(model)
    if isinstance(model, LogisticRegression):
        return _map_rows(model.predict, model, X, None, model.classes_.dtype, "fastlin-predict")
    return _map_rows(
        model.predict, model, X, _n_targets(model), np.asarray(model.coef_).dtype, "fastlin-predict"
    )


def predict_proba(model, X):
    """``LogisticRegression.predict_proba`` over row blocks: Dask array (n, n_classes)."""
    _check_fitted(model)
    return _map_rows(
        model.predict_proba, model, X, model.classes_.shape[0], np.float64, "fastlin-predict-proba"
    )


def decision_function(model, X):
    """``LogisticRegression.decision_function`` over row blocks: (n,) or (n, n_classes)."""
    _check_fitted(model)
    K = model.coef_.shape[0]
    return _map_rows(
        model.decision_function, model, X, None if K == 1 else K, np.float64, "fastlin-decision"
    )


def transform(model, X):
    """``StandardScaler.transform`` over row blocks: Dask array (n, n_features), float64."""
    _check_fitted(model)
    Xd = _as_X(X)
    dtype = np.float32 if Xd.dtype == np.float32 else np.float64
    return _map_rows(model.transform, model, Xd, int(Xd.shape[1]), dtype, "fastlin-transform")


def _check_fitted(model):
    """Raise sklearn's ``NotFittedError`` for an unfitted model (before building a graph)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
