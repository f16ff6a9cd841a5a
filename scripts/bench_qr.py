"""Time fastlin's QR/TSQR least squares against LAPACK in one run and print ratios.

    python scripts/bench_qr.py [--sizes 100000x64,20000x256] [--repeat 5] [--threads N]

For each size it times, best of ``--repeat`` runs after a warm-up (so Numba compilation
is reported apart):

* ``tsqr fit``: ``QRStats().update(X, y).finalize()``: least squares with intercept
  (centring, R, Qᵀy and the triangular solve)
* ``tsqr kernel``: ``qr_fold_rows`` alone (R and Qᵀy of the uncentred rows)
* ``householder``: the dense unblocked in-place kernel (on a copy of X)
* ``scipy qr r``: ``scipy.linalg.qr(X, mode="r")`` (LAPACK dgeqrf, R only)
* ``numpy qr r``: ``numpy.linalg.qr(X, mode="r")``
* ``lstsq``: ``numpy.linalg.lstsq(X, y)`` (LAPACK dgelsd, SVD based)

LAPACK runs with its default BLAS threads and again with one thread (``threadpoolctl``),
since a multi-threaded BLAS suffers most when the machine is busy. The ratio column is
baseline wall time / ours (above 1: ours is faster); ``cpu s`` is the process CPU time
of the same best run. The machine may be shared: rerun when a figure looks off.
"""

import argparse
import os
import sys
import time

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from fastlin._threads import n_threads, row_ranges, threads  # noqa: E402
from fastlin.kernels import qr as kqr  # noqa: E402
from fastlin.tsqr import QRStats  # noqa: E402


def best_of(fn, repeat):
    """(wall, cpu) seconds of the fastest of ``repeat`` runs after one warm-up."""
    fn()  # warm-up: compilation or cache load, page faults
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def kernel_fold(X, Y):
    n, d = X.shape
    t = Y.shape[1]
    bounds = row_ranges(n, n_threads(), kqr.BLOCK)
    P = bounds.shape[0] - 1
    R = np.zeros((P, d, d))
    Z = np.zeros((P, d, t))
    kqr.qr_fold_rows(X, Y, np.empty(0), bounds, False, np.empty((P, d, kqr.BLOCK)),
                     np.empty((P, t, kqr.BLOCK)), R, Z, np.zeros((P, t)), np.empty((P, d)),
                     np.empty((P, t)), np.empty(P))
    return R, Z


def householder(X, Y):
    A = X.copy()
    B = Y.copy()
    kqr.householder_qr(A, B, np.empty(X.shape[1]))
    return A, B


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000x64,20000x256")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-householder", action="store_true",
                    help="skip the dense unblocked kernel (slow on tall matrices)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    nt = args.threads or n_threads()
    print(f"threads: {nt}   repeat: best of {args.repeat}")
    header = (f"{'size':>12} {'method':>18} {'wall s':>9} {'cpu s':>9} {'GFLOP/s':>8} "
              f"{'ratio vs tsqr fit':>18}")
    print(header)
    print("-" * len(header))
    with threads(nt):
        for spec in args.sizes.split(","):
            n, d = (int(v) for v in spec.lower().split("x"))
            X = rng.normal(size=(n, d))
            y = X @ rng.normal(size=d) + rng.normal(size=n)
            Y = y[:, None].copy()
            flops = 2.0 * n * d * d - 2.0 / 3.0 * d ** 3
            rows = []
            ours = best_of(lambda: QRStats().update(X, y).finalize(), args.repeat)
            rows.append(("tsqr fit", ours))
            rows.append(("tsqr kernel", best_of(lambda: kernel_fold(X, Y), args.repeat)))
            if not args.no_householder:
                rows.append(("householder", best_of(lambda: householder(X, Y), max(1, args.repeat // 2))))
            lapack = [
                ("scipy qr r", lambda: scipy.linalg.qr(X, mode="r")),
                ("numpy qr r", lambda: np.linalg.qr(X, mode="r")),
                ("lstsq", lambda: np.linalg.lstsq(X, y, rcond=None)),
            ]
            for name, fn in lapack:
                rows.append((name, best_of(fn, args.repeat)))
            with threadpool_limits(limits=1):
                for name, fn in lapack:
                    rows.append((name + " 1thr", best_of(fn, args.repeat)))
            for name, (wall, cpu) in rows:
                print(f"{spec:>12} {name:>18} {wall:9.4f} {cpu:9.4f} {flops / wall / 1e9:8.1f} "
                      f"{wall / ours[0]:18.2f}")
            print()


if __name__ == "__main__":
    main()
