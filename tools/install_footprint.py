"""Measure what a plain ``pip install`` of the project costs: disk, distributions, import time.

Usage: ``python tools/install_footprint.py [SOURCE] [--extra NAME] [--runs N]``

SOURCE is a checkout (default: this one). A fresh virtualenv gets
``pip install SOURCE`` (not editable, no extra unless ``--extra``); the figures
are what that install added to an empty virtualenv's site-packages (bytes on
disk, as ``du`` counts them), the distributions it brought besides pbx-async,
and the median of ``--runs`` cold starts of ``python -X importtime -c "import
pbx_async"`` (the cumulative microseconds of the package's line). It prints one
JSON object; the README's "Install" section quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def disk_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` occupy on disk (blocks, as ``du`` counts)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def site_packages(env: Path) -> Path:
    [found] = env.glob("lib/python3*/site-packages")
    return found


def distributions(python: Path) -> list[str]:
    code = "import importlib.metadata as m; print('\\n'.join(sorted({d.metadata['Name'] for d in m.distributions()})))"
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    return [name for name in out.split() if name.lower() not in {"pip", "setuptools", "pbx-async", "pbx_async"}]


def import_microseconds(python: Path, runs: int) -> int:
    """Median cumulative import time of ``pbx_async`` over ``runs`` fresh interpreters."""
    times = []
    for _ in range(runs):
        err = subprocess.run(
            [str(python), "-X", "importtime", "-c", "import pbx_async"], check=True, capture_output=True, text=True
        ).stderr
        [line] = [ln for ln in err.splitlines() if ln.rstrip().endswith("| pbx_async")]
        times.append(int(line.split("|")[1]))
    return int(statistics.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(ROOT))
    parser.add_argument("--extra", action="append", default=[])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, env = Path(tmp, "empty"), Path(tmp, "env")
        venv.create(empty, with_pip=True)
        venv.create(env, with_pip=True)
        target = args.source + (f"[{','.join(args.extra)}]" if args.extra else "")
        subprocess.run(
            [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", target],
            check=True,
            stdout=sys.stderr,
        )
        python = env / "bin" / "python"
        added = disk_bytes(site_packages(env)) - disk_bytes(site_packages(empty))
        deps = distributions(python)
        print(
            json.dumps(
                {
                    "install": f"pip install {target}",
                    "site_packages_mb": round(added / 1e6, 1),
                    "dependencies": len(deps),
                    "distributions": deps,
                    "import_ms": round(import_microseconds(python, args.runs) / 1000, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
