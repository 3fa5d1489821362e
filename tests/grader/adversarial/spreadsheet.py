"""Spreadsheet formula injection: text a student controls that ends up in a CSV cell (the scan
report's code snippet and file column, the item analysis' failure messages, the grades export's
notes) must never start a formula. The attack answers wrongly with messages and lines that start
with ``=``, ``+``, ``-`` and ``@``; tests/grader/test_adversarial.py reads every CSV the
grading produces. The honest twin's negative numbers stay numbers."""

from ._answers import HONEST
from .build import Case

CAT = "csv-injection"

_FORMULAS = '''import os  # =HYPERLINK("http://evil.example","x")


def huber_loss(pred, target, delta=1.0):
    raise ValueError('=cmd|" /C calc"!A0')


def huber_grad(pred, target, delta=1.0):
    raise ValueError("@SUM(1+1)*cmd|' /C calc'!A0")
'''

CASES = [
    Case("csv_formulas", CAT, "formulas in exception messages, code lines and file names",
         {"huber_loss": _FORMULAS, "huber_grad": "# defined above\n"}, expect="zero",
         extra_cells=[("huber_grad", '=1+1\n-2+3\n+cmd|" /C calc"!A0\n@SUM(A1)\n')],
         files={'=HYPERLINK("http://evil.example").txt': "x\n", "+1.txt": "y\n"}),
    Case("csv_zz_honest", CAT, "honest twin", HONEST),
]
