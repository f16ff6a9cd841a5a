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
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attribute]


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
