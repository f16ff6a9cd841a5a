"""What ``SGDRegressor`` reads and how its epochs run: validated rows split into training
and validation rows (``_Chunk``), the optimiser's state, the stopping rule, and the passes
of a fit over rows in memory or over a chunk source (each epoch a sequential fold of the
chunks, driven by the fold engine)."""

from __future__ import annotations

import math

import numpy as np

from .._threads import n_threads, row_ranges
from .._validation import check_finite
from ..io.fold import fold
from ..kernels import squared_loss as _sq

_EMPTY_I = np.empty(0, dtype=np.int64)
_KERNEL_DTYPES = (np.uint8, np.float32, np.float64)
_PARTS_PER_THREAD = 2
_LARGEST_SQUARABLE = math.sqrt(np.finfo(np.float64).max)  # about 1.34e154


def _kernel_rows(X):
    """X as the kernels read it: uint8, float32 or float64 in C order, native byte order.

    Arrays already laid out so are returned as they are; others are copied (other
    dtypes to float64), since each layout and dtype would be one more compiled kernel.
    """
    if X.dtype.type in _KERNEL_DTYPES and X.dtype.isnative:
        return np.ascontiguousarray(X)
    return np.ascontiguousarray(X, dtype=np.float64)


def _check_values(arr, name, scale=1.0, search=True):
    """Refuse NaN, inf, and values whose squares overflow float64 (the loss squares
    residuals), from one minimum and one maximum of the array.

    Integer arrays are cleared by their dtype's range where it suffices. With
    ``search=False`` float arrays are left alone: the first pass over them shows whether
    they need looking at (see ``SGDRegressor._check_result``).
    """
    if arr.size == 0:
        return
    if arr.dtype.kind in "ui":
        info = np.iinfo(arr.dtype)
        if max(-float(info.min), float(info.max)) * scale < _LARGEST_SQUARABLE:
            return
    elif not search:
        return
    lo, hi = float(arr.min()), float(arr.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite(arr, name)  # names the first NaN or inf
    largest = max(-lo, hi) * scale
    if largest >= _LARGEST_SQUARABLE:
        scaled = " (times x_scale)" if scale != 1.0 else ""
        raise ValueError(
            f"{name} has values of magnitude {largest:.3g}{scaled}; squares of values above "
            f"{_LARGEST_SQUARABLE:.3g} overflow float64, so the squared loss cannot be formed. "
            f"Rescale {name}"
        )


def _part_bounds(m):
    """Boundaries of the parts a pass over m rows is split into (whole row blocks).

    A few parts per thread, but no part of fewer than ``MIN_PART_ROWS`` rows: a pass over
    fewer rows runs on one thread, where starting the others would cost more than it saves.
    """
    parts = max(1, min(_PARTS_PER_THREAD * n_threads(), m // _sq.MIN_PART_ROWS))
    return row_ranges(m, parts, _sq.BLOCK)


class _Chunk:
    """Validated rows of one fit or partial_fit call, their training/validation split, and
    the kernels' part layout and scratch for them.

    ``train`` is None when every row trains (the kernels then read X in order), else the
    sorted int64 training rows; ``val`` the validation rows (possibly empty).
    """

    def __init__(self, X, Y, w, scale, train, val, batch_size):
        self.X, self.Y, self.w, self.scale = X, Y, w, scale
        self.train, self.val = train, val
        self._order = None
        m = X.shape[0] if train is None else train.shape[0]
        self.m = m
        self.bs = m if batch_size is None else min(int(batch_size), m)
        self.steps = -(-m // self.bs)
        self.bounds_full = _part_bounds(self.bs)
        self.bounds_last = _part_bounds(m - (self.steps - 1) * self.bs)
        P = (
            max(
                self.bounds_full.shape[0],
                self.bounds_last.shape[0],
                _part_bounds(val.shape[0]).shape[0],
            )
            - 1
        )
        t, d = Y.shape[1], X.shape[1]
        self.G = np.zeros((P, t, d))
        self.gb = np.zeros((P, t))
        self.loss = np.zeros((P, 2))

    def order(self, rng, shuffle):
        """Positions the epoch's batches take, in turn (empty: the rows of X in order).

        A shuffled order starts from the rows in order every epoch, so that it depends on
        the epoch's seed alone (a fit's epochs and partial_fit calls then agree).
        """
        if not shuffle:
            return _EMPTY_I if self.train is None else self.train
        if self._order is None:
            self._order = np.empty(self.m, dtype=np.int64)
        if self.train is None:
            self._order[:] = np.arange(self.m)
        else:
            self._order[:] = self.train
        _sq.shuffle(self._order, int(rng.integers(2**63 - 1)))
        return self._order

    def validation_loss(self, W, b):
        """Weighted mean of ``0.5 r^2`` over the validation rows (nan when they weigh 0)."""
        total, wsum = self.validation_sums(W, b)
        return float(total / wsum) if wsum > 0 else math.nan

    def validation_sums(self, W, b):
        """(Σ w 0.5 r², Σ w) over the validation rows."""
        bounds = _part_bounds(self.val.shape[0])
        P = bounds.shape[0] - 1
        self.loss[:P] = 0.0
        _sq.loss_grad(
            self.X,
            self.Y,
            self.w,
            self.val,
            W,
            b,
            self.scale,
            bounds,
            False,
            self.G,
            self.gb,
            self.loss,
        )
        total, wsum = self.loss[:P].sum(axis=0)
        return float(total), float(wsum)


class _Stopper:
    """The ``tol`` / ``n_iter_no_change`` rule on a monitored loss.

    Stops once the loss has failed ``n_iter_no_change`` times in a row to fall below the
    best value so far minus ``tol``; remembers the coefficients of the best value when
    ``keep_best``. With ``tol=None`` it never stops.
    """

    def __init__(self, tol, patience, keep_best):
        self.tol = tol
        self.patience = patience
        self.keep_best = keep_best
        self.best = math.inf
        self.stall = 0
        self.best_params = None

    def update(self, value, W, b):
        if self.tol is None:
            return False
        self.stall = 0 if value < self.best - self.tol else self.stall + 1
        if value < self.best:
            self.best = value
            if self.keep_best:
                self.best_params = (W.copy(), b.copy())
        return self.stall >= self.patience


def _mean(total, weight):
    return float(total / weight) if weight > 0 else math.nan


class _ArrayPasses:
    """Epochs over rows in memory: one chunk, validated and split once."""

    def __init__(self, model, X, Y, y_1d, w):
        self.model = model
        self.rng = model._new_rng()
        self.chunk = model._chunk(X, Y, w, int(self.rng.integers(2**63 - 1)), 0)
        self.shape = (Y.shape[1], X.shape[1])
        self.steps = self.chunk.steps
        self.y_1d = y_1d

    def epoch(self, W, b, st, total, when):
        """(training loss, validation loss or NaN) of one epoch of steps."""
        model, chunk = self.model, self.chunk
        tr = _mean(*model._epoch(chunk, W, b, st, self.rng, total))
        va = chunk.validation_loss(W, b) if model.early_stopping else math.nan
        model._check_result(chunk, [tr] + ([va] if model.early_stopping else []), W, b, when)
        return tr, va

    def commit_names(self):
        pass  # scikit-learn's validation recorded the feature names of X


class _SourcePasses:
    """Epochs over a chunk source, read again for each: every epoch is a sequential
    fold of :class:`_SourceEpoch` over the chunks (the fold engine drives it)."""

    def __init__(self, model, source, chunk_rows, target_transform):
        self.model = model
        self.source = source
        self.options = dict(chunk_rows=chunk_rows, target_transform=target_transform)
        self.rng = model._new_rng()
        self.split_seed = int(self.rng.integers(2**63 - 1))
        # A first pass validates every chunk and counts the steps of an epoch (the
        # schedules' horizon) before any step is taken.
        scan = fold(
            source, _SourceEpoch(self, None, None, None, 0, "", train=False), **self.options
        )
        if scan.n_rows == 0:
            raise ValueError("the chunk source yielded no rows")
        if model.early_stopping and scan.val_chunks == 0:
            raise ValueError(
                "early_stopping holds out validation_fraction of each chunk's rows and "
                "needs chunks of at least 2 rows"
            )
        self.shape = scan.shape
        self.steps = scan.steps
        self.y_1d = scan.y_1d

    def epoch(self, W, b, st, total, when):
        state = fold(self.source, _SourceEpoch(self, W, b, st, total, when), **self.options)
        return _mean(state.train, state.train_w), _mean(state.val, state.val_w)

    def commit_names(self):
        names = getattr(self.source, "feature_names", None)
        if names is not None:
            self.model.feature_names_in_ = np.asarray(names, dtype=object)
        else:
            self.model.__dict__.pop("feature_names_in_", None)


class _SourceEpoch:
    """One epoch over the chunks in turn: each chunk is validated, split (seeded by its
    index), stepped through, and its validation loss added. Sequential (the steps are),
    so it has no merge."""

    def __init__(self, passes, W, b, st, total, when, train=True):
        self.passes, self.W, self.b, self.st = passes, W, b, st
        self.total, self.when, self.train_steps = total, when, train
        self.index = self.n_rows = self.steps = self.val_chunks = 0
        self.shape = self.y_1d = None
        self.train = self.train_w = self.val = self.val_w = 0.0

    def update(self, X, y=None, sample_weight=None):
        model = self.passes.model
        t, d = self.shape if self.shape is not None else (None, None)
        X, Y, y_1d, w = model._validate_data(X, y, sample_weight, d, t)
        if self.shape is None:
            self.shape, self.y_1d = (Y.shape[1], X.shape[1]), y_1d
        chunk = model._chunk(X, Y, w, self.passes.split_seed, self.index)
        self.index += 1
        self.n_rows += X.shape[0]
        self.steps += chunk.steps
        self.val_chunks += bool(chunk.val.shape[0])
        if not self.train_steps:
            return self
        losses = []
        if chunk.m:
            total, weight = model._epoch(
                chunk, self.W, self.b, self.st, self.passes.rng, self.total
            )
            self.train += total
            self.train_w += weight
            losses.append(_mean(total, weight))
        if model.early_stopping and chunk.val.shape[0]:
            total, weight = chunk.validation_sums(self.W, self.b)
            self.val += total
            self.val_w += weight
            losses.append(_mean(total, weight))
        model._check_result(chunk, losses, self.W, self.b, f"{self.when}, chunk {self.index}")
        return self
