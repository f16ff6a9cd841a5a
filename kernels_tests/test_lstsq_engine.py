"""The least-squares engine: offsets, overflow, the solve route, refinement, lazy
partial_fit and constant memory, each against a NumPy/LAPACK reference."""

import warnings

import numpy as np
import pytest

import fastlin
from fastlin.core.solve import RankDeficientWarning
from fastlin.core.stats import GramStats


def _lstsq_shifted(X, y, w=None):
    """lstsq with an intercept column on X taken about its first row (an exact shift)."""
    Xf = np.asarray(X, dtype=np.float64)
    Z = np.c_[np.ones(len(Xf)), Xf - Xf[0]]
    Y = np.asarray(y, dtype=np.float64)
    if w is not None:
        r = np.sqrt(w)
        Z, Y = Z * r[:, None], (Y.T * r).T
    sol = np.linalg.lstsq(Z, Y, rcond=None)[0]
    return sol[1:]


def _rss(X, Y, coef, intercept):
    R = np.asarray(Y, float).reshape(len(X), -1) - np.asarray(X, float) @ np.atleast_2d(coef).T
    R -= np.atleast_1d(intercept)
    return float((R**2).sum())


# -- offsets are harmless ----------------------------------------------------------------


def _offset_designs(rng, n):
    return {
        "1e9 + integers 0..100": np.c_[1e9 + rng.integers(0, 101, n)],
        "1e8 offset": np.c_[1e8 + rng.standard_normal(n), rng.standard_normal(n)],
        "unix timestamps, sorted": np.c_[
            1.7e9 + np.sort(rng.uniform(0, 3e7, n)), rng.standard_normal(n)
        ],
        "int64 near 2**40": np.c_[
            (2**40 + rng.integers(0, 1000, n)).astype(np.int64), rng.integers(-5, 5, n)
        ],
        "|mean|/std = 1e12": np.c_[1e12 + rng.standard_normal(n), rng.standard_normal(n)],
    }


@pytest.mark.parametrize("name", list(_offset_designs(np.random.default_rng(0), 10)))
def test_offsets_give_lstsq_coefficients(rng, name):
    n = 1500
    X = _offset_designs(rng, n)[name]
    Xf = X.astype(np.float64)
    Z = Xf - Xf[0]
    y = Z @ (np.arange(1, X.shape[1] + 1) / Z.std(axis=0)) + rng.standard_normal(n)
    ref = _lstsq_shifted(X, y)
    fit = fastlin.LinearRegression().fit(X, y)
    # The bar is 1e-7 relative to lstsq on the centred design; seen: below 1e-13.
    np.testing.assert_allclose(fit.coef_, ref, rtol=1e-7, atol=1e-7 * np.abs(ref).max())
    streamed = fastlin.LinearRegression()
    for r0 in range(0, n, 311):
        streamed.partial_fit(X[r0 : r0 + 311], y[r0 : r0 + 311])
    np.testing.assert_allclose(streamed.coef_, ref, rtol=1e-7, atol=1e-7 * np.abs(ref).max())
    w = rng.uniform(0.5, 2.0, n)
    weighted = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    ref_w = _lstsq_shifted(X, y, w)
    np.testing.assert_allclose(weighted.coef_, ref_w, rtol=1e-7, atol=1e-7 * np.abs(ref_w).max())


def test_merging_states_with_different_shifts(rng):
    X = np.c_[1e9 + rng.uniform(0, 100, 900), rng.standard_normal(900)]
    y = X[:, 0] - 1e9 + rng.standard_normal(900)
    a = GramStats().update(X[:300], y[:300])
    b = GramStats().update(X[300:], y[300:])
    assert not np.array_equal(a.x_shift, b.x_shift)
    merged = a.merge(b)
    whole = GramStats().update(X, y)
    Ca, Cxa, ma, _ = merged.centred()
    Cw, Cxw, mw, _ = whole.centred()
    np.testing.assert_allclose(Ca, Cw, rtol=1e-12)
    np.testing.assert_allclose(Cxa, Cxw, rtol=1e-12)
    np.testing.assert_allclose(ma, mw, rtol=1e-14)


def test_integer_offsets_merge_exactly_in_any_order(rng):
    X = (2**40 + rng.integers(0, 50, size=(600, 3))).astype(np.int64)
    y = rng.integers(0, 5, 600).astype(np.float64) + 1e6
    parts = [GramStats().update(X[i : i + 100], y[i : i + 100]) for i in range(0, 600, 100)]
    left = parts[0].copy()
    for p in parts[1:]:
        left.merge(p)
    right = parts[-1].copy()
    for p in reversed(parts[:-1]):
        right.merge(p)
    Cl, Cxl, _, _ = left.centred()
    Cr, Cxr, _, _ = right.centred()
    # Shifted integer sums move between shifts exactly; centring then rounds the same.
    Xs = (X - X[0]).astype(np.float64)
    np.testing.assert_array_equal(np.triu(left.to_arrays()["xtx"]), np.triu(Xs.T @ Xs))
    # Either order holds the same integers once moved to one shift: the same bits.
    moved = right._moved_to(left.x_shift, left.y_shift)
    for got, want in zip(
        moved, (left._sx, left._sy, np.triu(left._sxx), left._sxy, np.triu(left._syy))
    ):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(Cl, Cr, rtol=0, atol=1e-14 * np.abs(Cl).max())
    np.testing.assert_allclose(Cxl, Cxr, rtol=0, atol=1e-14 * np.abs(Cl).max())


def test_huge_values_are_refused_by_column_before_any_change(rng):
    X = rng.standard_normal((50, 4))
    s = GramStats().update(X, X[:, 0])
    before = s.to_arrays()
    bad = X.copy()
    bad[7, 2] = -1e155
    with pytest.raises(ValueError, match=r"X column 2 has a value of magnitude 1e\+155"):
        s.update(bad, X[:, 0])
    with pytest.raises(ValueError, match=r"y column 0 has a value of magnitude 1e\+160"):
        s.update(X, np.full(50, 1e160))
    after = s.to_arrays()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)
    with pytest.raises(ValueError, match="column 2"):
        fastlin.LinearRegression().fit(bad, X[:, 0])


# -- the solve route on rank-deficient and ill-conditioned designs ------------------------


def _mnist_stack(directory, copies=2, rows=4000):
    from fastlin.io.datasets import load_mnist_test

    X, y = load_mnist_test(directory, as_arrays=True)
    X = np.vstack([X[:rows]] * copies)
    Y = np.eye(10)[np.concatenate([y[:rows]] * copies)]
    return X, Y


def _designs(rng):
    n = 600
    dup = rng.standard_normal((n, 30))
    dup[:, 5] = dup[:, 2]
    dup[:, 7] = 2 * dup[:, 3] - dup[:, 4]
    dup[:, [0, 11]] = 3.0
    wide = rng.standard_normal((40, 120))
    near = rng.standard_normal((n, 12))
    near[:, 11] = near[:, 0] + near[:, 1] + 1e-7 * rng.standard_normal(n)
    scaled = rng.standard_normal((n, 8)) * np.logspace(-6, 6, 8) + np.logspace(0, 9, 8)
    x = np.linspace(0, 1, n)
    poly = np.vander(x, 13, increasing=True)[:, 1:]
    return {
        "duplicates and constants": dup,
        "wide (n < d)": wide,
        "near-collinear (1e-7)": near,
        "scaled, offset columns": scaled,
        "degree-12 polynomial": poly,
    }


@pytest.mark.parametrize("name", list(_designs(np.random.default_rng(0))))
def test_rss_within_1e9_of_lstsq(rng, name):
    X = _designs(rng)[name]
    Y = np.c_[np.sin(7 * X[:, :3].sum(axis=1)), rng.standard_normal(len(X))]
    Xc = X - X.mean(axis=0)
    coef_ref = np.linalg.lstsq(Xc, Y - Y.mean(axis=0), rcond=None)[0]
    rss_ref = float(((Y - Y.mean(axis=0) - Xc @ coef_ref) ** 2).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        fit = fastlin.LinearRegression().fit(X, Y)
    rss = _rss(X, Y, fit.coef_, fit.intercept_)
    # The yardstick of the solve route: the residual sum of squares within 1e-9 relative
    # of lstsq's (an exact fit counts against the scale of Y instead).
    scale = max(rss_ref, 1e-20 * float((Y**2).sum()))
    assert abs(rss - rss_ref) <= 1e-9 * scale, (fit.solver_, rss, rss_ref)


def test_mnist_stack_takes_the_gram_route_and_matches_lstsq(mnist_dir):
    X, Y = _mnist_stack(mnist_dir)
    with pytest.warns(RankDeficientWarning, match="numerical rank"):
        fit = fastlin.LinearRegression().fit(X, Y)
    assert fit.solver_ == "minimum_norm" and fit.refinement_passes_ == 0
    Xf = X.astype(np.float64)
    Xc = Xf - Xf.mean(axis=0)
    coef_ref, _, rank, _ = np.linalg.lstsq(Xc, Y - Y.mean(axis=0), rcond=None)
    assert fit.rank_ == rank
    rss_ref = float(((Y - Y.mean(axis=0) - Xc @ coef_ref) ** 2).sum())
    assert abs(_rss(Xf, Y, fit.coef_, fit.intercept_) - rss_ref) <= 1e-9 * rss_ref
    # Minimum norm: the coefficients themselves agree (up to the conditioning, ~1e5).
    np.testing.assert_allclose(fit.coef_, coef_ref.T, atol=1e-6 * np.abs(coef_ref).max())
    # And test predictions (what accuracy is made of) agree.
    held = np.vstack([X[:500] // 2])
    np.testing.assert_allclose(
        fit.predict(held), (held - Xf.mean(0)) @ coef_ref + Y.mean(0), atol=1e-7
    )


def test_ill_conditioned_full_rank_is_refined(rng):
    n = 3000
    Z = rng.standard_normal((n, 6))
    X = Z.copy()
    X[:, 5] = Z[:, 4] + 1e-5 * Z[:, 5]  # cond(X) ~ 1e5: the Gram's ~ 1e10
    y = X @ [1.0, -2.0, 3.0, 0.5, 4.0, -4.0] + rng.standard_normal(n)
    ref = _lstsq_shifted(X, y)
    fit = fastlin.LinearRegression().fit(X, y)
    assert fit.solver_ == "cholesky+refine" and 2 <= fit.refinement_passes_ <= 6
    # A least-squares solution itself moves by ~eps cond(X)² |r| / |X||β| ~ 1e-9 here:
    # the coefficients agree to 1e-7 and the residual sums of squares to 1e-12.
    np.testing.assert_allclose(fit.coef_, ref, rtol=1e-7)
    rss_ref = _rss(X, y, ref, np.mean(y - X @ ref))
    assert abs(_rss(X, y, fit.coef_, fit.intercept_) - rss_ref) <= 1e-12 * rss_ref
    plain = fastlin.LinearRegression(solver="cholesky").fit(X, y)
    # Without the passes the normal equations lose about 1e10 * eps of their digits.
    assert np.abs(plain.coef_ - ref).max() > 10 * np.abs(fit.coef_ - ref).max()


def test_float32_design_refined_to_float32_accuracy(rng):
    n, d = 4000, 40
    base = rng.standard_normal((n, d)) @ (np.eye(d) + 0.3 * rng.standard_normal((d, d)))
    X = base.astype(np.float32)
    y = (X.astype(np.float64) @ rng.standard_normal(d) + rng.standard_normal(n)).astype(np.float32)
    fit = fastlin.LinearRegression().fit(X, y)
    assert fit.coef_.dtype == np.float32
    ref = _lstsq_shifted(X, y)
    # float32 block sums carry ~3e-6 relative error; the passes over the (exactly
    # converted) rows bring the solution to float32 rounding of the true coefficients.
    np.testing.assert_allclose(fit.coef_, ref, rtol=2e-6, atol=2e-6 * np.abs(ref).max())


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_embeddings_refined_in_few_passes(seed):
    # Rank-16 structure plus isotropic noise, like a network's features: the smallest
    # directions sit near the float32 rounding of the Gram, so the passes run on the
    # regularised factor. Its shift of one rounding level (not 30) takes them to float32
    # accuracy in 4 passes here (7-8 with 30).
    rng = np.random.default_rng(seed)
    n, d = 6000, 512
    U = rng.standard_normal((n, 16))
    V = rng.standard_normal((16, d)) / np.arange(1, 17)[:, None]
    X = (U @ V + 0.05 * rng.standard_normal((n, d))).astype(np.float32)
    y = (X.astype(np.float64) @ rng.standard_normal(d) + rng.standard_normal(n)).astype(np.float32)
    fit = fastlin.LinearRegression().fit(X, y)
    ref = _lstsq_shifted(X, y)
    assert fit.solver_ == "cholesky+refine" and fit.refinement_passes_ <= 5
    np.testing.assert_allclose(fit.coef_, ref, rtol=0, atol=2e-7 * np.abs(ref).max())


def test_float32_preconditioner_falls_back_to_a_larger_shift(rng, monkeypatch):
    # When S + rel I does not factor (the rounding of the float32 sums exceeds its shift),
    # the next shift is tried before any other route.
    import fastlin.core.solve as solve

    shifts = []
    original = solve._cholesky

    def first_fails(S, rel, floor=None):
        if floor == 0.0:
            shifts.append(S[0, 0] - 1.0)
            if len(shifts) == 1:
                return None, float("nan"), 1
        return original(S, rel, floor)

    monkeypatch.setattr(solve, "_cholesky", first_fails)
    X = rng.standard_normal((3000, 20)).astype(np.float32)
    y = (X.astype(np.float64) @ np.arange(20.0) + rng.standard_normal(3000)).astype(np.float32)
    fit = fastlin.LinearRegression().fit(X, y)
    rel = GramStats().update(X, y).relative_accuracy
    ratios = np.array(shifts) / rel
    np.testing.assert_allclose(ratios, solve.PRECONDITION_SHIFTS, rtol=1e-3)
    assert fit.solver_ == "cholesky+refine"
    np.testing.assert_allclose(fit.coef_, _lstsq_shifted(X, y), rtol=0, atol=2e-5)


# -- partial_fit solves lazily, memory is constant ----------------------------------------


def test_partial_fit_solves_when_read(rng, monkeypatch):
    X = rng.standard_normal((400, 7))
    y = X @ np.arange(7.0) + 0.1 * rng.standard_normal(400)
    ref = fastlin.LinearRegression().fit(X, y).coef_
    calls = []
    original = GramStats.finalize

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GramStats, "finalize", counting)
    m = fastlin.LinearRegression()
    for r0 in range(0, 400, 40):
        m.partial_fit(X[r0 : r0 + 40], y[r0 : r0 + 40])
    assert calls == [] and m.n_samples_seen_ == 400
    coef = m.coef_
    assert len(calls) == 1
    _ = m.intercept_, m.rank_, m.predict(X[:3])
    assert len(calls) == 1
    np.testing.assert_allclose(coef, ref, rtol=1e-12)
    m.partial_fit(X[:40], y[:40])
    assert m.n_samples_seen_ == 440 and len(calls) == 1
    np.testing.assert_allclose(m.predict(X[:2]), m.coef_ @ X[:2].T + m.intercept_)
    assert len(calls) == 2


def test_bad_partial_fit_leaves_model_and_pending_solve(rng):
    X = rng.standard_normal((100, 3))
    y = X.sum(axis=1)
    m = fastlin.LinearRegression().partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LinearRegression is expecting 3"):
        m.partial_fit(X[:, :2], y)
    assert m.n_samples_seen_ == 100
    np.testing.assert_allclose(m.coef_, [1, 1, 1], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_update_reuses_its_buffers(rng, dtype):
    X = rng.integers(0, 200, size=(5000, 40)).astype(dtype)
    Y = rng.standard_normal((5000, 2))
    s = GramStats()
    with fastlin.threads(2):
        s.update(X, Y)
        first = {k: id(v) for k, v in s._scratch.items()}
        s.update(X, Y)
        again = {k: id(v) for k, v in s._scratch.items()}
    assert first == again
    per_thread = sum(v.nbytes for v in s._scratch.values())
    # Scratch is at most (threads) d x d float64 parts plus packing panels and one block.
    assert per_thread <= 2 * 40 * 40 * 8 + 8 * (1 << 20) + 2 * 1024 * 64 + 8 * 2 * 5000


@pytest.mark.parametrize("alpha", [0.0, 3.0])
@pytest.mark.parametrize("constant", [False, True])
def test_fit_quality_from_statistics(rng, alpha, constant):
    from sklearn.metrics import r2_score

    X = rng.standard_normal((500, 6)) * [1, 10, 100, 1, 1, 1] + 1e6
    if constant:
        X[:, 2] = 7.0
    Y = X @ rng.standard_normal((6, 2)) + rng.standard_normal((500, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        sol = GramStats().update(X, Y).finalize(alpha=alpha)
    pred = (X - X[0]) @ sol.coef.T + (sol.intercept + X[0] @ sol.coef.T)
    # R² and the residual variance come from the statistics alone, not a pass.
    np.testing.assert_allclose(sol.r2, r2_score(Y, pred, multioutput="raw_values"), rtol=1e-9)
    rss = ((Y - pred) ** 2).sum(axis=0)
    np.testing.assert_allclose(sol.residual_variance, rss / (500 - sol.rank - 1), rtol=1e-7)
