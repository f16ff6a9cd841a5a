"""Dask arrays as the backend reads them: row blocks of whole rows, y and weights
aligned with X's blocks, checked where their sizes are known."""

import math
import numbers

import numpy as np

from .._validation import as_2d_array

SPLIT_EVERY = 8
"""Default fan-in of the merge tree: states merged per task."""

_INSTALL_HINT = "fastlin.dask needs Dask with its distributed scheduler: pip install fastlin[dask]"


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without Dask
        raise ImportError(_INSTALL_HINT) from exc
    return dask, da


# ---------------------------------------------------------------------------------------
# input checks


def _is_dask_collection(obj):
    return hasattr(obj, "__dask_graph__") and callable(getattr(obj, "__dask_graph__"))


def _to_dask_array(obj, name):
    """A Dask array from a Dask array, DataFrame or Series (others: None)."""
    if not _is_dask_collection(obj):
        return None
    if hasattr(obj, "to_dask_array"):
        # Row counts per partition stay unknown: the blocks check them on the workers.
        return obj.to_dask_array()
    _, da = _dask()
    if isinstance(obj, da.Array):
        return obj
    raise ValueError(
        f"{name} is a Dask {type(obj).__name__}; expected a dask.array.Array, "
        "a Dask DataFrame or a Dask Series"
    )


def _as_X(X, name="X"):
    _, da = _dask()
    Xd = _to_dask_array(X, name)
    if Xd is None:
        arr = as_2d_array(X, name)
        Xd = da.from_array(arr, chunks=(max(1, min(arr.shape[0], 65536)), -1))
    if Xd.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got a "
            f"{Xd.ndim}-D Dask array of shape {Xd.shape}"
        )
    if math.isnan(Xd.shape[1]):
        raise ValueError(
            f"{name} has an unknown number of columns; compute its chunk sizes "
            f"first ({name}.compute_chunk_sizes())"
        )
    if Xd.numblocks[1] != 1:
        raise ValueError(
            f"{name} has its {Xd.shape[1]} columns split into {Xd.numblocks[1]} chunks "
            f"{Xd.chunks[1]}; every block must hold whole rows. Rechunk the columns into one "
            f"first: {name} = {name}.rechunk({{1: -1}})"
        )
    if Xd.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {Xd.shape}); need at least one feature")
    return Xd


def _as_rows(v, Xd, name, ndims=(1, 2)):
    """y or sample_weight as a Dask array with X's row chunks (checked where known)."""
    if v is None:
        return None
    _, da = _dask()
    vd = _to_dask_array(v, name)
    if vd is None:
        arr = np.asarray(v)
        if any(math.isnan(c) for c in Xd.chunks[0]):
            raise ValueError(
                f"X has unknown row-chunk sizes, so an in-memory {name} cannot be split to "
                f"match; pass {name} as a Dask array with the same partitions as X"
            )
        if arr.ndim < 1 or arr.shape[0] != Xd.shape[0]:
            raise ValueError(
                f"X and {name} have different numbers of rows: X has "
                f"{Xd.shape[0]}, {name} has shape {arr.shape}"
            )
        vd = da.from_array(arr, chunks=(Xd.chunks[0],) + tuple((s,) for s in arr.shape[1:]))
    if vd.ndim not in ndims:
        raise ValueError(
            f"{name} must be {' or '.join(f'{k}-D' for k in ndims)}, got a "
            f"{vd.ndim}-D array of shape {vd.shape}"
        )
    if vd.ndim == 2 and vd.numblocks[1] != 1:
        raise ValueError(
            f"{name} has its columns split into {vd.numblocks[1]} chunks; "
            f"rechunk them into one first: {name} = {name}.rechunk({{1: -1}})"
        )
    if vd.numblocks[0] != Xd.numblocks[0]:
        raise ValueError(
            f"X and {name} have different row chunks: X has {Xd.numblocks[0]} row chunks, "
            f"{name} has {vd.numblocks[0]}; rechunk {name} to match: "
            f"{name} = {name}.rechunk({{0: X.chunks[0]}})"
        )
    for i, (a, b) in enumerate(zip(Xd.chunks[0], vd.chunks[0])):
        if not (math.isnan(a) or math.isnan(b)) and a != b:
            raise ValueError(
                f"X and {name} have different row chunks: row chunk {i} has {a} rows in X and "
                f"{b} in {name}; rechunk {name} to match: "
                f"{name} = {name}.rechunk({{0: X.chunks[0]}})"
            )
    return vd


def _row_blocks(arr):
    """The blocks of a row-chunked Dask array as a list of Delayed objects."""
    if arr is None:
        return None
    return list(arr.to_delayed().ravel())


def _check_rows(i, X, **others):
    """On the worker: the block's arrays have one row count (unknown chunks are not
    checked on the client)."""
    for name, v in others.items():
        if v is not None and np.shape(v)[0] != X.shape[0]:
            raise ValueError(
                f"row block {i}: X has {X.shape[0]} rows but {name} has {np.shape(v)[0]}; "
                f"X and {name} must be partitioned alike"
            )


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _aligned(X, y, sample_weight):
    """Dask DataFrame X with Dask Series y / weights: arrays cut from one frame.

    Converted one by one, columns of the same ``read_parquet`` frame can come out in
    different partitions (the reader fuses small files by the bytes of the columns it
    reads), so the rows of X and y would not line up block for block. Taken from a single
    frame, every block holds the same rows of each; X keeps its columns' dtype.
    """
    others = [v for v in (y, sample_weight) if v is not None]
    if not (
        hasattr(X, "columns")
        and _is_dask_collection(X)
        and others
        and all(_is_dask_collection(v) and hasattr(v, "to_frame") for v in others)
    ):
        return X, y, sample_weight
    dask, da = _dask()
    cols = list(X.columns)
    frame = X
    keys = []
    try:
        for i, v in enumerate(others):
            key = f"__fastlin_{i}"
            frame = frame.assign(**{key: v})
            keys.append(key)
    except (ValueError, TypeError, NotImplementedError):
        # Frames Dask cannot align (unknown divisions of different origins): converted
        # one by one, their blocks are checked row for row on the workers instead.
        return X, y, sample_weight
    parts = frame.to_delayed()
    x_dtype = np.result_type(*[np.dtype(t) for t in X.dtypes])

    def column_array(selection, dtype, ndim):
        take = dask.delayed(_frame_block, pure=True)
        blocks = [
            da.from_delayed(
                take(p, selection, dtype, ndim),
                dtype=dtype,
                shape=(np.nan, len(selection)) if ndim == 2 else (np.nan,),
            )
            for p in parts
        ]
        return da.concatenate(blocks, axis=0)

    Xd = column_array(cols, x_dtype, 2)
    arrays = [column_array([k], np.dtype(v.dtype), 1) for k, v in zip(keys, others)]
    y_out = arrays.pop(0) if y is not None else None
    w_out = arrays.pop(0) if sample_weight is not None else None
    return Xd, y_out, w_out


def _frame_block(part, columns, dtype, ndim):
    values = part[columns].to_numpy(dtype=dtype)
    return values[:, 0] if ndim == 1 else values


def _named(model, X):
    """``feature_names_in_`` from a Dask DataFrame's columns (e.g. ``dd.read_parquet``)."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        model.feature_names_in_ = np.asarray([str(c) for c in columns], dtype=object)
    else:
        model.__dict__.pop("feature_names_in_", None)
    return model
