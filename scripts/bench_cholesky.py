"""Time fastlin's Cholesky kernels against SciPy (LAPACK) in one run and print ratios.

    python -m scripts.bench_cholesky [--sizes 256,784,2048] [--rhs 1,10,d] [--repeat 15]
                                     [--threads 2]

For each d, on a symmetric positive definite matrix (a Gram matrix of 2d random rows plus
a small ridge):

* ``factor``: ``cholesky_inplace`` against ``scipy.linalg.cho_factor(lower=True,
  overwrite_a=True, check_finite=False)`` on a Fortran-ordered copy (so that SciPy copies
  nothing either; copies are made outside the timed region);
* ``solve t=...``: ``cholesky_solve_inplace`` against ``scipy.linalg.cho_solve`` (same
  flags, Fortran-ordered right-hand sides) for t right-hand sides (``d`` in ``--rhs``
  means t = d).

Ours and SciPy's run alternately, ``--repeat`` times each after a warm-up (compilation is
timed apart, as ``compile``), and the table shows the best time of each and the ratio
ours / scipy (below 1: ours is faster). Both use ``--threads`` threads (Numba's and
OpenBLAS's, through threadpoolctl). The machine may be shared: best-of times and the ratio
are what to read; rerun if a figure looks off.
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.cases.cholesky import fastlin_factor, fastlin_solve, scipy_factor, scipy_solve, spd
from benchmarks.cases.timing import best_times
from fastlin._threads import threads
from fastlin.kernels import cholesky as kch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,784,2048")
    ap.add_argument(
        "--rhs",
        default="1,10,d",
        help="numbers of right-hand sides; 'd' means as many as the dimension",
    )
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"threads: {args.threads}   best of {args.repeat}, ours and scipy alternating")
    header = (
        f"{'d':>6} {'operation':>14} {'ours ms':>10} {'scipy ms':>10} "
        f"{'ours/scipy':>11} {'ours GFLOP/s':>13}"
    )
    print(header)
    print("-" * len(header))
    with threads(args.threads), threadpool_limits(args.threads):
        t0 = time.perf_counter()
        kch.cholesky_inplace(spd(rng, 8))
        kch.cholesky_solve_inplace(np.eye(8), np.ones((8, 1)))
        kch.cholesky_solve_inplace(np.eye(8), np.ones((8, 8)))
        print(f"{'':>6} {'compile/load':>14} {1e3 * (time.perf_counter() - t0):10.1f}")
        for d in (int(v) for v in args.sizes.split(",")):
            A = spd(rng, d)
            Af = np.asfortranarray(A)
            repeat = args.repeat if d < 1500 else max(3, args.repeat // 3)
            ours, theirs = best_times(
                [fastlin_factor, scipy_factor], repeat, inputs=[A.copy, lambda: Af.copy(order="F")]
            )
            flops = d**3 / 3
            print(
                f"{d:>6} {'factor':>14} {1e3 * ours:10.3f} {1e3 * theirs:10.3f} "
                f"{ours / theirs:11.2f} {flops / ours / 1e9:13.1f}"
            )

            L = A.copy()
            fastlin_factor(L)
            Lf = np.asfortranarray(L)
            for spec in args.rhs.split(","):
                t = d if spec.strip() == "d" else int(spec)
                B = rng.standard_normal((d, t))
                Bf = np.asfortranarray(B)
                ours, theirs = best_times(
                    [lambda b: fastlin_solve(L, b), lambda b: scipy_solve(Lf, b)],
                    repeat,
                    inputs=[B.copy, lambda: Bf.copy(order="F")],
                )
                flops = 2.0 * d * d * t
                print(
                    f"{d:>6} {f'solve t={t}':>14} {1e3 * ours:10.3f} {1e3 * theirs:10.3f} "
                    f"{ours / theirs:11.2f} {flops / ours / 1e9:13.1f}"
                )
            print()


if __name__ == "__main__":
    main()
