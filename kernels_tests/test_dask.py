"""Distributed fits on a real LocalCluster (2 worker processes) equal the in-memory fits.

uint8 least squares: the merged statistics and the coefficients are the same bits as in
memory. Float data: 1e-10 relative for statistics and least squares (the per-block sums
only change the summation order). Logistic regression: the distributed objective and
gradient at a given point equal the in-memory ones to 1e-12 relative, and the fitted
coefficients to 1e-10 relative (both fits run the same minimiser, which finishes with
Newton-CG steps when L-BFGS stops short of the tolerance).
"""

import os
import signal
import time
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastlin  # noqa: E402
import fastlin.dask as fd  # noqa: E402
from fastlin.dask.fitting import _encode_block, _hessp_block, _loss_grad_block, _merge_sums  # noqa: E402
from fastlin.dask.reduce import _local_groups, _reduce  # noqa: E402
from fastlin.core.losses import LossGradState, hessp_sums  # noqa: E402
from fastlin.estimators.logistic import LogisticRegression  # noqa: E402
from fastlin.estimators.logistic_data import _encode  # noqa: E402
from fastlin.estimators.preprocessing import StandardScaler  # noqa: E402
from fastlin.core.stats import GramStats  # noqa: E402

RTOL_FLOAT = 1e-10


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=50,
        )
        c = distributed.Client(cluster)
    try:
        yield c
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c.close()
            cluster.close()


def _uint8_data(rng, n=3000, d=24):
    X = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    X[:, 3] = 7  # a constant column, as MNIST's border pixels
    y = (X[:, :5].astype(np.int64) @ np.arange(1, 6) + rng.integers(0, 50, n)).astype(np.float64)
    return X, y


def _assert_same_stats(a, b):
    A, B = a.to_arrays(), b.to_arrays()
    assert A.keys() == B.keys()
    for k in A:
        np.testing.assert_array_equal(A[k], B[k], err_msg=k)


# In every test the in-memory reference runs first: it compiles the kernels in this
# process and writes Numba's cache, which the worker processes then load.


@pytest.mark.parametrize("chunks", [700, 3000])
def test_uint8_gram_and_fit_bit_identical(client, rng, chunks):
    X, y = _uint8_data(rng)
    ref_stats = GramStats().update(X, y)
    Xd = da.from_array(X, chunks=(chunks, -1))
    yd = da.from_array(y, chunks=chunks)
    _assert_same_stats(fd.gram_stats(Xd, yd, split_every=2), ref_stats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        ref = fastlin.LinearRegression().fit(X, y)
        model = fd.DaskLinearRegression().fit(Xd, yd)
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    assert model.intercept_ == ref.intercept_
    assert model.n_samples_seen_ == X.shape[0]
    pred = model.predict(Xd)
    assert isinstance(pred, da.Array) and pred.shape == (X.shape[0],)
    np.testing.assert_array_equal(pred.compute(), ref.predict(X))


def test_persisted_blocks_fold_where_they_are(client, rng):
    """Persisted blocks are folded by one task per worker thread over the blocks that
    worker holds; the result is the same bits."""
    import dask

    X, y = _uint8_data(rng)
    ref = GramStats().update(X, y)
    Xd, yd = dask.persist(da.from_array(X, chunks=(300, -1)), da.from_array(y, chunks=300))
    distributed.wait([Xd, yd])
    groups = _local_groups(Xd)
    assert groups is not None and sorted(i for g in groups for i in g) == list(range(10))
    assert len(groups) <= sum(client.nthreads().values())
    _assert_same_stats(fd.gram_stats(Xd, yd), ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_ridge_weighted_multi_target(client, rng, dtype):
    n, d = 2500, 12
    X = rng.standard_normal((n, d)).astype(dtype) + 3.0
    Y = X.astype(np.float64) @ rng.standard_normal((d, 2)) + rng.standard_normal((n, 2))
    w = rng.uniform(0.5, 2.0, n)
    Xd = da.from_array(X, chunks=(600, -1))
    ref = fastlin.Ridge(alpha=2.5).fit(X, Y, sample_weight=w)
    model = fd.fit(
        fastlin.Ridge(alpha=2.5),
        Xd,
        da.from_array(Y, chunks=(600, -1)),
        da.from_array(w, chunks=600),
    )
    rtol = 1e-5 if dtype == np.float32 else RTOL_FLOAT
    assert model.coef_.dtype == ref.coef_.dtype
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=rtol)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=rtol)
    pred = fd.predict(model, Xd)
    assert pred.shape == (n, 2)
    ref_pred = ref.predict(X)
    # float32 predictions: rounding of ~1e-7 of their scale, not of each value.
    atol = 1e-5 * np.abs(ref_pred).max() if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(pred.compute(), ref_pred, rtol=rtol, atol=atol)


def test_same_route_as_in_memory(client, rng, mnist_dir):
    """MNIST (rank 661 of 784) and a design that needs refinement passes: the Dask fit
    takes the in-memory fit's route, the refinement passes running on the workers."""
    from fastlin.io.datasets import load_mnist_test

    X, y = load_mnist_test(mnist_dir, as_arrays=True)
    X = np.vstack([X[:3000]] * 2)
    Y = np.eye(10)[np.concatenate([y[:3000]] * 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        ref = fastlin.LinearRegression().fit(X, Y)
        got = fd.fit(
            fastlin.LinearRegression(),
            da.from_array(X, chunks=(1500, -1)),
            da.from_array(Y, chunks=(1500, -1)),
        )
    assert got.solver_ == ref.solver_ and ref.solver_.startswith("minimum_norm")
    assert got.rank_ == ref.rank_
    if ref.refinement_passes_:  # passes sum their blocks in another order: rounding
        np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    else:  # the same exact statistics, the same solve: the same bits
        np.testing.assert_array_equal(got.coef_, ref.coef_)
    Z = rng.standard_normal((4000, 6))
    Z[:, 5] = Z[:, 4] + 1e-5 * Z[:, 5]
    z = Z @ np.arange(1.0, 7.0) + rng.standard_normal(4000)
    ref = fastlin.LinearRegression().fit(Z, z)
    got = fd.fit(
        fastlin.LinearRegression(),
        da.from_array(Z, chunks=(1000, -1)),
        da.from_array(z, chunks=1000),
    )
    assert got.solver_ == ref.solver_ == "cholesky+refine"
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-8)


def test_qr_stats_match_in_memory(client, rng):
    from fastlin.core.tsqr import QRStats

    X = rng.standard_normal((2000, 10))
    y = X @ rng.standard_normal(10) + 0.1 * rng.standard_normal(2000)
    ref = QRStats().update(X, y)
    got = fd.qr_stats(da.from_array(X, chunks=(450, -1)), da.from_array(y, chunks=450))
    for alpha in (0.0, 3.0):
        a, b = got.finalize(alpha), ref.finalize(alpha)
        np.testing.assert_allclose(a.coef, b.coef, rtol=RTOL_FLOAT)
        np.testing.assert_allclose(a.intercept, b.intercept, rtol=RTOL_FLOAT)


def test_scaler_and_moments(client, rng):
    X = rng.standard_normal((3000, 7)) * 5 + 1e4
    X[5, 2] = np.nan
    Xd = da.from_array(X, chunks=(800, -1))
    ref = StandardScaler().fit(X)
    sc = fd.DaskStandardScaler().fit(Xd)
    np.testing.assert_allclose(sc.mean_, ref.mean_, rtol=RTOL_FLOAT)
    np.testing.assert_allclose(sc.var_, ref.var_, rtol=RTOL_FLOAT)
    np.testing.assert_array_equal(sc.n_samples_seen_, ref.n_samples_seen_)
    out = sc.transform(Xd)
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), ref.transform(X), rtol=1e-8, equal_nan=True)
    m = fd.moments(Xd)
    np.testing.assert_allclose(m.finalize()[2], np.nanvar(X, axis=0), rtol=1e-9)


def test_calibration_stats(client, rng):
    from fastlin.core.calibration import CalibrationStats

    n = 2000
    p = rng.dirichlet(np.ones(3), n)
    y = rng.integers(0, 3, n)
    pd_, yd = da.from_array(p, chunks=(450, -1)), da.from_array(y, chunks=450)
    for opts in (
        {"n_bins": 12},
        {"n_bins": 5, "mode": "classwise"},
        {"n_bins": 8, "strategy": "quantile"},
    ):
        if opts.get("strategy") == "quantile":
            ref_state = CalibrationStats(**opts).update(p[:450], y[:450]).update(p[450:], y[450:])
        else:
            ref_state = CalibrationStats(**opts).update(p, y)
        ref = ref_state.finalize()
        got = fd.calibration_stats(yd, pd_, **opts).finalize()
        np.testing.assert_array_equal(got.table.count, ref.table.count)
        np.testing.assert_allclose(got.ece, ref.ece, rtol=RTOL_FLOAT)
        np.testing.assert_allclose(got.brier_score, ref.brier_score, rtol=RTOL_FLOAT)


def test_logistic_loss_gradient_and_fit(client, rng):
    n, d = 2400, 8
    X = rng.standard_normal((n, d))
    y = np.argmax(X[:, :3] + 0.8 * rng.standard_normal((n, 3)), axis=1)
    w = rng.uniform(0.5, 1.5, n)
    Xd, yd, wd = (
        da.from_array(X, chunks=(500, -1)),
        da.from_array(y, chunks=500),
        da.from_array(w, chunks=500),
    )
    # One distributed pass of the fused kernel equals the in-memory pass.
    K = 3
    theta = rng.standard_normal(K * d + K)
    ref = (
        LossGradState(theta[: K * d].reshape(K, d), theta[K * d :], True)
        .update(X, _encode(y, np.arange(3)), w)
        .finalize()
    )
    yi = yd.map_blocks(_encode_block, np.arange(3), dtype=np.int64)
    loss, wsum, gW, gb = _reduce(
        _loss_grad_block,
        (Xd, yi, wd),
        _merge_sums,
        split_every=3,
        kernel_threads=None,
        compute=True,
        extra=(theta, K, d, True, True, 1.0),
    )
    np.testing.assert_allclose(loss, ref[0], rtol=1e-12)
    np.testing.assert_allclose(wsum, ref[1], rtol=1e-12)
    np.testing.assert_allclose(gW, ref[2], rtol=1e-11, atol=1e-12 * np.abs(ref[2]).max())
    np.testing.assert_allclose(gb, ref[3], rtol=1e-11, atol=1e-12 * np.abs(ref[3]).max())

    # Multinomial only: the binary path differs by K = 1 and a second specialisation of
    # the kernel to compile on every worker.
    for labels in (y,):
        ref = LogisticRegression(C=0.5, tol=1e-12, max_iter=500).fit(X, labels, sample_weight=w)
        model = fd.DaskLogisticRegression(C=0.5, tol=1e-12, max_iter=500).fit(
            Xd, da.from_array(labels, chunks=500), wd
        )
        np.testing.assert_array_equal(model.classes_, ref.classes_)
        scale = np.abs(ref.coef_).max()
        # Both run one minimiser to the rounding floor of their gradients, which the
        # blocks' summation order moves: coefficients agree to ~1e-10 of their scale
        # (1.2e-10 seen for one grouping of the blocks), the objective to 1e-12.
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9, atol=1e-9 * scale)
        np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-9, atol=1e-9 * scale)
        np.testing.assert_allclose(model.objective_, ref.objective_, rtol=1e-12)
        proba = model.predict_proba(Xd)
        assert isinstance(proba, da.Array)
        np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(model.predict(Xd).compute(), model.predict(X))


def test_logistic_binary_sync_scheduler(rng):
    """The binary path (one logit) through Dask's in-process scheduler: the same code
    as on the cluster, without compiling a second kernel specialisation on the workers."""
    import dask

    n, d = 1500, 6
    X = rng.standard_normal((n, d))
    labels = np.where(X[:, 0] + rng.standard_normal(n) > 0, "yes", "no")
    ref = LogisticRegression(C=2.0, tol=1e-12, max_iter=500).fit(X, labels)
    with dask.config.set(scheduler="sync"):
        model = fd.DaskLogisticRegression(C=2.0, tol=1e-12, max_iter=500).fit(
            da.from_array(X, chunks=(400, -1)), da.from_array(labels, chunks=400)
        )
        pred = model.predict(da.from_array(X, chunks=(400, -1))).compute()
    np.testing.assert_array_equal(model.classes_, ["no", "yes"])
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-10, atol=1e-10 * scale)
    np.testing.assert_array_equal(pred, ref.predict(X))


@pytest.mark.parametrize("fit_b", [True, False])
def test_hessian_products_sum_over_blocks(rng, fit_b):
    """The Newton-CG finish's distributed Hessian-vector product equals the in-memory one
    (Dask's in-process scheduler: the same block and merge code as on the cluster)."""
    import dask

    n, d, K = 1300, 7, 3
    X = rng.standard_normal((n, d))
    w = rng.uniform(0.5, 1.5, n)
    W, V = rng.standard_normal((2, K, d))
    b, vb = rng.standard_normal((2, K)) if fit_b else np.zeros((2, K))
    ref = hessp_sums(X, w, W, b, V, vb, True)
    blocks = (
        da.from_array(X, chunks=(400, -1)),
        da.zeros(n, chunks=400, dtype=np.int64),
        da.from_array(w, chunks=400),
    )
    theta_v = np.stack([np.concatenate([W.ravel(), b]), np.concatenate([V.ravel(), vb])])
    with dask.config.set(scheduler="sync"):
        got = _reduce(
            _hessp_block,
            blocks,
            _merge_sums,
            split_every=2,
            kernel_threads=None,
            compute=True,
            extra=(theta_v, K, d, fit_b, True, 1.0),
        )
    # sums of the same rows in another grouping: rounding only
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-12 * np.abs(ref[0]).max())
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-12 * np.abs(ref[1]).max())


def test_unknown_chunk_sizes(client, rng):
    X, y = _uint8_data(rng, n=2000)
    keep = rng.random(2000) < 0.7
    Xd = da.from_array(X, chunks=(500, -1))[da.from_array(keep, chunks=500)]
    yd = da.from_array(y, chunks=500)[da.from_array(keep, chunks=500)]
    assert np.isnan(Xd.shape[0])
    _assert_same_stats(fd.gram_stats(Xd, yd), GramStats().update(X[keep], y[keep]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        pred = fd.DaskLinearRegression().fit(Xd, yd).predict(Xd)
    assert pred.compute().shape == (int(keep.sum()),)
    # Partitions that do not line up are caught on the worker, naming the block.
    keep2 = np.roll(keep, 1)
    yd2 = da.from_array(y, chunks=500)[da.from_array(keep2, chunks=500)]
    if not all((keep[i : i + 500].sum() == keep2[i : i + 500].sum()) for i in range(0, 2000, 500)):
        with pytest.raises(ValueError, match="row block .*partitioned alike"):
            fd.gram_stats(Xd, yd2)


def test_inconsistent_chunks_raise(client, rng):
    X, y = _uint8_data(rng, n=1000, d=10)
    Xd = da.from_array(X, chunks=(250, -1))
    yd = da.from_array(y, chunks=250)
    with pytest.raises(ValueError, match=r"columns split into 2 chunks .*rechunk\(\{1: -1\}\)"):
        fd.gram_stats(da.from_array(X, chunks=(250, 5)), yd)
    with pytest.raises(ValueError, match="X and y have different row chunks"):
        fd.gram_stats(Xd, da.from_array(y, chunks=300))
    with pytest.raises(ValueError, match="row chunk 0 has 250 rows in X and 200 in y"):
        fd.DaskLinearRegression().fit(Xd, da.from_array(y, chunks=(200, 300, 250, 250)))
    with pytest.raises(ValueError, match="sample_weight"):
        fd.gram_stats(Xd, yd, da.ones(1000, chunks=500))
    with pytest.raises(ValueError, match="columns split"):
        fd.DaskLogisticRegression().fit(da.from_array(X, chunks=(250, 3)), yd)
    with pytest.raises(ValueError, match="solver='lbfgs' only"):
        fd.DaskLogisticRegression(solver="sgd").fit(Xd, yd)
    with pytest.raises(ValueError, match="features"):
        fd.predict(fastlin.LinearRegression().fit(np.ascontiguousarray(X[:, :3]), y), Xd)


def _slow_block(block, delay):
    time.sleep(delay)
    return block


def test_worker_killed_mid_fit_is_recovered(client, rng):
    X, y = _uint8_data(rng, n=4800, d=16)
    ref = GramStats().update(X, y)
    Xd = da.from_array(X, chunks=(300, -1)).map_blocks(_slow_block, 0.25, dtype=X.dtype)
    yd = da.from_array(y, chunks=300)
    future = client.compute(fd.gram_stats(Xd, yd, compute=False))
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]

    def victim_state(dask_scheduler, addr):
        ws = dask_scheduler.workers.get(addr)
        return (0, 0) if ws is None else (len(ws.processing), len(ws.has_what))

    # Kill once the victim is running a task and holds finished results, so that both a
    # running task and stored intermediate states are lost and must be recomputed.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        processing, held = client.run_on_scheduler(victim_state, addr=victim)
        if processing and held:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the victim worker never held results")
    assert not future.done()
    os.kill(pids[victim], signal.SIGKILL)
    got = future.result(timeout=60)
    _assert_same_stats(got, ref)
    # The nanny restarted the killed process: a new pid came up.
    client.wait_for_workers(2, timeout=30)
    assert pids[victim] not in client.run(os.getpid).values()


def test_missing_dask_names_the_extra(monkeypatch, rng):
    import sys

    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"pip install fastlin\[dask\]"):
        fd.gram_stats(rng.standard_normal((10, 2)), rng.standard_normal(10))


def test_inference_on_workers_equals_in_memory(client, rng):
    """Classical inference from the merged statistics and an HC3 pass folded over the
    blocks where they live equal the in-memory results (1e-10: block summation order)."""
    n, d = 3000, 5
    X = rng.standard_normal((n, d)) + [0, 0, 0, 0, 1e6]
    y = X @ rng.standard_normal(d) + rng.standard_normal(n) * (1 + np.abs(X[:, 0]))
    w = rng.uniform(0.5, 2.0, n)
    ref = fastlin.LinearRegression().fit(X, y, sample_weight=w)
    Xd, yd, wd = (
        da.from_array(a, chunks=700) if a.ndim == 1 else da.from_array(a, chunks=(700, -1))
        for a in (X, y, w)
    )
    got = fd.DaskLinearRegression().fit(Xd, yd, sample_weight=wd)
    for a, b in (
        (got.inference(), ref.inference()),
        (
            got.inference(Xd, yd, sample_weight=wd, cov_type="HC3"),
            ref.inference(X, y, sample_weight=w, cov_type="HC3"),
        ),
    ):
        for name in ("params", "bse", "pvalues", "rsquared", "fvalue", "llf", "scale"):
            np.testing.assert_allclose(
                getattr(a, name), getattr(b, name), rtol=RTOL_FLOAT, err_msg=name
            )


def test_parquet_directory_on_a_cluster(client, rng, tmp_path):
    """``dask.dataframe.read_parquet`` on a directory of files: the fit equals the
    in-memory one bit for bit (uint8 columns, exact statistics) and keeps the names."""
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    dd = pytest.importorskip("dask.dataframe")
    X, y = _uint8_data(rng, n=2400, d=8)
    names = [f"px{j}" for j in range(8)]
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, r0 in enumerate(range(0, 2400, 800)):
        cols = {n: X[r0 : r0 + 800, j] for j, n in enumerate(names)}
        cols["y"] = y[r0 : r0 + 800]
        pq.write_table(pa.table(cols), folder / f"part-{i}.parquet")
    df = dd.read_parquet(str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
        got = fd.DaskLinearRegression().fit(df[names], df["y"])
        ref = fastlin.LinearRegression().fit(X, y)
    np.testing.assert_array_equal(got.coef_, ref.coef_)
    assert list(got.feature_names_in_) == names


def test_broadcast_survives_a_lost_worker(client, rng, monkeypatch):
    """A scatter that fails with a closed connection (a worker killed mid-broadcast) is
    retried, then replaced by the value in the graph: the fit still ends, unchanged."""
    from distributed.comm.core import CommClosedError

    X = rng.standard_normal((1200, 5))
    y = (X[:, 0] + 0.3 * rng.standard_normal(1200) > 0).astype(int)
    Xd, yd = da.from_array(X, chunks=(400, -1)), da.from_array(y, chunks=400)
    ref = fd.fit(LogisticRegression(), Xd, yd)
    calls = {"n": 0}

    def broken(*args, **kwargs):
        calls["n"] += 1
        raise CommClosedError("in <TCP (closed) ...>: Stream is closed")

    monkeypatch.setattr(type(client), "scatter", broken)
    got = fd.fit(LogisticRegression(), Xd, yd)
    assert calls["n"] >= 3
    # The same minimiser from the same start; blocks merge in another grouping, so the
    # stopping point agrees to the optimiser's tolerance, not to the bit.
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-8)


def test_ridgecv_on_a_cluster_chooses_alpha_like_in_memory(client, rng):
    """fd.fit(RidgeCV(...)) is a ridge fit with alpha_, the leave-one-out pass folded on
    the workers (not least squares without alpha_)."""
    X = rng.standard_normal((2000, 6))
    X[:, 5] = X[:, 4] + 0.01 * rng.standard_normal(2000)
    y = X @ [1.0, 0.0, -1.0, 0.5, 2.0, -2.0] + rng.standard_normal(2000)
    Xd, yd = da.from_array(X, chunks=(500, -1)), da.from_array(y, chunks=500)
    for cv in (None, "gcv"):
        ref = fastlin.RidgeCV(alphas=[0.01, 1.0, 1000.0], cv=cv).fit(X, y)
        got = fd.fit(fastlin.RidgeCV(alphas=[0.01, 1.0, 1000.0], cv=cv), Xd, yd)
        assert got.alpha_ == ref.alpha_
        np.testing.assert_allclose(got.cv_results_, ref.cv_results_, rtol=1e-10)
        np.testing.assert_allclose(got.coef_, ref.coef_, rtol=1e-10)


def test_one_fold_over_arrays_sources_iterables_and_dask(client, rng):
    """``fastlin.io.fold.fold`` drives an accumulator over every kind of data: the uint8
    Gram statistics are the same bits from arrays, a chunk source, a list of chunks, Dask
    array blocks and Dask DataFrame partitions, and a template with settings (the
    calibration bins) keeps them on the workers."""
    import dask.dataframe as dd
    import pandas as pd

    from fastlin.core.calibration import CalibrationStats
    from fastlin.io.fold import fold

    X = rng.integers(0, 256, size=(1000, 7), dtype=np.uint8)
    y = rng.integers(0, 50, size=1000).astype(np.float64)
    ref = fold(X, GramStats(), y)
    Xd, yd = da.from_array(X, chunks=(300, 7)), da.from_array(y, chunks=300)
    frame = dd.from_pandas(pd.DataFrame(X, columns=[f"p{j}" for j in range(7)]), npartitions=3)
    target = dd.from_pandas(pd.Series(y, name="y"), npartitions=3)
    for data, kw in (
        (frame, {"y": target}),  # a DataFrame takes the Dask route, not a compute
        (fastlin.from_arrays(X, y), {"chunk_rows": 128}),
        ([(X[a : a + 250], y[a : a + 250]) for a in range(0, 1000, 250)], {}),
        (Xd, {"y": yd}),
    ):
        _assert_same_stats(fold(data, GramStats(), **kw), ref)
    p = 1.0 / (1.0 + np.exp(-(X[:, 0].astype(np.float64) - 128.0) / 40.0))
    lab = (y > 25).astype(np.int64)
    state = CalibrationStats(n_bins=7, mode="positive")
    got = fold(da.from_array(p, chunks=300), state, da.from_array(lab, chunks=300))
    want = CalibrationStats(n_bins=7, mode="positive").update(p, lab)
    assert got is state and got.n_samples_ == 1000 and got.hist_.shape == want.hist_.shape
    np.testing.assert_array_equal(got.hist_[..., :2], want.hist_[..., :2])  # counts, weights
    np.testing.assert_allclose(got.hist_, want.hist_, rtol=1e-12)
