"""Binder, as repo2docker builds it: a fresh environment from the ``binder/`` files of a clone of
the student distribution alone (``pip install -r binder/requirements.txt`` from the clone's root),
then every chapter and every assignment run in it, from their own folders as JupyterLab runs them.

- Every chapter runs without an error.
- Every assignment as released fails only where a student has work to do: each error comes from an
  answer stub's ``NotImplementedError`` (raised directly or reported by a visible check), none is
  an ImportError or anything else.
- With the instructor's answers in its answer cells (tests as released) it runs without an error,
  and ``nbgrader validate`` passes it there, with the students' ``nbgrader_config.py``; the
  released notebook does not pass.

PyTorch's CPU index (binder/requirements.txt) is out of reach on the test machine, whose pip finds
the same CPU wheel locally: pip gives up on that index at once (no retries, a short timeout).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import nbformat
import pytest
import yaml
from launching import (
    REPO_NAME,
    ROOT,
    answered,
    clean_env,
    errors,
    make_venv,
    not_run,
    probe,
    run,
    run_notebooks,
    students_notebooks,
    toc_notebooks,
)

pytestmark = pytest.mark.slow

CHAPTERS, ASSIGNMENTS = students_notebooks()
STUB = "NotImplementedError"
LEAN = """import importlib.util, json, torch, lossutils
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
                  "lossutils": lossutils.__file__,
                  "absent": [m for m in ("jupyter_book", "playwright", "pytest", "grader", "nbval")
                             if importlib.util.find_spec(m) is None]}))"""


@pytest.fixture(scope="module")
def binder(student_dist, tmp_path_factory):
    base = tmp_path_factory.mktemp("binder")
    clone = base / REPO_NAME
    run(["git", "clone", "-q", str(student_dist), str(clone)])
    env = clean_env(base / "venv", base / "scratch")
    python = make_venv(base / "venv", ["--retries", "0", "--timeout", "5",
                                       "-r", "binder/requirements.txt"], cwd=clone, env=env)
    yield {"clone": clone, "python": python, "env": env, "base": base}
    shutil.rmtree(base / "venv", ignore_errors=True)  # 1 GB of wheels, rebuilt every session


@pytest.fixture(scope="module")
def runs(binder):
    """Every chapter and assignment as released, then every assignment answered."""
    clone, base = binder["clone"], binder["base"]
    chapters, assignments = toc_notebooks(yaml.safe_load((clone / "_toc.yml").read_text()), clone)
    assert (chapters, assignments) == (CHAPTERS, ASSIGNMENTS), "the clone's table of contents"
    out = base / "executed"
    jobs = [{"notebook": clone / nb, "cwd": (clone / nb).parent, "output": out / nb}
            for nb in chapters + assignments]
    for nb in assignments:
        solved = base / "answered" / nb
        solved.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(answered(clone / nb, ROOT / "solutions" / nb.removeprefix("exercises/")),
                       solved)
        jobs.append({"notebook": solved, "cwd": (clone / nb).parent,
                     "output": out / "answered" / nb})
    for job in jobs:
        job["output"].parent.mkdir(parents=True, exist_ok=True)
    done = run_notebooks(binder["python"], jobs, scratch=base / "scratch", env=binder["env"])
    return {nb: done[str(out / nb)] for nb in chapters + assignments} | {
        f"answered/{nb}": done[str(out / "answered" / nb)] for nb in assignments}


def test_the_environment_is_the_lean_cpu_one_with_the_course_package(binder):
    runtime = (binder["clone"] / "binder" / "runtime.txt").read_text().strip()
    version = probe(binder["python"], "import json, sys; print(json.dumps(sys.version))",
                    binder["env"])
    assert runtime == "python-" + ".".join(version.split(".")[:2]), (
        f"binder/runtime.txt asks for {runtime}; this test ran Python {version}")
    found = probe(binder["python"], LEAN, binder["env"])
    assert found["cuda"] is None and found["torch"].endswith("+cpu"), found
    assert found["lossutils"].startswith(str(binder["clone"] / "lossutils")), found["lossutils"]
    assert len(found["absent"]) == 5, f"Binder installs development or grading tools: {found}"
    check = subprocess.run([str(binder["python"]), "-m", "pip", "check"], capture_output=True,
                           text=True, env=binder["env"])
    assert check.returncode == 0, check.stdout + check.stderr


def ran_through(job: dict) -> None:
    assert job["failure"] is None, f"{job['notebook']} stopped:\n{job['failure']}"
    assert not not_run(job["output"]), f"{job['notebook']}: cells not run: {not_run(job['output'])}"


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_every_chapter_runs(runs, notebook):
    ran_through(runs[notebook])
    assert not errors(runs[notebook]["output"]), errors(runs[notebook]["output"])


@pytest.mark.parametrize("notebook", ASSIGNMENTS)
def test_a_released_assignment_fails_only_at_its_stubs(runs, notebook):
    job = runs[notebook]
    ran_through(job)
    found = errors(job["output"])
    answers = [c for c in nbformat.read(job["notebook"], as_version=4).cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert len(found) >= len(answers), f"{notebook}: the stubs raised nowhere? {found}"
    others = [e for e in found if not (e[1] == STUB or f"raised {STUB}" in e[2])]
    assert not others, f"{notebook}: errors that are not a stub's {STUB}: {others}"
    assert not [e for e in found if re.search(r"Import|ModuleNotFound", e[1] + e[2])]


@pytest.mark.parametrize("notebook", ASSIGNMENTS)
def test_an_answered_assignment_runs_clean(runs, notebook):
    job = runs[f"answered/{notebook}"]
    ran_through(job)
    assert not errors(job["output"]), f"{notebook} with the instructor's answers: " \
                                      f"{errors(job['output'])}"


def validate(binder, notebook: str) -> str:
    result = run([str(binder["python"].parent / "nbgrader"), "validate", notebook],
                 cwd=binder["clone"], env=binder["env"], timeout=900)
    return result.stdout + result.stderr


@pytest.mark.parametrize("notebook", ASSIGNMENTS)
def test_nbgrader_validate_passes_the_answered_assignment(binder, runs, notebook):
    # Where a student works: the released notebook in the clone, answered in place.
    target = binder["clone"] / notebook
    if notebook == ASSIGNMENTS[0]:
        report = validate(binder, notebook)
        assert "VALIDATION FAILED" in report, f"validate passed the released notebook:\n{report}"
    nbformat.write(nbformat.read(runs[f"answered/{notebook}"]["notebook"], as_version=4), target)
    report = validate(binder, notebook)
    assert "Success! Your notebook passes all the tests." in report, report
