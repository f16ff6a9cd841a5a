"""LinearRegression / Ridge fits on MNIST-sized data: fastlin against scikit-learn, one run.

Data: 60000 x 784 uint8 with 10 one-hot float64 targets (see ``_data.py``: real MNIST
test images stacked and shifted, or synthetic digits without the files). Each estimator
is warmed up once (Numba compilation, BLAS thread start-up) and then timed ``--repeat``
times; the table gives medians and the ratio of scikit-learn's time to fastlin's.
Also prints test accuracy of both on the real MNIST split (first 8000 rows train,
last 2000 test, pixels as stored).

Usage: python scripts/bench_linear.py [--rows 60000] [--repeat 3]
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import mnist_sized, real_mnist_test  # noqa: E402


def median_time(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import sklearn.linear_model as skl

    import fastlin
    from fastlin.datasets import one_hot

    warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
    X, y, what = mnist_sized(args.rows)
    Y = one_hot(y, 10)
    print(f"data: {what}; X {X.shape} {X.dtype}, Y {Y.shape} {Y.dtype}; "
          f"threads: {fastlin._threads.n_threads()}")
    rows = [
        ("fastlin LinearRegression().fit", lambda: fastlin.LinearRegression().fit(X, Y)),
        ("fastlin Ridge(alpha=1).fit", lambda: fastlin.Ridge(alpha=1.0).fit(X, Y)),
        ("sklearn LinearRegression().fit", lambda: skl.LinearRegression().fit(X, Y)),
        ("sklearn Ridge(alpha=1, solver='cholesky').fit",
         lambda: skl.Ridge(alpha=1.0, solver="cholesky").fit(X, Y)),
    ]
    t = {name: median_time(fn, args.repeat) for name, fn in rows}
    ours = t["fastlin LinearRegression().fit"]
    print(f"\n{'estimator':<48} {'median s':>9} {'vs fastlin LinearRegression':>28}")
    for name, _ in rows:
        print(f"{name:<48} {t[name]:>9.3f} {t[name] / ours:>27.2f}x")
    print(f"\nsklearn LinearRegression / fastlin LinearRegression: {t['sklearn LinearRegression().fit'] / ours:.1f}x (bar: >= 10)")
    print(f"sklearn Ridge(cholesky) / fastlin LinearRegression:  "
          f"{t[rows[3][0]] / ours:.1f}x (bar: >= 2)")

    base = real_mnist_test()
    if base is not None:
        Xm, ym = base
        Xtr, ytr, Xte, yte = Xm[:8000], ym[:8000], Xm[8000:], ym[8000:]
        a = fastlin.LinearRegression().fit(Xtr, one_hot(ytr, 10))
        b = skl.LinearRegression().fit(Xtr, one_hot(ytr, 10))
        acc_a = np.mean(np.argmax(a.predict(Xte), 1) == yte)
        acc_b = np.mean(np.argmax(b.predict(Xte), 1) == yte)
        print(f"\nreal MNIST split (8000 train / 2000 test): test accuracy fastlin "
              f"{100 * acc_a:.2f} %, scikit-learn {100 * acc_b:.2f} %")


if __name__ == "__main__":
    main()
