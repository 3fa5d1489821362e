"""Prepare a website build: serve MathJax from the site itself, and keep the execution cache honest.

1. Copies the parts of the npm ``mathjax`` package the pages use into ``book/_static/mathjax`` so no
   page loads math from a third-party CDN (privacy, and the site works offline).
2. Jupyter Book caches executed notebooks keyed on their code cells only, so an edit to
   ``lossutils`` would not re-run the chapters that import it. Every chapter imports ``lossutils``,
   so when the package's source hash changes the whole execution cache is dropped. The grader
   (``grader/``) and the assignment checks are not part of the hash: editing them re-runs nothing.

Run from the repository root (``make site`` does).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATHJAX_SRC = ROOT / "node_modules" / "mathjax" / "es5"
MATHJAX_DST = ROOT / "book" / "_static" / "mathjax"
# tex-chtml.js bundles the TeX input and CommonHTML output; the rest is loaded on demand.
MATHJAX_PARTS = ["tex-chtml.js", "output/chtml", "input/tex/extensions", "a11y", "ui", "sre"]
CACHE = ROOT / "_build" / ".jupyter_cache"
STAMP = ROOT / "_build" / "lossutils.sha256"


def copy_mathjax() -> None:
    if not MATHJAX_SRC.is_dir():
        raise SystemExit(f"{MATHJAX_SRC} is missing: run `npm ci` first (make site does).")
    for part in MATHJAX_PARTS:
        src, dst = MATHJAX_SRC / part, MATHJAX_DST / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or dst.read_bytes() != src.read_bytes():
                shutil.copy2(src, dst)


def lossutils_hash() -> str:
    """Hash of the package code the chapters run: lossutils less ``lossutils/assignments``,
    which only the (unexecuted) assignment pages import."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "lossutils").rglob("*.py")):
        if "assignments" in path.relative_to(ROOT / "lossutils").parts:
            continue
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def invalidate_cache_if_lossutils_changed() -> bool:
    current = lossutils_hash()
    previous = STAMP.read_text().strip() if STAMP.exists() else None
    changed = previous != current
    if changed and CACHE.exists():
        shutil.rmtree(CACHE)
        print("lossutils changed since the last build: chapters will be re-executed")
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(current + "\n")
    return changed


if __name__ == "__main__":
    copy_mathjax()
    invalidate_cache_if_lossutils_changed()
