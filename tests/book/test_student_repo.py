"""The student distribution (tools/student_repo.py): what students get, and that no secret is in it.

Built once per session from this checkout (tests/book/conftest.py). Every non-trivial line of the
solution and hidden-test regions of ``solutions/*/*.ipynb`` and of the hidden checks
(``grader/hidden/``) must be absent from every file, as must nbgrader's region markers, the hidden
checks' module, the grading seed's variable and any path into ``grader/`` or ``solutions/``. The
secrets are the ones tests/browser/test_site_leaks.py keeps off the site (``sitepages``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import student_repo
import yaml
from launching import BRANCH, ROOT
from sitepages import MARKERS, TextIndex, normalise, public_code, secret_lines
from sphinx_external_toc.parsing import parse_toc_data

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
TOP_LEVEL = {".gitignore", "README.md", "_config.yml", "_toc.yml", "binder", "book",
             "constraints.txt", "exercises", "lossutils", "nbgrader_config.py", "pyproject.toml",
             "requirements.txt"}
# Copied as they are: every file git has under these folders, but the instructors' pages.
COPIED = ["book", "exercises", "lossutils", "binder"]
FORBIDDEN = {
    "an nbgrader region marker": MARKERS,
    "the hidden checks' module": re.compile(r"\bgrader\.hidden\b"),
    "the grading seed": re.compile("LOSSCOURSE_GRADING_SEED"),
    "a path into grader/ or solutions/": re.compile(r"(?<![\w.-])(grader|solutions)/"),
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout


def tracked(cwd: Path, *paths: str) -> list[str]:
    return sorted(filter(None, git(cwd, "ls-files", "-z", *paths).split("\0")))


def in_checkout(*paths: str) -> list[str]:
    """Files of this checkout under ``paths`` that git tracks or would add (not ignored)."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", *paths)
    return sorted(p for p in set(listed.split("\0")) if p and (ROOT / p).is_file())


def toc_docs(toc: dict) -> list[str]:
    return [student_repo._doc(doc) for doc, _ in student_repo._toc_docs(toc)]


@pytest.fixture(scope="module")
def dist_text(student_dist) -> TextIndex:
    return TextIndex(student_dist, skip=(".git/",))


# ---- the repository itself ----------------------------------------------------------------

def test_a_fresh_build_is_one_clean_generated_commit(student_dist):
    assert git(student_dist, "status", "--porcelain", "--ignored") == "", "files left uncommitted"
    assert git(student_dist, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(student_dist, "symbolic-ref", "--short", "HEAD").strip() == BRANCH
    assert student_repo.TRAILER in git(student_dist, "log", "-1", "--format=%B")
    on_disk = sorted(p.relative_to(student_dist).as_posix() for p in student_dist.rglob("*")
                     if p.is_file() and ".git" not in p.relative_to(student_dist).parts)
    assert on_disk == tracked(student_dist)


def test_it_holds_what_students_need_and_nothing_else(student_dist):
    top = {p.name for p in student_dist.iterdir() if p.name != ".git"}
    assert top == TOP_LEVEL, f"unexpected: {sorted(top - TOP_LEVEL)}, missing: {TOP_LEVEL - top}"
    toc = yaml.safe_load((student_dist / "_toc.yml").read_text())
    pages = set(toc_docs(toc)) | {toc["root"]}
    want = [p for p in in_checkout(*COPIED)
            if not p.endswith((".md", ".ipynb")) or student_repo._doc(p) in pages]
    assert "book/appendix_instructors.md" in in_checkout("book")
    assert "book/appendix_instructors.md" not in want
    assert tracked(student_dist, *COPIED) == want
    for rel in want + ["_config.yml", "pyproject.toml", "requirements.txt", "constraints.txt"]:
        assert (student_dist / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} differs"


def test_every_requirements_file_it_names_is_there(student_dist):
    for req in ("requirements.txt", "binder/requirements.txt"):
        for ref in student_repo.REQUIREMENT_REFS.findall((student_dist / req).read_text()):
            assert (student_dist / req).parent.joinpath(ref).is_file(), f"{req} names {ref}"


def test_no_file_of_the_grader_is_in_it(student_dist):
    grader = {p.read_bytes() for p in (ROOT / "grader").rglob("*.py") if p.stat().st_size > 200}
    assert grader, "no grader/*.py found to compare with"
    copies = [p.relative_to(student_dist).as_posix() for p in student_dist.rglob("*")
              if p.is_file() and ".git" not in p.parts and p.read_bytes() in grader]
    assert not copies, f"files of grader/ in the distribution: {copies}"


def test_notebooks_carry_no_outputs(student_dist):
    # An executed instructor notebook would carry the model answers' results.
    for path in sorted(student_dist.rglob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path


# ---- secrets ----------------------------------------------------------------------------------

def test_every_assignment_has_secrets_to_look_for():
    assert SOLUTIONS, f"no solutions/*/*.ipynb under {ROOT}"
    for source in SOLUTIONS:
        assert len(secret_lines(source, ROOT)) >= 3, f"{source}: no solution lines found"


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_no_solution_or_hidden_test_line(source, student_dist, dist_text):
    assert len(dist_text.files) >= 20, f"only {len(dist_text.files)} text files in the distribution"
    leaks = [f"{line!r} in {hits[:4]}" for line in dict.fromkeys(secret_lines(source, ROOT))
             if (hits := dist_text.where(line))]
    assert not leaks, (f"{len(leaks)} lines of {source.relative_to(ROOT)} are in the student "
                       "distribution:\n" + "\n".join(leaks[:30]))


def test_no_line_of_the_hidden_checks(dist_text):
    # Lines the course package also holds (shared names, imports) are public by design.
    public = "\n".join(sorted(public_code(ROOT)))
    modules = sorted((ROOT / "grader" / "hidden").glob("*.py"))
    lines = {normalise(line): path.name
             for path in modules for line in path.read_text().splitlines()}
    secrets = {line: name for line, name in lines.items()
               if len(line) >= 12 and line not in public}
    assert len(secrets) > 100, f"only {len(secrets)} lines in grader/hidden/*.py to look for"
    leaks = [f"{line!r} (grader/hidden/{name}) in {hits[:4]}" for line, name in secrets.items()
             if (hits := dist_text.where(line))]
    assert not leaks, "hidden-check lines in the distribution:\n" + "\n".join(leaks[:30])


@pytest.mark.parametrize("what", FORBIDDEN)
def test_no_instructor_only_text(what, dist_text):
    hits = dist_text.where(FORBIDDEN[what])
    assert not hits, f"{what} in {hits}"


def test_the_secret_search_finds_what_it_looks_for(tmp_path):
    # The same search over a folder holding one solution line and one marker must see both.
    source = SOLUTIONS[0]
    line = secret_lines(source, ROOT)[0]
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [{"source": ["  " + line + "\n"]}]}))
    (tmp_path / "b.py").write_text("from grader.hidden import huber  # see solutions/huber\n")
    index = TextIndex(tmp_path)
    assert index.where(line) == ["a.ipynb"]
    for what in ("the hidden checks' module", "a path into grader/ or solutions/"):
        assert index.where(FORBIDDEN[what]) == ["b.py"], what


# ---- the students' table of contents and nbgrader configuration -----------------------------

def test_the_table_of_contents_is_the_course_one_without_the_instructors_pages(student_dist):
    course = yaml.safe_load((ROOT / "_toc.yml").read_text())
    students = yaml.safe_load((student_dist / "_toc.yml").read_text())
    parse_toc_data(students)  # Jupyter Book's own reader accepts it
    dropped = student_repo.instructor_pages(course)
    assert not dropped & set(toc_docs(students))
    assert toc_docs(students) == [d for d in toc_docs(course) if d not in dropped]
    for doc in toc_docs(students):
        assert any((student_dist / f"{doc}{ext}").is_file() for ext in (".ipynb", ".md")), doc
    assert not (student_dist / "book" / "appendix_instructors.md").exists()


def test_an_instructors_part_of_the_contents_is_left_out():
    # The course's contents has no instructors' page today; one added later stays private.
    course = yaml.safe_load((ROOT / "_toc.yml").read_text())
    with_guide = {**course, "parts": [*course["parts"], {
        "caption": "For instructors", "chapters": [{"file": "book/grading_guide"}]}]}
    assert student_repo.instructor_pages(with_guide) == {"book/grading_guide"}
    assert student_repo.student_toc(with_guide) == course


LOAD_CONFIG = r"""
import importlib.abc, json, re, sys
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

class NoGrader(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "grader" or name.startswith("grader."):
            raise ModuleNotFoundError(f"No module named {name!r} (the grader is not installed)")

sys.meta_path.insert(0, NoGrader())
config = PyFileConfigLoader(sys.argv[1]).load_config()
flat = {f"{cls}.{key}": value for cls, section in config.items() for key, value in section.items()}
for key, value in flat.items() if sys.argv[2:] != ["--no-imports"] else ():
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", item):
            import_item(item)  # a class or function nbgrader would load
print(json.dumps(flat, default=str))
"""


def load_config(path: Path, *, imports: bool = True) -> subprocess.CompletedProcess:
    """Load an nbgrader configuration where the grader package cannot be imported, and import
    every class or function it names, as nbgrader would (unless ``imports`` is false)."""
    return subprocess.run([sys.executable, "-c", LOAD_CONFIG, str(path)]
                          + ([] if imports else ["--no-imports"]), capture_output=True,
                          text=True, cwd=path.parent, env={"PATH": "/usr/bin:/bin"})


def test_the_students_nbgrader_config_loads_without_the_grader(student_dist):
    students = load_config(student_dist / "nbgrader_config.py")
    assert students.returncode == 0, students.stderr
    course = load_config(ROOT / "nbgrader_config.py")
    assert course.returncode != 0 and "grader" in course.stderr, (
        "the course configuration should name the grader's plug-ins, and fail here without it")


def test_the_students_nbgrader_config_keeps_the_course_settings_students_use(student_dist):
    students = json.loads(load_config(student_dist / "nbgrader_config.py").stdout)
    course = json.loads(load_config(ROOT / "nbgrader_config.py", imports=False).stdout)
    for key in ("CourseDirectory.course_id", "CourseDirectory.source_directory",
                "CourseDirectory.release_directory", "ClearSolutions.code_stub",
                "ClearSolutions.text_stub", "Execute.timeout", "IgnorePattern.enabled",
                "IgnorePattern.pattern"):
        assert key in students, f"the students' nbgrader_config.py lacks {key}"
    assert {k: course[k] for k in students} == students
    left_out = set(course) - set(students)
    assert {"Autograde.sanitize_preprocessors", "SecureExecute.call_timeout"} <= left_out


def test_the_config_rule_keeps_what_is_above_the_line_and_refuses_plugins_there():
    text = ('"""Instructors\' notes: solutions/ ..."""\n\nc = get_config()\n'
            'c.Execute.timeout = 60\n\n# ==== Instructors only from here on\n'
            'c.Autograde.exporter_class = "grader.nbgrader_plugin.TolerantExporter"\n')
    out = student_repo.students_nbgrader_config(text)
    assert out.startswith(student_repo.STUDENT_CONFIG_DOC)
    assert "c.Execute.timeout = 60" in out and "solutions/" not in out and "Autograde" not in out
    compile(out, "nbgrader_config.py", "exec")
    with pytest.raises(student_repo.Refused, match="found 0"):
        student_repo.students_nbgrader_config(text.replace("# ====", "# ----"))
    with pytest.raises(student_repo.Refused, match="found 2"):
        student_repo.students_nbgrader_config(text + "# ==== Instructors only, again\n")
    plugin_above = text.replace("c.Execute.timeout = 60",
                                'c.Autograde.pre_convert_hook = "grader.intake.hook"')
    with pytest.raises(student_repo.Refused, match="move that setting below"):
        student_repo.students_nbgrader_config(plugin_above)


# ---- Binder files -----------------------------------------------------------------------------

def requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\s\[=<>!~;@]", line)[0].lower().replace("_", "-"))
    return names


def test_binder_is_lean_cpu_only_and_pinned_by_the_constraints(student_dist):
    binder = student_dist / "binder"
    assert sorted(p.name for p in binder.iterdir()) == ["requirements.txt", "runtime.txt"]
    text = (binder / "requirements.txt").read_text()
    names = requirement_names(binder / "requirements.txt")
    for needed in ("torch", "numpy", "matplotlib", "scikit-learn", "jupyterlab", "nbgrader",
                   "ipywidgets", "tqdm"):
        assert needed in names, f"binder/requirements.txt lacks {needed}"
    for unwanted in ("jupyter-book", "playwright", "pytest", "losscourse-grader", "nbval", "ruff"):
        assert unwanted not in names, f"binder/requirements.txt installs {unwanted}"
    assert re.search(r"(?m)^-e \.$", text), "the course package from the repository itself"
    assert re.search(r"(?m)^-c \.\./constraints\.txt$", text)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    constraints = (ROOT / "constraints.txt").read_text()
    pins = {name.lower().replace("_", "-"): version
            for name, version in re.findall(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)", constraints)}
    for name in names:
        assert name in pins, f"binder/requirements.txt: {name} has no pin in constraints.txt"
    (torch,) = re.findall(r"(?m)^torch==(\S+)$", text)
    assert torch == pins["torch"].split("+")[0] + "+cpu", f"torch {torch} vs {pins['torch']}"
    runtime = (binder / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    (minor,) = re.fullmatch(r">=3\.(\d+)", required).groups()
    assert int(runtime.split(".")[1]) >= int(minor), f"{runtime} but pyproject needs {required}"


# ---- writing and refreshing ---------------------------------------------------------------

def test_a_refresh_without_changes_makes_no_commit(student_dist, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(student_dist), str(clone))
    assert student_repo.write(clone, ROOT) is None
    assert git(clone, "rev-list", "--count", "HEAD").strip() == "1"


def test_a_refresh_writes_what_changed_as_a_new_commit(student_dist, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(student_dist), str(clone))
    # An earlier release: one chapter missing, one file that is no longer shipped.
    chapter = tracked(clone, "book/*.ipynb")[0]
    git(clone, "rm", "-q", chapter)
    (clone / "lossutils" / "retired.py").write_text("OLD = 1\n")
    git(clone, "add", "lossutils/retired.py")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--amend", "--no-edit")
    commit = student_repo.write(clone, ROOT)
    assert commit and git(clone, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(clone, "diff", "--name-status", "HEAD~1", "HEAD").splitlines() == [
        f"A\t{chapter}", "D\tlossutils/retired.py"]
    assert git(clone, "status", "--porcelain", "--ignored") == ""
    assert tracked(clone) == tracked(student_dist)


def test_a_folder_that_is_not_a_student_repository_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(student_repo.Refused, match="not empty and is not a student repository"):
        student_repo.write(tmp_path, ROOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"], "the folder was touched"


def test_a_repository_edited_by_hand_is_refused(student_dist, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(student_dist), str(clone))
    (clone / "README.md").write_text("edited\n")
    with pytest.raises(student_repo.Refused, match="not committed"):
        student_repo.write(clone, ROOT)
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "hand edit")
    with pytest.raises(student_repo.Refused, match="never edited by hand"):
        student_repo.write(clone, ROOT)


def test_a_folder_inside_what_it_copies_is_refused():
    for dest in (ROOT, ROOT / "book" / "dist"):
        with pytest.raises(student_repo.Refused):
            student_repo.write(dest, ROOT)


def test_the_command_line_reports_the_repository(tmp_path, capsys):
    assert student_repo.main([str(tmp_path / "out")]) == 0
    assert re.search(r"\d+ files, \d+ bytes, new commit [0-9a-f]{12}", capsys.readouterr().out)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    assert student_repo.main([str(tmp_path / "other")]) == 1
    assert "not a student repository" in capsys.readouterr().err
