"""The adversarial suite through plain `nbgrader autograde huber` (every category of issue 5).

tests/grader/adversarial/ holds the submissions: each category (calling the reference or torch,
monkeypatching, lying return objects, IPython hooks, extra cells, reading instructor files,
writing the gradebook, module files next to the notebook, killing or hanging the grader) has
attacks that must earn nothing and an honest twin that must keep full marks. One autograde run
grades all of them in a temporary course copy; the tests then read the gradebook.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from adversarial import build
from adversarial.course import (
    check_expectation,
    integrity,
    make_course,
    nbgrader,
    orphaned_sandboxes,
    scores,
)

CASES = build.all_cases()
pytestmark = pytest.mark.slow


@dataclass
class Run:
    course: object
    log: str
    before: dict
    after: dict
    seconds: float


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Run:
    course = make_course(tmp_path_factory.mktemp("adversarial") / "course")
    nbgrader(["generate_assignment", "huber", "--force"], course)
    release = build.release_notebook()
    for case in CASES:
        build.write_case(case, course / "submitted", release)
    t0 = time.perf_counter()
    log = nbgrader(["autograde", "huber"], course).stdout
    seconds = time.perf_counter() - t0
    before = scores(course, "huber")
    time.sleep(6)  # detached writers in gb_detached wait 4 s before writing
    return Run(course, log, before, scores(course, "huber"), seconds)


def test_every_category_has_an_attack_and_an_honest_twin():
    categories = {c.category for c in CASES}
    assert len(categories) >= 9, categories
    for category in categories:
        kinds = {c.honest for c in CASES if c.category == category}
        assert kinds == {True, False}, f"{category} needs attacks and an honest twin"


@pytest.mark.parametrize("case", CASES, ids=[c.student for c in CASES])
def test_case_is_graded_as_expected(graded, case):
    entry = graded.after.get(case.student)
    assert entry is not None, f"no gradebook row for {case.student}"
    assert entry["max_code"] == 20
    problems = check_expectation(case, entry)
    assert not problems, f"{case.student} ({case.description}): {problems}"


def test_the_grader_survived_and_graded_everyone(graded):
    assert "There was an error processing assignment" not in graded.log, graded.log[-4000:]
    assert set(graded.after) == {c.student for c in CASES}
    for case in CASES:
        report = graded.course / "grading_reports" / "huber" / case.student / "huber.json"
        assert report.is_file(), f"no grading report for {case.student}"


def test_nothing_changed_the_gradebook_after_grading(graded):
    assert graded.after == graded.before
    assert integrity(graded.course) == "ok"


def test_no_sandbox_process_outlives_the_grader(graded):
    assert orphaned_sandboxes() == []


def test_solutions_and_gradebook_were_not_written(graded):
    assert not list(graded.course.glob("solutions/**/*.pyc"))
    stray = [p for p in graded.course.rglob("*") if p.name in ("x.db", "stolen.txt")]
    assert not stray
