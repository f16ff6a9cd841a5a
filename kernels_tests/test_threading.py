"""Parallel kernels called from several Python threads at once (threaded Dask workers,
web servers). Run in a subprocess: a threading layer that is not threadsafe aborts the
whole process, which would take the test session down with it."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import threading
    import numpy as np
    import numba
    import fastlin
    from fastlin.core.stats import GramStats

    rng = np.random.default_rng(7)
    X = rng.integers(0, 256, size=(4000, 40)).astype(np.uint8)
    Y = np.eye(10)[rng.integers(0, 10, 4000)]
    ref = GramStats().update(X, Y).xtx
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(GramStats().update(X, Y).xtx)
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 80
    assert all(np.array_equal(r, ref) for r in results)
    print("layer", numba.threading_layer())
    """
)


def test_concurrent_calls_from_python_threads():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    layer = proc.stdout.split("layer", 1)[1].strip()
    assert layer in ("tbb", "omp"), layer
    import fastlin._threads as th

    if th.TBB_LOADED:
        assert layer == "tbb", layer


def test_thread_count_follows_numba_setting():
    import numba

    import fastlin

    before = numba.get_num_threads()
    with fastlin.threads(1):
        assert numba.get_num_threads() == 1
        assert fastlin._threads.n_threads() == 1
    assert numba.get_num_threads() == before


FORK_SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import numpy as np
    import numba
    import fastlin
    from fastlin.core.stats import GramStats

    X = np.random.default_rng(3).integers(0, 256, size=(4000, 40)).astype(np.uint8)
    ref = GramStats().update(X).xtx  # a parallel kernel has run in the parent

    def child(i):
        return GramStats().update(X).xtx

    if __name__ == "__main__":
        for method in METHODS:
            with mp.get_context(method).Pool(2) as pool:
                out = pool.map(child, range(4), chunksize=1)
            assert all(np.array_equal(o, ref) for o in out), method
        print("layer", numba.threading_layer())
    """
)


def _pool_run(methods, tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(FORK_SCRIPT.replace("METHODS", repr(methods)))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env
    )


def test_spawned_workers_after_a_fit(tmp_path):
    proc = _pool_run(["spawn"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_forked_workers_after_a_fit(tmp_path):
    """TBB is fork-safe; where fastlin falls back to OpenMP (no tbb wheel) the README says
    to use spawn, and this test is skipped."""
    import importlib.util

    import fastlin._threads as th

    if not th.TBB_LOADED and importlib.util.find_spec("tbb") is None:
        import pytest

        pytest.skip("no TBB runtime on this platform: fork after a parallel kernel is unsafe")
    proc = _pool_run(["fork"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("layer", 1)[1].strip() == "tbb"


def test_run_parts_calls_every_part_once_and_raises_after_all_finish():
    """The Python-thread runner of the serial part kernels: every part exactly once, on
    up to n_threads() threads; a failing part's exception is raised once all have run."""
    import threading
    import time

    import pytest

    from fastlin._threads import run_parts, threads

    for n in (1, 2):
        with threads(n):
            seen, names = [], set()
            run_parts(lambda p: (seen.append(p), names.add(threading.current_thread().name)), 9)
            assert sorted(seen) == list(range(9))
            assert len(names) <= n
    done = []

    def part(p):
        if p == 0:
            raise ValueError("part 0 failed")
        time.sleep(0.01)
        done.append(p)

    with threads(2), pytest.raises(ValueError, match="part 0 failed"):
        run_parts(part, 5)
    assert sorted(done) == [1, 2, 3, 4]


def test_collected_warnings_stay_in_their_thread():
    """``_warnings.collected`` takes the rank warning of a fit in its own thread only: a fit
    running at the same time in another thread still warns, and the process-wide filters
    are the same afterwards (``warnings.catch_warnings`` would have swapped them for every
    thread)."""
    import threading
    import warnings

    import numpy as np

    import fastlin
    from fastlin._warnings import collected
    from fastlin.core.solve import RankDeficientWarning

    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 4))
    X = np.hstack([X, X[:, :1] + X[:, 1:2]])  # column 4 = column 0 + column 1
    y = X @ [1.0, 2.0, 0.0, -1.0, 0.5] + rng.standard_normal(200)
    both = threading.Barrier(2)
    got = {}

    def quiet():
        with collected(RankDeficientWarning) as messages:
            both.wait()
            fastlin.LinearRegression(solver="minimum_norm").fit(X, y)
        got["quiet"] = messages

    def loud():
        both.wait()
        fastlin.LinearRegression(solver="minimum_norm").fit(X, y)

    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=f) for f in (quiet, loud)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rank = [w for w in caught if issubclass(w.category, RankDeficientWarning)]
    assert len(rank) == 1 and "rank 4 of 5" in str(rank[0].message)
    assert len(got["quiet"]) == 1 and "rank 4 of 5" in got["quiet"][0]
    assert warnings.filters == filters


def test_single_thread_blas_nests_and_restores_across_threads():
    """Inside the block every BLAS library runs on one thread, also while blocks of other
    Python threads open and close; nested blocks and blocks in several threads at once
    leave the original thread counts when the last one exits, whichever thread that is
    (threadpoolctl lets only the thread that set a process-wide limit change it)."""
    import threading

    from threadpoolctl import threadpool_info

    from fastlin._blas_threads import single_thread_blas

    def counts():
        return sorted(
            (i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"
        )

    before = counts()
    assert before, "no BLAS library loaded"
    assert {n for _, n in before} != {1}, "BLAS already on one thread: nothing to test"
    seen = {}
    opened = [threading.Event() for _ in range(2)]
    leave = [threading.Event() for _ in range(2)]
    left = [threading.Event() for _ in range(2)]

    def worker(k):
        with single_thread_blas():
            opened[k].set()
            leave[k].wait(timeout=10)
            seen[k] = {n for _, n in counts()}
        left[k].set()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for e in opened:
        assert e.wait(timeout=10)
    with single_thread_blas():
        with single_thread_blas():
            assert {n for _, n in counts()} == {1}
    assert {n for _, n in counts()} == {1}  # the workers' blocks are still open
    # Worker 0 took the limit first (or not): either way, its leaving lifts nothing.
    leave[0].set()
    assert left[0].wait(timeout=10)
    assert {n for _, n in counts()} == {1}
    leave[1].set()
    for t in threads:
        t.join()
    assert seen == {0: {1}, 1: {1}}
    assert counts() == before


def test_single_thread_blas_per_thread_limits_nest_and_restore(monkeypatch):
    """Where BLAS keeps a limit per Python thread (OpenBLAS on OpenMP), each block sets
    and restores its own thread's limit: nested blocks on one thread give 1 inside and
    the original counts after."""
    from threadpoolctl import threadpool_info

    from fastlin import _blas_threads

    def counts():
        return sorted(
            (i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"
        )

    monkeypatch.setattr(_blas_threads, "_shared_pools", lambda controller: False)
    before = counts()
    with _blas_threads.single_thread_blas():
        with _blas_threads.single_thread_blas():
            assert {n for _, n in counts()} == {1}
        assert {n for _, n in counts()} == {1}
    assert counts() == before
    assert _blas_threads._open == 0
