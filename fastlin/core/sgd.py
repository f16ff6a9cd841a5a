"""Mini-batch gradient descent on the logistic loss, one epoch at a time.

An epoch is a sequential fold over the chunks: ``data.fold(LogisticEpoch(...))`` feeds
the chunks in order, and every mini-batch step moves the coefficients, in place, from
where the previous step left them. That order is the algorithm, so an epoch has no
``merge``: it is folded by one driver, never split over blocks.

With early stopping, each chunk holds out a share of its rows for validation, chosen by
a generator seeded from (split seed, chunk index): the same rows in every epoch.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from .._threads import n_threads, row_ranges
from ..kernels import losses as _losses
from ..kernels import sgd as _sgd
from .losses import _EMPTY_F, _EMPTY_I, LossGradState, _Scratch

OPTIMIZERS = {"sgd": _sgd.SGD, "momentum": _sgd.MOMENTUM, "adam": _sgd.ADAM}
SCHEDULES = {"constant": _sgd.CONSTANT, "invscaling": _sgd.INVSCALING, "cosine": _sgd.COSINE}


@dataclasses.dataclass(frozen=True)
class StepRule:
    """How a step is taken: optimizer and schedule (keys of ``OPTIMIZERS`` and
    ``SCHEDULES``), their constants, and whether the intercept moves."""

    optimizer: str
    learning_rate: str
    eta0: float
    power_t: float
    momentum: float
    beta_1: float
    beta_2: float
    epsilon: float
    fit_intercept: bool


class OptimizerState:
    """What the optimizer carries from step to step: the step count, velocity (VW, Vb)
    and second moments (MW, Mb), each of the coefficients' shape (K, d) and (K,), and
    the kernels' scratch."""

    def __init__(self, K: int, d: int) -> None:
        self.t = 0
        self.VW, self.Vb = np.zeros((K, d)), np.zeros(K)
        self.MW, self.Mb = np.zeros((K, d)), np.zeros(K)
        self.scratch = _Scratch(d, K)  # allocated by the first step that uses it

    def copy(self) -> OptimizerState:
        """An independent copy (a call that fails can then leave the original as it was)."""
        return copy.deepcopy(self)


def split_rows(n, seed, chunk_index, validation_fraction):
    """(training rows, validation rows) of an n-row chunk, int64 indices. Without a
    ``validation_fraction`` every row trains; otherwise each row is held out with that
    probability (at least one held out and one kept when n >= 2)."""
    if not validation_fraction:
        return np.arange(n, dtype=np.int64), _EMPTY_I
    mask = np.random.default_rng([seed, chunk_index]).random(n) < float(validation_fraction)
    if n >= 2 and not mask.any():
        mask[n - 1] = True
    if mask.all():
        mask[0] = False
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)


class LogisticEpoch:
    """One epoch of mini-batch steps, folded over prepared chunks (``_fold(X, y_idx, w)``
    with rows validated and labels encoded as class indices).

    Parameters
    ----------
    W : (K, d) float64, b : (K,) float64
        The coefficients, updated in place by every step.
    multinomial : bool
        Softmax over K classes; otherwise a binary logit (K = 1).
    x_scale : float
        Multiplies X inside the kernels (1/255 for bytes read as [0, 1]).
    rule : StepRule
    state : OptimizerState
    alpha : float
        L2 penalty per unit of weight.
    rng : numpy Generator
        Shuffles each chunk's training rows (with ``shuffle``).
    split_seed : int
    total_steps : int
        Steps planned in the whole fit (the cosine schedule's horizon).
    batch_size : int
    shuffle : bool
    validation_fraction : float
        0 for no validation rows.
    train : bool
        False evaluates the validation loss only.
    """

    def __init__(
        self,
        W,
        b,
        multinomial,
        x_scale,
        rule,
        state,
        alpha,
        rng,
        split_seed,
        total_steps,
        *,
        batch_size,
        shuffle,
        validation_fraction,
        train=True,
    ):
        self.W, self.b = W, b
        self.multinomial = bool(multinomial)
        self.x_scale = float(x_scale)
        self.rule, self.state = rule, state
        self.alpha = float(alpha)
        self.rng = rng
        self.split_seed = split_seed
        self.total_steps = int(total_steps)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.validation_fraction = float(validation_fraction)
        self.train = bool(train)
        self.chunks = 0
        self.train_loss = self.train_weight = 0.0
        self.val_loss = self.val_weight = 0.0

    def _fold(self, X, y_idx, w):
        """Steps over one chunk's training rows, then its validation loss (``w`` None or
        empty for unit weights)."""
        w = _EMPTY_F if w is None else w
        train_rows, val_rows = split_rows(
            X.shape[0], self.split_seed, self.chunks, self.validation_fraction
        )
        self.chunks += 1
        if self.train:
            order = self.rng.permutation(train_rows) if self.shuffle else train_rows
            for s0 in range(0, order.shape[0], self.batch_size):
                self._step(X, y_idx, w, order[s0 : s0 + self.batch_size])
        if val_rows.shape[0]:
            vs = LossGradState(
                self.W, self.b, self.multinomial, self.x_scale, False, self.state.scratch
            )
            vs._fold(X, y_idx, w if w.size else None, val_rows)
            self.val_loss += vs.loss_sum
            self.val_weight += vs.weight_sum
        return self

    def _step(self, X, y_idx, w, rows):
        r, st = self.rule, self.state
        bounds = row_ranges(rows.shape[0], n_threads(), 8)
        P = bounds.shape[0] - 1
        sc = st.scratch.get(P)
        sc.zero(P)
        _losses.loss_grad(
            X,
            y_idx,
            w,
            rows,
            self.W,
            self.b,
            self.x_scale,
            bounds,
            self.multinomial,
            True,
            sc.A,
            sc.Z,
            sc.G,
            sc.gb,
            sc.loss,
        )
        sw = float(sc.loss[:P, 1].sum())
        self.train_loss += float(sc.loss[:P, 0].sum())
        self.train_weight += sw
        if sw <= 0:
            return
        lr = _sgd.learning_rate(
            SCHEDULES[r.learning_rate], r.eta0, st.t, self.total_steps, r.power_t
        )
        _sgd.apply_step(
            sc.G[:P],
            sc.gb[:P],
            sw,
            self.W,
            self.b,
            OPTIMIZERS[r.optimizer],
            lr,
            self.alpha,
            r.fit_intercept,
            r.momentum,
            r.beta_1,
            r.beta_2,
            r.epsilon,
            st.t,
            st.VW,
            st.Vb,
            st.MW,
            st.Mb,
        )
        st.t += 1

    def finalize(self):
        """(penalised mean training loss, validation loss sum, validation weight); the
        training loss is NaN when no row trained."""
        pen = 0.5 * self.alpha * float(np.vdot(self.W, self.W))
        tw = self.train_weight
        train = self.train_loss / tw + pen if tw > 0 else float("nan")
        return train, self.val_loss, self.val_weight
