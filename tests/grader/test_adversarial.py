"""The adversarial suite through plain `nbgrader autograde huber` (every category of attack).

tests/grader/adversarial/ holds the submissions: each category (calling the reference or torch,
monkeypatching, lying return objects, IPython hooks, extra cells, reading instructor files,
writing the gradebook, module files next to the notebook, killing, hanging or exhausting the
grader, honest styles of binding a function, markup and script in student text, spreadsheet
formulas, links out of the submission) has attacks that must earn nothing and an honest twin that
must keep full marks. One autograde run grades all of them in a temporary course copy, followed
by the feedback, the export and the class reports; the tests then read the gradebook and every
page and file an instructor opens.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from adversarial import build, markup
from adversarial.course import (
    check_expectation,
    env,
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
    nbgrader(["generate_feedback", "huber", "--student=[mcp][ks][_v]*"], course)
    nbgrader(["export", "--to", "grades.csv"], course)
    subprocess.run([sys.executable, "-m", "grader.report", "huber"], cwd=course, check=True,
                   capture_output=True, env=env())
    time.sleep(max(0.0, 6 - (time.perf_counter() - t0 - seconds)))  # detached writers wait 4 s
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


def _report(graded, student: str) -> dict:
    path = graded.course / "grading_reports" / "huber" / student / "huber.json"
    return json.loads(path.read_text())


def _pages(graded) -> dict[str, str]:
    """Every instructor-facing page that shows student text, as HTML: the graded notebooks'
    Markdown as nbconvert renders it (formgrader shows it so), the feedback, the class reports."""
    from nbconvert.filters import markdown2html

    course = graded.course
    pages = {}
    for case in CASES:
        if case.category in ("markup", "csv-injection"):
            nb = json.loads((course / "autograded" / case.student / "huber" / "huber.ipynb")
                            .read_text())
            pages[f"autograded/{case.student}"] = "\n".join(
                markdown2html("".join(c["source"])) for c in nb["cells"]
                if c["cell_type"] == "markdown")
            pages[f"feedback/{case.student}"] = (course / "feedback" / case.student / "huber" /
                                                 "huber.html").read_text()
    for name in ("huber.item_analysis.html", "huber.scan_report.html"):
        pages[name] = (course / "grading_reports" / name).read_text()
    return pages


def test_student_markup_is_shown_as_text_everywhere(graded):
    live = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:|<[^<>]*\son(error|load)\s*=",
                      re.I)
    for name, page in _pages(graded).items():
        found = [m for m in markup.MARKERS if m in page] + [m.group(0) for m in live.finditer(page)]
        assert not found, f"{name} renders student markup: {found[:5]}"
    for case in ("mk_written_and_ids", "mk_zz_honest"):
        page = (graded.course / "feedback" / case / "huber" / "huber.html").read_text()
        headings = re.findall(r"<h\d[^>]*>\s*Grading report", page)
        assert len(headings) == 1, f"{case}: a forged grading report: {headings}"
    honest = (graded.course / "feedback" / "mk_zz_honest" / "huber" / "huber.html").read_text()
    assert '<a href="https://example.org/huber">the chapter</a>' in honest
    assert "<strong>MSE</strong>" in honest and "$\\delta$" in honest
    attack = (graded.course / "feedback" / "mk_written_and_ids" / "huber" /
              "huber.html").read_text()
    for marker in markup.MARKERS:  # the attack's text is still there, as text
        assert "&lt;" + marker[1:].split(">")[0] in attack, marker


def test_no_csv_cell_starts_a_formula(graded):
    number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
    files = [graded.course / "grades.csv", graded.course / "grading_reports" /
             "huber.item_analysis.csv", graded.course / "grading_reports" / "huber.scan_report.csv"]
    seen_attack = False
    for path in files:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    seen_attack |= "cmd|" in cell or "HYPERLINK" in cell
                    assert not (cell[:1] in ("=", "+", "-", "@", "\t", "\r")
                                and not number.fullmatch(cell)), f"{path.name}: {cell!r}"
    assert seen_attack, "the attack's text should be in the reports (as text)"


def test_oversized_submissions_cost_little_and_say_why(graded):
    for student, words in (("dos_g_huge_cell", "characters and was not read"),
                           ("dos_i_deep_json", "nested more than"),
                           ("dos_j_wide_json", "lists and objects"),
                           ("dos_k_forged_reply", "garbage")):
        report = _report(graded, student)
        text = json.dumps(report)
        assert words in text, (student, text[:2000])
        assert report["seconds"] < 20, (student, report["seconds"])
    assert _report(graded, "dos_h_blank_lines")["seconds"] < 20


def test_links_are_reported_and_never_followed(graded):
    for student in ("path_notebook_link", "path_folder_link", "path_file_link"):
        text = json.dumps(_report(graded, student))
        assert "symbolic link" in text, (student, text[:2000])
