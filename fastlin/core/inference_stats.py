"""The passes over the rows that inference takes: the robust "meat" of least squares
(:class:`SandwichStats`, with the exact residual sum of squares) and the Hessian of
binary logistic regression (:class:`LogitHessianStats`), both accumulators; and
``regression_inference``, which puts the Gram statistics and those passes together.
The formulas are in :mod:`fastlin.core.inference`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, Self

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_2d_array, as_targets, check_finite, check_sample_weight
from .accumulator import Accumulator, dataclass_arrays, dataclass_from_arrays, prefixed, unprefixed
from ..kernels import losses as _losses
from .inference import (
    BLOCK_ROWS,
    COV_TYPES,
    SSR_DIGITS,
    LogitInference,
    RegressionInference,
    _bread,
    _pinv_psd,
    _to_params,
)
from .stats import GramStats
from .._threads import n_threads, row_ranges

if TYPE_CHECKING:
    from ..diagnostics import HatFactor


class SandwichStats(Accumulator):
    """One pass over the rows for robust covariances and the exact residual sum of squares.

    An accumulator with the library's protocol (``update``, ``merge``, ``copy``,
    ``to_arrays``/``from_arrays``, ``finalize``), so it folds over arrays, chunk sources
    and Dask blocks alike.

    Parameters
    ----------
    coef : ndarray of shape (n_targets, n_features), float64
    level : ndarray of shape (n_targets,), float64
        The prediction at ``x_mean`` (ȳ for least squares with an intercept): residuals
        are taken as (y - level) - (x - x̄)β, so that large column offsets never cancel
        against the intercept.
    factor : fastlin.diagnostics.HatFactor
        Factored Gram of the rows the model was fitted on (for the leverage).
    x_mean : tuple of two ndarrays of shape (n_features,), float64
        Weighted column means of those rows as ``(shift, rest)``
        (``GramStats.mean_parts``; zeros without an intercept): rows are centred as
        ``(x - shift) - rest`` before any product, so large offsets cost no digits.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
        "nonrobust" accumulates the residual sums only.
    """

    _SUMS = ("n_rows", "sum_w", "ssr")

    def __init__(
        self,
        coef: ArrayLike,
        level: ArrayLike,
        factor: HatFactor,
        x_mean: tuple[ArrayLike, ArrayLike],
        cov_type: Literal["nonrobust", "HC0", "HC1", "HC2", "HC3"] = "HC0",
    ):
        if cov_type not in COV_TYPES:
            raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        self.level = np.ascontiguousarray(level, dtype=np.float64)
        self.x_shift, self.x_rest = (np.ascontiguousarray(a, dtype=np.float64) for a in x_mean)
        # The pass reads rows already centred on x̄.
        self.factor = dataclasses.replace(factor, mean=np.zeros_like(factor.mean))
        self.cov_type = cov_type
        t = self.coef.shape[0]
        self.n_rows = 0
        self.sum_w = 0.0
        self.ssr = np.zeros(t)
        self.meat = [GramStats() for _ in range(t)] if cov_type != "nonrobust" else []

    @property
    def n_features(self) -> int:
        return self.coef.shape[1]

    @property
    def n_targets(self) -> int:
        return self.coef.shape[0]

    def update(
        self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> Self:
        """Fold rows in: X (n, n_features) of any supported dtype, y (n,) or (n, t),
        sample_weight (n,) or None. Validated before anything changes."""
        from ..diagnostics import _run_pass

        X = as_2d_array(X, "X")
        m, d = X.shape
        if d != self.n_features:
            raise ValueError(f"X has {d} features, the model has {self.n_features}")
        if y is None:
            raise ValueError("y is required: robust covariances need the residuals")
        Y, _ = as_targets(y, m)
        if Y.shape[1] != self.n_targets:
            raise ValueError(f"y has {Y.shape[1]} target column(s), the model has {self.n_targets}")
        check_finite(X, "X")
        check_finite(Y, "y")
        w = check_sample_weight(sample_weight, m) if m else None
        if m == 0:
            return self
        meat = [g.copy() for g in self.meat]
        ssr = self.ssr.copy()
        f = self.factor
        hc = self.cov_type
        for r0 in range(0, m, BLOCK_ROWS):
            r1 = min(r0 + BLOCK_ROWS, m)
            Z = np.subtract(X[r0:r1], self.x_shift, dtype=np.float64)
            Z -= self.x_rest
            Yb = np.ascontiguousarray(Y[r0:r1], dtype=np.float64)
            q = np.empty(r1 - r0)
            e = np.empty((r1 - r0, self.n_targets))
            _run_pass(Z, Yb, self.coef, self.level, f, q, e)
            wb = np.ones(r1 - r0) if w is None else w[r0:r1]
            ssr += np.einsum("i,it->t", wb, e * e)
            if not meat:
                continue
            h = wb * (q + f.inv_sum_w)
            with np.errstate(divide="ignore", invalid="ignore"):
                adj = {"HC2": 1.0 / (1.0 - h), "HC3": 1.0 / (1.0 - h) ** 2}.get(hc, 1.0)
            for j, g in enumerate(meat):
                v = (wb * e[:, j]) ** 2 * adj
                v[wb == 0] = 0.0
                if not np.all(np.isfinite(v)):
                    raise ValueError(
                        f"{hc} needs 1 - leverage > 0, but a row between {r0} and {r1} of "
                        "this chunk has leverage 1 (it alone determines a coefficient); "
                        "use HC0 or HC1"
                    )
                if v.any():
                    g.update(Z, None, v)
        self.meat = meat
        self.ssr = ssr
        self.n_rows += m
        self.sum_w += float(m if w is None else w.sum())
        return self

    def merge(self, other: SandwichStats) -> Self:
        super().merge(other)
        for g, o in zip(self.meat, other.meat):
            g.merge(o)
        return self

    def copy(self) -> SandwichStats:
        new = super().copy()
        new.meat = [g.copy() for g in self.meat]
        return new

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = super().to_arrays()
        for j, g in enumerate(self.meat):
            out.update(prefixed(f"meat{j}", g.to_arrays()))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        new = super().from_arrays(arrays)
        new.meat = [
            GramStats.from_arrays(unprefixed(f"meat{j}", arrays)) for j in range(len(new.meat))
        ]
        return new

    def _settings(self) -> dict[str, ArrayLike]:
        return {
            "coef": self.coef,
            "level": self.level,
            "x_shift": self.x_shift,
            "x_rest": self.x_rest,
            "cov_type": np.str_(self.cov_type),
            **prefixed("factor", dataclass_arrays(self.factor)),
        }

    @classmethod
    def _from_settings(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        from ..diagnostics import HatFactor

        factor = dataclass_from_arrays(HatFactor, unprefixed("factor", arrays))
        return cls(
            arrays["coef"],
            arrays["level"],
            factor,
            (arrays["x_shift"], arrays["x_rest"]),
            str(arrays["cov_type"]),
        )

    def finalize(self) -> tuple[np.ndarray | None, np.ndarray]:
        """Per target: the meat Σ v z zᵀ over z = [1, x - x̄] (or x without intercept),
        shape (t, k, k), or None for "nonrobust"; and the residual sums of squares (t,)."""
        if not self.meat:
            return None, self.ssr.copy()
        d = self.n_features
        fi = self.factor.fit_intercept
        k = d + int(fi)
        M = np.zeros((self.n_targets, k, k))
        for j, g in enumerate(self.meat):
            if g.n_rows == 0:
                continue
            if fi:
                M[j, 0, 0] = g.sum_w
                M[j, 0, 1:] = M[j, 1:, 0] = g.x_sum
                M[j, 1:, 1:] = g.xtx
            else:
                M[j] = g.xtx
        return M, self.ssr.copy()


# -- least squares --------------------------------------------------------------------------


def regression_inference(
    stats,
    coef,
    intercept,
    *,
    fit_intercept,
    rank,
    y_1d,
    names=None,
    cov_type="nonrobust",
    fold=None,
    use_t=None,
):
    """Inference for least-squares coefficients fitted on the rows of ``stats``.

    Parameters
    ----------
    stats : GramStats
        Statistics of the rows the model was fitted on (with their weights).
    coef : ndarray of shape (n_targets, n_features)
    intercept : ndarray of shape (n_targets,)
    fit_intercept : bool
    rank : int
        Numerical rank of the centred design the fit found (``rank_``).
    y_1d : bool
    names : list of str, optional
        Feature names (default x1, x2, ... as statsmodels names array columns).
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
    fold : callable, optional
        ``fold(state) -> state`` folds an accumulator over the same rows (arrays, a
        chunk source or Dask blocks). Needed for robust covariances; with "nonrobust" it
        makes the residual sum of squares exact.
    use_t : bool, optional
        Default: True for "nonrobust", False otherwise (statsmodels' default).

    Returns
    -------
    RegressionInference
    """
    from ..diagnostics import hat_factor

    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
    if not isinstance(stats, GramStats):
        raise TypeError(f"inference needs Gram statistics, got {type(stats).__name__}")
    if cov_type != "nonrobust" and fold is None:
        raise ValueError(
            f"cov_type={cov_type!r} needs the rows again: pass X and y "
            "(or a chunk source) to inference"
        )
    stats._require_data()
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(
        np.atleast_1d(np.asarray(intercept, dtype=np.float64)), (coef.shape[0],)
    )
    t, d = coef.shape
    if (d, t) != (stats.n_features, stats.n_targets):
        raise ValueError(
            f"coefficients of shape {coef.shape} do not match statistics of "
            f"{stats.n_features} features and {stats.n_targets} targets"
        )
    names = [f"x{i + 1}" for i in range(d)] if names is None else [str(n) for n in names]
    if len(names) != d:
        raise ValueError(f"{len(names)} feature names for {d} features")
    C, Cxy, x_mean, y_mean = stats.centred(fit_intercept)
    # Constant columns (zero centred variance against their own second moment) are not
    # in the design's span; the rank the fit found counts the others.
    diag = np.diag(C)
    raw = stats.shifted_diag if fit_intercept else stats.xtx_diag
    active = np.flatnonzero((diag > 64 * np.finfo(np.float64).eps * raw) & (diag > 0))
    P, ident, rank = _pinv_psd(C, active, min(int(rank), active.size))
    tss_c = stats.centred_yy(True)
    tss_u = np.diag(stats.yty).copy()
    tss = tss_c if fit_intercept else tss_u
    # Σ w e² = Syy - 2 βᵀ Sxy + βᵀ C β about the means; its rounding grows with the
    # terms that cancel, so it is judged against them.
    quad = np.einsum("td,de,te->t", coef, C, coef)
    cross = np.einsum("td,dt->t", coef, Cxy)
    ssr = np.maximum(tss - 2 * cross + quad, 0.0)
    rounding = stats.relative_accuracy * (tss + 2 * np.abs(cross) + np.abs(quad))
    ssr_exact = False
    meat = None
    if fold is not None:
        factor = hat_factor(stats, 0.0, fit_intercept)
        # With an intercept the least-squares fit passes through the means, so the
        # residuals are taken about them (no cancellation against a large intercept).
        level = y_mean if fit_intercept else np.zeros(t)
        parts = stats.mean_parts() if fit_intercept else (np.zeros(d), np.zeros(d))
        state = fold(SandwichStats(coef, level, factor, parts, cov_type))
        if state.n_rows != stats.n_rows or not np.isclose(
            state.sum_w, stats.sum_w, rtol=1e-10, atol=0
        ):
            raise ValueError(
                f"the rows given to inference ({state.n_rows} rows, weight "
                f"{state.sum_w:.6g}) are not those the model was fitted on "
                f"({stats.n_rows} rows, weight {stats.sum_w:.6g})"
            )
        meat, ssr = state.finalize()
        ssr_exact = True
    elif np.any(rounding > SSR_DIGITS * np.maximum(ssr, np.finfo(np.float64).tiny)):
        from .._warnings import warn

        warn(
            "the residual sum of squares from the Gram statistics may have lost digits "
            "(the fit explains almost all of the variance); inference(X, y) computes it "
            "from the rows",
            UserWarning,
        )
    k_const = int(fit_intercept)
    full_rank = rank + k_const
    identified = np.concatenate([[True] * k_const, ident]).astype(bool)
    params = np.vstack([intercept[None, :], coef.T]) if fit_intercept else coef.T.copy()
    nobs = float(stats.n_rows)
    df_resid = nobs - full_rank
    B = _bread(P, stats.sum_w, fit_intercept)
    if meat is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = ssr / df_resid
        cov_c = B[None, :, :] * scale[:, None, None]
    else:
        cov_c = np.einsum("ab,tbc,cd->tad", B, meat, B)
        if cov_type == "HC1":
            cov_c *= nobs / df_resid
    cov = _to_params(cov_c, x_mean, fit_intercept)
    if use_t is None:
        use_t = cov_type == "nonrobust"
    return RegressionInference(
        names=(["const"] if fit_intercept else []) + names,
        params=params,
        cov=cov,
        ssr=ssr,
        centered_tss=tss_c,
        uncentered_tss=tss_u,
        nobs=nobs,
        sum_log_w=stats.sum_log_w,
        rank=full_rank,
        k_constant=k_const,
        cov_type=cov_type,
        use_t=use_t,
        y_1d=y_1d,
        identified=identified,
        ssr_exact=ssr_exact,
        model_name="WLS" if stats.sum_log_w != 0.0 or stats.sum_w != stats.n_rows else "OLS",
    )


# -- binary logistic regression -------------------------------------------------------------


class LogitHessianStats(Accumulator):
    """One pass for binary logistic inference: the Hessian Σ w p (1 - p) z zᵀ (a weighted
    Gram), the log-likelihood and the label sums, at fixed coefficients.

    Parameters
    ----------
    coef : ndarray of shape (n_features,), float64
        Coefficients of ``x_scale * X``.
    intercept : float
    classes : ndarray of shape (2,)
        Labels; the second is the positive class.
    x_scale : float
    """

    _SUMS = ("loglik", "sum_wy", "sum_w", "n_rows")

    def __init__(self, coef, intercept, classes, x_scale=1.0):
        self.coef = np.ascontiguousarray(np.reshape(coef, (1, -1)), dtype=np.float64)
        self.intercept = np.array([float(intercept)])
        self.classes = np.asarray(classes)
        if self.classes.shape != (2,):
            raise ValueError("logistic inference is for two classes")
        self.x_scale = float(x_scale)
        self.hessian = GramStats()
        self.loglik = 0.0
        self.sum_wy = 0.0
        self.sum_w = 0.0
        self.n_rows = 0

    def update(self, X, y=None, sample_weight=None):
        """X (n, d) any supported dtype; y (n,) labels from ``classes``."""
        X = as_2d_array(X, "X")
        m, d = X.shape
        if d != self.coef.shape[1]:
            raise ValueError(f"X has {d} features, the model has {self.coef.shape[1]}")
        if y is None:
            raise ValueError("y is required: the Hessian and likelihood need the labels")
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != m:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({m}), got shape {labels.shape}"
            )
        pos = labels == self.classes[1]
        bad = ~(pos | (labels == self.classes[0]))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y[{i}] = {labels[i]!r} is not one of the model's classes {self.classes.tolist()}"
            )
        yv = pos.astype(np.float64)
        check_finite(X, "X")
        w = check_sample_weight(sample_weight, m) if m else None
        if m == 0:
            return self
        hess = self.hessian.copy()
        loglik = 0.0
        for r0 in range(0, m, BLOCK_ROWS):
            r1 = min(r0 + BLOCK_ROWS, m)
            Xb = X[r0:r1]
            z = np.empty((r1 - r0, 1))
            bounds = row_ranges(r1 - r0, n_threads(), _losses.BLOCK)
            a_shape, z_shape = _losses.scratch_shapes(bounds.shape[0] - 1, 1, d)
            _losses.logits(
                Xb,
                self.coef,
                self.intercept,
                self.x_scale,
                bounds,
                np.empty(a_shape),
                np.empty(z_shape),
                z,
            )
            logp = np.empty((r1 - r0, 2))
            _losses.log_sigmoid_pair(np.ascontiguousarray(z[:, 0]), logp)
            wb = np.ones(r1 - r0) if w is None else w[r0:r1]
            yb = yv[r0:r1]
            loglik += float(np.sum(wb * np.where(yb == 1, logp[:, 1], logp[:, 0])))
            v = wb * np.exp(logp[:, 0] + logp[:, 1])  # w p (1 - p), without cancellation
            if v.any():
                hess.update(Xb, None, v)
        self.hessian = hess
        self.loglik += loglik
        self.sum_wy += float(np.sum(yv if w is None else w * yv))
        self.sum_w += float(m if w is None else w.sum())
        self.n_rows += m
        return self

    def merge(self, other):
        super().merge(other)
        self.hessian.merge(other.hessian)
        return self

    def copy(self):
        new = super().copy()
        new.hessian = self.hessian.copy()
        return new

    def to_arrays(self):
        return {**super().to_arrays(), **prefixed("hessian", self.hessian.to_arrays())}

    @classmethod
    def from_arrays(cls, arrays):
        new = super().from_arrays(arrays)
        new.hessian = GramStats.from_arrays(unprefixed("hessian", arrays))
        return new

    def _settings(self):
        return {
            "coef": self.coef,
            "intercept": self.intercept,
            "classes": self.classes,
            "x_scale": np.float64(self.x_scale),
        }

    @classmethod
    def _from_settings(cls, arrays):
        return cls(
            arrays["coef"],
            float(np.asarray(arrays["intercept"])[0]),
            arrays["classes"],
            float(arrays["x_scale"]),
        )

    def finalize(self, C=np.inf, fit_intercept=True, names=None):
        """LogitInference at these coefficients; ``C`` the fit's inverse penalty."""
        if self.n_rows == 0:
            raise ValueError("no rows have been folded in")
        d = self.coef.shape[1]
        s = self.x_scale
        g = self.hessian
        if g.sum_w <= 0:
            raise ValueError(
                "the Hessian is zero: every probability is 0 or 1 (separable "
                "data), so the standard errors are unbounded"
            )
        Cv, mu = g.centred_x(fit_intercept)
        H = Cv * s * s
        if np.isfinite(C):
            H = H + np.eye(d) / C
        P, ident, _ = _pinv_psd(H, np.flatnonzero(np.diag(H) > 0))
        B = _bread(P, g.sum_w, fit_intercept)
        cov = _to_params(B[None], mu * s, fit_intercept)[0]
        names = [f"x{i + 1}" for i in range(d)] if names is None else [str(n) for n in names]
        p_bar = self.sum_wy / self.sum_w
        with np.errstate(divide="ignore", invalid="ignore"):
            llnull = (
                self.sum_w * (p_bar * np.log(p_bar) + (1 - p_bar) * np.log1p(-p_bar))
                if 0 < p_bar < 1
                else 0.0
            )
        params = (
            np.concatenate([self.intercept, self.coef[0]]) if fit_intercept else self.coef[0].copy()
        )
        identified = np.concatenate([[True] * int(fit_intercept), ident]).astype(bool)
        return LogitInference(
            names=(["const"] if fit_intercept else []) + names,
            params=params,
            cov=cov,
            nobs=self.n_rows,
            llf=self.loglik,
            llnull=llnull,
            penalised=np.isfinite(C),
            identified=identified,
        )
