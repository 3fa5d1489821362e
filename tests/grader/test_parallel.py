"""Grading a class in parallel with `python -m grader.grade_class`.

Four students on every assignment (two honest, one of them printing, warning, writing to stderr
and returning 0-d arrays for scalars; one unanswered; one whose first function never returns)
are graded by two workers sharing the SQLite gradebook. Every submission must be graded
exactly as plain `nbgrader autograde` grades it, the gradebook must pass SQLite's integrity
check, and the class reports (item analysis, distribution plot, scan) must be written.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time

import pytest
from adversarial.course import (
    env,
    integrity,
    make_course,
    nbgrader,
    orphaned_sandboxes,
    scores,
    solution_answers,
    write_submission,
)

pytestmark = pytest.mark.slow
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]


def _looping(assignment: str) -> dict[str, str]:
    answers = solution_answers(assignment)
    first = next(k for k, v in answers.items() if v.lstrip().startswith(("import", "def")))
    answers[first] = answers[first] + "\n\nwhile True:\n    pass\n"
    return answers


_NOISY = '''
import sys as _sys
import warnings as _warnings

_plain_{name} = {name}


def {name}(*args, **kwargs):
    print("calling {name}")
    _warnings.warn("a student's own warning")
    _sys.stderr.write("debugging output\\n")
    out = _plain_{name}(*args, **kwargs)
    return np.asarray(out) if np.ndim(out) == 0 else out
'''


def _noisy(assignment: str) -> dict[str, str]:
    """Honest answers that print, warn, write to stderr and return 0-d arrays for scalars."""
    from grader import submission

    answers = solution_answers(assignment)
    for gid, source in answers.items():
        for name in submission.defined_names(source):
            if not name.startswith("_"):
                answers[gid] += _NOISY.format(name=name)
    return answers


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("parallel") / "course", ASSIGNMENTS)
    nbgrader(["generate_assignment", "*", "--force"], course)
    for a in ASSIGNMENTS:
        write_submission(course, a, "p1_honest", solution_answers(a))
        write_submission(course, a, "p2_stub", None)
        write_submission(course, a, "p3_honest", _noisy(a))
        write_submission(course, a, "p4_loop", _looping(a))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader.grade_class", *ASSIGNMENTS,
                           "--jobs", "2", "--report"], cwd=course, env=env(),
                          capture_output=True, text=True, timeout=900)
    return course, proc, time.perf_counter() - t0


def test_every_submission_was_graded_by_the_workers(run):
    course, proc, seconds = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "graded 16 of 16 submissions" in proc.stdout
    print(f"grade_class: 16 notebooks in {seconds:.1f} s with 2 workers")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grades_are_what_the_plain_command_gives(run, assignment):
    course, _, _ = run
    grades = scores(course, assignment)
    assert set(grades) == {"p1_honest", "p2_stub", "p3_honest", "p4_loop"}
    for student in ("p1_honest", "p3_honest"):
        g = grades[student]
        assert g["code_score"] == g["max_code"] > 0, (student, g)
    assert grades["p2_stub"]["code_score"] == 0
    assert grades["p4_loop"]["code_score"] == 0 and grades["p4_loop"]["flagged"]


def test_gradebook_is_consistent_and_reports_exist(run):
    course, _, _ = run
    assert integrity(course) == "ok"
    for a in ASSIGNMENTS:
        for suffix in ("item_analysis.csv", "item_analysis.html", "score_distribution.png",
                       "scan_report.html", "scan_report.csv"):
            assert (course / "grading_reports" / f"{a}.{suffix}").is_file()
    assert orphaned_sandboxes() == []


def test_item_analysis_reflects_the_class(run):
    course, _, _ = run
    with open(course / "grading_reports" / "huber.item_analysis.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9  # one per test cell of huber
    for row in rows:
        # p1 and p3 pass everything; p2 (stub) and p4 (endless loop) fail everything
        assert (row["graded"], row["passed"], row["pass_rate"]) == ("4", "2", "0.500"), row
        assert int(row["count_1"]) + int(row["count_2"] or 0) == 2
    page = (course / "grading_reports" / "huber.item_analysis.html").read_text()
    assert "p4_loop" in page and "longer than" in page  # listed among those needing a look
