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
