"""``nbgrader export`` plug-in: every roster student, every assignment, with a status and reasons.

Same columns as nbgrader's CSV export (assignment, duedate, timestamp, student_id, last_name,
first_name, email, raw_score, late_submission_penalty, score, max_score), written with proper CSV
quoting, plus:

* ``status``: ``no submission``, ``empty submission``, ``graded``, ``graded, needs review``
  (flagged by the secure grader: see ``notes``) or ``graded, written answers to grade``;
* ``needs_review``: ``yes`` / ``no``;
* ``notes``: the grader's reasons (renamed or unreadable notebook, edited cells, time limits,
  crashes, high-severity scan findings...), joined with `` | ``.

No cell starts a spreadsheet formula (:func:`.safety.csv_cell`): notes quote text students chose.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from . import similarity
from .nbgrader_plugin import coursedir_of
from .records import NOTE_PREFIX
from .safety import csv_cell

__all__ = ["GradesCsvExport", "COLUMNS"]

COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
           "email", "raw_score", "late_submission_penalty", "score", "max_score", "status",
           "needs_review", "notes"]


def _text(value) -> str:
    return "" if value is None else str(value)


class GradesCsvExport(ExportPlugin):
    """CSV export with a status and the grader's notes for each student and assignment."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        self.log.info("Exporting grades to %s", dest)
        root = coursedir_of(self).root
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    row = self._row(gradebook, assignment, student)
                    # copy detection's findings (grader.similarity), if it ran: notes only
                    row[-1] = " | ".join(filter(None, [row[-1], *similarity.export_notes(
                        root, assignment.name, student.id)]))
                    writer.writerow([csv_cell(_text(v)) for v in row])

    @staticmethod
    def _row(gradebook: Gradebook, assignment, student) -> list:
        row = [assignment.name, assignment.duedate, "", student.id, student.last_name,
               student.first_name, student.email]
        try:
            sub = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            return row + [0.0, 0.0, 0.0, assignment.max_score, "no submission", "no", ""]
        notes, flagged = [], False
        for nb in sub.notebooks:
            flagged = flagged or bool(nb.flagged)
            for comment in nb.comments:
                for line in (comment.auto_comment or "").splitlines():
                    if line.startswith(NOTE_PREFIX) and line[len(NOTE_PREFIX):] not in notes:
                        notes.append(line[len(NOTE_PREFIX):])
        if any(n.startswith("empty submission") for n in notes):
            status = "empty submission"
        elif flagged:
            status = "graded, needs review"
        elif sub.needs_manual_grade:
            status = "graded, written answers to grade"
        else:
            status = "graded"
        penalty = sub.late_submission_penalty or 0.0
        row[2] = sub.timestamp
        return row + [sub.score, penalty, max(0.0, sub.score - penalty), assignment.max_score,
                      status, "yes" if flagged else "no", " | ".join(notes)]
