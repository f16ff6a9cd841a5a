"""Linear probe: how much class information can a linear read-out find in features?

``fastlin.linear_probe(H, labels, H_val, labels_val, alpha=...)`` fits a ridge read-out
(one-hot least squares with an unpenalised intercept) and scores it on held-out rows.
The features here are the outputs of a fixed random layer, relu(X W), on synthetic
digits, compared with raw pixels; the read-out is checked against the same ridge solved
with NumPy.

    python scripts/examples/11_linear_probe.py [--out DIR]
"""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import fastlin
from _gallery import parse_out, save

NAME = Path(__file__).stem
ALPHAS = [1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]


def numpy_probe(H, labels, H_val, alpha):
    """Ridge on centred features and one-hot targets: predicted classes of H_val."""
    classes = np.unique(labels)
    Y = (labels[:, None] == classes[None, :]).astype(float)
    mu, ybar = H.mean(0), Y.mean(0)
    Hc = H - mu
    B = np.linalg.solve(Hc.T @ Hc + alpha * np.eye(H.shape[1]), Hc.T @ (Y - ybar))
    return classes[np.argmax((H_val - mu) @ B + ybar, axis=1)]


def main(argv=None):
    args = parse_out(__doc__, argv)

    images, labels = fastlin.synthetic_digits(3000, seed=11)
    pixels = images / 255.0
    layer = np.random.default_rng(11).normal(size=(784, 128)) / np.sqrt(784)
    H = np.maximum(pixels @ layer, 0.0)
    train, val = slice(0, 2400), slice(2400, None)

    rows = []
    for alpha in ALPHAS:
        res = fastlin.linear_probe(H[train], labels[train], H[val], labels[val], alpha=alpha)
        ref = numpy_probe(H[train], labels[train], H[val], alpha)
        agree = np.mean(res.model.predict(H[val]).argmax(1) == np.searchsorted(res.classes, ref))
        print(f"{res}; NumPy ridge agrees on {100 * agree:.2f} % of held-out rows")
        # Identical read-outs up to rounding: only an exact tie could flip a row.
        assert agree >= 1 - 1 / 600
        np.testing.assert_allclose(res.accuracy, np.mean(ref == labels[val]), atol=1 / 600 + 1e-12)
        rows.append((alpha, res.train_accuracy, res.accuracy))
    raw = fastlin.linear_probe(pixels[train], labels[train], pixels[val], labels[val], alpha=10.0)
    print(f"raw pixels (784 features): {raw}")
    best = max(rows, key=lambda r: r[2])
    print(f"best alpha for the 128 random features: {best[0]:g} (held-out {100 * best[2]:.2f} %)")
    assert best[2] > 0.5, "random features of digits must carry class information"

    fig = Figure()
    ax = fig.add_subplot(1, 1, 1)
    a, tr, va = map(np.array, zip(*rows))
    ax.semilogx(a, 100 * tr, marker="o", label="train (random features)")
    ax.semilogx(a, 100 * va, marker="o", label="held out (random features)")
    ax.axhline(
        100 * raw.accuracy, color="gray", linestyle="--", label="held out, raw pixels, alpha = 10"
    )
    ax.set_xlabel("ridge alpha of the read-out")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("linear probe on relu(X W), 128 random units")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save(fig, args.out, NAME)


if __name__ == "__main__":
    main()
