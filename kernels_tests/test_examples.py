"""Every script of the example gallery (scripts/examples/) runs, checks itself and saves
its figure.

Each script runs in its own interpreter, as a reader would run it, with warnings turned
into errors as in the rest of the suite; the kernels it calls load from Numba's on-disk
cache that the other tests fill.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "matplotlib", reason="the examples save figures with matplotlib (fastlin[plot])"
)

GALLERY = Path(__file__).resolve().parents[1] / "scripts" / "examples"
SCRIPTS = sorted(GALLERY.glob("[0-9][0-9]_*.py"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_gallery_readme_lists_every_script():
    listed = set(re.findall(r"`(\d\d_\w+\.py)`", (GALLERY / "README.md").read_text()))
    assert SCRIPTS, f"no example scripts found in {GALLERY}"
    assert listed == {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs_and_writes_its_figure(script, tmp_path):
    out = tmp_path / "figures"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(script), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (
        f"{script.name} exited with status {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    figure = out / f"{script.stem}.png"
    assert figure.is_file(), f"{script.name} did not write {figure.name}:\n{proc.stdout}"
    assert figure.read_bytes()[:8] == PNG_MAGIC
    assert str(figure) in proc.stdout, "the script should say where its figure went"
