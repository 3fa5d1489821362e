"""nbgrader 0.9.6 plug-ins that make plain ``nbgrader autograde <id>`` grade securely.

Installed by the course's ``nbgrader_config.py`` (section "secure grading"):

* :class:`TolerantExporter` (``Autograde.exporter_class``): a notebook file that is not valid
  JSON, is empty, or was submitted under another name (see :mod:`.intake`) is still read; the
  reason travels in the notebook's metadata and ends up in the gradebook.
* :class:`RepairSubmission` (first sanitize preprocessor): rebuilds the notebook from the
  instructor's copy with the student's answer cells (:mod:`.submission`), and runs the static
  scan (:mod:`.scan`).
* :class:`SecureExecute` (replaces nbgrader's ``Execute``; no Jupyter kernel): runs the answer
  cells in the sandbox (:mod:`.sandbox`) and the instructor's test cells in this process
  (:mod:`.testrun`); writes outputs nbgrader scores as usual and a grading report cell on top.
* :class:`RecordGrading` (last autograde preprocessor): flags the submission and writes the
  notes into the gradebook, and the per-notebook JSON report (:mod:`.records`).
* :class:`StripHiddenTests` (``GenerateFeedback.preprocessors``): feedback shows no hidden-test
  source.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, List, Unicode

from . import intake, records, safety, scan, submission, testrun
from .sandbox import Limits, Sandbox

__all__ = ["TolerantExporter", "RepairSubmission", "SecureExecute", "RecordGrading",
           "StripHiddenTests", "derive_seed", "coursedir_of"]

META = "lossgrade"


def coursedir_of(obj) -> CourseDirectory:
    """The converter's CourseDirectory, found through the traitlets parents (preprocessor ->
    exporter -> converter); a default one rooted at the working directory otherwise."""
    seen = obj
    while seen is not None:
        cd = getattr(seen, "coursedir", None)
        if isinstance(cd, CourseDirectory):
            return cd
        seen = getattr(seen, "parent", None)
    return CourseDirectory(config=getattr(obj, "config", None))


def derive_seed(student: str, assignment: str, notebook: str, answers: list) -> int:
    """Seed for the hidden tests' random inputs: fixed by the submission, so grading twice
    gives the same grade, and different between students."""
    h = hashlib.sha256()
    for part in (student, assignment, notebook, *(f"{n}\0{s}" for n, s in answers)):
        h.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return int.from_bytes(h.digest()[:8], "little") >> 1


# Limits on what is read from one submitted notebook (see book/appendix_instructors.md): each
# turns an oversized submission into a flagged row with its reason, in linear time and bounded
# memory, instead of a stalled run or a grader process of gigabytes.
# The file's size and JSON shape: safety.MAX_NOTEBOOK_BYTES, MAX_JSON_DEPTH, MAX_JSON_CONTAINERS.
MAX_CELLS = 2_000
MAX_CELL_CHARS = 200_000  # one cell's source: the largest honest answer is a few thousand
MAX_SOURCE_CHARS = 2_000_000  # all cells' sources together


class TolerantExporter(NotebookExporter):
    """Reads any submitted file. An unreadable one becomes an empty notebook plus a reason; a
    readable one is reduced to clean cells (type, source, nbgrader metadata) so that malformed
    parts cannot break the rest of the pipeline. Submitted files are never read through a
    symbolic link or outside the submission folder (:func:`.safety.read_submitted_text`)."""

    def from_filename(self, filename, resources=None, **kw):
        sanitizing = getattr(self.parent, "_sanitizing", True)
        actual = intake.REDIRECTS.get(os.path.abspath(filename), filename)
        problem, nb, malformed = None, None, []
        folder = os.path.dirname(os.path.abspath(actual))
        if sanitizing:  # links are refused from the submission root down (student folders too)
            cd = coursedir_of(self)
            root = os.path.abspath(os.path.join(cd.root, cd.submitted_directory))
            if os.path.abspath(actual).startswith(root + os.sep):
                folder = root
        try:
            raw = safety.read_submitted_text(actual, folder, safety.MAX_NOTEBOOK_BYTES)
            if not raw.strip():
                problem = "the notebook file is empty (0 bytes of content)"
            else:
                problem = safety.json_shape_problem(raw, safety.MAX_JSON_DEPTH,
                                                     safety.MAX_JSON_CONTAINERS)
                if problem is None and not sanitizing:  # the grader's own intermediate file
                    nb = nbformat.reads(raw, as_version=4)
                elif problem is None:
                    nb, problem, complaint = _parse(raw)
                    malformed += [complaint] if complaint else []
                del raw
        except safety.SubmittedFileError as exc:
            problem = f"the notebook file was not read: {exc}"
        except UnicodeDecodeError:
            problem = "the notebook file is not UTF-8 text"
        except OSError as exc:
            problem = f"the notebook file cannot be read ({type(exc).__name__}: {exc.strerror})"
        intake_meta = {}
        if problem is not None:
            nb = nbformat.v4.new_notebook()
            intake_meta["unreadable"] = problem
        elif sanitizing:
            # A submitted file: keep only what the grader reads, in a well-formed shape; never
            # the grader's own metadata keys coming from a student.
            total = len(nb.get("cells") or [])
            nb, limits = _clean_submission(nb)
            if malformed or len(nb.cells) + len(limits) < total:
                odd = "; ".join(malformed) or "cells of unknown shape"
                intake_meta["malformed"] = (f"the notebook has malformed parts ({odd}); "
                                            f"{len(nb.cells)} of its {total} cells could be read")
            if limits:
                intake_meta["oversized"] = "; ".join(limits)
        if actual != filename:
            intake_meta["renamed_from"] = os.path.basename(actual)
        intake_meta.update(intake.REDIRECT_NOTES.get(os.path.abspath(filename), {}))
        if intake_meta:
            nb.metadata[META + "_intake"] = intake_meta
        if resources is None:
            resources = {}
        resources.setdefault("metadata", {})
        path, base = os.path.split(filename)
        resources["metadata"].update({"name": os.path.splitext(base)[0], "path": path})
        return self.from_notebook_node(nb, resources, **kw)


def _parse(raw: str) -> tuple[dict | None, str | None, str]:
    """(notebook, reason it is unreadable, what was odd about it). Plain JSON first (a current
    notebook needs nothing more, and nbformat's schema validation costs time and memory on big
    files); nbformat for older formats, which it upgrades."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return None, f"the notebook file is not valid JSON ({safety.one_line(exc, 200)})", ""
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        if isinstance(data, dict) and data.get("nbformat") in (1, 2, 3):
            try:
                return nbformat.reads(raw, as_version=4), None, "an older notebook format"
            except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on bad input
                return None, (f"the notebook file is in an old format that cannot be "
                              f"converted ({safety.one_line(exc, 200)})"), ""
        return None, "the file is JSON but not a notebook (no list of cells)", ""
    complaint = "" if data.get("nbformat") == 4 else "not nbformat 4"
    return data, None, complaint


def _clean_submission(nb) -> tuple[nbformat.NotebookNode, list[str]]:
    """Cells with a string type and source and, if present, a dict of nbgrader metadata; and
    what the size limits left out (too many cells, cells too large to read)."""
    clean = nbformat.v4.new_notebook()
    limits: list[str] = []
    total = 0
    cells = nb.get("cells") or []
    if len(cells) > MAX_CELLS:
        limits.append(f"the notebook has {len(cells)} cells; only the first {MAX_CELLS} were "
                      "read")
    for k, cell in enumerate(cells[:MAX_CELLS]):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(x for x in source if isinstance(x, str))
        if kind not in ("code", "markdown", "raw") or not isinstance(source, str):
            continue
        if len(source) > MAX_CELL_CHARS or total + len(source) > MAX_SOURCE_CHARS:
            limits.append(f"cell {k + 1} holds {len(source):,} characters and was not read "
                          f"(limits: {MAX_CELL_CHARS:,} per cell, {MAX_SOURCE_CHARS:,} for the "
                          "notebook)")
            source = f"# (cell {k + 1} was not read: {len(source):,} characters)\n"
        total += len(source)
        new = (nbformat.v4.new_code_cell if kind == "code" else
               nbformat.v4.new_markdown_cell if kind == "markdown" else
               nbformat.v4.new_raw_cell)(source)
        new.id = f"submitted-{k}"
        meta = cell.get("metadata")
        grader = meta.get("nbgrader") if isinstance(meta, dict) else None
        if isinstance(grader, dict):
            new.metadata["nbgrader"] = {key: value for key, value in list(grader.items())[:20]
                                        if isinstance(key, str) and isinstance(
                                            value, str | bool | int | float | type(None))}
        clean.cells.append(new)
    return clean, limits


def _master_path(pp, resources) -> Path:
    cd = coursedir_of(pp)
    info = resources["nbgrader"]
    folder = cd.format_path(cd.source_directory, ".", info["assignment"])
    return Path(folder) / f"{info['notebook']}.ipynb"


_MASTERS: dict[tuple[str, float], nbformat.NotebookNode] = {}


def _read_master(path: Path) -> nbformat.NotebookNode:
    """The instructor's notebook, parsed once per grader process (and again if it changes)."""
    key = (str(path), path.stat().st_mtime)
    if key not in _MASTERS:
        _MASTERS[key] = nbformat.read(path, as_version=4)
    return copy.deepcopy(_MASTERS[key])


class RepairSubmission(NbGraderPreprocessor):
    """The instructor's notebook with the student's answers put in (see :mod:`.submission`)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        master = _read_master(_master_path(self, resources))
        intake_meta = dict(nb.metadata.get(META + "_intake", {}))
        notes = []
        if intake_meta.get("unreadable"):
            notes.append(submission.Note("unreadable", intake_meta["unreadable"] + ": graded as "
                                         "unanswered; open the file to recover the answers",
                                         review=True))
        if intake_meta.get("malformed"):
            notes.append(submission.Note("malformed", intake_meta["malformed"], review=True))
        if intake_meta.get("oversized"):
            notes.append(submission.Note("oversized", intake_meta["oversized"], review=True))
        if intake_meta.get("message"):
            notes.append(submission.Note(intake_meta.get("code", "renamed-notebook"),
                                         safety.one_line(intake_meta["message"], 400),
                                         review=bool(intake_meta.get("ambiguous"))))
        elif intake_meta.get("renamed_from"):
            notes.append(submission.Note("renamed-notebook", f"the notebook was submitted as "
                                         f"'{safety.one_line(intake_meta['renamed_from'])}' "
                                         "and graded as "
                                         f"'{info['notebook']}.ipynb'"
                                         + intake_meta.get("detail", ""),
                                         review=bool(intake_meta.get("ambiguous"))))
        rebuilt, more = submission.rebuild(nb, master)
        notes += more
        helpers = submission.helper_cells(nb, master)
        for h in helpers:
            notes.append(submission.Note("helper-cell", f"cell {h['cell']} is not an answer cell "
                                         f"but only defines {', '.join(h['defines'][:6])}; it was "
                                         f"run before the answer cell '{h['before']}'"))
        lay = submission.layout(master)
        ids = {c.metadata.nbgrader.grade_id for c in master.cells
               if c.metadata.get("nbgrader", {}).get("grade_id")}
        answer_ids = {master.cells[i].metadata.nbgrader.grade_id for i in lay.answers}
        given = frozenset(c.source.strip() for i, c in enumerate(master.cells)
                          if c.cell_type == "code" and i not in lay.answers)
        findings = scan.scan_notebook(nb, answer_ids, ids - answer_ids, given)
        cd = coursedir_of(self)
        folder = Path(cd.format_path(cd.submitted_directory, info["student"], info["assignment"]))
        masters = {p.name for p in _master_path(self, resources).parent.glob("*.ipynb")}
        findings += scan.scan_files(folder, masters | {intake_meta.get("renamed_from", "")})
        params = {}
        for i in lay.answers:
            params.update(submission.parameters(master.cells[i].source))
        rebuilt.metadata[META] = {"notes": [n.as_dict() for n in notes],
                                  # what the tests call: the instructor's functions, however
                                  # the student's answer cells bind them
                                  "graded_names": lay.graded_names, "parameters": params,
                                  "scan": [f.as_dict() for f in findings],
                                  "empty": bool(intake_meta.get("unreadable")),
                                  "helpers": [{k: h[k] for k in ("cell", "before", "source")}
                                              for h in helpers]}
        return rebuilt, resources


class SecureExecute(NbGraderPreprocessor):
    """Grades without a Jupyter kernel: answer cells in the sandbox, tests in this process."""

    call_timeout = Float(10.0, help="Seconds one call of a student function may take.").tag(
        config=True)
    cell_timeout = Float(60.0, help="Seconds one test cell may take in total.").tag(config=True)
    notebook_timeout = Float(300.0, help="Seconds of student code per notebook.").tag(config=True)
    setup_timeout = Float(30.0, help="Seconds to start the sandbox and run the answer cells."
                          ).tag(config=True)
    memory_limit_mb = Integer(2048, help="Address-space limit of the sandbox (MiB).").tag(
        config=True)
    max_restarts = Integer(6, help="Sandbox restarts after crashes or time-outs.").tag(
        config=True)
    run_display_cells = Bool(False, help=(
        "Also run the instructor's ungraded code cells (demonstrations, plots of the experiment) "
        "so that their output appears in the feedback. Off by default: they cost as much as an "
        "experiment test and grade nothing.")).tag(config=True)

    def limits(self) -> Limits:
        return Limits(call_seconds=self.call_timeout, setup_seconds=self.setup_timeout,
                      notebook_seconds=self.notebook_timeout, memory_mb=self.memory_limit_mb,
                      max_restarts=self.max_restarts)

    def preprocess(self, nb, resources):
        t0 = time.monotonic()
        info = resources["nbgrader"]
        lay = submission.layout(nb)
        helpers = nb.metadata.get(META, {}).get("helpers", [])
        answers, changes, report_of = [], [], []  # report_of[k]: answer k's place in `answers`
        for i in lay.answers:
            gid = nb.cells[i].metadata.nbgrader.grade_id
            for h in helpers:  # the student's own helper cells, where Run All would run them
                if h["before"] == gid:
                    answers.append((f"helper cell {h['cell']}",
                                    submission.answer_code(h["source"])[0]))
            code, changed = submission.answer_code(nb.cells[i].source)
            report_of.append(len(answers))
            answers.append((gid, code))
            changes += [f"answer cell '{gid}': {c}" for c in changed]
        seed = derive_seed(info["student"], info["assignment"], info["notebook"], answers)
        meta = nb.metadata.get(META, {})
        names = meta.get("graded_names") or lay.graded_names
        params = meta.get("parameters", {})
        tests, events = [], []
        with Sandbox(answers, seed, self.limits()) as box:
            try:
                setup = box.start()
                problem = None
            except Exception as exc:  # noqa: BLE001 - every test then fails with this reason
                setup, problem = None, str(exc) or type(exc).__name__
            self._answer_outputs(nb, lay, setup, problem, report_of)
            display_ns: dict = {}
            for i, cell in enumerate(nb.cells):
                if i in lay.tests:
                    gid = cell.metadata.nbgrader.grade_id
                    res = testrun.run_cell(cell.source, f"<test cell {gid}>", {}, names, box,
                                           self.cell_timeout, seed, params)
                elif i in lay.other_code and self.run_display_cells:
                    res = testrun.run_cell(cell.source, f"<cell {i + 1}>", display_ns, names,
                                           box, self.cell_timeout, seed, params)
                elif i in lay.other_code:
                    cell.outputs = [new_output("stream", name="stdout", text=_NOT_RUN)]
                    continue
                else:
                    continue
                cell.outputs = res.outputs
                events += res.events
                if i in lay.tests:
                    tests.append(self._test_record(cell, res))
            stats = box.stats
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
        meta = nb.metadata.setdefault(META, {})
        notes = [submission.Note(**n) for n in meta.get("notes", [])]
        for c in changes:
            notes.append(submission.Note("magic", c))
        if problem:
            notes.append(submission.Note("answers-not-run", problem, review=True))
        for rep in (setup or {}).get("cells", []):
            if rep["error"]:
                e = rep["error"]
                blocked = bool(testrun.BLOCKED.search(e["message"]))
                where = (rep["name"] if rep["name"].startswith("helper cell ")
                         else f"answer cell '{rep['name']}'")
                notes.append(submission.Note("answer-error", f"{where} "
                                             f"raised {e['type']}: {e['message'][:300]}",
                                             review=blocked))
        blocked = [e for e in events if "MemoryError" in e or testrun.BLOCKED.search(e)
                   or ": protocol:" in e]
        if blocked:
            notes.append(submission.Note("blocked", f"{len(blocked)} call(s) failed on something "
                                         f"the grader does not allow or on the memory limit "
                                         f"(first: {blocked[0][:300]})", review=True))
        if stats.timeouts or stats.crashes:
            notes.append(submission.Note("limits", f"{stats.timeouts} call(s) exceeded a time "
                                         f"limit and the sandbox crashed {stats.crashes} "
                                         "time(s); see the test messages", review=True))
        nb.cells.insert(0, _summary_cell(tests, notes))
        resources[META] = {
            "seed": seed, "tests": tests, "notes": [n.as_dict() for n in notes],
            "scan": meta.get("scan", []), "empty": meta.get("empty", False),
            "sandbox": {"protections": (setup or {}).get("protections"), "starts": stats.starts,
                        "calls": stats.calls, "timeouts": stats.timeouts,
                        "crashes": stats.crashes, "seconds": round(stats.seconds, 3),
                        "events": (stats.events + events)[:50]},
            "seconds": round(time.monotonic() - t0, 3),
        }
        meta["notes"] = resources[META]["notes"]
        meta.pop("scan", None)
        return nb, resources

    def _answer_outputs(self, nb, lay, setup, problem, report_of):
        reports = (setup or {}).get("cells", [])
        for k, i in enumerate(lay.answers):
            cell = nb.cells[i]
            cell.outputs = []
            rep = reports[report_of[k]] if report_of[k] < len(reports) else None
            if rep and rep["output"]:
                cell.outputs.append(new_output("stream", name="stdout", text=rep["output"]))
            if problem:
                cell.outputs.append(testrun.error_output("GradingError", problem))
            elif rep and rep["error"]:
                e = rep["error"]
                where = f" (line {e['where'][1]})" if e["where"] else ""
                ename = testrun.safe_name(e["type"])  # a student can name a class anything
                cell.outputs.append(testrun.error_output(ename, e["message"] + where))

    @staticmethod
    def _test_record(cell, res) -> dict:
        score, max_score = utils.determine_grade(cell)
        return {"grade_id": cell.metadata.nbgrader.grade_id,
                "description": testrun.describe_test(cell.source),
                "points": score, "max_points": max_score, "passed": res.passed,
                "error_type": res.error[0] if res.error else None,
                "message": res.error[1][:2000] if res.error else None,
                "seconds": round(res.seconds, 3)}


_NOT_RUN = "(not run while grading: this cell is not graded; the tests below check the same)\n"


def _text(value: object) -> str:
    """Text for the report's HTML: escaped, with ``$`` as an entity so that no maths renderer
    reads it, and no blank line (a blank line would end the HTML block in Markdown)."""
    text = html.escape(str(value)).replace("$", "&#36;")
    return _BLANK_LINES.sub("\n", text).strip("\n")


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_PRE = ('<pre style="white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.3em 0 0.6em">'
        "{}</pre>")


def _summary_cell(tests: list[dict], notes: list) -> nbformat.NotebookNode:
    """The *Grading report* cell at the top of the graded notebook (and of the feedback).

    It is one HTML block inside a Markdown cell: every message is escaped text (student text
    included: exception messages, file names, cell ids), so nothing in it can become markup, a
    link, a heading or maths; failure messages keep their short lines and wrap in their box.
    """
    items = []
    for t in tests:
        mark = "passed" if t["passed"] else "FAILED"
        item = (f"<li><b>{mark}</b> ({t['points']:g} / {t['max_points']:g} points): "
                f"{_text(safety.one_line(t['description'], 200))}")
        if not t["passed"]:
            message = f"{t['error_type'] or 'Error'}: {t['message'] or ''}"
            if len(message) > 1500:
                message = message[:1500] + " ..."
            item += _PRE.format(_text(message))
        items.append(item + "</li>")
    lines = ['<div class="lossgrade-report">', "<h2>Grading report</h2>",
             "<p>Your answer cells were run on their own, in a separate process; each test below "
             "called your functions there. One line per tested property:</p>",
             "<ul>", *items, "</ul>"]
    shown = [n for n in notes if n.code not in ("magic",)]
    if shown:
        lines += ["<p><b>Notes about this submission:</b></p>", "<ul>"]
        lines += [f"<li>{_text(safety.one_line(n.message, 600))}</li>" for n in shown]
        lines += ["</ul>"]
    lines.append("</div>")
    cell = new_markdown_cell("\n".join(lines))
    cell.metadata["lossgrade_report"] = True
    return cell


class RecordGrading(NbGraderPreprocessor):
    """Gradebook flag and comments, and the JSON report (after ``SaveAutoGrades``)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        data = resources.get(META)
        if data is None:
            return nb, resources
        cd = coursedir_of(self)
        review = [n["message"] for n in data["notes"] if n["review"]]
        high = [f for f in data["scan"] if f["severity"] == "high"]
        if high:
            review.append(f"the static scan found {len(high)} high-severity item(s) "
                          f"(first: {high[0]['message']} in {safety.one_line(high[0]['where'])})")
        # Notes the instructor sees in the export and the student in the feedback even when
        # nothing needs a look (which file was graded, what the intake did).
        shown = [n["message"] for n in data["notes"] if not n["review"]
                 and n["code"] in records.SHOWN_NOTES]
        records.annotate_gradebook(info["db_url"], info["assignment"], info["notebook"],
                                   info["student"], review + shown, flag=bool(review))
        score = sum(t["points"] or 0 for t in data["tests"])
        report = {"student": info["student"], "assignment": info["assignment"],
                  "notebook": info["notebook"],
                  "status": "unreadable" if data["empty"] else "graded",
                  "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                  "autograded_score": score,
                  "autograded_max": sum(t["max_points"] for t in data["tests"]),
                  "needs_review": bool(review), "review_reasons": review, **data}
        records.write_report(cd.root, report)
        return nb, resources


class StripHiddenTests(NbGraderPreprocessor):
    """Feedback: hidden-test regions are removed from the test cells' source, and the grader's
    notes in the comments are shown as plain text.

    Only the instructor's test cells are searched (students' cells hold no hidden tests, and
    their text can be arbitrarily long), line by line, so the cost is linear. The grader's notes
    (``Grading note:`` lines, which quote file names, cell ids and messages a student chose)
    become escaped text before nbconvert renders the comment as Markdown."""

    replacement = Unicode("# (hidden tests ran here; their result is shown below)\n").tag(
        config=True)
    # nbgrader's GenerateFeedback passes this option to every preprocessor it runs.
    display_data_priority = List(Unicode(), help="Unused; accepted because nbgrader's "
                                 "feedback step configures it for every preprocessor.").tag(
        config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if (cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")
                and "BEGIN HIDDEN TESTS" in cell.source):
            cell.source = submission.strip_hidden_tests(cell.source, self.replacement)
        comment = meta.get("comment")
        if isinstance(comment, str) and records.NOTE_PREFIX in comment:
            meta["comment"] = "\n\n".join(
                safety.safe_markdown(safety.one_line(line, 1000))
                if line.startswith(records.NOTE_PREFIX) else line
                for line in comment.splitlines())
        return cell, resources
