"""Residual summaries: a mergeable accumulator of moments, extremes and quantiles."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_finite
from ..core.accumulator import Accumulator, Mapped
from ._common import DEFAULT_QUANTILES, _fold, _source, _targets_2d, _weights

if TYPE_CHECKING:
    from .._typing import SourceOrArray, TargetTransform


@dataclasses.dataclass
class ResidualSummary:
    """Per-target summary of residuals y - ŷ.

    Attributes
    ----------
    n : int
    mean, std, rmse, min, max : ndarray of shape (t,)
        Weighted (std with divisor W).
    quantiles : dict of float -> ndarray of shape (t,)
        Unweighted empirical quantiles (empty when not kept).
    """

    n: int
    mean: np.ndarray
    std: np.ndarray
    rmse: np.ndarray
    min: np.ndarray
    max: np.ndarray
    quantiles: dict

    def to_dict(self):
        out = {
            k: (v.tolist() if isinstance(v, np.ndarray) else v)
            for k, v in dataclasses.asdict(self).items()
            if k != "quantiles"
        }
        out["quantiles"] = {str(q): v.tolist() for q, v in self.quantiles.items()}
        return out

    def __str__(self):
        t = self.mean.shape[0]
        names = ["mean", "std", "rmse", "min", "max"]
        lines = [f"residuals of {self.n} rows"]
        head = f"{'target':>8s} " + " ".join(f"{s:>11s}" for s in names)
        head += "".join(f" {'q' + format(q, 'g'):>11s}" for q in self.quantiles)
        lines.append(head)
        for k in range(t):
            vals = [getattr(self, s)[k] for s in names] + [v[k] for v in self.quantiles.values()]
            lines.append(f"{k:>8d} " + " ".join(f"{v:>11.4g}" for v in vals))
        return "\n".join(lines)


class ResidualStats(Accumulator):
    """Mergeable residual summary: weighted moments (Chan's merge), extremes and,
    optionally, the residuals themselves for exact quantiles (8 bytes per residual).

    Parameters
    ----------
    quantiles : sequence of float in [0, 1] or None
        None keeps no residuals (constant memory; no quantiles).
    """

    def __init__(self, quantiles: Sequence[float] | None = DEFAULT_QUANTILES):
        self.quantiles = None if quantiles is None else tuple(float(q) for q in quantiles)
        if self.quantiles is not None and any(not 0 <= q <= 1 for q in self.quantiles):
            raise ValueError(f"quantiles must lie in [0, 1], got {quantiles!r}")
        self.n = 0
        self.sum_w = None
        self.mean = self.m2 = self.ss = self.lo = self.hi = None
        self._kept = []

    def update(self, X: ArrayLike, y: None = None, sample_weight: ArrayLike | None = None) -> Self:
        """Fold a chunk of residuals ``X`` of shape (m,) or (m, t) in (``y`` is not used:
        the residuals are the rows)."""
        if y is not None:
            raise TypeError(
                "ResidualStats.update takes the residuals as X and no y; pass "
                "sample_weight by keyword"
            )
        R = np.asarray(X, dtype=np.float64)
        if R.ndim == 1:
            R = R.reshape(-1, 1)
        if R.ndim != 2:
            raise ValueError(f"residuals must be 1-D or 2-D, got shape {R.shape}")
        m, t = R.shape
        if m == 0:
            return self
        check_finite(R, "residuals")
        w = np.ones(m) if sample_weight is None else _weights(sample_weight, m)
        if self.mean is not None and t != self.mean.shape[0]:
            raise ValueError(f"residuals have {t} targets, earlier chunks had {self.mean.shape[0]}")
        wb = float(w.sum())
        mb = (w @ R) / wb if wb > 0 else np.zeros(t)
        m2b = w @ (R - mb) ** 2
        other = (m, wb, mb, m2b, w @ (R * R), R.min(axis=0), R.max(axis=0))
        self._combine(*other)
        if self.quantiles is not None:
            self._kept.append(R.copy())
        return self

    def _combine(self, n, wb, mb, m2b, ssb, lob, hib):
        if self.mean is None:
            self.n, self.sum_w, self.mean, self.m2, self.ss = n, wb, mb, m2b, ssb
            self.lo, self.hi = lob, hib
            return
        wa = self.sum_w
        W = wa + wb
        delta = mb - self.mean
        if W > 0:
            self.mean = self.mean + delta * (wb / W)
            self.m2 = self.m2 + m2b + delta**2 * (wa * wb / W)
        self.ss = self.ss + ssb
        self.sum_w = W
        self.n += n
        self.lo = np.minimum(self.lo, lob)
        self.hi = np.maximum(self.hi, hib)

    def merge(self, other: ResidualStats) -> Self:
        """Add another state (disjoint rows) into this one."""
        if other.mean is None:
            return self
        self._combine(other.n, other.sum_w, other.mean, other.m2, other.ss, other.lo, other.hi)
        if self.quantiles is not None:
            if other.quantiles is None:
                self.quantiles = None
                self._kept = []
            else:
                self._kept.extend(other._kept)
        return self

    def empty(self) -> Self:
        """A state with the same quantiles and no residuals."""
        return type(self)(self.quantiles)

    def copy(self) -> Self:
        """An independent state."""
        new = super().copy()
        new._kept = list(self._kept)  # chunks are never changed in place
        return new

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Settings, moments, extremes and the kept residuals as plain arrays."""
        out = {
            "quantiles": np.array(
                self.quantiles if self.quantiles is not None else [], dtype=np.float64
            ),
            "keep": np.bool_(self.quantiles is not None),
            "n": np.int64(self.n),
        }
        if self.mean is not None:
            out.update(
                sum_w=np.float64(self.sum_w),
                mean=self.mean,
                m2=self.m2,
                ss=self.ss,
                lo=self.lo,
                hi=self.hi,
            )
            if self.quantiles is not None:
                out["kept"] = (
                    np.concatenate(self._kept) if self._kept else np.zeros((0, self.mean.shape[0]))
                )
        return {k: np.array(v) for k, v in out.items()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        new = cls(tuple(np.asarray(arrays["quantiles"]).tolist()) if bool(arrays["keep"]) else None)
        new.n = int(arrays["n"])
        if "mean" in arrays:
            new.sum_w = float(arrays["sum_w"])
            for name in ("mean", "m2", "ss", "lo", "hi"):
                setattr(new, name, np.array(arrays[name], dtype=np.float64))
            if "kept" in arrays:
                new._kept = [np.array(arrays["kept"], dtype=np.float64)]
        return new

    def finalize(self) -> ResidualSummary:
        """The :class:`ResidualSummary`."""
        if self.mean is None or self.sum_w <= 0:
            raise ValueError("no residuals with positive weight were folded in")
        qs = {}
        if self.quantiles:
            allr = np.concatenate(self._kept)
            vals = np.quantile(allr, self.quantiles, axis=0)
            qs = {q: vals[i] for i, q in enumerate(self.quantiles)}
        return ResidualSummary(
            self.n,
            self.mean.copy(),
            np.sqrt(self.m2 / self.sum_w),
            np.sqrt(self.ss / self.sum_w),
            self.lo.copy(),
            self.hi.copy(),
            qs,
        )


def _predict(model, Xc):
    out = np.asarray(model.predict(Xc), dtype=np.float64)
    return out.reshape(Xc.shape[0], -1)


def residual_summary(
    model: Any,
    X: SourceOrArray,
    y: ArrayLike | None = None,
    *,
    sample_weight: ArrayLike | None = None,
    chunk_rows: int | None = None,
    quantiles: Sequence[float] | None = DEFAULT_QUANTILES,
    target_transform: TargetTransform | None = None,
) -> ResidualSummary:
    """Summary of the residuals y - model.predict(X), per target, in one streaming pass.

    Returns
    -------
    ResidualSummary
    """
    source = _source(X, y)
    if not source.has_targets:
        raise ValueError("residuals need targets y")
    w_all = _weights(sample_weight, source.n_rows)
    residuals = Mapped(
        ResidualStats(quantiles), lambda Xc, y: (_targets_2d(y) - _predict(model, Xc), None)
    )
    return _fold(source, residuals, chunk_rows, w_all, target_transform).finalize()
