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
    arr = np.asarray(X)
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
    arr = np.asarray(y)
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


def check_dtype(arr, name):
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} has complex dtype {arr.dtype}; fastlin fits real-valued data only")
    if kind not in "uif":
        raise ValueError(
            f"{name} has dtype {arr.dtype} (kind {kind!r}); expected a numeric dtype "
            "(uint8, integer, float32 or float64)"
        )
    if kind == "f" and arr.dtype.itemsize not in (4, 8):
        raise ValueError(f"{name} has dtype {arr.dtype}; expected float32 or float64")
    if kind in "ui" and arr.dtype.itemsize > 8:
        raise ValueError(f"{name} has dtype {arr.dtype}; integers wider than 64 bits are not supported")


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
    raise ValueError(f"{name} contains {what} at position {pos} ({count} non-finite value(s) in all)")


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
        raise ValueError(f"sample_weight must be non-negative; sample_weight[{i}] = {float(w[i])!r}")
    if n_rows and not (w > 0).any():
        raise ValueError("sample_weight is zero for every row; at least one row needs positive weight")
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
