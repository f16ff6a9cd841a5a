"""Logistic regression on real MNIST digits: fastlin against scikit-learn and NumPy.

Split: the MNIST test set (10000 images), first 8000 rows to train, last 2000 to test,
pixels / 255 (fastlin reads the uint8 pixels with ``x_scale=1/255``; the baselines get the
float64 array). Everything is measured in one run, ours and the baseline alternating, and
each figure is the best of ``--repeats`` runs, so a busy machine slows both sides alike.

1. lbfgs: time for fastlin's ``LogisticRegression(solver="lbfgs")`` to reach the final
   objective of scikit-learn's ``LogisticRegression()`` (lbfgs, multinomial, C=1,
   max_iter=100) to 1e-6 relative, against scikit-learn's fit time; test accuracies.
   fastlin's default keeps 60 L-BFGS correction pairs; a second row uses scikit-learn's
   10, so the share of the speed-up that comes from the kernel alone is visible.
2. SGD: one epoch of softmax mini-batch updates (batch 256) against one epoch of
   ``SGDClassifier(loss="log_loss")``; test accuracy after 20 epochs.
3. One fused loss + gradient pass against the NumPy expression it replaces (given the
   float64 array, and including the ``X / 255`` it needs on uint8 pixels), on all threads
   and on one thread each; fastlin reads the uint8 pixels, and once more the float64 array.
   The sides take turns over several rounds, so slow spells of a shared machine fall on
   both.

Usage: python -m scripts.bench_logistic [--repeats 3] [--mnist DIR]
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks.cases.data import MNIST_DIR
from benchmarks.cases.logistic import (
    fastlin_lbfgs,
    fastlin_loss_grad,
    fastlin_sgd,
    initial_weights,
    load,
    numpy_loss_grad,
    objective,
    sklearn_lbfgs,
    sklearn_sgd,
)
from benchmarks.cases.timing import best_of as _best_of
from fastlin import LogisticRegression

# OpenBLAS worker threads keep spinning for a while after a call, and whatever runs next
# on the same cores is slowed by them: each side waits this long before it is timed.
SETTLE = 0.5


def best_of(fn, repeats):
    """(best seconds, last result) of ``repeats`` runs, after the other side settles."""
    return _best_of(fn, repeats, pause=SETTLE)


def interleaved(fns, rounds, per_round):
    """Best time of each function over ``rounds`` rounds that take the functions in turn.

    Returns ({name: seconds}, {name: last result}).
    """
    best = {name: np.inf for name in fns}
    out = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            t, out[name] = best_of(fn, per_round)
            best[name] = min(best[name], t)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mnist", type=Path, default=MNIST_DIR)
    args = ap.parse_args()
    import fastlin
    from fastlin._threads import n_threads

    Xtr, ytr, Xte, yte = load(args.mnist)
    Xtr_f, Xte_f = Xtr / 255.0, Xte / 255.0
    r = args.repeats
    rows = []
    print(f"MNIST test set split 8000 / 2000, {n_threads()} threads, best of {r}", flush=True)

    # warm-up: compile (or load from cache) every kernel before timing
    fastlin_lbfgs(Xtr[:500], ytr[:500], 2).predict(Xte)
    LogisticRegression(solver="sgd", x_scale=1 / 255, max_iter=1).fit(Xtr[:500], ytr[:500])

    # ---- 1. lbfgs: time to reach scikit-learn's final objective ----------------------
    t_sk, sk = best_of(lambda: sklearn_lbfgs(Xtr_f, ytr), r)
    f_sk = objective(Xtr_f, ytr, sk.coef_, sk.intercept_)
    target = f_sk * (1 + 1e-6)
    full = fastlin_lbfgs(Xtr, ytr)
    hist = full.loss_history_["train"]
    reached = np.flatnonzero(hist <= target)
    if reached.size == 0:
        print(
            f"lbfgs: fastlin did not reach {target:.10g} in {len(hist)} iterations "
            f"(final {full.objective_:.10g})"
        )
        k = len(hist)
    else:
        k = int(reached[0]) + 1
    t_ours, ours = best_of(lambda: fastlin_lbfgs(Xtr, ytr, k), r)
    f_ours = objective(Xtr_f, ytr, ours.coef_, ours.intercept_)
    acc_sk = sk.score(Xte_f, yte)
    acc_ours = ours.score(Xte, yte)
    print(
        f"lbfgs: scikit-learn {sk.n_iter_[0]} iterations, objective {f_sk:.10g}, "
        f"test accuracy {acc_sk:.4f}"
    )
    print(
        f"lbfgs: fastlin reaches {f_ours:.10g} (target {target:.10g}) after {k} "
        f"iterations, test accuracy {acc_ours:.4f} (full 100 iterations: objective "
        f"{full.objective_:.10g}, accuracy {full.score(Xte, yte):.4f})"
    )
    rows.append(("lbfgs fit to sklearn's objective", t_sk, t_ours, 5.0))

    # the same, with scikit-learn's L-BFGS memory (10 pairs): the kernel's share alone
    full10 = fastlin_lbfgs(Xtr, ytr, lbfgs_memory=10)
    reached10 = np.flatnonzero(full10.loss_history_["train"] <= target)
    k10 = int(reached10[0]) + 1 if reached10.size else len(full10.loss_history_["train"])
    t_ours10, _ = best_of(lambda: fastlin_lbfgs(Xtr, ytr, k10, lbfgs_memory=10), r)
    print(
        f"lbfgs: with lbfgs_memory=10 (scikit-learn's) fastlin needs {k10} iterations"
        f"{'' if reached10.size else ' and does not reach the target'}"
    )
    rows.append(("  same, lbfgs_memory=10 (sklearn's)", t_sk, t_ours10, None))

    # ---- 2. SGD epochs ---------------------------------------------------------------
    ep_sk = 5
    t_sk_sgd, _ = best_of(lambda: sklearn_sgd(Xtr_f, ytr, ep_sk), r)
    t_ours_sgd, g = best_of(lambda: fastlin_sgd(Xtr, ytr, 20), r)
    acc_sgd = g.score(Xte, yte)
    print(
        f"sgd: fastlin 20 epochs (momentum 0.9, eta0 0.05, batch 256): test accuracy "
        f"{acc_sgd:.4f}, final training loss {g.loss_history_['train'][-1]:.4f}"
    )
    rows.append(("SGD epoch (softmax, batch 256)", t_sk_sgd / ep_sk, t_ours_sgd / 20, 5.0))

    # ---- 3. one fused loss + gradient pass -------------------------------------------
    W, b = initial_weights()
    Y = np.eye(10)[ytr]

    def fused():
        return fastlin_loss_grad(Xtr, ytr, W, b, 1 / 255)

    # The pass takes milliseconds, so machine noise moves single figures a lot: the sides
    # are timed in interleaved rounds (settling between them) and each keeps its best.
    from threadpoolctl import threadpool_limits

    fns = {
        "numpy": lambda: numpy_loss_grad(Xtr_f, Y, W, b),
        "numpy with X / 255": lambda: numpy_loss_grad(Xtr / 255.0, Y, W, b),
        "fastlin": fused,
        "fastlin float64": lambda: fastlin_loss_grad(Xtr_f, ytr, W, b),
    }
    best, out = interleaved(fns, rounds=4 * r, per_round=5)
    ref, got, got64 = out["numpy"], out["fastlin"], out["fastlin float64"]
    err = max(np.abs(g[2] - ref[1]).max() for g in (got, got64)) / np.abs(ref[1]).max()
    print(
        f"fused pass: loss rel. error {abs(got[0] - ref[0]) / ref[0]:.1e}, "
        f"gradient rel. error {err:.1e}"
    )
    rows.append(("loss+grad pass vs NumPy (float64 X given)", best["numpy"], best["fastlin"], 3.0))
    rows.append(
        (
            "loss+grad pass vs NumPy (incl. X / 255)",
            best["numpy with X / 255"],
            best["fastlin"],
            None,
        )
    )
    rows.append(
        ("  same, fastlin also given float64 X", best["numpy"], best["fastlin float64"], None)
    )
    # the same work on one core each (no BLAS or kernel threads): the arithmetic alone,
    # without the effect of how either side's threads fare on a shared machine
    with threadpool_limits(1), fastlin.threads(1):
        best1, _ = interleaved({"numpy": fns["numpy"], "fastlin": fused}, rounds=2 * r, per_round=5)
    rows.append(("  same, 1 thread each (float64 X given)", best1["numpy"], best1["fastlin"], None))

    # ---- table -----------------------------------------------------------------------
    print()
    print(f"{'benchmark':44s} {'baseline s':>11s} {'fastlin s':>11s} {'ratio':>7s} {'goal':>6s}")
    for name, tb, to, goal in rows:
        g = f">={goal:g}x" if goal else ""
        print(f"{name:44s} {tb:11.4f} {to:11.4f} {tb / to:6.1f}x {g:>6s}")
    print(
        f"\nlbfgs test accuracy: scikit-learn {100 * acc_sk:.2f}%, fastlin "
        f"{100 * acc_ours:.2f}% (difference {100 * abs(acc_sk - acc_ours):.2f} points, "
        f"goal <= 0.2)"
    )
    print(f"SGD 20 epochs test accuracy: {100 * acc_sgd:.2f}% (goal >= 91%)")
    print(f"fastlin {fastlin.__version__}")


if __name__ == "__main__":
    main()
