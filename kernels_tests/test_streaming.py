"""Out-of-core fits: file sources, checkpoints and resume, persistence, the command line."""

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastlin
from fastlin import io as fio
from fastlin.edges import persistence
from fastlin.io.datasets import one_hot
from fastlin.edges.persistence import CheckpointMismatchError, FileFormatError
from fastlin.core.stats import GramStats
from fastlin.io.fold import accumulate

pytestmark = pytest.mark.filterwarnings("ignore::fastlin.core.solve.RankDeficientWarning")


def _digits_like(rng, n, d=49):
    X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    X[:, :3] = 0  # constant columns, as MNIST's border
    y = rng.integers(0, 10, n).astype(np.uint8)
    return X, y


@pytest.fixture
def idx_files(rng, tmp_path):
    X, y = _digits_like(rng, 3000)
    fio.write_idx(tmp_path / "img", X.reshape(-1, 7, 7))
    fio.write_idx(tmp_path / "lbl", y)
    fio.write_idx(tmp_path / "img.gz", X.reshape(-1, 7, 7), compress=True)
    fio.write_idx(tmp_path / "lbl.gz", y, compress=True)
    return X, y, tmp_path


def _onehot10(y):
    return one_hot(y, 10)


@pytest.mark.parametrize("names", [("img", "lbl"), ("img.gz", "lbl.gz")])
@pytest.mark.parametrize("chunk_rows", [1000, 777])
def test_streaming_fit_equals_in_memory_bitwise(idx_files, names, chunk_rows):
    X, y, d = idx_files
    mem = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    src = fio.open_source(d / names[0], labels=d / names[1], n_classes=10)
    stream = fastlin.LinearRegression().fit(src, chunk_rows=chunk_rows, target_transform=_onehot10)
    for key in ("xtx", "xty", "x_sum", "y_sum", "yty"):
        assert np.array_equal(getattr(stream.stats_, key), getattr(mem.stats_, key)), key
    np.testing.assert_array_equal(stream.coef_, mem.coef_)
    np.testing.assert_array_equal(stream.intercept_, mem.intercept_)


def test_fit_accepts_plain_iterables(rng):
    X = rng.standard_normal((500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.7
    w = rng.uniform(0.5, 1.5, 500)
    chunks = ((X[i : i + 64], y[i : i + 64], w[i : i + 64]) for i in range(0, 500, 64))
    a = fastlin.Ridge(alpha=0.1).fit(chunks)
    b = fastlin.Ridge(alpha=0.1).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    assert a.coef_.shape == (4,)
    with pytest.raises(ValueError, match="each chunk must be a tuple"):
        fastlin.Ridge().fit(iter([X]))
    with pytest.raises(ValueError, match="requires y"):  # a list of arrays is an array
        fastlin.Ridge().fit([X])
    with pytest.raises(ValueError, match="checkpoint needs a ChunkSource"):
        fastlin.Ridge().fit([(X, y)], checkpoint="x.npz")


def test_checkpoint_resume_gives_same_bits(idx_files):
    X, y, d = idx_files
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    # Interrupt after a few chunks by failing inside the target transform.
    calls = {"n": 0}

    def flaky(yc):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return one_hot(yc, 10)

    model = fastlin.LinearRegression()
    with pytest.raises(KeyboardInterrupt):
        model.fit(src, chunk_rows=500, target_transform=flaky, checkpoint=ck)
    assert not hasattr(model, "coef_")
    assert ck.exists()
    # The same transform (it no longer fails): a checkpoint resumes only with what made it.
    resumed = fastlin.LinearRegression().fit(
        src, chunk_rows=500, target_transform=flaky, checkpoint=ck
    )
    np.testing.assert_array_equal(resumed.coef_, ref.coef_)
    assert resumed.n_samples_seen_ == 3000
    assert not ck.exists()  # a completed pass deletes its checkpoint


def test_checkpoint_for_another_source_is_refused(idx_files, rng):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    accumulate(
        src,
        GramStats(),
        chunk_rows=1000,
        target_transform=_onehot10,
        checkpoint=ck,
        keep_checkpoint=True,
        checkpoint_meta=LR_META,
    )
    X2, y2 = _digits_like(rng, 3000)
    other = fio.from_arrays(X2, y2, n_classes=10)
    with pytest.raises(FileFormatError, match="checkpoint was written for source"):
        fastlin.LinearRegression().fit(other, target_transform=_onehot10, checkpoint=ck)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import fastlin
    from fastlin import io as fio
    from fastlin.io.datasets import one_hot
    d, ck, slow = sys.argv[1], sys.argv[2], float(sys.argv[3])
    src = fio.open_source(d + "/img", labels=d + "/lbl", n_classes=10)

    def transform(y):
        time.sleep(slow)
        return one_hot(y, 10)

    m = fastlin.LinearRegression().fit(src, chunk_rows=200, target_transform=transform,
                                              checkpoint=ck)
    np.save(d + "/coef.npy", m.coef_)
    """
)


def test_sigkill_at_random_chunk_then_resume_equals_uninterrupted(idx_files, rng):
    X, y, d = idx_files
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    ck = str(d / "kill.npz")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(d), ck, "0.05"], env=env)
    # Kill once the checkpoint shows some progress, at a random point after that.
    deadline = time.time() + 300
    while not os.path.exists(ck) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(float(rng.uniform(0.0, 0.3)))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the fit finished before it could be killed"
    from fastlin.edges.persistence import load_checkpoint

    _, rows_done, _ = load_checkpoint(ck)
    assert 0 < rows_done < 3000
    done = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(d), ck, "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(d / "coef.npy"), ref.coef_)
    # The finished pass deleted its checkpoint, and the temporary of a write the kill
    # interrupted (if it hit one) was swept by the next write.
    assert not os.path.exists(ck)
    assert not [p for p in os.listdir(d) if ".tmp-" in p]


# What LinearRegression().fit(source) records in its checkpoints.
LR_META = {"estimator": "LinearRegression", "params": {"fit_intercept": True, "solver": "auto"}}


def _partial_checkpoint(src, ck, transform, meta=LR_META, chunks=3, chunk_rows=500):
    """A checkpoint as a pass killed after ``chunks`` chunks leaves it."""
    calls = {"n": 0}

    class Stop(Exception):
        pass

    def stopping(yc):
        calls["n"] += 1
        if calls["n"] > chunks:
            raise Stop
        return yc

    class Cut:
        def identity(self):
            return src.identity()

        def iter_chunks(self, chunk_rows, start_row=0):
            for X, y in src.iter_chunks(chunk_rows, start_row=start_row):
                yield X, stopping(y)

        n_rows = src.n_rows

    with pytest.raises(Stop):
        accumulate(
            Cut(),
            GramStats(),
            chunk_rows=chunk_rows,
            target_transform=transform,
            checkpoint=ck,
            checkpoint_meta=meta,
        )
    return ck.read_bytes()


class _OneHotObject:
    """A callable object: described by its type alone, so only the targets check can tell
    two instances apart."""

    def __init__(self, n):
        self.n = n

    def __call__(self, y):
        return one_hot(y, self.n)


@pytest.mark.parametrize(
    "made, used, shown",
    [
        (
            functools.partial(one_hot, n_classes=10),
            functools.partial(one_hot, n_classes=12),
            "one_hot(n_classes=10)",
        ),
        (lambda y: one_hot(y, 10), lambda y: one_hot(y, 12), "constants 10"),
        (_onehot10, None, "_onehot10"),
        (None, _onehot10, "target_transform=None"),
    ],
)
def test_checkpoint_made_with_another_target_transform_is_refused(idx_files, made, used, shown):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "fit.ckpt.npz"
    before = _partial_checkpoint(src, ck, made)
    model = fastlin.LinearRegression()
    with pytest.raises(
        ValueError,
        match=r"checkpoint fit\.ckpt\.npz was made with "
        r"target_transform=.* but this fit uses target_transform=",
    ) as err:
        model.fit(src, chunk_rows=500, target_transform=used, checkpoint=ck)
    assert isinstance(err.value, CheckpointMismatchError)
    assert shown in str(err.value) and "delete it or pass the same" in str(err.value)
    assert ck.read_bytes() == before  # the progress it holds is not thrown away
    assert not hasattr(model, "coef_")
    assert sorted(p.name for p in d.iterdir() if ".tmp-" in p.name) == []


def test_checkpoint_with_targets_of_another_shape_is_refused(idx_files):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    before = _partial_checkpoint(src, ck, _OneHotObject(10))
    model = fastlin.LinearRegression()
    with pytest.raises(
        CheckpointMismatchError,
        match=r"made with targets of shape \(rows, 10\) "
        r"\(2-D\) but this fit gives targets of shape \(rows, 12\)",
    ):
        model.fit(src, chunk_rows=500, target_transform=_OneHotObject(12), checkpoint=ck)
    assert ck.read_bytes() == before and not hasattr(model, "coef_")
    # The same kind of object with the same output resumes.
    resumed = fastlin.LinearRegression().fit(
        src, chunk_rows=500, target_transform=_OneHotObject(10), checkpoint=ck
    )
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    np.testing.assert_array_equal(resumed.coef_, ref.coef_)


def test_checkpoint_meta_must_match(idx_files):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    meta = {"estimator": "Ridge", "params": {"alpha": 1.0, "fit_intercept": True}}
    before = _partial_checkpoint(src, ck, _onehot10, meta=meta)
    other = {"estimator": "Ridge", "params": {"alpha": 2.0, "fit_intercept": True}}
    with pytest.raises(
        CheckpointMismatchError,
        match=r"made with other settings \(params\.alpha: 1\.0 in the "
        r"checkpoint, 2\.0 now\)",
    ):
        accumulate(
            src,
            GramStats(),
            chunk_rows=500,
            target_transform=_onehot10,
            checkpoint=ck,
            checkpoint_meta=other,
        )
    with pytest.raises(
        CheckpointMismatchError, match='estimator: "Ridge" in the checkpoint, absent now'
    ):
        accumulate(src, GramStats(), chunk_rows=500, target_transform=_onehot10, checkpoint=ck)
    with pytest.raises(ValueError, match="checkpoint_meta must be JSON-serialisable"):
        accumulate(
            src,
            GramStats(),
            chunk_rows=500,
            target_transform=_onehot10,
            checkpoint=ck,
            checkpoint_meta={"f": object()},
        )
    assert ck.read_bytes() == before
    # numpy scalars are JSON values here (get_params() may hold them).
    same = {"estimator": "Ridge", "params": {"alpha": np.float64(1.0), "fit_intercept": True}}
    stats, y_1d = accumulate(
        src,
        GramStats(),
        chunk_rows=500,
        target_transform=_onehot10,
        checkpoint=ck,
        checkpoint_meta=same,
    )
    ref = GramStats().update(X, one_hot(y, 10))
    for k, v in ref.to_arrays().items():
        np.testing.assert_array_equal(stats.to_arrays()[k], v, err_msg=k)
    assert y_1d is False and not ck.exists()


def test_old_checkpoint_without_its_recipe_is_refused(idx_files):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    persistence.write(
        ck,
        "checkpoint",
        {"rows_consumed": 500, "source": src.identity(), "extra": {}},
        persistence.stats_arrays(GramStats().update(X[:500], one_hot(y[:500], 10))),
    )
    before = ck.read_bytes()
    with pytest.raises(CheckpointMismatchError, match="does not record the target transform"):
        fastlin.LinearRegression().fit(src, target_transform=_onehot10, checkpoint=ck)
    assert ck.read_bytes() == before


def test_finished_pass_deletes_its_checkpoint_unless_kept(idx_files):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    ref = GramStats().update(X, one_hot(y, 10))
    model = fastlin.LinearRegression().fit(
        src, chunk_rows=700, target_transform=_onehot10, checkpoint=ck
    )
    assert model.n_samples_seen_ == 3000 and not ck.exists()
    assert not [p for p in d.iterdir() if ".tmp-" in p.name]
    stats, y_1d = accumulate(
        src,
        GramStats(),
        chunk_rows=700,
        target_transform=_onehot10,
        checkpoint=ck,
        keep_checkpoint=True,
    )
    _, rows, header = persistence.load_checkpoint(ck)
    assert rows == 3000 and header["made_with"]["targets"] == {"ndim": 2, "columns": [10]}
    assert "_onehot10" in header["made_with"]["target_transform"]
    # Resuming a checkpoint that holds every row reads nothing and still knows y was 2-D.
    again, y_1d = accumulate(
        src, GramStats(), chunk_rows=700, target_transform=_onehot10, checkpoint=ck
    )
    assert y_1d is False and not ck.exists()
    for k, v in ref.to_arrays().items():
        np.testing.assert_array_equal(again.to_arrays()[k], v, err_msg=k)


def test_failing_solve_keeps_the_checkpoint_with_every_row(idx_files, monkeypatch):
    """The pass is saved before the solve runs and deleted only after it succeeded."""
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"

    def broken(self, *args, **kwargs):
        raise np.linalg.LinAlgError("solve failed")

    with monkeypatch.context() as m:
        m.setattr(fastlin.LinearRegression, "_commit", broken)
        model = fastlin.LinearRegression()
        with pytest.raises(np.linalg.LinAlgError, match="solve failed"):
            model.fit(src, chunk_rows=700, target_transform=_onehot10, checkpoint=ck)
    assert not hasattr(model, "coef_")
    _, rows, _ = persistence.load_checkpoint(ck)
    assert rows == 3000  # the last 200 rows were saved too (checkpoint_every=1, 5 chunks)
    # The resumed fit reads nothing, solves, and deletes the checkpoint.
    resumed = fastlin.LinearRegression().fit(
        src, chunk_rows=700, target_transform=_onehot10, checkpoint=ck
    )
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    np.testing.assert_array_equal(resumed.coef_, ref.coef_)
    assert resumed.n_samples_seen_ == 3000 and not ck.exists()


def test_include_stats_is_refused_where_it_means_nothing(tmp_path, rng):
    X = rng.normal(size=(60, 3))
    model = fastlin.LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(TypeError, match="include_stats applies to the Gram regressors"):
        fastlin.save(model, tmp_path / "m.npz", include_stats=True)
    fastlin.save(model, tmp_path / "m.npz", metadata={"k": 1})
    back = fastlin.LogisticRegression.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.coef_, model.coef_)
    assert back.metadata_ == {"k": 1}


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_checkpoint_writes_sweep_temporaries_of_dead_processes(tmp_path, rng):
    X = rng.standard_normal((50, 3))
    stats = GramStats().update(X, X[:, 0])
    ck = tmp_path / "ck.npz"
    dead = tmp_path / f".ck.npz.tmp-{_dead_pid()}-0000.npz"
    mine = tmp_path / f".ck.npz.tmp-{os.getpid()}-0000.npz"  # an earlier process, same pid
    alive = tmp_path / f".ck.npz.tmp-{os.getppid()}-0000.npz"  # a live writer
    unrelated = tmp_path / f".other.npz.tmp-{_dead_pid()}-0000.npz"
    for p in (dead, mine, alive, unrelated):
        p.write_bytes(b"partial")
    persistence.save_checkpoint(ck, stats, 50)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [ck.name, alive.name, unrelated.name]
    )
    assert persistence.load_checkpoint(ck)[1] == 50


def test_failed_write_leaves_no_temporary_and_the_old_checkpoint(tmp_path, rng, monkeypatch):
    X = rng.standard_normal((50, 3))
    ck = tmp_path / "ck.npz"
    persistence.save_checkpoint(ck, GramStats().update(X, X[:, 0]), 50)
    before = ck.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        persistence.save_checkpoint(ck, GramStats().update(X, X[:, 1]), 100)
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"] and ck.read_bytes() == before


KILL_IN_WRITE = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from fastlin.edges import persistence
    from fastlin.core.stats import GramStats

    def stuck(fd):
        print("writing", flush=True)
        time.sleep(600)

    persistence.os.fsync = stuck
    X = np.random.default_rng(0).standard_normal((100, 4))
    persistence.save_checkpoint(sys.argv[1], GramStats().update(X, X[:, 0]), 100)
    """
)


def test_sigkill_inside_a_checkpoint_write_leaves_a_temporary_the_next_write_removes(tmp_path, rng):
    ck = tmp_path / "ck.npz"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_IN_WRITE, str(ck)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    left = [p.name for p in tmp_path.iterdir()]
    assert left == [f".ck.npz.tmp-{proc.pid}-{left[0].rsplit('-', 1)[1]}"] and not ck.exists()
    X = rng.standard_normal((30, 4))
    persistence.save_checkpoint(ck, GramStats().update(X, X[:, 0]), 30)
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_honour_the_umask(tmp_path, rng, umask):
    X = rng.standard_normal((40, 3))
    model = fastlin.LinearRegression().fit(X, X @ [1.0, 2.0, 3.0])
    old = os.umask(umask)
    try:
        model.save(tmp_path / "m.npz")
        persistence.save_checkpoint(tmp_path / "ck.npz", model.stats_, 40)
        fio.write_idx(tmp_path / "raw", X)
        fio.write_idx(tmp_path / "gz", X, compress=True)
        with fio.IDXWriter(tmp_path / "spooled", (3,), np.float64, compress=True) as w:
            w.write(X)  # no n_items: spooled to a second temporary first
    finally:
        os.umask(old)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["ck.npz", "gz", "m.npz", "raw", "spooled"]  # no temporaries left
    for name in names:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_corrupt_gzip_leaves_no_model_and_no_checkpoint(idx_files):
    X, y, d = idx_files
    raw = bytearray((d / "img.gz").read_bytes())
    raw[len(raw) // 2] ^= 0x10  # flip a bit in the middle of the deflate stream
    (d / "bad.gz").write_bytes(bytes(raw))
    ck = d / "bad-ck.npz"
    model = fastlin.LinearRegression()
    with pytest.raises(fio.DataSourceError):
        src = fio.open_source(d / "bad.gz", labels=d / "lbl.gz", n_classes=10)
        model.fit(src, chunk_rows=300, target_transform=_onehot10, checkpoint=ck)
    assert not hasattr(model, "coef_")
    assert not ck.exists()


def test_save_load_round_trip(tmp_path, rng):
    X = rng.standard_normal((200, 6))
    Y = X @ rng.standard_normal((6, 3)) + 1
    for model in (fastlin.LinearRegression(), fastlin.Ridge(alpha=2.5, fit_intercept=False)):
        model.fit(X, Y)
        model.save(tmp_path / "m.npz", include_stats=True, metadata={"note": "x"})
        loaded = fastlin.load(tmp_path / "m.npz")
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        assert loaded.metadata_ == {"note": "x"}
        loaded.partial_fit(X[:10], Y[:10])  # statistics came along
        assert loaded.n_samples_seen_ == 210
    m1 = fastlin.LinearRegression().fit(X, Y[:, 0])
    m1.save(tmp_path / "m1.npz")
    l1 = type(m1).load(tmp_path / "m1.npz")
    assert l1.coef_.shape == (6,) and np.isscalar(l1.intercept_)
    with pytest.raises(ValueError, match="loaded without its statistics"):
        l1.partial_fit(X, Y[:, 0])


def test_load_rejects_newer_and_corrupt_files(tmp_path, rng):
    X = rng.standard_normal((50, 3))
    m = fastlin.LinearRegression().fit(X, X @ [1.0, 2.0, 3.0])
    path = tmp_path / "m.npz"
    m.save(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes())
    header["format_version"] = 99
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "newer.npz", **arrays)
    with pytest.raises(FileFormatError, match="format version 99 is newer"):
        fastlin.load(tmp_path / "newer.npz")
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="not a readable fastlin model"):
        fastlin.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(FileFormatError, match="no fastlin header"):
        fastlin.load(tmp_path / "other.npz")


def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "fastlin", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
        env=env,
    )


def test_cli_fit_evaluate_predict_end_to_end(idx_files):
    X, y, d = idx_files
    model = d / "model.npz"
    r = _cli(
        "fit",
        "--images",
        str(d / "img.gz"),
        "--labels",
        str(d / "lbl.gz"),
        "-o",
        str(model),
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert "rows/s" in r.stdout and model.exists()
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    np.testing.assert_array_equal(fastlin.load(model).coef_, ref.coef_)
    r = _cli("evaluate", "-m", str(model), "--images", str(d / "img"), "--labels", str(d / "lbl"))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("accuracy")[1].split("%")[0])
    expected = 100 * np.mean(np.argmax(ref.predict(X), 1) == y)
    assert acc == pytest.approx(expected, abs=0.005)
    r = _cli("predict", "-m", str(model), "--images", str(d / "img"), "-o", str(d / "p.npy"))
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(d / "p.npy"), np.argmax(ref.predict(X), 1))


def test_cli_bad_file_is_one_line_error(idx_files):
    X, y, d = idx_files
    (d / "short").write_bytes((d / "img").read_bytes()[:-1])
    r = _cli(
        "fit", "--images", str(d / "short"), "--labels", str(d / "lbl"), "-o", str(d / "m.npz")
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastlin: error:") and "short" in lines[0]
    assert not (d / "m.npz").exists()
    r = _cli("--help")
    assert r.returncode == 0 and "demo" in r.stdout and "evaluate" in r.stdout


def test_cli_demo_small():
    r = _cli("demo", "--n-train", "3000", "--n-test", "500", "--quiet")
    assert r.returncode == 0, r.stderr
    for key in (
        "rows",
        "features",
        "fit time",
        "rows/s",
        "train accuracy",
        "test accuracy",
        "peak memory",
    ):
        assert key in r.stdout
    acc = float(r.stdout.split("test accuracy")[1].split("%")[0])
    assert 60 < acc < 100


def test_fit_takes_sources_everywhere(rng):
    """One source convention: ``fit(source)`` for every estimator, and no ``fit_chunks``."""
    X = rng.standard_normal((600, 4))
    y = X @ [1.0, -1.0, 2.0, 0.5] + rng.standard_normal(600)
    src = fio.from_arrays(X, y)
    for cls in (fastlin.LinearRegression, fastlin.Ridge, fastlin.RidgeCV):
        np.testing.assert_allclose(
            cls().fit(src, chunk_rows=128).coef_, cls().fit(X, y).coef_, rtol=1e-12
        )
    scaler = fastlin.StandardScaler().fit(src, chunk_rows=100)
    np.testing.assert_allclose(scaler.mean_, fastlin.StandardScaler().fit(X).mean_, rtol=1e-12)
    with pytest.raises(TypeError, match="options of a chunk source"):
        fastlin.LinearRegression().fit(X, y, chunk_rows=10)
    for cls in (fastlin.LinearRegression, fastlin.Ridge, fastlin.RidgeCV):
        assert not hasattr(cls(), "fit_chunks")
    labels = (y > 0).astype(int)
    lr = fastlin.LogisticRegression().fit(fio.from_arrays(X, labels), chunk_rows=128)
    ref = fastlin.LogisticRegression().fit(X, labels).coef_
    np.testing.assert_allclose(lr.coef_, ref, rtol=1e-6, atol=1e-8)
    binarised = fastlin.LogisticRegression().fit(
        src, chunk_rows=128, target_transform=lambda yc: (yc > 0).astype(int)
    )
    np.testing.assert_allclose(binarised.coef_, ref, rtol=1e-6, atol=1e-8)
    with pytest.raises(TypeError, match="options of a chunk source"):
        fastlin.LogisticRegression().fit(X, labels, chunk_rows=10)
    # One chunk of a source is the array fit, bit for bit (more chunks shuffle within each).
    sgd = dict(max_iter=5, random_state=0)
    np.testing.assert_array_equal(
        fastlin.SGDRegressor(**sgd).fit(src, chunk_rows=600).coef_,
        fastlin.SGDRegressor(**sgd).fit(X, y).coef_,
    )
    poly = fastlin.PolynomialFeatures(2)
    for data in (src, [(X, y)]):
        np.testing.assert_array_equal(poly.fit(data).powers_, poly.fit(X).powers_)
        assert poly.n_features_in_ == 4
