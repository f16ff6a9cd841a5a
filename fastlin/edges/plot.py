"""Diagnostic figures saved to PNG (optional dependency: ``pip install fastlin[plot]``).

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg canvas,
writes the file and returns its path. pyplot is never imported, so no global figure state
is created or leaked and no display is needed.
"""

import os

import numpy as np

_MAX_POINTS = 20000


def _figure(width=6.4, height=4.8):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("fastlin's figures need matplotlib: pip install fastlin[plot]") from exc
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    fig.clear()
    return path


def _subsample(n, max_points, seed):
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def plot_loss_curve(history, path, *, title="loss", log_y=None, xlabel="iteration"):
    """Loss against iteration (or epoch).

    Parameters
    ----------
    history : array-like of shape (n_iter,) or dict of name -> array-like
        E.g. ``LogisticRegression.loss_history_`` ({"train": ..., "validation": ...});
        empty curves are left out.
    path : str or path-like
        PNG file to write.
    log_y : bool, optional
        Logarithmic loss axis; default: when every value is positive and they span more
        than a factor of 20.

    Returns
    -------
    str
        The path written.
    """
    curves = history if isinstance(history, dict) else {"loss": history}
    curves = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in curves.items()}
    curves = {k: v for k, v in curves.items() if v.size}
    if not curves:
        raise ValueError("the loss history is empty")
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for name, v in curves.items():
        x = np.arange(1, v.size + 1)
        ax.plot(x, v, marker="o" if v.size <= 30 else None, markersize=3, label=name)
    allv = np.concatenate(list(curves.values()))
    finite = allv[np.isfinite(allv)]
    if log_y is None:
        log_y = finite.size > 0 and finite.min() > 0 and finite.max() / finite.min() > 20
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _binned_mean(x, r, n_bins=20):
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
    if edges.size < 2:
        return None, None
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(idx, minlength=edges.size - 1)
    sums = np.bincount(idx, weights=r, minlength=edges.size - 1)
    sx = np.bincount(idx, weights=x, minlength=edges.size - 1)
    ok = counts > 0
    return sx[ok] / counts[ok], sums[ok] / counts[ok]


def plot_residuals(
    x, residuals, path, *, xlabel="fitted value", title="residuals", max_points=_MAX_POINTS, seed=0
):
    """Residuals against fitted values (or a feature), with their binned mean.

    A curve in the binned mean (red) is what a linear fit of a nonlinear target leaves.

    Parameters
    ----------
    x : array-like of shape (n,)
        Fitted values or a feature.
    residuals : array-like of shape (n,)
    path : str or path-like
    max_points : int
        Points drawn (a seeded random subset); the binned mean uses every row.

    Returns
    -------
    str
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    r = np.asarray(residuals, dtype=np.float64).ravel()
    if x.shape != r.shape:
        raise ValueError(f"x has {x.size} values but residuals has {r.size}")
    if x.size == 0:
        raise ValueError("nothing to plot: no residuals")
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    keep = _subsample(x.size, max_points, seed)
    ax.scatter(
        x[keep],
        r[keep],
        s=4,
        alpha=0.35,
        color="tab:blue",
        edgecolors="none",
        label=f"rows ({keep.size} of {x.size} shown)" if keep.size < x.size else "rows",
    )
    ax.axhline(0.0, color="black", linewidth=1)
    bx, br = _binned_mean(x, r)
    if bx is not None:
        ax.plot(bx, br, color="tab:red", linewidth=2, marker="o", markersize=3, label="binned mean")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("residual")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return _save(fig, path)


def plot_reliability(table, path, *, title="reliability diagram"):
    """Reliability diagram with the row count of each bin.

    Parameters
    ----------
    table : fastlin.core.calibration.ReliabilityTable or dict
        One-dimensional table (``edges``, ``count``, ``mean_confidence``, ``accuracy``).
    path : str or path-like

    Returns
    -------
    str
    """
    get = table.get if isinstance(table, dict) else (lambda k: getattr(table, k))
    edges = np.asarray(get("edges"), dtype=np.float64)
    count = np.asarray(get("count"), dtype=np.float64)
    conf = np.asarray(get("mean_confidence"), dtype=np.float64)
    acc = np.asarray(get("accuracy"), dtype=np.float64)
    if count.ndim != 1:
        raise ValueError("plot_reliability takes a one-dimensional (top-label or positive) table")
    if edges.shape != (count.size + 1,):
        raise ValueError(f"edges has shape {edges.shape}, expected ({count.size + 1},)")
    fig = _figure(6.4, 6.4)
    ax = fig.add_subplot(2, 1, 1)
    hist = fig.add_subplot(2, 1, 2, sharex=ax)
    centres = 0.5 * (edges[:-1] + edges[1:])
    widths = np.diff(edges)
    ok = count > 0
    ax.bar(
        centres[ok],
        acc[ok],
        width=widths[ok] * 0.9,
        color="tab:blue",
        alpha=0.7,
        edgecolor="black",
        label="accuracy",
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    ax.plot(conf[ok], acc[ok], marker="o", color="tab:red", label="mean confidence")
    w = count.sum()
    ece = float(np.nansum(count[ok] / w * np.abs(acc[ok] - conf[ok]))) if w else float("nan")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{title} (ECE {ece:.4f})")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    hist.bar(centres, count, width=widths * 0.9, color="tab:gray", edgecolor="black")
    for c, k in zip(centres, count):
        if k:
            hist.annotate(f"{int(k)}", (c, k), ha="center", va="bottom", fontsize=7)
    hist.set_xlabel("confidence")
    hist.set_ylabel("rows per bin")
    hist.set_xlim(float(edges[0]), float(edges[-1]))
    return _save(fig, path)


def plot_fit(
    x,
    y,
    path,
    *,
    model=None,
    coef=None,
    title="data and fit",
    xlabel="x",
    ylabel="y",
    n_grid=200,
    max_points=_MAX_POINTS,
    seed=0,
):
    """Data with a fitted line or polynomial.

    Parameters
    ----------
    x, y : array-like of shape (n,)
    path : str or path-like
    model : object with ``predict``, optional
        Called on the grid as a (n_grid, 1) array (e.g. a fitted LinearRegression or a
        Pipeline of PolynomialFeatures and Ridge).
    coef : array-like, optional
        Polynomial coefficients, constant term first: y = coef[0] + coef[1] x + ...

    Returns
    -------
    str
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} values but y has {y.size}")
    if x.size == 0:
        raise ValueError("nothing to plot: no data")
    if (model is None) == (coef is None):
        raise ValueError("give exactly one of model= or coef=")
    grid = np.linspace(x.min(), x.max(), n_grid)
    if model is not None:
        line = np.asarray(model.predict(grid.reshape(-1, 1)), dtype=np.float64).ravel()
        label = type(model).__name__
    else:
        c = np.asarray(coef, dtype=np.float64).ravel()
        line = np.polynomial.polynomial.polyval(grid, c)
        label = "linear fit" if c.size <= 2 else f"degree {c.size - 1} polynomial"
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    keep = _subsample(x.size, max_points, seed)
    ax.scatter(x[keep], y[keep], s=6, alpha=0.5, color="tab:blue", edgecolors="none", label="data")
    ax.plot(grid, line, color="tab:red", linewidth=2, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_influence(
    leverage,
    studentized_residuals,
    path,
    *,
    cooks_distance=None,
    n_params=None,
    title="influence",
    max_points=_MAX_POINTS,
    seed=0,
):
    """Studentised residuals against leverage, coloured by Cook's distance.

    Rows with both high leverage and large residuals (top right / bottom right) move the
    fit most. With ``n_params`` the usual 2p/n leverage cut-off is drawn.

    Returns
    -------
    str
    """
    h = np.asarray(leverage, dtype=np.float64).ravel()
    r = np.asarray(studentized_residuals, dtype=np.float64).ravel()
    if h.shape != r.shape:
        raise ValueError(f"leverage has {h.size} values but residuals has {r.size}")
    if h.size == 0:
        raise ValueError("nothing to plot: no rows")
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    keep = _subsample(h.size, max_points, seed)
    # Always show the most influential rows, whatever the subsample.
    if cooks_distance is not None:
        cd = np.asarray(cooks_distance, dtype=np.float64).ravel()
        top = np.argsort(np.nan_to_num(cd, nan=-1.0))[-min(200, cd.size) :]
        keep = np.union1d(keep, top)
        from matplotlib.colors import LogNorm

        c = cd[keep]
        pos = c[np.isfinite(c) & (c > 0)]
        # Cook's distances span many decades: a log colour scale keeps the bulk visible.
        norm = None
        if pos.size:
            norm = LogNorm(
                vmin=max(float(pos.min()), float(pos.max()) * 1e-6), vmax=float(pos.max())
            )
            c = np.where(np.isfinite(c), np.maximum(c, norm.vmin), norm.vmax)
        sc = ax.scatter(h[keep], r[keep], c=c, s=6, cmap="viridis", norm=norm, edgecolors="none")
        fig.colorbar(sc, ax=ax, label="Cook's distance")
    else:
        ax.scatter(h[keep], r[keep], s=6, alpha=0.5, edgecolors="none")
    if n_params is not None:
        ax.axvline(
            2 * n_params / h.size,
            color="tab:red",
            linestyle="--",
            label=f"2p/n = {2 * n_params / h.size:.3g}",
        )
        ax.legend(loc="best")
    ax.axhline(0.0, color="black", linewidth=1)
    ax.set_xlabel("leverage")
    ax.set_ylabel("studentised residual")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)
