"""Cholesky factorisation and solves: fastlin's kernels against SciPy (LAPACK dpotrf /
dpotrs).

Every call overwrites its input, so timers hand each one a fresh copy made outside the
timed region; SciPy gets Fortran-ordered copies and ``overwrite_*=True``, so that it
copies nothing either.
"""

import numpy as np
import scipy.linalg

from fastlin.kernels import cholesky as kch


def spd(rng, d):
    """A d x d symmetric positive definite matrix: the Gram matrix of 2d random rows plus a
    small ridge."""
    X = rng.standard_normal((2 * d, d))
    return X.T @ X / (2 * d) + 1e-3 * np.eye(d)


def fastlin_factor(a):
    assert kch.cholesky_inplace(a) == 0


def scipy_factor(a):
    scipy.linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False)


def fastlin_solve(L, b):
    """Solve with the factor ``L`` (C order, from ``fastlin_factor``) in place of ``b``."""
    kch.cholesky_solve_inplace(L, b)


def scipy_solve(Lf, b):
    """The same with ``Lf``, the factor in Fortran order, and a Fortran-ordered ``b``."""
    scipy.linalg.cho_solve((Lf, True), b, overwrite_b=True, check_finite=False)
