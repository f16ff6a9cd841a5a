"""What ``LogisticRegression`` reads: validated feature blocks, labels encoded as class
indices, weights; held in memory, or a chunk source read again at every pass."""

from __future__ import annotations

import numpy as np

from .._validation import as_2d_array, check_finite, check_sample_weight
from ..core.losses import _EMPTY_F
from ..io.fold import chunks, fold


def _check_X(X, name="X", n_features=None):
    from ..core.stats import check_magnitude

    X = as_2d_array(X, name)
    check_finite(X, name)
    check_magnitude(X, name)  # logits of such values overflow: a named error, not zeros
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model expects {n_features}")
    return X


def _labels_1d(y, n_rows, name="y"):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,), got shape {y.shape}")
    if y.shape[0] != n_rows:
        raise ValueError(
            f"X and {name} have different numbers of rows: X has {n_rows}, {name} has {y.shape[0]}"
        )
    if y.dtype.kind == "f":
        check_finite(y, name)
    return y


def _encode(y, classes, context=""):
    """Class indices (int64) of labels ``y``; ValueError naming labels not in ``classes``."""
    idx = np.searchsorted(classes, y)
    idx_c = np.minimum(idx, classes.shape[0] - 1)
    bad = classes[idx_c] != y
    if bad.any():
        unseen = np.unique(y[bad])
        shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in unseen[:10])
        raise ValueError(
            f"y contains label(s) not in classes {classes.tolist()!r}: {shown}"
            f"{' ...' if unseen.size > 10 else ''}{context}"
        )
    return idx_c.astype(np.int64, copy=False)


def _is_array_like(X):
    return (
        isinstance(X, np.ndarray)
        or hasattr(X, "__array__")
        or (isinstance(X, (list, tuple)) and len(X) > 0 and not _looks_like_chunk(X[0]))
    )


def _looks_like_chunk(item):
    return isinstance(item, tuple) and len(item) in (2, 3)


class _Chunks:
    """A re-iterable source of (X, y) or (X, y, sample_weight) chunks.

    Accepts an object with ``iter_chunks()`` (fastlin's chunk sources), a callable
    returning a fresh iterator, or any re-iterable (a list of tuples). A one-shot iterator
    (a generator) is refused: L-BFGS and epochs need to read the chunks more than once.
    """

    def __init__(self, source, chunk_rows=None, target_transform=None):
        if chunk_rows is not None and not hasattr(source, "iter_chunks"):
            raise ValueError(
                "chunk_rows applies to a fastlin.io source; this one yields its own chunks"
            )
        self._transform = target_transform
        if hasattr(source, "iter_chunks"):
            self._fresh = lambda: ((X, y, w) for _, X, y, w in chunks(source, chunk_rows))
        elif callable(source):
            self._fresh = source
        elif hasattr(source, "__iter__"):
            if iter(source) is source:
                raise ValueError(
                    "the chunk source is a one-shot iterator (e.g. a generator); pass a list "
                    "of (X, y) chunks, a re-iterable object, or a callable returning a fresh "
                    "iterator, since fitting reads the chunks more than once"
                )
            self._fresh = lambda: iter(source)
        else:
            raise ValueError(
                f"expected an array X with y, or a chunk source; got {type(source).__name__}"
            )

    def __iter__(self):
        for i, chunk in enumerate(self._fresh()):
            if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
                raise ValueError(
                    f"chunk {i} is a {type(chunk).__name__}; chunks must be (X, y) or "
                    "(X, y, sample_weight) tuples"
                )
            X, y = chunk[0], chunk[1]
            w = chunk[2] if len(chunk) == 3 else None
            if y is not None and self._transform is not None:
                y = self._transform(y)
            if y is None:
                raise ValueError(
                    f"chunk {i} has no targets (y is None); classification needs labels"
                )
            yield i, X, y, w


class _Prepared:
    """A state fed rows validated and encoded beforehand: ``update`` is its ``_fold``."""

    def __init__(self, state):
        self.state = state

    def update(self, X, y, sample_weight=None):
        w = sample_weight if sample_weight is not None and sample_weight.size else None
        self.state._fold(X, y, w)
        return self


class _Data:
    """Validated, encoded data: a list of (X, y_idx, w) blocks, or a chunk source re-read."""

    def __init__(
        self,
        X,
        y,
        sample_weight,
        x_scale,
        classes=None,
        n_features=None,
        chunk_rows=None,
        target_transform=None,
    ):
        self.scale = x_scale
        if y is None and not _is_array_like(X):
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight cannot be passed with a chunk source; yield "
                    "(X, y, sample_weight) chunks instead"
                )
            self.chunks = _Chunks(X, chunk_rows, target_transform)
            self.blocks = None
            self._scan(classes, n_features)
        else:
            if chunk_rows is not None or target_transform is not None:
                raise TypeError("chunk_rows and target_transform are options of a chunk source")
            if y is None:
                raise ValueError("y is required when X is an array")
            X = _check_X(X, "X", n_features)
            yl = _labels_1d(y, X.shape[0])
            w = check_sample_weight(sample_weight, X.shape[0])
            if classes is None:
                classes = np.unique(yl)
            self.classes = classes
            self.n_features = X.shape[1]
            self.n_rows = X.shape[0]
            self.sw_sum = float(self.n_rows if w is None else w.sum())
            self.chunks = None
            self.blocks = [(X, _encode(yl, classes), _EMPTY_F if w is None else w)]

    def _scan(self, classes, n_features):
        """One validating pass over a chunk source: features, labels, weights, finiteness."""
        found = []
        n_rows = 0
        sw_sum = 0.0
        d = n_features
        for i, X, y, w in self.chunks:
            X = _check_X(X, f"X (chunk {i})", d)
            d = X.shape[1]
            yl = _labels_1d(y, X.shape[0], f"y (chunk {i})")
            w = check_sample_weight(w, X.shape[0])
            if classes is not None:
                _encode(yl, classes, f" (chunk {i})")
            else:
                found.append(np.unique(yl))
            n_rows += X.shape[0]
            sw_sum += X.shape[0] if w is None else float(w.sum())
        if n_rows == 0:
            raise ValueError("the chunk source yielded no rows")
        self.classes = classes if classes is not None else np.unique(np.concatenate(found))
        self.n_features = d
        self.n_rows = n_rows
        self.sw_sum = sw_sum

    class_weight = None

    def class_sums(self):
        """Per class: rows and sum of sample weights (float64 arrays over ``classes``)."""
        K = self.classes.shape[0]
        counts, sums = np.zeros(K), np.zeros(K)
        for _, _, yi, w in self._raw():
            counts += np.bincount(yi, minlength=K)
            sums += np.bincount(yi, weights=w if w.size else None, minlength=K)
        return counts, sums

    def weigh_classes(self, cw):
        """Multiply every row's weight by its class's weight ``cw`` (array over classes)."""
        _, sums = self.class_sums()
        self.class_weight = np.asarray(cw, dtype=np.float64)
        self.sw_sum = float(sums @ self.class_weight)
        if self.sw_sum <= 0:
            raise ValueError("class_weight leaves no row with positive weight")

    def fold(self, state):
        """Fold a loss state (or an SGD epoch) over every chunk with the fold engine: one
        full-batch evaluation, in memory or over a source read again. The rows were
        validated when prepared, so the state's trusted ``_fold`` takes them."""
        fold(((X, yi, w) for _, X, yi, w in self), _Prepared(state))
        return state

    def __iter__(self):
        """Yield (chunk index, X, y_idx, w) with w an empty array for unit weights."""
        cw = self.class_weight
        for i, X, yi, w in self._raw():
            if cw is not None:
                w = cw[yi] * (w if w.size else 1.0)
            yield i, X, yi, w

    def _raw(self):
        if self.blocks is not None:
            for i, (X, yi, w) in enumerate(self.blocks):
                yield i, X, yi, w
            return
        for i, X, y, w in self.chunks:
            X = as_2d_array(X, f"X (chunk {i})")
            yl = _labels_1d(y, X.shape[0], f"y (chunk {i})")
            yi = _encode(yl, self.classes, f" (chunk {i})")
            w = check_sample_weight(w, X.shape[0])
            yield i, X, yi, _EMPTY_F if w is None else w
