"""Array stores read by slicing: HDF5 datasets (h5py), Zarr arrays, and any object with
``shape``, a NumPy ``dtype`` and row slicing.

Only the rows of one chunk are in memory at a time: ``X[r0:r1]`` is read per chunk, so a
dataset larger than memory streams like an IDX or ``.npy`` file. Rows of more than two
dimensions (images) are flattened. Targets, one value per row, are read whole.

Files: ``.h5`` / ``.hdf5`` (``pip install 'fastlin[hdf5]'``) and ``.zarr`` directories
(``pip install 'fastlin[zarr]'``), with ``dataset=`` naming the array of features and
``labels=`` the array of targets in the same file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .errors import DataSourceError
from .files import _FileRecord, _native
from .sources import ChunkSource, _FileBacked, _targets_from


def is_sliceable(obj):
    """An array store read by slicing (not an in-memory ndarray, not a Dask array)."""
    if isinstance(obj, np.ndarray) or hasattr(obj, "__dask_graph__") or hasattr(obj, "columns"):
        return False
    if not (hasattr(obj, "shape") and hasattr(obj, "dtype") and hasattr(obj, "__getitem__")):
        return False
    try:
        np.dtype(obj.dtype)
    except TypeError:
        return False  # e.g. a tensor: its dtype is not NumPy's, np.asarray reads it
    return len(obj.shape) >= 2


def _sample_fingerprint(X):
    """Hash of shape, dtype and up to 64 evenly spaced rows, each read as a slice."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((tuple(X.shape), np.dtype(X.dtype).str)).encode())
    n = int(X.shape[0])
    if n:
        for i in np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64)):
            h.update(np.ascontiguousarray(np.asarray(X[int(i) : int(i) + 1])).tobytes())
    return h.hexdigest()


class SlicedSource(ChunkSource):
    """Rows of an array store read a chunk at a time by slicing.

    Parameters
    ----------
    X : object with ``shape`` (n_rows, ...), a NumPy ``dtype`` and ``X[r0:r1]``
    y : array-like of shape (n_rows,) or (n_rows, n_targets), optional
        Read whole (a sliceable store is converted with ``np.asarray``).
    n_classes : int, optional
    """

    kind = "sliced"

    def __init__(self, X, y=None, *, n_classes=None, records=()):
        shape = tuple(int(s) for s in X.shape)
        dtype = np.dtype(X.dtype)
        if dtype == np.bool_:
            dtype = np.dtype(np.uint8)
        n_features = int(np.prod(shape[1:]))
        if n_features == 0:
            raise DataSourceError(f"the array has zero features (shape {shape})")
        if y is not None and not isinstance(y, (str, os.PathLike)):
            y = np.asarray(y)
        targets = _targets_from(y, shape[0], n_classes, "X")
        super().__init__(shape[0], n_features, dtype, shape[1:], targets, n_classes, records)
        self._X = X

    def _iter_x(self, chunk_rows, start_row, stop_row):
        for r0 in range(start_row, stop_row, chunk_rows):
            r1 = min(r0 + chunk_rows, stop_row)
            block = np.asarray(self._X[r0:r1])
            if block.dtype == np.bool_:
                block = block.view(np.uint8)
            yield r0, _native(np.ascontiguousarray(block.reshape(r1 - r0, self.n_features)))

    def _x_identity(self):
        return {"kind": self.kind, "fingerprint": _sample_fingerprint(self._X)}


class StoreSource(_FileBacked, SlicedSource):
    """A dataset of an HDF5 file or a Zarr store, opened by path (pickles as the path)."""

    def __init__(self, path, dataset, labels=None, *, n_classes=None):
        path = Path(path)
        self.kind = "zarr" if _is_zarr(path) else "hdf5"
        self._open_args = (path.absolute(), dataset)
        self._open_kwargs = {"labels": labels, "n_classes": n_classes}
        self._store = _open_store(path, self.kind)
        X = _dataset(self._store, dataset, path)
        y = _dataset(self._store, labels, path)[...] if isinstance(labels, str) else labels
        records = [_FileRecord(path)] if path.is_file() else []
        super().__init__(X, y, n_classes=n_classes, records=records)
        self.dataset = dataset

    def _x_identity(self):
        ident = super()._x_identity()
        ident.update(path=str(self._open_args[0]), dataset=self.dataset)
        return ident


def _is_zarr(path):
    return path.name.lower().endswith(".zarr") or (
        path.is_dir()
        and (
            (path / ".zarray").exists()
            or (path / ".zgroup").exists()
            or (path / "zarr.json").exists()
        )
    )


def store_format(path):
    """'hdf5' or 'zarr' from a path, else None."""
    path = Path(path)
    if _is_zarr(path):
        return "zarr"
    if path.is_file() and path.name.lower().endswith((".h5", ".hdf5", ".hdf")):
        return "hdf5"
    return None


def _open_store(path, kind):
    try:
        if kind == "zarr":
            import zarr

            return zarr.open(str(path), mode="r")
        import h5py

        return h5py.File(path, "r")
    except ImportError:
        raise ImportError(
            f"{path}: reading {kind.upper()} needs "
            f"{'zarr' if kind == 'zarr' else 'h5py'}: pip install "
            f"'fastlin[{kind}]'"
        ) from None
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot open it as {kind.upper()}: {exc}") from exc


def _dataset(store, name, path):
    if name is None:
        raise DataSourceError(
            f"{path}: name the array of features with dataset=; the file holds {_names(store)}"
        )
    try:
        return store[name]
    except KeyError:
        raise DataSourceError(
            f"{path}: no array {name!r}; the file holds {_names(store)}"
        ) from None


def _names(store):
    try:
        return sorted(store.keys())
    except Exception:  # a bare array store has no keys
        return []
