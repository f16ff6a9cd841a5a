"""Gram statistics of MNIST-sized data: fastlin's kernel against NumPy's ``Xf.T @ Xf``.

Data: ``data.mnist_one_hot`` (60000 x 784 uint8 with 10 float64 one-hot targets).
"""

import numpy as np

from fastlin._threads import row_ranges, threads
from fastlin.kernels import gram as kgram


def fastlin_gram(X, Y, n_threads):
    """``gram_update`` (XᵀX upper triangle, XᵀY, sums, YᵀY) on ``n_threads`` threads,
    including scratch allocation and the merge of the per-thread parts."""
    n, d = X.shape
    t = Y.shape[1]
    with threads(n_threads):
        bounds = row_ranges(n, n_threads, kgram.BLOCK)
        p = bounds.shape[0] - 1
        (ps, pd), (as_, ad) = kgram.scratch_shapes(d, p, False, X.dtype in (np.uint8, np.int8))
        P, A = np.empty(ps, pd), np.empty(as_, ad)
        parts = [
            np.zeros((p, d, d)),
            np.zeros((p, d, t)),
            np.zeros((p, d)),
            np.zeros((p, t)),
            np.zeros((p, t, t)),
            np.zeros((p, 1)),
        ]
        kgram.gram_update(X, Y, np.empty(0), bounds, P, A, *parts)
        return [a.sum(axis=0) for a in parts]


def fastlin_gram_chunks(X, Y, n_threads, chunk_rows=1000):
    """``fastlin_gram`` over the rows in chunks, as a stream delivers them."""
    for s in range(0, X.shape[0], chunk_rows):
        fastlin_gram(X[s : s + chunk_rows], Y[s : s + chunk_rows], n_threads)


def numpy_syrk(Xf):
    """NumPy's product on a float64 copy that already exists (BLAS syrk)."""
    return Xf.T @ Xf


def numpy_cast_syrk(X):
    """The float64 copy made first, as NumPy needs it."""
    Xf = X.astype(np.float64)
    return Xf.T @ Xf
