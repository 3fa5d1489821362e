"""No solution leaks onto the website.

Every non-trivial line inside a ``### BEGIN SOLUTION`` / ``### END SOLUTION`` or ``### BEGIN HIDDEN
TESTS`` / ``### END HIDDEN TESTS`` region of ``solutions/*/*.ipynb`` must be absent from every file
under the site directory: pages (as rendered text, where highlighting splits code into spans),
``_sources``, downloads, the search index. Lines shorter than a few words' worth of characters,
lines the student release shows anyway, and lines of the public course package (``lossutils``,
which every student installs) are not secrets here; tests/browser/test_site_teaching.py keeps the
package's implementations of the graded functions off the pages.
"""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path

import pytest
from sitepages import REPO, SITE_DIR, normalise, site_missing_reason, text_views

pytestmark = pytest.mark.browser

MIN_CHARS = 12
REGIONS = [("### BEGIN SOLUTION", "### END SOLUTION"),
           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")]
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


def cell_sources(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


def public_code() -> set[str]:
    """Lines every student already has: the course package."""
    files = list((REPO / "lossutils").rglob("*.py"))
    return {normalise(line) for p in files for line in p.read_text().splitlines()}


def secret_lines(source: Path) -> list[str]:
    """Normalised lines of the solution and hidden-test regions that are not public anyway."""
    release = REPO / "exercises" / source.parent.name / source.name
    public = public_code()
    if release.exists():
        public |= {normalise(line) for cell in cell_sources(release) for line in cell.splitlines()}
    secrets = []
    for cell in cell_sources(source):
        inside = None
        for line in cell.splitlines():
            stripped = line.strip()
            for begin, end in REGIONS:
                if stripped.startswith(begin):
                    inside = end
                elif inside == end and stripped.startswith(end):
                    inside = None
            if inside and not MARKERS.search(stripped):
                text = normalise(line)
                if len(text) >= MIN_CHARS and text not in public:
                    secrets.append(text)
    return secrets


SOLUTIONS = sorted((REPO / "solutions").glob("*/*.ipynb"))


class SiteText:
    """The normalised text of every file under the site, searchable in one pass per needle."""

    def __init__(self, root: Path):
        self.root = root
        self.files: list[Path] = []
        self.starts: list[int] = []
        chunks, offset = [], 0
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if "_static/mathjax/" in path.as_posix():
                continue  # the MathJax library, copied verbatim from npm
            views = text_views(path)
            if not views:
                continue
            text = "\n".join(normalise(v) for v in views) + "\x00"
            self.files.append(path)
            self.starts.append(offset)
            chunks.append(text)
            offset += len(text)
        self.blob = "".join(chunks)

    def text_of(self, path: Path) -> str:
        i = self.files.index(path)
        end = self.starts[i + 1] if i + 1 < len(self.files) else len(self.blob)
        return self.blob[self.starts[i]:end]

    def where(self, needle: str) -> list[str]:
        """Site-relative paths of the files containing ``needle``."""
        hits, at = [], self.blob.find(needle)
        while at >= 0:
            i = bisect.bisect_right(self.starts, at) - 1
            hits.append(self.files[i].relative_to(self.root).as_posix())
            nxt = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.blob)
            at = self.blob.find(needle, nxt)
        return hits


@pytest.fixture(scope="module")
def site():
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)
    return SiteText(SITE_DIR)


def test_every_assignment_has_secrets_to_protect():
    assert SOLUTIONS, f"no solutions/*/*.ipynb under {REPO}"
    for source in SOLUTIONS:
        assert len(secret_lines(source)) >= 3, f"{source}: no solution or hidden-test lines found"


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_no_solution_or_hidden_test_line_on_the_site(source, site):
    assert len(site.files) > 50, f"only {len(site.files)} text files under {SITE_DIR}"
    leaks = []
    for line in dict.fromkeys(secret_lines(source)):
        hits = site.where(line)
        if hits:
            leaks.append(f"{line!r} in {hits[:4]}")
    assert not leaks, (f"{len(leaks)} lines of {source.relative_to(REPO)} are on the site:\n"
                       + "\n".join(leaks[:30]))


def test_no_nbgrader_region_marker_on_the_site(site):
    hits = sorted({p for m in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                                "END HIDDEN TESTS") for p in site.where(m)})
    assert not hits, f"nbgrader solution/hidden-test markers in: {hits}"


def test_leak_detector_sees_code_through_highlighting(site):
    # Highlighted code is split into <span>s in a page; the detector must still find a code line of
    # the student release in its page, or it would miss solution code the same way.
    pages = [(nb, SITE_DIR / nb.relative_to(REPO).with_suffix(".html"))
             for nb in sorted((REPO / "exercises").glob("*/*.ipynb"))]
    pages = [(nb, page) for nb, page in pages if page.exists()]
    assert pages, "no page of the student release on the site"
    nb, page = pages[0]
    line = next(normalise(ln) for cell in cell_sources(nb) for ln in cell.splitlines()
                if ln.strip().startswith("def "))
    assert line in site.text_of(page), f"{line!r} not found in the rendered text of {page}"
    assert page.relative_to(SITE_DIR).as_posix() in site.where(line)
