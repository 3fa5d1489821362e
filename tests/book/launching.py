"""What the launch tests share: fresh virtual environments, notebook runs in them, and the
assignments with the instructor's answers put into the students' answer cells.

A notebook runs in a Jupyter kernel of the environment under test, started by nbclient from that
environment's own Python (never this test process's), with a Jupyter and IPython configuration of
its own and nothing of the course on the path but what the environment installed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import student_repo
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_NAME = urlsplit(CONFIG["repository"]["url"]).path.strip("/").split("/")[1]
BRANCH = CONFIG["repository"].get("branch", "main")
# A cell may take a minute on the site build (execute.timeout); leave room for a loaded machine.
CELL_TIMEOUT = 300
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def toc_notebooks(toc: dict, repo: Path) -> tuple[list[str], list[str]]:
    """(chapters, assignments) of a table of contents: repository paths of its notebooks."""
    docs = [student_repo._doc(doc) for doc, _ in student_repo._toc_docs(toc)]
    notebooks = [f"{d}.ipynb" for d in docs if (repo / f"{d}.ipynb").is_file()]
    return ([p for p in notebooks if p.startswith("book/")],
            [p for p in notebooks if p.startswith("exercises/")])


def students_notebooks() -> tuple[list[str], list[str]]:
    """The chapters and assignments of the student distribution, known before it is built."""
    toc = student_repo.student_toc(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return toc_notebooks(toc, ROOT)


def clean_env(venv: Path, scratch: Path, **extra: str) -> dict[str, str]:
    """Environment variables for commands of ``venv``: its bin first on the PATH, fresh Jupyter,
    IPython and matplotlib folders under ``scratch``, nothing of this test run's environment."""
    keep = {k: v for k, v in os.environ.items()
            if k.startswith("PIP_") or k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")}
    scratch.mkdir(parents=True, exist_ok=True)
    return {**keep, "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "JUPYTER_DATA_DIR": str(scratch / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"),
            "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": str(scratch / "ipython"),
            "MPLCONFIGDIR": str(scratch / "matplotlib"), "PYTHONNOUSERSITE": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", **extra}


def run(cmd: list[str], *, timeout: float = 1200, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def make_venv(path: Path, install: list[str], *, cwd: Path, env: dict[str, str]) -> Path:
    """A fresh virtual environment at ``path`` with ``pip install <install>`` run in ``cwd``;
    returns its Python. Wheels come from pip's usual sources and its cache."""
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(path)])
    python = path / "bin" / "python"
    # --no-compile: byte-compiling all of torch's modules at install time would double the time;
    # the kernels compile what they import.
    run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", *install], cwd=cwd,
        env=env)
    print(f"{path.name}: environment built in {time.monotonic() - started:.0f} s")
    return python


def probe(python: Path, code: str, env: dict[str, str]):
    """The JSON that ``code`` prints when the environment's Python runs it (from its bin folder,
    so that no package of the working folder is found)."""
    result = run([str(python), "-c", code], env=env, cwd=python.parent)
    return json.loads(result.stdout.strip().splitlines()[-1])


RUNNER = r"""
import json, sys, time, traceback
import nbformat
from nbclient import NotebookClient

jobs, timeout = json.load(open(sys.argv[1])), int(sys.argv[2])
for job in jobs:
    nb = nbformat.read(job["notebook"], as_version=4)
    started, failure = time.monotonic(), None
    try:
        NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": job["cwd"]}}).execute()
    except Exception:  # a timeout or a dead kernel: recorded, and the next notebook runs
        failure = traceback.format_exc(limit=3)
    nbformat.write(nb, job["output"])
    job.update(seconds=round(time.monotonic() - started, 1), failure=failure)
    print(json.dumps(job), flush=True)
"""


def run_notebooks(python: Path, jobs: list[dict], *, scratch: Path, env: dict[str, str]) -> dict:
    """Run each job's ``notebook`` in a kernel of ``python``'s environment, from the folder
    ``cwd``, one after the other, saving the executed notebook to ``output``. Cell errors do not
    stop a notebook (they are in its outputs). Returns {output: job with seconds and failure}."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "runner.py").write_text(RUNNER)
    (scratch / "jobs.json").write_text(json.dumps([{k: str(v) for k, v in j.items()}
                                                   for j in jobs]))
    result = run([str(python), str(scratch / "runner.py"), str(scratch / "jobs.json"),
                  str(CELL_TIMEOUT)], env=env, timeout=3600)
    done = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    for job in done:
        print(f"{job['notebook']}: {job['seconds']} s")
    return {job["output"]: job for job in done}


def code_cells(path: str | Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def errors(path: str | Path) -> list[tuple[str, str, str]]:
    """(cell id, exception name, message) of every error output of an executed notebook."""
    return [(c.get("id", "?"), o.ename, o.evalue) for c in code_cells(path) for o in c.outputs
            if o.output_type == "error"]


def not_run(path: str | Path) -> list[str]:
    return [c.get("id", "?") for c in code_cells(path) if c.execution_count is None]


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def answered(release: Path, source: Path) -> nbformat.NotebookNode:
    """The student release with each answer cell holding the instructor's answer (the solution
    region without its markers); every other cell, the tests included, as released."""
    answers = {c.metadata.nbgrader.grade_id: c for c in nbformat.read(source, as_version=4).cells
               if "nbgrader" in c.metadata}
    nb = copy.deepcopy(nbformat.read(release, as_version=4))
    filled = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = answers[meta["grade_id"]].source.splitlines(keepends=True)
            cell.source = "".join(line for line in lines if not SOLUTION_MARKER.match(line))
            filled += 1
    assert filled, f"{release}: no answer cell (nbgrader solution cell) to fill"
    answers_text = "\n".join(c.source for c in nb.cells if "nbgrader" in c.metadata
                             and c.metadata.nbgrader.get("solution"))
    assert "YOUR CODE HERE" not in answers_text and "YOUR ANSWER HERE" not in answers_text
    assert "HIDDEN TESTS" not in "\n".join(c.source for c in nb.cells), release
    return nb
