"""Ridge paths, RidgeCV (leave-one-out and GCV), conditioning reports, solver routes."""

import numpy as np
import pytest
import sklearn.linear_model as skl

import fastlin
from fastlin.core.conditioning import condition_report
from fastlin.core.path import LOOStats, gcv_scores, ridge_eigen
from fastlin.core.solve import RankDeficientWarning
from naive import lstsq_reference

ALPHAS = [0.0, 1e-3, 0.1, 1.0, 10.0, 1e3]


def _problem(rng, n=80, d=6, t=2):
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2, d) + rng.uniform(-1, 1, d)
    Y = X @ rng.standard_normal((d, t)) + rng.standard_normal((n, t)) + 0.5
    return X, Y


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_path_equals_separate_fits(rng, fit_intercept):
    X, Y = _problem(rng)
    stats = fastlin.GramStats().update(X, Y)
    coefs, intercepts = fastlin.ridge_path(stats, ALPHAS, fit_intercept=fit_intercept)
    assert coefs.shape == (len(ALPHAS), 2, 6) and intercepts.shape == (len(ALPHAS), 2)
    for k, a in enumerate(ALPHAS):
        ref_c, ref_i = lstsq_reference(X, Y, alpha=a, fit_intercept=fit_intercept)
        np.testing.assert_allclose(coefs[k], ref_c, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(intercepts[k], ref_i, rtol=1e-9, atol=1e-12)


def test_ridge_path_minimum_norm_at_zero_alpha(rng):
    X, Y = _problem(rng)
    X[:, 4] = X[:, 1]
    coefs, intercepts = fastlin.ridge_path(fastlin.GramStats().update(X, Y), [0.0, 1.0])
    ref_c, ref_i = lstsq_reference(X, Y)
    np.testing.assert_allclose(coefs[0], ref_c, rtol=1e-7, atol=1e-9)


def _brute_force_loo(X, Y, alpha, w=None, fit_intercept=True):
    n = X.shape[0]
    w = np.ones(n) if w is None else w
    err = np.zeros(Y.shape[1])
    for i in range(n):
        keep = np.arange(n) != i
        c, b = lstsq_reference(X[keep], Y[keep], w[keep], alpha=alpha, fit_intercept=fit_intercept)
        err += w[i] * (Y[i] - (c @ X[i] + b)) ** 2
    return err / w.sum()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_loo_scores_equal_brute_force_refits(rng, weighted, fit_intercept):
    X, Y = _problem(rng, n=40, d=5)
    w = rng.uniform(0.3, 2.0, 40) if weighted else None
    alphas = [1e-2, 0.5, 5.0]
    eig = ridge_eigen(fastlin.GramStats().update(X, Y, sample_weight=w), fit_intercept)
    loo = LOOStats(eig, alphas)
    for r0 in range(0, 40, 13):  # chunked second pass
        loo.update(X[r0 : r0 + 13], Y[r0 : r0 + 13], None if w is None else w[r0 : r0 + 13])
    got = loo.finalize()
    for k, a in enumerate(alphas):
        # The bar is 1e-8 relative; the identity is exact up to rounding.
        np.testing.assert_allclose(got[k], _brute_force_loo(X, Y, a, w, fit_intercept), rtol=1e-8)


def test_gcv_matches_hat_matrix_formula(rng):
    X, Y = _problem(rng, n=50, d=4)
    eig = ridge_eigen(fastlin.GramStats().update(X, Y))
    alphas = [0.01, 1.0, 30.0]
    got = gcv_scores(eig, alphas)
    Xc = X - X.mean(0)
    for k, a in enumerate(alphas):
        H = np.full((50, 50), 1 / 50) + Xc @ np.linalg.solve(Xc.T @ Xc + a * np.eye(4), Xc.T)
        resid = Y - H @ Y
        expected = 50 * (resid**2).sum(0) / (50 - np.trace(H)) ** 2
        np.testing.assert_allclose(got[k], expected, rtol=1e-10)


def test_ridgecv_matches_sklearn_and_brute_force(rng):
    X, Y = _problem(rng, n=60, d=5, t=3)
    alphas = [0.01, 0.3, 3.0, 30.0]
    ours = fastlin.RidgeCV(alphas=alphas).fit(X, Y)
    ref = skl.RidgeCV(alphas=alphas).fit(X, Y)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9)
    per = fastlin.RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y)
    ref_per = skl.RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y)
    np.testing.assert_array_equal(per.alpha_, ref_per.alpha_)
    np.testing.assert_allclose(per.coef_, ref_per.coef_, rtol=1e-9)


def test_ridgecv_gcv_streams_and_loo_needs_rows(rng):
    from fastlin import io as fio

    X, Y = _problem(rng, n=90, d=4, t=1)
    y = Y[:, 0]
    full = fastlin.RidgeCV(alphas=[0.1, 1, 10], cv="gcv").fit(X, y)
    part = fastlin.RidgeCV(alphas=[0.1, 1, 10], cv="gcv")
    for r0 in range(0, 90, 30):
        part.partial_fit(X[r0 : r0 + 30], y[r0 : r0 + 30])
    assert part.alpha_ == full.alpha_
    np.testing.assert_allclose(part.coef_, full.coef_, rtol=1e-10)
    loo = fastlin.RidgeCV(alphas=[0.1, 1, 10]).fit(fio.from_arrays(X, y), chunk_rows=25)
    ref = fastlin.RidgeCV(alphas=[0.1, 1, 10]).fit(X, y)
    np.testing.assert_allclose(loo.cv_results_, ref.cv_results_, rtol=1e-10)
    with pytest.raises(ValueError, match="needs a second pass"):
        fastlin.RidgeCV(cv="loo").fit([(X, y)])
    with pytest.raises(ValueError, match="use cv='gcv'"):
        fastlin.RidgeCV(cv="loo").partial_fit(X, y)
    # The default takes leave-one-out where the rows can be read again, GCV where not.
    assert fastlin.RidgeCV(alphas=[0.1, 1, 10]).partial_fit(X, y).alpha_ == full.alpha_
    np.testing.assert_array_equal(
        fastlin.RidgeCV(alphas=[0.1, 1, 10]).fit([(X, y)]).cv_results_, full.cv_results_
    )
    with pytest.raises(ValueError, match=r"alphas\[1\] = -1"):
        fastlin.RidgeCV(alphas=[1, -1]).fit(X, y)


# -- worked examples -------------------------------------------------------------------


def test_fertilizer_quadratic():
    N = np.array([0, 1, 2, 3, 4, 6, 8, 9], dtype=float)
    Y = np.array([24.5, 41.5, 52.1, 61.4, 73.5, 86.0, 92.8, 94.0])
    for solver in ("auto", "qr"):
        m = fastlin.LinearRegression(solver=solver).fit(np.c_[N, N**2], Y)
        np.testing.assert_allclose(m.intercept_, 25.3953155, atol=5e-7)
        np.testing.assert_allclose(m.coef_, [15.08787638, -0.8306277], atol=5e-7)


def test_hosiery_mill_qr():
    output = np.array([13.11, 14.35, 17.09, 20.25, 24.58, 28.20])[:, None]
    cost = np.array([29.45, 31.40, 38.01, 43.65, 50.25, 56.09])
    m = fastlin.LinearRegression(solver="qr").fit(output, cost)
    assert m.coef_[0] == pytest.approx(1.7722402, abs=5e-8)
    assert m.intercept_ == pytest.approx(6.74499953, abs=5e-8)


@pytest.mark.parametrize("solver", ["auto", "qr"])
def test_ridge_shrinkage_example(solver):
    X = np.array([[1, 1], [1, 2], [1, 3], [1, 4]], dtype=float)
    y = np.array([1.2, 1.9, 3.2, 3.9])
    norms = []
    for alpha in (0.0, 0.1, 1.0, 10.0):
        m = fastlin.Ridge(alpha=alpha, fit_intercept=False, solver=solver).fit(X, y)
        ref = np.linalg.solve(X.T @ X + alpha * np.eye(2), X.T @ y)
        np.testing.assert_allclose(m.coef_, ref, rtol=1e-10)
        norms.append(np.linalg.norm(m.coef_))
    assert norms == sorted(norms, reverse=True)


# -- ill conditioning ------------------------------------------------------------------


def _poly12():
    x = np.linspace(0, 1, 1000)
    X = np.vander(x, 13, increasing=True)[:, 1:]
    beta = np.random.default_rng(3).standard_normal(12)
    return X, X @ beta + 2.0, beta


def test_degree_12_polynomial_qr_within_10x_of_lstsq_and_cholesky_worse():
    X, y, beta = _poly12()
    ref = np.linalg.lstsq(np.c_[np.ones(len(y)), X], y, rcond=None)[0][1:]
    err_lstsq = np.linalg.norm(ref - beta) / np.linalg.norm(beta)
    qr = fastlin.LinearRegression(solver="qr").fit(X, y)
    err_qr = np.linalg.norm(qr.coef_ - beta) / np.linalg.norm(beta)
    assert err_qr <= 10 * err_lstsq
    auto = fastlin.LinearRegression().fit(X, y)
    assert auto.solver_ == "qr"
    np.testing.assert_array_equal(auto.coef_, qr.coef_)
    # The normal-equations routes lose far more: Cholesky refuses, minimum norm is off.
    with pytest.raises(np.linalg.LinAlgError):
        fastlin.LinearRegression(solver="cholesky").fit(X, y)
    with pytest.warns(RankDeficientWarning):
        mn = fastlin.LinearRegression(solver="minimum_norm").fit(X, y)
    err_mn = np.linalg.norm(mn.coef_ - beta) / np.linalg.norm(beta)
    assert err_mn > 100 * err_qr
    report = condition_report(
        auto.stats_ if hasattr(auto.stats_, "xtx") else fastlin.GramStats().update(X, y)
    )
    assert report.ill_conditioned and report.digits_lost > 12
    assert report.dependencies


def test_lauchli_and_scaled_columns():
    eps = 1e-7
    X = np.vstack([np.ones((1, 3)), eps * np.eye(3)])
    y = np.array([1.0, 2e-7, 3e-7, 4e-7])
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    m = fastlin.LinearRegression(solver="qr", fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref, rtol=1e-6)
    # Feature scaling: one column in units 1e6 larger changes nothing but its coefficient.
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((200, 3))
    yz = Z @ [1.0, 2.0, 3.0] + 0.1 * rng.standard_normal(200)
    Zs = Z * [1.0, 1e6, 1.0]
    a = fastlin.LinearRegression().fit(Z, yz)
    b = fastlin.LinearRegression().fit(Zs, yz)
    np.testing.assert_allclose(b.coef_ * [1.0, 1e6, 1.0], a.coef_, rtol=1e-9)
    assert b.solver_ == "cholesky"  # standardisation: units do not make it ill conditioned
    rep = condition_report(fastlin.GramStats().update(Zs, yz))
    assert rep.cond_raw > 1e5 and rep.cond_centred < 10


def test_condition_report_names_dependent_and_constant_columns(rng):
    X = rng.standard_normal((300, 5))
    X[:, 3] = X[:, 0] - 2 * X[:, 1] + 1e-4 * rng.standard_normal(300)
    X[:, 4] = 7.0
    rep = condition_report(fastlin.GramStats().update(X, X[:, 0]), feature_names=list("abcde"))
    assert rep.constant_columns == ["e"]
    deps = [set(dep["columns"]) for dep in rep.dependencies]
    assert {"(intercept)", "e"} in deps  # a constant column duplicates the intercept
    assert any(dep >= {"a", "b", "d"} for dep in deps)
    assert "near-dependency" in str(rep) and rep.to_dict()["rank"] == 4
    with pytest.warns(RankDeficientWarning, match=r"columns \[.*\] are \(near\) linear"):
        Xd = X.copy()
        Xd[:, 3] = Xd[:, 0] - 2 * Xd[:, 1]
        fastlin.LinearRegression(solver="minimum_norm").fit(Xd, X[:, 2])


def test_partial_fit_ill_conditioned_warns_to_use_qr():
    X, y, _ = _poly12()
    m = fastlin.LinearRegression()
    m.partial_fit(X, y)  # the solve waits for the first fitted attribute read
    with pytest.warns(RankDeficientWarning) as caught:
        assert m.solver_ == "minimum_norm"
    assert any("rows are not available" in str(w.message) for w in caught)
    qr = fastlin.LinearRegression(solver="qr")
    for r0 in range(0, 1000, 250):
        qr.partial_fit(X[r0 : r0 + 250], y[r0 : r0 + 250])
    np.testing.assert_allclose(
        qr.coef_, fastlin.LinearRegression(solver="qr").fit(X, y).coef_, rtol=1e-6
    )
