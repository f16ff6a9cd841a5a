"""``save`` / ``load`` methods shared by the estimators. They call the package's
``fastlin.save`` / ``fastlin.load``: the file format is an edge of the package
(:mod:`fastlin.edges.model_files`), which the estimators do not import."""

from __future__ import annotations

import os
from typing import Any, Self


class Saveable:
    """``save`` / ``load`` for estimators, through ``fastlin.save`` and ``fastlin.load``."""

    def save(self, path: os.PathLike | str, *, metadata: dict[str, Any] | None = None) -> None:
        """Save the fitted estimator to a versioned, pickle-free ``.npz`` file (see
        :func:`fastlin.save`); ``fastlin.load(path)`` reads it back.

        metadata : dict, optional
            JSON-serialisable user data stored in the header (``metadata_`` on load).
        """
        import fastlin

        fastlin.save(self, path, metadata=metadata)

    @classmethod
    def load(cls, path: os.PathLike | str) -> Self:
        """Load an estimator saved by :meth:`save`; the class must match."""
        import fastlin

        model = fastlin.load(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model
