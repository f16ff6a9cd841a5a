"""File plumbing shared by the sources: sizes and fingerprints, format sniffing, reading
gzip streams exactly."""

from __future__ import annotations

import gzip
import hashlib
import numbers
import os
import zlib
from pathlib import Path

import numpy as np
from .errors import CorruptStreamError, DataSourceError, SourceChangedError


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
        return {
            "path": str(self.path),
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "fingerprint": self._fp,
        }

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
