"""Ridge path over 100 alphas: one pass + one eigendecomposition, against separate fits.

In one run, on the same data:

* a single ``fastlin.Ridge`` fit (the pass over the rows, then one Cholesky solve), and the
  solve alone on statistics already accumulated;
* ``fastlin.ridge_path`` over 100 alphas on those statistics (one ``eigh`` plus a product
  per alpha), and with the pass included;
* 100 separate scikit-learn ``Ridge(solver="cholesky")`` fits, one per alpha.

Data: float64 rows, n x d with 10 targets (default 20000 x 256, so the 100 scikit-learn
fits finish in reasonable time), and the MNIST-sized 60000 x 784 uint8 case for fastlin.

Usage: python -m scripts.bench_ridge_path [--rows 20000 --features 256 --alphas 100]
"""

import argparse
import warnings

import numpy as np

import fastlin
from benchmarks.cases.data import mnist_stacked
from benchmarks.cases.timing import best_time

REPEAT = 3  # best of, after a warm-up; the 100 scikit-learn fits run once


def pass_and_path(X, Y, alphas):
    """The pass over the rows, then the path over ``alphas``."""
    return fastlin.ridge_path(fastlin.GramStats().update(X, Y), alphas)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--features", type=int, default=256)
    ap.add_argument("--alphas", type=int, default=100)
    args = ap.parse_args()

    import sklearn.linear_model as skl

    from fastlin import one_hot

    warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
    alphas = np.logspace(-3, 4, args.alphas)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.features))
    Y = X @ rng.standard_normal((args.features, 10)) + rng.standard_normal((args.rows, 10))

    stats = fastlin.GramStats().update(X, Y)
    t_fit = best_time(lambda: fastlin.Ridge(alpha=1.0).fit(X, Y), REPEAT)
    t_solve = best_time(lambda: stats.finalize(alpha=1.0), REPEAT)
    t_path = best_time(lambda: fastlin.ridge_path(stats, alphas), REPEAT)
    t_path_pass = best_time(lambda: pass_and_path(X, Y, alphas), REPEAT)
    t_sk = best_time(lambda: [skl.Ridge(alpha=a, solver="cholesky").fit(X, Y) for a in alphas], 1)
    coefs, _ = fastlin.ridge_path(stats, alphas)
    k = len(alphas) // 2  # an alpha mid-path, compared with scikit-learn's fit
    check = skl.Ridge(alpha=alphas[k], solver="cholesky").fit(X, Y).coef_
    err = float(np.abs(coefs[k] - check).max() / np.abs(check).max())

    print(f"data: {args.rows} x {args.features} float64, 10 targets; {args.alphas} alphas")
    rows = [
        ("fastlin Ridge fit (pass + solve)", t_fit),
        ("fastlin solve alone (statistics given)", t_solve),
        (f"fastlin ridge_path, {args.alphas} alphas (statistics given)", t_path),
        (f"fastlin pass + ridge_path, {args.alphas} alphas", t_path_pass),
        (f"scikit-learn Ridge(cholesky) x {args.alphas}", t_sk),
    ]
    for name, t in rows:
        print(f"{name:<58} {t:9.4f} s")
    print(f"\npass + path / single fit:             {t_path_pass / t_fit:6.2f} (bar: <= 2)")
    print(f"path / single solve (after the pass): {t_path / t_solve:6.2f}")
    print(f"100 scikit-learn fits / pass + path:  {t_sk / t_path_pass:6.1f}x")
    print(f"max relative difference to scikit-learn at alpha={alphas[k]:.3g}: {err:.2e}")

    Xm, ym, what = mnist_stacked(60000)
    Ym = one_hot(ym, 10)
    sm = fastlin.GramStats().update(Xm, Ym)
    t_fit_m = best_time(lambda: fastlin.Ridge(alpha=1.0).fit(Xm, Ym), REPEAT)
    t_path_m = best_time(lambda: pass_and_path(Xm, Ym, alphas), REPEAT)
    t_path_only = best_time(lambda: fastlin.ridge_path(sm, alphas), REPEAT)
    print(f"\nMNIST-sized ({what}):")
    print(
        f"fastlin Ridge fit {t_fit_m:.3f} s; pass + ridge_path over {args.alphas} alphas "
        f"{t_path_m:.3f} s (ratio {t_path_m / t_fit_m:.2f}); path alone {t_path_only:.3f} s"
    )


if __name__ == "__main__":
    main()
