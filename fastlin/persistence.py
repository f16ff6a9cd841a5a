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

Checkpoint file (``kind = "checkpoint"``): header with rows consumed and the source's
identity, plus the ``stats__*`` arrays.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "fastlin"
FORMAT_VERSION = 1


class FileFormatError(ValueError):
    """A model or checkpoint file that is corrupt, of another kind, or from a newer version."""


def atomic_savez(path, arrays):
    """Write ``arrays`` to ``path`` as an uncompressed .npz, atomically."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write(path, kind, header, arrays):
    """Atomically write a fastlin file of ``kind`` with a JSON ``header`` and arrays."""
    from . import __version__

    head = {"format": FORMAT, "kind": kind, "format_version": FORMAT_VERSION,
            "fastlin_version": __version__, **header}
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
    from .stats import GramStats

    sub = {k[len("stats__"):]: v for k, v in arrays.items() if k.startswith("stats__")}
    if not sub:
        return None
    try:
        return GramStats.from_arrays(sub)
    except (KeyError, ValueError) as exc:
        raise FileFormatError(f"{path}: corrupt statistics ({exc})") from exc


def save_checkpoint(path, stats, rows_consumed, source_identity=None, extra=None):
    """Atomically save an accumulator state after ``rows_consumed`` rows of a source."""
    header = {"rows_consumed": int(rows_consumed), "source": source_identity,
              "extra": extra or {}}
    write(path, "checkpoint", header, stats_arrays(stats))


def load_checkpoint(path, source_identity=None):
    """Load a checkpoint; returns ``(stats, rows_consumed, header)``.

    When ``source_identity`` is given it must equal the one saved: resuming a fit on a
    different (or changed) file is refused.
    """
    header, arrays = read(path, "checkpoint")
    if source_identity is not None and header.get("source") != _jsonable(source_identity):
        raise FileFormatError(
            f"{path}: checkpoint was written for source {header.get('source')!r}, "
            f"not {source_identity!r}; delete it to start afresh"
        )
    stats = stats_from(arrays, path)
    if stats is None:
        raise FileFormatError(f"{path}: checkpoint holds no statistics")
    return stats, int(header["rows_consumed"]), header


def _jsonable(value):
    return json.loads(json.dumps(value))
