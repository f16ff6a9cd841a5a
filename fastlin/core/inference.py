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
statsmodels computes them, take one more pass over the rows: :class:`~fastlin.core.inference_stats.SandwichStats`
folds, per target, the weighted Gram of z with weights (w e)² a(h), a(h) = 1 (HC0,
HC1), 1 / (1 - h) (HC2) or 1 / (1 - h)² (HC3), where the leverage h of each row is
computed in the same pass from the factored Gram (:func:`fastlin.diagnostics.hat_factor`).
That pass also gives the residual sum of squares exactly, from the rows, which the Gram
statistics give only to within their rounding relative to the total sum of squares.

Binary logistic inference uses the Hessian at the optimum, Σ w p (1 - p) z zᵀ (plus the
penalty I / C on the slopes), folded in one pass by :class:`~fastlin.core.inference_stats.LogitHessianStats`.

The names follow statsmodels (``params``, ``bse``, ``tvalues``, ``pvalues``,
``conf_int``, ``rsquared``, ``fvalue``, ``llf``, ``aic``, ...). With several targets every
per-target quantity has the target as its last axis.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg as sla
from scipy import stats as sps

from .._blas_threads import single_thread_blas
from .solve import SINGLE_THREAD_SOLVE_BELOW


if TYPE_CHECKING:
    pass

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

    def __init__(
        self,
        *,
        names: Sequence[str],
        params: np.ndarray,
        cov: np.ndarray,
        ssr: np.ndarray,
        centered_tss: np.ndarray,
        uncentered_tss: np.ndarray,
        nobs: float,
        sum_log_w: float,
        rank: int,
        k_constant: int,
        cov_type: str,
        use_t: bool,
        y_1d: bool,
        identified: np.ndarray,
        ssr_exact: bool,
        model_name: str = "OLS",
    ):
        self.names = list(names)
        self._params = params  # (k, t)
        self._cov = cov  # (t, k, k)
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
            t = self._params / np.sqrt(np.maximum(np.diagonal(self._cov, axis1=1, axis2=2).T, 0.0))
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
        return self._scalar(
            -2 * np.atleast_1d(self.llf) + np.log(self.nobs) * (self.df_model + self.k_constant)
        )

    def summary(self, alpha: float = 0.05, target_names: Sequence[str] | None = None) -> str:
        """A text table in statsmodels' layout: one block per target."""
        t = self._params.shape[1]
        targets = (
            list(target_names)
            if target_names is not None
            else (["y"] if self._y_1d else [f"y{j}" for j in range(t)])
        )
        if len(targets) != t:
            raise ValueError(f"target_names has {len(targets)} names for {t} targets")
        blocks = []
        pick = lambda a, j: float(np.atleast_1d(a)[j])
        for j in range(t):
            left = [
                ("Dep. Variable:", targets[j]),
                ("Model:", self.model_name),
                ("No. Observations:", f"{self.nobs:.0f}"),
                ("Df Residuals:", f"{self.df_resid:.0f}"),
                ("Df Model:", f"{self.df_model:.0f}"),
                ("Covariance Type:", self.cov_type),
            ]
            right = [
                ("R-squared:", f"{pick(self.rsquared, j):.4f}"),
                ("Adj. R-squared:", f"{pick(self.rsquared_adj, j):.4f}"),
                ("F-statistic:", f"{pick(self.fvalue, j):.4g}"),
                ("Prob (F-statistic):", f"{pick(self.f_pvalue, j):.3g}"),
                ("Log-Likelihood:", f"{pick(self.llf, j):.5g}"),
                ("AIC:", f"{pick(self.aic, j):.4g}"),
                ("BIC:", f"{pick(self.bic, j):.4g}"),
            ]
            blocks.append(
                _table(
                    f"{self.model_name} Regression Results",
                    left,
                    right,
                    self.names,
                    self._params[:, j],
                    np.atleast_2d(self.bse.T if not self._y_1d else self.bse)[
                        0 if self._y_1d else j
                    ],
                    np.atleast_2d(self.tvalues.T if not self._y_1d else self.tvalues)[
                        0 if self._y_1d else j
                    ],
                    np.atleast_2d(self.pvalues.T if not self._y_1d else self.pvalues)[
                        0 if self._y_1d else j
                    ],
                    self._ci(alpha, j),
                    alpha,
                    "t" if self.use_t else "z",
                    self._notes(),
                )
            )
        return "\n\n".join(blocks)

    def _ci(self, alpha, j):
        ci = self.conf_int(alpha)
        return ci if self._y_1d else ci[:, :, j]

    def _notes(self):
        notes = []
        k = len(self.names)
        if self.rank < k:
            names = [self.names[i] for i in np.flatnonzero(~self.identified)]
            shown = ", ".join(names[:10]) + (
                f", ... ({len(names)} in all)" if len(names) > 10 else ""
            )
            notes.append(
                f"The design is rank deficient: rank {self.rank} of {k} parameters. "
                f"Not identified (minimum-norm estimate, no test): {shown or 'none'}."
            )
        if not self.ssr_exact:
            notes.append("Residual sum of squares from the Gram statistics.")
        if self.cov_type != "nonrobust":
            notes.append(f"Standard errors are heteroscedasticity robust ({self.cov_type}).")
        return notes

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return (
            f"<RegressionInference: {len(self.names)} parameters, "
            f"{self._params.shape[1]} target(s), nobs {self.nobs:.0f}, "
            f"cov_type {self.cov_type}>"
        )


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

    def __init__(
        self,
        *,
        names: Sequence[str],
        params: np.ndarray,
        cov: np.ndarray,
        nobs: float,
        llf: float,
        llnull: float,
        penalised: bool,
        identified: np.ndarray,
    ):
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
        left = [
            ("Dep. Variable:", target_name),
            ("Model:", "Logit"),
            ("No. Observations:", f"{self.nobs:.0f}"),
            ("Df Residuals:", f"{self.df_resid:.0f}"),
            ("Df Model:", f"{self.df_model:.0f}"),
        ]
        right = [
            ("Pseudo R-squ.:", f"{self.prsquared:.4f}"),
            ("Log-Likelihood:", f"{self.llf:.5g}"),
            ("LL-Null:", f"{self.llnull:.5g}"),
            ("LLR p-value:", f"{self.llr_pvalue:.3g}"),
        ]
        notes = ["Covariance of the penalised fit (finite C)."] if self.penalised else []
        return _table(
            "Logit Regression Results",
            left,
            right,
            self.names,
            self.params,
            self.bse,
            self.tvalues,
            self.pvalues,
            self.conf_int(alpha),
            alpha,
            "z",
            notes,
        )

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
    lines.append(
        f"{'':<{name_w}}{'coef':>11}{'std err':>11}{stat:>9}{f'P>|{stat}|':>9}{lo:>12}{hi:>12}"
    )
    lines.append("-" * width)
    for i, n in enumerate(names):
        lines.append(
            f"{n:<{name_w}}{params[i]:>11.4g}{bse[i]:>11.3g}{tvals[i]:>9.3f}"
            f"{pvals[i]:>9.3f}{ci[i, 0]:>12.4g}{ci[i, 1]:>12.4g}"
        )
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
    # Right after a pass over the rows NumPy's BLAS threads still spin, and SciPy's LAPACK
    # waking its own pool beside them made this up to 10x slower at d = 400 (as for
    # solve_gram): small systems run BLAS on one thread.
    small = active.size < SINGLE_THREAD_SOLVE_BELOW
    with single_thread_blas() if small else contextlib.nullcontext():
        return _pinv_psd_factored(H, active, rank)


def _pinv_psd_factored(H, active, rank):
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
            ok = (
                rank is not None
                or sla.lapack.dpocon(L, float(np.abs(S).sum(axis=0).max()), uplo="L")[0] > 1e-12
            )
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
