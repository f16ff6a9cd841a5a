"""Reliability table of 10**7 binary probabilities: fastlin vs scikit-learn and NumPy.

Measures, in one run and interleaved (so that load from other processes hits every method
alike):

- ``fastlin.calibration.reliability_table(y, p, 10, mode="positive")`` (what
  ``calibration_curve`` computes, plus counts and empty bins), on all threads and on one;
- ``sklearn.calibration.calibration_curve(y, p, n_bins=10)``;
- ``numpy.histogram(p, bins=10, range=(0, 1))``: counts alone, no sums, no checks;
- the same for quantile bins against ``calibration_curve(strategy="quantile")``.

Prints best-of-N times and the ratios baseline / fastlin (above 1: fastlin is faster), and
checks the ECE against a NumPy reference (|difference| <= 1e-12).

    python scripts/bench_calibration.py [--n 10000000] [--repeats 7]
"""

import argparse
import time

import numpy as np


def ece_reference(p, y, edges):
    """sum_b (n_b / n) |acc_b - conf_b| with numpy.searchsorted and bincount."""
    b = np.searchsorted(edges[1:-1], p, side="left")
    n_bins = len(edges) - 1
    count = np.bincount(b, minlength=n_bins).astype(np.float64)
    s_conf = np.bincount(b, weights=p, minlength=n_bins)
    s_true = np.bincount(b, weights=y.astype(np.float64), minlength=n_bins)
    m = count > 0
    return float(np.sum(count[m] / len(p) * np.abs(s_true[m] / count[m] - s_conf[m] / count[m])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--n-bins", type=int, default=10)
    args = ap.parse_args()

    from sklearn.calibration import calibration_curve

    import fastlin
    from fastlin.calibration import reliability_table

    rng = np.random.default_rng(0)
    p = rng.random(args.n)
    y = (rng.random(args.n) < p ** 1.2).astype(np.int64)
    nb = args.n_bins

    def ours():
        return reliability_table(y, p, nb, mode="positive")

    def ours_1t():
        with fastlin.threads(1):
            return reliability_table(y, p, nb, mode="positive")

    def ours_q():
        return reliability_table(y, p, nb, strategy="quantile", mode="positive")

    methods = {
        "fastlin reliability_table": ours,
        "fastlin reliability_table, 1 thread": ours_1t,
        "sklearn calibration_curve": lambda: calibration_curve(y, p, n_bins=nb),
        "numpy.histogram (counts only)": lambda: np.histogram(p, bins=nb, range=(0.0, 1.0)),
        "fastlin quantile": ours_q,
        "sklearn calibration_curve quantile":
            lambda: calibration_curve(y, p, n_bins=nb, strategy="quantile"),
    }
    t0 = time.perf_counter()
    for f in methods.values():  # warm-up: compile (or load from cache) first
        f()
    warm = time.perf_counter() - t0
    times = {k: [] for k in methods}
    for _ in range(args.repeats):
        for k, f in methods.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    med = {k: float(np.median(v)) for k, v in times.items()}

    print(f"n = {args.n:,} binary probabilities, {nb} bins, {fastlin._threads.n_threads()} "
          f"threads, best and median of {args.repeats} (warm-up incl. compile {warm:.2f} s)")
    print(f"{'method':40s} {'best ms':>9s} {'median ms':>10s}")
    for k in methods:
        print(f"{k:40s} {best[k] * 1e3:9.1f} {med[k] * 1e3:10.1f}")
    print()
    print("ratio (baseline time / fastlin time; > 1 means fastlin is faster), best / median:")
    pairs = [
        ("sklearn calibration_curve", "fastlin reliability_table", 10.0),
        ("numpy.histogram (counts only)", "fastlin reliability_table", 1.0),
        ("sklearn calibration_curve", "fastlin reliability_table, 1 thread", None),
        ("numpy.histogram (counts only)", "fastlin reliability_table, 1 thread", None),
        ("sklearn calibration_curve quantile", "fastlin quantile", None),
    ]
    for base, mine, target in pairs:
        r_best = best[base] / best[mine]
        r_med = med[base] / med[mine]
        goal = f"  (goal >= {target:g}: {'met' if min(r_best, r_med) >= target else 'NOT met'})" \
            if target else ""
        print(f"  {base} / {mine}: {r_best:6.2f} / {r_med:6.2f}{goal}")

    t = ours()
    ece = t.ece()
    ref = ece_reference(p, y, t.edges)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=nb)
    m = t.count > 0
    print()
    print(f"ECE fastlin {ece:.17g}  NumPy reference {ref:.17g}  |diff| {abs(ece - ref):.3g}"
          f"  ({'ok' if abs(ece - ref) <= 1e-12 else 'FAIL'}, tolerance 1e-12)")
    print(f"max |prob_true diff| {np.abs(t.accuracy[m] - prob_true).max():.3g}, "
          f"max |prob_pred diff| {np.abs(t.mean_confidence[m] - prob_pred).max():.3g} "
          "vs calibration_curve")


if __name__ == "__main__":
    main()
