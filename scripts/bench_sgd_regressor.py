"""SGDRegressor epochs against scikit-learn's SGDRegressor, per epoch, in one run.

Data: 100000 x 100 rows, twice: standard normal float64, and uint8 pixels (uniform
0..255) that fastlin reads as they are with ``x_scale=1/255`` while scikit-learn gets the
float64 array ``X / 255`` (it needs float64). Targets are a linear function plus noise.

Same batch semantics as far as they go: scikit-learn's SGD takes one step per sample
(batch 1) in a shuffled order; fastlin is timed at batch 1, 32 and 256 (shuffled, one
step per batch) and at full batch (one step per epoch). Both sides run a constant step size
without penalty. The time of an epoch is the marginal one: ``(T(1 + k epochs) - T(1 epoch))
/ k``, so input checks and set-up, paid once per fit, count on neither side (they are
printed apart, as the time of a one-epoch fit). The sides take turns, and each figure is
the best of ``--repeats`` rounds, so a busy spell of the machine falls on both.

Usage: python -m scripts.bench_sgd_regressor [--repeats 5] [--rows 100000] [--features 100]
"""

import argparse
import time

import numpy as np

from benchmarks.cases.sgd_regressor import fastlin_fit, make_data, sklearn_fit

EXTRA_EPOCHS = 4
BATCHES = (1, 32, 256, None)


def per_epoch(fit, repeats):
    """(marginal seconds per epoch, seconds of a one-epoch fit, the longer fit).

    The one-epoch and the longer fit take turns, ``repeats`` times, and each keeps its
    best time, so that a slow spell of the machine does not land on one of them only.
    """
    t1 = tk = np.inf
    model = None
    for _ in range(repeats):
        t = time.perf_counter()
        fit(1)
        t1 = min(t1, time.perf_counter() - t)
        t = time.perf_counter()
        model = fit(1 + EXTRA_EPOCHS)
        tk = min(tk, time.perf_counter() - t)
    return max(tk - t1, 0.0) / EXTRA_EPOCHS, t1, model


def compare(kind, n, d, repeats):
    """Rows (name, sklearn s/epoch, fastlin s/epoch, one-epoch fit times, R^2) for one kind."""
    from fastlin._threads import threads

    X, Xf, y, scale = make_data(n, d, kind)
    # warm-up: compile (or load from Numba's cache) every kernel used below
    for bs in BATCHES:
        fastlin_fit(X[:2000], y[:2000], scale, bs, 1).predict(X[:10])
    sk_epoch, sk_one, sk_model = per_epoch(lambda e: sklearn_fit(Xf, y, e), repeats)
    rows = []
    for bs in BATCHES:
        ours, one, model = per_epoch(lambda e: fastlin_fit(X, y, scale, bs, e), repeats)
        # the sides alternate: scikit-learn again, so a slow spell is not all on one side
        sk_again, _, _ = per_epoch(lambda e: sklearn_fit(Xf, y, e), 2)
        sk = min(sk_epoch, sk_again)
        name = f"{kind}: fastlin batch {'full' if bs is None else bs}"
        rows.append((name, sk, ours, sk_one, one, sk_model.score(Xf, y), model.score(X, y)))
    with threads(1):
        ours, one, model = per_epoch(lambda e: fastlin_fit(X, y, scale, None, e), repeats)
    rows.append(
        (
            f"{kind}: fastlin batch full, 1 thread",
            sk_epoch,
            ours,
            sk_one,
            one,
            sk_model.score(Xf, y),
            model.score(X, y),
        )
    )
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--features", type=int, default=100)
    args = ap.parse_args()
    import sklearn

    import fastlin
    from fastlin._threads import n_threads

    n, d = args.rows, args.features
    print(
        f"{n} x {d}, fastlin on {n_threads()} threads, scikit-learn {sklearn.__version__} "
        f"(per-sample SGD), best of {args.repeats}; epoch = marginal time of "
        f"{EXTRA_EPOCHS} more epochs / {EXTRA_EPOCHS}",
        flush=True,
    )
    rows = compare("float64", n, d, args.repeats) + compare("uint8", n, d, args.repeats)
    print()
    print(
        f"{'per epoch':38s} {'sklearn ms':>10s} {'fastlin ms':>10s} {'ratio':>7s} "
        f"{'goal':>5s} {'1-epoch fit ms (sk / ours)':>27s} {'R^2 after 5 (sk / ours)':>24s}"
    )
    for name, sk, ours, sk1, one, r2_sk, r2 in rows:
        ratio = sk / ours if ours > 0 else np.inf
        print(
            f"{name:38s} {1e3 * sk:10.2f} {1e3 * ours:10.2f} {ratio:6.1f}x {'>=5x':>5s} "
            f"{1e3 * sk1:13.1f} / {1e3 * one:9.1f}   {r2_sk:11.4f} / {r2:.4f}"
        )
    print(
        f"\nR^2 after {1 + EXTRA_EPOCHS} epochs is on the training rows; full batch takes one "
        "step per epoch, so it is far from converged there (it is timed, not tuned)."
    )
    print(f"fastlin {fastlin.__version__}")


if __name__ == "__main__":
    main()
