"""Parquet, Arrow IPC / Feather and CSV sources, and iterables of DataFrame chunks.

Models fitted from a file equal the in-memory fit: the same bits for uint8 features and
integer targets (exact statistics), 1e-12 relative for float features (summation order
of the chunks). Errors name the file, the row group or batch, the global row and the
column.
"""

import gzip
import pickle
import warnings

import numpy as np
import pytest

import fastlin
from fastlin.io import DataSourceError, LabelError, SourceChangedError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")
pd = pytest.importorskip("pandas")


def _pixels(rng, n=3000, d=40):
    X = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    X[:, :3] = 0  # constant border pixels, as in MNIST
    y = (X[:, 5].astype(np.int64) + X[:, 9]) % 10
    return X, y


def _table(X, y=None, prefix="p"):
    cols = {f"{prefix}{j}": X[:, j] for j in range(X.shape[1])}
    if y is not None:
        cols["label"] = y
    return pa.table(cols)


@pytest.fixture
def pixel_parquet(tmp_path, rng):
    X, y = _pixels(rng)
    path = tmp_path / "train.parquet"
    pq.write_table(_table(X, y), path, row_group_size=700)
    return path, X, y


def test_parquet_chunks_equal_the_table(pixel_parquet):
    path, X, y = pixel_parquet
    src = fastlin.open_source(path, target="label")
    assert src.kind == "parquet" and src.shape == X.shape and src.dtype == np.uint8
    assert src.feature_names == [f"p{j}" for j in range(X.shape[1])]
    for chunk_rows in (1, 256, 699, 701, 5000):
        parts = list(src.iter_chunks(chunk_rows))
        assert all(c.flags.c_contiguous and not c.flags.writeable for c, _ in parts)
        np.testing.assert_array_equal(np.vstack([c for c, _ in parts]), X)
        np.testing.assert_array_equal(np.concatenate([t for _, t in parts]), y)
    parts = list(src.iter_chunks(500, start_row=1234, stop_row=2900))
    np.testing.assert_array_equal(np.vstack([c for c, _ in parts]), X[1234:2900])
    assert parts[0][0].shape[0] == 500


def test_models_from_parquet_equal_in_memory(pixel_parquet):
    path, X, y = pixel_parquet
    Y = np.eye(10)[y]
    src = fastlin.open_source(path, target="label")
    with pytest.warns(fastlin.RankDeficientWarning):
        ref = fastlin.LinearRegression().fit(X, Y)
    with pytest.warns(fastlin.RankDeficientWarning):
        got = fastlin.LinearRegression().fit(
            src, target_transform=lambda t: np.eye(10)[t], chunk_rows=512
        )
    np.testing.assert_array_equal(got.coef_, ref.coef_)
    np.testing.assert_array_equal(got.intercept_, ref.intercept_)
    assert list(got.feature_names_in_) == src.feature_names
    with pytest.warns(fastlin.RankDeficientWarning):
        ridge = fastlin.Ridge(alpha=3.0).fit(src, chunk_rows=999)
    with pytest.warns(fastlin.RankDeficientWarning):
        np.testing.assert_array_equal(ridge.coef_, fastlin.Ridge(alpha=3.0).fit(X, y).coef_)
    log_ref = fastlin.LogisticRegression(x_scale=1 / 255, max_iter=30).fit(X, y)
    log = fastlin.LogisticRegression(x_scale=1 / 255, max_iter=30).fit(src)
    np.testing.assert_allclose(log.coef_, log_ref.coef_, rtol=1e-9, atol=1e-12)
    assert list(log.feature_names_in_) == src.feature_names


def _write_format(path, X, y):
    table = _table(X, y)
    if path.suffix == ".parquet":
        pq.write_table(table, path, row_group_size=400)
    elif path.suffix == ".arrow":
        import pyarrow.feather as feather

        feather.write_feather(table, path, chunksize=300, compression="uncompressed")
    else:
        pacsv.write_csv(table, path)


@pytest.mark.parametrize("name", ["f.parquet", "f.arrow", "f.csv"])
def test_every_estimator_from_every_format_equals_in_memory(tmp_path, rng, name):
    # uint8 pixels and integer labels: exact statistics, so the same bits from a file
    # (CSV's int64 columns take the byte kernels too); the logistic fit to its optimiser's
    # tolerance, as in memory with other chunkings.
    X, y = _pixels(rng, n=1500, d=12)
    path = tmp_path / name
    _write_format(path, X, y)
    src = fastlin.open_source(path, target="label")
    names = [f"p{j}" for j in range(12)]
    exact = [
        (fastlin.LinearRegression, {}, ("coef_", "intercept_")),
        (fastlin.Ridge, {"alpha": 2.0}, ("coef_", "intercept_")),
        (fastlin.RidgeCV, {"alphas": [0.1, 10.0, 1000.0]}, ("coef_", "intercept_", "alpha_")),
        (fastlin.StandardScaler, {}, ("mean_", "var_", "scale_", "n_samples_seen_")),
    ]
    import warnings

    for cls, params, attrs in exact:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
            got = cls(**params).fit(src)
            ref = cls(**params).fit(X, y)
        for attr in attrs:
            np.testing.assert_array_equal(
                getattr(got, attr), getattr(ref, attr), err_msg=f"{cls.__name__}.{attr}"
            )
        assert list(got.feature_names_in_) == names, cls.__name__
    log_ref = fastlin.LogisticRegression(x_scale=1 / 255, max_iter=40).fit(X, y)
    log = fastlin.LogisticRegression(x_scale=1 / 255, max_iter=40).fit(src)
    np.testing.assert_allclose(log.coef_, log_ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(log.classes_, log_ref.classes_)
    assert list(log.feature_names_in_) == names


def test_parquet_directory_arrow_and_feather(tmp_path, rng):
    X, y = _pixels(rng, n=2000, d=12)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, r0 in enumerate(range(0, 2000, 600)):
        pq.write_table(_table(X[r0 : r0 + 600], y[r0 : r0 + 600]), folder / f"part-{i:02d}.parquet")
    (folder / "_SUCCESS").write_text("")
    src = fastlin.open_source(folder, target="label")
    assert len(src.files) == 4
    Xs, ys = src.read_all()
    np.testing.assert_array_equal(Xs, X)
    np.testing.assert_array_equal(ys, y)
    import pyarrow.feather as feather

    for name in ("t.arrow", "t.feather"):
        feather.write_feather(_table(X, y), tmp_path / name, chunksize=333)
        src = fastlin.open_source(tmp_path / name, target="label")
        assert src.kind == "arrow"
        got = np.vstack([c for c, _ in src.iter_chunks(250, start_row=100)])
        np.testing.assert_array_equal(got, X[100:])


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_csv_float_fit_equals_in_memory(tmp_path, rng, name):
    n, d = 2500, 6
    X = rng.standard_normal((n, d)) * [1, 10, 100, 0.1, 1, 1] + [0, 0, 1e6, 0, 0, 0]
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(d)])
    frame["target"] = y
    path = tmp_path / name
    frame.to_csv(path, index=False, float_format="%.17g")
    src = fastlin.open_source(path, target="target", features=["f3", "f0", "f1", "f2", "f4", "f5"])
    order = [3, 0, 1, 2, 4, 5]
    assert src.n_rows == n and src.dtype == np.float64
    got = fastlin.LinearRegression().fit(src, chunk_rows=400)
    ref = fastlin.LinearRegression().fit(X[:, order], y)
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-12)
    # The intercept is ȳ - x̄ᵀβ: relative to the terms it cancels (an offset of 1e6).
    scale = abs(ref.intercept_) + np.abs(X[:, order].mean(axis=0) * ref.coef_).sum()
    np.testing.assert_allclose(got.intercept_, ref.intercept_, rtol=0, atol=1e-12 * scale)
    assert list(got.feature_names_in_) == ["f3", "f0", "f1", "f2", "f4", "f5"]


def test_identity_pickle_and_change_detection(pixel_parquet):
    path, X, y = pixel_parquet
    src = fastlin.open_source(path, target="label")
    ident = src.identity()
    assert (
        ident["X"]["parquet"] == [[3000, 5]]
        and ident == fastlin.open_source(path, target="label").identity()
    )
    copy = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(copy.read_all()[0], X)
    pq.write_table(_table(X[:100], y[:100]), path)
    with pytest.raises(SourceChangedError):
        next(src.iter_chunks())


def test_checkpoint_resume_gives_the_same_bits(pixel_parquet, tmp_path):
    path, X, y = pixel_parquet
    src = fastlin.open_source(path, target="label")
    ckpt = tmp_path / "fit.ckpt.npz"

    class Stop(Exception):
        pass

    def stopping(chunks):
        for i, c in enumerate(chunks):
            if i == 3:
                raise Stop
            yield c

    from fastlin.io.fold import accumulate
    from fastlin.core.stats import GramStats

    ref, _ = accumulate(src, GramStats(), chunk_rows=256)
    # A first pass killed after three chunks leaves its checkpoint; the resumed pass
    # reads only the rest.
    part = GramStats()
    for i, (Xc, yc) in enumerate(src.iter_chunks(256)):
        if i == 3:
            break
        part.update(Xc, yc)
    from fastlin.edges import persistence

    persistence.save_checkpoint(ckpt, part, 768, src.identity())
    got, _ = accumulate(src, GramStats(), chunk_rows=256, checkpoint=ckpt)
    for k, v in ref.to_arrays().items():
        np.testing.assert_array_equal(got.to_arrays()[k], v, err_msg=k)
    del stopping


def test_open_errors_name_file_and_column(tmp_path, rng):
    X, y = _pixels(rng, n=500, d=12)
    path = tmp_path / "t.parquet"
    pq.write_table(_table(X, y), path)
    with pytest.raises(DataSourceError, match=r"t\.parquet: no column 'y'; the columns are 'p0'"):
        fastlin.open_source(path, target="y")
    with pytest.raises(DataSourceError, match="no column"):
        fastlin.open_source(path, target="label", features=["p0", "zz"])
    t = _table(X, y).append_column("name", pa.array(["a"] * 500))
    pq.write_table(t, tmp_path / "s.parquet")
    with pytest.raises(DataSourceError, match="column 'name' has type string"):
        fastlin.open_source(tmp_path / "s.parquet", target="label")
    src = fastlin.open_source(tmp_path / "s.parquet", target="label", features=["p1", "p0"])
    assert src.shape == (500, 2)
    col = pa.array(np.where(np.arange(500) == 321, None, 1.5).tolist(), pa.float64())
    pq.write_table(_table(X, y).append_column("v", col), tmp_path / "n.parquet", row_group_size=100)
    with pytest.raises(DataSourceError, match=r"row group 3, row 321 \(global\), column 'v'"):
        fastlin.open_source(tmp_path / "n.parquet", target="label")
    raw = path.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataSourceError, match=r"cut\.parquet: cannot read it as parquet"):
        fastlin.open_source(tmp_path / "cut.parquet", target="label")
    ty = pa.array([None] + [1] * 499, pa.int64())
    pq.write_table(_table(X).append_column("label", ty), tmp_path / "ty.parquet")
    with pytest.raises(LabelError, match="null at row 0"):
        fastlin.open_source(tmp_path / "ty.parquet", target="label")
    with pytest.raises(LabelError, match="out of range"):
        fastlin.open_source(path, target="label", n_classes=3)


@pytest.mark.parametrize("block", [7, 64, 1000, 1 << 25])
@pytest.mark.parametrize("name", ["b.csv", "b.csv.gz", "b.tsv"])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_csv_blocks_cut_at_line_ends(tmp_path, rng, monkeypatch, block, name, ending):
    # Blocks of text shorter than a line, a few lines, or the whole file: the rows and
    # their global numbers do not depend on where the blocks end.
    from fastlin.io import tabular

    monkeypatch.setattr(tabular, "CSV_BLOCK_BYTES", block)
    X, y = _pixels(rng, n=257, d=12)
    sep = "\t" if ".tsv" in name else ","
    lines = [sep.join([f"p{j}" for j in range(12)] + ["label"])]
    lines += [sep.join(str(v) for v in row) + f"{sep}{t}" for row, t in zip(X, y)]
    text = ending.join(lines)  # no line end after the last row
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt", newline="") as f:
            f.write(text)
    else:
        path.write_bytes(text.encode())
    src = fastlin.open_source(path, target="label")
    assert src.n_rows == 257 and src.dtype == np.int64  # CSV text carries no width
    np.testing.assert_array_equal(np.vstack([c for c, _ in src.iter_chunks(50)]), X)
    np.testing.assert_array_equal(src.targets(), y)
    np.testing.assert_array_equal(
        np.vstack([c for c, _ in src.iter_chunks(60, start_row=101)]), X[101:]
    )
    lines[200] = sep.join(["1"] * 3 + [""] + ["1"] * 9)  # an empty value at global row 199
    holes = tmp_path / ("holes" + name[1:])
    with (gzip.open if name.endswith(".gz") else open)(holes, "wb") as f:
        f.write(ending.join(lines).encode())
    with pytest.raises(DataSourceError, match=r"row 199 \(global\), column 'p3'"):
        list(fastlin.open_source(holes, target="label").iter_chunks(50))


def test_csv_errors_surface_with_the_file(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(DataSourceError, match="ragged.csv"):
        fastlin.open_source(ragged, target="y")
    bad = tmp_path / "bad.csv"
    rows = ["a,b,y"] + [f"{i},{i},{i}" for i in range(5000)] + ["1,x,3"]
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataSourceError, match="bad.csv"):
        src = fastlin.open_source(bad, target="y")
        list(src.iter_chunks(1000))
    holes = tmp_path / "holes.csv.gz"
    with gzip.open(holes, "wt") as f:
        f.write("a,b,y\n1,2,3\n4,,6\n")
    src = fastlin.open_source(holes, target="y")
    with pytest.raises(DataSourceError, match=r"row 1 \(global\), column 'b'"):
        list(src.iter_chunks())


def test_iterables_of_frames_lists_and_tensors(tmp_path, rng):
    n, d = 1800, 4
    X = rng.standard_normal((n, d))
    y = X @ [1.0, -2.0, 0.5, 3.0] + rng.standard_normal(n)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["y"] = y
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False, float_format="%.17g")
    ref = fastlin.LinearRegression().fit(X, y)
    chunks = fastlin.open_source(pd.read_csv(csv, chunksize=500), target="y")
    got = fastlin.LinearRegression().fit(chunks)
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-12)
    assert list(got.feature_names_in_) == list("abcd")
    with pytest.raises(DataSourceError, match="one-shot"):
        list(chunks)

    class Tensor:  # what a DataLoader yields: objects with __array__
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    lists = [[Tensor(X[r : r + 300]), Tensor(y[r : r + 300])] for r in range(0, n, 300)]
    got = fastlin.LinearRegression().fit(fastlin.open_source(lists))
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-12)
    got = fastlin.LinearRegression().fit(
        [list(c) for c in [(X[:900], y[:900]), (X[900:], y[900:])]]
    )
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-12)
    nullable = frame.astype({"a": "Float64"})
    nullable.loc[7, "a"] = pd.NA
    with pytest.raises(DataSourceError, match=r"column 'a' is missing at row 7"):
        fastlin.LinearRegression().fit(fastlin.open_source([nullable], target="y"))
    with pytest.raises(ValueError, match="open_source"):
        fastlin.LinearRegression().fit([frame])


def test_command_line_on_tables(tmp_path, rng, capsys):
    from fastlin.edges import cli

    filters = list(warnings.filters)
    X, y = _pixels(rng, n=1500, d=20)
    X[:, 3:] //= 2  # keep every class present and the design well posed
    path = tmp_path / "train.parquet"
    pq.write_table(_table(X, y), path, row_group_size=400)
    model = tmp_path / "m.npz"
    feats = "p5,p9,p3,p4"
    assert (
        cli.main(
            [
                "fit",
                "--data",
                str(path),
                "--target",
                "label",
                "--features",
                feats,
                "-o",
                str(model),
                "--quiet",
            ]
        )
        == 0
    )
    m = fastlin.load(model)
    assert list(m.feature_names_in_) == feats.split(",")
    ref = fastlin.LinearRegression().fit(X[:, [5, 9, 3, 4]], np.eye(10)[y])
    np.testing.assert_array_equal(m.coef_, ref.coef_)
    assert cli.main(["evaluate", "-m", str(model), "--data", str(path), "--target", "label"]) == 0
    acc = np.mean(np.argmax(ref.predict(X[:, [5, 9, 3, 4]]), axis=1) == y)
    assert f"{100 * acc:.2f} %" in capsys.readouterr().out
    expected = np.argmax(ref.predict(X[:, [5, 9, 3, 4]]), axis=1)
    for name in ("p.npy", "p.parquet", "p.csv"):
        out = tmp_path / name
        assert cli.main(["predict", "-m", str(model), "--data", str(path), "-o", str(out)]) == 0
        got = (
            np.load(out)
            if name.endswith(".npy")
            else pq.read_table(out).column(0).to_numpy()
            if name.endswith(".parquet")
            else pacsv.read_csv(out).column(0).to_numpy()
        )
        np.testing.assert_array_equal(got, expected)
    capsys.readouterr()
    raw = path.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(raw[:-100])
    bad_model = tmp_path / "bad.npz"
    assert cli.main(["fit", "--data", str(cut), "--target", "label", "-o", str(bad_model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastlin: error:") and "cut.parquet" in err and err.count("\n") == 1
    assert not bad_model.exists()
    assert cli.main(["fit", "--data", str(path), "--target", "nope", "-o", str(bad_model)]) == 2
    assert "no column 'nope'" in capsys.readouterr().err
    assert cli.main(["fit", "--data", str(path), "--target", "label", "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not list(tmp_path.glob(".fastlin-predict-*"))
    # Chunks reach the model as arrays in its columns: no feature-name warning (the suite
    # turns warnings into errors), and no filter left behind in the process.
    assert warnings.filters == filters


# -- array stores read by slicing: HDF5, Zarr ------------------------------------------------


class _Sliced:
    """The interface of an HDF5 dataset: shape, dtype, row slicing; counts the rows read."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.rows_read = a, a.shape, a.dtype, 0

    def __getitem__(self, key):
        out = self.a[key]
        self.rows_read += out.shape[0] if np.ndim(out) else 1
        return out


def test_sliced_arrays_are_read_a_chunk_at_a_time(rng):
    X, y = _pixels(rng, n=2000, d=16)
    store = _Sliced(X.reshape(2000, 4, 4))
    src = fastlin.open_source(store, y)
    assert src.shape == (2000, 16) and src.item_shape == (4, 4)
    store.rows_read = 0
    first = next(src.iter_chunks(256))[0]
    assert store.rows_read == 256
    np.testing.assert_array_equal(first, X[:256])
    with pytest.warns(fastlin.RankDeficientWarning):
        got = fastlin.LinearRegression().fit(src, chunk_rows=300)
    with pytest.warns(fastlin.RankDeficientWarning):
        ref = fastlin.LinearRegression().fit(X, y)
    np.testing.assert_array_equal(got.coef_, ref.coef_)


def test_hdf5_and_zarr_files(tmp_path, rng):
    h5py = pytest.importorskip("h5py")
    zarr = pytest.importorskip("zarr")
    X, y = _pixels(rng, n=1500, d=10)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["X"] = X
        f["y"] = y
    z = zarr.open_group(str(tmp_path / "d.zarr"), mode="w")
    z.create_array("X", shape=X.shape, dtype=X.dtype, chunks=(256, 10))[:] = X
    z.create_array("y", shape=y.shape, dtype=y.dtype)[:] = y
    for name in ("d.h5", "d.zarr"):
        src = fastlin.open_source(tmp_path / name, "y", dataset="X", n_classes=10)
        assert src.kind == ("hdf5" if name == "d.h5" else "zarr")
        Xs, ys = src.read_all()
        np.testing.assert_array_equal(Xs, X)
        np.testing.assert_array_equal(ys, y)
        copy = pickle.loads(pickle.dumps(src))
        assert copy.identity() == src.identity()
        with pytest.raises(DataSourceError, match="no array 'nope'"):
            fastlin.open_source(tmp_path / name, "y", dataset="nope")


def test_dataframe_chunks_with_string_labels(rng):
    X = rng.standard_normal((300, 3))
    frame = pd.DataFrame(X, columns=list("abc"))
    frame["label"] = np.where(X[:, 0] > 0, "yes", "no")
    chunks = [frame[i : i + 100] for i in range(0, 300, 100)]
    m = fastlin.LogisticRegression().fit(fastlin.open_source(chunks, target="label"))
    ref = fastlin.LogisticRegression().fit(X, frame["label"].to_numpy())
    assert list(m.classes_) == ["no", "yes"] and list(m.feature_names_in_) == list("abc")
    # Chunks sum the loss in another order: the same minimum to the optimiser's tolerance.
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-8, atol=1e-8 * np.abs(ref.coef_).max())
    frame["b"] = frame["b"].astype(str)
    with pytest.raises(DataSourceError, match="column 'b' has dtype"):
        fastlin.LinearRegression().fit(fastlin.open_source([frame], target="a"))


def test_a_directory_of_parquet_files_keeps_no_file_open(tmp_path, rng):
    """Each row group is read through a view with a file of its own: a pass over many
    files holds one open at a time, and none once it is done."""
    import os

    X, y = _pixels(rng, n=1200, d=12)
    X[:, :3] = rng.integers(0, 256, size=(1200, 3))  # no constant columns
    folder = tmp_path / "parts"
    folder.mkdir()
    for i in range(40):
        pq.write_table(
            _table(X[i * 30 : (i + 1) * 30], y[i * 30 : (i + 1) * 30]),
            folder / f"part-{i:03d}.parquet",
            row_group_size=10,
        )
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    src = fastlin.open_source(folder, target="label")
    model = fastlin.LinearRegression().fit(src, chunk_rows=64)
    same = fastlin.LinearRegression().fit(X, y)
    np.testing.assert_array_equal(model.coef_, same.coef_)
    if fds is not None:
        assert len(os.listdir("/proc/self/fd")) <= fds + 1
