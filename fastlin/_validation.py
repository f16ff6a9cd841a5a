"""Input checks shared by the accumulators and estimators.

Every check runs before any state changes, and every message names the problem: the
argument, the shape or dtype found and expected, the position of the first NaN or inf.
"""

import numbers

import numpy as np

_SMALL_INTS = (np.uint8, np.int8, np.uint16, np.int16)


def as_2d_array(X, name="X", allow_1d_columns=False):
    """Return ``X`` as a 2-D numeric ndarray without copying when possible.

    Accepts uint8, other integer, float32 and float64 arrays in C or Fortran order,
    read-only or memory-mapped; booleans become uint8. Raises ``ValueError`` naming the
    problem for complex, object or string dtypes, 1-D input (with the reshape that fixes
    it) and arrays of more than two dimensions.
    """
    arr = _native(np.asarray(X))
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    check_dtype(arr, name)
    if arr.ndim == 1:
        if allow_1d_columns:
            return arr.reshape(-1, 1)
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got a 1-D array of shape "
            f"{arr.shape}; use {name}.reshape(-1, 1) for a single feature or "
            f"{name}.reshape(1, -1) for a single sample"
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got {arr.ndim}-D array of "
            f"shape {arr.shape}"
        )
    return arr


def as_targets(y, n_rows, name="y"):
    """Return targets as a 2-D array of shape (n_rows, n_targets) and whether y was 1-D."""
    arr = _native(np.asarray(y))
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    check_dtype(arr, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got {arr.ndim}-D array of shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(
            f"X and {name} have different numbers of rows: X has {n_rows}, {name} has {arr.shape[0]}"
        )
    was_1d = arr.ndim == 1
    if was_1d:
        arr = arr.reshape(-1, 1)
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has zero columns (shape {arr.shape}); need at least one target")
    return arr, was_1d


def _native(arr):
    """``arr`` in native byte order (a copy only for big-endian data, e.g. from old files)."""
    if arr.dtype.isnative or arr.dtype.kind not in "biufc":
        return arr
    return arr.astype(arr.dtype.newbyteorder("="))


# -- the estimators' edge: scikit-learn's validation, fastlin's dtypes and layouts ---------


def _validate(estimator, X, y, reset, **kw):
    """``sklearn.utils.validation.validate_data``, leaving the estimator as it was when it
    raises (it sets ``n_features_in_`` / ``feature_names_in_`` on ``reset`` before the
    checks that may fail)."""
    from sklearn.utils.validation import validate_data

    saved = {
        k: estimator.__dict__[k]
        for k in ("n_features_in_", "feature_names_in_")
        if k in estimator.__dict__
    }
    try:
        return validate_data(estimator, X, y, reset=reset, **kw)
    except BaseException:
        for k in ("n_features_in_", "feature_names_in_"):
            estimator.__dict__.pop(k, None)
        estimator.__dict__.update(saved)
        raise


_EDGE = dict(dtype="numeric", accept_sparse=False, ensure_all_finite=False, order=None, copy=False)


def _edge_array(X, name="X"):
    X = _native(X)
    if X.dtype == np.bool_:
        return X.view(np.uint8)
    if X.dtype == np.float16:
        return X.astype(np.float32)
    return X


def edge_X(estimator, X, *, reset, ensure_min_samples=1):
    """X at an estimator's edge, as scikit-learn validates it (``validate_data``).

    Sets (``reset``) or checks ``n_features_in_`` and ``feature_names_in_``; refuses
    sparse, complex, empty and non-2-D input with scikit-learn's messages; converts
    object arrays of numbers, pandas nullable columns and booleans, and big-endian data
    to native order. uint8, integer, float32 and float64 arrays in C or Fortran order are
    not copied. NaN and inf are left to the accumulators, which name their position.
    """
    X = _validate(
        estimator, X, "no_validation", reset, ensure_min_samples=ensure_min_samples, **_EDGE
    )
    return _edge_array(X)


def edge_Xy(estimator, X, y, *, reset, classifier=False, ensure_min_samples=1):
    """(X, y) at an estimator's edge; see :func:`edge_X`.

    Regressors: y numeric, 1-D or 2-D (object arrays of numbers become float64).
    Classifiers: y 1-D labels of any kind (numbers, strings, booleans, categories), a
    column vector raveled; continuous targets raise scikit-learn's "Unknown label type".
    """
    if y is not None:
        yv = np.asarray(y) if not hasattr(y, "dtype") or hasattr(y, "to_numpy") else y
        if getattr(yv, "dtype", None) is not None and np.dtype(yv.dtype).kind == "f":
            check_finite(np.asarray(yv), "y")  # names the position, before sklearn's check
    if classifier:
        X, y = _validate(
            estimator,
            X,
            y,
            reset,
            ensure_min_samples=ensure_min_samples,
            multi_output=False,
            y_numeric=False,
            **_EDGE,
        )
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y)
        if y.dtype == np.bool_ or y.dtype.kind in "biuf":
            y = _native(y)
    else:
        X, y = _validate(
            estimator,
            X,
            y,
            reset,
            ensure_min_samples=ensure_min_samples,
            multi_output=True,
            y_numeric=True,
            **_EDGE,
        )
        y = _edge_array(np.asarray(y))
    return _edge_array(X), y


def check_dtype(arr, name):
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(
            f"{name} has complex dtype {arr.dtype}; fastlin fits real-valued data only"
        )
    if kind not in "uif":
        raise ValueError(
            f"{name} has dtype {arr.dtype} (kind {kind!r}); expected a numeric dtype "
            "(uint8, integer, float32 or float64)"
        )
    if kind == "f" and arr.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name} has dtype {arr.dtype}; expected float32 or float64")
    if kind in "ui" and arr.dtype.itemsize > 8:
        raise ValueError(
            f"{name} has dtype {arr.dtype}; integers wider than 64 bits are not supported"
        )


def check_finite(arr, name="X"):
    """Raise ``ValueError`` naming the first NaN or inf position in a float array.

    The common case (all finite) costs two reductions and no temporary array: NaN
    propagates through ``min``/``max`` and an inf shows up as an extreme.
    """
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    lo, hi = arr.min(), arr.max()
    if np.isfinite(lo) and np.isfinite(hi):
        return
    bad = ~np.isfinite(arr)
    pos = tuple(int(i) for i in np.argwhere(bad)[0])
    value = arr[pos]
    what = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    count = int(bad.sum())
    raise ValueError(
        f"{name} contains {what} at position {pos} ({count} non-finite value(s) in all)"
    )


def check_sample_weight(sample_weight, n_rows):
    """Validate sample weights: 1-D, one per row, finite, non-negative, not all zero.

    Returns a float64 array, or None when ``sample_weight`` is None. Integer weights are
    kept exact (float64 represents every integer weight below 2**53).
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        if not isinstance(sample_weight, numbers.Real):
            raise ValueError(f"sample_weight must be real numbers, got {sample_weight!r}")
        w = np.full(n_rows, float(w))
    check_dtype(w, "sample_weight")
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D of shape (n_samples,), got shape {w.shape}")
    if w.shape[0] != n_rows:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but X has {n_rows} rows; need one weight per row"
        )
    w = w.astype(np.float64, copy=False)
    check_finite(w, "sample_weight")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(
            f"sample_weight must be non-negative; sample_weight[{i}] = {float(w[i])!r}"
        )
    if n_rows and not (w > 0).any():
        raise ValueError(
            "sample_weight is zero for every row; at least one row needs positive weight"
        )
    return w


def check_real_scalar(value, name, low=None, low_inclusive=True):
    """Check a real, finite hyperparameter and an optional lower bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value!r}")
    return float(value)
