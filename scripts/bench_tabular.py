"""Streaming Parquet, Arrow and CSV sources against reading the whole table, in one run.

Data: the real MNIST test set stacked without shifts (uint8 pixels as 784 uint8 columns
plus a label column; ``benchmarks.cases.data.mnist_stacked``), written as Parquet (row
groups of 10000 rows), Arrow IPC and CSV in a temporary directory. For each format:

* streamed: ``LinearRegression().fit(fastlin.open_source(path, target="label"))``
* whole:    pyarrow reads the whole table, converts it to one (n, 784) uint8 array
            (``RecordBatch.to_tensor``), and ``LinearRegression().fit`` fits it in memory

and the ratio streamed / whole (the bar: at most 1.3). Peak memory: the growth of the
resident set (VmHWM, restarted after a warm-up fit on another file) during a streamed
Parquet fit at 1x and 10x the rows, each in a fresh process (the bar: at most 8 MB more
at 10x).

    python -m scripts.bench_tabular [--rows 60000] [--repeat 3] [--quick]
"""

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from benchmarks.cases.data import mnist_stacked
from benchmarks.cases.memory import child_json, reset_peak, status_kb
from benchmarks.cases.timing import best_time


def _write(folder, X, y, formats):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    cols = {f"p{j}": X[:, j] for j in range(X.shape[1])}
    cols["label"] = y.astype(np.int64)
    table = pa.table(cols)
    paths = {}
    if "parquet" in formats:
        paths["parquet"] = folder / "data.parquet"
        pq.write_table(table, paths["parquet"], row_group_size=10000)
    if "arrow" in formats:
        paths["arrow"] = folder / "data.arrow"
        feather.write_feather(table, paths["arrow"], chunksize=10000, compression="uncompressed")
    if "csv" in formats:
        paths["csv"] = folder / "data.csv"
        pacsv.write_csv(table, paths["csv"])
    return paths


def _read_whole(path, fmt):
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = {"parquet": pq.read_table, "arrow": feather.read_table, "csv": pacsv.read_csv}[fmt](
        path
    )
    names = [c for c in table.column_names if c != "label"]
    # Arrow's own row-major conversion: faster than stacking the columns with NumPy.
    X = np.vstack([np.asarray(b.to_tensor()) for b in table.select(names).to_batches()])
    if X.dtype != np.uint8 and fmt == "csv":
        X = X.astype(np.uint8)  # CSV has no dtype; the streamed source reads int64
    return X, table.column("label").to_numpy()


def speed_table(folder, X, y, repeat, formats):
    import fastlin

    paths = _write(folder, X, y, formats)
    print(f"\n{'format':<10} {'streamed s':>11} {'whole s':>9} {'streamed/whole':>15}")
    for fmt, path in paths.items():

        def streamed():
            src = fastlin.open_source(path, target="label")
            return fastlin.LinearRegression().fit(src)

        def whole():
            Xw, yw = _read_whole(path, fmt)
            return fastlin.LinearRegression().fit(Xw, yw)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
            t_s, t_w = best_time(streamed, repeat), best_time(whole, repeat)
        print(f"{fmt:<10} {t_s:>11.3f} {t_w:>9.3f} {t_s / t_w:>15.2f}")


def memory_child(path, warm):
    """Peak RSS of one streamed fit above the RSS before it, after a warm-up fit on
    ``warm`` (imports, compiled kernels and allocator pools are the same for every size;
    ``/proc/self/clear_refs`` restarts the peak)."""
    import fastlin

    def fit(p):
        fastlin.LinearRegression().fit(fastlin.open_source(p, target="label"), chunk_rows=8192)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        fit(warm)
        reset_peak()
        before = status_kb("VmRSS")
        fit(path)
    print(json.dumps({"peak_kb": status_kb("VmHWM") - before}))


def memory_table(folder, X, y):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {f"p{j}": X[:, j] for j in range(X.shape[1])}
    cols["label"] = y.astype(np.int64)
    table = pa.table(cols)
    # The warm-up file is neither measured file: a fit of the same file just before leaves
    # pyarrow's pool holding its buffers, and the measured peak then depends on which.
    warm = folder / "warm.parquet"
    pq.write_table(table.slice(0, min(len(y), 5000)), warm)
    print(
        f"\n{'Parquet rows':<14} {'fit peak MB':>12}  (peak RSS above the RSS before "
        "the fit, after a warm-up fit on another file)"
    )
    peaks = []
    for factor in (1, 10):
        path = folder / f"mem{factor}.parquet"
        with pq.ParquetWriter(path, table.schema) as w:
            for _ in range(factor):
                w.write_table(table, row_group_size=10000)
        r = child_json("scripts.bench_tabular", "--memory-child", path, warm)
        peaks.append(r["peak_kb"] / 1024)
        footer = pq.ParquetFile(path).metadata.serialized_size / 2**20
        print(
            f"{factor * len(y):<14} {peaks[-1]:>12.1f}   ({factor * -(-len(y) // 10000)} row "
            f"groups, footer {footer:.1f} MB serialised)"
        )
    print(f"growth from 1x to 10x rows: {peaks[1] - peaks[0]:.1f} MB (bar: 8 MB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10000 rows, Parquet only")
    ap.add_argument("--memory-child", nargs=2, metavar=("PATH", "WARM"))
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    rows = 10000 if args.quick else args.rows
    X, y, what = mnist_stacked(rows)
    print(f"data: {what}")
    formats = ("parquet",) if args.quick else ("parquet", "arrow", "csv")
    with tempfile.TemporaryDirectory(prefix="fastlin-bench-tabular-") as tmp:
        folder = Path(tmp)
        speed_table(folder, X, y, args.repeat, formats)
        memory_table(folder, X[: min(rows, 20000)], y[: min(rows, 20000)])


if __name__ == "__main__":
    main()
