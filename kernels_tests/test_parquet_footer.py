"""Parquet files read one row group at a time through a footer of its own.

``RowGroupFile`` scans the Thrift compact footer itself; every figure it gives (rows per
group, which column chunks may hold nulls) and every row group it reads must equal what
pyarrow gives from its own parse of the whole footer, over the options writers use.
Damaged footers raise ``FooterError`` (the source then falls back to pyarrow's parse and
its error), never a hang or a wrong table.
"""

import numpy as np
import pytest

from fastlin.io.parquet_footer import (
    FooterError,
    ParsedFooter,
    RowGroupFile,
    open_row_groups,
)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _table(rng, n, d, nulls=False):
    cols = {f"p{j}": rng.integers(0, 256, n).astype(np.uint8) for j in range(d)}
    cols["f"] = rng.standard_normal(n)
    cols["label"] = rng.integers(0, 10, n)
    table = pa.table(cols)
    if nulls:
        mask = np.zeros(n, bool)
        mask[rng.integers(0, n, 3)] = True
        table = table.set_column(1, "p1", pa.array(cols["p1"], mask=mask))
        table = table.append_column("empty", pa.nulls(n, pa.float64()))
    return table


def _pyarrow_nulls(md, g):
    rg = md.row_group(g)
    return np.array(
        [
            rg.column(i).statistics is None or rg.column(i).statistics.null_count != 0
            for i in range(rg.num_columns)
        ]
    )


WRITERS = {
    "plain": {},
    "no statistics": {"write_statistics": False},
    "no dictionary, zstd": {"use_dictionary": False, "compression": "zstd"},
    "data page v2, page index": {"data_page_version": "2.0", "write_page_index": True},
    "uncompressed, small pages": {"compression": "none", "data_page_size": 512},
}


@pytest.mark.parametrize("options", list(WRITERS.values()), ids=list(WRITERS))
@pytest.mark.parametrize(
    "n, d, group, nulls",
    [
        (1000, 3, 100, False),  # 10 groups of few columns
        (2345, 20, 1000, True),  # > 15 columns (list size as a varint), a partial last group
        (300, 40, 7, False),  # > 15 row groups
        (50, 2, 50, True),  # one group
    ],
)
def test_row_groups_equal_pyarrow(tmp_path, options, n, d, group, nulls):
    rng = np.random.default_rng(n + d)
    table = _table(rng, n, d, nulls)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=group, **options)
    md = pq.ParquetFile(path).metadata
    groups = RowGroupFile(path)
    assert groups.num_rows == md.num_rows == n
    assert groups.num_row_groups == md.num_row_groups
    np.testing.assert_array_equal(
        groups.group_rows, [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    )
    assert groups.schema_arrow.equals(pq.ParquetFile(path).schema_arrow)
    whole = pq.ParquetFile(path)
    for g in range(md.num_row_groups):
        np.testing.assert_array_equal(groups.may_have_nulls(g), _pyarrow_nulls(md, g))
        assert groups.read_group(g).equals(whole.read_row_group(g))
        assert groups.read_group(g, columns=["label", "p1"]).equals(
            whole.read_row_group(g, columns=["label", "p1"])
        )
    if nulls:
        assert any(groups.may_have_nulls(g)[1] for g in range(md.num_row_groups))


def test_key_value_metadata_and_no_rows(tmp_path):
    table = _table(np.random.default_rng(0), 0, 4).replace_schema_metadata({"a": "b" * 40})
    path = tmp_path / "empty.parquet"
    pq.write_table(table, path)
    groups = RowGroupFile(path)
    assert groups.num_rows == 0
    assert groups.open().schema_arrow.metadata == {b"a": b"b" * 40}
    for g in range(groups.num_row_groups):
        assert groups.read_group(g).num_rows == 0


@pytest.mark.parametrize("view_bytes", [1, 3000, 1 << 18])
def test_views_read_the_same_bytes_in_any_order(tmp_path, monkeypatch, view_bytes):
    """Views of one group each, of a few, of all: the same tables in any read order."""
    import fastlin.io.parquet_footer as footer

    monkeypatch.setattr(footer, "VIEW_FOOTER_BYTES", view_bytes)
    rng = np.random.default_rng(3)
    table = _table(rng, 1700, 5)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=100)  # 17 groups: a list size as a varint
    groups = RowGroupFile(path)
    sizes = np.diff(groups._blocks, axis=1).ravel()
    assert sizes.sum() == 17
    assert len(sizes) == {1: 17, 3000: len(sizes), 1 << 18: 1}[view_bytes]
    assert 1 < len(sizes) < 17 or view_bytes != 3000
    order = rng.permutation(groups.num_row_groups)
    parts = {int(g): groups.read_group(int(g)) for g in np.concatenate([order, order[::-1]])}
    assert pa.concat_tables([parts[g] for g in range(len(parts))]).equals(table)


def test_damaged_footers_raise_footer_error(tmp_path):
    table = _table(np.random.default_rng(1), 500, 6)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=100)
    raw = path.read_bytes()
    length = int.from_bytes(raw[-8:-4], "little")
    start = len(raw) - 8 - length
    bad = tmp_path / "bad.parquet"
    # A footer cut short (its length field kept consistent): every cut fails to parse.
    for cut in (1, 2, 17, length // 2, length - 3):
        body = raw[start : start + length - cut]
        bad.write_bytes(raw[:start] + body + len(body).to_bytes(4, "little") + b"PAR1")
        with pytest.raises(FooterError):
            RowGroupFile(bad)
    # No magic (an encrypted footer ends in PARE), a length past the file, a short file.
    for content in (
        raw[:-4] + b"PARE",
        raw[:-8] + (10**9).to_bytes(4, "little") + b"PAR1",
        b"PAR1PAR1",
    ):
        bad.write_bytes(content)
        with pytest.raises(FooterError):
            RowGroupFile(bad)
    # Random bytes in the footer: an error or a parse, in bounded time, never a crash.
    rng = np.random.default_rng(2)
    for _ in range(200):
        body = bytearray(raw[start : start + length])
        for at in rng.integers(0, length, 4).tolist():
            body[at] = int(rng.integers(0, 256))
        bad.write_bytes(raw[:start] + bytes(body) + raw[-8:])
        try:
            RowGroupFile(bad)
        except FooterError:
            pass


def test_fallback_to_pyarrow_parse(tmp_path):
    table = _table(np.random.default_rng(4), 300, 3, nulls=True)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=100)
    assert isinstance(open_row_groups(path), RowGroupFile)
    parsed = ParsedFooter(path)
    groups = RowGroupFile(path)
    np.testing.assert_array_equal(parsed.group_rows, groups.group_rows)
    for g in range(3):
        np.testing.assert_array_equal(parsed.may_have_nulls(g), groups.may_have_nulls(g))
        assert parsed.read_group(g).equals(groups.read_group(g))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(path.read_bytes()[:-4] + b"PARE")
    with pytest.raises((pa.ArrowException, OSError), match="encrypted"):
        open_row_groups(bad)  # pyarrow's own message for a file it cannot read either
