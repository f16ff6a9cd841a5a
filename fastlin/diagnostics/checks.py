"""The checks of the checklist, one function each."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_real_scalar
from ..core.accumulator import Mapped
from ..core.moments import CoMoments
from ._common import DEFAULT_CHUNK_ROWS, _fold, _model_alpha
from .checklist import Check, _transform
from .influence import centred_gram


_CHECK_NAMES = (
    "scaling",
    "conditioning",
    "regularisation",
    "residual structure",
    "calibration",
    "nonlinear baseline",
)


def _skipped(why):
    return [Check(n, "skip", why) for n in _CHECK_NAMES]


def _check_shapes(model, final, task, source, val_source):
    d_model = getattr(model, "n_features_in_", None)
    problems = []
    if d_model is not None and d_model != source.n_features:
        problems.append(f"X has {source.n_features} features but the model expects {d_model}")
    if val_source is not None and val_source.n_features != source.n_features:
        problems.append(f"X_val has {val_source.n_features} features, X has {source.n_features}")
    if not source.has_targets:
        problems.append("no targets y were given")
    else:
        y_shape = source.y_shape
        if task.kind == "raw":
            t = 1 if len(y_shape) == 1 else y_shape[1]
            if t != task.n_outputs:
                problems.append(
                    f"y has {t} target column(s) but the model has {task.n_outputs} output(s)"
                )
        else:
            y = np.asarray(source.targets())
            if y.ndim != 1:
                problems.append(f"class labels must be 1-D, got shape {y.shape}")
            elif task.kind == "one-hot":
                if y.dtype.kind not in "ui" or (
                    y.size and (y.min() < 0 or y.max() >= task.n_outputs)
                ):
                    problems.append(
                        f"labels must be integers in [0, {task.n_outputs}) for a "
                        f"model with {task.n_outputs} one-hot outputs"
                    )
            else:
                unknown = np.setdiff1d(np.unique(y), task.classes)
                if unknown.size:
                    problems.append(
                        f"y holds labels the classifier never saw: {unknown[:5].tolist()}"
                    )
    if problems:
        return Check("shapes", "fail", "; ".join(problems))
    rows = f"{source.n_rows} rows" + (f" (+{val_source.n_rows} held out)" if val_source else "")
    return Check(
        "shapes",
        "pass",
        f"{rows} x {source.n_features} features; {task.n_outputs} output(s) "
        f"({task.kind}) agree with y",
        {
            "n_rows": source.n_rows,
            "n_features": source.n_features,
            "n_outputs": task.n_outputs,
            "task": task.kind,
        },
    )


def _check_scaling(steps, n_train):
    scalers = [
        s
        for s in steps
        if hasattr(s, "n_samples_seen_") and (hasattr(s, "scale_") or hasattr(s, "mean_"))
    ]
    if not scalers:
        return Check(
            "scaling",
            "skip",
            "no fitted scaler in the model; if X was scaled beforehand, its "
            "statistics must come from training rows only (cannot be checked here)",
        )
    details = {}
    worst = "pass"
    msgs = []
    for s in scalers:
        seen = s.n_samples_seen_
        seen = float(np.max(seen)) if np.ndim(seen) else float(seen)
        details[type(s).__name__] = {"n_samples_seen": seen, "n_train": n_train}
        if seen > n_train:
            worst = "fail"
            msgs.append(
                f"{type(s).__name__} saw {seen:g} rows but the model was trained on "
                f"{n_train}: its statistics include rows outside the training set "
                "(validation/test leakage)"
            )
        elif seen < n_train:
            if worst == "pass":
                worst = "warn"
            msgs.append(
                f"{type(s).__name__} saw {seen:g} rows, fewer than the {n_train} "
                "training rows (fitted on a subset?)"
            )
        else:
            msgs.append(f"{type(s).__name__} statistics come from the {n_train} training rows")
    return Check("scaling", worst, "; ".join(msgs), details)


def _check_conditioning(final, steps, source, chunk_rows):
    from ..core.stats import GramStats

    stats = getattr(final, "stats_", None)
    where = "the model's training statistics"
    if not isinstance(stats, GramStats):
        preprocessed = Mapped(GramStats(), lambda Xc, y: (_transform(steps, Xc), None))
        stats = _fold(source, preprocessed, chunk_rows).state
        where = "the rows of X" + (" after preprocessing" if steps else "")
    fit_intercept = bool(getattr(final, "fit_intercept", True))
    C, _ = centred_gram(stats, fit_intercept)
    d = C.shape[0]
    diag = np.diag(C)
    scale = stats.shifted_diag if fit_intercept else stats.xtx_diag
    constant = (diag <= 64 * np.finfo(np.float64).eps * scale) | (diag <= 0)
    active = np.flatnonzero(~constant)
    details = {"n_features": d, "constant_columns": int(constant.sum()), "source": where}
    if active.size == 0:
        return Check("conditioning", "fail", "every column is constant", details)
    s = 1.0 / np.sqrt(diag[active])
    R = C[np.ix_(active, active)] * s[:, None] * s[None, :]
    ev = np.linalg.eigvalsh(R)
    top = float(ev[-1])
    tol = top * active.size * np.finfo(np.float64).eps * 8
    rank = int((ev > tol).sum())
    pos = ev[ev > tol]
    kappa = float(np.sqrt(top / pos[0])) if pos.size else float("inf")
    alpha = _model_alpha(final)
    details.update(rank=rank, condition_number=kappa)
    msg = (
        f"rank {rank} of {active.size} non-constant columns"
        f" ({int(constant.sum())} constant, harmless with an intercept); condition number "
        f"of the standardised design {kappa:.3g}"
        if constant.any() and fit_intercept
        else f"rank {rank} of {active.size} non-constant columns; condition number of the "
        f"standardised design {kappa:.3g}"
    )
    if rank < active.size:
        msg = (
            f"rank {rank} of {active.size} non-constant columns (collinear features); "
            f"condition number of the standardised design {kappa:.3g} on its {rank} "
            "non-null directions" + (f"; {int(constant.sum())} constant" if constant.any() else "")
        )
    ridge_kappa = None
    if alpha > 0:
        A = C[np.ix_(active, active)] + alpha * np.eye(active.size)
        sa = 1.0 / np.sqrt(np.diag(A))
        ev_r = np.linalg.eigvalsh(A * sa[:, None] * sa[None, :])
        if ev_r is not None:
            ridge_kappa = float(np.sqrt(ev_r[-1] / max(ev_r[0], np.finfo(float).tiny)))
            details["ridge_condition_number"] = ridge_kappa
            msg += f"; with alpha={alpha:g} the system has condition number {ridge_kappa:.3g}"
    bad = rank < active.size or kappa > 1e4
    if bad and ridge_kappa is not None and ridge_kappa < 1e4:
        return Check("conditioning", "pass", msg + " (ridge makes it well posed)", details)
    if bad:
        return Check("conditioning", "warn", msg + ": coefficients are poorly determined", details)
    return Check("conditioning", "pass", msg, details)


_DEFAULT_PENALTY = {
    "Ridge": ("alpha", 1.0),
    "LogisticRegression": ("C", 1.0),
    "Lasso": ("alpha", 1.0),
    "ElasticNet": ("alpha", 1.0),
    "SGDRegressor": ("alpha", 1e-4),
    "SGDClassifier": ("alpha", 1e-4),
}


def _check_regularisation(search, final, cond_check):
    fname = type(final).__name__
    if search is not None:
        best = getattr(search, "best_params_", {}) or {}
        keys = [k for k in best if k.split("__")[-1] in ("alpha", "C", "l2_reg", "lambda")]
        n_cand = len(getattr(search, "cv_results_", {}).get("params", [])) or "several"
        if keys:
            chosen = ", ".join(f"{k}={best[k]!r}" for k in keys)
            return Check(
                "regularisation",
                "pass",
                f"{chosen} chosen by {type(search).__name__} over {n_cand} candidates "
                "on cross-validation folds",
                {"best_params": best},
            )
        return Check(
            "regularisation",
            "warn",
            f"{type(search).__name__} did not search the penalty (searched {sorted(best)})",
            {"best_params": best},
        )
    if hasattr(final, "alpha_") or hasattr(final, "C_"):
        what = "alpha_" if hasattr(final, "alpha_") else "C_"
        val = np.asarray(getattr(final, what)).tolist()
        return Check(
            "regularisation",
            "pass",
            f"{what[:-1]}={val} chosen by {fname} on validation folds",
            {what: val},
        )
    meta = getattr(final, "metadata_", {}) or {}
    if meta.get("alpha_selection"):
        return Check(
            "regularisation",
            "pass",
            f"penalty chosen by {meta['alpha_selection']} (saved metadata)",
        )
    if fname in _DEFAULT_PENALTY:
        pname, default = _DEFAULT_PENALTY[fname]
        val = getattr(final, pname, None)
        if isinstance(val, numbers.Real) and val == default:
            return Check(
                "regularisation",
                "warn",
                f"{pname}={val:g} is {fname}'s default, not chosen on validation data; "
                "choose it with RidgeCV / GridSearchCV on held-out rows",
                {pname: val, "default": True},
            )
        return Check(
            "regularisation",
            "skip",
            f"{pname}={val!r} was set by hand; whether it was chosen on validation data "
            "cannot be checked (use a search object to record it)",
            {pname: val},
        )
    if cond_check.status == "warn":
        return Check(
            "regularisation",
            "warn",
            f"{fname} is unregularised on an ill-conditioned or collinear design; "
            "consider Ridge with alpha chosen on validation data",
        )
    return Check("regularisation", "skip", f"{fname} has no penalty to choose")


def _corr_threshold(n, m, floor):
    """Largest |correlation| expected from noise: Bonferroni over m tests at 1 %."""
    from scipy.stats import norm

    return max(floor, float(norm.isf(0.005 / max(m, 1))) / np.sqrt(max(n - 3, 1)))


def _check_residuals(task, source, chunk_rows, floor, held_out):
    if task.kind == "classifier":
        return Check(
            "residual structure",
            "skip",
            "classifier: residual structure is checked for regression outputs",
        )
    d = source.n_features
    shift = {}

    def squares(Xc, yraw):
        """[(x - s)² | (f - g)²] and the residuals R = y - f, with the shifts s and g
        taken from the first chunk (a centre for the curvature)."""
        Xf = np.asarray(Xc, dtype=np.float64)
        F = task.scores(Xc)
        if not shift:
            shift.update(x=Xf.mean(axis=0), f=F.mean(axis=0))
        Z = np.hstack([(Xf - shift["x"]) ** 2, (F - shift["f"]) ** 2])
        return Z, task.targets(yraw) - F

    m = _fold(source, Mapped(CoMoments(), squares), chunk_rows).state
    n = m.n_rows
    corr = m.finalize()  # 0 where a column or the residuals do not vary
    c_feat = corr[:d]
    c_fit = np.diagonal(corr[d:]).copy()
    t = c_fit.shape[0]
    best_fit = float(np.max(np.abs(c_fit)))
    j, k = np.unravel_index(np.argmax(np.abs(c_feat)), c_feat.shape)
    best_feat = float(abs(c_feat[j, k]))
    thresh = _corr_threshold(n, d * t + t, floor)
    where = "held-out" if held_out else "training"
    details = {
        "corr_residual_fitted_sq": best_fit,
        "corr_residual_feature_sq": best_feat,
        "feature": int(j),
        "target": int(k),
        "threshold": thresh,
        "rows": n,
        "data": where,
    }
    worst = max(best_fit, best_feat)
    msg = (
        f"max |corr(residual, fitted²)| = {best_fit:.3f}, max |corr(residual, x_j²)| = "
        f"{best_feat:.3f} (feature {j}"
        + (f", output {k}" if t > 1 else "")
        + f") on {n} {where} rows; noise level {thresh:.3f}"
    )
    if worst <= thresh:
        return Check("residual structure", "pass", msg + ": no curvature left", details)
    status = "fail" if worst >= 0.2 else "warn"
    return Check(
        "residual structure",
        status,
        msg + ": residuals curve with the fit or a feature, a linear model misses "
        "a nonlinear (e.g. quadratic) term",
        details,
    )


def _iter_raw_targets(source, chunk_rows):
    """Chunks with y as given (labels stay labels)."""
    from ..io.fold import chunks

    yield from chunks(source, chunk_rows or DEFAULT_CHUNK_ROWS)


def _check_calibration(task, source, chunk_rows):
    from ..core.calibration import CalibrationStats

    if not task.classification:
        return Check("calibration", "skip", "regression model: no probabilities to calibrate")
    is_proba = task.kind == "classifier" and hasattr(task.model, "predict_proba")
    if task.kind == "classifier" and not is_proba:
        return Check("calibration", "skip", "classifier without predict_proba")

    def probabilities(Xc, yc):
        P = task.scores(Xc)
        return (P if is_proba else np.clip(P, 0.0, 1.0)), task.label_index(yc)

    state = Mapped(CalibrationStats(n_bins=15, mode="top_label", scores=False), probabilities)
    res = _fold(source, state, chunk_rows).finalize()
    ece = float(res.ece)
    what = (
        "predict_proba"
        if is_proba
        else "one-hot least-squares scores clipped to [0, 1] (a linear probability model)"
    )
    details = {
        "ece": ece,
        "mce": float(res.mce),
        "n_bins": 15,
        "source": what,
        "table": res.table.to_dict(),
    }
    msg = f"expected calibration error {ece:.4f} (15 bins, top label) of {what}"
    if ece <= 0.05:
        return Check("calibration", "pass", msg, details)
    status = "warn" if ece <= 0.15 else "fail"
    return Check(
        "calibration",
        status,
        msg + "; recalibrate (e.g. temperature or isotonic) before trusting probabilities",
        details,
    )


def _split_masks(source, val_source, val_fraction, random_state):
    if val_source is not None:
        return None
    v = check_real_scalar(val_fraction, "val_fraction", 0.0, low_inclusive=False)
    if v >= 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    return np.random.default_rng(random_state).random(source.n_rows) < v


def _baseline_features(Xf, top, mu, sd):
    Z = (Xf[:, top] - mu) / sd
    k = top.size
    iu, ju = np.triu_indices(k)
    return np.hstack([Xf, Z[:, iu] * Z[:, ju]])


def _check_baseline(task, source, val_source, top_k, val_fraction, random_state, chunk_rows):
    from ..core.solve import solve_gram
    from ..core.stats import GramStats

    mask = _split_masks(source, val_source, val_fraction, random_state)
    if mask is not None and (mask.all() or not mask.any() or source.n_rows < 20):
        return Check("nonlinear baseline", "skip", "too few rows to hold some out")

    def train_chunks():
        for r0, Xc, yc, _ in _iter_raw_targets(source, chunk_rows):
            if mask is None:
                yield Xc, yc
            else:
                keep = ~mask[r0 : r0 + Xc.shape[0]]
                if keep.any():
                    yield Xc[keep], np.asarray(yc)[keep]

    def val_chunks():
        if mask is None:
            for _, Xc, yc, _ in _iter_raw_targets(val_source, chunk_rows):
                yield Xc, yc
            return
        for r0, Xc, yc, _ in _iter_raw_targets(source, chunk_rows):
            sel = mask[r0 : r0 + Xc.shape[0]]
            if sel.any():
                yield Xc[sel], np.asarray(yc)[sel]

    lin = GramStats()
    for Xc, yc in train_chunks():
        lin.update(Xc, task.targets(yc))
    C, _ = centred_gram(lin, True)
    var = np.diag(C) / lin.sum_w
    k = int(min(top_k, np.count_nonzero(var > 0)))
    if k == 0:
        return Check("nonlinear baseline", "skip", "no feature varies")
    top = np.sort(np.argsort(var)[::-1][:k])
    mu = (lin.x_sum / lin.sum_w)[top]
    sd = np.sqrt(var[top])
    # The baseline's Gram is the linear one bordered by the degree-2 terms: only the
    # cross products with the few extra columns need another pass.
    n_q = k * (k + 1) // 2
    d = lin.n_features
    XQ = np.zeros((d, n_q))
    QQ = np.zeros((n_q, n_q))
    QY = np.zeros((n_q, lin.n_targets))
    q_sum = np.zeros(n_q)
    for Xc, yc in train_chunks():
        Xf = np.asarray(Xc, dtype=np.float64)
        Q = _baseline_features(Xf, top, mu, sd)[:, d:]
        XQ += Xf.T @ Q
        QQ += Q.T @ Q
        QY += Q.T @ task.targets(yc)
        q_sum += Q.sum(axis=0)
    # Raw (unshifted) sums, bordered: the baseline is a diagnostic, not a fit to keep.
    arrays = dict(
        n_rows=np.int64(lin.n_rows),
        sum_w=np.float64(lin.sum_w),
        y_sum=lin.y_sum,
        yty=lin.yty,
        xtx=np.block([[lin.xtx, XQ], [XQ.T, QQ]]),
        xty=np.vstack([lin.xty, QY]),
        x_sum=np.concatenate([lin.x_sum, q_sum]),
        float32_only=np.bool_(False),
    )
    quad = GramStats.from_arrays(arrays)

    def solve(stats):
        Cs, _ = centred_gram(stats, True)
        dg = np.diag(Cs)
        a = 1e-6 * float(dg[dg > 0].mean()) if (dg > 0).any() else 1e-6
        return solve_gram(stats, alpha=a, fit_intercept=True, warn=False), a

    sol_lin, a_lin = solve(lin)
    sol_quad, a_quad = solve(quad)
    sse = np.zeros(2)
    sy = syy = 0.0
    correct = np.zeros(2)
    n_val = 0
    for Xc, yc in val_chunks():
        Xf = np.asarray(Xc, dtype=np.float64)
        Y = task.targets(yc)
        P1 = Xf @ sol_lin.coef.T + sol_lin.intercept
        P2 = _baseline_features(Xf, top, mu, sd) @ sol_quad.coef.T + sol_quad.intercept
        for i, P in enumerate((P1, P2)):
            sse[i] += float(((Y - P) ** 2).sum())
            if task.classification:
                correct[i] += int(np.count_nonzero(np.argmax(P, axis=1) == task.label_index(yc)))
        sy += Y.sum(0)
        syy += (Y * Y).sum(0)
        n_val += Xf.shape[0]
    if n_val == 0:
        return Check("nonlinear baseline", "skip", "no held-out rows")
    sst = float(np.sum(syy - np.asarray(sy) ** 2 / n_val))
    r2 = 1 - sse / sst if sst > 0 else np.full(2, np.nan)
    n_terms = k * (k + 1) // 2
    details = {
        "top_k": k,
        "features": top.tolist(),
        "extra_terms": n_terms,
        "held_out_rows": n_val,
        "r2_linear": float(r2[0]),
        "r2_baseline": float(r2[1]),
        "alpha": [a_lin, a_quad],
    }
    base = f"linear + {n_terms} degree-2 terms of the top {k} features by variance"
    if task.classification:
        acc = correct / n_val
        details.update(accuracy_linear=float(acc[0]), accuracy_baseline=float(acc[1]))
        gain = float(acc[1] - acc[0])
        msg = (
            f"held-out accuracy: one-hot least squares {100 * acc[0]:.2f} %, {base} "
            f"{100 * acc[1]:.2f} % ({n_val} rows)"
        )
        if gain <= 0.01:
            return Check(
                "nonlinear baseline", "pass", msg + ": no clear gain from nonlinearity", details
            )
        status = "fail" if gain > 0.05 else "warn"
        return Check(
            "nonlinear baseline", status, msg + ": a simple nonlinear model does better", details
        )
    gain = float(r2[1] - r2[0])
    removed = gain / (1 - r2[0]) if r2[0] < 1 else 0.0
    details["error_removed"] = float(removed)
    msg = f"held-out R²: linear {r2[0]:.4f}, {base} {r2[1]:.4f} ({n_val} rows)"
    if not (gain > 0.01 and removed > 0.1):
        return Check(
            "nonlinear baseline", "pass", msg + ": no clear gain from nonlinearity", details
        )
    status = "fail" if removed > 0.5 else "warn"
    return Check(
        "nonlinear baseline",
        status,
        msg + f": the baseline removes {100 * removed:.0f} % of the linear model's "
        "error; the relationship is nonlinear",
        details,
    )
