"""Warnings that point at the user's line, however deep inside fastlin they are raised."""

import sys
import warnings

_INTERNAL = ("fastlin", "sklearn")


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
    """``warnings.warn`` at the user's line (see :func:`user_stacklevel`)."""
    warnings.warn(message, category, stacklevel=user_stacklevel())
