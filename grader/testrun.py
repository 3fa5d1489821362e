"""Running the instructor's test cells in the trusted grader, against the student's sandbox.

Each test cell's source (the instructor's copy, hidden tests included) runs in this process in
a fresh namespace where every graded function name is a :class:`StudentFunction`: calling it
sends the arguments to the student's sandbox and returns plain NumPy numbers, or raises an
exception that carries the student's error message in words. The cell's result becomes nbgrader
outputs: an ``error`` output (0 points) when it raises, nothing or its printed text when it
passes (full points), and, like IPython, an ``execute_result`` for a final expression (nbgrader's
partial credit). Warnings and stderr never reach the outputs, so they never cost points.

Other instructor code cells (demonstrations, plots) run the same way in one shared namespace;
their outcome is shown but not scored.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import io
import os
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from nbformat.v4 import new_output

from .sandbox import Outcome, Sandbox
from .seeds import SEED_ENV

__all__ = ["StudentFunction", "CellResult", "run_cell", "error_output", "describe_test",
           "is_blocked", "BLOCKED"]

OUTPUT_CAP = 20_000
_POINTS = re.compile(r"\s*\(\d+(\.\d+)? points?\)\s*$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_]")
_class_cache: dict[str, type] = {}


BLOCKED = re.compile(r"is not allowed (while grading|in answer cells)|Operation not permitted|"
                      r"Permission denied")


def is_blocked(outcome: Outcome) -> bool:
    """Whether the student's code failed on something the sandbox refuses (or ran out of
    memory): worth the instructor's attention even when the student caught nothing."""
    return outcome.kind == "error" and (outcome.error_type == "MemoryError"
                                        or bool(BLOCKED.search(outcome.message)))


def safe_name(name: str) -> str:
    """An identifier made from a name the student controls (an exception class name)."""
    safe = _SAFE_NAME.sub("_", name)[:60] or "Error"
    return safe if safe[0].isalpha() else "E" + safe


def _exception_class(name: str) -> type[Exception]:
    """An exception class named like the student's, always a subclass of Exception (so a
    student's SystemExit or KeyboardInterrupt can never stop the grader)."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    safe = safe_name(name)
    if safe not in _class_cache:
        _class_cache[safe] = type(safe, (Exception,), {"__module__": "answer"})
    return _class_cache[safe]


def student_exception(name: str, outcome: Outcome) -> Exception:
    """The exception a call raises in the trusted process, for every kind of failure."""
    kind = outcome.kind
    if kind == "error":
        message = outcome.message
        if outcome.where and outcome.error_type != "NotImplementedError":
            cell, line, _ = outcome.where
            place = cell if cell.startswith("helper cell ") else f"your answer cell '{cell}'"
            message += f" (line {line} of {place})"
        cls = _exception_class(outcome.error_type or "Exception")
        try:
            return cls(message)
        except TypeError:  # builtin exceptions with special constructors
            return _exception_class(outcome.error_type + "_")(message)
    if kind == "unconvertible":
        return TypeError(f"{name} returned {outcome.message}; expected a NumPy array or a float")
    if kind in ("timeout", "budget", "skipped"):
        return TimeoutError(outcome.message)
    if kind == "crash":
        return ChildProcessError(outcome.message)
    return RuntimeError(outcome.message)


class Clock:
    """Deadline of the cell being run (per-cell time limit)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class StudentFunction:
    """Stand-in for a graded function: forwards calls to the sandbox."""

    def __init__(self, name: str, sandbox: Sandbox, clock: Clock, log: list,
                 parameters: list[str] | None = None):
        self.__name__ = self.__qualname__ = name
        self._sandbox, self._clock, self._log = sandbox, clock, log
        if parameters is not None:  # the instructor's signature: messages name the arguments
            self.__signature__ = inspect.Signature(
                [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                 for p in parameters])

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        left = self._clock.remaining()
        if left <= 0:
            raise TimeoutError(f"this cell used up its time limit of {self._clock.seconds:g} s")
        outcome = self._sandbox.call(self.__name__, args, kwargs, timeout=left)
        if outcome.kind not in ("array", "none", "error") or is_blocked(outcome):
            self._log.append(f"{self.__name__}: {outcome.kind}: {outcome.error_type} "
                             f"{outcome.message}".strip())
        if outcome.kind == "array":
            return outcome.value
        if outcome.kind == "none":
            return None
        raise student_exception(self.__name__, outcome)


@dataclass
class CellResult:
    outputs: list = field(default_factory=list)
    error: tuple[str, str] | None = None  # (exception type, message)
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None


def error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def _shown_name(cls: type) -> str:
    """The exception's name as the student should read it: the course's own classes
    (``CheckFailed``) by their built-in base (``AssertionError``)."""
    if cls.__module__.startswith(("lossutils", "grader")):
        return next(c.__name__ for c in cls.__mro__ if c.__module__ == "builtins")
    return cls.__name__


def _split_last_expression(source: str, filename: str):
    tree = ast.parse(source, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


@contextlib.contextmanager
def _environment(seed: int):
    """Seed for the checks' random inputs; NBGRADER_EXECUTION so checks skip figures."""
    saved = {k: os.environ.get(k) for k in (SEED_ENV, "NBGRADER_EXECUTION")}
    os.environ[SEED_ENV] = str(seed)
    os.environ.setdefault("NBGRADER_EXECUTION", "autograde")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cell(source: str, filename: str, namespace: dict, names: list[str], sandbox: Sandbox,
             seconds: float, seed: int, parameters: dict | None = None) -> CellResult:
    """Run trusted ``source`` with ``names`` bound to the student's functions (``parameters``:
    their parameter names in the instructor's answer, for messages)."""
    result = CellResult()
    clock = Clock(seconds)
    for name in names:
        namespace[name] = StudentFunction(name, sandbox, clock, result.events,
                                          (parameters or {}).get(name))
    namespace.setdefault("__builtins__", builtins)
    namespace.setdefault("__name__", "__main__")
    out = io.StringIO()
    t0 = time.monotonic()
    value = None
    try:
        body, last = _split_last_expression(source, filename)
        with _environment(seed), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings(), \
                np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            exec(body, namespace)  # noqa: S102 - instructor code, trusted
            if last is not None:
                value = eval(last, namespace)  # noqa: S307 - instructor code, trusted
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a failing test is an error output
        result.error = (_shown_name(type(exc)), str(exc))
    result.seconds = time.monotonic() - t0
    text = out.getvalue()
    if text:
        if len(text) > OUTPUT_CAP:
            text = text[:OUTPUT_CAP] + "\n... (output truncated)\n"
        result.outputs.append(new_output("stream", name="stdout", text=text))
    if result.error is not None:
        result.outputs.append(error_output(*result.error))
    elif value is not None:
        result.outputs.append(new_output("execute_result", data={"text/plain": repr(value)},
                                         execution_count=None))
    return result


def describe_test(source: str) -> str:
    """What a test cell checks, in words: its first comment line."""
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            if text and not text.upper().startswith(("BEGIN", "END")):
                return _POINTS.sub("", text) or text
        elif line:
            break
    return "test"
