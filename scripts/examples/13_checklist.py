"""A final checklist: ``fastlin.diagnose`` and the ``fastlin report`` command.

The target depends on the square of feature 1, which a linear model misses. The
checklist (shapes, scaling, conditioning, regularisation, residual structure,
calibration, a degree-2 baseline) flags it on held-out rows; adding the squared feature
makes those checks pass. ``fastlin report`` writes the same checklist with its figures
for a saved model and data files.

    python scripts/examples/13_checklist.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

import fastlin
from _gallery import parse_out
from fastlin.edges import plot
from fastlin.edges.cli import main as fastlin_cli

NAME = Path(__file__).stem


def make_data(rng, n):
    X = rng.normal(size=(n, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + 2.0 * X[:, 1] ** 2 + 0.3 * rng.normal(size=n)
    return X, y


def main(argv=None):
    args = parse_out(__doc__, argv, what="the figure and the report")

    rng = np.random.default_rng(13)
    X, y = make_data(rng, 1500)
    X_val, y_val = make_data(rng, 500)
    linear = make_pipeline(fastlin.StandardScaler(), fastlin.RidgeCV(alphas=[0.01, 0.1, 1, 10]))
    linear.fit(X, y)
    report = fastlin.diagnose(linear, X, y, X_val=X_val, y_val=y_val)
    print(report)
    structure = report["residual structure"]
    baseline = report["nonlinear baseline"]
    assert report["shapes"].status == "pass" and report["scaling"].status == "pass"
    assert report["regularisation"].status == "pass"
    assert structure.status == "fail" and structure.details["feature"] == 1
    assert baseline.status == "fail"
    assert baseline.details["r2_baseline"] > baseline.details["r2_linear"] + 0.1

    r_val = y_val - linear.predict(X_val)
    square = (X_val[:, 1] - X_val[:, 1].mean()) ** 2
    corr = abs(np.corrcoef(r_val, square)[0, 1])
    # The baseline check refits plain least squares on the training rows (with a ridge
    # of 1e-6 of the mean variance, invisible at this tolerance) and scores it held out.
    A = np.c_[np.ones(len(y)), X]
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    sse = np.sum((y_val - np.c_[np.ones(len(y_val)), X_val] @ theta) ** 2)
    r2 = 1 - sse / np.sum((y_val - y_val.mean()) ** 2)
    print(
        f"\nNumPy on the held-out rows: |corr(residual, centred x1^2)| = {corr:.6f}, "
        f"least-squares R^2 = {r2:.6f}"
    )
    # The checklist accumulates the same sums in one pass, in a different order.
    np.testing.assert_allclose(structure.details["corr_residual_feature_sq"], corr, rtol=1e-8)
    np.testing.assert_allclose(baseline.details["r2_linear"], r2, rtol=1e-6)

    def with_square(A):
        return np.c_[A, A[:, 1] ** 2]

    fixed = make_pipeline(fastlin.StandardScaler(), fastlin.RidgeCV(alphas=[0.01, 0.1, 1, 10]))
    fixed.fit(with_square(X), y)
    report2 = fastlin.diagnose(fixed, with_square(X), y, X_val=with_square(X_val), y_val=y_val)
    print("\nwith x1^2 as a feature:")
    print(report2)
    assert report2["residual structure"].status == "pass"
    assert report2.status in ("pass", "warn")

    path = plot.plot_residuals(
        X_val[:, 1],
        r_val,
        args.out / f"{NAME}.png",
        xlabel="feature x1 (held-out rows)",
        title="the residual structure the checklist flagged",
    )
    print(f"wrote {path}")

    # The command-line report reads a saved model and data files.
    data = args.out / f"{NAME}_data"
    data.mkdir(parents=True, exist_ok=True)
    model = fastlin.LinearRegression().fit(X, y)
    model.save(data / "model.npz")
    np.save(data / "X.npy", X)
    np.save(data / "y.npy", y)
    report_dir = args.out / f"{NAME}_report"
    status = fastlin_cli(
        [
            "report",
            "-m",
            str(data / "model.npz"),
            "--data",
            str(data / "X.npy"),
            "--labels",
            str(data / "y.npy"),
            "-o",
            str(report_dir),
        ]
    )
    assert status == 1  # the straight-line model FAILs its checklist: exit status 1
    written = sorted(p.name for p in report_dir.iterdir())
    print(f"fastlin report wrote {', '.join(written)}")
    assert {"checklist.txt", "checklist.json", "residuals_vs_fitted.png"} <= set(written)


if __name__ == "__main__":
    main()
