"""Leverage, Cook's distance, residual summaries, projection check, probe and checklist."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin
from fastlin import diagnostics as D
from fastlin.kernels import leverage as K
from fastlin._threads import row_ranges

import naive_diagnostics as naive

# Leverage and Cook's distance are float64 throughout; the explicit references invert a
# small well-conditioned Gram, so 1e-10 relative is a comfortable bound.
RTOL = 1e-10


def _data(rng, n, d, t=2, dtype=np.float64):
    X = rng.normal(size=(n, d))
    if dtype == np.uint8:
        X = rng.integers(0, 256, size=(n, d)).astype(np.uint8)
    else:
        X = X.astype(dtype)
    Y = np.asarray(X, dtype=np.float64) @ rng.normal(size=(d, t)) + rng.normal(size=(n, t))
    return X, Y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 2.5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_leverage_and_cooks_match_explicit_hat_matrix(rng, fit_intercept, alpha, weighted, dtype):
    X, Y = _data(rng, 150, 7, dtype=dtype)
    w = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    inf = D.influence(
        X, Y, alpha=alpha, fit_intercept=fit_intercept, sample_weight=w, chunk_rows=41
    )
    coef, b = naive.fit(X, Y, w, alpha, fit_intercept)
    cd, h, R, p = naive.cooks_distance_formula(X, Y, coef, b, w, alpha, fit_intercept)
    # float32 rows go through float32 Gram blocks (fastlin.core.stats.FLOAT32_BLOCK: ~3e-6
    # typical relative error of the statistics), so their leverage carries that too.
    rtol = 1e-5 if dtype == np.float32 else RTOL
    assert_allclose(inf.leverage, h, rtol=rtol)
    assert_allclose(inf.residuals, R, rtol=rtol, atol=rtol * np.abs(R).max())
    assert_allclose(inf.cooks_distance, cd, rtol=rtol, atol=rtol * cd.max())
    assert inf.n_params == pytest.approx(p, rel=1e-12 if dtype != np.float32 else 1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_cooks_distance_is_the_leave_one_out_change(rng, weighted):
    X, Y = _data(rng, 40, 3)
    w = rng.integers(1, 4, X.shape[0]).astype(float) if weighted else None
    got = D.cooks_distance(X, Y, sample_weight=w)
    # The reference refits 40 times through pseudo-inverses: ~1e-12 of its own error.
    assert_allclose(got, naive.cooks_distance_refit(X, Y, w), rtol=1e-9)


def test_model_residuals_and_one_d_targets(rng):
    X, Y = _data(rng, 120, 5, t=1)
    y = Y[:, 0]
    model = fastlin.Ridge(alpha=0.7).fit(X, y)
    inf = D.influence(X, y, model=model, stats=model.stats_)
    assert inf.residuals.shape == (120,) and inf.cooks_distance.shape == (120,)
    assert_allclose(inf.residuals, y - model.predict(X), rtol=RTOL, atol=1e-12)
    cd, h, _, _ = naive.cooks_distance_formula(
        X, Y, np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_), alpha=0.7
    )
    assert_allclose(inf.leverage, h, rtol=RTOL)
    assert_allclose(inf.cooks_distance, cd[:, 0], rtol=RTOL, atol=RTOL * cd.max())


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sum_of_leverages_is_rank(rng, fit_intercept):
    X = rng.normal(size=(90, 6))
    h = D.leverage(X, fit_intercept=fit_intercept)
    assert h.sum() == pytest.approx(6 + fit_intercept, rel=1e-12)
    assert np.all((h >= 0) & (h <= 1 + 1e-12))


def test_rank_deficient_design_uses_independent_columns(rng):
    n = 80
    X = rng.normal(size=(n, 5))
    Xd = np.hstack([X, X[:, :2] @ np.array([[1.0], [-2.0]]), np.full((n, 1), 3.0), X[:, 3:4] * 2.0])
    stats = D.gram_of(Xd)
    factor = D.hat_factor(stats)
    assert factor.route == "pivoted_cholesky"
    assert factor.rank == 5
    assert factor.constant_columns.tolist() == [6]
    assert factor.dropped_columns.size == 2
    h = D.leverage(Xd, stats=stats)
    assert h.sum() == pytest.approx(6.0, rel=1e-10)
    # The projection onto the column space: the same as for the independent columns.
    assert_allclose(h, naive.leverage(Xd), rtol=1e-9)
    assert_allclose(h, naive.leverage(X), rtol=1e-9)


def test_constant_columns_are_ignored(rng):
    X = rng.normal(size=(60, 4))
    Xc = np.hstack([np.zeros((60, 1)), X, np.full((60, 1), 7.0)])
    assert_allclose(D.leverage(Xc), naive.leverage(X), rtol=RTOL)


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 65, 1000])
def test_chunked_pass_equals_whole_pass(rng, chunk_rows):
    X, Y = _data(rng, 300, 9, dtype=np.uint8)
    stats = D.gram_of(X, y=Y)
    whole = D.influence(X, Y, stats=stats, chunk_rows=300)
    part = D.influence(X, Y, stats=stats, chunk_rows=chunk_rows)
    # A row's arithmetic does not depend on the chunk it falls in, except that the
    # vectorised and the scalar tail of a block may contract multiply-adds differently.
    assert_allclose(part.leverage, whole.leverage, rtol=1e-14)
    assert_allclose(part.cooks_distance, whole.cooks_distance, rtol=1e-13)


def test_chunk_source_and_threads(rng, tmp_path):
    X, y = _data(rng, 257, 5, t=1, dtype=np.uint8)
    labels = (y[:, 0] > np.median(y)).astype(np.uint8)
    fastlin_io = pytest.importorskip("fastlin.io")
    fastlin_io.write_idx(tmp_path / "x.idx", X)
    fastlin_io.write_idx(tmp_path / "y.idx", labels)
    src = fastlin_io.open_source(tmp_path / "x.idx", labels=tmp_path / "y.idx")
    a = D.influence(src, chunk_rows=50)
    with fastlin.threads(1):
        b = D.influence(X, labels.astype(float), chunk_rows=257)
    assert_allclose(a.leverage, b.leverage, rtol=1e-14)
    assert_allclose(a.cooks_distance, b.cooks_distance, rtol=RTOL)


def test_parallel_kernel_equals_serial(rng):
    X = rng.normal(size=(500, 11))
    stats = D.gram_of(X)
    f = D.hat_factor(stats)
    bounds = row_ranges(500, 3, K.ROW_BLOCK)
    p = bounds.shape[0] - 1
    outs = []
    for kernel in (K.leverage_pass, K.leverage_pass, K.leverage_pass_serial):
        q = np.empty(500)
        kernel(
            X,
            np.zeros((500, 0)),
            np.zeros((0, 11)),
            np.zeros(0),
            f.cols,
            f.mean,
            f.scale,
            f.L,
            bounds,
            np.empty((p, f.cols.size, K.ROW_BLOCK)),
            q,
            np.empty((500, 0)),
        )
        outs.append(q)
    np.testing.assert_array_equal(outs[0], outs[1])  # deterministic run to run
    # Compiled separately, the two may contract a multiply-add differently (an ulp).
    assert_allclose(outs[0], outs[2], rtol=1e-14)


@pytest.mark.parametrize("k", [1, 3, 4, 5, 9, 13])
def test_forward_block_matches_solve(rng, k):
    A = rng.normal(size=(k, k))
    L = np.ascontiguousarray(np.linalg.cholesky(A @ A.T + k * np.eye(k)))
    Z = rng.normal(size=(k, 10))
    ref = np.linalg.solve(L, Z[:, :7])
    K.forward_block(L, Z, 7)
    assert_allclose(Z[:, :7], ref, rtol=1e-12, atol=1e-12)


def test_single_row_and_bad_input(rng):
    X = rng.normal(size=(1, 3))
    h = D.leverage(X)
    assert_allclose(h, [1.0])
    with pytest.raises(ValueError, match="sample_weight"):
        D.leverage(rng.normal(size=(5, 2)), sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="alpha"):
        D.leverage(rng.normal(size=(5, 2)), alpha=-1.0)
    with pytest.raises(ValueError, match="rows"):
        D.influence(rng.normal(size=(5, 2)), stats=D.gram_of(rng.normal(size=(6, 2))))


def test_residual_summary_streams_and_merges(rng):
    X, Y = _data(rng, 200, 4)
    model = fastlin.LinearRegression().fit(X, Y)
    s = D.residual_summary(model, X, Y, chunk_rows=23)
    R = Y - model.predict(X)
    assert_allclose(s.mean, R.mean(0), atol=1e-12)
    assert_allclose(s.std, R.std(0), rtol=1e-12)
    assert_allclose(s.quantiles[0.5], np.median(R, axis=0), rtol=1e-12)
    assert_allclose(s.min, R.min(0))
    a = D.ResidualStats().update(R[:77])
    b = D.ResidualStats().update(R[77:])
    m = a.merge(b).finalize()
    assert_allclose(m.std, s.std, rtol=1e-12)
    assert "rmse" in str(s) and s.to_dict()["n"] == 200


def test_projection_check(rng):
    X, Y = _data(rng, 300, 6)
    for model in (fastlin.LinearRegression().fit(X, Y), fastlin.Ridge(alpha=10.0).fit(X, Y)):
        chk = D.projection_check(model, X, Y, chunk_rows=50)
        assert chk.passed, chk.max_relative
        assert chk.max_relative < 1e-10
    bad = fastlin.LinearRegression().fit(X, Y)
    bad.coef_ = bad.coef_ * 1.1
    chk = D.projection_check(bad, X, Y)
    assert not chk.passed and chk.max_relative > 1e-3


def test_linear_probe_on_separable_data(rng):
    centres = rng.normal(scale=6.0, size=(3, 8))
    labels = rng.integers(0, 3, 600)
    H = centres[labels] + rng.normal(size=(600, 8))
    res = D.linear_probe(H, np.array(["a", "b", "c"])[labels], alpha=1.0)
    assert res.accuracy > 0.98 and res.n_val + res.n_train == 600
    res2 = D.linear_probe(H[:500], labels[:500], H[500:], labels[500:])
    assert res2.accuracy > 0.98 and res2.n_val == 100
    assert "accuracy" in str(res2)
    with pytest.raises(ValueError, match="both"):
        D.linear_probe(H, labels, H_val=H)


def _regression(rng, quadratic, n=1500):
    X = rng.normal(size=(n, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.normal(size=n)
    if quadratic:
        y = y + 2.0 * X[:, 1] ** 2
    return X, y


def test_diagnose_flags_a_quadratic_target(rng):
    X, y = _regression(rng, True)
    model = fastlin.Ridge(alpha=1.0).fit(X, y)
    rep = D.diagnose(model, X, y)
    assert rep["shapes"].status == "pass"
    assert rep["residual structure"].status in ("warn", "fail")
    assert rep["residual structure"].details["feature"] == 1
    base = rep["nonlinear baseline"]
    assert base.status in ("warn", "fail")
    assert base.details["r2_baseline"] > base.details["r2_linear"] + 0.1
    assert rep["regularisation"].status == "warn" and "default" in rep["regularisation"].message
    d = rep.to_dict()
    assert {c["status"] for c in d["checks"]} <= set(D.STATUSES)
    assert "nonlinear baseline" in str(rep)
    rep.to_json()


def test_diagnose_passes_a_linear_target(rng):
    X, y = _regression(rng, False)
    X_val, y_val = _regression(rng, False, n=500)
    model = fastlin.LinearRegression().fit(X, y)
    rep = D.diagnose(model, X, y, X_val=X_val, y_val=y_val)
    for name in ("shapes", "conditioning", "residual structure", "nonlinear baseline"):
        assert rep[name].status == "pass", (name, rep[name].message)
    assert rep["calibration"].status == "skip"
    assert rep.status == "pass"


def test_diagnose_scaler_leakage_and_search(rng):
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _regression(rng, False, n=400)
    X_all = np.vstack([X, rng.normal(size=(100, 4))])
    scaler = StandardScaler().fit(X_all)  # statistics include rows outside the training set
    model = fastlin.Ridge(alpha=0.5).fit(scaler.transform(X), y)
    pipe = make_pipeline(scaler, model)
    rep = D.diagnose(pipe, X, y)
    assert rep["scaling"].status == "fail" and "500" in rep["scaling"].message
    assert rep["regularisation"].status == "skip"  # set by hand: cannot be checked
    good = make_pipeline(StandardScaler(), fastlin.Ridge(alpha=0.5)).fit(X, y)
    assert D.diagnose(good, X, y)["scaling"].status == "pass"
    search = GridSearchCV(fastlin.Ridge(), {"alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert D.diagnose(search, X, y)["regularisation"].status == "pass"
    assert D.diagnose(RidgeCV().fit(X, y), X, y)["regularisation"].status == "pass"


def test_diagnose_shape_mismatch_and_classifier(rng):
    from sklearn.linear_model import LogisticRegression

    X, y = _regression(rng, False, n=300)
    model = fastlin.LinearRegression().fit(X, y)
    rep = D.diagnose(model, X[:, :3], y)
    assert rep["shapes"].status == "fail"
    assert all(c.status == "skip" for c in rep.checks[1:])
    labels = (y > 0).astype(int)
    clf = LogisticRegression().fit(X, labels)
    rep = D.diagnose(clf, X, labels)
    assert rep["calibration"].status in ("pass", "warn", "fail")
    assert "ece" in rep["calibration"].details
    assert rep["residual structure"].status == "skip"


def test_diagnose_one_hot_model(rng):
    centres = rng.normal(scale=3.0, size=(3, 6))
    labels = rng.integers(0, 3, 600).astype(np.uint8)
    X = centres[labels] + rng.normal(size=(600, 6))
    Y = np.eye(3)[labels]
    model = fastlin.LinearRegression().fit(X, Y)
    rep = D.diagnose(model, X, labels)
    assert rep["shapes"].details["task"] == "one-hot"
    assert rep["calibration"].status != "skip"
    assert "accuracy" in rep["nonlinear baseline"].message
