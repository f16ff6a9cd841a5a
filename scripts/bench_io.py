"""Chunked readers against whole-file NumPy loading, in one run: time and peak memory.

Data: 60000 synthetic digit images (28 x 28 uint8, ``fastlin.datasets``) written as raw
IDX, gzip IDX and .npy in a temporary directory. Every contender computes the same
per-column sums (uint64) so that each byte is really read (a memory map is lazy).
Also times the synthetic generator itself.

    python scripts/bench_io.py [--rows 60000] [--repeat 5]
"""

import argparse
import gzip
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from fastlin import io as fio
from fastlin.datasets import make_synthetic_digits, synthetic_digits


def _colsums_chunks(source, chunk_rows):
    acc = np.zeros(source.n_features, np.uint64)
    for X, _ in source.iter_chunks(chunk_rows):
        acc += X.sum(axis=0, dtype=np.uint64)
    return acc


def _measure(fn, repeat):
    fn()  # warm-up: page cache, Numba cache load
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
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
        make_synthetic_digits(tmp / "raw", n_train=n, n_test=0)
        gen_wall, gen_cpu = time.perf_counter() - t, time.process_time() - cpu
        raw = tmp / "raw" / "train-images-idx3-ubyte"
        gz = tmp / "images.gz"
        with open(raw, "rb") as f, gzip.open(gz, "wb", compresslevel=6) as g:
            g.write(f.read())
        X_all = fio.read_idx(raw).reshape(n, -1)
        np.save(tmp / "X.npy", X_all)
        np.save(tmp / "XF.npy", np.asfortranarray(X_all))
        del X_all

        cases = [
            ("raw IDX", lambda: _colsums_chunks(fio.open_idx(raw), cr),
             lambda: np.fromfile(raw, np.uint8, offset=16).reshape(n, -1).sum(0, dtype=np.uint64)),
            ("gzip IDX", lambda: _colsums_chunks(fio.open_idx(gz), cr),
             lambda: np.frombuffer(gzip.decompress(gz.read_bytes()), np.uint8, offset=16)
             .reshape(n, -1).sum(0, dtype=np.uint64)),
            (".npy C", lambda: _colsums_chunks(fio.open_npy(tmp / "X.npy"), cr),
             lambda: np.load(tmp / "X.npy").sum(0, dtype=np.uint64)),
            (".npy F", lambda: _colsums_chunks(fio.open_npy(tmp / "XF.npy"), cr),
             lambda: np.load(tmp / "XF.npy").sum(0, dtype=np.uint64)),
        ]
        print(f"{n} rows x 784 uint8 ({n * 784 / 1e6:.1f} MB), chunks of {cr} rows, "
              f"best of {args.repeat}")
        print(f"{'input':<10} {'fastlin s':>10} {'numpy s':>10} {'time ratio':>11} "
              f"{'fastlin MB':>11} {'numpy MB':>9}")
        for name, ours, base in cases:
            t_o, m_o, r_o = _measure(ours, args.repeat)
            t_b, m_b, r_b = _measure(base, args.repeat)
            assert np.array_equal(r_o, r_b)
            print(f"{name:<10} {t_o:>10.4f} {t_b:>10.4f} {t_o / t_b:>11.2f} "
                  f"{m_o / 2**20:>11.1f} {m_b / 2**20:>9.1f}")
        print("time ratio = fastlin / numpy (below 1: fastlin faster); MB = peak traced "
              "allocations (numpy loads the whole file, fastlin holds one chunk)")
        print(f"synthetic digits: {n} images rendered and written as IDX in {gen_wall:.2f} s "
              f"wall, {gen_cpu:.2f} s CPU ({1e6 * gen_cpu / n:.1f} us CPU per image)")


if __name__ == "__main__":
    main()
