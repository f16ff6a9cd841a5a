"""The report command end to end, in a subprocess, on small IDX files."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastlin
from fastlin.io import write_idx
from fastlin.core.solve import RankDeficientWarning

ROOT = Path(__file__).resolve().parents[1]


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "fastlin.edges.report", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _cli_has_report():
    from fastlin.edges import cli

    try:
        cli._parser().parse_args(["report", "-m", "a", "-X", "b", "-y", "c", "-o", "d"])
    except SystemExit:
        return False
    return True


def _assert_png_not_blank(path):
    from matplotlib import image

    img = image.imread(path)
    assert np.unique(img.reshape(-1, img.shape[2]), axis=0).shape[0] > 1


@pytest.fixture
def one_hot_files(tmp_path, rng):
    centres = rng.integers(0, 200, size=(3, 36))
    labels = rng.integers(0, 3, 400).astype(np.uint8)
    X = np.clip(centres[labels] + rng.normal(scale=40, size=(400, 36)), 0, 255).astype(np.uint8)
    X[:, 0] = 0  # a constant pixel, as MNIST's border
    write_idx(tmp_path / "x.idx", X.reshape(400, 6, 6))
    write_idx(tmp_path / "y.idx", labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)  # the constant pixel
        model = fastlin.Ridge(alpha=10.0).fit(X, np.eye(3)[labels])
    model.save(
        tmp_path / "m.npz",
        metadata={"targets": "one-hot", "n_classes": 3, "trained_on": str(tmp_path / "x.idx")},
    )
    return tmp_path


def test_report_one_hot_model(one_hot_files):
    pytest.importorskip("matplotlib", reason="figures need matplotlib (fastlin[plot])")
    d = one_hot_files
    res = _run(["report", "-m", "m.npz", "-X", "x.idx", "-y", "y.idx", "-o", "out"], d)
    assert res.returncode == 0, res.stderr
    assert "nonlinear baseline" in res.stdout
    out = d / "out"
    data = json.loads((out / "checklist.json").read_text())
    names = [c["name"] for c in data["checks"]]
    for name in (
        "shapes",
        "conditioning",
        "calibration",
        "nonlinear baseline",
        "influence",
        "projection",
    ):
        assert name in names
    assert data["rows"] == 400 and data["targets"] == "one-hot"
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["shapes"]["status"] == "pass"
    assert checks["projection"]["status"] == "pass"  # these are the training rows
    assert set(data["figures"]) >= {"residuals_vs_fitted.png", "influence.png", "reliability.png"}
    for f in data["figures"]:
        _assert_png_not_blank(out / f)
    assert "overall" in (out / "checklist.txt").read_text()


def test_report_raw_single_feature(tmp_path, rng):
    pytest.importorskip("matplotlib", reason="figures need matplotlib (fastlin[plot])")
    x = rng.uniform(-2, 2, size=(300, 1))
    t = 1 + x[:, 0] - 0.8 * x[:, 0] ** 2 + 0.1 * rng.normal(size=300)
    write_idx(tmp_path / "x.idx", x)
    write_idx(tmp_path / "t.idx", t)
    fastlin.LinearRegression().fit(x, t).save(tmp_path / "m.npz", metadata={"targets": "raw"})
    res = _run(["-m", "m.npz", "-X", "x.idx", "-y", "t.idx", "-o", "rep"], tmp_path)
    data = json.loads((tmp_path / "rep" / "checklist.json").read_text())
    checks = {c["name"]: c for c in data["checks"]}
    # A straight line through a parabola: the checklist says FAIL and so does the exit status.
    failed = [n for n, c in checks.items() if c["status"] == "fail"]
    assert checks["residual structure"]["status"] == "fail" and data["status"] == "fail"
    assert res.returncode == 1, res.stderr
    assert f"failed: {', '.join(failed)}" in res.stderr
    assert checks["projection"]["status"] == "skip"  # not known to be the training rows
    assert "fit.png" in data["figures"]
    _assert_png_not_blank(tmp_path / "rep" / "fit.png")


def test_report_errors(one_hot_files, capsys, monkeypatch):
    from fastlin.edges import report

    d = one_hot_files
    monkeypatch.chdir(d)
    write_idx(d / "x5.idx", np.zeros((400, 5), np.uint8) + 1)
    assert report.main(["-m", "m.npz", "-X", "x5.idx", "-y", "y.idx", "-o", "out"]) == 2
    assert "5 features" in capsys.readouterr().err
    assert report.main(["-m", "missing.npz", "-X", "x.idx", "-y", "y.idx", "-o", "out"]) == 2
    assert "missing.npz" in capsys.readouterr().err
    assert (
        report.main(
            ["-m", "m.npz", "-X", "x.idx", "-y", "y.idx", "-o", "out", "--val-images", "x.idx"]
        )
        == 2
    )
    assert "--val-labels" in capsys.readouterr().err


def test_cli_report_when_registered(one_hot_files):
    if not _cli_has_report():
        pytest.skip("fastlin.edges.cli does not register the report command yet")
    pytest.importorskip("matplotlib", reason="figures need matplotlib (fastlin[plot])")
    d = one_hot_files
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastlin",
            "report",
            "-m",
            "m.npz",
            "-X",
            "x.idx",
            "-y",
            "y.idx",
            "-o",
            "out2",
            "--no-figures",
        ],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert (d / "out2" / "checklist.json").exists()


def _hide_matplotlib(monkeypatch):
    """Make ``import matplotlib`` (and any submodule already imported) fail, as when it is
    not installed."""
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_report_without_matplotlib_writes_the_checklist(one_hot_files, capsys, monkeypatch):
    from fastlin.edges import cli

    d = one_hot_files
    monkeypatch.chdir(d)
    _hide_matplotlib(monkeypatch)
    code = cli.main(["report", "-m", "m.npz", "-X", "x.idx", "-y", "y.idx", "-o", "out"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "figures skipped: matplotlib is not available" in out
    assert "pip install fastlin[plot]" in out
    text = (d / "out" / "checklist.txt").read_text()
    assert "overall" in text and "figures skipped: matplotlib is not available" in text
    data = json.loads((d / "out" / "checklist.json").read_text())
    assert data["figures"] == [] and "matplotlib" in data["figures_skipped"]
    assert sorted(p.name for p in (d / "out").iterdir()) == ["checklist.json", "checklist.txt"]


def test_failing_checklist_exits_1_and_names_the_failed_checks(tmp_path, rng, capsys):
    from fastlin.edges import report

    x = rng.uniform(-2, 2, size=(300, 1))
    t = 1 + x[:, 0] - 0.8 * x[:, 0] ** 2 + 0.1 * rng.normal(size=300)
    write_idx(tmp_path / "x.idx", x)
    write_idx(tmp_path / "t.idx", t)
    fastlin.LinearRegression().fit(x, t).save(tmp_path / "m.npz", metadata={"targets": "raw"})
    code = report.main(
        [
            "-m",
            str(tmp_path / "m.npz"),
            "-X",
            str(tmp_path / "x.idx"),
            "-y",
            str(tmp_path / "t.idx"),
            "-o",
            str(tmp_path / "rep"),
            "--no-figures",
        ]
    )
    out, err = capsys.readouterr()
    data = json.loads((tmp_path / "rep" / "checklist.json").read_text())
    failed = [c["name"] for c in data["checks"] if c["status"] == "fail"]
    assert code == 1 and failed and "residual structure" in failed
    assert err.strip().splitlines() == [
        f"fastlin: {len(failed)} check{'s' if len(failed) > 1 else ''} failed: "
        f"{', '.join(failed)} (exit status 1; see {tmp_path / 'rep' / 'checklist.txt'})"
    ]
    with pytest.raises(SystemExit):
        report.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 when no check fails" in help_text
    assert "1 when a check FAILs" in help_text


def test_report_output_that_is_a_file_is_refused(one_hot_files, capsys, monkeypatch):
    from fastlin.edges import report

    d = one_hot_files
    monkeypatch.chdir(d)
    (d / "taken").write_text("keep")
    assert report.main(["-m", "m.npz", "-X", "x.idx", "-y", "y.idx", "-o", "taken"]) == 2
    assert "taken is a file" in capsys.readouterr().err
    assert (d / "taken").read_text() == "keep"
