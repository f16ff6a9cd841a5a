"""Saving and loading every fastlin estimator in the versioned, pickle-free format.

``LinearRegression``, ``Ridge`` and ``RidgeCV`` keep their own layout
(:func:`save_gram_regressor`, with optional Gram statistics). The
other estimators (``LogisticRegression``, ``SGDRegressor``, ``StandardScaler``,
``PolynomialFeatures``) are written by :func:`save_estimator` as their hyperparameters
(``get_params``, JSON) plus their fitted attributes: arrays under ``attr__<name>`` keys,
dicts of arrays under ``attr__<name>__<key>``, scalars and strings in the JSON header.
Label arrays of strings are stored as fixed-width unicode and come back with their dtype
(object arrays of strings come back as object arrays). Nothing is pickled: a file can be
read on any machine with ``allow_pickle=False``.

What a loaded model can do: everything a fitted one does (``predict``, ``transform``,
``score``, ...), with bit-identical results. ``StandardScaler`` continues ``partial_fit``
from its saved moments; ``LogisticRegression`` and ``SGDRegressor`` start a fresh
optimiser state if ``partial_fit`` continues them.
"""

import numbers
import os
from typing import Any

import numpy as np

from . import persistence

LAYOUT = "attributes"

_ARRAY_KINDS = "biufU"


def _classes():
    from ..estimators.logistic import LogisticRegression
    from ..estimators.preprocessing import PolynomialFeatures, StandardScaler
    from ..estimators.sgd_regressor import SGDRegressor

    return {
        c.__name__: c
        for c in (LogisticRegression, SGDRegressor, StandardScaler, PolynomialFeatures)
    }


# Private fitted state that predictions need, per class (arrays or tuples of arrays).
_PRIVATE = {"PolynomialFeatures": ("_table",), "StandardScaler": ("_weighted",)}


def _json_param(name, value, est):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (numbers.Real, str)) for v in value):
        return [v.item() if hasattr(v, "item") else v for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, numbers.Integral)) for k in value):
        return {
            "__dict__": [
                [k.item() if hasattr(k, "item") else k, float(v)] for k, v in value.items()
            ]
        }
    raise ValueError(
        f"{type(est).__name__}(… {name}={value!r}) cannot be saved: parameters "
        "must be numbers, strings, lists or dicts of them (pass an int seed, "
        "not a Generator)"
    )


def _param_from_json(value):
    if isinstance(value, dict) and "__dict__" in value:
        return {k: v for k, v in value["__dict__"]}
    return value


def save_estimator(est, path, metadata=None):
    """Write a fitted estimator's parameters and fitted attributes to ``path``."""
    name = type(est).__name__
    if name not in _classes():
        raise TypeError(f"no file format for {name}")
    params = {k: _json_param(k, v, est) for k, v in est.get_params(deep=False).items()}
    fitted, arrays = {}, {}
    attrs = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    attrs += [k for k in _PRIVATE.get(name, ()) if k in vars(est)]
    if not any(not k.startswith("_") for k in attrs):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(f"This {name} instance is not fitted yet; fit it before saving")
    for k in attrs:
        v = vars(est)[k]
        _store(k, v, fitted, arrays, name)
    header = {
        "estimator": name,
        "layout": LAYOUT,
        "params": params,
        "fitted": fitted,
        "metadata": metadata or {},
    }
    persistence.write(path, "model", header, arrays)


def _store(k, v, fitted, arrays, name):
    if v is None or isinstance(v, (bool, str, np.bool_)):
        fitted[k] = {"value": bool(v) if isinstance(v, np.bool_) else v}
    elif isinstance(v, (numbers.Integral, numbers.Real)) and not isinstance(v, np.ndarray):
        fitted[k] = {"value": v.item() if hasattr(v, "item") else v}
    elif isinstance(v, np.ndarray):
        arr, kind = _plain(v, k, name)
        arrays[f"attr__{k}"] = arr
        fitted[k] = {"array": kind}
    elif isinstance(v, dict) and all(isinstance(x, np.ndarray) for x in v.values()):
        for key, x in v.items():
            arrays[f"attr__{k}__{key}"], _ = _plain(x, k, name)
        fitted[k] = {"dict": list(v)}
    elif isinstance(v, tuple) and all(isinstance(x, np.ndarray) for x in v):
        for i, x in enumerate(v):
            arrays[f"attr__{k}__{i}"], _ = _plain(x, k, name)
        fitted[k] = {"tuple": len(v)}
    elif type(v).__name__ == "Moments":
        state = {key: x for key, x in vars(v).items() if isinstance(x, np.ndarray)}
        for key, x in state.items():
            arrays[f"attr__{k}__{key}"] = x
        fitted[k] = {
            "moments": {key: x for key, x in vars(v).items() if not isinstance(x, np.ndarray)}
        }
    else:
        raise ValueError(f"{name}.{k} ({type(v).__name__}) cannot be saved")


def _plain(v, k, name):
    """An array np.load reads without pickle, and how to restore its dtype."""
    if v.dtype.kind in _ARRAY_KINDS:
        return v, "plain"
    if v.dtype == object and all(isinstance(x, str) for x in v.ravel()):
        return v.astype(str), "object_str"
    raise ValueError(
        f"{name}.{k} has dtype {v.dtype}, which the pickle-free format cannot "
        "hold (labels must be numbers, booleans or strings)"
    )


def load_estimator(header, arrays, path):
    """The estimator of a file written by :func:`save_estimator`."""
    name = header.get("estimator")
    classes = _classes()
    if name not in classes:
        raise persistence.FileFormatError(f"{path}: unknown estimator {name!r}")
    try:
        params = {k: _param_from_json(v) for k, v in header["params"].items()}
        est = classes[name](**params)
        for k, spec in header["fitted"].items():
            setattr(est, k, _restore(k, spec, arrays))
        est.metadata_ = header.get("metadata", {})
    except (KeyError, TypeError, ValueError) as exc:
        raise persistence.FileFormatError(f"{path}: corrupt {name} file ({exc})") from exc
    return est


def _restore(k, spec, arrays):
    if "value" in spec:
        return spec["value"]
    if "array" in spec:
        a = arrays[f"attr__{k}"]
        return a.astype(object) if spec["array"] == "object_str" else a
    if "dict" in spec:
        return {key: arrays[f"attr__{k}__{key}"] for key in spec["dict"]}
    if "tuple" in spec:
        return tuple(arrays[f"attr__{k}__{i}"] for i in range(spec["tuple"]))
    if "moments" in spec:
        from ..core.moments import Moments

        m = Moments.__new__(Moments)
        vars(m).update(spec["moments"])
        prefix = f"attr__{k}__"
        vars(m).update(
            {key[len(prefix) :]: a for key, a in arrays.items() if key.startswith(prefix)}
        )
        return m
    raise ValueError(f"unknown attribute record {spec!r} for {k}")


def save(
    model: Any,
    path: os.PathLike | str,
    *,
    include_stats: bool = False,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save a fitted fastlin estimator to a versioned, pickle-free ``.npz`` at ``path``;
    :func:`load` reads it back. The estimators' ``save`` methods call this.

    Parameters
    ----------
    model : a fitted fastlin estimator
    path : str or path-like
    include_stats : bool, default=False
        ``LinearRegression``, ``Ridge``, ``RidgeCV``: also store the Gram statistics
        (d x d), so that a loaded model can continue with ``partial_fit``. Other
        estimators store everything they need to continue and refuse the flag.
    metadata : dict, optional
        JSON-serialisable user data stored in the header (``metadata_`` on load).
    """
    from ..estimators.linear_model import _GramRegressor

    if isinstance(model, _GramRegressor):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "coef_")
        save_gram_regressor(model, path, include_stats=include_stats, metadata=metadata)
        return
    if include_stats:
        raise TypeError(
            f"include_stats applies to the Gram regressors; a {type(model).__name__} "
            "file always holds what it needs to continue"
        )
    save_estimator(model, path, metadata)


def save_gram_regressor(model, path, *, include_stats=False, metadata=None):
    """Write a fitted ``LinearRegression``, ``Ridge`` or ``RidgeCV`` (coefficients, the
    solve's report and, with ``include_stats``, its Gram statistics)."""
    from ..core.stats import GramStats

    header = {
        "estimator": type(model).__name__,
        "params": model.get_params(),
        "n_features_in": int(model.n_features_in_),
        "n_samples_seen": int(model.n_samples_seen_),
        "y_1d": bool(model._y_1d),
        "rank": int(model.rank_),
        "solver": model.solver_,
        "rcond": float(model.rcond_),
        "refinement_passes": int(model.refinement_passes_),
        "feature_names": (
            None
            if getattr(model, "feature_names_in_", None) is None
            else [str(n) for n in model.feature_names_in_]
        ),
        "metadata": metadata or {},
    }
    arrays = {
        "coef": model.coef_,
        "intercept": np.asarray(model.intercept_),
        "constant_columns": model.constant_columns_,
    }
    if hasattr(model, "alpha_"):  # RidgeCV: the choice and its scores
        arrays.update(
            alpha=np.asarray(model.alpha_),
            cv_results=model.cv_results_,
            best_score=np.asarray(model.best_score_),
        )
    if include_stats:
        if not isinstance(model.stats_, GramStats):
            raise ValueError(
                "include_stats saves Gram statistics; a solver='qr' model "
                "holds a TSQR factor instead"
            )
        arrays.update(persistence.stats_arrays(model.stats_))
    persistence.write(path, "model", header, arrays)


def load(path: os.PathLike | str) -> Any:
    """Load any fastlin estimator saved with its ``save`` method from ``path``.

    Raises
    ------
    fastlin.edges.persistence.FileFormatError
        Corrupt file, another kind of fastlin file, or a newer format version.
    """
    header, arrays = persistence.read(path, "model")
    if header.get("layout") == "attributes":
        return load_estimator(header, arrays, path)
    from ..estimators.linear_model import LinearRegression, Ridge
    from ..estimators.ridge_cv import RidgeCV

    classes = {"LinearRegression": LinearRegression, "Ridge": Ridge, "RidgeCV": RidgeCV}
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
        model.refinement_passes_ = int(header.get("refinement_passes", 0))
        model.constant_columns_ = arrays["constant_columns"]
        model.metadata_ = header.get("metadata", {})
        if "alpha" in arrays:
            alpha = arrays["alpha"]
            model.alpha_ = float(alpha) if alpha.ndim == 0 else alpha
            model.cv_results_ = arrays["cv_results"]
            best = arrays["best_score"]
            model.best_score_ = float(best) if best.ndim == 0 else best
        if header.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(header["feature_names"], dtype=object)
        stats = persistence.stats_from(arrays, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise persistence.FileFormatError(f"{path}: corrupt model file ({exc})") from exc
    if stats is not None:
        model.stats_ = stats
    return model
