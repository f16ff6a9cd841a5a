"""The projection check and the linear probe of a representation."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_real_scalar
from ..core.accumulator import Mapped
from ..core.moments import CoMoments
from ._common import _fold, _model_alpha, _model_arrays, _source, _targets_2d, _weights

if TYPE_CHECKING:
    from .._typing import Seed, SourceOrArray, TargetTransform


@dataclasses.dataclass
class ProjectionCheck:
    """How far the residuals are from orthogonal to the (centred) columns of X.

    For least squares Xcᵀ W R = 0; for ridge Xcᵀ W R = alpha β. ``relative`` is
    |Xcᵀ W R - alpha β| per column and target, divided by |x_c,j| |r_k| (a cosine; 0 for
    constant columns), ``max_relative`` its largest entry, ``frobenius_relative``
    |G|_F / (|Xc|_F |R|_F). ``intercept_relative`` is |Σ w r| / (sqrt(W) |r|) (with an
    intercept it should be 0 too).
    """

    max_relative: float
    frobenius_relative: float
    intercept_relative: float
    relative: np.ndarray
    tol: float

    @property
    def passed(self):
        return bool(
            self.max_relative <= self.tol
            and (not np.isfinite(self.intercept_relative) or self.intercept_relative <= self.tol)
        )


def projection_check(
    model: Any,
    X: SourceOrArray,
    y: ArrayLike | None = None,
    *,
    sample_weight: ArrayLike | None = None,
    chunk_rows: int | None = None,
    target_transform: TargetTransform | None = None,
    tol: float = 1e-8,
) -> ProjectionCheck:
    """Check XᵀR ≈ 0 (ridge: Xcᵀ W R = alpha β) for the residuals of a linear model.

    Parameters
    ----------
    model : fitted linear model (``coef_``, ``intercept_``, optional ``alpha`` and
        ``fit_intercept``)
    X, y : data (arrays or a ChunkSource)
    tol : float
        ``passed`` when every relative value is at most ``tol``.

    Returns
    -------
    ProjectionCheck
    """
    source = _source(X, y)
    if not source.has_targets:
        raise ValueError("the projection check needs targets y")
    w_all = _weights(sample_weight, source.n_rows)
    coef, intercept, _ = _model_arrays(model)

    def residuals(Xc, y):
        return Xc, _targets_2d(y) - np.asarray(Xc, dtype=np.float64) @ coef.T - intercept

    # Centred co-moments of the columns with the residuals: Σ w (x - x̄) r is what
    # least squares makes zero with an intercept, formed without cancelling offsets.
    m = _fold(source, Mapped(CoMoments(), residuals), chunk_rows, w_all, target_transform).state
    W = m.sum_w
    rs = W * m.y_mean
    rr = m.y_m2 + W * m.y_mean**2
    fit_intercept = bool(getattr(model, "fit_intercept", True))
    if fit_intercept:
        G = m.xy_m2.copy()
        xnorm2 = m.x_m2
    else:
        G = m.xy_m2 + W * np.outer(m.x_mean, m.y_mean)
        xnorm2 = m.x_m2 + W * m.x_mean**2
    G -= _model_alpha(model) * coef.T
    xn = np.sqrt(xnorm2)
    rn = np.sqrt(rr)
    denom = xn[:, None] * rn[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(denom > 0, np.abs(G) / np.where(denom > 0, denom, 1.0), 0.0)
        fro_den = float(np.sqrt(xnorm2.sum()) * np.sqrt(rr.sum()))
        fro = float(np.linalg.norm(G) / fro_den) if fro_den > 0 else 0.0
        ir = float(np.abs(rs).max() / np.sqrt(W * rr.max())) if rr.max() > 0 else 0.0
    if not fit_intercept:
        ir = float("nan")
    return ProjectionCheck(float(rel.max()) if rel.size else 0.0, fro, ir, rel, float(tol))


# -- linear probe --------------------------------------------------------------------------


@dataclasses.dataclass
class ProbeResult:
    """What :func:`linear_probe` returns.

    Attributes
    ----------
    accuracy : float
        Held-out accuracy of the ridge read-out.
    train_accuracy : float
    n_train, n_val : int
    classes : ndarray
    alpha : float
    model : fastlin.Ridge
        The read-out (one output per class; predict by argmax).
    """

    accuracy: float
    train_accuracy: float
    n_train: int
    n_val: int
    classes: np.ndarray
    alpha: float
    model: object

    def __str__(self):
        return (
            f"linear probe: held-out accuracy {100 * self.accuracy:.2f} % on {self.n_val} "
            f"rows (train {100 * self.train_accuracy:.2f} % on {self.n_train}, "
            f"{self.classes.size} classes, alpha={self.alpha:g})"
        )


def linear_probe(
    H: ArrayLike,
    labels: ArrayLike,
    H_val: ArrayLike | None = None,
    labels_val: ArrayLike | None = None,
    *,
    alpha: float = 1.0,
    val_fraction: float = 0.2,
    random_state: Seed = 0,
) -> ProbeResult:
    """Fit a ridge read-out (one-hot least squares) on features and score it held out.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Features (e.g. activations of a network layer).
    labels : array-like of shape (n,)
        Class labels (any values; classes are the sorted unique labels).
    H_val, labels_val : optional
        Held-out rows; when not given, ``val_fraction`` of the rows (random, seeded by
        ``random_state``) are held out.
    alpha : float >= 0
    val_fraction : float in (0, 1)

    Returns
    -------
    ProbeResult
    """
    from .._validation import as_2d_array
    from ..estimators.linear_model import Ridge
    from .._warnings import collected
    from ..core.solve import RankDeficientWarning

    alpha = check_real_scalar(alpha, "alpha", 0.0)
    H = as_2d_array(H, "H")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != H.shape[0]:
        raise ValueError(
            f"labels must be 1-D with one label per row of H ({H.shape[0]}), "
            f"got shape {labels.shape}"
        )
    if (H_val is None) != (labels_val is None):
        raise ValueError("give both H_val and labels_val, or neither")
    if H_val is None:
        v = check_real_scalar(val_fraction, "val_fraction", 0.0, low_inclusive=False)
        if v >= 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        rng = np.random.default_rng(random_state)
        mask = rng.random(H.shape[0]) < v
        if mask.all() or not mask.any():
            raise ValueError(f"val_fraction={val_fraction} leaves no training or no held-out rows")
        H_tr, y_tr, H_val, labels_val = H[~mask], labels[~mask], H[mask], labels[mask]
    else:
        H_val = as_2d_array(H_val, "H_val")
        labels_val = np.asarray(labels_val)
        if H_val.shape[1] != H.shape[1]:
            raise ValueError(f"H_val has {H_val.shape[1]} features, H has {H.shape[1]}")
        if labels_val.shape != (H_val.shape[0],):
            raise ValueError("labels_val must be 1-D with one label per row of H_val")
        H_tr, y_tr = H, labels
    classes, idx = np.unique(y_tr, return_inverse=True)
    Y = np.zeros((idx.size, classes.size))
    Y[np.arange(idx.size), idx] = 1.0
    with collected(RankDeficientWarning):  # a probe's rank says nothing about the model
        model = Ridge(alpha=alpha).fit(H_tr, Y)

    def acc(Hx, yx):
        pred = classes[np.argmax(np.atleast_2d(model.predict(Hx)).reshape(len(yx), -1), axis=1)]
        return float(np.mean(pred == yx)) if len(yx) else float("nan")

    return ProbeResult(
        acc(H_val, labels_val),
        acc(H_tr, y_tr),
        int(H_tr.shape[0]),
        int(H_val.shape[0]),
        classes,
        alpha,
        model,
    )
