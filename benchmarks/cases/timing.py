"""Wall-clock timers of the report scripts.

A report times fastlin and its peer in one process and reads the best (or the median) of
several runs. The interleaved timers let the sides take turns, so that a busy spell of a
shared machine falls on every side instead of on one.
"""

import time

import numpy as np


def best_time(fn, repeat, warmup=True):
    """Best wall time of ``repeat`` calls of ``fn``; one untimed call first unless
    ``warmup`` is false, so that compilation and cache loads stay out of the figure."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def median_time(fn, repeat, warmup=False):
    """Median wall time of ``repeat`` calls of ``fn``, after one untimed call if ``warmup``."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def best_of(fn, repeat, pause=0.0):
    """(best wall time, last result) of ``repeat`` calls of ``fn``, after sleeping ``pause``
    seconds (see ``best_times``)."""
    if pause:
        time.sleep(pause)
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_wall_cpu(fn, repeat):
    """(wall, CPU) seconds of the fastest of ``repeat`` calls, after one untimed call."""
    fn()
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def interleaved_times(fns, rounds, pause=0.0, inputs=None):
    """Wall times of each callable over ``rounds`` rounds that take the callables in turn:
    one list of times per callable.

    ``pause`` seconds of sleep before each call let the worker threads of the call before
    go idle (OpenBLAS threads spin for a while after a call and slow whatever runs next on
    their cores). With ``inputs``, one factory per callable, each call gets a fresh
    argument made outside the timed region (for kernels that overwrite their input).
    """
    times = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            args = (inputs[i](),) if inputs is not None else ()
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            fn(*args)
            times[i].append(time.perf_counter() - t0)
    return times


def best_times(fns, repeat, pause=0.0, warmup=True, inputs=None):
    """Best time of each callable over ``repeat`` interleaved rounds (``interleaved_times``),
    after one untimed call of each unless ``warmup`` is false."""
    if warmup:
        for i, fn in enumerate(fns):
            fn(*((inputs[i](),) if inputs is not None else ()))
    return [min(t, default=float("inf")) for t in interleaved_times(fns, repeat, pause, inputs)]
