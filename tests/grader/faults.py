"""A fault in the grading process, for the class grader's tests.

:class:`KillGrader` is an nbgrader preprocessor that kills the process grading a notebook which
contains :data:`MARKER`. It stands for what the sandbox cannot prevent because it happens outside
the student's code: a bug in nbgrader or a library that one submitted notebook triggers and that
takes the grading process down. Tests add it to a temporary course's configuration
(``c.Autograde.sanitize_preprocessors``) with this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import signal

from nbgrader.preprocessors import NbGraderPreprocessor

MARKER = "# simulated grader fault: this notebook kills the process that grades it"
CONFIG = """
# ---- test fault (tests/grader/faults.py): a notebook holding the marker kills its grader
c.Autograde.sanitize_preprocessors = ["faults.KillGrader", *c.Autograde.sanitize_preprocessors]
"""


class KillGrader(NbGraderPreprocessor):  # enabled, like nbgrader's own
    def preprocess(self, nb, resources):
        if any(MARKER in cell.get("source", "") for cell in nb.cells):
            os.kill(os.getpid(), signal.SIGKILL)
        return nb, resources
