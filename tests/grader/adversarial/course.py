"""Temporary course folders and nbgrader runs for the grader's tests.

A course copy holds the repository's ``nbgrader_config.py`` (plus shorter test budgets, so the
denial-of-service cases finish quickly) and ``solutions/<id>/``; every nbgrader command runs as
a subprocess in it, exactly as an instructor would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
COURSE_ID = "loss-functions"
TEST_BUDGETS = """
# ---- test budgets: shorter than the course's so the denial-of-service cases finish quickly
c.SecureExecute.call_timeout = 2
c.SecureExecute.setup_timeout = 4
c.SecureExecute.cell_timeout = 20
c.SecureExecute.notebook_timeout = 60
c.SecureExecute.memory_limit_mb = 1024
"""


def make_course(dest: Path, assignments=("huber",), budgets: bool = True) -> Path:
    dest.mkdir(parents=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (dest / "nbgrader_config.py").write_text(config + (TEST_BUDGETS if budgets else ""))
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, dest / "solutions" / a,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"  # nbgrader shells out to alembic
    out.pop("LOSSCOURSE_GRADING_SEED", None)
    out["PYTHONUNBUFFERED"] = "1"
    out.update(extra)
    return out


def nbgrader(args: list[str], cwd: Path, environ: dict | None = None, timeout: float = 900,
             check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=environ or env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-5000:]}"
    return proc


def session(commands: list[dict]) -> list[dict]:
    """Run nbgrader commands in one process (see session.py); every one must succeed."""
    import json

    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("session.py"))],
                          input=json.dumps(commands), capture_output=True, text=True,
                          env=env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(proc.stdout)
    for r in results:
        assert r["code"] == 0, f"nbgrader {' '.join(r['args'])} failed:\n{r['log'][-4000:]}"
    return results


def scores(course: Path, assignment: str) -> dict[str, dict]:
    """Per student: autograded code grades, flag and automatic comments, from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for sub in gb.find_assignment(assignment).submissions:
            for nb in sub.notebooks:
                grades = {g.name: (g.score, g.max_score) for g in nb.grades
                          if g.cell.cell_type == "code"}
                out[sub.student.id] = {
                    "grades": grades, "flagged": bool(nb.flagged),
                    "comments": [c.auto_comment or "" for c in nb.comments],
                    "code_score": nb.code_score, "max_code": nb.max_code_score}
    return out


def integrity(course: Path) -> str:
    import sqlite3

    con = sqlite3.connect(course / "gradebook.db")
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def orphaned_sandboxes() -> list[str]:
    """Sandbox children whose grader is gone (there should be none). Children of a grader that
    is still running (another test, another course) are not orphans."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "_sandbox_child.py" not in cmd:
            continue
        ppid = stat.rsplit(")", 1)[1].split()[1]
        try:
            parent = (Path("/proc") / ppid / "cmdline").read_bytes()
        except OSError:
            parent = b""
        if b"python" not in parent:
            found.append(f"{entry.name} (parent {ppid}): {cmd}")
    return found


def check_expectation(case, entry: dict) -> list[str]:
    """What is wrong with the grades of one case ([] if they are as expected)."""
    problems = []
    grades = entry["grades"]
    for gid, (score, max_score) in grades.items():
        if case.expect == "full":
            want_pass = True
        elif case.expect == "zero":
            want_pass = False
        else:
            want_pass = gid in case.expect
        if want_pass and score != max_score:
            problems.append(f"{gid}: {score}/{max_score}, expected full marks")
        if not want_pass and score != 0:
            problems.append(f"{gid}: {score}/{max_score}, expected 0")
    if case.review is not None and entry["flagged"] != case.review:
        problems.append(f"flagged={entry['flagged']}, expected {case.review}")
    return problems


def solution_answers(assignment: str) -> dict[str, str]:
    """The instructor's answers (solution regions, markers removed), by answer-cell id."""
    import nbformat

    from grader.submission import instructor_answers

    return instructor_answers(
        nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4))


def write_submission(course: Path, assignment: str, student: str, answers: dict | None,
                     name: str | None = None) -> Path:
    """A student's notebook: the released notebook with ``answers`` put in (None: the stub)."""
    import nbformat

    nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if answers and gid in answers:
            cell.source = answers[gid]
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{assignment}.ipynb")
    nbformat.write(nb, path)
    return path
