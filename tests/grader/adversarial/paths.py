"""Submitted paths are never followed out of the submission: a notebook that is a symbolic link
to the instructor's solution, a submission folder that is a link to ``solutions/huber``, and a
link among the extra files earn nothing and are flagged (the links are reported, not read).
The honest twin ships an ordinary extra file."""

from ._answers import HONEST, WRONG
from .build import Case

CAT = "paths"

CASES = [
    Case("path_notebook_link", CAT, "huber.ipynb is a link to solutions/huber/huber.ipynb",
         WRONG, expect="zero", review=True, notebook_name=None,
         links={"huber.ipynb": "solutions/huber/huber.ipynb"}, note_codes=("unreadable",)),
    Case("path_folder_link", CAT, "the submission folder is a link to solutions/huber",
         WRONG, expect="zero", review=True, notebook_name=None,
         links={".": "solutions/huber"}),
    Case("path_file_link", CAT, "a wrong notebook and a link to the gradebook among its files",
         WRONG, expect="zero", review=True, links={"notes.txt": "gradebook.db"}),
    Case("path_zz_honest", CAT, "honest twin with an ordinary extra file", HONEST,
         files={"notes.txt": "my notes\n"}),
]
