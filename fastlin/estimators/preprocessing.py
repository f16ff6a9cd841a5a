"""Scaling and polynomial features: scikit-learn-compatible, streaming, mergeable.

``Moments`` is the accumulator (per-column weighted count, mean and M2, merged by Chan's
formula); ``StandardScaler`` is a thin scikit-learn-style estimator over it.
``PolynomialFeatures`` reproduces scikit-learn's column order, and ``polynomial_gram``
folds the expansion of a chunk straight into Gram statistics, one small block of
expanded rows at a time.
"""

from __future__ import annotations

import numbers
from itertools import combinations, combinations_with_replacement
from typing import TYPE_CHECKING, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from ._saveable import Saveable
from .._threads import drop_lock, model_lock, n_threads, row_ranges
from ..core.moments import Moments, _reject_inf
from .._validation import as_2d_array, as_targets, check_finite, check_sample_weight, edge_X
from ..kernels import polynomial as _pk

if TYPE_CHECKING:
    from .._typing import FitData

_EPS = np.finfo(np.float64).eps


def _is_constant(var, mean, n):
    """scikit-learn's test for a variance indistinguishable from that of a constant.

    The bound is the error of the two-pass variance (Chan, Golub and LeVeque).
    """
    return var <= n * _EPS * var + (n * mean * _EPS) ** 2


class StandardScaler(Saveable, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise features by removing the mean and scaling to unit variance.

    A drop-in for ``sklearn.preprocessing.StandardScaler`` on dense arrays: the same
    parameters, fitted attributes, NaN handling (ignored in fit, kept in transform),
    sample weights and the same test for near-constant features (scale 1). Statistics
    come from a mergeable ``Moments`` accumulator, so ``partial_fit`` over chunks gives
    the same result as ``fit`` on the whole, whatever the split, and stays exact for
    columns with a large mean.

    Parameters
    ----------
    copy : bool, default True
    with_mean : bool, default True
    with_std : bool, default True

    Attributes
    ----------
    scale_ : ndarray (n_features,) or None
    mean_ : ndarray (n_features,) or None
    var_ : ndarray (n_features,) or None
    n_features_in_ : int
    n_samples_seen_ : int, float or ndarray (n_features,): the number of non-NaN samples
        (their total weight with ``sample_weight``), an array only when columns differ
    moments_ : Moments, the accumulator behind the statistics
    """

    def __init__(self, *, copy: bool = True, with_mean: bool = True, with_std: bool = True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

    def _reset(self):
        for name in (
            "scale_",
            "mean_",
            "var_",
            "n_samples_seen_",
            "n_features_in_",
            "moments_",
            "_weighted",
            "feature_names_in_",
        ):
            if hasattr(self, name):
                delattr(self, name)

    def fit(
        self,
        X: FitData,
        y: object = None,
        sample_weight: ArrayLike | None = None,
        *,
        chunk_rows: int | None = None,
        verbose: bool = False,
    ) -> Self:
        """Compute the mean and standard deviation of X.

        Parameters
        ----------
        X : array of shape (n_samples, n_features), or a chunk source
            A chunk source (``fastlin.open_source``) or an iterable of ``(X, y)`` /
            ``(X, y, sample_weight)`` chunks is folded in one pass (``chunk_rows``,
            ``verbose``: a progress bar).
        y : ignored
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        self
        """
        from ..io.fold import accumulate, is_chunked

        if sample_weight is None and is_chunked(X):
            moments, _ = accumulate(
                X, Moments(), chunk_rows=chunk_rows, verbose=verbose, desc=type(self).__name__
            )
            if moments.n_rows_ == 0:
                raise ValueError("the chunk source yielded no rows")
            self._reset()
            self._set_from_moments(moments, weighted=False)
            names = getattr(X, "feature_names", None)
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            return self
        self._reset()
        return self.partial_fit(X, y, sample_weight)

    def partial_fit(
        self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold a chunk of rows into the running mean and variance.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        self
        """
        with model_lock(self):
            first = not hasattr(self, "moments_")
            X = edge_X(self, X, reset=first)
            moments = Moments() if first else self.moments_.copy()
            try:
                moments.update(X, sample_weight=sample_weight)
            except BaseException:
                if first:
                    for k in ("n_features_in_", "feature_names_in_"):
                        self.__dict__.pop(k, None)
                raise
            return self._set_from_moments(moments, weighted=sample_weight is not None)

    def __getstate__(self):
        return drop_lock(super().__getstate__())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks a missing value, as in scikit-learn
        return tags

    def merge(self, other: StandardScaler) -> Self:
        """Fold the statistics of another fitted StandardScaler into this one."""
        if not hasattr(other, "moments_"):
            raise ValueError("the other StandardScaler is not fitted")
        moments = self.moments_.copy() if hasattr(self, "moments_") else Moments()
        moments.merge(other.moments_)
        weighted = getattr(self, "_weighted", False) or getattr(other, "_weighted", False)
        return self._set_from_moments(moments, weighted)

    def _set_from_moments(self, moments, weighted):
        self.moments_ = moments
        self._weighted = bool(weighted or getattr(self, "_weighted", False))
        self.n_features_in_ = moments.n_features_
        cnt = moments.count_
        if self._weighted:
            seen = cnt.copy()
        else:
            seen = np.rint(cnt).astype(np.int64)
        if seen.size and seen.max() == seen.min():
            seen = seen[0]
        self.n_samples_seen_ = seen
        if not self.with_mean and not self.with_std:
            self.mean_ = None
            self.var_ = None
            self.scale_ = None
            return self
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(cnt > 0, moments.mean_, 0.0)
            var = np.where(cnt > 0, moments.m2_ / np.where(cnt > 0, cnt, 1.0), 0.0)
        # scikit-learn reports NaN statistics for all-NaN columns.
        mean = np.where(cnt > 0, mean, np.nan) if (cnt == 0).any() else mean
        var = np.where(cnt > 0, var, np.nan) if (cnt == 0).any() else var
        self.mean_ = mean
        if self.with_std:
            self.var_ = var
            scale = np.sqrt(var)
            constant = _is_constant(var, mean, self.n_samples_seen_)
            scale[constant] = 1.0
            self.scale_ = scale
        else:
            self.var_ = None
            self.scale_ = None
        return self

    def _check_fitted(self):
        if not hasattr(self, "n_features_in_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This StandardScaler instance is not fitted yet. Call 'fit' or 'partial_fit' "
                "with appropriate arguments before using this estimator."
            )

    def _prepare(self, X, copy):
        self._check_fitted()
        X = edge_X(self, X, reset=False)
        _reject_inf(X)
        copy = self.copy if copy is None else copy
        if X.dtype.kind != "f":
            return X.astype(np.float64)
        return X.copy() if copy or not X.flags.writeable else X

    def transform(self, X: ArrayLike, copy: bool | None = None) -> np.ndarray:
        """Centre and scale X.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        copy : bool or None, default ``self.copy``; with False, float input is
            transformed in place

        Returns
        -------
        ndarray of shape (n_samples, n_features); float32 stays float32, integers give
        float64
        """
        X = self._prepare(X, copy)
        if self.with_mean:
            X -= self.mean_.astype(X.dtype, copy=False)
        if self.with_std:
            X /= self.scale_.astype(X.dtype, copy=False)
        return X

    def inverse_transform(self, X: ArrayLike, copy: bool | None = None) -> np.ndarray:
        """Undo ``transform``: scale back, then add the mean."""
        X = self._prepare(X, copy)
        if self.with_std:
            X *= self.scale_.astype(X.dtype, copy=False)
        if self.with_mean:
            X += self.mean_.astype(X.dtype, copy=False)
        return X


def _parse_degree(degree, include_bias):
    if isinstance(degree, numbers.Integral) and not isinstance(degree, bool):
        lo, hi = 0, int(degree)
        if hi < 0:
            raise ValueError(f"degree must be a non-negative int or (min, max), got {degree!r}")
    elif isinstance(degree, (tuple, list)) and len(degree) == 2:
        lo, hi = degree
        if not (
            isinstance(lo, numbers.Integral) and isinstance(hi, numbers.Integral) and 0 <= lo <= hi
        ):
            raise ValueError(
                "degree=(min_degree, max_degree) must be non-negative integers with "
                f"min_degree <= max_degree, got {degree!r}"
            )
        lo, hi = int(lo), int(hi)
    else:
        raise ValueError(f"degree must be a non-negative int or (min, max), got {degree!r}")
    if hi == 0 and not include_bias:
        raise ValueError("degree 0 without include_bias would give no output columns")
    return lo, hi


def _term_table(n_features, lo, hi, interaction_only, include_bias):
    """Monomials up to degree ``hi`` in scikit-learn's order, their parent/feature table
    and the selection of output terms (the bias, then degrees max(1, lo)..hi)."""
    comb = combinations if interaction_only else combinations_with_replacement
    combos = [()]
    for deg in range(1, hi + 1):
        combos.extend(comb(range(n_features), deg))
    index = {c: k for k, c in enumerate(combos)}
    parent = np.zeros(len(combos), dtype=np.int64)
    feat = np.zeros(len(combos), dtype=np.int64)
    for k in range(1, len(combos)):
        c = combos[k]
        parent[k] = index[c[:-1]]
        feat[k] = c[-1]
    start = max(1, lo)
    select = [k for k, c in enumerate(combos) if start <= len(c) <= hi]
    if include_bias:
        select = [0] + select
    select = np.asarray(select, dtype=np.int64)
    powers = np.zeros((select.shape[0], n_features), dtype=np.int64)
    for r, k in enumerate(select):
        for f in combos[k]:
            powers[r, f] += 1
    return parent, feat, select, powers


class PolynomialFeatures(Saveable, TransformerMixin, BaseEstimator):
    """Polynomial and interaction features, in scikit-learn's column order.

    Parameters
    ----------
    degree : int or (min_degree, max_degree), default 2
    interaction_only : bool, default False
    include_bias : bool, default False
        Unlike scikit-learn (default True), no column of ones by default: fastlin fits
        intercepts by centring.

    Attributes
    ----------
    powers_ : ndarray (n_output_features_, n_features_in_) int64
    n_features_in_ : int
    n_output_features_ : int
    """

    def __init__(
        self,
        degree: int | tuple[int, int] = 2,
        *,
        interaction_only: bool = False,
        include_bias: bool = False,
    ):
        self.degree = degree
        self.interaction_only = interaction_only
        self.include_bias = include_bias

    def fit(self, X: ArrayLike | FitData, y: object = None) -> Self:
        """Record the number of input features and build the term table.

        X : array of shape (n_samples, n_features), or a chunk source, of which only the
        width is read (a source's ``n_features``, else its first chunk).
        """
        from ..io.fold import is_chunked, width

        lo, hi = _parse_degree(self.degree, self.include_bias)
        if is_chunked(X):
            d, names = width(X)
        else:
            d, names = edge_X(self, X, reset=True).shape[1], None
        parent, feat, select, powers = _term_table(
            d, lo, hi, bool(self.interaction_only), bool(self.include_bias)
        )
        self._table = (parent, feat, select)
        self.powers_ = powers
        self.n_features_in_ = d
        self.n_output_features_ = int(select.shape[0])
        if is_chunked(X):
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            else:
                self.__dict__.pop("feature_names_in_", None)
        return self

    def _check_input(self, X):
        if not hasattr(self, "powers_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This PolynomialFeatures instance is not fitted yet; call 'fit'")
        return edge_X(self, X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN propagates to the terms that hold it
        return tags

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Expand X.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features_): float32 for float32 input,
        float64 otherwise
        """
        X = self._check_input(X)
        parent, feat, select = self._table
        single = X.dtype == np.float32
        out = np.empty((X.shape[0], select.shape[0]))
        if X.shape[0] == 0:
            return out.astype(np.float32) if single else out
        # The output is at least as large as the input, so a float64 copy of the input
        # costs little and leaves one compiled kernel for every input dtype.
        X = np.ascontiguousarray(X, dtype=np.float64)
        bounds = row_ranges(X.shape[0], n_threads(), 64)
        buf = np.empty((bounds.shape[0] - 1, parent.shape[0]))
        _pk.poly_expand(X, parent, feat, select, bounds, buf, out)
        return out.astype(np.float32) if single else out

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Names such as ``x0 x1^2``, as scikit-learn writes them."""
        if not hasattr(self, "powers_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This PolynomialFeatures instance is not fitted yet; call 'fit'")
        from sklearn.utils.validation import _check_feature_names_in

        input_features = _check_feature_names_in(self, input_features)
        names = []
        for row in self.powers_:
            inds = np.flatnonzero(row)
            if len(inds):
                names.append(
                    " ".join(
                        f"{input_features[i]}^{row[i]}" if row[i] != 1 else str(input_features[i])
                        for i in inds
                    )
                )
            else:
                names.append("1")
        return np.asarray(names, dtype=object)


class PolynomialGram:
    """Gram statistics of polynomially expanded rows, accumulated without the expansion.

    Fields are those of the expanded design Φ (n_samples, n_output_features) with sample
    weights W: ``xtx = ΦᵀWΦ`` (full symmetric), ``xty = ΦᵀWY``, ``yty = YᵀWY``,
    ``sum_x = ΦᵀW1``, ``sum_y = YᵀW1``, ``sum_weights``, ``n_samples``; ``powers`` gives
    the monomial of each column (as ``PolynomialFeatures.powers_``).

    Build with ``polynomial_gram``; pass an existing one as ``out=`` to keep
    accumulating, or combine two with ``merge``.
    """

    def __init__(self, powers, n_targets, _table):
        p = powers.shape[0]
        self.powers = powers
        self._table = _table
        self.n_samples = 0
        self.sum_weights = 0.0
        self.sum_x = np.zeros(p)
        self.sum_y = np.zeros(n_targets)
        self.xtx = np.zeros((p, p))
        self.xty = np.zeros((p, n_targets))
        self.yty = np.zeros((n_targets, n_targets))

    def merge(self, other):
        """Add another PolynomialGram of the same expansion into this one."""
        if (
            not isinstance(other, PolynomialGram)
            or not np.array_equal(other.powers, self.powers)
            or other.xty.shape != self.xty.shape
        ):
            raise ValueError("can only merge a PolynomialGram of the same expansion and targets")
        self.n_samples += other.n_samples
        self.sum_weights += other.sum_weights
        self.sum_x += other.sum_x
        self.sum_y += other.sum_y
        self.xtx += other.xtx
        self.xty += other.xty
        self.yty += other.yty
        return self

    def centred(self):
        """Centred statistics ``(Sxx, Sxy, mean_x, mean_y)`` from the sums (float64)."""
        mx = self.sum_x / self.sum_weights
        my = self.sum_y / self.sum_weights
        sxx = self.xtx - self.sum_weights * np.outer(mx, mx)
        sxy = self.xty - self.sum_weights * np.outer(mx, my)
        return sxx, sxy, mx, my


def polynomial_gram(
    X: ArrayLike,
    y: ArrayLike | None = None,
    degree: int | tuple[int, int] = 2,
    *,
    interaction_only: bool = False,
    include_bias: bool = False,
    sample_weight: ArrayLike | None = None,
    out: PolynomialGram | None = None,
) -> PolynomialGram:
    """Fold the polynomial expansion of X's rows into Gram statistics.

    The expansion (the columns of ``PolynomialFeatures(degree, interaction_only,
    include_bias)``, in its order) is built ``GBLOCK`` rows at a time in a per-thread
    scratch panel and folded into ΦᵀWΦ, ΦᵀWY and the sums at once; the full expanded
    matrix is never formed.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), float64, float32 or integer
    y : array of shape (n_samples,) or (n_samples, n_targets), or None
    degree, interaction_only, include_bias : as in ``PolynomialFeatures``
    sample_weight : array of shape (n_samples,) or None
    out : PolynomialGram or None, accumulate into this one (same expansion and targets)

    Returns
    -------
    PolynomialGram
    """
    X = as_2d_array(X, "X")
    check_finite(X, "X")
    n, d = X.shape
    if y is None:
        Y = np.empty((n, 0))
    else:
        Y, _ = as_targets(y, n, "y")
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        check_finite(Y, "y")
    w = check_sample_weight(sample_weight, n)
    lo, hi = _parse_degree(degree, include_bias)
    parent, feat, select, powers = _term_table(
        d, lo, hi, bool(interaction_only), bool(include_bias)
    )
    if out is None:
        out = PolynomialGram(powers, Y.shape[1], (parent, feat, select))
    elif not np.array_equal(out.powers, powers) or out.xty.shape[1] != Y.shape[1]:
        raise ValueError("out= holds a different expansion or number of targets than requested")
    if n == 0:
        return out
    X = np.ascontiguousarray(X, dtype=np.float64)  # one compiled kernel for every dtype
    p = select.shape[0]
    t = Y.shape[1]
    bounds = row_ranges(n, n_threads(), _pk.GBLOCK)
    P = bounds.shape[0] - 1
    xtx = np.zeros((P, p, p))
    xty = np.zeros((P, p, t))
    xs = np.zeros((P, p))
    ys = np.zeros((P, t))
    yty = np.zeros((P, t, t))
    sw = np.zeros(P)
    _pk.poly_gram_update(
        X,
        Y,
        w if w is not None else np.empty(0),
        parent,
        feat,
        select,
        bounds,
        np.empty((P, parent.shape[0])),
        np.empty((P, p, _pk.GBLOCK)),
        np.empty((P, p, _pk.GBLOCK)) if w is not None else np.empty((P, 0, 0)),
        xtx,
        xty,
        xs,
        ys,
        yty,
        sw,
    )
    G = xtx.sum(axis=0) if P > 1 else xtx[0]
    G = np.triu(G) + np.triu(G, 1).T
    T = yty.sum(axis=0)
    T = np.triu(T) + np.triu(T, 1).T
    out.xtx += G
    out.xty += xty.sum(axis=0)
    out.sum_x += xs.sum(axis=0)
    out.sum_y += ys.sum(axis=0)
    out.yty += T
    out.sum_weights += float(sw.sum())
    out.n_samples += n
    return out
