"""Tabular sources: Parquet (a file or a directory of files), Arrow IPC / Feather, CSV.

Rows are streamed with pyarrow (the ``arrow`` extra): Parquet by row group (the feature
columns only, decoded on all threads), Arrow IPC files by record batch from a memory map,
CSV (optionally gzip-compressed) in blocks of about ``CSV_BLOCK_BYTES`` of text cut at a
line end, each parsed and converted by ``pyarrow.csv.read_csv`` on all threads (pyarrow's
streaming reader converts on one thread: about 1.5x the time of reading the whole file).
Each chunk is a fresh C-ordered (rows, n_features) array in the columns' common dtype:
uint8 columns stay uint8, so the exact byte kernels apply.

The target column, one value per row, is read whole when the source is opened (as the
targets of the IDX and ``.npy`` sources are), which also counts the rows of a CSV file.

What is checked when, and what an error names:

* at open: the file's format (Parquet footer, IPC magic), the target and feature columns
  (a missing column lists those present; a non-numeric feature column names its type),
  nulls in Parquet and IPC feature columns (file, row group or batch, global row, column)
  and in the target;
* while streaming a CSV file: values that do not parse as the column's type and ragged
  rows (pyarrow's message, with the file), nulls (file, global row, column).

A source is identified for checkpoints by each file's path, size, modification time and
content fingerprint, plus the Parquet metadata (rows and row groups per file), the
columns and the target; a rewritten file raises ``SourceChangedError`` at the next read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DataSourceError, LabelError
from .files import _FileRecord, _native
from .sources import ChunkSource, _FileBacked, _Targets, _check_labels

CSV_BLOCK_BYTES = 1 << 25
"""Text per CSV parse (32 MiB): large enough to keep every core busy, small enough that
memory does not grow with the file."""

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "csv",
    ".tsv.gz": "csv",
}


def tabular_format(path):
    """'parquet', 'arrow' or 'csv' from a path's suffix (a directory: Parquet), else None."""
    path = Path(path)
    if path.is_dir():
        return "parquet"
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    with open(path, "rb") as f:
        head = f.read(6)
    if head[:4] == b"PAR1":
        return "parquet"
    if head == b"ARROW1":
        return "arrow"
    return None


def _pyarrow():
    try:
        import pyarrow
    except ImportError:
        raise ImportError(
            "Parquet, Arrow and CSV sources need pyarrow: pip install 'fastlin[arrow]'"
        ) from None
    return pyarrow


def _numeric_dtype(field, path):
    """NumPy dtype of a numeric Arrow field, or a DataSourceError naming the column."""
    pa = _pyarrow()
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return np.dtype(np.uint8)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        dt = np.dtype(t.to_pandas_dtype())
        return np.dtype(np.float32) if dt == np.float16 else dt
    raise DataSourceError(
        f"{path}: column {field.name!r} has type {field.type}; feature columns must be "
        "numeric (integer, floating or boolean): choose columns with features=[...]"
    )


class TabularSource(_FileBacked, ChunkSource):
    """Rows of a Parquet file or directory, an Arrow IPC / Feather file, or a CSV file.

    Parameters
    ----------
    path : str or path-like
    target : str, optional
        Name of the target column (read whole at open). None: a source without targets.
    features : sequence of str, optional
        Feature columns, in this order. Default: every column but the target, in file
        order.
    n_classes : int, optional
        Check that every target is an integer in ``[0, n_classes)``.
    format : {"parquet", "arrow", "csv"}, optional
        Default: from the suffix (``.parquet``, ``.arrow``/``.feather``, ``.csv``,
        ``.csv.gz``) or the file's magic bytes.

    Attributes
    ----------
    feature_names : list of str
        The feature columns, in chunk order (estimators fitted from the source take them
        as ``feature_names_in_``).
    target_name : str or None
    files : list of Path
    """

    def __init__(self, path, target=None, features=None, *, n_classes=None, format=None):
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"data file not found: {path}")
        fmt = format or tabular_format(path)
        if fmt not in ("parquet", "arrow", "csv"):
            raise DataSourceError(f"{path}: not a Parquet, Arrow IPC or CSV file")
        self.kind = fmt
        self.path = path
        self.files = _files(path, fmt)
        self._open_args = (path.absolute(),)
        self._open_kwargs = {
            "target": target,
            "features": None if features is None else list(features),
            "n_classes": n_classes,
            "format": fmt,
        }
        schema = self._schema()
        names = schema.names
        self._columns = list(names)
        if target is not None and target not in names:
            raise DataSourceError(f"{path}: no column {target!r}; the columns are {_show(names)}")
        if features is None:
            features = [c for c in names if c != target]
        else:
            features = [str(c) for c in features]
            missing = [c for c in features if c not in names]
            if missing:
                raise DataSourceError(
                    f"{path}: no column(s) {_show(missing)}; the columns are {_show(names)}"
                )
            if len(set(features)) != len(features):
                raise DataSourceError(f"{path}: features name a column twice: {features}")
            if target is not None and target in features:
                raise DataSourceError(f"{path}: the target column {target!r} is also a feature")
        if not features:
            raise DataSourceError(f"{path}: no feature columns (the columns are {_show(names)})")
        dtypes = [_numeric_dtype(schema.field(c), path) for c in features]
        self.feature_names = features
        self.target_name = target
        self._arrow_types = {c: schema.field(c).type for c in features}
        self._offsets = self._row_counts()  # per file: global first row
        n_rows = int(self._offsets[-1])
        # Parquet: one pass over the row groups for both (each opened once).
        found = self._scan_parquet(features, target) if fmt == "parquet" else None
        if fmt != "parquet":
            self._check_nulls(features)
        targets = None
        if target is not None:
            y = self._read_target(target, found)
            if y.shape[0] != n_rows:  # CSV: the target pass counts the rows
                n_rows = y.shape[0]
                self._offsets = np.array([0, n_rows])
            if n_classes is not None:
                _check_labels(y, n_classes, f"{path}: column {target!r}")
            targets = _Targets(y, {"kind": fmt, "column": target})
        elif fmt == "csv":
            n_rows = self._count_csv_rows()
            self._offsets = np.array([0, n_rows])
        records = [_FileRecord(f) for f in self.files]
        super().__init__(
            n_rows,
            len(features),
            np.result_type(*dtypes),
            (len(features),),
            targets,
            n_classes,
            records,
        )

    # -- opening ------------------------------------------------------------------------

    def _schema(self):
        pa = _pyarrow()
        f0 = self.files[0]
        try:
            if self.kind == "parquet":
                schema = self._parquet(f0).schema_arrow
                for f in self.files[1:]:
                    other = self._parquet(f).schema_arrow
                    if not other.equals(schema):
                        raise DataSourceError(f"{f}: its columns differ from those of {f0}")
                return schema
            if self.kind == "arrow":
                return pa.ipc.open_file(pa.memory_map(str(f0))).schema
            return self._csv_reader(f0).schema
        except DataSourceError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise DataSourceError(f"{f0}: cannot read it as {self.kind}: {_one_line(exc)}") from exc

    def _parquet(self, f):
        """Row groups of ``f`` (``parquet_footer.open_row_groups``): each read through a
        footer of its own, so the parsed metadata held is one row group's, not the file's."""
        from .parquet_footer import open_row_groups

        cache = self.__dict__.setdefault("_footers", {})
        if f not in cache:
            cache[f] = open_row_groups(f)
        return cache[f]

    def _row_counts(self):
        """Global first row of each file (and the total), from the metadata."""
        counts = []
        for f in self.files:
            if self.kind == "parquet":
                counts.append(self._parquet(f).num_rows)
            elif self.kind == "arrow":
                reader = self._ipc(f)
                counts.append(
                    sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
                )
            else:
                counts.append(0)  # counted by the target pass, or a pass of its own
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def _ipc(self, f):
        pa = _pyarrow()
        try:
            return pa.ipc.open_file(pa.memory_map(str(f)))
        except (pa.ArrowException, OSError) as exc:
            raise DataSourceError(f"{f}: cannot read it as Arrow IPC: {_one_line(exc)}") from exc

    def _csv_reader(self, f, column_types=None, include=None):
        pa = _pyarrow()
        import pyarrow.csv as pacsv

        parse = _csv_parse(f)
        convert = pacsv.ConvertOptions(
            column_types=column_types or {}, include_columns=include or []
        )
        stream = pa.input_stream(str(f), compression="detect")
        return pacsv.open_csv(stream, parse_options=parse, convert_options=convert)

    def _scan_parquet(self, features, target):
        """Parquet at open: a null in a feature column is an error (found from each column
        chunk's statistics, read only where they do not say "no nulls"); and the target
        column of each file (a ``ChunkedArray``), if ``target`` is given."""
        pa = _pyarrow()
        found = {}
        for fi, f in enumerate(self.files):
            groups = self._parquet(f)
            leaf = {c: i for i, c in enumerate(groups.schema_arrow.names)}
            index = np.array([leaf[c] for c in features])  # flat columns: leaf i is field i
            row0 = int(self._offsets[fi])
            parts = []
            for g in range(groups.num_row_groups):
                for j in np.flatnonzero(groups.may_have_nulls(g)[index]).tolist():
                    c = features[j]
                    col = groups.read_group(g, columns=[c]).column(0)
                    if col.null_count:
                        raise DataSourceError(
                            f"{f}: row group {g}, row {row0 + _first_null(col)} (global), "
                            f"column {c!r} is null; features must have no missing values"
                        )
                if target is not None:
                    try:
                        parts += groups.read_group(g, columns=[target]).column(0).chunks
                    except (pa.ArrowException, OSError) as exc:
                        raise DataSourceError(
                            f"{f}: cannot read column {target!r}: {_one_line(exc)}"
                        ) from exc
                row0 += int(groups.group_rows[g])
            groups.release()  # one file open at a time, however many files
            if target is not None:
                # Arrays, not ChunkedArrays: pyarrow builds from the latter value by value.
                found[f] = pa.chunked_array(parts, type=groups.schema_arrow.field(target).type)
        return found

    def _check_nulls(self, features):
        """IPC: a null in a feature column is an error at open."""
        if self.kind == "arrow":
            for fi, f in enumerate(self.files):
                reader = self._ipc(f)
                row0 = int(self._offsets[fi])
                for b in range(reader.num_record_batches):
                    batch = reader.get_batch(b)
                    for c in features:
                        col = batch.column(batch.schema.get_field_index(c))
                        if col.null_count:
                            raise DataSourceError(
                                f"{f}: record batch {b}, row {row0 + _first_null(col)} "
                                f"(global), column {c!r} is null; features must have no "
                                "missing values"
                            )
                    row0 += batch.num_rows

    def _read_target(self, target, found=None):
        """The target column as one array; ``found``: columns already read, by file."""
        pa = _pyarrow()
        parts = []
        for f in self.files:
            try:
                if found:
                    col = found[f]
                elif self.kind == "arrow":
                    reader = self._ipc(f)
                    col = pa.chunked_array(
                        [
                            reader.get_batch(i).column(reader.schema.get_field_index(target))
                            for i in range(reader.num_record_batches)
                        ],
                        type=reader.schema.field(target).type,
                    )
                else:
                    import pyarrow.csv as pacsv

                    col = pacsv.read_csv(
                        pa.input_stream(str(f), compression="detect"),
                        parse_options=_csv_parse(f),
                        convert_options=pacsv.ConvertOptions(include_columns=[target]),
                    ).column(0)
            except (pa.ArrowException, OSError) as exc:
                raise DataSourceError(
                    f"{f}: cannot read column {target!r}: {_one_line(exc)}"
                ) from exc
            if col.null_count:
                row = int(sum(p.shape[0] for p in parts)) + _first_null(col)
                raise LabelError(
                    f"{f}: column {target!r} is null at row {row} (global); "
                    "every row needs a target"
                )
            t = col.type
            if pa.types.is_dictionary(t):
                col = col.cast(t.value_type)
                t = t.value_type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                raise LabelError(
                    f"{f}: target column {target!r} has type {t}; it must be "
                    "numeric (encode class names as integers)"
                )
            parts.append(np.asarray(col.to_numpy(zero_copy_only=False)))
        y = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return y.view(np.uint8) if y.dtype == np.bool_ else y

    def _count_csv_rows(self):
        pa = _pyarrow()
        import pyarrow.csv as pacsv

        f = self.files[0]
        try:
            # one column converted: the parse is a small part of a full read
            return pacsv.read_csv(
                pa.input_stream(str(f), compression="detect"),
                parse_options=_csv_parse(f),
                convert_options=pacsv.ConvertOptions(include_columns=[self.feature_names[0]]),
            ).num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataSourceError(f"{f}: cannot read it as CSV: {_one_line(exc)}") from exc

    # -- reading ------------------------------------------------------------------------

    def _csv_batches(self, f, columns):
        """(first row of the batch in the file, RecordBatch of ``columns``), parsed a
        block of text at a time by ``read_csv`` on all threads.

        Blocks end at a line end: pyarrow's own reader makes the same cut (values may not
        hold newlines unless ``newlines_in_values``, which fastlin does not set).
        """
        pa = _pyarrow()
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(column_names=self._columns)  # the header is cut off below
        convert = pacsv.ConvertOptions(
            column_types={c: self._arrow_types[c] for c in columns}, include_columns=columns
        )
        parse = _csv_parse(f)
        row = 0
        header = True
        rest = b""
        with pa.input_stream(str(f), compression="detect") as stream:
            while True:
                try:
                    data = stream.read(CSV_BLOCK_BYTES)
                except (pa.ArrowException, OSError) as exc:
                    raise DataSourceError(f"{f}: after row {row}: {_one_line(exc)}") from exc
                text = rest + data if rest else data
                if data:
                    cut = text.rfind(b"\n") + 1
                    if cut == 0:  # a line longer than a block: read on
                        rest = text
                        continue
                    text, rest = text[:cut], text[cut:]
                elif not text:
                    return
                else:
                    rest = b""
                if header:
                    text = text[text.find(b"\n") + 1 :] if b"\n" in text else b""
                    header = False
                if not text.strip():
                    if not data:
                        return
                    continue
                try:
                    table = pacsv.read_csv(
                        pa.py_buffer(text),
                        read_options=read,
                        parse_options=parse,
                        convert_options=convert,
                    )
                except (pa.ArrowException, OSError) as exc:
                    raise DataSourceError(f"{f}: after row {row}: {_one_line(exc)}") from exc
                for batch in table.to_batches():
                    yield row, batch
                    row += batch.num_rows
                if not data:
                    return

    def _batches(self, start_row, stop_row, hint):
        """(global first row, RecordBatch of the feature columns) covering the range."""
        cols = self.feature_names
        for fi, f in enumerate(self.files):
            f0, f1 = int(self._offsets[fi]), int(self._offsets[fi + 1])
            if f1 <= start_row or f0 >= stop_row:
                continue
            if self.kind == "parquet":
                # One row group at a time, decoded on all threads: memory holds one group
                # (iter_batches decodes the same data ~40 % slower). The group is dropped
                # before the next is read, and the pool gives its pages back: mimalloc
                # otherwise keeps them per decoding thread, and the peak drifts up with
                # the number of groups read (by up to 20 MB over 20 groups).
                groups = self._parquet(f)
                row = f0
                for g, n in enumerate(groups.group_rows.tolist()):
                    if row + n > start_row and row < stop_row:
                        table = groups.read_group(g, columns=cols, use_threads=True)
                        batch = table.combine_chunks().to_batches()[0] if n else None
                        del table
                        yield row, batch
                        del batch
                        _pyarrow().default_memory_pool().release_unused()
                    row += n
                groups.release()
            elif self.kind == "arrow":
                reader = self._ipc(f)
                row = f0
                for b in range(reader.num_record_batches):
                    batch = reader.get_batch(b)
                    if row + batch.num_rows > start_row and row < stop_row:
                        yield row, batch.select(cols)
                    row += batch.num_rows
            else:
                for row, batch in self._csv_batches(f, cols):
                    for c, name in zip(batch.columns, cols):
                        if c.null_count:
                            raise DataSourceError(
                                f"{f}: row {row + _first_null(c)} (global), column {name!r} "
                                "is empty; features must have no missing values"
                            )
                    yield f0 + row, batch

    def _iter_x(self, chunk_rows, start_row, stop_row):
        d = self.n_features
        out = None
        filled = 0
        out_row = start_row
        for row, batch in self._batches(start_row, stop_row, chunk_rows):
            if batch is None:
                continue
            lo = max(start_row - row, 0)
            hi = min(stop_row - row, batch.num_rows)
            if hi <= lo:
                continue
            block = _to_rows(batch.slice(lo, hi - lo), self.dtype)
            pos = 0
            # Chunks inside one block are views of it (each block is a fresh array, so a
            # chunk stays valid); only chunks across blocks are copied together.
            while (
                out is None
                and out_row < stop_row
                and block.shape[0] - pos >= min(chunk_rows, stop_row - out_row)
            ):
                take = min(chunk_rows, stop_row - out_row)
                yield out_row, block[pos : pos + take]
                out_row += take
                pos += take
            while pos < block.shape[0]:
                if out is None:
                    out = np.empty((min(chunk_rows, stop_row - out_row), d), self.dtype)
                    filled = 0
                take = min(out.shape[0] - filled, block.shape[0] - pos)
                out[filled : filled + take] = block[pos : pos + take]
                filled += take
                pos += take
                if filled == out.shape[0]:
                    yield out_row, out
                    out_row += filled
                    out = None
        if out is not None and filled:
            yield out_row, out[:filled]

    def locate(self, row, col=None):
        fi = int(np.searchsorted(self._offsets, row, side="right")) - 1
        f = self.files[min(max(fi, 0), len(self.files) - 1)]
        where = f"{f}: row {row} (global)"
        return where if col is None else f"{where}, column {self.feature_names[col]!r}"

    def _x_identity(self):
        ident = {
            "kind": self.kind,
            "columns": self.feature_names,
            "files": [r.identity() for r in self._records[: len(self.files)]],
        }
        if self.kind == "parquet":
            ident["parquet"] = [
                [self._parquet(f).num_rows, self._parquet(f).num_row_groups] for f in self.files
            ]
        return ident


def _csv_parse(f):
    import pyarrow.csv as pacsv

    return pacsv.ParseOptions(delimiter="\t" if ".tsv" in f.name.lower() else ",")


def _files(path, fmt):
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and tabular_format(p) == "parquet" and not p.name.startswith((".", "_"))
        )
        if not files:
            raise DataSourceError(f"{path}: a directory with no Parquet files")
        return files
    return [path]


def _to_rows(batch, dtype):
    """A RecordBatch as a C-ordered (rows, columns) array of ``dtype``."""
    if batch.num_rows == 0:
        return np.empty((0, batch.num_columns), dtype)
    try:
        A = np.asarray(batch.to_tensor(row_major=True))
    except Exception:  # types to_tensor cannot combine: column by column
        A = np.empty((batch.num_rows, batch.num_columns), dtype)
        for j, col in enumerate(batch.columns):
            A[:, j] = np.asarray(col.to_numpy(zero_copy_only=False))
    if A.dtype != dtype:
        A = A.astype(dtype)
    return _native(A)


def _first_null(col):
    pa = _pyarrow()
    import pyarrow.compute as pc

    mask = pc.is_null(col)
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return int(np.flatnonzero(mask.to_numpy(zero_copy_only=False))[0])


def _show(names, limit=12):
    names = list(names)
    s = ", ".join(repr(n) for n in names[:limit])
    return s + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _one_line(exc):
    return " ".join(str(exc).split())


def open_table(path, target=None, features=None, *, n_classes=None, format=None):
    """Open a Parquet file or directory, an Arrow IPC / Feather file or a CSV file as a
    chunk source; see :class:`TabularSource`."""
    return TabularSource(os.fspath(path), target, features, n_classes=n_classes, format=format)


__all__ = ["TabularSource", "open_table", "tabular_format"]
