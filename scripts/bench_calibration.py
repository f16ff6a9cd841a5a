"""Reliability table of 10**7 binary probabilities: fastlin vs scikit-learn and NumPy.

Measures, in one run and interleaved (so that load from other processes hits every method
alike):

- ``fastlin.reliability_table(y, p, 10, mode="positive")`` (what
  ``calibration_curve`` computes, plus counts and empty bins), on all threads and on one;
- ``sklearn.calibration.calibration_curve(y, p, n_bins=10)``;
- ``numpy.histogram(p, bins=10, range=(0, 1))``: counts alone, no sums, no checks;
- the same for quantile bins against ``calibration_curve(strategy="quantile")``.

Prints best-of-N times and the ratios baseline / fastlin (above 1: fastlin is faster), and
checks the ECE against a NumPy reference (|difference| <= 1e-12).

    python -m scripts.bench_calibration [--n 10000000] [--repeats 7] [--n-bins 10]
"""

import argparse
import time

import numpy as np

from benchmarks.cases.calibration import (
    binary_probabilities,
    ece_reference,
    fastlin_table,
    fastlin_table_1_thread,
    numpy_histogram,
    sklearn_curve,
)
from benchmarks.cases.timing import interleaved_times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--n-bins", type=int, default=10)
    args = ap.parse_args()

    import fastlin

    y, p = binary_probabilities(args.n)
    nb = args.n_bins

    methods = {
        "fastlin reliability_table": lambda: fastlin_table(y, p, nb),
        "fastlin reliability_table, 1 thread": lambda: fastlin_table_1_thread(y, p, nb),
        "sklearn calibration_curve": lambda: sklearn_curve(y, p, nb),
        "numpy.histogram (counts only)": lambda: numpy_histogram(p, nb),
        "fastlin quantile": lambda: fastlin_table(y, p, nb, "quantile"),
        "sklearn calibration_curve quantile": lambda: sklearn_curve(y, p, nb, "quantile"),
    }
    t0 = time.perf_counter()
    for f in methods.values():  # warm-up: compile (or load from cache) first
        f()
    warm = time.perf_counter() - t0
    times = dict(zip(methods, interleaved_times(list(methods.values()), args.repeats)))
    best = {k: min(v) for k, v in times.items()}
    med = {k: float(np.median(v)) for k, v in times.items()}

    print(
        f"n = {args.n:,} binary probabilities, {nb} bins, {fastlin._threads.n_threads()} "
        f"threads, best and median of {args.repeats} (warm-up incl. compile {warm:.2f} s)"
    )
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
        goal = (
            f"  (goal >= {target:g}: {'met' if min(r_best, r_med) >= target else 'NOT met'})"
            if target
            else ""
        )
        print(f"  {base} / {mine}: {r_best:6.2f} / {r_med:6.2f}{goal}")

    t = fastlin_table(y, p, nb)
    ece = t.ece()
    ref = ece_reference(p, y, t.edges)
    prob_true, prob_pred = sklearn_curve(y, p, nb)
    m = t.count > 0
    print()
    print(
        f"ECE fastlin {ece:.17g}  NumPy reference {ref:.17g}  |diff| {abs(ece - ref):.3g}"
        f"  ({'ok' if abs(ece - ref) <= 1e-12 else 'FAIL'}, tolerance 1e-12)"
    )
    print(
        f"max |prob_true diff| {np.abs(t.accuracy[m] - prob_true).max():.3g}, "
        f"max |prob_pred diff| {np.abs(t.mean_confidence[m] - prob_pred).max():.3g} "
        "vs calibration_curve"
    )


if __name__ == "__main__":
    main()
