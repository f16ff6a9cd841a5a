"""BLAS thread pools: one thread inside blocks where their threads cost more than they give.

NumPy and SciPy wheels each bundle their own OpenBLAS, with its own thread pool, and
OpenBLAS threads spin for a while after each call before they sleep. When one library's
threads are still spinning (a Gram pass through NumPy) and the other's wake (a Cholesky
factor through SciPy's LAPACK), the two pools share the cores and wait on each other: a
d = 400 solve took 6-110 ms right after a Gram pass against 5-8 ms on one thread. The
same holds for the small vector products between Numba-parallel passes.

:func:`single_thread_blas` limits every BLAS library through threadpoolctl's cached
controller, so a block costs tens of microseconds rather than the milliseconds of
scanning the loaded libraries. An OpenBLAS pool is process-wide, and threadpoolctl lets
only the thread that set its limit change it again (others are ignored). So the blocks of
all Python threads share one limit, counted here: the first block to open sets it, and
the last to close, whichever thread that is, takes control to restore the original
counts. A thread leaving its block therefore never lifts the limit under a block still
open in another thread, and no limit of one is left behind. While any block is open,
BLAS calls from other Python threads run on one thread too. OpenBLAS built on OpenMP
keeps a limit per Python thread instead: there each block sets and restores its own
thread's limit through threadpoolctl.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from threadpoolctl import OpenBLASController, get_cached_controller

_lock = threading.Lock()
_open = 0
_limiter = None


def _shared_pools(controller):
    """Whether the BLAS limits are process-wide (OpenBLAS on pthreads). OpenBLAS built
    on OpenMP keeps a limit per Python thread, which threadpoolctl sets and restores
    within the thread itself."""
    return not any(
        getattr(lib, "threading_layer", None) == "openmp"
        for lib in controller.lib_controllers
        if lib.user_api == "blas"
    )


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with every BLAS library on one thread; restore them when the last
    open block (of any Python thread) closes."""
    global _open, _limiter
    controller = get_cached_controller()
    if not _shared_pools(controller):
        with controller.limit(limits=1, user_api="blas"):
            yield
        return
    with _lock:
        if _open == 0:
            _limiter = controller.limit(limits=1, user_api="blas")
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1
            if _open == 0:
                # Only the controlling thread may set an OpenBLAS limit: the thread
                # closing last takes control for the restore, then leaves it free.
                OpenBLASController.clear_controlling_thread(force=True)
                _limiter.restore_original_limits()
                OpenBLASController.clear_controlling_thread(force=True)
                _limiter = None
