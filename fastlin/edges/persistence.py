"""Saving fitted models and accumulator checkpoints as versioned ``.npz`` files.

No pickle anywhere: files hold plain arrays plus a JSON header, and are read with
``allow_pickle=False``. Writes are atomic (a temporary file in the same directory, then
``os.replace``), so a crash never leaves a half-written file under the final name.

Model file (``kind = "model"``), format version 1:

========================  =====================================================
key                       content
========================  =====================================================
``header``                JSON: format, kind, format_version, fastlin_version,
                          estimator class name, hyperparameters, n_features_in,
                          y_1d, fitted scalars (rank, solver), user metadata
``coef``                  float32/float64, (n_features,) or (n_targets, n_features)
``intercept``             float or (n_targets,)
``stats__*``              optional: the GramStats arrays, to continue ``partial_fit``
========================  =====================================================

Checkpoint file (``kind = "checkpoint"``): header with rows consumed, the source's
identity and ``made_with`` (what the statistics were made with: a description of the
target transform, the shape of the transformed targets, and the caller's ``extra`` dict),
plus the ``stats__*`` arrays. Resuming with anything different is refused
(:class:`CheckpointMismatchError`): statistics folded with one transform and completed with
another describe no model.

Temporary files are named ``.{name}.tmp-{pid}-{random}.npz`` next to the target and are
created with mode ``0o666 & ~umask``, as ``open()`` creates files. An exception during a
write removes its temporary; a process killed mid-write cannot, so every write first
removes the temporaries of the same target left by processes that are no longer alive.
"""

import functools
import json
import os
import secrets
import threading
import zipfile

import numpy as np

FORMAT = "fastlin"
FORMAT_VERSION = 1


class FileFormatError(ValueError):
    """A model or checkpoint file that is corrupt, of another kind, or from a newer version."""


class CheckpointMismatchError(FileFormatError):
    """A checkpoint made for other data, another target transform or other settings."""


# Temporaries this process is writing right now: a temporary carrying our own pid but not
# in this set was left by an earlier process that had the same pid (containers reuse pids).
_ACTIVE_TMP = set()
_ACTIVE_LOCK = threading.Lock()


def _tmp_prefix(path):
    return f".{os.path.basename(path)}.tmp-"


def _pid_alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(path):
    """Remove temporaries of ``path`` left by dead processes; returns the paths removed."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _tmp_prefix(path)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    me = os.getpid()
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".npz")):
            continue
        pid_text = name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        full = os.path.join(directory, name)
        pid = int(pid_text)
        if pid == me:
            with _ACTIVE_LOCK:
                if full in _ACTIVE_TMP:
                    continue
        elif _pid_alive(pid):
            continue
        try:
            os.unlink(full)
            removed.append(full)
        except FileNotFoundError:
            pass
    return removed


def _create_tmp(path):
    """A new temporary next to ``path``: ``(fd, tmp_path)``, mode 0o666 & ~umask."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _tmp_prefix(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f"{prefix}{os.getpid()}-{secrets.token_hex(4)}.npz")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        with _ACTIVE_LOCK:
            _ACTIVE_TMP.add(tmp)
        return fd, tmp
    raise FileExistsError(f"{directory}: could not create a temporary file for {path}")


def atomic_savez(path, arrays):
    """Write ``arrays`` to ``path`` as an uncompressed .npz, atomically.

    The file gets mode ``0o666 & ~umask``, as a file created by ``open()``.
    """
    path = os.fspath(path)
    remove_stale_temporaries(path)
    fd, tmp = _create_tmp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE_TMP.discard(tmp)


def write(path, kind, header, arrays):
    """Atomically write a fastlin file of ``kind`` with a JSON ``header`` and arrays."""
    from .. import __version__

    head = {
        "format": FORMAT,
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "fastlin_version": __version__,
        **header,
    }
    payload = {"header": np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)}
    for key, value in arrays.items():
        payload[key] = np.asarray(value)
    atomic_savez(path, payload)


def read(path, kind):
    """Read a fastlin file, checking its kind and version; returns (header, arrays)."""
    path = os.fspath(path)
    try:
        # Our own handle: np.load leaks its file when the archive is unreadable.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise FileFormatError(f"{path}: not a readable fastlin {kind} file ({exc})") from exc
    if "header" not in arrays:
        raise FileFormatError(f"{path}: no fastlin header; not a fastlin {kind} file")
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path}: corrupt header ({exc})") from exc
    if header.get("format") != FORMAT:
        raise FileFormatError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("kind") != kind:
        raise FileFormatError(f"{path}: holds a {header.get('kind')!r}, expected a {kind!r}")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: format version {version!r} is newer than this fastlin reads "
            f"(up to {FORMAT_VERSION}); upgrade fastlin (file written by fastlin "
            f"{header.get('fastlin_version')})"
        )
    return header, arrays


def stats_arrays(stats):
    """GramStats arrays under ``stats__`` keys."""
    return {f"stats__{k}": v for k, v in stats.to_arrays().items()}


def stats_from(arrays, path):
    """Rebuild GramStats from ``stats__`` keys, or None when the file holds none."""
    from ..core.stats import GramStats

    sub = {k[len("stats__") :]: v for k, v in arrays.items() if k.startswith("stats__")}
    if not sub:
        return None
    try:
        return GramStats.from_arrays(sub)
    except (KeyError, ValueError) as exc:
        raise FileFormatError(f"{path}: corrupt statistics ({exc})") from exc


def save_checkpoint(
    path,
    stats,
    rows_consumed,
    source_identity=None,
    extra=None,
    *,
    target_transform=None,
    targets=None,
):
    """Atomically save an accumulator state after ``rows_consumed`` rows of a source.

    ``target_transform`` is the callable applied to the y chunks (recorded as
    :func:`describe_transform`), ``targets`` the shape of the transformed targets
    (:func:`describe_targets`, or None when unknown), ``extra`` a JSON-serialisable dict
    of the caller's settings (e.g. estimator class and parameters). All three must match
    when the checkpoint is resumed.
    """
    made_with = {
        "target_transform": describe_transform(target_transform),
        "targets": targets,
        "extra": _jsonable(extra or {}),
    }
    header = {
        "rows_consumed": int(rows_consumed),
        "source": source_identity,
        "made_with": made_with,
    }
    write(path, "checkpoint", header, stats_arrays(stats))


def remove_checkpoint(path):
    """Delete a checkpoint and its stale temporaries (a finished pass needs neither)."""
    path = os.fspath(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    remove_stale_temporaries(path)


def load_checkpoint(
    path, source_identity=None, *, target_transform=None, extra=None, check_made_with=False
):
    """Load a checkpoint; returns ``(stats, rows_consumed, header)``.

    When ``source_identity`` is given it must equal the one saved: resuming a fit on a
    different (or changed) file is refused. With ``check_made_with``, the target transform
    and ``extra`` must match what the checkpoint was made with too
    (:class:`CheckpointMismatchError` names what differs).
    """
    header, arrays = read(path, "checkpoint")
    name = os.path.basename(os.fspath(path))
    if check_made_with:
        made_with = header.get("made_with")
        if not isinstance(made_with, dict):
            raise CheckpointMismatchError(
                f"checkpoint {name} does not record the target transform and settings it was "
                "made with (written by an older fastlin); delete it to start afresh"
            )
        saved_t = made_with.get("target_transform")
        this_t = describe_transform(target_transform)
        if saved_t != this_t:
            raise CheckpointMismatchError(
                f"checkpoint {name} was made with target_transform={saved_t} but this fit "
                f"uses target_transform={this_t}; delete it or pass the same"
            )
        saved_x = made_with.get("extra") or {}
        this_x = _jsonable(extra or {})
        if saved_x != this_x:
            diffs = "; ".join(
                f"{k}: {a} in the checkpoint, {b} now" for k, a, b in _dict_diff(saved_x, this_x)
            )
            raise CheckpointMismatchError(
                f"checkpoint {name} was made with other settings ({diffs}); delete it or "
                "pass the same"
            )
    if source_identity is not None and header.get("source") != _jsonable(source_identity):
        raise CheckpointMismatchError(
            f"{path}: checkpoint was written for source {header.get('source')!r}, "
            f"not {source_identity!r}; delete it to start afresh"
        )
    stats = stats_from(arrays, path)
    if stats is None:
        raise FileFormatError(f"{path}: checkpoint holds no statistics")
    return stats, int(header["rows_consumed"]), header


def check_targets(path, saved, found):
    """Refuse to resume when the transformed targets differ in shape from the saved ones."""
    if saved is None or saved == found:
        return
    raise CheckpointMismatchError(
        f"checkpoint {os.path.basename(os.fspath(path))} was made with targets of "
        f"{_targets_text(saved)} but this fit gives targets of {_targets_text(found)}; "
        "delete it or pass the same"
    )


def describe_targets(y):
    """The shape of a transformed y chunk without its row count: ``{"ndim", "columns"}``."""
    shape = np.shape(y)
    return {"ndim": len(shape), "columns": [int(s) for s in shape[1:]]}


def _targets_text(t):
    if not isinstance(t, dict):
        return repr(t)
    cols = t.get("columns") or []
    return f"shape (rows{''.join(f', {c}' for c in cols)}) ({t.get('ndim')}-D)"


def describe_transform(fn):
    """A stable text naming a target transform, for checkpoints.

    Holds the callable's module and qualified name; for ``functools.partial`` its
    arguments; for closures their simple captured values; and the numeric and string
    constants of its code (so ``lambda y: one_hot(y, 10)`` and ``lambda y: one_hot(y, 12)``
    differ). Objects without a stable text (arrays, instances) are named by type, so the
    text never depends on memory addresses.
    """
    return "None" if fn is None else _callable_text(fn, depth=0)


def _qualified(obj):
    module = (
        getattr(obj, "__module__", None)
        or getattr(getattr(obj, "__objclass__", None), "__module__", None)
        or "?"
    )
    name = (
        getattr(obj, "__qualname__", None)
        or getattr(obj, "__name__", None)
        or type(obj).__qualname__
    )
    return f"{module}.{name}"


def _callable_text(fn, depth):
    if depth > 3:
        return _qualified(fn)
    if isinstance(fn, functools.partial):
        args = [_value_text(a, depth) for a in fn.args]
        args += [f"{k}={_value_text(v, depth)}" for k, v in sorted(fn.keywords.items())]
        return f"{_callable_text(fn.func, depth + 1)}({', '.join(args)})"
    bound_self = getattr(fn, "__self__", None)
    func = getattr(fn, "__func__", None)
    if bound_self is not None and func is not None:
        return f"{_qualified(type(bound_self))}.{func.__name__}"
    code = getattr(fn, "__code__", None)
    if code is None:
        if hasattr(fn, "__qualname__"):  # builtins and NumPy ufuncs
            return _qualified(fn)
        return f"{_qualified(type(fn))} instance"
    text = _qualified(fn)
    parts = []
    cells = getattr(fn, "__closure__", None) or ()
    captured = []
    for name, cell in zip(code.co_freevars, cells):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        captured.append(f"{name}={_value_text(value, depth)}")
    if captured:
        parts.append("captures " + ", ".join(captured))
    # A module-level function is named by its qualified name alone: its body is code, not a
    # setting. Lambdas and local functions share one name for every setting they are
    # written with (``lambda y: one_hot(y, 10)`` and ``... 12``), so their constants and
    # defaults are part of what they are.
    if "<locals>" in text or "<lambda>" in text:
        consts = _code_constants(code, getattr(fn, "__doc__", None))
        if consts:
            parts.append("constants " + ", ".join(consts))
        defaults = [_value_text(v, depth) for v in getattr(fn, "__defaults__", None) or ()]
        defaults += [
            f"{k}={_value_text(v, depth)}"
            for k, v in sorted((getattr(fn, "__kwdefaults__", None) or {}).items())
        ]
        if defaults:
            parts.append("defaults " + ", ".join(defaults))
    return text + (f" [{'; '.join(parts)}]" if parts else "")


def _code_constants(code, doc):
    out = []
    for c in code.co_consts:
        if isinstance(c, bool) or c is None or c is Ellipsis:
            continue
        if isinstance(c, (int, float, complex)):
            out.append(repr(c))
        elif isinstance(c, str) and c != doc:
            out.append(repr(c))
        elif hasattr(c, "co_consts"):  # nested functions, comprehensions
            out.extend(_code_constants(c, None))
    return out


def _value_text(v, depth):
    if v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
        return repr(v)
    if isinstance(v, np.generic):
        return repr(v.item())
    if isinstance(v, np.dtype):
        return f"dtype({v.str!r})"
    if isinstance(v, type):
        return _qualified(v)
    if isinstance(v, (tuple, list)) and len(v) <= 16:
        inner = ", ".join(_value_text(x, depth) for x in v)
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, np.ndarray):
        if v.size <= 16 and v.dtype.kind in "biuf":
            return f"array({v.tolist()!r}, {v.dtype.str!r})"
        import hashlib

        digest = (
            hashlib.blake2b(
                np.ascontiguousarray(v).view(np.uint8).reshape(-1), digest_size=8
            ).hexdigest()
            if v.dtype.kind in "biufc"
            else "?"
        )
        return f"array(shape={v.shape}, dtype={v.dtype.str!r}, blake2b={digest})"
    if callable(v) and not isinstance(v, type):
        return _callable_text(v, depth + 1)
    return f"<{_qualified(type(v))}>"


def _dict_diff(a, b, prefix=""):
    """``(key path, value in a, value in b)`` for every entry that differs."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [(prefix or "extra", json.dumps(a), json.dumps(b))]
    out = []
    for k in sorted(set(a) | set(b), key=str):
        key = f"{prefix}.{k}" if prefix else str(k)
        if k not in a:
            out.append((key, "absent", json.dumps(b[k])))
        elif k not in b:
            out.append((key, json.dumps(a[k]), "absent"))
        elif a[k] != b[k]:
            if isinstance(a[k], dict) and isinstance(b[k], dict):
                out.extend(_dict_diff(a[k], b[k], key))
            else:
                out.append((key, json.dumps(a[k]), json.dumps(b[k])))
    return out


def _jsonable(value):
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")
