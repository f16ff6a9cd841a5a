"""Chunk sources: the protocol (``ChunkSource``) and the array, ``.npy`` and IDX sources."""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .._validation import check_dtype, as_2d_array, as_targets
from .errors import IDXFormatError, LabelError, NpyFormatError, SourceChangedError
from .files import (
    _FileRecord,
    _GZ_ERRORS,
    _array_fingerprint,
    _check_int,
    _gz_count_rest,
    _gz_skip,
    _gzip_error,
    _native,
    _read_exact_into,
    _readonly,
    _sniff,
    default_chunk_rows,
)
from .idx import _read_idx_gzip_whole, _size_message, read_idx_header


class ChunkSource:
    """Rows of a dataset, read in chunks: the one input protocol of every fit path.

    Attributes
    ----------
    n_rows : int
    n_features : int
        Columns of each X chunk (the product of the item dimensions for images).
    dtype : numpy.dtype
        Native-byte-order dtype of the X chunks.
    item_shape : tuple of int
        Shape of one row before flattening (``(28, 28)`` for MNIST, ``(d,)`` for a table).
    has_targets : bool
    y_dtype : numpy.dtype or None
        Native-byte-order dtype of the y chunks.
    y_shape : tuple of int or None
        Shape of the whole target array: ``(n_rows,)`` or ``(n_rows, n_targets)``.
    n_classes : int or None
        When given at open, every label was checked to be an integer in ``[0, n_classes)``.
    """

    kind = "abstract"

    def __init__(
        self,
        n_rows: int,
        n_features: int,
        dtype: DTypeLike,
        item_shape: Iterable[int],
        targets: _Targets | None,
        n_classes: int | None,
        records: Iterable[_FileRecord | None] = (),
    ):
        self.n_rows = int(n_rows)
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self.item_shape = tuple(int(s) for s in item_shape)
        self._t = targets
        self._targets = None if targets is None else targets.array
        self.n_classes = n_classes
        self._records = [r for r in records if r is not None]
        if targets is not None and targets.record is not None:
            self._records.append(targets.record)

    # -- protocol -------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_features)``."""
        return (self.n_rows, self.n_features)

    @property
    def has_targets(self) -> bool:
        return self._targets is not None

    @property
    def y_dtype(self) -> np.dtype | None:
        return None if self._targets is None else self._targets.dtype.newbyteorder("=")

    @property
    def y_shape(self) -> tuple[int, ...] | None:
        return None if self._targets is None else tuple(self._targets.shape)

    def __len__(self):
        return self.n_rows

    def __iter__(self):
        """``iter_chunks()`` with the default chunk size."""
        return self.iter_chunks()

    def iter_chunks(
        self, chunk_rows: int | None = None, start_row: int = 0, stop_row: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yield ``(X_chunk, y_chunk)`` for rows ``start_row`` to ``stop_row``, in order.

        Parameters
        ----------
        chunk_rows : int, optional
            Rows per chunk (the last chunk may be shorter). Default:
            :func:`default_chunk_rows` (about 8 MiB of X).
        start_row : int, default 0
            First row to yield, for resuming: chunks start at ``start_row``,
            ``start_row + chunk_rows``, ... and together hold exactly the rows
            ``start_row:stop_row`` of a full read (raw IDX and ``.npy`` seek; gzip
            decompresses and discards the rows before).
        stop_row : int, optional
            One past the last row (default ``n_rows``). A gzip source stopped early does
            not reach the CRC at the end of its stream, so damage is detected only when the
            whole stream is read.

        Returns
        -------
        iterator of (X_chunk, y_chunk)
            Arguments are checked, and files re-checked for changes, when ``iter_chunks``
            is called (not at the first ``next``). Each item is:

        X_chunk : ndarray of shape (rows, n_features), dtype ``self.dtype``, read-only
        y_chunk : ndarray of shape (rows,) or (rows, n_targets), read-only, or None

        Raises
        ------
        SourceChangedError
            A file changed since the source was opened (checked before the first chunk).
        CorruptStreamError, IDXFormatError
            Gzip damage or a stream length that does not match the header; may come after
            the last chunk (see the module notes).
        """
        chunk_rows, start_row, stop_row = self._check_range(chunk_rows, start_row, stop_row)
        self._before_read()
        return self._generate(chunk_rows, start_row, stop_row)

    def _generate(self, chunk_rows, start_row, stop_row):
        targets = self._targets
        for r0, X in self._iter_x(chunk_rows, start_row, stop_row):
            y = None
            if targets is not None:
                y = _readonly(_native(np.asarray(targets[r0 : r0 + X.shape[0]])))
            yield _readonly(X), y

    def identity(self) -> dict[str, Any]:
        """A JSON-serialisable dict identifying the data, for checkpoints.

        Holds the kind of source, shape, dtypes, and for each file its resolved path, size,
        modification time and a fingerprint (hash of the size and of the first and last
        64 KiB); for arrays a hash of the shape, dtype and 64 sampled rows. Two equal
        identities mean "very probably the same rows"; a checkpoint should refuse to resume
        on a different identity.
        """
        ident = {
            "kind": self.kind,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "dtype": self.dtype.str,
            "item_shape": list(self.item_shape),
            "n_classes": self.n_classes,
            "X": self._x_identity(),
            "y": None,
        }
        if self._t is not None:
            ident["y"] = dict(
                self._t.full_identity(), dtype=self.y_dtype.str, shape=list(self.y_shape)
            )
        return ident

    def targets(self) -> np.ndarray | None:
        """All targets at once (a read-only array or memory map), or None.

        Targets are small next to X (one value or one row of targets per sample), so a
        classifier can afford them whole, e.g. to find its classes before the first pass.
        """
        if self._targets is None:
            return None
        return _readonly(_native(np.asarray(self._targets)))

    def read_all(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, y)`` with every row in memory: X of shape (n_rows, n_features).

        Meant for small data and tests; it defeats the purpose on data larger than memory.
        """
        X = np.empty((self.n_rows, self.n_features), dtype=self.dtype)
        y_parts = []
        r = 0
        for Xc, yc in self.iter_chunks():
            X[r : r + Xc.shape[0]] = Xc
            r += Xc.shape[0]
            if yc is not None:
                y_parts.append(yc)
        y = None
        if self.has_targets:
            y = np.concatenate(y_parts) if y_parts else np.array(self.targets())
        return X, y

    def locate(self, row: int, col: int | None = None) -> str:
        """Where row ``row`` (global), column ``col`` of X lives, for error messages."""
        return f"row {row}" + ("" if col is None else f", column {col}")

    # -- for subclasses -------------------------------------------------------------

    def _check_range(self, chunk_rows, start_row, stop_row):
        if chunk_rows is None:
            chunk_rows = default_chunk_rows(self.n_features, self.dtype.itemsize)
        chunk_rows = _check_int(chunk_rows, "chunk_rows", low=1)
        start_row = _check_int(start_row, "start_row", low=0, high=self.n_rows)
        if stop_row is None:
            stop_row = self.n_rows
        stop_row = _check_int(stop_row, "stop_row", low=start_row, high=self.n_rows)
        return chunk_rows, start_row, stop_row

    def _before_read(self):
        for rec in self._records:
            rec.check_unchanged()

    def _iter_x(self, chunk_rows, start_row, stop_row):  # pragma: no cover - abstract
        raise NotImplementedError

    def _x_identity(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        y = "" if self._targets is None else f", y_shape={self.y_shape}"
        return (
            f"{type(self).__name__}(n_rows={self.n_rows}, n_features={self.n_features}, "
            f"dtype={self.dtype}{y})"
        )


def _reopen(cls, args, kwargs, identity):
    """Unpickle a file-backed source by opening its files again (see ``__reduce__``)."""
    source = cls(*args, **kwargs)
    if source.identity() != identity:
        raise SourceChangedError(
            f"{args[0]}: the data changed between pickling the source and opening it again "
            "(size, modification time or content fingerprint differ)"
        )
    return source


def _abs_args(path, labels):
    """Constructor arguments with absolute paths, so a copy opens the same files anywhere."""
    if isinstance(labels, (str, os.PathLike)):
        labels = Path(labels).absolute()
    return (Path(path).absolute(), labels)


class _FileBacked:
    """Pickles as paths, not data: a copy reopens the files where it lands (a few hundred
    bytes to send to another process or Dask worker) and raises SourceChangedError unless
    it finds the same identity (path, size, mtime, fingerprint), so the files must be
    reachable at the same absolute paths, e.g. on a shared file system."""

    def __reduce__(self):
        return _reopen, (type(self), self._open_args, self._open_kwargs, self.identity())


class _Targets:
    """A target array (memory map or in memory) plus how to identify it."""

    def __init__(self, array, identity, record=None):
        self.array = array
        self.identity = identity
        self.record = record

    def full_identity(self):
        ident = dict(self.identity)
        if self.record is not None:
            ident.update(self.record.identity())
        return ident


def _targets_from(labels, n_rows, n_classes, x_name):
    """Open ``labels`` (IDX path, .npy path or array) and check it against ``n_rows``."""
    if labels is None:
        return None
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise FileNotFoundError(f"label file not found: {path}")
        fmt = _sniff(path)
        record = _FileRecord(path)
        header_bytes = None
        if fmt == "npy":
            arr = _load_npy(path)
            kind = "npy"
        else:
            header = read_idx_header(path)
            if len(header.shape) != 1:
                raise IDXFormatError(
                    f"{path}: a label file must have 1 dimension (magic 0x0000{header.type_code:02x}01), "
                    f"found {len(header.shape)} dimensions {header.shape}"
                )
            if header.compressed:
                arr = _read_idx_gzip_whole(header)
            else:
                arr = (
                    np.memmap(
                        path,
                        dtype=header.dtype,
                        mode="r",
                        offset=header.header_bytes,
                        shape=header.shape,
                    )
                    if header.shape[0]
                    else np.empty(0, header.dtype)
                )
            kind = "idx"
            header_bytes = (header.header_bytes, header.compressed)
        name = str(path)
        identity = {"kind": kind}
    else:
        arr = np.asarray(labels)
        record = None
        header_bytes = None
        name = "labels"
        if arr.dtype == np.bool_:
            arr = arr.view(np.uint8)
        identity = {"kind": "array", "fingerprint": _array_fingerprint(arr)}
    if arr.ndim == 0:
        raise LabelError(f"{name}: targets must be 1-D or 2-D, got a scalar")
    try:
        check_dtype(arr, name)
    except ValueError as exc:
        raise LabelError(str(exc)) from None
    if arr.ndim not in (1, 2):
        raise LabelError(f"{name}: targets must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise LabelError(
            f"{name} has {arr.shape[0]} labels but {x_name} has {n_rows} rows; "
            "expected one label per row"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise LabelError(f"{name}: targets have zero columns (shape {arr.shape})")
    if n_classes is not None:
        _check_labels(arr, n_classes, name, header_bytes)
    return _Targets(arr, identity, record)


def _check_labels(arr, n_classes, name, header_bytes=None):
    """``header_bytes``: (payload offset, compressed) of an IDX label file, for the message."""
    if arr.ndim != 1:
        raise LabelError(f"{name}: class labels must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "ui":
        raise LabelError(
            f"{name}: class labels must be integers, got dtype {arr.dtype.newbyteorder('=')}"
        )
    if arr.shape[0] == 0:
        return
    # One pass over a memory map; labels are one value per row, small next to X.
    lo, hi = arr.min(), arr.max()
    if lo >= 0 and hi < n_classes:
        return
    bad = np.flatnonzero((np.asarray(arr) < 0) | (np.asarray(arr) >= n_classes))[0]
    value = int(arr[bad])
    where = f"row {bad}"
    if header_bytes is not None:
        start, compressed = header_bytes
        where += f", byte offset {start + bad * arr.dtype.itemsize}"
        if compressed:
            where += " of the decompressed stream"
    raise LabelError(
        f"{name}: label {value} at {where} is out of range; expected 0 <= label < "
        f"{n_classes} (n_classes={n_classes})"
    )


class ArraySource(ChunkSource):
    """Chunks are read-only row slices (views) of arrays in memory."""

    kind = "array"

    def __init__(self, X, y=None, *, n_classes=None):
        X = np.asarray(X)
        if X.ndim > 2:
            item_shape = X.shape[1:]
            X = X.reshape(X.shape[0], -1)
        else:
            X = as_2d_array(X, "X")
            item_shape = X.shape[1:]
        if X.dtype == np.bool_:
            X = X.view(np.uint8)
        if X.shape[1] == 0:
            raise ValueError(f"X has zero features (shape {X.shape}); need at least one column")
        if y is not None and not isinstance(y, (str, os.PathLike)):
            as_targets(y, X.shape[0])  # shape and dtype checks with the usual messages
        targets = _targets_from(y, X.shape[0], n_classes, "X")
        super().__init__(X.shape[0], X.shape[1], X.dtype, item_shape, targets, n_classes)
        self._X = X

    def _iter_x(self, chunk_rows, start_row, stop_row):
        X = self._X
        for r0 in range(start_row, stop_row, chunk_rows):
            yield r0, _native(X[r0 : min(r0 + chunk_rows, stop_row)])

    def _x_identity(self):
        return {"kind": "array", "fingerprint": _array_fingerprint(self._X)}


def _load_npy(path):
    """Memory-map a .npy file after checking its size against its header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    except (ValueError, OSError, SyntaxError) as exc:
        raise NpyFormatError(f"{path}: not a readable .npy file ({exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise NpyFormatError(
            f"{path}: dtype {dtype} cannot be read in chunks; expected a plain numeric dtype"
        )
    expected = offset + math.prod(shape) * dtype.itemsize
    size = os.stat(path).st_size
    if size != expected:
        what = (
            f"truncated by {expected - size} bytes"
            if size < expected
            else f"{size - expected} extra bytes after byte offset {expected}"
        )
        raise NpyFormatError(
            f"{path}: header says shape {shape} of {dtype} ({offset}-byte header + "
            f"{expected - offset} data bytes = {expected} bytes), file has {size} bytes: {what}"
        )
    if math.prod(shape) == 0:
        return np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    return np.load(path, mmap_mode="r")


class NpySource(_FileBacked, ChunkSource):
    """Chunks are read-only row slices of a memory-mapped ``.npy`` file.

    Any numeric dtype and either memory order; big-endian data is converted per chunk.
    Arrays of more than two dimensions are flattened to rows when that needs no copy
    (C order).
    """

    kind = "npy"

    def __init__(self, X_path, y=None, *, n_classes=None):
        self._open_args, self._open_kwargs = _abs_args(X_path, y), {"n_classes": n_classes}
        path = Path(X_path)
        if not path.is_file():
            raise FileNotFoundError(f".npy file not found: {path}")
        self._record = _FileRecord(path)
        X = _load_npy(path)
        try:
            check_dtype(X, str(path))
        except ValueError as exc:
            raise NpyFormatError(str(exc)) from None
        if X.ndim < 2:
            raise NpyFormatError(
                f"{path}: X must have at least 2 dimensions (n_samples, n_features), found shape "
                f"{X.shape}"
            )
        item_shape = X.shape[1:]
        if X.ndim > 2:
            if not X.flags.c_contiguous:
                raise NpyFormatError(
                    f"{path}: a Fortran-ordered array of shape {X.shape} cannot be flattened to "
                    "rows without a full copy; save it in C order or as 2-D"
                )
            X = X.reshape(X.shape[0], -1)
        if X.shape[1] == 0:
            raise NpyFormatError(f"{path}: X has zero features (shape {X.shape})")
        targets = _targets_from(y, X.shape[0], n_classes, str(path))
        super().__init__(
            X.shape[0], X.shape[1], X.dtype, item_shape, targets, n_classes, records=[self._record]
        )
        self._X = X

    def locate(self, row, col=None):
        where = f"{self._record.path}: row {row}"
        if col is None:
            return where
        offset = getattr(self._X, "offset", None)
        if offset is None:
            return f"{where}, column {col}"
        n, d = self._X.shape
        item = (row * d + col) if not self._X.flags.f_contiguous or d == 1 else (col * n + row)
        return f"{where}, column {col} (byte offset {offset + item * self._X.itemsize})"

    def _iter_x(self, chunk_rows, start_row, stop_row):
        X = self._X
        for r0 in range(start_row, stop_row, chunk_rows):
            yield r0, _native(np.asarray(X[r0 : min(r0 + chunk_rows, stop_row)]))

    def _x_identity(self):
        return dict(
            self._record.identity(),
            order="F" if (self._X.flags.f_contiguous and not self._X.flags.c_contiguous) else "C",
        )


class IDXSource(_FileBacked, ChunkSource):
    """Rows of an IDX file (raw or gzip-compressed), items flattened to rows.

    Raw files are read chunk by chunk with ``readinto`` after a seek to ``start_row``;
    gzip files are decompressed as a stream, discarding rows before ``start_row``.
    Multi-byte types are stored big-endian and converted to native order per chunk.
    """

    kind = "idx"

    def __init__(self, images_path, labels=None, *, n_classes=None):
        self._open_args, self._open_kwargs = (
            _abs_args(images_path, labels),
            {"n_classes": n_classes},
        )
        path = Path(images_path)
        if not path.is_file():
            raise FileNotFoundError(f"IDX file not found: {path}")
        self._record = _FileRecord(path)
        header = read_idx_header(path)
        self.header = header
        item_shape = header.shape[1:] if len(header.shape) > 1 else (1,)
        n_features = math.prod(item_shape)
        if n_features == 0:
            raise IDXFormatError(
                f"{path}: items have zero features (dimensions {header.shape}); expected at least one"
            )
        targets = _targets_from(labels, header.shape[0], n_classes, str(path))
        super().__init__(
            header.shape[0],
            n_features,
            header.dtype,
            item_shape,
            targets,
            n_classes,
            records=[self._record],
        )

    def locate(self, row, col=None):
        where = f"{self._record.path}: item {row}"
        if col is None:
            return where
        offset = self.header.header_bytes + (row * self.n_features + col) * self.dtype.itemsize
        stream = " of the decompressed stream" if self.header.compressed else ""
        return f"{where}, value {col} (byte offset {offset}{stream})"

    @property
    def compressed(self):
        return self.header.compressed

    def _x_identity(self):
        return dict(
            self._record.identity(),
            kind="idx",
            compressed=self.header.compressed,
            type_code=self.header.type_code,
            shape=list(self.header.shape),
        )

    def _iter_x(self, chunk_rows, start_row, stop_row):
        if self.header.compressed:
            yield from self._iter_gzip(chunk_rows, start_row, stop_row)
        else:
            yield from self._iter_raw(chunk_rows, start_row, stop_row)

    def _new_chunk(self, rows):
        arr = np.empty((rows, self.n_features), dtype=self.header.dtype)
        return arr, memoryview(arr.reshape(-1).view(np.uint8))

    def _iter_raw(self, chunk_rows, start_row, stop_row):
        h = self.header
        row_bytes = self.n_features * h.dtype.itemsize
        with open(h.path, "rb", buffering=0) as f:
            f.seek(h.header_bytes + start_row * row_bytes)
            for r0 in range(start_row, stop_row, chunk_rows):
                rows = min(chunk_rows, stop_row - r0)
                arr, view = self._new_chunk(rows)
                got = _read_exact_into(f, view)
                if got < len(view):
                    # The size was checked at open; only a concurrent truncation gets here.
                    raise IDXFormatError(_size_message(h, h.header_bytes + r0 * row_bytes + got))
                yield r0, _native(arr)

    def _iter_gzip(self, chunk_rows, start_row, stop_row):
        h = self.header
        path = h.path
        row_bytes = self.n_features * h.dtype.itemsize
        with gzip.open(path, "rb") as f:
            offset = h.header_bytes + start_row * row_bytes
            skipped = _gz_skip(f, offset, path, 0)
            if skipped < offset:
                raise IDXFormatError(_size_message(h, skipped))
            for r0 in range(start_row, stop_row, chunk_rows):
                rows = min(chunk_rows, stop_row - r0)
                arr, view = self._new_chunk(rows)
                try:
                    got = _read_exact_into(f, view)
                except _GZ_ERRORS as exc:
                    raise _gzip_error(path, exc, offset) from exc
                if got < len(view):
                    raise IDXFormatError(_size_message(h, offset + got))
                offset += got
                yield r0, _native(arr)
            if stop_row == self.n_rows:
                extra = _gz_count_rest(f, path, offset)
                if extra:
                    raise IDXFormatError(_size_message(h, offset + extra))
