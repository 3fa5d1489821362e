"""Dark mode: every page of _toc.yml renders dark for a reader who chose it, and axe-core (injected
from the npm package) finds no serious or critical accessibility violation there, contrast
included.
"""

from __future__ import annotations

import pytest
from sitepages import TOC_FILES, axe_violations, open_page, page_path, theme_of

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("doc", TOC_FILES)
def test_no_serious_accessibility_violations_in_dark_mode(doc, new_page):
    page, recorder = new_page(dark=True)
    response = open_page(page, page_path(doc))
    assert response.status == 200
    theme, luminance = theme_of(page)
    assert theme == "dark", f"the page rendered in the {theme!r} theme for a dark-mode reader"
    assert luminance < 0.2, f"dark mode with background luminance {luminance}"
    violations = axe_violations(page)
    assert not violations, f"axe-core, dark mode, {page_path(doc)}:\n" + "\n".join(violations)
    assert not recorder.console_errors, recorder.console_errors
