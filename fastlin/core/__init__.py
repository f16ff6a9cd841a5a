"""Accumulators and solvers: the statistics every fit is made of.

- ``accumulator``: the protocol (``update``, ``merge``, ``finalize``, ``copy``,
  ``empty``, ``to_arrays`` / ``from_arrays``) every statistic implements;
- ``stats``: Gram statistics (``GramStats``); ``tsqr``: the TSQR factor (``QRStats``);
- ``solve``: the least-squares / ridge route from Gram statistics; ``refine``:
  refinement passes over the rows; ``path``: ridge paths and leave-one-out scores;
  ``conditioning``: condition reports; ``optim``: L-BFGS with a Newton-CG finish;
- ``losses``-side sums for problems too small for a kernel: ``losses_numpy``;
- ``inference``: classical and robust covariances, the robust pass's accumulators;
- ``calibration``: calibration histograms and scores; ``gradcheck``: gradient checks.

Modules here use the kernels and NumPy/SciPy; they know nothing of estimators, data
sources, backends or files.
"""
