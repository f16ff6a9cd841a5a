"""Per-column weighted moments as mergeable accumulators (Chan's merge): ``Moments``
(means kept to twice the precision), the statistics behind ``StandardScaler``, and
``CoMoments``, the centred cross moments of columns with targets behind correlation
diagnostics."""

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


class CoMoments(Accumulator):
    """Weighted means and centred second moments of the columns of X and of y, and their
    centred cross products: what correlations of features with targets (residuals)
    need. Each chunk is centred on its own means and merged pairwise (Chan), so offsets
    cancel before any product.

    Rows enter in float64 a chunk at a time (NumPy; a diagnostic's statistic, not a fit's).

    Attributes (None before the first row)
    ----------
    n_rows : int
    sum_w : float, total weight
    x_mean : (n_features,) float64, weighted means of the columns of X
    x_m2 : (n_features,) float64, Σ w (x - x̄)²
    y_mean : (n_targets,) float64
    y_m2 : (n_targets,) float64, Σ w (y - ȳ)²
    xy_m2 : (n_features, n_targets) float64, Σ w (x - x̄)(y - ȳ)
    """

    _PARTS = ("x_mean", "x_m2", "y_mean", "y_m2", "xy_m2")

    def __init__(self) -> None:
        self.n_rows = 0
        self.sum_w = 0.0
        for name in self._PARTS:
            setattr(self, name, None)

    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk in.

        Parameters
        ----------
        X : array of shape (n_rows, n_features), any real dtype, finite
        y : array of shape (n_rows,) or (n_rows, n_targets), finite
        sample_weight : array of shape (n_rows,) or None, non-negative
        """
        from .._validation import as_targets, check_finite
        from .stats import check_magnitude

        X = as_2d_array(X, "X")
        n, d = X.shape
        if y is None:
            raise ValueError("CoMoments needs y: the targets the columns are compared with")
        Y, _ = as_targets(y, n, "y")
        w = check_sample_weight(sample_weight, n)
        for A, name in ((X, "X"), (Y, "y")):
            check_finite(A, name)
            check_magnitude(A, name)
        t = Y.shape[1]
        if self.x_mean is not None and (d, t) != self.xy_m2.shape:
            raise ValueError(
                f"chunk has {d} features and {t} targets; this accumulator holds "
                f"{self.xy_m2.shape[0]} and {self.xy_m2.shape[1]}"
            )
        self.n_rows += n
        wv = np.ones(n) if w is None else w
        W = float(wv.sum())
        if W == 0.0:
            if self.x_mean is None:
                self._merge_parts(0.0, np.zeros(d), np.zeros(d), np.zeros(t), np.zeros(t), None)
            return self
        Xf = np.asarray(X, dtype=np.float64)
        Yf = np.asarray(Y, dtype=np.float64)
        mx = (wv @ Xf) / W
        my = (wv @ Yf) / W
        Xc = Xf - mx
        Yc = (Yf - my) * wv[:, None]
        self._merge_parts(
            W,
            mx,
            wv @ (Xc * Xc),
            my,
            np.einsum("it,it->t", Yc, Yf - my),
            Xc.T @ Yc,
        )
        return self

    def _merge_parts(self, W_b, mx_b, x_m2_b, my_b, y_m2_b, xy_b):
        d, t = mx_b.shape[0], my_b.shape[0]
        if self.x_mean is None:
            self.x_mean, self.x_m2 = mx_b.copy(), x_m2_b.copy()
            self.y_mean, self.y_m2 = my_b.copy(), y_m2_b.copy()
            self.xy_m2 = np.zeros((d, t)) if xy_b is None else xy_b.copy()
            self.sum_w = W_b
            return
        W_a = self.sum_w
        total = W_a + W_b
        if W_b == 0.0:
            return
        f = W_b / total
        dx = mx_b - self.x_mean
        dy = my_b - self.y_mean
        c = W_a * f  # W_a W_b / (W_a + W_b)
        self.x_m2 = self.x_m2 + x_m2_b + dx * dx * c
        self.y_m2 = self.y_m2 + y_m2_b + dy * dy * c
        self.xy_m2 = self.xy_m2 + xy_b + np.outer(dx, dy) * c
        self.x_mean = self.x_mean + dx * f
        self.y_mean = self.y_mean + dy * f
        self.sum_w = total

    def merge(self, other: CoMoments) -> Self:
        """Fold another ``CoMoments`` (disjoint rows) into this one; ``other`` is unchanged."""
        if not isinstance(other, CoMoments):
            raise ValueError(f"can only merge another CoMoments, got {type(other).__name__}")
        if other.x_mean is not None:
            if self.x_mean is not None and other.xy_m2.shape != self.xy_m2.shape:
                raise ValueError(
                    f"cannot merge co-moments of shape {other.xy_m2.shape} into {self.xy_m2.shape}"
                )
            self._merge_parts(
                other.sum_w, other.x_mean, other.x_m2, other.y_mean, other.y_m2, other.xy_m2
            )
        self.n_rows += other.n_rows
        return self

    def copy(self) -> CoMoments:
        """An independent copy."""
        return CoMoments.from_arrays(self.to_arrays())

    def to_arrays(self) -> dict[str, np.ndarray | np.generic]:
        """The state as plain arrays (checkpoints, transport)."""
        out = {"n_rows": np.int64(self.n_rows), "sum_w": np.float64(self.sum_w)}
        if self.x_mean is not None:
            out.update({name: getattr(self, name).copy() for name in self._PARTS})
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        new = cls()
        new.n_rows = int(arrays["n_rows"])
        new.sum_w = float(arrays["sum_w"])
        if "x_mean" in arrays:
            parts = {name: np.array(arrays[name], dtype=np.float64) for name in cls._PARTS}
            d, t = parts["x_mean"].shape[0], parts["y_mean"].shape[0]
            want = {"x_mean": (d,), "x_m2": (d,), "y_mean": (t,), "y_m2": (t,), "xy_m2": (d, t)}
            for name, shape in want.items():
                if parts[name].shape != shape:
                    raise ValueError(f"{name} has shape {parts[name].shape}, expected {shape}")
            vars(new).update(parts)
        return new

    def empty(self) -> CoMoments:
        """A state with no rows."""
        return CoMoments()

    def finalize(self) -> np.ndarray:
        """Correlations of every column of X with every target, shape (n_features,
        n_targets), float64; 0 where a column or a target does not vary: its spread is
        within 64 units in the last place of its mean, what rounding alone leaves."""
        if self.x_mean is None or self.sum_w == 0.0:
            raise ValueError("CoMoments has seen no weighted rows; call update first")
        W = self.sum_w
        ulps = 64 * np.finfo(np.float64).eps
        x_ok = self.x_m2 > np.maximum(W * (ulps * self.x_mean) ** 2, 1e-300)
        y_ok = self.y_m2 > np.maximum(W * (ulps * self.y_mean) ** 2, 1e-300)
        denom = np.sqrt(np.outer(np.where(x_ok, self.x_m2, 1.0), np.where(y_ok, self.y_m2, 1.0)))
        return np.where(np.outer(x_ok, y_ok), self.xy_m2 / denom, 0.0)
