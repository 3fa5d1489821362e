"""The graded assignments, end to end with the real nbgrader commands.

For every assignment id: the instructor version passes `nbgrader validate`; `nbgrader
generate_assignment` reproduces the committed `exercises/<id>/` byte for byte; the student version
contains no solution or hidden-test text; autograding the student version (stubs) gives 0 and the
solution, submitted as a student, gets full marks on every autograded cell; written answers carry at
most 20% of the points.

Everything runs in copies of the course folder under pytest's tmp_path (the repository never gets
a gradebook.db, submitted/ or autograded/). nbgrader is slow to start (seconds per command), so one
fixture runs each command once for all assignments: `validate` on every instructor notebook, in
parallel with `generate_assignment "*"` then `autograde "*"` for two students, "solution" and
"stub", whose submissions are the instructor notebook and the committed student notebook.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]
PRESENT = [a for a in ASSIGNMENTS if (ROOT / "solutions" / a / f"{a}.ipynb").is_file()]
BIN = Path(sys.executable).parent
COURSE_ID = "loss-functions"
MAX_WRITTEN_SHARE = 0.20
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader shells out to `alembic` and starts kernels: the venv's bin/ must come first.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("LOSSCOURSE_GRADING_SEED", None)
    env["PYTHONUNBUFFERED"] = "1"  # keep validate's report in order with its log lines
    return env


def _course_copy(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    for a in PRESENT:
        shutil.copytree(ROOT / "solutions" / a, dest / "solutions" / a,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def _nbgrader(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "nbgrader"), *args], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """The command's output. Its exit code is not asserted here: one broken assignment must fail
    only its own tests below, which find its missing results and show this log."""
    out, _ = proc.communicate(timeout=timeout)
    return f"(exit code {proc.returncode})\n{out}"


class Run:
    """Everything the nbgrader commands produced, for the tests below to inspect."""

    validate_log: dict[str, str]
    generate_log: str
    autograde_log: str
    grade_dir: Path
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    assert PRESENT, "no assignment has a solutions/<id>/<id>.ipynb yet"
    result = Run()
    result.seconds = {}
    base = tmp_path_factory.mktemp("course")
    val_dir = _course_copy(base / "validate")
    grade_dir = _course_copy(base / "grade")
    result.grade_dir = grade_dir

    t0 = time.perf_counter()
    val = _nbgrader(["validate", *(f"solutions/{a}/{a}.ipynb" for a in PRESENT)], val_dir)
    gen = _nbgrader(["generate_assignment", "*"], grade_dir)
    result.generate_log = _finish(gen)
    result.seconds["generate_assignment (all)"] = time.perf_counter() - t0

    for a in PRESENT:
        for student, source in (("solution", ROOT / "solutions" / a / f"{a}.ipynb"),
                                ("stub", ROOT / "exercises" / a / f"{a}.ipynb")):
            if source.is_file():  # an empty submission folder would abort the whole command
                dest = grade_dir / "submitted" / student / a
                dest.mkdir(parents=True)
                shutil.copy2(source, dest / f"{a}.ipynb")
    t1 = time.perf_counter()
    ag = _nbgrader(["autograde", "*", "--create"], grade_dir)
    out = _finish(ag)
    result.seconds["autograde (all)"] = time.perf_counter() - t1
    result.autograde_log = out

    val_out = _finish(val)
    result.seconds["validate (all)"] = time.perf_counter() - t0
    # Each notebook's report follows the log line that names it.
    result.validate_log = {}
    parts = re.split(r"Validating '([^']+)'", val_out)
    for path, text in zip(parts[1::2], parts[2::2], strict=True):
        result.validate_log[Path(path).stem] = text
    print("nbgrader timings (s):", {k: round(v, 1) for k, v in result.seconds.items()})
    return result


def _scores(run: Run, assignment: str, student: str):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{run.grade_dir / 'gradebook.db'}", COURSE_ID) as gb:
        try:
            nb = gb.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            pytest.fail(f"no grades for {student}/{assignment}; autograde said:\n"
                        f"{run.autograde_log[-4000:]}")
        grades = {g.name: (g.cell.cell_type, g.score, g.max_score) for g in nb.grades}
        return {"code": nb.code_score, "max_code": nb.max_code_score,
                "written_max": nb.max_written_score, "max": nb.max_score, "grades": grades}


def _graded_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", PRESENT)
def test_instructor_version_validates(run, assignment):
    log = run.validate_log.get(assignment)
    assert log is not None, f"nbgrader validate did not report on {assignment}:\n{run.validate_log}"
    assert "Success! Your notebook passes all the tests." in log, log


@pytest.mark.slow
@pytest.mark.parametrize("assignment", PRESENT)
def test_exercises_are_generated_and_up_to_date(run, assignment):
    fresh = run.grade_dir / "exercises" / assignment
    committed = ROOT / "exercises" / assignment
    assert fresh.is_dir(), f"nothing generated for {assignment}:\n{run.generate_log}"
    assert committed.is_dir(), f"exercises/{assignment}/ is missing: run `nbgrader " \
        f"generate_assignment {assignment} --force --no-db` from the repository root"
    rel = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    rel_committed = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()
                           and ".ipynb_checkpoints" not in p.parts)
    assert rel == rel_committed, f"exercises/{assignment}/ holds {rel_committed}, generated {rel}"
    for r in rel:
        assert (fresh / r).read_bytes() == (committed / r).read_bytes(), (
            f"exercises/{assignment}/{r} differs from what `nbgrader generate_assignment` writes: "
            f"it is stale or was edited by hand: run `nbgrader generate_assignment {assignment} "
            "--force --no-db` from the repository root")


def _hidden_lines(source_nb) -> set[str]:
    """Lines of solution regions, hidden tests and mark schemes, as they would appear verbatim."""
    secret, public = set(), set()
    region = None
    for cell in source_nb.cells:
        for line in cell.source.splitlines():
            text = line.strip()
            if re.search(r"BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)", text):
                region = True
                continue
            if re.search(r"END (SOLUTION|HIDDEN TESTS|MARK SCHEME)", text):
                region = None
                continue
            (secret if region else public).add(text)
        region = None
    # A line that also appears in a public part (a blank, `return out`) gives nothing away.
    return {s for s in secret - public if len(s) >= 12}


@pytest.mark.parametrize("assignment", PRESENT)
def test_no_solution_or_hidden_text_in_exercises(assignment):
    folder = ROOT / "exercises" / assignment
    assert folder.is_dir(), f"exercises/{assignment}/ is missing"
    secrets = _hidden_lines(nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb",
                                          as_version=4))
    assert secrets, "the instructor notebook has no solution or hidden-test lines to look for"
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_text(errors="replace")
        texts = [raw]
        if path.suffix == ".ipynb":
            nb = json.loads(raw)
            texts += ["".join(c["source"]) for c in nb["cells"]]
        for text in texts:
            for marker in MARKERS:
                assert marker not in text, f"{path.relative_to(ROOT)} contains {marker!r}"
        leaked = [s for s in secrets if any(s in t for t in texts)]
        assert not leaked, f"{path.relative_to(ROOT)} leaks instructor lines: {leaked[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", PRESENT)
def test_solution_autogrades_to_full_marks(run, assignment):
    s = _scores(run, assignment, "solution")
    lost = {k: v for k, v in s["grades"].items() if v[0] == "code" and v[1] != v[2]}
    assert not lost, f"the instructor solution loses points in {lost}\n{run.autograde_log[-3000:]}"
    assert s["max_code"] > 0 and s["code"] == s["max_code"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", PRESENT)
def test_student_version_runs_and_scores_zero(run, assignment):
    assert (ROOT / "exercises" / assignment / f"{assignment}.ipynb").is_file()
    graded = run.grade_dir / "autograded" / "stub" / assignment / f"{assignment}.ipynb"
    assert graded.is_file(), f"autograde produced no notebook for the stub\n{run.autograde_log}"
    nb = nbformat.read(graded, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "not every cell was executed"
    # Every graded cell fails with the stub's NotImplementedError, not with a timeout or a crash.
    for cell in _graded_cells(nb):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"test cell {cell.metadata.nbgrader['grade_id']} passes on the stub"
        assert any("NotImplementedError" in (o.ename + o.evalue) for o in errors), (
            cell.metadata.nbgrader["grade_id"], errors[0].ename, errors[0].evalue)
    s = _scores(run, assignment, "stub")
    assert s["max_code"] > 0 and s["code"] == 0, s


@pytest.mark.parametrize("assignment", PRESENT)
def test_written_answers_carry_at_most_a_fifth_of_the_points(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    cells = _graded_cells(nb)
    total = sum(c.metadata.nbgrader["points"] for c in cells)
    written = sum(c.metadata.nbgrader["points"] for c in cells if c.cell_type == "markdown")
    tests = [c for c in cells if c.cell_type == "code"]
    assert total > 0 and len(tests) >= 4, "expected several autograded test cells with points"
    assert written <= MAX_WRITTEN_SHARE * total, f"written answers carry {written}/{total} points"


def test_every_assignment_is_present():
    # Last on purpose: the checks above run for the assignments that exist already.
    missing = [a for a in ASSIGNMENTS if a not in PRESENT]
    assert not missing, f"no solutions/<id>/<id>.ipynb for {missing}"
