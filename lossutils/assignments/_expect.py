"""Helpers shared by the assignment checks: fixed inputs, safe calls and messages in words.

A check calls the student's function through :func:`call` (private copies of the inputs, warnings
silenced, errors turned into a sentence), then compares with :func:`expect_close` and friends, which
raise ``AssertionError`` saying which property failed, on what input, what came back and what was
expected. Nothing here trusts the returned object beyond converting it to a float64 array.
"""

from __future__ import annotations

import os
import warnings
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "fixed_rng", "call", "as_result", "describe", "expect_close", "expect_equal", "expect_shape",
    "expect_scalar", "expect_finite", "expect_true", "under_nbgrader",
]


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


def describe(inputs: Mapping[str, Any] | None) -> str:
    """``name=value`` pairs, arrays printed compactly (large ones summarised by shape and range)."""
    if not inputs:
        return "the inputs of this check"
    parts = []
    for key, value in inputs.items():
        parts.append(f"{key}={_short(value)}")
    return ", ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray) or isinstance(value, list | tuple):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf" and arr.size > 12:
            return (f"<array of shape {arr.shape}, values in "
                    f"[{arr.min():.4g}, {arr.max():.4g}]>")
        return np.array2string(arr, precision=6, separator=", ", threshold=12, max_line_width=400)
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call a student's function on private copies of the inputs, with warnings silenced.

    Copies: an answer that edits its arguments in place must not corrupt the expected value.
    Silence: nbgrader scores a test cell 0 if anything reaches stderr, so a RuntimeWarning inside
    an otherwise correct answer would cost the student the points. An exception becomes an
    ``AssertionError`` naming the function and the inputs (the original is chained below it).
    """
    args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
    kwargs = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
              for k, v in kwargs.items()}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure of student code is a failed check
        shown = {f"argument {i + 1}": a for i, a in enumerate(args)} | dict(kwargs)
        raise AssertionError(
            f"{_name(fn)} raised {type(exc).__name__}: {exc} (called with {describe(shown)})"
        ) from exc


def as_result(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """The returned value as a float64 array, or an AssertionError saying what came back."""
    if got is None:
        raise AssertionError(f"{what}: the function returned None (did you forget `return`?) "
                             f"for {describe(inputs)}")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            arr = np.array(got, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what}: expected numbers (a NumPy array or float) but got "
                             f"{type(got).__name__} ({exc}) for {describe(inputs)}") from None
    return arr


def expect_shape(got: Any, shape: tuple[int, ...], what: str,
                 inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """The result has exactly ``shape``; returns it as a float64 array."""
    arr = as_result(got, what, inputs)
    if arr.shape != tuple(shape):
        raise AssertionError(f"{what}: expected a result of shape {tuple(shape)} but got shape "
                             f"{arr.shape} for {describe(inputs)}")
    return arr


def expect_scalar(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> float:
    """The result is a single number (a Python float, NumPy scalar or 0-d array)."""
    arr = as_result(got, what, inputs)
    if arr.ndim != 0:
        raise AssertionError(f"{what}: expected a single number (the mean over all elements) but "
                             f"got an array of shape {arr.shape} for {describe(inputs)}")
    return float(arr)


def expect_finite(got: Any, what: str, inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """No inf or NaN anywhere in the result."""
    arr = as_result(got, what, inputs)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        raise AssertionError(f"{what}: the result contains {arr[bad].flat[0]} (first at index "
                             f"{first}) for {describe(inputs)}; expected finite numbers")
    return arr


def expect_close(got: Any, want: Any, what: str, inputs: Mapping[str, Any] | None = None,
                 rtol: float = 1e-6, atol: float = 1e-9) -> np.ndarray:
    """``got`` matches ``want``: convertible to floats, same shape, finite, within tolerance.

    A scalar ``want`` also accepts a one-element array. The message reports the worst element.
    """
    want = np.asarray(want, dtype=np.float64)
    arr = as_result(got, what, inputs)
    if want.ndim == 0 and arr.size == 1:
        arr = arr.reshape(())
    if arr.shape != want.shape:
        raise AssertionError(f"{what}: expected a result of shape {want.shape} but got shape "
                             f"{arr.shape} for {describe(inputs)}")
    if np.all(np.isfinite(want)):
        expect_finite(arr, what, inputs)
    with np.errstate(all="ignore"):
        ok = np.isclose(arr, want, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        if arr.ndim == 0:
            raise AssertionError(f"{what}: got {float(arr):.10g} but expected {float(want):.10g} "
                                 f"for {describe(inputs)}")
        err = np.where(ok, 0.0, np.nan_to_num(np.abs(arr - want), nan=np.inf))
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
        raise AssertionError(
            f"{what}: {int((~ok).sum())} of {ok.size} values are wrong, the worst at index {idx}: "
            f"got {arr[idx]:.10g} but expected {want[idx]:.10g} (for {describe(inputs)}); "
            f"got {_short(arr)}, expected {_short(want)}")
    return arr


def expect_equal(got: Any, want: Any, what: str,
                 inputs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Exact equality (for indices and counts): same shape, same values."""
    want = np.asarray(want)
    arr = as_result(got, what, inputs)
    if arr.shape != want.shape:
        raise AssertionError(f"{what}: expected a result of shape {want.shape} but got shape "
                             f"{arr.shape} for {describe(inputs)}; expected {_short(want)}")
    if not np.array_equal(arr, want):
        bad = np.argwhere(arr != want)
        first = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        raise AssertionError(f"{what}: first difference at index {first}: got {arr[first]} but "
                             f"expected {want[first]} (for {describe(inputs)}); got {_short(arr)}, "
                             f"expected {_short(want)}")
    return arr


def expect_true(condition: bool, what: str, detail: str,
                inputs: Mapping[str, Any] | None = None) -> None:
    """A property that is not a comparison of numbers; ``detail`` says what went wrong."""
    if not condition:
        raise AssertionError(f"{what}: {detail} (for {describe(inputs)})")
