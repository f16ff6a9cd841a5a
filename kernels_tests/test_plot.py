"""Figures are written, are PNGs, and are not blank."""

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="fastlin's figures need matplotlib (fastlin[plot])")

from fastlin.edges import plot  # noqa: E402


def _assert_png_not_blank(path):
    from matplotlib import image

    img = image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    flat = img.reshape(-1, img.shape[2])
    assert np.unique(flat, axis=0).shape[0] > 1, "the figure has a single colour"


def _no_pyplot_figures():
    import sys

    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_loss_curve_array_and_dict(tmp_path, rng):
    p = plot.plot_loss_curve(np.exp(-np.arange(40) / 5.0) + 0.01, tmp_path / "a.png")
    _assert_png_not_blank(p)
    hist = {
        "train": np.linspace(1, 0.2, 12),
        "validation": np.linspace(1.1, 0.4, 12),
        "empty": np.array([]),
    }
    p = plot.plot_loss_curve(hist, tmp_path / "sub" / "b.png", log_y=False)
    assert p.endswith("b.png")
    _assert_png_not_blank(p)
    with pytest.raises(ValueError, match="empty"):
        plot.plot_loss_curve({"train": []}, tmp_path / "c.png")
    _no_pyplot_figures()


def test_residuals(tmp_path, rng):
    x = rng.normal(size=30000)
    r = x**2 - 1 + 0.1 * rng.normal(size=x.size)
    p = plot.plot_residuals(x, r, tmp_path / "r.png", max_points=5000)
    _assert_png_not_blank(p)
    with pytest.raises(ValueError, match="values"):
        plot.plot_residuals(x, r[:-1], tmp_path / "bad.png")


def test_reliability_from_table(tmp_path, rng):
    from fastlin.core.calibration import reliability_table

    p1 = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p1**1.5).astype(int)
    table = reliability_table(y, p1, n_bins=10)
    p = plot.plot_reliability(table, tmp_path / "rel.png")
    _assert_png_not_blank(p)
    d = table.to_dict()
    _assert_png_not_blank(plot.plot_reliability(d, tmp_path / "rel2.png"))


def test_fit_line_and_polynomial(tmp_path, rng):
    import fastlin

    x = rng.uniform(-2, 2, 300)
    y = 1 + 0.5 * x - x**2 + 0.2 * rng.normal(size=300)
    model = fastlin.LinearRegression().fit(x.reshape(-1, 1), y)
    _assert_png_not_blank(plot.plot_fit(x, y, tmp_path / "line.png", model=model))
    coef = np.polynomial.polynomial.polyfit(x, y, 2)
    _assert_png_not_blank(plot.plot_fit(x, y, tmp_path / "poly.png", coef=coef))
    with pytest.raises(ValueError, match="exactly one"):
        plot.plot_fit(x, y, tmp_path / "none.png")


def test_influence(tmp_path, rng):
    from fastlin import diagnostics

    X = rng.normal(size=(400, 3))
    y = X.sum(1) + rng.normal(size=400)
    inf = diagnostics.influence(X, y)
    p = plot.plot_influence(
        inf.leverage,
        inf.studentized_residuals,
        tmp_path / "i.png",
        cooks_distance=inf.cooks_distance,
        n_params=inf.n_params,
    )
    _assert_png_not_blank(p)
    _no_pyplot_figures()
