"""MNIST loading, synthetic digits, one-hot targets."""

import gzip
import shutil

import numpy as np
import pytest

import naive_io as nio
from fastlin.io.datasets import (
    MNIST,
    MNISTNotFoundError,
    SyntheticDigits,
    load_mnist,
    load_mnist_test,
    make_synthetic_digits,
    one_hot,
    synthetic_digits,
)
from fastlin.io import IDXFormatError, IDXSource, LabelError

MNIST_FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# --------------------------------------------------------------------------- one-hot


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_one_hot(dtype):
    y = np.array([2, 0, 1, 2], dtype=np.uint8)
    Y = one_hot(y, dtype=dtype)
    assert Y.dtype == dtype and Y.shape == (4, 3)
    np.testing.assert_array_equal(Y, np.eye(3, dtype=dtype)[y])
    assert one_hot(y, n_classes=10).shape == (4, 10)
    assert one_hot(np.array([1.0, 0.0])).shape == (2, 2)
    assert one_hot(np.zeros(0, np.int64), n_classes=3).shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"labels\[1\] = 10 is out of range"):
        one_hot([3, 10], n_classes=10)
    with pytest.raises(ValueError, match="out of range"):
        one_hot([-1, 2])
    with pytest.raises(ValueError, match="integers"):
        one_hot([0.5, 1.0])
    with pytest.raises(ValueError, match="1-D"):
        one_hot(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="n_classes"):
        one_hot([0, 1], n_classes=0)


# --------------------------------------------------------------------------- synthetic digits


def test_synthetic_is_deterministic_and_seeded():
    X1, y1 = synthetic_digits(300, seed=5)
    X2, y2 = synthetic_digits(300, seed=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = synthetic_digits(300, seed=6)
    assert not np.array_equal(X1, X3) and not np.array_equal(y1, y3)
    Xt, _ = synthetic_digits(300, seed=5, split="test")
    assert not np.array_equal(X1, Xt)
    assert X1.shape == (300, 784) and X1.dtype == np.uint8 and y1.dtype == np.uint8
    assert set(np.unique(y1)) == set(range(10))


def test_synthetic_rows_do_not_depend_on_n_or_chunking():
    X, y = synthetic_digits(1100, seed=1)  # crosses the internal block boundary
    Xs, ys = synthetic_digits(40, seed=1, start=1010)
    np.testing.assert_array_equal(Xs, X[1010:1050])
    np.testing.assert_array_equal(ys, y[1010:1050])
    src = SyntheticDigits(1100, seed=1)
    assert src.shape == (1100, 784) and src.n_classes == 10 and src.has_targets
    Xc, yc = nio.concat_chunks(src.iter_chunks(333, start_row=500))
    np.testing.assert_array_equal(Xc, X[500:])
    np.testing.assert_array_equal(yc, y[500:])
    np.testing.assert_array_equal(src.targets(), y)
    assert src.identity()["X"]["seed"] == 1


def test_synthetic_images_look_like_mnist():
    X, y = synthetic_digits(1000, seed=0)
    img = X.reshape(-1, 28, 28)
    # The outer ring is always zero; strokes are saturated in the middle, sparse overall.
    assert not img[:, 0].any() and not img[:, -1].any()
    assert not img[:, :, 0].any() and not img[:, :, -1].any()
    assert 0.12 < (X > 0).mean() < 0.3
    assert (X == 255).any() and ((X > 0) & (X < 128)).any()
    assert 20 < X.mean() < 50
    # Every image has ink.
    assert (X.max(axis=1) > 200).all()


def test_synthetic_linear_accuracy_is_realistic():
    X, y = synthetic_digits(4000, seed=0)
    A = np.c_[X.astype(np.float64), np.ones(len(X))]
    W = np.linalg.lstsq(A[:3000], one_hot(y[:3000], 10), rcond=None)[0]
    train = (np.argmax(A[:3000] @ W, 1) == y[:3000]).mean()
    test = (np.argmax(A[3000:] @ W, 1) == y[3000:]).mean()
    # Real MNIST gives about 0.78 held-out for this fit on 3000 rows; chance is 0.1.
    assert 0.65 < test < 0.93
    assert test < train < 1.0


@pytest.mark.parametrize("compress", [False, True])
def test_make_synthetic_digits(tmp_path, compress):
    m = make_synthetic_digits(
        tmp_path, n_train=300, n_test=120, seed=2, compress=compress, chunk_rows=128
    )
    assert isinstance(m, MNIST) and isinstance(m.train, IDXSource)
    assert m.train.compressed == compress and m.train.n_classes == 10
    X, y = m.train.read_all()
    Xr, yr = synthetic_digits(300, seed=2)
    np.testing.assert_array_equal(X, Xr)
    np.testing.assert_array_equal(y, yr)
    Xt, yt = m.test.read_all()
    np.testing.assert_array_equal(Xt, synthetic_digits(120, seed=2, split="test")[0])
    again = load_mnist(tmp_path, as_arrays=True)
    np.testing.assert_array_equal(again.test[1], yt)
    # Writing the other variant next to these files would leave two candidates.
    with pytest.raises(ValueError, match="exists"):
        make_synthetic_digits(tmp_path, n_train=10, n_test=10, compress=not compress)


def test_make_synthetic_test_only(tmp_path):
    m = make_synthetic_digits(tmp_path, n_train=0, n_test=50)
    assert m.train is None and m.test.n_rows == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]


def test_synthetic_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="split"):
        synthetic_digits(3, split="val")
    with pytest.raises(ValueError, match="n must be"):
        synthetic_digits(-1)
    with pytest.raises(ValueError, match="seed"):
        SyntheticDigits(3, seed=-2)
    assert synthetic_digits(0)[0].shape == (0, 784)


# --------------------------------------------------------------------------- MNIST


def test_load_mnist_real_test_set(mnist_dir):
    with pytest.raises(MNISTNotFoundError) as e:
        load_mnist(mnist_dir)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert str(mnist_dir.resolve()) in msg and "http" in msg and "subset='test'" in msg
    m = load_mnist(mnist_dir, subset="test")
    assert m.train is None and m.test.shape == (10000, 784) and m.test.item_shape == (28, 28)
    assert list(m.test.targets()[:10]) == MNIST_FIRST_LABELS
    test = load_mnist_test(mnist_dir)
    ((X0, y0),) = [next(test.iter_chunks(10))]
    assert X0.shape == (10, 784) and list(y0) == MNIST_FIRST_LABELS


def test_load_mnist_arrays_and_env(mnist_dir, monkeypatch):
    monkeypatch.setenv("FASTLIN_MNIST_DIR", str(mnist_dir))
    X, y = load_mnist(subset="test", as_arrays=True).test
    assert X.shape == (10000, 784) and X.dtype == np.uint8 and y.shape == (10000,)
    assert list(y[:10]) == MNIST_FIRST_LABELS and 30 < X.mean() < 40


def test_load_mnist_prefers_raw_and_accepts_dotted_names(mnist_dir, tmp_path):
    with (
        gzip.open(mnist_dir / "t10k-labels-idx1-ubyte.gz") as f,
        open(tmp_path / "t10k-labels.idx1-ubyte", "wb") as g,
    ):
        shutil.copyfileobj(f, g)
    shutil.copy(mnist_dir / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-images-idx3-ubyte.gz")
    src = load_mnist_test(tmp_path)
    assert src.compressed and list(src.targets()[:10]) == MNIST_FIRST_LABELS


def test_load_mnist_missing(tmp_path, monkeypatch):
    with pytest.raises(MNISTNotFoundError, match="not found"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(
        MNISTNotFoundError, match=r"t10k-images-idx3-ubyte \(or t10k-images-idx3-ubyte.gz\)"
    ):
        load_mnist(tmp_path, subset="test")
    monkeypatch.delenv("FASTLIN_MNIST_DIR", raising=False)
    with pytest.raises(MNISTNotFoundError, match="FASTLIN_MNIST_DIR"):
        load_mnist()
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="both")


def test_load_mnist_bad_files(tmp_path, rng):
    X = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=20, dtype=np.uint8)
    y[4] = 11
    nio.write_file(tmp_path / "t10k-images-idx3-ubyte", X)
    nio.write_file(tmp_path / "t10k-labels-idx1-ubyte.gz", y, gz=True)
    with pytest.raises(LabelError, match="label 11 at row 4"):
        load_mnist_test(tmp_path)
    y[4] = 9
    nio.write_file(tmp_path / "t10k-labels-idx1-ubyte.gz", y, gz=True)
    assert load_mnist_test(tmp_path).n_rows == 20
    nio.write_file(tmp_path / "t10k-images-idx3-ubyte", X.reshape(20, 16, 49))
    with pytest.raises(IDXFormatError, match=r"\(n, 28, 28\)"):
        load_mnist_test(tmp_path)


def _render_inputs(n, seed):
    from fastlin.io import datasets as D
    from fastlin.kernels import synth

    rng = np.random.default_rng(seed)
    pts, wts, cls, trig = D._templates()
    style = rng.integers(0, len(cls), size=n)
    prm = np.zeros((n, synth.N_PARAMS))
    prm[:, synth.P_WOBBLE : synth.P_WOBBLE + 6] = rng.normal(0, 0.08, (n, 6))
    prm[:, synth.P_PHASE : synth.P_PHASE + 6] = rng.uniform(0, 2 * np.pi, (n, 6))
    prm[:, synth.P_WARP : synth.P_WARP + 6] = rng.normal(0, 0.06, (n, 6))
    prm[:, synth.P_SLANT] = rng.normal(0, 0.3, n)
    prm[:, synth.P_ROT] = rng.normal(0, 0.2, n)
    prm[:, synth.P_SX] = rng.uniform(0.8, 1.2, n)
    prm[:, synth.P_SY] = rng.uniform(0.8, 1.2, n)
    prm[:, synth.P_SHIFT : synth.P_SHIFT + 2] = rng.normal(0, 3.0, (n, 2))  # some ink off the edge
    prm[:, synth.P_INK] = rng.uniform(0.8, 1.2, n)
    prm[:, synth.P_SIGMA] = rng.uniform(0.5, 1.6, n)
    prm[:, synth.P_GAIN] = rng.uniform(4, 10, n)
    return pts, wts, trig, style, prm


@pytest.mark.parametrize("n_parts", [1, 2, 3])
def test_render_kernel_matches_reference(n_parts):
    from fastlin._threads import row_ranges
    from fastlin.kernels import synth

    pts, wts, trig, style, prm = _render_inputs(12, seed=n_parts)
    bounds = row_ranges(12, n_parts, 1)
    out = np.empty((12, 28, 28), np.uint8)
    acc = np.empty((bounds.shape[0] - 1, 28, 28))
    synth.render_digits(pts, wts, trig, style, prm, 9.0, 13.5, 0.5, bounds, acc, out)
    ref = nio.render_digits_reference(pts, wts, trig, style, prm, 9.0, 13.5, 0.5)
    # The kernel's Gaussian recurrence and fastmath differ from direct exps in the last
    # bits, which can move a pixel across a rounding boundary: at most 1 level of 255.
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    assert (out != ref).mean() < 0.01
    assert out.any()


def test_render_same_bits_for_any_thread_count():
    from fastlin._threads import row_ranges, threads
    from fastlin.kernels import synth

    pts, wts, trig, style, prm = _render_inputs(64, seed=9)
    outs = []
    for n in (1, 2):
        with threads(n):
            bounds = row_ranges(64, n, 8)
            out = np.empty((64, 28, 28), np.uint8)
            synth.render_digits(
                pts,
                wts,
                trig,
                style,
                prm,
                9.0,
                13.5,
                0.5,
                bounds,
                np.empty((bounds.shape[0] - 1, 28, 28)),
                out,
            )
            outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
