"""Copy detection for one assignment: near-copies between students and of the course library.

``python -m grader.similarity ID [--course DIR]`` (and :func:`grader.report.write_reports`,
which calls :func:`write_reports`) compares, for every graded function of the assignment, every
student's answer with every other student's and with the course library's own implementation of
the same function (``lossutils.assignments.<ID>.REFERENCES``, which students install). It runs
after grading: the answers are read from the autograded notebooks (the answer cells and helper
cells the grader ran). **Nothing here changes a grade**; the results are for the instructor to
read before releasing grades.

What is compared. A student's *document* for a graded function is that function plus every
function of the student's that it uses, directly or through another (in the order of first use,
so the order in which helpers were written does not matter). The library's document is the
reference function plus the ``lossutils`` functions it uses (three levels deep). Each document is
normalised before fingerprinting:

1. parsed and printed back by Python's ``ast`` (comments, line breaks, spacing, redundant
   parentheses and quote styles disappear), with docstrings, type annotations, decorators, bare
   constants and ``print`` calls removed;
2. tokenised by copydetect (Pygments) with every identifier abstracted (variables, attributes,
   function names become one letter each, strings another), so renaming changes nothing.

Fingerprints are copydetect's winnowing of the normalised text (k-grams of :data:`NOISE`
characters, window :data:`WINDOW`), as MOSS does. Fingerprints of the released notebook's code
for the function (the signature students were given) are ignored, and, for comparisons between
students, so are fingerprints found in more than :data:`COMMON_FRACTION` of the class (the idioms
everybody writes; classes of at least :data:`COMMON_MIN_CLASS`).

Scores. For a pair of documents copydetect reports the share of each document covered by
matching fingerprints. A pair of students is listed when, for at least one function, the larger
of the two shares is at least :data:`THRESHOLD` and the matching code is at least
:data:`MIN_MATCH` normalised characters long (about three lines: a one-line formula that
everybody writes the same way is no evidence). A student is listed against the library when the
share of the student's document found in the library's is at least :data:`THRESHOLD`, with the
same minimum length. The threshold and the k-gram length were chosen on the disguised copies and
the independent honest solutions of ``tests/grader/similarity_cases.py``: renamed, reordered,
reformatted copies of a classmate score 1.0, copies built from lossutils' helpers 0.84-0.87, a
copy that also reorders statements, swaps arguments and adds dead code and prints about 0.65,
and honest solutions written differently at most 0.54, over at most 52 matching characters.
copydetect on the unnormalised text scores the plain disguised copy 0.58-0.63 only.

Bounds (student text is data): a notebook larger than :data:`.safety.MAX_NOTEBOOK_BYTES` or answer
code longer than :data:`MAX_CODE_CHARS` is not compared (listed as skipped, with the reason); each
submission's extraction and fingerprinting must finish within :data:`SUBMISSION_SECONDS`; the whole
detection runs in a child process with an address-space limit of :data:`MEMORY_MB` and a time
limit, and with a fixed hash seed (copydetect hashes k-grams with Python's ``hash``), so the same
class always gives the same report. Student code is only parsed, never run, and every piece of it
is HTML-escaped in the report.

Outputs, in ``grading_reports/``: ``ID.similarity.json`` (everything, read by the CSV export for
its ``notes`` column: :func:`export_notes`), ``ID.similarity.csv`` (one row per pair and
function) and ``ID.similarity.html`` (the listed pairs with both sources side by side).
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import functools
import html
import importlib
import inspect
import io
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .records import REPORTS_DIR
from .safety import MAX_NOTEBOOK_BYTES, csv_cell

__all__ = ["THRESHOLD", "normalise", "student_functions", "reference_sources", "detect",
           "write_reports", "export_notes", "main"]

THRESHOLD = 0.6  # share of a document covered by matching fingerprints
MIN_MATCH = 60  # normalised characters of matching code, at least
NOISE = 12  # copydetect's noise threshold: k-gram length in normalised characters
WINDOW = 3  # winnowing window (copydetect's guarantee threshold = NOISE + WINDOW - 1)
COMMON_FRACTION = 0.4
COMMON_MIN_CLASS = 10
MAX_CODE_CHARS = 200_000
MAX_FUNCTIONS = 40  # functions in one document (the graded one and what it uses)
SUBMISSION_SECONDS = 10.0
MEMORY_MB = 4096
TIME_LIMIT = 600.0  # seconds for the whole detection (plus 1 s per student)
_REFERENCE = "(course library)"


# ---- normalising ---------------------------------------------------------------------------------

def _inert(node: ast.stmt) -> bool:
    """A statement that computes nothing: a bare string (docstring) or constant, a print call."""
    if not isinstance(node, ast.Expr):
        return False
    value = node.value
    return isinstance(value, ast.Constant) or (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
        and value.func.id == "print")


class _Canonical(ast.NodeTransformer):
    """Drop what does not change what code computes: docstrings, annotations, bare strings and
    constants, print calls."""

    def _body(self, body: list) -> list:
        return [n for n in body if not _inert(n)] or [ast.Pass()]

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.body = self._body(node.body)
        node.returns = None
        node.decorator_list = []
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                    node.args.vararg, node.args.kwarg):
            if arg is not None:
                arg.annotation = None
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        if node.value is None:
            return None
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, name, self._body(value))
        return node


def normalise(functions: list[ast.FunctionDef]) -> str:
    """The functions printed back in a canonical form (see the module docstring, step 1)."""
    module = ast.Module(body=[_Canonical().visit(copy.deepcopy(f)) for f in functions],
                        type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)) + "\n"


def _definitions(code: str) -> dict[str, tuple[ast.FunctionDef, str]]:
    """Top-level functions (and lambdas bound to a name) of one cell: name -> (node, source)."""
    tree = ast.parse(code)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out[node.name] = (node, ast.get_source_segment(code, node) or "")
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Lambda)):
            name = node.targets[0].id
            fn = ast.FunctionDef(name=name, args=node.value.args,
                                 body=[ast.Return(node.value.body)], decorator_list=[],
                                 returns=None, type_params=[])
            out[name] = (ast.copy_location(fn, node), ast.get_source_segment(code, node) or "")
    return out


def _used_names(node: ast.AST) -> list[str]:
    """Names a function uses, in source order (first use first)."""
    found = [(n.lineno, n.col_offset, n.id) for n in ast.walk(node) if isinstance(n, ast.Name)]
    seen, order = set(), []
    for _, _, name in sorted(found):
        if name not in seen:
            seen.add(name)
            order.append(name)
    return order


def _closure(name: str, defs: dict[str, tuple[ast.FunctionDef, str]]) -> list[str]:
    """``name`` and the functions of ``defs`` it uses, depth first in order of first use."""
    order: list[str] = []

    def visit(n: str) -> None:
        if n in order or n not in defs or len(order) >= MAX_FUNCTIONS:
            return
        order.append(n)
        for used in _used_names(defs[n][0]):
            visit(used)

    visit(name)
    return order


def student_functions(cells: list[str], graded: list[str]) -> dict[str, tuple[str, str]]:
    """For each graded function a student defined: (normalised document, original source).

    ``cells`` are the student's code cells in the order they run (helper cells before the
    answer they precede); a later definition replaces an earlier one, as in Run All. A cell that
    does not parse is left out (its functions cannot have been graded either)."""
    from .submission import answer_code

    defs: dict[str, tuple[ast.FunctionDef, str]] = {}
    for source in cells:
        try:
            defs.update(_definitions(answer_code(source)[0]))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    out = {}
    for name in graded:
        if name in defs:
            names = _closure(name, defs)
            out[name] = (normalise([defs[n][0] for n in names]),
                         "\n\n".join(defs[n][1] for n in names))
    return out


def _lossutils_functions(fn) -> list:
    """The lossutils functions ``fn`` uses (by name or as ``module.name``), in source order."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    found = []
    for node in ast.walk(tree):
        obj = None
        if isinstance(node, ast.Name):
            obj = fn.__globals__.get(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = fn.__globals__.get(node.value.id)
            if inspect.ismodule(module) and module.__name__.startswith("lossutils"):
                obj = getattr(module, node.attr, None)
        if inspect.isfunction(obj) and obj.__module__.startswith("lossutils"):
            found.append((node.lineno, node.col_offset, obj))
    return [obj for _, _, obj in sorted(found, key=lambda t: t[:2])]


def _library_closure(functions) -> list:
    """The functions and the lossutils functions they use, three levels deep, in order."""
    order: list = []

    def visit(fn, depth: int) -> None:
        if fn in order or depth > 3 or len(order) >= MAX_FUNCTIONS:
            return
        order.append(fn)
        for used in _lossutils_functions(fn):
            visit(used, depth + 1)

    for fn in functions:
        visit(fn, 0)
    return order


def reference_sources(assignment: str) -> dict[str, tuple[str, str]]:
    """For each graded function with a reference in ``lossutils.assignments.<assignment>``:
    (normalised document, original source) of the reference and what it uses."""
    try:
        module = importlib.import_module(f"lossutils.assignments.{assignment}")
    except ImportError:
        return {}
    out = {}
    for name, functions in getattr(module, "REFERENCES", {}).items():
        order = _library_closure(functions)
        sources = [textwrap.dedent(inspect.getsource(fn)) for fn in order]
        nodes = [ast.parse(src).body[0] for src in sources]
        out[name] = (normalise(nodes), "\n\n".join(
            f"# {fn.__module__}.{fn.__name__}\n{src}"
            for fn, src in zip(order, sources, strict=True)))
    return out


# ---- fingerprints and comparison ---------------------------------------------------------------

def _fingerprint(text: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", NOISE, NOISE + WINDOW - 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def _without(fp, drop: set):
    """A copy of a fingerprint without the hashes in ``drop``."""
    from copydetect.utils import get_token_coverage

    if not drop or not (fp.hashes & drop):
        return fp
    out = copy.copy(fp)
    out.hashes = fp.hashes - drop
    out.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in drop}
    out.token_coverage = get_token_coverage(out.hash_idx, fp.k, len(fp.filtered_code))
    return out


def _compare(a, b) -> tuple[float, float, int]:
    """(share of a, share of b, matching normalised characters) by copydetect."""
    from copydetect import compare_files

    if not a.hashes or not b.hashes or not a.token_coverage or not b.token_coverage:
        return 0.0, 0.0, 0
    overlap, (sa, sb), _ = compare_files(a, b)
    return float(min(sa, 1.0)), float(min(sb, 1.0)), int(overlap)


@dataclass
class _Submission:
    student: str
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)
    prints: dict = field(default_factory=dict)


class _Deadline:
    """SIGALRM after ``seconds`` in the main thread: bounds one submission's processing."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def _expired(self, *_):
        raise TimeoutError(f"took longer than {self.seconds:g} s")

    def __enter__(self):
        # signals reach the main thread only; elsewhere the child process's limits still apply
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._expired)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _student_cells(path: Path) -> list[str]:
    """The code the grader ran for one autograded notebook, in running order."""
    import nbformat

    from . import submission
    from .nbgrader_plugin import META

    nb = nbformat.read(path, as_version=4)
    lay = submission.layout(nb)
    helpers = nb.metadata.get(META, {}).get("helpers", [])
    cells = []
    for i in lay.answers:
        gid = nb.cells[i].metadata.get("nbgrader", {}).get("grade_id")
        cells += [h.get("source", "") for h in helpers if h.get("before") == gid]
        cells.append(nb.cells[i].source)
    return cells


def _notebooks(course: Path, assignment: str) -> tuple[list[str], dict[str, str], Path]:
    """Graded function names, the released code of each (boilerplate) and the autograded root."""
    import nbformat

    from . import submission
    from .grade_class import course_directory

    cd = course_directory(course)
    masters = sorted(Path(cd.format_path(cd.source_directory, ".", assignment)).glob("*.ipynb"))
    if not masters:
        raise SystemExit(f"no instructor notebook for '{assignment}' in "
                         f"{cd.format_path(cd.source_directory, '.', assignment)}")
    graded: list[str] = []
    for path in masters:
        graded += [n for n in submission.layout(nbformat.read(path, as_version=4)).graded_names
                   if n not in graded]
    given: dict[str, str] = {}
    release = Path(cd.format_path(cd.release_directory, ".", assignment))
    for path in sorted(release.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c.source for c in nb.cells if c.cell_type == "code"]
        for name, (text, _) in student_functions(cells, graded).items():
            given[name] = text
    autograded = Path(cd.format_path(cd.autograded_directory, "*", assignment)).parent.parent
    return graded, given, autograded


def detect(course: str | Path, assignment: str, threshold: float = THRESHOLD) -> dict:
    """Run the comparison in this process (see :func:`write_reports` for the bounded run)."""
    t0 = time.perf_counter()
    course = Path(course).resolve()
    graded, given, autograded = _notebooks(course, assignment)
    boiler = {name: sorted(_fingerprint(text).hashes) for name, text in given.items()}
    subs: list[_Submission] = []
    skipped = []
    for folder in sorted(p for p in autograded.glob(f"*/{assignment}") if p.is_dir()):
        student = folder.parent.name
        notebooks = sorted(folder.glob("*.ipynb"))
        try:
            if any(p.stat().st_size > MAX_NOTEBOOK_BYTES for p in notebooks):
                raise ValueError(f"a notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
            with _Deadline(SUBMISSION_SECONDS):
                cells = [c for p in notebooks for c in _student_cells(p)]
                if sum(len(c) for c in cells) > MAX_CODE_CHARS:
                    raise ValueError(f"more than {MAX_CODE_CHARS} characters of answer code")
                sub = _Submission(student, student_functions(cells, graded))
                for name, (text, _) in sub.documents.items():
                    sub.prints[name] = _fingerprint(text, boiler.get(name))
        except (TimeoutError, ValueError, OSError, RecursionError, MemoryError) as exc:
            skipped.append({"student": student, "reason": f"not compared: {exc}"})
            continue
        except Exception as exc:  # noqa: BLE001 - an unreadable notebook: say so, go on
            skipped.append({"student": student,
                            "reason": f"not compared: {type(exc).__name__}: {exc}"[:300]})
            continue
        subs.append(sub)

    references = reference_sources(assignment)
    ref_prints = {name: _fingerprint(text, boiler.get(name))
                  for name, (text, _) in references.items()}
    pairs: dict[tuple[str, str], list[dict]] = {}
    library: dict[str, list[dict]] = {}
    compared = 0
    for name in graded:
        having = [s for s in subs if name in s.prints]
        # idioms written by a large part of the class are not evidence between two students
        common: set = set()
        if len(having) >= COMMON_MIN_CLASS:
            counts: dict = {}
            for s in having:
                for h in s.prints[name].hashes:
                    counts[h] = counts.get(h, 0) + 1
            common = {h for h, n in counts.items() if n > COMMON_FRACTION * len(having)}
        pruned = {s.student: _without(s.prints[name], common) for s in having}
        index: dict = {}
        for s in having:
            for h in pruned[s.student].hashes:
                index.setdefault(h, []).append(s.student)
        candidates = set()
        for students in index.values():
            for i, a in enumerate(students):
                for b in students[i + 1:]:
                    candidates.add((a, b) if a < b else (b, a))
        for a, b in sorted(candidates):
            compared += 1
            sa, sb, overlap = _compare(pruned[a], pruned[b])
            if max(sa, sb) >= threshold and overlap >= MIN_MATCH:
                pairs.setdefault((a, b), []).append(
                    {"function": name, "shares": [round(sa, 3), round(sb, 3)],
                     "matching_chars": overlap})
        if name in ref_prints:
            for s in having:
                compared += 1
                share, ref_share, overlap = _compare(s.prints[name], ref_prints[name])
                if share >= threshold and overlap >= MIN_MATCH:
                    library.setdefault(s.student, []).append(
                        {"function": name, "shares": [round(share, 3), round(ref_share, 3)],
                         "matching_chars": overlap})

    by_student = {s.student: s for s in subs}
    sources: dict[str, dict[str, str]] = {}
    listed = []
    for (a, b), functions in sorted(pairs.items(), key=lambda kv: -max(
            max(f["shares"]) for f in kv[1])):
        listed.append({"students": [a, b], "score": max(max(f["shares"]) for f in functions),
                       "functions": functions})
        for f in functions:
            for s in (a, b):
                sources.setdefault(s, {})[f["function"]] = by_student[s].documents[
                    f["function"]][1]
    matched = []
    for student, functions in sorted(library.items(), key=lambda kv: -max(
            f["shares"][0] for f in kv[1])):
        matched.append({"student": student, "score": max(f["shares"][0] for f in functions),
                        "functions": functions})
        for f in functions:
            sources.setdefault(student, {})[f["function"]] = by_student[student].documents[
                f["function"]][1]
    return {"assignment": assignment, "threshold": threshold,
            "parameters": {"noise": NOISE, "window": WINDOW, "min_match": MIN_MATCH,
                           "common_fraction": COMMON_FRACTION,
                           "common_min_class": COMMON_MIN_CLASS},
            "functions": graded, "with_reference": sorted(references),
            "students": len(subs), "comparisons": compared, "pairs": listed,
            "library": matched, "skipped": skipped, "sources": sources,
            "reference_sources": {name: references[name][1] for name in
                                  {f["function"] for m in matched for f in m["functions"]}},
            "seconds": round(time.perf_counter() - t0, 3)}


# ---- bounded run and reports ---------------------------------------------------------------------

def _paths(course: Path, assignment: str) -> dict[str, Path]:
    out = course / REPORTS_DIR
    return {"similarity_json": out / f"{assignment}.similarity.json",
            "similarity_csv": out / f"{assignment}.similarity.csv",
            "similarity_html": out / f"{assignment}.similarity.html"}


def _limits(seconds: float) -> None:
    """In the detection's child process: bounded memory and CPU time."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_MB << 20, MEMORY_MB << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (int(seconds), int(seconds) + 5))


def run_bounded(course: Path, assignment: str, threshold: float = THRESHOLD) -> dict:
    """:func:`detect` in a child process (memory and time limits, fixed hash seed)."""
    out = _paths(course, assignment)["similarity_json"]
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONHASHSEED="0")
    # the same budget for CPU and wall time: the comparisons grow with the square of the class
    seconds = TIME_LIMIT + len(list(course.glob(f"*/*/{assignment}")))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "grader.similarity", assignment, "--course", str(course),
             "--threshold", str(threshold), "--json-only"],
            cwd=course, env=env, preexec_fn=functools.partial(_limits, seconds),
            capture_output=True, text=True, timeout=seconds)
        problem = "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or
                                                    [f"exit status {proc.returncode}"])[-1]
    except subprocess.TimeoutExpired:
        problem = f"took longer than {seconds:.0f} s"
    if problem:
        result = {"assignment": assignment, "threshold": threshold, "error": problem,
                  "pairs": [], "library": [], "skipped": [], "sources": {},
                  "reference_sources": {}}
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        return result
    return json.loads(out.read_text(encoding="utf-8"))


def write_reports(course: str | Path, assignment: str, threshold: float = THRESHOLD
                  ) -> dict[str, Path]:
    """Run the detection (bounded) and write the JSON, CSV and HTML reports; returns paths."""
    course = Path(course).resolve()
    result = run_bounded(course, assignment, threshold)
    paths = _paths(course, assignment)
    with open(paths["similarity_csv"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_a", "student_b", "function", "share_a", "share_b",
                    "matching_chars"])
        for pair in result["pairs"]:
            for f in pair["functions"]:
                w.writerow([csv_cell(pair["students"][0]), csv_cell(pair["students"][1]),
                            f["function"], *f["shares"], f["matching_chars"]])
        for m in result["library"]:
            for f in m["functions"]:
                w.writerow([csv_cell(m["student"]), _REFERENCE, f["function"], *f["shares"],
                            f["matching_chars"]])
    paths["similarity_html"].write_text(_html(result), encoding="utf-8")
    return paths


def _side_by_side(left_title: str, left: str, right_title: str, right: str) -> str:
    esc = html.escape
    return (f"<div class='pair'><div><h4>{esc(left_title)}</h4><pre>{esc(left)}</pre></div>"
            f"<div><h4>{esc(right_title)}</h4><pre>{esc(right)}</pre></div></div>")


def _html(result: dict) -> str:
    esc = html.escape
    a = result["assignment"]
    parts = []
    if result.get("error"):
        parts.append(f"<p class='error'>Copy detection did not finish: {esc(result['error'])}"
                     "</p>")
    else:
        parts.append(
            f"<p>{result['students']} submissions compared function by function "
            f"({result['comparisons']} comparisons in {result['seconds']:.1f} s); graded "
            f"functions: {esc(', '.join(result['functions']))}; with a course-library reference:"
            f" {esc(', '.join(result['with_reference']) or 'none')}. Listed: a share of "
            f"{result['threshold']:.0%} or more of one answer matching, over at least "
            f"{result['parameters']['min_match']} characters of normalised code.</p>")
    parts.append(f"<h2>Students with near-identical answers ({len(result['pairs'])})</h2>")
    for pair in result["pairs"]:
        s1, s2 = pair["students"]
        parts.append(f"<h3>{esc(s1)} and {esc(s2)}: {pair['score']:.0%}</h3>")
        for f in pair["functions"]:
            parts.append(f"<p><code>{esc(f['function'])}</code>: {f['shares'][0]:.0%} of "
                         f"{esc(s1)}'s, {f['shares'][1]:.0%} of {esc(s2)}'s "
                         f"({f['matching_chars']} matching characters)</p>")
            parts.append(_side_by_side(s1, result["sources"][s1][f["function"]], s2,
                                       result["sources"][s2][f["function"]]))
    parts.append(f"<h2>Answers matching the course library ({len(result['library'])})</h2>")
    for m in result["library"]:
        s = m["student"]
        parts.append(f"<h3>{esc(s)}: {m['score']:.0%}</h3>")
        for f in m["functions"]:
            parts.append(f"<p><code>{esc(f['function'])}</code>: {f['shares'][0]:.0%} of the "
                         f"answer is found in lossutils' implementation "
                         f"({f['matching_chars']} matching characters)</p>")
            parts.append(_side_by_side(s, result["sources"][s][f["function"]],
                                       "lossutils (reference and what it uses)",
                                       result["reference_sources"].get(f["function"], "")))
    if result.get("skipped"):
        parts.append("<h2>Not compared</h2><ul>" + "".join(
            f"<li>{esc(x['student'])}: {esc(x['reason'])}</li>" for x in result["skipped"])
            + "</ul>")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{esc(a)}: copy detection</title>
<style>body{{font-family:sans-serif;max-width:1400px;margin:2em auto}}
.pair{{display:grid;grid-template-columns:1fr 1fr;gap:1em}}
pre{{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:85%}}.error{{color:#a00}}</style>
</head><body><h1>{esc(a)}: copy detection</h1>
<p>Near-copies between students and of the course library (winnowing fingerprints, as MOSS,
via copydetect; names, formatting, comments and the order of helper functions do not matter).
A listing is a reason to look, not a verdict: short answers to the same formula can look alike.
Nothing here changes a grade.</p>
{''.join(parts)}</body></html>"""


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> dict:
    """A results file, read once per version (the export asks once per student)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def export_notes(course: str | Path, assignment: str, student: str) -> list[str]:
    """Notes for the CSV export's ``notes`` column: whom (or the library) this student's
    answers match. Empty if copy detection has not run for the assignment."""
    path = _paths(Path(course), assignment)["similarity_json"]
    try:
        result = _load(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError):
        return []
    notes = []
    for pair in result.get("pairs", []):
        if student in pair["students"]:
            other = pair["students"][1 - pair["students"].index(student)]
            mine = pair["students"].index(student)
            detail = ", ".join(f"{f['function']} {f['shares'][mine]:.0%}"
                               for f in pair["functions"])
            notes.append(f"copy detection: answers similar to {other}'s ({detail}); "
                         f"see {REPORTS_DIR}/{assignment}.similarity.html")
    for m in result.get("library", []):
        if m["student"] == student:
            detail = ", ".join(f"{f['function']} {f['shares'][0]:.0%}" for f in m["functions"])
            notes.append(f"copy detection: answers similar to the course library's ({detail}); "
                         f"see {REPORTS_DIR}/{assignment}.similarity.html")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="+")
    parser.add_argument("--course", default=".", help="course folder (default: current)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 1:
        parser.error("--threshold is a share between 0 and 1, e.g. 0.75")
    course = Path(args.course).resolve()
    for assignment in args.assignment:
        if args.json_only:  # the bounded child of run_bounded
            result = detect(course, assignment, args.threshold)
            _paths(course, assignment)["similarity_json"].write_text(
                json.dumps(result, indent=1), encoding="utf-8")
            continue
        for kind, path in write_reports(course, assignment, args.threshold).items():
            print(f"{assignment}: {kind:16s} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
