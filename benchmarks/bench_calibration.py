"""Reliability tables: fastlin vs scikit-learn's calibration_curve and numpy.histogram.

Run with ``python -m pytest benchmarks/bench_calibration.py -p no:cacheprovider``
(``--benchmark-group-by=group`` is the default grouping). Each case warms up once before
timing, so compile time is not in the figures. The ratio table for 10**7 rows, measured in
one run, comes from ``python -m scripts.bench_calibration``.
"""

import pytest

pytest.importorskip("pytest_benchmark")

from benchmarks.cases.calibration import (  # noqa: E402
    binary_probabilities,
    fastlin_stats_with_scores,
    fastlin_table,
    fastlin_table_1_thread,
    numpy_histogram,
    sklearn_curve,
)

SIZES = [10**5, 10**6, 10**7]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"n={n:.0e}")
def binary(request):
    return binary_probabilities(request.param)


def _run(benchmark, f):
    benchmark.pedantic(f, warmup_rounds=1, rounds=5, iterations=1)


@pytest.mark.parametrize(
    "impl", ["fastlin", "fastlin-1-thread", "calibration_curve", "numpy.histogram"]
)
def test_uniform_table(benchmark, binary, impl):
    y, p = binary
    benchmark.group = f"reliability table, uniform, n={len(p):.0e}"
    if impl == "fastlin":
        _run(benchmark, lambda: fastlin_table(y, p, 10))
    elif impl == "fastlin-1-thread":
        _run(benchmark, lambda: fastlin_table_1_thread(y, p, 10))
    elif impl == "calibration_curve":
        _run(benchmark, lambda: sklearn_curve(y, p, 10))
    else:
        _run(benchmark, lambda: numpy_histogram(p, 10))


@pytest.mark.parametrize("impl", ["fastlin", "calibration_curve"])
def test_quantile_table(benchmark, binary, impl):
    y, p = binary
    benchmark.group = f"reliability table, quantile, n={len(p):.0e}"
    if impl == "fastlin":
        _run(benchmark, lambda: fastlin_table(y, p, 10, "quantile"))
    else:
        _run(benchmark, lambda: sklearn_curve(y, p, 10, "quantile"))


def test_full_stats_with_scores(benchmark, binary):
    """Table plus Brier score and log-loss in the same pass (a logarithm per row)."""
    y, p = binary
    benchmark.group = f"calibration stats with scores, n={len(p):.0e}"
    _run(benchmark, lambda: fastlin_stats_with_scores(y, p))
