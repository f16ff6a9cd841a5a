"""Chunked readers against whole-file NumPy loading, and the synthetic digit generator.

Data: synthetic digit images (28 x 28 uint8, ``fastlin.synthetic_digits``) written as raw
IDX, gzip IDX and .npy. Every contender computes the same per-column sums (uint64), so
that each byte is really read (a memory map is lazy).
"""

import gzip
from pathlib import Path

import numpy as np

from fastlin import io as fio
from fastlin import make_synthetic_digits

CHUNK_ROWS = 8192


def write_digits(folder, n):
    """Render ``n`` synthetic digits into ``folder`` as a raw IDX file; its path."""
    make_synthetic_digits(folder, n_train=n, n_test=0)
    return Path(folder) / "train-images-idx3-ubyte"


def write_copies(raw, folder, n, fortran=False):
    """The images of ``raw`` again as gzip IDX and .npy (and a Fortran-ordered .npy if
    ``fortran``) in ``folder``: {"raw", "gz", "npy"[, "npy_f"]: path}."""
    folder = Path(folder)
    paths = {"raw": raw, "gz": folder / "images.gz", "npy": folder / "X.npy"}
    with open(raw, "rb") as f, gzip.open(paths["gz"], "wb", compresslevel=6) as g:
        g.write(f.read())
    X = fio.read_idx(raw).reshape(n, -1)
    np.save(paths["npy"], X)
    if fortran:
        paths["npy_f"] = folder / "XF.npy"
        np.save(paths["npy_f"], np.asfortranarray(X))
    return paths


def colsums(source, chunk_rows=CHUNK_ROWS):
    """fastlin: the column sums of a chunk source, one chunk in memory at a time."""
    acc = np.zeros(source.n_features, np.uint64)
    for X, _ in source.iter_chunks(chunk_rows):
        acc += X.sum(axis=0, dtype=np.uint64)
    return acc


def fastlin_idx(path, chunk_rows=CHUNK_ROWS):
    return colsums(fio.open_idx(path), chunk_rows)


def fastlin_npy(path, chunk_rows=CHUNK_ROWS):
    return colsums(fio.open_npy(path), chunk_rows)


def numpy_raw(path, n):
    return np.fromfile(path, np.uint8, offset=16).reshape(n, -1).sum(0, dtype=np.uint64)


def numpy_gzip(path, n):
    return (
        np.frombuffer(gzip.decompress(Path(path).read_bytes()), np.uint8, offset=16)
        .reshape(n, -1)
        .sum(0, dtype=np.uint64)
    )


def numpy_npy(path):
    return np.load(path).sum(0, dtype=np.uint64)
