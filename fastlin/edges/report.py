"""``fastlin report``: figures and the diagnostic checklist for a saved model and data.

    fastlin report --model model.npz --data X.idx --labels y.idx -o DIR

streams the data (IDX or .npy) in chunks and writes into DIR:

* ``checklist.txt`` and ``checklist.json``: :func:`fastlin.diagnostics.diagnose` plus an
  influence check (leverage and Cook's distance), a projection check (Xᵀr ≈ 0, which holds
  on the training rows only) and the residual summary;
* ``residuals_vs_fitted.png``; ``residuals_vs_feature.png`` for the feature whose square
  correlates most with the residuals; ``influence.png`` (studentised residuals against
  leverage, coloured by Cook's distance); ``reliability.png`` for one-hot models (the
  least-squares scores clipped to [0, 1], a linear probability model); ``fit.png`` for a
  single feature with raw targets; ``loss_curve.png`` when the model has a loss history.

For one-hot models (saved by ``fastlin fit`` with ``metadata["targets"] == "one-hot"``) the
residual and influence figures use the output of each row's true class.

Without matplotlib the checklist is written all the same and the figures are skipped (with
a note). Exit status: 0 when no check fails (warnings included), 1 when at least one check
FAILs (the checklist is written and the failed checks are named on stderr), 2 for bad input.
"""

import json
import os
import sys
import time

import numpy as np


def add_report_parser(subparsers):
    """Add the ``report`` command to the ``fastlin`` command line's subparsers."""
    p = subparsers.add_parser(
        "report",
        help="diagnostic figures and checklist for a saved model on labelled data",
        description="Stream X and labels/targets in chunks and write, for a model saved by "
        "'fastlin fit', the diagnostic checklist (text and JSON: shapes, conditioning, "
        "regularisation, residual structure, calibration, a nonlinear baseline, influence, "
        "projection) and the figures that apply (residuals, influence, reliability, fit, "
        "loss curve) as PNG files into a directory. Figures need matplotlib "
        "(pip install fastlin[plot]); without it they are skipped and the checklist is "
        "still written.",
        epilog="exit status: 0 when no check fails (warnings included); 1 when a check "
        "FAILs (the checklist is still written, and the failed checks are named on stderr), "
        "so that scripts and CI can stop on a failing model; 2 for bad input files or "
        "arguments.",
    )
    from .cli import add_data_args

    p.add_argument("--model", "-m", required=True, help="model file written by 'fastlin fit'")
    add_data_args(p)
    p.add_argument("--output", "-o", required=True, help="directory to write into (created)")
    p.add_argument(
        "--val-data",
        "--val-images",
        dest="val_data",
        help="held-out features for the residual, calibration and baseline checks "
        "(default: hold out a fraction of --data); tables take --target and "
        "--features as --data does",
    )
    p.add_argument("--val-labels", help="held-out labels/targets of IDX or .npy data")
    p.add_argument("--chunk-rows", type=int, default=8192)
    p.add_argument(
        "--top-k",
        type=int,
        default=10,
        help="features whose degree-2 terms form the nonlinear baseline (default 10)",
    )
    p.add_argument("--no-figures", action="store_true", help="write the checklist only")
    p.set_defaults(run=run_report)
    return p


def run_report(args):
    """Run ``fastlin report`` with parsed ``args``; returns the exit status: 0, or 1 when a
    check of the checklist fails."""
    from .. import diagnostics as D
    from ..io.datasets import one_hot
    from .cli import _by_position, _check_features, _default_features, open_data
    from .model_files import load

    t0 = time.perf_counter()
    model = load(args.model)
    meta = getattr(model, "metadata_", {}) or {}
    one_hot_model = meta.get("targets") == "one-hot"
    n_classes = meta.get("n_classes") if one_hot_model else None
    _default_features(args, model)
    model = _by_position(model)
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise ValueError(f"{args.output} is a file; --output names the directory to write into")
    source = open_data(args, n_classes=n_classes)
    _check_features(model, source, args.data)
    val = None
    if args.val_data:
        val = open_data(args, prefix="val-", n_classes=n_classes)
        _check_features(model, val, args.val_data)
    os.makedirs(args.output, exist_ok=True)
    transform = None
    if one_hot_model:

        def transform(y):
            return one_hot(y, n_classes)

    targets = "one-hot" if one_hot_model else "raw"
    report = D.diagnose(
        model, source, X_val=val, targets=targets, top_k=args.top_k, chunk_rows=args.chunk_rows
    )

    inf = D.influence(source, model=model, chunk_rows=args.chunk_rows, target_transform=transform)
    labels = np.asarray(source.targets()) if one_hot_model else None
    resid, stud, cooks = _per_row(inf, labels)
    Y_true = _true_targets(source, labels)
    fitted = Y_true - resid
    summary = D.residual_summary(
        model, source, chunk_rows=args.chunk_rows, target_transform=transform
    )
    trained_here = _is_training_data(model, meta, source, args.data)
    proj = D.projection_check(
        model, source, chunk_rows=args.chunk_rows, target_transform=transform, tol=1e-6
    )
    report.checks.append(_influence_check(inf, cooks))
    report.checks.append(_projection_check(proj, trained_here))

    figures = []
    skipped = None
    if not args.no_figures:
        skipped = _missing_matplotlib()
        if skipped is None:
            figures = _figures(
                args.output,
                model,
                source,
                report,
                inf,
                resid,
                stud,
                cooks,
                fitted,
                one_hot_model,
                args.chunk_rows,
            )
    text = report.to_text() + "\n\n" + str(summary) + "\n"
    if figures:
        text += "\nfigures:\n" + "\n".join(f"  {os.path.basename(f)}" for f in figures) + "\n"
    if skipped:
        text += f"\nfigures skipped: {skipped}\n"
    out = report.to_dict()
    out.update(
        model_file=os.path.abspath(args.model),
        data=os.path.abspath(args.data),
        rows=source.n_rows,
        features=source.n_features,
        targets=targets,
        residual_summary=summary.to_dict(),
        figures=[os.path.basename(f) for f in figures],
        figures_skipped=skipped,
    )
    txt_path = os.path.join(args.output, "checklist.txt")
    json_path = os.path.join(args.output, "checklist.json")
    with open(txt_path, "w") as fh:
        fh.write(text)
    with open(json_path, "w") as fh:
        json.dump(D._jsonable(out), fh, indent=2)
    print(report.to_text())
    print()
    print(
        f"wrote {txt_path}, {json_path}"
        + (f" and {len(figures)} figure(s)" if figures else "")
        + f" in {time.perf_counter() - t0:.2f} s"
    )
    if skipped:
        print(f"figures skipped: {skipped}")
    failed = [c.name for c in report.checks if c.status == "fail"]
    if failed:
        print(
            f"fastlin: {len(failed)} check{'s' if len(failed) != 1 else ''} failed: "
            f"{', '.join(failed)} (exit status 1; see {txt_path})",
            file=sys.stderr,
        )
        return 1
    return 0


def _missing_matplotlib():
    """Why the figures cannot be drawn (matplotlib missing or broken), or None."""
    try:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError as exc:
        return f"matplotlib is not available ({exc}); pip install fastlin[plot] for the figures"
    return None


def _per_row(inf, labels):
    """One residual, studentised residual and Cook's distance per row."""
    R, S, C = (
        np.asarray(a) for a in (inf.residuals, inf.studentized_residuals, inf.cooks_distance)
    )
    if R.ndim == 1:
        return R, S, C
    if labels is not None:
        idx = np.arange(R.shape[0])
        lab = labels.astype(np.int64)
        return R[idx, lab], S[idx, lab], C[idx, lab]
    return R[:, 0], S[:, 0], C[:, 0]


def _true_targets(source, labels):
    if labels is not None:
        return np.ones(labels.shape[0])  # the one-hot target of the true class
    y = np.asarray(source.targets(), dtype=np.float64)
    return y if y.ndim == 1 else y[:, 0]


def _true_targets_matrix(source, n_out):
    labels = np.asarray(source.targets()).astype(np.int64)
    Y = np.zeros((labels.size, n_out))
    Y[np.arange(labels.size), labels] = 1.0
    return Y


def _is_training_data(model, meta, source, path):
    trained_on = meta.get("trained_on")
    same_file = trained_on is not None and os.path.abspath(path) == trained_on
    return bool(same_file and getattr(model, "n_samples_seen_", None) == source.n_rows)


def _influence_check(inf, cooks):
    from ..diagnostics import Check

    h = inf.leverage
    n = h.size
    p = inf.n_params
    high = int(np.count_nonzero(h > 2 * p / n))
    # Rows of leverage 1 are fitted exactly: their Cook's distance is undefined (NaN).
    exact = int(np.count_nonzero(h >= 1 - 1e-9))
    cd = np.asarray(cooks, dtype=np.float64)
    finite = np.isfinite(cd)
    cdf = np.where(finite, cd, -np.inf)
    big = int(np.count_nonzero(cdf > 1.0))
    over = int(np.count_nonzero(cdf > 4.0 / n))
    top = int(np.argmax(cdf)) if n else 0
    cmax = float(cdf.max()) if finite.any() else float("nan")
    details = {
        "n_params": p,
        "max_leverage": float(h.max()),
        "mean_leverage": float(h.mean()),
        "rows_leverage_over_2p_n": high,
        "rows_leverage_one": exact,
        "max_cooks_distance": cmax,
        "row_max_cooks_distance": top,
        "rows_cooks_over_1": big,
        "rows_cooks_over_4_n": over,
        "route": inf.factor.route,
        "columns_used": inf.factor.rank,
    }
    msg = (
        f"leverage mean {h.mean():.3g} (p/n), max {h.max():.3g}; {high} rows above 2p/n"
        + (
            f", {exact} with leverage 1 (fitted exactly, Cook's distance undefined)"
            if exact
            else ""
        )
        + f"; max Cook's distance {cmax:.3g} (row {top}), {over} rows above 4/n"
    )
    if big:
        return Check(
            "influence",
            "warn",
            msg + f"; {big} rows with Cook's distance > 1 move the fit on their own",
            details,
        )
    return Check("influence", "pass", msg + "; no single row dominates the fit", details)


def _projection_check(proj, trained_here):
    from ..diagnostics import Check

    details = {
        "max_relative": proj.max_relative,
        "frobenius_relative": proj.frobenius_relative,
        "intercept_relative": proj.intercept_relative,
    }
    msg = (
        f"max |x_jᵀ r_k| / (|x_j| |r_k|) = {proj.max_relative:.3g} (ridge: after "
        f"subtracting alpha β)"
    )
    if not trained_here:
        return Check(
            "projection",
            "skip",
            msg + "; these are not (known to be) the training rows, where Xᵀr = 0 holds",
            details,
        )
    if proj.passed:
        return Check(
            "projection", "pass", msg + ": residuals are orthogonal to the columns", details
        )
    return Check(
        "projection",
        "fail",
        msg + ": the solution does not satisfy the normal "
        "equations on its training rows (numerical trouble?)",
        details,
    )


def _figures(
    outdir, model, source, report, inf, resid, stud, cooks, fitted, one_hot_model, chunk_rows
):
    from . import plot

    figs = []
    what = "true-class output" if one_hot_model else "target"
    R_all = np.asarray(inf.residuals, dtype=np.float64)
    if one_hot_model and R_all.ndim == 2:
        # Every output of every row: targets 0 and 1 give two bands, and the binned mean
        # of the residuals against the score is the calibration curve minus the diagonal.
        Y = _true_targets_matrix(source, R_all.shape[1])
        figs.append(
            plot.plot_residuals(
                (Y - R_all).ravel(),
                R_all.ravel(),
                os.path.join(outdir, "residuals_vs_fitted.png"),
                xlabel="fitted score (all one-hot outputs)",
                title=f"residuals vs fitted ({type(model).__name__}, one-hot targets)",
            )
        )
    else:
        figs.append(
            plot.plot_residuals(
                fitted,
                resid,
                os.path.join(outdir, "residuals_vs_fitted.png"),
                xlabel="fitted value",
                title=f"residuals vs fitted ({type(model).__name__})",
            )
        )
    details = report["residual structure"].details
    feat = details.get("feature")
    if feat is not None and source.n_features > 1:
        x = _column(source, int(feat), chunk_rows)
        k = int(details.get("target", 0))
        r_k = R_all[:, k] if R_all.ndim == 2 else R_all
        out_name = f", output {k}" if R_all.ndim == 2 and R_all.shape[1] > 1 else ""
        figs.append(
            plot.plot_residuals(
                x,
                r_k,
                os.path.join(outdir, "residuals_vs_feature.png"),
                xlabel=f"feature {feat}",
                title=f"residuals{out_name} vs feature {feat} (largest corr. with x²)",
            )
        )
    figs.append(
        plot.plot_influence(
            inf.leverage,
            stud,
            os.path.join(outdir, "influence.png"),
            cooks_distance=cooks,
            n_params=inf.n_params,
            title=f"influence ({what})",
        )
    )
    cal = report["calibration"]
    if cal.status != "skip" and "table" in cal.details:
        figs.append(
            plot.plot_reliability(
                cal.details["table"],
                os.path.join(outdir, "reliability.png"),
                title="reliability: scores clipped to [0, 1]" if one_hot_model else "reliability",
            )
        )
    if source.n_features == 1 and not one_hot_model:
        X, y = source.read_all()
        figs.append(
            plot.plot_fit(
                X[:, 0],
                np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0],
                os.path.join(outdir, "fit.png"),
                model=_FirstOutput(model),
            )
        )
    history = getattr(model, "loss_history_", None)
    if history is not None:
        try:
            figs.append(plot.plot_loss_curve(history, os.path.join(outdir, "loss_curve.png")))
        except ValueError:
            pass
    return figs


class _FirstOutput:
    """Predictions of the first output only (for the fit figure)."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        p = np.asarray(self.model.predict(X))
        return p if p.ndim == 1 else p[:, 0]


def _column(source, j, chunk_rows):
    out = np.empty(source.n_rows)
    from ..io.fold import chunks

    for r0, Xc, _, _ in chunks(source, chunk_rows):
        out[r0 : r0 + Xc.shape[0]] = Xc[:, j]
    return out


def main(argv=None):
    """``python -m fastlin.edges.report ...``: the report command on its own (same arguments)."""
    import argparse

    from ..io import DataSourceError
    from .persistence import FileFormatError

    parser = argparse.ArgumentParser(prog="fastlin")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_report_parser(sub)
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != "report":
        argv = ["report"] + argv
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except (DataSourceError, FileFormatError, FileNotFoundError, ValueError) as exc:
        print(
            f"fastlin: error: {' '.join(str(exc).split()) or type(exc).__name__}", file=sys.stderr
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
