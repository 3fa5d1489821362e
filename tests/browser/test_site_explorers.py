"""The kernel-free explorers respond on the static site, and screenshots for the record.

Every ``figure.loss-explorer`` on the pages of _toc.yml is driven with the keyboard, as a reader
without a mouse would: End and Home must each change the plotted curves, the value shown next to
the slider and the value a screen reader announces.
"""

from __future__ import annotations

import struct

import pytest
from sitepages import SITE_DIR, TOC_FILES, open_page, page_path, site_missing_reason

pytestmark = pytest.mark.browser

STATE = """fig => ({
  value: fig.querySelector('input[type=range]').value,
  max: fig.querySelector('input[type=range]').max,
  valuetext: fig.querySelector('input[type=range]').getAttribute('aria-valuetext'),
  output: fig.querySelector('output').textContent,
  points: [...fig.querySelectorAll('polyline')].map(p => p.getAttribute('points')),
})"""


def explorer_pages() -> list[str]:
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)
    return [doc for doc in TOC_FILES if (SITE_DIR / page_path(doc)).is_file()
            and "loss-explorer" in (SITE_DIR / page_path(doc)).read_text(encoding="utf-8")]


def test_every_explorer_responds_to_its_slider(new_page):
    pages = explorer_pages()
    assert pages, "no page of the site has a kernel-free explorer (figure.loss-explorer)"
    page, recorder = new_page()
    problems, driven = [], 0
    for doc in pages:
        open_page(page, page_path(doc))
        figures = page.locator("figure.loss-explorer")
        assert figures.count() > 0, f"{doc}: explorer markup present but no figure rendered"
        for i in range(figures.count()):
            fig = figures.nth(i)
            name = f"{doc} explorer {i + 1} ({fig.get_attribute('id')})"
            slider = fig.locator("input[type=range]")
            if fig.locator("polyline").count() == 0 or slider.count() != 1:
                problems.append(f"{name}: needs one range input and at least one polyline")
                continue
            before = fig.evaluate(STATE)
            slider.focus()
            page.keyboard.press("End")
            at_end = fig.evaluate(STATE)
            page.keyboard.press("Home")
            at_start = fig.evaluate(STATE)
            driven += 1
            if at_end["value"] != at_end["max"] or at_start["value"] != "0":
                problems.append(f"{name}: keyboard did not move the slider {before['value']} -> "
                                f"{at_end['value']} -> {at_start['value']}")
            for label, a, b in (("End", before, at_end), ("Home", at_end, at_start)):
                if a["points"] == b["points"]:
                    problems.append(f"{name}: {label} left every polyline unchanged")
                if a["output"] == b["output"]:
                    problems.append(f"{name}: {label} left the shown value at {a['output']!r}")
                if a["valuetext"] == b["valuetext"]:
                    problems.append(f"{name}: {label} left aria-valuetext {a['valuetext']!r}")
    assert driven >= len(pages), f"drove only {driven} explorers on {len(pages)} pages"
    assert not problems, "\n".join(problems)
    assert not recorder.console_errors, recorder.console_errors


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshots_of_home_chapter_and_explorer(new_page, artifacts):
    pages = explorer_pages()
    assert pages, "no explorer to photograph"
    page, _ = new_page()
    shots = {}
    open_page(page, page_path(TOC_FILES[0]))  # the root of _toc.yml; index.html redirects there
    shots["home.png"] = page.screenshot(path=artifacts / "home.png", full_page=False)
    chapter = next(d for d in TOC_FILES if d.startswith("book/0"))
    open_page(page, page_path(chapter))
    shots["chapter.png"] = page.screenshot(path=artifacts / "chapter.png", full_page=True)
    open_page(page, page_path(pages[0]))
    explorer = page.locator("figure.loss-explorer").first
    explorer.scroll_into_view_if_needed()
    shots["explorer.png"] = explorer.screenshot(path=artifacts / "explorer.png")
    for name, data in shots.items():
        width, height = png_size(artifacts / name)
        assert len(data) > 5_000 and width >= 300 and height >= 200, (name, width, height)
