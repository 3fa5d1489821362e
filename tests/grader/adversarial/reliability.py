"""Broken or unusual submissions: each must affect only its student, with a clear reason."""

import copy
import json

import nbformat

from ._answers import CORRECT_GRAD, CORRECT_LOSS, HONEST, WRONG, WRONG_LOSS, both
from .build import Case, make_notebook, release_notebook

CAT = "reliability"
# the gradient's tests, and the experiment, which judges only the gradient (a broken loss costs
# its own tests' points, not these)
GRAD_TESTS = frozenset({"test_grad_quadratic", "test_grad_clipped", "test_grad_boundary",
                        "test_grad_scaling", "test_experiment"})


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _cells_with(nb, gid):
    return [c for c in nb.cells if _gid(c) == gid]


def _delete(*gids):
    def transform(nb):
        nb.cells = [c for c in nb.cells if _gid(c) not in gids]
    return transform


def _duplicate(gid):
    def transform(nb):
        i = next(k for k, c in enumerate(nb.cells) if _gid(c) == gid)
        twin = copy.deepcopy(nb.cells[i])
        twin.id = f"{twin.id}-copy"
        nb.cells.insert(i + 1, twin)
    return transform


def _rename(gid, new):
    def transform(nb):
        for cell in _cells_with(nb, gid):
            cell.metadata.nbgrader["grade_id"] = new
    return transform


def _edit_tests(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cell.source = "pass  # tests switched off\n"


def _strip_answer_metadata(nb):
    for gid in ("huber_loss", "huber_grad"):
        for cell in _cells_with(nb, gid):
            cell.metadata.pop("nbgrader")


def _edit_answer_metadata(nb):
    for cell in _cells_with(nb, "huber_loss"):
        cell.metadata.nbgrader.update({"grade": True, "points": 50, "locked": True})
    for cell in _cells_with(nb, "huber_grad"):
        cell.metadata.nbgrader["solution"] = False


def _edit_points(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["points"] = 100


def _stub_then_copy(nb):
    """The student copied the answer cell and wrote the answer in the copy below."""
    i = next(k for k, c in enumerate(nb.cells) if _gid(c) == "huber_loss")
    copy_cell = copy.deepcopy(nb.cells[i])
    copy_cell.id = f"{copy_cell.id}-copy"
    nb.cells[i].source = "def huber_loss(pred, target, delta=1.0):\n    raise NotImplementedError\n"
    copy_cell.source = CORRECT_LOSS
    nb.cells.insert(i + 1, copy_cell)


def _truncated_notebook() -> str:
    text = nbformat.writes(make_notebook(Case("x", CAT, "", HONEST), release_notebook()))
    return text[: len(text) // 2]


def _malformed_notebook() -> str:
    """Valid JSON with odd parts: metadata of the wrong types, a cell that is not a dict."""
    nb = json.loads(nbformat.writes(make_notebook(Case("x", CAT, "", HONEST), release_notebook())))
    nb["metadata"]["language"] = 5
    nb["metadata"]["nbgrader"] = "not a dict"
    nb["cells"][0]["metadata"] = ["not", "a", "dict"]
    nb["cells"].insert(1, "not a cell")
    nb["cells"].insert(2, {"cell_type": "code", "source": 42, "metadata": {"nbgrader": 7}})
    return json.dumps(nb)


_WARNS = '''import sys
import warnings

import numpy as np


def huber_loss(pred, target, delta=1.0):
    """Correct, but noisy: a RuntimeWarning, a UserWarning and text on stderr on every call."""
    np.log(np.zeros(1))
    warnings.warn("just saying hello")
    print("debug: computing the loss", file=sys.stderr)
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))
'''

_SEGFAULT = '''import faulthandler


def huber_loss(pred, target, delta=1.0):
    faulthandler._read_null()
'''

_LOOP = '''def huber_loss(pred, target, delta=1.0):
    while True:
        pass
'''

_SLOW = CORRECT_LOSS.replace("def huber_loss(pred, target, delta=1.0):\n",
                             "def huber_loss(pred, target, delta=1.0):\n"
                             "    import time\n    time.sleep(0.01)\n")

CASES = [
    Case("rel_deleted_tests", CAT, "two test cells deleted", HONEST,
         transform=_delete("test_loss_linear", "test_experiment"), note_codes=("test-deleted",)),
    Case("rel_duplicated_test", CAT, "a test cell duplicated", HONEST,
         transform=_duplicate("test_grad_clipped"), note_codes=("test-duplicated",)),
    Case("rel_renamed_test", CAT, "a test cell's id renamed", HONEST,
         transform=_rename("test_loss_boundary", "my_boundary_test"), review=True,
         note_codes=("test-deleted", "unknown-cell-id")),
    Case("rel_edited_tests_wrong", CAT, "test cells replaced by pass, wrong answers", WRONG,
         transform=_edit_tests, expect="zero", note_codes=("test-edited",)),
    Case("rel_edited_tests_honest", CAT, "test cells replaced by pass, right answers", HONEST,
         transform=_edit_tests, note_codes=("test-edited",)),
    Case("rel_answer_metadata_removed", CAT, "answer cells lost their nbgrader metadata", HONEST,
         transform=_strip_answer_metadata, review=True, note_codes=("answer-found-by-name",)),
    Case("rel_answer_metadata_edited", CAT, "answer cells' flags edited", HONEST,
         transform=_edit_answer_metadata, note_codes=("answer-metadata",)),
    Case("rel_points_edited", CAT, "test cells' points raised to 100", HONEST,
         transform=_edit_points, review=True, note_codes=("test-metadata",)),
    Case("rel_answer_copied_below", CAT, "stub left in place, answer in a copy of the cell",
         HONEST, transform=_stub_then_copy, note_codes=("answer-duplicated",)),
    Case("rel_renamed_notebook", CAT, "notebook submitted as huber-Copy1.ipynb", HONEST,
         notebook_name="huber-Copy1.ipynb", note_codes=("renamed-notebook",)),
    Case("rel_two_copies", CAT, "two renamed copies: the newer one is graded, flagged", HONEST,
         notebook_name="huber (1).ipynb", older_notebooks={"huber-Copy1.ipynb": WRONG},
         review=True, note_codes=("renamed-notebook",)),
    Case("rel_copy_beside_original", CAT, "huber.ipynb untouched, the answers in huber-Copy1",
         {}, older_notebooks={"huber-Copy1.ipynb": HONEST}, note_codes=("copy-graded",)),
    Case("rel_copy_other_answers", CAT, "huber.ipynb and huber-Copy1.ipynb hold other answers",
         WRONG, expect="zero", older_notebooks={"huber-Copy1.ipynb": HONEST}, review=True,
         note_codes=("extra-notebook",)),
    Case("rel_corrupt_json", CAT, "notebook file cut in half", HONEST, raw=_truncated_notebook(),
         expect="zero", review=True, note_codes=("unreadable",)),
    Case("rel_empty_file", CAT, "notebook file with no content", HONEST, raw="", expect="zero",
         review=True, note_codes=("unreadable",)),
    Case("rel_not_a_notebook", CAT, "JSON that is not a notebook", HONEST,
         raw=json.dumps({"cells": 5}), expect="zero", review=True, note_codes=("unreadable",)),
    Case("rel_malformed_parts", CAT, "valid JSON with malformed cells and metadata", HONEST,
         raw=_malformed_notebook(), review=True, note_codes=("malformed",)),
    Case("rel_empty_folder", CAT, "submission folder without a notebook", HONEST,
         notebook_name=None, files={"README.txt": "forgot the notebook\n"}, expect="zero",
         review=True, note_codes=("empty",)),
    Case("rel_crash_in_loss", CAT, "huber_loss crashes the process, huber_grad is right",
         both(_SEGFAULT, CORRECT_GRAD), expect=GRAD_TESTS, review=True),
    Case("rel_loop_in_loss", CAT, "huber_loss never returns, huber_grad is right",
         both(_LOOP, CORRECT_GRAD), expect=GRAD_TESTS, review=True),
    Case("rel_syntax_error", CAT, "a syntax error in huber_loss's cell, huber_grad is right",
         both(WRONG_LOSS.replace("return 0.0", "return 0.0)"), CORRECT_GRAD), expect=GRAD_TESTS,
         note_codes=("answer-error",)),
    Case("rel_warnings_honest", CAT, "correct, with warnings and stderr output on every call",
         both(_WARNS, CORRECT_GRAD)),
    Case("rel_slow_honest", CAT, "correct, sleeps 10 ms per call of huber_loss",
         both(_SLOW, CORRECT_GRAD)),
]
