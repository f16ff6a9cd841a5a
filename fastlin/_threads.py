"""Thread-count and threading-layer control for the parallel kernels.

Numba's default ``workqueue`` layer aborts the whole process when two Python threads
launch parallel kernels at the same time (threaded Dask workers, web servers). fastlin
therefore asks for the ``threadsafe`` layer (TBB, shipped as a dependency, or OpenMP)
unless the user chose a layer explicitly through ``NUMBA_THREADING_LAYER``.
"""

import contextlib
import os
import threading

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "threadsafe"


def n_threads():
    """Number of threads the parallel kernels use now (``numba.get_num_threads()``)."""
    return numba.get_num_threads()


@contextlib.contextmanager
def threads(n):
    """Run the enclosed kernels on ``n`` threads, restoring the previous count after.

    Parameters
    ----------
    n : int
        Between 1 and ``numba.config.NUMBA_NUM_THREADS``.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(int(n))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def row_ranges(n_rows, n_parts, block):
    """Split ``n_rows`` into at most ``n_parts`` contiguous ranges of whole blocks.

    Returns an int64 array of shape (n_parts_used + 1,) of boundaries. Boundaries fall
    on multiples of ``block`` so that the per-block arithmetic (and hence the bits of an
    exact uint8 Gram) does not depend on the number of parts.
    """
    import numpy as np

    n_blocks = -(-n_rows // block) if n_rows else 0
    n_parts = max(1, min(int(n_parts), n_blocks))
    per = -(-n_blocks // n_parts) if n_blocks else 0
    bounds = [min(p * per * block, n_rows) for p in range(n_parts + 1)]
    return np.asarray(bounds, dtype=np.int64)


_LOCKS_GUARD = threading.Lock()


def model_lock(model):
    """The model's own re-entrant lock: ``partial_fit`` calls from several Python threads
    on one model run one after the other, so every chunk is counted."""
    lock = model.__dict__.get("_partial_fit_lock")
    if lock is None:
        with _LOCKS_GUARD:
            lock = model.__dict__.setdefault("_partial_fit_lock", threading.RLock())
    return lock


def drop_lock(state):
    """A pickled or copied model leaves its lock behind (locks do not pickle); the copy
    makes its own on first use."""
    state.pop("_partial_fit_lock", None)
    return state
