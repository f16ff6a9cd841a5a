"""Gradient checking by central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import SupportsFloat

import numpy as np
from numpy.typing import ArrayLike


def check_grad(
    fun: Callable[[np.ndarray], SupportsFloat],
    grad: Callable[[np.ndarray], ArrayLike],
    w: ArrayLike,
    eps: float | None = None,
    return_errors: bool = False,
) -> float | tuple[float, np.ndarray]:
    """Largest relative error between ``grad(w)`` and a central-difference gradient of ``fun``.

    For each coordinate ``i`` the numerical derivative is
    ``(fun(w + h e_i) - fun(w - h e_i)) / (2 h)`` with ``h = eps * max(1, |w_i|)``, and the
    error is ``|g_i - n_i| / max(|g_i|, |n_i|, floor)``. ``floor`` is the central-difference
    noise level (``1000 * machine epsilon * max(1, |fun(w)|) / h``) so that coordinates whose derivative is
    zero or below the noise do not report a meaningless relative error.

    Parameters
    ----------
    fun : callable
        ``fun(w) -> float``.
    grad : callable
        ``grad(w) -> ndarray`` of the same shape as ``w``.
    w : array_like of float
        Point at which to compare; any shape (flattened for the differences).
    eps : float, optional
        Relative step; defaults to ``cbrt(machine epsilon)`` (about 6e-6), which balances
        truncation and rounding error for a central difference.
    return_errors : bool, default False
        Also return the per-coordinate relative errors, shaped like ``w``.

    Returns
    -------
    max_error : float
    errors : ndarray, only when ``return_errors``
    """
    w = np.array(w, dtype=np.float64, copy=True)
    shape = w.shape
    flat = w.reshape(-1)
    if eps is None:
        eps = np.finfo(np.float64).eps ** (1.0 / 3.0)
    g = np.asarray(grad(w.reshape(shape)), dtype=np.float64).reshape(-1)
    if g.shape != flat.shape:
        raise ValueError(f"grad(w) has {g.size} entries but w has {flat.size}")
    f0 = float(fun(w.reshape(shape)))
    num = np.empty_like(flat)
    floor = np.empty_like(flat)
    for i in range(flat.size):
        h = eps * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + h
        fp = float(fun(w.reshape(shape)))
        flat[i] = old - h
        fm = float(fun(w.reshape(shape)))
        flat[i] = old
        num[i] = (fp - fm) / (2.0 * h)
        floor[i] = 1e3 * np.finfo(np.float64).eps * max(1.0, abs(f0)) / h
    scale = np.maximum(np.maximum(np.abs(g), np.abs(num)), floor)
    errors = np.abs(g - num) / scale
    worst = float(errors.max()) if errors.size else 0.0
    if return_errors:
        return worst, errors.reshape(shape)
    return worst
