"""Chunk sources: IDX (raw, gzip), .npy, arrays; validation of damaged files; writers."""

import gzip
import json
import os
import shutil

import numpy as np
import pytest

import naive_io as nio
from fastlin import io as fio
from fastlin.io import (
    ChunkSource,
    CorruptStreamError,
    DataSourceError,
    IDXFormatError,
    IDXWriter,
    LabelError,
    NpyFormatError,
    SourceChangedError,
    default_chunk_rows,
    from_arrays,
    open_idx,
    open_npy,
    open_source,
    read_idx,
    read_idx_header,
    write_idx,
)

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
MNIST_FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def _random(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)


def _images(rng, n=23, shape=(4, 5)):
    X = rng.integers(0, 256, size=(n,) + shape, dtype=np.uint8)
    X[:, 0, :] = 0  # some always-zero pixels, as in MNIST
    return X


@pytest.fixture
def mnist_like(tmp_path, rng):
    """Small image and label files, raw and gzip: (X (n, 4, 5) uint8, y (n,) uint8, paths)."""
    X = _images(rng)
    y = rng.integers(0, 10, size=X.shape[0], dtype=np.uint8)
    paths = {}
    for gz in (False, True):
        sfx = ".gz" if gz else ""
        paths[gz] = (
            nio.write_file(tmp_path / f"img{sfx}", X, gz),
            nio.write_file(tmp_path / f"lbl{sfx}", y, gz),
        )
    return X, y, paths


def _sources(kind, X, y, tmp_path):
    """The same data as an array, .npy, raw IDX or gzip IDX source."""
    if kind == "array":
        return from_arrays(X, y)
    if kind == "npy":
        np.save(tmp_path / "X.npy", X)
        np.save(tmp_path / "y.npy", y)
        return open_npy(tmp_path / "X.npy", tmp_path / "y.npy")
    gz = kind == "gz"
    sfx = ".gz" if gz else ""
    return open_idx(
        nio.write_file(tmp_path / f"X{sfx}", X, gz), nio.write_file(tmp_path / f"y{sfx}", y, gz)
    )


KINDS = ["array", "npy", "raw", "gz"]


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("shape", [(9,), (9, 3), (9, 2, 3), (1, 1, 1)])
def test_idx_reads_every_type(tmp_path, rng, gz, dtype, shape):
    a = _random(rng, shape, dtype)
    path = nio.write_file(tmp_path / "a", a, gz)
    np.testing.assert_array_equal(read_idx(path), a)
    src = open_idx(path)
    assert src.n_rows == shape[0]
    assert src.n_features == int(np.prod(shape[1:]))
    assert src.dtype == np.dtype(dtype) and src.dtype.isnative
    X, y = nio.concat_chunks(src.iter_chunks(4))
    assert y is None and X.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(X, a.reshape(shape[0], -1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chunk_rows", [1, 7, 23, 50, None])
def test_chunks_concatenate_to_the_whole(tmp_path, rng, kind, chunk_rows):
    X = _images(rng).reshape(23, -1)
    y = rng.integers(0, 10, size=23, dtype=np.uint8)
    src = _sources(kind, X, y, tmp_path)
    chunks = list(src.iter_chunks(chunk_rows))
    step = chunk_rows or 23
    assert [c[0].shape[0] for c in chunks] == [min(step, 23 - r) for r in range(0, 23, step)]
    for Xc, yc in chunks:
        assert Xc.shape[1] == 20 and Xc.dtype == np.uint8 and Xc.flags.c_contiguous
        assert not Xc.flags.writeable and not yc.flags.writeable
        assert yc.shape == (Xc.shape[0],)
    Xa, ya = nio.concat_chunks(chunks)  # chunks stay valid after the next one is read
    np.testing.assert_array_equal(Xa, X)
    np.testing.assert_array_equal(ya, y)
    Xr, yr = src.read_all()
    np.testing.assert_array_equal(Xr, X)
    np.testing.assert_array_equal(yr, y)
    np.testing.assert_array_equal(src.targets(), y)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("start_row", [0, 1, 6, 22, 23])
@pytest.mark.parametrize("chunk_rows", [1, 5])
def test_resume_equals_tail_of_full_read(tmp_path, rng, kind, start_row, chunk_rows):
    X = _images(rng).reshape(23, -1)
    y = rng.integers(0, 10, size=23, dtype=np.uint8)
    src = _sources(kind, X, y, tmp_path)
    Xt, yt = nio.concat_chunks(src.iter_chunks(chunk_rows, start_row=start_row))
    if start_row == 23:
        assert Xt is None
        return
    np.testing.assert_array_equal(Xt, X[start_row:])
    np.testing.assert_array_equal(yt, y[start_row:])
    Xs, ys = nio.concat_chunks(src.iter_chunks(chunk_rows, start_row=start_row, stop_row=22))
    if start_row < 22:
        np.testing.assert_array_equal(Xs, X[start_row:22])
        np.testing.assert_array_equal(ys, y[start_row:22])


def test_gzip_resume_at_end_still_checks_the_whole_stream(tmp_path, rng):
    X = _images(rng, n=200, shape=(8, 8))
    path = nio.write_file(tmp_path / "x.gz", X, gz=True)
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # damage the stored CRC only: the header and sizes still agree
    path.write_bytes(bytes(data))
    src = open_idx(path)
    with pytest.raises(CorruptStreamError, match="CRC"):
        list(src.iter_chunks(50, start_row=200))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int16, np.int64, np.float32, np.float64, ">f8", ">i4"]
)
def test_npy_orders_and_dtypes(tmp_path, rng, order, dtype):
    X = np.asarray(_random(rng, (31, 6), np.dtype(dtype).newbyteorder("=")), order=order)
    X = X.astype(dtype, order=order)
    np.save(tmp_path / "X.npy", X)
    src = open_npy(tmp_path / "X.npy")
    assert src.dtype == np.dtype(dtype).newbyteorder("=") and src.dtype.isnative
    assert src.shape == (31, 6) and not src.has_targets
    for chunk_rows in (1, 7, 31, 40):
        Xa, ya = nio.concat_chunks(src.iter_chunks(chunk_rows))
        assert ya is None and Xa.dtype.isnative
        np.testing.assert_array_equal(Xa, X)
    Xt, _ = nio.concat_chunks(src.iter_chunks(4, start_row=9))
    np.testing.assert_array_equal(Xt, X[9:])


def test_npy_images_and_2d_targets(tmp_path, rng):
    X = _images(rng, n=12)
    Y = rng.standard_normal((12, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    src = open_source(tmp_path / "X.npy", tmp_path / "Y.npy")
    assert isinstance(src, fio.NpySource) and src.item_shape == (4, 5) and src.y_shape == (12, 3)
    Xa, Ya = nio.concat_chunks(src.iter_chunks(5))
    np.testing.assert_array_equal(Xa, X.reshape(12, -1))
    np.testing.assert_array_equal(Ya, Y)
    np.save(tmp_path / "XF.npy", np.asfortranarray(X))
    with pytest.raises(NpyFormatError, match="Fortran"):
        open_npy(tmp_path / "XF.npy")


def test_arrays_fortran_3d_bool_and_labels_from_file(tmp_path, rng):
    X = np.asfortranarray(rng.standard_normal((10, 4)))
    src = from_arrays(X)
    np.testing.assert_array_equal(nio.concat_chunks(src.iter_chunks(3))[0], X)
    imgs = _images(rng, n=10)
    src = from_arrays(
        imgs, nio.write_file(tmp_path / "y", np.arange(10, dtype=np.uint8)), n_classes=10
    )
    assert src.item_shape == (4, 5) and src.n_features == 20
    Xa, ya = nio.concat_chunks(src.iter_chunks(4))
    np.testing.assert_array_equal(Xa, imgs.reshape(10, -1))
    np.testing.assert_array_equal(ya, np.arange(10))
    b = from_arrays(rng.random((5, 3)) > 0.5)
    assert b.dtype == np.uint8
    with pytest.raises(ValueError, match="different numbers of rows"):
        from_arrays(X, np.zeros(9))
    with pytest.raises(ValueError, match="1-D"):
        from_arrays(np.zeros(5))
    with pytest.raises(ValueError, match="complex"):
        from_arrays(np.zeros((3, 2), complex))


def test_array_chunks_do_not_expose_the_callers_array(rng):
    X = rng.standard_normal((6, 2))
    ((Xc, _),) = from_arrays(X).iter_chunks(10)
    with pytest.raises(ValueError, match="read-only"):
        Xc[0, 0] = 1.0
    assert X.flags.writeable


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3"])
def test_bad_chunk_rows(rng, bad):
    src = from_arrays(rng.standard_normal((5, 2)))
    with pytest.raises(ValueError, match="chunk_rows"):
        src.iter_chunks(bad)  # raised at the call, not at the first next()


def test_bad_row_range(rng):
    src = from_arrays(rng.standard_normal((5, 2)))
    with pytest.raises(ValueError, match="start_row"):
        next(src.iter_chunks(2, start_row=6))
    with pytest.raises(ValueError, match="start_row"):
        next(src.iter_chunks(2, start_row=-1))
    with pytest.raises(ValueError, match="stop_row"):
        next(src.iter_chunks(2, start_row=3, stop_row=2))


def test_default_chunk_rows():
    assert default_chunk_rows(784, 1) % 256 == 0
    assert default_chunk_rows(784, 1) * 784 <= fio.DEFAULT_CHUNK_BYTES
    assert default_chunk_rows(10**8, 8) == 1
    assert default_chunk_rows(784, 1, n_rows=10) == 10
    assert default_chunk_rows(784, 1, n_rows=0) == 1


def test_open_source_dispatches_by_content(tmp_path, rng, mnist_like):
    X, y, paths = mnist_like
    # A gzip IDX file under a misleading name is still read as gzip IDX.
    odd = tmp_path / "images.npy"
    shutil.copy(paths[True][0], odd)
    src = open_source(odd, paths[False][1], n_classes=10)
    assert isinstance(src, fio.IDXSource) and src.compressed and src.n_classes == 10
    np.testing.assert_array_equal(src.read_all()[0], X.reshape(len(X), -1))
    assert open_source(src) is src
    with pytest.raises(ValueError, match="labels cannot be added"):
        open_source(src, y)
    assert isinstance(open_source(X, y), fio.ArraySource)
    other = tmp_path / "notes.txt"
    other.write_text("hello world")
    with pytest.raises(DataSourceError, match="unrecognised file format"):
        open_source(other)
    with pytest.raises(FileNotFoundError):
        open_source(tmp_path / "missing")
    with pytest.raises(DataSourceError, match="directory"):
        open_source(tmp_path)


def test_labels_from_npy_and_array_for_idx(mnist_like, tmp_path):
    X, y, paths = mnist_like
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    for labels in (tmp_path / "y.npy", y.astype(np.int32), list(y)):
        src = open_idx(paths[True][0], labels, n_classes=10)
        np.testing.assert_array_equal(src.read_all()[1], y)


def test_identity(tmp_path, mnist_like, rng):
    X, y, paths = mnist_like
    a = open_idx(*paths[True], n_classes=10)
    b = open_idx(*paths[True], n_classes=10)
    ident = a.identity()
    assert json.loads(json.dumps(ident)) == ident == b.identity()
    assert ident["n_rows"] == len(X) and ident["X"]["compressed"] and ident["y"]["size"] > 0
    assert open_idx(*paths[False]).identity()["X"]["fingerprint"] != ident["X"]["fingerprint"]
    arr = from_arrays(X, y).identity()
    assert json.loads(json.dumps(arr)) == arr
    X2 = X.copy()
    X2[-1, -1, -1] ^= 1
    assert from_arrays(X2, y).identity() != arr
    assert from_arrays(X.copy(), y.copy()).identity() == arr


def test_file_changed_after_open(tmp_path, rng):
    X = _images(rng)
    path = nio.write_file(tmp_path / "x", X)
    src = open_idx(path)
    X[3] += 1
    nio.write_file(path, X)
    os.utime(path, ns=(1, 1))  # make sure the time stamp differs, whatever the clock grain
    with pytest.raises(SourceChangedError, match="changed since it was opened"):
        src.iter_chunks(5)


# --------------------------------------------------------------------------- real MNIST


def test_real_mnist_test_set(mnist_dir, tmp_path):
    img_gz = mnist_dir / "t10k-images-idx3-ubyte.gz"
    lbl_gz = mnist_dir / "t10k-labels-idx1-ubyte.gz"
    hdr = read_idx_header(img_gz)
    assert hdr.compressed and hdr.shape == (10000, 28, 28) and hdr.type_code == 0x08
    gz = open_idx(img_gz, lbl_gz, n_classes=10)
    assert gz.shape == (10000, 784) and gz.item_shape == (28, 28) and gz.dtype == np.uint8
    y_all = gz.targets()
    assert list(y_all[:10]) == MNIST_FIRST_LABELS
    assert sorted(np.unique(y_all)) == list(range(10))
    # Decompressed copies read raw must give the same rows.
    raw_img, raw_lbl = tmp_path / "img", tmp_path / "lbl"
    for src, dst in ((img_gz, raw_img), (lbl_gz, raw_lbl)):
        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g)
    raw = open_idx(raw_img, raw_lbl, n_classes=10)
    X_raw, y_raw = raw.read_all()
    X_gz, y_gz = nio.concat_chunks(gz.iter_chunks(3000))
    np.testing.assert_array_equal(X_gz, X_raw)
    np.testing.assert_array_equal(y_gz, y_raw)
    assert X_raw.sum(dtype=np.int64) > 0
    np.testing.assert_array_equal(X_raw, nio.read_file(raw_img).reshape(10000, 784))
    tail_X, tail_y = nio.concat_chunks(gz.iter_chunks(999, start_row=9000))
    np.testing.assert_array_equal(tail_X, X_raw[9000:])
    np.testing.assert_array_equal(tail_y, y_raw[9000:])


# --------------------------------------------------------------------------- damaged files


def _corrupt(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_by_one_byte(tmp_path, rng, gz):
    data = nio.idx_bytes(_images(rng))[:-1]
    path = tmp_path / "x"
    _corrupt(path, gzip.compress(data, mtime=0) if gz else data)
    with pytest.raises(IDXFormatError, match=r"truncated by 1 bytes") as e:
        open_idx(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
def test_extra_trailing_bytes(tmp_path, rng, gz):
    data = nio.idx_bytes(_images(rng)) + b"\x00\x07"
    path = tmp_path / "x"
    _corrupt(path, gzip.compress(data, mtime=0) if gz else data)
    with pytest.raises(IDXFormatError, match=r"2 extra bytes after byte offset") as e:
        open_idx(path)
    assert str(path) in str(e.value)


def test_cut_gzip_file_fails_at_open(tmp_path, rng):
    data = gzip.compress(nio.idx_bytes(_images(rng, n=50)), mtime=0)
    path = _corrupt(tmp_path / "x.gz", data[:-20])
    with pytest.raises(CorruptStreamError, match="cut off") as e:
        open_idx(path)
    assert str(path) in str(e.value)


def test_garbage_after_gzip_member(tmp_path, rng):
    X = _images(rng)
    path = _corrupt(tmp_path / "x.gz", gzip.compress(nio.idx_bytes(X), mtime=0) + b"junk")
    with pytest.raises(DataSourceError, match=str(path)):
        list(open_idx(path).iter_chunks(5))


def test_multi_member_gzip_is_read(tmp_path, rng):
    X = _images(rng)
    data = nio.idx_bytes(X)
    path = _corrupt(
        tmp_path / "x.gz", gzip.compress(data[:100], mtime=0) + gzip.compress(data[100:], mtime=0)
    )
    np.testing.assert_array_equal(open_idx(path).read_all()[0], X.reshape(len(X), -1))


def test_flipped_bits_in_gzip(tmp_path, rng):
    X = rng.integers(0, 256, size=(300, 8, 8), dtype=np.uint8)
    good = gzip.compress(nio.idx_bytes(X), mtime=0)
    positions = rng.choice(np.arange(20, len(good) - 8), size=12, replace=False)
    for pos in positions:
        data = bytearray(good)
        data[pos] ^= 1 << int(rng.integers(0, 8))
        path = _corrupt(tmp_path / f"x{pos}.gz", bytes(data))
        # Either open notices (header, size) or the stream fails before iteration ends.
        with pytest.raises(DataSourceError) as e:
            src = open_idx(path)
            for _ in src.iter_chunks(64):
                pass
        assert str(path) in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "head, match",
    [
        (b"\x00\x00\x08\x03", None),  # control: a valid header
        (b"\x08\x03\x00\x00", "first two bytes must be zero"),
        (b"\x00\x00\x07\x03", "unknown type code 0x07"),
        (b"\x00\x00\x08\x00", "number of dimensions"),
        (b"\x00\x00\x08\x02", "extra bytes"),  # 2 dims read: the third dim becomes payload
        (
            b"\x00\x00\x08\x04",
            "dimensions 23 x 4 x 5 x 0 of uint8",
        ),  # the payload's first 4 bytes (0) become a dim
        (b"\x00\x00\x0d\x03", "truncated"),  # float32: the payload is 4x too short
    ],
)
def test_wrong_magic_and_dims(tmp_path, rng, gz, head, match):
    data = bytearray(nio.idx_bytes(_images(rng)))
    data[:4] = head
    path = tmp_path / "x"
    _corrupt(path, gzip.compress(bytes(data), mtime=0) if gz else bytes(data))
    if match is None:
        assert open_idx(path).shape == (23, 20)
        return
    with pytest.raises(IDXFormatError, match=match) as e:
        open_idx(path)
    assert str(path) in str(e.value)


def test_wrong_dimension_values(tmp_path, rng):
    X = _images(rng)
    data = bytearray(nio.idx_bytes(X))
    data[8:12] = (5).to_bytes(4, "big")  # rows of 5 x 5 instead of 4 x 5
    with pytest.raises(IDXFormatError, match=r"dimensions 23 x 5 x 5 .*truncated by 115 bytes"):
        open_idx(_corrupt(tmp_path / "x", bytes(data)))
    data[4:8] = (-1).to_bytes(4, "big", signed=True)
    with pytest.raises(IDXFormatError, match="negative"):
        open_idx(_corrupt(tmp_path / "x", bytes(data)))
    with pytest.raises(IDXFormatError, match="too short"):
        open_idx(_corrupt(tmp_path / "x", b"\x00\x00"))


@pytest.mark.parametrize("gz", [False, True])
def test_image_label_count_mismatch(tmp_path, rng, gz):
    X = _images(rng)
    img = nio.write_file(tmp_path / "img", X, gz)
    lbl = nio.write_file(tmp_path / "lbl", np.zeros(22, np.uint8), gz)
    with pytest.raises(LabelError, match="22 labels but .* has 23 rows") as e:
        open_idx(img, lbl)
    assert str(lbl) in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
def test_label_out_of_range(tmp_path, rng, gz):
    X = _images(rng)
    y = rng.integers(0, 10, size=23, dtype=np.uint8)
    y[17] = 10
    img = nio.write_file(tmp_path / "img", X, gz)
    lbl = nio.write_file(tmp_path / "lbl", y, gz)
    with pytest.raises(LabelError, match=r"label 10 at row 17, byte offset 25") as e:
        open_idx(img, lbl, n_classes=10)
    assert str(lbl) in str(e.value) and "0 <= label < 10" in str(e.value)
    assert open_idx(img, lbl).n_classes is None  # unchecked without n_classes
    neg = nio.write_file(tmp_path / "neg", np.full(23, -1, np.int8), gz)
    with pytest.raises(LabelError, match="label -1 at row 0"):
        open_idx(img, neg, n_classes=10)
    with pytest.raises(LabelError, match="must be integers"):
        from_arrays(X, np.zeros(23), n_classes=10)


def test_label_file_with_two_dims(tmp_path, rng):
    X = _images(rng)
    img = nio.write_file(tmp_path / "img", X)
    lbl = nio.write_file(tmp_path / "lbl", np.zeros((23, 2), np.uint8))
    with pytest.raises(IDXFormatError, match="1 dimension"):
        open_idx(img, lbl)


def test_bad_npy_files(tmp_path, rng):
    X = rng.standard_normal((10, 3))
    np.save(tmp_path / "X.npy", X)
    data = (tmp_path / "X.npy").read_bytes()
    with pytest.raises(NpyFormatError, match="truncated by 1 bytes"):
        open_npy(_corrupt(tmp_path / "t.npy", data[:-1]))
    with pytest.raises(NpyFormatError, match="3 extra bytes"):
        open_npy(_corrupt(tmp_path / "e.npy", data + b"abc"))
    with pytest.raises(NpyFormatError, match="not a readable"):
        open_npy(_corrupt(tmp_path / "h.npy", data[:20]))
    np.save(tmp_path / "o.npy", np.array([[1, "a"]], dtype=object))
    with pytest.raises(NpyFormatError, match="dtype"):
        open_npy(tmp_path / "o.npy")
    np.save(tmp_path / "v.npy", X[:, 0])
    with pytest.raises(NpyFormatError, match="at least 2 dimensions"):
        open_npy(tmp_path / "v.npy")


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", IDX_DTYPES)
def test_write_idx_matches_reference(tmp_path, rng, compress, dtype):
    a = _random(rng, (7, 3, 2), dtype)
    path = write_idx(tmp_path / "a", a, compress=compress)
    data = path.read_bytes()
    assert (data[:2] == b"\x1f\x8b") == compress
    if compress:
        data = gzip.decompress(data)
    assert data == nio.idx_bytes(a)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("n_items", [None, 12])
def test_writer_in_chunks(tmp_path, rng, compress, n_items):
    X = _images(rng, n=12)
    path = tmp_path / "x"
    with IDXWriter(path, (4, 5), np.uint8, n_items=n_items, compress=compress) as w:
        w.write(X[:5])
        w.write(X[5:6].reshape(1, 20))  # flattened rows are accepted too
        w.write(X[6:6])
        w.write(X[6:])
    assert w.n_written == 12
    np.testing.assert_array_equal(nio.read_file(path), X)
    assert [p.name for p in tmp_path.iterdir()] == ["x"]  # no temporary files left
    lbl = tmp_path / "y"
    with IDXWriter(lbl, (), np.uint8, compress=compress) as w:
        w.write(np.arange(10, dtype=np.int64))  # fits in uint8: accepted
    np.testing.assert_array_equal(nio.read_file(lbl), np.arange(10))


def test_writer_errors_leave_nothing(tmp_path, rng):
    path = tmp_path / "x"
    with pytest.raises(ValueError, match="3 items written but n_items=4"):
        with IDXWriter(path, (2,), np.int16, n_items=4) as w:
            w.write(np.ones((3, 2), np.int16))
    with pytest.raises(RuntimeError):
        with IDXWriter(path, (2,), np.int16, compress=True) as w:
            w.write(np.ones((3, 2), np.int16))
            raise RuntimeError("consumer failed")
    assert list(tmp_path.iterdir()) == []
    with IDXWriter(path, (2,), np.uint8) as w:
        with pytest.raises(ValueError, match="do not fit uint8"):
            w.write(np.array([[1, 300]]))
        with pytest.raises(ValueError, match="cannot write float64"):
            w.write(np.ones((1, 2)))
        with pytest.raises(ValueError, match="does not hold items of shape"):
            w.write(np.ones((1, 3), np.uint8))
        w.write(np.ones((1, 2), np.uint8))
    with pytest.raises(ValueError, match="n_items=1"):
        with IDXWriter(path, (), np.uint8, n_items=1) as w:
            w.write(np.ones(2, np.uint8))
    with pytest.raises(ValueError, match="no type for dtype int64"):
        IDXWriter(path, (), np.int64)
    with pytest.raises(ValueError, match="no type for dtype"):
        write_idx(path, np.ones(3, np.uint16))
    np.testing.assert_array_equal(read_idx(path), [[1, 1]])


def test_empty_files(tmp_path):
    path = write_idx(tmp_path / "e", np.zeros((0, 3, 3), np.uint8))
    src = open_idx(path, np.zeros(0, np.uint8), n_classes=10)
    assert src.shape == (0, 9) and list(src.iter_chunks(4)) == []
    gz = write_idx(tmp_path / "e.gz", np.zeros((0, 3, 3), np.uint8), compress=True)
    assert list(open_idx(gz).iter_chunks(4)) == []


def test_chunk_source_is_the_base(tmp_path, rng, mnist_like):
    X, y, paths = mnist_like
    for src in (open_idx(*paths[True]), from_arrays(X, y)):
        assert isinstance(src, ChunkSource) and len(src) == 23 and "n_rows=23" in repr(src)


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip(tmp_path, rng, kind):
    import pickle

    X = _images(rng).reshape(23, -1)
    y = rng.integers(0, 10, size=23, dtype=np.uint8)
    src = _sources(kind, X, y, tmp_path)
    blob = pickle.dumps(src)
    if kind in ("npy", "raw", "gz"):
        assert len(blob) < 2000  # paths, not data
    copy = pickle.loads(blob)
    assert copy.identity() == src.identity()
    Xc, yc = nio.concat_chunks(copy.iter_chunks(6, start_row=4))
    np.testing.assert_array_equal(Xc, X[4:])
    np.testing.assert_array_equal(yc, y[4:])
    if kind in ("raw", "gz"):
        X2 = X.reshape(23, 4, 5).copy()
        X2[-1, -1, -1] ^= 1
        nio.write_file(src.header.path, X2, gz=kind == "gz")  # same size, other content
        os.utime(src.header.path, ns=(5, 5))
        with pytest.raises(SourceChangedError, match="changed between pickling"):
            pickle.loads(blob)
