"""Open in Colab, as a student meets it: a fresh Python with NumPy, matplotlib, PyTorch and
scikit-learn (the versions of constraints.txt) and what runs notebooks, but no course package.

``LOSSCOURSE_PACKAGE_SOURCE`` points the notebooks' hidden set-up cell at the student distribution
(``lossutils @ git+file://localhost/<folder>@<branch>``: the same kind of requirement as the
configured ``git+https://`` one; pip's requirement parser wants a host in the URL). The first
chapter and the first assignment (with the instructor's answers in its answer cells, its tests as
released) then run end to end, from an empty working folder like Colab's ``/content``: the first
installs the package, the second finds it.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
import yaml
from launching import (
    BRANCH,
    ROOT,
    answered,
    clean_env,
    code_cells,
    errors,
    make_venv,
    not_run,
    printed,
    probe,
    run_notebooks,
    toc_notebooks,
)

pytestmark = pytest.mark.slow

COLAB_PACKAGES = ["numpy", "matplotlib", "torch", "scikit-learn", "ipykernel", "nbclient"]
WHERE = """import importlib.util, json
spec = importlib.util.find_spec("lossutils")
print(json.dumps(spec and spec.origin))"""
INSTALLED_FROM = """import importlib.metadata, json
print(json.dumps(importlib.metadata.distribution("lossutils").read_text("direct_url.json")))"""


@pytest.fixture(scope="module")
def colab(student_dist, tmp_path_factory):
    base = tmp_path_factory.mktemp("colab")
    source = f"lossutils @ git+file://localhost{student_dist}@{BRANCH}"
    env = clean_env(base / "venv", base / "scratch", LOSSCOURSE_PACKAGE_SOURCE=source)
    python = make_venv(base / "venv", ["-c", str(student_dist / "constraints.txt"),
                                       *COLAB_PACKAGES], cwd=base, env=env)
    before = probe(python, WHERE, env)
    chapters, assignments = toc_notebooks(
        yaml.safe_load((student_dist / "_toc.yml").read_text()), student_dist)
    chapter, release = student_dist / chapters[0], student_dist / assignments[0]
    solved = base / release.name
    source_nb = ROOT / "solutions" / release.parent.name / release.name
    nbformat.write(answered(release, source_nb), solved)
    content = base / "content"  # Colab's working folder: nothing of the course in it
    content.mkdir()
    jobs = [{"notebook": chapter, "cwd": content, "output": base / f"ran-{chapter.name}"},
            {"notebook": solved, "cwd": content, "output": base / f"ran-{release.name}"}]
    runs = run_notebooks(python, jobs, scratch=base / "scratch", env=env)
    yield {"python": python, "env": env, "before": before, "source": source, "runs": runs,
           "outputs": [str(j["output"]) for j in jobs], "dist": student_dist}
    shutil.rmtree(base / "venv", ignore_errors=True)  # 1 GB of wheels, rebuilt every session


def test_the_environment_starts_without_the_course_package(colab):
    assert colab["before"] is None, f"lossutils is already importable: {colab['before']}"


def test_the_first_notebook_installs_the_package_from_the_configured_source(colab):
    chapter, assignment = colab["outputs"]
    setup = [printed(code_cells(path)[0]) for path in (chapter, assignment)]
    assert f"Installing the course package from {colab['source']}" in setup[0], setup[0]
    assert setup[1] == "", f"the package was installed, yet the next notebook says: {setup[1]!r}"
    origin = probe(colab["python"], WHERE, colab["env"])
    assert origin and str(colab["python"].parent.parent) in origin, origin
    installed_from = probe(colab["python"], INSTALLED_FROM, colab["env"])
    assert f"file://localhost{colab['dist']}" in installed_from, installed_from


@pytest.mark.parametrize("which", [0, 1], ids=["chapter", "assignment"])
def test_every_cell_runs_without_error(colab, which):
    output = colab["outputs"][which]
    job = colab["runs"][output]
    assert job["failure"] is None, f"{job['notebook']} stopped:\n{job['failure']}"
    assert not not_run(output), f"{job['notebook']}: cells that did not run: {not_run(output)}"
    assert not errors(output), f"{job['notebook']}: {errors(output)}"
