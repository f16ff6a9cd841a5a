"""``diagnose``: run the checklist on a fitted model and its data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ._common import _source
from .checklist import Check, DiagnosticReport, _infer_task, _unwrap
from .checks import (
    _check_baseline,
    _check_calibration,
    _check_conditioning,
    _check_regularisation,
    _check_residuals,
    _check_scaling,
    _check_shapes,
    _skipped,
)


if TYPE_CHECKING:
    from .._typing import Seed, SourceOrArray


def diagnose(
    model: Any,
    X: SourceOrArray,
    y: ArrayLike | None = None,
    *,
    X_val: SourceOrArray | None = None,
    y_val: ArrayLike | None = None,
    n_train: int | None = None,
    targets: Literal["auto", "raw", "one-hot", "classifier"] = "auto",
    top_k: int = 10,
    val_fraction: float = 0.2,
    random_state: Seed = 0,
    chunk_rows: int | None = None,
    corr_threshold: float = 0.05,
) -> DiagnosticReport:
    """A checklist of common mistakes and missed structure for a fitted model.

    Parameters
    ----------
    model : fitted estimator
        fastlin LinearRegression / Ridge / LogisticRegression, a scikit-learn estimator,
        a Pipeline (preprocessing steps then the model) or a fitted search object
        (GridSearchCV, RandomizedSearchCV; RidgeCV and LogisticRegressionCV are models).
    X, y : training data (arrays or a ChunkSource carrying its targets)
        The rows the model was fitted on, as far as they are available.
    X_val, y_val : held-out data, optional
        Used for the residual, calibration and baseline checks when given.
    n_train : int, optional
        Rows the model was trained on (default: the model's ``n_samples_seen_``, else the
        rows of X); used by the scaling check.
    targets : {"auto", "raw", "one-hot", "classifier"}
        How y relates to the model's outputs. "auto": classifiers (``classes_``) are
        classifiers; a multi-output regressor with 1-D integer y (or saved with
        ``metadata={"targets": "one-hot"}``) is a one-hot least-squares classifier.
    top_k : int
        Features (largest variance) whose degree-2 terms form the nonlinear baseline.
    val_fraction : float
        Rows of X held out for the baseline when X_val is not given.
    chunk_rows : int, optional
    corr_threshold : float
        Smallest residual correlation reported as structure (above the noise level).

    Returns
    -------
    DiagnosticReport
        Checks: shapes, scaling, conditioning, regularisation, residual structure,
        calibration, nonlinear baseline.
    """
    search, est, steps, final = _unwrap(model)
    name = (
        type(model).__name__
        if search is None
        else f"{type(search).__name__}({type(final).__name__})"
    )
    if steps:
        name = " -> ".join([type(s).__name__ for s in steps] + [name])
    checks = []
    try:
        source = _source(X, y)
    except ValueError as exc:
        checks.append(Check("shapes", "fail", str(exc)))
        return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    val_source = None
    if X_val is not None:
        try:
            val_source = _source(X_val, y_val)
        except ValueError as exc:
            checks.append(Check("shapes", "fail", f"validation data: {exc}"))
            return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    y_sample = source.targets()
    y_head = None if y_sample is None else np.asarray(y_sample[:1000])
    task = _infer_task(model, final, y_head, targets)

    shape_check = _check_shapes(model, final, task, source, val_source)
    checks.append(shape_check)
    if shape_check.status == "fail":
        return DiagnosticReport(checks + _skipped("shapes disagree"), name)
    if n_train is None:
        n_train = getattr(final, "n_samples_seen_", None)
        if n_train is None or isinstance(n_train, np.ndarray):
            n_train = source.n_rows
    checks.append(_check_scaling(steps, int(n_train)))
    cond_check = _check_conditioning(final, steps, source, chunk_rows)
    checks.append(cond_check)
    checks.append(_check_regularisation(search, final, cond_check))
    eval_source = val_source if val_source is not None else source
    checks.append(
        _check_residuals(task, eval_source, chunk_rows, corr_threshold, val_source is not None)
    )
    checks.append(_check_calibration(task, eval_source, chunk_rows))
    checks.append(
        _check_baseline(task, source, val_source, top_k, val_fraction, random_state, chunk_rows)
    )
    return DiagnosticReport(checks, name)
