"""BLAS thread pools: one thread inside blocks where their threads cost more than they give.

NumPy and SciPy wheels each bundle their own OpenBLAS, with its own thread pool, and
OpenBLAS threads spin for a while after each call before they sleep. When one library's
threads are still spinning (a Gram pass through NumPy) and the other's wake (a Cholesky
factor through SciPy's LAPACK), the two pools share the cores and wait on each other: a
d = 400 solve took 6-110 ms right after a Gram pass against 5-8 ms on one thread. The
same holds for the small vector products between Numba-parallel passes.

:func:`single_thread_blas` limits every BLAS library through threadpoolctl's cached
controller, so a block costs tens of microseconds rather than the milliseconds of
scanning the loaded libraries. From threadpoolctl 3.8 on, a process-wide OpenBLAS pool
is limited only by the thread that took control of it, and the context manager gives
control back when it exits: blocks nest, and blocks in several Python threads at once
can neither fight over the limit nor leave it at one thread for good. The pool being
process-wide, BLAS calls from other Python threads also run on one thread while a block
is open (OpenBLAS built on OpenMP keeps a limit per thread instead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from threadpoolctl import get_cached_controller


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with every BLAS library on one thread; restore them afterwards."""
    with get_cached_controller().limit(limits=1, user_api="blas"):
        yield
