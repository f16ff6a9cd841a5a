"""Leverage and Cook's distance of MNIST-sized data: time and peak memory, one run.

Data: 60000 x 784 uint8 (real MNIST test images stacked and shifted, or synthetic digits
without the files; see scripts/_data.py) with 10 one-hot float64 targets. The model is
the least-squares fit of those rows.

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

Usage: python scripts/bench_diagnostics.py [--rows 60000] [--repeat 5] [--threads 2]
"""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prepare(n_rows):
    """(X uint8, Y float64 one-hot, description)."""
    from _data import mnist_sized

    X, y, what = mnist_sized(n_rows)
    return X, np.eye(10)[y], what


def gram(X, Y):
    from fastlin.stats import GramStats

    return GramStats().update(X, Y)


def model_of(stats):
    from fastlin.solve import RankDeficientWarning, solve_gram

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        sol = solve_gram(stats)

    class M:
        coef_ = sol.coef
        intercept_ = sol.intercept
        fit_intercept = True
        alpha = 0.0
    return M()


def ours(X, Y, stats, model):
    from fastlin import diagnostics

    return diagnostics.influence(X, Y, model=model, stats=stats)


def numpy_reference(X, Y, stats, model):
    """Leverage, residuals and Cook's distance with a float64 copy of X and SciPy."""
    from scipy.linalg import solve_triangular

    from fastlin import diagnostics

    f = diagnostics.hat_factor(stats)
    Xf = X.astype(np.float64)
    Z = (Xf[:, f.cols] - f.mean) * f.scale
    Z = solve_triangular(f.L, Z.T, lower=True, check_finite=False)
    h = (Z * Z).sum(axis=0) + f.inv_sum_w
    del Z
    R = Y - Xf @ model.coef_.T - model.intercept_
    p = f.n_params
    s2 = (R * R).sum(axis=0) / (X.shape[0] - p)
    cooks = R ** 2 * h[:, None] / (p * s2 * (1 - h[:, None]) ** 2)
    return h, R, cooks


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _status_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak():
    """Reset the kernel's peak-RSS mark (Linux); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _child(method, n_rows, threads):
    """Peak memory growth of one method (run in a fresh process)."""
    import fastlin

    with fastlin.threads(threads):
        X, Y, _ = prepare(n_rows)
        small = (X[:500].copy(), Y[:500].copy())
        s_small = gram(*small)
        m_small = model_of(s_small)
        ours(*small, s_small, m_small)  # load the compiled kernels
        stats = gram(X, Y)
        model = model_of(stats)
        if not _reset_peak():
            print(json.dumps({"peak_growth_mb": float("nan")}))
            return
        base = _status_mb("VmRSS")
        if method == "gram":
            gram(X, Y)
        elif method == "ours":
            ours(X, Y, stats, model)
        else:
            numpy_reference(X, Y, stats, model)
        print(json.dumps({"peak_growth_mb": _status_mb("VmHWM") - base}))


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

    X, Y, what = prepare(args.rows)
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
        t_gram = _median_time(lambda: gram(X, Y), args.repeat)
        from fastlin import diagnostics
        t_factor = _median_time(lambda: diagnostics.hat_factor(stats), args.repeat)
        t_ours = _median_time(lambda: ours(X, Y, stats, model), args.repeat)
        t_np = _median_time(lambda: numpy_reference(X, Y, stats, model), args.repeat)
    peaks = {}
    for method in ("gram", "ours", "numpy"):
        out = subprocess.run([sys.executable, __file__, "--child", method, "--rows",
                              str(args.rows), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True)
        peaks[method] = json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_mb"]
    f = inf.factor
    print(f"columns used {f.rank} of {X.shape[1]} ({f.route}); leverage sums to "
          f"{inf.leverage.sum():.6f} (rank + 1 = {f.rank + 1})")
    print(f"agreement with NumPy/SciPy: leverage max rel. diff {err_h:.2e}, Cook's distance "
          f"{err_c:.2e} (rows of leverage < 0.99: {int(ok[:, 0].sum())} of {len(h)})")
    print()
    rows = [("gram pass (fit statistics)", t_gram, peaks["gram"]),
            ("fastlin influence (factor + pass)", t_ours, peaks["ours"]),
            ("  of which hat_factor", t_factor, float("nan")),
            ("NumPy/SciPy float64 copy + trsm", t_np, peaks["numpy"])]
    print(f"{'method':<36s} {'time s':>8s} {'/ gram':>8s} {'/ ours':>8s} {'peak +MB':>9s}")
    for name, t, mb in rows:
        print(f"{name:<36s} {t:>8.3f} {t / t_gram:>8.2f} {t / t_ours:>8.2f} "
              + (f"{mb:>9.0f}" if np.isfinite(mb) else f"{'':>9s}"))
    n = X.shape[0]
    print()
    print(f"outputs alone (leverage n, residuals, Cook's distance and studentised residuals "
          f"n x 10, float64): {(n + 3 * n * 10) * 8 / 2**20:.0f} MB; a float64 copy of X: "
          f"{n * X.shape[1] * 8 / 2**20:.0f} MB; the n x n hat matrix: {n * n * 8 / 2**30:.1f} GB")


if __name__ == "__main__":
    main()
