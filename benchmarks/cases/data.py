"""MNIST-sized benchmark data, shared by the benchmark topics.

``mnist_stacked(n)`` stacks copies of the real MNIST test set (10,000 images from
``../shared/data/mnist`` or ``FASTLIN_MNIST_DIR``) without shifting them, so the design
keeps the real data's constant border pixels and near-dependent columns (rank 661 of
784): shifted copies would be full rank and hide the solve route real data take.
Without the files it falls back to fastlin's synthetic digits; the description each
builder returns says which.
"""

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MNIST_DIR = Path(os.environ.get("FASTLIN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))


def mnist_found(mnist_dir=MNIST_DIR):
    """Whether the MNIST test images are in ``mnist_dir``."""
    return (Path(mnist_dir) / "t10k-images-idx3-ubyte.gz").exists()


def _load_test(mnist_dir):
    from fastlin import load_mnist

    return load_mnist(mnist_dir, subset="test", as_arrays=True).test


def real_mnist_test(mnist_dir=MNIST_DIR):
    """(X, y) of the real MNIST test set, or None when the files are absent."""
    if not mnist_found(mnist_dir):
        return None
    return _load_test(mnist_dir)


def mnist_split(mnist_dir=MNIST_DIR):
    """The real MNIST test set split 8000 / 2000: (Xtr, ytr, Xte, yte), uint8 pixels and
    labels. Raises when the files are absent."""
    X, y = _load_test(mnist_dir)
    return X[:8000], y[:8000], X[8000:], y[8000:]


def mnist_one_hot(n=60000):
    """``mnist_stacked`` rows with float64 one-hot targets: (X uint8 (n, 784), Y (n, 10),
    description)."""
    X, y, what = mnist_stacked(n)
    return X, np.eye(10)[y], what


def mnist_stacked(n=60000):
    """Real MNIST test images stacked without shifts: (X uint8 (n, 784), y, description).

    Stacked copies keep the real data's structure: constant border pixels and exact
    linear dependencies (rank 661 of 784 for the t10k set), the route real training
    data take. Falls back to synthetic digits without the files.
    """
    base = real_mnist_test()
    if base is None:
        from fastlin import synthetic_digits

        X, y = synthetic_digits(n, seed=0)
        return (
            np.ascontiguousarray(X.reshape(n, 784)),
            y,
            f"{n} synthetic digits (MNIST files not found)",
        )
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
