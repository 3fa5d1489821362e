"""Grading a class on a local Dask cluster with `python -m grader.grade_class`.

Four students on every assignment (two honest, one of them printing, warning, writing to stderr
and returning 0-d arrays for scalars; one unanswered; one whose first function never returns),
one empty submission folder, and one huber notebook that kills the process grading it (a fault
injected by tests/grader/faults.py, standing for an nbgrader bug that one notebook triggers) are
graded by a LocalCluster of two workers sharing the SQLite gradebook. Every submission must be
graded exactly as plain `nbgrader autograde` grades it; the killer is retried on a fresh worker,
given up after the allowed failures and reported with its reason, flagged in the gradebook; the
summary counts graded, empty and failed submissions apart and says where the reports went. A
second run without --force skips every graded submission and counts them as skipped.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import faults
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
from simcluster import processes_under

pytestmark = pytest.mark.slow
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]
HERE = Path(__file__).resolve().parent


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


def _grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.grade_class", *args], cwd=course,
                          env=env(PYTHONPATH=str(HERE)), capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("parallel") / "course", ASSIGNMENTS)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write(faults.CONFIG)
    nbgrader(["generate_assignment", "*", "--force"], course)
    for a in ASSIGNMENTS:
        write_submission(course, a, "p1_honest", solution_answers(a))
        write_submission(course, a, "p2_stub", None)
        write_submission(course, a, "p3_honest", _noisy(a))
        write_submission(course, a, "p4_loop", _looping(a))
    killer = solution_answers("huber")
    killer[next(iter(killer))] += "\n" + faults.MARKER + "\n"
    write_submission(course, "huber", "p5_killer", killer)
    empty = course / "submitted" / "p6_empty" / "kl_vs_ce"
    empty.mkdir(parents=True)
    (empty / "notes.txt").write_text("forgot the notebook\n")
    t0 = time.perf_counter()
    first = _grade(course, *ASSIGNMENTS, "--jobs", "2", "--report", "--allowed-failures", "1")
    seconds = time.perf_counter() - t0
    again = _grade(course, "focal", "--jobs", "2")
    return course, first, again, seconds


def test_summary_counts_graded_empty_and_failed_apart(run):
    course, proc, _, seconds = run
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]  # the killer failed
    assert "18 submissions: 16 graded, 0 skipped (already graded; --force regrades them), " \
           "1 empty (recorded with 0 points), 1 failed" in out, out[:6000]
    assert "a local cluster of 2 worker(s)" in out
    print(f"grade_class: 18 submissions in {seconds:.1f} s with 2 workers")


def test_the_summary_says_where_the_reports_and_logs_are(run):
    course, proc, _, _ = run
    for a in ASSIGNMENTS:
        for suffix in ("item_analysis.html", "item_analysis.csv", "scan_report.html"):
            path = course / "grading_reports" / f"{a}.{suffix}"
            assert str(path) in proc.stdout, (path, proc.stdout[-2000:])
    assert f"{course / 'grading_reports' / 'logs'}/<assignment>/<student>.log" in proc.stdout
    log = (course / "grading_reports" / "logs" / "huber" / "p1_honest.log").read_text()
    assert log.count("==== attempt started") == 1 and "==== attempt ended" in log
    assert ": graded in " in log


def test_a_submission_that_kills_workers_is_given_up_with_its_reason(run):
    course, proc, _, _ = run
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("  FAILED huber/p5"))
    assert "the grading worker died while grading it 2 times" in line, line
    assert "it was not tried again" in line and "p5_killer.log" in line
    log = (course / "grading_reports" / "logs" / "huber" / "p5_killer.log").read_text()
    assert log.count("==== attempt started") == 2 and "==== attempt ended" not in log
    assert "previous attempt died with its worker" in log  # the retry knew, and forced
    g = scores(course, "huber")["p5_killer"]
    assert g["flagged"] and g["code_score"] == 0
    assert any("grading failed: the grading worker died" in c for c in g["comments"])
    page = (course / "grading_reports" / "huber.item_analysis.html").read_text()
    assert "p5_killer" in page and "grading failed" in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grades_are_what_the_plain_command_gives(run, assignment):
    course, _, _, _ = run
    grades = scores(course, assignment)
    expected = {"p1_honest", "p2_stub", "p3_honest", "p4_loop"}
    expected |= {"p5_killer"} if assignment == "huber" else set()
    expected |= {"p6_empty"} if assignment == "kl_vs_ce" else set()
    assert set(grades) == expected
    for student in ("p1_honest", "p3_honest"):
        g = grades[student]
        assert g["code_score"] == g["max_code"] > 0, (student, g)
    assert grades["p2_stub"]["code_score"] == 0
    assert grades["p4_loop"]["code_score"] == 0 and grades["p4_loop"]["flagged"]


def test_the_empty_submission_is_recorded(run):
    course, _, _, _ = run
    g = scores(course, "kl_vs_ce")["p6_empty"]
    assert g["flagged"] and g["code_score"] == 0
    assert any("empty submission" in c for c in g["comments"])


def test_a_second_run_skips_and_counts_what_was_graded(run):
    course, _, again, _ = run
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "4 submissions: 0 graded, 4 skipped" in again.stdout, again.stdout[-2000:]
    assert "skipped focal/p1_honest (already graded; --force regrades it)" in again.stdout
    g = scores(course, "focal")
    assert g["p1_honest"]["code_score"] == g["p1_honest"]["max_code"] > 0


def test_gradebook_is_consistent_and_nothing_is_left_running(run):
    course, _, _, _ = run
    assert integrity(course) == "ok"
    for a in ASSIGNMENTS:
        for suffix in ("item_analysis.csv", "item_analysis.html", "score_distribution.png",
                       "scan_report.html", "scan_report.csv"):
            assert (course / "grading_reports" / f"{a}.{suffix}").is_file()
    assert orphaned_sandboxes() == []
    assert processes_under(course) == []  # no Dask worker outlived its command


def test_item_analysis_reflects_the_class(run):
    course, _, _, _ = run
    with open(course / "grading_reports" / "focal.item_analysis.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        # p1 and p3 pass everything; p2 (stub) and p4 (endless loop) fail everything
        assert (row["graded"], row["passed"], row["pass_rate"]) == ("4", "2", "0.500"), row
    page = (course / "grading_reports" / "huber.item_analysis.html").read_text()
    assert "p4_loop" in page and "longer than" in page  # listed among those needing a look
