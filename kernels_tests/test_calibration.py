"""Reliability tables, ECE/MCE, Brier score and NLL, and the mergeable CalibrationStats."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

import naive_calibration as naive
from fastlin import threads
from fastlin.core.calibration import (
    CalibrationStats,
    brier_score,
    expected_calibration_error,
    maximum_calibration_error,
    negative_log_likelihood,
    quantile_edges,
    reliability_table,
    uniform_edges,
)

WORKED_CONF = np.array([0.9, 0.8, 0.7, 0.6, 0.4])
WORKED_CORRECT = np.array([1, 1, 0, 1, 0])
WORKED_EDGES = [0.0, 0.5, 0.75, 1.0]


def binary_data(rng, n, avoid_edges_of=None):
    p = rng.random(n)
    if avoid_edges_of is not None:
        # Nudge values off the edges so left- and right-closed bins agree.
        e = np.asarray(avoid_edges_of)
        on = np.isin(p, e)
        p[on] = np.clip(p[on] + 1e-9, 0.0, 1.0)
    y = (rng.random(n) < p**1.3).astype(np.int64)
    return p, y


def assert_table_matches(table, groups, edges, w=None, rtol=1e-12):
    """``edges``: one array for every group, or a list with one per group."""
    if not isinstance(edges, list):
        edges = [edges] * len(groups)
    tables = (
        [table]
        if table.count.ndim == 1
        else [
            type(table)(
                table.edges[k],
                table.count[k],
                table.weight[k],
                table.mean_confidence[k],
                table.accuracy[k],
            )
            for k in range(table.count.shape[0])
        ]
    )
    for t, (conf, correct), e in zip(tables, groups, edges):
        count, weight, sconf, scorr = naive.histogram(conf, correct, e, w)
        assert_array_equal(t.count, count.astype(np.int64))
        assert_allclose(t.weight, weight, rtol=rtol)
        with np.errstate(invalid="ignore", divide="ignore"):
            assert_allclose(t.mean_confidence, sconf / weight, rtol=rtol)
            assert_allclose(t.accuracy, scorr / weight, rtol=rtol)


# -- the worked example --------------------------------------------------------------------
def test_worked_example_positive_mode():
    t = reliability_table(WORKED_CORRECT, WORKED_CONF, edges=WORKED_EDGES, mode="positive")
    assert_array_equal(t.edges, WORKED_EDGES)
    assert_array_equal(t.count, [1, 2, 2])
    assert_allclose(t.accuracy, [0.0, 0.5, 1.0], rtol=1e-15)
    assert_allclose(t.mean_confidence, [0.4, 0.65, 0.85], rtol=1e-15)
    # ECE = (1 * 0.4 + 2 * 0.15 + 2 * 0.15) / 5 = 0.2; MCE = 0.4
    assert_allclose(t.ece(), 0.2, rtol=1e-14)
    assert_allclose(t.mce(), 0.4, rtol=1e-14)


def test_worked_example_top_label():
    # Three classes: the first column holds the confidence, which is the row maximum;
    # the true class is column 0 when the prediction is correct.
    c = WORKED_CONF
    P = np.column_stack([c, (1 - c) / 2, (1 - c) / 2])
    y = np.where(WORKED_CORRECT == 1, 0, 1)
    t = reliability_table(y, P, edges=WORKED_EDGES)
    assert_array_equal(t.count, [1, 2, 2])
    assert_allclose(t.accuracy, [0.0, 0.5, 1.0], rtol=1e-15)
    assert_allclose(t.mean_confidence, [0.4, 0.65, 0.85], rtol=1e-15)
    assert_allclose(expected_calibration_error(y, P, edges=WORKED_EDGES), 0.2, rtol=1e-14)


# -- agreement with scikit-learn ----------------------------------------------------------
@pytest.mark.parametrize("n_bins", [1, 5, 10, 23])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_positive_mode_matches_calibration_curve(rng, n_bins, strategy, dtype):
    # Data off the uniform edges, so the comparison holds whether calibration_curve's bins
    # are left-closed (older releases) or right-closed (current ones).
    p, y = binary_data(rng, 20000, avoid_edges_of=uniform_edges(n_bins))
    p = p.astype(dtype)
    t = reliability_table(y, p, n_bins=n_bins, strategy=strategy, mode="positive")
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    nonempty = t.count > 0
    assert_allclose(t.accuracy[nonempty], prob_true, rtol=1e-12)
    # calibration_curve sums float32 probabilities in float32 (bincount casts to float64,
    # so it does not): the tolerance is float64's either way.
    assert_allclose(t.mean_confidence[nonempty], prob_pred, rtol=1e-12)


def test_quantile_edges_match_calibration_curve_bins(rng):
    p, y = binary_data(rng, 5001)
    edges = quantile_edges(p, 7)
    assert edges[0] == 0.0 and edges[-1] == 1.0
    assert_array_equal(edges[1:-1], np.percentile(p, np.linspace(0, 1, 8)[1:-1] * 100))
    t = reliability_table(y, p, n_bins=7, strategy="quantile", mode="positive")
    assert_array_equal(t.edges, edges)
    assert np.abs(t.count - 5001 / 7).max() <= 1


def test_brier_and_nll_match_sklearn(rng):
    p, y = binary_data(rng, 3000)
    w = rng.random(3000)
    assert_allclose(brier_score(y, p), brier_score_loss(y, p), rtol=1e-12)
    assert_allclose(brier_score(y, p, w), brier_score_loss(y, p, sample_weight=w), rtol=1e-12)
    assert_allclose(negative_log_likelihood(y, p), log_loss(y, p), rtol=1e-12)
    assert_allclose(negative_log_likelihood(y, p, w), log_loss(y, p, sample_weight=w), rtol=1e-12)
    for K in (2, 3, 6):
        P = rng.dirichlet(np.ones(K), size=2000)
        yk = rng.integers(0, K, 2000)
        yk[:K] = np.arange(K)  # every class present, as log_loss requires
        assert_allclose(brier_score(yk, P), brier_score_loss(yk, P), rtol=1e-12)
        assert_allclose(negative_log_likelihood(yk, P), log_loss(yk, P), rtol=1e-12)
        assert_allclose(
            negative_log_likelihood(yk, P, w[:2000]),
            log_loss(yk, P, sample_weight=w[:2000]),
            rtol=1e-12,
        )


def test_nll_is_clipped_not_infinite():
    y = np.array([1, 0, 1])
    p = np.array([0.0, 1.0, 0.5])
    expected = (2 * -np.log(1e-15) + -np.log(0.5)) / 3
    assert_allclose(negative_log_likelihood(y, p), expected, rtol=1e-14)
    assert_allclose(
        negative_log_likelihood(y, p, eps=1e-6), (2 * -np.log(1e-6) - np.log(0.5)) / 3, rtol=1e-14
    )
    P = np.array([[1.0, 0.0], [0.3, 0.7]])
    assert np.isfinite(negative_log_likelihood(np.array([1, 1]), P))


# -- ECE / MCE against the NumPy reference ---------------------------------------------------
@pytest.mark.parametrize("mode", ["positive", "top_label", "classwise"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("weighted", [False, True])
def test_ece_mce_binary_match_reference(rng, mode, strategy, weighted):
    p, y = binary_data(rng, 50000)
    p[:4] = [0.0, 1.0, 0.5, 0.3]
    w = rng.random(50000) * 2 if weighted else None
    t = reliability_table(y, p, 15, strategy, w, mode=mode)
    groups = naive.groups(p, y, mode)
    edges = [t.edges] if t.edges.ndim == 1 else list(t.edges)
    if strategy == "quantile":
        for e, (conf, _) in zip(edges, groups):
            assert_array_equal(e, quantile_edges(conf, 15))
    ref_ece = np.mean([naive.ece(c, k, e, w) for (c, k), e in zip(groups, edges)])
    ref_mce = max(naive.mce(c, k, e, w) for (c, k), e in zip(groups, edges))
    ece = expected_calibration_error(y, p, 15, strategy, w, mode=mode)
    assert abs(ece - ref_ece) <= 1e-12
    assert abs(maximum_calibration_error(y, p, 15, strategy, w, mode=mode) - ref_mce) <= 1e-12
    assert_table_matches(t, groups, edges, w)


@pytest.mark.parametrize("mode", ["top_label", "classwise"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ece_multiclass_matches_reference(rng, mode, dtype):
    K = 4
    P = rng.dirichlet(np.full(K, 0.5), size=20000).astype(dtype)
    y = rng.integers(0, K, 20000)
    t = reliability_table(y, P, 12, mode=mode)
    groups = naive.groups(P, y, mode)
    edges = uniform_edges(12)
    ref = np.mean([naive.ece(c, k, edges) for c, k in groups])
    assert abs(t.ece() - ref) <= 1e-12
    assert_table_matches(t, groups, edges)


def test_empty_bins_are_reported_with_nan():
    p = np.array([0.05, 0.07, 0.95])
    y = np.array([0, 1, 1])
    t = reliability_table(y, p, n_bins=10, mode="positive")
    assert t.count.shape == (10,)
    assert_array_equal(t.count, [2, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert np.isnan(t.mean_confidence[1:9]).all() and np.isnan(t.accuracy[1:9]).all()
    assert not np.isnan(t.accuracy[[0, 9]]).any()
    text = str(t)
    assert len(text.splitlines()) == 11 and "nan" in text
    assert set(t.to_dict()) == {"edges", "count", "weight", "mean_confidence", "accuracy"}


def test_zero_weight_rows_counted_with_nan_means():
    p = np.array([0.05, 0.55, 0.95])
    y = np.array([0, 1, 1])
    t = reliability_table(y, p, n_bins=2, sample_weight=[1.0, 0.0, 2.0], mode="positive")
    assert_array_equal(t.count, [1, 2])
    assert_allclose(t.weight, [1.0, 2.0])
    assert_allclose(t.mean_confidence, [0.05, 0.95])


def test_top_label_binary_tie_and_pos_label():
    # p = 0.5 predicts class 0 (first maximum of [1 - p, p]); confidence 0.5.
    t = reliability_table(np.array([0, 1]), np.array([0.5, 0.5]), n_bins=2)
    assert_array_equal(t.count, [2, 0])
    assert_allclose(t.accuracy[0], 0.5)
    labels = np.array(["no", "yes", "yes", "no"])
    p = np.array([0.2, 0.9, 0.6, 0.7])
    t1 = reliability_table(labels, p, 4, pos_label="yes", mode="positive")
    t2 = reliability_table(np.array([0, 1, 1, 0]), p, 4, mode="positive")
    assert_array_equal(t1.accuracy, t2.accuracy)
    t3 = reliability_table(np.array([False, True, True, False]), p, 4, mode="positive")
    assert_array_equal(t3.accuracy, t2.accuracy)


# -- streaming, merging, threads, dtypes ----------------------------------------------------
def _split(n, rng, k):
    cuts = np.sort(rng.choice(np.arange(1, n), size=k - 1, replace=False))
    return np.split(np.arange(n), cuts)


@pytest.mark.parametrize("mode", ["positive", "top_label", "classwise"])
@pytest.mark.parametrize("weighted", [False, True])
def test_chunk_and_merge_invariance(rng, mode, weighted):
    n = 30000
    p, y = binary_data(rng, n)
    w = rng.random(n) if weighted else None
    whole = CalibrationStats(n_bins=10, mode=mode).update(p, y, w).finalize()
    chunks = _split(n, rng, 7)
    streamed = CalibrationStats(n_bins=10, mode=mode)
    states = []
    for idx in chunks:
        wi = None if w is None else w[idx]
        streamed.update(p[idx], y[idx], wi)
        states.append(CalibrationStats(n_bins=10, mode=mode).update(p[idx], y[idx], wi))
    merged = CalibrationStats(n_bins=10, mode=mode)
    for s in states[::-1]:
        merged.merge(s)
    tree = states[0]
    for s in states[1:]:
        tree = tree.merge(s)  # merge returns self
    for res in (streamed.finalize(), merged.finalize(), tree.finalize()):
        assert_array_equal(res.table.count, whole.table.count)
        assert_allclose(res.table.accuracy, whole.table.accuracy, rtol=1e-12)
        assert_allclose(res.table.mean_confidence, whole.table.mean_confidence, rtol=1e-12)
        assert abs(res.ece - whole.ece) <= 1e-12
        assert_allclose([res.brier_score, res.nll], [whole.brier_score, whole.nll], rtol=1e-12)
        assert res.n_samples == n


def test_quantile_streaming_fixes_edges_from_first_chunk(rng):
    p, y = binary_data(rng, 6000)
    s = CalibrationStats(n_bins=5, strategy="quantile", mode="positive")
    s.update(p[:0], y[:0])  # an empty chunk fixes nothing
    assert s.edges_ is None
    s.update(p[:2000], y[:2000]).update(p[2000:], y[2000:])
    assert_array_equal(s.edges_[0], quantile_edges(p[:2000], 5))
    t = s.table()
    t_ref = reliability_table(y, p, edges=quantile_edges(p[:2000], 5), mode="positive")
    assert_array_equal(t.count, t_ref.count)
    assert_allclose(t.accuracy, t_ref.accuracy, rtol=1e-12)
    other = CalibrationStats(n_bins=5, strategy="quantile", mode="positive")
    other.update(p[3000:], y[3000:])
    with pytest.raises(ValueError, match="different bin edges"):
        s.merge(other)
    # Edges computed once and given to every state: merges fine.
    e = quantile_edges(p, 5)
    a = CalibrationStats(edges=e, mode="positive").update(p[:3000], y[:3000])
    b = CalibrationStats(edges=e, mode="positive").update(p[3000:], y[3000:])
    assert_array_equal(
        a.merge(b).table().count, reliability_table(y, p, edges=e, mode="positive").count
    )
    with pytest.raises(ValueError, match="different bin edges"):
        CalibrationStats(edges=[0, 0.3, 1], mode="positive").merge(
            CalibrationStats(edges=[0, 0.6, 1], mode="positive").update(p, y)
        )
    # An empty state adopts the other's edges.
    c = CalibrationStats(n_bins=5, strategy="quantile", mode="positive").merge(other)
    assert_array_equal(c.edges_, other.edges_)


@pytest.mark.parametrize("mode", ["top_label", "classwise"])
def test_one_vs_two_threads(rng, mode):
    P = rng.dirichlet(np.ones(3), size=40000)
    y = rng.integers(0, 3, 40000)
    with threads(1):
        r1 = CalibrationStats(mode=mode).update(P, y).finalize()
    with threads(2):
        r2 = CalibrationStats(mode=mode).update(P, y).finalize()
    assert_array_equal(r1.table.count, r2.table.count)
    assert_allclose(r1.table.accuracy, r2.table.accuracy, rtol=1e-13)
    assert_allclose(r1.table.mean_confidence, r2.table.mean_confidence, rtol=1e-13)
    assert abs(r1.ece - r2.ece) <= 1e-13
    assert_allclose([r1.brier_score, r1.nll], [r2.brier_score, r2.nll], rtol=1e-13)


def test_float32_equals_float64_upcast_and_layouts(rng):
    P = rng.dirichlet(np.ones(3), size=3000).astype(np.float32)
    y = rng.integers(0, 3, 3000)
    t32 = reliability_table(y, P)
    t64 = reliability_table(y, P.astype(np.float64))
    assert_array_equal(t32.accuracy, t64.accuracy)
    assert_array_equal(t32.mean_confidence, t64.mean_confidence)
    tf = reliability_table(y, np.asfortranarray(P))
    assert_array_equal(tf.count, t32.count)
    ro = P.copy()
    ro.setflags(write=False)
    assert_array_equal(reliability_table(y, ro).count, t32.count)
    p = rng.random(6000)[::2]  # strided 1-D
    yb = (rng.random(3000) < p).astype(np.int64)
    assert_array_equal(reliability_table(yb, p).count, reliability_table(yb, p.copy()).count)


def test_finalize_result_prints(rng):
    p, y = binary_data(rng, 500)
    res = CalibrationStats(mode="positive").update(p, y).finalize()
    text = str(res)
    assert "ECE" in text and "Brier" in text and "(0.9, 1]" in text
    res2 = CalibrationStats(scores=False).update(p, y).finalize()
    assert res2.brier_score is None and res2.nll is None and "Brier" not in str(res2)


# -- bad input ------------------------------------------------------------------------------
def test_bad_probabilities_name_the_position():
    y = np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"proba\[2\] = .*nan.* is NaN"):
        reliability_table(y, np.array([0.1, 0.2, np.nan, 0.3]))
    with pytest.raises(ValueError, match=r"proba\[1\] = 1\.5 is outside \[0, 1\]"):
        reliability_table(y, np.array([0.1, 1.5, 0.2, -0.1]))
    with pytest.raises(ValueError, match=r"proba\[3\] = -1e-12 is outside"):
        brier_score(y, np.array([0.1, 0.5, 0.2, -1e-12]))
    P = np.full((3, 3), 1 / 3)
    P[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"proba\[2,1\] = inf is outside"):
        reliability_table(np.array([0, 1, 2]), P, mode="classwise")
    with pytest.raises(ValueError, match=r"proba\[0\] = .*nan.* is NaN"):
        reliability_table(y, np.array([np.nan, 0.2, 0.3, 0.4]), strategy="quantile")


def test_bad_labels_name_the_position():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match=r"y_true\[2\] = 2 is not a valid label: expected 0 or 1"):
        reliability_table(np.array([0, 1, 2, 0]), p)
    with pytest.raises(ValueError, match=r"y_true\[0\] = -1 is not a valid label"):
        negative_log_likelihood(np.array([-1, 1, 1, 0]), p)
    with pytest.raises(ValueError, match=r"y_true\[1\] = 0\.5 is not a valid label"):
        reliability_table(np.array([0.0, 0.5, 1.0, 0.0]), p)
    P = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"y_true\[1\] = 3 .*class index in 0\.\.2"):
        reliability_table(np.array([0, 3, 1]), P)
    with pytest.raises(ValueError, match=r"y_true\[2\] = 1\.5 .*class index"):
        reliability_table(np.array([0.0, 1.0, 1.5]), P)
    with pytest.raises(ValueError, match="pos_label"):
        reliability_table(np.array(["a", "b", "a", "b"]), p)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_bins": 0}, "n_bins must be >= 1"),
        ({"n_bins": 2.5}, "n_bins must be an integer"),
        ({"n_bins": True}, "n_bins must be an integer"),
        ({"strategy": "kmeans"}, "strategy must be one of"),
        ({"mode": "top"}, "mode must be one of"),
        ({"edges": [0.1, 0.5, 1.0]}, "start at 0 and end at 1"),
        ({"edges": [0.0, 0.5, 0.9]}, "start at 0 and end at 1"),
        ({"edges": [0.0, 0.6, 0.5, 1.0]}, r"strictly increasing: edges\[1\]"),
        ({"edges": [0.0, 0.5, 0.5, 1.0]}, "strictly increasing"),
        ({"edges": [0.0, np.nan, 1.0]}, "finite"),
        ({"edges": [1.0]}, "at least 2"),
        ({"edges": [[0.0, 1.0]]}, "1-D array"),
        ({"edges": ["0", "1"]}, "1-D array of numbers"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CalibrationStats(**kwargs)
    p = np.array([0.2, 0.8])
    with pytest.raises(ValueError, match=message):
        reliability_table(np.array([0, 1]), p, **kwargs)


def test_bad_eps():
    y, p = np.array([0, 1]), np.array([0.2, 0.8])
    for eps, message in [
        (0.0, "eps must be > 0"),
        (1.0, "eps must be < 1"),
        (np.nan, "finite"),
        ("x", "real number"),
    ]:
        with pytest.raises(ValueError, match=message):
            negative_log_likelihood(y, p, eps=eps)


def test_bad_shapes_and_dtypes():
    p = np.array([0.2, 0.8, 0.5])
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="y_true has 2 labels but proba has 3 rows"):
        reliability_table(y[:2], p)
    with pytest.raises(ValueError, match="y_true must be 1-D"):
        reliability_table(y[:, None], p)
    with pytest.raises(ValueError, match="proba must be 1-D .* or 2-D"):
        reliability_table(y, p[:, None, None])
    with pytest.raises(ValueError, match="at least 2 columns"):
        reliability_table(y, p[:, None])
    with pytest.raises(ValueError, match="proba must hold real numbers"):
        reliability_table(y, p.astype(complex))
    with pytest.raises(ValueError, match="proba must hold real numbers"):
        reliability_table(y, np.array([True, False, True]))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        reliability_table(y, p, sample_weight=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="sample_weight has 2 entries"):
        reliability_table(y, p, sample_weight=[1.0, 1.0])
    with pytest.raises(ValueError, match="zero for every row"):
        reliability_table(y, p, sample_weight=[0.0, 0.0, 0.0])
    P = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="mode='positive' needs 1-D"):
        reliability_table(y, P, mode="positive")
    with pytest.raises(ValueError, match="pos_label applies to 1-D"):
        reliability_table(y, P, pos_label=1)
    with pytest.raises(ValueError, match="no samples"):
        reliability_table(y[:0], p[:0])


def test_bad_update_and_merge_leave_state_unchanged(rng):
    p, y = binary_data(rng, 100)
    s = CalibrationStats(mode="top_label").update(p, y)
    before = (s.hist_.copy(), s.scores_.copy(), s.n_samples_)
    bad = p.copy()
    bad[50] = 2.0
    with pytest.raises(ValueError, match=r"proba\[50\]"):
        s.update(bad, y)
    with pytest.raises(ValueError, match="2-D but earlier chunks were 1-D"):
        s.update(np.full((2, 3), 1 / 3), np.array([0, 1]))
    P = rng.dirichlet(np.ones(3), size=10)
    s3 = CalibrationStats().update(P, rng.integers(0, 3, 10))
    with pytest.raises(ValueError, match="4 columns but earlier chunks had 3"):
        s3.update(np.full((1, 4), 0.25), np.array([0]))
    with pytest.raises(ValueError, match="1-D but earlier chunks were 2-D"):
        s3.merge(s)
    with pytest.raises(ValueError, match="different mode"):
        s.merge(CalibrationStats(mode="classwise").update(p, y))
    with pytest.raises(ValueError, match="different n_bins"):
        s.merge(CalibrationStats(n_bins=5).update(p, y))
    with pytest.raises(ValueError, match="different strategy"):
        s.merge(CalibrationStats(edges=[0, 0.5, 1]).update(p, y))
    with pytest.raises(ValueError, match="scores"):
        s.merge(CalibrationStats(scores=False).update(p, y))
    with pytest.raises(ValueError, match="can only merge a CalibrationStats"):
        s.merge("not a state")
    assert_array_equal(s.hist_, before[0])
    assert_array_equal(s.scores_, before[1])
    assert s.n_samples_ == before[2]
    with pytest.raises(ValueError, match="no samples"):
        CalibrationStats().finalize()
    zero = CalibrationStats().update(np.array([0.2, 0.7]), np.array([0, 1]), [1.0, 0.0])
    assert zero.finalize().n_samples == 2
    with pytest.raises(ValueError, match="zero for every row"):
        zero.update(np.array([0.4]), np.array([1]), [0.0])


def test_quantile_edges_bad_input():
    with pytest.raises(ValueError, match="zero confidences"):
        quantile_edges(np.array([]), 3)
    with pytest.raises(ValueError, match=r"confidence\[1\] = 1\.2 is outside"):
        quantile_edges(np.array([0.1, 1.2]), 3)
    with pytest.raises(ValueError, match="n_bins must be >= 1"):
        uniform_edges(0)


@pytest.mark.parametrize("ydtype", [np.uint8, np.int8, np.int32, np.uint64, np.bool_, np.float32])
def test_label_dtypes(rng, ydtype):
    p, y = binary_data(rng, 1000)
    ref = reliability_table(y, p, mode="positive")
    t = reliability_table(y.astype(ydtype), p, mode="positive")
    assert_array_equal(t.count, ref.count)
    assert_array_equal(t.accuracy, ref.accuracy)


def test_zero_weight_tables_and_huge_labels():
    from fastlin.core.calibration import ReliabilityTable

    nan2 = np.full(2, np.nan)
    t = ReliabilityTable(np.array([0.0, 0.5, 1.0]), np.array([1, 0]), np.zeros(2), nan2, nan2)
    with pytest.raises(ValueError, match="zero total weight"):
        t.ece()
    with pytest.raises(ValueError, match="every bin is empty"):
        t.mce()
    y = np.array([0, 2**63 + 5], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"y_true\[1\] = 9223372036854775813 is not a valid"):
        reliability_table(y, np.array([0.1, 0.9]))


def test_labels_passed_first_are_refused(rng):
    """update(X=proba, y=labels), as every accumulator: integer X with float y is the old
    order (labels, probabilities) and is refused, naming the fix, before any change."""
    y = rng.integers(0, 2, 50)
    p = rng.uniform(size=50)
    s = CalibrationStats(mode="positive")
    with pytest.raises(TypeError, match=r"update\(proba, y_true\)"):
        s.update(y, p)
    assert s.n_samples_ == 0 and s.hist_ is None
    assert s.update(p, y).n_samples_ == 50
