"""The visible checks and experiments of the graded assignments (``huber``, ``focal``,
``triplet``, ``kl_vs_ce``), as the student notebooks call them.

Each assignment has a module here, ``lossutils.assignments.<id>``, whose functions take the
student's graded functions as arguments and raise ``AssertionError`` with a message in words when
a property fails (``check.loss_linear_zone(huber_loss)``), plus the assignment's experiment, run
with the student's functions. Expected values come from the reference implementations in
``lossutils`` and numbers worked out by hand; every input is fixed, so the checks give the same
verdict on every machine. Grading runs the same checks and more on fresh inputs (the hidden
tests, which are the instructors' and not part of this package).
"""

ASSIGNMENTS = ("huber", "focal", "triplet", "kl_vs_ce")

__all__ = ["ASSIGNMENTS"]
