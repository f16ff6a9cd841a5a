"""The least-squares engine against its peers, in one run: oneDAL, NumPy/SciPy, scikit-learn.

Workloads (each timed best-of-``--repeat`` after a warm-up, the sides interleaved so that
both see the same machine; ratios are fastlin's time over the peer's):

* fits: 60000 x 784 uint8 MNIST (real t10k images stacked, no shifts: rank 661) with 10
  one-hot targets, LinearRegression and Ridge(alpha=1); 100000 x 400 float64 with
  correlated, scaled, offset columns; 40000 x 2048 float32 embedding-like features;
  against scikit-learn-intelex (oneDAL) and scikit-learn, with the residual sum of
  squares relative to the best of the three, and the route fastlin took;
* the Gram statistics of float64 and float32 X for d in {128, 500, 784, 2048, 4096}
  against NumPy's ``X.T @ X`` on the same dtype, and uint8 against NumPy on a float64 copy;
* TSQR (``QRStats.update``) against LAPACK ``dgeqrf`` (``scipy.linalg.qr(mode="r")``) on
  60000 x 784 float64;
* 40 ``partial_fit`` chunks at d = 400 against the accumulation alone;
* peak resident memory of one ``GramStats.update`` at d = 4096 with 2 and 16 Numba threads
  (child processes), against the chunk plus (threads + 2) d² float64;
* test accuracy on the real MNIST split (8000 / 2000) against scikit-learn;
* multinomial logistic regression on that split at C in {0.1, 1, 10}: the objective
  (C times the summed cross-entropy plus half the squared coefficients) each side
  reaches, and the time to its own stopping point, against oneDAL and scikit-learn.

scikit-learn-intelex comes with ``pip install fastlin[bench]``; without it the oneDAL
columns say so and the rest still runs.

Usage: python -m scripts.bench_linear [--repeat 3] [--quick] [--only fits,gram,...]
"""

import argparse
import json
import os
import warnings

import numpy as np

from benchmarks.cases import timing
from benchmarks.cases.data import float_design, mnist_found, mnist_split, mnist_stacked
from benchmarks.cases.linear import fastlin_fit, onedal, peer_fit, rss
from benchmarks.cases.memory import child_json, reset_peak, status_kb


def best_times(fns, repeat):
    """Best time of each callable over ``repeat`` interleaved rounds, after a warm-up; a
    pause before each call lets the BLAS worker threads of the side before settle."""
    return timing.best_times(fns, repeat, pause=0.2)


def fit_table(repeat, quick):
    import sklearn.linear_model as skl

    from fastlin import one_hot

    dal = onedal()
    n_mnist = 20000 if quick else 60000
    Xm, ym, what = mnist_stacked(n_mnist)
    Ym = one_hot(ym, 10)
    cases = [
        (f"{n_mnist} x 784 uint8 MNIST, 10 targets", Xm, Ym, "linear"),
        (f"{n_mnist} x 784 uint8 MNIST, Ridge(1)", Xm, Ym, "ridge"),
    ]
    n_f = 30000 if quick else 100000
    Xf, yf, _ = float_design(n_f, 400, np.float64, kind="correlated")
    cases.append((f"{n_f} x 400 float64, correlated", Xf, yf, "linear"))
    n_e = 10000 if quick else 40000
    Xe, ye, _ = float_design(n_e, 2048, np.float32, kind="embedding")
    cases.append((f"{n_e} x 2048 float32, embeddings", Xe, ye, "linear"))
    print(f"MNIST data: {what}")
    print(
        f"\n{'fit':<40} {'fastlin s':>9} {'oneDAL s':>9} {'sklearn s':>9} "
        f"{'/oneDAL':>8} {'/sklearn':>9} {'route':>22} {'RSS vs best':>12}"
    )
    for name, X, Y, kind in cases:

        def ours():
            return fastlin_fit(kind, X, Y)

        def theirs(mod):
            return peer_fit(mod, kind, X, Y)

        fns = [ours, lambda: theirs(skl)] + ([lambda: theirs(dal)] if dal else [])
        # scikit-learn's lstsq takes seconds: one timed round is enough for it.
        t_ours, t_skl, *t_dal = best_times(fns, repeat if not quick else 1)
        models = [ours(), theirs(skl)] + ([theirs(dal)] if dal else [])
        errs = [rss(m, X, Y) for m in models]
        best = min(errs)
        td = t_dal[0] if t_dal else float("nan")
        rel = (errs[0] - best) / best
        print(
            f"{name:<40} {t_ours:>9.3f} {td:>9.3f} {t_skl:>9.3f} {t_ours / td:>8.2f} "
            f"{t_ours / t_skl:>9.3f} {models[0].solver_:>22} {rel:>12.1e}"
        )
    if dal is None:
        print(
            "(oneDAL columns: scikit-learn-intelex is not installed; pip install 'fastlin[bench]')"
        )


def gram_table(repeat, quick):
    import fastlin

    print(f"\n{'Gram statistics':<36} {'fastlin s':>9} {'NumPy s':>9} {'fastlin/NumPy':>14}")
    rng = np.random.default_rng(0)
    dims = (128, 500, 784, 2048) if quick else (128, 500, 784, 2048, 4096)
    for d in dims:
        n = int(min(200000, max(20000, 4e8 / (d * d) * 50))) if not quick else 20000
        for dtype in (np.float64, np.float32):
            X = rng.standard_normal((n, d)).astype(dtype)
            t_ours, t_np = best_times(
                [lambda: fastlin.GramStats().update(X), lambda: X.T @ X], repeat
            )
            print(
                f"{f'{n} x {d} {np.dtype(dtype).name}':<36} {t_ours:>9.4f} {t_np:>9.4f} "
                f"{t_ours / t_np:>14.2f}"
            )
            X = None  # free the design before the next one is drawn
    Xm, _, _ = mnist_stacked(20000 if quick else 60000)
    Xf = Xm.astype(np.float64)
    t_ours, t_np = best_times([lambda: fastlin.GramStats().update(Xm), lambda: Xf.T @ Xf], repeat)
    print(
        f"{f'{Xm.shape[0]} x 784 uint8 (NumPy: float64)':<36} {t_ours:>9.4f} {t_np:>9.4f} "
        f"{t_ours / t_np:>14.2f}"
    )


def tsqr_table(repeat, quick):
    import scipy.linalg

    from fastlin import QRStats

    n = 20000 if quick else 60000
    X = np.random.default_rng(1).standard_normal((n, 784))
    y = X[:, 0].copy()
    t_ours, t_lapack = best_times(
        [lambda: QRStats().update(X, y), lambda: scipy.linalg.qr(X, mode="r")], max(1, repeat - 1)
    )
    print(
        f"\n{f'TSQR {n} x 784 float64':<36} {t_ours:>9.3f} {t_lapack:>9.3f} "
        f"{t_ours / t_lapack:>14.2f}   (vs LAPACK dgeqrf; throughput {t_lapack / t_ours:.2f}x)"
    )


def partial_fit_table(repeat):
    import fastlin

    rng = np.random.default_rng(2)
    chunks = [(rng.standard_normal((2000, 400)), rng.standard_normal(2000)) for _ in range(40)]

    def stream():
        m = fastlin.LinearRegression()
        for X, y in chunks:
            m.partial_fit(X, y)
        return m.coef_

    def accumulate():
        s = fastlin.GramStats()
        for X, y in chunks:
            s.update(X, y)

    t_fit, t_acc = best_times([stream, accumulate], repeat)
    print(
        f"\n{'40 partial_fit chunks, d=400':<36} {t_fit:>9.3f} {t_acc:>9.3f} "
        f"{t_fit / t_acc:>14.2f}   (vs the accumulation alone)"
    )


def memory_child(d, n, kind):
    import fastlin

    rng = np.random.default_rng(0)
    X = (
        rng.integers(0, 256, size=(n, d), dtype=np.uint8)
        if kind == "uint8"
        else rng.standard_normal((n, d))
    )
    fastlin.GramStats().update(X[:600, :64])  # compile before the baseline
    reset_peak()
    base = status_kb("VmHWM") * 1024
    s = fastlin.GramStats()
    for r0 in range(0, n, 2000):
        s.update(X[r0 : r0 + 2000])
    peak = status_kb("VmHWM") * 1024
    print(json.dumps({"base": base, "peak": peak, "threads": fastlin._threads.n_threads()}))


def memory_table(quick):
    d = 2048 if quick else 4096
    n = 6000
    print(
        f"\n{'peak RSS growth over 3 updates, d=' + str(d):<40} {'MB':>7} "
        f"{'bound: chunk + (threads + 2) d² float64':>40}"
    )
    for kind in ("uint8", "float64"):
        for threads in (2, 16):
            env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
            r = child_json("scripts.bench_linear", "--memory-child", d, n, kind, env=env)
            growth = (r["peak"] - r["base"]) / 2**20
            item = 1 if kind == "uint8" else 8
            bound = (2000 * d * item + (threads + 2) * d * d * 8) / 2**20
            print(f"{f'{kind}, {threads} Numba threads':<40} {growth:>7.1f} {bound:>40.1f}")


def real_mnist_split(what):
    """The real MNIST test set split 8000 / 2000 as (Xtr, ytr, Xte, yte), or None (saying
    that ``what`` is skipped) when the files are absent."""
    if not mnist_found():
        print(f"\nreal MNIST files not found: {what} skipped")
        return None
    return mnist_split()


def accuracy_table():
    import sklearn.linear_model as skl

    import fastlin
    from fastlin import one_hot

    split = real_mnist_split("accuracy check")
    if split is None:
        return
    Xtr, ytr, Xte, yte = split
    a = fastlin.LinearRegression().fit(Xtr, one_hot(ytr, 10))
    b = skl.LinearRegression().fit(Xtr, one_hot(ytr, 10))
    acc = [100 * np.mean(np.argmax(m.predict(Xte), 1) == yte) for m in (a, b)]
    line = (
        f"\nreal MNIST split 8000/2000: test accuracy fastlin {acc[0]:.2f} % ({a.solver_}), "
        f"scikit-learn {acc[1]:.2f} %"
    )
    dal = onedal()
    if dal is not None:
        c = dal.LinearRegression().fit(Xtr, one_hot(ytr, 10))
        line += f", oneDAL {100 * np.mean(np.argmax(c.predict(Xte), 1) == yte):.2f} %"
    print(line)


def _logistic_objective(model, X, y, C):
    """Sum of the multinomial cross-entropy times C plus half the squared coefficients
    (scikit-learn's lbfgs objective), in float64, from the model's own probabilities."""
    P = np.clip(np.asarray(model.predict_proba(X), np.float64), 1e-300, None)
    rows = np.searchsorted(model.classes_, y)
    W = np.asarray(model.coef_, np.float64)
    return float(C * -np.log(P[np.arange(len(y)), rows]).sum() + 0.5 * (W * W).sum())


def logistic_table(repeat):
    """Multinomial logistic regression on the real MNIST split against oneDAL and
    scikit-learn at their defaults (lbfgs, max_iter=100): time to each one's own stopping
    point, and the objective reached (lower is better)."""
    import sklearn.linear_model as skl

    import fastlin

    split = real_mnist_split("logistic table")
    if split is None:
        return
    Xtr, ytr, Xte, yte = split
    Xf, Xtf = Xtr / 255.0, Xte / 255.0
    dal = onedal()
    print(
        f"\n{'logistic, MNIST 8000/2000':<26} {'objective fastlin':>18} {'oneDAL':>12} "
        f"{'sklearn':>12} {'fastlin s':>9} {'oneDAL s':>9} {'sklearn s':>9} {'oneDAL/ours':>11}"
    )
    for C in (0.1, 1.0, 10.0):

        def ours():
            return fastlin.LogisticRegression(C=C, x_scale=1 / 255).fit(Xtr, ytr)

        def theirs(mod):
            return mod.LogisticRegression(C=C).fit(Xf, ytr)  # as users run them: defaults

        fns = [ours, lambda: theirs(skl)] + ([lambda: theirs(dal)] if dal else [])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of the peers
            t_ours, t_skl, *t_dal = best_times(fns, repeat)
            m_ours, m_skl = ours(), theirs(skl)
            m_dal = theirs(dal) if dal else None
        # fastlin's coefficients are those of x_scale * X: its probabilities from the pixels
        f_ours = _logistic_objective(m_ours, Xtr, ytr, C)
        f_skl = _logistic_objective(m_skl, Xf, ytr, C)
        f_dal = _logistic_objective(m_dal, Xf, ytr, C) if dal else float("nan")
        td = t_dal[0] if t_dal else float("nan")
        print(
            f"C={C:<24g} {f_ours:>18.5f} {f_dal:>12.5f} {f_skl:>12.5f} {t_ours:>9.3f} "
            f"{td:>9.3f} {t_skl:>9.3f} {td / t_ours:>10.1f}x"
        )
        acc = [
            100 * np.mean(m.predict(Xt) == yte)
            for m, Xt in ((m_ours, Xte), (m_skl, Xtf)) + (((m_dal, Xtf),) if dal else ())
        ]
        print(f"{'':<26} test accuracy: " + " / ".join(f"{a:.2f} %" for a in acc))
    if dal is None:
        print(
            "(oneDAL columns: scikit-learn-intelex is not installed; pip install 'fastlin[bench]')"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    ap.add_argument("--only", default="fits,gram,tsqr,partial,memory,accuracy,logistic")
    ap.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        d, n, kind = args.memory_child
        memory_child(int(d), int(n), kind)
        return
    import fastlin

    warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
    from threadpoolctl import threadpool_info

    blas = ", ".join(
        f"{i['internal_api']} {i['num_threads']} threads"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )
    print(
        f"fastlin {fastlin.__version__}; Numba threads {fastlin._threads.n_threads()}; BLAS: {blas}"
    )
    parts = set(args.only.split(","))
    if "fits" in parts:
        fit_table(args.repeat, args.quick)
    if "gram" in parts:
        gram_table(args.repeat, args.quick)
    if "tsqr" in parts:
        tsqr_table(args.repeat, args.quick)
    if "partial" in parts:
        partial_fit_table(args.repeat)
    if "memory" in parts:
        memory_table(args.quick)
    if "accuracy" in parts:
        accuracy_table()
    if "logistic" in parts:
        logistic_table(args.repeat)


if __name__ == "__main__":
    main()
