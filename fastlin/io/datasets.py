"""Datasets: MNIST files on disk, synthetic digit-like images, one-hot targets.

MNIST
-----
:func:`load_mnist` opens the four standard IDX files (raw or gzip) of a directory as
chunk sources; nothing is read beyond headers and labels until the sources are iterated.
The 10,000-image test set is often distributed on its own: ``load_mnist(d, subset="test")``
or :func:`load_mnist_test` open just that.

Synthetic digits
----------------
:func:`synthetic_digits`, :class:`SyntheticDigits` (a chunk source that renders rows on
demand, so millions of rows never touch the disk) and :func:`make_synthetic_digits` (writes
MNIST-named IDX files chunk by chunk) all produce the same rows for the same
``(seed, split)``: 28 x 28 uint8 images of the ten digits drawn from per-class stroke
templates (several styles for some classes) with random slant, rotation, scale, shift,
smooth stroke wobble, pen width and ink gain. The outer ring of pixels is always zero, as
in MNIST, so the Gram matrix of raw pixels is singular. Row ``i`` depends only on
``(seed, split, i)``, not on ``n`` or the chunking. A one-hot least-squares classifier on
raw pixels (with intercept) scores about 89 % on the test split after 60000 training rows
and about 80 % after 3000 (on real MNIST the same model scores about 86 % and 78 %).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._threads import n_threads, row_ranges
from .errors import IDXFormatError
from .files import _check_int, _readonly
from .idx import IDXWriter
from .opening import open_idx
from .sources import ChunkSource
from ..kernels import synth

__all__ = [
    "MNIST",
    "MNISTNotFoundError",
    "MNIST_FILES",
    "load_mnist",
    "load_mnist_test",
    "one_hot",
    "synthetic_digits",
    "SyntheticDigits",
    "make_synthetic_digits",
]

MNIST_URL = "https://yann.lecun.com/exdb/mnist/"

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""Standard base names per split: (images, labels). Each may also end in ``.gz``."""


# --------------------------------------------------------------------------- one-hot


def one_hot(
    labels: ArrayLike, n_classes: int | None = None, dtype: DTypeLike = np.float64
) -> np.ndarray:
    """One-hot encode integer class labels.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Values in ``[0, n_classes)``.
    n_classes : int, optional
        Default ``labels.max() + 1`` (and 1 for no labels).
    dtype : dtype-like, default float64

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        ``out[i, labels[i]] = 1``, zeros elsewhere.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D of shape (n_samples,), got shape {y.shape}")
    if y.dtype == np.bool_:
        y = y.view(np.uint8)
    if y.dtype.kind not in "ui":
        if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        elif y.dtype.kind == "f" and y.size == 0:
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if n_classes is None:
        n_classes = int(y.max()) + 1 if y.size else 1
    n_classes = _check_int(n_classes, "n_classes", low=1)
    if y.size:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            bad = int(np.flatnonzero((y < 0) | (y >= n_classes))[0])
            raise ValueError(
                f"labels[{bad}] = {int(y[bad])} is out of range; expected 0 <= label < {n_classes}"
            )
    out = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


# --------------------------------------------------------------------------- MNIST


class MNISTNotFoundError(FileNotFoundError):
    """MNIST files missing from a directory; the message lists them and where to get them."""


@dataclass(frozen=True)
class MNIST:
    """The splits found by :func:`load_mnist`.

    Attributes
    ----------
    train, test : ChunkSource, or (X, y) when loaded with ``as_arrays=True``, or None
        None for a split that was not asked for. Sources yield (rows, 784) uint8 chunks and
        uint8 labels 0-9; arrays are X of shape (n, 784) uint8 and y of shape (n,) uint8.
    directory : pathlib.Path
    """

    train: ChunkSource | tuple[np.ndarray, np.ndarray] | None
    test: ChunkSource | tuple[np.ndarray, np.ndarray] | None
    directory: Path


def _find(directory, base):
    """Path of ``base`` or ``base.gz`` (raw preferred), also trying the ``.idx3-`` spelling."""
    names = [base, base.replace("-idx", ".idx")]
    for name in names:
        for candidate in (name, name + ".gz"):
            p = directory / candidate
            if p.is_file():
                return p
    return None


def _open_split(directory, split):
    img_base, lbl_base = MNIST_FILES[split]
    img, lbl = _find(directory, img_base), _find(directory, lbl_base)
    missing = [b for b, p in ((img_base, img), (lbl_base, lbl)) if p is None]
    if missing:
        return None, missing
    source = open_idx(img, lbl, n_classes=10)
    if len(source.header.shape) != 3 or source.item_shape != (28, 28):
        raise IDXFormatError(
            f"{img}: MNIST images must have dimensions (n, 28, 28), found {source.header.shape}"
        )
    return source, []


def load_mnist(
    directory: os.PathLike | str | None = None,
    *,
    subset: Literal["all", "train", "test"] = "all",
    as_arrays: bool = False,
) -> MNIST:
    """Open MNIST from the four standard IDX files (raw or ``.gz``) in ``directory``.

    Parameters
    ----------
    directory : str or path-like, optional
        Default: the ``FASTLIN_MNIST_DIR`` environment variable.
    subset : {"all", "train", "test"}, default "all"
        Which splits are required. Splits not asked for are None in the result.
    as_arrays : bool, default False
        Read the splits into memory as ``(X, y)``: X (n, 784) uint8, y (n,) uint8.

    Returns
    -------
    MNIST
        ``.train`` and ``.test`` are :class:`~fastlin.io.IDXSource` (labels checked to be
        0-9 at open) or ``(X, y)`` tuples.

    Raises
    ------
    MNISTNotFoundError
        A required file is missing: the message names the files, the directory searched
        and where to download them.
    IDXFormatError, CorruptStreamError, LabelError
        A file is damaged, images are not 28 x 28, counts differ, or a label is above 9.
    """
    if directory is None:
        env = os.environ.get("FASTLIN_MNIST_DIR")
        if not env:
            raise MNISTNotFoundError(
                "no MNIST directory given and FASTLIN_MNIST_DIR is not set; pass the directory "
                "holding train-images-idx3-ubyte(.gz) etc."
            )
        directory = env
    directory = Path(directory)
    if subset not in ("all", "train", "test"):
        raise ValueError(f"subset must be 'all', 'train' or 'test', got {subset!r}")
    if not directory.is_dir():
        raise MNISTNotFoundError(f"MNIST directory not found: {directory}")
    splits = ("train", "test") if subset == "all" else (subset,)
    found = {}
    missing = []
    for split in splits:
        source, miss = _open_split(directory, split)
        found[split] = source
        missing += miss
    if missing:
        present = sorted(p.name for p in directory.iterdir() if "ubyte" in p.name)
        hint = ""
        if found.get("test") is not None or (
            subset != "test" and _find(directory, MNIST_FILES["test"][0])
        ):
            hint = (
                " The test set is present: use subset='test' (or load_mnist_test) to open it alone."
            )
        raise MNISTNotFoundError(
            f"MNIST files missing in {directory.resolve()}: "
            + ", ".join(f"{m} (or {m}.gz)" for m in missing)
            + f". Found: {', '.join(present) if present else 'no IDX files'}."
            + f" Download them from {MNIST_URL} (or a mirror), or generate digit-like data with "
            "fastlin.io.datasets.make_synthetic_digits(directory)." + hint
        )
    if as_arrays:
        found = {k: v.read_all() for k, v in found.items()}
    return MNIST(train=found.get("train"), test=found.get("test"), directory=directory)


def load_mnist_test(
    directory: os.PathLike | str | None = None, *, as_arrays: bool = False
) -> ChunkSource | tuple[np.ndarray, np.ndarray]:
    """The MNIST test split alone: ``load_mnist(directory, subset="test").test``."""
    return load_mnist(directory, subset="test", as_arrays=as_arrays).test


# --------------------------------------------------------------------------- synthetic digits

_SIDE = 28
# Jitter of the synthetic digits (template units are 9 pixels; the digit box is 2 x 2).
_SIGMA = (0.8, 1.4)  # pen radius range, pixels
_GAIN = (5.5, 9.5)  # ink gain range before saturation
_EDGE = 0.5  # density (after gain) cut from every pixel: sharp stroke edges
_WOBBLE = 0.08  # amplitude of the first wobble mode (mode m has _WOBBLE / m)
_WARP = 0.06  # sd of the quadratic warp coefficients
_SLANT = 0.24  # sd of the shear x -= slant * y
_ROT = 0.13  # sd of the rotation, radians
_LOG_SX = 0.12  # sd of log horizontal scale
_LOG_SY = 0.07  # sd of log vertical scale
_SHIFT = 0.95  # sd of the shift, pixels
_POINTS = 96  # points per digit, spread over its strokes by arc length
_BLOCK = 1024  # rows per random block: row i depends on (seed, split, i // _BLOCK) only
_SPLITS = {"train": 0, "test": 1}


def _arc(cx, cy, rx, ry, t0, t1, n=48):
    t = np.deg2rad(np.linspace(t0, t1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _line(*pts):
    return np.asarray(pts, dtype=np.float64)


def _stroke_templates():
    """Per-class styles, each a list of strokes (polylines) in a [-1, 1] box, y down."""
    return {
        0: [[_arc(0, 0, 0.55, 0.95, 0, 360)], [_arc(0, 0, 0.45, 0.95, -100, 270)]],
        1: [
            [_line((0.05, -0.95), (-0.05, 0.95))],
            [_line((-0.3, -0.6), (0.08, -0.95), (0.0, 0.95))],
            [_line((-0.3, -0.6), (0.08, -0.95), (0.0, 0.95)), _line((-0.35, 0.95), (0.35, 0.95))],
        ],
        2: [
            [
                np.vstack(
                    [
                        _arc(0, -0.45, 0.5, 0.5, 200, 380),
                        _line((0.4, -0.1), (-0.55, 0.95), (0.6, 0.95)),
                    ]
                )
            ],
            [
                np.vstack(
                    [
                        _arc(0, -0.45, 0.5, 0.5, 190, 400),
                        _line((0.38, -0.05), (-0.5, 0.85), (-0.25, 0.68), (0.0, 0.85), (0.6, 0.95)),
                    ]
                )
            ],
        ],
        3: [
            [_arc(0, -0.48, 0.45, 0.47, 200, 450), _arc(0, 0.47, 0.5, 0.48, 270, 520)],
            [
                _line((-0.45, -0.95), (0.45, -0.95), (-0.05, -0.1)),
                _arc(0, 0.42, 0.5, 0.53, 260, 520),
            ],
        ],
        4: [
            [_line((0.25, -0.95), (-0.55, 0.35), (0.6, 0.35)), _line((0.3, -0.35), (0.3, 0.95))],
            [_line((-0.45, -0.95), (-0.5, 0.25), (0.55, 0.25)), _line((0.3, -0.95), (0.3, 0.95))],
        ],
        5: [
            [_line((0.5, -0.95), (-0.35, -0.95), (-0.4, -0.1)), _arc(0, 0.4, 0.5, 0.55, 235, 520)],
            [
                _line((0.5, -0.95), (-0.3, -0.95), (-0.45, 0.0)),
                _arc(-0.05, 0.45, 0.5, 0.5, 240, 500),
            ],
        ],
        6: [
            [
                _line((0.35, -0.95), (-0.1, -0.6), (-0.45, 0.0), (-0.5, 0.45)),
                _arc(0, 0.45, 0.5, 0.5, 180, 540),
            ],
            [_arc(0.45, 0.2, 0.95, 1.15, 240, 180)[::-1], _arc(0, 0.5, 0.48, 0.45, 180, 540)],
        ],
        7: [
            [_line((-0.55, -0.95), (0.55, -0.95), (-0.15, 0.95))],
            [_line((-0.55, -0.95), (0.55, -0.95), (-0.1, 0.95)), _line((-0.2, 0.0), (0.4, 0.0))],
            [_line((-0.5, -0.75), (-0.5, -0.95), (0.55, -0.95), (0.05, 0.95))],
        ],
        8: [
            [_arc(0, -0.5, 0.4, 0.45, 0, 360), _arc(0, 0.47, 0.5, 0.5, 0, 360)],
            [_arc(0, -0.52, 0.45, 0.43, 0, 360), _arc(0.05, 0.45, 0.45, 0.52, 0, 360)],
        ],
        9: [
            [_arc(0, -0.45, 0.48, 0.5, 0, 360), _line((0.47, -0.45), (0.3, 0.95))],
            [_arc(-0.05, -0.45, 0.45, 0.48, 0, 360), _line((0.4, -0.5), (0.45, 0.2), (0.2, 0.95))],
        ],
    }


def _resample(strokes, n_points):
    """Spread ``n_points`` over the strokes by arc length: points (n, 2), weights (n,).

    The weight of a point is the stroke length it stands for, so every digit leaves the
    same ink per unit length however long its strokes are.
    """
    strokes = [s for s in strokes if len(s) >= 2]
    lengths = [np.sum(np.hypot(*np.diff(s, axis=0).T)) for s in strokes]
    total = sum(lengths)
    counts = [max(2, int(round(n_points * L / total))) for L in lengths]
    counts[-1] += n_points - sum(counts)
    pts, wts = [], []
    for s, L, k in zip(strokes, lengths, counts):
        seg = np.hypot(*np.diff(s, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        t = (np.arange(k) + 0.5) * (L / k)
        pts.append(np.stack([np.interp(t, cum, s[:, 0]), np.interp(t, cum, s[:, 1])], axis=1))
        wts.append(np.full(k, L / k))
    return np.concatenate(pts), np.concatenate(wts)


_TEMPLATE_CACHE = {}


def _templates():
    """(points (T, P, 2), weights (T, P), class of each style (T,), trig (T, P, 2)).

    ``trig`` holds cos and sin of 2 pi times each point's position along the pen path.
    """
    if "t" not in _TEMPLATE_CACHE:
        pts, wts, cls = [], [], []
        for c, styles in _stroke_templates().items():
            for strokes in styles:
                p, w = _resample(strokes, _POINTS)
                pts.append(p)
                wts.append(w)
                cls.append(c)
        pts, wts = np.stack(pts), np.stack(wts)
        pos = (np.cumsum(wts, axis=1) - 0.5 * wts) / wts.sum(axis=1, keepdims=True)
        trig = np.stack([np.cos(2 * np.pi * pos), np.sin(2 * np.pi * pos)], axis=2)
        _TEMPLATE_CACHE["t"] = (pts, wts, np.asarray(cls), trig)
    return _TEMPLATE_CACHE["t"]


def _block_rng(seed, split, block):
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(_SPLITS[split], block))
    )


def _render_block(seed, split, block):
    """Rows ``block * _BLOCK`` to ``(block + 1) * _BLOCK``: X (B, 784) uint8, y (B,) uint8."""
    rng = _block_rng(seed, split, block)
    B = _BLOCK
    pts, wts, cls, trig = _templates()
    y = rng.integers(0, 10, size=B).astype(np.uint8)  # first draw: _synthetic_labels relies on it
    # Pick a style of the drawn class uniformly.
    style_of = [np.flatnonzero(cls == c) for c in range(10)]
    n_styles = np.array([len(s) for s in style_of])
    pick = (rng.random(B) * n_styles[y]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(n_styles)[:-1]])
    style = starts[y] + pick  # styles are stored class by class

    prm = np.empty((B, synth.N_PARAMS), dtype=np.float64)
    prm[:, synth.P_WOBBLE : synth.P_WOBBLE + 6] = (
        rng.standard_normal((B, 2, 3)) * (_WOBBLE / np.arange(1, 4))
    ).reshape(B, 6)
    prm[:, synth.P_PHASE : synth.P_PHASE + 6] = rng.random((B, 6)) * (2 * np.pi)
    prm[:, synth.P_WARP : synth.P_WARP + 6] = rng.standard_normal((B, 6)) * _WARP
    prm[:, synth.P_SLANT] = rng.normal(0.0, _SLANT, B)
    prm[:, synth.P_ROT] = rng.normal(0.0, _ROT, B)
    prm[:, synth.P_SX] = np.exp(rng.normal(0.0, _LOG_SX, B))
    prm[:, synth.P_SY] = np.exp(rng.normal(0.0, _LOG_SY, B))
    prm[:, synth.P_SHIFT : synth.P_SHIFT + 2] = rng.normal(0.0, _SHIFT, (B, 2))
    prm[:, synth.P_INK] = rng.uniform(0.85, 1.15, B)
    prm[:, synth.P_SIGMA] = rng.uniform(_SIGMA[0], _SIGMA[1], B)
    prm[:, synth.P_GAIN] = rng.uniform(_GAIN[0], _GAIN[1], B)

    img = np.empty((B, _SIDE, _SIDE), dtype=np.uint8)
    bounds = row_ranges(B, max(1, n_threads()), 32)
    acc = np.empty((bounds.shape[0] - 1, _SIDE, _SIDE), dtype=np.float64)
    synth.render_digits(pts, wts, trig, style, prm, 9.0, 13.5, _EDGE, bounds, acc, img)
    return img.reshape(B, _SIDE * _SIDE), y


def _synthetic_rows(seed, split, start, stop):
    """Rows ``start`` to ``stop`` (any range) as X (n, 784) uint8 and y (n,) uint8."""
    n = stop - start
    X = np.empty((n, _SIDE * _SIDE), dtype=np.uint8)
    y = np.empty(n, dtype=np.uint8)
    b0, b1 = start // _BLOCK, -(-stop // _BLOCK) if n else start // _BLOCK
    for b in range(b0, b1):
        Xb, yb = _render_block(seed, split, b)
        lo, hi = max(start, b * _BLOCK), min(stop, (b + 1) * _BLOCK)
        X[lo - start : hi - start] = Xb[lo - b * _BLOCK : hi - b * _BLOCK]
        y[lo - start : hi - start] = yb[lo - b * _BLOCK : hi - b * _BLOCK]
    return X, y


def _synthetic_labels(seed, split, start, stop):
    """Labels of rows ``start`` to ``stop`` without rendering (labels are a block's first draw)."""
    out = np.empty(stop - start, dtype=np.uint8)
    for b in range(start // _BLOCK, -(-stop // _BLOCK)):
        yb = _block_rng(seed, split, b).integers(0, 10, size=_BLOCK).astype(np.uint8)
        lo, hi = max(start, b * _BLOCK), min(stop, (b + 1) * _BLOCK)
        out[lo - start : hi - start] = yb[lo - b * _BLOCK : hi - b * _BLOCK]
    return out


def _check_seed_split(seed, split):
    seed = _check_int(seed, "seed", low=0)
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return seed, split


def synthetic_digits(
    n: int, seed: int = 0, *, split: Literal["train", "test"] = "train", start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic digit-like images in memory.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int, default 0
    split : {"train", "test"}, default "train"
        Independent row streams for the same seed.
    start : int, default 0
        Index of the first row: ``synthetic_digits(5, start=10)`` equals rows 10-14 of
        ``synthetic_digits(15)``.

    Returns
    -------
    X : ndarray of shape (n, 784), uint8
        Row-major 28 x 28 images (``X.reshape(-1, 28, 28)`` to view them).
    y : ndarray of shape (n,), uint8
        Labels 0-9.
    """
    n = _check_int(n, "n", low=0)
    start = _check_int(start, "start", low=0)
    seed, split = _check_seed_split(seed, split)
    return _synthetic_rows(seed, split, start, start + n)


class SyntheticDigits(ChunkSource):
    """A chunk source of synthetic digits rendered on demand (no file, constant memory).

    Parameters
    ----------
    n : int
        Number of rows; any size (rows are rendered per chunk).
    seed : int, default 0
    split : {"train", "test"}, default "train"

    Rows equal those of :func:`synthetic_digits` and :func:`make_synthetic_digits` for the
    same seed and split. ``targets()`` draws the labels without rendering any image.
    """

    kind = "synthetic"

    def __init__(self, n, seed=0, split="train"):
        self._n = _check_int(n, "n", low=0)
        self.seed, self.split = _check_seed_split(seed, split)
        super().__init__(self._n, _SIDE * _SIDE, np.uint8, (_SIDE, _SIDE), None, 10)

    @property
    def has_targets(self):
        return True

    @property
    def y_dtype(self):
        return np.dtype(np.uint8)

    @property
    def y_shape(self):
        return (self._n,)

    def _generate(self, chunk_rows, start_row, stop_row):
        for r0 in range(start_row, stop_row, chunk_rows):
            X, y = _synthetic_rows(self.seed, self.split, r0, min(r0 + chunk_rows, stop_row))
            yield _readonly(X), _readonly(y)

    def targets(self):
        return _readonly(_synthetic_labels(self.seed, self.split, 0, self._n))

    def identity(self):
        ident = super().identity()
        ident["X"] = {
            "kind": "synthetic",
            "seed": self.seed,
            "split": self.split,
            "generator": _GENERATOR_VERSION,
        }
        ident["y"] = {"kind": "synthetic", "dtype": "|u1", "shape": [self._n]}
        return ident

    def _x_identity(self):
        return None


_GENERATOR_VERSION = 1
"""Bumped whenever the rendering changes, so checkpoints on synthetic data notice."""


def make_synthetic_digits(
    directory: os.PathLike | str,
    n_train: int = 60000,
    n_test: int = 10000,
    seed: int = 0,
    compress: bool = False,
    *,
    chunk_rows: int = 8192,
) -> MNIST:
    """Write synthetic digits as MNIST-named IDX files, chunk by chunk, and open them.

    Parameters
    ----------
    directory : str or path-like
        Created if missing. Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (``.gz`` added when
        ``compress``); existing files of those names are replaced. A split with 0 rows is
        not written.
    n_train, n_test : int
    seed : int, default 0
    compress : bool, default False
    chunk_rows : int, default 8192
        Rows rendered and written at a time; memory stays about ``chunk_rows * 1 KB``.

    Returns
    -------
    MNIST
        The written splits opened as sources (``load_mnist`` on the directory).

    Raises
    ------
    ValueError
        The directory holds the other variant (compressed vs not) of a file to be written;
        :func:`load_mnist` would otherwise pick the stale one.
    """
    n_train = _check_int(n_train, "n_train", low=0)
    n_test = _check_int(n_test, "n_test", low=0)
    seed = _check_int(seed, "seed", low=0)
    chunk_rows = _check_int(chunk_rows, "chunk_rows", low=1)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    jobs = [(split, n) for split, n in (("train", n_train), ("test", n_test)) if n > 0]
    for split, _ in jobs:
        for base in MNIST_FILES[split]:
            other = directory / (base if compress else base + ".gz")
            if other.exists():
                raise ValueError(
                    f"{other} exists and would shadow or be shadowed by the new "
                    f"{base + suffix}; remove it or write to another directory"
                )
    for split, n in jobs:
        img_base, lbl_base = MNIST_FILES[split]
        with (
            IDXWriter(
                directory / (img_base + suffix),
                (_SIDE, _SIDE),
                np.uint8,
                n_items=n,
                compress=compress,
            ) as wx,
            IDXWriter(
                directory / (lbl_base + suffix), (), np.uint8, n_items=n, compress=compress
            ) as wy,
        ):
            for r0 in range(0, n, chunk_rows):
                X, y = _synthetic_rows(seed, split, r0, min(n, r0 + chunk_rows))
                wx.write(X)
                wy.write(y)
    subsets = {("train", "test"): "all", ("train",): "train", ("test",): "test"}
    key = tuple(s for s, _ in jobs)
    if not key:
        return MNIST(train=None, test=None, directory=directory)
    return load_mnist(directory, subset=subsets[key])
