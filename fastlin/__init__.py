"""fastlin: exact one-pass linear models with hand-written Numba kernels.

Importing the package compiles nothing and loads submodules only when a name is first
used: kernels compile (or load from Numba's on-disk cache) the first time they run.
"""

import importlib

from . import _threads  # noqa: F401  (selects a threadsafe Numba threading layer)
from ._threads import threads

__version__ = "0.1.0"

_LAZY = {
    "GramStats": "stats",
    "solve_gram": "solve",
    "LinearSolution": "solve",
    "RankDeficientWarning": "solve",
    "LinearRegression": "linear_model",
    "Ridge": "linear_model",
    "RidgeCV": "linear_model",
    "RegressionInference": "inference",
    "LogitInference": "inference",
    "SandwichStats": "inference",
    "ridge_path": "path",
    "load": "linear_model",
    "condition_report": "conditioning",
    "open_source": "io",
    "open_idx": "io",
    "open_npy": "io",
    "from_arrays": "io",
    "write_idx": "io",
    "ChunkSource": "io",
    "DataSourceError": "io",
    "load_mnist": "datasets",
    "make_synthetic_digits": "datasets",
    "synthetic_digits": "datasets",
    "one_hot": "datasets",
    "LogisticRegression": "logistic",
    "LossGradState": "logistic",
    "HesspState": "logistic",
    "Accumulator": "accumulator",
    "SGDRegressor": "sgd_regressor",
    "check_grad": "gradcheck",
    "diagnose": "diagnostics",
    "influence": "diagnostics",
    "leverage": "diagnostics",
    "cooks_distance": "diagnostics",
    "residual_summary": "diagnostics",
    "projection_check": "diagnostics",
    "linear_probe": "diagnostics",
    "ResidualStats": "diagnostics",
    "DiagnosticReport": "diagnostics",
    "QRStats": "tsqr",
    "tsqr_lstsq": "tsqr",
    "Moments": "preprocessing",
    "StandardScaler": "preprocessing",
    "PolynomialFeatures": "preprocessing",
    "polynomial_gram": "preprocessing",
    "CalibrationStats": "calibration",
    "CalibrationResult": "calibration",
    "ReliabilityTable": "calibration",
    "reliability_table": "calibration",
    "expected_calibration_error": "calibration",
    "maximum_calibration_error": "calibration",
    "brier_score": "calibration",
    "negative_log_likelihood": "calibration",
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
