"""``fit``: the estimators on Dask arrays, each by its in-memory route (the same
accumulators, solvers and minimiser)."""

import copy
import math

import numpy as np

from .._validation import as_2d_array, check_finite, check_sample_weight
from ..estimators.linear_model import _GramRegressor
from ..estimators.logistic import LogisticRegression
from ..estimators.preprocessing import StandardScaler
from .arrays import (
    _aligned,
    _as_X,
    _as_rows,
    _check_rows,
    _dask,
    _named,
    _row_blocks,
    _to_dask_array,
)
from .reduce import _local_groups, _reduce
from .statistics import fold, gram_stats


def fit(
    model, X, y=None, sample_weight=None, *, split_every=None, kernel_threads=None, persist=True
):
    """Fit a fastlin estimator on Dask arrays, in place.

    Parameters
    ----------
    model : fastlin LinearRegression, Ridge, LogisticRegression or StandardScaler
    X : dask.array.Array of shape (n_samples, n_features), or a Dask DataFrame
    y : dask.array.Array of shape (n_samples,) (or (n_samples, n_targets) for least
        squares); not used by StandardScaler
    sample_weight : dask.array.Array of shape (n_samples,), optional
    split_every, kernel_threads : see :func:`gram_stats`
    persist : bool, default True
        LogisticRegression only: keep X, the encoded labels and the weights in the
        workers' memory for the L-BFGS passes. False recomputes the blocks from their
        source at every pass (constant memory on the workers, one read per pass).

    Returns
    -------
    model
    """
    opts = dict(split_every=split_every, kernel_threads=kernel_threads)
    names = X
    X, y, sample_weight = _aligned(X, y, sample_weight)
    if isinstance(model, _GramRegressor):
        model._check_params()
        if y is None:
            raise ValueError(f"{type(model).__name__} needs y")
        stats = gram_stats(X, y, sample_weight, **opts)
        y_nd = _to_dask_array(y, "y")
        y_1d = (np.ndim(y) if y_nd is None else y_nd.ndim) == 1
        # The same route as in memory: refinement or TSQR passes, where the solve asks
        # for them, fold their accumulators over the blocks where they live.
        return _named(
            model.fit_stats(
                stats, y_1d=y_1d, fold=lambda state: fold(X, state, y, sample_weight, **opts)
            ),
            names,
        )
    if isinstance(model, LogisticRegression):
        return _named(_fit_logistic(model, X, y, sample_weight, persist=persist, **opts), names)
    if isinstance(model, StandardScaler):
        return _named(_fit_scaler(model, X, sample_weight, **opts), names)
    raise TypeError(
        f"fastlin.dask.fit supports LinearRegression, Ridge, LogisticRegression and "
        f"StandardScaler, got {type(model).__name__}"
    )


# -- scaler ------------------------------------------------------------------------------


def _scaler_block(i, X, w, params):
    from ..estimators.preprocessing import StandardScaler

    _check_rows(i, X, sample_weight=w)
    return StandardScaler(**params).fit(X, sample_weight=w)


def _merge_scalers(*scalers):
    out = copy.deepcopy(scalers[0])
    for s in scalers[1:]:
        out.merge(s)
    return out


def _fit_scaler(model, X, sample_weight, *, split_every, kernel_threads):
    Xd = _as_X(X)
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    params = model.get_params()
    total = _reduce(
        _scaler_block,
        (Xd, wd),
        _merge_scalers,
        split_every=split_every,
        kernel_threads=kernel_threads,
        compute=True,
        extra=(params,),
    )
    # ``total`` has the same parameters, so its fitted state is the model's.
    fitted = {k: v for k, v in vars(total).items() if k not in params}
    for k in [k for k in vars(model) if k.endswith("_") and k not in params]:
        delattr(model, k)
    vars(model).update(fitted)
    return model


# -- logistic regression -------------------------------------------------------------------


def _label_block(i, X, y, w):
    """First pass, per block: validate, and return (labels present, rows, weight sum)."""
    from ..estimators.logistic_data import _labels_1d

    _check_rows(i, X, y=y, sample_weight=w)
    X = as_2d_array(X, f"X (row block {i})")
    check_finite(X, f"X (row block {i})")
    yl = _labels_1d(y, X.shape[0], f"y (row block {i})")
    w = check_sample_weight(w, X.shape[0])
    return np.unique(yl), X.shape[0], float(X.shape[0] if w is None else w.sum())


def _merge_labels(*parts):
    labels = np.unique(np.concatenate([p[0] for p in parts]))
    return labels, sum(p[1] for p in parts), math.fsum(p[2] for p in parts)


def _encode_block(y, classes):
    from ..estimators.logistic_data import _encode, _labels_1d

    return _encode(_labels_1d(y, np.shape(y)[0]), classes)


def _loss_grad_block(i, X, yi, w, theta, K, d, fit_b, multinomial, x_scale):
    from ..core.losses import LossGradState

    W = theta[: K * d].reshape(K, d)
    b = theta[K * d :] if fit_b else np.zeros(K)
    state = LossGradState(W, b, multinomial, x_scale, True)
    w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    state._fold(as_2d_array(X), yi, w)  # validated by the label pass
    # The sums only: the state also holds per-thread scratch that must not travel.
    return state.finalize()


def _hessp_block(i, X, yi, w, theta_v, K, d, fit_b, multinomial, x_scale):
    from ..core.losses import HesspState

    theta, v = theta_v
    W = theta[: K * d].reshape(K, d)
    V = v[: K * d].reshape(K, d)
    b = theta[K * d :] if fit_b else np.zeros(K)
    vb = v[K * d :] if fit_b else np.zeros(K)
    w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    return HesspState(W, b, V, vb, multinomial, x_scale)._fold(as_2d_array(X), None, w).finalize()


def _merge_sums(*parts):
    """Element-wise sum of equal-shaped tuples of numbers and arrays (inputs unchanged)."""
    total = [np.copy(v) if isinstance(v, np.ndarray) else v for v in parts[0]]
    for p in parts[1:]:
        for i, v in enumerate(p):
            total[i] += v
    return tuple(total)


def _broadcast(value, attempts=3):
    """``value`` once per worker: scattered with a distributed client, else in the graph.

    A worker lost while the value is being broadcast fails the scatter with a closed
    connection (``CommClosedError``, an ``OSError``): the scatter is tried again on the
    workers that remain, and after ``attempts`` failures the value goes into the graph,
    from where the scheduler ships it to whichever worker runs a task.
    """
    dask, _ = _dask()
    if dask.config.get("scheduler", None) == "dask.distributed":
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return dask.delayed(value)
        for _ in range(attempts):
            try:
                return client.scatter(value, broadcast=True, hash=False)
            except OSError:
                continue
    return dask.delayed(value)


def _fit_logistic(model, X, y, sample_weight, *, persist, split_every, kernel_threads):
    from ..core.losses import fit_lbfgs

    dask, _ = _dask()
    model._check_params()
    if model.solver != "lbfgs":
        raise ValueError(
            f"on Dask arrays LogisticRegression supports solver='lbfgs' only, "
            f"got solver={model.solver!r}"
        )
    Xd = _as_X(X)
    if y is None:
        raise ValueError("LogisticRegression needs y")
    yd = _as_rows(y, Xd, "y")
    if yd.ndim == 2:
        if yd.shape[1] != 1:
            raise ValueError(f"y must be 1-D of shape (n_samples,), got shape {yd.shape}")
        yd = yd[:, 0]
    wd = _as_rows(sample_weight, Xd, "sample_weight", ndims=(1,))
    opts = dict(split_every=split_every, kernel_threads=kernel_threads)

    classes, _, sw_sum = _reduce(_label_block, (Xd, yd, wd), _merge_labels, compute=True, **opts)
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); logistic regression needs at least two"
            if classes.shape[0] == 1
            else "y has no labels"
        )
    if not sw_sum > 0:
        raise ValueError("sample_weight sums to zero; need positive total weight")
    K = 1 if classes.shape[0] == 2 else classes.shape[0]
    d = int(Xd.shape[1])
    multinomial = K > 1
    yi = yd.map_blocks(_encode_block, classes, dtype=np.int64)
    if wd is not None:
        wd = wd.astype(np.float64)
    groups = None
    if persist:
        Xd, yi, wd = dask.persist(Xd, yi, wd)
        # One task per worker thread over the blocks it holds, fixed for the whole fit.
        groups = _local_groups(Xd, wait=True)
    blocks = (_row_blocks(Xd), _row_blocks(yi), _row_blocks(wd))

    W0 = np.zeros((K, d))
    b0 = np.zeros(K)
    if (
        model.warm_start
        and hasattr(model, "coef_")
        and model.coef_.shape == (K, d)
        and np.array_equal(model.classes_, classes)
    ):
        W0[:] = model.coef_
        b0[:] = model.intercept_
    fit_b = bool(model.fit_intercept)
    x_scale = float(model.x_scale)

    def data_term(theta, W, b):
        shared = _broadcast(np.array(theta, dtype=np.float64))
        loss, _, gW, gb = _reduce(
            _loss_grad_block,
            blocks,
            _merge_sums,
            compute=True,
            extra=(shared, K, d, fit_b, multinomial, x_scale),
            groups=groups,
            **opts,
        )
        return loss, gW, gb

    def data_hessp(W, b, V, vb):
        theta_v = np.stack([np.concatenate([W.ravel(), b]), np.concatenate([V.ravel(), vb])])
        return _reduce(
            _hessp_block,
            blocks,
            _merge_sums,
            compute=True,
            extra=(_broadcast(theta_v), K, d, fit_b, multinomial, x_scale),
            groups=groups,
            **opts,
        )

    # The same objective, Hessian products and minimiser as LogisticRegression.fit in memory.
    history = []
    W, b, fval, n_iter = fit_lbfgs(
        data_term,
        data_hessp,
        K,
        d,
        model.C,
        sw_sum,
        fit_b,
        W0,
        b0,
        max_iter=model.max_iter,
        tol=float(model.tol if model.tol is not None else 0.0),
        memory=model.lbfgs_memory,
        callback=history.append,
    )
    model._commit(classes, W, b, d)
    model.n_iter_ = np.array([n_iter])
    model.objective_ = fval
    model.loss_history_ = {"train": np.asarray(history), "validation": np.empty(0)}
    return model
