"""The instructors' appendix, command by command, with the gradebook on a PostgreSQL server.

A real PostgreSQL server (tests/grader/pgserver.py) holds the gradebook, named by
``LOSSCOURSE_DB_URL`` as the appendix says. In a temporary course folder: generate, import the
roster, release through an exchange, three students fetch, one validates, all submit; collect,
collect a platform's zip, autograde, generate, release and fetch feedback, export; then the class
grader (``grader.grade_class --force --report``, a local Dask cluster) regrades everything and
writes the class reports, and formgrader's back end (nbgrader's API) lists the submissions.

The same submissions graded with a SQLite gradebook must give the same grades, cell by cell, and
the same export, row by row; the reports must see the PostgreSQL roster (a student who never
submitted is listed); no connection may be left open.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from adversarial import build
from adversarial._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG_GRAD, both
from adversarial.course import env, make_course, session
from gradebooks import cell_scores, duplicated_rows

# the same class, students and exchange as the appendix test
from test_workflow import ATTACK, EXCHANGE_STUDENTS, ROSTER, _fill, _student_env, class_folders

pytestmark = pytest.mark.slow


def _export(path: Path) -> dict[str, dict]:
    with open(path, newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def flow(tmp_path_factory, postgres):
    base = tmp_path_factory.mktemp("postgres")
    course = make_course(base / "course")
    url = postgres.create_database("appendix")
    exchange, homes = class_folders(base, course)
    teacher = env(LOSSCOURSE_EXCHANGE=str(exchange), LOSSCOURSE_DB_URL=url,
                  HOME=str(base / "instructor"))

    def me(args, who=None):
        if who is None:
            return {"args": args, "cwd": str(course), "env": teacher}
        return {"args": args, "cwd": str(homes[who]), "env": _student_env(homes[who], who)}

    session([me(["generate_assignment", "huber"]),  # as the appendix writes it
             me(["db", "student", "import", "students.csv"]),
             me(["release_assignment", "huber"]),
             *[me(["fetch_assignment", "huber"], s) for s in homes]])
    _fill(homes["alice"] / "huber" / "huber.ipynb",
          {**both(CORRECT_LOSS, CORRECT_GRAD),
           "written_interpretation": "Huber caps the pull of outliers at delta."})
    _fill(homes["bob"] / "huber" / "huber.ipynb", both(CORRECT_LOSS, WRONG_GRAD))
    _fill(homes["carol"] / "huber" / "huber.ipynb", ATTACK)
    archive = course / "downloaded" / "huber" / "archive"
    archive.mkdir(parents=True)
    release = nbformat.read(course / "exercises" / "huber" / "huber.ipynb", as_version=4)
    honest = build.make_notebook(build.Case("x", "", "", both(CORRECT_LOSS, CORRECT_GRAD)),
                                 release)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as zf:
        zf.writestr("submissions/erin_huber.ipynb", nbformat.writes(honest))
        zf.writestr("submissions/frank_20931_77812_huber-Copy1.ipynb", nbformat.writes(honest))
    logs = session([me(["validate", "huber/huber.ipynb"], "alice"),
                    *[me(["submit", "huber", f"--student={s}"], s) for s in homes],
                    me(["collect", "huber"]),
                    me(["zip_collect", "huber"]),
                    me(["autograde", "huber"]),
                    me(["generate_feedback", "huber"]),
                    me(["release_feedback", "huber", "--student=[abc]*"]),
                    me(["fetch_feedback", "huber"], "alice"),
                    me(["export", "--to", "grades.csv"])])
    autograded = cell_scores(url)

    # the same submissions with a SQLite gradebook, graded by the plain command
    plain = base / "sqlite"
    make_course(plain)
    shutil.copytree(course / "submitted", plain / "submitted")
    shutil.copy(course / "students.csv", plain / "students.csv")
    local = {"cwd": str(plain), "env": env(HOME=str(base / "instructor"))}
    session([{"args": ["generate_assignment", "huber", "--force"], **local},
             {"args": ["db", "student", "import", "students.csv"], **local},
             {"args": ["autograde", "huber"], **local},
             {"args": ["export", "--to", "grades.csv"], **local}])

    # the class grader on a local Dask cluster, regrading into PostgreSQL, with the reports
    regrade = subprocess.run([sys.executable, "-m", "grader.grade_class", "huber", "--force",
                              "--jobs", "2", "--report"], cwd=course, env=teacher,
                             capture_output=True, text=True, timeout=900)
    api = subprocess.run([sys.executable, "-c", (
        "import json; from nbgrader.apps import NbGraderAPI; from traitlets.config import "
        "Config; from traitlets.config.loader import PyFileConfigLoader\n"
        "cfg = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "api = NbGraderAPI(config=cfg)\n"
        "subs = api.get_submissions('huber')\n"
        "print(json.dumps({s['student']: [s['score'], s['needs_manual_grade'], s['autograded']]"
        " for s in subs}))")], cwd=course, env=teacher, capture_output=True, text=True,
        timeout=300)
    return {"course": course, "plain": plain, "url": url, "logs": logs,
            "autograded": autograded, "regrade": regrade, "api": api, "homes": homes,
            "pg": postgres}


def test_the_database_is_postgresql_and_no_sqlite_file_was_made(flow):
    assert flow["url"].startswith("postgresql+psycopg2://")
    assert not (flow["course"] / "gradebook.db").exists()
    assert "Success! Your notebook passes all the tests." in flow["logs"][0]["log"]


def test_autograde_gives_the_same_grades_as_with_sqlite(flow):
    sqlite = cell_scores(f"sqlite:///{flow['plain'] / 'gradebook.db'}")
    assert flow["autograded"] == sqlite
    assert {s for _, s, _ in sqlite} == {"alice", "bob", "carol", "erin", "frank"}


def test_the_export_is_the_same_as_with_sqlite(flow):
    pg, sqlite = (_export(flow["course"] / "grades.csv"),
                  _export(flow["plain"] / "grades.csv"))
    assert set(pg) == set(ROSTER)
    for student in ROSTER:
        assert pg[student] == sqlite[student], student
    assert pg["dave"]["status"] == "no submission"
    assert pg["carol"]["needs_review"] == "yes" and float(pg["alice"]["score"]) == 20


def test_feedback_was_generated_released_and_fetched(flow):
    pages = sorted((flow["course"] / "feedback").glob("*/huber/huber.html"))
    assert {p.parts[-3] for p in pages} == {"alice", "bob", "carol", "erin", "frank"}
    assert list((flow["homes"]["alice"] / "huber" / "feedback").glob("*/huber.html"))


def test_the_class_grader_regrades_into_postgresql_identically(flow):
    proc = flow["regrade"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "5 submissions: 5 graded, 0 skipped" in proc.stdout
    assert cell_scores(flow["url"]) == flow["autograded"]
    assert duplicated_rows(flow["url"]) == []


def test_the_reports_read_the_postgresql_roster(flow):
    page = (flow["course"] / "grading_reports" / "huber.item_analysis.html").read_text()
    assert "dave" in page and "no submission" in page
    assert (flow["course"] / "grading_reports" / "huber.similarity.html").is_file()


def test_formgraders_back_end_lists_the_submissions(flow):
    api = flow["api"]
    assert api.returncode == 0, api.stderr[-3000:]
    listed = json.loads(api.stdout.strip().splitlines()[-1])
    # the others on the roster (dave, gina, hank, mallory) submitted nothing here
    assert set(listed) == {*EXCHANGE_STUDENTS, "erin", "frank"}
    assert listed["alice"][0] == 20 and all(autograded for *_, autograded in listed.values())


def test_no_connection_is_left_open(flow):
    assert flow["pg"].backends() == 0
