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

import pytest
from sitepages import (
    REPO,
    SITE_DIR,
    TextIndex,
    cell_sources,
    normalise,
    secret_lines,
    site_missing_reason,
)

pytestmark = pytest.mark.browser

SOLUTIONS = sorted((REPO / "solutions").glob("*/*.ipynb"))


@pytest.fixture(scope="module")
def site():
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)
    # MathJax is the npm library, copied verbatim
    return TextIndex(SITE_DIR, skip=("_static/mathjax/",))


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
