import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("FASTLIN_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))


@pytest.fixture
def rng():
    """A seeded generator: every test draws its random inputs from here."""
    return np.random.default_rng(20261121)


def rtol_for(dtype):
    """Relative tolerance for results computed from data of ``dtype``."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-11


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST test set not found at {MNIST_DIR} (set FASTLIN_MNIST_DIR)")
    return MNIST_DIR
