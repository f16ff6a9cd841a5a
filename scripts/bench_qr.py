"""Time fastlin's QR/TSQR least squares against LAPACK in one run and print ratios.

    python -m scripts.bench_qr [--sizes 100000x64,20000x256] [--repeat 5] [--threads N]
                               [--no-householder]

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

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.cases.qr import (
    householder,
    kernel_fold,
    make_problem,
    numpy_lstsq,
    numpy_qr_r,
    scipy_qr_r,
    tsqr_fit,
)
from benchmarks.cases.timing import best_wall_cpu
from fastlin._threads import n_threads, threads


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000x64,20000x256")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--no-householder",
        action="store_true",
        help="skip the dense unblocked kernel (slow on tall matrices)",
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    nt = args.threads or n_threads()
    print(f"threads: {nt}   repeat: best of {args.repeat}")
    header = (
        f"{'size':>12} {'method':>18} {'wall s':>9} {'cpu s':>9} {'GFLOP/s':>8} "
        f"{'ratio vs tsqr fit':>18}"
    )
    print(header)
    print("-" * len(header))
    with threads(nt):
        for spec in args.sizes.split(","):
            n, d = (int(v) for v in spec.lower().split("x"))
            X, y = make_problem(rng, n, d)
            Y = y[:, None].copy()
            flops = 2.0 * n * d * d - 2.0 / 3.0 * d**3
            rows = []
            ours = best_wall_cpu(lambda: tsqr_fit(X, y), args.repeat)
            rows.append(("tsqr fit", ours))
            rows.append(("tsqr kernel", best_wall_cpu(lambda: kernel_fold(X, Y), args.repeat)))
            if not args.no_householder:
                rows.append(
                    (
                        "householder",
                        best_wall_cpu(lambda: householder(X, Y), max(1, args.repeat // 2)),
                    )
                )
            lapack = [
                ("scipy qr r", lambda: scipy_qr_r(X)),
                ("numpy qr r", lambda: numpy_qr_r(X)),
                ("lstsq", lambda: numpy_lstsq(X, y)),
            ]
            for name, fn in lapack:
                rows.append((name, best_wall_cpu(fn, args.repeat)))
            with threadpool_limits(limits=1):
                for name, fn in lapack:
                    rows.append((name + " 1thr", best_wall_cpu(fn, args.repeat)))
            for name, (wall, cpu) in rows:
                print(
                    f"{spec:>12} {name:>18} {wall:9.4f} {cpu:9.4f} {flops / wall / 1e9:8.1f} "
                    f"{wall / ours[0]:18.2f}"
                )
            print()


if __name__ == "__main__":
    main()
