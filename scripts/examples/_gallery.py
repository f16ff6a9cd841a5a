"""What every example shares: its ``--out`` folder and how its figure is written."""

import argparse
from pathlib import Path


def parse_out(doc, argv=None, what="the figure"):
    """``--out DIR`` (default ``./fastlin-figures``) for an example whose docstring is
    ``doc``; returns the parsed arguments."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("fastlin-figures"),
        help=f"folder for {what} (default: ./fastlin-figures)",
    )
    return parser.parse_args(argv)


def save(fig, out_dir, name):
    """Write ``fig`` as ``out_dir/name.png``, say where, and return the path."""
    path = Path(out_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"wrote {path}")
    return path
