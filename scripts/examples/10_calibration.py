"""Calibration bins with uneven edges: reliability table, ECE, MCE.

Bins are right-closed, (lo, hi], with 0 in the first; custom edges are passed as
``edges=`` (to ``fastlin.reliability_table`` and ``fastlin.CalibrationStats``), which also
fixes them before any row is seen, so states built from different chunks merge. First the
five-prediction worked example with edges 0, 0.5, 0.75, 1; then an overconfident
classifier on 20000 rows with edges that are finer where its predictions crowd.

    python scripts/examples/10_calibration.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from scipy.special import expit, logit
from sklearn.metrics import brier_score_loss, log_loss

import fastlin
from _gallery import parse_out
from fastlin.edges import plot

NAME = Path(__file__).stem
EDGES = [0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.98, 1.0]


def numpy_table(y, p, edges):
    """Per-bin count, mean confidence and fraction of positives, right-closed bins."""
    edges = np.asarray(edges)
    idx = np.searchsorted(edges[1:-1], p, side="left")
    k = edges.size - 1
    count = np.bincount(idx, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, weights=p, minlength=k) / count
        frac = np.bincount(idx, weights=y, minlength=k) / count
    return count, conf, frac


def main(argv=None):
    args = parse_out(__doc__, argv)

    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.4])
    correct = np.array([1, 1, 0, 1, 0])
    t = fastlin.reliability_table(correct, confidence, edges=[0.0, 0.5, 0.75, 1.0], mode="positive")
    print("worked example, edges 0, 0.5, 0.75, 1:")
    print(t)
    print(f"ECE {t.ece():.4f}, MCE {t.mce():.4f}")
    # Hand-computed: ECE = (1 * 0.4 + 2 * 0.15 + 2 * 0.15) / 5 = 0.2, MCE = 0.4.
    np.testing.assert_array_equal(t.count, [1, 2, 2])
    np.testing.assert_allclose(t.mean_confidence, [0.4, 0.65, 0.85], rtol=1e-15)
    np.testing.assert_allclose(t.accuracy, [0.0, 0.5, 1.0], rtol=1e-15)
    np.testing.assert_allclose([t.ece(), t.mce()], [0.2, 0.4], rtol=1e-14)

    rng = np.random.default_rng(10)
    n = 20000
    q = rng.beta(0.6, 0.6, n)  # the true probability of class 1
    y = (rng.random(n) < q).astype(int)
    p = expit(1.6 * logit(np.clip(q, 1e-6, 1 - 1e-6)))  # pushed towards 0 and 1
    state = fastlin.CalibrationStats(edges=EDGES, mode="positive")
    halves = [fastlin.CalibrationStats(edges=EDGES, mode="positive") for _ in range(2)]
    for i, (yc, pc) in enumerate(zip(np.array_split(y, 8), np.array_split(p, 8))):
        state.update(pc, yc)
        halves[i % 2].update(pc, yc)
    result = state.finalize()
    merged = halves[0].merge(halves[1]).finalize()
    print(f"\noverconfident classifier, {n} rows in 8 chunks, {len(EDGES) - 1} uneven bins:")
    print(result)

    count, conf, frac = numpy_table(y, p, EDGES)
    table = result.table
    np.testing.assert_array_equal(table.count, count)
    # Per-bin sums of up to 20000 values in a different order than NumPy's.
    np.testing.assert_allclose(table.mean_confidence, conf, rtol=1e-12)
    np.testing.assert_allclose(table.accuracy, frac, rtol=1e-12)
    ece = np.sum(count / n * np.abs(frac - conf))
    np.testing.assert_allclose(result.ece, ece, rtol=1e-12)
    np.testing.assert_allclose(result.mce, np.max(np.abs(frac - conf)), rtol=1e-12)
    np.testing.assert_allclose(result.brier_score, brier_score_loss(y, p), rtol=1e-12)
    np.testing.assert_allclose(result.nll, log_loss(y, p), rtol=1e-12)
    np.testing.assert_array_equal(merged.table.count, table.count)
    np.testing.assert_allclose(merged.ece, result.ece, rtol=1e-12)
    print(f"NumPy: ECE {ece:.6f}; merged halves: ECE {merged.ece:.6f}")

    path = plot.plot_reliability(
        table, args.out / f"{NAME}.png", title="overconfident classifier, uneven bins"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
