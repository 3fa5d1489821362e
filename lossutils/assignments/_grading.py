"""What grading refuses, stated once: the checks tell the student while they validate.

The course's grader (the instructors' package) runs only a submission's answer cells, with NumPy
and the Python standard library, in a separate process; it imports the rules below so that it
refuses exactly what :func:`refusal` reports here, with the same words. In a student's notebook
the visible checks call :func:`refusal` before calling a graded function, so that *Validate*
fails where grading would score 0:

* an import of anything but NumPy and the standard library in the cell defining the function,
  or a module (or a function or class from one) outside them that the function uses
  (``scipy.special.expit`` imported in another cell): :data:`IMPORT_REFUSED`;
* while ``nbgrader validate`` runs (the notebook file is then the one being run): a graded
  function defined in a cell that is not an answer cell, or a helper or constant it uses that
  only a cell grading does not run defines.

Helpers: :func:`module_allowed`, :func:`bound_names` (every way a cell binds a name) and
:func:`definitions_only` (the cells grading runs before an answer: imports, functions, classes,
constants and nothing else).
"""

from __future__ import annotations

import ast
import dis
import functools
import json
import linecache
import os
import sys
import types
from typing import Any

__all__ = ["IMPORT_REFUSED", "DENIED_MODULES", "module_allowed", "bound_names",
           "definitions_only", "refusal", "course_reference"]

IMPORT_REFUSED = ("import of {module!r} is not allowed in answer cells: use only NumPy and the "
                  "Python standard library (no torch, no lossutils, no scipy)")
# Standard-library modules that reach outside the process or into the interpreter's memory.
DENIED_MODULES = frozenset({
    "ctypes", "_ctypes", "cffi", "sqlite3", "_sqlite3", "dbm", "_dbm", "_gdbm", "readline",
    "pty", "multiprocessing", "_multiprocessing", "ssl", "_ssl", "_xxsubinterpreters",
    "_posixshmem"})
_ALLOWED_EXTRA = frozenset({"numpy"})
_NOTEBOOK_BYTES = 20 * 2**20


def module_allowed(name: str) -> bool:
    """Whether answer cells may import ``name`` (a dotted module name)."""
    top = name.partition(".")[0]
    return ((top in sys.stdlib_module_names or top in _ALLOWED_EXTRA)
            and top not in DENIED_MODULES and name not in DENIED_MODULES)


def _targets(node: ast.AST) -> list[str]:
    """Names an assignment target binds (``a``, ``a, b = ...``, ``[a, *b] = ...``)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Tuple | ast.List):
        return [n for elt in node.elts for n in _targets(elt)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return []


def _is_globals_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "globals")


def bound_names(code: str) -> list[str]:
    """Names Python code binds at its top level, however it binds them: ``def``, ``class``,
    assignment (``huber_loss = mean_huber``, a lambda, a callable object, ``functools.partial``),
    ``import``, ``for`` / ``with`` targets, ``globals()["name"] = ...`` and
    ``globals().update(name=...)``, also inside top-level ``if`` / ``try`` blocks. (What ``exec``
    of a string binds is only known by running it.) Code that does not parse binds nothing."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []

    def visit(body):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.append(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    names.extend(_targets(target))
                    if (isinstance(target, ast.Subscript) and _is_globals_call(target.value)
                            and isinstance(target.slice, ast.Constant)
                            and isinstance(target.slice.value, str)):
                        names.append(target.slice.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                names.extend(_targets(node.target))
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names.extend((a.asname or a.name).split(".")[0] for a in node.names
                             if a.name != "*")
            elif isinstance(node, ast.For | ast.AsyncFor):
                names.extend(_targets(node.target))
                visit(node.body + node.orelse)
            elif isinstance(node, ast.With | ast.AsyncWith):
                names.extend(n for item in node.items if item.optional_vars is not None
                             for n in _targets(item.optional_vars))
                visit(node.body)
            elif isinstance(node, ast.If | ast.While):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody
                      + [n for h in node.handlers for n in h.body])
            elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                  and isinstance(node.value.func, ast.Attribute)
                  and node.value.func.attr == "update"
                  and _is_globals_call(node.value.func.value)):
                names.extend(k.arg for k in node.value.keywords if k.arg)

    visit(tree.body)
    return list(dict.fromkeys(names))


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                ast.Assign, ast.AnnAssign, ast.Pass)


def definitions_only(code: str) -> list[str] | None:
    """Names a cell binds if it only defines things (imports, functions, classes, constants,
    docstrings), else None: such a cell has no effect beyond its definitions, so grading runs it
    before the answer cell that follows it, as *Run All* would."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring or a bare constant
        if not isinstance(node, _DEFINITIONS):
            return None
        if isinstance(node, ast.Import | ast.ImportFrom):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    return None  # obj.attr = ... or x[i] = ... changes something else
                names.append(target.id)
        elif not isinstance(node, ast.Pass):
            names.append(node.name)
    return names


# ---- what the visible checks ask before calling a graded function -------------------------------

def _cell_code(code: types.CodeType) -> str:
    """The source of the cell (or file) that compiled ``code``, as the kernel ran it."""
    return "".join(linecache.getlines(code.co_filename))


@functools.lru_cache(maxsize=512)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """Global names ``code`` reads, its nested code objects (inner functions, lambdas,
    comprehensions) included; attribute names (``np.abs``) are not globals."""
    names, todo, seen = [], [code], set()
    while todo:
        c = todo.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        names += [ins.argval for ins in dis.get_instructions(c)
                  if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str)]
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return tuple(dict.fromkeys(names))


@functools.lru_cache(maxsize=256)
def _refused_import(code: str) -> tuple[str, int] | None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not module_allowed(alias.name):
                    return alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not module_allowed(node.module):
                return node.module, node.lineno
    return None


def _origin(value: Any) -> str | None:
    """The module a global value comes from, when that tells anything (modules, functions,
    classes, instances of classes from a package)."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    module = getattr(value, "__module__", None)
    if not isinstance(module, str) and not isinstance(value, type):
        module = getattr(type(value), "__module__", None)
    return module if isinstance(module, str) else None


def _imports_problem(fn: types.FunctionType) -> str | None:
    """A forbidden import in the cell defining ``fn`` or in a helper it calls, or a global it
    uses that comes from a forbidden module."""
    visited: set[int] = set()
    todo = [fn]
    while todo and len(visited) < 50:
        f = todo.pop()
        if id(f) in visited:
            continue
        visited.add(id(f))
        cell = _cell_code(f.__code__)
        found = _refused_import(cell) if cell else None
        if found:
            module, line = found
            where = "" if f is fn else f" (in the cell defining {f.__name__})"
            return f"line {line}{where}: " + IMPORT_REFUSED.format(module=module)
        for name in _global_names(f.__code__):
            if name not in f.__globals__:
                continue
            value = f.__globals__[name]
            origin = _origin(value)
            if origin is None or origin == f.__globals__.get("__name__"):  # the student's own
                if isinstance(value, types.FunctionType):
                    todo.append(value)
                continue
            if not module_allowed(origin) and origin != "builtins":
                return (f"{fn.__name__} uses {name}, which comes from {origin}: "
                        + IMPORT_REFUSED.format(module=origin.partition(".")[0]))
    return None


def _comparable(code: str) -> str:
    """A cell's code with magics and blank lines dropped, to match the kernel's copy of a cell
    with the notebook's (IPython rewrites magics before it compiles a cell)."""
    return "\n".join(ln.rstrip() for ln in code.splitlines()
                     if ln.strip() and not ln.lstrip().startswith(("%", "!"))
                     and "get_ipython()" not in ln)


def _notebook_cells(cwd: str) -> list[list[dict]]:
    """The cells of every notebook in ``cwd`` (where nbgrader runs the notebook it validates),
    read again only when a file changes."""
    try:
        entries = sorted(e for e in os.listdir(cwd) if e.endswith(".ipynb"))[:20]
        stamp = tuple((e, os.stat(os.path.join(cwd, e)).st_mtime_ns) for e in entries)
    except OSError:
        return []
    return _read_notebooks(cwd, stamp)


@functools.lru_cache(maxsize=4)
def _read_notebooks(cwd: str, stamp: tuple) -> list[list[dict]]:
    notebooks = []
    for entry, _ in stamp:
        path = os.path.join(cwd, entry)
        try:
            if os.path.islink(path) or os.path.getsize(path) > _NOTEBOOK_BYTES:
                continue
            with open(path, encoding="utf-8") as fh:
                cells = json.load(fh).get("cells", [])
        except (OSError, ValueError, RecursionError, AttributeError):
            continue
        if isinstance(cells, list):
            notebooks.append([c for c in cells if isinstance(c, dict)])
    return notebooks


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src if isinstance(src, str) else ""


def _role(cell: dict) -> str:
    meta = cell.get("metadata", {})
    grader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    if not isinstance(grader, dict) or not grader.get("grade_id"):
        return "plain"
    if grader.get("solution") and not grader.get("grade"):
        return "answer"
    return "instructor"


def _cells_problem(fn: types.FunctionType) -> str | None:
    """Under ``nbgrader validate``: the graded function must come from an answer cell, and what
    it uses from cells grading runs (answer cells, definition-only cells before an answer)."""
    mine = _comparable(_cell_code(fn.__code__))
    if not mine:
        return None
    for cells in _notebook_cells(os.getcwd()):
        where = [k for k, c in enumerate(cells) if c.get("cell_type") == "code"
                 and _comparable(_source(c)) == mine]
        if not where:
            continue
        roles = {_role(cells[k]) for k in where}
        if "answer" not in roles:
            return (f"{fn.__name__} is defined in cell {where[0] + 1}, which is not an answer "
                    "cell: grading runs only the answer cells (put the definition in the "
                    "answer cell below the function's description)")
        last_answer = max((k for k, c in enumerate(cells) if _role(c) == "answer"), default=-1)
        run = set()  # names the cells grading runs bind
        for k, c in enumerate(cells):
            code = _comparable(_source(c))
            if _role(c) == "answer":
                run.update(bound_names(code))
            elif _role(c) == "plain" and k < last_answer and c.get("cell_type") == "code":
                run.update(definitions_only(code) or [])
        for name in _global_names(fn.__code__):
            if name in fn.__globals__ and name not in run and name != fn.__name__:
                return (f"{fn.__name__} uses {name}, which no answer cell defines: grading "
                        "runs only the answer cells and the cells above them that only "
                        f"define things (move {name} into the answer cell)")
        return None
    return None


def course_reference(fn):
    """Mark a function of the checks that they pass where a student's function would go (the
    reference loss that logs an experiment's learning curve): :func:`refusal` lets it through."""
    fn.__course_reference__ = True
    return fn


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a student's notebook, or nbgrader validate)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def refusal(fn: Any) -> str | None:
    """Why grading would refuse the student's ``fn`` (one sentence), or None.

    Plain Python functions defined in the notebook (module ``__main__``) are examined, and in a
    notebook any function from a package other than NumPy and the standard library is refused
    (except the checks' own references, marked by :func:`course_reference`); the grader passes
    stand-ins, which it has already judged. Imports are checked everywhere; the cells' roles
    only while ``nbgrader validate`` runs, when the notebook file holds the cells the kernel
    ran."""
    if getattr(fn, "__course_reference__", False):
        return None
    fn = getattr(fn, "__wrapped__", fn)
    fn = getattr(fn, "func", fn)  # functools.partial
    if not isinstance(fn, types.FunctionType):
        # a callable object: its class's __call__
        fn = next((k.__dict__["__call__"] for k in type(fn).__mro__ if "__call__" in k.__dict__),
                  None)
        if not isinstance(fn, types.FunctionType):
            return None
    module = getattr(fn, "__module__", None)
    if module != "__main__":
        # A package's function given as the answer (``from lossutils import huber_loss`` in the
        # answer cell) is refused in a notebook; elsewhere (the course's own test suites pass
        # references and helpers) nothing is examined.
        if isinstance(module, str) and not module_allowed(module) and _in_notebook():
            return (f"{fn.__name__} is {module}.{fn.__name__}: "
                    + IMPORT_REFUSED.format(module=module.partition(".")[0]))
        return None
    try:
        problem = _imports_problem(fn)
        if problem is None and os.environ.get("NBGRADER_EXECUTION") == "validate":
            problem = _cells_problem(fn)
    except Exception:  # noqa: BLE001 - never let the pre-check itself fail a test
        return None
    return problem
