"""Trusted checks for the graded assignments (``huber``, ``focal``, ``triplet``, ``kl_vs_ce``).

Each assignment has a module here, ``lossutils.grading.<id>``, whose functions take the student's
graded functions as arguments and raise ``AssertionError`` with a message in words when a property
fails (``check.loss_linear_zone(huber_loss)``), plus the assignment's experiment, run with the
student's functions. The test cells of ``solutions/<id>/<id>.ipynb`` import the module inside the
cell and refer to the student's work only by calling the graded functions, so the same cells can
run in the notebook (nbgrader) or in a separate trusted process that reaches the student's code
through proxies returning plain float64 arrays.

Expected values come from the reference implementations in ``lossutils`` plus hard-coded anchors;
random inputs come from :func:`lossutils.grading._common.rng`, seeded per submission by the grader
through ``$LOSSCOURSE_GRADING_SEED`` so that grading twice gives the same grade.
"""

ASSIGNMENTS = ("huber", "focal", "triplet", "kl_vs_ce")

__all__ = ["ASSIGNMENTS"]
