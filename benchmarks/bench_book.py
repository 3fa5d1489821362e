"""Time the website build: a clean build, a rebuild with nothing changed, and each chapter.

Usage (from the repository root, after `make install` and `npm ci`)::

    .venv/bin/python benchmarks/bench_book.py            # prints a Markdown table

The clean build runs in a fresh copy of the sources so the working tree's `_build` is untouched.
Per-chapter execution times are read from Jupyter Book's execution cache (jupyter-cache records
the seconds each notebook took to execute). Budgets (issue "The book"): each chapter <= 15 s,
clean build <= 180 s, no-change rebuild <= 15 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUDGET_CHAPTER, BUDGET_CLEAN, BUDGET_NOCHANGE = 15.0, 180.0, 15.0
COPY_IGNORE = shutil.ignore_patterns(".venv", "_build", "node_modules", ".git", "test-artifacts",
                                     ".pytest_cache", ".hypothesis", "__pycache__")


def build(src: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    subprocess.run([str(BIN / "python"), "tools/prepare_site.py"], cwd=src, check=True, env=env)
    subprocess.run([str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
                   cwd=src, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def chapter_times(src: Path) -> dict[str, float]:
    from jupyter_cache import get_cache

    cache = get_cache(src / "_build" / ".jupyter_cache")
    return {Path(r.uri).name: float(r.data.get("execution_seconds", float("nan")))
            for r in cache.list_cache_records()}


def verdict(value: float, budget: float) -> str:
    return "ok" if value <= budget else "OVER"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "course"
        shutil.copytree(ROOT, src, ignore=COPY_IGNORE)
        (src / "node_modules").symlink_to(ROOT / "node_modules")
        clean = build(src)
        nochange = build(src)
        chapters = chapter_times(src)
    print(f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}.\n")
    print("| what | seconds | budget | |\n|---|---:|---:|---|")
    for name, secs in sorted(chapters.items()):
        print(f"| execute `{name}` | {secs:.1f} | {BUDGET_CHAPTER:.0f} | "
              f"{verdict(secs, BUDGET_CHAPTER)} |")
    print(f"| clean build (all pages executed) | {clean:.1f} | {BUDGET_CLEAN:.0f} | "
          f"{verdict(clean, BUDGET_CLEAN)} |")
    print(f"| rebuild, nothing changed | {nochange:.1f} | {BUDGET_NOCHANGE:.0f} | "
          f"{verdict(nochange, BUDGET_NOCHANGE)} |")


if __name__ == "__main__":
    main()
