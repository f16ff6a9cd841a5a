"""Thread-count and threading-layer control for the parallel kernels.

Numba's default ``workqueue`` layer aborts the whole process when two Python threads
launch parallel kernels at the same time (threaded Dask workers, web servers), and GNU
OpenMP breaks a ``fork`` after a parallel region (the child hangs or is killed). TBB is
both thread-safe and fork-safe, so fastlin uses it where the ``tbb`` wheel exists (Linux,
Windows and macOS on x86_64; installed as a dependency there). The wheel puts
``libtbb`` in the environment's ``lib`` folder, which the loader does not search, so
Numba's TBB layer fails to import ("Unknown import problem") unless the library is
loaded first: :func:`_preload_tbb` does that. Where TBB is absent (aarch64, Apple
Silicon) the ``threadsafe`` choice falls back to OpenMP: thread-safe, but a forked child
must not run kernels (use the ``spawn`` or ``forkserver`` start method there).
A layer chosen through ``NUMBA_THREADING_LAYER`` is left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
import ctypes
import glob
import os
import sys
import threading

import numba


def _preload_tbb():
    """Load the TBB runtime the ``tbb`` wheel installed, so that Numba's layer imports.
    True when a library was loaded (or none is needed)."""
    names = {"linux": "libtbb.so.12*", "darwin": "libtbb.12*.dylib", "win32": "tbb12.dll"}
    pattern = names.get(sys.platform)
    if pattern is None:
        return False
    roots = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(sys.executable))}
    for root in roots:
        for sub in ("lib", "Library/bin", "Library/lib"):
            for path in sorted(glob.glob(os.path.join(root, sub, pattern))):
                try:
                    ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
                    return True
                except OSError:
                    continue
    return False


if "NUMBA_THREADING_LAYER" not in os.environ:
    TBB_LOADED = _preload_tbb()
    numba.config.THREADING_LAYER = "threadsafe"
else:
    TBB_LOADED = False


def n_threads() -> int:
    """Number of threads the parallel kernels use now (``numba.get_num_threads()``)."""
    return numba.get_num_threads()


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
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


_POOLS = {}
_POOLS_LOCK = threading.Lock()


def _forget_pools():
    # A forked child has the pool objects but none of their threads.
    _POOLS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def run_parts(part, n_parts):
    """Call ``part(p)`` for p in 0..n_parts-1 on up to ``n_threads()`` Python threads.

    For kernels compiled serial and ``nogil``, one call per part: the same parallelism as
    a ``prange`` over the parts, without compiling a parallel kernel for each signature
    (seconds per specialisation). Parts are handed out one at a time; each writes its own
    outputs, so results do not depend on which thread ran which part. The first
    exception a part raises is raised here, after every part has finished.
    """
    workers = min(int(n_parts), n_threads())
    if workers <= 1:
        for p in range(n_parts):
            part(p)
        return
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[workers] = ThreadPoolExecutor(workers, "fastlin-part")
    futures = [pool.submit(part, p) for p in range(n_parts)]
    for f in futures:
        f.exception()  # wait for all before raising any
    for f in futures:
        f.result()


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
