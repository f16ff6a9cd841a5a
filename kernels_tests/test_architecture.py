"""The layers as the code shows them: only the data layer (``fastlin/io``: the sources
and the fold engine, ``io/fold.py``) reads chunk sources; every other module folds an
accumulator with ``fold`` or walks ``chunks``."""

import ast
from pathlib import Path

import fastlin

PACKAGE = Path(fastlin.__file__).parent
DATA_LAYER = ("io/",)


def _calls(path, attribute):
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attribute
    ]


def test_only_the_data_layer_reads_chunk_sources():
    readers = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        lines = _calls(path, "iter_chunks")
        if lines and not rel.startswith(DATA_LAYER):
            readers[rel] = lines
    assert not readers, f"chunk sources read outside the data layer: {readers}"
    # and the check sees the calls it is meant to see
    assert _calls(PACKAGE / "io" / "fold.py", "iter_chunks")


# Each layer imports (at module level) only from the layers it builds on. Function-level
# imports are the deliberate exceptions (a Dask backend or a diagnostic reached only when
# called); none of them reaches an edge from an estimator, see the test below.
ALLOWED = {
    "kernels": {"kernels", "_numba", "_threads"},
    "core": {
        "kernels",
        "core",
        "_numba",
        "_threads",
        "_blas_threads",
        "_validation",
        "_warnings",
        "_typing",
    },
    "estimators": {
        "kernels",
        "core",
        "estimators",
        "io.fold",
        "_threads",
        "_blas_threads",
        "_validation",
        "_warnings",
        "_typing",
        "_numba",
    },
}


def _module_level_imports(path, anywhere=False):
    """fastlin modules imported at the top of ``path`` (relative imports resolved); with
    ``anywhere``, inside functions too."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(PACKAGE).parent.parts
    found = []
    for node in ast.walk(tree) if anywhere else tree.body:
        if isinstance(node, ast.If) and not anywhere:  # TYPE_CHECKING: annotations only
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None:
                target = [target + [a.name] for a in node.names]
            else:
                target = [target]
            found += [".".join(t) for t in target]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastlin."):
            found.append(node.module[len("fastlin.") :])
    return found


def test_layers_import_only_the_layers_they_build_on():
    bad = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).glob("*.py")):
            for target in _module_level_imports(path):
                if not any(target == a or target.startswith(a + ".") for a in allowed):
                    bad.append(f"{path.relative_to(PACKAGE)} imports fastlin.{target}")
    assert not bad, "\n".join(bad)


def test_estimators_import_no_edge_at_any_level():
    """Saving goes through ``fastlin.save`` and checkpoints through the fold engine: no
    estimator reaches persistence, the file formats, the CLI or plots, even when called."""
    found = []
    for path in sorted((PACKAGE / "estimators").glob("*.py")):
        found += [
            f"{path.name}: fastlin.{t}"
            for t in _module_level_imports(path, anywhere=True)
            if t in ("edges", "io")
            or (t.startswith(("edges.", "io.", "dask", "diagnostics")) and t != "io.fold")
        ]
    assert not found, found
    # the walk sees function-level imports
    assert "core.inference_stats" in _module_level_imports(
        PACKAGE / "estimators" / "linear_model.py", anywhere=True
    )
