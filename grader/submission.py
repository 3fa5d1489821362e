"""Reading a submitted notebook against the instructor's copy.

Students can delete, copy, split or rename cells and edit cell metadata; what counts is decided
here, the same way for everyone:

* The notebook that gets graded has exactly the instructor's structure (``solutions/<id>``):
  every test cell, locked cell and instruction from the instructor's copy, once, in order.
* Into it go the student's **answer cells**. An answer cell is found by its nbgrader id; if no
  cell carries the id (metadata edited or removed, cell re-created), by the functions it defines
  (``def huber_loss``) among cells that carry no instructor id. Several cells with the same id are
  run in notebook order, like *Run All* would. Code in any other cell is not graded: extra cells
  cannot redefine an answer.
* Written answers (markdown answer cells) are found by id.

Every deviation is recorded as a :class:`Note` (deleted, duplicated, edited or renamed test cells,
edited metadata, answers found by name, extra cells defining graded functions), which the grader
shows to the instructor and in the student's feedback.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import asdict, dataclass, field

import nbformat

from lossutils.assignments import _grading

from .safety import one_line, safe_markdown

__all__ = ["Note", "Layout", "layout", "rebuild", "defined_names", "bound_names",
           "strip_hidden_tests", "answer_code", "MAGIC_CALL", "MAX_WRITTEN_CHARS"]

# Name bound in the sandbox to a no-op; IPython magics in answer cells become calls of it.
MAGIC_CALL = "__lossgrade_magic__"
MAX_WRITTEN_CHARS = 20_000  # a written answer of three to five sentences is under 2,000
_NOT_PYTHON_MAGICS = {"bash", "sh", "script", "html", "HTML", "javascript", "js", "latex",
                      "markdown", "svg", "perl", "ruby", "writefile", "file", "system", "sx"}


@dataclass
class Note:
    """One thing the instructor should know about a submission. ``review`` notes flag the
    submission in the gradebook; the others are only reported."""

    code: str
    message: str
    review: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Layout:
    """Roles of the cells of an instructor notebook (indices into ``nb.cells``)."""

    answers: list[int] = field(default_factory=list)  # code answer cells (solution, not grade)
    written: list[int] = field(default_factory=list)  # markdown answer cells
    tests: list[int] = field(default_factory=list)  # autograded test cells (grade, not solution)
    other_code: list[int] = field(default_factory=list)  # every other code cell
    graded_names: list[str] = field(default_factory=list)  # functions the answer cells define


def _meta(cell) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    gid = _meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def _source(cell) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def defined_names(source: str) -> list[str]:
    """Top-level functions a cell defines (falls back to a regex when it does not parse)."""
    try:
        tree = ast.parse(answer_code(source)[0])
    except SyntaxError:
        return re.findall(r"(?m)^def[ \t]+([A-Za-z_]\w*)[ \t]*\(", source)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def parameters(source: str) -> dict[str, list[str]]:
    """Parameter names of the functions a cell defines (the instructor's answer cells), so that
    messages can name the arguments a check passed (``pred=..., target=...``)."""
    try:
        tree = ast.parse(answer_code(source)[0])
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            out[node.name] = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    return out


def bound_names(source: str) -> list[str]:
    """Names a cell binds at its top level, however it binds them (``def``, assignment, a
    lambda, ``globals()[...] = ...``...: :func:`lossutils.assignments._grading.bound_names`,
    the rule the students' checks use too), after IPython magics are removed."""
    try:
        code = answer_code(source)[0]
    except (ValueError, RecursionError, MemoryError):
        return defined_names(source)
    return _grading.bound_names(code) or defined_names(source)


def layout(nb) -> Layout:
    """Classify the cells of an instructor (or already rebuilt) notebook."""
    out = Layout()
    for i, cell in enumerate(nb.cells):
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            out.answers.append(i)
            out.graded_names += [n for n in defined_names(_source(cell))
                                 if n not in out.graded_names]
        elif cell.cell_type == "markdown" and meta.get("solution"):
            out.written.append(i)
        elif cell.cell_type == "code" and meta.get("grade"):
            out.tests.append(i)
        elif cell.cell_type == "code":
            out.other_code.append(i)
    return out


def _bound_names(source: str) -> list[str] | None:
    """Names a cell binds if it only defines things, else None
    (:func:`lossutils.assignments._grading.definitions_only`, shared with the students' checks)."""
    try:
        return _grading.definitions_only(answer_code(source)[0])
    except (ValueError, RecursionError, MemoryError):
        return None


def helper_cells(submitted, master) -> list[dict]:
    """Cells a student added for helpers, run in the sandbox before the answer they precede.

    A cell qualifies if it carries no nbgrader id, only defines things (:func:`_bound_names`),
    binds none of the graded names and comes before the student's last answer cell: what Run
    All would have defined by the time the answers run. Scratch cells that compute or print,
    cells after the answers, and cells redefining a graded function are not run. Returns
    ``{"cell": number in the submitted notebook (from 1), "before": answer id, "source",
    "defines": [names]}`` in notebook order.
    """
    lay = layout(master)
    by_name = {name: _grade_id(master.cells[i]) for i in lay.answers
               for name in defined_names(_source(master.cells[i]))}
    instructor = {_source(c).strip() for c in master.cells}
    cells = [c for c in (submitted.get("cells", []) or []) if isinstance(c, dict)]
    answers_at = []  # (index, answer id) of the student's answer cells, in notebook order
    for j, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid in by_name.values():
            answers_at.append((j, gid))
        elif gid is None:
            owners = [by_name[n] for n in bound_names(_source(cell)) if n in by_name]
            if owners:
                answers_at.append((j, owners[0]))
    helpers = []
    for j, cell in enumerate(cells):
        if (cell.get("cell_type") != "code" or _grade_id(cell) is not None
                or _source(cell).strip() in instructor):
            continue
        names = _bound_names(_source(cell))
        later = [gid for k, gid in answers_at if k > j]
        if not later or not names or set(names) & set(lay.graded_names):
            continue
        before = later[0]
        helpers.append({"cell": j + 1, "before": before, "source": _source(cell),
                        "defines": names})
    return helpers


def instructor_answers(nb) -> dict[str, str]:
    """The instructor's answers of a ``solutions/<id>`` notebook by answer-cell id, without the
    ``BEGIN SOLUTION`` / ``END SOLUTION`` marker lines: what a student who got everything right
    would have typed (the honest submissions of the tests and the grading benchmark)."""
    answers = {}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid and _meta(cell).get("solution"):
            answers[gid] = "\n".join(
                line for line in _source(cell).splitlines()
                if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line) + "\n"
    return answers


def strip_hidden_tests(source: str, replacement: str = "") -> str:
    """``source`` with every ``BEGIN HIDDEN TESTS`` ... ``END HIDDEN TESTS`` region replaced by
    ``replacement`` (an unclosed region runs to the end): one pass over the lines."""
    out, hidden = [], False
    for line in source.splitlines(keepends=True):
        marker = line.strip().lstrip("#").strip()
        if not hidden and marker.startswith("BEGIN HIDDEN TESTS"):
            hidden = True
            out.append(replacement)
        elif hidden and marker.startswith("END HIDDEN TESTS"):
            hidden = False
        elif not hidden:
            out.append(line)
    return "".join(out)


def answer_code(source: str) -> tuple[str, list[str]]:
    """Python for the sandbox: IPython magics become no-op calls; non-Python cell magics
    (``%%bash``, ``%%writefile``...) drop the cell. Returns the code and what was changed."""
    changes: list[str] = []
    first, _, body = source.partition("\n")
    if first.lstrip().startswith("%%"):
        name = first.lstrip()[2:].split(maxsplit=1)[0] if first.strip() != "%%" else ""
        if name in _NOT_PYTHON_MAGICS or not name:
            return "", [f"cell magic %%{name}: the cell is not Python and was not run"]
        changes.append(f"cell magic %%{name} ignored")
        source = body
    # [ \t] and not \s: \s also matches newlines, which makes the search quadratic in the
    # number of blank lines
    if not re.search(r"(?m)^[ \t]*[%!]|\?[ \t]*$", source):
        return source, changes
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave the source as it is; it may fail to compile
        return source, changes
    code, n = re.subn(r"get_ipython\(\)\.(run_line_magic|run_cell_magic|system|getoutput|"
                      r"run_line_magic|set_next_input|magic)\(", MAGIC_CALL + "(", code)
    if n:
        changes.append(f"{n} IPython magic line(s) ignored")
    return code, changes


def _same_test(student_src: str, master_src: str) -> bool:
    return student_src.strip() == strip_hidden_tests(master_src).strip() or (
        student_src.strip() == master_src.strip())


def rebuild(submitted, master) -> tuple[nbformat.NotebookNode, list[Note]]:
    """The notebook to grade: the instructor's cells with the student's answers put in.

    ``submitted`` may be any notebook node (even one with no cells); ``master`` is the
    instructor's notebook. Returns the new notebook and the notes about the submission.
    """
    notes: list[Note] = []
    lay = layout(master)
    master_ids = {_grade_id(master.cells[i]): i for i in range(len(master.cells))
                  if _grade_id(master.cells[i])}
    cells = list(submitted.get("cells", []) or [])
    by_id: dict[str, list[int]] = {}
    for j, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid is not None:
            by_id.setdefault(gid, []).append(j)
    used: set[int] = set()

    out = copy.deepcopy(master)
    for i in lay.answers:
        mcell = master.cells[i]
        gid = _grade_id(mcell)
        names = defined_names(_source(mcell))
        found = by_id.get(gid, [])
        if not found:
            found = [j for j, c in enumerate(cells) if j not in used
                     and (_grade_id(c) is None or _grade_id(c) not in master_ids)
                     and set(bound_names(_source(c))) & set(names)]
            if found:
                notes.append(Note("answer-found-by-name",
                                  f"the answer cell '{gid}' had lost its nbgrader id; the cell(s) "
                                  f"defining {', '.join(names)} were graded instead", review=True))
        if len(found) > 1:
            notes.append(Note("answer-duplicated",
                              f"{len(found)} cells hold the answer '{gid}'; they were run in "
                              "notebook order (the last definition wins, as in Run All)"))
        for j in found:
            meta = _meta(cells[j])
            if cells[j].get("cell_type") != "code":
                notes.append(Note("answer-cell-type", f"the answer cell '{gid}' was turned into "
                                  f"a {cells[j].get('cell_type')} cell; its text was run as code",
                                  review=True))
            elif meta and (not meta.get("solution") or meta.get("grade") or meta.get("locked")):
                notes.append(Note("answer-metadata", f"the nbgrader metadata of the answer cell "
                                  f"'{gid}' was edited; it was graded as an answer cell"))
        used.update(found)
        new = out.cells[i]
        new.outputs, new.execution_count = [], None
        if found:
            new.source = "\n\n".join(_source(cells[j]) for j in found)
        else:
            new.source = ("# No answer cell was found in the submitted notebook.\n")
            notes.append(Note("answer-missing", f"no answer cell '{gid}' (defining "
                              f"{', '.join(names)}) was found: graded as unanswered",
                              review=True))

    for i in lay.written:
        gid = _grade_id(master.cells[i])
        found = [j for j in by_id.get(gid, [])]
        used.update(found)
        if found:
            # Shown to the instructor in formgrader and to the student in the feedback: the
            # student's words and maths, never their HTML (safety.safe_markdown).
            text = "\n\n".join(_source(cells[j]) for j in found)
            if len(text) > MAX_WRITTEN_CHARS:
                notes.append(Note("written-long", f"the written answer '{gid}' has "
                                  f"{len(text):,} characters; the first {MAX_WRITTEN_CHARS:,} "
                                  "are shown", review=True))
                text = text[:MAX_WRITTEN_CHARS] + "\n\n*(cut here)*"
            out.cells[i].source = safe_markdown(text)
            if len(found) > 1:
                notes.append(Note("written-duplicated", f"{len(found)} cells hold the written "
                                  f"answer '{gid}'; all of them are shown to the grader"))
        else:
            out.cells[i].source = "*(No written answer was found in the submitted notebook.)*"
            notes.append(Note("written-missing", f"no written-answer cell '{gid}' was found",
                              review=True))

    for i in lay.tests:
        mcell = master.cells[i]
        gid = _grade_id(mcell)
        found = by_id.get(gid, [])
        used.update(found)
        if not found:
            notes.append(Note("test-deleted", f"the test cell '{gid}' was missing; the "
                              "instructor's copy was used"))
            continue
        if len(found) > 1:
            notes.append(Note("test-duplicated", f"the test cell '{gid}' appears {len(found)} "
                              "times; the instructor's copy was used once"))
        if any(not _same_test(_source(cells[j]), _source(mcell)) for j in found):
            notes.append(Note("test-edited", f"the test cell '{gid}' was edited; the "
                              "instructor's copy was used"))
        if any(_meta(cells[j]).get("points") not in (None, _meta(mcell).get("points"))
               for j in found):
            notes.append(Note("test-metadata", f"the points of the test cell '{gid}' were "
                              "edited; the instructor's points were used", review=True))

    for j, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid is not None and gid not in master_ids:
            notes.append(Note("unknown-cell-id", f"a cell carries the unknown id "
                              f"'{one_line(gid, 80)}' (a renamed cell?); it was not graded",
                              review=True))
        if j in used or cell.get("cell_type") != "code":
            continue
        clash = sorted(set(bound_names(_source(cell))) & set(lay.graded_names))
        if clash:
            notes.append(Note("extra-definition", f"cell {j + 1} is not an answer cell but "
                              f"defines {', '.join(clash)}; only answer cells are graded",
                              review=True))
    return out, notes
