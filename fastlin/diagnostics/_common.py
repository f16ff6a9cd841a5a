"""What every diagnostic shares: defaults, the fold over a source (and the walk for
per-row outputs), the model's arrays."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_sample_weight


DEFAULT_CHUNK_ROWS = 8192
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
STATUSES = ("pass", "warn", "fail", "skip")


# -- chunk iteration ------------------------------------------------------------------------


def _source(X, y=None):
    from ..io import ChunkSource, from_arrays

    if isinstance(X, ChunkSource):
        if y is not None:
            raise ValueError("y cannot be given with a ChunkSource; open the source with labels")
        return X
    return from_arrays(X, y)


def _fold(source, state, chunk_rows, sample_weight=None, target_transform=None):
    """Fold ``state`` (an accumulator, or a :class:`~fastlin.core.accumulator.Mapped`
    one) over every chunk of ``source``, weights beside it: every statistic a diagnostic
    takes of the rows is such a fold."""
    from ..io.fold import fold

    return fold(
        source,
        state,
        sample_weight=sample_weight,
        chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
        target_transform=target_transform,
    )


def _targets_2d(y):
    """Targets of a chunk as float64 of shape (m, t)."""
    Y = np.asarray(y, dtype=np.float64)
    return Y.reshape(-1, 1) if Y.ndim == 1 else Y


def _iter(source, chunk_rows, sample_weight=None, target_transform=None):
    """Yield (r0, X, Y, w): Y float64 2-D or None, w float64 or None; for passes that
    write one value per row (a fold takes every statistic)."""
    from ..io.fold import chunks

    for r0, Xc, yc, _ in chunks(
        source, chunk_rows or DEFAULT_CHUNK_ROWS, target_transform=target_transform
    ):
        m = Xc.shape[0]
        Y = None
        if yc is not None:
            Y = np.asarray(yc, dtype=np.float64)
            if Y.ndim == 1:
                Y = Y.reshape(-1, 1)
        w = None if sample_weight is None else sample_weight[r0 : r0 + m]
        yield r0, Xc, Y, w


def _weights(sample_weight, n):
    return check_sample_weight(sample_weight, n)


def _model_arrays(model):
    """(coef (t, d) float64, intercept (t,) float64, 1-D outputs?) of a linear model."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    y_1d = coef.ndim == 1
    coef = np.atleast_2d(coef)
    intercept = np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64)
    intercept = np.broadcast_to(np.atleast_1d(intercept), (coef.shape[0],)).copy()
    return np.ascontiguousarray(coef), intercept, y_1d


def _model_alpha(model):
    alpha = getattr(model, "alpha", 0.0)
    return float(alpha) if isinstance(alpha, numbers.Real) else 0.0
