"""The IDX format: headers, whole-file reads and the streaming writer."""

from __future__ import annotations

import gzip
import math
import os
import secrets
import shutil
import struct
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from .errors import IDXFormatError
from .files import (
    _GZIP_MAGIC,
    _GZ_ERRORS,
    _IDX_CODES,
    _IDX_MAX_DIM,
    _IDX_TYPES,
    _IO_BLOCK,
    _check_int,
    _gz_count_rest,
    _gz_skip,
    _gzip_error,
    _native,
    _read_exact_into,
)


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
        return (
            f"{base}, but the {'stream' if header.compressed else 'file'} ends at byte "
            f"offset {found}: truncated by {expected - found} bytes"
        )
    return (
        f"{base}, but found {found} bytes: {found - expected} extra bytes after byte "
        f"offset {expected}"
    )


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


def read_idx(path):
    """Read a whole IDX file (raw or gzip) into a native-byte-order array of its full shape.

    For files that fit in memory (tests, label files); use :func:`open_idx` otherwise.
    """
    header = read_idx_header(path)
    if header.compressed:
        return _read_idx_gzip_whole(header)
    arr = np.fromfile(
        header.path, dtype=header.dtype, count=math.prod(header.shape), offset=header.header_bytes
    )
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

    def __init__(
        self, path, item_shape, dtype=np.uint8, *, n_items=None, compress=False, compresslevel=6
    ):
        self.path = Path(path)
        self.item_shape = tuple(
            _check_int(s, "item_shape entry", low=0, high=_IDX_MAX_DIM) for s in item_shape
        )
        if len(self.item_shape) > 254:
            raise ValueError(
                f"IDX files hold at most 255 dimensions, got {len(self.item_shape) + 1}"
            )
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
            self._gz = gzip.GzipFile(
                filename="",
                mode="wb",
                fileobj=self._file,
                compresslevel=self.compresslevel,
                mtime=0,
            )
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
            a.ndim == 2 and len(self.item_shape) > 1 and a.shape[1] == self._item_size
        ):
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
                with gzip.GzipFile(
                    filename="",
                    mode="wb",
                    fileobj=self._file,
                    compresslevel=self.compresslevel,
                    mtime=0,
                ) as gz:
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


def write_idx(
    path: os.PathLike | str, array: ArrayLike, compress: bool = False, *, compresslevel: int = 6
) -> Path:
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
    with IDXWriter(
        path,
        a.shape[1:],
        a.dtype,
        n_items=a.shape[0],
        compress=compress,
        compresslevel=compresslevel,
    ) as w:
        for r0 in range(0, a.shape[0], step):
            w.write(a[r0 : r0 + step])
    return Path(path)
