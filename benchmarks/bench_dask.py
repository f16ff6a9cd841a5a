"""Distributed fits on a LocalCluster of 2 worker processes (loopback only).

Run: python -m pytest benchmarks/bench_dask.py --benchmark-only -p no:cacheprovider
(FASTLIN_BENCH_DASK_ROWS sets the rows, default 100000). The rows (synthetic digits,
784 uint8 pixels) are generated on the workers and persisted there; each benchmark is a
full fit on them. dask-ml's LinearRegression (newton) is in the same group when it is
installed. ``python -m scripts.bench_dask`` measures bytes over the network and worker
memory too, on 1 and 2 workers.
"""

import os
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from benchmarks.cases.dask import (  # noqa: E402
    dask_ml_least_squares,
    even,
    fastlin_least_squares,
    fastlin_logistic,
    make_data,
)

ROWS = int(os.environ.get("FASTLIN_BENCH_DASK_ROWS", "100000"))
CHUNK = 25000


@pytest.fixture(scope="module")
def cluster_data():
    import dask

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
            env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
        client = distributed.Client(cluster)
    X, y = make_data(ROWS, CHUNK, 0)
    X, y = dask.persist(X, y)
    distributed.wait([X, y])
    try:
        yield client, X, y
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()


def _run(benchmark, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()  # compile on the workers (or load from the cache) before timing
        benchmark.pedantic(fn, rounds=3, warmup_rounds=0, iterations=1)


@pytest.mark.benchmark(group="dask-least-squares")
def test_fastlin_least_squares(benchmark, cluster_data):
    _, X, y = cluster_data
    yf = y.astype(np.float64)
    _run(benchmark, lambda: fastlin_least_squares(X, yf))


@pytest.mark.benchmark(group="dask-least-squares")
def test_dask_ml_least_squares(benchmark, cluster_data):
    pytest.importorskip("dask_ml.linear_model")
    _, X, y = cluster_data
    Xf, yf = X.astype(np.float64), y.astype(np.float64)
    _run(benchmark, lambda: dask_ml_least_squares(Xf, yf, "newton"))


@pytest.mark.benchmark(group="dask-logistic-10-iterations")
def test_fastlin_logistic(benchmark, cluster_data):
    _, X, y = cluster_data
    yb = even(y)
    _run(benchmark, lambda: fastlin_logistic(X, yb, 10))
