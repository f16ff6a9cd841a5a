"""Calibration of predicted probabilities: reliability tables, ECE, MCE, Brier score, NLL.

Everything here is computed from one mergeable state, :class:`CalibrationStats`: per bin
the row count, the sum of weights, the weighted sum of confidence and the weighted sum of
correctness, plus the weighted sums of the Brier and log-loss terms. ``update`` folds a
chunk of rows in (one parallel pass, :mod:`fastlin.kernels.histogram`), ``merge`` adds
another state built from other rows, ``finalize`` turns the sums into the table and the
scores. The functions :func:`reliability_table`, :func:`expected_calibration_error`,
:func:`maximum_calibration_error`, :func:`brier_score` and
:func:`negative_log_likelihood` are one ``update`` and one ``finalize``.

Conventions
-----------
Bins are right-closed, ``(lo, hi]``, except that a confidence of exactly 0 goes in the
first bin. So the bin of ``c`` is ``numpy.searchsorted(edges[1:-1], c, side="left")``
(scikit-learn's ``calibration_curve`` uses the same rule in current releases; older
releases binned with ``numpy.digitize``, left-closed).

``mode`` says what is binned:

- ``"top_label"`` (default): the confidence of a row is its largest class probability,
  and the row is correct when that class (the first one on a tie) is the true class.
  For 1-D binary input ``p`` (the probability of class 1) the confidence is
  ``max(p, 1 - p)`` and class 1 is predicted when ``p > 0.5``. This is the usual
  definition of the expected calibration error (Guo et al., 2017).
- ``"positive"``: 1-D binary input only. The confidence is ``p`` itself and the
  "accuracy" of a bin is its fraction of positives, as in scikit-learn's
  ``calibration_curve`` (``prob_pred`` is the mean confidence, ``prob_true`` the
  accuracy).
- ``"classwise"``: one histogram per class ``k`` of ``proba[:, k]`` against ``y == k``
  (for 1-D binary input the two classes are ``1 - p`` and ``p``). The class-wise ECE is the
  mean over classes of each class's ECE; the MCE is the largest gap over all classes.

Empty bins are kept: their count is 0 and their mean confidence and accuracy are NaN.
A bin whose rows all have zero weight has a positive count and NaN means.

Labels: with 1-D ``proba``, ``y_true`` holds 0 and 1 (booleans, integers or floats), or
anything together with ``pos_label`` (then ``y_true == pos_label`` is the positive
class). With 2-D ``proba`` of shape (n, K), ``y_true`` holds class indices 0..K-1, the
columns of ``proba``. Probabilities must be in [0, 1] (NaN is an error); rows of 2-D
``proba`` are not required to sum to 1.

Quantile bins and streaming
---------------------------
Uniform bins are fixed by ``n_bins``. Quantile bins depend on the data, and states can
only be merged when their bins are identical, so the edges must be fixed before the
rows are split: pass ``edges=`` (for instance from :func:`quantile_edges` on the
whole data, or on a sample, in a first pass), or let the first non-empty ``update`` fix
them from the quantiles of that chunk's confidences. In the second case every later chunk
is binned with the first chunk's edges, so the bins are quantiles of the first chunk only,
and two states that fixed their edges from different chunks refuse to merge.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Literal, Self, get_args

import numpy as np
from numpy.typing import ArrayLike

from .. import _threads
from .._validation import check_real_scalar, check_sample_weight
from .accumulator import Accumulator
from ..kernels import histogram as _hist

BinStrategy = Literal["uniform", "quantile"]
CalibrationMode = Literal["top_label", "positive", "classwise"]
STRATEGIES = get_args(BinStrategy)
MODES = get_args(CalibrationMode)
_MODE_CODE = {
    "positive": _hist.POSITIVE,
    "top_label": _hist.TOP_LABEL,
    "classwise": _hist.CLASSWISE,
}
DEFAULT_EPS = 1e-15
"""Floor of the true-class probability inside the log-loss (see ``negative_log_likelihood``)."""


def uniform_edges(n_bins):
    """Edges of ``n_bins`` equal bins on [0, 1], bitwise ``numpy.linspace(0, 1, n_bins + 1)``.

    Returns
    -------
    edges : ndarray of shape (n_bins + 1,), float64
    """
    n_bins = _check_n_bins(n_bins)
    edges = np.arange(n_bins + 1, dtype=np.float64) * (1.0 / n_bins)
    edges[-1] = 1.0
    return edges


def quantile_edges(confidence, n_bins):
    """Edges that put about the same number of confidences in each of ``n_bins`` bins.

    The inner edges are ``numpy.percentile(confidence, 100 * q)`` for
    ``q = linspace(0, 1, n_bins + 1)[1:-1]`` (what ``calibration_curve`` uses); the outer
    edges are 0 and 1, so that every probability falls in a bin even when it lies outside
    the range of ``confidence``. Repeated values give repeated edges, hence empty bins.

    Parameters
    ----------
    confidence : array-like of shape (n,), values in [0, 1]
    n_bins : int

    Returns
    -------
    edges : ndarray of shape (n_bins + 1,), float64
    """
    n_bins = _check_n_bins(n_bins)
    c = np.asarray(confidence, dtype=np.float64).ravel()
    if c.size == 0:
        raise ValueError("cannot compute quantile edges from zero confidences")
    bad = ~((c >= 0.0) & (c <= 1.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"confidence[{i}] = {c[i].item()!r} is {_describe(c[i])}")
    edges = np.percentile(c, np.linspace(0.0, 1.0, n_bins + 1) * 100.0)
    edges[0] = 0.0
    edges[-1] = 1.0
    return np.maximum.accumulate(edges)


@dataclasses.dataclass(frozen=True)
class ReliabilityTable:
    """Per-bin calibration statistics.

    For ``mode="classwise"`` every array has a leading class axis: ``edges`` is
    (n_classes, n_bins + 1) and the others (n_classes, n_bins).

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,), float64
        Bin i is ``(edges[i], edges[i + 1]]``; 0 belongs to bin 0.
    count : ndarray of shape (n_bins,), int64
        Rows in each bin (zero-weight rows included).
    weight : ndarray of shape (n_bins,), float64
        Sum of sample weights in each bin (equal to ``count`` without weights).
    mean_confidence : ndarray of shape (n_bins,), float64
        Weighted mean confidence; NaN for a bin of zero weight.
    accuracy : ndarray of shape (n_bins,), float64
        Weighted fraction of correct rows (of positives for ``mode="positive"``); NaN for
        a bin of zero weight.
    mode : str
    strategy : str
    """

    edges: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray
    mode: str = "top_label"
    strategy: str = "uniform"

    @property
    def n_bins(self) -> int:
        return self.count.shape[-1]

    @property
    def gap(self) -> np.ndarray:
        """accuracy - mean_confidence per bin (NaN for empty bins)."""
        return self.accuracy - self.mean_confidence

    def ece(self) -> float:
        """Expected calibration error: sum over bins of weight share times |gap|.

        For class-wise tables, the mean over classes of each class's ECE.
        """
        w = np.atleast_2d(self.weight)
        gap = np.atleast_2d(np.abs(self.gap))
        total = w.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError("the table has zero total weight; the ECE is undefined")
        nonempty = w > 0
        terms = np.where(nonempty, (w / total) * np.where(nonempty, gap, 0.0), 0.0)
        return float(np.mean(terms.sum(axis=1)))

    def mce(self) -> float:
        """Maximum calibration error: the largest |gap| over bins of positive weight."""
        nonempty = self.weight > 0
        if not nonempty.any():
            raise ValueError("every bin is empty; the MCE is undefined")
        return float(np.max(np.abs(self.gap)[nonempty]))

    def to_dict(self) -> dict[str, np.ndarray]:
        """The arrays as a dict (``edges``, ``count``, ``weight``, ``mean_confidence``,
        ``accuracy``)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("mode", "strategy")
        }

    def __str__(self):
        if self.count.ndim == 1:
            return self._format(
                self.edges, self.count, self.weight, self.mean_confidence, self.accuracy
            )
        parts = []
        for k in range(self.count.shape[0]):
            parts.append(f"class {k}")
            parts.append(
                self._format(
                    self.edges[k],
                    self.count[k],
                    self.weight[k],
                    self.mean_confidence[k],
                    self.accuracy[k],
                )
            )
        return "\n".join(parts)

    def _format(self, edges, count, weight, conf, acc):
        what = "positives" if self.mode == "positive" else "accuracy"
        lines = [
            f"{'bin':>14s} {'count':>10s} {'weight':>12s} {'confidence':>10s} "
            f"{what:>10s} {'gap':>9s}"
        ]
        for i in range(count.shape[0]):
            lo = "[0" if i == 0 else f"({edges[i]:.4g}"
            rng = f"{lo}, {edges[i + 1]:.4g}]"
            lines.append(
                f"{rng:>14s} {int(count[i]):>10d} {weight[i]:>12.6g} "
                f"{conf[i]:>10.4f} {acc[i]:>10.4f} {acc[i] - conf[i]:>+9.4f}"
            )
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """What :meth:`CalibrationStats.finalize` returns.

    Attributes
    ----------
    table : ReliabilityTable
    ece, mce : float
    brier_score, nll : float or None
        None when the state was built with ``scores=False``.
    n_samples : int
    total_weight : float
    """

    table: ReliabilityTable
    ece: float
    mce: float
    brier_score: float | None
    nll: float | None
    n_samples: int
    total_weight: float

    def __str__(self):
        head = [
            f"samples {self.n_samples}, total weight {self.total_weight:.6g}",
            f"ECE {self.ece:.6g}, MCE {self.mce:.6g}",
        ]
        if self.brier_score is not None:
            head.append(f"Brier score {self.brier_score:.6g}, NLL {self.nll:.6g}")
        return "\n".join(head + [str(self.table)])


class CalibrationStats(Accumulator):
    """Mergeable calibration state: ``update`` with chunks, ``merge`` states, ``finalize``.

    Parameters
    ----------
    n_bins : int, default 10
        Ignored when ``edges`` is given.
    strategy : {"uniform", "quantile"}, default "uniform"
        How the bins are chosen when ``edges`` is not given; see the module docstring for
        how quantile edges are fixed when streaming.
    mode : {"top_label", "positive", "classwise"}, default "top_label"
    edges : array-like of shape (n_bins + 1,), optional
        Custom bin edges: finite, strictly increasing, from 0 to 1.
    pos_label : scalar, optional
        With 1-D probabilities: the label of the positive class in ``y_true``.
    scores : bool, default True
        Also accumulate the Brier score and the log-loss (a logarithm per row; the
        reliability table alone is cheaper).
    eps : float, default 1e-15
        Clipping floor of the true-class probability inside the log-loss.

    Attributes
    ----------
    edges_ : ndarray of shape (G, n_bins + 1) or None
        None until fixed (quantile strategy before the first non-empty update).
    hist_ : ndarray of shape (G, n_bins, 4), float64
        Per group and bin: row count, sum of weights, weighted sum of confidence, weighted
        sum of correctness. G is 1, or the number of classes for ``mode="classwise"``.
    scores_ : ndarray of shape (2,), float64
        Weighted sums of the Brier and log-loss terms.
    n_samples_ : int
    n_classes_ : int or None
        2 for 1-D binary input; fixed by the first update.
    binary_1d_ : bool or None
        Whether the probabilities are 1-D; fixed by the first update.
    """

    def __init__(
        self,
        n_bins: int = 10,
        strategy: BinStrategy = "uniform",
        mode: CalibrationMode = "top_label",
        edges: ArrayLike | None = None,
        pos_label: object = None,
        scores: bool = True,
        eps: float = DEFAULT_EPS,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.eps = _check_eps(eps)
        self.mode = mode
        self.strategy = strategy
        self.pos_label = pos_label
        self.scores = bool(scores)
        self._custom_edges = None
        if edges is not None:
            self._custom_edges = _check_edges(edges)
            self.n_bins = self._custom_edges.shape[0] - 1
            self.strategy = "custom"
        else:
            self.n_bins = _check_n_bins(n_bins)
        self.edges_ = None
        self.hist_ = None
        self.scores_ = np.zeros(2)
        self.n_samples_ = 0
        self.n_classes_ = None
        self.binary_1d_ = None

    # -- update ---------------------------------------------------------------------
    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold rows in: the predicted probabilities ``X`` and the true labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, K), float32 or float64
            Probability of class 1, or of each class. Values in [0, 1].
        y : array-like of shape (n,)
            0/1 labels for 1-D ``X`` (or any labels with ``pos_label``), class indices
            0..K-1 for 2-D ``X``.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Naming the first bad probability or label, or the mismatch in shapes or
            classes. The state is unchanged when it raises.
        TypeError
            When ``X`` holds integers and ``y`` floats: the labels were passed first (the
            probabilities are the rows, as ``X`` is for every accumulator).
        """
        proba, y_true = X, y
        if y_true is None:
            raise ValueError("CalibrationStats.update needs y, the true labels")
        proba = np.asarray(proba)
        if proba.dtype.kind in "iu" and np.asarray(y_true).dtype.kind == "f":
            raise TypeError(
                f"X holds {proba.dtype} values: pass the predicted "
                "probabilities as X and the labels as y, update(proba, y_true)"
            )
        p = _as_proba(proba)
        n = p.shape[0]
        binary_1d = p.ndim == 1
        n_classes = 2 if binary_1d else p.shape[1]
        y = _as_labels(y_true, n, n_classes, binary_1d, self.pos_label)
        w = check_sample_weight(sample_weight, n) if n else None
        self._check_kind(binary_1d, n_classes)
        if n == 0:
            return self
        G = n_classes if self.mode == "classwise" else 1
        edges = self.edges_
        if edges is None:
            edges = self._first_edges(p, y, G)
        hist, scores = _run(
            p, y, w, edges, _MODE_CODE[self.mode], self.strategy == "uniform", self.scores, self.eps
        )
        if self.hist_ is None:
            self.hist_ = np.zeros_like(hist)
        self.edges_ = edges
        self.binary_1d_ = binary_1d
        self.n_classes_ = n_classes
        self.hist_ += hist
        self.scores_ += scores
        self.n_samples_ += n
        return self

    def _check_kind(self, binary_1d, n_classes):
        if self.mode == "positive" and not binary_1d:
            raise ValueError(
                "mode='positive' needs 1-D probabilities of the positive class; for 2-D "
                "proba pass proba[:, 1] (binary) or use mode='top_label' or 'classwise'"
            )
        if not binary_1d and self.pos_label is not None:
            raise ValueError(
                "pos_label applies to 1-D (binary) proba only; with 2-D proba "
                "y_true must hold column indices 0..K-1"
            )
        if self.binary_1d_ is None:
            return
        if binary_1d != self.binary_1d_:
            was = "1-D" if self.binary_1d_ else "2-D"
            now = "1-D" if binary_1d else "2-D"
            raise ValueError(f"proba is {now} but earlier chunks were {was}")
        if n_classes != self.n_classes_:
            raise ValueError(
                f"proba has {n_classes} columns but earlier chunks had {self.n_classes_}"
            )

    def _first_edges(self, p, y, G):
        if self._custom_edges is not None:
            row = self._custom_edges
        elif self.strategy == "uniform":
            row = uniform_edges(self.n_bins)
        else:
            # Quantiles of NaN or out-of-range values would be meaningless edges: check
            # first (min and max propagate NaN, so two quick passes do it).
            if not (p.min() >= 0.0 and p.max() <= 1.0):
                _raise_if_bad(p, y)
            conf = _confidences(p, self.mode)
            return np.stack([quantile_edges(c, self.n_bins) for c in conf])
        # A writable C-ordered copy: a read-only or F-ordered array is another type to
        # Numba, hence another compile.
        return np.tile(row, (G, 1))

    # -- merge ------------------------------------------------------------------------
    def merge(self, other: CalibrationStats) -> Self:
        """Add the rows of ``other`` (a state with the same settings and bins).

        Returns
        -------
        self
        """
        if not isinstance(other, CalibrationStats):
            raise ValueError(f"can only merge a CalibrationStats, got {type(other).__name__}")
        for name in ("mode", "strategy", "n_bins", "eps"):
            if getattr(self, name) != getattr(other, name):
                raise ValueError(
                    f"cannot merge states with different {name}: "
                    f"{getattr(self, name)!r} and {getattr(other, name)!r}"
                )
        if self.scores != other.scores:
            raise ValueError("cannot merge a state with scores and one without")
        if other.n_samples_ == 0:
            return self
        self._check_kind(other.binary_1d_, other.n_classes_)
        mine = self.edges_
        if mine is None and self._custom_edges is not None:
            mine = np.tile(self._custom_edges, (other.edges_.shape[0], 1))
        if mine is not None and not np.array_equal(mine, other.edges_):
            raise ValueError(
                "cannot merge states with different bin edges (quantile edges fixed from "
                "different first chunks?); compute the edges once and pass edges= to every "
                "state"
            )
        if self.n_samples_ == 0:
            self._take(other)
            return self
        self.hist_ = self.hist_ + other.hist_
        self.scores_ = self.scores_ + other.scores_
        self.n_samples_ += other.n_samples_
        return self

    def _take(self, other):
        self.edges_ = other.edges_.copy()
        self.hist_ = other.hist_.copy()
        self.scores_ = self.scores_ + other.scores_
        self.n_samples_ = other.n_samples_
        self.n_classes_ = other.n_classes_
        self.binary_1d_ = other.binary_1d_

    def empty(self) -> Self:
        """A state with the same settings and bin edges (once fixed), and no rows."""
        arrays = self.to_arrays()
        arrays.pop("hist_", None)
        arrays.update(scores_=np.zeros(2), n_samples_=np.int64(0))
        new = type(self).from_arrays(arrays)
        if self.hist_ is not None:
            new.hist_ = np.zeros_like(self.hist_)
        return new

    def copy(self) -> Self:
        """An independent state."""
        return type(self).from_arrays(self.to_arrays())

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Settings, bin edges and histogram as plain arrays."""
        out = {
            "n_bins": np.int64(self.n_bins),
            "strategy": np.str_(self.strategy),
            "mode": np.str_(self.mode),
            "scores": np.bool_(self.scores),
            "eps": np.float64(self.eps),
            "scores_": self.scores_.copy(),
            "n_samples_": np.int64(self.n_samples_),
            "n_classes_": np.int64(-1 if self.n_classes_ is None else self.n_classes_),
            "binary_1d_": np.int8(-1 if self.binary_1d_ is None else self.binary_1d_),
        }
        for name, value in (
            ("custom_edges", self._custom_edges),
            ("pos_label", self.pos_label),
            ("edges_", self.edges_),
            ("hist_", self.hist_),
        ):
            if value is not None:
                out[name] = np.array(value)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        pos = arrays.get("pos_label")
        new = cls(
            n_bins=int(arrays["n_bins"]),
            strategy="uniform" if "custom_edges" in arrays else str(arrays["strategy"]),
            mode=str(arrays["mode"]),
            edges=arrays.get("custom_edges"),
            pos_label=None if pos is None else np.asarray(pos).item(),
            scores=bool(arrays["scores"]),
            eps=float(arrays["eps"]),
        )
        new.scores_ = np.asarray(arrays["scores_"], dtype=np.float64).copy()
        new.n_samples_ = int(arrays["n_samples_"])
        k, b = int(arrays["n_classes_"]), int(arrays["binary_1d_"])
        new.n_classes_ = None if k < 0 else k
        new.binary_1d_ = None if b < 0 else bool(b)
        for name in ("edges_", "hist_"):
            if name in arrays:
                setattr(new, name, np.array(arrays[name], dtype=np.float64))
        return new

    # -- finalize ---------------------------------------------------------------------
    def table(self) -> ReliabilityTable:
        """The reliability table of the rows so far (see :class:`ReliabilityTable`)."""
        if self.n_samples_ == 0:
            raise ValueError("no samples: call update with at least one row first")
        h = self.hist_
        count = h[..., 0].astype(np.int64)
        weight = h[..., 1].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            nonempty = weight > 0
            conf = np.where(nonempty, h[..., 2] / np.where(nonempty, weight, 1.0), np.nan)
            acc = np.where(nonempty, h[..., 3] / np.where(nonempty, weight, 1.0), np.nan)
        edges = self.edges_
        if self.mode != "classwise":
            edges, count, weight, conf, acc = edges[0], count[0], weight[0], conf[0], acc[0]
        else:
            edges = edges.copy()
        return ReliabilityTable(
            edges=edges,
            count=count,
            weight=weight,
            mean_confidence=conf,
            accuracy=acc,
            mode=self.mode,
            strategy=self.strategy,
        )

    def finalize(self) -> CalibrationResult:
        """Reliability table, ECE, MCE, and (with ``scores``) Brier score and NLL.

        Returns
        -------
        CalibrationResult
        """
        table = self.table()
        total = float(self.hist_[0, :, 1].sum())
        if total <= 0:
            raise ValueError("every row so far has zero weight; the scores are undefined")
        brier = nll = None
        if self.scores:
            brier = float(self.scores_[0] / total)
            nll = float(self.scores_[1] / total)
        return CalibrationResult(
            table=table,
            ece=table.ece(),
            mce=table.mce(),
            brier_score=brier,
            nll=nll,
            n_samples=self.n_samples_,
            total_weight=total,
        )


# -- functions --------------------------------------------------------------------------
def reliability_table(
    y_true: ArrayLike,
    proba: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
    sample_weight: ArrayLike | None = None,
    *,
    edges: ArrayLike | None = None,
    mode: CalibrationMode = "top_label",
    pos_label: object = None,
) -> ReliabilityTable:
    """Reliability table: per bin the count, mean confidence and accuracy.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 labels for 1-D ``proba`` (or any labels with ``pos_label``), class indices
        0..K-1 for 2-D ``proba``.
    proba : array-like of shape (n,) or (n, K), float32 or float64, values in [0, 1]
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"
        Quantile edges come from the confidences of these rows (see :func:`quantile_edges`).
    sample_weight : array-like of shape (n,), optional
    edges : array-like of shape (n_bins + 1,), optional
        Custom edges, strictly increasing from 0 to 1; overrides ``n_bins`` and
        ``strategy``.
    mode : {"top_label", "positive", "classwise"}, default "top_label"
        See the module docstring. ``"positive"`` reproduces ``calibration_curve``.
    pos_label : scalar, optional

    Returns
    -------
    ReliabilityTable
        Bins right-closed ``(lo, hi]`` with 0 in the first; empty bins have count 0 and
        NaN means.
    """
    stats = CalibrationStats(
        n_bins=n_bins, strategy=strategy, mode=mode, edges=edges, pos_label=pos_label, scores=False
    )
    return stats.update(proba, y_true, sample_weight).table()


def expected_calibration_error(
    y_true: ArrayLike,
    proba: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
    sample_weight: ArrayLike | None = None,
    *,
    edges: ArrayLike | None = None,
    mode: CalibrationMode = "top_label",
    pos_label: object = None,
) -> float:
    """ECE: sum over bins of (bin weight / total weight) * |accuracy - mean confidence|.

    Parameters are those of :func:`reliability_table`. For ``mode="classwise"`` this is the
    mean over classes of each class's ECE.

    Returns
    -------
    float
    """
    return reliability_table(
        y_true, proba, n_bins, strategy, sample_weight, edges=edges, mode=mode, pos_label=pos_label
    ).ece()


def maximum_calibration_error(
    y_true: ArrayLike,
    proba: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
    sample_weight: ArrayLike | None = None,
    *,
    edges: ArrayLike | None = None,
    mode: CalibrationMode = "top_label",
    pos_label: object = None,
) -> float:
    """MCE: the largest |accuracy - mean confidence| over bins of positive weight.

    Parameters are those of :func:`reliability_table`.

    Returns
    -------
    float
    """
    return reliability_table(
        y_true, proba, n_bins, strategy, sample_weight, edges=edges, mode=mode, pos_label=pos_label
    ).mce()


def brier_score(
    y_true: ArrayLike,
    proba: ArrayLike,
    sample_weight: ArrayLike | None = None,
    *,
    pos_label: object = None,
) -> float:
    """Weighted mean squared error of the probabilities, as ``sklearn.metrics.brier_score_loss``.

    For 2-D ``proba`` of K > 2 columns: mean over rows of sum_k (proba[i, k] - [y_i == k])^2.
    For binary problems (1-D ``proba``, or K == 2) half of that, i.e. mean (p - y)^2 with
    p the probability of class 1.

    Returns
    -------
    float
    """
    stats = CalibrationStats(n_bins=1, pos_label=pos_label, scores=True)
    return stats.update(proba, y_true, sample_weight).finalize().brier_score


def negative_log_likelihood(
    y_true: ArrayLike,
    proba: ArrayLike,
    sample_weight: ArrayLike | None = None,
    *,
    eps: float = DEFAULT_EPS,
    pos_label: object = None,
) -> float:
    """Weighted mean of -log(max(p_true, eps)), p_true the probability of the true class.

    Clipping: a true-class probability below ``eps`` (1e-15 by default) counts as ``eps``,
    so a confident wrong prediction costs -log(eps) (34.5) instead of infinity; there is no
    clipping at the top, where log(1) is 0 anyway. For 1-D ``proba``, p_true is ``p`` for
    label 1 and ``1 - p`` for label 0. Equal to ``sklearn.metrics.log_loss`` when no
    probability is clipped by either.

    Returns
    -------
    float
    """
    stats = CalibrationStats(n_bins=1, pos_label=pos_label, scores=True, eps=eps)
    return stats.update(proba, y_true, sample_weight).finalize().nll


# -- helpers ----------------------------------------------------------------------------
def _check_n_bins(n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral):
        raise ValueError(f"n_bins must be an integer, got {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    return int(n_bins)


def _check_eps(eps):
    eps = check_real_scalar(eps, "eps", low=0.0, low_inclusive=False)
    if eps >= 1.0:
        raise ValueError(f"eps must be < 1, got {eps!r}")
    return eps


def _check_edges(edges):
    e = np.asarray(edges)
    if e.dtype.kind not in "uif" or e.ndim != 1:
        raise ValueError(
            f"edges must be a 1-D array of numbers, got dtype {e.dtype} and shape {e.shape}"
        )
    e = e.astype(np.float64)
    if e.shape[0] < 2:
        raise ValueError(f"edges needs at least 2 values (one bin), got {e.shape[0]}")
    if not np.isfinite(e).all():
        raise ValueError(f"edges must be finite, got {e!r}")
    if e[0] != 0.0 or e[-1] != 1.0:
        raise ValueError(
            f"edges must start at 0 and end at 1, got {e[0].item()!r} ... {e[-1].item()!r}"
        )
    if not (np.diff(e) > 0).all():
        i = int(np.argmax(~(np.diff(e) > 0)))
        raise ValueError(
            f"edges must be strictly increasing: edges[{i}] = {e[i].item()!r} >= "
            f"edges[{i + 1}] = {e[i + 1].item()!r}"
        )
    return e


def _as_proba(proba):
    p = np.asarray(proba)
    if p.dtype.kind == "b" or p.dtype.kind not in "uif":
        raise ValueError(f"proba must hold real numbers (float32 or float64), got dtype {p.dtype}")
    if p.ndim not in (1, 2):
        raise ValueError(
            f"proba must be 1-D (probability of class 1) or 2-D (n, n_classes), got shape {p.shape}"
        )
    if p.ndim == 2 and p.shape[1] < 2:
        raise ValueError(
            f"2-D proba needs at least 2 columns, got shape {p.shape}; for "
            "binary problems pass the probability of class 1 as a 1-D array"
        )
    if p.dtype != np.float32 and p.dtype != np.float64:
        p = p.astype(np.float64)
    return np.ascontiguousarray(p)


def _as_labels(y_true, n, n_classes, binary_1d, pos_label):
    """Labels as int64, so that the kernels compile once per proba dtype, not per label
    dtype. Float labels must be whole numbers (checked here, where the row is named)."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D of shape (n_samples,), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"y_true has {y.shape[0]} labels but proba has {n} rows")
    if pos_label is not None:
        y = y == pos_label
    if y.dtype.kind not in "buif":
        raise ValueError(
            f"y_true has dtype {y.dtype}; expected numeric labels"
            + (
                " (pass pos_label= to say which label is positive)"
                if binary_1d
                else " (class indices 0..K-1)"
            )
        )
    if y.dtype.kind == "f":
        whole = (y >= 0) & (y < n_classes) & (np.floor(y) == y)
    elif y.dtype.kind == "u" and y.dtype.itemsize == 8:
        whole = y <= np.iinfo(np.int64).max
    else:
        whole = None
    if whole is not None and not whole.all():
        i = int(np.argmax(~whole))
        raise ValueError(
            f"y_true[{i}] = {y[i].item()!r} is not a valid label: expected "
            f"{_expected_labels(binary_1d, n_classes)}"
        )
    return np.ascontiguousarray(y, dtype=np.int64)


def _expected_labels(binary_1d, n_classes):
    if binary_1d:
        return "0 or 1 (pass pos_label= for other labels)"
    return f"a class index in 0..{n_classes - 1} (a column of proba)"


def _describe(v):
    return "NaN" if np.isnan(v) else "outside [0, 1]"


def _raise_if_bad(p, y):
    """Raise ValueError naming the first bad probability, else the first bad label."""
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        where = pos[0] if p.ndim == 1 else pos
        where = str(where).strip("()").replace(" ", "")
        raise ValueError(
            f"proba[{where}] = {p[pos].item()!r} is {_describe(p[pos])}; "
            "probabilities must be in [0, 1]"
        )
    K = 2 if p.ndim == 1 else p.shape[1]
    ok = (y == 0) | (y == 1) if p.ndim == 1 else (y >= 0) & (y < K)
    expected = _expected_labels(p.ndim == 1, K)
    if not ok.all():
        i = int(np.argmax(~ok))
        raise ValueError(f"y_true[{i}] = {y[i].item()!r} is not a valid label: expected {expected}")


def _confidences(p, mode):
    """The confidences binned by each group, as a list of 1-D arrays (quantile edges)."""
    if p.ndim == 1:
        p = p.astype(np.float64, copy=False)
        if mode == "positive":
            return [p]
        if mode == "top_label":
            return [np.maximum(p, 1.0 - p)]
        return [1.0 - p, p]
    if mode == "top_label":
        return [p.max(axis=1)]
    return [p[:, k] for k in range(p.shape[1])]


def _run(p, y, w, edges, mode, uniform, with_scores, eps):
    """One kernel pass over a validated chunk; returns (hist (G, n_bins, 4), scores (2,))."""
    n = p.shape[0]
    G, n_edges = edges.shape
    bounds = _threads.row_ranges(n, _threads.n_threads(), _hist.BLOCK)
    n_parts = bounds.shape[0] - 1
    hist_parts = np.zeros((n_parts, G, n_edges - 1, 4))
    score_parts = np.zeros((n_parts, 2))
    bad_parts = np.zeros((n_parts, 2), dtype=np.int64)
    w_arg = np.empty(0) if w is None else w
    if p.ndim == 1:
        _hist.binary_update(
            p,
            y,
            w_arg,
            edges,
            bounds,
            hist_parts,
            score_parts,
            bad_parts,
            mode,
            uniform,
            with_scores,
            eps,
        )
    else:
        _hist.multiclass_update(
            p,
            y,
            w_arg,
            edges,
            bounds,
            hist_parts,
            score_parts,
            bad_parts,
            mode == _hist.CLASSWISE,
            uniform,
            with_scores,
            eps,
        )
    if bad_parts.any():
        _raise_if_bad(p, y)
        raise AssertionError("kernel reported bad input that the check could not find")
    # Parts merged in a fixed order, so a fixed thread count gives fixed bits.
    hist = hist_parts[0].copy()
    scores = score_parts[0].copy()
    for k in range(1, n_parts):
        hist += hist_parts[k]
        scores += score_parts[k]
    return hist, scores
