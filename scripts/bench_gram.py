"""Gram statistics of MNIST-sized data: fastlin's kernel against NumPy, in one run.

Data: 60000 x 784 uint8, the 10000 real MNIST test images stacked six times, each copy
shifted by a different (dy, dx) of at most 2 pixels, and 10 float64 one-hot targets from
the labels. Without the MNIST files, synthetic digit-like images (random strokes) are used
instead; the script says which.

The ratios compare, in one process and one run:

* fastlin: ``gram_update`` (XᵀX upper triangle, XᵀY, sums, YᵀY) straight from uint8, on
  the requested threads, including scratch allocation and the merge of per-thread parts;
* NumPy syrk: ``Xf.T @ Xf`` on a float64 copy that already exists (OpenBLAS);
* NumPy cast + syrk: ``X.astype(float64)`` followed by that product.

Usage: python scripts/bench_gram.py [--threads 2] [--repeat 7] [--rows 60000]
"""

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("FASTLIN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_sized(n_rows, rng):
    """(X uint8 (n_rows, 784), Y float64 one-hot (n_rows, 10), description)."""
    images = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
    if images.exists():
        imgs = _read_idx(images)
        labels = _read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
        shifts = [(0, 0), (1, 0), (0, 1), (-1, -1), (2, -1), (-2, 2)]
        copies, ys = [], []
        while sum(len(c) for c in copies) < n_rows:
            dy, dx = shifts[len(copies) % len(shifts)]
            copies.append(np.roll(imgs, (dy, dx), axis=(1, 2)).reshape(len(imgs), -1))
            ys.append(labels)
        X = np.ascontiguousarray(np.concatenate(copies)[:n_rows])
        lab = np.concatenate(ys)[:n_rows]
        what = "real MNIST test images stacked and shifted"
    else:
        X = np.zeros((n_rows, 28, 28), np.uint8)
        for k in range(n_rows):
            for _ in range(3):
                r, c = rng.integers(4, 24, size=2)
                dr, dc = rng.integers(-1, 2, size=2)
                for s in range(8):
                    X[k, np.clip(r + s * dr, 0, 27), np.clip(c + s * dc, 0, 27)] = 255
        X = X.reshape(n_rows, -1)
        lab = rng.integers(0, 10, n_rows)
        what = "synthetic digit-like strokes (MNIST files not found)"
    return X, np.eye(10)[lab], what


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
