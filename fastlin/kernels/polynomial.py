"""Polynomial feature expansion, and its Gram statistics without the expanded matrix.

A polynomial term is described by its parent term and one input feature: the term for
the monomial (c_0, ..., c_k) is the term (c_0, ..., c_{k-1}) times feature c_k. Terms
are listed by increasing degree (index 0 is the constant), so one left-to-right pass
over a row's term buffer computes every term with one multiplication each. ``select``
picks the output columns from that full list (to drop the constant or degrees below a
minimum).

``poly_gram_update`` expands ``GBLOCK`` rows at a time into a feature-major scratch
panel and folds the panel into XᵀWX, XᵀWY, YᵀWY and the sums, so the expanded matrix
never exists beyond one panel per thread.
"""

from numba import prange

from .._numba import jit, pjit

GBLOCK = 64
"""Rows per expanded panel in ``poly_gram_update``."""


@jit
def _expand_row(X, i, parent, feat, buf):
    buf[0] = 1.0
    for k in range(1, parent.shape[0]):
        buf[k] = buf[parent[k]] * X[i, feat[k]]


@pjit
def poly_expand(X, parent, feat, select, bounds, buf_parts, out):
    """out[i, c] = term ``select[c]`` of row i of X.

    Parameters
    ----------
    X : (n, d) float64 (other dtypes compile another specialisation)
    parent, feat : (n_terms,) int64 term table (entry 0, the constant, is unused)
    select : (n_out,) int64 indices into the term table
    bounds : (P + 1,) int64 row boundaries
    buf_parts : (P, n_terms) float64 scratch
    out : (n, n_out) float64 output
    """
    n_out = select.shape[0]
    for p in prange(bounds.shape[0] - 1):
        buf = buf_parts[p]
        for i in range(bounds[p], bounds[p + 1]):
            _expand_row(X, i, parent, feat, buf)
            for c in range(n_out):
                out[i, c] = buf[select[c]]


@jit
def _syrk_panel(A, B, G, kb):
    """G[i, j] += sum_k A[i, k] * B[j, k] over k < kb for j >= i (4 x 4 register tiles)."""
    d = A.shape[0]
    for i0 in range(0, d, 4):
        for j0 in range(i0, d, 4):
            if i0 + 4 <= d and j0 + 4 <= d:
                a0 = A[i0]
                a1 = A[i0 + 1]
                a2 = A[i0 + 2]
                a3 = A[i0 + 3]
                b0 = B[j0]
                b1 = B[j0 + 1]
                b2 = B[j0 + 2]
                b3 = B[j0 + 3]
                s00 = 0.0
                s01 = 0.0
                s02 = 0.0
                s03 = 0.0
                s10 = 0.0
                s11 = 0.0
                s12 = 0.0
                s13 = 0.0
                s20 = 0.0
                s21 = 0.0
                s22 = 0.0
                s23 = 0.0
                s30 = 0.0
                s31 = 0.0
                s32 = 0.0
                s33 = 0.0
                for k in range(kb):
                    x0 = a0[k]
                    x1 = a1[k]
                    x2 = a2[k]
                    x3 = a3[k]
                    y0 = b0[k]
                    y1 = b1[k]
                    y2 = b2[k]
                    y3 = b3[k]
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s03 += x0 * y3
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s13 += x1 * y3
                    s20 += x2 * y0
                    s21 += x2 * y1
                    s22 += x2 * y2
                    s23 += x2 * y3
                    s30 += x3 * y0
                    s31 += x3 * y1
                    s32 += x3 * y2
                    s33 += x3 * y3
                G[i0, j0] += s00
                G[i0, j0 + 1] += s01
                G[i0, j0 + 2] += s02
                G[i0, j0 + 3] += s03
                G[i0 + 1, j0] += s10
                G[i0 + 1, j0 + 1] += s11
                G[i0 + 1, j0 + 2] += s12
                G[i0 + 1, j0 + 3] += s13
                G[i0 + 2, j0] += s20
                G[i0 + 2, j0 + 1] += s21
                G[i0 + 2, j0 + 2] += s22
                G[i0 + 2, j0 + 3] += s23
                G[i0 + 3, j0] += s30
                G[i0 + 3, j0 + 1] += s31
                G[i0 + 3, j0 + 2] += s32
                G[i0 + 3, j0 + 3] += s33
            else:
                for i in range(i0, min(i0 + 4, d)):
                    for j in range(j0, min(j0 + 4, d)):
                        s = 0.0
                        for k in range(kb):
                            s += A[i, k] * B[j, k]
                        G[i, j] += s


@pjit
def poly_gram_update(
    X,
    Y,
    w,
    parent,
    feat,
    select,
    bounds,
    buf_parts,
    E_parts,
    A_parts,
    xtx_parts,
    xty_parts,
    xs_parts,
    ys_parts,
    yty_parts,
    sw_parts,
):
    """Fold the polynomial expansion of X's rows into per-range Gram statistics.

    Parameters
    ----------
    X : (n, d) float64, float32 or integer
    Y : (n, t) float64 (t may be 0)
    w : (n,) float64 weights, or an empty array for unit weights
    parent, feat, select : int64 term table and output selection (see ``poly_expand``)
    bounds : (P + 1,) int64 row boundaries
    buf_parts : (P, n_terms) float64 scratch for one row's terms
    E_parts, A_parts : (P, n_out, GBLOCK) float64 scratch panels (expanded rows and their
        weighted copy; A is unused without weights)
    xtx_parts : (P, n_out, n_out) upper triangle accumulated; xty_parts : (P, n_out, t);
    xs_parts : (P, n_out); ys_parts : (P, t); yty_parts : (P, t, t) upper triangle;
    sw_parts : (P,); all float64, accumulated into
    """
    weighted = w.shape[0] > 0
    n_out = select.shape[0]
    t = Y.shape[1]
    for p in prange(bounds.shape[0] - 1):
        buf = buf_parts[p]
        E = E_parts[p]
        A = A_parts[p]
        G = xtx_parts[p]
        xty = xty_parts[p]
        xs = xs_parts[p]
        ys = ys_parts[p]
        yty = yty_parts[p]
        sw = 0.0
        for r0 in range(bounds[p], bounds[p + 1], GBLOCK):
            r1 = min(r0 + GBLOCK, bounds[p + 1])
            kb = r1 - r0
            for k in range(kb):
                _expand_row(X, r0 + k, parent, feat, buf)
                for c in range(n_out):
                    E[c, k] = buf[select[c]]
            if weighted:
                for c in range(n_out):
                    for k in range(kb):
                        A[c, k] = E[c, k] * w[r0 + k]
                W = A
            else:
                W = E
            _syrk_panel(W, E, G, kb)
            for c in range(n_out):
                s = 0.0
                for k in range(kb):
                    s += W[c, k]
                xs[c] += s
                for q in range(t):
                    s = 0.0
                    for k in range(kb):
                        s += W[c, k] * Y[r0 + k, q]
                    xty[c, q] += s
            for k in range(kb):
                wk = w[r0 + k] if weighted else 1.0
                sw += wk
                for q in range(t):
                    wy = wk * Y[r0 + k, q]
                    ys[q] += wy
                    for u in range(q, t):
                        yty[q, u] += wy * Y[r0 + k, u]
        sw_parts[p] += sw
