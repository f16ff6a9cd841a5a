"""Distributed fits of synthetic digits on a Dask cluster: fastlin.dask against dask-ml.

The rows (784 uint8 pixels) are generated on the workers, block by block from a seed
(``fastlin.synthetic_digits(rows, seed, start=...)``), so the client never holds
or ships them. Both libraries get the same blocks; dask-ml needs float input, so it gets
them cast block by block.
"""

import numpy as np

D = 784


def _gen_X(block_info=None, seed=0):
    from fastlin import synthetic_digits

    (r0, r1), _ = block_info[None]["array-location"]
    return synthetic_digits(r1 - r0, seed, start=r0)[0]


def _gen_y(block_info=None, seed=0):
    from fastlin.io import datasets

    ((r0, r1),) = block_info[None]["array-location"]
    labels = getattr(datasets, "_synthetic_labels", None)
    if labels is not None:  # labels alone, without rendering the images again
        return labels(seed, "train", r0, r1)
    return datasets.synthetic_digits(r1 - r0, seed, start=r0)[1]


def make_data(n, chunk_rows, seed):
    """(X uint8 (n, 784), y uint8 digit labels) as lazy Dask arrays in blocks of
    ``chunk_rows`` rows, computed on the workers."""
    import dask.array as da

    rows = tuple(min(chunk_rows, n - s) for s in range(0, n, chunk_rows))
    X = da.map_blocks(
        _gen_X,
        dtype=np.uint8,
        chunks=(rows, (D,)),
        seed=seed,
        name=f"digits-X-{n}-{chunk_rows}-{seed}",
    )
    y = da.map_blocks(
        _gen_y, dtype=np.uint8, chunks=(rows,), seed=seed, name=f"digits-y-{n}-{chunk_rows}-{seed}"
    )
    return X, y


def even(y):
    """The binary target of the logistic fits: the digit is even."""
    return (y % 2 == 0).astype(np.int64)


def fastlin_least_squares(X, y):
    """One pass: d x d statistics per block, tree-merged, solved on the client."""
    import fastlin
    import fastlin.dask as fd

    return fd.fit(fastlin.LinearRegression(), X, y)


def dask_ml_least_squares(Xf, y, solver="newton", **kw):
    """dask-ml's LinearRegression (dask-glm solvers) on float64 X."""
    import dask_ml.linear_model as dml

    return dml.LinearRegression(solver=solver, solver_kwargs={"normalize": False}, **kw).fit(Xf, y)


def fastlin_logistic(X, y, max_iter):
    """L-BFGS on the uint8 pixels, scaled by 1/255 inside the kernels."""
    import fastlin.dask as fd
    from fastlin import LogisticRegression

    return fd.fit(LogisticRegression(x_scale=1 / 255, max_iter=max_iter, tol=1e-8), X, y)


def dask_ml_logistic(X255, y, max_iter):
    """dask-ml's L-BFGS on ``X / 255`` in float64, with the same iteration cap."""
    import dask_ml.linear_model as dml

    return dml.LogisticRegression(
        solver="lbfgs", max_iter=max_iter, tol=1e-8, solver_kwargs={"normalize": False}
    ).fit(X255, y)
