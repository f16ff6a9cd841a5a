"""scikit-learn-compatible estimators: thin classes that hold accumulator states and
solutions.

- ``linear_model``: ``LinearRegression``, ``Ridge`` (and their shared solve route);
  ``ridge_cv``: ``RidgeCV``;
- ``logistic``: ``LogisticRegression`` (L-BFGS, SGD); ``logistic_data``: its validated,
  encoded data;
- ``sgd_regressor``: ``SGDRegressor``; ``sgd_data``: its validated rows, optimiser state,
  stopping rule and the passes of a fit (epochs over a source are sequential folds);
- ``preprocessing``: ``StandardScaler``, ``PolynomialFeatures``, ``polynomial_gram``.

Estimators fold accumulators with the fold engine (:mod:`fastlin.io.fold`); they loop
over no rows and import no data source, backend or file format (``save`` and ``load``
call ``fastlin.save`` / ``fastlin.load``, whose file format lives in
:mod:`fastlin.edges.model_files`).
"""
