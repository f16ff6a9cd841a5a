"""The protocol every mergeable statistic implements.

An accumulator folds rows in with ``update(X, y=None, sample_weight=None)``, adds
another state built from disjoint rows with ``merge(other)``, and turns its sums into a
result with ``finalize(...)``. ``copy()`` gives an independent state. ``to_arrays()``
returns the whole state (settings and sums) as a flat dict of NumPy arrays, and
``from_arrays()`` rebuilds it: checkpoints, saved models and pickling (hence the Dask
transport) all go through these two, so a state travels as plain arrays, never as the
kernels' scratch buffers.

``empty()`` gives a state with the same settings and no rows, which each block of a
parallel or distributed fold starts from.

``update`` validates the chunk before anything changes: a chunk that raises leaves the
state as it was.

Subclasses whose sums merge by addition list them in ``_SUMS`` and get ``merge``,
``copy`` and the sums' part of ``to_arrays`` / ``from_arrays``; their settings go
through :meth:`Accumulator._settings` and :meth:`Accumulator._from_settings`.
Statistics that merge otherwise (shifted Gram sums, stacked R factors, Chan's moments,
histograms) override those methods.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike


class Accumulator(abc.ABC):
    """Base of every mergeable statistic; see the module docstring for the protocol."""

    _SUMS: ClassVar[tuple[str, ...]] = ()
    """Attributes merged by addition: floats, ints or float64 arrays."""

    @abc.abstractmethod
    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk of rows in; raises ``ValueError`` before any change on bad input."""

    @abc.abstractmethod
    def finalize(self, *args: Any, **kwargs: Any) -> Any:
        """The statistic's result."""

    def merge(self, other: Self) -> Self:
        """Add the sums of ``other`` (disjoint rows, same settings) into this state."""
        self._check_mergeable(other)
        for name in self._SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def copy(self) -> Self:
        """An independent state: settings are shared (never changed after construction),
        sums are copied."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name in self._SUMS:
            value = getattr(self, name)
            setattr(new, name, value.copy() if isinstance(value, np.ndarray) else value)
        return new

    def empty(self) -> Self:
        """A state with the same settings and no rows: what each block of a parallel or
        distributed fold starts from."""
        return type(self)._from_settings(self._settings())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The whole state as a flat dict of NumPy arrays (``np.savez`` stores it)."""
        out = {k: np.asarray(v) for k, v in self._settings().items()}
        for name in self._SUMS:
            out[name] = np.array(getattr(self, name))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        missing = [k for k in cls._SUMS if k not in arrays]
        if missing:
            raise ValueError(f"{cls.__name__} arrays lack {missing}")
        new = cls._from_settings(arrays)
        for name in cls._SUMS:
            old = getattr(new, name)
            value = np.asarray(arrays[name])
            if isinstance(old, np.ndarray):
                if value.shape != old.shape:
                    raise ValueError(
                        f"{cls.__name__} sum {name!r} has shape {value.shape}, expected {old.shape}"
                    )
                value = value.astype(old.dtype, copy=True)
            else:
                value = type(old)(value)
            setattr(new, name, value)
        return new

    def _settings(self) -> dict[str, ArrayLike]:
        """Constructor settings as arrays (by default: none)."""
        return {}

    @classmethod
    def _from_settings(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """An empty state with the settings of ``arrays``."""
        return cls()

    def _check_mergeable(self, other: object) -> None:
        if type(other) is not type(self):
            raise TypeError(f"cannot merge a {type(other).__name__} into a {type(self).__name__}")
        mine, theirs = self._settings(), other._settings()
        for name, value in mine.items():
            if not np.array_equal(np.asarray(value), np.asarray(theirs[name])):
                raise ValueError(f"cannot merge {type(self).__name__} states with different {name}")

    def __reduce__(self):
        # Pickles (and so Dask's transport) carry the arrays of to_arrays, never the
        # per-thread scratch buffers an update leaves behind.
        return (_rebuild, (type(self), self.to_arrays()))


class Mapped:
    """An accumulator fed a function of the rows: ``update(X, y, sample_weight)`` folds
    ``fn(X, y) -> (X', y')`` into ``state`` with the same weights. Statistics of derived
    rows (a model's residuals, a classifier's probabilities, squared features) are then
    folded by the same engine as those of the raw rows.

    ``merge``, ``copy`` and ``empty`` keep ``fn``; ``finalize`` is the state's. The
    state's own validation runs on ``fn``'s output: an ``fn`` or an update that raises
    leaves the state as it was. Not an :class:`Accumulator` itself: ``fn`` has no array
    form, so a mapped state is not checkpointed; its ``state`` is.
    """

    def __init__(self, state: Accumulator, fn: Any) -> None:
        self.state = state
        self.fn = fn

    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        Xm, ym = self.fn(X, y)
        if ym is None:  # statistics of the rows alone refuse a positional y
            self.state.update(Xm, sample_weight=sample_weight)
        else:
            self.state.update(Xm, ym, sample_weight)
        return self

    def merge(self, other: Mapped) -> Self:
        self.state.merge(other.state if isinstance(other, Mapped) else other)
        return self

    def copy(self) -> Mapped:
        return Mapped(self.state.copy(), self.fn)

    def empty(self) -> Mapped:
        return Mapped(self.state.empty(), self.fn)

    def finalize(self, *args: Any, **kwargs: Any) -> Any:
        return self.state.finalize(*args, **kwargs)


def _rebuild(cls, arrays):
    return cls.from_arrays(arrays)


def prefixed(prefix: str, arrays: Mapping[str, ArrayLike]) -> dict[str, ArrayLike]:
    """``arrays`` with every key under ``prefix`` (a nested state inside another's)."""
    return {f"{prefix}__{k}": v for k, v in arrays.items()}


def unprefixed(prefix: str, arrays: Mapping[str, ArrayLike]) -> dict[str, ArrayLike]:
    """The keys of ``arrays`` under ``prefix``, without it (inverse of :func:`prefixed`)."""
    head = prefix + "__"
    return {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}


_SCALARS = {"float": float, "int": int, "bool": bool, "str": str}


def dataclass_arrays(obj: Any) -> dict[str, np.ndarray]:
    """The fields of a dataclass of arrays and scalars (a setting such as a factored
    Gram), as arrays; not copied."""
    return {f.name: np.asarray(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def dataclass_from_arrays(cls: type, arrays: Mapping[str, ArrayLike]) -> Any:
    """Inverse of :func:`dataclass_arrays`: scalar fields back to their annotated type."""
    values = {}
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        convert = _SCALARS.get(kind)
        value = np.asarray(arrays[f.name])
        values[f.name] = convert(value.item()) if convert else value.copy()
    return cls(**values)
