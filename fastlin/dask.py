"""Fitting on Dask arrays: one accumulator per block of rows, tree-merged, solved locally.

Every statistic in fastlin is a mergeable accumulator, so a Dask array is fitted the way
a file is streamed: each block of rows is folded into a fresh state on the worker that
holds it (the same Numba kernels as in memory), the states are merged in a tree of
``merge`` tasks, and the last, small state is finalized on the client. Only the states
cross the network (for least squares the d x d Gram statistics, whatever the number of
rows), never the rows themselves.

- :func:`gram_stats`, :func:`qr_stats`, :func:`moments`, :func:`calibration_stats`
  return merged accumulators (``compute=False`` returns a ``dask.delayed`` object).
- :func:`fit` fits a fastlin estimator (``LinearRegression``, ``Ridge``,
  ``LogisticRegression(solver="lbfgs")``, ``StandardScaler``) on Dask arrays;
  :func:`predict`, :func:`predict_proba`, :func:`decision_function` and
  :func:`transform` return Dask arrays (``map_blocks``).
- :class:`DaskLinearRegression`, :class:`DaskRidge`, :class:`DaskLogisticRegression`
  and :class:`DaskStandardScaler` are the estimators with those functions behind
  ``fit`` and ``predict`` for Dask input (NumPy input takes the in-memory path).

Blocks already persisted on a distributed cluster are folded by one task per worker
thread over the blocks that worker holds (a fixed grouping read from the scheduler), so
that no task waits in a queue where Dask's work stealing could move it, with its input
rows, to another worker. Blocks computed as part of the fit are folded where they are
produced.

Logistic regression (L-BFGS) needs many passes: each objective/gradient evaluation is one
distributed pass of the fused loss/gradient kernel over every block, the coefficients are
broadcast to the workers once per evaluation and only (loss, weight, gradient) comes back.
The data are persisted in the workers' memory for the passes unless ``persist=False``.

Chunking rules
--------------
- Each block must hold whole rows: X may be split into any number of row chunks but a
  single column chunk. Otherwise ``ValueError`` tells you to ``X.rechunk({1: -1})``;
  the rows are never regrouped silently.
- y and sample_weight must have the same row chunks as X (``ValueError`` naming the
  first chunk that differs, and the ``rechunk`` that fixes it).
- Unknown (NaN) row-chunk sizes, as from a Dask DataFrame's ``.values``, are accepted
  without computing them: every block checks on its worker that X, y and the weights
  have the same number of rows and raises ``ValueError`` naming the block otherwise. An
  unknown number of columns is refused (``ValueError``).

The computation runs on the current Dask scheduler: the ``distributed.Client`` made
last (``Client("tcp://scheduler:8786")`` for an existing cluster) or Dask's local one.
"""

import copy
import math
import numbers

import numpy as np

from ._threads import threads
from ._validation import as_2d_array, check_finite, check_sample_weight
from .estimators.linear_model import LinearRegression, Ridge, _GramRegressor
from .estimators.logistic import LogisticRegression
from .estimators.preprocessing import StandardScaler

__all__ = [
    "gram_stats", "qr_stats", "moments", "calibration_stats",
    "fit", "predict", "predict_proba", "decision_function", "transform",
    "DaskLinearRegression", "DaskRidge", "DaskLogisticRegression", "DaskStandardScaler",
]

SPLIT_EVERY = 8
"""Default fan-in of the merge tree: states merged per task."""

_INSTALL_HINT = "fastlin.dask needs Dask with its distributed scheduler: pip install fastlin[dask]"


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without Dask
        raise ImportError(_INSTALL_HINT) from exc
    return dask, da


# ---------------------------------------------------------------------------------------
# input checks


def _is_dask_collection(obj):
    return hasattr(obj, "__dask_graph__") and callable(getattr(obj, "__dask_graph__"))


def _to_dask_array(obj, name):
    """A Dask array from a Dask array, DataFrame or Series (others: None)."""
    if not _is_dask_collection(obj):
        return None
    if hasattr(obj, "to_dask_array"):
        # Row counts per partition stay unknown: the blocks check them on the workers.
        return obj.to_dask_array()
    _, da = _dask()
    if isinstance(obj, da.Array):
        return obj
    raise ValueError(f"{name} is a Dask {type(obj).__name__}; expected a dask.array.Array, "
                     "a Dask DataFrame or a Dask Series")


def _as_X(X, name="X"):
    _, da = _dask()
    Xd = _to_dask_array(X, name)
    if Xd is None:
        arr = as_2d_array(X, name)
        Xd = da.from_array(arr, chunks=(max(1, min(arr.shape[0], 65536)), -1))
    if Xd.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got a "
                         f"{Xd.ndim}-D Dask array of shape {Xd.shape}")
    if math.isnan(Xd.shape[1]):
        raise ValueError(f"{name} has an unknown number of columns; compute its chunk sizes "
                         f"first ({name}.compute_chunk_sizes())")
    if Xd.numblocks[1] != 1:
        raise ValueError(
            f"{name} has its {Xd.shape[1]} columns split into {Xd.numblocks[1]} chunks "
            f"{Xd.chunks[1]}; every block must hold whole rows. Rechunk the columns into one "
            f"first: {name} = {name}.rechunk({{1: -1}})"
        )
    if Xd.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {Xd.shape}); need at least one feature")
    return Xd


def _as_rows(v, Xd, name, ndims=(1, 2)):
    """y or sample_weight as a Dask array with X's row chunks (checked where known)."""
    if v is None:
        return None
    _, da = _dask()
    vd = _to_dask_array(v, name)
    if vd is None:
        arr = np.asarray(v)
        if any(math.isnan(c) for c in Xd.chunks[0]):
            raise ValueError(
                f"X has unknown row-chunk sizes, so an in-memory {name} cannot be split to "
                f"match; pass {name} as a Dask array with the same partitions as X"
            )
        if arr.ndim < 1 or arr.shape[0] != Xd.shape[0]:
            raise ValueError(f"X and {name} have different numbers of rows: X has "
                             f"{Xd.shape[0]}, {name} has shape {arr.shape}")
        vd = da.from_array(arr, chunks=(Xd.chunks[0],) + tuple((s,) for s in arr.shape[1:]))
    if vd.ndim not in ndims:
        raise ValueError(f"{name} must be {' or '.join(f'{k}-D' for k in ndims)}, got a "
                         f"{vd.ndim}-D array of shape {vd.shape}")
    if vd.ndim == 2 and vd.numblocks[1] != 1:
        raise ValueError(f"{name} has its columns split into {vd.numblocks[1]} chunks; "
                         f"rechunk them into one first: {name} = {name}.rechunk({{1: -1}})")
    if vd.numblocks[0] != Xd.numblocks[0]:
        raise ValueError(
            f"X and {name} have different row chunks: X has {Xd.numblocks[0]} row chunks, "
            f"{name} has {vd.numblocks[0]}; rechunk {name} to match: "
            f"{name} = {name}.rechunk({{0: X.chunks[0]}})"
        )
    for i, (a, b) in enumerate(zip(Xd.chunks[0], vd.chunks[0])):
        if not (math.isnan(a) or math.isnan(b)) and a != b:
            raise ValueError(
                f"X and {name} have different row chunks: row chunk {i} has {a} rows in X and "
                f"{b} in {name}; rechunk {name} to match: "
                f"{name} = {name}.rechunk({{0: X.chunks[0]}})"
            )
    return vd


def _row_blocks(arr):
    """The blocks of a row-chunked Dask array as a list of Delayed objects."""
    if arr is None:
        return None
    return list(arr.to_delayed().ravel())


def _check_rows(i, X, **others):
    """On the worker: the block's arrays have one row count (unknown chunks are not
    checked on the client)."""
    for name, v in others.items():
        if v is not None and np.shape(v)[0] != X.shape[0]:
            raise ValueError(
                f"row block {i}: X has {X.shape[0]} rows but {name} has {np.shape(v)[0]}; "
                f"X and {name} must be partitioned alike"
            )


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------
# map and tree-merge


def _run_block(kernel_threads, fn, *args):
    if kernel_threads is None:
        return fn(*args)
    with threads(kernel_threads):
        return fn(*args)


def _merge_states(*states):
    # Copy first: an input may stay in a worker's memory and be read again on a retry.
    out = states[0].copy()
    for s in states[1:]:
        out.merge(s)
    return out


def _tree(parts, combine, split_every):
    """Merge Delayed partial results in a tree of fan-in ``split_every`` (fixed order)."""
    dask, _ = _dask()
    merge = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [merge(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def _run_group(kernel_threads, block_fn, combine, indices, blocks, extra):
    """Fold several blocks held by one worker into one state, one block at a time."""
    acc = None
    for j, i in enumerate(indices):
        state = _run_block(kernel_threads, block_fn, i, *[b[j] for b in blocks], *extra)
        acc = state if acc is None else combine(acc, state)
    return acc


def _local_groups(arr, wait=False):
    """Block indices of a persisted Dask array grouped by the worker that holds them.

    Each worker's blocks are split into as many contiguous groups as it has task
    threads, so that every thread gets one task and none waits in a queue: work
    stealing, which moves a queued task (and so its input rows) to an idle worker, then
    has nothing to move. None when the array is not fully persisted on a distributed
    cluster (then every block is its own task). ``wait`` first waits for the blocks to
    be computed (just after ``persist``).
    """
    dask, _ = _dask()
    if dask.config.get("scheduler", None) != "dask.distributed":
        return None
    try:
        from distributed import default_client, futures_of
    except ImportError:
        return None
    try:
        client = default_client()
    except ValueError:
        return None
    keys = [b.key for b in _row_blocks(arr)]
    futures = futures_of(arr)
    if not futures or any(k not in {f.key for f in futures} for k in keys):
        return None
    if wait:
        from distributed import wait as wait_for

        wait_for(futures)
    who = client.who_has(futures)
    nthreads = client.nthreads()
    by_worker = {}
    for i, k in enumerate(keys):
        holders = sorted(who.get(k) or ())
        if not holders:
            return None
        by_worker.setdefault(holders[0], []).append(i)
    groups = []
    for w, idx in by_worker.items():
        n = max(1, min(len(idx), int(nthreads.get(w, 1))))
        step = -(-len(idx) // n)
        groups.extend(idx[j:j + step] for j in range(0, len(idx), step))
    return sorted(groups)


def _reduce(block_fn, arrays, combine, *, split_every, kernel_threads, compute, extra=(),
            groups=None):
    """Apply ``block_fn(i, *blocks, *extra)`` to every row block and tree-merge the results.

    ``arrays`` holds Dask arrays (or None), or lists of their blocks as Delayed objects
    (``_row_blocks``), which saves re-deriving them at every L-BFGS evaluation.
    ``groups`` (lists of block indices, from ``_local_groups``) folds each group in one
    task; by default, when the first array is persisted on a distributed cluster, its
    blocks are grouped by the worker that holds them.
    """
    dask, _ = _dask()
    split_every = _check_int(split_every if split_every is not None else SPLIT_EVERY,
                             "split_every", 2)
    if kernel_threads is not None:
        kernel_threads = _check_int(kernel_threads, "kernel_threads", 1)
    if groups is None and not isinstance(arrays[0], list):
        groups = _local_groups(arrays[0])
    blocks = [a if isinstance(a, list) else _row_blocks(a) for a in arrays]
    n_blocks = len(blocks[0])
    if groups is None:
        fn = dask.delayed(_run_block, pure=True)
        parts = [fn(kernel_threads, block_fn, i,
                    *[(b[i] if b is not None else None) for b in blocks], *extra)
                 for i in range(n_blocks)]
    else:
        fn = dask.delayed(_run_group, pure=True)
        parts = [fn(kernel_threads, block_fn, combine, list(g),
                    [([b[i] for i in g] if b is not None else [None] * len(g)) for b in blocks],
                    tuple(extra))
                 for g in groups]
    total = _tree(parts, combine, split_every)
    return total.compute() if compute else total


# ---------------------------------------------------------------------------------------
# accumulators


def _gram_block(i, X, y, w):
    from .core.stats import GramStats

    _check_rows(i, X, y=y, sample_weight=w)
    return GramStats().update(X, y, w)


def gram_stats(X, y, sample_weight=None, *, split_every=None, kernel_threads=None,
               compute=True):
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
    return _reduce(_gram_block, (Xd, yd, wd), _merge_states, split_every=split_every,
                   kernel_threads=kernel_threads, compute=compute)


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
    arrays = (Xd, _as_rows(y, Xd, "y"), _as_rows(sample_weight, Xd, "sample_weight",
                                                  ndims=(1,)))
    merged = _reduce(_state_block, arrays, _merge_states, extra=(state.empty(),),
                     split_every=split_every, kernel_threads=kernel_threads, compute=True)
    return state.merge(merged)


def _qr_block(i, X, y, w, centre):
    from .core.tsqr import QRStats

    _check_rows(i, X, y=y, sample_weight=w)
    return QRStats(centre=centre).update(X, y, w)


def qr_stats(X, y, sample_weight=None, *, centre=True, split_every=None, kernel_threads=None,
             compute=True):
    """TSQR factor of a Dask array: one :class:`~fastlin.core.tsqr.QRStats` per block, merged.

    Arguments as :func:`gram_stats`; ``centre`` as in ``QRStats`` (False for a fit known
    to need no intercept). ``finalize(alpha, fit_intercept)`` on the result solves.
    """
    Xd = _as_X(X)
    yd = _as_rows(y, Xd, "y")
    if yd is None:
        raise ValueError("y is required")
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    return _reduce(_qr_block, (Xd, yd, wd), _merge_states, split_every=split_every,
                   kernel_threads=kernel_threads, compute=compute, extra=(bool(centre),))


def _moments_block(i, X, w):
    from .estimators.preprocessing import Moments

    _check_rows(i, X, sample_weight=w)
    return Moments().update(X, sample_weight=w)


def moments(X, sample_weight=None, *, split_every=None, kernel_threads=None, compute=True):
    """Per-column weighted count, mean and M2 of a Dask array.

    Returns a :class:`~fastlin.estimators.preprocessing.Moments` state.

    NaN entries are skipped, as in ``Moments.update``. Arguments as :func:`gram_stats`.
    """
    Xd = _as_X(X)
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    return _reduce(_moments_block, (Xd, wd), _merge_states, split_every=split_every,
                   kernel_threads=kernel_threads, compute=compute)


def _calibration_block(i, proba, y, w, template):
    _check_rows(i, proba, y_true=y, sample_weight=w)
    state = copy.deepcopy(template)
    return state.update(proba, y, w)


def _merge_calibration(*states):
    out = copy.deepcopy(states[0])
    for s in states[1:]:
        out.merge(s)
    return out


def calibration_stats(y_true, proba, sample_weight=None, *, split_every=None,
                      compute=True, **options):
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
    from .core.calibration import CalibrationStats

    dask, _ = _dask()
    template = CalibrationStats(**options)
    pd_ = _to_dask_array(proba, "proba")
    if pd_ is None:
        raise ValueError("proba must be a Dask array (use fastlin.core.calibration for NumPy input)")
    if pd_.ndim == 2 and pd_.numblocks[1] != 1:
        raise ValueError(f"proba has its columns split into {pd_.numblocks[1]} chunks; "
                         "rechunk them into one first: proba = proba.rechunk({1: -1})")
    if pd_.ndim not in (1, 2):
        raise ValueError(f"proba must be 1-D or 2-D, got shape {pd_.shape}")
    yd = _as_rows(y_true, pd_, "y_true", ndims=(1,))
    wd = _as_rows(sample_weight, pd_, "sample_weight", ndims=(1,))
    split_every = _check_int(split_every if split_every is not None else SPLIT_EVERY,
                             "split_every", 2)
    blocks = [_row_blocks(a) for a in (pd_, yd, wd)]
    n_blocks = len(blocks[0])
    fn = dask.delayed(_calibration_block, pure=True)

    def part(i, tmpl):
        return fn(i, *[(b[i] if b is not None else None) for b in blocks], tmpl)

    if template.edges_ is None and template.strategy == "quantile":
        first = part(0, template).compute()
        if first.edges_ is None:
            raise ValueError("the first block of proba is empty; quantile edges need rows "
                             "(pass edges= computed from a sample)")
        # Every other block starts from the empty state with the first block's edges
        # (one row of edges, or one per class for mode="classwise").
        fixed = copy.deepcopy(template)
        fixed.edges_ = first.edges_.copy()
        parts = [dask.delayed(first)] + [part(i, fixed) for i in range(1, n_blocks)]
    else:
        parts = [part(i, template) for i in range(n_blocks)]
    total = _tree(parts, _merge_calibration, split_every)
    return total.compute() if compute else total


# ---------------------------------------------------------------------------------------
# estimators


def fit(model, X, y=None, sample_weight=None, *, split_every=None, kernel_threads=None,
        persist=True):
    """Fit a fastlin estimator on Dask arrays, in place.

    Parameters
    ----------
    model : fastlin LinearRegression, Ridge, LogisticRegression or StandardScaler
    X : dask.array.Array of shape (n_samples, n_features), or a Dask DataFrame
    y : dask.array.Array of shape (n_samples,) (or (n_samples, n_targets) for least
        squares); not used by StandardScaler
    sample_weight : dask.array.Array of shape (n_samples,), optional
    split_every, kernel_threads : see :func:`gram_stats`
    persist : bool, default True
        LogisticRegression only: keep X, the encoded labels and the weights in the
        workers' memory for the L-BFGS passes. False recomputes the blocks from their
        source at every pass (constant memory on the workers, one read per pass).

    Returns
    -------
    model
    """
    opts = dict(split_every=split_every, kernel_threads=kernel_threads)
    names = X
    X, y, sample_weight = _aligned(X, y, sample_weight)
    if isinstance(model, _GramRegressor):
        model._check_params()
        if y is None:
            raise ValueError(f"{type(model).__name__} needs y")
        stats = gram_stats(X, y, sample_weight, **opts)
        y_nd = _to_dask_array(y, "y")
        y_1d = (np.ndim(y) if y_nd is None else y_nd.ndim) == 1
        # The same route as in memory: refinement or TSQR passes, where the solve asks
        # for them, fold their accumulators over the blocks where they live.
        return _named(model.fit_stats(stats, y_1d=y_1d, fold=lambda state: fold(
            X, state, y, sample_weight, **opts)), names)
    if isinstance(model, LogisticRegression):
        return _named(_fit_logistic(model, X, y, sample_weight, persist=persist, **opts),
                      names)
    if isinstance(model, StandardScaler):
        return _named(_fit_scaler(model, X, sample_weight, **opts), names)
    raise TypeError(
        f"fastlin.dask.fit supports LinearRegression, Ridge, LogisticRegression and "
        f"StandardScaler, got {type(model).__name__}"
    )


def _aligned(X, y, sample_weight):
    """Dask DataFrame X with Dask Series y / weights: arrays cut from one frame.

    Converted one by one, columns of the same ``read_parquet`` frame can come out in
    different partitions (the reader fuses small files by the bytes of the columns it
    reads), so the rows of X and y would not line up block for block. Taken from a single
    frame, every block holds the same rows of each; X keeps its columns' dtype.
    """
    others = [v for v in (y, sample_weight) if v is not None]
    if not (hasattr(X, "columns") and _is_dask_collection(X) and others
            and all(_is_dask_collection(v) and hasattr(v, "to_frame") for v in others)):
        return X, y, sample_weight
    dask, da = _dask()
    cols = list(X.columns)
    frame = X
    keys = []
    try:
        for i, v in enumerate(others):
            key = f"__fastlin_{i}"
            frame = frame.assign(**{key: v})
            keys.append(key)
    except (ValueError, TypeError, NotImplementedError):
        # Frames Dask cannot align (unknown divisions of different origins): converted
        # one by one, their blocks are checked row for row on the workers instead.
        return X, y, sample_weight
    parts = frame.to_delayed()
    x_dtype = np.result_type(*[np.dtype(t) for t in X.dtypes])

    def column_array(selection, dtype, ndim):
        take = dask.delayed(_frame_block, pure=True)
        blocks = [da.from_delayed(take(p, selection, dtype, ndim), dtype=dtype,
                                  shape=(np.nan, len(selection)) if ndim == 2 else (np.nan,))
                  for p in parts]
        return da.concatenate(blocks, axis=0)

    Xd = column_array(cols, x_dtype, 2)
    arrays = [column_array([k], np.dtype(v.dtype), 1) for k, v in zip(keys, others)]
    y_out = arrays.pop(0) if y is not None else None
    w_out = arrays.pop(0) if sample_weight is not None else None
    return Xd, y_out, w_out


def _frame_block(part, columns, dtype, ndim):
    values = part[columns].to_numpy(dtype=dtype)
    return values[:, 0] if ndim == 1 else values


def _named(model, X):
    """``feature_names_in_`` from a Dask DataFrame's columns (e.g. ``dd.read_parquet``)."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        model.feature_names_in_ = np.asarray([str(c) for c in columns], dtype=object)
    else:
        model.__dict__.pop("feature_names_in_", None)
    return model


# -- scaler ------------------------------------------------------------------------------


def _scaler_block(i, X, w, params):
    from .estimators.preprocessing import StandardScaler

    _check_rows(i, X, sample_weight=w)
    return StandardScaler(**params).fit(X, sample_weight=w)


def _merge_scalers(*scalers):
    out = copy.deepcopy(scalers[0])
    for s in scalers[1:]:
        out.merge(s)
    return out


def _fit_scaler(model, X, sample_weight, *, split_every, kernel_threads):
    Xd = _as_X(X)
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    params = model.get_params()
    total = _reduce(_scaler_block, (Xd, wd), _merge_scalers, split_every=split_every,
                    kernel_threads=kernel_threads, compute=True, extra=(params,))
    # ``total`` has the same parameters, so its fitted state is the model's.
    fitted = {k: v for k, v in vars(total).items() if k not in params}
    for k in [k for k in vars(model) if k.endswith("_") and k not in params]:
        delattr(model, k)
    vars(model).update(fitted)
    return model


# -- logistic regression -------------------------------------------------------------------


def _label_block(i, X, y, w):
    """First pass, per block: validate, and return (labels present, rows, weight sum)."""
    from .estimators.logistic import _labels_1d

    _check_rows(i, X, y=y, sample_weight=w)
    X = as_2d_array(X, f"X (row block {i})")
    check_finite(X, f"X (row block {i})")
    yl = _labels_1d(y, X.shape[0], f"y (row block {i})")
    w = check_sample_weight(w, X.shape[0])
    return np.unique(yl), X.shape[0], float(X.shape[0] if w is None else w.sum())


def _merge_labels(*parts):
    labels = np.unique(np.concatenate([p[0] for p in parts]))
    return labels, sum(p[1] for p in parts), math.fsum(p[2] for p in parts)


def _encode_block(y, classes):
    from .estimators.logistic import _encode, _labels_1d

    return _encode(_labels_1d(y, np.shape(y)[0]), classes)


def _loss_grad_block(i, X, yi, w, theta, K, d, fit_b, multinomial, x_scale):
    from .core.losses import LossGradState

    W = theta[: K * d].reshape(K, d)
    b = theta[K * d:] if fit_b else np.zeros(K)
    state = LossGradState(W, b, multinomial, x_scale, True)
    w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    state._fold(as_2d_array(X), yi, w)  # validated by the label pass
    # The sums only: the state also holds per-thread scratch that must not travel.
    return state.finalize()


def _hessp_block(i, X, yi, w, theta_v, K, d, fit_b, multinomial, x_scale):
    from .core.losses import HesspState

    theta, v = theta_v
    W = theta[: K * d].reshape(K, d)
    V = v[: K * d].reshape(K, d)
    b = theta[K * d:] if fit_b else np.zeros(K)
    vb = v[K * d:] if fit_b else np.zeros(K)
    w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    return HesspState(W, b, V, vb, multinomial, x_scale)._fold(as_2d_array(X), w).finalize()


def _merge_sums(*parts):
    """Element-wise sum of equal-shaped tuples of numbers and arrays (inputs unchanged)."""
    total = [np.copy(v) if isinstance(v, np.ndarray) else v for v in parts[0]]
    for p in parts[1:]:
        for i, v in enumerate(p):
            total[i] += v
    return tuple(total)


def _broadcast(value, attempts=3):
    """``value`` once per worker: scattered with a distributed client, else in the graph.

    A worker lost while the value is being broadcast fails the scatter with a closed
    connection (``CommClosedError``, an ``OSError``): the scatter is tried again on the
    workers that remain, and after ``attempts`` failures the value goes into the graph,
    from where the scheduler ships it to whichever worker runs a task.
    """
    dask, _ = _dask()
    if dask.config.get("scheduler", None) == "dask.distributed":
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return dask.delayed(value)
        for _ in range(attempts):
            try:
                return client.scatter(value, broadcast=True, hash=False)
            except OSError:
                continue
    return dask.delayed(value)


def _fit_logistic(model, X, y, sample_weight, *, persist, split_every, kernel_threads):
    from .core.losses import fit_lbfgs

    dask, _ = _dask()
    model._check_params()
    if model.solver != "lbfgs":
        raise ValueError(f"on Dask arrays LogisticRegression supports solver='lbfgs' only, "
                         f"got solver={model.solver!r}")
    Xd = _as_X(X)
    if y is None:
        raise ValueError("LogisticRegression needs y")
    yd = _as_rows(y, Xd, "y")
    if yd.ndim == 2:
        if yd.shape[1] != 1:
            raise ValueError(f"y must be 1-D of shape (n_samples,), got shape {yd.shape}")
        yd = yd[:, 0]
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    opts = dict(split_every=split_every, kernel_threads=kernel_threads)

    classes, _, sw_sum = _reduce(_label_block, (Xd, yd, wd), _merge_labels,
                                      compute=True, **opts)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); logistic regression needs at least two"
            if classes.shape[0] == 1 else "y has no labels")
    if not sw_sum > 0:
        raise ValueError("sample_weight sums to zero; need positive total weight")
    K = 1 if classes.shape[0] == 2 else classes.shape[0]
    d = int(Xd.shape[1])
    multinomial = K > 1
    yi = yd.map_blocks(_encode_block, classes, dtype=np.int64)
    if wd is not None:
        wd = wd.astype(np.float64)
    groups = None
    if persist:
        Xd, yi, wd = dask.persist(Xd, yi, wd)
        # One task per worker thread over the blocks it holds, fixed for the whole fit.
        groups = _local_groups(Xd, wait=True)
    blocks = (_row_blocks(Xd), _row_blocks(yi), _row_blocks(wd))

    W0 = np.zeros((K, d))
    b0 = np.zeros(K)
    if (model.warm_start and hasattr(model, "coef_") and model.coef_.shape == (K, d)
            and np.array_equal(model.classes_, classes)):
        W0[:] = model.coef_
        b0[:] = model.intercept_
    fit_b = bool(model.fit_intercept)
    x_scale = float(model.x_scale)

    def data_term(theta, W, b):
        shared = _broadcast(np.array(theta, dtype=np.float64))
        loss, _, gW, gb = _reduce(_loss_grad_block, blocks, _merge_sums,
                                  compute=True, extra=(shared, K, d, fit_b, multinomial, x_scale),
                                  groups=groups, **opts)
        return loss, gW, gb

    def data_hessp(W, b, V, vb):
        theta_v = np.stack([np.concatenate([W.ravel(), b]), np.concatenate([V.ravel(), vb])])
        return _reduce(_hessp_block, blocks, _merge_sums, compute=True,
                       extra=(_broadcast(theta_v), K, d, fit_b, multinomial, x_scale),
                       groups=groups, **opts)

    # The same objective, Hessian products and minimiser as LogisticRegression.fit in memory.
    history = []
    W, b, fval, n_iter = fit_lbfgs(
        data_term, data_hessp, K, d, model.C, sw_sum, fit_b, W0, b0,
        max_iter=model.max_iter, tol=float(model.tol if model.tol is not None else 0.0),
        memory=model.lbfgs_memory, callback=history.append)
    model._commit(classes, W, b, d)
    model.n_iter_ = np.array([n_iter])
    model.objective_ = fval
    model.loss_history_ = {"train": np.asarray(history), "validation": np.empty(0)}
    return model


# -- prediction ----------------------------------------------------------------------------


def _map_rows(method, model, X, n_out, dtype, name):
    """``method(X_block)`` over the row blocks of X: a Dask array of shape (n,) or (n, n_out)."""
    Xd = _as_X(X)
    d = getattr(model, "n_features_in_", None)
    if d is not None and Xd.shape[1] != d:
        raise ValueError(f"X has {Xd.shape[1]} features, but this model was fitted with {d}")
    if n_out is None:
        return Xd.map_blocks(_call, method, dtype=dtype, drop_axis=1, name=name)
    return Xd.map_blocks(_call, method, dtype=dtype, chunks=(Xd.chunks[0], (n_out,)), name=name)


def _call(X, method):
    return method(X)


def _n_targets(model):
    coef = np.asarray(model.coef_)
    return None if getattr(model, "_y_1d", coef.ndim == 1) else coef.shape[0]


def predict(model, X):
    """``model.predict`` over the row blocks of a Dask array; returns a Dask array.

    LinearRegression/Ridge give shape (n,) or (n, n_targets); LogisticRegression gives
    the labels, shape (n,).
    """
    _check_fitted(model)
    if isinstance(model, LogisticRegression):
        return _map_rows(model.predict, model, X, None, model.classes_.dtype, "fastlin-predict")
    return _map_rows(model.predict, model, X, _n_targets(model), np.asarray(model.coef_).dtype,
                     "fastlin-predict")


def predict_proba(model, X):
    """``LogisticRegression.predict_proba`` over row blocks: Dask array (n, n_classes)."""
    _check_fitted(model)
    return _map_rows(model.predict_proba, model, X, model.classes_.shape[0], np.float64,
                     "fastlin-predict-proba")


def decision_function(model, X):
    """``LogisticRegression.decision_function`` over row blocks: (n,) or (n, n_classes)."""
    _check_fitted(model)
    K = model.coef_.shape[0]
    return _map_rows(model.decision_function, model, X, None if K == 1 else K, np.float64,
                     "fastlin-decision")


def transform(model, X):
    """``StandardScaler.transform`` over row blocks: Dask array (n, n_features), float64."""
    _check_fitted(model)
    Xd = _as_X(X)
    dtype = np.float32 if Xd.dtype == np.float32 else np.float64
    return _map_rows(model.transform, model, Xd, int(Xd.shape[1]), dtype, "fastlin-transform")


def _check_fitted(model):
    """Raise sklearn's ``NotFittedError`` for an unfitted model (before building a graph)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)


# -- estimator classes ---------------------------------------------------------------------
# Thin subclasses: Dask input goes through the functions above, anything else takes the
# in-memory path of the parent class. Parameters and fitted attributes are the parent's.


def _dask_input(X):
    return _is_dask_collection(X)


class _DaskRegressorMixin:
    """Dask input goes to :func:`fit` / :func:`predict`; NumPy input to the parent class."""

    def fit(self, X, y, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, y, sample_weight)
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        if _dask_input(X):
            return predict(self, X)
        return super().predict(X)


class DaskLinearRegression(_DaskRegressorMixin, LinearRegression):
    """:class:`fastlin.LinearRegression` that fits on Dask arrays across a cluster.

    ``fit`` with a Dask array (or DataFrame) X runs :func:`fastlin.dask.fit`: one pass,
    d x d statistics per block, tree-merged, solved on the client. ``predict`` on a Dask
    array returns a Dask array. ``inference`` with Dask arrays folds its pass over the
    blocks where they live. NumPy input takes the in-memory path.
    """

    def inference(self, X=None, y=None, *, sample_weight=None, cov_type="nonrobust",
                  use_t=None, feature_names=None, split_every=None, kernel_threads=None,
                  **kwargs):
        """See :meth:`fastlin.LinearRegression.inference`; Dask X and y are folded on
        the workers (``split_every``, ``kernel_threads`` as in :func:`fit`)."""
        if X is None or not _dask_input(X):
            return super().inference(X, y, sample_weight=sample_weight, cov_type=cov_type,
                                     use_t=use_t, feature_names=feature_names, **kwargs)
        from .core.inference import regression_inference

        _check_fitted(self)
        Xd = _as_X(X)
        arrays = (Xd, _as_rows(y, Xd, "y"), _as_rows(sample_weight, Xd, "sample_weight",
                                                      ndims=(1,)))
        if arrays[1] is None:
            raise ValueError("y is required")

        def fold(template):
            return _reduce(_state_block, arrays, _merge_states, extra=(template,),
                           split_every=split_every, kernel_threads=kernel_threads,
                           compute=True)

        coef = np.atleast_2d(np.asarray(self.coef_, dtype=np.float64))
        intercept = np.broadcast_to(np.atleast_1d(np.asarray(self.intercept_, np.float64)),
                                    (coef.shape[0],))
        names = feature_names if feature_names is not None else getattr(
            self, "feature_names_in_", None)
        return regression_inference(self.stats_, coef, intercept,
                                    fit_intercept=self.fit_intercept, rank=self.rank_,
                                    y_1d=self._y_1d, names=names, cov_type=cov_type,
                                    fold=fold, use_t=use_t)


class DaskRidge(_DaskRegressorMixin, Ridge):
    """:class:`fastlin.Ridge` that fits on Dask arrays (see :class:`DaskLinearRegression`)."""


class DaskLogisticRegression(LogisticRegression):
    """:class:`fastlin.LogisticRegression` that fits on Dask arrays (``solver="lbfgs"``).

    Each L-BFGS evaluation is one distributed pass of the fused loss/gradient kernel; X,
    the encoded labels and the weights are persisted on the workers for the passes.
    ``predict``, ``predict_proba`` and ``decision_function`` on a Dask array return Dask
    arrays.
    """

    def fit(self, X, y=None, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, y, sample_weight)
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        if _dask_input(X):
            return predict(self, X)
        return super().predict(X)

    def predict_proba(self, X):
        if _dask_input(X):
            return predict_proba(self, X)
        return super().predict_proba(X)

    def decision_function(self, X):
        if _dask_input(X):
            return decision_function(self, X)
        return super().decision_function(X)


class DaskStandardScaler(StandardScaler):
    """:class:`fastlin.estimators.preprocessing.StandardScaler` that fits on Dask arrays.

    ``transform`` on a Dask array returns a Dask array.
    """

    def fit(self, X, y=None, sample_weight=None):
        if _dask_input(X):
            return fit(self, X, None, sample_weight)
        return super().fit(X, y, sample_weight)

    def transform(self, X, copy=None):
        if _dask_input(X):
            return transform(self, X)
        return super().transform(X, copy)
