"""A Parquet file read one row group at a time without holding its whole footer parsed.

pyarrow parses the whole footer (``FileMetaData``) before it reads anything, and keeps it:
for a wide file with many row groups that is hundreds of bytes per column chunk, so a
200000-row, 785-column file with row groups of 10000 rows holds ~14 MB of parsed metadata
for the whole fit, growing with the file. Here the footer is scanned once (Thrift compact
protocol, the Parquet format's own encoding) for where each row group's ``RowGroup``
struct lies and which column chunks may hold nulls, and row groups are then read by
pyarrow from a view of the file: the same bytes up to the footer, followed by a footer
holding the schema and a few consecutive row groups (``VIEW_FOOTER_BYTES`` of their
metadata). Column offsets in the footer are absolute, so the data pages need no copy and
no rewriting. Memory is the schema plus one view's metadata, whatever the file size.

Format reference: ``parquet.thrift`` in apache/parquet-format (``FileMetaData`` field 3
``num_rows``, field 4 ``row_groups``; ``RowGroup`` field 3 ``num_rows``) and the Thrift
compact protocol specification.
"""

import io
import os
import struct

import numpy as np
from .._numba import jit

__all__ = ["FooterError", "RowGroupFile", "open_row_groups"]

_MAGIC = b"PAR1"
# Compact-protocol type codes.
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_LIST, _SET, _MAP, _STRUCT = 9, 10, 11, 12
VIEW_FOOTER_BYTES = 1 << 18
"""Serialised metadata of the row groups one view holds (256 KiB; parsed by pyarrow, about
ten times that): bounded memory, and few schema parses for files of small groups."""
# Nesting depth allowed in a footer; parquet.thrift nests less than 10 deep.
_MAX_DEPTH = 64


class FooterError(ValueError):
    """The footer is not what this reader parses (encrypted, damaged or not Thrift
    compact); the caller falls back to pyarrow's own parse, which names the problem."""


@jit
def _varint(buf, pos):
    value = 0
    shift = 0
    while True:
        if pos >= buf.shape[0] or shift > 63:
            return -1, -1
        b = buf[pos]
        pos += 1
        value |= (np.int64(b) & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


@jit
def _skip(buf, pos, ttype):
    """Position after one value of compact type ``ttype`` starting at ``pos`` (a struct
    field's value, so booleans have no payload), or -1 if the bytes end or do not parse.

    The nesting is walked with an explicit stack: per open container, how many elements
    remain (-1: a struct, read until its stop field) and the element types (a map
    alternates its key and value types)."""
    n = buf.shape[0]
    remaining = np.empty(_MAX_DEPTH, np.int64)
    etype = np.empty((_MAX_DEPTH, 2), np.int64)
    depth = 0
    t = ttype
    in_list = False
    while True:
        # Consume one value of type t.
        if t == _BOOL_TRUE or t == _BOOL_FALSE:
            if in_list:
                pos += 1
        elif t == _BYTE:
            pos += 1
        elif t == _I16 or t == _I32 or t == _I64:
            _, pos = _varint(buf, pos)
        elif t == _DOUBLE:
            pos += 8
        elif t == _BINARY:
            length, pos = _varint(buf, pos)
            if length < 0:
                return -1
            pos += length
        elif t == _LIST or t == _SET:
            if pos >= n or depth == _MAX_DEPTH:
                return -1
            head = buf[pos]
            pos += 1
            size = np.int64(head >> 4)
            if size == 15:
                size, pos = _varint(buf, pos)
            remaining[depth] = size
            etype[depth, 0] = head & 0x0F
            etype[depth, 1] = head & 0x0F
            depth += 1
        elif t == _MAP:
            size, pos = _varint(buf, pos)
            if size < 0 or depth == _MAX_DEPTH:
                return -1
            if size > 0:
                if pos >= n:
                    return -1
                kv = buf[pos]
                pos += 1
                etype[depth, 0] = kv >> 4
                etype[depth, 1] = kv & 0x0F
            remaining[depth] = 2 * size
            depth += 1
        elif t == _STRUCT:
            if depth == _MAX_DEPTH:
                return -1
            remaining[depth] = -1
            depth += 1
        else:
            return -1
        if pos < 0 or pos > n:
            return -1
        # The next value: from the innermost open container, closing finished ones.
        while True:
            if depth == 0:
                return pos
            r = remaining[depth - 1]
            if r == -1:
                if pos >= n:
                    return -1
                head = buf[pos]
                pos += 1
                if head == 0:
                    depth -= 1
                    continue
                if head >> 4 == 0:
                    _, pos = _varint(buf, pos)  # a field id written in full
                    if pos < 0:
                        return -1
                t = head & 0x0F
                in_list = False
                break
            if r == 0:
                depth -= 1
                continue
            remaining[depth - 1] = r - 1
            t = etype[depth - 1, r % 2]  # a map's key, value, key, ...; lists: one type
            in_list = True
            break


@jit
def _field_head(buf, pos, last):
    """(field id, type, position after the header) of the struct field at ``pos``; type 0
    is the stop byte, -1 the end of the bytes."""
    if pos < 0 or pos >= buf.shape[0]:
        return 0, -1, -1
    head = buf[pos]
    pos += 1
    if head == 0:
        return 0, 0, pos
    if head >> 4:
        return last + np.int64(head >> 4), np.int64(head & 0x0F), pos
    raw, pos = _varint(buf, pos)
    return (raw >> 1) ^ -(raw & 1), np.int64(head & 0x0F), pos


@jit
def _struct_i64(buf, pos, path):
    """Walk the struct at ``pos`` for the i64 at the field-id ``path`` (struct fields down to
    an i64 field). Returns (value, position after the struct); value -1 where the path is
    absent, position -1 if the bytes do not parse."""
    value = -1
    lasts = np.zeros(path.shape[0], np.int64)  # last field id read, per open struct
    depth = 0
    while True:
        fid, t, pos = _field_head(buf, pos, lasts[depth])
        if t < 0:
            return value, -1
        if t == 0:  # the stop byte closes the innermost open struct
            if depth == 0:
                return value, pos
            depth -= 1
            continue
        lasts[depth] = fid
        if fid == path[depth] and depth == path.shape[0] - 1 and t == _I64:
            raw, pos = _varint(buf, pos)
            value = (raw >> 1) ^ -(raw & 1)
        elif fid == path[depth] and depth < path.shape[0] - 1 and t == _STRUCT:
            depth += 1
            lasts[depth] = 0
            continue
        else:
            pos = _skip(buf, pos, t)
        if pos < 0:
            return value, -1


# ColumnChunk.meta_data (3) > ColumnMetaData.statistics (12) > Statistics.null_count (3)
_NULL_COUNT = np.array([3, 12, 3], np.int64)


@jit
def _chunk_null_counts(buf, pos, out):
    """Read ``out.shape[0]`` ``ColumnChunk`` structs from ``pos``: ``out[i]`` is chunk i's
    ``meta_data.statistics.null_count``, -1 where the footer does not give it. Returns the
    position after the last chunk, or -1 if the bytes do not parse."""
    for i in range(out.shape[0]):
        out[i], pos = _struct_i64(buf, pos, _NULL_COUNT)
        if pos < 0:
            return -1
    return pos


def _read_varint(buf, pos):
    value, end = _varint(buf, pos)
    if end < 0:
        raise FooterError(f"varint at byte {pos} runs past the footer")
    return int(value), int(end)


def _struct_list(buf, pos, what):
    """(element count, position of the first element) of the list of structs at ``pos``:
    the size in the header's high nibble, or 15 there and a varint after."""
    head = int(buf[pos])
    if head & 0x0F != _STRUCT:
        raise FooterError(f"{what} is not a list of structs")
    count, pos = head >> 4, pos + 1
    if count == 15:
        count, pos = _read_varint(buf, pos)
    return count, pos


def _unzigzag(v):
    return (v >> 1) ^ -(v & 1)


def _zigzag_varint(v):
    return _uvarint((v << 1) ^ (v >> 63))


def _uvarint(z):
    out = bytearray()
    while True:
        if z < 0x80:
            out.append(z)
            return bytes(out)
        out.append((z & 0x7F) | 0x80)
        z >>= 7


def _fields(buf, pos, read=None):
    """(field id, type, header start, value start, value end) of a struct's fields, and
    the position after its stop byte. ``read(fid, type, pos)`` may read a value itself and
    return the position after it (None: skipped)."""
    out = []
    last = 0
    while True:
        if pos >= buf.shape[0]:
            raise FooterError("a struct runs past the end of the footer")
        start = pos
        head = int(buf[pos])
        pos += 1
        if head == 0:
            return out, pos
        ttype = head & 0x0F
        if head >> 4:
            fid = last + (head >> 4)
        else:
            raw, pos = _read_varint(buf, pos)
            fid = _unzigzag(raw)
        end = read(fid, ttype, pos) if read is not None else None
        end = int(_skip(buf, pos, ttype) if end is None else end)
        if end < 0:
            raise FooterError(f"field {fid} at byte {start} of the footer does not parse")
        out.append((fid, ttype, start, pos, end))
        last = fid
        pos = end


class RowGroupFile:
    """Where the row groups of one Parquet file are, and pyarrow ``ParquetFile`` views of
    a few consecutive ones at a time.

    Held per row group: its byte span in the footer, its row count and one flag per column
    chunk (may it hold nulls) - about a byte per column chunk, against pyarrow's ~0.7 kB.

    Parameters
    ----------
    path : str or os.PathLike
        A Parquet file with a plaintext footer.

    Attributes
    ----------
    num_rows : int
        Rows in the file (the sum over row groups).
    group_rows : numpy.ndarray of int64, shape (num_row_groups,)
        Rows in each row group.

    Raises
    ------
    FooterError
        If the footer is encrypted or does not parse as Thrift compact ``FileMetaData``;
        OSError if the file cannot be read.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 12:
                raise FooterError(f"{size} bytes: shorter than a Parquet file")
            f.seek(size - 8)
            tail = f.read(8)
            if tail[4:] != _MAGIC:
                raise FooterError("no 'PAR1' at the end (encrypted footers end in 'PARE')")
            length = struct.unpack("<I", tail[:4])[0]
            self._data_end = size - 8 - length
            if self._data_end < 4:
                raise FooterError(f"footer length {length} exceeds the file")
            f.seek(self._data_end)
            footer = np.frombuffer(f.read(length), np.uint8)
        fields, end = _fields(footer, 0)
        by_id = {fid: (ttype, start, vstart, vend) for fid, ttype, start, vstart, vend in fields}
        if 3 not in by_id or by_id[3][0] != _I64 or 4 not in by_id or by_id[4][0] != _LIST:
            raise FooterError("FileMetaData without num_rows (3) or row_groups (4)")
        _, _, rows_start, rows_end = by_id[3]
        _, _, list_start, list_end = by_id[4]
        count, pos = _struct_list(footer, list_start, "FileMetaData.row_groups")
        spans, rows, nulls = [], [], []

        def read(fid, ttype, at):
            if fid != 1 or ttype != _LIST:
                return None
            n, at = _struct_list(footer, at, "RowGroup.columns")
            counts = np.empty(n, np.int64)
            end = _chunk_null_counts(footer, at, counts)
            nulls.append(counts != 0)  # a null, or no statistics to say there is none
            return end

        for _ in range(count):
            group, after = _fields(footer, pos, read)
            if len(nulls) != len(spans) + 1:
                raise FooterError(f"row group {len(spans)} without columns")
            n = [footer[vs:ve] for fid, tt, _, vs, ve in group if fid == 3 and tt == _I64]
            if not n:
                raise FooterError(f"row group {len(spans)} without num_rows")
            rows.append(_unzigzag(_read_varint(n[0], 0)[0]))
            spans.append((self._data_end + pos, self._data_end + after))
            pos = after
        if pos != list_end:
            raise FooterError("row_groups ends where the footer says it does not")
        self.group_rows = np.asarray(rows, np.int64)
        self.num_rows = int(self.group_rows.sum())
        self._spans = spans
        self._nulls = nulls
        # The footer around the two values each view replaces: num_rows and the list.
        cuts = sorted([(rows_start, rows_end, "rows"), (list_start, list_end, "groups")])
        self._pieces, at = [], 0
        for lo, hi, what in cuts:
            self._pieces += [footer[at:lo].tobytes(), what]
            at = hi
        self._pieces.append(footer[at:end].tobytes())
        self._schema = None
        self._last = (None, None)
        # Consecutive row groups whose metadata together stays under VIEW_FOOTER_BYTES
        # share a view: the schema is parsed once per view, not once per group.
        self._block = np.zeros(len(spans), np.int64)
        self._blocks, size = [], VIEW_FOOTER_BYTES
        for g, (lo, hi) in enumerate(spans):
            if size + hi - lo > VIEW_FOOTER_BYTES:
                self._blocks.append([g, g])
                size = 0
            self._blocks[-1][1] = g + 1
            self._block[g] = len(self._blocks) - 1
            size += hi - lo

    @property
    def num_row_groups(self):
        return len(self._spans)

    @property
    def schema_arrow(self):
        if self._schema is None:
            self._schema = self.open().schema_arrow
        return self._schema

    def may_have_nulls(self, group):
        """bool array, one per leaf column of row group ``group``: False where the column
        chunk's statistics say it holds no null."""
        return self._nulls[group]

    def read_group(self, group, columns=None, use_threads=True):
        """Row group ``group`` as a ``pyarrow.Table`` of ``columns``."""
        block = int(self._block[group])
        first, stop = self._blocks[block]
        # The last view is kept: the groups it holds are read in turn.
        if self._last[0] != block:
            # pre_buffer coalesces the column chunks into a few large reads: one read per
            # column through the Python file costs ~25 % more time on wide files.
            self._last = (block, self.open(range(first, stop), pre_buffer=True))
        return self._last[1].read_row_group(group - first, columns=columns, use_threads=use_threads)

    def release(self):
        """Close the view kept for the last row group read (its open file)."""
        self._last = (None, None)

    def _footer(self, groups):
        """Serialised FileMetaData of a file holding the consecutive row groups
        ``groups`` (a range) only."""
        k = len(groups)
        if k:
            lo, hi = self._spans[groups[0]][0], self._spans[groups[-1]][1]
            with open(self.path, "rb") as f:
                f.seek(lo)
                body = f.read(hi - lo)
            if len(body) != hi - lo:
                raise FooterError(f"the file ends inside the metadata of row groups {groups}")
        else:
            body = b""
        # A list header: the size in the high nibble, or 15 there and a varint after.
        head = bytes([(k << 4) | _STRUCT]) if k < 15 else bytes([0xF0 | _STRUCT]) + _uvarint(k)
        rows = int(self.group_rows[groups[0] : groups[-1] + 1].sum()) if k else 0
        return b"".join(
            _zigzag_varint(rows) if p == "rows" else head + body if p == "groups" else p
            for p in self._pieces
        )

    def open(self, groups=range(0), **kwargs):
        """``pyarrow.parquet.ParquetFile`` of a file holding the consecutive row groups
        ``groups`` (a range; row group ``groups[i]`` of this file is its row group i);
        by default none (the schema and key-value metadata only). ``kwargs`` go to
        ``ParquetFile``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if len(groups) and (groups.step != 1 or groups[0] < 0 or groups[-1] >= self.num_row_groups):
            raise ValueError(
                f"groups must be consecutive row groups of the {self.num_row_groups}, got {groups}"
            )
        view = _View(self.path, self._data_end, self._footer(groups))
        return pq.ParquetFile(pa.PythonFile(view, mode="r"), **kwargs)


class _View(io.RawIOBase):
    """The file's bytes before its footer, then ``footer``, its length and the magic."""

    def __init__(self, path, data_end, footer):
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY)
        self._data_end = data_end
        self._tail = footer + struct.pack("<I", len(footer)) + _MAGIC
        self._size = data_end + len(self._tail)
        self._pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def read(self, size=-1):
        if size is None or size < 0:
            size = self._size - self._pos
        size = max(min(size, self._size - self._pos), 0)
        pos, out = self._pos, []
        if pos < self._data_end and size:
            take = min(size, self._data_end - pos)
            out.append(os.pread(self._fd, take, pos))
            pos += len(out[-1])
            size -= len(out[-1])
        if pos >= self._data_end and size:
            at = pos - self._data_end
            out.append(self._tail[at : at + size])
            pos += len(out[-1])
        self._pos = pos
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            os.close(self._fd)
        super().close()


class ParsedFooter:
    """The same interface over pyarrow's own parse of the whole footer: for footers that
    ``RowGroupFile`` does not read (encrypted ones), and pyarrow's error messages for
    damaged ones."""

    def __init__(self, path):
        import pyarrow.parquet as pq

        self.path = os.fspath(path)
        self._metadata = pq.ParquetFile(self.path).metadata
        md = self._metadata
        self.group_rows = np.array(
            [md.row_group(g).num_rows for g in range(md.num_row_groups)], np.int64
        )
        self.num_rows = int(md.num_rows)
        self.num_row_groups = md.num_row_groups

    def _file(self):
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.path, metadata=self._metadata, pre_buffer=False)

    @property
    def schema_arrow(self):
        return self._metadata.schema.to_arrow_schema()

    def may_have_nulls(self, group):
        rg = self._metadata.row_group(group)
        out = np.ones(rg.num_columns, bool)
        for i in range(rg.num_columns):
            stats = rg.column(i).statistics
            out[i] = stats is None or stats.null_count != 0
        return out

    def read_group(self, group, columns=None, use_threads=True):
        return self._file().read_row_group(group, columns=columns, use_threads=use_threads)

    def release(self):
        pass


def open_row_groups(path):
    """``RowGroupFile`` of a Parquet file, or ``ParsedFooter`` if its footer is one that
    only pyarrow reads. Raises what pyarrow raises for a file that is not Parquet."""
    try:
        return RowGroupFile(path)
    except FooterError:
        return ParsedFooter(path)
