"""Every page of _toc.yml in Chromium: it loads, stays on the site, typesets its math, describes
its figures, and axe-core finds no serious accessibility problem (light mode; dark mode is in
test_site_dark_mode.py).

Each page is opened once, as by a first-time reader on a light system theme, and left to go quiet
on the network; what it did is recorded and the tests below each check one property of it.
"""

from __future__ import annotations

import json
import re

import pytest
from sitepages import (
    TOC_FILES,
    Recorder,
    axe_violations,
    open_page,
    page_path,
    source_of,
    theme_of,
)

pytestmark = pytest.mark.browser

# TeX that reached the reader untypeset: $...$ or \(...\) around something only TeX would write
# (a backslash, ^, _ or braces), so prices such as "$10k vs $200k" are not mistaken for math.
RAW_TEX = re.compile(r"\$\$|\$[^$\n]*[\\^_{}][^$\n]*\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")
SOURCE_MATH = re.compile(r"\$\$|\$[^$\n]*[\\^_{}][^$\n]*\$|\{math\}|```\{math\}")
FILE_NAME = re.compile(r"^[\w\-. /]+\.(png|jpe?g|gif|svg|webp|pdf)$", re.I)
GENERIC_ALT = {"png", "jpg", "svg", "image", "img", "figure", "fig", "plot", "graph", "chart",
               "picture", "photo", "output", "untitled", "alt", "none"}
ARTICLE_ALT_MIN_WORDS = 5

COLLECT = """() => {
  const textOf = (id) => { const el = document.getElementById(id);
                           return el ? el.textContent.trim() : null; };
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight, '
                         + 'mjx-assistive-mml').forEach(e => e.remove());
  const maths = [...document.querySelectorAll('.math')];
  return {
    title: document.title,
    visibleText: clone.innerText,
    mathElements: maths.length,
    untypeset: maths.filter(m => !m.querySelector('mjx-container'))
                    .map(m => m.textContent.slice(0, 80)),
    mjx: document.querySelectorAll('mjx-container').length,
    outputText: [...document.querySelectorAll('.cell_output')].map(e => e.innerText).join(' '),
    widgets: document.querySelectorAll('.jupyter-widgets, .widget-area, '
      + 'script[type="application/vnd.jupyter.widget-view+json"]').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    images: [...document.querySelectorAll('img')].map(i => ({
      src: i.getAttribute('src'), alt: i.getAttribute('alt'),
      inArticle: !!i.closest('article'), decorative: i.getAttribute('role') === 'presentation'
                 || i.getAttribute('aria-hidden') === 'true'})),
    svgs: [...article.querySelectorAll('svg')]
      .filter(s => !s.closest('[aria-hidden="true"], button, a') && !s.parentElement.closest('svg'))
      .map(s => ({
        explorer: !!s.closest('figure.loss-explorer'),
        role: s.getAttribute('role'),
        label: s.getAttribute('aria-label'),
        labelledby: (s.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
                     .map(id => ({id, text: textOf(id),
                                  tag: (document.getElementById(id) || {}).tagName || null})),
        html: s.outerHTML.slice(0, 120)})),
  };
}"""

_reports: dict[str, dict] = {}


@pytest.fixture
def report(request, chromium, site_url):
    """Open the page once per module run and keep what it did."""
    doc = request.param
    if doc not in _reports:
        context = chromium.new_context(base_url=site_url, service_workers="block")
        try:
            page = context.new_page()
            recorder = Recorder()
            recorder.attach(page)
            response = open_page(page, page_path(doc), settle=True)
            data = page.evaluate(COLLECT)
            data["theme"], data["luminance"] = theme_of(page)
            data["axe"] = axe_violations(page)
            data.update(status=response.status if response else None,
                        url=page.url, requests=recorder.requests,
                        external=recorder.external, console_errors=recorder.console_errors,
                        failures=recorder.failures)
        finally:
            context.close()
        _reports[doc] = data
    return _reports[doc]


pages = pytest.mark.parametrize("report", TOC_FILES, indirect=True, ids=TOC_FILES)


@pages
def test_page_loads_without_errors(report):
    assert report["status"] == 200, f"{report['url']}: HTTP {report['status']}"
    assert report["title"].strip(), f"{report['url']}: empty <title>"
    assert not report["console_errors"], "console errors:\n" + "\n".join(report["console_errors"])
    assert not report["failures"], "failed requests:\n" + "\n".join(report["failures"])


@pages
def test_page_requests_nothing_outside_the_site(report):
    assert report["requests"], "no request was recorded: the recorder is not attached"
    assert not report["external"], (
        "the page fetched from outside the site (a reader offline or behind a filter gets a broken "
        "page, and the host learns who reads it):\n" + "\n".join(report["external"]))
    if report["mathElements"]:
        assert any("/_static/mathjax/" in u for u in report["requests"]), (
            "math on the page but MathJax was not loaded from the site's _static/mathjax")


def source_has_math(doc: str) -> bool:
    path = source_of(doc)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)  # code spans hold no math
    return bool(SOURCE_MATH.search(text))


@pages
def test_math_is_typeset(report, request):
    doc = request.node.callspec.params["report"]
    if source_has_math(doc):
        assert report["mjx"] > 0, f"{doc}: the source has math but nothing was typeset by MathJax"
    assert not report["untypeset"], f"math left untypeset: {report['untypeset'][:5]}"
    assert not report["mathErrors"], f"TeX errors on the page: {report['mathErrors'][:5]}"
    raw = [m.group(0) + " in: ..." + report["visibleText"][max(0, m.start() - 40): m.end() + 40]
           .replace("\n", " ") + "..." for m in RAW_TEX.finditer(report["visibleText"])]
    assert not raw, "raw TeX left in the visible text:\n" + "\n".join(raw[:10])


DEAD_WIDGET = re.compile(r"interactive\(children=|Loading widget|Error displaying widget|"
                         r"(IntSlider|FloatSlider|SelectionSlider|HBox|VBox|Output)\(")


@pages
def test_no_kernel_widget_is_left_dead_on_the_page(report):
    # ipywidgets need a kernel; on the static site they must be removed, not shown inert.
    assert report["widgets"] == 0, f"{report['widgets']} ipywidgets elements on a static page"
    text = report["outputText"] + "\n" + report["visibleText"]
    dead = [m.group(0) for m in DEAD_WIDGET.finditer(text)]
    assert not dead, f"widget placeholders in the text: {dead[:5]}"


def alt_problem(alt: str | None, *, in_article: bool) -> str | None:
    if alt is None:
        return "no alt attribute"
    text = alt.strip()
    if not text:
        return "empty alt"
    if FILE_NAME.match(text) or re.fullmatch(r"[0-9a-f]{16,}", text):
        return f"alt is a file name: {text!r}"
    if text.lower() in GENERIC_ALT or text.startswith(("<Figure", "<matplotlib", "<IPython")):
        return f"alt says nothing about the figure: {text!r}"
    if in_article and len(text.split()) < ARTICLE_ALT_MIN_WORDS:
        return f"alt too short to describe a figure: {text!r}"
    return None


@pages
def test_figures_have_meaningful_text_alternatives(report):
    problems = []
    for img in report["images"]:
        if img["decorative"] and not img["inArticle"]:
            continue
        why = alt_problem(img["alt"], in_article=img["inArticle"])
        if why:
            problems.append(f"<img src={img['src']}>: {why}")
    for svg in report["svgs"]:
        name = svg["label"] or " ".join(p["text"] or "" for p in svg["labelledby"])
        if svg["role"] != "img":
            problems.append(f"svg without role=img: {svg['html']}")
        if svg["labelledby"]:
            missing = [p["id"] for p in svg["labelledby"] if not p["text"]]
            if missing:
                problems.append(f"svg aria-labelledby points at missing/empty ids {missing}")
        if svg["explorer"]:
            tags = {(p["tag"] or "").lower() for p in svg["labelledby"]}
            if not {"title", "desc"} <= tags:
                problems.append(f"explorer svg not labelled by <title> and <desc>: {svg['html']}")
        why = alt_problem(name, in_article=True)
        if why:
            problems.append(f"svg {svg['html'][:60]}: {why}")
    assert not problems, "\n".join(problems)


@pages
def test_no_serious_accessibility_violations_in_light_mode(report):
    assert report["theme"] == "light", f"a first-time reader got the {report['theme']!r} theme"
    assert report["luminance"] > 0.7, f"light mode with background luminance {report['luminance']}"
    assert not report["axe"], "axe-core, light mode:\n" + "\n".join(report["axe"])
