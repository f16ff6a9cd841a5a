"""Iterables of chunks as users produce them: tuples or lists of arrays, pandas DataFrames
(``pandas.read_csv(..., chunksize=...)``), tensors (anything with ``__array__``).

:class:`IterableChunks` turns each item into ``(X, y, sample_weight)`` NumPy arrays that
the accumulators validate as they validate arrays (dtype, shape, NaN with its position);
an item that is none of these is refused with its index. It reads its iterable once, as
the iterable allows: a one-shot reader can be fitted once, and cannot be checkpointed.
"""

from __future__ import annotations

import numpy as np

from .errors import DataSourceError


def _is_frame(obj):
    return hasattr(obj, "columns") and hasattr(obj, "to_numpy") and hasattr(obj, "iloc")


def _as_array(value, what, index):
    if value is None:
        return None
    if _is_frame(value) or hasattr(value, "to_numpy"):
        return _frame_values(value, what, index)
    try:
        return np.asarray(value)
    except Exception as exc:  # a tensor on a device, a ragged list, ...
        raise DataSourceError(
            f"chunk {index}: {what} cannot be read as an array ({type(value).__name__}: {exc})"
        ) from exc


def _frame_values(frame, what, index, labels=False):
    """A DataFrame or Series as one NumPy array; nullable columns must hold no NA.

    Features must be numeric; targets (``labels``) may be any labels (strings,
    categories): the estimator decides what it accepts.
    """
    cols = frame.columns if hasattr(frame, "columns") else [getattr(frame, "name", what)]
    try:
        if frame.isna().to_numpy().any():
            mask = frame.isna().to_numpy()
            r = int(np.argwhere(mask)[0][0])
            c = int(np.argwhere(mask)[0][1]) if mask.ndim == 2 else 0
            raise DataSourceError(
                f"chunk {index}: {what} column {cols[c]!r} is missing at "
                f"row {r} of the chunk; fill or drop missing values first"
            )
        if labels and not hasattr(frame, "columns") and not hasattr(frame.dtype, "numpy_dtype"):
            return np.asarray(frame.to_numpy())
        dtypes = list(frame.dtypes) if hasattr(frame, "columns") else [frame.dtype]
        numeric = []
        for t, c in zip(dtypes, cols):
            try:
                nt = np.dtype(getattr(t, "numpy_dtype", t))
            except TypeError:  # pandas' own dtypes (strings, categories) have no NumPy one
                nt = None
            if nt is None or nt.kind not in "biuf":
                raise DataSourceError(
                    f"chunk {index}: {what} column {c!r} has dtype {t}; it must be numeric"
                )
            numeric.append(nt)
        return frame.to_numpy(dtype=np.result_type(*numeric) if numeric else None)
    except DataSourceError:
        raise
    except (TypeError, ValueError) as exc:
        raise DataSourceError(f"chunk {index}: {what} cannot be read as numbers: {exc}") from exc


class IterableChunks:
    """Chunks from an iterable, as ``(X, y, sample_weight)`` arrays.

    Parameters
    ----------
    chunks : iterable
        Items are ``(X, y)`` or ``(X, y, sample_weight)`` tuples or lists (arrays,
        tensors, DataFrames or Series), or DataFrames holding the target column.
    target : str, optional
        The target column of DataFrame items (required for them).
    features : sequence of str, optional
        Feature columns of DataFrame items, in order (default: all but the target).

    Attributes
    ----------
    feature_names : list of str or None
        Column names of the first DataFrame item's features (later items must have the
        same), None for array items.
    """

    def __init__(self, chunks, target=None, features=None):
        self._chunks = chunks
        self._one_shot = iter(chunks) is chunks
        self._read = False
        self.target = target
        self.features = None if features is None else [str(c) for c in features]
        self.feature_names = None

    def __iter__(self):
        if self._one_shot and self._read:
            raise DataSourceError(
                "this iterable of chunks is one-shot (a generator or a reader) and was "
                "already read; a fit that reads its rows more than once needs a list, a "
                "file source (fastlin.open_source(path)) or a callable returning a fresh "
                "iterator"
            )
        self._read = True
        for i, item in enumerate(self._chunks):
            yield self._unpack(item, i)

    def _unpack(self, item, i):
        if _is_frame(item):
            return self._from_frame(item, i)
        if isinstance(item, (tuple, list)) and len(item) in (2, 3):
            X, y = item[0], item[1]
            w = item[2] if len(item) == 3 else None
            if _is_frame(X):
                self._names(list(map(str, X.columns)), i)
            return (_as_array(X, "X", i), _as_array(y, "y", i), _as_array(w, "sample_weight", i))
        raise DataSourceError(
            f"chunk {i}: expected (X, y), (X, y, sample_weight) or a DataFrame with "
            f"target=..., got {type(item).__name__}"
            + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "")
        )

    def _from_frame(self, frame, i):
        if self.target is None:
            raise DataSourceError(
                f"chunk {i} is a DataFrame: name its target column with target=..."
            )
        cols = list(map(str, frame.columns))
        if self.target not in cols:
            raise DataSourceError(
                f"chunk {i}: no column {self.target!r}; the columns are {cols[:12]}"
            )
        features = self.features or [c for c in cols if c != self.target]
        missing = [c for c in features if c not in cols]
        if missing:
            raise DataSourceError(f"chunk {i}: no column(s) {missing}")
        self._names(features, i)
        frame = frame.rename(columns=str)
        return (
            _frame_values(frame[features], "X", i),
            _frame_values(frame[self.target], "y", i, labels=True),
            None,
        )

    def _names(self, names, i):
        if self.feature_names is None:
            self.feature_names = list(names)
        elif list(names) != self.feature_names:
            raise DataSourceError(
                f"chunk {i} has columns {list(names)[:12]}, the first chunk "
                f"had {self.feature_names[:12]}"
            )
