"""Submissions nbgrader would skip: renamed notebooks and empty submission folders.

nbgrader only grades ``submitted/<student>/<assignment>/<notebook>.ipynb`` for notebook names it
knows. :func:`pre_convert_hook` (``Autograde.pre_convert_hook``) runs before each student is
graded and

* maps a notebook submitted under another name (``huber-Copy1.ipynb``, ``huber (1).ipynb``,
  ``Untitled.ipynb``) back to the expected name, without touching the submitted files: the
  expected path is added to nbgrader's list and :class:`~.nbgrader_plugin.TolerantExporter` reads
  the actual file instead (:data:`REDIRECTS`). One candidate is mapped silently (with a note);
  several are resolved by name, then by the newest file, and the submission is flagged;
* once per run, records every matching submission folder that holds no notebook at all: a
  gradebook row with 0 points, flagged, with the reason in the comments, and a JSON report.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from . import records

__all__ = ["REDIRECTS", "REDIRECT_NOTES", "pre_convert_hook", "choose_notebook",
           "record_empty_submissions", "course_directory"]

REDIRECTS: dict[str, str] = {}  # expected notebook path -> the file actually submitted
REDIRECT_NOTES: dict[str, dict] = {}
_scanned: set[tuple[str, str, str]] = set()
_COPY_SUFFIX = re.compile(r"(?i)([-_ ]?copy\d*|\s*\(\d+\)|[-_ ](final|v\d+|submission|done|"
                          r"new|old|\d+)|-checkpoint)$")


def course_directory() -> CourseDirectory:
    """The running nbgrader application's CourseDirectory settings (root: working directory,
    which nbgrader sets to the course root while converting)."""
    from traitlets.config import Application
    from traitlets.config.loader import PyFileConfigLoader

    if Application.initialized():
        config = Application.instance().config
    elif os.path.isfile("nbgrader_config.py"):
        config = PyFileConfigLoader("nbgrader_config.py", path=os.getcwd()).load_config()
    else:
        config = None
    return CourseDirectory(config=config)


def _normalise(stem: str) -> str:
    stem = stem.strip().lower()
    stem = re.sub(r"^copy of\s+", "", stem)
    previous = None
    while previous != stem:
        previous, stem = stem, _COPY_SUFFIX.sub("", stem).strip()
    return stem


def choose_notebook(expected: str, candidates: list[str], only_missing: bool
                    ) -> tuple[str | None, str, bool]:
    """Which submitted file to grade as ``expected``; returns (path, detail, ambiguous)."""
    named = [c for c in candidates if _normalise(Path(c).stem) == expected.lower()]
    pool = named or (candidates if only_missing else [])
    if not pool:
        return None, "", False
    if len(pool) == 1:
        return pool[0], "", False
    newest = max(pool, key=lambda p: (os.path.getmtime(p), p))
    others = ", ".join(sorted(Path(p).name for p in pool if p != newest))
    return newest, f"; it was the newest of several candidates (also: {others})", True


def _map_renamed(notebooks: list[str], cd: CourseDirectory) -> None:
    folder = Path(notebooks[0]).parent
    assignment = folder.name
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    masters = sorted(p.stem for p in source.glob("*.ipynb"))
    present = {Path(p).stem: p for p in notebooks}
    unknown = sorted(p for stem, p in present.items() if stem not in masters)
    missing = [m for m in masters if m not in present]
    for name in missing:
        pick, detail, ambiguous = choose_notebook(name, unknown, only_missing=len(missing) == 1)
        if pick is None:
            continue
        expected = os.path.abspath(folder / f"{name}.ipynb")
        REDIRECTS[expected] = os.path.abspath(pick)
        REDIRECT_NOTES[expected] = {"detail": detail, "ambiguous": ambiguous}
        notebooks.append(expected)
        unknown.remove(pick)


def record_empty_submissions(cd: CourseDirectory, assignment_glob: str, student_glob: str
                             ) -> list[tuple[str, str]]:
    """Gradebook rows (0 points, flagged, with the reason) for folders without a notebook."""
    done = []
    pattern = cd.format_path(cd.submitted_directory, student_glob, assignment_glob)
    for folder in sorted(glob.glob(pattern)):
        path = Path(folder)
        if not path.is_dir() or any(path.glob("*.ipynb")):
            continue
        assignment, student = path.name, path.parent.name
        files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()
                       and p.name != "timestamp.txt")
        with Gradebook(cd.db_url) as gb:
            try:
                notebooks = [n.name for n in gb.find_assignment(assignment).notebooks]
            except MissingEntry:
                continue
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
        reason = (f"empty submission: the folder {cd.submitted_directory}/{student}/{assignment}/ "
                  "holds no notebook" + (f" (files: {', '.join(files)[:300]})" if files else ""))
        for nb in notebooks:
            records.annotate_gradebook(cd.db_url, assignment, nb, student, [reason], flag=True,
                                       zero=True)
            records.write_report(cd.root, {
                "student": student, "assignment": assignment, "notebook": nb,
                "status": "empty", "autograded_score": 0.0, "autograded_max": None,
                "needs_review": True, "review_reasons": [reason], "tests": [], "notes": [
                    {"code": "empty", "message": reason, "review": True}], "scan": []})
        done.append((student, assignment))
    return done


def pre_convert_hook(assignment: str = "*", student: str = "*", notebooks: list | None = None,
                     **_: object) -> None:
    """nbgrader's ``pre_convert_hook``: called before each student's assignment is graded."""
    cd = course_directory()
    if notebooks:
        _map_renamed(notebooks, cd)
    key = (cd.root, assignment or "*", student or "*")
    if key not in _scanned:
        _scanned.add(key)
        record_empty_submissions(cd, assignment or "*", student or "*")
