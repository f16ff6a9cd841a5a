"""The fold engine: one pass over rows into an accumulator, with progress and checkpoints.

:func:`fold` is the one driver of every statistic: estimators, diagnostics, the command
line and the Dask backend fold accumulators (:mod:`fastlin.core.accumulator`), or
``Mapped`` ones fed a function of the rows, over arrays, chunk sources, iterables of
chunks and Dask collections. Passes that are maps rather than folds (a prediction per
row written to a file, per-row influence measures, a column gathered for a figure, the
held-out rows of a split chosen by global row) walk the same chunks with :func:`chunks`.

A *chunk source* is either a :class:`fastlin.io.ChunkSource` (anything with
``iter_chunks(chunk_rows, start_row)``, ``identity()`` and ``n_rows``), which can be
checkpointed and resumed, or any iterable of ``(X, y)`` / ``(X, y, sample_weight)``
tuples, which is folded in as it comes.

Checkpoints hold the accumulator state after whole chunks, the rows consumed, the
source's identity and what the statistics were made with (the target transform, the shape
of the transformed targets, the caller's ``checkpoint_meta``). A resumed pass skips the
rows already folded in and, because uint8 statistics are exact integers, ends with the
same bits as an uninterrupted pass. A checkpoint made with anything different is refused
(:class:`fastlin.edges.persistence.CheckpointMismatchError`) and left as it is. A pass that ends
without error deletes its checkpoint unless asked to keep it.

A pass commits nothing until the source is exhausted without error. When the source
itself reports damage (a gzip CRC mismatch surfaces only at the end of the stream), the
statistics of the rows read so far are suspect too, so the checkpoint written during
this pass is deleted before the error propagates.
"""

import os
import re
import sys

import numpy as np


def is_chunked(data):
    """A chunk source or an iterable of chunks, as opposed to an array of rows."""
    if is_source(data):
        return True
    if (
        isinstance(data, (np.ndarray, str, bytes))
        or hasattr(data, "__array__")
        or hasattr(data, "columns")
        or hasattr(data, "shape")
    ):
        return False
    if hasattr(data, "__next__"):
        return True
    if isinstance(data, (list, tuple)):
        if data and hasattr(data[0], "columns"):
            return True  # DataFrame chunks (refused with a pointer to open_source(target=))
        if not data or not isinstance(data[0], (tuple, list)) or len(data[0]) not in (2, 3):
            return False
        try:
            return np.ndim(data[0][0]) == 2
        except (TypeError, ValueError):
            return False
    return hasattr(data, "__iter__")  # a re-iterable of chunks (fastlin.io's wrappers)


def is_source(obj):
    """True for checkpointable chunk sources (``fastlin.io.ChunkSource`` and alikes)."""
    return hasattr(obj, "iter_chunks") and hasattr(obj, "identity")


def accumulate(
    chunks,
    stats,
    *,
    chunk_rows=None,
    target_transform=None,
    checkpoint=None,
    checkpoint_every=1,
    checkpoint_meta=None,
    keep_checkpoint=False,
    verbose=False,
    desc="fit",
    then=None,
    sample_weight=None,
):
    """Fold every chunk of ``chunks`` into ``stats`` (updated in place).

    Parameters
    ----------
    chunks : ChunkSource or iterable of tuples
        ``(X, y)`` or ``(X, y, sample_weight)`` per chunk.
    stats : accumulator with ``update(X, y, sample_weight)``, ``copy()``, ``to_arrays()``
    chunk_rows : int, optional
        Rows per chunk for a ChunkSource (its default otherwise).
    target_transform : callable, optional
        Applied to each y chunk (e.g. :func:`fastlin.io.datasets.one_hot`).
    checkpoint : path, optional
        For a ChunkSource: resume from this file when it exists, and save the state to it
        every ``checkpoint_every`` chunks. Resuming needs the same source identity, the
        same target transform (by :func:`fastlin.edges.persistence.describe_transform`), targets
        of the same shape and the same ``checkpoint_meta``; otherwise
        :class:`fastlin.edges.persistence.CheckpointMismatchError` (a ValueError) names what
        differs and the file is left untouched. Atomic writes: a kill at any moment leaves
        the previous checkpoint intact.
    checkpoint_meta : dict, optional
        JSON-serialisable settings recorded in the checkpoint and compared on resume
        (e.g. the estimator's class name and ``get_params()``).
    keep_checkpoint : bool, default False
        Keep the checkpoint (holding every row) after a pass that ended without error;
        by default it is deleted then.
    verbose : bool
        A tqdm progress bar in rows (rows/s).
    sample_weight : array of shape (n_rows,), optional
        One weight per row of the whole source, beside it (chunks that carry weights of
        their own are refused): chunk k gets the slice at its global rows.
    then : callable ``then(stats, y_1d)``, optional
        What the pass is for (an estimator's solve), run before the checkpoint is deleted:
        if it raises, the checkpoint stays, holding every row, and no pass is lost.

    Returns
    -------
    stats : the accumulator
    y_1d : bool or None
        Whether the y chunks were 1-D (None when no chunk was read in this pass and the
        checkpoint did not record it).
    """
    from ..edges import persistence

    weights = _beside(sample_weight, chunks, checkpoint)
    start_row = 0
    identity = None
    saved_targets = None
    meta = None
    if is_source(chunks):
        identity = chunks.identity()
        if checkpoint is not None:
            try:
                meta = persistence._jsonable(checkpoint_meta or {})
            except TypeError as exc:
                raise ValueError(f"checkpoint_meta must be JSON-serialisable: {exc}") from None
        if checkpoint is not None and os.path.exists(checkpoint):
            saved, start_row, header = persistence.load_checkpoint(
                checkpoint,
                identity,
                target_transform=target_transform,
                extra=meta,
                check_made_with=True,
            )
            saved_targets = header["made_with"].get("targets")
            stats = _replace_state(stats, saved)
        iterator = chunks.iter_chunks(chunk_rows, start_row=start_row)
        total = chunks.n_rows
    else:
        if checkpoint is not None:
            raise ValueError("checkpoint needs a ChunkSource (fastlin.io), not a plain iterable")
        iterator = iter(chunks)
        total = None

    def save():  # the state after the rows read so far, with what made it
        persistence.save_checkpoint(
            checkpoint,
            stats,
            rows,
            identity,
            meta,
            target_transform=target_transform,
            targets=targets,
        )

    bar = _progress(verbose, total, start_row, desc)
    rows = start_row
    since_save = 0
    wrote_checkpoint = False
    y_1d = None
    targets = saved_targets
    try:
        for item in iterator:
            X, y, w = _unpack(item)
            if weights is not None:
                w = _slice_weights(weights, w, rows, np.shape(X)[0])
            if target_transform is not None:
                y = target_transform(y)
            ndim_1 = np.ndim(y) == 1
            if y_1d is not None and ndim_1 != y_1d:
                raise ValueError(
                    f"y chunk at row {rows} is {'1-D' if ndim_1 else '2-D'}, "
                    f"earlier chunks were {'1-D' if y_1d else '2-D'}"
                )
            if y_1d is None and checkpoint is not None:
                targets = persistence.describe_targets(y)
                persistence.check_targets(checkpoint, saved_targets, targets)
            y_1d = ndim_1
            try:
                stats.update(X, y, w)
            except ValueError as exc:
                raise _located(exc, chunks, rows) from exc
            rows += np.shape(X)[0]
            since_save += 1
            if bar is not None:
                bar.update(np.shape(X)[0])
            if checkpoint is not None and since_save >= checkpoint_every:
                save()
                wrote_checkpoint = True
                since_save = 0
    except ValueError as exc:
        if checkpoint is not None and wrote_checkpoint and _is_source_damage(exc):
            persistence.remove_checkpoint(checkpoint)
        raise
    finally:
        if bar is not None:
            bar.close()
    if weights is not None and rows != weights.shape[0]:
        raise ValueError(
            f"sample_weight has {weights.shape[0]} entries but the chunks held {rows} rows"
        )
    if y_1d is None and isinstance(saved_targets, dict):
        y_1d = saved_targets.get("ndim") == 1
    if checkpoint is not None and (keep_checkpoint or then is not None) and since_save:
        save()
    if then is not None:
        then(stats, y_1d)
    if checkpoint is not None and not keep_checkpoint:
        persistence.remove_checkpoint(checkpoint)
    return stats, y_1d


def _beside(sample_weight, chunks, checkpoint):
    """Weights passed beside a source, as float64, checked against its row count."""
    if sample_weight is None:
        return None
    if checkpoint is not None:
        raise ValueError(
            "a checkpoint records the source, not weights beside it; yield "
            "(X, y, sample_weight) chunks to checkpoint a weighted pass"
        )
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D of shape (n_rows,), got shape {w.shape}")
    n = getattr(chunks, "n_rows", None)
    if n is not None and w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} entries but the source has {n} rows")
    return w


def _slice_weights(weights, own, row0, m):
    if own is not None:
        raise ValueError(
            f"the chunk at row {row0} carries sample_weight and sample_weight was also "
            "passed beside the source; give the weights once"
        )
    if row0 + m > weights.shape[0]:
        raise ValueError(
            f"sample_weight has {weights.shape[0]} entries but the chunks hold more rows "
            f"(the chunk at row {row0} has {m})"
        )
    return weights[row0 : row0 + m]


def is_dask(data):
    """A Dask collection (array, DataFrame, Series). Dask is not imported for this: a
    collection exists only once Dask has been."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(data)


def fold(
    data, state, y=None, sample_weight=None, *, chunk_rows=None, target_transform=None, **options
):
    """Fold the accumulator ``state`` over rows wherever they are; returns the state.

    The one driver of every accumulator (see :mod:`fastlin.core.accumulator`):

    - arrays ``data`` (with ``y`` and ``sample_weight``): one ``update``; accumulators
      block their own rows, so memory stays bounded by the blocks;
    - a chunk source or an iterable of ``(X, y)`` / ``(X, y, sample_weight)`` chunks:
      :func:`accumulate` (checkpoints, progress bar, errors placed at their global row);
      ``options`` are its keywords; ``sample_weight``, one per row of the whole source,
      may be passed beside it;
    - Dask arrays or a Dask DataFrame: :func:`fastlin.dask.fold`, which maps ``update``
      over the blocks where they live and tree-merges the states (``options``:
      ``split_every``, ``kernel_threads``).

    ``target_transform`` applies to every y chunk (arrays and sources alike). A
    one-shot iterable can be folded once.
    """
    if is_dask(data):
        if target_transform is not None:
            raise ValueError(
                "target_transform is not supported on Dask arrays; map it over the y blocks first"
            )
        from ..dask import fold as dask_fold

        return dask_fold(data, state, y, sample_weight, **options)
    if is_chunked(data):
        if y is not None:
            raise ValueError("y comes with the chunks of a source")
        return accumulate(
            data,
            state,
            chunk_rows=chunk_rows,
            target_transform=target_transform,
            sample_weight=sample_weight,
            **options,
        )[0]
    if options:
        raise TypeError(
            f"{', '.join(sorted(options))}: options of a chunk source or a Dask "
            "array; the rows are arrays here"
        )
    if y is not None and target_transform is not None:
        y = target_transform(y)
    return state.update(data, y, sample_weight)


def data_fold(X, y=None, sample_weight=None, **options):
    """``fold(state) -> state`` over the same rows every time: :func:`fold` with the data
    bound, for solvers that make passes of their own (refinement, TSQR, leave-one-out)."""
    if not is_chunked(X) and not is_dask(X) and y is None:
        raise ValueError("y is required with array X")

    def bound(state):
        return fold(X, state, y, sample_weight, **options)

    return bound


def chunks(data, chunk_rows=None, *, target_transform=None):
    """Yield ``(row0, X, y, sample_weight)`` for every chunk of a chunk source or an
    iterable of chunks, with ``row0`` the chunk's first global row.

    For passes that are not folds of an accumulator (per-row outputs: predictions written
    to a file, influence measures): every read of a source goes through this function or
    :func:`accumulate`.
    """
    row0 = 0
    items = data.iter_chunks(chunk_rows) if hasattr(data, "iter_chunks") else iter(data)
    for item in items:
        X, y, w = _unpack(item)
        if target_transform is not None and y is not None:
            y = target_transform(y)
        yield row0, X, y, w
        row0 += np.shape(X)[0]


def width(data):
    """``(n_features, feature names or None)`` of a chunk source, without a pass: the
    source's ``n_features``, else the first chunk of an iterable (which must then be
    re-iterable, as a list is)."""
    d = getattr(data, "n_features", None)
    if d is not None:
        return int(d), getattr(data, "feature_names", None)
    if hasattr(data, "__next__"):
        raise ValueError("a one-shot iterator of chunks cannot be read for its width alone")
    for _, X, _, _ in chunks(data):
        shape = np.shape(X)
        if len(shape) != 2:
            raise ValueError(f"the first chunk's X has shape {shape}; chunks hold 2-D X")
        return int(shape[1]), None
    raise ValueError("the chunk source yielded no chunks")


_POSITION = re.compile(r"(X[^,]*?) contains (\S+) at position \((\d+), (\d+)\)")


def _located(exc, chunks, row0):
    """The same error, placed in the whole source: a chunk's (i, j) becomes the global row
    (and, for files, the file and byte offset); other messages name the chunk's rows."""
    msg = str(exc)
    locate = getattr(chunks, "locate", None)
    m = _POSITION.search(msg)
    if m is not None:
        i, j = int(m.group(3)), int(m.group(4))
        where = locate(row0 + i, j) if locate is not None else f"row {row0 + i}, column {j}"
        new = msg.replace(m.group(0), f"{m.group(1)} contains {m.group(2)} at {where}")
    else:
        new = f"chunk starting at row {row0}: {msg}"
    try:
        return type(exc)(new)
    except TypeError:
        return ValueError(new)


def _replace_state(stats, saved):
    stats.__dict__.update(saved.__dict__)
    return stats


def _unpack(item):
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        hint = (
            " (for DataFrames use fastlin.open_source(chunks, target=COLUMN))"
            if hasattr(item, "columns")
            else ""
        )
        raise ValueError(
            "each chunk must be a tuple (X, y) or (X, y, sample_weight), got "
            f"{type(item).__name__}"
            f"{'' if not isinstance(item, (tuple, list)) else f' of length {len(item)}'}{hint}"
        )
    if len(item) == 2:
        return item[0], item[1], None
    return tuple(item)


def _is_source_damage(exc):
    try:
        from . import DataSourceError
    except ImportError:  # pragma: no cover - io is part of the package
        return False
    return isinstance(exc, DataSourceError)


def _progress(verbose, total, initial, desc):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, unit="rows", unit_scale=True, desc=desc, mininterval=0.5
    )
