"""Stamp the course set-up cell into every chapter and assignment notebook, or check that it is
there.

Each notebook a reader or student may open outside the course environment (Colab, a bare
JupyterHub) starts with one small code cell that installs the course package when it is missing
and does nothing where it is installed. Where it installs from is a deployment setting kept in
one place, ``repository.package_source`` in ``_config.yml`` (beside ``repository.url``); the
environment variable ``LOSSCOURSE_PACKAGE_SOURCE`` (any pip requirement: a path, a wheel, a URL)
overrides it at run time, which is how a hub with its own mirror, and the tests, point it
elsewhere. The cell is tagged ``remove-cell``: it runs on the site's build and under nbval but is
not shown on the page.

    python tools/setup_cell.py           # rewrite the cell in book/*.ipynb and solutions/*/*.ipynb
    python tools/setup_cell.py --check   # exit 1 and list the notebooks whose cell is stale

The student release (``exercises/``) is generated from ``solutions/`` by nbgrader, so after a
change run ``nbgrader generate_assignment <id> --force --no-db`` for each assignment.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CELL_ID = "course-setup"
ENV = "LOSSCOURSE_PACKAGE_SOURCE"
TEMPLATE = '''\
# Course set-up: installs the course package where it is missing (Colab, a bare JupyterHub) and
# does nothing where it is installed. Written by tools/setup_cell.py: edit _config.yml, not here.
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("lossutils") is None:
    _source = os.environ.get("{env}") or {source}
    print(f"Installing the course package from {{_source}} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _source], check=True)
    importlib.invalidate_caches()
'''


def package_source(config_path: Path = ROOT / "_config.yml") -> str:
    """The pip requirement the set-up cell installs from, read from ``_config.yml``."""
    config = yaml.safe_load(config_path.read_text())
    source = (config.get("repository") or {}).get("package_source")
    if not isinstance(source, str) or not source.strip():
        raise SystemExit(f"{config_path}: set repository.package_source to a pip requirement for "
                         "the course package, e.g. 'lossutils @ git+https://github.com/ORG/REPO@main'")
    return source.strip()


def cell_source(source: str) -> str:
    return TEMPLATE.format(env=ENV, source=json.dumps(source))


def notebooks() -> list[Path]:
    """The notebooks that get the cell: every chapter and every assignment's source."""
    return sorted(ROOT.glob("book/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))


def is_setup_cell(cell: dict) -> bool:
    return cell.get("id") == CELL_ID or (
        cell.get("cell_type") == "code"
        and "".join(cell.get("source", [])).startswith("# Course set-up:"))


def new_cell(nb: dict, text: str) -> dict:
    cell = {"cell_type": "code", "execution_count": None,
            "metadata": {"tags": ["remove-cell"]}, "outputs": [],
            "source": text.splitlines(keepends=True)}
    if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):
        cell = {"id": CELL_ID, **cell}
    return cell


def stamped(nb: dict, text: str) -> dict:
    cells = [c for c in nb["cells"] if not is_setup_cell(c)]
    return {**nb, "cells": [new_cell(nb, text), *cells]}


def dump(nb: dict) -> str:
    # nbformat's own layout, so a notebook saved by Jupyter and one stamped here are identical
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args(argv)
    text = cell_source(package_source())
    stale = []
    for path in notebooks():
        raw = path.read_text()
        want = dump(stamped(json.loads(raw), text))
        if raw != want:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(want)
    if args.check and stale:
        print("set-up cell missing or stale (run `python tools/setup_cell.py`):", file=sys.stderr)
        for path in stale:
            print(f"  {path}", file=sys.stderr)
        return 1
    for path in stale:
        print(f"stamped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
