"""Accumulators and solvers: the statistics every fit is made of.

- ``accumulator``: the protocol every statistic implements (``update``, ``merge``,
  ``finalize``, ``copy``, ``empty``, ``to_arrays`` / ``from_arrays``);
- ``stats``: Gram statistics (``GramStats``); ``tsqr``: the TSQR factor (``QRStats``);
  ``moments``: per-column moments (``Moments``) and centred co-moments of columns with
  targets (``CoMoments``); ``Mapped`` (in ``accumulator``) feeds any of them a
  function of the rows;
- ``losses``: the logistic loss, gradient and Hessian products (``LossGradState``,
  ``HesspState``) and the objective L-BFGS minimises; ``losses_numpy``: the same sums in
  NumPy for problems too small to pay for a kernel; ``sgd``: mini-batch epochs, each a
  sequential fold over the chunks (``LogisticEpoch``);
- ``solve``: the least-squares / ridge route from Gram statistics; ``refine``:
  refinement passes over the rows; ``path``: ridge paths and leave-one-out scores;
  ``optim``: L-BFGS with a Newton-CG finish; ``conditioning``: condition reports;
- ``inference``: classical and robust covariances and their results;
  ``inference_stats``: the passes over the rows they take (``SandwichStats``,
  ``LogitHessianStats``);
- ``calibration``: calibration histograms and scores; ``gradcheck``: gradient checks.

Modules here use the kernels, NumPy and SciPy; they know nothing of estimators, data
sources, backends or files.
"""
