"""The one place that owns Numba settings for every kernel.

``cache=True`` so compiled kernels survive between processes; ``error_model="numpy"`` so a
division by zero gives inf/nan as NumPy does instead of raising inside a kernel.

The fastmath set leaves out ``nnan`` and ``ninf`` on purpose: with them LLVM may fold
``np.isnan`` to False and treat ``-inf`` in a log-softmax as undefined. ``reassoc`` is what
lets LLVM vectorise reductions; it changes summation order only at compile time, so a
compiled kernel is still deterministic for a fixed thread count.
"""

import functools
import hashlib
import os

from numba import njit
from numba.core import caching as _caching

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def tree_stamp():
    """Hash of every kernel source (``kernels/*.py``) and of these settings.

    Numba stamps a cached kernel with its own file only, so an edit to a tile or helper
    in another file left callers running stale machine code. fastlin's kernels are
    stamped with this hash as well: any edit to any kernel file recompiles them all.
    Computed when a kernel is first compiled or loaded, not at import.
    """
    h = hashlib.blake2b(digest_size=16)
    kernels = os.path.join(_PACKAGE, "kernels")
    for name in sorted(os.listdir(kernels)):
        if name.endswith(".py"):
            h.update(name.encode())
            with open(os.path.join(kernels, name), "rb") as fh:
                h.update(fh.read())
    with open(os.path.abspath(__file__), "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


class _TreeStamped:
    """A cache locator for fastlin's own kernels: Numba's, with the tree's stamp added."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(_PACKAGE + os.sep):
            return None  # other code keeps Numba's own locators
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return (super().get_source_stamp(), tree_stamp())


def _install_locators():
    """Put the tree-stamped locators ahead of Numba's; False when this Numba's caching
    module has another shape (then caches are stamped per file, as Numba does)."""
    impl = getattr(_caching, "CacheImpl", None) or getattr(_caching, "_CacheImpl", None)
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    bases = [getattr(_caching, n, None) or getattr(_caching, "_" + n, None) for n in names]
    classes = getattr(impl, "_locator_classes", None)
    if classes is None or None in bases:
        return False
    if not any(getattr(c, "_fastlin", False) for c in classes):
        classes[:0] = [
            type(f"Fastlin{b.__name__}", (_TreeStamped, b), {"_fastlin": True}) for b in bases
        ]
    return True


TREE_STAMPED = _install_locators()

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

jit = functools.partial(njit, cache=True, error_model="numpy", fastmath=set(FASTMATH), nogil=True)
"""Serial kernel decorator."""

pjit = functools.partial(jit, parallel=True)
"""Parallel kernel decorator (``prange`` over row blocks)."""


def kernels_compiled():
    """How many kernel specialisations this process has compiled rather than loaded from
    the on-disk cache: non-zero on a first run (or after an edit), when a timing includes
    compilation."""
    import sys

    from numba.core.registry import CPUDispatcher

    kernels = {}  # by identity: a kernel imported into several modules counts once
    for name, module in list(sys.modules.items()):
        if name.startswith("fastlin.") and module is not None:
            for obj in list(vars(module).values()):
                if isinstance(obj, CPUDispatcher):
                    kernels[id(obj)] = obj
    return sum(sum(k.stats.cache_misses.values()) for k in kernels.values())
