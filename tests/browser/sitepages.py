"""What the browser tests know about the built site: where it is, its pages, its HTML as text.

The site is read from ``SITE_DIR`` (default ``_build/html``) and the checkout it was built from in
``SITE_REPO`` (default this repository), so the same tests run against the real build (``make test``
builds it first) or against a copy built elsewhere.

The secrets that must stay off the site (solution and hidden-test lines, :func:`secret_lines`) and
the searchable text of a folder (:class:`TextIndex`) serve the student distribution's tests too
(tests/book/test_student_repo.py).
"""

from __future__ import annotations

import bisect
import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import yaml

# SITE_REPO: the checkout the site was built from (its _toc.yml, solutions/ and exercises/).
REPO = Path(os.environ.get("SITE_REPO", Path(__file__).resolve().parents[2])).resolve()
SITE_DIR = Path(os.environ.get("SITE_DIR", REPO / "_build" / "html")).resolve()
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2]
                                / "test-artifacts")).resolve()
AXE_JS = Path(os.environ.get("AXE_JS", Path(__file__).resolve().parents[2] / "node_modules"
                             / "axe-core" / "axe.min.js"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start-up; the resolver rule
# makes any request that escapes to another host fail at once instead of waiting for a timeout.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1"}
LOCAL_SCHEMES = {"data", "blob", "about"}


def toc_files() -> list[str]:
    """Every document of ``_toc.yml`` (root first), as repository paths without extension."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in files]


TOC_FILES = toc_files()


def page_path(doc: str) -> str:
    """Site-relative URL path of a table-of-contents document."""
    return f"{doc}.html"


def source_of(doc: str) -> Path:
    """The repository file a document is built from (.ipynb or .md)."""
    for ext in (".ipynb", ".md"):
        path = REPO / f"{doc}{ext}"
        if path.exists():
            return path
    raise FileNotFoundError(f"{doc}: no .ipynb or .md in the repository for this _toc.yml entry")


class _Elements(HTMLParser):
    """Collects, in one fast pass, every id and the attributes of links and asset references."""

    ASSETS = {"img": "src", "script": "src", "link": "href", "source": "src"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.anchors: list[dict[str, str]] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a":
            if "name" in attrs:
                self.ids.add(attrs["name"])
            if "href" in attrs:
                self.anchors.append(attrs)
        elif tag in self.ASSETS and self.ASSETS[tag] in attrs:
            self.assets.append(attrs[self.ASSETS[tag]])


@cache
def elements(rel: str) -> _Elements:
    """Ids, links and asset references of a site page (``rel`` relative to the site)."""
    parser = _Elements()
    parser.feed((SITE_DIR / rel).read_text(encoding="utf-8"))
    parser.close()
    return parser


def links_with_class(rel: str, cls: str) -> list[dict[str, str]]:
    return [a for a in elements(rel).anchors if cls in a.get("class", "").split()]


def site_missing_reason() -> str | None:
    if not (SITE_DIR / "index.html").is_file():
        return (f"no built site at {SITE_DIR} (index.html missing). Fix: run `make site` (or set "
                "SITE_DIR to a built copy) before the browser tests; `make test` does both.")
    return None


def normalise(text: str) -> str:
    """Collapse whitespace and drop math delimiters, so source lines match rendered text."""
    text = html.unescape(text)
    text = re.sub(r"\\[()\[\]]|\$", "", text)
    return re.sub(r"\s+", " ", text).strip()


def html_text(raw: str) -> str:
    """Text of an HTML document without its tags (highlighted code is split into spans)."""
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", raw)
    return re.sub(r"<[^>]*>", "", raw)


def json_strings(value) -> list[str]:
    """Every string inside a decoded JSON value (notebook sources and outputs, search index)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def text_views(path: Path) -> list[str]:
    """The ways a file can show text to a reader: raw, as rendered HTML, as decoded JSON."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []  # images and fonts carry no copyable solution text
    views = [raw]
    if path.suffix in (".html", ".htm", ".svg", ".xml"):
        views.append(html_text(raw))
    if path.suffix in (".ipynb", ".json"):
        try:
            views.append("\n".join(json_strings(json.loads(raw))))
        except json.JSONDecodeError:
            pass
    if path.suffix == ".js" and "Search.setIndex(" in raw:
        body = raw[raw.index("(") + 1: raw.rindex(")")]
        try:
            views.append("\n".join(json_strings(json.loads(body))))
        except json.JSONDecodeError:
            pass
    return views


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


@dataclass
class Recorder:
    """Everything a page did that a reader would not see: console errors, requests, failures."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def attach(self, page):
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.failures.append(f"{r.url}: {r.failure}"))
        page.on("response", self._response)

    def _console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f"{loc.get('url', '?')}:{loc.get('lineNumber')}"
            self.console_errors.append(f"{msg.text} ({where})")

    def _response(self, response):
        if response.status >= 400:
            self.failures.append(f"{response.url}: HTTP {response.status}")

    @property
    def external(self) -> list[str]:
        return sorted({u for u in self.requests if not is_local(u)})


def wait_for_math(page) -> None:
    """Wait until MathJax (loaded from the site, on pages that have math) has typeset the page."""
    if page.locator("script[src*='mathjax']").count() == 0:
        return
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise.then(() => true)")


def open_page(page, rel: str, *, settle: bool = False):
    """Go to a site page, wait for it to load and its math to be typeset; returns the response."""
    response = page.goto(rel, wait_until="load")
    wait_for_math(page)
    if settle:
        page.wait_for_load_state("networkidle")
    return response


AXE_BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core violations of the page, one readable line per element."""
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} missing. Fix: `npm ci` (the test command runs it).")
    page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"]["name"] == "axe-core", results["testEngine"]
    report = []
    for v in results["violations"]:
        if v["impact"] not in AXE_BLOCKING:
            continue
        report.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:4]:
            summary = " ".join((node.get("failureSummary") or "").split())[:200]
            report.append(f"    {node['target']}: {node['html'][:150]}\n      {summary}")
    return report


def theme_of(page) -> tuple[str, float]:
    """The colour theme the page rendered in, and the luminance (0-1) of its background."""
    return page.evaluate("""() => {
      const c = getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number);
      return [document.documentElement.dataset.theme,
              (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255];
    }""")



# ---- secrets: what only the instructors' files hold -----------------------------------------

MIN_CHARS = 12
REGIONS = [("### BEGIN SOLUTION", "### END SOLUTION"),
           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")]
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


def cell_sources(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]


def public_code(repo: Path = REPO) -> set[str]:
    """Lines every student already has: the course package."""
    files = list((repo / "lossutils").rglob("*.py"))
    return {normalise(line) for p in files for line in p.read_text().splitlines()}


def secret_lines(source: Path, repo: Path = REPO) -> list[str]:
    """Normalised lines of the solution and hidden-test regions of ``source`` (an instructor
    notebook of ``repo``) that are not public anyway: lines shorter than ``MIN_CHARS``, lines the
    student release shows and lines of the course package are left out."""
    release = repo / "exercises" / source.parent.name / source.name
    public = public_code(repo)
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


class TextIndex:
    """The normalised text of every file under ``root`` (but the folders named in ``skip``),
    searchable in one pass per needle."""

    def __init__(self, root: Path, skip: tuple[str, ...] = ()):
        self.root = root
        self.files: list[Path] = []
        self.starts: list[int] = []
        chunks, offset = [], 0
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = "/" + path.relative_to(root).as_posix()
            if any(f"/{folder}" in rel for folder in skip):
                continue
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

    def where(self, needle: str | re.Pattern) -> list[str]:
        """Paths (relative to the root) of the files containing ``needle`` (a string, or a
        compiled regular expression matched against the normalised text)."""
        find = needle.search if isinstance(needle, re.Pattern) else None
        hits, pos = [], 0
        while True:
            if find:
                match = find(self.blob, pos)
                at = match.start() if match else -1
            else:
                at = self.blob.find(needle, pos)
            if at < 0:
                return hits
            i = bisect.bisect_right(self.starts, at) - 1
            hits.append(self.files[i].relative_to(self.root).as_posix())
            pos = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.blob)
