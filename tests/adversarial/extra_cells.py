"""Extra cells (unmarked, or with made-up nbgrader metadata) that redefine the answer."""

import nbformat

from ._answers import HONEST, WRONG, WRONG_GRAD, WRONG_LOSS, both
from .build import Case

CAT = "extra-cells"

_REDEFINE = '''# the real answers, defined after the answer cells
from lossutils import huber_loss
from lossutils.regression import huber_loss_grad as huber_grad
'''

_PATCH_CHECKS = '''import lossutils.grading.huber as check
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


CASES = [
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
]
