"""Reliability tables of binary probabilities: fastlin against scikit-learn's
``calibration_curve`` and ``numpy.histogram``.

fastlin's table in ``mode="positive"`` is what ``calibration_curve`` computes, plus counts
and empty bins; ``numpy.histogram`` gives the counts alone (no sums, no checks).
"""

import numpy as np
from sklearn.calibration import calibration_curve

import fastlin
from fastlin import CalibrationStats, reliability_table


def binary_probabilities(n, seed=0):
    """(y int64 labels, p probabilities) of ``n`` rows, y drawn with probability p ** 1.2."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p**1.2).astype(np.int64)
    return y, p


def fastlin_table(y, p, n_bins, strategy="uniform"):
    return reliability_table(y, p, n_bins, strategy=strategy, mode="positive")


def fastlin_table_1_thread(y, p, n_bins):
    with fastlin.threads(1):
        return fastlin_table(y, p, n_bins)


def fastlin_stats_with_scores(y, p):
    """Table plus Brier score and log-loss in the same pass (a logarithm per row)."""
    return CalibrationStats(mode="top_label").update(p, y).finalize()


def sklearn_curve(y, p, n_bins, strategy="uniform"):
    return calibration_curve(y, p, n_bins=n_bins, strategy=strategy)


def numpy_histogram(p, n_bins):
    """Counts alone: no sums, no checks."""
    return np.histogram(p, bins=n_bins, range=(0.0, 1.0))


def ece_reference(p, y, edges):
    """sum_b (n_b / n) |acc_b - conf_b| with numpy.searchsorted and bincount."""
    b = np.searchsorted(edges[1:-1], p, side="left")
    n_bins = len(edges) - 1
    count = np.bincount(b, minlength=n_bins).astype(np.float64)
    s_conf = np.bincount(b, weights=p, minlength=n_bins)
    s_true = np.bincount(b, weights=y.astype(np.float64), minlength=n_bins)
    m = count > 0
    return float(np.sum(count[m] / len(p) * np.abs(s_true[m] / count[m] - s_conf[m] / count[m])))
