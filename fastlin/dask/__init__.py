"""Fitting on Dask arrays: one accumulator per block of rows, tree-merged, solved locally.

Every statistic in fastlin is a mergeable accumulator, so a Dask array is fitted the way
a file is streamed: each block of rows is folded into a fresh state on the worker that
holds it (the same Numba kernels as in memory), the states are merged in a tree of
``merge`` tasks, and the last, small state is finalized on the client. Only the states
cross the network (for least squares the d x d Gram statistics, whatever the number of
rows), never the rows themselves.

- :func:`gram_stats`, :func:`qr_stats`, :func:`moments`, :func:`calibration_stats`
  return merged accumulators (``compute=False`` returns a ``dask.delayed`` object).
- :func:`fit` fits a fastlin estimator (``LinearRegression``, ``Ridge``,
  ``LogisticRegression(solver="lbfgs")``, ``StandardScaler``) on Dask arrays;
  :func:`predict`, :func:`predict_proba`, :func:`decision_function` and
  :func:`transform` return Dask arrays (``map_blocks``).
- :class:`DaskLinearRegression`, :class:`DaskRidge`, :class:`DaskLogisticRegression`
  and :class:`DaskStandardScaler` are the estimators with those functions behind
  ``fit`` and ``predict`` for Dask input (NumPy input takes the in-memory path).

Blocks already persisted on a distributed cluster are folded by one task per worker
thread over the blocks that worker holds (a fixed grouping read from the scheduler), so
that no task waits in a queue where Dask's work stealing could move it, with its input
rows, to another worker. Blocks computed as part of the fit are folded where they are
produced.

Logistic regression (L-BFGS) needs many passes: each objective/gradient evaluation is one
distributed pass of the fused loss/gradient kernel over every block, the coefficients are
broadcast to the workers once per evaluation and only (loss, weight, gradient) comes back.
The data are persisted in the workers' memory for the passes unless ``persist=False``.

Chunking rules
--------------
- Each block must hold whole rows: X may be split into any number of row chunks but a
  single column chunk. Otherwise ``ValueError`` tells you to ``X.rechunk({1: -1})``;
  the rows are never regrouped silently.
- y and sample_weight must have the same row chunks as X (``ValueError`` naming the
  first chunk that differs, and the ``rechunk`` that fixes it).
- Unknown (NaN) row-chunk sizes, as from a Dask DataFrame's ``.values``, are accepted
  without computing them: every block checks on its worker that X, y and the weights
  have the same number of rows and raises ``ValueError`` naming the block otherwise. An
  unknown number of columns is refused (``ValueError``).

The computation runs on the current Dask scheduler: the ``distributed.Client`` made
last (``Client("tcp://scheduler:8786")`` for an existing cluster) or Dask's local one.
"""

from .estimators import DaskLinearRegression, DaskLogisticRegression, DaskRidge, DaskStandardScaler
from .fitting import fit
from .predict import decision_function, predict, predict_proba, transform
from .statistics import calibration_stats, fold, gram_stats, moments, qr_stats

__all__ = [
    "fold",
    "gram_stats",
    "qr_stats",
    "moments",
    "calibration_stats",
    "fit",
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "DaskLinearRegression",
    "DaskRidge",
    "DaskLogisticRegression",
    "DaskStandardScaler",
]
