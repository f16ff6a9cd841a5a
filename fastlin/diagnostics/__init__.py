"""Diagnostics of fitted linear models: residuals, leverage, Cook's distance, checks.

Everything streams over chunks of rows (arrays or any :class:`fastlin.io.ChunkSource`), so
memory stays bounded by the chunk size plus outputs of one value per row: the n x n hat
matrix and a float64 copy of X are never formed.

- ``influence``: the hat matrix's factor (``HatFactor``), leverage, residuals and Cook's
  distance (the formulas are in its docstring);
- ``residuals``: ``ResidualStats``, the mergeable residual summary;
- ``probes``: ``projection_check`` and ``linear_probe``;
- ``checklist``, ``checks`` and ``diagnose``: the checklist report.
"""

from ._common import DEFAULT_CHUNK_ROWS, DEFAULT_QUANTILES, STATUSES
from .checklist import Check, DiagnosticReport, _jsonable
from .diagnose import diagnose
from .influence import (
    HatFactor,
    Influence,
    _run_pass,
    centred_gram,
    cooks_distance,
    gram_of,
    hat_factor,
    influence,
    leverage,
)
from .probes import ProbeResult, ProjectionCheck, linear_probe, projection_check
from .residuals import ResidualStats, ResidualSummary, residual_summary

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_QUANTILES",
    "STATUSES",
    "Check",
    "DiagnosticReport",
    "HatFactor",
    "Influence",
    "ProbeResult",
    "ProjectionCheck",
    "ResidualStats",
    "ResidualSummary",
    "centred_gram",
    "cooks_distance",
    "diagnose",
    "gram_of",
    "hat_factor",
    "influence",
    "leverage",
    "linear_probe",
    "projection_check",
    "residual_summary",
    "_jsonable",
    "_run_pass",
]
