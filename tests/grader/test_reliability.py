"""Broken submissions through plain `nbgrader autograde huber`: each affects only its student.

Deleted, duplicated, renamed or edited test cells, edited metadata, renamed notebooks, corrupt
or empty files, an empty folder, a crash, an endless loop, warnings on stderr and a slow answer
(tests/grader/adversarial/reliability.py) are graded in one run with a roster student who submitted
nothing. Every student gets a gradebook row with the expected grades, the flagged ones carry a
reason, the CSV export lists the whole roster with a status, and grading again gives the same
grades.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from adversarial import build
from adversarial.course import check_expectation, env, make_course, scores, session

CASES = build.reliability_cases()
ROSTER_ONLY = "zz_no_submission"
REGRADE = "rel_[dr]*"  # a second run over these students must give identical grades
pytestmark = pytest.mark.slow


@dataclass
class Run:
    course: Path
    log: str
    grades: dict
    regraded: dict
    export: list[dict]
    seconds: float


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Run:
    """generate, roster, autograde, export, then autograde some students again: the nbgrader
    applications run in one process (tests/grader/adversarial/session.py) to save start-up time;
    tests/grader/test_adversarial.py runs `nbgrader autograde` as a separate command."""
    course = make_course(tmp_path_factory.mktemp("reliability") / "course")
    release = build.release_notebook()
    for case in CASES:
        build.write_case(case, course / "submitted", release)
    (course / "roster.csv").write_text("id,last_name,first_name\n" + "".join(
        f"{s},{s},A\n" for s in [ROSTER_ONLY] + [c.student for c in CASES]))

    def me(args):
        return {"args": args, "cwd": str(course), "env": env()}

    t0 = time.perf_counter()
    results = session([me(["generate_assignment", "huber", "--force"]),
                       me(["db", "student", "import", "roster.csv"]),
                       me(["autograde", "huber"]),
                       me(["export", "--to", "grades.csv"])])
    seconds = time.perf_counter() - t0
    grades = scores(course, "huber")
    with open(course / "grades.csv", newline="") as fh:
        export = list(csv.DictReader(fh))
    session([me(["autograde", "huber", "--force", f"--student={REGRADE}"])])
    return Run(course, results[2]["log"], grades, scores(course, "huber"), export, seconds)


def _report(run: Run, student: str) -> dict:
    return json.loads((run.course / "grading_reports" / "huber" / student / "huber.json")
                      .read_text())


@pytest.mark.parametrize("case", CASES, ids=[c.student for c in CASES])
def test_case_is_graded_as_expected(graded, case):
    entry = graded.grades.get(case.student)
    assert entry is not None, f"no gradebook row for {case.student}: {case.description}"
    problems = check_expectation(case, entry)
    assert not problems, f"{case.student} ({case.description}): {problems}"
    report = _report(graded, case.student)
    codes = {n["code"] for n in report["notes"]}
    missing = set(case.note_codes) - codes
    assert not missing, f"{case.student}: notes {sorted(codes)} lack {sorted(missing)}"
    if entry["flagged"]:
        # a flagged submission says why, in the gradebook comments and in the report
        assert report["review_reasons"], report
        assert any("Grading note:" in c for c in entry["comments"]), entry["comments"]


def test_no_student_stopped_the_run(graded):
    assert "There was an error processing assignment" not in graded.log, graded.log[-4000:]


def test_export_lists_the_whole_roster_with_a_status(graded):
    rows = {r["student_id"]: r for r in graded.export}
    assert set(rows) == {c.student for c in CASES} | {ROSTER_ONLY}
    assert rows[ROSTER_ONLY]["status"] == "no submission"
    assert rows["rel_empty_folder"]["status"] == "empty submission"
    assert "no notebook" in rows["rel_empty_folder"]["notes"]
    assert rows["rel_corrupt_json"]["status"] == "graded, needs review"
    assert "not valid JSON" in rows["rel_corrupt_json"]["notes"]
    assert "huber-Copy1.ipynb" in rows["rel_renamed_notebook"]["notes"] or \
        rows["rel_renamed_notebook"]["needs_review"] == "no"
    for case in CASES:
        row = rows[case.student]
        if case.expect == "full":
            assert float(row["score"]) == 20.0 + 0.0, (case.student, row)  # written answer: 0
        if row["needs_review"] == "yes":
            assert row["notes"], row


def test_grading_twice_gives_identical_grades(graded):
    regraded = [s for s in graded.regraded if s.startswith("rel_d") or s.startswith("rel_r")]
    assert len(regraded) >= 4
    for student in regraded:
        assert graded.regraded[student]["grades"] == graded.grades[student]["grades"], student
    seeds = {_report(graded, s)["seed"] for s in regraded}
    assert len(seeds) == len(regraded), "every submission gets its own seed"


def test_limits_are_reported_in_words(graded):
    loop = _report(graded, "rel_loop_in_loss")
    messages = " ".join(t["message"] or "" for t in loop["tests"])
    assert "did not return within 2 s" in messages
    crash = _report(graded, "rel_crash_in_loss")
    messages = " ".join(t["message"] or "" for t in crash["tests"])
    assert "segmentation fault" in messages
