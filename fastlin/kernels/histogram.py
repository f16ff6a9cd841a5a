"""Calibration histograms: per-bin count, weight, sum of confidence and sum of correctness.

One pass over the rows bins each confidence into right-closed bins ``(lo, hi]`` (0 goes
in the first bin), checks the inputs, and optionally sums the Brier and log-loss terms.
Parallelism is over contiguous row ranges (``bounds``), one private slice of every
``*_parts`` array per range; the caller merges the parts in a fixed order.

Each part walks its rows in blocks of ``BLOCK`` with three loops per block over small
per-part scratch arrays (a few BLOCK-long vectors, allocated once per part):

1. prepare: each row's confidence and correctness, and whether the row is valid
   (selects only, so LLVM vectorises it);
2. bin: the bin index of each confidence (for uniform bins arithmetic, vectorised; for
   other edges a branch-free binary search);
3. scatter: add the rows into a local histogram.

Keeping the binning apart from the scatter matters: with both in one loop, every
read-modify-write of ``hist[b]`` waits on the long chain that computes ``b``, and the same
work measured two to four times slower. Invalid rows are sent to an extra trash bin
(index ``n_bins``) instead of branching around them. The local histogram is flushed into
the part's float64 totals after every block, so each total is a sum of block sums:
rounding error grows like (BLOCK + n / BLOCK) ulp rather than n ulp.

Layouts shared by both kernels:

- ``edges`` (G, n_bins + 1) float64: one row of non-decreasing edges per group, 0 first
  and 1 last. A group is the single top-label (or positive-class) histogram, or one class
  in class-wise mode. With ``uniform`` the edges are not read: they are, by definition,
  ``arange(n_bins + 1) * (1 / n_bins)`` with the last set to 1 (bitwise what
  ``numpy.linspace(0, 1, n_bins + 1)`` returns), and the kernel recomputes the two it
  needs for each row.
- ``hist_parts`` (P, G, n_bins, 4) float64, accumulated into: per bin the raw row count,
  the sum of weights, the weighted sum of confidence and the weighted sum of correctness.
  Counts are integers below 2**53, so they are exact.
- ``score_parts`` (P, 2) float64, accumulated into: weighted sums of the Brier term and of
  the clipped negative log-likelihood (only when ``with_scores``).
- ``bad_parts`` (P, 2) int64, accumulated into: how many rows had a probability that is NaN
  or outside [0, 1], and how many had a label that is not a valid class. Such rows are left
  out of every sum; the caller raises when either count is non-zero.

Bin index: for uniform bins it is ``ceil(x * n_bins) - 1``, then moved by one step against
the actual edges, because ``x * n_bins`` and the edge ``b * (1 / n_bins)`` are rounded
independently and may disagree for a value exactly on an edge. For other edges it is a
binary search for the number of inner edges strictly below ``x``, which is what
``numpy.searchsorted(edges[1:-1], x, side="left")`` returns.
"""

import numpy as np
from numba import prange

from .._numba import jit, pjit

BLOCK = 2048
"""Rows binned into a part's local histogram before it is flushed into the totals."""

POSITIVE = 0
"""Binary mode: confidence is the probability of class 1, correctness is ``y == 1``."""
TOP_LABEL = 1
"""Confidence is the largest class probability, correctness is ``argmax == y``."""
CLASSWISE = 2
"""One histogram per class k: confidence ``p_k``, correctness ``y == k``."""


@jit
def _bin_uniform_block(conf, idx, n, nb, step):
    """idx[k] = bin of conf[k] for uniform edges b * step, for rows with idx[k] == 0.

    ceil(c nb) - 1, then one step of correction against the edges: c * nb and the edge
    b * step are rounded independently and may disagree for a value exactly on an edge.
    Rows marked invalid (idx[k] == nb) keep that mark. No gather and no branch: LLVM
    vectorises this loop.
    """
    for k in range(n):
        c = conf[k]
        b = min(max(np.ceil(c * nb), 1.0), nb) - 1.0
        lo = b * step if b > 0.0 else -1.0
        hi = (b + 1.0) * step if b < nb - 1.0 else 2.0
        b = b - (c <= lo) + (c > hi)
        idx[k] = np.int64(b) if idx[k] == 0 else idx[k]


@jit
def _padded_edges(edges):
    """Edges with +inf appended, long enough for every power-of-two search step."""
    n_bins = edges.shape[1] - 1
    width = 2
    while width <= n_bins:
        width *= 2
    pad = np.full((edges.shape[0], 2 * width), np.inf)
    pad[:, :n_bins] = edges[:, :n_bins]
    return pad


@jit
def _search_step(b, h, e, c):
    """b + h when e[b + h] < c, else b (e padded with +inf)."""
    return b + (h & (np.uint64(0) - np.uint64(e[b + h] < c)))


@jit
def _bin_search_block(conf, idx, n, e, n_bins):
    """idx[k] = number of inner edges e[1..n_bins-1] strictly below conf[k].

    ``e`` is a row of ``_padded_edges``. Binary search over power-of-two steps, without
    branches on the data: each step adds ``h`` under a bit mask (written as a select,
    LLVM turns it back into a branch that a random confidence mispredicts at every level).
    The steps up to 256 are unrolled behind loop-invariant guards, in the body of the row
    loop itself: as a runtime loop, or moved into a function of its own (even inlined),
    the same search ran five times slower.
    """
    one = np.uint64(1)
    m = np.uint64(n_bins - 1)
    top = np.uint64(512)
    while top <= m >> one:
        top <<= one
    for k in range(n):
        c = conf[k]
        b = np.uint64(0)
        if m >= np.uint64(512):
            h = top
            while h > np.uint64(256):
                b = _search_step(b, h, e, c)
                h >>= one
        if m >= np.uint64(256):
            b = _search_step(b, np.uint64(256), e, c)
        if m >= np.uint64(128):
            b = _search_step(b, np.uint64(128), e, c)
        if m >= np.uint64(64):
            b = _search_step(b, np.uint64(64), e, c)
        if m >= np.uint64(32):
            b = _search_step(b, np.uint64(32), e, c)
        if m >= np.uint64(16):
            b = _search_step(b, np.uint64(16), e, c)
        if m >= np.uint64(8):
            b = _search_step(b, np.uint64(8), e, c)
        if m >= np.uint64(4):
            b = _search_step(b, np.uint64(4), e, c)
        if m >= np.uint64(2):
            b = _search_step(b, np.uint64(2), e, c)
        if m >= one:
            b = _search_step(b, one, e, c)
        idx[k] = np.int64(b) if idx[k] == 0 else idx[k]


@jit
def _bin_block(conf, idx, n, uniform, e, n_bins, nb, step):
    if uniform:
        _bin_uniform_block(conf, idx, n, nb, step)
    else:
        _bin_search_block(conf, idx, n, e, n_bins)


@jit
def _scatter(idx, conf, hit, w, r0, n, weighted, local):
    """local[idx[k]] += (1, w, w conf, w hit) for the first n rows of the block."""
    if weighted:
        for k in range(n):
            b = idx[k]
            wk = w[r0 + k]
            local[b, 0] += 1.0
            local[b, 1] += wk
            local[b, 2] += wk * conf[k]
            local[b, 3] += wk * hit[k]
    else:
        # The weight slot is the count; _flush copies it.
        for k in range(n):
            b = idx[k]
            local[b, 0] += 1.0
            local[b, 2] += conf[k]
            local[b, 3] += hit[k]


@jit
def _flush(local, hist, weighted):
    """hist += local without the trash bin; local = 0."""
    for g in range(hist.shape[0]):
        for b in range(hist.shape[1]):
            hist[g, b, 0] += local[g, b, 0]
            hist[g, b, 1] += local[g, b, 1] if weighted else local[g, b, 0]
            hist[g, b, 2] += local[g, b, 2]
            hist[g, b, 3] += local[g, b, 3]
    local[:] = 0.0


@jit
def _nll_term(p_true, eps):
    """-log(max(p_true, eps)): clipped so a probability of 0 costs -log(eps), not inf."""
    return -np.log(max(p_true, eps))


@jit
def _prepare_binary(p, y, r0, r1, flip_all, flip_low, n_bins, idx, conf, hit):
    """Confidence and correctness of rows r0..r1 of binary input; idx[k] = 0, or n_bins
    for a row with a bad probability or label.

    The confidence is p, or 1 - p when flipped: always with ``flip_all`` (class 0 of the
    class-wise mode), or when p <= 1/2 with ``flip_low`` (top-label: class 1 is predicted
    only when p > 1/2, as argmax of [1 - p, p] takes the first maximum). Correctness is
    flipped alike. Selects only, so LLVM vectorises the loop.

    Returns the numbers of bad probabilities and bad labels.
    """
    n_bad_p = 0
    n_bad_y = 0
    for k in range(r1 - r0):
        x = np.float64(p[r0 + k])
        yv = y[r0 + k]
        ok_p = (x >= 0.0) & (x <= 1.0)
        ok_y = (yv == 0) | (yv == 1)
        t = 1.0 if yv == 1 else 0.0
        flip = flip_all | (flip_low & (x <= 0.5))
        c = 1.0 - x if flip else x
        idx[k] = 0 if ok_p & ok_y else n_bins
        conf[k] = c if ok_p else 0.0
        hit[k] = 1.0 - t if flip else t
        n_bad_p += not ok_p
        n_bad_y += ok_p & (not ok_y)
    return n_bad_p, n_bad_y


@jit
def _scores_binary(p, y, w, r0, r1, weighted, eps):
    """Weighted sums of (p - y)^2 and of the clipped log-loss over the valid rows."""
    brier = 0.0
    nll = 0.0
    for i in range(r0, r1):
        x = np.float64(p[i])
        yv = y[i]
        if not ((x >= 0.0) & (x <= 1.0) & ((yv == 0) | (yv == 1))):
            continue
        wi = w[i] if weighted else 1.0
        # A select, not a branch: the label is as unpredictable as a coin.
        pt = x if yv == 1 else 1.0 - x
        d = 1.0 - pt
        brier += wi * d * d
        nll += wi * _nll_term(pt, eps)
    return brier, nll


@pjit
def binary_update(
    p, y, w, edges, bounds, hist_parts, score_parts, bad_parts, mode, uniform, with_scores, eps
):
    """Fold binary predictions (probability of class 1) into per-part calibration bins.

    Parameters
    ----------
    p : (n,) float32 or float64
        Probability of class 1; valid values are in [0, 1].
    y : (n,) integer, unsigned or float
        True labels, 0 or 1.
    w : (n,) float64 sample weights, or an empty array for unit weights
    edges : (G, n_bins + 1) float64
        G is 1 for ``POSITIVE`` and ``TOP_LABEL`` and 2 for ``CLASSWISE``.
    bounds : (P + 1,) int64 row boundaries of the P parts
    hist_parts : (P, G, n_bins, 4) float64
    score_parts : (P, 2) float64
    bad_parts : (P, 2) int64
    mode : int
        ``POSITIVE``: confidence p, correctness y. ``TOP_LABEL``: confidence max(p, 1 - p),
        predicted class 1 when p > 0.5 (class 0 on a tie, as ``argmax`` of [1 - p, p]).
        ``CLASSWISE``: group 0 bins 1 - p against y == 0, group 1 bins p against y == 1.
    uniform : bool
        Uniform bins on [0, 1] (``edges`` is then not read).
    with_scores : bool
        Also sum w (p - y)^2 and w * -log(max(p_true, eps)) (p_true = p or 1 - p).
    eps : float
        Clipping floor of the probability inside the logarithm.
    """
    G = edges.shape[0]
    n_bins = edges.shape[1] - 1
    nb = np.float64(n_bins)
    step = 1.0 / nb
    weighted = w.shape[0] > 0
    pad = _padded_edges(edges)
    for part in prange(bounds.shape[0] - 1):
        local = np.zeros((G, n_bins + 1, 4))
        idx = np.empty(BLOCK, np.int64)
        conf = np.empty(BLOCK)
        hit = np.empty(BLOCK)
        n_bad_p = 0
        n_bad_y = 0
        brier = 0.0
        nll = 0.0
        for r0 in range(bounds[part], bounds[part + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[part + 1])
            for g in range(G):
                flip_all = mode == CLASSWISE and g == 0
                bp, by = _prepare_binary(
                    p, y, r0, r1, flip_all, mode == TOP_LABEL, n_bins, idx, conf, hit
                )
                _bin_block(conf, idx, r1 - r0, uniform, pad[g], n_bins, nb, step)
                _scatter(idx, conf, hit, w, r0, r1 - r0, weighted, local[g])
                if g == 0:
                    n_bad_p += bp
                    n_bad_y += by
            if with_scores:
                b_sum, l_sum = _scores_binary(p, y, w, r0, r1, weighted, eps)
                brier += b_sum
                nll += l_sum
            _flush(local, hist_parts[part], weighted)
        score_parts[part, 0] += brier
        score_parts[part, 1] += nll
        bad_parts[part, 0] += n_bad_p
        bad_parts[part, 1] += n_bad_y


@jit
def _check_rows(P, y, r0, r1, ok, arg):
    """ok[k]: row r0 + k has all probabilities in [0, 1] and a label in 0..K-1.

    arg[k] is the first column holding the row maximum. Returns the bad-row counts.
    """
    K = P.shape[1]
    n_bad_p = 0
    n_bad_y = 0
    for k in range(r1 - r0):
        i = r0 + k
        row_ok = True
        best = -1.0
        a = 0
        for j in range(K):
            x = np.float64(P[i, j])
            row_ok &= (x >= 0.0) & (x <= 1.0)
            if x > best:
                best = x
                a = j
        yv = y[i]
        y_ok = (yv >= 0) & (yv < K)
        if y_ok:
            y_ok = np.int64(yv) == yv
        ok[k] = row_ok & y_ok
        arg[k] = a
        n_bad_p += not row_ok
        n_bad_y += row_ok & (not y_ok)
    return n_bad_p, n_bad_y


@jit
def _prepare_multiclass(P, y, r0, r1, group, classwise, n_bins, ok, arg, idx, conf, hit):
    """Confidence and correctness of rows r0..r1 for one group; idx[k] = 0, or n_bins for
    an invalid row."""
    for k in range(r1 - r0):
        i = r0 + k
        if ok[k]:
            kt = np.int64(y[i])
            if classwise:
                c = np.float64(P[i, group])
                h = 1.0 if kt == group else 0.0
            else:
                c = np.float64(P[i, arg[k]])
                h = 1.0 if kt == arg[k] else 0.0
            idx[k] = 0
            conf[k] = c
            hit[k] = h
        else:
            idx[k] = n_bins
            conf[k] = 0.0
            hit[k] = 0.0


@jit
def _scores_multiclass(P, y, w, r0, r1, ok, weighted, eps):
    """Weighted sums of sum_k (P[i, k] - [y == k])^2 (halved when K == 2) and log-loss."""
    K = P.shape[1]
    scale = 0.5 if K == 2 else 1.0
    brier = 0.0
    nll = 0.0
    for k in range(r1 - r0):
        if not ok[k]:
            continue
        i = r0 + k
        kt = np.int64(y[i])
        wi = w[i] if weighted else 1.0
        sq = 0.0
        for j in range(K):
            # Summed directly, not as sum p^2 - 2 p_y + 1, which cancels to noise when
            # the predictions are nearly perfect.
            d = np.float64(P[i, j]) - (1.0 if j == kt else 0.0)
            sq += d * d
        brier += wi * scale * sq
        nll += wi * _nll_term(np.float64(P[i, kt]), eps)
    return brier, nll


@pjit
def multiclass_update(
    P, y, w, edges, bounds, hist_parts, score_parts, bad_parts, classwise, uniform, with_scores, eps
):
    """Fold rows of class probabilities into per-part calibration bins.

    Parameters
    ----------
    P : (n, K) float32 or float64
        Class probabilities; valid values are in [0, 1] (row sums are not checked).
    y : (n,) integer, unsigned or float
        True class indices in 0..K-1.
    w : (n,) float64 sample weights, or an empty array for unit weights
    edges : (G, n_bins + 1) float64
        G is 1 for top-label and K for class-wise binning.
    bounds : (P + 1,) int64 row boundaries of the P parts
    hist_parts : (P, G, n_bins, 4) float64
    score_parts : (P, 2) float64
    bad_parts : (P, 2) int64
    classwise : bool
        False: one histogram of max_k P[i, k] against argmax == y (the first maximum is
        the prediction). True: histogram k bins P[i, k] against y == k.
    uniform : bool
        Uniform bins on [0, 1] (``edges`` is then not read).
    with_scores : bool
        Also sum the Brier term w * sum_k (P[i, k] - [y == k])^2 (halved when K == 2, as
        scikit-learn does for binary problems) and w * -log(max(P[i, y], eps)).
    eps : float
        Clipping floor of the probability inside the logarithm.
    """
    G = edges.shape[0]
    n_bins = edges.shape[1] - 1
    nb = np.float64(n_bins)
    step = 1.0 / nb
    weighted = w.shape[0] > 0
    pad = _padded_edges(edges)
    for part in prange(bounds.shape[0] - 1):
        local = np.zeros((G, n_bins + 1, 4))
        idx = np.empty(BLOCK, np.int64)
        conf = np.empty(BLOCK)
        hit = np.empty(BLOCK)
        ok = np.empty(BLOCK, np.bool_)
        arg = np.empty(BLOCK, np.int64)
        n_bad_p = 0
        n_bad_y = 0
        brier = 0.0
        nll = 0.0
        for r0 in range(bounds[part], bounds[part + 1], BLOCK):
            r1 = min(r0 + BLOCK, bounds[part + 1])
            bp, by = _check_rows(P, y, r0, r1, ok, arg)
            n_bad_p += bp
            n_bad_y += by
            for g in range(G):
                _prepare_multiclass(P, y, r0, r1, g, classwise, n_bins, ok, arg, idx, conf, hit)
                _bin_block(conf, idx, r1 - r0, uniform, pad[g], n_bins, nb, step)
                _scatter(idx, conf, hit, w, r0, r1 - r0, weighted, local[g])
            if with_scores:
                b_sum, l_sum = _scores_multiclass(P, y, w, r0, r1, ok, weighted, eps)
                brier += b_sum
                nll += l_sum
            _flush(local, hist_parts[part], weighted)
        score_parts[part, 0] += brier
        score_parts[part, 1] += nll
        bad_parts[part, 0] += n_bad_p
        bad_parts[part, 1] += n_bad_y
