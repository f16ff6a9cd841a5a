"""Warnings that point at the user's line, however deep inside fastlin they are raised,
and a context-local way to collect them instead.

:func:`collected` does not touch the process-wide filters that ``warnings.catch_warnings``
swaps: under the threaded Dask workers fastlin supports, those filters are shared by every
thread, so one caller's "record" or "ignore" would swallow or leak another's warnings.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import warnings
from collections.abc import Iterator

_INTERNAL = ("fastlin", "sklearn")

# (category, list) while a `collected` block runs in this thread or task.
_SINK: contextvars.ContextVar[tuple[type[Warning], list[str]] | None] = contextvars.ContextVar(
    "fastlin_warning_sink", default=None
)


def user_stacklevel():
    """``stacklevel`` for a :func:`warnings.warn` called by this function's caller, naming
    the first frame outside fastlin and scikit-learn (a fit reached through a Pipeline or
    a lazy attribute is reported at the user's call, not at fastlin's own lines)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.split(".", 1)[0] in _INTERNAL:
            return level
        frame = frame.f_back
        level += 1
    return 1


def warn(message, category=UserWarning):
    """``warnings.warn`` at the user's line (see :func:`user_stacklevel`), or into the
    list of an enclosing :func:`collected` block of a matching category."""
    sink = _SINK.get()
    if sink is not None and issubclass(category, sink[0]):
        sink[1].append(str(message))
        return
    warnings.warn(message, category, stacklevel=user_stacklevel())


@contextlib.contextmanager
def collected(category: type[Warning]) -> Iterator[list[str]]:
    """Within the block, fastlin's warnings of ``category`` (subclasses included) raised
    in this thread or task are appended, as messages, to the yielded list instead of
    being warned. Other threads, other categories and other libraries' warnings are
    not affected."""
    messages: list[str] = []
    token = _SINK.set((category, messages))
    try:
        yield messages
    finally:
        _SINK.reset(token)
