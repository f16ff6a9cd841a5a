"""The ``fastlin`` command line, in process: version, JSON scores, class counts, checks
made before the pass, checkpoints, file modes."""

import json
import os

import numpy as np
import pytest

import fastlin
from fastlin.edges import cli
from fastlin import io as fio
from fastlin.io.datasets import one_hot

pytestmark = pytest.mark.filterwarnings("ignore::fastlin.core.solve.RankDeficientWarning")

N, D = 600, 16
LABEL_HEADER = 8  # IDX magic (4 bytes) and one dimension (4 bytes)


@pytest.fixture
def files(tmp_path, rng):
    X = rng.integers(0, 256, size=(N, D)).astype(np.uint8)
    y = rng.permutation(np.arange(N) % 10).astype(np.uint8)
    fio.write_idx(tmp_path / "x.idx", X.reshape(N, 4, 4))
    fio.write_idx(tmp_path / "y.idx", y)
    np.save(tmp_path / "x.npy", X)
    t = X[:, :3].astype(np.float64) @ [0.5, -1.0, 2.0] + rng.normal(size=N)
    fio.write_idx(tmp_path / "t.idx", t)
    return X, y, t, tmp_path


def _corrupt_labels(d, row=123, value=200):
    raw = bytearray((d / "y.idx").read_bytes())
    raw[LABEL_HEADER + row] = value
    (d / "bad.idx").write_bytes(bytes(raw))
    return d / "bad.idx"


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if a fit starts: for checks that must come before the pass."""
    calls = []

    def fit_source(self, *args, **kwargs):
        calls.append(args)
        raise AssertionError("the fit started")

    monkeypatch.setattr(fastlin.LinearRegression, "_fit_source", fit_source)
    return calls


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"fastlin {fastlin.__version__}\n"


def test_evaluate_json(files, capsys):
    X, y, t, d = files
    assert (
        _run(
            capsys,
            "fit",
            "-X",
            d / "x.idx",
            "-y",
            d / "y.idx",
            "--n-classes",
            10,
            "-o",
            d / "m.npz",
            "--quiet",
        )[0]
        == 0
    )
    code, out, err = _run(
        capsys, "evaluate", "-m", d / "m.npz", "-X", d / "x.idx", "-y", d / "y.idx", "--json"
    )
    assert code == 0, err
    scores = json.loads(out)
    ref = fastlin.LinearRegression().fit(X, one_hot(y, 10))
    assert scores == {"rows": N, "accuracy": pytest.approx(np.mean(ref.predict(X).argmax(1) == y))}
    assert (
        _run(
            capsys,
            "fit",
            "-X",
            d / "x.idx",
            "-y",
            d / "t.idx",
            "--encoding",
            "raw",
            "-o",
            d / "r.npz",
            "--quiet",
        )[0]
        == 0
    )
    code, out, err = _run(
        capsys, "evaluate", "-m", d / "r.npz", "-X", d / "x.idx", "-y", d / "t.idx", "--json"
    )
    assert code == 0, err
    scores = json.loads(out)
    pred = fastlin.LinearRegression().fit(X, t).predict(X)
    rmse = np.sqrt(np.mean((t - pred) ** 2))
    assert set(scores) == {"rows", "r2", "rmse"} and scores["rows"] == N
    assert scores["rmse"] == pytest.approx(rmse, rel=1e-9)
    assert scores["r2"] == pytest.approx(1 - rmse**2 / np.var(t), rel=1e-9)


def test_out_of_range_label_is_refused_with_its_offset(files, capsys, no_fit):
    X, y, t, d = files
    bad = _corrupt_labels(d)
    code, out, err = _run(
        capsys, "fit", "-X", d / "x.idx", "-y", bad, "--n-classes", 10, "-o", d / "m.npz", "--quiet"
    )
    assert code == 2
    assert err.strip().splitlines() == [
        f"fastlin: error: {bad}: label 200 at row 123, byte offset {LABEL_HEADER + 123} is out "
        "of range; expected 0 <= label < 10 (n_classes=10)"
    ]
    assert not (d / "m.npz").exists() and not no_fit
    code, out, err = _run(
        capsys,
        "fit",
        "-X",
        d / "x.idx",
        "-y",
        d / "t.idx",
        "--encoding",
        "raw",
        "--n-classes",
        10,
        "-o",
        d / "m.npz",
        "--quiet",
    )
    assert code == 2 and "--n-classes goes with --encoding one-hot" in err
    with pytest.raises(SystemExit):
        cli.main(
            [
                "fit",
                "-X",
                str(d / "x.idx"),
                "-y",
                str(bad),
                "--n-classes",
                "0",
                "-o",
                str(d / "m.npz"),
            ]
        )
    assert "expected a positive integer" in capsys.readouterr().err


def test_inferred_class_count_is_announced_and_a_corrupt_one_flagged(files, capsys):
    X, y, t, d = files
    code, out, err = _run(
        capsys, "fit", "-X", d / "x.idx", "-y", d / "y.idx", "-o", d / "m.npz", "--quiet"
    )
    assert code == 0
    assert err.strip().splitlines() == [
        f"fastlin: warning: inferred 10 classes from the labels (0..9) of {d / 'y.idx'}; "
        "pass --n-classes to fix it"
    ]
    bad = _corrupt_labels(d)
    code, out, err = _run(
        capsys, "fit", "-X", d / "x.idx", "-y", bad, "-o", d / "m2.npz", "--quiet"
    )
    assert code == 0  # inferring is what was asked for; the warnings say what it did
    assert "inferred 201 classes from the labels (0..200)" in err
    assert (
        "190 of the 201 label values 0..200 never occur (10..199), and the largest label "
        "200 is in 1 row: a corrupt label file?"
    ) in err
    assert fastlin.load(d / "m2.npz").coef_.shape == (201, D)


@pytest.mark.parametrize(
    "output, message",
    [
        ("out_dir", "is a directory"),
        ("missing/m.npz", "does not exist"),
        ("x.npy/m.npz", "is not a directory"),
        ("x.idx", "is the input file"),
        ("y.idx", "is the input file"),
    ],
)
def test_output_is_checked_before_the_fit(files, capsys, no_fit, output, message):
    X, y, t, d = files
    (d / "out_dir").mkdir()
    before = (d / "x.idx").read_bytes(), (d / "y.idx").read_bytes()
    code, out, err = _run(
        capsys,
        "fit",
        "-X",
        d / "x.idx",
        "-y",
        d / "y.idx",
        "--n-classes",
        10,
        "-o",
        d / output,
        "--quiet",
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not no_fit
    assert ((d / "x.idx").read_bytes(), (d / "y.idx").read_bytes()) == before


def test_checkpoint_and_output_must_differ(files, capsys, no_fit):
    X, y, t, d = files
    code, out, err = _run(
        capsys,
        "fit",
        "-X",
        d / "x.idx",
        "-y",
        d / "y.idx",
        "--n-classes",
        10,
        "-o",
        d / "m.npz",
        "--checkpoint",
        d / "m.npz",
        "--quiet",
    )
    assert code == 2 and "must be different files" in err and not no_fit


@pytest.mark.parametrize("data", ["x.idx", "x.npy"])
def test_missing_labels_are_reported_before_the_data_is_opened(
    files, capsys, monkeypatch, no_fit, data
):
    X, y, t, d = files
    opened = []
    real = fio.open_source
    monkeypatch.setattr(fio, "open_source", lambda *a, **k: opened.append(a) or real(*a, **k))
    code, out, err = _run(
        capsys, "fit", "-X", d / data, "-y", d / "nope.idx", "-o", d / "m.npz", "--quiet"
    )
    assert code == 2
    assert err.strip() == f"fastlin: error: --labels {d / 'nope.idx'}: no such file"
    assert not opened and not no_fit and not (d / "m.npz").exists()


def test_fit_checkpoint_resumes_only_with_the_same_classes_and_is_deleted(files, capsys):
    X, y, t, d = files
    import functools

    from fastlin.core.stats import GramStats
    from fastlin.io.fold import accumulate

    ck = d / "fit.ckpt.npz"
    # What a pass killed after two of its chunks leaves behind.
    src = fio.open_source(d / "x.idx", labels=d / "y.idx", n_classes=10)
    part = GramStats()
    for i, (Xc, yc) in enumerate(src.iter_chunks(200)):
        if i == 2:
            break
        part.update(Xc, one_hot(yc, 10))
    from fastlin.edges import persistence

    persistence.save_checkpoint(
        ck,
        part,
        400,
        src.identity(),
        target_transform=functools.partial(one_hot, n_classes=10),
        targets={"ndim": 2, "columns": [10]},
        extra={
            "estimator": "LinearRegression",
            "params": {"fit_intercept": True, "solver": "auto"},
        },
    )
    before = ck.read_bytes()
    code, out, err = _run(
        capsys,
        "fit",
        "-X",
        d / "x.idx",
        "-y",
        d / "y.idx",
        "--n-classes",
        12,
        "--chunk-rows",
        200,
        "-o",
        d / "m.npz",
        "--checkpoint",
        ck,
        "--quiet",
    )
    assert code == 2
    assert (
        "checkpoint fit.ckpt.npz was made with target_transform=fastlin.io.datasets.one_hot"
        "(n_classes=10) but this fit uses target_transform=fastlin.io.datasets.one_hot"
        "(n_classes=12); delete it or pass the same"
    ) in err
    assert ck.read_bytes() == before and not (d / "m.npz").exists()
    code, out, err = _run(
        capsys,
        "fit",
        "-X",
        d / "x.idx",
        "-y",
        d / "y.idx",
        "--n-classes",
        10,
        "--chunk-rows",
        200,
        "-o",
        d / "m.npz",
        "--checkpoint",
        ck,
        "--quiet",
    )
    assert code == 0, err
    ref, _ = accumulate(
        src, GramStats(), chunk_rows=200, target_transform=functools.partial(one_hot, n_classes=10)
    )
    np.testing.assert_array_equal(
        fastlin.load(d / "m.npz").coef_, fastlin.LinearRegression().fit_stats(ref).coef_
    )
    assert not ck.exists() and not [p for p in d.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_model_and_prediction_files_honour_the_umask(files, capsys, umask):
    X, y, t, d = files
    old = os.umask(umask)
    try:
        assert (
            _run(
                capsys,
                "fit",
                "-X",
                d / "x.idx",
                "-y",
                d / "y.idx",
                "--n-classes",
                10,
                "-o",
                d / "m.npz",
                "--quiet",
            )[0]
            == 0
        )
        for out in ("p.npy", "p.csv"):
            assert (
                _run(capsys, "predict", "-m", d / "m.npz", "-X", d / "x.idx", "-o", d / out)[0] == 0
            )
    finally:
        os.umask(old)
    for name in ("m.npz", "p.npy", "p.csv"):
        assert (d / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert not [p for p in d.iterdir() if p.name.startswith(".")]


def test_compilation_is_counted_on_a_first_run_only(tmp_path):
    # What lets the command line say that a first run's fit time includes compiling:
    # with an empty cache a new specialisation counts, loaded from the cache it does not.
    import subprocess
    import sys

    code = (
        "import numpy as np; from fastlin._numba import kernels_compiled; "
        "from fastlin.kernels import gram; before = kernels_compiled(); "
        "assert gram._padded_jit(np.int16(5), np.int16(4)) == 8; "
        "print(kernels_compiled() - before)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert int(runs[0]) >= 1 and int(runs[1]) == 0, runs
