"""The appendix is the test: book/appendix_instructors.md followed word for word.

The commands come from the appendix's *Step by step* section (its ``bash`` blocks, each marked
``# instructor`` or ``# student``), never restated here, so the page and the test cannot drift.
They run, as written, in a fresh copy of the course (the tracked ``nbgrader_config.py``,
``solutions/`` and ``exercises/``, as a clone has them: step 1 must work although the release
exists). The test only does what the page leaves to people: it writes the roster and the
students' Jupyter configuration, sets the exchange folder, fills the students' notebooks and
puts a platform's download in ``downloaded/huber/archive/``.

Students: alice (right answers, validates), bob (wrong gradient), carol (calls the course's
reference: validation refuses it with the grader's own words, grading gives 0) go through the
exchange, each with their own HOME and login name; erin, frank (``huber-Copy1.ipynb``), gina (a
notebook zipped before uploading) and hank (an archive whose notebook is named after erin) come
in a platform's zip, with one corrupt upload (ivan) that must not stop the others; dave is on the
roster and never submits; mallory writes straight into the exchange's inbound folder a submission
whose notebook is a link to the instructor's solution, next to an entry with a name nbgrader
cannot read. nbgrader applications run in one process per phase
(tests/grader/adversarial/session.py) to save start-up time, with the same arguments.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from adversarial import build
from adversarial._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG, WRONG_GRAD, both
from adversarial.course import ROOT, env, scores, session

from lossutils.assignments._grading import IMPORT_REFUSED

pytestmark = pytest.mark.slow
APPENDIX = ROOT / "book" / "appendix_instructors.md"
ROSTER = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank", "mallory"]
EXCHANGE_STUDENTS = ["alice", "bob", "carol"]
ATTACK = both("from lossutils import huber_loss\n", "from lossutils.regression import "
              "huber_loss_grad as huber_grad\n")
ANSWERS = {"alice": {**both(CORRECT_LOSS, CORRECT_GRAD),
                     "written_interpretation": "Outliers pull MSE with a force that grows with r."},
           "bob": both(CORRECT_LOSS, WRONG_GRAD), "carol": ATTACK}


def appendix_commands() -> list[tuple[str, list[str]]]:
    """(role, command lines) of every ``bash`` block in the appendix's *Step by step*."""
    text = APPENDIX.read_text()
    section = text.split("### Step by step", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", section, re.S):
        lines = body.strip().splitlines()
        role = "student" if lines[0].startswith("# student") else "instructor"
        assert lines[0].startswith(("# student", "# instructor")), lines[0]
        blocks.append((role, [ln.strip() for ln in lines[1:] if ln.strip()
                              and not ln.startswith("#")]))
    return blocks


@dataclass
class Flow:
    course: Path
    homes: dict
    logs: dict  # command line (and student) -> output


def _student_env(home: Path, student: str) -> dict:
    # getpass.getuser(), which nbgrader uses for the submission's student id, reads LOGNAME
    return env(HOME=str(home), LOGNAME=student, USER=student,
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"))


def _fill(path: Path, answers: dict) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, path)


def _fresh_course(dest: Path) -> Path:
    """The course's tracked files, as a fresh clone holds them."""
    files = subprocess.run(["git", "ls-files", "nbgrader_config.py", "solutions", "exercises"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert "exercises/huber/huber.ipynb" in files, files
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


def _platform_download(course: Path) -> None:
    """What a learning platform's "download all submissions" gives, in archive/."""
    release = build.release_notebook()

    def notebook(answers):
        return nbformat.writes(build.make_notebook(build.Case("x", "", "", answers), release))

    honest, wrong = notebook(both(CORRECT_LOSS, CORRECT_GRAD)), notebook(WRONG)
    gina, hank = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(gina, "w") as zf:  # zipped before uploading
        zf.writestr("huber.ipynb", honest)
    with zipfile.ZipFile(hank, "w") as zf:  # names another student inside the upload
        zf.writestr("erin_huber.ipynb", wrong)
    archive = course / "downloaded" / "huber" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms_download.zip", "w") as zf:
        zf.writestr("submissions/erin_huber.ipynb", honest)
        zf.writestr("submissions/frank_20931_77812_huber-Copy1.ipynb", honest)
        zf.writestr("submissions/gina_20931_77813_huber.zip", gina.getvalue())
        zf.writestr("submissions/hank_20931_77814_huber.zip", hank.getvalue())
        zf.writestr("submissions/ivan_20931_77815_huber.zip", b"this is not a zip file")


def _inbound_attacks(inbound: Path, course: Path) -> None:
    """mallory's entry (a copy of bob's whose notebook links to the solution) and one that
    nbgrader cannot parse; neither may stop collect or earn anything."""
    bob = next(inbound.glob("bob+huber+*"))
    _, assignment, stamp, *rest = bob.name.split("+")
    mallory = inbound / "+".join(["mallory", assignment, stamp, *rest])
    shutil.copytree(bob, mallory)
    (mallory / "huber.ipynb").unlink()
    (mallory / "huber.ipynb").symlink_to(course / "solutions" / "huber" / "huber.ipynb")
    shutil.copytree(bob, inbound / "zed+huber+not-a-time+x")


def class_folders(base: Path, course: Path) -> tuple[Path, dict[str, Path]]:
    """The exchange (shared, world-writable), the roster (``students.csv`` in the course) and a
    home folder for each student of EXCHANGE_STUDENTS, configured for the exchange."""
    exchange = base / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    (course / "students.csv").write_text(
        "id,last_name,first_name,email\n" + "".join(f"{s},{s.title()},Student,{s}@uni.example\n"
                                                    for s in ROSTER))
    homes = {}
    for student in EXCHANGE_STUDENTS:
        home = base / "home" / student
        (home / ".jupyter").mkdir(parents=True)
        # what a course's JupyterHub image provides to every student
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n"
            "c.CourseDirectory.course_id = 'loss-functions'\n"
            "c.KernelManager.transport = 'ipc'\n"
            # their login name on a shared server; here every student shares one account
            f"c.CourseDirectory.student_id = {student!r}\n")
        homes[student] = home
    return exchange, homes


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> Flow:
    blocks = appendix_commands()
    roles = [role for role, _ in blocks]
    assert roles == ["instructor", "student", "instructor", "student"], roles
    base = tmp_path_factory.mktemp("workflow")
    course = _fresh_course(base / "course")
    exchange, homes = class_folders(base, course)
    teacher = env(LOSSCOURSE_EXCHANGE=str(exchange), HOME=str(base / "instructor"))
    logs: dict[str, str] = {}
    seconds: dict[str, float] = {}

    def run(steps: list[tuple[str, str | None]]) -> None:
        """Run (command line, student or None for the instructor) in order: nbgrader commands in
        one process per stretch, ``python -m ...`` with the course environment's interpreter."""
        commands, labels = [], []

        def flush():
            for result, label in zip(session(commands), labels, strict=True):
                logs[label], seconds[label] = result["log"], result["seconds"]
            commands.clear()
            labels.clear()

        for line, who in steps:
            args = line.split()
            label = f"{who or 'instructor'}: {line}"
            if args[0] == "nbgrader":
                where = course if who is None else homes[who]
                commands.append({"args": args[1:], "cwd": str(where),
                                 "env": teacher if who is None
                                 else _student_env(homes[who], who)})
                labels.append(label)
                continue
            assert args[0] == "python", line
            flush()
            proc = subprocess.run([sys.executable, *args[1:]], cwd=course, env=teacher,
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"{line} failed:\n{proc.stdout}{proc.stderr}"
            logs[label] = proc.stdout
        if commands:
            flush()

    (_, setup), (_, student), (_, grading), (_, feedback) = blocks
    fetch = [c for c in student if "fetch_assignment" in c]
    run([(c, None) for c in setup] + [(c, s) for s in EXCHANGE_STUDENTS for c in fetch])
    for s in EXCHANGE_STUDENTS:
        _fill(homes[s] / "huber" / "huber.ipynb", ANSWERS[s])
    # validation may fail (it is the student's check): every command still exits 0
    run([(c, s) for s in EXCHANGE_STUDENTS for c in student if c not in fetch])
    _inbound_attacks(exchange / "loss-functions" / "inbound", course)
    _platform_download(course)
    run([(c, None) for c in grading] + [(c, "alice") for c in feedback])
    print("command times (s):", seconds)
    (base / "logs.json").write_text(__import__("json").dumps(logs, indent=1))
    return Flow(course, homes, logs)


def test_step_one_records_the_assignment_on_a_fresh_clone(flow):
    log = flow.logs["instructor: nbgrader generate_assignment huber"]
    assert "Skipping existing assignment" not in log, log
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{flow.course / 'gradebook.db'}") as gb:
        assert [n.name for n in gb.find_assignment("huber").notebooks] == ["huber"]
    assert (flow.course / "exercises" / "huber" / "huber.ipynb").read_bytes() == \
        (ROOT / "exercises" / "huber" / "huber.ipynb").read_bytes()


def test_the_overview_table_names_only_commands_the_steps_run(flow):
    """Every nbgrader command in the appendix's overview table is one the test ran."""
    table = APPENDIX.read_text().split("| step | who | command |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(nbgrader [^`]+)`", table))
    ran = {label.split(": ", 1)[1] for label in flow.logs}
    assert listed and listed <= ran, sorted(listed - ran)


def test_validate_tells_the_truth_in_short_lines(flow):
    alice = flow.logs["alice: nbgrader validate huber/huber.ipynb"]
    assert "Success! Your notebook passes all the tests." in alice
    for student in ("bob", "carol"):
        log = flow.logs[f"{student}: nbgrader validate huber/huber.ipynb"]
        assert "VALIDATION FAILED" in log, log[-3000:]
        errors = "\n".join(part.split("\n\n", 1)[1].split("\n\n")[0]
                           for part in log.split("The error was:")[1:])
        assert errors, log[-3000:]
        # no course-package traceback, no line cut by nbgrader's 90-column terminal output
        assert "lossutils/assignments" not in errors and "Traceback" not in errors, errors
        assert not [ln for ln in errors.splitlines() if ln.endswith("...")], errors
        assert "Kernel is running over TCP" not in log
    bob = flow.logs["bob: nbgrader validate huber/huber.ipynb"]
    assert "huber_grad, gradient in the quadratic zone" in bob and "expected:" in bob
    # what grading refuses, validation refuses, in the same words
    carol = flow.logs["carol: nbgrader validate huber/huber.ipynb"]
    refused = IMPORT_REFUSED.format(module="lossutils")
    assert " ".join(refused.split()[:8]) in " ".join(carol.split()), carol[-3000:]
    report = (flow.course / "grading_reports" / "huber" / "carol" / "huber.json").read_text()
    assert refused.replace("'", "\\'") in report or refused in report, report[:3000]


def test_every_submission_route_reached_the_gradebook(flow):
    grades = scores(flow.course, "huber")
    assert set(grades) == {"alice", "bob", "carol", "erin", "frank", "gina", "hank", "mallory"}
    total = {s: sum(v[0] for v in g["grades"].values()) for s, g in grades.items()}
    assert total["alice"] == total["erin"] == total["frank"] == total["gina"] == 20, total
    assert total["bob"] == 9, grades["bob"]  # the loss tests pass, the gradient and experiment not
    assert total["carol"] == 0 and grades["carol"]["flagged"]
    assert total["hank"] == 0, "hank's upload is hank's, whatever its inner file is called"
    assert total["mallory"] == 0 and grades["mallory"]["flagged"], grades["mallory"]
    assert not grades["alice"]["flagged"]


def test_collection_went_on_past_the_bad_upload(flow):
    log = flow.logs["instructor: nbgrader zip_collect huber"]
    assert [ln for ln in log.splitlines() if "ivan" in ln and "skipped" in ln.lower()], log[-3000:]
    assert not (flow.course / "submitted" / "ivan").exists()
    assert sorted(p.name for p in (flow.course / "submitted" / "hank" / "huber").iterdir()) == \
        ["huber.zip__erin_huber.ipynb"]


def test_collect_follows_no_link_and_skips_what_it_cannot_read(flow):
    log = flow.logs["instructor: nbgrader collect huber"]
    assert "zed+huber+not-a-time" in log and "symbolic link" in log, log[-3000:]
    folder = flow.course / "submitted" / "mallory" / "huber"
    assert not (folder / "huber.ipynb").exists() and (folder / "huber.ipynb.symlink.txt").is_file()
    assert not (flow.course / "submitted" / "zed").exists()


def test_export_lists_the_whole_roster_with_reasons(flow):
    with open(flow.course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(ROSTER)
    assert rows["dave"]["status"] == "no submission" and float(rows["dave"]["score"]) == 0
    assert float(rows["alice"]["score"]) == 20 and rows["alice"]["status"] == \
        "graded, written answers to grade"
    assert rows["carol"]["needs_review"] == "yes" and "lossutils" in rows["carol"]["notes"]
    assert "huber-Copy1.ipynb" in rows["frank"]["notes"], rows["frank"]
    assert "uploaded inside the archive" in rows["gina"]["notes"], rows["gina"]
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
    # mallory's collected folder holds no notebook (an empty submission: no feedback page)
    assert {p.parts[-3] for p in pages} == {"alice", "bob", "carol", "erin", "frank", "gina",
                                             "hank"}
    for page in pages:
        text = _text(page)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{page} shows hidden tests: {leaked}"
        assert "Grading report" in text and "huber_loss, quadratic zone" in text
        raw = page.read_text()  # maths as MathML, nothing loaded from the internet
        assert "cdnjs" not in raw and not re.search(r"<script[^>]+src=.https?:", raw), page
        assert "<math" in raw, page
    bob = _text(flow.course / "feedback" / "bob" / "huber" / "huber.html")
    assert "passed (2 / 2 points): huber_loss, quadratic zone" in bob
    assert "FAILED (0 / 3 points): huber_grad, linear zone" in bob
    noise = flow.logs["instructor: nbgrader generate_feedback huber"] + \
        flow.logs["instructor: nbgrader autograde huber"]
    assert "not recognized" not in noise and "SAWarning" not in noise, noise[-3000:]


def test_feedback_went_back_through_the_exchange_only_to_exchange_students(flow):
    log = flow.logs["instructor: nbgrader release_feedback huber"]
    assert "Not released through the exchange" in log and "erin" in log, log[-2000:]
    fetched = list((flow.homes["alice"] / "huber" / "feedback").glob("*/huber.html"))
    assert len(fetched) == 1
    assert "Grading report" in fetched[0].read_text()


def test_class_report_was_written(flow):
    out = flow.course / "grading_reports"
    assert (out / "huber.item_analysis.html").is_file()
    assert (out / "huber.scan_report.csv").is_file()
    scan = (out / "huber.scan_report.csv").read_text()
    assert "submission_secret.txt" not in scan
