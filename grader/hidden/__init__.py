"""The hidden checks of the graded assignments: one module per assignment id.

The hidden test cells of ``solutions/<id>/<id>.ipynb`` import ``grader.hidden.<id>`` and call its
functions with the student's graded functions, exactly like the visible cells call
:mod:`lossutils.assignments`. Each hidden check tests the property of its visible namesake on
inputs drawn from the grader's per-submission seed (:mod:`grader.seeds`) and on edge cases the
notebook does not show.
"""
