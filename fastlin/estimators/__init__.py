"""scikit-learn-compatible estimators: thin classes holding accumulator states and
solutions.

- ``linear_model``: ``LinearRegression``, ``Ridge``, ``RidgeCV``;
- ``logistic``: ``LogisticRegression`` (L-BFGS, SGD);
- ``sgd_regressor``: ``SGDRegressor``;
- ``preprocessing``: ``StandardScaler``, ``PolynomialFeatures``, ``polynomial_gram``.

Estimators fold accumulators with the fold engine (:mod:`fastlin.io.fold`); they loop
over no rows and read no data source, backend or file format.
"""
