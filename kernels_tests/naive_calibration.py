"""Slow, obviously-correct NumPy references for the calibration histograms and scores."""

import numpy as np


def bin_index(conf, edges):
    """Right-closed bins (lo, hi] with 0 in the first: inner edges strictly below conf."""
    return np.searchsorted(np.asarray(edges)[1:-1], np.asarray(conf, dtype=np.float64), side="left")


def histogram(conf, correct, edges, w=None):
    """(count, weight, sum w conf, sum w correct) per bin, by bincount."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    n_bins = len(edges) - 1
    w = np.ones_like(conf) if w is None else np.asarray(w, dtype=np.float64)
    b = bin_index(conf, edges)
    return (
        np.bincount(b, minlength=n_bins).astype(np.float64),
        np.bincount(b, weights=w, minlength=n_bins),
        np.bincount(b, weights=w * conf, minlength=n_bins),
        np.bincount(b, weights=w * correct, minlength=n_bins),
    )


def histogram_mirrored(conf, edges):
    """Counts from ``numpy.histogram``: its bins are [lo, hi) with the last closed, so
    binning -conf against the negated, reversed edges gives (lo, hi] with 0 in the first."""
    counts, _ = np.histogram(-np.asarray(conf, dtype=np.float64), bins=-np.asarray(edges)[::-1])
    return counts[::-1]


def groups(p, y, mode):
    """List of (confidence, correct) pairs, one per histogram, from first principles."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y)
    if p.ndim == 1:
        y = y.astype(np.float64)
        if mode == "positive":
            return [(p, y)]
        if mode == "top_label":
            P = np.column_stack([1.0 - p, p])
        else:
            return [(1.0 - p, 1.0 - y), (p, y)]
    else:
        P = p
    yk = y.astype(np.int64)
    if mode == "top_label":
        pred = np.argmax(P, axis=1)  # the first maximum
        return [(P[np.arange(len(P)), pred], (pred == yk).astype(np.float64))]
    return [(P[:, k], (yk == k).astype(np.float64)) for k in range(P.shape[1])]


def ece(conf, correct, edges, w=None):
    """sum_b (W_b / W) |acc_b - conf_b| over non-empty bins, a bin at a time."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    w = np.ones_like(conf) if w is None else np.asarray(w, dtype=np.float64)
    b = bin_index(conf, edges)
    total = w.sum()
    out = 0.0
    for k in range(len(edges) - 1):
        m = b == k
        wk = w[m].sum()
        if wk > 0:
            out += wk / total * abs(np.sum(w[m] * correct[m]) / wk - np.sum(w[m] * conf[m]) / wk)
    return out


def mce(conf, correct, edges, w=None):
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    w = np.ones_like(conf) if w is None else np.asarray(w, dtype=np.float64)
    b = bin_index(conf, edges)
    gaps = []
    for k in range(len(edges) - 1):
        m = b == k
        wk = w[m].sum()
        if wk > 0:
            gaps.append(abs(np.sum(w[m] * correct[m]) / wk - np.sum(w[m] * conf[m]) / wk))
    return max(gaps)


def brier(p, y, w=None):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        terms = (p - np.asarray(y, dtype=np.float64)) ** 2
    else:
        onehot = np.eye(p.shape[1])[np.asarray(y, dtype=np.int64)]
        terms = ((p - onehot) ** 2).sum(axis=1) * (0.5 if p.shape[1] == 2 else 1.0)
    return np.average(terms, weights=w)


def nll(p, y, w=None, eps=1e-15):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        y = np.asarray(y, dtype=np.float64)
        pt = np.where(y == 1, p, 1.0 - p)
    else:
        pt = p[np.arange(len(p)), np.asarray(y, dtype=np.int64)]
    return np.average(-np.log(np.maximum(pt, eps)), weights=w)
