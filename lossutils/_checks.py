"""The argument checks of every loss, in one place, for both flavours.

Every error names the function, the argument, what it got, what it expected and the likely fix,
so a student who passes probabilities where logits belong learns *why* from the message. The
NumPy losses call these checks on their arguments; ``lossutils.torch`` calls the same checks on
NumPy views of its tensors, so the two flavours raise the same errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, NoReturn

import numpy as np

REDUCTIONS = ("none", "mean", "sum")
KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")
ROW_SUM_TOL = 1e-6  # how far a probability vector's sum may be from 1


# ---- the message --------------------------------------------------------------------------------

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


# ---- arrays and numbers -------------------------------------------------------------------------

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
    if not allow_nan and np.isnan(arr).any():
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


def real_number(fn: str, arg: str, value) -> float:
    """A real hyper-parameter that may be zero or negative (torch puts no bound on it)."""
    if not np.isscalar(value) or isinstance(value, (str, bool)) or np.isnan(value):
        fail(fn, arg, f"is {value!r}", "a real number", f"pass a number, e.g. {arg}=0.0",
             TypeError)
    return float(value)


def count(fn: str, arg: str, value: object, minimum: int) -> int:
    """An integer argument (a size, a number of bins) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        fail(fn, arg, f"is {value!r}", f"an integer >= {minimum}",
             f"pass e.g. {arg}={max(minimum, 10)}")
    return int(value)


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


def pair(fn: str, input: object, target: object,
         names: tuple[str, str] = ("input", "target")) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and target as float64 arrays of one shape (chapter 3's losses and others)."""
    x = as_float(fn, names[0], input)
    y = as_float(fn, names[1], target)
    same_shape(fn, names[0], x, names[1], y)
    return x, y


def embedding_pair(fn: str, a_name: str, a: object, b_name: str, b: object):
    """Two batches of embeddings, ``(N, D)`` or one ``(D,)`` vector each, of equal shape."""
    x, y = pair(fn, a, b, (a_name, b_name))
    if x.ndim not in (1, 2):
        fail(fn, a_name, f"has shape {x.shape}", "(N, D) or (D,)",
             "flatten each embedding to one vector, e.g. x.reshape(len(x), -1)")
    return x, y


# ---- reductions ---------------------------------------------------------------------------------

def reduce(loss: np.ndarray, how: str) -> np.ndarray | np.float64:
    """Apply ``'none' | 'mean' | 'sum'`` to an unreduced loss (mean over all elements)."""
    if how == "none":
        return loss
    if how == "sum":
        return np.float64(loss.sum())
    return np.float64(loss.mean()) if loss.size else np.float64(np.nan)


def reduce_grad(grad: np.ndarray, how: str, n: int) -> np.ndarray:
    """Gradient of a reduced loss from the per-element gradient: 'mean' divides by ``n``.

    For ``'none'`` the gradient is of ``sum(loss)`` (the vector-Jacobian product with ones), which
    is what ``loss.backward(torch.ones_like(loss))`` gives.
    """
    return grad / n if how == "mean" and n else grad


# ---- binary and multi-label losses (chapters 4 and 7) -------------------------------------------

def binary(fn: str, input: object, target: object, reduction_: str,
           names: tuple[str, str] = ("input", "target"),
           probabilities_in: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Logits (or probabilities) and 0/1 or soft targets in [0, 1], of one shape."""
    reduction(fn, reduction_)
    x, y = pair(fn, input, target, names)
    if probabilities_in:
        probabilities(fn, names[0], x)
    if y.size and (y.min() < 0 or y.max() > 1):  # {-1, 1} labels are the usual mistake
        fail(fn, names[1], f"has values in [{y.min():.4g}, {y.max():.4g}]",
             "0/1 labels or probabilities in [0, 1]",
             "map {-1, 1} labels with (y + 1) / 2; for class ids use cross_entropy")
    return x, y


def _broadcast_to(fn: str, arg: str, value: object, shape: tuple[int, ...],
                  hint: str) -> np.ndarray | None:
    """An optional weight that must broadcast to the input's shape (never the other way)."""
    if value is None:
        return None
    w = as_float(fn, arg, value)
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        fail(fn, f"{arg} shape", f"is {w.shape}", f"a shape that broadcasts to the input shape "
             f"{shape}", hint)
    return w


def binary_weights(fn: str, shape: tuple[int, ...], weight: object, pos_weight: object = None):
    """``weight`` (per element, or per class as (C,)) and ``pos_weight`` (per class, last dim)."""
    w = _broadcast_to(fn, "weight", weight, shape,
                      "pass one weight per element, or per class as shape (C,)")
    pw = _broadcast_to(fn, "pos_weight", pos_weight, shape,
                       f"pass one weight per class along the last dim, shape ({shape[-1]},)"
                       if shape else "pass a scalar pos_weight")
    return w, pw


# ---- cross-entropy and NLL (chapter 5) ----------------------------------------------------------

def smoothing_targets(fn: str, target: object, num_classes: int, label_smoothing_: float):
    """Class ids (N,) in [0, K), the number of classes K >= 1 and a smoothing share in [0, 1]."""
    y = as_class_index(fn, "target", target)
    k = int(num_classes)
    if k < 1:
        fail(fn, "num_classes", f"is {num_classes!r}", "an integer >= 1",
             "pass the number of classes K")
    eps = label_smoothing(fn, label_smoothing_)
    if y.size and (y.min() < 0 or y.max() >= k):
        fail(fn, "target", f"has class ids in [{y.min()}, {y.max()}]", f"ids in [0, {k - 1}]",
             "check num_classes and the label encoding")
    return y, k, eps


class ClassBatch(NamedTuple):
    """A checked batch for cross-entropy or NLL; the class axis is 1 (0 for a (C,) input)."""

    x: np.ndarray                # input, float64
    axis: int                    # the class axis
    how: str                     # reduction
    eps: float                   # label smoothing
    w: np.ndarray | None         # class weights shaped (C, 1, ..., 1) along the class axis
    ids: np.ndarray | None       # class ids, ignored items as class 0, class axis kept (size 1)
    counted: np.ndarray | None   # False where the target is ignore_index, class axis kept
    q: np.ndarray | None         # probability targets (None for class ids)


def class_batch(fn: str, input: object, target: object, weight: object, ignore_index_: object,
                reduction_: str, label_smoothing_: float | None = None) -> ClassBatch:
    """Check the arguments of ``cross_entropy`` (``label_smoothing_`` given) or ``nll_loss``.

    Targets are class ids ``(N, d1, ...)`` (ids in [0, C) or ``ignore_index``) or, for
    cross-entropy, probabilities of the input's shape. A NaN anywhere in the input is rejected
    for cross-entropy, which reads every logit; NLL reads only ``input[i, y_i]``, which
    :func:`nll_entries` checks.
    """
    how = reduction(fn, reduction_)
    eps = 0.0 if label_smoothing_ is None else label_smoothing(fn, label_smoothing_)
    ignore = ignore_index(fn, ignore_index_)
    x = as_float(fn, "input", input, allow_nan=label_smoothing_ is None)
    if x.ndim == 0 or x.shape[1 if x.ndim >= 2 else 0] == 0:
        fail(fn, "input shape", f"is {x.shape}", "(N, C, ...) or (C,) with C >= 1 classes",
             "pass one score per class along dim 1")
    axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[axis]
    w = None
    if weight is not None:
        w = as_float(fn, "weight", weight)
        if w.shape != (n_classes,):
            fail(fn, "weight", f"has shape {w.shape}", f"one weight per class, shape "
                 f"({n_classes},)", "pass a 1-D array with an entry for every class of input dim 1")
        w = w.reshape((n_classes,) + (1,) * (x.ndim - axis - 1))
    _reject_tensor(fn, "target", target)
    arr = np.asarray(target)
    if arr.shape == x.shape and arr.dtype.kind == "f" and x.ndim:
        if label_smoothing_ is None:
            fail(fn, "target", f"has float dtype and the input's shape {x.shape}",
                 "integer class indices", "pass class ids, e.g. target.argmax(axis=1); "
                 "for soft labels use cross_entropy", TypeError)
        q = as_float(fn, "target", arr)
        if q.size and (q.min() < 0 or q.max() > 1):
            fail(fn, "target", f"(probabilities) has values in [{q.min():.4g}, {q.max():.4g}]",
                 "class probabilities in [0, 1]",
                 "apply softmax to scores first, or pass integer class ids")
        if ignore >= 0:
            fail(fn, "ignore_index", f"is {ignore} with probability targets",
                 "a negative value (no class is ignored)",
                 "drop ignore_index, or give ignored items all-zero target rows")
        return ClassBatch(x, axis, how, eps, w, None, None, q)
    expected = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if x.ndim >= 2 and arr.ndim == x.ndim and arr.shape[1] == 1:
        fail(fn, "target shape", f"is {arr.shape}, a class axis of size 1",
             f"class indices of shape {expected}",
             "squeeze with target.reshape(-1) (target.squeeze(1) for spatial targets)")
    t = as_class_index(fn, "target", arr)
    if t.shape != expected:
        fix = ("integer one-hot rows are not class ids: pass target.argmax(axis=1), or "
               "target.astype(float) as probabilities" if t.shape == x.shape else
               "give one class id per item: input is (N, C, d1, ...) and target (N, d1, ...)")
        fail(fn, "target shape", f"is {t.shape}",
             f"{expected} for input of shape {x.shape} (class dim {axis})", fix)
    counted = t != ignore
    ids = t[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= n_classes):
        fail(fn, "target", f"has class ids in [{ids.min()}, {ids.max()}]",
             f"ids in [0, {n_classes - 1}] for {n_classes} classes (or ignore_index={ignore})",
             "check the number of classes in input dim 1; labels 1..C need target - 1")
    # ignored items point at class 0, so that picking stays in range; their loss is set to 0
    ids = np.expand_dims(np.where(counted, t, 0), axis)
    return ClassBatch(x, axis, how, eps, w, ids, np.expand_dims(counted, axis), None)


def nll_entries(fn: str, b: ClassBatch) -> np.ndarray:
    """``input[i, y_i]`` per item (class axis kept), 0 for ignored items, which read nothing.

    A NaN among these entries is rejected (the message names the input's first NaN); NLL reads
    no other entry, so, as in torch, a NaN elsewhere does not matter.
    """
    read = np.where(b.counted, np.take_along_axis(b.x, b.ids, axis=b.axis), 0.0)
    if np.isnan(read).any():
        as_float(fn, "input", b.x)  # raises the standard message
    return read


# ---- divergences and distillation (chapter 8) ---------------------------------------------------

def kl_div(fn: str, input: object, target: object, reduction_: str,
           log_target: bool) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities and a target distribution (or its logarithm) of one shape."""
    x, t = pair(fn, input, target)
    reduction(fn, reduction_, KL_REDUCTIONS)
    if not log_target and t.size and t.min() < 0:
        fail(fn, "target", f"has a negative value ({t.min():.4g})", "probabilities (>= 0)",
             "if target holds log-probabilities pass log_target=True; otherwise "
             "normalise it with softmax or t / t.sum(-1, keepdims=True)")
    return x, t


def distribution(fn: str, arg: str, x: object) -> np.ndarray:
    """Rows (last axis) must be probability vectors: entries in [0, 1], sum 1 within 1e-6."""
    p = as_float(fn, arg, x)
    if p.ndim == 0:
        fail(fn, arg, "is a scalar", "a distribution along the last axis, shape (..., K)",
             "pass the whole probability vector, e.g. [p, 1 - p] for a coin")
    if p.size and (p.min() < 0 or p.max() > 1):
        fail(fn, arg, f"has values in [{p.min():.4g}, {p.max():.4g}]", "probabilities in [0, 1]",
             "if these are logits or scores, apply lossutils.softmax first")
    if p.size:
        err = np.abs(p.sum(axis=-1) - 1.0)
        if err.max() > ROW_SUM_TOL:
            where = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
            fail(fn, arg, f"has a row summing to {p.sum(axis=-1)[where]:.6g} (row {where})",
                 f"rows (last axis) that sum to 1 within {ROW_SUM_TOL}",
                 "normalise with p / p.sum(axis=-1, keepdims=True), or softmax if these are "
                 "logits")
    return p


def distillation(fn: str, student_logits: object, teacher_logits: object, target: object,
                 T: float, alpha: float):
    """Student and teacher logits (N, C), optional class ids (N,), temperature and weight."""
    s = as_float(fn, "student_logits", student_logits)
    t = as_float(fn, "teacher_logits", teacher_logits)
    if s.ndim != 2:
        fail(fn, "student_logits", f"has shape {s.shape}", "logits of shape (N, C)",
             "put the batch first and the classes last; one sample is x.reshape(1, -1)")
    same_shape(fn, "student_logits", s, "teacher_logits", t)
    T = positive(fn, "T", T)
    alpha = positive(fn, "alpha", alpha, allow_zero=True)
    if alpha > 1:
        fail(fn, "alpha", f"is {alpha!r}", "a weight in [0, 1]",
             "alpha weights the soft term and 1 - alpha the hard one; e.g. alpha=0.9")
    with np.errstate(over="ignore"):
        overflow = not (np.isfinite(s / T).all() and np.isfinite(t / T).all())
    if overflow:
        fail(fn, "T", f"is {T!r}, which overflows logits / T", "a temperature that keeps "
             "logits / T finite", "use a temperature of order 1 to 20")
    y = None
    if target is not None:
        y = as_class_index(fn, "target", target)
        if y.shape != s.shape[:1]:
            fail(fn, "target shape", f"is {y.shape}", f"({s.shape[0]},), one class id per row",
                 "pass class indices; an (N, 1) target is fixed with .reshape(-1)")
        if y.size and (y.min() < 0 or y.max() >= s.shape[1]):
            fail(fn, "target", f"has class ids in [{y.min()}, {y.max()}]",
                 f"ids in [0, {s.shape[1] - 1}]", "check the label encoding")
    return s, t, y, T, alpha


# ---- margin and ranking losses (chapter 9) ------------------------------------------------------

def pm_one(fn: str, target: object, shape: tuple[int, ...]) -> np.ndarray:
    """Labels in {-1, 1}, one per sample (shape ``shape``)."""
    y = as_float(fn, "target", target)
    if y.shape != shape:
        fail(fn, "target shape", f"is {y.shape}", f"{shape}",
             "one label in {-1, 1} per sample; an (N, 1) target is fixed with .reshape(-1)")
    labels_in(fn, "target", y, (-1.0, 1.0))
    return y


def hinge_embedding(fn: str, input: object, target: object, margin: float, reduction_: str):
    """Scores or distances, labels in {-1, 1} of the same shape, and a margin >= 0."""
    x = as_float(fn, "input", input)
    m = positive(fn, "margin", margin, allow_zero=True)
    reduction(fn, reduction_)
    return x, pm_one(fn, target, x.shape), m


def margin_ranking(fn: str, input1: object, input2: object, target: object, margin: float,
                   reduction_: str):
    """Two scores per sample, a label in {-1, 1} each, and any real margin."""
    x1, x2 = pair(fn, input1, input2, ("input1", "input2"))
    m = real_number(fn, "margin", margin)
    reduction(fn, reduction_)
    return x1, x2, pm_one(fn, target, x1.shape), m


def cosine_embedding(fn: str, input1: object, input2: object, target: object, margin: float,
                     reduction_: str):
    """Two batches of embeddings, a label in {-1, 1} per pair, and any real margin."""
    a, b = embedding_pair(fn, "input1", input1, "input2", input2)
    m = real_number(fn, "margin", margin)
    reduction(fn, reduction_)
    return a, b, pm_one(fn, target, a.shape[:-1]), m


def triplet(fn: str, anchor: object, positive_: object, negative: object, margin: float,
            p: float, eps: float, reduction_: str):
    """Anchors, positives and negatives of one shape, (N, D) or (D,); margin > 0, p > 0."""
    a = as_float(fn, "anchor", anchor)
    pos = as_float(fn, "positive", positive_)
    neg = as_float(fn, "negative", negative)
    same_shape(fn, "anchor", a, "positive", pos)
    same_shape(fn, "anchor", a, "negative", neg)
    if a.ndim not in (1, 2):
        fail(fn, "anchor", f"has shape {a.shape}", "(N, D) or (D,)",
             "flatten each embedding to one vector, e.g. x.reshape(len(x), -1)")
    m = positive(fn, "margin", margin)
    p = positive(fn, "p", p)
    eps = real_number(fn, "eps", eps)
    reduction(fn, reduction_)
    return a, pos, neg, m, p, eps


# ---- embedding losses and mining (chapter 10) ---------------------------------------------------

def embeddings(fn: str, x: object, arg: str = "embeddings") -> np.ndarray:
    """A batch of embeddings (B, D), finite and small enough for their distances to be finite."""
    e = as_float(fn, arg, x)
    if e.ndim != 2:
        fail(fn, arg, f"has shape {e.shape}", "a 2-D array (B, D), one embedding per row",
             "stack the embeddings as rows; a single vector is x.reshape(1, -1)")
    if not np.isfinite(e).all():
        fail(fn, arg, "contains inf", "finite numbers",
             "find where the embedding network overflows, or normalise the embeddings")
    # beyond this, a distance itself would overflow float64
    limit = np.finfo(np.float64).max / (2.0 * np.sqrt(max(e.shape[1], 1)))
    if e.size and np.abs(e).max() > limit:
        fail(fn, arg, f"has entries as large as {np.abs(e).max():.3g}",
             f"magnitudes below {limit:.3g}, so that distances stay finite",
             "normalise the embeddings, e.g. x / np.linalg.norm(x, axis=1, keepdims=True)")
    return e


def batch_labels(fn: str, labels: object, n: int) -> np.ndarray:
    """Integer class ids (B,), one per embedding."""
    _reject_tensor(fn, "labels", labels)
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        fail(fn, "labels", f"has dtype {y.dtype}", "integer class ids",
             "cast with labels.astype(np.int64)", TypeError)
    if y.ndim != 1:
        fail(fn, "labels", f"has shape {y.shape}", f"a 1-D array of {n} class ids",
             "one label per embedding; a (B, 1) array is fixed with labels.reshape(-1)")
    if y.shape[0] != n:
        fail(fn, "labels", f"has length {y.shape[0]}", f"one label per embedding row ({n})",
             "pass the labels of the same batch")
    return y.astype(np.int64, copy=False)


def contrastive(fn: str, x1: object, x2: object, same: object, margin: float, reduction_: str):
    """Two batches of embeddings, a 0/1 flag per pair (1 = similar), and a margin > 0."""
    u, v = embedding_pair(fn, "x1", x1, "x2", x2)
    m = positive(fn, "margin", margin)
    reduction(fn, reduction_)
    s = as_float(fn, "same", same)
    if s.shape != u.shape[:-1]:
        fail(fn, "same shape", f"is {s.shape}", f"{u.shape[:-1]}, one flag per pair",
             "an (N, 1) array is fixed with same.reshape(-1)")
    bad = ~np.isin(s, (0.0, 1.0))
    if bad.any():
        fail(fn, "same", f"contains {s[bad].flat[0].item()!r}", "only the flags {0, 1}",
             "1 marks a similar pair, 0 a dissimilar one; map {-1, 1} labels with "
             "same = (y + 1) // 2")
    return u, v, s, m

