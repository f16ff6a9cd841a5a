"""fastlin: exact one-pass linear models with hand-written Numba kernels.

Importing the package compiles nothing and loads submodules only when a name is first
used: kernels compile (or load from Numba's on-disk cache) the first time they run.
"""

import importlib

from . import _threads  # noqa: F401  (selects a threadsafe Numba threading layer)
from ._threads import threads

__version__ = "0.1.0"

_LAZY = {
    "GramStats": "core.stats",
    "solve_gram": "core.solve",
    "LinearSolution": "core.solve",
    "RankDeficientWarning": "core.solve",
    "LinearRegression": "estimators.linear_model",
    "Ridge": "estimators.linear_model",
    "RidgeCV": "estimators.ridge_cv",
    "RegressionInference": "core.inference",
    "LogitInference": "core.inference",
    "SandwichStats": "core.inference_stats",
    "ridge_path": "core.path",
    "load": "edges.model_files",
    "save": "edges.model_files",
    "condition_report": "core.conditioning",
    "open_source": "io",
    "open_idx": "io",
    "open_npy": "io",
    "from_arrays": "io",
    "write_idx": "io",
    "ChunkSource": "io",
    "DataSourceError": "io",
    "load_mnist": "io.datasets",
    "make_synthetic_digits": "io.datasets",
    "synthetic_digits": "io.datasets",
    "one_hot": "io.datasets",
    "LogisticRegression": "estimators.logistic",
    "LossGradState": "core.losses",
    "HesspState": "core.losses",
    "Accumulator": "core.accumulator",
    "SGDRegressor": "estimators.sgd_regressor",
    "check_grad": "core.gradcheck",
    "diagnose": "diagnostics",
    "influence": "diagnostics",
    "leverage": "diagnostics",
    "cooks_distance": "diagnostics",
    "residual_summary": "diagnostics",
    "projection_check": "diagnostics",
    "linear_probe": "diagnostics",
    "ResidualStats": "diagnostics",
    "DiagnosticReport": "diagnostics",
    "QRStats": "core.tsqr",
    "tsqr_lstsq": "core.tsqr",
    "Moments": "core.moments",
    "StandardScaler": "estimators.preprocessing",
    "PolynomialFeatures": "estimators.preprocessing",
    "polynomial_gram": "estimators.preprocessing",
    "CalibrationStats": "core.calibration",
    "CalibrationResult": "core.calibration",
    "ReliabilityTable": "core.calibration",
    "reliability_table": "core.calibration",
    "expected_calibration_error": "core.calibration",
    "maximum_calibration_error": "core.calibration",
    "brier_score": "core.calibration",
    "negative_log_likelihood": "core.calibration",
}

__all__ = ["threads", "__version__", *_LAZY]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastlin' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
