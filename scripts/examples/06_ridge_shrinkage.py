"""Ridge shrinkage: (X^T X + alpha I) beta = X^T y pulls the coefficients towards zero.

Four rows, the ones column treated as an ordinary (penalised) feature and no separate
intercept. The coefficients for alpha = 0, 0.1, 1, 10 are the known values; the norm of
beta falls as alpha grows although a single coefficient need not (the first one rises
before it falls). ``fastlin.ridge_path`` gives the whole path from one
eigendecomposition of the Gram matrix.

    python scripts/examples/06_ridge_shrinkage.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem
KNOWN = {0.0: [0.2, 0.94], 0.1: [0.2144, 0.9321], 1.0: [0.2582, 0.8909], 10.0: [0.2304, 0.6974]}


def main(argv=None):
    args = parse_out(__doc__, argv)

    X = np.array([[1, 1], [1, 2], [1, 3], [1, 4]], dtype=float)
    y = np.array([1.2, 1.9, 3.2, 3.9])
    norms = []
    for alpha, known in KNOWN.items():
        coef = fastlin.Ridge(alpha=alpha, fit_intercept=False).fit(X, y).coef_
        ref = np.linalg.solve(X.T @ X + alpha * np.eye(2), X.T @ y)
        norms.append(np.linalg.norm(coef))
        print(f"alpha {alpha:5.1f}: coef [{coef[0]:.4f}, {coef[1]:.4f}], |coef| {norms[-1]:.4f}")
        np.testing.assert_allclose(coef, ref, rtol=1e-10)
        # The known values are rounded to 4 decimals.
        np.testing.assert_allclose(coef, known, atol=5e-5)
    assert norms == sorted(norms, reverse=True), "the norm must shrink as alpha grows"

    alphas = np.logspace(-3, 3, 61)
    stats = fastlin.GramStats().update(X, y)
    path_coefs, _ = fastlin.ridge_path(stats, alphas, fit_intercept=False)
    path_coefs = path_coefs[:, 0, :]
    ref = np.stack([np.linalg.solve(X.T @ X + a * np.eye(2), X.T @ y) for a in alphas])
    np.testing.assert_allclose(path_coefs, ref, rtol=1e-9, atol=1e-12)
    peak = alphas[np.argmax(path_coefs[:, 0])]
    print(
        f"ridge_path over {alphas.size} alphas matches numpy.linalg.solve; the first "
        f"coefficient peaks near alpha = {peak:.3g}"
    )

    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    for j, name in enumerate(["the ones column", "x"]):
        ax.semilogx(alphas, path_coefs[:, j], label=f"coefficient of {name}")
        ax.scatter(
            [a for a in KNOWN if a > 0],
            [KNOWN[a][j] for a in KNOWN if a > 0],
            color="black",
            zorder=3,
        )
    ax.semilogx(
        alphas, np.linalg.norm(path_coefs, axis=1), color="gray", linestyle="--", label="|coef|"
    )
    ax.set_xlabel("alpha")
    ax.set_ylabel("coefficient")
    ax.set_title("ridge path (dots: alpha = 0.1, 1, 10)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
