"""Leverage and Cook's distance of MNIST-sized data: time and peak memory, one run.

Data: 60000 x 784 uint8 (real MNIST test images stacked without shifts, or synthetic digits
without the files; see benchmarks/cases/data.py) with 10 one-hot float64 targets. The
model is the least-squares fit of those rows.

Measured, in one process, median of --repeat runs (compilation excluded):

* gram: ``GramStats.update`` (XᵀX, XᵀY, sums) from uint8, the pass that fits the model;
* fastlin influence: ``hat_factor`` (Cholesky of the centred Gram) plus the streaming
  pass of ``fastlin.kernels.leverage`` giving leverage, residuals and Cook's distance of
  every row (``diagnostics.influence`` with the statistics given);
* NumPy/SciPy: the same numbers the usual way: a float64 centred and scaled copy of X
  (n x k), ``scipy.linalg.solve_triangular`` with the same factor, column sums of squares,
  and residuals from ``Xf @ coef.T``.

Peak memory: each method runs once more in a fresh subprocess; after loading the data and
warming up, the kernel's peak-RSS mark is reset (``/proc/self/clear_refs``) and the figure
is the peak resident set (VmHWM) during the method minus the resident set before it.

Usage: python -m scripts.bench_diagnostics [--rows 60000] [--repeat 5] [--threads 2]
"""

import argparse
import json

import numpy as np

from benchmarks.cases.data import mnist_one_hot
from benchmarks.cases.diagnostics import gram, model_of, numpy_reference, ours
from benchmarks.cases.memory import child_json, reset_peak, status_kb
from benchmarks.cases.timing import median_time


def _child(method, n_rows, threads):
    """Peak memory growth of one method (run in a fresh process)."""
    import fastlin

    with fastlin.threads(threads):
        X, Y, _ = mnist_one_hot(n_rows)
        small = (X[:500].copy(), Y[:500].copy())
        s_small = gram(*small)
        m_small = model_of(s_small)
        ours(*small, s_small, m_small)  # load the compiled kernels
        stats = gram(X, Y)
        model = model_of(stats)
        try:
            reset_peak()
        except OSError:
            print(json.dumps({"peak_growth_mb": float("nan")}))
            return
        base = status_kb("VmRSS")
        if method == "gram":
            gram(X, Y)
        elif method == "ours":
            ours(X, Y, stats, model)
        else:
            numpy_reference(X, Y, stats, model)
        print(json.dumps({"peak_growth_mb": (status_kb("VmHWM") - base) / 1024}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.rows, args.threads)
        return
    import fastlin
    from threadpoolctl import threadpool_limits

    X, Y, what = mnist_one_hot(args.rows)
    print(f"data: {what}; X {X.shape} {X.dtype}, 10 one-hot targets; {args.threads} threads")
    with fastlin.threads(args.threads), threadpool_limits(args.threads):
        stats = gram(X, Y)
        model = model_of(stats)
        inf = ours(X, Y, stats, model)  # compile / load from cache
        h, R, cd = numpy_reference(X, Y, stats, model)
        err_h = float(np.max(np.abs(inf.leverage - h) / np.maximum(h, 1e-300)))
        # Near leverage 1 Cook's distance divides by (1 - h)² ~ 0: compare elsewhere.
        ok = (h < 0.99)[:, None] & np.isfinite(cd) & np.isfinite(inf.cooks_distance)
        err_c = float(np.max(np.abs(inf.cooks_distance[ok] - cd[ok]) / np.maximum(cd[ok], 1e-300)))
        t_gram = median_time(lambda: gram(X, Y), args.repeat)
        from fastlin import diagnostics

        t_factor = median_time(lambda: diagnostics.hat_factor(stats), args.repeat)
        t_ours = median_time(lambda: ours(X, Y, stats, model), args.repeat)
        t_np = median_time(lambda: numpy_reference(X, Y, stats, model), args.repeat)
    peaks = {}
    for method in ("gram", "ours", "numpy"):
        peaks[method] = child_json(
            "scripts.bench_diagnostics",
            "--child",
            method,
            "--rows",
            args.rows,
            "--threads",
            args.threads,
        )["peak_growth_mb"]
    f = inf.factor
    print(
        f"columns used {f.rank} of {X.shape[1]} ({f.route}); leverage sums to "
        f"{inf.leverage.sum():.6f} (rank + 1 = {f.rank + 1})"
    )
    print(
        f"agreement with NumPy/SciPy: leverage max rel. diff {err_h:.2e}, Cook's distance "
        f"{err_c:.2e} (rows of leverage < 0.99: {int(ok[:, 0].sum())} of {len(h)})"
    )
    print()
    rows = [
        ("gram pass (fit statistics)", t_gram, peaks["gram"]),
        ("fastlin influence (factor + pass)", t_ours, peaks["ours"]),
        ("  of which hat_factor", t_factor, float("nan")),
        ("NumPy/SciPy float64 copy + trsm", t_np, peaks["numpy"]),
    ]
    print(f"{'method':<36s} {'time s':>8s} {'/ gram':>8s} {'/ ours':>8s} {'peak +MB':>9s}")
    for name, t, mb in rows:
        print(
            f"{name:<36s} {t:>8.3f} {t / t_gram:>8.2f} {t / t_ours:>8.2f} "
            + (f"{mb:>9.0f}" if np.isfinite(mb) else f"{'':>9s}")
        )
    n = X.shape[0]
    print()
    print(
        f"outputs alone (leverage n, residuals, Cook's distance and studentised residuals "
        f"n x 10, float64): {(n + 3 * n * 10) * 8 / 2**20:.0f} MB; a float64 copy of X: "
        f"{n * X.shape[1] * 8 / 2**20:.0f} MB; the n x n hat matrix: {n * n * 8 / 2**30:.1f} GB"
    )


if __name__ == "__main__":
    main()
