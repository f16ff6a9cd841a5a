"""``save`` / ``load`` methods shared by the estimators; the file format itself lives in
:mod:`fastlin.edges.model_files` (imported only when a model is saved or loaded)."""

from __future__ import annotations

import os
from typing import Any, Self


class Saveable:
    """``save`` / ``load`` for estimators written by ``fastlin.edges.model_files``."""

    def save(self, path: os.PathLike | str, *, metadata: dict[str, Any] | None = None) -> None:
        """Save the fitted estimator to a versioned, pickle-free ``.npz`` file (see
        :mod:`fastlin.edges.model_files`); ``fastlin.load(path)`` reads it back.

        metadata : dict, optional
            JSON-serialisable user data stored in the header (``metadata_`` on load).
        """
        from ..edges.model_files import save_estimator

        save_estimator(self, path, metadata)

    @classmethod
    def load(cls, path: os.PathLike | str) -> Self:
        """Load an estimator saved by :meth:`save`; the class must match."""
        from ..edges.model_files import load

        model = load(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model
