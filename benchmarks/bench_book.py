"""Time the website build: a clean build, a rebuild with nothing changed, and each chapter.

Usage (from the repository root, after `make install` and `npm ci`)::

    .venv/bin/python benchmarks/bench_book.py                    # prints a Markdown table
    .venv/bin/python benchmarks/bench_book.py --update-readme    # ... and writes it into
                                                                 # benchmarks/README.md
    .venv/bin/python benchmarks/bench_book.py --wait-quiet 1.0 --update-readme
                                                                 # first wait for a quiet machine

The clean build runs in a fresh copy of the sources so the working tree's `_build` is untouched.
The chapters are the notebooks listed in `_toc.yml` that the build executes (the execute
`exclude_patterns` of `_config.yml` are left out), in the order of the table of contents; a listed
notebook missing from the execution cache is reported, not skipped. Per-chapter execution times
are read from Jupyter Book's execution cache (jupyter-cache records the seconds each notebook took
to execute). Budgets (issue "The book, second edition"): each chapter <= 20 s, clean build
<= 180 s, no-change rebuild <= 15 s. The machine is shared, so the load average is recorded at
the start and the end of the run; the exit status is 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUDGET_CHAPTER, BUDGET_CLEAN, BUDGET_NOCHANGE = 20.0, 180.0, 15.0
COPY_IGNORE = shutil.ignore_patterns(".venv", "_build", "node_modules", ".git", "test-artifacts",
                                     ".pytest_cache", ".hypothesis", "__pycache__")


def toc_notebooks(src: Path) -> list[str]:
    """Notebooks of ``_toc.yml`` that the build executes, as repository paths, in toc order."""
    toc = yaml.safe_load((src / "_toc.yml").read_text())
    config = yaml.safe_load((src / "_config.yml").read_text())
    excluded = (config.get("execute") or {}).get("exclude_patterns") or []
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key, []))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    found.append(toc["root"])
    walk(toc)
    paths = [f"{f.removesuffix('.ipynb')}.ipynb" for f in found]
    return [p for p in paths if (src / p).is_file()
            and not any(fnmatch.fnmatch(p, pattern) for pattern in excluded)]


def build(src: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    subprocess.run([str(BIN / "python"), "tools/prepare_site.py"], cwd=src, check=True, env=env)
    subprocess.run([str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
                   cwd=src, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def chapter_times(src: Path) -> dict[str, float]:
    """{repository path of a notebook: seconds its execution took}, from the execution cache."""
    from jupyter_cache import get_cache

    cache = get_cache(src / "_build" / ".jupyter_cache")
    times = {}
    for record in cache.list_cache_records():
        path = Path(record.uri).resolve()
        if path.is_relative_to(src.resolve()):
            key = path.relative_to(src.resolve()).as_posix()
            times[key] = float(record.data.get("execution_seconds", float("nan")))
    return times


def wait_until_quiet(max_load: float, timeout: float = 900.0) -> None:
    """Poll the 1-minute load average until it drops to max_load (or give up after timeout)."""
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting", file=sys.stderr)
        time.sleep(15)


def verdict(value: float, budget: float) -> str:
    return "ok" if value <= budget else "OVER"


def table(chapters: list[str], times: dict[str, float], clean: float,
          nochange: float) -> tuple[str, bool]:
    """The Markdown results table, and whether every budget was met."""
    lines = ["| what | seconds | budget | |", "|---|---:|---:|---|"]
    ok = True
    for path in chapters:
        secs = times.get(path)
        if secs is None:
            lines.append(f"| execute `{Path(path).name}` | not in the cache | "
                         f"{BUDGET_CHAPTER:.0f} | MISSING |")
            ok = False
            continue
        ok &= secs <= BUDGET_CHAPTER
        lines.append(f"| execute `{Path(path).name}` | {secs:.1f} | {BUDGET_CHAPTER:.0f} | "
                     f"{verdict(secs, BUDGET_CHAPTER)} |")
    ok &= clean <= BUDGET_CLEAN and nochange <= BUDGET_NOCHANGE
    lines.append(f"| clean build (all pages executed) | {clean:.1f} | {BUDGET_CLEAN:.0f} | "
                 f"{verdict(clean, BUDGET_CLEAN)} |")
    lines.append(f"| rebuild, nothing changed | {nochange:.1f} | {BUDGET_NOCHANGE:.0f} | "
                 f"{verdict(nochange, BUDGET_NOCHANGE)} |")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update-readme", action="store_true",
                        help="write the table into benchmarks/README.md (between its markers)")
    parser.add_argument("--wait-quiet", type=float, metavar="LOAD",
                        help="first wait (up to 15 min) for the 1-min load average to drop to LOAD")
    args = parser.parse_args(argv)
    if args.wait_quiet is not None:
        wait_until_quiet(args.wait_quiet)
    load_start = os.getloadavg()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "course"
        shutil.copytree(ROOT, src, ignore=COPY_IGNORE)
        (src / "node_modules").symlink_to(ROOT / "node_modules")
        chapters = toc_notebooks(src)
        clean = build(src)
        nochange = build(src)
        times = chapter_times(src)
    load_end = os.getloadavg()[0]
    body, ok = table(chapters, times, clean, nochange)
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} at commit {commit} on "
            f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; 1-minute load average "
            f"{load_start:.2f} at the start, {load_end:.2f} at the end. "
            f"{'Every budget met.' if ok else 'Some budget NOT met.'}\n\n{body}")
    print(text)
    if args.update_readme:
        from readme_tables import replace_table  # beside this script

        replace_table("book-table", text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
