"""Reliability tables: fastlin vs scikit-learn's calibration_curve and numpy.histogram.

Run with ``python -m pytest benchmarks/bench_calibration.py -p no:cacheprovider``
(``--benchmark-group-by=group`` is the default grouping). Each case warms up once before
timing, so compile time is not in the figures. The ratio table for 10**7 rows, measured in
one run, comes from ``scripts/bench_calibration.py``.
"""

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

from sklearn.calibration import calibration_curve  # noqa: E402

import fastlin  # noqa: E402
from fastlin.calibration import CalibrationStats, reliability_table  # noqa: E402

SIZES = [10**5, 10**6, 10**7]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n:.0e}")
def binary(request):
    rng = np.random.default_rng(0)
    n = request.param
    p = rng.random(n)
    y = (rng.random(n) < p ** 1.2).astype(np.int64)
    return y, p


def _run(benchmark, f):
    benchmark.pedantic(f, warmup_rounds=1, rounds=5, iterations=1)


@pytest.mark.parametrize("impl", ["fastlin", "fastlin-1-thread", "calibration_curve",
                                  "numpy.histogram"])
def test_uniform_table(benchmark, binary, impl):
    y, p = binary
    benchmark.group = f"reliability table, uniform, n={len(p):.0e}"
    if impl == "fastlin":
        _run(benchmark, lambda: reliability_table(y, p, 10, mode="positive"))
    elif impl == "fastlin-1-thread":
        def one():
            with fastlin.threads(1):
                reliability_table(y, p, 10, mode="positive")
        _run(benchmark, one)
    elif impl == "calibration_curve":
        _run(benchmark, lambda: calibration_curve(y, p, n_bins=10))
    else:
        _run(benchmark, lambda: np.histogram(p, bins=10, range=(0.0, 1.0)))


@pytest.mark.parametrize("impl", ["fastlin", "calibration_curve"])
def test_quantile_table(benchmark, binary, impl):
    y, p = binary
    benchmark.group = f"reliability table, quantile, n={len(p):.0e}"
    if impl == "fastlin":
        _run(benchmark, lambda: reliability_table(y, p, 10, "quantile", mode="positive"))
    else:
        _run(benchmark, lambda: calibration_curve(y, p, n_bins=10, strategy="quantile"))


def test_full_stats_with_scores(benchmark, binary):
    """Table plus Brier score and log-loss in the same pass (a logarithm per row)."""
    y, p = binary
    benchmark.group = f"calibration stats with scores, n={len(p):.0e}"
    _run(benchmark, lambda: CalibrationStats(mode="top_label").update(y, p).finalize())
