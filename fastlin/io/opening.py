"""Opening data: ``open_source`` and the constructors of each source."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from numpy.typing import ArrayLike
from .errors import DataSourceError
from .files import _check_int, _sniff
from .sources import ArraySource, ChunkSource, IDXSource, NpySource


def open_idx(
    images_path: os.PathLike | str,
    labels: os.PathLike | str | ArrayLike | None = None,
    *,
    n_classes: int | None = None,
) -> IDXSource:
    """Open an IDX file (raw or gzip, detected from its first bytes) as a chunk source.

    Parameters
    ----------
    images_path : str or path-like
        IDX file of any supported type; items of shape ``dims[1:]`` become rows of
        ``prod(dims[1:])`` features (a 1-D file gives one feature).
    labels : str, path-like or array-like, optional
        IDX label file (1-D), ``.npy`` file or array with one target (or one row of
        targets) per item.
    n_classes : int, optional
        When given, labels must be integers in ``[0, n_classes)`` (checked at open).

    Returns
    -------
    IDXSource
    """
    if n_classes is not None:
        n_classes = _check_int(n_classes, "n_classes", low=1)
    return IDXSource(images_path, labels, n_classes=n_classes)


def open_npy(
    X_path: os.PathLike | str,
    y: os.PathLike | str | ArrayLike | None = None,
    *,
    n_classes: int | None = None,
) -> NpySource:
    """Open a ``.npy`` file (memory-mapped) as a chunk source; ``y`` as for :func:`open_idx`.

    Returns
    -------
    NpySource
    """
    if n_classes is not None:
        n_classes = _check_int(n_classes, "n_classes", low=1)
    return NpySource(X_path, y, n_classes=n_classes)


def from_arrays(
    X: ArrayLike, y: ArrayLike | os.PathLike | str | None = None, *, n_classes: int | None = None
) -> ChunkSource:
    """Wrap arrays in memory as a chunk source (chunks are views).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, *item_shape)
        More than two dimensions are flattened to rows (a copy unless C-contiguous).
    y : array-like of shape (n_samples,) or (n_samples, n_targets), or a path, optional
    n_classes : int, optional

    Returns
    -------
    ArraySource
    """
    if n_classes is not None:
        n_classes = _check_int(n_classes, "n_classes", low=1)
    from .sliced import SlicedSource, is_sliceable

    if is_sliceable(X):  # an HDF5 dataset, a Zarr array: read a chunk at a time
        return SlicedSource(X, y, n_classes=n_classes)
    return ArraySource(X, y, n_classes=n_classes)


def open_source(
    data: ChunkSource | ArrayLike | os.PathLike | str | Iterable[Any],
    labels: os.PathLike | str | ArrayLike | None = None,
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    dataset: str | None = None,
    n_classes: int | None = None,
) -> ChunkSource:
    """Any supported input as a :class:`ChunkSource`.

    Parameters
    ----------
    data : ChunkSource, array-like, or str / path-like
        A path is opened by its suffix for tables (``.parquet`` or a directory of
        Parquet files, ``.arrow`` / ``.feather``, ``.csv`` / ``.csv.gz``; see
        :mod:`fastlin.io.tabular`), else by content: gzip or raw IDX, or ``.npy``.
    labels : str, path-like or array-like, optional
        Targets of an IDX, ``.npy`` or array source. Not allowed when ``data`` is
        already a ChunkSource.
    target : str, optional
        Tables: the name of the target column.
    features : sequence of str, optional
        Tables: the feature columns, in order (default: all but the target).
    dataset : str, optional
        HDF5 files (``.h5``) and Zarr stores (``.zarr``): the array of features;
        ``labels`` then names the array of targets in the same file (see
        :mod:`fastlin.io.sliced`).
    n_classes : int, optional

    Returns
    -------
    ChunkSource
    """
    if isinstance(data, (str, os.PathLike)) and Path(data).exists():
        from .sliced import StoreSource, store_format
        from .tabular import TabularSource, tabular_format

        path = Path(data)
        if store_format(path) is not None:
            return StoreSource(path, dataset, labels, n_classes=n_classes)
        if dataset is not None:
            raise ValueError(f"{path}: dataset= names an array of an HDF5 file or Zarr store")
        fmt = None
        if not path.is_dir() or any(
            tabular_format(p) == "parquet" for p in path.iterdir() if p.is_file()
        ):
            fmt = tabular_format(path)
        if fmt is not None:
            if labels is not None:
                raise ValueError(
                    f"{path} is a table: name its target column with target=, not labels="
                )
            return TabularSource(path, target, features, n_classes=n_classes, format=fmt)
    if _is_chunk_iterable(data):
        from .chunks import IterableChunks

        if isinstance(data, IterableChunks) and target is None and features is None:
            return data
        if labels is not None:
            raise ValueError(
                "labels come with the chunks of an iterable (X, y) or with target= for DataFrames"
            )
        return IterableChunks(data, target=target, features=features)
    if target is not None or features is not None:
        raise ValueError(
            "target= and features= name columns of a table (Parquet, Arrow, "
            "CSV) or of DataFrame chunks; for IDX, .npy and arrays give labels="
        )
    if isinstance(data, ChunkSource):
        if labels is not None:
            raise ValueError(
                "labels cannot be added to an existing ChunkSource; open it with labels"
            )
        if n_classes is not None and data.n_classes != n_classes:
            raise ValueError(
                f"the source was opened with n_classes={data.n_classes}, not {n_classes}"
            )
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"data file not found: {path}")
        if path.is_dir():
            raise DataSourceError(
                f"{path} is a directory; give a file (for MNIST use fastlin.io.datasets.load_mnist)"
            )
        fmt = _sniff(path)
        if fmt == "npy":
            return open_npy(path, labels, n_classes=n_classes)
        return open_idx(path, labels, n_classes=n_classes)
    return from_arrays(data, labels, n_classes=n_classes)


def _is_chunk_iterable(data):
    """An iterable of chunks (an iterator, a reader of DataFrames, a list of (X, y)
    chunks or DataFrames), as opposed to a source or an array-like of rows."""
    from .fold import is_chunked

    return not isinstance(data, (ChunkSource, os.PathLike)) and is_chunked(data)
