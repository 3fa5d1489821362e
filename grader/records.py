"""Where the grader writes what it found: the gradebook and one JSON file per notebook.

* Gradebook: a submission that needs a human look is *flagged* (formgrader lists flagged
  submissions), and the reasons go into the automatic comment of each code answer cell, so they
  show in formgrader and in the student's feedback.
* ``grading_reports/<assignment>/<student>/<notebook>.json`` (under the course root): the test
  results with their messages, notes, static-scan findings and sandbox statistics, read by
  :mod:`grader.report` for the class reports and by the CSV export.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

__all__ = ["REPORTS_DIR", "report_path", "write_report", "read_reports", "annotate_gradebook",
           "NOTE_PREFIX", "SHOWN_NOTES"]

REPORTS_DIR = "grading_reports"
NOTE_PREFIX = "Grading note: "
# Notes that go into the gradebook comments (so the export and the feedback show them) even when
# they do not flag the submission: which file was graded, and how it was found.
SHOWN_NOTES = ("renamed-notebook", "copy-graded", "archive-upload", "extra-notebook")


def report_path(root: str | Path, assignment: str, student: str, notebook: str) -> Path:
    return Path(root) / REPORTS_DIR / assignment / student / f"{notebook}.json"


def write_report(root: str | Path, report: dict) -> Path:
    """Write atomically (parallel graders never see half a file)."""
    path = report_path(root, report["assignment"], report["student"], report["notebook"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


def read_reports(root: str | Path, assignment: str) -> dict[str, list[dict]]:
    """``{student: [report per notebook]}`` for one assignment."""
    out: dict[str, list[dict]] = {}
    base = Path(root) / REPORTS_DIR / assignment
    if not base.is_dir():
        return out
    for path in sorted(base.glob("*/*.json")):
        try:
            out.setdefault(path.parent.name, []).append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    return out


def annotate_gradebook(db_url: str, assignment: str, notebook: str, student: str,
                       messages: list[str], flag: bool, zero: bool = False) -> None:
    """Flag the submission and put ``messages`` into the answer cells' automatic comments.

    ``zero`` also sets every autograded score to 0 (a submission with nothing to grade).
    """
    text = "\n".join(NOTE_PREFIX + m for m in messages)
    with Gradebook(db_url) as gb:
        try:
            nb = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return
        nb.flagged = bool(flag)
        if zero:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        for comment in nb.comments:
            try:
                source = gb.find_source_cell(comment.cell.name, notebook, assignment)
            except MissingEntry:
                continue
            if source.cell_type != "code":
                continue
            kept = [ln for ln in (comment.auto_comment or "").splitlines()
                    if not ln.startswith(NOTE_PREFIX)]
            comment.auto_comment = "\n".join(kept + ([text] if text else [])) or None
        gb.db.commit()
