"""The ``fastlin`` command line: ``demo``, ``fit``, ``evaluate``, ``predict``, ``report``.

Every command streams its input in chunks (constant memory). Bad input files end the
command with exit status 2 and one line on stderr naming the file and the problem; output
paths and label files are checked before the pass over the data starts.
"""

import argparse
import copy
import functools
import json
import math
import os
import resource
import secrets
import sys
import tempfile
import time

import numpy as np

from ..core.accumulator import Mapped
from ..core.moments import CoMoments
from ..io.fold import chunks, fold

DEFAULT_CHUNK_ROWS = 8192


def main(argv=None):
    """Entry point of the ``fastlin`` console script and ``python -m fastlin``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    from ..io import DataSourceError
    from .persistence import FileFormatError

    try:
        return args.run(args) or 0
    except (DataSourceError, FileFormatError, FileNotFoundError, ValueError) as exc:
        print(f"fastlin: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastlin: interrupted", file=sys.stderr)
        return 130


def _parser():
    p = argparse.ArgumentParser(
        prog="fastlin",
        description="Exact one-pass linear models on data streamed from disk.",
        allow_abbrev=False,
    )
    from .. import __version__

    p.add_argument("--version", action="version", version=f"fastlin {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="fit one-hot least squares out of core on built-in digit data",
        description="Generate MNIST-sized synthetic digits (28 x 28 uint8) as IDX files in a "
        "temporary directory, stream an out-of-core least-squares fit on one-hot labels, "
        "and print rows, features, fit time, rows/s, train and test accuracy and peak memory.",
    )
    demo.add_argument("--n-train", type=int, default=60000, help="training rows (default 60000)")
    demo.add_argument("--n-test", type=int, default=10000, help="test rows (default 10000)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    demo.add_argument(
        "--data-dir", help="write (and keep) the IDX files here instead of a temporary directory"
    )
    _add_model_args(demo)
    demo.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)

    fit = sub.add_parser(
        "fit",
        help="fit a model on an IDX, .npy, Parquet, Arrow or CSV file and save it",
        allow_abbrev=False,
        description="Stream X (IDX, raw or gzip, or .npy, with --labels; or a Parquet file or "
        "directory, an Arrow/Feather file or a CSV file, with --target COLUMN) in chunks, fit "
        "least squares or ridge in one pass, and save the model as .npz. Integer class "
        "labels are one-hot encoded (one output per class; predictions take the argmax) "
        "unless --encoding raw is given. Give --n-classes: without it the number of "
        "classes is inferred from the largest label (with a warning), so one corrupt "
        "label byte adds classes to the model.",
    )
    add_data_args(fit)
    _add_model_args(fit)
    fit.add_argument(
        "--encoding",
        choices=["one-hot", "raw"],
        default="one-hot",
        help="one-hot: integer class labels, one output per class (default); "
        "raw: regress on the values as given",
    )
    fit.add_argument(
        "--n-classes",
        type=_positive_int,
        metavar="N",
        help="one-hot: labels must lie in 0..N-1; a label outside is refused "
        "with its file and byte offset (default: inferred from the labels, "
        "with a warning)",
    )
    fit.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    fit.add_argument(
        "--checkpoint",
        help="save the statistics here during the pass and "
        "resume from it if it exists (it must come from the same data and "
        "options); deleted when the pass completes",
    )
    fit.add_argument("--output", "-o", required=True, help="model file to write (.npz)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(run=_fit)

    ev = sub.add_parser(
        "evaluate",
        help="score a saved model on labelled data",
        allow_abbrev=False,
        description="Accuracy for one-hot (classification) models; R² and RMSE for raw "
        "targets. Streams the data in chunks.",
    )
    ev.add_argument("--model", "-m", required=True, help="model file written by 'fastlin fit'")
    add_data_args(ev)
    ev.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    ev.add_argument(
        "--json",
        action="store_true",
        help="print the scores as one JSON object: "
        "rows and accuracy (a fraction in [0, 1]), or rows, r2 and rmse",
    )
    ev.set_defaults(run=_evaluate)

    pr = sub.add_parser(
        "predict",
        help="write predictions of a saved model (.npy, .parquet or .csv)",
        allow_abbrev=False,
        description="Predicted class labels (one-hot models) or predicted values (raw "
        "targets) for every row, written chunk by chunk; the format follows the output's "
        "suffix: .npy, .parquet or .csv.",
    )
    pr.add_argument("--model", "-m", required=True)
    add_data_args(pr, labels=False)
    pr.add_argument("--output", "-o", required=True, help=".npy, .parquet or .csv file to write")
    pr.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    pr.set_defaults(run=_predict)

    from .report import add_report_parser

    add_report_parser(sub)
    return p


def add_data_args(p, labels=True, prefix=""):
    """``--data`` (alias ``--images``/``-X``), ``--labels``/``-y`` for IDX and .npy data,
    ``--target`` and ``--features`` for tables."""
    flag = f"--{prefix}" if prefix else "--"
    short = [] if prefix else ["--images", "-X"]
    p.add_argument(
        f"{flag}data",
        *short,
        dest=f"{prefix.replace('-', '_')}data",
        required=not prefix,
        help="features: IDX, .npy, Parquet (file or directory), Arrow/Feather or CSV",
    )
    if labels:
        p.add_argument(
            f"{flag}labels",
            *([] if prefix else ["-y"]),
            dest=f"{prefix.replace('-', '_')}labels",
            help="labels/targets of IDX or .npy data: IDX or .npy file",
        )
    if not prefix:
        p.add_argument(
            "--dataset",
            help="HDF5 (.h5) or Zarr (.zarr): the array of features; "
            "--labels then names the array of targets in the same file",
        )
        p.add_argument("--target", help="tables: the target column")
        p.add_argument(
            "--features",
            help="tables: feature columns, comma-separated, in "
            "order (default: every column but the target)",
        )


def open_data(args, prefix="", n_classes=None, labels=True):
    """The chunk source named by the arguments of :func:`add_data_args`."""
    from ..io import open_source

    key = prefix.replace("-", "_")
    data = getattr(args, f"{key}data")
    target = getattr(args, "target", None) if labels else None
    features = getattr(args, "features", None)
    if isinstance(features, str):
        features = [c.strip() for c in features.split(",") if c.strip()]
    label_file = getattr(args, f"{key}labels", None) if labels else None
    if target is None and features is None:
        if labels and label_file is None and _needs_labels(data):
            raise ValueError(
                f"{data}: give --{prefix}labels (IDX or .npy data) or --target COLUMN (tables)"
            )
        # HDF5 and Zarr name an array inside --data with --labels, not a file.
        if (
            label_file is not None
            and getattr(args, "dataset", None) is None
            and not os.path.exists(label_file)
        ):
            raise FileNotFoundError(f"--{prefix}labels {label_file}: no such file")
        return open_source(
            data, labels=label_file, dataset=getattr(args, "dataset", None), n_classes=n_classes
        )
    if label_file is not None:
        raise ValueError(
            "--labels goes with IDX or .npy data; a table names its target column with --target"
        )
    return open_source(data, target=target, features=features, n_classes=n_classes)


def _needs_labels(data):
    from ..io.tabular import tabular_format

    return not (os.path.exists(data) and tabular_format(data) is not None)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_model_args(p):
    p.add_argument(
        "--model",
        choices=["linear", "ridge"],
        default="linear",
        help="least squares (linear, default) or ridge",
    )
    p.add_argument("--alpha", type=float, default=1.0, help="ridge penalty (default 1.0)")


def _make_model(args):
    from ..estimators.linear_model import LinearRegression, Ridge

    if args.model == "ridge":
        return Ridge(alpha=args.alpha)
    return LinearRegression()


# -- commands ---------------------------------------------------------------------------


def _demo(args):
    from ..io.datasets import make_synthetic_digits

    rss0 = _rss_mb()
    with tempfile.TemporaryDirectory(prefix="fastlin-demo-") as tmp:
        directory = args.data_dir or tmp
        t0 = time.perf_counter()
        data = make_synthetic_digits(
            directory, n_train=args.n_train, n_test=args.n_test, seed=args.seed
        )
        gen_s = time.perf_counter() - t0
        model, fit_s, notes = _fit_source(
            _make_model(args), data.train, args.chunk_rows, "one-hot", 10, None, not args.quiet
        )
        train_acc = _accuracy(model, data.train, args.chunk_rows)
        test_acc = _accuracy(model, data.test, args.chunk_rows) if args.n_test else float("nan")
    rows = [
        (
            "data",
            f"synthetic digits, {args.n_train} train + {args.n_test} test IDX files "
            f"(generated in {gen_s:.2f} s)",
        ),
        ("model", _describe(model)),
        ("rows", f"{data.train.n_rows}"),
        ("features", f"{data.train.n_features}"),
        ("fit time", f"{fit_s:.3f} s (one pass, chunks of {args.chunk_rows} rows)"),
        ("rows/s", f"{data.train.n_rows / fit_s:,.0f}"),
        ("train accuracy", f"{100 * train_acc:.2f} %"),
        ("test accuracy", f"{100 * test_acc:.2f} %"),
        (
            "peak memory",
            f"{_peak_mb():.0f} MB resident (+{_peak_mb() - rss0:.0f} MB over the process at start)",
        ),
    ]
    _print_table(rows + notes)


def _fit(args):
    _check_output(args.output, inputs=(args.data, args.labels, args.checkpoint))
    if args.checkpoint is not None:
        _check_output(args.checkpoint, inputs=(args.data, args.labels), flag="--checkpoint")
        if os.path.abspath(args.checkpoint) == os.path.abspath(args.output):
            raise ValueError(f"{args.output}: --checkpoint and --output must be different files")
    if args.n_classes is not None and args.encoding != "one-hot":
        raise ValueError("--n-classes goes with --encoding one-hot")
    n_classes = args.n_classes if args.encoding == "one-hot" else None
    source = open_data(args, n_classes=n_classes)
    if not source.has_targets:
        raise ValueError(f"{args.data}: no targets; give --target COLUMN")
    if args.encoding == "one-hot" and n_classes is None:
        n_classes = _infer_n_classes(source, args.labels or args.target or args.data)
        source = open_data(args, n_classes=n_classes)
    model, fit_s, notes = _fit_source(
        _make_model(args),
        source,
        args.chunk_rows,
        args.encoding,
        n_classes,
        args.checkpoint,
        not args.quiet,
    )
    meta = {
        "targets": args.encoding,
        "n_classes": n_classes,
        "trained_on": os.path.abspath(args.data),
    }
    model.save(args.output, metadata=meta)
    _print_table(
        [
            ("model", _describe(model)),
            ("rows", f"{source.n_rows}"),
            ("features", f"{source.n_features}"),
            ("fit time", f"{fit_s:.3f} s"),
            ("rows/s", f"{source.n_rows / fit_s:,.0f}"),
            ("saved", args.output),
        ]
        + notes
    )


def _evaluate(args):
    from .model_files import load

    model = load(args.model)
    meta = getattr(model, "metadata_", {})
    _default_features(args, model)
    model = _by_position(model)
    if meta.get("targets") == "one-hot":
        source = open_data(args, n_classes=meta["n_classes"])
        _check_features(model, source, args.data)
        acc = _accuracy(model, source, args.chunk_rows)
        if args.json:
            print(json.dumps({"rows": source.n_rows, "accuracy": _finite(acc)}))
        else:
            _print_table([("rows", f"{source.n_rows}"), ("accuracy", f"{100 * acc:.2f} %")])
    else:
        source = open_data(args)
        _check_features(model, source, args.data)
        r2, rmse = _regression_scores(model, source, args.chunk_rows)
        if args.json:
            print(json.dumps({"rows": source.n_rows, "r2": _finite(r2), "rmse": _finite(rmse)}))
        else:
            _print_table(
                [("rows", f"{source.n_rows}"), ("R²", f"{r2:.6f}"), ("RMSE", f"{rmse:.6g}")]
            )


def _finite(x):
    """JSON has no NaN: an undefined score (e.g. R² of constant targets) is null."""
    return float(x) if math.isfinite(x) else None


def _predict(args):
    from .model_files import load

    model = load(args.model)
    out_path = args.output
    _check_output(out_path, inputs=(args.data, args.model))
    fmt = _output_format(out_path)
    _default_features(args, model)
    model = _by_position(model)
    source = open_data(args, labels=False)
    _check_features(model, source, args.data)
    one_hot = getattr(model, "metadata_", {}).get("targets") == "one-hot"
    n_out = 1 if np.ndim(model.coef_) == 1 else model.coef_.shape[0]
    shape = (source.n_rows,) if (one_hot or n_out == 1) else (source.n_rows, n_out)
    dtype = np.int64 if one_hot else model.coef_.dtype
    writer = _PredictionWriter(out_path, fmt, dtype, shape)
    try:
        for _, X, _, _ in chunks(source, args.chunk_rows):
            pred = model.predict(X)
            writer.write(np.argmax(pred, axis=1) if one_hot else pred)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    _print_table([("rows", f"{source.n_rows}"), ("written", out_path)])


def _output_format(path):
    name = str(path).lower()
    for suffix, fmt in ((".npy", "npy"), (".parquet", "parquet"), (".csv", "csv")):
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"{path}: the output must end in .npy, .parquet or .csv")


class _PredictionWriter:
    """Predictions chunk by chunk into .npy (a memory map), Parquet or CSV, written to a
    temporary name and renamed into place only when complete."""

    def __init__(self, path, fmt, dtype, shape):
        self.path = path
        self.fmt = fmt
        self.tmp = _create_temporary(path)
        self.row = 0
        self.names = (
            ["prediction"] if len(shape) == 1 else [f"prediction_{j}" for j in range(shape[1])]
        )
        self._writer = None
        if fmt == "npy":
            self._out = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=dtype, shape=shape)

    def write(self, pred):
        pred = np.asarray(pred)
        if self.fmt == "npy":
            self._out[self.row : self.row + pred.shape[0]] = pred
        else:
            import pyarrow as pa

            cols = [pred] if pred.ndim == 1 else [pred[:, j] for j in range(pred.shape[1])]
            batch = pa.record_batch(cols, names=self.names)
            if self._writer is None:
                if self.fmt == "parquet":
                    import pyarrow.parquet as pq

                    self._writer = pq.ParquetWriter(self.tmp, batch.schema)
                else:
                    import pyarrow.csv as pacsv

                    self._writer = pacsv.CSVWriter(self.tmp, batch.schema)
            self._writer.write_batch(batch)
        self.row += pred.shape[0]

    def close(self):
        if self.fmt == "npy":
            self._out.flush()
            del self._out
        elif self._writer is not None:
            self._writer.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        try:
            if self.fmt != "npy" and self._writer is not None:
                self._writer.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


def _create_temporary(path):
    """An empty new file next to ``path``, created with mode 0o666 so that the umask
    applies as it does to ``open()`` (``tempfile.mkstemp`` would force 0o600)."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(
            directory,
            f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}{os.path.splitext(path)[1]}",
        )
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"{directory}: could not create a temporary file for {path}")


def _check_output(path, inputs=(), flag="--output"):
    """Refuse, before any work, an output that cannot be written or would replace an input."""
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; {flag} names the file to write")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        raise ValueError(f"{path}: the directory {parent} does not exist")
    if not os.path.isdir(parent):
        raise ValueError(f"{path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: no permission to write in {parent}")
    if os.path.exists(path):
        for other in inputs:
            if other is not None and os.path.exists(other) and os.path.samefile(path, other):
                raise ValueError(f"{path}: {flag} is the input file {other}; it would be replaced")


def _default_features(args, model):
    """Tables: the model's own feature columns, in its order, unless --features is given."""
    names = getattr(model, "feature_names_in_", None)
    if args.features is None and names is not None and not _needs_labels(args.data):
        args.features = [str(n) for n in names]


# -- helpers ----------------------------------------------------------------------------


def _fit_source(model, source, chunk_rows, targets, n_classes, checkpoint, verbose):
    from .._numba import kernels_compiled
    from .._warnings import collected
    from ..io.datasets import one_hot
    from ..core.solve import RankDeficientWarning

    transform = None
    if targets == "one-hot":
        # A partial, not a closure: a checkpoint records it as one_hot(n_classes=N).
        transform = functools.partial(one_hot, n_classes=n_classes)
    notes = []
    compiled0 = kernels_compiled()
    with collected(RankDeficientWarning) as rank_notes:
        t0 = time.perf_counter()
        model.fit(
            source,
            chunk_rows=chunk_rows,
            target_transform=transform,
            checkpoint=checkpoint,
            verbose=verbose,
        )
        fit_s = time.perf_counter() - t0
    compiled = kernels_compiled() - compiled0
    if compiled:
        notes.append(
            (
                "compiled",
                f"{compiled} kernel specialisations on this first run: the "
                "fit time, rows/s and memory include compiling them (cached "
                "on disk; later runs load them)",
            )
        )
    notes += [("note", message) for message in rank_notes]
    return model, fit_s, notes


def _infer_n_classes(source, name):
    """``max(label) + 1``, with a warning on stderr that says so, and a louder one when
    label values in between never occur (what one corrupt label byte looks like)."""
    y = source.targets()
    if y is None or y.ndim != 1 or y.dtype.kind not in "ui":
        raise ValueError(
            "one-hot targets need 1-D integer class labels; use --encoding raw "
            "for real-valued targets"
        )
    if y.size == 0:
        raise ValueError(f"{name}: no labels")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0:
        # Opening with this count refuses the negative label with its row and offset.
        return max(hi + 1, 1)
    n_classes = hi + 1
    _warn(
        f"inferred {n_classes} classes from the labels ({lo}..{hi}) of {name}; pass "
        "--n-classes to fix it"
    )
    values, counts = np.unique(np.asarray(y), return_counts=True)
    missing = n_classes - values.size
    if missing:
        absent = (
            np.setdiff1d(np.arange(n_classes), values, assume_unique=True)
            if n_classes <= 1 << 24
            else None
        )
        which = "" if absent is None else f" ({_ranges(absent)})"
        top = int(counts[-1])
        _warn(
            f"{missing} of the {n_classes} label values 0..{hi} never occur{which}, and "
            f"the largest label {hi} is in {top} row{'s' if top != 1 else ''}: a corrupt "
            f"label file? The model gets {n_classes} outputs; pass --n-classes N to "
            "refuse labels >= N"
        )
    return n_classes


def _ranges(values, limit=4):
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1..3, 7, 9..10"`` (the first ``limit`` runs)."""
    runs = []
    start = prev = int(values[0])
    for v in values[1:]:
        v = int(v)
        if v != prev + 1:
            runs.append((start, prev))
            start = v
        prev = v
    runs.append((start, prev))
    text = ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs[:limit])
    return text + (f", ... ({len(runs) - limit} more runs)" if len(runs) > limit else "")


def _warn(message):
    print(f"fastlin: warning: {message}", file=sys.stderr)


def _accuracy(model, source, chunk_rows):
    """Share of rows whose largest score is at their label: the mean of a 0/1 column
    (CoMoments' mean; plain NumPy, so a first run compiles nothing for it)."""

    def hits(X, y):
        hit = (np.argmax(model.predict(X), axis=1) == y).astype(np.float64)
        return hit[:, None], hit

    state = fold(source, Mapped(CoMoments(), hits), chunk_rows=chunk_rows)
    return float(state.state.x_mean[0])


def _regression_scores(model, source, chunk_rows):
    """(R², RMSE) over every target value, pooled: co-moments of the residuals with the
    targets give the residual sum of squares and the targets' centred one."""

    def residuals(X, y):
        y = np.asarray(y, dtype=np.float64)
        pred = np.asarray(model.predict(X), dtype=np.float64).reshape(y.shape)
        return (y - pred).reshape(-1, 1), y.reshape(-1, 1)

    m = fold(source, Mapped(CoMoments(), residuals), chunk_rows=chunk_rows).state
    n = m.sum_w
    sse = float(m.x_m2[0] + n * m.x_mean[0] ** 2)
    tss = float(m.y_m2[0])
    return 1 - sse / tss if tss > 0 else float("nan"), (sse / n) ** 0.5


def _check_features(model, source, path):
    if source.n_features != model.n_features_in_:
        raise ValueError(
            f"{path}: rows have {source.n_features} features, but the model was "
            f"fitted with {model.n_features_in_}"
        )


def _by_position(model):
    """The model as the commands call it: a shallow copy without ``feature_names_in_``.

    The commands read chunks as arrays already in the model's columns (chosen by name
    for tables, see :func:`_default_features`), so scikit-learn's warning that arrays
    carry no names would say nothing. A copy rather than a warnings filter: filters are
    process-wide state.
    """
    if not hasattr(model, "feature_names_in_"):
        return model
    positional = copy.copy(model)
    del positional.feature_names_in_
    return positional


def _describe(model):
    name = type(model).__name__
    if name == "Ridge":
        name += f"(alpha={model.alpha:g})"
    return f"{name}, solver {model.solver_}, rank {model.rank_}"


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_table(rows):
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
