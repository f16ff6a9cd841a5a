"""The ```python blocks of README.md run as written, in order, in one namespace.

They run in a fresh temporary directory, as on a machine that has nothing but fastlin and
its built-in data. A block whose fence reads ```python no-run is shown, not run.
"""

import re
import traceback
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^\s*```(.*)$")


def python_blocks(text):
    """(line number of the first code line, source) of each runnable ```python block."""
    blocks = []
    info, start, body = None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if info is None:
            if fence:
                info, start, body = fence.group(1).split(), number + 1, []
        elif fence and not fence.group(1).strip():
            if info[:1] == ["python"] and "no-run" not in info[1:]:
                blocks.append((start, "\n".join(body) + "\n"))
            info = None
        else:
            body.append(line)
    assert info is None, f"README.md: the code block opened at line {start - 1} is not closed"
    return blocks


def test_fences_are_parsed():
    text = "\n".join(
        [
            "a",
            "```python",
            "x = 1",
            "```",
            "```bash",
            "ls",
            "```",
            "```python no-run",
            "y",
            "```",
            "  ```python",
            "z = 2",
            "  ```",
            "",
        ]
    )
    assert python_blocks(text) == [(3, "x = 1\n"), (12, "z = 2\n")]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    import fastlin

    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for line, source in blocks:
        # Blank lines in front make tracebacks point at README.md's own line numbers.
        code = compile("\n" * (line - 1) + source, str(README), "exec")
        error = None
        try:
            with warnings.catch_warnings():
                # Raw pixels are rank deficient: README says such fits warn, by design.
                warnings.simplefilter("ignore", fastlin.RankDeficientWarning)
                # dask.dataframe on the newest pandas announces pandas' own deprecations
                # from inside dask; they are not the README's to fix.
                warnings.filterwarnings(
                    "ignore", category=DeprecationWarning, module=r"(dask|pandas)(\.|$)"
                )
                warnings.filterwarnings("ignore", message=".*inplace keyword.*")
                exec(code, namespace)
        except Exception:
            error = traceback.format_exc()
        if error is not None:
            pytest.fail(
                f"the README.md block starting at line {line} failed:\n{error}", pytrace=False
            )
