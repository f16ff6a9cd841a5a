"""Chunked readers against whole-file NumPy loading, in one run: time and peak memory.

Data: 60000 synthetic digit images (28 x 28 uint8, ``fastlin.synthetic_digits``) written
as raw IDX, gzip IDX and .npy in a temporary directory. Every contender computes the same
per-column sums (uint64) so that each byte is really read (a memory map is lazy).
Also times the synthetic generator itself.

    python -m scripts.bench_io [--rows 60000] [--repeat 5] [--chunk-rows 8192]
"""

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from benchmarks.cases.io import (
    fastlin_idx,
    fastlin_npy,
    numpy_gzip,
    numpy_npy,
    numpy_raw,
    write_copies,
    write_digits,
)
from benchmarks.cases.timing import best_of
from fastlin import synthetic_digits


def _measure(fn, repeat):
    """(best seconds, peak traced allocations in bytes, result) of ``fn``."""
    fn()  # warm-up: page cache, Numba cache load
    best, out = best_of(fn, repeat)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunk-rows", type=int, default=8192)
    args = ap.parse_args()
    n, cr = args.rows, args.chunk_rows
    with tempfile.TemporaryDirectory(prefix="fastlin-bench-io-") as tmp:
        tmp = Path(tmp)
        synthetic_digits(10)  # compile or load the renderer before timing it
        t = time.perf_counter()
        cpu = time.process_time()
        raw = write_digits(tmp / "raw", n)
        gen_wall, gen_cpu = time.perf_counter() - t, time.process_time() - cpu
        paths = write_copies(raw, tmp, n, fortran=True)

        cases = [
            ("raw IDX", lambda: fastlin_idx(raw, cr), lambda: numpy_raw(raw, n)),
            ("gzip IDX", lambda: fastlin_idx(paths["gz"], cr), lambda: numpy_gzip(paths["gz"], n)),
            (".npy C", lambda: fastlin_npy(paths["npy"], cr), lambda: numpy_npy(paths["npy"])),
            (".npy F", lambda: fastlin_npy(paths["npy_f"], cr), lambda: numpy_npy(paths["npy_f"])),
        ]
        print(
            f"{n} rows x 784 uint8 ({n * 784 / 1e6:.1f} MB), chunks of {cr} rows, "
            f"best of {args.repeat}"
        )
        print(
            f"{'input':<10} {'fastlin s':>10} {'numpy s':>10} {'time ratio':>11} "
            f"{'fastlin MB':>11} {'numpy MB':>9}"
        )
        for name, ours, base in cases:
            t_o, m_o, r_o = _measure(ours, args.repeat)
            t_b, m_b, r_b = _measure(base, args.repeat)
            assert np.array_equal(r_o, r_b)
            print(
                f"{name:<10} {t_o:>10.4f} {t_b:>10.4f} {t_o / t_b:>11.2f} "
                f"{m_o / 2**20:>11.1f} {m_b / 2**20:>9.1f}"
            )
        print(
            "time ratio = fastlin / numpy (below 1: fastlin faster); MB = peak traced "
            "allocations (numpy loads the whole file, fastlin holds one chunk)"
        )
        print(
            f"synthetic digits: {n} images rendered and written as IDX in {gen_wall:.2f} s "
            f"wall, {gen_cpu:.2f} s CPU ({1e6 * gen_cpu / n:.1f} us CPU per image)"
        )


if __name__ == "__main__":
    main()
