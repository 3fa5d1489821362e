"""Student text as data: the few rules every instructor-facing output applies to it.

Nothing a student submits may be interpreted by the instructor's tools. The grader's outputs are
HTML pages (feedback, formgrader, class reports), Markdown cells that nbconvert turns into HTML,
CSV files opened in spreadsheets and files read from submission folders. This module holds one
function per kind of output:

* :func:`one_line`: any student-controlled string (a cell id, a file name, an exception message)
  put into a note or report line: whitespace collapsed, so it cannot start a new Markdown block or
  forge a heading, and cut to a length;
* :func:`safe_markdown`: a student's written answer as Markdown that renders the student's words
  and maths but no HTML of theirs and no links outside http(s) and mailto;
* :func:`csv_cell`: a spreadsheet cell that never starts a formula (OWASP's CSV injection rule);
* :func:`read_submitted_text`: a submitted file read without following links or leaving its
  submission folder, with a size limit;
* :func:`json_shape_problem`: a linear pre-check of JSON text (how deep, how many containers)
  before it is parsed, so a hostile file costs neither the parser's recursion nor gigabytes of
  Python objects.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

__all__ = ["one_line", "safe_markdown", "csv_cell", "read_submitted_text", "inside",
           "json_shape_problem", "SubmittedFileError"]

# What any step reads of one submitted notebook file, at most (intake, grading, copy detection):
# larger or deeper files become a flagged row with the reason (book/appendix_instructors.md).
MAX_NOTEBOOK_BYTES = 20 * 2**20  # the file, outputs and images included
MAX_JSON_DEPTH = 64  # a notebook is about 6 levels deep
MAX_JSON_CONTAINERS = 200_000  # lists and objects in the file

_SPACE = re.compile(r"\s+")
# Control characters left after the whitespace is folded (escape sequences a terminal would obey,
# NUL, DEL and the C1 range): shown as "?" wherever a line of student text is printed.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A link destination ``](scheme:`` or a reference definition ``[id]: scheme:``; only the schemes
# below stay links, any other (javascript:, data:, vbscript:, file:...) loses its colon.
_LINK_SCHEME = re.compile(r"(\]\(\s*<?\s*|^[ \t]{0,3}\[[^\]\n]{1,999}\]:[ \t]*<?)"
                          r"([A-Za-z][A-Za-z0-9+.\-]{0,30})(\s*):", re.M)
_SAFE_SCHEMES = {"http", "https", "mailto"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line (every run of whitespace becomes one space, any other control
    character ``?``), at most ``limit`` characters (longer text ends with an ellipsis)."""
    flat = _CONTROL.sub("?", _SPACE.sub(" ", str(text)[: 4 * limit + 16]).strip())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def safe_markdown(text: str) -> str:
    """A student's Markdown with its HTML shown as text and unsafe link schemes disarmed.

    ``&`` and ``<`` become entities, so no tag, comment or entity the student typed reaches the
    page as markup (``$a < b$`` still reads ``a < b``: the browser decodes the entity before the
    maths renderer sees it); a link or image whose destination uses a scheme other than http,
    https or mailto keeps its text but not its colon, so it is no longer a link anywhere.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;")

    def disarm(match: re.Match) -> str:
        scheme = match.group(2)
        if scheme.lower() in _SAFE_SCHEMES:
            return match.group(0)
        return f"{match.group(1)}{scheme}{match.group(3)}-"

    return _LINK_SCHEME.sub(disarm, text)


def csv_cell(value: object) -> object:
    """A value for a CSV cell that no spreadsheet reads as a formula.

    Numbers stay numbers. Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a line break
    (or their full-width forms) gets a leading apostrophe, which spreadsheets show as text, as
    OWASP recommends; numeric-looking text such as ``-0.25`` is left alone.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SubmittedFileError(Exception):
    """A submitted file that is not read: a link, outside its folder, not a file, too large."""


def inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` (resolved) lies inside ``folder`` (resolved)."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def read_submitted_text(path: str | Path, folder: str | Path, max_bytes: int) -> str:
    """The text of a submitted file, never through a symbolic link and never outside ``folder``.

    Raises :class:`SubmittedFileError` saying why a file is not read (a symbolic link anywhere
    below ``folder``, a path that resolves outside it, not a regular file, larger than
    ``max_bytes``), and ``UnicodeDecodeError`` for text that is not UTF-8.
    """
    path, folder = Path(path), Path(folder)
    rel = os.path.relpath(path, folder)
    if rel.startswith(os.pardir):
        raise SubmittedFileError(f"'{path.name}' is not inside the submission folder")
    probe = folder
    for part in Path(rel).parts:
        probe = probe / part
        if probe.is_symlink():
            raise SubmittedFileError(f"'{one_line(part, 120)}' is a symbolic link (to "
                                     f"'{one_line(os.readlink(probe), 200)}'); links are not "
                                     "followed")
    if not inside(path, folder):
        raise SubmittedFileError(f"'{path.name}' resolves outside the submission folder")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmittedFileError(f"'{path.name}' is not a regular file")
        if info.st_size > max_bytes:
            raise SubmittedFileError(f"the file is larger than {max_bytes // 2**20} MB "
                                     "(outputs? embedded data?) and was not read")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SubmittedFileError(f"the file grew beyond {max_bytes // 2**20} MB while it was read")
    return data.decode("utf-8")


# Possessive repeats (Python 3.11+): the engine keeps no backtracking state per character, so a
# string of millions of characters costs no more memory than itself.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_shape_problem(raw: str, max_depth: int, max_containers: int) -> str | None:
    """Why JSON text is refused before parsing, or None: nesting deeper than ``max_depth`` or
    more than ``max_containers`` arrays and objects. Linear in the text: strings are blanked by
    one regular expression (C speed), then brackets are counted, and only if there are few
    enough is the depth followed bracket by bracket."""
    bare = _JSON_STRING.sub("", raw)
    count = bare.count("[") + bare.count("{")
    if count > max_containers:
        return (f"the notebook's JSON holds {count} lists and objects (at most "
                f"{max_containers} are read)")
    depth = deepest = 0
    for match in _BRACKETS.finditer(bare):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    return (f"the notebook's JSON is nested more than {max_depth} levels deep "
                            "(a notebook needs fewer than 10)")
        else:
            depth -= 1
    return None
