"""Inference against statsmodels: OLS / WLS with classical and HC0-HC3 covariances, and
binary Logit.

Tolerances: 1e-8 relative for least squares (both sides solve well-conditioned systems
in float64; the agreement seen is ~1e-13), 1e-6 relative for Logit (the optimum is found
iteratively on both sides). Streamed, merged and Dask results equal the in-memory ones to
1e-10 relative (only the summation order differs).
"""

import warnings

import numpy as np
import pytest

import fastlin
from fastlin.core.inference_stats import SandwichStats

sm = pytest.importorskip("statsmodels.api")

RTOL = 1e-8
ATTRS = (
    "params",
    "bse",
    "tvalues",
    "pvalues",
    "rsquared",
    "rsquared_adj",
    "fvalue",
    "f_pvalue",
    "llf",
    "aic",
    "bic",
    "df_resid",
    "df_model",
    "scale",
    "ssr",
    "centered_tss",
    "ess",
)


def _design(rng, n, d, offset=0.0):
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d)
    beta = rng.standard_normal(d)
    noise = rng.standard_normal(n) * (0.5 + np.abs(X[:, -1] - X[:, -1].mean()))
    y = X @ beta + 1.5 + noise
    # The offset column shifts X only: y stays the same, so the centred design is an
    # exact reference (X[:, 0] - offset is exact in float64).
    X[:, 0] += offset
    return X, y


def _compare(got, ref, attrs=ATTRS, rtol=RTOL):
    for a in attrs:
        np.testing.assert_allclose(
            np.asarray(getattr(got, a), dtype=float),
            np.asarray(getattr(ref, a), dtype=float),
            rtol=rtol,
            atol=0,
            err_msg=a,
        )
    np.testing.assert_allclose(got.conf_int(), np.asarray(ref.conf_int()), rtol=rtol)
    np.testing.assert_allclose(got.conf_int(0.1), np.asarray(ref.conf_int(0.1)), rtol=rtol)


@pytest.mark.parametrize("n,d", [(60, 1), (300, 5), (2000, 17)])
@pytest.mark.parametrize("weighted", [False, True])
def test_classical_from_statistics_equals_statsmodels(rng, n, d, weighted):
    X, y = _design(rng, n, d)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    got = fastlin.LinearRegression().fit(X, y, sample_weight=w).inference()
    model = sm.WLS(y, sm.add_constant(X), weights=w) if weighted else sm.OLS(y, sm.add_constant(X))
    _compare(got, model.fit())
    assert got.names == ["const"] + [f"x{i + 1}" for i in range(d)]
    assert got.cov_type == "nonrobust" and got.identified.all() and not got.ssr_exact
    np.testing.assert_allclose(got.cov_params(), model.fit().cov_params(), rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("weighted", [False, True])
def test_robust_equals_statsmodels(rng, cov_type, weighted):
    n, d = 700, 6
    X, y = _design(rng, n, d)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    m = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    got = m.inference(X, y, sample_weight=w, cov_type=cov_type)
    model = sm.WLS(y, sm.add_constant(X), weights=w) if weighted else sm.OLS(y, sm.add_constant(X))
    _compare(got, model.fit(cov_type=cov_type))
    assert got.ssr_exact and not got.use_t


def test_no_intercept_equals_statsmodels_without_constant(rng):
    X, y = _design(rng, 400, 4)
    m = fastlin.LinearRegression(fit_intercept=False).fit(X, y)
    _compare(m.inference(), sm.OLS(y, X).fit(), attrs=ATTRS[:-2])
    np.testing.assert_allclose(
        m.inference().uncentered_tss, sm.OLS(y, X).fit().uncentered_tss, rtol=RTOL
    )
    _compare(m.inference(X, y, cov_type="HC3"), sm.OLS(y, X).fit(cov_type="HC3"), attrs=ATTRS[:-2])
    assert m.inference().names == ["x1", "x2", "x3", "x4"]


def test_multi_output_has_one_column_per_target(rng):
    n, d, t = 500, 5, 3
    X, _ = _design(rng, n, d)
    Y = X @ rng.standard_normal((d, t)) + rng.standard_normal((n, t)) * [1, 2, 0.5]
    m = fastlin.LinearRegression().fit(X, Y)
    for ct in ("nonrobust", "HC2"):
        got = m.inference(X, Y, cov_type=ct)
        assert got.params.shape == got.bse.shape == (d + 1, t)
        assert got.conf_int().shape == (d + 1, 2, t)
        assert got.cov_params().shape == (t, d + 1, d + 1)
        assert got.rsquared.shape == got.fvalue.shape == (t,)
        for j in range(t):
            ref = sm.OLS(Y[:, j], sm.add_constant(X)).fit(cov_type=ct)
            for a in ("params", "bse", "pvalues"):
                np.testing.assert_allclose(
                    getattr(got, a)[:, j], getattr(ref, a), rtol=RTOL, err_msg=a
                )
            for a in ("rsquared", "fvalue", "llf", "aic", "scale"):
                np.testing.assert_allclose(
                    getattr(got, a)[j], getattr(ref, a), rtol=RTOL, err_msg=a
                )
            np.testing.assert_allclose(got.conf_int()[:, :, j], ref.conf_int(), rtol=RTOL)
    text = m.inference().summary(target_names=["a", "b", "c"])
    assert text.count("OLS Regression Results") == 3 and "Dep. Variable:" in text


def test_streamed_and_sourced_equal_in_memory(rng):
    n, d = 3000, 7
    X, y = _design(rng, n, d)
    ref_model = fastlin.LinearRegression().fit(X, y)
    ref = ref_model.inference()
    streamed = fastlin.LinearRegression()
    for r0 in range(0, n, 700):
        streamed.partial_fit(X[r0 : r0 + 700], y[r0 : r0 + 700])
    _compare(streamed.inference(), ref, rtol=1e-10)
    ref_hc = ref_model.inference(X, y, cov_type="HC3")
    chunks = [(X[r0 : r0 + 512], y[r0 : r0 + 512]) for r0 in range(0, n, 512)]
    _compare(streamed.inference(chunks, cov_type="HC3"), ref_hc, rtol=1e-10)
    src = fastlin.from_arrays(X, y)
    _compare(ref_model.inference(src, cov_type="HC3", chunk_rows=999), ref_hc, rtol=1e-10)


def test_sandwich_merge_order_and_arrays_round_trip(rng):
    n, d = 2000, 4
    X, y = _design(rng, n, d)
    w = rng.uniform(0.5, 2, n)
    m = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    from fastlin.diagnostics import hat_factor

    factor = hat_factor(m.stats_, 0.0, True)
    _, mean = m.stats_.centred_x(True)

    def new():
        level = np.atleast_1d(m.intercept_) + np.atleast_2d(m.coef_) @ mean
        return SandwichStats(np.atleast_2d(m.coef_), level, factor, m.stats_.mean_parts(), "HC2")

    whole = new().update(X, y, w)
    cuts = [0, 300, 301, 1200, n]
    parts = [new().update(X[a:b], y[a:b], w[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    fwd = parts[0].copy()
    for p in parts[1:]:
        fwd.merge(p)
    back = parts[-1].copy()
    for p in parts[-2::-1]:
        back.merge(p)
    for s in (fwd, back):
        M1, ssr1 = whole.finalize()
        M2, ssr2 = s.finalize()
        np.testing.assert_allclose(M2, M1, rtol=1e-12, atol=1e-12 * np.abs(M1).max())
        np.testing.assert_allclose(ssr2, ssr1, rtol=1e-12)
    again = type(fwd).from_arrays(fwd.to_arrays())
    np.testing.assert_array_equal(again.finalize()[0], fwd.finalize()[0])


def test_uint8_design(rng):
    X = rng.integers(0, 256, size=(1500, 6), dtype=np.uint8)
    y = X.astype(float) @ rng.standard_normal(6) + rng.standard_normal(1500) * 20
    m = fastlin.LinearRegression().fit(X, y)
    ref = sm.OLS(y, sm.add_constant(X.astype(float)))
    _compare(m.inference(), ref.fit())
    _compare(m.inference(X, y, cov_type="HC1"), ref.fit(cov_type="HC1"))


def test_large_offsets_cost_no_digits(rng):
    """A timestamp-like column (offset 1e9, spread ~1): slopes' standard errors are those
    of statsmodels on the centred column; the intercept's follows from the same algebra."""
    X, y = _design(rng, 800, 3, offset=1.7e9)
    m = fastlin.LinearRegression().fit(X, y)
    Xc = X.copy()
    Xc[:, 0] -= 1.7e9
    ref = sm.OLS(y, sm.add_constant(Xc)).fit()
    got = m.inference()
    np.testing.assert_allclose(got.bse[1:], ref.bse[1:], rtol=1e-7)
    np.testing.assert_allclose(got.rsquared, ref.rsquared, rtol=1e-9)
    # Var(b) for b = a - 1.7e9 β0, with a the intercept of the centred column.
    cov = ref.cov_params()
    var_b = cov[0, 0] - 2 * 1.7e9 * cov[0, 1] + 1.7e9**2 * cov[1, 1]
    np.testing.assert_allclose(got.bse[0] ** 2, var_b, rtol=1e-6)
    got_hc = m.inference(X, y, cov_type="HC0")
    np.testing.assert_allclose(
        got_hc.bse[1:], sm.OLS(y, sm.add_constant(Xc)).fit(cov_type="HC0").bse[1:], rtol=1e-7
    )


def test_rank_deficiency_is_reported(rng):
    n = 400
    X, y = _design(rng, n, 4)
    X = np.c_[X, X[:, 0] + X[:, 1], np.full(n, 3.0)]  # a dependency and a constant column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        m = fastlin.LinearRegression().fit(X, y)
    got = m.inference()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own rank-deficiency warning
        ref = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    assert got.rank == 5 and got.df_model == ref.df_model == 4
    for a in ("df_resid", "ssr", "scale", "rsquared", "rsquared_adj", "fvalue", "llf", "aic"):
        np.testing.assert_allclose(getattr(got, a), getattr(ref, a), rtol=RTOL, err_msg=a)
    np.testing.assert_array_equal(got.identified, [True, False, False, True, True, False, False])
    assert np.isfinite(got.bse[got.identified]).all()
    assert np.isnan(got.tvalues[~got.identified]).all()
    # Identified coefficients keep their classical standard errors.
    ref2 = sm.OLS(y, sm.add_constant(X[:, :4])).fit()
    np.testing.assert_allclose(got.bse[[0, 3, 4]], ref2.bse[[0, 3, 4]], rtol=1e-7)
    assert "rank deficient: rank 5 of 7" in got.summary()


def test_ssr_from_statistics_warns_when_it_has_lost_digits(rng):
    X = rng.standard_normal((500, 3))
    y = X @ [1.0, 2.0, 3.0] + 1e-9 * rng.standard_normal(500)
    m = fastlin.LinearRegression().fit(X, y)
    with pytest.warns(UserWarning, match="lost digits"):
        m.inference()
    exact = m.inference(X, y)
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(exact.ssr, ref.ssr, rtol=1e-6)
    assert exact.ssr_exact


def test_summary_names_and_feature_names(rng):
    X, y = _design(rng, 100, 2)
    m = fastlin.LinearRegression().fit(X, y)
    r = m.inference(feature_names=["price", "volume"])
    text = r.summary()
    assert r.names == ["const", "price", "volume"]
    for token in (
        "OLS Regression Results",
        "const",
        "price",
        "volume",
        "R-squared:",
        "Covariance Type:",
        "nonrobust",
        "P>|t|",
        "[0.025",
        "0.975]",
    ):
        assert token in text
    assert "HC3" in m.inference(X, y, cov_type="HC3").summary()


def test_errors(rng):
    X, y = _design(rng, 200, 3)
    m = fastlin.LinearRegression()
    with pytest.raises(Exception, match="not fitted"):
        m.inference()
    m.fit(X, y)
    with pytest.raises(ValueError, match="cov_type"):
        m.inference(X, y, cov_type="HC9")
    with pytest.raises(ValueError, match="needs the rows"):
        m.inference(cov_type="HC1")
    with pytest.raises(ValueError, match="not those the model was fitted on"):
        m.inference(X[:150], y[:150], cov_type="HC0")
    with pytest.raises(ValueError, match="features"):
        m.inference(X[:, :2], y, cov_type="HC0")
    with pytest.raises(ValueError, match="feature names"):
        m.inference(feature_names=["a"])
    Xl = np.c_[X, np.zeros(200)]
    Xl[7, 3] = 1.0  # only row 7 determines this coefficient: leverage 1
    ml = fastlin.LinearRegression().fit(Xl, y)
    with pytest.raises(ValueError, match="leverage 1"):
        ml.inference(Xl, y, cov_type="HC3")
    ml.inference(Xl, y, cov_type="HC0")


def test_solver_qr_model_needs_the_rows(rng):
    X, y = _design(rng, 300, 3)
    m = fastlin.LinearRegression(solver="qr").fit(X, y)
    with pytest.raises(ValueError, match="TSQR"):
        m.inference()
    _compare(m.inference(X, y), sm.OLS(y, sm.add_constant(X)).fit())


# -- logistic --------------------------------------------------------------------------------


def _logit_data(rng, n=600, d=4):
    X = rng.standard_normal((n, d)) * [1, 2, 0.5, 3][:d]
    X[:, -1] += 5
    z = X @ np.linspace(-0.8, 0.8, d) - 1.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


def test_logit_equals_statsmodels(rng):
    X, y = _logit_data(rng)
    labels = np.where(y == 1, "yes", "no")
    m = fastlin.LogisticRegression(C=np.inf, tol=1e-10, max_iter=2000).fit(X, labels)
    got = m.inference(X, labels)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    for a in (
        "params",
        "bse",
        "tvalues",
        "pvalues",
        "llf",
        "aic",
        "bic",
        "df_model",
        "df_resid",
        "prsquared",
        "llr",
    ):
        np.testing.assert_allclose(getattr(got, a), getattr(ref, a), rtol=1e-6, err_msg=a)
    np.testing.assert_allclose(got.conf_int(), ref.conf_int(), rtol=1e-6)
    assert not got.penalised and "Logit Regression Results" in got.summary()
    chunks = [(X[r0 : r0 + 128], labels[r0 : r0 + 128]) for r0 in range(0, len(y), 128)]
    again = m.inference(chunks)
    np.testing.assert_allclose(again.bse, got.bse, rtol=1e-10)


def test_logit_uint8_with_x_scale(rng):
    X = rng.integers(0, 256, size=(800, 3), dtype=np.uint8)
    z = (X / 255.0) @ [2.0, -1.5, 1.0] - 0.5
    y = (rng.uniform(size=800) < 1 / (1 + np.exp(-z))).astype(int)
    m = fastlin.LogisticRegression(C=np.inf, tol=1e-10, max_iter=2000, x_scale=1 / 255).fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X / 255.0)).fit(disp=0, method="newton", tol=1e-12)
    np.testing.assert_allclose(m.inference(X, y).bse, ref.bse, rtol=1e-6)


def test_logit_errors_and_penalised_flag(rng):
    X, y = _logit_data(rng)
    m = fastlin.LogisticRegression(C=1.0).fit(X, y)
    assert m.inference(X, y).penalised
    with pytest.raises(ValueError, match="not one of the model's classes"):
        m.inference(X, np.where(y == 1, 2, 0))
    y3 = y.copy()
    y3[:50] = 2
    m3 = fastlin.LogisticRegression().fit(X, y3)
    with pytest.raises(ValueError, match="binary"):
        m3.inference(X, y3)
