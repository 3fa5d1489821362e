"""benchmarks/bench_book.py: the chapters it times come from _toc.yml, and its table flags every
missing or slow chapter. (The timings themselves are measured by running the script, never in a
unit test: benchmarks/README.md.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_book", ROOT / "benchmarks" / "bench_book.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_chapters_are_the_executed_notebooks_of_the_toc_in_order():
    chapters = bench.toc_notebooks(ROOT)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    expected = [f"{f}.ipynb" for f in listed if (ROOT / f"{f}.ipynb").is_file()
                and not f.startswith("exercises/")]
    assert chapters == expected
    assert "book/11_sequence_models.ipynb" in chapters
    assert not any(c.startswith("exercises/") for c in chapters)  # excluded from execution


def test_toc_notebooks_follow_the_toc_and_the_execute_excludes(tmp_path):
    (tmp_path / "book").mkdir()
    for name in ("intro.md", "b.ipynb", "a.ipynb", "skip.ipynb", "page.md"):
        (tmp_path / "book" / name).write_text("{}")
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump({
        "root": "book/intro", "parts": [{"chapters": [
            {"file": "book/b"}, {"file": "book/page", "sections": [{"file": "book/a"}]},
            {"file": "book/skip"}, {"file": "book/gone"}]}]}))
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(
        {"execute": {"exclude_patterns": ["book/skip*"]}}))
    assert bench.toc_notebooks(tmp_path) == ["book/b.ipynb", "book/a.ipynb"]


def test_table_flags_slow_and_missing_chapters_and_builds():
    text, ok = bench.table(["book/a.ipynb", "book/b.ipynb"], {"book/a.ipynb": 3.0}, 100.0, 5.0)
    assert not ok and "| execute `b.ipynb` | not in the cache | 20 | MISSING |" in text
    assert "| execute `a.ipynb` | 3.0 | 20 | ok |" in text
    text, ok = bench.table(["book/a.ipynb"], {"book/a.ipynb": 20.5}, 100.0, 5.0)
    assert not ok and "| 20.5 | 20 | OVER |" in text
    text, ok = bench.table(["book/a.ipynb"], {"book/a.ipynb": 19.0}, 181.0, 5.0)
    assert not ok and "| clean build (all pages executed) | 181.0 | 180 | OVER |" in text
    assert bench.table(["book/a.ipynb"], {"book/a.ipynb": 19.0}, 179.0, 14.0)[1]
