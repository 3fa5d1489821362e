"""The site's own search (no server, no third party) finds the course's key terms."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

import pytest
from sitepages import TOC_FILES, open_page, page_path, source_of

pytestmark = pytest.mark.browser

TERMS = ["focal", "label smoothing"]


def prose(doc: str) -> str:
    path = source_of(doc)
    if path.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                         if c["cell_type"] == "markdown")
    return path.read_text()


def teaching_page(term: str) -> str:
    """The page whose prose uses the term most: search must list it."""
    counts = {doc: len(re.findall(re.escape(term), prose(doc), re.I)) for doc in TOC_FILES}
    best = max(counts, key=counts.get)
    assert counts[best] >= 3, f"no page of _toc.yml teaches {term!r}: {counts}"
    return best


@pytest.mark.parametrize("term", TERMS)
def test_search_finds(term, new_page):
    page, recorder = new_page()
    open_page(page, f"search.html?q={quote(term)}")
    summary = page.locator("#search-results .search-summary")
    summary.wait_for()
    page.wait_for_function(
        "() => /found/i.test(document.querySelector('#search-results .search-summary')"
        ".textContent)")
    hrefs = page.eval_on_selector_all("#search-results ul.search li a",
                                      "els => els.map(e => e.href)")
    found = {urlsplit(h).path.lstrip("/").removesuffix(".html") for h in hrefs}
    assert found, f"search for {term!r} found nothing: {summary.text_content()}"
    expected = teaching_page(term)
    assert expected in found, f"search for {term!r} missed {page_path(expected)}: {sorted(found)}"
    assert not recorder.console_errors, recorder.console_errors
    assert not recorder.external, recorder.external
