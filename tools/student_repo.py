"""Write the public course repository (the student distribution) into a folder, as a git repository.

    python tools/student_repo.py DEST        # or: make student-repo DEST=<folder>

This repository is the instructors' one: besides the book it holds the model answers and hidden
tests (``solutions/``), the secure grader (``grader/``) and the instructors' tests, and it stays
private. Students and readers get a generated repository instead, the one ``repository.url`` in
``_config.yml`` names: the site's repository and launch buttons open it, Binder builds its
environment from it (``binder/``) and the notebooks' set-up cell installs the course package from
it. It holds the chapters, the assignments as released (``exercises/``), the course package, the
site configuration with a table of contents that leaves out the instructors' pages, a lean Binder
environment, a students' README and a students' ``nbgrader_config.py`` (the course configuration
up to its "Instructors only" line: no grading plug-ins).

DEST is created (or may be an empty folder), or refreshed with a new commit when it is a
repository this tool made and nobody has changed since; anything else is refused. The student
repository is never edited by hand: change this repository and run the tool again.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlencode, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent

# What students get, as it is here (folders end in "/"); the requirements files a shipped
# requirements file names (-r/-c) are shipped with it.
SHIPPED = ["_config.yml", "pyproject.toml", "requirements.txt", "binder/", "book/", "exercises/",
           "lossutils/"]
# Written by this tool from the instructors' versions.
GENERATED = ["README.md", "_toc.yml", "nbgrader_config.py", ".gitignore"]
# The course configuration's line after which every setting is the instructors' (the secure
# grader's plug-ins, feedback, export, zip collection). The students' copy stops before it.
CONFIG_CUT = "# ==== Instructors only"
# Text that only the instructors' files contain: nbgrader's solution and hidden-test regions, the
# hidden checks and the grading seed. A shipped file that holds any of it stops the build.
SECRET = re.compile(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)|\bgrader\.hidden\b"
                    r"|LOSSCOURSE_GRADING_SEED")
TRAILER = "Generated-by: tools/student_repo.py"
REQUIREMENT_REFS = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)", re.M)


class Refused(Exception):
    """A reason not to write the distribution, and what to do about it."""


# ---- what goes in --------------------------------------------------------------------------

def _toc_docs(node, in_instructors_part: bool = False):
    """(document, under an instructors' part) for every entry of a _toc.yml structure."""
    if isinstance(node, list):
        for child in node:
            yield from _toc_docs(child, in_instructors_part)
    elif isinstance(node, dict):
        flagged = in_instructors_part or "instructor" in str(node.get("caption", "")).lower()
        if "file" in node:
            yield node["file"], flagged
        for key in ("parts", "chapters", "sections"):
            yield from _toc_docs(node.get(key, []), flagged)


def instructor_pages(toc: dict) -> set[str]:
    """Documents of the table of contents that are for instructors only: those under a part whose
    caption names instructors, and any page whose name does (``book/appendix_instructors``)."""
    return {_doc(doc) for doc, flagged in _toc_docs(toc)
            if flagged or "instructor" in PurePosixPath(doc).name.lower()}


def _doc(path: str) -> str:
    return path.removesuffix(".ipynb").removesuffix(".md")


def student_toc(toc: dict) -> dict:
    """The table of contents without the instructors' pages (and without parts left empty)."""
    drop = instructor_pages(toc)

    def keep(entries):
        kept = []
        for entry in entries:
            if "file" in entry and _doc(entry["file"]) in drop:
                continue
            entry = dict(entry)
            for key in ("chapters", "sections"):
                if key in entry:
                    entry[key] = keep(entry[key])
                    if not entry[key]:
                        del entry[key]
            if "caption" in entry and "chapters" not in entry and "file" not in entry:
                continue  # a part with nothing left in it
            kept.append(entry)
        return kept

    out = dict(toc)
    for key in ("parts", "chapters"):
        if key in out:
            out[key] = keep(out[key])
    return out


def students_nbgrader_config(text: str) -> str:
    """The students' ``nbgrader_config.py``: the course configuration's settings above its
    ``# ==== Instructors only`` line, under a docstring of its own.

    What students run (``validate``, ``fetch_assignment``, ``submit``) needs the course id, the
    folders, the stubs, the time limit and the warning filter, all above that line; below it come
    the grader's plug-ins, which students neither have nor need. A setting above the line that
    names the grader package is refused, so the rule cannot quietly ship a plug-in.
    """
    lines = text.splitlines(keepends=True)
    cuts = [i for i, line in enumerate(lines) if line.startswith(CONFIG_CUT)]
    if len(cuts) != 1:
        raise Refused(f"nbgrader_config.py: expected one line starting with {CONFIG_CUT!r} above "
                      f"the secure-grading settings, found {len(cuts)}. Fix: put exactly one such "
                      "line where the instructors' settings begin.")
    tree = ast.parse(text)
    first = tree.body[0] if tree.body else None
    has_docstring = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                     and isinstance(first.value.value, str))
    start = first.end_lineno if has_docstring else 0
    body = "".join(lines[start:cuts[0]]).strip("\n")
    for node in ast.walk(ast.parse(body)):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.match(r"grader\.", node.value)):
            raise Refused(f"nbgrader_config.py: {node.value!r} names the instructors' grader "
                          f"above the {CONFIG_CUT!r} line. Fix: move that setting below the line.")
    return STUDENT_CONFIG_DOC + "\n" + body + "\n"


STUDENT_CONFIG_DOC = '''\
"""nbgrader configuration for students of the course (generated: do not edit).

Run nbgrader from the folder that holds this file (the repository root): it reads
``nbgrader_config.py`` from the working directory. To check an assignment before you hand it in:

    nbgrader validate exercises/<id>/<id>.ipynb

(JupyterLab's Validate button does the same.) On a course JupyterHub the Assignments panel's Fetch
and Submit use the course's exchange: the hub sets it up, or your instructor tells you the folder
to export as LOSSCOURSE_EXCHANGE.
"""
'''


def requirement_closure(root: Path, name: str) -> list[str]:
    """A requirements file and every file it names with -r/-c, recursively (paths from root)."""
    seen: list[str] = []
    todo = [name]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        path = root / rel
        if not path.is_file():
            raise Refused(f"{rel} is missing but a requirements file names it")
        seen.append(rel)
        text = path.read_text()
        for line in text.splitlines():
            words = line.split("#")[0].split()
            target = words[-1] if words else ""
            if target.startswith("losscourse-grader") or (
                    target.startswith((".", "/")) and (path.parent / target).resolve()
                    == (root / "grader").resolve()):
                raise Refused(f"{rel} installs the instructors' grader ({line.strip()!r}), and "
                              "the student distribution ships this file. Fix: keep the grader in "
                              "requirements-grader.txt.")
        for ref in REQUIREMENT_REFS.findall(text):
            target = (path.parent / ref).resolve()
            if root.resolve() in target.parents:
                todo.append(target.relative_to(root.resolve()).as_posix())
    return seen


def _git(cwd: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                            env=env)
    if result.returncode:
        raise Refused(f"git {' '.join(args)} in {cwd} failed: {result.stderr.strip()}")
    return result.stdout


def source_files(root: Path, toc: dict) -> list[str]:
    """The files of this repository that students get, as paths relative to it.

    The files git tracks, and new ones it does not ignore, as they are in the working tree: an
    unignored file under a shipped folder ships (a new chapter does not wait for its commit).
    """
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    wanted = set(requirement_closure(root, "requirements.txt"))
    wanted |= set(requirement_closure(root, "binder/requirements.txt"))
    # A page ships only if the students' table of contents lists it: the instructors' appendix
    # (book/appendix_instructors.md, on no public page) and drafts stay here.
    public = student_toc(toc)
    public_docs = {_doc(doc) for doc, _ in _toc_docs(public)} | {_doc(public["root"])}
    files = set()
    for rel in filter(None, listed):
        if not (root / rel).is_file():
            continue  # deleted in the working tree, not yet in git
        shipped = rel in wanted or any(
            rel == s or (s.endswith("/") and rel.startswith(s)) for s in SHIPPED)
        page = rel.endswith((".md", ".ipynb")) and rel.startswith(("book/", "exercises/"))
        if shipped and rel not in GENERATED and (not page or _doc(rel) in public_docs):
            files.add(rel)
    return sorted(files)


# ---- the students' README -----------------------------------------------------------------

def _launch_links(config: dict, path: str) -> dict[str, str]:
    """Launch URLs of one notebook, built the way Jupyter Book builds the site's buttons."""
    repo = config["repository"]
    url, branch = repo["url"].rstrip("/"), repo.get("branch", "main")
    org, name = urlsplit(url).path.strip("/").split("/")[:2]
    launch = config.get("launch_buttons", {})
    links = {}
    if launch.get("binderhub_url"):
        links["Binder"] = (f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org}/{name}/{branch}?"
                           + urlencode({"urlpath": f"lab/tree/{path}"}, safe="/"))
    if launch.get("colab_url"):
        colab = launch["colab_url"].rstrip("/")
        links["Colab"] = f"{colab}/github/{org}/{name}/blob/{branch}/{path}"
    if launch.get("jupyterhub_url"):
        links["the course JupyterHub"] = (
            f"{launch['jupyterhub_url'].rstrip('/')}/hub/user-redirect/git-pull?"
            + urlencode({"repo": url, "urlpath": f"lab/tree/{name}/{path}", "branch": branch},
                        safe="/"))
    return links


def readme(config: dict, toc: dict, root: Path) -> str:
    docs = [d for d, _ in _toc_docs(toc)]
    assignments = [d + ".ipynb" for d in docs if d.startswith("exercises/")]
    chapters = [d + ".ipynb" for d in docs
                if d.startswith("book/") and (root / f"{d}.ipynb").is_file()]
    if not assignments or not chapters:
        raise Refused("_toc.yml lists no chapter notebook or no assignment (exercises/...)")

    def launch_line(path: str) -> str:
        return ", ".join(f"[{k}]({v})" for k, v in _launch_links(config, path).items())

    rows = "\n".join(f"| `{a}` | {launch_line(a)} |" for a in assignments)
    first = assignments[0]
    return README.format(
        title=config.get("title", "The course"), url=config["repository"]["url"].rstrip("/"),
        chapter_launch=launch_line(chapters[0]), chapter=chapters[0], rows=rows,
        first=first, first_name=PurePosixPath(first).name, count=len(assignments))


README = """\
# {title}: the course repository

The notebooks of the course website and everything you need to run them: the chapters (`book/`),
the {count} graded assignments as you receive them (`exercises/`) and `lossutils`, the course
package the notebooks import (losses and gradients, data sets, explorers, and the visible checks
and experiments of the assignments). This repository is generated from the course's sources and
replaced as a whole at each release: a change made here is lost at the next one, so report
problems to your instructors.

## Open a notebook in the cloud

Every page of the course website has a launch button (the rocket at the top) that opens that
page's notebook on Binder, on Colab or on the course JupyterHub, all from this repository. For the
first chapter, `{chapter}`: {chapter_launch}. The assignments:

| notebook | open it on |
|---|---|
{rows}

Binder builds its environment from `binder/` (NumPy, a CPU-only PyTorch, matplotlib,
scikit-learn, JupyterLab with nbgrader, and the course package); it takes a few minutes the first
time. Colab and a bare JupyterHub lack the course package: the first cell of every notebook (hidden
on the website) installs it when it is missing and does nothing where it is installed.

## Work on your own computer

With Python 3.11 or newer, from the folder of this repository:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/jupyter lab
```

`requirements.txt` installs the course package with NumPy, PyTorch, matplotlib, scikit-learn,
JupyterLab and nbgrader, at the versions in `constraints.txt` (the ones the website was built
with). On Linux without a GPU, add `--extra-index-url https://download.pytorch.org/whl/cpu` to the
`pip install` line: PyTorch's CPU-only build is a fraction of the default download.

## Do, validate and submit an assignment

Open the notebook (`{first}` for the first one), write your code in the answer cells (the ones
that say `# YOUR CODE HERE`) and run the test cell under each one. The instructions at the top of
each notebook and the book's *Assignments* page (`book/assignments/index.md`) give the rules: in
particular, do not delete, copy, split or rename cells, and keep the file name.

Before you submit, restart the kernel and run every cell, save, then validate: press **Validate**
in JupyterLab, or run, from the repository root,

```bash
.venv/bin/nbgrader validate {first}
```

"Success! Your notebook passes all the tests." means the visible tests pass. The grade also counts
hidden tests of the same properties on other inputs, and a written answer graded by hand.

Submit the way your course says: on the course JupyterHub, *Nbgrader → Assignments → Submit*; or
upload the saved notebook, still named `{first_name}` (and so on), to the course's learning
platform.

## What is here

| path | what it is |
|---|---|
| `book/` | the chapters (notebooks without outputs: run them for the figures), references |
| `exercises/<id>/<id>.ipynb` | the assignments, as released |
| `lossutils/` | the course package (`pip install` this folder, or `-r requirements.txt`) |
| `binder/` | the Binder environment |
| `requirements.txt`, `constraints.txt` | what to install locally, and the versions |
| `nbgrader_config.py` | nbgrader's settings for validating here |
| `_config.yml`, `_toc.yml` | the website's configuration and table of contents |

The course website is built from these files with Jupyter Book; the source of this repository is
{url}.
"""

GITIGNORE = """\
# Made by working here, never part of the course repository.
.venv/
__pycache__/
*.egg-info/
build/
_build/
.ipynb_checkpoints/
"""


# ---- writing the repository -----------------------------------------------------------------

def contents(root: Path = ROOT) -> dict[str, bytes]:
    """Every file of the student distribution: {path in the distribution: bytes}."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = {rel: (root / rel).read_bytes() for rel in source_files(root, toc)}
    public_toc = student_toc(toc)
    files["_toc.yml"] = (
        "# Table of contents of the course (generated from the instructors' one without the\n"
        "# instructors' pages).\n"
        + yaml.safe_dump(public_toc, sort_keys=False, allow_unicode=True)).encode()
    files["nbgrader_config.py"] = students_nbgrader_config(
        (root / "nbgrader_config.py").read_text()).encode()
    files["README.md"] = readme(config, public_toc, root).encode()
    files[".gitignore"] = GITIGNORE.encode()
    for doc, _ in _toc_docs(public_toc):
        if not any(f"{_doc(doc)}{ext}" in files for ext in (".ipynb", ".md")):
            raise Refused(f"_toc.yml lists {doc}, which the student distribution would lack "
                          "(is it new and ignored by git, or outside the shipped folders?)")
    for rel, data in files.items():
        try:
            text = data.decode()
        except UnicodeDecodeError:
            continue
        hit = SECRET.search(text)
        if hit:
            raise Refused(f"{rel} contains {hit.group(0)!r}, which only the instructors' files "
                          "may hold (a solution region, a hidden test, the grading seed). Fix the "
                          "file: for exercises/, regenerate it with `nbgrader generate_assignment "
                          "<id> --force --no-db`.")
    return files


def _check_dest(dest: Path, root: Path, branch: str) -> bool:
    """True when DEST is an earlier distribution to refresh, False when it is new or empty."""
    dest_r, root_r = dest.resolve(), root.resolve()
    if dest_r == root_r or dest_r in root_r.parents:
        raise Refused(f"{dest} holds the instructors' repository: choose a folder outside it.")
    for shipped in SHIPPED:
        if (root_r / shipped.rstrip("/")) in (dest_r, *dest_r.parents):
            raise Refused(f"{dest} is inside {shipped}, which the distribution copies.")
    if not dest.exists():
        return False
    if not dest.is_dir():
        raise Refused(f"{dest} is a file. Fix: give a new or empty folder, or an earlier student "
                      "repository made by this tool.")
    if not any(dest.iterdir()):
        return False
    made_here = (dest / ".git").exists() and Path(
        _git(dest, "rev-parse", "--show-toplevel").strip()).resolve() == dest_r
    message = _git(dest, "log", "-1", "--format=%B") if made_here else ""
    if TRAILER not in message:
        raise Refused(
            f"{dest} is not empty and is not a student repository made by tools/student_repo.py "
            f"(no git repository there whose last commit says {TRAILER!r}). The tool writes a "
            "whole repository: give a new or empty folder, or the student repository itself. If "
            "someone committed to it by hand, reset it to the last generated commit (the student "
            "repository is never edited by hand: change the instructors' repository instead).")
    dirty = _git(dest, "status", "--porcelain")
    if dirty:
        raise Refused(f"{dest} has changes that are not committed:\n{dirty}The student repository "
                      "is never edited by hand: discard them (git stash, git checkout .) first.")
    head = _git(dest, "symbolic-ref", "--short", "HEAD").strip()
    if head != branch:
        raise Refused(f"{dest} is on branch {head!r}, but _config.yml publishes {branch!r}. Fix: "
                      f"`git -C {dest} checkout {branch}` (or correct repository.branch).")
    return True


def _identity_env(dest: Path) -> dict:
    env = dict(os.environ)
    configured = subprocess.run(["git", "-C", str(dest), "config", "user.email"],
                                capture_output=True, text=True).stdout.strip()
    if not configured:
        who = {"NAME": "student_repo.py", "EMAIL": "student-repo@localhost"}
        env.update({f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER")
                    for key, value in who.items()})
    return env


def write(dest: Path, root: Path = ROOT) -> str | None:
    """Write (or refresh) the student repository in DEST; the new commit, or None if unchanged."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    branch = config["repository"].get("branch", "main")
    files = contents(root)
    refresh = _check_dest(dest, root, branch)
    if not refresh:
        dest.mkdir(parents=True, exist_ok=True)
        _git(dest, "init", "-q", "-b", branch)
    else:
        for rel in filter(None, _git(dest, "ls-files", "-z").split("\0")):
            (dest / rel).unlink(missing_ok=True)
        for folder in sorted((p for p in dest.rglob("*") if p.is_dir() and ".git" not in p.parts),
                             key=lambda p: len(p.parts), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    for rel, data in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if rel not in GENERATED and os.access(root / rel, os.X_OK):
            shutil.copymode(root / rel, target)
    _git(dest, "add", "-A")
    if refresh and not _git(dest, "status", "--porcelain"):
        return None
    source = _git(root, "rev-parse", "--short", "HEAD").strip()
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        source += " with uncommitted changes"
    message = (f"Course release generated from the instructors' repository ({source})\n\n"
               "Never edited by hand: change the instructors' repository and run\n"
               "`make student-repo DEST=...` again.\n\n" + TRAILER + "\n")
    _git(dest, "commit", "-q", "-m", message, env=_identity_env(dest))
    return _git(dest, "rev-parse", "HEAD").strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder of the student repository")
    args = parser.parse_args(argv)
    try:
        commit = write(args.dest)
    except Refused as exc:
        print(f"student-repo: {exc}", file=sys.stderr)
        return 1
    tracked = list(filter(None, _git(args.dest, "ls-files", "-z").split("\0")))
    size = sum((args.dest / rel).stat().st_size for rel in tracked)
    state = f"new commit {commit[:12]}" if commit else "already up to date, no new commit"
    print(f"student repository in {args.dest}: {len(tracked)} files, {size} bytes, {state}. "
          f"Push it to {yaml.safe_load((ROOT / '_config.yml').read_text())['repository']['url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
