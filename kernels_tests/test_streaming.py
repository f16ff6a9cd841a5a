"""Out-of-core fits: file sources, checkpoints and resume, persistence, the command line."""

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
from fastlin.datasets import one_hot
from fastlin.persistence import FileFormatError

pytestmark = pytest.mark.filterwarnings("ignore::fastlin.solve.RankDeficientWarning")


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
    stream = fastlin.LinearRegression().fit_chunks(src, chunk_rows=chunk_rows,
                                                   target_transform=_onehot10)
    for key in ("xtx", "xty", "x_sum", "y_sum", "yty"):
        assert np.array_equal(getattr(stream.stats_, key), getattr(mem.stats_, key)), key
    np.testing.assert_array_equal(stream.coef_, mem.coef_)
    np.testing.assert_array_equal(stream.intercept_, mem.intercept_)


def test_fit_chunks_accepts_plain_iterables(rng):
    X = rng.standard_normal((500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.7
    w = rng.uniform(0.5, 1.5, 500)
    chunks = ((X[i:i + 64], y[i:i + 64], w[i:i + 64]) for i in range(0, 500, 64))
    a = fastlin.Ridge(alpha=0.1).fit_chunks(chunks)
    b = fastlin.Ridge(alpha=0.1).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    assert a.coef_.shape == (4,)
    with pytest.raises(ValueError, match="each chunk must be a tuple"):
        fastlin.Ridge().fit_chunks([X])
    with pytest.raises(ValueError, match="checkpoint needs a ChunkSource"):
        fastlin.Ridge().fit_chunks([(X, y)], checkpoint="x.npz")


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
        model.fit_chunks(src, chunk_rows=500, target_transform=flaky, checkpoint=ck)
    assert not hasattr(model, "coef_")
    assert ck.exists()
    resumed = fastlin.LinearRegression().fit_chunks(src, chunk_rows=500, target_transform=_onehot10,
                                                    checkpoint=ck)
    np.testing.assert_array_equal(resumed.coef_, ref.coef_)
    assert resumed.n_samples_seen_ == 3000


def test_checkpoint_for_another_source_is_refused(idx_files, rng):
    X, y, d = idx_files
    src = fio.open_source(d / "img", labels=d / "lbl", n_classes=10)
    ck = d / "ck.npz"
    fastlin.LinearRegression().fit_chunks(src, chunk_rows=1000, target_transform=_onehot10, checkpoint=ck)
    X2, y2 = _digits_like(rng, 3000)
    other = fio.from_arrays(X2, y2, n_classes=10)
    with pytest.raises(FileFormatError, match="checkpoint was written for source"):
        fastlin.LinearRegression().fit_chunks(other, target_transform=_onehot10, checkpoint=ck)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import fastlin
    from fastlin import io as fio
    from fastlin.datasets import one_hot
    d, ck, slow = sys.argv[1], sys.argv[2], float(sys.argv[3])
    src = fio.open_source(d + "/img", labels=d + "/lbl", n_classes=10)

    def transform(y):
        time.sleep(slow)
        return one_hot(y, 10)

    m = fastlin.LinearRegression().fit_chunks(src, chunk_rows=200, target_transform=transform,
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
    from fastlin.persistence import load_checkpoint

    _, rows_done, _ = load_checkpoint(ck)
    assert 0 < rows_done < 3000
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(d), ck, "0"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(d / "coef.npy"), ref.coef_)


def test_corrupt_gzip_leaves_no_model_and_no_checkpoint(idx_files):
    X, y, d = idx_files
    raw = bytearray((d / "img.gz").read_bytes())
    raw[len(raw) // 2] ^= 0x10  # flip a bit in the middle of the deflate stream
    (d / "bad.gz").write_bytes(bytes(raw))
    ck = d / "bad-ck.npz"
    model = fastlin.LinearRegression()
    with pytest.raises(fio.DataSourceError):
        src = fio.open_source(d / "bad.gz", labels=d / "lbl.gz", n_classes=10)
        model.fit_chunks(src, chunk_rows=300, target_transform=_onehot10, checkpoint=ck)
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
    return subprocess.run([sys.executable, "-m", "fastlin", *args], capture_output=True,
                          text=True, timeout=900, cwd=cwd, env=env)


def test_cli_fit_evaluate_predict_end_to_end(idx_files):
    X, y, d = idx_files
    model = d / "model.npz"
    r = _cli("fit", "--images", str(d / "img.gz"), "--labels", str(d / "lbl.gz"),
             "-o", str(model), "--quiet")
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
    r = _cli("fit", "--images", str(d / "short"), "--labels", str(d / "lbl"), "-o", str(d / "m.npz"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastlin: error:") and "short" in lines[0]
    assert not (d / "m.npz").exists()
    r = _cli("--help")
    assert r.returncode == 0 and "demo" in r.stdout and "evaluate" in r.stdout


def test_cli_demo_small():
    r = _cli("demo", "--n-train", "3000", "--n-test", "500", "--quiet")
    assert r.returncode == 0, r.stderr
    for key in ("rows", "features", "fit time", "rows/s", "train accuracy", "test accuracy",
                "peak memory"):
        assert key in r.stdout
    acc = float(r.stdout.split("test accuracy")[1].split("%")[0])
    assert 60 < acc < 100
