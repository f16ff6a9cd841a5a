"""Per-column weighted count, mean and M2 (sum of squared deviations) of a chunk of rows.

Each row range is processed in blocks of ``BLOCK`` rows: a block's mean is computed
first, then its M2 about that mean (two passes over a block that sits in cache), and the
block is merged into the range's running (count, mean, M2) by Chan's formula

    delta = mean_b - mean_a
    mean  = mean_a + delta * n_b / (n_a + n_b)
    M2    = M2_a + M2_b + delta**2 * n_a * n_b / (n_a + n_b)

No sum of squares is ever formed. Values are taken relative to a per-column ``shift``
chosen by the caller (a value near the column's mean), and each block's mean gets the
compensation term sum(w (x - mean)) / count of the corrected two-pass algorithm: the
block means and the deltas between them are then small numbers known to full relative
precision, so a column with mean 1e9 and standard deviation 1 keeps its variance to
~1e-15 rather than ~1e-8 (the error that rounding block means of 1e9 to 1.2e-7 would
feed into delta**2). NaN entries are skipped (counted per column), as scikit-learn's
StandardScaler does.
"""

from numba import prange

from .._numba import jit, pjit

BLOCK = 256
"""Rows per block: two passes over 256 rows stay in L1/L2 for a few hundred columns."""


@jit
def _block_moments(X, w, weighted, r0, r1, shift, cnt, mean, m2, corr):
    """Weighted count, mean of (x - shift) and M2 of rows r0..r1 per column, skipping NaN."""
    d = X.shape[1]
    for j in range(d):
        cnt[j] = 0.0
        mean[j] = 0.0
        m2[j] = 0.0
    for i in range(r0, r1):
        wi = w[i] if weighted else 1.0
        for j in range(d):
            x = X[i, j] - shift[j]
            ok = x == x
            cnt[j] += wi if ok else 0.0
            mean[j] += wi * x if ok else 0.0
    for j in range(d):
        mean[j] = mean[j] / cnt[j] if cnt[j] > 0.0 else 0.0
        corr[j] = 0.0
    for i in range(r0, r1):
        wi = w[i] if weighted else 1.0
        for j in range(d):
            x = X[i, j] - shift[j]
            ok = x == x
            dx = x - mean[j]
            corr[j] += wi * dx if ok else 0.0
            m2[j] += wi * dx * dx if ok else 0.0
    for j in range(d):
        if cnt[j] > 0.0:
            c = corr[j] / cnt[j]
            mean[j] += c
            m2[j] -= c * corr[j]
            if m2[j] < 0.0:
                m2[j] = 0.0


@jit
def chan_merge(cnt_a, mean_a, m2_a, cnt_b, mean_b, m2_b):
    """Merge (cnt_b, mean_b, m2_b) into (cnt_a, mean_a, m2_a) in place, per column."""
    for j in range(cnt_a.shape[0]):
        nb = cnt_b[j]
        if nb <= 0.0:
            continue
        na = cnt_a[j]
        if na <= 0.0:
            cnt_a[j] = nb
            mean_a[j] = mean_b[j]
            m2_a[j] = m2_b[j]
            continue
        n = na + nb
        delta = mean_b[j] - mean_a[j]
        f = nb / n
        mean_a[j] += delta * f
        m2_a[j] += m2_b[j] + delta * delta * na * f
        cnt_a[j] = n


@pjit
def moments_update(X, w, shift, bounds, scratch_parts, cnt_parts, mean_parts, m2_parts):
    """Fold rows of X (n, d) into per-range weighted moments of ``X - shift``.

    Parameters
    ----------
    X : (n, d) float64, float32 or integer, any layout (C order is the fast one)
    w : (n,) float64 weights, or an empty array for unit weights
    shift : (d,) float64, subtracted from every row (a value near each column's mean;
        it must be the same for all ranges that are merged with each other)
    bounds : (P + 1,) int64 row boundaries of the P ranges
    scratch_parts : (P, 4, d) float64 scratch for one block's moments
    cnt_parts, mean_parts, m2_parts : (P, d) float64, accumulated into (start from zeros):
        the per-column weight of non-NaN entries, their weighted mean (of ``X - shift``)
        and M2
    """
    weighted = w.shape[0] > 0
    for p in prange(bounds.shape[0] - 1):
        s = scratch_parts[p]
        for r0 in range(bounds[p], bounds[p + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[p + 1])
            _block_moments(X, w, weighted, r0, r1, shift, s[0], s[1], s[2], s[3])
            chan_merge(cnt_parts[p], mean_parts[p], m2_parts[p], s[0], s[1], s[2])
