"""Build submission folders for the adversarial and reliability cases.

Each case starts from the student version of the assignment (``exercises/<id>/<id>.ipynb``),
replaces the answer cells, and may add cells, files, rename the notebook, corrupt it or change
its structure. ``python tests/grader/adversarial/build.py OUT`` writes
``OUT/submitted/<student>/huber/`` for every case, to inspect them or to grade them with the plain
nbgrader commands.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[3]
ASSIGNMENT = "huber"


@dataclass
class Case:
    """One submission. ``expect`` is "full" (every autograded test passes), "zero" (none
    passes) or a set of test grade ids that must pass (all others fail)."""

    student: str
    category: str
    description: str
    answers: dict[str, str]
    expect: str | frozenset = "full"
    review: bool | None = None  # whether the grader must flag it (None: not checked)
    extra_cells: list[tuple[str, str]] = field(default_factory=list)  # (after grade id, code)
    files: dict[str, str] = field(default_factory=dict)  # extra files in the folder
    transform: Callable | None = None  # edits the notebook node before it is written
    notebook_name: str | None = f"{ASSIGNMENT}.ipynb"  # None: no notebook at all
    raw: str | None = None  # written instead of the notebook (corrupt files)
    note_codes: tuple[str, ...] = ()  # note codes the grader must report
    # more notebooks in the folder: name -> answers; written first, with an older timestamp
    older_notebooks: dict[str, dict[str, str]] = field(default_factory=dict)
    # symbolic links in the folder: name -> target relative to the course root ("." replaces
    # the submission folder itself by a link)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def honest(self) -> bool:
        return self.expect == "full"


def release_notebook() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def make_notebook(case: Case, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in case.answers:
            cell.source = case.answers[gid]
    for after, source in case.extra_cells:
        index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == after)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    if case.transform is not None:
        nb = case.transform(nb) or nb
    return nb


def write_case(case: Case, submitted: Path, release: nbformat.NotebookNode) -> Path:
    folder = submitted / case.student / ASSIGNMENT
    if "." in case.links:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.symlink_to(submitted.parent / case.links["."], target_is_directory=True)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in case.links.items():
        (folder / name).symlink_to(submitted.parent / target)
    for name, text in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for k, (name, answers) in enumerate(sorted(case.older_notebooks.items())):
        older = Case(case.student, case.category, "", answers)
        nbformat.write(make_notebook(older, release), folder / name)
        stamp = time.time() - 3600 * (k + 1)
        os.utime(folder / name, (stamp, stamp))
    if case.notebook_name:
        target = folder / case.notebook_name
        if case.raw is not None:
            target.write_text(case.raw)
        else:
            nbformat.write(make_notebook(case, release), target)
    return folder


def all_cases() -> list[Case]:
    from . import (
        denial,
        extra_cells,
        honest_styles,
        ipython_hooks,
        lying,
        markup,
        module_shims,
        monkeypatch,
        paths,
        read_files,
        reference,
        spreadsheet,
        write_gradebook,
    )

    cases = []
    for module in (reference, monkeypatch, lying, ipython_hooks, extra_cells, read_files,
                   write_gradebook, module_shims, denial, honest_styles, markup, spreadsheet,
                   paths):
        cases += module.CASES
    return cases


def reliability_cases() -> list[Case]:
    from . import reliability

    return list(reliability.CASES)


def main(out: str) -> None:
    release = release_notebook()
    submitted = Path(out) / "submitted"
    cases = all_cases() + reliability_cases()
    for case in cases:
        write_case(case, submitted, release)
    print(json.dumps({c.student: {"category": c.category, "expect": sorted(c.expect)
                                  if isinstance(c.expect, frozenset) else c.expect}
                      for c in cases}, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from adversarial.build import main as _main  # the package-relative imports need this

    _main(sys.argv[1])
