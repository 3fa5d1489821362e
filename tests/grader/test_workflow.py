"""The instructor workflow end to end, with nbgrader's exchange and several student identities.

In a temporary folder: the instructor generates and releases the assignment through an exchange
folder; alice, bob and carol (each with their own HOME and Jupyter folders) fetch it, work,
alice validates, and all submit; the instructor collects, also collects two submissions that came
through a learning platform as a zip (``nbgrader zip_collect``), autogrades, generates and
releases feedback (alice fetches hers) and exports the grades. dave is on the roster and never
submits. The nbgrader applications run in one process per phase
(tests/grader/adversarial/session.py) to save start-up time; every command is the one an
instructor or student types.
"""

from __future__ import annotations

import csv
import html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from adversarial import build
from adversarial._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG_GRAD, both
from adversarial.course import ROOT, env, make_course, scores, session

pytestmark = pytest.mark.slow
ROSTER = ["alice", "bob", "carol", "dave", "erin", "frank"]
ATTACK = both('from lossutils import huber_loss\n', 'from lossutils.regression import '
              'huber_loss_grad as huber_grad\n')


@dataclass
class Flow:
    base: Path
    course: Path
    homes: dict
    logs: dict


def _student_env(home: Path) -> dict:
    return env(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"))


def _fill(path: Path, answers: dict) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> Flow:
    base = tmp_path_factory.mktemp("workflow")
    course = make_course(base / "course")
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    (course / "students.csv").write_text(
        "id,last_name,first_name,email\n" + "".join(f"{s},{s.title()},Student,{s}@uni.example\n"
                                                    for s in ROSTER))
    teacher = env(LOSSCOURSE_EXCHANGE=str(exchange), HOME=str(base / "instructor"))
    homes = {}
    for student in ("alice", "bob", "carol"):
        home = base / "home" / student
        (home / ".jupyter").mkdir(parents=True)
        # what a course's JupyterHub image would provide to every student
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
            "c.CourseDirectory.course_id = 'loss-functions'\n")
        homes[student] = home

    def me(args, who=None):
        if who is None:
            return {"args": args, "cwd": str(course), "env": teacher}
        return {"args": args, "cwd": str(homes[who]), "env": _student_env(homes[who])}

    logs = {}
    phase1 = session([me(["generate_assignment", "huber", "--force"]),
                       me(["db", "student", "import", "students.csv"]),
                       me(["release_assignment", "huber"]),
                       *[me(["fetch_assignment", "huber"], s) for s in homes]])
    logs["release"] = phase1[2]["log"]
    # the students work
    _fill(homes["alice"] / "huber" / "huber.ipynb",
          {**both(CORRECT_LOSS, CORRECT_GRAD),
           "written_interpretation": "Outliers pull MSE with a force that grows with r."})
    _fill(homes["bob"] / "huber" / "huber.ipynb", both(CORRECT_LOSS, WRONG_GRAD))
    _fill(homes["carol"] / "huber" / "huber.ipynb", ATTACK)
    # two submissions downloaded from a learning platform as one zip
    archive = course / "downloaded" / "huber" / "archive"
    archive.mkdir(parents=True)
    release = nbformat.read(course / "exercises" / "huber" / "huber.ipynb", as_version=4)
    honest = build.make_notebook(build.Case("x", "", "", both(CORRECT_LOSS, CORRECT_GRAD)),
                                 release)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as zf:
        zf.writestr("submissions/erin_huber.ipynb", nbformat.writes(honest))
        zf.writestr("submissions/frank_20931_77812_huber-Copy1.ipynb", nbformat.writes(honest))
    phase2 = session([me(["validate", "huber/huber.ipynb"], "alice"),
                       *[me(["submit", "huber", f"--student={s}"], s) for s in homes],
                       me(["collect", "huber"]),
                       me(["zip_collect", "huber"]),
                       me(["autograde", "huber"]),
                       me(["generate_feedback", "huber"]),
                       # exchange students only: zip-collected ones get their HTML via the LMS
                       me(["release_feedback", "huber", "--student=[abc]*"]),
                       me(["fetch_feedback", "huber"], "alice"),
                       me(["export", "--to", "grades.csv"])])
    logs["validate"] = phase2[0]["log"]
    logs["autograde"] = phase2[6]["log"]
    return Flow(base, course, homes, logs)


def test_alice_validated_before_submitting(flow):
    assert "Success! Your notebook passes all the tests." in flow.logs["validate"]


def test_every_submission_route_reached_the_gradebook(flow):
    grades = scores(flow.course, "huber")
    assert set(grades) == {"alice", "bob", "carol", "erin", "frank"}
    total = {s: sum(v[0] for v in g["grades"].values()) for s, g in grades.items()}
    assert total["alice"] == total["erin"] == total["frank"] == 20
    assert total["bob"] == 9, grades["bob"]  # the loss tests pass, the gradient and experiment not
    assert total["carol"] == 0 and grades["carol"]["flagged"]
    assert not grades["alice"]["flagged"]


def test_export_lists_the_whole_roster(flow):
    with open(flow.course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(ROSTER)
    assert rows["dave"]["status"] == "no submission" and float(rows["dave"]["score"]) == 0
    assert float(rows["alice"]["score"]) == 20 and rows["alice"]["status"] == \
        "graded, written answers to grade"
    assert rows["carol"]["needs_review"] == "yes" and "lossutils" in rows["carol"]["notes"]
    assert "huber-Copy1.ipynb" in rows["frank"]["notes"] or rows["frank"]["notes"] == ""
    assert rows["alice"]["email"] == "alice@uni.example"


def _secret_lines() -> set[str]:
    nb = nbformat.read(ROOT / "solutions" / "huber" / "huber.ipynb", as_version=4)
    hidden = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip():
                hidden.add(line.strip())
    return hidden


def _text(path: Path) -> str:
    raw = path.read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", raw)) + raw


def test_feedback_has_no_hidden_test_source_but_says_what_passed(flow):
    secrets = _secret_lines()
    assert secrets, "the assignment has hidden tests to look for"
    autograded = (flow.course / "autograded" / "bob" / "huber" / "huber.ipynb").read_text()
    assert all(s in autograded for s in secrets), "hidden tests are graded (instructor copy)"
    pages = sorted((flow.course / "feedback").glob("*/huber/*.html"))
    assert {p.parts[-3] for p in pages} == {"alice", "bob", "carol", "erin", "frank"}
    for page in pages:
        text = _text(page)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{page} shows hidden tests: {leaked}"
        assert "Grading report" in text and "huber_loss, quadratic zone" in text
    bob = _text(flow.course / "feedback" / "bob" / "huber" / "huber.html")
    assert "passed (2 / 2 points): huber_loss, quadratic zone" in bob
    assert "FAILED (0 / 3 points): huber_grad, linear zone" in bob


def test_alice_fetched_her_feedback(flow):
    fetched = list((flow.homes["alice"] / "huber" / "feedback").glob("*/huber.html"))
    assert len(fetched) == 1
    assert "Grading report" in fetched[0].read_text()
