"""The site shows teaching code only: no graded function's implementation, no bookkeeping.

1. No page prints the implementation of a function an assignment asks students to write: neither
   the instructor's solution (tests/browser/test_site_leaks.py checks every line) nor the course
   package's reference that the checks compare with (``REFERENCES`` of each
   ``lossutils.assignments.<id>``, with the module's private helpers it calls). Chapters must not
   define a function under a graded name either; assignment pages show the graded function's
   stub (its signature and docstring), never a body.
2. Chapter pages show no bookkeeping: the ``glue`` calls and ``assert`` lines that keep the prose
   honest run in hidden cells (tag ``remove-cell``), and no private helper (``_name``) of the
   course package is printed or called where a reader sees it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import textwrap
from html.parser import HTMLParser

import pytest
from sitepages import (
    REPO,
    SITE_DIR,
    TOC_FILES,
    html_text,
    normalise,
    page_path,
    site_missing_reason,
)

pytestmark = pytest.mark.browser

ASSIGNMENT_PAGES = [d for d in TOC_FILES if d.startswith("exercises/")]
CHAPTER_PAGES = [d for d in TOC_FILES if d.startswith("book/")]
MIN_CHARS = 12          # shorter lines (`return x`, `else:`) prove nothing
SHARE = 0.5             # a page holding half of a body's telling lines prints the body
BOOKKEEPING = re.compile(r"\bglue\s*\(|\bkeep\s*\(|^\s*assert\b|\bimport\b.*\bglue\b")
PRIVATE = re.compile(r"\b(?:lossutils|L|diagnostics|data|explorer)\.(?:\w+\.)*_\w+")


@pytest.fixture(autouse=True)
def _site():
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)


class _Cells(HTMLParser):
    """Text of every code-cell input (``div.cell_input``) of a page, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inputs: list[str] = []
        self._depth = 0      # open divs inside the current cell input (0: outside any)

    def handle_starttag(self, tag, attrs):
        if tag != "div":
            return
        if self._depth:
            self._depth += 1
        elif "cell_input" in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.inputs.append("")

    def handle_endtag(self, tag):
        if tag == "div" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.inputs[-1] += data


def cell_inputs(doc: str) -> list[str]:
    parser = _Cells()
    parser.feed((SITE_DIR / page_path(doc)).read_text(encoding="utf-8"))
    return parser.inputs


def page_text(doc: str) -> str:
    return normalise(html_text((SITE_DIR / page_path(doc)).read_text(encoding="utf-8")))


def graded_functions() -> dict[str, str]:
    """{graded function name: assignment id}, from the answer cells of solutions/."""
    graded = {}
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution") and not meta.get("grade"):
                for node in ast.parse("".join(cell["source"])).body:
                    if isinstance(node, ast.FunctionDef):
                        graded[node.name] = path.parent.name
    return graded


GRADED = graded_functions()


def _body_lines(fn) -> list[str]:
    """Telling lines of a function's body, as written: no signature, docstring, comments or
    short lines."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    if not body:
        return []
    lines = source.splitlines()[body[0].lineno - 1:body[-1].end_lineno]
    lines = [normalise(x.split("  #")[0]) for x in lines if not x.strip().startswith("#")]
    return [x for x in lines if len(x) >= MIN_CHARS]


def _with_private_helpers(fn) -> list:
    """``fn`` and, transitively, the private functions of its module that it calls."""
    module = importlib.import_module(fn.__module__)
    found, todo = [], [fn]
    while todo:
        f = todo.pop()
        if f in found:
            continue
        found.append(f)
        names = {n.id for n in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(f))))
                 if isinstance(n, ast.Name)}
        todo += [getattr(module, n) for n in sorted(names)
                 if n.startswith("_") and inspect.isfunction(getattr(module, n, None))]
    return found


def reference_bodies(name: str) -> dict[str, list[str]]:
    """{reference function (or helper) name: its telling body lines} for a graded function."""
    checks = importlib.import_module(f"lossutils.assignments.{GRADED[name]}")
    bodies = {}
    for ref in checks.REFERENCES[name]:
        for f in _with_private_helpers(ref):
            lines = _body_lines(f)
            if len(lines) >= 2:
                bodies[f"{f.__module__}.{f.__qualname__}"] = lines
    return bodies


def test_every_graded_function_has_a_reference():
    assert set(GRADED) >= {"huber_loss", "huber_grad", "focal_loss", "semihard_negatives",
                           "kl_divergence"}, GRADED
    for name in GRADED:
        assert reference_bodies(name), f"{name}: no reference body found to protect"


def _shown(lines: list[str], text: str) -> list[str]:
    present = [line for line in dict.fromkeys(lines) if line in text]
    return present if len(present) >= max(2, SHARE * len(set(lines))) else []


def test_the_detector_sees_a_body_through_highlighting():
    # The site highlights code with Pygments, splitting every token into a <span>: a reference
    # printed that way must still be found, and prose about it must not be.
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    ref = importlib.import_module("lossutils.assignments.huber").REFERENCES["huber_loss"][0]
    lines = _body_lines(ref)
    printed = normalise(html_text(highlight(inspect.getsource(ref), PythonLexer(),
                                            HtmlFormatter())))
    assert _shown(lines, printed)
    assert not _shown(lines, normalise("The Huber loss is 0.5 r^2 inside the band and "
                                       "delta (|r| - delta / 2) outside."))


@pytest.mark.parametrize("doc", CHAPTER_PAGES + ASSIGNMENT_PAGES)
def test_no_graded_implementation_on_the_page(doc):
    text = page_text(doc)
    shown = []
    for name in GRADED:
        for where, lines in reference_bodies(name).items():
            present = _shown(lines, text)
            if present:
                shown.append(f"{where} (reference of {name}): {len(present)} of "
                             f"{len(set(lines))} lines, e.g. {present[:3]}")
    assert not shown, f"{doc} prints the implementation of a graded function:\n" + "\n".join(
        shown)


@pytest.mark.parametrize("doc", CHAPTER_PAGES)
def test_chapters_define_no_graded_function(doc):
    defined = {m for code in cell_inputs(doc)
               for m in re.findall(r"^\s*def\s+(\w+)\s*\(", code, re.M)}
    clash = sorted(defined & set(GRADED))
    assert not clash, (f"{doc} defines {clash}, which an assignment asks students to write; "
                       "teach that loss with the library call and the formula instead")


@pytest.mark.parametrize("doc", ASSIGNMENT_PAGES)
def test_assignment_pages_show_stubs_only(doc):
    stubs = [code for code in cell_inputs(doc) if re.search(r"^\s*def\s+\w+", code, re.M)]
    assert stubs, f"{doc}: no answer cell with a function stub on the page"
    for code in stubs:
        if any(re.search(rf"^\s*def\s+{name}\s*\(", code, re.M) for name in GRADED):
            assert "raise NotImplementedError" in code, f"{doc}: an answer cell is not a stub"


@pytest.mark.parametrize("doc", CHAPTER_PAGES)
def test_no_bookkeeping_on_chapter_pages(doc):
    seen = [line.strip() for code in cell_inputs(doc) for line in code.splitlines()
            if BOOKKEEPING.search(line) or PRIVATE.search(line)]
    assert not seen, (f"{doc} shows {len(seen)} bookkeeping or private lines to readers (move "
                      f"them to a cell tagged remove-cell): {seen[:8]}")
