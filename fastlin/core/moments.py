"""Per-column weighted moments as a mergeable accumulator (Chan's merge, means kept to
twice the precision), the statistics behind ``StandardScaler``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np
from numpy.typing import ArrayLike

from .._threads import n_threads, row_ranges
from .._validation import as_2d_array, check_sample_weight
from ..kernels import moments as _mk
from .accumulator import Accumulator


_HUGE = 1e150


def _reject_inf(X, name="X"):
    """NaN marks a missing value here (as in scikit-learn); inf is an error, and so are
    values whose squares overflow (the variance would be inf and the scale meaningless)."""
    if X.dtype.kind != "f" or not X.size:
        return
    if np.isinf(X).any():
        pos = tuple(int(i) for i in np.argwhere(np.isinf(X))[0])
        raise ValueError(f"{name} contains {'inf' if X[pos] > 0 else '-inf'} at position {pos}")
    if X.dtype.itemsize < 8:
        return  # float32 squares are summed in float64: no finite float32 overflows them
    big = np.fmax.reduce(np.abs(X), axis=0)  # fmax skips NaN, the missing values
    if np.fmax.reduce(big) >= _HUGE:
        col = int(np.nanargmax(big))
        raise ValueError(
            f"{name} column {col} has a value of magnitude {float(big[col]):.3g}: "
            f"squares of values above {_HUGE:.0e} overflow float64; rescale that "
            "column"
        )


class Moments(Accumulator):
    """Mergeable per-column weighted count, mean and M2 (sum of squared deviations).

    NaN entries are skipped and counted per column, so each column has its own count.

    Parameters
    ----------
    n_features : int or None
        Fixed by the first ``update`` when None.

    Attributes
    ----------
    n_rows_ : int, rows seen (including rows whose entries are NaN)
    count_ : ndarray (n_features,) float64, total weight of the non-NaN entries per column
        (the number of them without weights)
    mean_ : ndarray (n_features,) float64, weighted mean per column
    m2_ : ndarray (n_features,) float64, weighted sum of squared deviations from the mean
    """

    def __init__(self, n_features: int | None = None):
        self.n_rows_ = 0
        self.n_features_ = None
        if n_features is not None:
            self._init_state(int(n_features))

    def _init_state(self, d):
        self.n_features_ = d
        self.count_ = np.zeros(d)
        self.mean_ = np.zeros(d)
        self._mean_lo = np.zeros(d)  # mean = mean_ + _mean_lo, to twice the precision
        self.m2_ = np.zeros(d)

    def update(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk of rows in (``y`` is ignored: the accumulators' one signature).

        Parameters
        ----------
        X : array of shape (n_rows, n_features), float64, float32 or integer; NaN is
            treated as missing
        sample_weight : array of shape (n_rows,) or None, non-negative

        Returns
        -------
        self
        """
        X = as_2d_array(X, "X")
        _reject_inf(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        n, d = X.shape
        if self.n_features_ is not None and d != self.n_features_:
            raise ValueError(f"X has {d} features, but this accumulator holds {self.n_features_}")
        if self.n_features_ is None:
            self._init_state(d)
        if n == 0 or d == 0:
            self.n_rows_ += n
            return self
        X = np.ascontiguousarray(X)  # one compiled layout per dtype; rows are read
        shift = self._shift(X)
        bounds = row_ranges(n, n_threads(), _mk.BLOCK)
        n_parts = bounds.shape[0] - 1
        scratch = np.empty((n_parts, 4, d))
        cnt = np.zeros((n_parts, d))
        mean = np.zeros((n_parts, d))
        m2 = np.zeros((n_parts, d))
        _mk.moments_update(
            X, w if w is not None else np.empty(0), shift, bounds, scratch, cnt, mean, m2
        )
        # The ranges share the shift, so their means (relative to it) merge exactly.
        for p in range(1, n_parts):
            _mk.chan_merge(cnt[0], mean[0], m2[0], cnt[p], mean[p], m2[p])
        self._merge_shifted(cnt[0], mean[0], m2[0], shift)
        self.n_rows_ += n
        return self

    def _shift(self, X):
        """Per column: the running mean once there is one, else the chunk's first
        non-NaN value, so that X - shift is of the order of the spread, not the mean."""
        head = np.asarray(X[: _mk.BLOCK], dtype=np.float64)
        present = ~np.isnan(head)
        first = head[np.argmax(present, axis=0), np.arange(head.shape[1])]
        first = np.where(present.any(axis=0), first, 0.0)
        return np.ascontiguousarray(np.where(self.count_ > 0, self.mean_, first))

    def _merge_shifted(self, cnt_b, mean_b, m2_b, shift):
        """Merge moments of (X - shift) into the state.

        The chunk's mean is the unevaluated sum shift + mean_b; merged with the state's
        own (mean_, _mean_lo) pair, the delta between the two means is formed from the
        small parts whenever shift equals mean_, so it carries full relative precision.
        """
        self._merge_dd(cnt_b, shift, mean_b, m2_b)

    def _merge_dd(self, cnt_b, hi_b, lo_b, m2_b):
        """Chan merge with means held as hi + lo pairs (NumPy, so no reassociation)."""
        cnt_a = self.count_
        total = cnt_a + cnt_b
        safe = np.where(total > 0, total, 1.0)
        f = cnt_b / safe
        delta = (hi_b - self.mean_) + (lo_b - self._mean_lo)
        delta = np.where((cnt_a > 0) & (cnt_b > 0), delta, 0.0)
        hi = np.where(cnt_a > 0, self.mean_, hi_b)
        lo = np.where(cnt_a > 0, self._mean_lo + delta * f, lo_b)
        s = hi + lo
        lo = lo - (s - hi)
        keep = cnt_b <= 0
        self.mean_ = np.where(keep, self.mean_, s)
        self._mean_lo = np.where(keep, self._mean_lo, lo)
        self.m2_ = np.where(keep, self.m2_, self.m2_ + m2_b + delta * delta * cnt_a * f)
        self.count_ = total

    def merge(self, other: Moments) -> Self:
        """Fold another ``Moments`` into this one (``other`` is not changed)."""
        if not isinstance(other, Moments):
            raise ValueError(f"can only merge another Moments, got {type(other).__name__}")
        if other.n_features_ is None:
            return self
        if self.n_features_ is None:
            self._init_state(other.n_features_)
        elif other.n_features_ != self.n_features_:
            raise ValueError(
                f"cannot merge moments of {other.n_features_} features into {self.n_features_}"
            )
        self._merge_dd(other.count_, other.mean_, other._mean_lo, other.m2_)
        self.n_rows_ += other.n_rows_
        return self

    def empty(self) -> Moments:
        """A state with no rows."""
        return Moments()

    def copy(self) -> Moments:
        """An independent copy."""
        out = Moments()
        out.n_rows_ = self.n_rows_
        if self.n_features_ is not None:
            out._init_state(self.n_features_)
            out.count_[:] = self.count_
            out.mean_[:] = self.mean_
            out._mean_lo[:] = self._mean_lo
            out.m2_[:] = self.m2_
        return out

    def to_arrays(self) -> dict[str, np.ndarray | np.generic]:
        """The state as plain arrays (checkpoints, persistence, transport)."""
        out = {"n_rows": np.int64(self.n_rows_)}
        if self.n_features_ is not None:
            out.update(
                count=self.count_.copy(),
                mean=self.mean_.copy(),
                mean_lo=self._mean_lo.copy(),
                m2=self.m2_.copy(),
            )
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        new = cls()
        new.n_rows_ = int(arrays["n_rows"])
        if "count" in arrays:
            d = np.shape(arrays["count"])[0]
            new._init_state(d)
            for key, attr in (
                ("count", "count_"),
                ("mean", "mean_"),
                ("mean_lo", "_mean_lo"),
                ("m2", "m2_"),
            ):
                if np.shape(arrays[key]) != (d,):
                    raise ValueError(f"{key} has shape {np.shape(arrays[key])}, expected {(d,)}")
                getattr(new, attr)[:] = arrays[key]
        return new

    def finalize(self, ddof: float = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(count, mean, var)``, each of shape (n_features,), float64.

        ``var = m2 / (count - ddof)``; NaN where ``count - ddof <= 0`` (and the mean is
        NaN where the count is 0).
        """
        if self.n_features_ is None:
            raise ValueError("Moments has seen no data; call update first")
        cnt = self.count_.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(cnt > 0, self.mean_, np.nan)
            denom = cnt - ddof
            var = np.where(denom > 0, self.m2_ / np.where(denom > 0, denom, 1.0), np.nan)
        return cnt, mean, var
