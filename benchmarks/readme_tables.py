"""Rewriting one results table of benchmarks/README.md: the text between its two markers,
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().with_name("README.md")


def replace_table(name: str, text: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    readme = README.read_text()
    if start not in readme or end not in readme:
        raise SystemExit(f"{README} has no {start} ... {end} markers for the table")
    readme = re.sub(f"{re.escape(start)}.*?{re.escape(end)}",
                    lambda _: f"{start}\n{text}\n{end}", readme, flags=re.S)
    README.write_text(readme)
    print(f"updated {README} ({name})")
