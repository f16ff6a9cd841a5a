"""MNIST-sized benchmark data, shared by the benchmark scripts.

``mnist_sized(n)`` stacks shifted copies of the real MNIST test set (10,000 images from
``../shared/data/mnist`` or ``FASTLIN_MNIST_DIR``): each copy is shifted by a random
whole-pixel offset of at most 2 pixels, so rows are real handwriting but not duplicates.
Without the files it falls back to fastlin's synthetic digits. ``describe`` says which.
"""

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("FASTLIN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))


def real_mnist_test():
    """(X, y) of the real MNIST test set, or None when the files are absent."""
    from fastlin.datasets import load_mnist_test

    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        return None
    return load_mnist_test(MNIST_DIR, as_arrays=True)


def mnist_sized(n=60000, seed=0):
    """(X uint8 (n, 784), y uint8 (n,), description)."""
    base = real_mnist_test()
    if base is None:
        from fastlin.datasets import synthetic_digits

        X, y = synthetic_digits(n, seed=seed)
        return np.ascontiguousarray(X.reshape(n, 784)), y, f"{n} synthetic digits (MNIST files not found)"
    X0, y0 = base
    imgs = X0.reshape(-1, 28, 28)
    rng = np.random.default_rng(seed)
    out = np.empty((n, 784), np.uint8)
    labels = np.empty(n, np.uint8)
    for r0 in range(0, n, len(y0)):
        k = min(len(y0), n - r0)
        dy, dx = rng.integers(-2, 3, 2)
        shifted = np.roll(np.roll(imgs[:k], dy, axis=1), dx, axis=2)
        out[r0:r0 + k] = shifted.reshape(k, 784)
        labels[r0:r0 + k] = y0[:k]
    return out, labels, (f"{n} rows: real MNIST test images stacked {-(-n // len(y0))} times, "
                         "each copy shifted by up to 2 pixels")


def mnist_stacked(n=60000):
    """Real MNIST test images stacked without shifts: (X uint8 (n, 784), y, description).

    Stacked copies keep the real data's structure: constant border pixels and exact
    linear dependencies (rank 661 of 784 for the t10k set), the route real training
    data take. Falls back to synthetic digits without the files.
    """
    base = real_mnist_test()
    if base is None:
        return mnist_sized(n)
    X0, y0 = base
    reps = -(-n // len(y0))
    X = np.ascontiguousarray(np.vstack([X0] * reps)[:n])
    y = np.concatenate([y0] * reps)[:n]
    return X, y, f"{n} rows: real MNIST test images stacked {reps} times, unshifted"


def float_design(n, d, dtype=np.float64, seed=0, kind="correlated"):
    """A float design with realistic conditioning, and a target.

    ``kind="correlated"``: columns mixed by I + 0.5 G / sqrt(d) (G Gaussian), scaled over
    three decades and offset (cond of the standardised design ~1e2).
    ``kind="embedding"``: rank-64 structure with singular values falling as 1/k plus
    isotropic noise of 0.05, like the features of a trained network.
    """
    rng = np.random.default_rng(seed)
    if kind == "embedding":
        U = rng.standard_normal((n, 64)).astype(dtype)
        V = (rng.standard_normal((64, d)) / np.arange(1, 65)[:, None]).astype(dtype)
        X = U @ V
        X += dtype(0.05) * rng.standard_normal((n, d), dtype=np.float32).astype(dtype)
    else:
        M = np.eye(d) + 0.5 * rng.standard_normal((d, d)) / np.sqrt(d)
        M *= np.logspace(0, 3, d)[None, :]
        X = rng.standard_normal((n, d)) @ M + np.linspace(-50, 50, d)
        X = X.astype(dtype, copy=False)
    beta = rng.standard_normal(d)
    y = X @ beta.astype(dtype) + rng.standard_normal(n).astype(dtype)
    return np.ascontiguousarray(X), y, f"{n} x {d} {np.dtype(dtype).name}, {kind} columns"
