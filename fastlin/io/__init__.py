"""Chunked data sources: IDX files (raw or gzip), ``.npy`` files and in-memory arrays.

Every fit path reads rows through one protocol, :class:`ChunkSource`::

    source = open_source("train-images-idx3-ubyte.gz", labels="train-labels-idx1-ubyte.gz")
    for X_chunk, y_chunk in source.iter_chunks(chunk_rows=8192):
        state.update(X_chunk, y_chunk)

``X_chunk`` has shape ``(rows, source.n_features)`` (images are flattened, C order, so an
MNIST chunk is ``(rows, 784)`` uint8) and ``y_chunk`` is the matching slice of the
targets, or ``None`` for a source without targets. X is never loaded whole: raw IDX files
are read chunk by chunk with ``readinto``, gzip files are decompressed as a stream (zlib
bound: about 0.5 s for the 47 MB of 60000 MNIST-sized images on this class of machine),
``.npy`` files are memory-mapped and sliced. Targets (one value per row) are memory-mapped
from raw files and read whole from gzip files.

Chunks
------
* Every chunk is a **read-only** array in native byte order. Read-only keeps a consumer
  from writing into a caller's array or a memory map by accident, and gives Numba one
  array type to compile for whatever the source. Copy a chunk to modify it.
* A chunk stays valid after the next one is requested (fresh arrays or views, never a
  reused buffer), so ``list(source.iter_chunks(...))`` is safe. A reused read buffer was
  measured and is not worth the trap: reading 60000 x 784 uint8 rows from the page cache
  into fresh arrays took 11-17 ms against 6-8 ms into one reused buffer, and with a
  consumer that reads every byte (column sums) the totals were within noise of each other
  (31-40 ms against 36-41 ms), all small next to the ~0.1 s of the Gram statistics.
* ``.npy`` and array chunks are views and keep the memory layout of the source: a
  Fortran-ordered array gives strided row slices. IDX chunks are C-contiguous.
* ``.npy`` files and raw IDX label files are memory-mapped: truncating one in place while
  a source reads it can kill the process (SIGBUS), as with any memory map. Replace files
  by renaming a new file into place (what :class:`IDXWriter` does); a rewrite is then
  reported as :class:`SourceChangedError` by the next ``iter_chunks``.

Errors and when they surface
----------------------------
All file errors derive from :class:`DataSourceError` (a ``ValueError``) and name the file,
what was expected and what was found, with the byte offset where it helps.

Headers, sizes, label ranges and image/label counts are checked when the source is opened,
before any chunk is yielded. For a gzip file the uncompressed size is checked against the
size stored in the gzip trailer (ISIZE, modulo 2**32); when the two disagree (a truncated
file, or a file made of several gzip members) the stream is decompressed once at open to
count its bytes. Damage inside a gzip stream (flipped bits) can only be detected when the
CRC is checked at the end of the stream, after the last chunk was yielded, or when zlib
meets an invalid code: :class:`CorruptStreamError` is then raised from ``iter_chunks``.
**A consumer must treat a fit as failed unless the iterator ran to its end without
raising**; the estimators commit a model only then. ``iter_chunks`` on a gzip source
always decompresses to the end of the stream (also when resuming at ``start_row``), so the
CRC covers every byte, unless ``stop_row`` ends the read early.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import numbers
import os
import secrets
import shutil
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validation import check_dtype, as_2d_array, as_targets

__all__ = [
    "DataSourceError",
    "IDXFormatError",
    "NpyFormatError",
    "CorruptStreamError",
    "LabelError",
    "SourceChangedError",
    "ChunkSource",
    "ArraySource",
    "NpySource",
    "IDXSource",
    "IDXHeader",
    "IDXWriter",
    "open_idx",
    "open_npy",
    "from_arrays",
    "open_source",
    "read_idx",
    "read_idx_header",
    "write_idx",
    "default_chunk_rows",
    "DEFAULT_CHUNK_BYTES",
]

DEFAULT_CHUNK_BYTES = 8 << 20
"""Target size of one X chunk when ``chunk_rows`` is not given (8 MiB)."""

_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_IO_BLOCK = 1 << 20

# IDX type codes -> big-endian dtypes (the format stores every multi-byte value MSB first).
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}
_IDX_MAX_DIM = 2**31 - 1


# --------------------------------------------------------------------------- errors


class DataSourceError(ValueError):
    """A data file or array cannot be read as asked. Base of every error in this module."""


class IDXFormatError(DataSourceError):
    """An IDX file's header or size does not match the IDX format or the header itself."""


class NpyFormatError(DataSourceError):
    """A ``.npy`` file cannot be memory-mapped or its size does not match its header."""


class CorruptStreamError(DataSourceError):
    """A gzip stream is damaged: CRC mismatch, invalid deflate data or a cut-off stream.

    May be raised after the last chunk was yielded (the CRC is checked at the end of the
    stream); a fit that sees it must be discarded.
    """


class LabelError(DataSourceError):
    """Targets do not fit the features: wrong count, wrong shape, or a label out of range."""


class SourceChangedError(DataSourceError):
    """A file changed (size or modification time) between opening the source and reading."""


# --------------------------------------------------------------------------- helpers


def _check_int(value, name, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def default_chunk_rows(n_features, itemsize, n_rows=None):
    """Rows per chunk so that one X chunk holds about :data:`DEFAULT_CHUNK_BYTES`.

    The count is a multiple of 256 (the Gram kernels' block) when it is at least 256, and
    at most ``n_rows`` when that is given (but at least 1).
    """
    row_bytes = max(1, int(n_features) * int(itemsize))
    rows = max(1, DEFAULT_CHUNK_BYTES // row_bytes)
    if rows >= 256:
        rows -= rows % 256
    if n_rows is not None:
        rows = max(1, min(rows, int(n_rows)))
    return int(rows)


def _readonly(a):
    a = np.asarray(a)
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def _native(a):
    """``a`` in native byte order (a copy only when it was not native)."""
    if a.dtype.isnative:
        return a
    return a.astype(a.dtype.newbyteorder("="))


def _file_stat(path):
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _fingerprint(path, size):
    """blake2b of the size and the first and last 64 KiB: cheap, and changes with any
    rewrite that changes the head, the tail or the length."""
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 16))
        if size > (1 << 17):
            f.seek(size - (1 << 16))
            h.update(f.read(1 << 16))
        elif size > (1 << 16):
            h.update(f.read())
    return h.hexdigest()


def _array_fingerprint(a):
    """Hash of shape, dtype and up to 64 evenly spaced rows (first and last included).

    Cheap for any size; it identifies an array for checkpoints but cannot prove two arrays
    equal (rows between the sampled ones are not hashed).
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((a.shape, a.dtype.str)).encode())
    n = a.shape[0] if a.ndim else 0
    if n:
        idx = np.unique(np.linspace(0, n - 1, num=min(n, 64)).astype(np.int64))
        h.update(np.ascontiguousarray(a[idx]).tobytes())
    return h.hexdigest()


class _FileRecord:
    """Path, size, mtime and fingerprint of a file at open time, to identify and re-check it."""

    def __init__(self, path):
        self.path = Path(path).resolve()
        self.size, self.mtime_ns = _file_stat(self.path)
        self._fp = None

    def identity(self):
        if self._fp is None:
            self._fp = _fingerprint(self.path, self.size)
        return {"path": str(self.path), "size": self.size, "mtime_ns": self.mtime_ns,
                "fingerprint": self._fp}

    def check_unchanged(self):
        try:
            size, mtime = _file_stat(self.path)
        except OSError as exc:
            raise SourceChangedError(f"{self.path}: cannot stat the file any more ({exc})") from exc
        if (size, mtime) != (self.size, self.mtime_ns):
            raise SourceChangedError(
                f"{self.path} changed since it was opened: size {self.size} -> {size} bytes, "
                f"mtime_ns {self.mtime_ns} -> {mtime}; open the source again"
            )


def _sniff(path):
    """'gzip', 'npy' or 'idx' from a file's first bytes (never from its name)."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head[:2] == _GZIP_MAGIC:
        return "gzip"
    if head == _NPY_MAGIC:
        return "npy"
    if len(head) >= 4 and head[0] == 0 and head[1] == 0:
        return "idx"
    raise DataSourceError(
        f"{path}: unrecognised file format: first bytes {head[:6].hex(' ')}; expected an IDX "
        "file (00 00 <type> <ndim>), a gzip-compressed IDX file (1f 8b) or a .npy file "
        "(93 4e 55 4d 50 59)"
    )


def _gzip_error(path, exc, offset=None):
    where = f" at uncompressed byte offset {offset}" if offset is not None else ""
    if isinstance(exc, EOFError):
        what = "the gzip stream is cut off (compressed data ends before the end-of-stream marker)"
    elif isinstance(exc, zlib.error):
        what = f"invalid deflate data ({exc})"
    else:
        what = str(exc)
    return CorruptStreamError(
        f"{path}: corrupt gzip stream{where}: {what}; the file is damaged or incomplete, "
        "and any model fitted from it must be discarded"
    )


_GZ_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def _read_exact_into(f, buf):
    """Fill the byte memoryview ``buf`` from ``f``; return the number of bytes read."""
    got = 0
    n = len(buf)
    while got < n:
        k = f.readinto(buf[got:])
        if not k:
            break
        got += k
    return got


def _gz_count_rest(f, path, offset):
    """Decompress ``f`` to its end (checking every CRC); return the bytes left."""
    scratch = bytearray(_IO_BLOCK)
    view = memoryview(scratch)
    rest = 0
    try:
        while True:
            k = f.readinto(view)
            if not k:
                return rest
            rest += k
    except _GZ_ERRORS as exc:
        raise _gzip_error(path, exc, offset + rest) from exc


def _gz_skip(f, nbytes, path, offset):
    scratch = bytearray(min(_IO_BLOCK, max(nbytes, 1)))
    view = memoryview(scratch)
    left = nbytes
    try:
        while left:
            k = f.readinto(view[: min(left, len(scratch))])
            if not k:
                break
            left -= k
    except _GZ_ERRORS as exc:
        raise _gzip_error(path, exc, offset + nbytes - left) from exc
    return nbytes - left


# --------------------------------------------------------------------------- IDX headers


class IDXHeader:
    """What an IDX header says.

    Attributes
    ----------
    path : pathlib.Path
    compressed : bool
        True for a gzip-compressed file.
    type_code : int
        0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
    dtype : numpy.dtype
        The stored (big-endian for multi-byte types) dtype.
    shape : tuple of int
        All dimensions, the first being the number of items.
    header_bytes : int
        ``4 + 4 * ndim``: offset of the payload.
    payload_bytes : int
        ``prod(shape) * itemsize``.
    """

    def __init__(self, path, compressed, type_code, shape):
        self.path = Path(path)
        self.compressed = compressed
        self.type_code = type_code
        self.dtype = _IDX_TYPES[type_code]
        self.shape = tuple(shape)
        self.header_bytes = 4 + 4 * len(self.shape)
        self.payload_bytes = math.prod(self.shape) * self.dtype.itemsize

    @property
    def total_bytes(self):
        return self.header_bytes + self.payload_bytes

    @property
    def n_items(self):
        return self.shape[0]

    @property
    def item_shape(self):
        return self.shape[1:]

    def __repr__(self):
        kind = "gzip" if self.compressed else "raw"
        return f"IDXHeader({str(self.path)!r}, {kind}, dtype={self.dtype.newbyteorder('=')}, shape={self.shape})"


def _parse_idx_header(path, f, compressed):
    """Read and check the magic and dimensions from the open (decompressed) stream ``f``."""
    try:
        magic = f.read(4)
    except _GZ_ERRORS as exc:
        raise _gzip_error(path, exc, 0) from exc
    if len(magic) < 4:
        raise IDXFormatError(
            f"{path}: file too short for an IDX header: {len(magic)} bytes, expected at least 4 "
            "(magic number)"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise IDXFormatError(
            f"{path}: bad IDX magic number 0x{magic.hex()} at byte offset 0: the first two "
            f"bytes must be zero, found 0x{magic[0]:02x} 0x{magic[1]:02x} (expected e.g. "
            "0x00000803 for images, 0x00000801 for labels)"
        )
    code, ndim = magic[2], magic[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02x} ({d.newbyteorder('=')})" for c, d in _IDX_TYPES.items())
        raise IDXFormatError(
            f"{path}: bad IDX magic number 0x{magic.hex()}: unknown type code 0x{code:02x} at "
            f"byte offset 2; expected one of {known}"
        )
    if ndim == 0:
        raise IDXFormatError(
            f"{path}: bad IDX magic number 0x{magic.hex()}: number of dimensions (byte offset 3) "
            "is 0; expected at least 1"
        )
    try:
        raw = f.read(4 * ndim)
    except _GZ_ERRORS as exc:
        raise _gzip_error(path, exc, 4) from exc
    if len(raw) < 4 * ndim:
        raise IDXFormatError(
            f"{path}: IDX header truncated: magic 0x{magic.hex()} announces {ndim} dimensions "
            f"({4 * ndim} bytes from byte offset 4), found only {len(raw)} bytes"
        )
    dims = struct.unpack(f">{ndim}i", raw)
    for i, d in enumerate(dims):
        if d < 0:
            raise IDXFormatError(
                f"{path}: IDX dimension {i} (byte offset {4 + 4 * i}) is negative ({d})"
            )
    return IDXHeader(path, compressed, code, dims)


def _size_message(header, found):
    expected = header.total_bytes
    dims = " x ".join(str(d) for d in header.shape)
    base = (
        f"{header.path}: header says dimensions {dims} of {header.dtype.newbyteorder('=')} "
        f"({header.header_bytes}-byte header + {header.payload_bytes} payload bytes = "
        f"{expected} bytes{' uncompressed' if header.compressed else ''})"
    )
    if found < expected:
        return (f"{base}, but the {'stream' if header.compressed else 'file'} ends at byte "
                f"offset {found}: truncated by {expected - found} bytes")
    return (f"{base}, but found {found} bytes: {found - expected} extra bytes after byte "
            f"offset {expected}")


def read_idx_header(path, *, verify_size=True):
    """Parse and check the header of an IDX file, raw or gzip-compressed.

    Parameters
    ----------
    path : str or path-like
    verify_size : bool, default True
        Check the file size (raw) or the uncompressed size (gzip, from the ISIZE trailer,
        decompressing the whole stream once when the trailer disagrees) against the
        dimensions.

    Returns
    -------
    IDXHeader

    Raises
    ------
    IDXFormatError
        Bad magic number, unknown type code, zero dimensions, or a size that does not match.
    CorruptStreamError
        A gzip file whose stream cannot be decompressed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
    if not compressed:
        with open(path, "rb") as f:
            header = _parse_idx_header(path, f, False)
        if verify_size:
            size = os.stat(path).st_size
            if size != header.total_bytes:
                raise IDXFormatError(_size_message(header, size))
        return header
    with gzip.open(path, "rb") as f:
        header = _parse_idx_header(path, f, True)
        if not verify_size:
            return header
        size = os.stat(path).st_size
        isize = None
        if size >= 18:  # 10-byte gzip header + 8-byte trailer at the least
            with open(path, "rb") as raw:
                raw.seek(size - 4)
                isize = struct.unpack("<I", raw.read(4))[0]
        if isize != header.total_bytes % 2**32:
            # A truncated file, a wrong header, or several gzip members (ISIZE then covers
            # only the last one): only the full stream can tell.
            found = header.header_bytes + _gz_count_rest(f, path, header.header_bytes)
            if found != header.total_bytes:
                raise IDXFormatError(_size_message(header, found))
    return header


# --------------------------------------------------------------------------- sources


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

    def __init__(self, n_rows: int, n_features: int, dtype: DTypeLike, item_shape: Iterable[int],
                 targets: _Targets | None, n_classes: int | None,
                 records: Iterable[_FileRecord | None] = ()):
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

    def iter_chunks(self, chunk_rows: int | None = None, start_row: int = 0,
                    stop_row: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
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
                y = _readonly(_native(np.asarray(targets[r0:r0 + X.shape[0]])))
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
            ident["y"] = dict(self._t.full_identity(), dtype=self.y_dtype.str,
                              shape=list(self.y_shape))
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
            X[r:r + Xc.shape[0]] = Xc
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
        return (f"{type(self).__name__}(n_rows={self.n_rows}, n_features={self.n_features}, "
                f"dtype={self.dtype}{y})")


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
                arr = np.memmap(path, dtype=header.dtype, mode="r", offset=header.header_bytes,
                                shape=header.shape) if header.shape[0] else np.empty(0, header.dtype)
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
            yield r0, _native(X[r0:min(r0 + chunk_rows, stop_row)])

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
        what = (f"truncated by {expected - size} bytes" if size < expected
                else f"{size - expected} extra bytes after byte offset {expected}")
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
        super().__init__(X.shape[0], X.shape[1], X.dtype, item_shape, targets, n_classes,
                         records=[self._record])
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
            yield r0, _native(np.asarray(X[r0:min(r0 + chunk_rows, stop_row)]))

    def _x_identity(self):
        return dict(self._record.identity(), order="F" if (self._X.flags.f_contiguous and
                                                          not self._X.flags.c_contiguous) else "C")


def _read_idx_gzip_whole(header):
    """Decompress a whole (small) gzip IDX payload into a native array of ``header.shape``."""
    arr = np.empty(header.shape, dtype=header.dtype)
    with gzip.open(header.path, "rb") as f:
        _gz_skip(f, header.header_bytes, header.path, 0)
        view = memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")
        try:
            got = _read_exact_into(f, view) if arr.size else 0
        except _GZ_ERRORS as exc:
            raise _gzip_error(header.path, exc, header.header_bytes) from exc
        if got < header.payload_bytes:
            raise IDXFormatError(_size_message(header, header.header_bytes + got))
        extra = _gz_count_rest(f, header.path, header.total_bytes)
        if extra:
            raise IDXFormatError(_size_message(header, header.total_bytes + extra))
    return _native(arr)


class IDXSource(_FileBacked, ChunkSource):
    """Rows of an IDX file (raw or gzip-compressed), items flattened to rows.

    Raw files are read chunk by chunk with ``readinto`` after a seek to ``start_row``;
    gzip files are decompressed as a stream, discarding rows before ``start_row``.
    Multi-byte types are stored big-endian and converted to native order per chunk.
    """

    kind = "idx"

    def __init__(self, images_path, labels=None, *, n_classes=None):
        self._open_args, self._open_kwargs = _abs_args(images_path, labels), {"n_classes": n_classes}
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
        super().__init__(header.shape[0], n_features, header.dtype, item_shape, targets,
                         n_classes, records=[self._record])

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
        return dict(self._record.identity(), kind="idx", compressed=self.header.compressed,
                    type_code=self.header.type_code, shape=list(self.header.shape))

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


# --------------------------------------------------------------------------- constructors


def open_idx(images_path: os.PathLike | str,
             labels: os.PathLike | str | ArrayLike | None = None, *,
             n_classes: int | None = None) -> IDXSource:
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


def open_npy(X_path: os.PathLike | str, y: os.PathLike | str | ArrayLike | None = None, *,
             n_classes: int | None = None) -> NpySource:
    """Open a ``.npy`` file (memory-mapped) as a chunk source; ``y`` as for :func:`open_idx`.

    Returns
    -------
    NpySource
    """
    if n_classes is not None:
        n_classes = _check_int(n_classes, "n_classes", low=1)
    return NpySource(X_path, y, n_classes=n_classes)


def from_arrays(X: ArrayLike, y: ArrayLike | os.PathLike | str | None = None, *,
                n_classes: int | None = None) -> ChunkSource:
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


def open_source(data: ChunkSource | ArrayLike | os.PathLike | str | Iterable[Any],
                labels: os.PathLike | str | ArrayLike | None = None, *,
                target: str | None = None, features: Sequence[str] | None = None,
                dataset: str | None = None, n_classes: int | None = None) -> ChunkSource:
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
        if not path.is_dir() or any(tabular_format(p) == "parquet" for p in path.iterdir()
                                    if p.is_file()):
            fmt = tabular_format(path)
        if fmt is not None:
            if labels is not None:
                raise ValueError(f"{path} is a table: name its target column with target=, "
                                 "not labels=")
            return TabularSource(path, target, features, n_classes=n_classes, format=fmt)
    if _is_chunk_iterable(data):
        from .chunks import IterableChunks

        if isinstance(data, IterableChunks) and target is None and features is None:
            return data
        if labels is not None:
            raise ValueError("labels come with the chunks of an iterable (X, y) or with "
                             "target= for DataFrames")
        return IterableChunks(data, target=target, features=features)
    if target is not None or features is not None:
        raise ValueError("target= and features= name columns of a table (Parquet, Arrow, "
                         "CSV) or of DataFrame chunks; for IDX, .npy and arrays give labels=")
    if isinstance(data, ChunkSource):
        if labels is not None:
            raise ValueError("labels cannot be added to an existing ChunkSource; open it with labels")
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


def read_idx(path):
    """Read a whole IDX file (raw or gzip) into a native-byte-order array of its full shape.

    For files that fit in memory (tests, label files); use :func:`open_idx` otherwise.
    """
    header = read_idx_header(path)
    if header.compressed:
        return _read_idx_gzip_whole(header)
    arr = np.fromfile(header.path, dtype=header.dtype, count=math.prod(header.shape),
                      offset=header.header_bytes)
    return _native(arr.reshape(header.shape))


# --------------------------------------------------------------------------- writing


def _create_part(directory, name, suffix):
    """A new temporary file ``(fd, Path)`` in ``directory``, created with mode 0o666 so
    that the umask applies as it does to ``open()`` (``tempfile.mkstemp`` forces 0o600,
    which would make every renamed-into-place file private whatever the umask)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = Path(directory) / f".{name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{directory}: could not create a temporary file for {name}")


class IDXWriter:
    """Write an IDX file chunk by chunk; the header gets the final item count.

    Parameters
    ----------
    path : str or path-like
        Output file. Written to a temporary file in the same directory and renamed into
        place when the writer closes cleanly; on an exception nothing is left behind.
    item_shape : tuple of int
        Shape of one item: ``(28, 28)`` for images, ``()`` for labels.
    dtype : dtype-like
        One of uint8, int8, int16, int32, float32, float64.
    n_items : int, optional
        Expected item count; closing with a different count raises. Needed by nothing: the
        count is patched into a raw header at close, and a compressed file without it is
        first written raw to a temporary file and compressed at close.
    compress : bool, default False
        gzip the output (deterministic bytes: no name or time stamp in the gzip header).
    compresslevel : int, default 6

    Examples
    --------
    >>> with IDXWriter("x-idx3-ubyte", (28, 28), np.uint8) as w:   # doctest: +SKIP
    ...     for chunk in chunks:
    ...         w.write(chunk)          # (rows, 28, 28) or (rows, 784)
    """

    def __init__(self, path, item_shape, dtype=np.uint8, *, n_items=None, compress=False,
                 compresslevel=6):
        self.path = Path(path)
        self.item_shape = tuple(_check_int(s, "item_shape entry", low=0, high=_IDX_MAX_DIM)
                                for s in item_shape)
        if len(self.item_shape) > 254:
            raise ValueError(f"IDX files hold at most 255 dimensions, got {len(self.item_shape) + 1}")
        self.dtype = np.dtype(dtype)
        if self.dtype.newbyteorder("=") not in _IDX_CODES:
            raise ValueError(
                f"IDX has no type for dtype {self.dtype}; use one of uint8, int8, int16, int32, "
                "float32, float64"
            )
        self.dtype = self.dtype.newbyteorder("=")
        self._code = _IDX_CODES[self.dtype]
        self._disk_dtype = _IDX_TYPES[self._code]
        self.n_items = None if n_items is None else _check_int(n_items, "n_items", 0, _IDX_MAX_DIM)
        self.compress = bool(compress)
        self.compresslevel = _check_int(compresslevel, "compresslevel", 0, 9)
        self.n_written = 0
        self._item_size = math.prod(self.item_shape)
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if not directory.is_dir():
            raise FileNotFoundError(f"directory does not exist: {directory}")
        fd, self._tmp = _create_part(directory, self.path.name, ".part")
        self._file = os.fdopen(fd, "wb")
        self._payload_tmp = None
        self._gz = None
        self._closed = False
        if self.compress and self.n_items is None:
            # The count must precede the payload inside the gzip stream: spool raw first.
            try:
                fd2, self._payload_tmp = _create_part(directory, self.path.name, ".raw.part")
            except BaseException:
                self._file.close()
                self._tmp.unlink(missing_ok=True)
                raise
            self._out = os.fdopen(fd2, "wb")
        elif self.compress:
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._file,
                                     compresslevel=self.compresslevel, mtime=0)
            self._gz.write(self._header(self.n_items))
            self._out = self._gz
        else:
            self._file.write(self._header(self.n_items or 0))
            self._out = self._file

    def _header(self, n):
        dims = (n,) + self.item_shape
        return bytes([0, 0, self._code, len(dims)]) + struct.pack(f">{len(dims)}i", *dims)

    def write(self, chunk):
        """Append items: ``chunk`` of shape (rows, *item_shape) or (rows, prod(item_shape)).

        Integer chunks of another integer dtype are accepted when every value fits.
        """
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        a = np.asarray(chunk)
        if a.dtype == np.bool_:
            a = a.view(np.uint8)
        if a.ndim == 0:
            raise ValueError("chunk must have at least one dimension (rows)")
        rows = a.shape[0]
        if a.shape[1:] != self.item_shape and not (
                a.ndim == 2 and len(self.item_shape) > 1 and a.shape[1] == self._item_size):
            raise ValueError(
                f"{self.path}: chunk of shape {a.shape} does not hold items of shape "
                f"{self.item_shape}; expected (rows, {', '.join(map(str, self.item_shape))}) "
                f"or (rows, {self._item_size})"
            )
        if a.dtype != self.dtype:
            if a.dtype.kind in "ui" and self.dtype.kind in "ui":
                info = np.iinfo(self.dtype)
                if a.size and (a.min() < info.min or a.max() > info.max):
                    raise ValueError(
                        f"{self.path}: chunk values [{a.min()}, {a.max()}] do not fit {self.dtype}"
                    )
            elif not np.can_cast(a.dtype, self.dtype, "safe"):
                raise ValueError(
                    f"{self.path}: cannot write {a.dtype} data into an IDX file of {self.dtype} "
                    "without losing values; cast it first"
                )
        if self.n_items is not None and self.n_written + rows > self.n_items:
            raise ValueError(
                f"{self.path}: writing {rows} more items would exceed n_items={self.n_items} "
                f"({self.n_written} written)"
            )
        if self.n_written + rows > _IDX_MAX_DIM:
            raise ValueError(f"{self.path}: IDX counts are limited to {_IDX_MAX_DIM} items")
        out = np.ascontiguousarray(a, dtype=self._disk_dtype)
        self._out.write(memoryview(out.reshape(-1).view(np.uint8)))
        self.n_written += rows

    def close(self):
        """Finish the file: write the final count, flush, and rename into place."""
        if self._closed:
            return self.path
        try:
            if self.n_items is not None and self.n_written != self.n_items:
                raise ValueError(
                    f"{self.path}: {self.n_written} items written but n_items={self.n_items} "
                    "was announced"
                )
            if self._payload_tmp is not None:
                self._out.close()
                with gzip.GzipFile(filename="", mode="wb", fileobj=self._file,
                                   compresslevel=self.compresslevel, mtime=0) as gz:
                    gz.write(self._header(self.n_written))
                    with open(self._payload_tmp, "rb") as src:
                        shutil.copyfileobj(src, gz, _IO_BLOCK)
            elif self._gz is not None:
                self._gz.close()
            elif self.n_items is None:
                self._file.seek(4)
                self._file.write(struct.pack(">i", self.n_written))
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        finally:
            self._cleanup_payload()
        self._closed = True
        return self.path

    def abort(self):
        """Discard everything written; the target path is left untouched."""
        self._closed = True
        for f in (self._gz, getattr(self, "_out", None), self._file):
            try:
                if f is not None:
                    f.close()
            except Exception:  # noqa: BLE001 - best effort while discarding
                pass
        self._tmp.unlink(missing_ok=True)
        self._cleanup_payload()

    def _cleanup_payload(self):
        if self._payload_tmp is not None:
            self._payload_tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def write_idx(path: os.PathLike | str, array: ArrayLike, compress: bool = False, *,
              compresslevel: int = 6) -> Path:
    """Write ``array`` (its first axis is the item count) as one IDX file.

    Parameters
    ----------
    path : str or path-like
    array : ndarray of uint8, int8, int16, int32, float32 or float64, at least 1-D
    compress : bool, default False
        gzip the file.

    Returns
    -------
    pathlib.Path
    """
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.ndim == 0:
        raise ValueError("write_idx needs an array with at least one dimension")
    step = max(1, (_IO_BLOCK * 8) // max(1, a[:1].nbytes))
    with IDXWriter(path, a.shape[1:], a.dtype, n_items=a.shape[0], compress=compress,
                   compresslevel=compresslevel) as w:
        for r0 in range(0, a.shape[0], step):
            w.write(a[r0:r0 + step])
    return Path(path)
