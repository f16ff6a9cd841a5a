"""Gram statistics as a mergeable accumulator: ``update``, ``merge``, ``finalize``.

``GramStats`` holds, for rows seen so far (with weights w, all 1 when none are given):
n, sum w, sum w x, sum w y, XᵀWX, XᵀWY and YᵀWY. Two states built from any split of
the rows merge into the state of all rows; ``finalize`` solves for least squares or ridge
coefficients with the intercept obtained by centring from the sums (no column of ones).

For uint8/int8 data without weights the statistics are exact integers (see
``fastlin.kernels.gram``): the same bits for any chunking, thread count or merge order.
"""

import numpy as np

from . import _threads
from ._validation import as_2d_array, as_targets, check_finite, check_sample_weight
from .kernels import gram as _gram

_EXACT_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))


class GramStats:
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
    x_sum : ndarray of shape (n_features,), float64
        Weighted column sums of X.
    y_sum : ndarray of shape (n_targets,), float64
    xtx : ndarray of shape (n_features, n_features), float64
        XᵀWX, symmetric.
    xty : ndarray of shape (n_features, n_targets), float64
    yty : ndarray of shape (n_targets, n_targets), float64, symmetric.
    float32_only : bool
        True while every chunk had float32 X (the estimators then return float32
        coefficients, as scikit-learn does).
    """

    def __init__(self, n_features=None, n_targets=None):
        self.n_features = n_features
        self.n_targets = n_targets
        self.n_rows = 0
        self.sum_w = 0.0
        self.float32_only = True
        self.x_sum = self.y_sum = self.xty = None
        # XᵀWX and YᵀWY are accumulated in their upper triangles only.
        self._xtx_upper = self._yty_upper = None
        if n_features is not None and n_targets is not None:
            self._allocate(n_features, n_targets)

    def _allocate(self, d, t):
        self.n_features, self.n_targets = int(d), int(t)
        self.x_sum = np.zeros(d)
        self.y_sum = np.zeros(t)
        self._xtx_upper = np.zeros((d, d))
        self.xty = np.zeros((d, t))
        self._yty_upper = np.zeros((t, t))

    # -- update ---------------------------------------------------------------------------

    def check_chunk(self, X, Y=None, sample_weight=None):
        """Validate a chunk without changing the state.

        Returns ``(X, Y, w)`` ready for the kernel: X as given (any supported dtype and
        layout, never copied), Y as C-ordered float64 of shape (n, n_targets), w as
        float64 or None. Raises ``ValueError`` naming the problem.
        """
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
                    f"y has {Y.shape[1]} target column(s), but earlier chunks had "
                    f"{self.n_targets}"
                )
            Y = np.ascontiguousarray(Y, dtype=np.float64)
        check_finite(X, "X")
        check_finite(Y, "y")
        w = check_sample_weight(sample_weight, n)
        return X, Y, w

    def update(self, X, Y=None, sample_weight=None):
        """Fold a chunk of rows into the statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            uint8, integer, float32 or float64; C or Fortran order; read-only is fine.
            Never copied as a whole.
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
        X, Y, w = self.check_chunk(X, Y, sample_weight)
        if self._xtx_upper is None:
            self._allocate(X.shape[1], Y.shape[1])
        self._kernel_pass(X, Y, w)
        self.n_rows += X.shape[0]
        self.float32_only = self.float32_only and X.dtype == np.float32
        return self

    def _kernel_pass(self, X, Y, w):
        n, d = X.shape
        t = Y.shape[1]
        bounds = _threads.row_ranges(n, _threads.n_threads(), _gram.BLOCK)
        p = bounds.shape[0] - 1
        exact = w is None and X.dtype in _EXACT_DTYPES
        (p_shape, p_dtype), (a_shape, a_dtype) = _gram.scratch_shapes(d, p, w is not None, exact)
        P = np.empty(p_shape, p_dtype)
        A = np.empty(a_shape, a_dtype)
        w_arr = np.empty(0) if w is None else w
        sw = np.zeros((p, 1))
        if p == 1:
            # One row range (small chunks): accumulate straight into the state, so a
            # chunk of a few rows costs no d x d temporaries.
            _gram.gram_update(X, Y, w_arr, bounds, P, A, self._xtx_upper[None], self.xty[None],
                              self.x_sum[None], self.y_sum[None], self._yty_upper[None], sw)
            self.sum_w += float(sw[0, 0])
            return
        xtx = np.zeros((p, d, d))
        xty = np.zeros((p, d, t))
        xs = np.zeros((p, d))
        ys = np.zeros((p, t))
        yty = np.zeros((p, t, t))
        _gram.gram_update(X, Y, w_arr, bounds, P, A, xtx, xty, xs, ys, yty, sw)
        # Merge the per-thread parts in a fixed order: deterministic for a thread count.
        self._xtx_upper += _sum_parts(xtx)
        self.xty += _sum_parts(xty)
        self.x_sum += _sum_parts(xs)
        self.y_sum += _sum_parts(ys)
        self._yty_upper += _sum_parts(yty)
        self.sum_w += float(_sum_parts(sw)[0])

    @property
    def xtx(self):
        """XᵀWX, symmetric, of shape (n_features, n_features)."""
        return None if self._xtx_upper is None else _symmetrize(self._xtx_upper)

    @property
    def xtx_diag(self):
        """Diagonal of XᵀWX, shape (n_features,), without forming the full matrix."""
        return None if self._xtx_upper is None else np.diag(self._xtx_upper).copy()

    @property
    def yty(self):
        """YᵀWY, symmetric, of shape (n_targets, n_targets)."""
        return None if self._yty_upper is None else _symmetrize(self._yty_upper)

    # -- merge ------------------------------------------------------------------------------

    def merge(self, other):
        """Add the statistics of ``other`` (rows disjoint from this state's) into self."""
        if not isinstance(other, GramStats):
            raise TypeError(f"can only merge GramStats, got {type(other).__name__}")
        if other._xtx_upper is None:
            return self
        if self._xtx_upper is None:
            self._allocate(other.n_features, other.n_targets)
        if (other.n_features, other.n_targets) != (self.n_features, self.n_targets):
            raise ValueError(
                f"cannot merge statistics of {other.n_features} features / {other.n_targets} "
                f"targets into {self.n_features} features / {self.n_targets} targets"
            )
        self._xtx_upper += np.triu(other._xtx_upper)
        self.xty += other.xty
        self.x_sum += other.x_sum
        self.y_sum += other.y_sum
        self._yty_upper += np.triu(other._yty_upper)
        self.sum_w += other.sum_w
        self.n_rows += other.n_rows
        self.float32_only = self.float32_only and other.float32_only
        return self

    def copy(self):
        """An independent copy of the state."""
        new = GramStats()
        new.__dict__.update({k: (v.copy() if isinstance(v, np.ndarray) else v)
                             for k, v in self.__dict__.items()})
        return new

    # -- finalize ---------------------------------------------------------------------------

    def centred(self, fit_intercept=True):
        """Centred statistics ``(C, Cxy, x_mean, y_mean)`` for the solvers.

        With an intercept: C = XᵀWX - s sᵀ / W (s the weighted column sums), Cxy alike,
        means s / W. Without: the raw products and zero means.
        """
        self._require_data()
        if not fit_intercept:
            d, t = self.n_features, self.n_targets
            return self.xtx, self.xty.copy(), np.zeros(d), np.zeros(t)
        x_mean = self.x_sum / self.sum_w
        y_mean = self.y_sum / self.sum_w
        C = self.xtx
        # Solvers read one triangle, so the rounding asymmetry of the outer product is
        # harmless and no symmetrising copy is made.
        C -= np.outer(self.x_sum, x_mean)
        Cxy = self.xty - np.outer(self.x_sum, y_mean)
        return C, Cxy, x_mean, y_mean

    def finalize(self, alpha=0.0, fit_intercept=True, solver="auto", warn=True):
        """Solve for coefficients; see :func:`fastlin.solve.solve_gram`."""
        from .solve import solve_gram

        return solve_gram(self, alpha=alpha, fit_intercept=fit_intercept, solver=solver,
                          warn=warn)

    def _require_data(self):
        if self._xtx_upper is None or self.sum_w <= 0:
            raise ValueError("no rows with positive weight have been folded in yet")
        if self.n_targets == 0:
            raise ValueError("the statistics hold no targets (update was called without y)")

    # -- persistence (plain arrays, no pickle) ----------------------------------------------

    def to_arrays(self):
        """The state as a dict of NumPy arrays (for ``np.savez``)."""
        self._require_allocated()
        return {
            "n_rows": np.int64(self.n_rows), "sum_w": np.float64(self.sum_w),
            "float32_only": np.bool_(self.float32_only),
            "x_sum": self.x_sum, "y_sum": self.y_sum, "xtx": np.triu(self._xtx_upper),
            "xty": self.xty, "yty": np.triu(self._yty_upper),
        }

    @classmethod
    def from_arrays(cls, arrays):
        """Rebuild a state from :meth:`to_arrays` output, checking shapes agree."""
        xtx = np.asarray(arrays["xtx"], dtype=np.float64)
        xty = np.asarray(arrays["xty"], dtype=np.float64)
        d, t = xty.shape
        new = cls(d, t)
        shapes = {"xtx": (d, d), "x_sum": (d,), "y_sum": (t,), "yty": (t, t)}
        for key, shape in shapes.items():
            if np.shape(arrays[key]) != shape:
                raise ValueError(f"statistic {key!r} has shape {np.shape(arrays[key])}, expected {shape}")
        new._xtx_upper[...] = np.triu(xtx)
        new.xty[...] = xty
        new.x_sum[...] = arrays["x_sum"]
        new.y_sum[...] = arrays["y_sum"]
        new._yty_upper[...] = np.triu(arrays["yty"])
        new.n_rows = int(arrays["n_rows"])
        new.sum_w = float(arrays["sum_w"])
        new.float32_only = bool(arrays["float32_only"])
        return new

    def _require_allocated(self):
        if self._xtx_upper is None:
            raise ValueError("the statistics are empty: no chunk has been folded in")


def _sum_parts(parts):
    total = parts[0].copy()
    for k in range(1, parts.shape[0]):
        total += parts[k]
    return total


def _symmetrize(upper):
    """Full symmetric matrix from an accumulated upper triangle (lower part ignored)."""
    U = np.triu(upper)
    return U + np.triu(U, 1).T
