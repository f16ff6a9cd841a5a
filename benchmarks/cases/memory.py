"""Peak resident memory of one step, as the report scripts measure it (Linux, /proc).

The kernel keeps a process's peak resident set (VmHWM); writing 5 to
``/proc/self/clear_refs`` restarts it at the current resident set, so VmHWM after a step
minus VmRSS before it is what the step added. Each measurement runs in a fresh child
process, so that what earlier steps allocated, and allocators kept, does not hide it.
"""

import json
import subprocess
import sys


def status_kb(field):
    """A field of ``/proc/self/status`` in kB, e.g. ``VmRSS`` or ``VmHWM``."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    """Restart the peak resident set (VmHWM) at the current one; OSError where the kernel
    does not allow it."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def child_json(module, *args, env=None):
    """Run ``python -m module args...`` in a fresh process and parse the last line it
    prints as JSON. The child finds ``module`` as this process did: from the working
    directory (the repository root) or PYTHONPATH, both inherited."""
    out = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
