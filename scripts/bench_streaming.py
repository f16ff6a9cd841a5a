"""Out-of-core fits: peak memory at 60 000 and 600 000 rows, and the cost of streaming.

For each n, a child process (so that peak resident memory is its own):

1. imports fastlin and records its resident set size (RSS);
2. warms up: a tiny streaming fit, which loads the compiled kernels from Numba's cache
   (RSS recorded again);
3. streams a one-hot least-squares fit from an MNIST-named raw IDX file of n synthetic
   digits (written once, chunk by chunk, before; read back from the page cache);
4. reports its peak RSS (``ru_maxrss``) over both baselines.

Then, in one process, the ratio of streaming-from-disk fit time to the in-memory
``fit`` on the same rows (60 000 x 784).

Usage: python -m scripts.bench_streaming [--sizes 60000 600000] [--dir DIR]
                                         [--chunk-rows 8192] [--repeat 3]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.cases.timing import median_time


def child_script():
    return r"""
import json, os, resource, sys, time, warnings
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
import fastlin
after_import = rss()
from fastlin import load_mnist, one_hot, synthetic_digits
from fastlin import io as fio
warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
d, chunk_rows = sys.argv[1], int(sys.argv[2])
tr = lambda y: one_hot(y, 10)
Xs, ys = synthetic_digits(2 * chunk_rows, seed=1)
fastlin.LinearRegression().fit(fio.from_arrays(Xs, ys), chunk_rows=chunk_rows,
                                      target_transform=tr)
del Xs, ys
after_warmup = rss()
train = load_mnist(d, subset="train").train
t0 = time.perf_counter()
m = fastlin.LinearRegression().fit(train, chunk_rows=chunk_rows, target_transform=tr)
fit_s = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"after_import": after_import, "after_warmup": after_warmup, "peak": peak,
                  "fit_s": fit_s, "rows": train.n_rows}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[60000, 600000])
    ap.add_argument("--chunk-rows", type=int, default=8192)
    ap.add_argument("--dir", help="where to write the IDX files (default: a temporary directory)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import fastlin
    from fastlin import load_mnist, make_synthetic_digits, one_hot

    base = args.dir or tempfile.mkdtemp(prefix="fastlin-bench-")
    results = {}
    for n in args.sizes:
        d = os.path.join(base, f"n{n}")
        if not os.path.exists(os.path.join(d, "train-images-idx3-ubyte")):
            t = time.perf_counter()
            make_synthetic_digits(d, n_train=n, n_test=0)
            print(f"wrote {n} synthetic digits to {d} in {time.perf_counter() - t:.1f} s")
        # Page cache warm: read the file once.
        with open(os.path.join(d, "train-images-idx3-ubyte"), "rb") as fh:
            while fh.read(1 << 24):
                pass
        out = subprocess.run(
            [sys.executable, "-c", child_script(), d, str(args.chunk_rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[n] = json.loads(out.stdout.strip().splitlines()[-1])

    print(
        f"\n{'rows':>8} {'RSS import MB':>14} {'RSS warm MB':>12} {'peak MB':>8} "
        f"{'peak-import':>12} {'peak-warm':>10} {'fit s':>7}"
    )
    for n, r in results.items():
        print(
            f"{n:>8} {r['after_import']:>14.1f} {r['after_warmup']:>12.1f} {r['peak']:>8.1f} "
            f"{r['peak'] - r['after_import']:>12.1f} {r['peak'] - r['after_warmup']:>10.1f} "
            f"{r['fit_s']:>7.2f}"
        )
    if len(results) >= 2:
        a, b = (results[n] for n in args.sizes[:2])
        print(
            f"peak growth difference {args.sizes[1]} vs {args.sizes[0]} rows: "
            f"{(b['peak'] - b['after_import']) - (a['peak'] - a['after_import']):+.1f} MB"
        )

    # Streaming from the raw IDX file (page cache) vs in-memory fit, same rows, one process.
    import warnings

    warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
    d = os.path.join(base, f"n{args.sizes[0]}")
    src = load_mnist(d, subset="train").train
    X, y = src.read_all()
    Y = one_hot(y, 10)

    def stream():
        fastlin.LinearRegression().fit(
            src, chunk_rows=args.chunk_rows, target_transform=lambda yc: one_hot(yc, 10)
        )

    def memory():
        fastlin.LinearRegression().fit(X, Y)

    times = {
        name: median_time(fn, args.repeat, warmup=True)
        for name, fn in (("stream", stream), ("memory", memory))
    }
    print(
        f"\nstreaming from raw IDX (page cache) {times['stream']:.3f} s, in-memory fit "
        f"{times['memory']:.3f} s: ratio {times['stream'] / times['memory']:.2f} (bar: <= 1.5)"
    )


if __name__ == "__main__":
    main()
