"""The checklist's records (``Check``, ``DiagnosticReport``) and what a model is asked
about (``_Task``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from .residuals import _predict


@dataclasses.dataclass
class Check:
    """One line of the checklist: ``status`` in pass / warn / fail / skip."""

    name: str
    status: str
    message: str
    details: dict = dataclasses.field(default_factory=dict)


class DiagnosticReport:
    """The checklist returned by :func:`diagnose`: print it, or ``to_dict()`` it."""

    def __init__(self, checks: Iterable[Check], model_name: str = ""):
        self.checks = list(checks)
        self.model_name = model_name

    def __getitem__(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __iter__(self):
        return iter(self.checks)

    @property
    def status(self) -> str:
        """The worst status: fail > warn > pass (skip ignored)."""
        found = {c.status for c in self.checks}
        for s in ("fail", "warn", "pass"):
            if s in found:
                return s
        return "skip"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "status": self.status,
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "message": c.message,
                    "details": _jsonable(c.details),
                }
                for c in self.checks
            ],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_text(self) -> str:
        width = max([len(c.name) for c in self.checks] + [5])
        lines = [
            f"diagnostics of {self.model_name}: overall {self.status.upper()}",
            f"{'check':<{width}}  status  explanation",
        ]
        for c in self.checks:
            lines.append(f"{c.name:<{width}}  {c.status.upper():<6}  {c.message}")
        return "\n".join(lines)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"DiagnosticReport({self.model_name!r}, status={self.status!r})"


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if np.isfinite(v) else None
    return value


def _unwrap(model):
    """(search object or None, estimator, preprocessing steps list, final estimator)."""
    search = None
    est = model
    if hasattr(model, "best_estimator_"):
        search, est = model, model.best_estimator_
    steps = []
    final = est
    if hasattr(est, "steps"):
        steps = [s for _, s in est.steps[:-1] if s is not None and s != "passthrough"]
        final = est.steps[-1][1]
    return search, est, steps, final


def _transform(steps, Xc):
    for s in steps:
        Xc = s.transform(Xc)
    return Xc


class _Task:
    """How to turn labels into targets and predictions into scores for one model."""

    def __init__(self, model, final, targets, n_outputs, classes):
        self.model = model
        self.final = final
        self.kind = targets  # "classifier", "one-hot" or "raw"
        self.n_outputs = n_outputs
        self.classes = classes

    @property
    def classification(self):
        return self.kind in ("classifier", "one-hot")

    def label_index(self, y):
        y = np.asarray(y).reshape(-1)
        if self.kind == "one-hot":
            return y.astype(np.int64)
        return np.searchsorted(self.classes, y)

    def targets(self, y):
        """Float64 (m, t) regression targets (one-hot for classification)."""
        if self.classification:
            idx = self.label_index(y)
            K = self.n_outputs if self.kind == "one-hot" else self.classes.size
            Y = np.zeros((idx.size, K))
            Y[np.arange(idx.size), idx] = 1.0
            return Y
        Y = np.asarray(y, dtype=np.float64)
        return Y.reshape(Y.shape[0], -1)

    def scores(self, Xc):
        """(m, t) predictions (probabilities for classifiers)."""
        if self.kind == "classifier":
            if hasattr(self.model, "predict_proba"):
                P = np.asarray(self.model.predict_proba(Xc), dtype=np.float64)
                return P.reshape(Xc.shape[0], -1)
            D = np.asarray(self.model.decision_function(Xc), dtype=np.float64)
            return D.reshape(Xc.shape[0], -1)
        return _predict(self.model, Xc)


def _infer_task(model, final, y_sample, targets):
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = getattr(final, "classes_", None)
    if classes is not None and targets in ("auto", "classifier"):
        return _Task(model, final, "classifier", len(classes), np.asarray(classes))
    coef = getattr(final, "coef_", None)
    n_out = 1 if coef is None or np.ndim(coef) == 1 else np.shape(coef)[0]
    meta = getattr(final, "metadata_", {}) or {}
    if targets == "auto":
        targets = meta.get("targets") or "raw"
        if (
            targets == "raw"
            and n_out > 1
            and y_sample is not None
            and np.ndim(y_sample) == 1
            and np.asarray(y_sample).dtype.kind in "ui"
        ):
            targets = "one-hot"
    if targets == "one-hot":
        return _Task(model, final, "one-hot", n_out, np.arange(n_out))
    return _Task(model, final, "raw", n_out, None)
