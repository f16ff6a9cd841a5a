"""Gram statistics as a mergeable accumulator: ``update``, ``merge``, ``finalize``.

``GramStats`` holds, for rows seen so far (with weights w, all 1 when none are given):
n, sum w, and the sums sum w (x - s), sum w (y - u), Xₛᵀ W Xₛ, Xₛᵀ W Yₛ, Yₛᵀ W Yₛ of the
rows taken about a per-column shift (s for X, u for Y). The shift is fixed by the first
chunk: a column whose mean sits more than ``SHIFT_RATIO`` (64) standard deviations from
zero (timestamps, ids, 1e9 + small integers) is shifted by its value in the first row,
every other column by 0 (read as it is, losing at most 64² to centring, which the solvers
count in ``relative_accuracy``). Centring then subtracts two numbers of the size of the
spread, not of the offset, so offsets of 1e12 standard deviations cost no digits. Two states merge by moving the
other state's sums to this state's shift (exact for integer data).

The work per chunk goes to whichever is fastest for its dtype, as the benchmarks
(``python -m scripts.bench_gram``) decide:

* unweighted uint8/int8: the exact integer tiles of :mod:`fastlin.kernels.gram`, exact
  integer statistics with the same bits for any chunk size, thread count or merge order;
* C-ordered float64 or float32 of at most ``TILE_MAX_FEATURES[dtype]`` columns, read
  without a shift, on CPUs whose float tiles are tuned (``_gram.float_tiles_tuned``):
  the float tiles of :mod:`fastlin.kernels.gram`, which take the column sums in the same
  read of X that packs it (BLAS needs a second read for them). float32 products are
  summed in float32 over panels of 128 rows, then in float64: each entry within
  129 * 2**-24 (7.7e-6) of the matching entry of ``|Xₛ|ᵀ W |Xₛ|``, plus float64 rounding;
* other float64 (and other integer dtypes, converted a block at a time): BLAS ``dsyrk``/
  ``dgemm`` (NumPy's) on blocks of rows, in float64;
* other float32: BLAS ``ssyrk``/``sgemm`` (NumPy's; SciPy's from
  ``SCIPY_FLOAT32_MIN_COLUMNS`` columns) on blocks of at most ``FLOAT32_BLOCK`` rows, each
  block's float32 sums added into float64 state. Each entry then carries an error of at
  most ``FLOAT32_BLOCK * 2**-24`` relative to the matching entry of ``|Xₛ|ᵀ W |Xₛ|`` (the
  float32 rounding of one block's products and sums) plus the float64 rounding of the
  block sums; with ``FLOAT32_BLOCK = 2048`` that is at most 1.3e-4, and typically
  ``sqrt(2048) * 2**-24 ≈ 3e-6``. NumPy's float32 ``X.T @ X`` accumulates every row in
  float32, with a bound n times 2**-24.

The finalized solve lives in :mod:`fastlin.core.solve`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import blas

from .. import _threads
from .accumulator import Accumulator
from .._validation import as_2d_array, as_targets, check_finite, check_sample_weight
from ..kernels import gram as _gram

if TYPE_CHECKING:
    from .._typing import Solver
    from .solve import LinearSolution

_EXACT_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))

FLOAT32_BLOCK = 2048
"""Rows whose float32 products are summed in float32 before going into float64 sums."""

_BLOCK_ELEMENTS = 1 << 20
"""Elements of X copied at a time (8 MiB of float64) when a block must be shifted,
weighted or converted before BLAS (or the residual kernel) reads it."""

_MAX_ABS = 1e150
"""Largest magnitude accepted: squares of 1e150 and sums of 1e8 of them stay finite."""

_SHIFT_ROWS = 256
"""Rows of the first chunk that decide which columns are shifted."""

TILE_MAX_FEATURES = {np.dtype(np.float64): 512, np.dtype(np.float32): 800}
"""Up to this many columns, float chunks go through the hand-written float tiles rather
than BLAS. On the 2-core AVX2 machine of the benchmarks, alternating runs of both routes
through ``GramStats.update`` gave tiles / BLAS, float64: 0.5-0.75 at d = 128, 0.8-0.95 at
256-512, 0.85-1.0 at 640, 0.95-1.1 at 784; float32: 0.7-0.85 at 128-784, 1.0 at 1024,
1.2 at 2048. The tiles take the column sums in the read that packs X, BLAS needs a
second read for them."""

SHIFT_RATIO = 64.0
"""Columns whose |mean| exceeds this many standard deviations are accumulated about a
shift (a shifted copy of each block); nearer ones are read as they are."""


def _narrow_integers(X):
    """Wider integer X whose values all fit uint8 (or int8) as that type, so the chunk takes
    the exact byte kernels (CSV pixels arrive as int64); else X itself. The copy is an
    eighth of an int64 chunk, and the statistics are the same bits either way."""
    if X.dtype.kind not in "iu" or X.dtype.itemsize == 1:
        return X
    lo, hi = X.min(), X.max()
    if 0 <= lo and hi <= 255:
        return X.astype(np.uint8, order="K")
    if -128 <= lo and hi <= 127:
        return X.astype(np.int8, order="K")
    return X


class GramStats(Accumulator):
    """Weighted Gram statistics of (X, Y) rows, updated chunk by chunk.

    Parameters
    ----------
    n_features, n_targets : int, optional
        Fixed by the first ``update`` when not given.

    Attributes
    ----------
    n_rows : int
        Rows folded in (rows with zero weight included).
    sum_w : float
        Sum of sample weights.
    sum_log_w : float
        Sum of the logarithms of the sample weights (0 without weights; -inf when a
        weight is 0), for the log-likelihood of weighted least squares.
    x_shift : ndarray of shape (n_features,), float64
        The value each column of X is taken about (0 for most columns; see the module
        docstring). Fixed by the first chunk.
    y_shift : ndarray of shape (n_targets,), float64
    x_sum, y_sum, xtx, xty, yty : ndarray, float64
        The raw (unshifted) weighted sums Σ w x, Σ w y, XᵀWX (symmetric), XᵀWY, YᵀWY,
        rebuilt from the shifted sums on access. The solvers use :meth:`centred`, which
        never forms them.
    float32_only : bool
        True while every chunk had float32 X (the estimators then return float32
        coefficients, as scikit-learn does).
    """

    def __init__(self, n_features: int | None = None, n_targets: int | None = None):
        self.n_features = n_features
        self.n_targets = n_targets
        self.n_rows = 0
        self.sum_w = 0.0
        self.sum_log_w = 0.0
        self.float32_only = True
        self.float32_seen = False
        self.exact = True
        self.offset_ratio2 = 1.0
        self.x_shift = self.y_shift = None
        self._sx = self._sy = self._sxy = None
        # Xₛᵀ W Xₛ and Yₛᵀ W Yₛ are accumulated in their upper triangles only.
        self._sxx = self._syy = None
        self._scratch = {}
        if n_features is not None and n_targets is not None:
            self._allocate(n_features, n_targets)

    def _allocate(self, d, t):
        self.n_features, self.n_targets = int(d), int(t)
        self.x_shift = np.zeros(d)
        self.y_shift = np.zeros(t)
        self._sx = np.zeros(d)
        self._sy = np.zeros(t)
        self._sxx = np.zeros((d, d))
        self._sxy = np.zeros((d, t))
        self._syy = np.zeros((t, t))

    # -- update ---------------------------------------------------------------------------

    def check_chunk(
        self, X: ArrayLike, Y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> None:
        """Validate a chunk without changing the state.

        Returns ``(X, Y, w)`` ready for the kernel: X as given (any supported dtype and
        layout, never copied), Y as C-ordered float64 of shape (n, n_targets), w as
        float64 or None. Raises ``ValueError`` naming the problem.
        """
        X, Y, w = self._check(X, Y, sample_weight)
        if _checked_by_products(X):
            check_finite(X, "X")
            check_magnitude(X, "X")
        return X, Y, w

    def _check(self, X, Y, sample_weight):
        """:meth:`check_chunk`, leaving float X to :func:`_check_products` (see there)."""
        X = as_2d_array(X, "X")
        n, d = X.shape
        if n == 0:
            raise ValueError(f"X has 0 rows (shape {X.shape}); need at least one sample")
        if d == 0:
            raise ValueError(f"X has 0 features (shape {X.shape}); need at least one feature")
        if self.n_features is not None and d != self.n_features:
            raise ValueError(
                f"X has {d} features, but earlier chunks had {self.n_features}; every chunk "
                "must have the same number of columns"
            )
        if Y is None:
            Y = np.zeros((n, 0))
        else:
            Y, _ = as_targets(Y, n, "y")
            if self.n_targets is not None and Y.shape[1] != self.n_targets:
                raise ValueError(
                    f"y has {Y.shape[1]} target column(s), but earlier chunks had {self.n_targets}"
                )
            Y = np.ascontiguousarray(Y, dtype=np.float64)
        if not _checked_by_products(X):
            check_finite(X, "X")
            check_magnitude(X, "X")
        check_finite(Y, "y")
        check_magnitude(Y, "y")
        w = check_sample_weight(sample_weight, n)
        return X, Y, w

    def update(
        self, X: ArrayLike, Y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk of rows into the statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            uint8, integer, float32 or float64; C or Fortran order; read-only is fine.
            Never copied as a whole (wider integers whose values fit a byte are read as
            uint8 or int8, a copy of an eighth of their size at most).
        Y : array-like of shape (n_samples,) or (n_samples, n_targets), optional
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative, finite, not all zero.

        Returns
        -------
        self

        Notes
        -----
        All validation happens before any statistic changes: on ``ValueError`` the
        state is exactly as before the call.
        """
        X, Y, w = self._check(X, Y, sample_weight)
        if w is None:
            X = _narrow_integers(X)
        fresh = self._sxx is None
        if fresh:
            self._allocate(X.shape[1], Y.shape[1])
        if self.n_rows == 0 and self.sum_w == 0.0:
            self.x_shift, self.offset_ratio2 = _choose_shift(X, exact=X.dtype in _EXACT_DTYPES)
            self.y_shift, _ = _choose_shift(Y, exact=False)
        if self.y_shift.any():
            Y = Y - self.y_shift
        exact = X.dtype in _EXACT_DTYPES and w is None
        try:
            if exact or self._float_tiles(X):
                self._kernel_pass(X, Y, w)
            else:
                self._blas_pass(X, Y, w)  # raises, before any sum changes, on bad float X
        except ValueError:
            if fresh:  # the first chunk fixes the shape only once it has been folded in
                self.__init__()
            raise
        self.n_rows += X.shape[0]
        if w is not None:
            # The Gaussian log-likelihood of weighted least squares needs Σ log w.
            with np.errstate(divide="ignore"):
                self.sum_log_w += float(np.log(w).sum())
        self.float32_only = self.float32_only and X.dtype == np.float32
        self.float32_seen = self.float32_seen or X.dtype == np.float32
        self.exact = self.exact and exact
        return self

    @property
    def relative_accuracy(self) -> float:
        """Relative rounding level of the statistics, against which the solvers judge
        ranks and conditioning: eps for exact (byte) statistics, eps * sqrt(n) for float64
        blocks, and the float32 block bound (typical, not worst case) when any chunk was
        float32."""
        eps = np.finfo(np.float64).eps
        if self.float32_seen:
            base = np.sqrt(FLOAT32_BLOCK) * 2.0**-24
        elif self.exact:
            base = eps
        else:
            base = eps * np.sqrt(max(self.n_rows, 1))
        # Columns read without a shift lose (mean / std)² of their digits to centring.
        return float(max(base, eps * self.offset_ratio2))

    def _buffer(self, key, shape, dtype=np.float64, zero=True):
        """A scratch array owned by the state, reused across updates of the same shape."""
        buf = self._scratch.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
            self._scratch[key] = buf
        elif zero:
            buf.fill(0)
        return buf

    def _float_tiles(self, X):
        """Whether this float chunk goes through the tiles (see the module docstring)."""
        return (
            X.shape[1] <= TILE_MAX_FEATURES.get(X.dtype, 0)
            and X.flags.c_contiguous
            and not self.x_shift.any()
            and _gram.float_tiles_tuned()
        )

    def _kernel_pass(self, X, Y, w, single=True):
        """The tiles of ``kernels.gram``; float32 X with float32 products unless ``single``
        is false (float64 panels, after float32 squares overflowed)."""
        n, d = X.shape
        t = Y.shape[1]
        bounds = _threads.row_ranges(n, _threads.n_threads(), _gram.BLOCK)
        p = bounds.shape[0] - 1
        exact = w is None and X.dtype in _EXACT_DTYPES
        single = single and X.dtype == np.float32
        (p_shape, p_dtype), (a_shape, a_dtype) = _gram.scratch_shapes(
            d, p, w is not None, exact, single=single
        )
        P = self._buffer("pack", p_shape, p_dtype, zero=False)
        A = self._buffer("pack_w", a_shape, a_dtype, zero=False)
        w_arr = np.empty(0) if w is None else w
        checked = _checked_by_products(X)
        if p == 1 and not checked:
            # One row range (small chunks): accumulate straight into the state, so a
            # chunk of a few rows costs no d x d temporaries.
            sw = np.zeros((1, 1))
            _gram.gram_update(
                X,
                Y,
                w_arr,
                bounds,
                P,
                A,
                self._sxx[None],
                self._sxy[None],
                self._sx[None],
                self._sy[None],
                self._syy[None],
                sw,
            )
            self.sum_w += float(sw[0, 0])
            return
        xtx = self._buffer("xtx", (p, d, d))
        xty = self._buffer("xty", (p, d, t))
        xs = self._buffer("xs", (p, d))
        ys = self._buffer("ys", (p, t))
        yty = self._buffer("yty", (p, t, t))
        sw = np.zeros((p, 1))
        _gram.gram_update(X, Y, w_arr, bounds, P, A, xtx, xty, xs, ys, yty, sw)
        if checked:
            # Float X is judged from its products before any sum changes (as in BLAS).
            diag = np.einsum("pii->i", xtx)  # only the diagonal is judged
            if not _check_products(X, diag, xs.sum(axis=0), single):
                # float32 squares overflowed for finite values: float64 panels instead.
                return self._kernel_pass(X, Y, w, single=False)
        # Merge the per-thread parts in a fixed order: deterministic for a thread count.
        for k in range(p):
            self._sxx += xtx[k]
            self._sxy += xty[k]
            self._sx += xs[k]
            self._sy += ys[k]
            self._syy += yty[k]
            self.sum_w += float(sw[k, 0])

    def _blas_pass(self, X, Y, w, force_double=False):
        """Blocks of rows through NumPy's BLAS syrk (XᵀX) and gemm (XᵀY, the sums), into scratch;
        the state changes only after the result passed :func:`_check_products`."""
        n, d = X.shape
        t = Y.shape[1]
        single = X.dtype == np.float32 and not force_double
        dtype = np.float32 if single else np.float64
        shifted = bool(self.x_shift.any())
        direct = (
            w is None
            and not shifted
            and X.dtype == dtype
            and (X.flags.c_contiguous or X.flags.f_contiguous)
        )
        sxx = self._buffer("sxx", (d, d))
        scipy32 = single and _scipy_float32(d)
        if single:
            step = FLOAT32_BLOCK
            block_sxx = self._buffer("syrk32", (d, d), np.float32)
        elif direct:
            step = n
        else:
            step = max(64, _BLOCK_ELEMENTS // d)
        shift = self.x_shift.astype(dtype)
        sxy = np.zeros((d, t))
        sx = np.zeros(d)
        sy = np.zeros(t)
        syy = np.zeros((t, t))
        sum_w = 0.0
        # Overflow (inf, NaN) is judged from the products by _check_products, with the
        # column named; NumPy's own warning about it would name nothing.
        with np.errstate(over="ignore", invalid="ignore"):
            for r0 in range(0, n, step):
                r1 = min(r0 + step, n)
                Yb = Y[r0:r1]
                if direct:
                    Xb = X[r0:r1]
                else:
                    Xb = self._buffer("block", (step, d), dtype, zero=False)[: r1 - r0]
                    np.subtract(X[r0:r1], shift, out=Xb, casting="unsafe")
                # Targets, bordered by the ones (or sqrt(w)) column that makes column sums.
                B = np.empty((r1 - r0, t + 1), order="F")
                B[:, :t] = Yb
                if w is None:
                    B[:, t] = 1.0
                    sum_w += float(r1 - r0)
                else:
                    # Rows scaled by sqrt(w): their products are the weighted sums.
                    B[:, t] = np.sqrt(w[r0:r1])
                    B[:, :t] *= B[:, t:]
                    Xb *= B[:, t:].astype(dtype)
                    sum_w += float(w[r0:r1].sum())
                # One BLAS library per update: alternating NumPy's and SciPy's OpenBLAS
                # builds block by block (each with its own spinning threads) slowed each
                # call 2-5x. NumPy's runs syrk faster here except on float32 blocks of
                # many columns (see _scipy_float32). NumPy turns AᵀA into syrk and fills
                # both triangles; float32 blocks go through their own buffer and are
                # then added in float64.
                At = Xb.T
                if single:
                    if scipy32:
                        blas.ssyrk(
                            1.0, At, beta=0.0, c=block_sxx.T, trans=0, lower=1, overwrite_c=1
                        )
                    else:
                        np.matmul(At, Xb, out=block_sxx)
                    if t:
                        Bt = B[:, :t].astype(np.float32)
                        sxy += blas.sgemm(1.0, At, Bt) if scipy32 else At @ Bt
                    # Column sums make the means, hence the intercept, which no refinement
                    # pass corrects: summed in float64, not in sgemm's float32, by a kernel
                    # (NumPy's casting reduce took a fifth of the block's syrk time at d = 128).
                    # The same kernel adds the block's upper triangle (half of what a
                    # whole-matrix NumPy add reads) into the float64 sums.
                    block_sx = self._buffer("sx32", (d,), zero=False)
                    _gram.add_block(sxx, block_sxx, Xb, B[:, t], w is not None, block_sx)
                    sx += block_sx
                else:
                    if r1 - r0 == n:
                        np.matmul(At, Xb, out=sxx)  # the one block: straight into the sums
                    else:
                        sxx += np.matmul(At, Xb, out=self._buffer("syrk", (d, d), zero=False))
                    cross = At @ B
                    sxy += cross[:, :t]
                    sx += cross[:, t]
                # the targets' products and the sum of weights (or rows)
                border = blas.dsyrk(1.0, B, trans=1) if scipy32 else B.T @ B
                sy += border[:t, t]
                if t:
                    syy += np.triu(border[:t, :t])
        if not _check_products(X, np.diag(sxx), sx, single):
            # float32 squares overflowed for finite values: the chunk goes through float64.
            return self._blas_pass(X, Y, w, force_double=True)
        self._sxx += sxx
        self._sxy += sxy
        self._sx += sx
        self._sy += sy
        self._syy += syy
        self.sum_w += sum_w

    # -- raw statistics (rebuilt from the shifted ones) ------------------------------------

    @property
    def x_sum(self) -> np.ndarray:
        """Σ w x, shape (n_features,)."""
        return None if self._sx is None else self._sx + self.sum_w * self.x_shift

    @property
    def y_sum(self) -> np.ndarray:
        """Σ w y, shape (n_targets,)."""
        return None if self._sy is None else self._sy + self.sum_w * self.y_shift

    @property
    def xtx(self) -> np.ndarray:
        """XᵀWX, symmetric, of shape (n_features, n_features)."""
        if self._sxx is None:
            return None
        return _unshift(
            _symmetrize(self._sxx), self._sx, self._sx, self.x_shift, self.x_shift, self.sum_w
        )

    @property
    def xtx_diag(self) -> np.ndarray:
        """Diagonal of XᵀWX, shape (n_features,), without forming the full matrix."""
        if self._sxx is None:
            return None
        s = self.x_shift
        return np.diag(self._sxx) + 2 * s * self._sx + self.sum_w * s * s

    @property
    def shifted_diag(self) -> np.ndarray:
        """Σ w (x - x_shift)², shape (n_features,): the scale centring rounds against."""
        return None if self._sxx is None else np.diag(self._sxx).copy()

    @property
    def xty(self) -> np.ndarray:
        """XᵀWY, of shape (n_features, n_targets)."""
        if self._sxy is None:
            return None
        return _unshift(self._sxy, self._sx, self._sy, self.x_shift, self.y_shift, self.sum_w)

    @property
    def yty(self) -> np.ndarray:
        """YᵀWY, symmetric, of shape (n_targets, n_targets)."""
        if self._syy is None:
            return None
        return _unshift(
            _symmetrize(self._syy), self._sy, self._sy, self.y_shift, self.y_shift, self.sum_w
        )

    # -- merge ------------------------------------------------------------------------------

    def merge(self, other: GramStats) -> Self:
        """Add the statistics of ``other`` (rows disjoint from this state's) into self."""
        if not isinstance(other, GramStats):
            raise TypeError(f"can only merge GramStats, got {type(other).__name__}")
        if other._sxx is None:
            return self
        if self._sxx is None:
            self._allocate(other.n_features, other.n_targets)
        if (other.n_features, other.n_targets) != (self.n_features, self.n_targets):
            raise ValueError(
                f"cannot merge statistics of {other.n_features} features / {other.n_targets} "
                f"targets into {self.n_features} features / {self.n_targets} targets"
            )
        if self.n_rows == 0 and self.sum_w == 0.0:
            self.x_shift = other.x_shift.copy()
            self.y_shift = other.y_shift.copy()
        sx, sy, sxx, sxy, syy = other._moved_to(self.x_shift, self.y_shift)
        self._sxx += sxx
        self._sxy += sxy
        self._sx += sx
        self._sy += sy
        self._syy += syy
        self.sum_w += other.sum_w
        self.sum_log_w += other.sum_log_w
        self.n_rows += other.n_rows
        self.float32_only = self.float32_only and other.float32_only
        self.float32_seen = self.float32_seen or other.float32_seen
        self.exact = self.exact and other.exact
        self.offset_ratio2 = max(self.offset_ratio2, other.offset_ratio2)
        return self

    def _moved_to(self, x_shift, y_shift):
        """This state's shifted sums re-expressed about other shifts (upper triangles).

        With dx = x_shift_self - x_shift: Σ w (x - x_shift) = sx + W dx and
        Σ w (x - x_shift)(y - y_shift)ᵀ = sxy + sx dyᵀ + dx syᵀ + W dx dyᵀ; exact for
        integer data and integer shifts.
        """
        dx = self.x_shift - x_shift
        dy = self.y_shift - y_shift
        sxx, sxy, syy = np.triu(self._sxx), self._sxy, np.triu(self._syy)
        if not (dx.any() or dy.any()):
            return self._sx, self._sy, sxx, sxy, syy
        W = self.sum_w
        sxx = np.triu(_unshift(_symmetrize(sxx), self._sx, self._sx, dx, dx, W))
        sxy = _unshift(sxy, self._sx, self._sy, dx, dy, W)
        syy = np.triu(_unshift(_symmetrize(syy), self._sy, self._sy, dy, dy, W))
        return self._sx + W * dx, self._sy + W * dy, sxx, sxy, syy

    def empty(self) -> GramStats:
        """A state with no rows (the shifts are taken from the first chunk it sees)."""
        return GramStats()

    def copy(self) -> GramStats:
        """An independent copy of the state (scratch buffers are not shared)."""
        new = GramStats()
        new.__dict__.update(
            {
                k: (v.copy() if isinstance(v, np.ndarray) else v)
                for k, v in self.__dict__.items()
                if k != "_scratch"
            }
        )
        new._scratch = {}
        return new

    # -- finalize ---------------------------------------------------------------------------

    def centred_x(self, fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Centred Gram and means of X only: ``(C, x_mean)``.

        With an intercept, C = Σ w (x - x̄)(x - x̄)ᵀ computed from the shifted sums
        (Xₛᵀ W Xₛ - sₛ sₛᵀ / W), full and symmetric; without, the raw XᵀWX.
        """
        self._require_rows()
        if not fit_intercept:
            return self.xtx, np.zeros(self.n_features)
        C = _symmetrize(self._sxx)
        # v vᵀ with v = s / sqrt(W) is exactly symmetric (a_i a_j == a_j a_i), so C is too.
        v = self._sx / np.sqrt(self.sum_w)
        C -= np.outer(v, v)
        return C, self.x_shift + self._sx / self.sum_w

    def mean_parts(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Weighted column means in two parts, ``(x_shift, x_mean - x_shift)``: rows
        centred as ``(x - x_shift) - part`` lose no digits to large column offsets."""
        self._require_rows()
        return self.x_shift.copy(), self._sx / self.sum_w

    def means(self, fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Weighted means ``(x_mean, y_mean)``, zeros without an intercept: those of
        :meth:`centred` without forming the centred Gram."""
        self._require_data()
        if not fit_intercept:
            return np.zeros(self.n_features), np.zeros(self.n_targets)
        return self.x_shift + self._sx / self.sum_w, self.y_shift + self._sy / self.sum_w

    def centred(self, fit_intercept: bool = True) -> tuple[np.ndarray, ...]:
        """Centred statistics ``(C, Cxy, x_mean, y_mean)`` for the solvers.

        With an intercept: C = Σ w (x - x̄)(x - x̄)ᵀ, Cxy = Σ w (x - x̄)(y - ȳ)ᵀ and the
        means, from the shifted sums. Without: the raw products and zero means.
        """
        self._require_data()
        if not fit_intercept:
            d, t = self.n_features, self.n_targets
            return self.xtx, self.xty, np.zeros(d), np.zeros(t)
        C, x_mean = self.centred_x(True)
        Cxy = self._sxy - np.outer(self._sx, self._sy / self.sum_w)
        return C, Cxy, x_mean, self.y_shift + self._sy / self.sum_w

    def centred_yy(self, fit_intercept: bool = True) -> np.ndarray:
        """Diagonal of the centred (or raw) YᵀWY: total sums of squares per target."""
        self._require_data()
        if not fit_intercept:
            return np.diag(self.yty).copy()
        return np.diag(self._syy) - self._sy**2 / self.sum_w

    def finalize(
        self,
        alpha: float = 0.0,
        fit_intercept: bool = True,
        solver: Solver = "auto",
        warn: bool = True,
        refinable: bool = False,
    ) -> LinearSolution:
        """Solve for coefficients; see :func:`fastlin.core.solve.solve_gram`."""
        from .solve import solve_gram

        return solve_gram(
            self,
            alpha=alpha,
            fit_intercept=fit_intercept,
            solver=solver,
            warn=warn,
            refinable=refinable,
        )

    def _require_rows(self):
        if self._sxx is None or self.sum_w <= 0:
            raise ValueError("no rows with positive weight have been folded in yet")

    def _require_data(self):
        self._require_rows()
        if self.n_targets == 0:
            raise ValueError("the statistics hold no targets (update was called without y)")

    # -- persistence (plain arrays, no pickle) ----------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The state as a dict of NumPy arrays (for ``np.savez``).

        The sums are stored about ``x_shift`` / ``y_shift`` (also stored), so a saved
        state loses no digits to large column offsets.
        """
        if self._sxx is None:  # nothing folded in yet: the settings alone
            return {
                "n_features": np.int64(-1 if self.n_features is None else self.n_features),
                "n_targets": np.int64(-1 if self.n_targets is None else self.n_targets),
            }
        return {
            "n_rows": np.int64(self.n_rows),
            "sum_w": np.float64(self.sum_w),
            "sum_log_w": np.float64(self.sum_log_w),
            "float32_only": np.bool_(self.float32_only),
            "float32_seen": np.bool_(self.float32_seen),
            "exact": np.bool_(self.exact),
            "offset_ratio2": np.float64(self.offset_ratio2),
            "x_shift": self.x_shift.copy(),
            "y_shift": self.y_shift.copy(),
            "x_sum": self._sx.copy(),
            "y_sum": self._sy.copy(),
            "xtx": np.triu(self._sxx),
            "xty": self._sxy.copy(),
            "yty": np.triu(self._syy),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> GramStats:
        """Rebuild a state from :meth:`to_arrays` output, checking shapes agree.

        Arrays without ``x_shift`` / ``y_shift`` (raw sums) are read with zero shifts.
        """
        if "xtx" not in arrays:  # an empty state
            d, t = (int(arrays.get(k, -1)) for k in ("n_features", "n_targets"))
            return cls(None if d < 0 else d, None if t < 0 else t)
        xtx = np.asarray(arrays["xtx"], dtype=np.float64)
        xty = np.asarray(arrays["xty"], dtype=np.float64)
        d, t = xty.shape
        new = cls(d, t)
        shapes = {
            "xtx": (d, d),
            "x_sum": (d,),
            "y_sum": (t,),
            "yty": (t, t),
            "x_shift": (d,),
            "y_shift": (t,),
        }
        for key, shape in shapes.items():
            if key in arrays and np.shape(arrays[key]) != shape:
                raise ValueError(
                    f"statistic {key!r} has shape {np.shape(arrays[key])}, expected {shape}"
                )
        new._sxx[...] = np.triu(xtx)
        new._sxy[...] = xty
        new._sx[...] = arrays["x_sum"]
        new._sy[...] = arrays["y_sum"]
        new._syy[...] = np.triu(arrays["yty"])
        if "x_shift" in arrays:
            new.x_shift[...] = arrays["x_shift"]
            new.y_shift[...] = arrays["y_shift"]
        new.n_rows = int(arrays["n_rows"])
        new.sum_w = float(arrays["sum_w"])
        new.sum_log_w = float(arrays.get("sum_log_w", 0.0))
        new.float32_only = bool(arrays["float32_only"])
        new.float32_seen = bool(arrays.get("float32_seen", new.float32_only))
        new.exact = bool(arrays.get("exact", False))
        new.offset_ratio2 = float(arrays.get("offset_ratio2", 1.0))
        return new


def _checked_by_products(X):
    """Float chunks are validated by the BLAS pass's products (``_check_products``)."""
    return X.dtype.kind == "f"


def _check_products(X, diag, sx, single):
    """Validate X from its Gram products instead of another pass over it.

    A NaN or inf anywhere in column j makes Σ x_j² non-finite, and a value whose square
    nears overflow makes it at least 1e300, so ``diag`` (the diagonal of XᵀX, shape
    (d,)) and the column sums ``sx`` say whether X needs a closer look; only then is X
    searched, to name the position or the column (``ValueError``). Returns False when
    float32 products overflowed for values that are finite in float64.
    """
    if np.all(np.isfinite(diag)) and np.all(np.isfinite(sx)) and diag.max(initial=0.0) < 1e300:
        return True
    check_finite(X, "X")
    check_magnitude(X, "X")
    if single:
        return False
    j = int(np.argmax(~np.isfinite(diag) | (diag >= 1e300)))
    raise ValueError(
        f"X column {j}: its sum of squares overflows float64 (largest magnitude "
        f"{float(np.abs(X[:, j]).max()):.3g}); rescale that column"
    )


def check_magnitude(A, name):
    """Refuse values whose squares (or sums of squares) would overflow float64.

    Raises ``ValueError`` naming the column and its largest magnitude.
    """
    if A.dtype.kind != "f" or A.size == 0:
        return
    if max(-float(A.min()), float(A.max())) < _MAX_ABS:
        return
    big = np.abs(A).max(axis=0)
    col = int(np.argmax(big))
    raise ValueError(
        f"{name} column {col} has a value of magnitude {float(big[col]):.3g}: squares and "
        f"sums of squares of values above {_MAX_ABS:.0e} overflow float64; rescale that "
        "column (e.g. divide by a power of 10)"
    )


def _choose_shift(A, exact):
    """Per-column shift from the first rows of the first chunk (see the module docstring).

    Returns ``(shift, ratio2)``. A column is shifted by its first value when its mean
    over the first rows is more than ``SHIFT_RATIO`` standard deviations away from zero;
    others (and exact byte data) get 0, so that common data need no shifted copy before
    BLAS reads it. Centring an unshifted column loses a factor (mean / std)² of its
    digits, at most ``SHIFT_RATIO**2`` (about 3.6 digits); ``ratio2`` is the largest such
    factor, which the solvers count in the statistics' rounding level.
    """
    d = A.shape[1]
    if exact or d == 0:
        return np.zeros(d), 1.0
    head = np.asarray(A[:_SHIFT_ROWS], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        mean = head.mean(axis=0)  # non-finite X is refused later
        spread = head.std(axis=0)
        far = np.abs(mean) > SHIFT_RATIO * spread
        ratio2 = np.where(far | (spread == 0), 0.0, (mean / spread) ** 2)
    shift = np.where(far, head[0], 0.0)
    top = float(np.nanmax(ratio2)) if ratio2.size else 0.0
    return shift, max(1.0, top if np.isfinite(top) else 1.0)


SCIPY_FLOAT32_MIN_COLUMNS = 1024
"""From this many columns float32 blocks go through SciPy's ``ssyrk``: on 2048-row blocks
its OpenBLAS build was 10-20 % faster than NumPy's at d = 2048 and 4096, and slower below
(``python -m scripts.bench_linear --only gram``)."""


def _scipy_float32(d):
    return d >= SCIPY_FLOAT32_MIN_COLUMNS


def _unshift(M, a, b, da, db, W):
    """M + a dbᵀ + da bᵀ + W da dbᵀ: sums about a shift moved by (da, db)."""
    if not (np.any(da) or np.any(db)):
        return M.copy()
    return M + np.outer(a, db) + np.outer(da, b) + W * np.outer(da, db)


_MIRROR_BLOCK = 128


def _symmetrize(upper):
    """Full symmetric matrix from an accumulated upper triangle (lower part ignored).

    The mirror goes block by block: a whole-matrix transposed add strides through memory
    and took 3.5x longer at d = 2048.
    """
    d = upper.shape[0]
    C = upper.copy()
    b = _MIRROR_BLOCK
    for i in range(0, d, b):
        e = min(i + b, d)
        block = C[i:e, i:e]
        block[...] = np.triu(block) + np.triu(block, 1).T
        for j in range(e, d, b):
            f = min(j + b, d)
            C[j:f, i:e] = C[i:e, j:f].T
    return C
