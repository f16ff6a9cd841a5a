"""The on-disk kernel cache follows edits to any kernel file, not only the kernel's own.

A copy of the package is imported in fresh processes: a kernel compiled and cached, then
loaded from the cache, then recompiled after a comment is added to another kernel file
(the case Numba's per-file stamp misses: a caller kept stale code when a tile changed).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import fastlin


def test_an_edit_to_another_kernel_file_recompiles(tmp_path):
    src = Path(fastlin.__file__).parent
    pkg = tmp_path / "pkg"
    shutil.copytree(src, pkg / "fastlin", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    probe = textwrap.dedent(
        """
        import json
        import numba
        import numpy as np
        from fastlin import _numba
        from fastlin._numba import jit

        @jit
        def twice(a):
            return 2.0 * a.sum()

        twice(np.ones(3))
        print(json.dumps({"tree": _numba.TREE_STAMPED,
                          "hits": sum(twice.stats.cache_hits.values()),
                          "misses": sum(twice.stats.cache_misses.values())}))
        """
    )
    script = pkg / "fastlin" / "kernels" / "_probe_cache.py"
    script.write_text(probe)

    def run():
        env = dict(os.environ, PYTHONPATH=str(pkg), NUMBA_CACHE_DIR=str(cache))
        out = subprocess.run(
            [sys.executable, "-c", "import fastlin.kernels._probe_cache"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    assert first["tree"] and first["misses"] == 1 and first["hits"] == 0
    second = run()
    assert second["hits"] == 1 and second["misses"] == 0  # loaded from the cache
    tiles = pkg / "fastlin" / "kernels" / "tiles.py"
    tiles.write_text(tiles.read_text() + "\n# an edit elsewhere in the kernels\n")
    third = run()
    assert third["misses"] == 1 and third["hits"] == 0  # the stamp changed: recompiled
