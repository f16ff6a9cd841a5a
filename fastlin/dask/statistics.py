"""Accumulators folded over Dask arrays: ``fold`` for any of them, and the Gram, TSQR,
moments and calibration statistics by name."""

import copy

from .arrays import (
    SPLIT_EVERY,
    _aligned,
    _as_X,
    _as_rows,
    _check_int,
    _check_rows,
    _dask,
    _row_blocks,
    _to_dask_array,
)
from .reduce import _merge_states, _reduce, _tree


def _gram_block(i, X, y, w):
    from ..core.stats import GramStats

    _check_rows(i, X, y=y, sample_weight=w)
    return GramStats().update(X, y, w)


def gram_stats(X, y, sample_weight=None, *, split_every=None, kernel_threads=None, compute=True):
    """Gram statistics of a Dask array, one :class:`~fastlin.core.stats.GramStats` per block.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features), or a Dask DataFrame
        uint8, integer, float32 or float64; one column chunk, any row chunks.
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_targets)
        Row chunks as X's.
    sample_weight : dask.array.Array of shape (n_samples,), optional
    split_every : int, default 8
        Fan-in of the merge tree.
    kernel_threads : int, optional
        Numba threads per block task on the workers (default: Numba's setting there).
    compute : bool, default True
        False returns a ``dask.delayed`` object that computes to the merged state.

    Returns
    -------
    GramStats
        Equal to ``GramStats().update(X, y, sample_weight)`` on the whole array; for
        uint8/int8 X without weights and integer y the same bits.
    """
    Xd = _as_X(X)
    yd = _as_rows(y, Xd, "y")
    if yd is None:
        raise ValueError("y is required")
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    return _reduce(
        _gram_block,
        (Xd, yd, wd),
        _merge_states,
        split_every=split_every,
        kernel_threads=kernel_threads,
        compute=compute,
    )


def _state_block(i, X, y, w, template):
    """A copy of the (empty) ``template`` accumulator with the block folded in."""
    _check_rows(i, X, y=y, sample_weight=w)
    return template.copy().update(X, y, w)


def fold(X, state, y=None, sample_weight=None, *, split_every=None, kernel_threads=None):
    """Fold the accumulator ``state`` over Dask arrays (or a Dask DataFrame X with Series
    y / weights), in place; returns ``state``.

    Each block is folded into ``state.empty()`` on the worker that holds it, and the
    block states are merged in a tree (``split_every`` at a time) before the result is
    merged into ``state``: the Dask route of :func:`fastlin.io.fold.fold`.
    """
    X, y, sample_weight = _aligned(X, y, sample_weight)
    Xd = _to_dask_array(X, "X")
    if Xd is None or Xd.ndim != 1:  # 1-D rows: probabilities, residuals
        Xd = _as_X(X)
    arrays = (Xd, _as_rows(y, Xd, "y"), _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,)))
    merged = _reduce(
        _state_block,
        arrays,
        _merge_states,
        extra=(state.empty(),),
        split_every=split_every,
        kernel_threads=kernel_threads,
        compute=True,
    )
    return state.merge(merged)


def _qr_block(i, X, y, w, centre):
    from ..core.tsqr import QRStats

    _check_rows(i, X, y=y, sample_weight=w)
    return QRStats(centre=centre).update(X, y, w)


def qr_stats(
    X, y, sample_weight=None, *, centre=True, split_every=None, kernel_threads=None, compute=True
):
    """TSQR factor of a Dask array: one :class:`~fastlin.core.tsqr.QRStats` per block, merged.

    Arguments as :func:`gram_stats`; ``centre`` as in ``QRStats`` (False for a fit known
    to need no intercept). ``finalize(alpha, fit_intercept)`` on the result solves.
    """
    Xd = _as_X(X)
    yd = _as_rows(y, Xd, "y")
    if yd is None:
        raise ValueError("y is required")
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    return _reduce(
        _qr_block,
        (Xd, yd, wd),
        _merge_states,
        split_every=split_every,
        kernel_threads=kernel_threads,
        compute=compute,
        extra=(bool(centre),),
    )


def _moments_block(i, X, w):
    from ..core.moments import Moments

    _check_rows(i, X, sample_weight=w)
    return Moments().update(X, sample_weight=w)


def moments(X, sample_weight=None, *, split_every=None, kernel_threads=None, compute=True):
    """Per-column weighted count, mean and M2 of a Dask array.

    Returns a :class:`~fastlin.estimators.preprocessing.Moments` state.

    NaN entries are skipped, as in ``Moments.update``. Arguments as :func:`gram_stats`.
    """
    Xd = _as_X(X)
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    return _reduce(
        _moments_block,
        (Xd, wd),
        _merge_states,
        split_every=split_every,
        kernel_threads=kernel_threads,
        compute=compute,
    )


def _calibration_block(i, proba, y, w, template):
    _check_rows(i, proba, y_true=y, sample_weight=w)
    state = copy.deepcopy(template)
    return state.update(proba, y, w)


def _merge_calibration(*states):
    out = copy.deepcopy(states[0])
    for s in states[1:]:
        out.merge(s)
    return out


def calibration_stats(
    y_true, proba, sample_weight=None, *, split_every=None, compute=True, **options
):
    """Calibration statistics of Dask arrays (:class:`~fastlin.core.calibration.CalibrationStats`).

    Parameters
    ----------
    y_true : dask.array.Array of shape (n,)
    proba : dask.array.Array of shape (n,) or (n, K)
        Row chunks as y_true's.
    sample_weight : dask.array.Array of shape (n,), optional
    **options
        ``CalibrationStats`` parameters (n_bins, strategy, mode, edges, pos_label,
        scores, eps). With ``strategy="quantile"`` and no ``edges``, the first block fixes
        the edges (as the first chunk does when streaming): that block is computed first,
        then every other block is binned with its edges.

    Returns
    -------
    CalibrationStats
    """
    from ..core.calibration import CalibrationStats

    dask, _ = _dask()
    template = CalibrationStats(**options)
    pd_ = _to_dask_array(proba, "proba")
    if pd_ is None:
        raise ValueError(
            "proba must be a Dask array (use fastlin.core.calibration for NumPy input)"
        )
    if pd_.ndim == 2 and pd_.numblocks[1] != 1:
        raise ValueError(
            f"proba has its columns split into {pd_.numblocks[1]} chunks; "
            "rechunk them into one first: proba = proba.rechunk({1: -1})"
        )
    if pd_.ndim not in (1, 2):
        raise ValueError(f"proba must be 1-D or 2-D, got shape {pd_.shape}")
    yd = _as_rows(y_true, pd_, "y_true", ndims=(1,))
    wd = _as_rows(sample_weight, pd_, "sample_weight", ndims=(1,))
    split_every = _check_int(
        split_every if split_every is not None else SPLIT_EVERY, "split_every", 2
    )
    blocks = [_row_blocks(a) for a in (pd_, yd, wd)]
    n_blocks = len(blocks[0])
    fn = dask.delayed(_calibration_block, pure=True)

    def part(i, tmpl):
        return fn(i, *[(b[i] if b is not None else None) for b in blocks], tmpl)

    if template.edges_ is None and template.strategy == "quantile":
        first = part(0, template).compute()
        if first.edges_ is None:
            raise ValueError(
                "the first block of proba is empty; quantile edges need rows "
                "(pass edges= computed from a sample)"
            )
        # Every other block starts from the empty state with the first block's edges
        # (one row of edges, or one per class for mode="classwise").
        fixed = copy.deepcopy(template)
        fixed.edges_ = first.edges_.copy()
        parts = [dask.delayed(first)] + [part(i, fixed) for i in range(1, n_blocks)]
    else:
        parts = [part(i, template) for i in range(n_blocks)]
    total = _tree(parts, _merge_calibration, split_every)
    return total.compute() if compute else total
