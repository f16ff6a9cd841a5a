"""Gram statistics of MNIST-sized data: fastlin's kernel against NumPy, in one run.

Data: 60000 x 784 uint8 from ``scripts/_data.py`` (the real MNIST test images stacked
and shifted, or synthetic digits without the files; the script says which) and 10
float64 one-hot targets from the labels.

The ratios compare, in one process and one run:

* fastlin: ``gram_update`` (XᵀX upper triangle, XᵀY, sums, YᵀY) straight from uint8, on
  the requested threads, including scratch allocation and the merge of per-thread parts;
* NumPy syrk: ``Xf.T @ Xf`` on a float64 copy that already exists (OpenBLAS);
* NumPy cast + syrk: ``X.astype(float64)`` followed by that product.

Usage: python scripts/bench_gram.py [--threads 2] [--repeat 7] [--rows 60000]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import mnist_sized as _mnist_rows  # noqa: E402


def mnist_sized(n_rows, rng=None):
    """(X uint8 (n_rows, 784), Y float64 one-hot (n_rows, 10), description)."""
    X, y, what = _mnist_rows(n_rows)
    return X, np.eye(10)[y], what


def fastlin_gram(X, Y, n_threads):
    from fastlin._threads import row_ranges, threads
    from fastlin.kernels import gram

    n, d = X.shape
    t = Y.shape[1]
    with threads(n_threads):
        bounds = row_ranges(n, n_threads, gram.BLOCK)
        p = bounds.shape[0] - 1
        (ps, pd), (as_, ad) = gram.scratch_shapes(d, p, False, X.dtype in (np.uint8, np.int8))
        P, A = np.empty(ps, pd), np.empty(as_, ad)
        parts = [np.zeros((p, d, d)), np.zeros((p, d, t)), np.zeros((p, d)), np.zeros((p, t)),
                 np.zeros((p, t, t)), np.zeros((p, 1))]
        gram.gram_update(X, Y, np.empty(0), bounds, P, A, *parts)
        return [a.sum(axis=0) for a in parts]


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rows", type=int, default=60000)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X, Y, what = mnist_sized(args.rows, rng)
    Xf = X.astype(np.float64)
    print(f"data: {X.shape[0]} x {X.shape[1]} uint8, {Y.shape[1]} one-hot targets ({what})")
    print(f"threads: {args.threads}; best of {args.repeat}")

    with threadpool_limits(args.threads):
        G = fastlin_gram(X, Y, args.threads)[0]  # compile / load from cache, warm up
        assert np.array_equal(np.triu(G), np.triu(Xf.T @ Xf)), "fastlin Gram is not exact"
        fastlin_gram(Xf, Y, args.threads)
        t_ours = t_syrk = t_cast = t_f64 = float("inf")

        def cast_syrk():
            Z = X.astype(np.float64)
            return Z.T @ Z

        for _ in range(args.repeat):  # interleaved, so load from other work hits all alike
            t_ours = min(t_ours, best(lambda: fastlin_gram(X, Y, args.threads), 1))
            t_syrk = min(t_syrk, best(lambda: Xf.T @ Xf, 1))
            t_cast = min(t_cast, best(cast_syrk, 1))
            t_f64 = min(t_f64, best(lambda: fastlin_gram(Xf, Y, args.threads), 1))

    rows = [
        ("fastlin gram_update (uint8, exact)", t_ours, 1.0),
        ("NumPy Xf.T @ Xf (float64 copy exists)", t_syrk, t_ours / t_syrk),
        ("NumPy cast + Xf.T @ Xf", t_cast, t_ours / t_cast),
    ]
    print(f"{'':42s} {'seconds':>9s} {'fastlin / this':>15s}")
    for name, t, r in rows:
        print(f"{name:42s} {t:9.4f} {r:15.3f}")
    print(f"{'fastlin gram_update on the float64 copy':42s} {t_f64:9.4f} "
          f"{t_f64 / t_syrk:15.3f}  (vs NumPy syrk)")
    print(f"targets: fastlin / syrk <= 0.6 -> {'met' if t_ours / t_syrk <= 0.6 else 'NOT met'}; "
          f"fastlin / (cast + syrk) <= 0.3 -> {'met' if t_ours / t_cast <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
