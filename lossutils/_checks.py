"""Input validation shared by every loss: one place that turns bad input into a clear error.

Every error names the function, the argument, what it got, what it expected and the likely fix,
so a student who passes probabilities where logits belong learns *why* from the message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NoReturn

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


def fail(fn: str, arg: str, got: str, expected: str, fix: str, exc: type = ValueError) -> NoReturn:
    """Raise ``exc`` with the course's standard message layout."""
    raise exc(f"lossutils.{fn}: {arg} {got}; expected {expected}. Fix: {fix}")


def _describe(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def _reject_tensor(fn: str, arg: str, x: object) -> None:
    if type(x).__module__.startswith("torch"):
        fail(fn, arg, "is a torch.Tensor", "a NumPy array",
             "use `from lossutils import torch as L` for tensors, or pass t.detach().numpy()",
             TypeError)


def has_nan(a: object) -> bool:
    """Whether ``a`` (an array or a scalar) holds a NaN, in one read: ``min`` propagates NaN,
    where ``isnan(a).any()`` writes a mask and reads it again."""
    if getattr(a, "ndim", 0) == 0:
        return math.isnan(a)  # type: ignore[arg-type]
    return a.size > 0 and math.isnan(a.min())  # type: ignore[attr-defined]


def as_float(fn: str, arg: str, x: object, allow_nan: bool = False) -> np.ndarray:
    """Convert ``x`` to a float64 array, rejecting strings, objects, tensors and NaN."""
    _reject_tensor(fn, arg, x)
    arr = np.asarray(x)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":  # signed, unsigned, floating (bool became float above)
        fail(fn, arg, f"has dtype {arr.dtype}", "real numbers",
             "convert the data with np.asarray(x, dtype=float)", TypeError)
    arr = arr.astype(np.float64, copy=False)
    if not allow_nan and has_nan(arr):
        where = tuple(int(i) for i in np.argwhere(np.isnan(arr))[0])
        fail(fn, arg, f"contains NaN (first at index {where})", "finite numbers",
             "find where the NaN first appears upstream (log of 0, 0/0, an exploding step)")
    return arr


def as_class_index(fn: str, arg: str, x: object) -> np.ndarray:
    """Convert class-index targets to int64, rejecting floats (a classic mistake)."""
    _reject_tensor(fn, arg, x)
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        fail(fn, arg, f"has float dtype {arr.dtype}", "integer class indices",
             "cast with target.astype(np.int64); for soft labels pass probabilities with the "
             "same shape as the input", TypeError)
    if arr.dtype.kind not in "iu":
        fail(fn, arg, f"has dtype {arr.dtype}", "integer class indices",
             "cast with target.astype(np.int64)", TypeError)
    return arr.astype(np.int64, copy=False)


def same_shape(fn: str, a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    """Losses here never broadcast silently: an (N, 1) vs (N,) mix-up is an error."""
    if a.shape != b.shape:
        hint = "reshape one of them; an (N, 1) vs (N,) mix-up is fixed with .reshape(-1)"
        fail(fn, f"{b_name} shape", f"is {b.shape}", f"the shape of {a_name}, {a.shape}", hint)


def reduction(fn: str, value: object, allowed: Iterable[str] = REDUCTIONS) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        fail(fn, "reduction", f"is {value!r}", " or ".join(repr(a) for a in allowed),
             f"pass one of {allowed}")
    return value  # type: ignore[return-value]


def embedding_pair(fn: str, a_name: str, a: object, b_name: str, b: object):
    """Two batches of embeddings, ``(N, D)`` or one ``(D,)`` vector each, of equal shape."""
    x = as_float(fn, a_name, a)
    y = as_float(fn, b_name, b)
    same_shape(fn, a_name, x, b_name, y)
    if x.ndim not in (1, 2):
        fail(fn, a_name, f"has shape {x.shape}", "(N, D) or (D,)",
             "flatten each embedding to one vector, e.g. x.reshape(len(x), -1)")
    return x, y


def positive(fn: str, arg: str, value: float, allow_zero: bool = False) -> float:
    """Reject non-positive (or negative, with ``allow_zero``) hyper-parameters such as delta."""
    if not np.isscalar(value) or isinstance(value, (str, bool)):
        fail(fn, arg, f"is {_describe(value)}", "a real number", f"pass a number, e.g. {arg}=1.0",
             TypeError)
    v = float(value)  # type: ignore[arg-type]
    bad = v < 0 if allow_zero else v <= 0
    if bad or math.isnan(v):
        fail(fn, arg, f"is {value!r}", ">= 0" if allow_zero else "> 0",
             f"pass a {'non-negative' if allow_zero else 'positive'} value, e.g. {arg}=1.0")
    return v


def label_smoothing(fn: str, value: float) -> float:
    """``label_smoothing`` as a float in [0, 1]: the share of the target spread over all classes."""
    eps = positive(fn, "label_smoothing", value, allow_zero=True)
    if eps > 1:
        fail(fn, "label_smoothing", f"is {value!r}", "a value in [0, 1]",
             "typical values are 0.1 or smaller; 0 switches smoothing off")
    return eps


def ignore_index(fn: str, value: object) -> int:
    """``ignore_index`` as an int: the class id whose items are left out of the loss."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        fail(fn, "ignore_index", f"is {value!r}", "an integer",
             "pass an int, e.g. the default -100", TypeError)
    return int(value)


def focal_alpha(fn: str, alpha: object) -> float | None:
    """The focal loss's ``alpha`` as torchvision reads it: a weight in [0, 1] for the positives,
    or None for no class weighting (``-1`` means None too)."""
    if alpha is None:
        return None
    if not np.isscalar(alpha) or isinstance(alpha, (str, bool)):
        fail(fn, "alpha", f"is {alpha!r}", "a number in [0, 1], -1 or None",
             "pass e.g. alpha=0.25, or alpha=None for no class weighting", TypeError)
    alpha = float(alpha)
    if alpha == -1.0:
        return None
    if not 0.0 <= alpha <= 1.0:
        fail(fn, "alpha", f"is {alpha!r}", "a weight in [0, 1] for the positives",
             "pass e.g. alpha=0.25; alpha=None (or -1) switches the weighting off")
    return alpha


def probabilities(fn: str, arg: str, x: np.ndarray) -> None:
    """Values must lie in [0, 1]; logits passed by mistake are the usual cause."""
    if x.size and (x.min() < 0 or x.max() > 1):
        fail(fn, arg, f"has values in [{x.min():.4g}, {x.max():.4g}]", "probabilities in [0, 1]",
             "if these are logits, use the *_with_logits / logits version, or apply sigmoid first")


def labels_in(fn: str, arg: str, y: np.ndarray, allowed: tuple[float, ...]) -> None:
    """Targets restricted to a label set, e.g. {0, 1} or {-1, 1}."""
    bad = ~np.isin(y, allowed)
    if bad.any():
        first = y[bad].flat[0].item()  # a plain number in the message, not np.float64(...)
        fail(fn, arg, f"contains {first!r}", f"only the labels {set(allowed)}",
             "map labels first, e.g. y = 2 * y01 - 1 for {0,1} -> {-1,1}")


def reduce(loss: np.ndarray, how: str) -> np.ndarray | np.float64:
    """Apply ``'none' | 'mean' | 'sum'`` to an unreduced loss (mean over all elements)."""
    if how == "none":
        return loss
    if how == "sum":
        return np.float64(loss.sum())
    return np.float64(loss.mean()) if loss.size else np.float64(np.nan)


def reduce_total(total: float, how: str, n: int) -> np.float64:
    """``'mean'`` or ``'sum'`` of a loss whose sum over ``n`` elements is already ``total``.

    For losses that fold their sum into a dot product (no per-element array) and reduce here, as
    :func:`reduce` would: the mean of nothing is NaN.
    """
    if how == "sum":
        return np.float64(total)
    return np.float64(total / n) if n else np.float64(np.nan)


def reduce_grad(grad: np.ndarray, how: str, n: int) -> np.ndarray:
    """Gradient of a reduced loss from the per-element gradient: 'mean' divides by ``n``.

    For ``'none'`` the gradient is of ``sum(loss)`` (the vector-Jacobian product with ones), which
    is what ``loss.backward(torch.ones_like(loss))`` gives.
    """
    return grad / n if how == "mean" and n else grad
