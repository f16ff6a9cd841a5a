"""Conditioning and scaling: units and offsets make a design look ill conditioned.

Temperature in degrees, pressure in pascal around 1e5 and a time stamp in seconds around
1.7e9: the raw design [1, X] has a condition number near 1e15, the time column is almost a
multiple of the intercept column, yet the centred and standardised design (what fastlin's
solvers factorise) is perfectly conditioned. ``fastlin.condition_report`` says all of
this from the Gram statistics; ``fastlin.StandardScaler`` removes the units, and the
predictions do not change.

    python scripts/examples/07_conditioning.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.pipeline import make_pipeline

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem
NAMES = ["temperature", "pressure", "time"]


def main(argv=None):
    args = parse_out(__doc__, argv)

    rng = np.random.default_rng(7)
    n = 200
    X = np.c_[rng.normal(20, 5, n), 1e5 + rng.normal(0, 300, n), 1.7e9 + 60.0 * np.arange(n)]
    y = 3 + 0.5 * X[:, 0] + 0.01 * (X[:, 1] - 1e5) + 1e-4 * (X[:, 2] - 1.7e9) + rng.normal(size=n)

    raw = fastlin.condition_report(fastlin.GramStats().update(X, y), feature_names=NAMES)
    print("raw design:")
    print(raw)
    A = np.c_[np.ones(n), X]
    cond_raw = np.linalg.cond(A)
    cond_belsley = np.linalg.cond(A / np.linalg.norm(A, axis=0))
    Z = (X - X.mean(0)) / X.std(0)
    cond_std = np.linalg.cond(Z)
    print(
        f"numpy (SVD of the rows): raw {cond_raw:.4g}, scaled {cond_belsley:.4g}, "
        f"standardised {cond_std:.4g}"
    )
    # From the Gram, eigenvalues carry an absolute error of ~eps * largest: a condition
    # number kappa comes out to ~eps * kappa^2 relative (1e6 -> 1e-4), and beyond ~1e8
    # only as a lower bound, which the report says.
    assert raw.lower_bound and raw.cond_raw <= cond_raw
    np.testing.assert_allclose(raw.cond_scaled, cond_belsley, rtol=1e-3)
    np.testing.assert_allclose(raw.cond_centred, cond_std, rtol=1e-10)
    assert raw.dependencies and set(raw.dependencies[0]["columns"]) == {"time", "(intercept)"}

    scaler = fastlin.StandardScaler().fit(X)
    np.testing.assert_allclose(scaler.mean_, X.mean(0), rtol=1e-14)
    np.testing.assert_allclose(scaler.scale_, X.std(0), rtol=1e-12)
    Xs = scaler.transform(X)
    scaled = fastlin.condition_report(fastlin.GramStats().update(Xs, y), feature_names=NAMES)
    print("\nstandardised design:")
    print(scaled)
    for value in (scaled.cond_raw, scaled.cond_scaled, scaled.cond_centred):
        np.testing.assert_allclose(value, np.linalg.cond(np.c_[np.ones(n), Xs]), rtol=1e-10)
    assert not scaled.dependencies and not scaled.ill_conditioned

    plain = fastlin.LinearRegression().fit(X, y)
    pipe = make_pipeline(fastlin.StandardScaler(), fastlin.LinearRegression()).fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), plain.predict(X), rtol=1e-10)
    coef_back = pipe[-1].coef_ / scaler.scale_
    np.testing.assert_allclose(coef_back, plain.coef_, rtol=1e-9)
    print(
        f"\nthe same model either way: coef per original unit {plain.coef_} "
        f"(solver {plain.solver_})"
    )

    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    labels = ["raw [1, X]", "columns scaled\n(Belsley)", "centred and\nstandardised"]
    pos = np.arange(3)
    ax.bar(
        pos - 0.2,
        [raw.cond_raw, raw.cond_scaled, raw.cond_centred],
        width=0.4,
        label="X as measured (raw: a lower bound)",
    )
    ax.bar(
        pos + 0.2,
        [scaled.cond_raw, scaled.cond_scaled, scaled.cond_centred],
        width=0.4,
        label="after StandardScaler",
    )
    ax.scatter(
        [0 - 0.2],
        [cond_raw],
        marker="*",
        s=120,
        color="black",
        zorder=3,
        label="raw, from the SVD of the rows",
    )
    ax.set_yscale("log")
    ax.set_xticks(pos, labels)
    ax.set_ylabel("condition number")
    ax.set_title("conditioning of a design with units and offsets")
    ax.legend()
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
