"""Submissions nbgrader would skip: renamed notebooks and empty submission folders.

nbgrader only grades ``submitted/<student>/<assignment>/<notebook>.ipynb`` for notebook names it
knows. :func:`pre_convert_hook` (``Autograde.pre_convert_hook``) runs before each student is
graded and

* maps a notebook submitted under another name (``huber-Copy1.ipynb``, ``huber (1).ipynb``,
  ``Untitled.ipynb``) back to the expected name, without touching the submitted files: the
  expected path is added to nbgrader's list and :class:`~.nbgrader_plugin.TolerantExporter` reads
  the actual file instead (:data:`REDIRECTS`). One candidate is mapped with a note; several are
  resolved by answers, name, then the newest file, and the submission is flagged. A copy that
  holds the answers beside an untouched ``huber.ipynb`` is graded instead of it;
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
from .safety import one_line

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


_ARCHIVE_PREFIX = re.compile(r"(?i)^.*?\.(zip|tar|tar\.gz|tgz)__")  # see exchange.SafeExtractor


def _normalise(stem: str) -> str:
    stem = _ARCHIVE_PREFIX.sub("", stem.strip()).lower()
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


def answers_of(path: str | Path, folder: str | Path) -> dict[str, str] | None:
    """The answer cells of a submitted notebook by nbgrader id (whitespace-normalised source),
    or None if the file cannot be read as a notebook. Read like the grader reads it: never
    through a link, with the same size and shape limits."""
    import json

    from . import safety

    try:
        raw = safety.read_submitted_text(path, folder, safety.MAX_NOTEBOOK_BYTES)
        if safety.json_shape_problem(raw, safety.MAX_JSON_DEPTH, safety.MAX_JSON_CONTAINERS):
            return None
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError, safety.SubmittedFileError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None
    answers = {}
    for cell in data["cells"]:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        grader = meta.get("nbgrader") if isinstance(meta, dict) else None
        if isinstance(grader, dict) and grader.get("solution") and isinstance(
                grader.get("grade_id"), str):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if isinstance(source, str):
                answers[grader["grade_id"]] = " ".join(source.split())
    return answers


def _release_answers(cd: CourseDirectory, assignment: str, notebook: str) -> dict[str, str]:
    """The released notebook's answer cells (the stubs a student starts from)."""
    path = Path(cd.format_path(cd.release_directory, ".", assignment)) / f"{notebook}.ipynb"
    return (answers_of(path, path.parent) or {}) if path.is_file() else {}


def _has_work(answers: dict[str, str] | None, stubs: dict[str, str]) -> bool:
    """Whether any answer cell differs from the released stub (or, without the release, no
    longer raises the stub's NotImplementedError)."""
    if not answers:
        return False
    if stubs:
        return any(answers.get(gid) != stub for gid, stub in stubs.items() if gid in answers)
    return any("NotImplementedError" not in a and "YOUR ANSWER HERE" not in a
               for a in answers.values())


def _redirect(expected: str, pick: str, notes: dict) -> None:
    REDIRECTS[os.path.abspath(expected)] = os.path.abspath(pick)
    REDIRECT_NOTES[os.path.abspath(expected)] = notes


def _map_renamed(notebooks: list[str], cd: CourseDirectory) -> None:
    """Decide, for every notebook of the assignment, which submitted file is graded as it.

    * The expected file is missing: a copy named like it (``huber-Copy1.ipynb``), else, if it is
      the only notebook missing, any other notebook; with several, the ones holding answers
      first, then the newest (flagged).
    * The expected file is there but untouched (its answer cells are the released stubs) and a
      copy named like it holds answers: the copy is graded, with a note in the export and the
      feedback (flagged if several copies hold different answers).
    * Both hold answers, and they differ: the expected file is graded and the submission is
      flagged, naming the copy.
    """
    folder = Path(notebooks[0]).parent
    assignment = folder.name
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    masters = sorted(p.stem for p in source.glob("*.ipynb"))
    present = {Path(p).stem: p for p in notebooks}
    unknown = sorted(p for stem, p in present.items() if stem not in masters)
    missing = [m for m in masters if m not in present]
    root = Path(cd.root) / cd.submitted_directory
    work_of: dict[str, bool] = {}

    def worked(path: str, stubs: dict) -> bool:
        if path not in work_of:
            work_of[path] = _has_work(answers_of(path, root), stubs)
        return work_of[path]

    for name in masters:
        stubs = _release_answers(cd, assignment, name)
        expected = str(folder / f"{name}.ipynb")
        if name in missing:
            pool = [c for c in unknown if _normalise(Path(c).stem) == name.lower()]
            if not pool and len(missing) == 1:
                pool = list(unknown)
            with_work = [c for c in pool if worked(c, stubs)]
            pick, detail, ambiguous = choose_notebook(name, with_work or pool, only_missing=True)
            if pick is None:
                continue
            notes = {"detail": detail, "ambiguous": ambiguous}
            upload = _ARCHIVE_PREFIX.match(Path(pick).name)
            if upload:
                archive = upload.group(0)[:-2]
                notes.update(code="archive-upload", message=(
                    f"the notebook was uploaded inside the archive '{archive}' (as "
                    f"'{Path(pick).name[len(archive) + 2:]}') and graded as '{name}.ipynb'"
                    f"{detail}"))
            _redirect(expected, pick, notes)
            notebooks.append(os.path.abspath(expected))
            unknown.remove(pick)
            continue
        copies = [c for c in unknown if _normalise(Path(c).stem) == name.lower()]
        if not copies:
            continue
        with_work = [c for c in copies if worked(c, stubs)]
        if not worked(present[name], stubs):
            if not with_work:
                continue
            pick, detail, ambiguous = choose_notebook(name, with_work, only_missing=False)
            _redirect(expected, pick, {
                "code": "copy-graded", "ambiguous": ambiguous,
                "message": f"'{name}.ipynb' was submitted without answers beside "
                           f"'{Path(pick).name}', which holds them: '{Path(pick).name}' was "
                           f"graded as '{name}.ipynb'{detail}"})
            unknown.remove(pick)
            continue
        mine = answers_of(present[name], root)
        differ = [c for c in with_work if answers_of(c, root) != mine]
        if differ:
            REDIRECT_NOTES[os.path.abspath(expected)] = {
                "code": "extra-notebook", "ambiguous": True,
                "message": f"'{Path(differ[0]).name}' was submitted too, with other answers; "
                           f"'{name}.ipynb' was graded (look at both)"}


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
        files = sorted(f for f in os.listdir(path)[:200]
                       if f not in ("timestamp.txt", "submission_secret.txt"))
        with Gradebook(cd.db_url) as gb:
            try:
                notebooks = [n.name for n in gb.find_assignment(assignment).notebooks]
            except MissingEntry:
                continue
            gb.update_or_create_student(student)
            gb.update_or_create_submission(assignment, student)
        shown = one_line(", ".join(files), 300)
        reason = (f"empty submission: the folder {cd.submitted_directory}/{student}/{assignment}/ "
                  "holds no notebook" + (f" (files: {shown})" if files else ""))
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
