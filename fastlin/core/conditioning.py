"""How well posed is a least-squares problem? Condition numbers, rank, dependencies.

Follows Belsley, Kuh and Welsch: the design (with a column of ones for the intercept,
which lives only in this d+1 x d+1 matrix, never in the data) has its columns scaled to
unit length, and its singular values give condition indexes η_k = s_max / s_k. A
dependency is an index above 30 with two or more columns whose variance-decomposition
proportion on it exceeds 0.5: those columns are (near) linear combinations of each other.

Everything comes from :class:`~fastlin.core.stats.GramStats` (eigenvalues of the scaled Gram
are the squared singular values), so it costs no pass over the data. Eigenvalues of a
Gram matrix carry absolute error of about eps times the largest: condition numbers of the
design beyond about 1e8 cannot be resolved from it and are reported as lower bounds;
a :class:`~fastlin.core.tsqr.QRStats` of the same rows resolves them (``qr_stats=``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .stats import GramStats
    from .tsqr import QRStats

RESOLVABLE = 1.0 / np.sqrt(np.finfo(np.float64).eps) / 16  # ~4e6 .. 1e8: beyond, lower bound
DEPENDENCY_INDEX = 30.0
PROPORTION = 0.5


@dataclasses.dataclass
class ConditionReport:
    """Conditioning of a design, from its statistics.

    Attributes
    ----------
    cond_raw : float
        Condition number of the design as given (with the ones column when fitting an
        intercept): sqrt(λmax / λmin) of its Gram.
    cond_scaled : float
        The same after scaling each column to unit length (Belsley's measure).
    cond_centred : float
        Condition number of the centred, unit-variance design (the system the solvers
        factorise).
    lower_bound : bool
        True when a condition number exceeds what the Gram resolves (~1e8): the true
        value is at least the one reported.
    rank : int
        Numerical rank of the centred design.
    n_features : int
    constant_columns : list of str
        Columns with zero centred variance.
    dependencies : list of dict
        ``{"condition_index": η, "columns": [...], "proportions": [...]}`` per
        near-dependency, largest index first.
    digits_lost : float
        log10 of the centred design's condition number squared: the digits the normal
        equations lose (QR loses half as many).
    """

    cond_raw: float
    cond_scaled: float
    cond_centred: float
    lower_bound: bool
    rank: int
    n_features: int
    constant_columns: list
    dependencies: list
    digits_lost: float

    @property
    def ill_conditioned(self):
        """True when the normal equations would keep fewer than 8 significant digits."""
        return self.digits_lost > 8 or self.rank < self.n_features - len(self.constant_columns)

    def to_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        ge = "≥ " if self.lower_bound else ""
        lines = [
            f"condition number, raw design        {ge}{self.cond_raw:.4g}",
            f"condition number, scaled (Belsley)  {ge}{self.cond_scaled:.4g}",
            f"condition number, centred/scaled    {ge}{self.cond_centred:.4g}",
            f"digits lost by normal equations     {self.digits_lost:.1f}",
            f"numerical rank                      {self.rank} of {self.n_features}",
            f"constant columns                    {', '.join(self.constant_columns) or 'none'}",
        ]
        for dep in self.dependencies:
            cols = ", ".join(f"{c} ({p:.2f})" for c, p in zip(dep["columns"], dep["proportions"]))
            lines.append(f"near-dependency (index {dep['condition_index']:.3g})  {cols}")
        if not self.dependencies:
            lines.append(
                "near-dependencies                   none (no condition index > 30 "
                "shared by two columns)"
            )
        return "\n".join(lines)


def condition_report(
    stats: GramStats,
    fit_intercept: bool = True,
    feature_names: Sequence[str] | None = None,
    qr_stats: QRStats | None = None,
) -> ConditionReport:
    """Condition numbers, rank, constant columns and near-dependencies of a design.

    Parameters
    ----------
    stats : GramStats
    fit_intercept : bool, default=True
        Include the intercept (ones) column in the raw and scaled measures.
    feature_names : sequence of str, optional
        Default ``x0, x1, ...``.
    qr_stats : QRStats, optional
        The same rows' TSQR factor: resolves the centred condition number and rank beyond
        what the Gram can.

    Returns
    -------
    ConditionReport
    """
    d = stats.n_features
    names = (
        [f"x{j}" for j in range(d)] if feature_names is None else [str(n) for n in feature_names]
    )
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names for {d} features")
    G = stats.xtx
    if fit_intercept:
        G = np.block([[np.array([[stats.sum_w]]), stats.x_sum[None, :]], [stats.x_sum[:, None], G]])
        all_names = ["(intercept)"] + names
    else:
        all_names = names
    cond_raw, lb_raw = _cond_from_gram(G)
    norms = np.sqrt(np.diag(G))
    nz = norms > 0
    scale = np.where(nz, 1.0 / np.where(nz, norms, 1.0), 0.0)
    Gs = G * scale[:, None] * scale[None, :]
    evals, evecs = np.linalg.eigh(Gs[np.ix_(nz, nz)])
    cond_scaled, lb_scaled = _cond_from_evals(evals)
    dependencies = _dependencies(evals, evecs, [n for n, k in zip(all_names, nz) if k])

    C, _, _, _ = stats.centred(fit_intercept)
    diag = np.diag(C)
    scale = stats.shifted_diag if fit_intercept else stats.xtx_diag
    constant = (diag <= 64 * np.finfo(np.float64).eps * scale) | (diag <= 0)
    active = ~constant
    sd = np.sqrt(diag[active])
    Cs = C[np.ix_(active, active)] / sd[:, None] / sd[None, :]
    cev = np.linalg.eigvalsh(Cs) if active.any() else np.ones(1)
    cond_centred, lb_centred = _cond_from_evals(cev)
    tol = max(float(cev[-1]), 0.0) * Cs.shape[0] * np.finfo(np.float64).eps * 8
    rank = int(np.count_nonzero(cev > tol))
    if qr_stats is not None:
        R, _, _ = qr_stats.factor(0.0, fit_intercept)
        colnorm = np.linalg.norm(R, axis=0)
        keep = colnorm > 0
        s = np.linalg.svd(R[:, keep] / colnorm[keep], compute_uv=False)
        cond_centred = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
        lb_centred = False
        rank = int(np.count_nonzero(s > s[0] * np.finfo(np.float64).eps * max(stats.n_rows, d)))
    return ConditionReport(
        cond_raw=cond_raw,
        cond_scaled=cond_scaled,
        cond_centred=cond_centred,
        lower_bound=bool(lb_raw or lb_scaled or lb_centred),
        rank=rank,
        n_features=d,
        constant_columns=[names[j] for j in np.flatnonzero(constant)],
        dependencies=dependencies,
        digits_lost=float(2 * np.log10(max(cond_centred, 1.0))),
    )


def _cond_from_gram(G):
    return _cond_from_evals(np.linalg.eigvalsh(G))


def _cond_from_evals(evals):
    top = float(evals[-1])
    if top <= 0:
        return float("inf"), False
    floor = top * np.finfo(np.float64).eps * len(evals)
    low = float(evals[0])
    if low <= floor:
        # Below the Gram's resolution: only a lower bound is known.
        return float(np.sqrt(top / floor)), True
    cond = float(np.sqrt(top / low))
    return cond, cond > RESOLVABLE


def _dependencies(evals, evecs, names):
    """Belsley variance-decomposition proportions for condition indexes above 30."""
    top = float(evals[-1])
    floor = top * np.finfo(np.float64).eps * len(evals)
    lam = np.maximum(evals, floor)
    phi = evecs**2 / lam[None, :]  # (columns, components)
    prop = phi / phi.sum(axis=1, keepdims=True)
    index = np.sqrt(top / lam)
    out = []
    for k in np.argsort(-index):
        if index[k] <= DEPENDENCY_INDEX:
            break
        cols = np.flatnonzero(prop[:, k] > PROPORTION)
        if cols.size >= 2:
            order = cols[np.argsort(-prop[cols, k])]
            out.append(
                {
                    "condition_index": float(index[k]),
                    "columns": [names[j] for j in order],
                    "proportions": [float(prop[j, k]) for j in order],
                }
            )
    return out
