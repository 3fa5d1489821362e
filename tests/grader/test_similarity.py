"""Copy detection (grader.similarity) on a graded class, and its place in the reports and export.

A class of correct answers (tests/grader/similarity_cases.py) is graded with plain nbgrader:
four independent honest huber solutions and the instructor's, one student's answer with helpers
and a classmate's disguised copy of it (names, helper order, formatting, comments changed, and a
comment that tries to break out of the report's HTML), one submission too large to compare; on
focal, two honest solutions, the instructor's, and answers built from lossutils' own helpers,
disguised the same way, by a student whose id starts like a spreadsheet formula. Then
``python -m grader.report`` and ``nbgrader export``.

The copy and only the copy must be paired with its source, the library copy and only it matched
with the course library; both sources are shown side by side, escaped; the export's notes name
them; the grades are the same before and after, and the same run gives the same report.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from adversarial.course import env, make_course, scores, session, solution_answers
from adversarial.course import write_submission as write
from gradebooks import cell_scores
from similarity_cases import (
    COPY_OF_LIBRARY,
    COPY_OF_SOURCE,
    HONEST_FOCAL,
    HONEST_HUBER,
    SOURCE_HUBER,
)

from grader import similarity
from grader.nbgrader_plugin import MAX_CELL_CHARS

pytestmark = pytest.mark.slow
BREAKOUT = '    # </pre><script>alert("copied")</script>\n'


def _answers(assignment: str, code: dict[str, str]) -> dict[str, str]:
    answers = solution_answers(assignment)
    answers.update(code)
    return answers


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("similarity") / "course", ["huber", "focal"])
    for name, code in HONEST_HUBER.items():
        write(course, "huber", name, _answers("huber", code))
    write(course, "huber", "instructor", solution_answers("huber"))
    write(course, "huber", "src", _answers("huber", SOURCE_HUBER))
    copied = dict(COPY_OF_SOURCE, huber_grad=COPY_OF_SOURCE["huber_grad"].replace(
        "    # gradient, same zones as the loss\n", BREAKOUT))
    assert BREAKOUT in copied["huber_grad"]
    write(course, "huber", "cpy", _answers("huber", copied))
    big = solution_answers("huber")
    # over the comparison's limit in all, but each cell within the grader's own cell limit
    # (nbgrader_plugin.MAX_CELL_CHARS), so the notebook is still graded
    for name in ("huber_loss", "huber_grad"):
        big[name] += "#" * (similarity.MAX_CODE_CHARS // 2 + 10) + "\n"
    assert all(len(code) < MAX_CELL_CHARS for code in big.values())
    write(course, "huber", "big", big)
    for name, code in HONEST_FOCAL.items():
        write(course, "focal", name, _answers("focal", code))
    write(course, "focal", "instructor", solution_answers("focal"))
    write(course, "focal", "=lib", _answers("focal", COPY_OF_LIBRARY))
    teacher = {"cwd": str(course), "env": env()}
    session([{"args": ["generate_assignment", "*", "--force"], **teacher},
             {"args": ["autograde", "huber"], **teacher},
             {"args": ["autograde", "focal"], **teacher}])
    before = cell_scores(f"sqlite:///{course / 'gradebook.db'}")
    report = subprocess.run([sys.executable, "-m", "grader.report", "huber", "focal"],
                            cwd=course, env=env(), capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    session([{"args": ["export", "--to", "grades.csv"], **teacher}])
    after = cell_scores(f"sqlite:///{course / 'gradebook.db'}")
    results = {a: json.loads((course / "grading_reports" / f"{a}.similarity.json").read_text())
               for a in ("huber", "focal")}
    return {"course": course, "report": report, "before": before, "after": after,
            "results": results}


def test_every_answer_is_correct_so_grades_cannot_tell(graded):
    for assignment in ("huber", "focal"):
        for student, g in scores(graded["course"], assignment).items():
            assert g["code_score"] == g["max_code"] > 0, (assignment, student, g)


def test_the_disguised_copy_and_only_it_is_paired_with_its_source(graded):
    huber = graded["results"]["huber"]
    assert huber["students"] == 7  # big was not compared
    assert [p["students"] for p in huber["pairs"]] == [["cpy", "src"]]
    pair = huber["pairs"][0]
    assert {f["function"] for f in pair["functions"]} == {"huber_loss", "huber_grad"}
    assert all(min(f["shares"]) >= 0.9 for f in pair["functions"]), pair
    assert huber["library"] == []
    assert graded["results"]["focal"]["pairs"] == []


def test_the_library_copy_and_only_it_matches_the_course_library(graded):
    focal = graded["results"]["focal"]
    assert [m["student"] for m in focal["library"]] == ["=lib"]
    assert {f["function"] for f in focal["library"][0]["functions"]} == {
        "focal_loss", "focal_loss_grad"}
    assert focal["with_reference"] == ["focal_loss", "focal_loss_grad"]


def test_a_submission_too_large_is_listed_not_compared(graded):
    skipped = graded["results"]["huber"]["skipped"]
    assert [s["student"] for s in skipped] == ["big"]
    assert "characters of answer code" in skipped[0]["reason"]


def test_the_report_shows_both_sources_escaped(graded):
    page = (graded["course"] / "grading_reports" / "huber.similarity.html").read_text()
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert "def split_regions(err, d):" in page and "def _zones(residual, delta):" in page
    assert page.count("class='pair'") == 2  # one side-by-side per function of the pair
    focal = (graded["course"] / "grading_reports" / "focal.similarity.html").read_text()
    assert "# lossutils.binary.sigmoid_focal_loss" in focal and "def logistic(v):" in focal
    assert str(graded["course"] / "grading_reports" / "huber.similarity.html") in \
        graded["report"].stdout


def test_the_csv_cannot_start_a_formula(graded):
    with open(graded["course"] / "grading_reports" / "focal.similarity.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["student_a"] for r in rows} == {"'=lib"}
    assert {r["student_b"] for r in rows} == {"(course library)"}


def test_the_export_notes_name_the_pairs_and_nothing_else(graded):
    with open(graded["course"] / "grades.csv", newline="") as fh:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(fh)}
    assert "copy detection: answers similar to src's" in rows["huber", "cpy"]["notes"]
    assert "copy detection: answers similar to cpy's" in rows["huber", "src"]["notes"]
    # the export writes the student id "=lib" as text, not a formula (grader.safety.csv_cell)
    assert "similar to the course library's (focal_loss" in rows["focal", "'=lib"]["notes"]
    flagged = {k for k, r in rows.items() if "copy detection" in r["notes"]}
    assert flagged == {("huber", "cpy"), ("huber", "src"), ("focal", "'=lib")}
    for key in flagged:  # a note, not a flag: the submissions are not marked for review
        assert rows[key]["needs_review"] == "no" and "review" not in rows[key]["status"]


def test_nothing_changes_a_grade(graded):
    assert graded["before"] == graded["after"] and graded["before"]


def test_the_same_class_gives_the_same_report(graded):
    again = similarity.run_bounded(graded["course"], "huber")
    first = dict(graded["results"]["huber"])
    for result in (again, first):
        result.pop("seconds")
    assert again == first


# ---- without grading: normalisation and bounds ---------------------------------------------------

def test_names_order_formatting_and_comments_do_not_change_the_normalised_tokens():
    from copydetect.utils import filter_code

    graded_names = ["huber_loss", "huber_grad"]
    source = similarity.student_functions(list(SOURCE_HUBER.values()), graded_names)
    copy = similarity.student_functions(list(COPY_OF_SOURCE.values()), graded_names)
    for name in graded_names:
        a, _ = filter_code(source[name][0], "a.py", "python")
        b, _ = filter_code(copy[name][0], "b.py", "python")
        assert a == b, name


def test_a_document_holds_the_helpers_it_uses_in_order_of_use():
    docs = similarity.student_functions(list(COPY_OF_LIBRARY.values()), ["focal_loss"])
    text = docs["focal_loss"][0]
    order = [text.index(f"def {n}(") for n in ("focal_loss", "logistic", "class_weight",
                                               "bce_parts", "softp")]
    assert order == sorted(order)
    assert "focal_loss_grad" not in text


def test_unparsable_and_hostile_cells_are_skipped_not_fatal():
    cells = ["def huber_loss(:\n", "x = " + "(" * 200_000 + ")" * 200_000 + "\n",
             "def huber_loss(pred, target, delta=1.0):\n    return 0.0\n"]
    docs = similarity.student_functions(cells, ["huber_loss"])
    assert docs["huber_loss"][0] == "def huber_loss(pred, target, delta=1.0):\n    return 0.0\n"


def test_each_submission_has_a_time_limit():
    import time

    with pytest.raises(TimeoutError):
        with similarity._Deadline(0.05):
            time.sleep(1)
