"""Gram statistics of MNIST-sized data: fastlin's kernel against NumPy, in one run.

Data: 60000 x 784 uint8 from ``benchmarks/cases/data.py`` (the real MNIST test images
stacked without shifts, or synthetic digits without the files; the script says which) and
10 float64 one-hot targets from the labels.

The ratios compare, in one process and one run:

* fastlin: ``gram_update`` (XᵀX upper triangle, XᵀY, sums, YᵀY) straight from uint8, on
  the requested threads, including scratch allocation and the merge of per-thread parts;
* NumPy syrk: ``Xf.T @ Xf`` on a float64 copy that already exists (OpenBLAS);
* NumPy cast + syrk: ``X.astype(float64)`` followed by that product;
* on the float64 copy: the hand-written float64 tile (the route bytes take on CPUs
  without AVX2) and ``GramStats.update`` (the BLAS route float64 chunks of 784 columns
  take).

Each call starts 0.3 s after the one before, so that OpenBLAS's worker threads, which
spin for a while after a call, have gone idle: right after a BLAS call the byte kernel
took 15-20 % longer, sharing the cores with them.

Usage: python -m scripts.bench_gram [--threads 2] [--repeat 7] [--rows 60000]
"""

import argparse

import numpy as np

from benchmarks.cases.data import mnist_one_hot
from benchmarks.cases.gram import fastlin_gram, numpy_cast_syrk, numpy_syrk
from benchmarks.cases.timing import best_times
from fastlin import GramStats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rows", type=int, default=60000)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    X, Y, what = mnist_one_hot(args.rows)
    Xf = X.astype(np.float64)
    print(f"data: {X.shape[0]} x {X.shape[1]} uint8, {Y.shape[1]} one-hot targets ({what})")
    print(f"threads: {args.threads}; best of {args.repeat}")

    with threadpool_limits(args.threads):
        G = fastlin_gram(X, Y, args.threads)[0]  # compile / load from cache, warm up
        assert np.array_equal(np.triu(G), np.triu(Xf.T @ Xf)), "fastlin Gram is not exact"
        fastlin_gram(Xf, Y, args.threads)
        GramStats().update(Xf, Y)
        t_ours, t_syrk, t_cast, t_f64, t_stats = best_times(
            [
                lambda: fastlin_gram(X, Y, args.threads),
                lambda: numpy_syrk(Xf),
                lambda: numpy_cast_syrk(X),
                lambda: fastlin_gram(Xf, Y, args.threads),
                lambda: GramStats().update(Xf, Y),
            ],
            args.repeat,
            pause=0.3,
            warmup=False,
        )

    rows = [
        ("fastlin gram_update (uint8, exact)", t_ours, 1.0),
        ("NumPy Xf.T @ Xf (float64 copy exists)", t_syrk, t_ours / t_syrk),
        ("NumPy cast + Xf.T @ Xf", t_cast, t_ours / t_cast),
    ]
    print(f"{'':42s} {'seconds':>9s} {'fastlin / this':>15s}")
    for name, t, r in rows:
        print(f"{name:42s} {t:9.4f} {r:15.3f}")
    print(
        f"{'fastlin gram_update on the float64 copy':42s} {t_f64:9.4f} "
        f"{t_f64 / t_syrk:15.3f}  (vs NumPy syrk; the tile bytes take without AVX2)"
    )
    print(
        f"{'fastlin GramStats on the float64 copy':42s} {t_stats:9.4f} "
        f"{t_stats / t_syrk:15.3f}  (vs NumPy syrk; the route float64 chunks take)"
    )
    met = {True: "met", False: "NOT met"}
    print(
        f"targets: fastlin / syrk <= 0.3 -> {met[t_ours / t_syrk <= 0.3]}; "
        f"fastlin / (cast + syrk) <= 0.3 -> {met[t_ours / t_cast <= 0.3]}"
    )


if __name__ == "__main__":
    main()
