"""Helpers shared by the assignment checks: fixed inputs, safe calls and messages in words.

A check calls the student's function through :func:`call` (private copies of the inputs, warnings
silenced, errors turned into a sentence), then compares with :func:`expect_close` and friends, which
raise :class:`CheckFailed` (an ``AssertionError``) in short labelled lines: which property failed,
on what input, what came back, what was expected and a hint. Nothing here trusts the returned
object beyond converting it to a float64 array.
"""

from __future__ import annotations

import inspect
import linecache
import os
import warnings
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "fixed_rng", "call", "as_result", "describe", "expect_close", "expect_equal", "expect_shape",
    "expect_scalar", "expect_finite", "expect_true", "under_nbgrader", "CheckFailed", "failure",
    "WIDTH",
]

# Messages are short lines: `nbgrader validate` in a terminal cuts every line at 87 characters
# (its indent included), and a line that survives there reads well in JupyterLab's dialog too.
WIDTH = 78
_LABEL = 9  # "expected:" and its value one space further


class CheckFailed(AssertionError):
    """A failed check: the message is the whole story (property, input, got, expected, hint),
    so in a notebook it is shown without the course package's frames (see
    :func:`_show_in_ipython`)."""


def fixed_rng(tag: str) -> np.random.Generator:
    """Inputs of a visible check: the same for every student and every run."""
    return np.random.default_rng(zlib.crc32(tag.encode()))


def under_nbgrader() -> bool:
    """True while ``nbgrader validate`` or ``nbgrader autograde`` runs the notebook.

    nbgrader sets ``NBGRADER_EXECUTION`` for the kernels it starts. Figures are skipped then:
    nobody looks at them, and importing matplotlib would be most of the notebook's run time.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", None) or "your function"


def _wrap(label: str | None, text: str) -> list[str]:
    """``  label: text`` folded to :data:`WIDTH` columns, continuation lines aligned (no label:
    the text from the first column, continued two columns in)."""
    head = f"  {label + ':':<{_LABEL}} " if label else ""
    room = WIDTH - max(len(head), 2)
    lines, rest = [], " ".join(str(text).split())
    while len(rest) > room:
        cut = max(rest.rfind(", ", 0, room) + 1, rest.rfind(" ", 0, room))
        cut = cut if cut > room // 3 else room
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    lines.append(rest)
    return [head + lines[0]] + [" " * max(len(head), 2) + ln for ln in lines[1:]]


def failure(what: str, detail: str | None = None, inputs: Mapping[str, Any] | None = None,
            got: str | None = None, expected: str | None = None, hint: str | None = None,
            where: str | None = None) -> CheckFailed:
    """The exception of a failed check, its message in short labelled lines::

        huber_loss, quadratic zone (|r| <= delta, loss 0.5 * r**2)
          input:    pred=[0.5, -0.3], target=[0, 0.1], delta=1
          got:      0.305
          expected: 0.1525
          hint:     twice the expected value

    ``what`` is the function and the property; ``detail`` says what went wrong when it is not a
    plain got/expected comparison.
    """
    lines = _wrap(None, what)
    for label, text in (("problem", detail), ("where", where),
                        ("input", None if inputs is None else describe(inputs)),
                        ("got", got), ("expected", expected), ("hint", hint)):
        if text:
            lines += _wrap(label, text)
    return CheckFailed("\n".join(lines))


def describe(inputs: Mapping[str, Any] | None) -> str:
    """``name=value`` pairs, arrays printed compactly (large ones summarised by shape and range)."""
    if not inputs:
        return "the inputs of this check"
    return ", ".join(f"{key}={_short(value)}" for key, value in inputs.items())


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray) or isinstance(value, list | tuple):
        try:
            arr = np.asarray(value)
        except ValueError:
            return repr(value)[:200]
        if arr.dtype.kind in "biuf" and arr.size > 12:
            return (f"<array of shape {arr.shape}, values in "
                    f"[{arr.min():.4g}, {arr.max():.4g}]>")
        return np.array2string(arr, separator=", ", threshold=12, max_line_width=10_000,
                               formatter={"float_kind": lambda v: f"{v:.6g}"})
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def _parameter_names(fn: Callable, count: int) -> list[str]:
    """Names of the first ``count`` parameters (the signature the grader gives the student's
    function is the instructor's), ``argument k`` where there is none."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(count)]


def _student_line(exc: BaseException, fn: Callable) -> str | None:
    """``line N: code`` of the student's own code where ``exc`` was raised (in a notebook)."""
    code = getattr(fn, "__code__", None)
    tb, found = exc.__traceback__, None
    while tb is not None:
        if code is not None and tb.tb_frame.f_code.co_filename == code.co_filename:
            found = tb
        tb = tb.tb_next
    if found is None:
        return None
    text = linecache.getline(found.tb_frame.f_code.co_filename, found.tb_lineno).strip()
    return f"line {found.tb_lineno} of your cell: {text}"[:300]


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a student's function on private copies of the inputs, with warnings silenced.

    Copies: an answer that edits its arguments in place must not corrupt the expected value.
    Silence: nbgrader scores a test cell 0 if anything reaches stderr, so a RuntimeWarning inside
    an otherwise correct answer would cost the student the points. An exception becomes a
    :class:`CheckFailed` naming the function, the error, where it happened and the arguments by
    name. Before the call, :func:`._grading.refusal` says whether grading would refuse the
    function (forbidden imports, code outside the answer cells): the same message then.
    """
    __tracebackhide__ = True
    from ._grading import refusal

    problem = refusal(fn)
    if problem is not None:
        raise failure(f"{_name(fn)} would score 0 when graded", problem,
                      hint="grading runs only your answer cells, with NumPy and the standard "
                           "library") from None
    args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
    kwargs = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
              for k, v in kwargs.items()}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure of student code is a failed check
        shown = dict(zip(_parameter_names(fn, len(args)), args, strict=True)) | dict(kwargs)
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001 - a broken __str__ is the student's
            text = "<the message could not be shown>"
        error = failure(f"{_name(fn)} raised {type(exc).__name__}: {text}"[:2000], None, shown,
                        where=_student_line(exc, fn))
    raise error from None


def as_result(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """The returned value as a float64 array, or a failure saying what came back."""
    __tracebackhide__ = True
    if got is None:
        raise failure(what, "the function returned None", inputs,
                      hint="did you forget `return`?")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            arr = np.array(got, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise failure(what, f"expected numbers (a NumPy array or a float) but got "
                      f"{type(got).__name__} ({exc})", inputs) from None
    return arr


def expect_shape(got: Any, shape: tuple[int, ...], what: str,
                 inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """The result has exactly ``shape``; returns it as a float64 array."""
    __tracebackhide__ = True
    arr = as_result(got, what, inputs)
    if arr.shape != tuple(shape):
        raise failure(what, "the result has the wrong shape", inputs, got=f"shape {arr.shape}",
                      expected=f"shape {tuple(shape)}")
    return arr


def expect_scalar(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> float:
    """The result is a single number (a Python float, NumPy scalar or 0-d array)."""
    __tracebackhide__ = True
    arr = as_result(got, what, inputs)
    if arr.ndim != 0:
        raise failure(what, "expected a single number", inputs,
                      got=f"an array of shape {arr.shape}", expected="one number",
                      hint="reduce with the mean over all elements (.mean())")
    return float(arr)


def expect_finite(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """No inf or NaN anywhere in the result."""
    __tracebackhide__ = True
    arr = as_result(got, what, inputs)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = (f" (first at index {tuple(int(i) for i in np.argwhere(bad)[0])})"
                 if arr.ndim else "")
        raise failure(what, f"the result contains {arr[bad].flat[0]}{where}", inputs,
                      expected="finite numbers")
    return arr


def _ratio_hint(arr: np.ndarray, want: np.ndarray, inputs: Mapping[str, Any] | None) -> str | None:
    """Say so when the result is the expected one times a constant (a sum instead of a mean,
    a forgotten division, a flipped sign)."""
    nonzero = np.abs(want) > 1e-12
    if arr.shape != want.shape or not nonzero.any() or not np.all(np.isfinite(arr)):
        return None
    ratios = arr[nonzero] / want[nonzero]
    k = float(np.median(ratios))
    if not np.allclose(ratios, k, rtol=1e-6) or not np.allclose(arr[~nonzero], 0, atol=1e-12):
        return None
    sizes = {int(np.size(v)): name for name, v in (inputs or {}).items()
             if isinstance(v, np.ndarray) and np.size(v) > 1}
    rows = {int(np.shape(v)[0]): name for name, v in (inputs or {}).items()
            if isinstance(v, np.ndarray) and np.ndim(v) > 1}
    for factor, word in ((k, "times the expected value"), (1 / k if k else 0.0, "times too small")):
        n = round(factor)
        if n >= 2 and abs(factor - n) < 1e-6 * n:
            if n in sizes:
                reason = (f"the number of elements of {sizes[n]}: a sum instead of the mean?"
                          if word.startswith("times the") else
                          f"the number of elements of {sizes[n]}: divided twice?")
            elif n in rows:
                reason = f"the number of rows of {rows[n]}"
            else:
                reason = ""
            return f"{n} {word}" + (f" ({reason})" if reason else "")
    if abs(k + 1) < 1e-6:
        return "the sign is flipped"
    return None


def expect_close(got: Any, want: Any, what: str, inputs: Mapping[str, Any] | None = None,
                 rtol: float = 1e-6, atol: float = 1e-9, hint: str | None = None) -> np.ndarray:
    """``got`` matches ``want``: convertible to floats, same shape, finite, within tolerance.

    A scalar ``want`` also accepts a one-element array. The message reports the worst element
    and, when the result is off by a constant factor, says so (``hint`` adds the check's own).
    """
    __tracebackhide__ = True
    want = np.asarray(want, dtype=np.float64)
    arr = as_result(got, what, inputs)
    if want.ndim == 0 and arr.size == 1:
        arr = arr.reshape(())
    if arr.shape != want.shape:
        raise failure(what, "the result has the wrong shape", inputs, got=f"shape {arr.shape}",
                      expected=f"shape {want.shape}")
    if np.all(np.isfinite(want)):
        expect_finite(arr, what, inputs)
    with np.errstate(all="ignore"):
        ok = np.isclose(arr, want, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        hint = hint or _ratio_hint(arr, want, inputs)
        if arr.ndim == 0:
            raise failure(what, None, inputs, got=f"{float(arr):.10g}",
                          expected=f"{float(want):.10g}", hint=hint)
        err = np.where(ok, 0.0, np.nan_to_num(np.abs(arr - want), nan=np.inf))
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
        raise failure(what, f"{int((~ok).sum())} of {ok.size} values are wrong, the worst at "
                      f"index {idx}: {arr[idx]:.10g} instead of {want[idx]:.10g}", inputs,
                      got=_short(arr), expected=_short(want), hint=hint)
    return arr


def expect_equal(got: Any, want: Any, what: str,
                 inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Exact equality (for indices and counts): same shape, same values."""
    __tracebackhide__ = True
    want = np.asarray(want)
    arr = as_result(got, what, inputs)
    if arr.shape != want.shape:
        raise failure(what, "the result has the wrong shape", inputs, got=f"shape {arr.shape}",
                      expected=f"shape {want.shape}: {_short(want)}")
    if not np.array_equal(arr, want):
        bad = np.argwhere(arr != want)
        first = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        raise failure(what, f"first difference at index {first}: {arr[first]} instead of "
                      f"{want[first]}", inputs, got=_short(arr), expected=_short(want))
    return arr


def expect_true(condition: bool, what: str, detail: str,
                inputs: Mapping[str, Any] | None = None, hint: str | None = None) -> None:
    """A property that is not a comparison of numbers; ``detail`` says what went wrong."""
    __tracebackhide__ = True
    if not condition:
        raise failure(what, detail, inputs, hint=hint)


def _show_in_ipython() -> None:
    """In a Jupyter kernel, show a :class:`CheckFailed` as its message only.

    IPython hides frames that set ``__tracebackhide__`` but still prints the innermost one with
    its source; the message already names the property, the input and what came back, so the
    course package's code would only push it off the screen (and `nbgrader validate` would print
    it under every failing test). A student's own handler, if any, is left alone."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "custom_exceptions", ()) not in ((), (CheckFailed,)):
        return

    def show(self, etype, value, tb, tb_offset=None):
        # IPython leaves showing the error to the handler (it only records it)
        red, reset = "\x1b[0;31m", "\x1b[0m"
        lines = str(value).splitlines() or [""]
        stb = [f"{red}{lines[0]}{reset}", *lines[1:]]
        self._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((CheckFailed,), show)


_show_in_ipython()
