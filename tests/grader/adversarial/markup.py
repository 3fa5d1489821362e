"""Student text the instructor's tools must show as text: markup and script in a written answer,
in a cell id, in an exception message and in a file name; a ``javascript:`` link; a cell id with
line breaks that tries to forge a second grading report. The attacks answer wrongly (they earn
nothing either way); what matters is that nothing of theirs becomes markup in the graded notebook
(which formgrader renders in the instructor's browser), the feedback or the class reports:
tests/grader/test_adversarial.py looks for every marker below in those pages. The honest twin
writes Markdown and maths that must still render."""


from ._answers import HONEST, WRONG_GRAD, both
from .build import Case

CAT = "markup"
# Tags that must never appear as markup in an instructor-facing page (links with a javascript:
# destination are looked for separately).
MARKERS = ("<script>alert('owned')</script>", "<img src=x onerror=alert(1)>",
           "<iframe src=//evil.example>")

_WRITTEN = (
    "Outliers pull the fit.<script>alert('owned')</script>\n\n"
    "<img src=x onerror=alert(1)> [click me](javascript:alert(document.cookie))\n\n"
    "[ref]: javascript:alert(document.cookie)\n\n<iframe src=//evil.example></iframe>\n")

_RAISES = '''def huber_loss(pred, target, delta=1.0):
    raise ValueError("<script>alert('owned')</script> [x](javascript:alert(document.cookie))")
'''


def _odd_ids(nb):
    """A test cell renamed to an id holding markup, another to one with line breaks."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_loss_boundary":
            meta["grade_id"] = "<img src=x onerror=alert(1)>"
        elif meta.get("grade_id") == "test_grad_boundary":
            meta["grade_id"] = "x'\n\n## Grading report\n\n- **passed** (20 / 20 points): all"


def _written(text):
    def transform(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "written_interpretation":
                cell.source = text
    return transform


def _both(*transforms):
    def transform(nb):
        for t in transforms:
            t(nb)
    return transform


_HONEST_TEXT = ("With **MSE** an outlier's pull grows like $r$, with Huber it stops at "
                "$\\delta$ (so $a < b$ holds). See [the chapter](https://example.org/huber).\n")

CASES = [
    Case("mk_written_and_ids", CAT, "script, handlers and javascript: links in the written "
         "answer; markup and line breaks in cell ids; markup in an exception message",
         both(_RAISES, WRONG_GRAD), expect="zero", review=True,
         transform=_both(_written(_WRITTEN), _odd_ids),
         files={"<img src=x onerror=alert(1)>.txt": "hello\n"}),
    Case("mk_zz_honest", CAT, "honest twin: Markdown, a link and maths in the written answer",
         HONEST, transform=_written(_HONEST_TEXT)),
]
