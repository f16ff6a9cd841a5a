"""Statistical inference for least squares and binary logistic regression.

Classical (homoskedastic) least-squares inference needs nothing beyond the Gram
statistics a fit already holds: with the intercept taken at the weighted mean of the
columns, z = [1, x - x̄], the bread Σ w z zᵀ is block diagonal, diag(W, C), C the
centred Gram, so

    cov(intercept at x̄, β) = s² diag(1 / W, C⁺),   s² = Σ w e² / (n - rank),

and the usual parameters (b, β) with b = a - x̄ᵀβ follow by the linear map
J = [[1, -x̄ᵀ], [0, I]]: cov(b, β) = J cov Jᵀ. Large column offsets therefore never
enter a subtraction. For a rank-deficient design C⁺ is the pseudo-inverse, in the units
of the data, over the numerical rank the fit found: the covariance of the minimum-norm
estimator the fit returns. Coefficients outside the identified space are flagged
(``identified``) rather than given meaningless t values.

Robust (sandwich) covariances, HC0-HC3 as White and MacKinnon define them and as
statsmodels computes them, take one more pass over the rows: :class:`SandwichStats`
folds, per target, the weighted Gram of z with weights (w e)² a(h), a(h) = 1 (HC0,
HC1), 1 / (1 - h) (HC2) or 1 / (1 - h)² (HC3), where the leverage h of each row is
computed in the same pass from the factored Gram (:func:`fastlin.diagnostics.hat_factor`).
That pass also gives the residual sum of squares exactly, from the rows, which the Gram
statistics give only to within their rounding relative to the total sum of squares.

Binary logistic inference uses the Hessian at the optimum, Σ w p (1 - p) z zᵀ (plus the
penalty I / C on the slopes), folded in one pass by :class:`LogitHessianStats`.

The names follow statsmodels (``params``, ``bse``, ``tvalues``, ``pvalues``,
``conf_int``, ``rsquared``, ``fvalue``, ``llf``, ``aic``, ...). With several targets every
per-target quantity has the target as its last axis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg as sla
from scipy import stats as sps

from .._validation import as_2d_array, as_targets, check_finite, check_sample_weight
from .accumulator import (Accumulator, dataclass_arrays, dataclass_from_arrays, prefixed,
                          unprefixed)
from ..kernels import losses as _losses
from .stats import GramStats
from .._threads import n_threads, row_ranges

if TYPE_CHECKING:
    from ..diagnostics import HatFactor

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")

BLOCK_ROWS = 8192
"""Rows per block of the inference passes: centred float64 copies are this many rows."""

SSR_DIGITS = 1e-8
"""A residual sum of squares from the Gram statistics is trusted when its rounding,
relative to itself, is at most this; below, inference says that a pass over the rows
(``inference(X, y)``) gives it exactly."""


# -- results ---------------------------------------------------------------------------------


class RegressionInference:
    """Inference for a fitted least-squares model, with statsmodels' names.

    Shapes: k = n_features + 1 parameters with an intercept (first, named ``const``),
    n_features without; per-target arrays have shape (k,) for a 1-D target and (k, t)
    for t targets; scalars per target are floats or arrays of shape (t,).

    Attributes
    ----------
    params, bse, tvalues, pvalues : ndarray
    names : list of str
    nobs : float
        Rows (rows with zero weight included, as statsmodels counts them).
    df_model, df_resid : float
    rank : int
        Numerical rank of the design, intercept included.
    identified : ndarray of bool, shape (k,)
        False for coefficients the data do not determine (constant columns, members of
        exact linear dependencies): their estimate is the minimum-norm choice.
    ssr, scale, centered_tss, uncentered_tss, ess, rsquared, rsquared_adj, fvalue,
    f_pvalue, llf, aic, bic : float or ndarray of shape (t,)
    cov_type : str
    use_t : bool
        t and F distributions (default for "nonrobust"), else normal and chi².
    ssr_exact : bool
        True when the residual sum of squares came from a pass over the rows.
    """

    def __init__(self, *, names: Sequence[str], params: np.ndarray, cov: np.ndarray,
                 ssr: np.ndarray, centered_tss: np.ndarray, uncentered_tss: np.ndarray,
                 nobs: float, sum_log_w: float, rank: int, k_constant: int, cov_type: str,
                 use_t: bool, y_1d: bool, identified: np.ndarray, ssr_exact: bool,
                 model_name: str = "OLS"):
        self.names = list(names)
        self._params = params            # (k, t)
        self._cov = cov                  # (t, k, k)
        self._ssr = ssr
        self._centered_tss = centered_tss
        self._uncentered_tss = uncentered_tss
        self.nobs = float(nobs)
        self._sum_log_w = float(sum_log_w)
        self.rank = int(rank)
        self.k_constant = int(k_constant)
        self.cov_type = cov_type
        self.use_t = bool(use_t)
        self._y_1d = bool(y_1d)
        self.identified = identified
        self.ssr_exact = bool(ssr_exact)
        self.model_name = model_name
        self.df_model = float(self.rank - self.k_constant)
        self.df_resid = float(self.nobs - self.rank)

    # Per-target arrays are held as (k, t) / (t,); these give the user's shapes.
    def _out(self, a):
        return a[..., 0] if self._y_1d else a

    def _scalar(self, a):
        a = np.asarray(a, dtype=np.float64)
        return float(a[0]) if self._y_1d else a

    @property
    def params(self) -> np.ndarray:
        return self._out(self._params)

    def cov_params(self) -> np.ndarray:
        """Covariance of the parameters: (k, k), or (t, k, k) for several targets."""
        return self._cov[0] if self._y_1d else self._cov

    @property
    def bse(self) -> np.ndarray:
        var = np.diagonal(self._cov, axis1=1, axis2=2).T
        return self._out(np.sqrt(np.maximum(var, 0.0)))

    @property
    def tvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self._params / np.sqrt(np.maximum(np.diagonal(self._cov, axis1=1, axis2=2).T,
                                                  0.0))
        t[~self.identified] = np.nan
        return self._out(t)

    @property
    def pvalues(self) -> np.ndarray:
        t = np.abs(np.atleast_1d(self.tvalues))
        p = 2 * (sps.t.sf(t, self.df_resid) if self.use_t else sps.norm.sf(t))
        return p

    def _critical(self, alpha):
        q = 1 - alpha / 2
        return sps.t.ppf(q, self.df_resid) if self.use_t else sps.norm.ppf(q)

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Confidence intervals: (k, 2) [lower, upper], or (k, 2, t) for several targets."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        c = self._critical(alpha)
        p = self._params
        se = np.sqrt(np.maximum(np.diagonal(self._cov, axis1=1, axis2=2).T, 0.0))
        out = np.stack([p - c * se, p + c * se], axis=1)  # (k, 2, t)
        out[~self.identified] = np.nan
        return out[..., 0] if self._y_1d else out

    @property
    def ssr(self) -> float | np.ndarray:
        return self._scalar(self._ssr)

    @property
    def scale(self) -> float | np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._scalar(self._ssr / self.df_resid)

    @property
    def mse_resid(self) -> float | np.ndarray:
        return self.scale

    @property
    def centered_tss(self) -> float | np.ndarray:
        return self._scalar(self._centered_tss)

    @property
    def uncentered_tss(self) -> float | np.ndarray:
        return self._scalar(self._uncentered_tss)

    def _tss(self):
        return self._centered_tss if self.k_constant else self._uncentered_tss

    @property
    def ess(self) -> float | np.ndarray:
        return self._scalar(self._tss() - self._ssr)

    @property
    def rsquared(self) -> float | np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._scalar(1 - self._ssr / self._tss())

    @property
    def rsquared_adj(self) -> float | np.ndarray:
        r2 = np.atleast_1d(self.rsquared)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._scalar(1 - (self.nobs - self.k_constant) / self.df_resid * (1 - r2))

    @property
    def mse_model(self) -> float | np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._scalar((self._tss() - self._ssr) / self.df_model)

    @property
    def fvalue(self) -> float | np.ndarray:
        """F statistic of all slopes being zero (a Wald test with the robust covariance
        for robust ``cov_type``, as statsmodels does)."""
        return self._scalar(self._f_test()[0])

    @property
    def f_pvalue(self) -> float | np.ndarray:
        return self._scalar(self._f_test()[1])

    def _f_test(self):
        t = self._params.shape[1]
        if self.df_model <= 0:
            return np.full(t, np.nan), np.full(t, np.nan)
        if self.cov_type == "nonrobust":
            with np.errstate(divide="ignore", invalid="ignore"):
                f = ((self._tss() - self._ssr) / self.df_model) / (self._ssr / self.df_resid)
        else:
            slopes = np.arange(self.k_constant, self._params.shape[0])
            slopes = slopes[self.identified[slopes]]
            f = np.empty(t)
            for j in range(t):
                b = self._params[slopes, j]
                V = self._cov[j][np.ix_(slopes, slopes)]
                f[j] = b @ np.linalg.lstsq(V, b, rcond=None)[0] / self.df_model
        return f, sps.f.sf(f, self.df_model, self.df_resid)

    @property
    def llf(self) -> float | np.ndarray:
        """Gaussian log-likelihood at the estimate (with Σ log w for weights)."""
        n2 = self.nobs / 2.0
        with np.errstate(divide="ignore"):
            llf = -np.log(self._ssr) * n2 - (1 + np.log(np.pi / n2)) * n2 + 0.5 * self._sum_log_w
        return self._scalar(llf)

    @property
    def aic(self) -> float | np.ndarray:
        return self._scalar(-2 * np.atleast_1d(self.llf) + 2 * (self.df_model + self.k_constant))

    @property
    def bic(self) -> float | np.ndarray:
        return self._scalar(-2 * np.atleast_1d(self.llf)
                            + np.log(self.nobs) * (self.df_model + self.k_constant))

    def summary(self, alpha: float = 0.05, target_names: Sequence[str] | None = None) -> str:
        """A text table in statsmodels' layout: one block per target."""
        t = self._params.shape[1]
        targets = list(target_names) if target_names is not None else (
            ["y"] if self._y_1d else [f"y{j}" for j in range(t)])
        if len(targets) != t:
            raise ValueError(f"target_names has {len(targets)} names for {t} targets")
        blocks = []
        pick = (lambda a, j: float(np.atleast_1d(a)[j]))
        for j in range(t):
            left = [("Dep. Variable:", targets[j]), ("Model:", self.model_name),
                    ("No. Observations:", f"{self.nobs:.0f}"),
                    ("Df Residuals:", f"{self.df_resid:.0f}"),
                    ("Df Model:", f"{self.df_model:.0f}"), ("Covariance Type:", self.cov_type)]
            right = [("R-squared:", f"{pick(self.rsquared, j):.4f}"),
                     ("Adj. R-squared:", f"{pick(self.rsquared_adj, j):.4f}"),
                     ("F-statistic:", f"{pick(self.fvalue, j):.4g}"),
                     ("Prob (F-statistic):", f"{pick(self.f_pvalue, j):.3g}"),
                     ("Log-Likelihood:", f"{pick(self.llf, j):.5g}"),
                     ("AIC:", f"{pick(self.aic, j):.4g}"), ("BIC:", f"{pick(self.bic, j):.4g}")]
            blocks.append(_table(f"{self.model_name} Regression Results", left, right,
                                 self.names, self._params[:, j],
                                 np.atleast_2d(self.bse.T if not self._y_1d else self.bse)[
                                     0 if self._y_1d else j],
                                 np.atleast_2d(self.tvalues.T if not self._y_1d
                                               else self.tvalues)[0 if self._y_1d else j],
                                 np.atleast_2d(self.pvalues.T if not self._y_1d
                                               else self.pvalues)[0 if self._y_1d else j],
                                 self._ci(alpha, j), alpha, "t" if self.use_t else "z",
                                 self._notes()))
        return "\n\n".join(blocks)

    def _ci(self, alpha, j):
        ci = self.conf_int(alpha)
        return ci if self._y_1d else ci[:, :, j]

    def _notes(self):
        notes = []
        k = len(self.names)
        if self.rank < k:
            names = [self.names[i] for i in np.flatnonzero(~self.identified)]
            shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10
                                              else "")
            notes.append(f"The design is rank deficient: rank {self.rank} of {k} parameters. "
                         f"Not identified (minimum-norm estimate, no test): {shown or 'none'}.")
        if not self.ssr_exact:
            notes.append("Residual sum of squares from the Gram statistics.")
        if self.cov_type != "nonrobust":
            notes.append(f"Standard errors are heteroscedasticity robust ({self.cov_type}).")
        return notes

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return (f"<RegressionInference: {len(self.names)} parameters, "
                f"{self._params.shape[1]} target(s), nobs {self.nobs:.0f}, "
                f"cov_type {self.cov_type}>")


class LogitInference:
    """Inference for a fitted binary logistic regression (statsmodels ``Logit`` names).

    Attributes
    ----------
    params, bse, tvalues, pvalues : ndarray of shape (k,)
        ``tvalues`` are z statistics; p values and intervals use the normal distribution.
    names : list of str
    nobs, df_model, df_resid : float
    llf, llnull, prsquared, llr, llr_pvalue, aic, bic : float
    penalised : bool
        True when the fit had a finite C: the covariance is then the inverse of the
        penalised Hessian, not classical maximum-likelihood inference.
    """

    def __init__(self, *, names: Sequence[str], params: np.ndarray, cov: np.ndarray,
                 nobs: float, llf: float, llnull: float, penalised: bool,
                 identified: np.ndarray):
        self.names = list(names)
        self.params = params
        self._cov = cov
        self.nobs = float(nobs)
        self.llf = float(llf)
        self.llnull = float(llnull)
        self.penalised = bool(penalised)
        self.identified = identified
        self.k_constant = int(names[0] == "const")
        self.df_model = float(int(identified.sum()) - self.k_constant)
        self.df_resid = float(self.nobs - int(identified.sum()))

    def cov_params(self) -> np.ndarray:
        return self._cov

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self._cov), 0.0))

    @property
    def tvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.params / self.bse
        z[~self.identified] = np.nan
        return z

    @property
    def pvalues(self) -> np.ndarray:
        return 2 * sps.norm.sf(np.abs(self.tvalues))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        c = sps.norm.ppf(1 - alpha / 2)
        out = np.stack([self.params - c * self.bse, self.params + c * self.bse], axis=1)
        out[~self.identified] = np.nan
        return out

    @property
    def prsquared(self) -> float:
        return 1 - self.llf / self.llnull

    @property
    def llr(self) -> float:
        return -2 * (self.llnull - self.llf)

    @property
    def llr_pvalue(self) -> float:
        return float(sps.chi2.sf(self.llr, self.df_model))

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * (self.df_model + self.k_constant)

    @property
    def bic(self) -> float:
        return -2 * self.llf + np.log(self.nobs) * (self.df_model + self.k_constant)

    def summary(self, alpha: float = 0.05, target_name: str = "y") -> str:
        left = [("Dep. Variable:", target_name), ("Model:", "Logit"),
                ("No. Observations:", f"{self.nobs:.0f}"), ("Df Residuals:", f"{self.df_resid:.0f}"),
                ("Df Model:", f"{self.df_model:.0f}")]
        right = [("Pseudo R-squ.:", f"{self.prsquared:.4f}"),
                 ("Log-Likelihood:", f"{self.llf:.5g}"), ("LL-Null:", f"{self.llnull:.5g}"),
                 ("LLR p-value:", f"{self.llr_pvalue:.3g}")]
        notes = ["Covariance of the penalised fit (finite C)."] if self.penalised else []
        return _table("Logit Regression Results", left, right, self.names, self.params,
                      self.bse, self.tvalues, self.pvalues, self.conf_int(alpha), alpha, "z",
                      notes)

    def __str__(self):
        return self.summary()


def _table(title, left, right, names, params, bse, tvals, pvals, ci, alpha, stat, notes):
    width = 78
    lines = [title.center(width), "=" * width]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", "")
        b = right[i] if i < len(right) else ("", "")
        lines.append(f"{a[0]:<20}{a[1]:>18}  {b[0]:<22}{b[1]:>16}")
    lines.append("=" * width)
    lo, hi = f"[{alpha / 2:.3g}", f"{1 - alpha / 2:.3g}]"
    name_w = max(12, max(len(n) for n in names) + 1)
    lines.append(f"{'':<{name_w}}{'coef':>11}{'std err':>11}{stat:>9}{f'P>|{stat}|':>9}"
                 f"{lo:>12}{hi:>12}")
    lines.append("-" * width)
    for i, n in enumerate(names):
        lines.append(f"{n:<{name_w}}{params[i]:>11.4g}{bse[i]:>11.3g}{tvals[i]:>9.3f}"
                     f"{pvals[i]:>9.3f}{ci[i, 0]:>12.4g}{ci[i, 1]:>12.4g}")
    lines.append("=" * width)
    lines.extend(f"Note: {n}" for n in notes)
    return "\n".join(lines)


# -- the bread: centred Gram and its (pseudo-)inverse ---------------------------------------


def _pinv_psd(H, active, rank=None):
    """``(H⁺ (d, d), identified (d,) bool, rank)`` for a symmetric PSD ``H``, restricted to
    the coordinates ``active`` (the others get zero rows and columns).

    With ``rank`` (the numerical rank a fit found) equal to the active size, or without
    ``rank`` when the standardised block is well conditioned: the inverse through
    Cholesky of the standardised block. Otherwise the pseudo-inverse over the ``rank``
    largest eigenvalues (or those above the rounding level) in the units of ``H``, the
    metric of the minimum-norm solution. A coordinate is identified when its unit vector
    lies in the kept space.
    """
    d = H.shape[0]
    P = np.zeros((d, d))
    identified = np.zeros(d, dtype=bool)
    if active.size == 0:
        return P, identified, 0
    block = np.ix_(active, active)
    A = H[block]
    if rank is None or rank >= active.size:
        s = 1.0 / np.sqrt(np.diag(A))
        S = A * s[:, None] * s[None, :]
        try:
            L = sla.cholesky(S, lower=True, check_finite=False)
            ok = rank is not None or sla.lapack.dpocon(
                L, float(np.abs(S).sum(axis=0).max()), uplo="L")[0] > 1e-12
        except np.linalg.LinAlgError:
            ok = False
        if ok:
            inv = sla.cho_solve((L, True), np.eye(active.size), check_finite=False)
            P[block] = inv * s[:, None] * s[None, :]
            identified[active] = True
            return P, identified, active.size
    lam, V = np.linalg.eigh(A)
    if rank is None:
        keep = np.flatnonzero(lam > lam.max() * 1e-12 * active.size)
    else:
        keep = np.argsort(lam)[::-1][:rank]
    Vk = V[:, keep]
    P[block] = (Vk / lam[keep]) @ Vk.T
    identified[active] = (1.0 - np.einsum("ij,ij->i", Vk, Vk)) <= 1e-8
    return P, identified, int(keep.size)


def _to_params(cov_c, x_mean, fit_intercept):
    """Map covariances about the mean, (t, k, k) over (a, β), to (b, β) with b = a - x̄ᵀβ."""
    if not fit_intercept:
        return cov_c
    d = x_mean.size
    J = np.eye(d + 1)
    J[0, 1:] = -x_mean
    return J @ cov_c @ J.T


def _bread(P, sum_w, fit_intercept):
    if not fit_intercept:
        return P
    d = P.shape[0]
    B = np.zeros((d + 1, d + 1))
    B[0, 0] = 1.0 / sum_w
    B[1:, 1:] = P
    return B


# -- the robust pass ------------------------------------------------------------------------


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

    def __init__(self, coef: ArrayLike, level: ArrayLike, factor: HatFactor,
                 x_mean: tuple[ArrayLike, ArrayLike],
                 cov_type: Literal["nonrobust", "HC0", "HC1", "HC2", "HC3"] = "HC0"):
        if cov_type not in COV_TYPES:
            raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)
        self.level = np.ascontiguousarray(level, dtype=np.float64)
        self.x_shift, self.x_rest = (np.ascontiguousarray(a, dtype=np.float64)
                                     for a in x_mean)
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

    def update(self, X: ArrayLike, y: ArrayLike | None = None,
               sample_weight: ArrayLike | None = None) -> Self:
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
            raise ValueError(f"y has {Y.shape[1]} target column(s), the model has "
                             f"{self.n_targets}")
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
                        "use HC0 or HC1")
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
        new.meat = [GramStats.from_arrays(unprefixed(f"meat{j}", arrays))
                    for j in range(len(new.meat))]
        return new

    def _settings(self) -> dict[str, ArrayLike]:
        return {"coef": self.coef, "level": self.level, "x_shift": self.x_shift,
                "x_rest": self.x_rest, "cov_type": np.str_(self.cov_type),
                **prefixed("factor", dataclass_arrays(self.factor))}

    @classmethod
    def _from_settings(cls, arrays: Mapping[str, ArrayLike]) -> Self:
        from ..diagnostics import HatFactor

        factor = dataclass_from_arrays(HatFactor, unprefixed("factor", arrays))
        return cls(arrays["coef"], arrays["level"], factor,
                   (arrays["x_shift"], arrays["x_rest"]), str(arrays["cov_type"]))

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


def regression_inference(stats, coef, intercept, *, fit_intercept, rank, y_1d, names=None,
                         cov_type="nonrobust", fold=None, use_t=None):
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
        raise ValueError(f"cov_type={cov_type!r} needs the rows again: pass X and y "
                         "(or a chunk source) to inference")
    stats._require_data()
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(np.atleast_1d(np.asarray(intercept, dtype=np.float64)),
                                (coef.shape[0],))
    t, d = coef.shape
    if (d, t) != (stats.n_features, stats.n_targets):
        raise ValueError(f"coefficients of shape {coef.shape} do not match statistics of "
                         f"{stats.n_features} features and {stats.n_targets} targets")
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
        if state.n_rows != stats.n_rows or not np.isclose(state.sum_w, stats.sum_w,
                                                           rtol=1e-10, atol=0):
            raise ValueError(
                f"the rows given to inference ({state.n_rows} rows, weight "
                f"{state.sum_w:.6g}) are not those the model was fitted on "
                f"({stats.n_rows} rows, weight {stats.sum_w:.6g})")
        meat, ssr = state.finalize()
        ssr_exact = True
    elif np.any(rounding > SSR_DIGITS * np.maximum(ssr, np.finfo(np.float64).tiny)):
        from .._warnings import warn

        warn("the residual sum of squares from the Gram statistics may have lost digits "
             "(the fit explains almost all of the variance); inference(X, y) computes it "
             "from the rows", UserWarning)
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
        names=(["const"] if fit_intercept else []) + names, params=params, cov=cov, ssr=ssr,
        centered_tss=tss_c, uncentered_tss=tss_u, nobs=nobs, sum_log_w=stats.sum_log_w,
        rank=full_rank, k_constant=k_const, cov_type=cov_type, use_t=use_t, y_1d=y_1d,
        identified=identified, ssr_exact=ssr_exact,
        model_name="WLS" if stats.sum_log_w != 0.0 or stats.sum_w != stats.n_rows else "OLS")


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
            raise ValueError(f"y must be 1-D with one label per row of X ({m}), got shape "
                             f"{labels.shape}")
        pos = labels == self.classes[1]
        bad = ~(pos | (labels == self.classes[0]))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"y[{i}] = {labels[i]!r} is not one of the model's classes "
                             f"{self.classes.tolist()}")
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
            _losses.logits(Xb, self.coef, self.intercept, self.x_scale, bounds,
                           np.empty(a_shape), np.empty(z_shape), z)
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
        return {"coef": self.coef, "intercept": self.intercept, "classes": self.classes,
                "x_scale": np.float64(self.x_scale)}

    @classmethod
    def _from_settings(cls, arrays):
        return cls(arrays["coef"], float(np.asarray(arrays["intercept"])[0]), arrays["classes"],
                   float(arrays["x_scale"]))

    def finalize(self, C=np.inf, fit_intercept=True, names=None):
        """LogitInference at these coefficients; ``C`` the fit's inverse penalty."""
        if self.n_rows == 0:
            raise ValueError("no rows have been folded in")
        d = self.coef.shape[1]
        s = self.x_scale
        g = self.hessian
        if g.sum_w <= 0:
            raise ValueError("the Hessian is zero: every probability is 0 or 1 (separable "
                             "data), so the standard errors are unbounded")
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
            llnull = self.sum_w * (p_bar * np.log(p_bar) + (1 - p_bar) * np.log1p(-p_bar)) \
                if 0 < p_bar < 1 else 0.0
        params = np.concatenate([self.intercept, self.coef[0]]) if fit_intercept \
            else self.coef[0].copy()
        identified = np.concatenate([[True] * int(fit_intercept), ident]).astype(bool)
        return LogitInference(names=(["const"] if fit_intercept else []) + names,
                              params=params, cov=cov, nobs=self.n_rows, llf=self.loglik,
                              llnull=llnull, penalised=np.isfinite(C), identified=identified)
