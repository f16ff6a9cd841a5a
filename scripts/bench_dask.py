"""fastlin.dask against dask-ml on a LocalCluster of 1 and 2 worker processes.

The rows (synthetic digits, 784 uint8 pixels) are generated on the workers, block by block
from a seed (``fastlin.synthetic_digits(rows, seed, start=...)``), and persisted
there: the client never holds or ships them. On that same data and cluster the script
times

- fastlin least squares (``fastlin.dask.fit(LinearRegression(), X, y)``: one pass, d x d
  statistics per block, tree-merged, solved on the client) and dask-ml's
  ``LinearRegression`` (dask-glm solvers; it needs float input, so it gets
  ``X.astype(float64)``, cast block by block);
- binary logistic regression (digit is even), L-BFGS with the same iteration cap, fastlin
  (``x_scale=1/255`` on uint8) against dask-ml's ``LogisticRegression`` (on ``X / 255``).

For every fit it reports the wall time, the bytes that crossed the network (all TCP
frames written by the client, the scheduler and the workers, counted at the comm layer,
and the part of them that was task results moved between workers, from the workers'
``transfer_incoming_log``), and the peak working memory of a worker during the fit
(resident set size sampled every 5 ms, above its level before the fit; the persisted
rows are part of that level). Dask's work stealing may move persisted blocks between
workers when they are spread unevenly (``--no-work-stealing`` turns it off for both
libraries); the worker-to-worker column shows when it did. fastlin's least squares is run
on the first quarter of the rows as well to show that its working memory does not grow
with the rows.

Each worker runs ``cores / workers`` task threads with single-threaded kernels
(NUMBA_NUM_THREADS=1, BLAS threads 1) for both libraries, so both get the same cores.

Usage::

    python -m scripts.bench_dask                    # 600 000 rows, 1 and 2 workers
    python -m scripts.bench_dask --n 200000 --workers 2 --no-dask-ml
"""

import argparse
import os
import sys
import threading
import time
import warnings

import numpy as np

from benchmarks.cases.dask import (
    D,
    dask_ml_least_squares,
    dask_ml_logistic,
    even,
    fastlin_least_squares,
    fastlin_logistic,
    make_data,
)


# -- measurement helpers (run inside the scheduler, workers and client) -----------------


def _install_byte_counter():
    """Count every TCP frame this process writes (idempotent)."""
    from distributed.comm import tcp

    if getattr(tcp.TCP.write, "_byte_counter", False):
        return True
    original = tcp.TCP.write

    async def write(self, msg, serializers=None, on_error="message"):
        n = await original(self, msg, serializers=serializers, on_error=on_error)
        tcp._bytes_written = getattr(tcp, "_bytes_written", 0) + int(n or 0)
        return n

    write._byte_counter = True
    tcp.TCP.write = write
    return True


def _bytes_written():
    from distributed.comm import tcp

    return getattr(tcp, "_bytes_written", 0)


def _worker_transfer_bytes(dask_worker):
    return int(sum(e["total"] for e in dask_worker.transfer_incoming_log))


def _mem_start(dask_worker):
    import psutil

    proc = psutil.Process()
    state = {"base": proc.memory_info().rss, "peak": 0, "stop": False}

    def sample():
        while not state["stop"]:
            state["peak"] = max(state["peak"], proc.memory_info().rss)
            time.sleep(0.005)

    state["thread"] = threading.Thread(target=sample, daemon=True)
    state["thread"].start()
    dask_worker._bench_mem = state
    return state["base"]


def _mem_stop(dask_worker):
    state = dask_worker._bench_mem
    state["stop"] = True
    state["thread"].join()
    return state["base"], max(state["peak"], state["base"])


def _all_bytes(client):
    on_workers = sum(client.run(_bytes_written).values())
    return on_workers + client.run_on_scheduler(_bytes_written) + _bytes_written()


def measure(client, fn):
    """Run ``fn()`` once; return (result, seconds, network bytes, worker-to-worker bytes,
    peak working memory of the busiest worker in bytes)."""
    b0 = _all_bytes(client)
    t0 = sum(client.run(_worker_transfer_bytes).values())
    client.run(_mem_start)
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - start
        mem = client.run(_mem_stop)
    b1 = _all_bytes(client)
    t1 = sum(client.run(_worker_transfer_bytes).values())
    peak = max(p - b for b, p in mem.values())
    return result, seconds, b1 - b0, t1 - t0, peak


# -- the runs ---------------------------------------------------------------------------


def run_cluster(n_workers, args, rows_out):
    import dask
    import distributed

    import fastlin
    import fastlin.dask as fd

    cores = os.cpu_count() or 2
    env = {
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if args.no_work_stealing:
        # The scheduler runs in this process: its config is read from here.
        dask.config.set({"distributed.scheduler.work-stealing": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=max(1, cores // n_workers),
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=50,
            env=env,
            memory_limit=None if args.memory_limit is None else f"{args.memory_limit}GB",
        )
    client = distributed.Client(cluster)
    try:
        _install_byte_counter()
        client.run(_install_byte_counter)
        client.run_on_scheduler(_install_byte_counter)
        tag = f"{n_workers} worker{'s' if n_workers > 1 else ''}"

        def row(what, lib, rows, result):
            _, sec, nbytes, w2w, peak = result
            rows_out.append((tag, what, lib, rows, sec, nbytes, w2w, peak))
            print(
                f"  {tag:>9} | {what:<28} | {lib:<8} | {rows:>8} | {sec:8.2f} s | "
                f"net {nbytes / 1e6:9.2f} MB | w2w {w2w / 1e6:8.2f} MB | "
                f"worker peak +{peak / 1e6:7.1f} MB",
                flush=True,
            )
            return result[0]

        X, y = make_data(args.n, args.chunk_rows, args.seed)

        # Compile the kernels on every worker before timing (small blocks).
        Xs, ys = make_data(min(args.n, 2048 * n_workers), 1024, args.seed + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
            fd.DaskLinearRegression().fit(Xs, ys.astype(np.float64))
        fastlin_logistic(Xs, even(ys), 2)

        def generate():
            persisted = dask.persist(X, y)
            distributed.wait(list(persisted))
            return persisted

        res = measure(client, generate)
        (X, y) = res[0]
        yf = y.astype(np.float64)
        ybin = even(y)
        row("generate + persist rows", "-", args.n, res)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
            # A quarter of the rows, once in blocks of the same size (fewer blocks) and
            # once in as many blocks as the full fit (rows per block / 4): the working
            # memory follows the number of block states in flight, not the rows.
            quarter = (args.n // 4 // args.chunk_rows) * args.chunk_rows or args.chunk_rows
            row(
                "least squares (1/4 rows)",
                "fastlin",
                quarter,
                measure(client, lambda: fastlin_least_squares(X[:quarter], yf[:quarter])),
            )
            n_blocks = X.numblocks[0]
            small_rows = -(-quarter // n_blocks)
            Xq = X[:quarter].rechunk((small_rows, D))
            yq = yf[:quarter].rechunk(small_rows)
            row(
                f"least squares (1/4, {n_blocks} blocks)",
                "fastlin",
                quarter,
                measure(client, lambda: fastlin_least_squares(Xq, yq)),
            )
            best = None
            for _ in range(args.repeat):
                r = measure(client, lambda: fastlin_least_squares(X, yf))
                best = r if best is None or r[1] < best[1] else best
            ls = row("least squares", "fastlin", args.n, best)

        if not args.no_dask_ml:
            try:
                import dask_ml.linear_model as dml  # is it there? the cases import it to fit
            except ImportError as exc:
                print(f"  dask-ml not importable ({exc}); only fastlin figures", flush=True)
                dml = None
            if dml is not None:
                Xf = X.astype(np.float64)
                try:
                    dm = row(
                        f"least squares ({args.dask_ml_solver})",
                        "dask-ml",
                        args.n,
                        measure(
                            client,
                            lambda: dask_ml_least_squares(
                                Xf, yf, args.dask_ml_solver, max_iter=args.max_iter
                            ),
                        ),
                    )
                    pred_ls = fd.predict(ls, X[: args.chunk_rows]).compute()
                    pred_dm = dm.predict(Xf[: args.chunk_rows]).compute()
                    yy = yf[: args.chunk_rows].compute()
                    print(
                        f"      training MSE on the first block: fastlin "
                        f"{np.mean((pred_ls - yy) ** 2):.4f}, dask-ml "
                        f"{np.mean((pred_dm - yy) ** 2):.4f}",
                        flush=True,
                    )
                except Exception as exc:  # report and go on: the fastlin figures stand
                    print(
                        f"  dask-ml LinearRegression failed: {type(exc).__name__}: {exc}",
                        flush=True,
                    )

        if args.logistic_iter < 1:
            return
        lr = row(
            f"logistic L-BFGS ({args.logistic_iter} it)",
            "fastlin",
            args.n,
            measure(client, lambda: fastlin_logistic(X, ybin, args.logistic_iter)),
        )
        print(
            f"      fastlin: {lr.n_iter_[0]} iterations, objective {lr.objective_:.6f}", flush=True
        )
        if not args.no_dask_ml and dml is not None:
            try:
                Xs255 = X.astype(np.float64) / 255.0
                row(
                    f"logistic L-BFGS ({args.logistic_iter} it)",
                    "dask-ml",
                    args.n,
                    measure(client, lambda: dask_ml_logistic(Xs255, ybin, args.logistic_iter)),
                )
            except Exception as exc:
                print(
                    f"  dask-ml LogisticRegression failed: {type(exc).__name__}: {exc}", flush=True
                )
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=600_000, help="rows (default 600000)")
    p.add_argument(
        "--chunk-rows",
        type=int,
        default=50_000,
        help="rows per block (default 50000, 39 MB of uint8)",
    )
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=2, help="fastlin least-squares repeats (best)")
    p.add_argument("--max-iter", type=int, default=100, help="dask-ml least-squares iterations")
    p.add_argument(
        "--dask-ml-solver",
        default="newton",
        help="dask-ml LinearRegression solver (default newton: one Hessian pass "
        "per iteration, its fastest exact route)",
    )
    p.add_argument("--logistic-iter", type=int, default=20, help="0 skips logistic regression")
    p.add_argument("--memory-limit", type=float, default=None, help="GB per worker")
    p.add_argument("--no-dask-ml", action="store_true")
    p.add_argument(
        "--no-work-stealing",
        action="store_true",
        help="turn off the scheduler's work stealing, which may move persisted "
        "blocks between workers to balance load",
    )
    args = p.parse_args(argv)

    rows = []
    print(
        f"{args.n} x {D} uint8 rows in blocks of {args.chunk_rows}; cores {os.cpu_count()}",
        flush=True,
    )
    for w in args.workers:
        run_cluster(w, args, rows)

    print("\nsummary (time ratio = dask-ml / fastlin on the same cluster and data)")
    print(
        f"{'cluster':>9} | {'fit':<28} | {'fastlin s':>9} | {'dask-ml s':>9} | {'ratio':>6} | "
        f"{'fastlin net MB':>14} | {'dask-ml net MB':>14}"
    )
    by = {}
    for tag, what, lib, n, sec, nbytes, w2w, peak in rows:
        if n != args.n:
            continue
        key = (tag, what.split(" (")[0])
        by.setdefault(key, {})[lib] = (sec, nbytes)
    for (tag, what), libs in by.items():
        if "fastlin" not in libs or "dask-ml" not in libs:
            continue
        (fs, fb), (ds, db) = libs["fastlin"], libs["dask-ml"]
        print(
            f"{tag:>9} | {what:<28} | {fs:9.2f} | {ds:9.2f} | {ds / fs:6.1f} | "
            f"{fb / 1e6:14.2f} | {db / 1e6:14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
