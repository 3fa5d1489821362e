"""Extra cells (unmarked, or with made-up nbgrader metadata) that redefine the answer.

Cells a student adds that only define helpers (imports, functions, constants) run in the sandbox
before the answer that follows them, as Run All would run them: an honest helper cell keeps full
marks, a helper cell reaching for the reference earns nothing.
"""

import nbformat

from ._answers import HONEST, WRONG, WRONG_GRAD, WRONG_LOSS, both
from .build import Case

CAT = "extra-cells"

_REDEFINE = '''# the real answers, defined after the answer cells
from lossutils import huber_loss
from lossutils.regression import huber_loss_grad as huber_grad
'''

_PATCH_CHECKS = '''import lossutils.assignments.huber as check
for name in dir(check):
    if name.startswith(("loss_", "grad_", "check_")):
        setattr(check, name, lambda *args, **kwargs: None)
'''


def _fake_answer_cell(nb):
    cell = nbformat.v4.new_code_cell(_REDEFINE)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "huber_loss_v2", "locked": False,
                                 "schema_version": 3, "solution": True, "task": False}
    index = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "huber_grad")
    nb.cells.insert(index + 1, cell)


_HELPER = '''import numpy as np

DELTA_DEFAULT = 1.0


def residual(pred, target):
    return np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
'''

_HELPER_LOSS = '''def huber_loss(pred, target, delta=DELTA_DEFAULT):
    r = residual(pred, target)
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))
'''

_HELPER_GRAD = '''def huber_grad(pred, target, delta=DELTA_DEFAULT):
    r = residual(pred, target)
    return np.clip(r, -delta, delta) / r.size
'''

_REFERENCE_HELPER = '''from lossutils import huber_loss as reference_loss
from lossutils import huber_loss_grad as reference_grad
'''

_REFERENCE_ANSWERS = both(
    "def huber_loss(pred, target, delta=1.0):\n    return reference_loss(pred, target, delta)\n",
    "def huber_grad(pred, target, delta=1.0):\n    return reference_grad(pred, target, delta)\n")


def _cell_above_answers(source):
    def insert(nb):
        index = next(i for i, c in enumerate(nb.cells)
                     if c.metadata.get("nbgrader", {}).get("grade_id") == "huber_loss")
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return insert


CASES = [
    Case("extra_helper_reference", CAT, "helper cell above the answers imports the reference",
         _REFERENCE_ANSWERS, transform=_cell_above_answers(_REFERENCE_HELPER), expect="zero",
         review=True),
    Case("extra_redefine", CAT, "unmarked cell redefines both answers with the reference",
         WRONG, extra_cells=[("huber_grad", _REDEFINE)], expect="zero", review=True),
    Case("extra_fake_metadata", CAT, "extra cell with made-up answer-cell metadata",
         WRONG, transform=_fake_answer_cell, expect="zero", review=True),
    Case("extra_patch_checks", CAT, "unmarked cell before the tests disables the checks",
         both(WRONG_LOSS, WRONG_GRAD), extra_cells=[("huber_loss", _PATCH_CHECKS)],
         expect="zero", review=True),
    Case("extra_zz_honest", CAT, "honest twin: scratch cells that print and plot", HONEST,
         extra_cells=[("huber_loss", "print(huber_loss(np.array([3.0, -2.0]), np.zeros(2)))\n"),
                      ("huber_grad", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n")],
         expect="full"),
    Case("extra_zz_helper_cell", CAT, "honest twin: helpers and a constant in a cell of their "
         "own above the answers", both(_HELPER_LOSS, _HELPER_GRAD),
         transform=_cell_above_answers(_HELPER), expect="full"),
]
