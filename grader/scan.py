"""Static scan of a submission: code an instructor may want to look at.

The scan never changes a grade (the sandbox makes these tricks earn nothing); it is triage and
evidence. It reads every code cell of the submitted notebook as written (not the repaired one)
and the other files of the submission folder, and reports findings with a severity:

* ``high``: almost certainly an attempt on the grader (importing the reference or torch, patching
  NumPy or the checks, objects that lie to comparisons, IPython hooks, touching the gradebook or
  instructor files, frame/garbage-collector introspection, module files shipped next to the
  notebook);
* ``medium``: unusual in an answer (``os``, ``sys``, ``exec``, ``open``, signals, shell commands);
* ``low``: worth a glance (``while True``, magics, extra files).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .safety import one_line

__all__ = ["Finding", "scan_source", "scan_notebook", "scan_files", "SEVERITY_ORDER"]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
_HIGH_MODULES = {"torch", "torchvision", "lossutils", "grader", "scipy", "tensorflow", "jax",
                 "sklearn", "nbgrader", "IPython", "ipykernel", "ctypes", "_ctypes", "cffi",
                 "subprocess", "_posixsubprocess", "socket", "sqlite3", "multiprocessing", "pty",
                 "gc", "inspect", "builtins", "importlib", "sysconfig", "site"}
_MEDIUM_MODULES = {"os", "sys", "shutil", "pathlib", "glob", "signal", "pickle", "marshal",
                   "threading", "_thread", "resource", "mmap", "tempfile", "io", "faulthandler",
                   "atexit", "weakref", "types", "code", "runpy", "zipimport"}
_LIE_METHODS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
                "__array_ufunc__", "__array_function__", "__array__", "__array_wrap__",
                "__array_finalize__", "__array_priority__", "__torch_function__", "__float__",
                "__abs__", "__sub__", "__rsub__", "__getattribute__", "__instancecheck__"}
_DUNDER_ATTRS = {"__class__", "__bases__", "__subclasses__", "__globals__", "__code__",
                 "__builtins__", "__dict__", "__mro__", "__closure__", "__getattribute__",
                 "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame",
                 "__loader__", "__spec__", "__self__", "__func__", "__wrapped__"}
_HIGH_CALLS = {"get_ipython", "__import__", "globals", "setattr", "delattr"}
_MEDIUM_CALLS = {"exec", "eval", "compile", "open", "vars", "locals", "getattr", "input",
                 "breakpoint"}
_IPYTHON_HOOKS = re.compile(r"input_transformers|ast_transformers|events\.register|"
                            r"set_custom_exc|showtraceback|register_magic|run_cell")
_SUSPICIOUS_TEXT = re.compile(r"solutions?/|gradebook|\.db\b|nbgrader|/proc/|exchange|"
                              r"autograded|submitted/|HIDDEN TESTS|release/|/srv/", re.I)
_MODULE_ROOTS = {"np", "numpy", "torch", "lossutils", "check", "builtins", "sys", "os", "math",
                 "random", "scipy", "nbgrader", "IPython", "warnings", "grader", "hidden",
                 "_expect"}


@dataclass
class Finding:
    severity: str
    rule: str
    message: str
    where: str  # "cell 5, line 3" or a file name
    snippet: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


MAX_PER_RULE = 5  # findings of one rule in one cell (the first ones; the count is reported)
MAX_FINDINGS = 200  # per submission
MAX_FILES = 500  # files listed per submission folder
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}  # written by nbgrader's exchange


def scan_source(source: str, where: str) -> list[Finding]:
    """Findings for one code cell: at most :data:`MAX_PER_RULE` per rule (the last one of a
    rule says how many more there were), in time linear in the cell's length."""
    found: list[Finding] = []
    lines = source.splitlines()
    counts: dict[str, int] = {}

    def add(sev, rule, msg, lineno=None):
        counts[rule] = counts.get(rule, 0) + 1
        if counts[rule] > MAX_PER_RULE:
            return
        loc = f"{where}, line {lineno}" if lineno else where
        snippet = lines[lineno - 1].strip()[:160] if lineno and 0 < lineno <= len(lines) else ""
        found.append(Finding(sev, rule, msg, loc, snippet))

    _scan_lines(lines, add)  # both report through add()
    _scan_tree(source, add)
    for rule, n in counts.items():
        if n > MAX_PER_RULE:
            last = max(i for i, f in enumerate(found) if f.rule == rule)
            found[last].message += f" ({n - MAX_PER_RULE} more like it in this cell)"
    return found


def _scan_lines(lines: list[str], add) -> None:
    for i, text in enumerate(lines, 1):
        stripped = text.lstrip()
        if stripped.startswith("!") or stripped.startswith("%%bash") or stripped.startswith("%sx"):
            add("medium", "shell-command", "a shell command in a code cell", i)
        elif stripped.startswith("%"):
            add("low", "magic", "an IPython magic", i)
        if _IPYTHON_HOOKS.search(text):
            add("high", "ipython-hook", "touches IPython's input or event machinery", i)
        if _SUSPICIOUS_TEXT.search(text):
            add("medium", "instructor-path", "mentions grader or instructor files", i)


def _scan_tree(source: str, add) -> None:
    code = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                     for ln in source.splitlines())
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        add("low", "syntax-error", f"does not parse: {getattr(exc, 'msg', type(exc).__name__)}",
            getattr(exc, "lineno", None))
        return

    for node in ast.walk(tree):
        ln = getattr(node, "lineno", None)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in _HIGH_MODULES:
                    add("high", "forbidden-import", f"imports {name}", ln)
                elif top in _MEDIUM_MODULES:
                    add("medium", "unusual-import", f"imports {name}", ln)
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else (
                fn.attr if isinstance(fn, ast.Attribute) else None)
            if name in _HIGH_CALLS:
                add("high", "introspection-call", f"calls {name}()", ln)
            elif name in _MEDIUM_CALLS:
                add("medium", "dynamic-code", f"calls {name}()", ln)
            if name in ("kill", "killpg", "fork", "system", "popen", "spawnv", "execv",
                        "Popen", "signal", "setrlimit", "alarm"):
                add("high" if name != "signal" else "medium", "process-control",
                    f"calls {name}()", ln)
        elif isinstance(node, ast.Attribute):
            if node.attr in _DUNDER_ATTRS:
                add("high", "introspection", f"uses .{node.attr}", ln)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _root(target) in _MODULE_ROOTS:
                    add("high", "monkeypatch", f"assigns to {ast.unparse(target)}", ln)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and \
                        item.name in _LIE_METHODS:
                    add("high", "lying-object", f"class {node.name} defines {item.name}",
                        item.lineno)
            for base in node.bases:
                text = ast.unparse(base)
                if re.search(r"ndarray|float|int|Tensor|matrix", text):
                    add("medium", "numeric-subclass", f"class {node.name} subclasses {text}", ln)
        elif isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and \
                node.test.value is True:
            add("low", "endless-loop", "while True loop", ln)


def scan_notebook(nb, answer_ids: set[str] | None = None,
                  instructor_ids: set[str] | None = None,
                  instructor_sources: frozenset[str] = frozenset()) -> list[Finding]:
    """Findings for every code cell of a submitted notebook (answer cells named by id). Cells
    carrying an ``instructor_ids`` id (tests, locked cells) are skipped: the grader replaces them
    with the instructor's copy, and edits to them are reported as notes. So are unmarked cells
    whose code is exactly one of the instructor's (``instructor_sources``: the set-up cell, the
    experiment's plot cell), which the student did not write."""
    findings: list[Finding] = []
    for i, cell in enumerate(nb.get("cells", []) or []):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if instructor_ids and gid in instructor_ids:
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if src.strip() in instructor_sources and not (answer_ids and gid in answer_ids):
            continue
        label = f"answer cell '{gid}'" if answer_ids and gid in answer_ids else f"cell {i + 1}"
        findings += scan_source(src, label)
        if len(findings) >= MAX_FINDINGS:
            findings = findings[:MAX_FINDINGS]
            findings.append(Finding("low", "many-findings", f"the scan stopped after "
                                    f"{MAX_FINDINGS} findings", f"cell {i + 1}"))
            break
    return findings


def scan_files(folder: Path, notebooks: set[str]) -> list[Finding]:
    """Files shipped next to the notebook: module shims and symbolic links are high, anything
    else low. Links are reported, never followed; at most :data:`MAX_FILES` entries are looked
    at (the rest is counted)."""
    findings: list[Finding] = []
    if folder.is_symlink() or not folder.is_dir():
        if folder.is_symlink():
            findings.append(Finding("high", "symlink", "the submission folder is a symbolic "
                                    "link", one_line(folder.name)))
        return findings
    seen = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            seen += 1
            if seen > MAX_FILES:
                continue
            path = Path(root) / name
            rel = one_line(path.relative_to(folder), 200)
            if path.is_symlink():
                findings.append(Finding("high", "symlink", "a symbolic link (to "
                                        f"'{one_line(os.readlink(path), 200)}'): not followed",
                                        rel))
            elif path.parent == folder and (name in notebooks or name in NBGRADER_FILES):
                continue
            elif name.endswith(".symlink.txt"):  # left by the course's collect for a link
                findings.append(Finding("high", "symlink", "a symbolic link in the exchange "
                                        "submission (collect did not follow it)", rel))
            elif path.suffix in (".py", ".pth", ".so", ".pyc", ".pyd") or name.startswith(
                    ("sitecustomize", "usercustomize")):
                findings.append(Finding("high", "module-file", "a Python module shipped with "
                                        "the notebook (it could shadow numpy or the course "
                                        "package)", rel))
            elif path.suffix == ".ipynb":
                findings.append(Finding("low", "extra-notebook", "another notebook", rel))
            else:
                findings.append(Finding("low", "extra-file", "an extra file", rel))
    if seen > MAX_FILES:
        findings.append(Finding("low", "many-files", f"{seen} files; the first {MAX_FILES} "
                                "were looked at", "."))
    return findings
