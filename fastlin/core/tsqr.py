"""TSQR: least squares from a mergeable triangular factor, one pass over the rows.

``QRStats`` keeps, for the rows seen so far, the total weight, the weighted column means
of X and Y, the triangular factor R (d, d) of the *centred* weighted data, the matching
block Z = Qᵀ Y_c (d, t) and the residual sum of squares that the rotations pushed out
(t,). Its condition number is that of X, not of XᵀX, which is why it is the solver for
ill-conditioned designs.

Centring without a column of ones: every row range is centred about its own weighted
mean before it is factored, and two centred states (W_a, m_a) and (W_b, m_b) merge by
stacking both factors and one correction row

    sqrt(W_a W_b / (W_a + W_b)) (m_a - m_b)

(for X and Y alike) and re-factoring: the centred scatter of the union is the sum of the
two scatters plus that rank-one term, the same identity as Chan's variance merge. The
uncentred factor, when no intercept is wanted, is one more row, sqrt(W) m, at finalize.
Ridge appends sqrt(alpha) I to R at finalize, never to the data.

Centring costs digits when the means dominate structure at a much smaller scale (the
Läuchli matrix fitted without intercept: subtracting a mean of 0.2 from entries of 1e-10
keeps only about 7 of their digits). A fit known to need no intercept should therefore
use ``QRStats(centre=False)``, which factors the raw rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Self

import numpy as np
from numpy.typing import ArrayLike

from .._threads import n_threads, row_ranges
from .accumulator import Accumulator
from .._warnings import warn as _warn
from .._validation import (
    as_2d_array,
    as_targets,
    check_finite,
    check_real_scalar,
    check_sample_weight,
)
from ..kernels import qr as _qr
from .solve import RankDeficientWarning


_SLICE_ELEMENTS = 1 << 22
"""Elements of X converted to float64 at a time when a chunk has another dtype."""


class QRResult(NamedTuple):
    """What ``QRStats.finalize`` returns.

    Attributes
    ----------
    coef : ndarray of shape (n_features, n_targets), float64
    intercept : ndarray of shape (n_targets,), float64 (zeros without an intercept)
    rank : int, numerical rank of the (centred, when fitting an intercept) design; with
        ``alpha > 0`` the rank of the ridge-augmented factor
    rss : ndarray of shape (n_targets,), weighted residual sum of squares of the data at
        the solution (the ridge penalty is not included)
    singular_values : ndarray of shape (n_features,) or None, singular values of the
        factor that was solved, in decreasing order, when the rank-revealing path ran
    """

    coef: np.ndarray
    intercept: np.ndarray
    rank: int
    rss: np.ndarray
    singular_values: np.ndarray | None


class QRStats(Accumulator):
    """Mergeable TSQR accumulator for (weighted, ridge) least squares.

    Parameters
    ----------
    n_features, n_targets : int or None
        Fixed by the first ``update`` when None.
    centre : bool, default True
        Factor the centred data (each row range about its own mean, merged with the
        correction row), so that ``finalize`` can fit with or without an intercept.
        With ``centre=False`` the raw rows are factored: the most accurate choice for a
        fit without intercept, and ``finalize(fit_intercept=True)`` is then refused.

    Attributes
    ----------
    n_samples_ : int, number of rows seen
    sum_weights_ : float, total weight of the rows seen
    mean_x_ : ndarray (n_features,), weighted column means of X (zeros when not centring)
    mean_y_ : ndarray (n_targets,), weighted column means of Y (zeros when not centring)
    R_ : ndarray (n_features, n_features), upper-triangular factor of the centred (when
        ``centre``), sqrt(weight)-scaled X (rows of R may have either sign)
    Z_ : ndarray (n_features, n_targets), Qᵀ applied to the centred, scaled Y
    rss_ : ndarray (n_targets,), squared norm of the part of the centred, scaled Y that
        the rotations moved out of Z (the residual sum of squares of the centred
        unpenalised fit when X has full column rank)
    targets_1d_ : bool or None, whether every ``update`` got a 1-D y
    """

    def __init__(
        self, n_features: int | None = None, n_targets: int | None = None, centre: bool = True
    ):
        self.centre = bool(centre)
        self.n_samples_ = 0
        self.sum_weights_ = 0.0
        self.targets_1d_ = None
        self.n_features_ = None
        self.n_targets_ = None
        if n_features is not None and n_targets is not None:
            self._init_state(int(n_features), int(n_targets))
        elif n_features is not None or n_targets is not None:
            raise ValueError("give both n_features and n_targets, or neither")

    def _init_state(self, d, t):
        self.n_features_ = d
        self.n_targets_ = t
        self.mean_x_ = np.zeros(d)
        self.mean_y_ = np.zeros(t)
        self.R_ = np.zeros((d, d))
        self.Z_ = np.zeros((d, t))
        self.rss_ = np.zeros(t)

    # ------------------------------------------------------------------ update
    def update(
        self, X: ArrayLike, Y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk of rows into the factor.

        Parameters
        ----------
        X : array of shape (n_rows, n_features): float64, float32 or integer
        Y : array of shape (n_rows,) or (n_rows, n_targets)
        sample_weight : array of shape (n_rows,) or None, non-negative; each row enters
            scaled by sqrt(weight), which is exactly a weighted least-squares fit

        Returns
        -------
        self
        """
        if Y is None:
            raise ValueError("QRStats.update needs y: the factor carries Qᵀy alongside R")
        X = as_2d_array(X, "X")
        check_finite(X, "X")
        Y2, was_1d = as_targets(Y, X.shape[0], "y")
        Y2 = np.ascontiguousarray(Y2, dtype=np.float64)
        check_finite(Y2, "y")
        w = check_sample_weight(sample_weight, X.shape[0])
        n, d = X.shape
        t = Y2.shape[1]
        if self.n_features_ is not None and (d, t) != (self.n_features_, self.n_targets_):
            raise ValueError(
                f"chunk has {d} features and {t} targets; this accumulator holds "
                f"{self.n_features_} features and {self.n_targets_} targets"
            )
        if d == 0:
            raise ValueError("X has zero columns; need at least one feature")
        if self.n_features_ is None:
            self._init_state(d, t)
        self.targets_1d_ = was_1d if self.targets_1d_ is None else (self.targets_1d_ and was_1d)
        if n == 0:
            return self
        if X.dtype == np.float64:
            # Strided or F-ordered chunks are copied to C order: the kernel reads rows,
            # and one compiled layout is all it needs.
            self._fold(np.ascontiguousarray(X), Y2, w)
        else:
            # Other dtypes are converted to float64 a slice at a time (about 32 MiB), so
            # memory stays bounded and the kernel is compiled for float64 only: the fold
            # does O(d**2) work per row, next to which the conversion is cheap.
            step = max(_qr.BLOCK * n_threads(), (_SLICE_ELEMENTS // d) // _qr.BLOCK * _qr.BLOCK)
            for r0 in range(0, n, step):
                r1 = min(r0 + step, n)
                self._fold(
                    np.ascontiguousarray(X[r0:r1], dtype=np.float64),
                    Y2[r0:r1],
                    None if w is None else w[r0:r1],
                )
        self.n_samples_ += n
        return self

    def _fold(self, X, Y2, w):
        """Run the fold kernel on a float64 C-ordered chunk and merge its ranges in."""
        n, d = X.shape
        t = Y2.shape[1]
        bounds = row_ranges(n, n_threads(), _qr.BLOCK)
        n_parts = bounds.shape[0] - 1
        P_parts = np.empty((n_parts, d, _qr.BLOCK))
        Q_parts = np.empty((n_parts, t, _qr.BLOCK))
        R_parts = np.zeros((n_parts, d, d))
        Z_parts = np.zeros((n_parts, d, t))
        rss_parts = np.zeros((n_parts, t))
        # The first range folds straight onto the current factor: a small chunk then
        # costs 2 n d**2 flops, not that plus a d**3 merge of two triangles.
        stacked = self.sum_weights_ > 0.0
        if stacked:
            R_parts[0] = self.R_
            Z_parts[0] = self.Z_
            rss_parts[0] = self.rss_
        mx_parts = np.empty((n_parts, d))
        my_parts = np.empty((n_parts, t))
        sw_parts = np.empty(n_parts)
        w_arg = w if w is not None else np.empty(0)
        _qr.qr_fold_rows(
            X,
            Y2,
            w_arg,
            bounds,
            self.centre,
            P_parts,
            Q_parts,
            R_parts,
            Z_parts,
            rss_parts,
            mx_parts,
            my_parts,
            sw_parts,
        )
        for p in range(n_parts):
            self._merge_state(
                sw_parts[p],
                mx_parts[p],
                my_parts[p],
                R_parts[p],
                Z_parts[p],
                rss_parts[p],
                stacked and p == 0,
            )

    # ------------------------------------------------------------------- merge
    def _merge_state(self, wb, mxb, myb, Rb, Zb, rssb, stacked=False):
        """Merge a centred state (weight, means, factor) into self, in place.

        With ``stacked``, ``Rb``, ``Zb``, ``rssb`` already hold the factor of self's rows
        and the new ones together (they were folded onto self's factor), so only the
        mean-difference row remains to be folded.
        """
        if wb <= 0.0:
            return
        wa = self.sum_weights_
        if wa <= 0.0:
            self.sum_weights_ = float(wb)
            self.mean_x_ = np.array(mxb, dtype=np.float64)
            self.mean_y_ = np.array(myb, dtype=np.float64)
            self.R_ = np.array(Rb, dtype=np.float64)
            self.Z_ = np.array(Zb, dtype=np.float64)
            self.rss_ = np.array(rssb, dtype=np.float64)
            return
        total = wa + wb
        dx = mxb - self.mean_x_
        dy = myb - self.mean_y_
        # Stack Rb under R, then the mean-difference correction row.
        if stacked:
            self.R_ = np.array(Rb, dtype=np.float64)
            self.Z_ = np.array(Zb, dtype=np.float64)
            self.rss_ = np.array(rssb, dtype=np.float64)
        else:
            P = np.array(Rb.T, order="C")
            Q = np.array(Zb.T, order="C")
            _qr.qr_fold_panel(self.R_, self.Z_, P, Q, P.shape[1], True, self.rss_)
            self.rss_ += rssb
        self.sum_weights_ = total
        if not self.centre:
            return
        c = np.sqrt(wa * wb / total)
        P1 = np.ascontiguousarray((c * dx)[:, None])
        Q1 = np.ascontiguousarray((c * dy)[:, None])
        _qr.qr_fold_panel(self.R_, self.Z_, P1, Q1, 1, False, self.rss_)
        self.mean_x_ = self.mean_x_ + dx * (wb / total)
        self.mean_y_ = self.mean_y_ + dy * (wb / total)

    def merge(self, other: QRStats) -> Self:
        """Fold another ``QRStats`` into this one (``other`` is not changed).

        Returns
        -------
        self
        """
        if not isinstance(other, QRStats):
            raise ValueError(f"can only merge another QRStats, got {type(other).__name__}")
        if other.centre != self.centre:
            raise ValueError(
                f"cannot merge a state with centre={other.centre} into one with centre={self.centre}"
            )
        if other.n_features_ is None:
            return self
        if self.n_features_ is None:
            self._init_state(other.n_features_, other.n_targets_)
        elif (other.n_features_, other.n_targets_) != (self.n_features_, self.n_targets_):
            raise ValueError(
                f"cannot merge a state of {other.n_features_} features and {other.n_targets_} "
                f"targets into one of {self.n_features_} features and {self.n_targets_} targets"
            )
        self._merge_state(
            other.sum_weights_, other.mean_x_, other.mean_y_, other.R_, other.Z_, other.rss_
        )
        self.n_samples_ += other.n_samples_
        if other.targets_1d_ is not None:
            self.targets_1d_ = (
                other.targets_1d_
                if self.targets_1d_ is None
                else (self.targets_1d_ and other.targets_1d_)
            )
        return self

    def empty(self) -> QRStats:
        """A state with no rows and the same ``centre``."""
        return QRStats(centre=self.centre)

    def copy(self) -> QRStats:
        """An independent copy of the state."""
        out = QRStats(centre=self.centre)
        out.n_samples_ = self.n_samples_
        out.sum_weights_ = self.sum_weights_
        out.targets_1d_ = self.targets_1d_
        if self.n_features_ is not None:
            out._init_state(self.n_features_, self.n_targets_)
            out.mean_x_[:] = self.mean_x_
            out.mean_y_[:] = self.mean_y_
            out.R_[:] = self.R_
            out.Z_[:] = self.Z_
            out.rss_[:] = self.rss_
        return out

    def to_arrays(self) -> dict[str, np.ndarray | np.generic]:
        """The state as plain arrays (checkpoints, persistence, transport)."""
        out = {
            "centre": np.bool_(self.centre),
            "n_samples": np.int64(self.n_samples_),
            "sum_weights": np.float64(self.sum_weights_),
            "targets_1d": np.int8(-1 if self.targets_1d_ is None else self.targets_1d_),
        }
        if self.n_features_ is not None:
            out.update(
                mean_x=self.mean_x_.copy(),
                mean_y=self.mean_y_.copy(),
                R=self.R_.copy(),
                Z=self.Z_.copy(),
                rss=self.rss_.copy(),
            )
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        """Rebuild a state from :meth:`to_arrays` output."""
        new = cls(centre=bool(arrays["centre"]))
        new.n_samples_ = int(arrays["n_samples"])
        new.sum_weights_ = float(arrays["sum_weights"])
        flag = int(arrays["targets_1d"])
        new.targets_1d_ = None if flag < 0 else bool(flag)
        if "R" in arrays:
            d, t = np.shape(arrays["Z"])
            new._init_state(d, t)
            new.mean_x_[:] = arrays["mean_x"]
            new.mean_y_[:] = arrays["mean_y"]
            new.R_[:] = arrays["R"]
            new.Z_[:] = arrays["Z"]
            new.rss_[:] = arrays["rss"]
        return new

    # ---------------------------------------------------------------- finalize
    def factor(
        self, alpha: float = 0.0, fit_intercept: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The triangular system that ``finalize`` solves.

        Returns
        -------
        R : ndarray (n_features, n_features), upper triangular, with
            ``RᵀR = X̃ᵀWX̃ + alpha I`` (X̃ centred when ``fit_intercept``)
        Z : ndarray (n_features, n_targets), the matching Qᵀy block
        rss : ndarray (n_targets,), the squared residual norm already pushed out of Z
        """
        self._check_fitted()
        alpha = check_real_scalar(alpha, "alpha", low=0.0)
        if fit_intercept and not self.centre:
            raise ValueError(
                "this QRStats was built with centre=False (raw rows, no means); it can only "
                "be finalized with fit_intercept=False"
            )
        d = self.n_features_
        R = self.R_.copy()
        Z = self.Z_.copy()
        rss = self.rss_.copy()
        if not fit_intercept and self.centre:
            s = np.sqrt(self.sum_weights_)
            P1 = np.ascontiguousarray((s * self.mean_x_)[:, None])
            Q1 = np.ascontiguousarray((s * self.mean_y_)[:, None])
            _qr.qr_fold_panel(R, Z, P1, Q1, 1, False, rss)
        if alpha > 0.0:
            P = np.eye(d) * np.sqrt(alpha)
            Q = np.zeros((self.n_targets_, d))
            _qr.qr_fold_panel(R, Z, P, Q, d, True, rss)
        return R, Z, rss

    def finalize(
        self,
        alpha: float = 0.0,
        fit_intercept: bool = True,
        rcond: float | None = None,
        warn: bool = True,
    ) -> QRResult:
        """Solve for the coefficients.

        Parameters
        ----------
        alpha : float >= 0, ridge penalty (the intercept is not penalised)
        fit_intercept : bool
        rcond : float or None, relative cut-off for the numerical rank: directions whose
            singular value is at most ``rcond`` times the largest are dropped. Default
            ``eps * max(n_samples, n_features)``, the default of ``numpy.linalg.lstsq``.
        warn : bool, warn (``RankDeficientWarning``, naming the rank) when the design is
            rank deficient

        Returns
        -------
        QRResult
            coef (n_features, n_targets), intercept (n_targets,), rank, rss (n_targets,),
            singular_values. When rank deficient, coef is the minimum-norm solution, the
            one ``numpy.linalg.lstsq`` returns on the (centred) weighted design.
        """
        R, Z, rss = self.factor(alpha, fit_intercept)
        d = self.n_features_
        if rcond is None:
            rcond = np.finfo(np.float64).eps * max(self.n_samples_, d)
        else:
            rcond = check_real_scalar(rcond, "rcond", low=0.0)
        diag = np.abs(np.diag(R))
        dmax = diag.max()
        singular_values = None
        if dmax > 0.0 and diag.min() > rcond * dmax:
            coef = Z.copy()
            _qr.solve_upper(R, coef, d)
            rank = d
        else:
            # Smallest singular value <= smallest |R_jj|: the factor is (nearly) singular.
            # Its SVD gives the rank and the minimum-norm solution. Rows of R that are
            # exactly zero (features that never got a reflector: wide data leaves d - n
            # of them) change neither the singular values nor the solution, so only the
            # other rows are decomposed: 300 x 2048 data costs an SVD of about 600 x 2048,
            # not 2048 x 2048.
            rows = np.flatnonzero(np.any(R != 0.0, axis=1))
            s = np.zeros(d)
            if rows.size == 0:
                rank = 0
                coef = np.zeros((d, self.n_targets_))
            else:
                U, sk, Vt = np.linalg.svd(R[rows], full_matrices=False)
                s[: sk.size] = sk
                rank = int(np.count_nonzero(sk > rcond * sk[0])) if sk[0] > 0 else 0
                proj = U[:, :rank].T @ Z[rows]
                coef = Vt[:rank].T @ (proj / sk[:rank, None])
            singular_values = s
            if warn:
                _warn(
                    f"the design has numerical rank {rank} < {d} features (rcond={rcond:.3g}); "
                    "returning the minimum-norm least-squares solution",
                    RankDeficientWarning,
                )
        resid = Z - R @ coef
        rss_total = rss + np.einsum("ij,ij->j", resid, resid)
        if alpha > 0.0:
            rss_total = rss_total - alpha * np.einsum("ij,ij->j", coef, coef)
            rss_total = np.maximum(rss_total, 0.0)
        if fit_intercept:
            intercept = self.mean_y_ - self.mean_x_ @ coef
        else:
            intercept = np.zeros(self.n_targets_)
        return QRResult(coef, intercept, rank, rss_total, singular_values)

    def rank(self, fit_intercept: bool = True, rcond: float | None = None) -> int:
        """Numerical rank from R's diagonal relative to its largest entry."""
        R, _, _ = self.factor(0.0, fit_intercept)
        if rcond is None:
            rcond = np.finfo(np.float64).eps * max(self.n_samples_, self.n_features_)
        diag = np.abs(np.diag(R))
        if diag.max() == 0.0:
            return 0
        return int(np.count_nonzero(diag > rcond * diag.max()))

    def _check_fitted(self):
        if self.n_features_ is None or self.sum_weights_ <= 0.0:
            raise ValueError("QRStats has seen no rows with positive weight; call update first")


def tsqr_lstsq(
    X: ArrayLike,
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    chunk_rows: int | None = None,
) -> QRResult:
    """Least squares (or ridge) by TSQR over X in chunks of ``chunk_rows`` rows.

    A convenience over ``QRStats``: ``QRStats(centre=fit_intercept).update(X, y, w)``
    chunk by chunk, then ``finalize(alpha, fit_intercept)``. Returns a ``QRResult``.
    """
    X = as_2d_array(X, "X")
    stats = QRStats(centre=fit_intercept)
    n = X.shape[0]
    step = n if not chunk_rows else int(chunk_rows)
    if step <= 0:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows!r}")
    y = np.asarray(y)
    w = None if sample_weight is None else np.asarray(sample_weight)
    for r0 in range(0, max(n, 1), step):
        r1 = min(r0 + step, n)
        stats.update(X[r0:r1], y[r0:r1], None if w is None else w[r0:r1])
    return stats.finalize(alpha=alpha, fit_intercept=fit_intercept)
