"""Type aliases shared by the public signatures.

The modules of the package import these names under ``typing.TYPE_CHECKING`` only (their
annotations are never evaluated at import), so this module, which loads :mod:`fastlin.io`,
is not imported when the package runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, Protocol, TypeAlias, Union

import numpy as np
from numpy.typing import ArrayLike

from .io import ChunkSource

__all__ = [
    "Chunk",
    "ChunkIterable",
    "CrossValidation",
    "CVSplitter",
    "FitData",
    "Fold",
    "RereadableData",
    "Seed",
    "Solver",
    "SourceOrArray",
    "TargetTransform",
]

Chunk: TypeAlias = Union[
    tuple[ArrayLike, ArrayLike | None],
    tuple[ArrayLike, ArrayLike | None, ArrayLike | None],
]
"""One chunk of rows: ``(X, y)`` or ``(X, y, sample_weight)``."""

ChunkIterable: TypeAlias = Union[ChunkSource, Iterable[Chunk]]
"""Rows read in chunks: a chunk source, or any iterable of ``(X, y[, w])`` chunks."""

FitData: TypeAlias = Union[ArrayLike, ChunkIterable]
"""Rows given whole (an array) or in chunks (a source or an iterable of chunks)."""

RereadableData: TypeAlias = Union[
    ArrayLike, ChunkSource, Iterable[Chunk], Callable[[], Iterable[Chunk]]
]
"""Rows that can be read several times: arrays, a chunk source, a re-iterable of chunks or
a callable returning a fresh iterable of chunks."""

SourceOrArray: TypeAlias = Union[ArrayLike, ChunkSource]
"""An array of rows or a chunk source."""

TargetTransform: TypeAlias = Callable[[np.ndarray], ArrayLike]
"""Applied to each y chunk, e.g. :func:`fastlin.io.datasets.one_hot`."""

Fold: TypeAlias = Callable[[Any], Any]
"""``fold(state) -> state``: folds an accumulator over the same rows again."""

Seed: TypeAlias = Union[
    int, np.random.Generator, np.random.BitGenerator, np.random.SeedSequence, None
]
"""What :func:`numpy.random.default_rng` accepts."""

Solver: TypeAlias = Literal["auto", "cholesky", "minimum_norm", "qr"]
"""Solvers of the Gram-based regressors (``fastlin.core.solve.SOLVERS``)."""


class CVSplitter(Protocol):
    """A scikit-learn cross-validation splitter (``KFold``, ``ShuffleSplit``, ...)."""

    def split(
        self, X: Any, y: Any = ..., groups: Any = ...
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def get_n_splits(self, X: Any = ..., y: Any = ..., groups: Any = ...) -> int: ...


CrossValidation: TypeAlias = Union[
    Literal["loo", "gcv"], int, CVSplitter, Iterable[tuple[ArrayLike, ArrayLike]], None
]
"""``RidgeCV(cv=...)``: leave-one-out, GCV, k folds, a splitter or (train, test) splits."""
