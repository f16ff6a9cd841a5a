"""The one place that owns Numba settings for every kernel.

``cache=True`` so compiled kernels survive between processes; ``error_model="numpy"`` so a
division by zero gives inf/nan as NumPy does instead of raising inside a kernel.

The fastmath set leaves out ``nnan`` and ``ninf`` on purpose: with them LLVM may fold
``np.isnan`` to False and treat ``-inf`` in a log-softmax as undefined. ``reassoc`` is what
lets LLVM vectorise reductions; it changes summation order only at compile time, so a
compiled kernel is still deterministic for a fixed thread count.
"""

import functools

from numba import njit

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

jit = functools.partial(njit, cache=True, error_model="numpy", fastmath=set(FASTMATH), nogil=True)
"""Serial kernel decorator."""

pjit = functools.partial(jit, parallel=True)
"""Parallel kernel decorator (``prange`` over row blocks)."""
