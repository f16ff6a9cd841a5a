"""Map a block function over row blocks where they live and merge the results in a tree,
in a fixed order."""

from .._threads import threads
from .arrays import SPLIT_EVERY, _check_int, _dask, _row_blocks


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
        parts = [merge(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
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
        groups.extend(idx[j : j + step] for j in range(0, len(idx), step))
    return sorted(groups)


def _reduce(
    block_fn, arrays, combine, *, split_every, kernel_threads, compute, extra=(), groups=None
):
    """Apply ``block_fn(i, *blocks, *extra)`` to every row block and tree-merge the results.

    ``arrays`` holds Dask arrays (or None), or lists of their blocks as Delayed objects
    (``_row_blocks``), which saves re-deriving them at every L-BFGS evaluation.
    ``groups`` (lists of block indices, from ``_local_groups``) folds each group in one
    task; by default, when the first array is persisted on a distributed cluster, its
    blocks are grouped by the worker that holds them.
    """
    dask, _ = _dask()
    split_every = _check_int(
        split_every if split_every is not None else SPLIT_EVERY, "split_every", 2
    )
    if kernel_threads is not None:
        kernel_threads = _check_int(kernel_threads, "kernel_threads", 1)
    if groups is None and not isinstance(arrays[0], list):
        groups = _local_groups(arrays[0])
    blocks = [a if isinstance(a, list) else _row_blocks(a) for a in arrays]
    n_blocks = len(blocks[0])
    if groups is None:
        fn = dask.delayed(_run_block, pure=True)
        parts = [
            fn(
                kernel_threads,
                block_fn,
                i,
                *[(b[i] if b is not None else None) for b in blocks],
                *extra,
            )
            for i in range(n_blocks)
        ]
    else:
        fn = dask.delayed(_run_group, pure=True)
        parts = [
            fn(
                kernel_threads,
                block_fn,
                combine,
                list(g),
                [([b[i] for i in g] if b is not None else [None] * len(g)) for b in blocks],
                tuple(extra),
            )
            for g in groups
        ]
    total = _tree(parts, combine, split_every)
    return total.compute() if compute else total
