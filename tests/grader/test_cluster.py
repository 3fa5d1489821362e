"""A class graded on a simulated Dask cluster against a PostgreSQL gradebook.

A real PostgreSQL server (tests/grader/pgserver.py) holds the gradebook; a Dask scheduler and two
worker "machines" run as separate processes, each with its own working, temporary and home
folders (tests/grader/simcluster.py), sharing the course folder. 40 submissions over two
assignments (honest, partly wrong, unanswered, crashing with a segmentation fault, looping
forever inside a function and at the top of a cell) are graded with
``python -m grader.grade_class huber focal --scheduler tcp://...``; while it runs, one machine is
taken down (SIGKILL to its whole process group) in the middle of grading a submission.

Every student must be graded exactly once (one gradebook row each, no duplicated rows, one
completed attempt in every log), the submission whose worker died must have been regraded on the
other machine, and the grades must be identical, cell by cell, to serial ``nbgrader autograde``
of the same submissions with a SQLite gradebook. Then nothing may be left running.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from adversarial._answers import CORRECT_LOSS, WRONG_GRAD
from adversarial.course import (
    env,
    make_course,
    nbgrader,
    orphaned_sandboxes,
    session,
    solution_answers,
    write_submission,
)
from gradebooks import cell_scores, duplicated_rows, row_counts
from simcluster import SimulatedCluster, processes_under

pytestmark = pytest.mark.slow
ASSIGNMENTS = ["huber", "focal"]
STUDENTS = [f"s{k:02d}" for k in range(20)]


def _first(answers: dict[str, str]) -> tuple[str, str]:
    """The first answer cell that defines a function, and that function's name."""
    from grader import submission

    for gid, source in answers.items():
        names = submission.defined_names(source)
        if names:
            return gid, names[0]
    raise AssertionError("no answer defines a function")


def _redefine(assignment: str, body: str) -> dict[str, str]:
    answers = solution_answers(assignment)
    gid, name = _first(answers)
    answers[gid] += f"\n\ndef {name}(*args, **kwargs):\n{body}"
    return answers


def _submission(assignment: str, k: int) -> dict[str, str] | None:
    if k == 3:
        return None  # unanswered
    if k == 5:
        return _redefine(assignment, "    import faulthandler\n    faulthandler._read_null()\n")
    if k == 7:
        return _redefine(assignment, "    while True:\n        pass\n")
    if k == 11:
        answers = solution_answers(assignment)
        gid, _ = _first(answers)
        answers[gid] += "\n\nwhile True:\n    pass\n"
        return answers
    if k == 9 and assignment == "huber":
        return {"huber_loss": CORRECT_LOSS, "huber_grad": WRONG_GRAD}
    return solution_answers(assignment)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres):
    base = tmp_path_factory.mktemp("cluster")
    course = make_course(base / "course", ASSIGNMENTS)
    url = postgres.create_database("cluster_course")
    teacher = env(LOSSCOURSE_DB_URL=url)
    nbgrader(["generate_assignment", "*", "--force"], course, teacher)
    for a in ASSIGNMENTS:
        for k, student in enumerate(STUDENTS):
            write_submission(course, a, student, _submission(a, k))
    # the same submissions, graded serially by the plain command with a SQLite gradebook
    serial = base / "serial"
    shutil.copytree(course, serial, ignore=shutil.ignore_patterns("gradebook.db"))
    session([{"args": ["generate_assignment", "*", "--force"], "cwd": str(serial), "env": env()},
             *[{"args": ["autograde", a], "cwd": str(serial), "env": env()}
               for a in ASSIGNMENTS]])

    with SimulatedCluster(base / "machines") as sim:
        client = subprocess.Popen(
            [sys.executable, "-m", "grader.grade_class", *ASSIGNMENTS, "--scheduler",
             sim.address], cwd=course, env=teacher, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        victim = _kill_mid_task(course, sim, "w1", after=6, timeout=600)
        out, _ = client.communicate(timeout=900)
        processes_during = processes_under(base / "machines")
    return {"course": course, "serial": serial, "url": url, "out": out,
            "code": client.returncode, "victim": victim, "pg": postgres,
            "left_running": processes_under(base), "machines_during": processes_during}


def _kill_mid_task(course: Path, sim: SimulatedCluster, machine: str, after: int,
                   timeout: float) -> str:
    """Once ``after`` submissions are done, wait until ``machine`` is in the middle of grading
    one, then take it down; returns that submission (assignment/student)."""
    logs = course / "grading_reports" / "logs"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(p.read_text().count("==== attempt ended") for p in logs.glob("*/*.log"))
        if done >= after:
            for marker in logs.glob("*/*.running"):
                try:
                    text = marker.read_text()
                except OSError:
                    continue
                if text.startswith(f"{machine} "):
                    time.sleep(0.5)  # well inside the grading, past its first gradebook writes
                    if marker.exists():
                        sim.kill(machine)
                        return f"{marker.parent.name}/{marker.stem}"
        time.sleep(0.1)
    raise AssertionError(f"{machine} never started a submission after {after} were done")


def test_the_class_grader_finished_every_submission(graded):
    out = graded["out"]
    assert graded["code"] == 0, out[-4000:]
    assert "40 submissions: 40 graded, 0 skipped" in out and ", 0 failed" in out, out[-3000:]
    assert f"  regraded after a worker died: {graded['victim']}" in out, out[-3000:]


def test_every_student_was_graded_exactly_once(graded):
    counts = row_counts(graded["url"])
    assert counts == {(a, s): 1 for a in ASSIGNMENTS for s in STUDENTS}
    assert duplicated_rows(graded["url"]) == []
    logs = graded["course"] / "grading_reports" / "logs"
    for a in ASSIGNMENTS:
        for s in STUDENTS:
            log = (logs / a / f"{s}.log").read_text()
            assert log.count("==== attempt ended") == 1, (a, s, log[-2000:])
    assert not list(logs.glob("*/*.running"))


def test_the_killed_machines_submission_was_regraded_elsewhere(graded):
    a, s = graded["victim"].split("/")
    log = (graded["course"] / "grading_reports" / "logs" / a / f"{s}.log").read_text()
    starts = [ln for ln in log.splitlines() if ln.startswith("==== attempt started")]
    assert len(starts) == 2, log[-3000:]
    assert " on w1 " in starts[0] and " on w2 " in starts[1], starts
    assert "a previous attempt died with its worker: regrading with --force" in starts[1]


def test_grades_are_identical_to_serial_nbgrader_autograde(graded):
    on_cluster = cell_scores(graded["url"])
    serial = cell_scores(f"sqlite:///{graded['serial'] / 'gradebook.db'}")
    assert on_cluster == serial
    # the class is varied: full marks, zeros and partial scores all occur
    totals: dict[tuple[str, str], float] = {}
    for (a, s, _), points in serial.items():
        totals[a, s] = totals.get((a, s), 0) + (points or 0)
    assert len(set(totals.values())) >= 4, totals
    assert totals["huber", "s03"] == 0 and totals["huber", "s00"] > totals["huber", "s05"] > 0


def test_nothing_is_left_running_and_no_connection_is_left_open(graded):
    assert graded["machines_during"], "the simulated machines were running during the run"
    assert graded["left_running"] == []
    assert orphaned_sandboxes() == []
    assert graded["pg"].backends() == 0
