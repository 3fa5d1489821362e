"""Checks for classic loss mistakes, and which loss to start with (chapter 12).

``diagnose(loss, input, target)`` looks at what is about to go into a loss and returns a list of
named findings (softmax before ``cross_entropy``, probabilities where logits belong and the
reverse, MSE on class labels, softmax on multi-hot targets, ``(N, 1)`` targets, the class axis
last in ``(N, T, C)`` sequence logits, padding that is not ignored, ``kl_div`` misuse, NaN, shape
mix-ups), each with a one-line fix; an empty list means nothing looked wrong.

``recommend_loss(target)`` reads a target array (real values, a 0/1 vector, class ids, multi-hot
rows, rows that sum to one, token sequences, pair flags or triplets) and names the loss to start
with, the output layer it expects, why, and the PyTorch call.

Both accept NumPy arrays and torch tensors (converted with ``.detach().cpu().numpy()``; torch is
never imported here). Both are heuristics on values: they read what the arrays look like, so an
array can fool them, but they stay silent on ordinary, honest inputs.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from . import _checks
from .activations import logsumexp

__all__ = ["Finding", "Findings", "Recommendation", "diagnose", "recommend_loss"]

# "All values in [0, 1]" happens by chance for a handful of honest logits (each N(0, 1) logit
# lands there with probability 0.34), so that test waits for at least this many values.
MIN_VALUES = 6
# Row sums of a float32 softmax are 1 to about 1e-6; 1e-3 also catches rounded printouts.
SUM_TOL = 1e-3
# Robust z-score beyond which a value counts as an outlier (Iglewicz and Hoaglin), and the
# Gaussian probability of exceeding it, 2 * (1 - Phi(3.5)).
Z_OUTLIER = 3.5
P_GAUSS_OUTLIER = 4.65e-4
# A minority of 1 in 10 or rarer ("always predict the majority" scores 90 % or more): the smallest
# class count is at most 1/9 of the largest (small slack for float rounding).
IMBALANCE_RATIO = 1.0 / 9.0 + 1e-12

_KIND = {
    "cross_entropy": "ce", "nll_loss": "nll", "multi_margin_loss": "margin",
    "binary_cross_entropy": "bce", "binary_cross_entropy_with_logits": "bce_logits",
    "sigmoid_focal_loss": "bce_logits", "multilabel_soft_margin_loss": "bce_logits",
    "mse_loss": "regression", "l1_loss": "regression", "huber_loss": "regression",
    "smooth_l1_loss": "regression", "kl_div": "kl",
}
_MODULES = {  # torch.nn loss classes -> functional names
    "CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "binary_cross_entropy_with_logits", "MSELoss": "mse_loss",
    "L1Loss": "l1_loss", "HuberLoss": "huber_loss", "SmoothL1Loss": "smooth_l1_loss",
    "KLDivLoss": "kl_div", "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
    "MultiMarginLoss": "multi_margin_loss",
}
# torch's default ignore_index for cross_entropy and nll_loss: targets equal to it are left out.
IGNORE_INDEX = -100


@dataclass(frozen=True)
class Finding:
    """One detected mistake: a snake_case ``name``, what was seen, and a one-line fix."""

    name: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}\n    fix: {self.fix}"


class Findings(list):
    """The list ``diagnose`` returns; ``print`` shows each finding, ``.names`` their names."""

    @property
    def names(self) -> list[str]:
        return [f.name for f in self]

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self) if self else "no findings"


@dataclass(frozen=True)
class Recommendation:
    """What ``recommend_loss`` advises: the loss, the output layer it expects, why, the call.

    ``alternatives`` are strings that start with a loss name, optionally followed by when to
    prefer it in parentheses.
    """

    loss: str
    output_layer: str
    reason: str
    torch_call: str
    alternatives: tuple[str, ...] = ()

    def __str__(self) -> str:
        fields = [("loss", self.loss), ("output layer", self.output_layer), ("why", self.reason),
                  ("torch", self.torch_call)]
        if self.alternatives:
            fields.append(("alternatives", "; ".join(self.alternatives)))
        # Long reasons wrap under their label, so the block reads well in a notebook.
        return "\n".join(textwrap.fill(text, width=88, initial_indent=f"{label + ':':14}",
                                        subsequent_indent=" " * 14, break_long_words=False,
                                        break_on_hyphens=False)
                         for label, text in fields)


# ----------------------------------------------------------------------------- shared helpers

def _as_array(fn: str, arg: str, x: object) -> np.ndarray:
    """NumPy view of an array or tensor, keeping its dtype (int vs float matters here)."""
    if type(x).__module__.split(".")[0] == "torch":
        x = x.detach().cpu().numpy()  # type: ignore[attr-defined]
    arr = np.asarray(x)
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        _checks.fail(fn, arg, f"has dtype {arr.dtype}", "a numeric array or tensor",
                     "convert with np.asarray(x, dtype=float)", TypeError)
    return arr


def _g(v: float) -> str:
    return f"{float(v):.4g}"


def _integer_valued(y: np.ndarray) -> bool:
    if y.dtype == bool or np.issubdtype(y.dtype, np.integer):
        return True
    return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def _is_float(y: np.ndarray) -> bool:
    return np.issubdtype(y.dtype, np.floating)


def _values(vals: np.ndarray, limit: int = 6) -> str:
    shown = ", ".join(_g(v) for v in vals[:limit])
    return "{" + shown + (", ..." if vals.size > limit else "") + "}"


def _in01(x: np.ndarray) -> bool:
    return bool(x.size and x.min() >= 0 and x.max() <= 1)


def _rows_sum_to_one(x: np.ndarray, axis: int) -> tuple[bool, np.ndarray]:
    sums = x.sum(axis=axis)
    return bool(np.all(np.abs(sums - 1.0) <= SUM_TOL)), sums


# ----------------------------------------------------------------------------- diagnose

class _Case:
    """What one ``diagnose`` call looks at, and the findings collected so far."""

    def __init__(self, name, x, y, reduction, log_target, ignore_index):
        self.name, self.x, self.y = name, x, y
        self.reduction, self.log_target = reduction, log_target
        self.ignore_index = ignore_index  # None for losses without one (multi_margin_loss)
        self.found = Findings()
        self.x_finite = self._finite("input", x)
        self.y_finite = self._finite("target", y)

    def add(self, name: str, message: str, fix: str) -> None:
        self.found.append(Finding(name, message, fix))

    def _finite(self, arg: str, a: np.ndarray) -> bool:
        if not _is_float(a):
            return True
        bad = ~np.isfinite(a)
        if not bad.any():
            return True
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        counts = f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} inf values"
        if arg == "input":
            fix = ("find the first step that produced them (log of 0, 0/0, an exploding update): "
                   "use the *_with_logits / cross_entropy forms, lower the learning rate, or clip "
                   "gradients")
        else:
            fix = "clean the labels before training: drop or fill the missing entries"
        self.add(f"non_finite_{arg}",
                 f"{arg} has {counts} out of {a.size} (first at index {where})", fix)
        return False


def _resolve(loss, reduction, log_target, ignore_index) -> tuple[str, str, bool, int | None]:
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "__name__", None) or type(loss).__name__
        name = _MODULES.get(name, name)
        # An nn.Module instance carries its own settings; explicit arguments win.
        reduction = reduction if reduction is not None else getattr(loss, "reduction", None)
        log_target = log_target if log_target is not None else getattr(loss, "log_target", None)
        if ignore_index is None:
            ignore_index = getattr(loss, "ignore_index", None)
    if name not in _KIND:
        _checks.fail("diagnose", "loss", f"is {loss!r}", "one of " + ", ".join(sorted(_KIND)),
                     "pass the torch.nn.functional name as a string, e.g. loss='cross_entropy'")
    allowed = _checks.REDUCTIONS + (("batchmean",) if name == "kl_div" else ())
    reduction = _checks.reduction("diagnose", "mean" if reduction is None else reduction, allowed)
    if name in ("cross_entropy", "nll_loss"):
        ignore_index = _checks.ignore_index(
            "diagnose", IGNORE_INDEX if ignore_index is None else ignore_index)
    elif ignore_index is not None:
        _checks.fail("diagnose", "ignore_index", f"is {ignore_index!r} for {name}",
                     "ignore_index only with cross_entropy or nll_loss",
                     "drop the argument: this loss has no ignore_index", TypeError)
    return name, reduction, bool(log_target), ignore_index


def diagnose(loss, input, target, *, reduction=None, log_target=None, ignore_index=None):
    """Look for the classic mistakes in a loss call before (or after) it goes wrong (chapter 12).

    Call it with what you pass to the loss: ``diagnose("cross_entropy", logits, y)``. ``loss`` is a
    ``torch.nn.functional`` / ``lossutils`` name (``"cross_entropy"``, ``"nll_loss"``,
    ``"multi_margin_loss"``, ``"binary_cross_entropy"``, ``"binary_cross_entropy_with_logits"``,
    ``"sigmoid_focal_loss"``, ``"multilabel_soft_margin_loss"``, ``"mse_loss"``, ``"l1_loss"``,
    ``"huber_loss"``, ``"smooth_l1_loss"``, ``"kl_div"``), the function itself
    (``F.cross_entropy``), or an ``nn`` loss module (``nn.KLDivLoss(reduction="mean")``,
    ``nn.CrossEntropyLoss(ignore_index=0)``, whose settings are read). ``reduction``,
    ``log_target`` and ``ignore_index`` are the loss's own options (default: the loss's defaults,
    ``"mean"``, ``False`` and ``-100``, as in torch; ``ignore_index`` only for ``cross_entropy``
    and ``nll_loss``).

    Shapes: as the loss takes them, e.g. ``input`` (N, C) or (N, C, d1, ...) and ``target`` (N,)
    class ids or (N, C) probabilities for ``cross_entropy``; for a sequence model, input
    (N, C, T) and target (N, T) token ids (chapter 11); NumPy arrays or torch tensors.

    Returns a ``Findings`` list of ``Finding(name, message, fix)``; empty when nothing looks wrong.
    Findings: non_finite_input, non_finite_target, empty_batch, shape_mismatch, broadcast_shapes,
    target_n1_shape, class_dim_last, missing_class_dimension, single_logit_cross_entropy,
    double_softmax, probabilities_as_logits, logits_as_probabilities, probabilities_as_log_probs,
    logits_as_log_probs, log_probs_not_normalised, float_class_targets, class_index_out_of_range,
    all_targets_ignored, padding_not_ignored, probabilities_as_margin_scores,
    one_hot_integer_targets, multi_label_with_softmax, target_rows_not_distributions,
    single_label_rows, minus_one_labels, class_ids_in_binary_loss, target_outside_0_1,
    saturated_probabilities, regression_on_class_labels, kl_div_mean_reduction,
    kl_div_probabilities_as_input, kl_div_logits_as_input, kl_div_arguments_swapped,
    kl_div_log_target_mismatch, kl_div_target_not_distribution.

    Value checks are skipped for an array holding NaN or inf (its non-finite finding comes first).
    """
    name, reduction, log_target, ignore_index = _resolve(loss, reduction, log_target,
                                                         ignore_index)
    x = _as_array("diagnose", "input", input)
    y = _as_array("diagnose", "target", target)
    case = _Case(name, x, y, reduction, log_target, ignore_index)
    if x.size == 0:
        case.add("empty_batch", f"input has shape {x.shape}: no elements, so a 'mean' loss is NaN",
                 "skip empty batches (check the data loader or the mask that selected them)")
        return case.found
    {"ce": _check_cross_entropy, "nll": _check_cross_entropy, "margin": _check_multi_margin,
     "bce": _check_binary, "bce_logits": _check_binary, "regression": _check_regression,
     "kl": _check_kl_div}[_KIND[name]](case)
    return case.found


def _check_cross_entropy(c: _Case) -> None:
    x, y, nll = c.x, c.y, c.name == "nll_loss"
    if x.ndim == 0:
        c.add("shape_mismatch", f"input is a scalar; {c.name} needs scores of shape (N, C)",
              "give the last layer one output per class")
        return
    if x.ndim == 1 and y.shape == x.shape and x.size > 1:
        c.add("missing_class_dimension",
              f"input and target both have shape {x.shape}: one score per example and no class "
              "dimension",
              "for two classes use binary_cross_entropy_with_logits on these (N,) logits, or give "
              "the last layer C outputs, shape (N, C)")
        return
    axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[axis]
    index_shape = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if n_classes == 1:
        c.add("single_logit_cross_entropy",
              f"input has shape {x.shape}, a single class: softmax over one class is always 1, "
              "so the loss is 0 and nothing is learned",
              "binary task: binary_cross_entropy_with_logits on (N,) logits; else output C logits")
    _check_scores(c, axis, n_classes)

    if y.shape == index_shape:
        _check_class_ids(c, y, n_classes)
    elif y.shape == x.shape:
        _check_same_shape_targets(c, axis, nll)
    elif y.ndim == len(index_shape) + 1 and 1 in y.shape and np.squeeze(y).shape == index_shape:
        c.add("target_n1_shape",
              f"target has shape {y.shape}, but class-index targets for input {x.shape} must have "
              f"shape {index_shape}",
              "drop the extra axis: target.reshape(-1) (torch: target.squeeze(1))")
        _check_class_ids(c, y.reshape(index_shape), n_classes)
    elif x.ndim >= 3 and y.shape == x.shape[:-1]:
        c.add("class_dim_last",
              f"input has shape {x.shape} and target {y.shape}: the classes look like the last "
              f"axis, but {c.name} reads them from axis 1",
              "move the class axis second: np.moveaxis(x, -1, 1) (torch: x.movedim(-1, 1))")
    else:
        expected = f"{index_shape} of class ids"
        if not nll:
            expected += f" or {x.shape} of probabilities"
        c.add("shape_mismatch",
              f"input has shape {x.shape} and target {y.shape}; {c.name} wants target {expected}",
              "check that input and target come from the same batch and that target is not "
              "one-hot or transposed")


def _check_scores(c: _Case, axis: int, n_classes: int) -> None:
    """cross_entropy wants logits, nll_loss log-probabilities; look at what the input holds."""
    x = c.x
    if not c.x_finite or n_classes < 2:
        return
    normalised, sums = _rows_sum_to_one(x, axis)
    span = f"[{sums.min():.3f}, {sums.max():.3f}]"
    if _in01(x) and normalised:
        if c.name == "nll_loss":
            c.add("probabilities_as_log_probs",
                  f"every row of input sums to 1.000 (row sums in {span}) and is in [0, 1]: "
                  "probabilities, but nll_loss expects log-probabilities",
                  "apply log_softmax (not softmax) before nll_loss, or pass raw logits to "
                  "cross_entropy")
        else:
            c.add("double_softmax",
                  f"every row of input sums to 1.000 (row sums in {span}) and is in [0, 1]: "
                  "softmax outputs, and cross_entropy applies log_softmax again",
                  "pass raw logits: remove the softmax before cross_entropy")
        return
    if c.name == "cross_entropy":
        if _in01(x) and x.size >= MIN_VALUES:
            c.add("probabilities_as_logits",
                  f"every value of input is in [0, 1] (min {_g(x.min())}, max {_g(x.max())}): "
                  "these look like probabilities (e.g. sigmoid outputs), not logits",
                  "pass the raw scores of the last linear layer, with no activation")
        return
    if x.max() > 0:
        c.add("logits_as_log_probs",
              f"input has positive values (max {_g(x.max())}); log-probabilities are <= 0",
              "apply log_softmax(dim=1) before nll_loss, or pass the raw logits to cross_entropy")
        return
    lse = logsumexp(np.moveaxis(x, axis, -1))
    if np.any(np.abs(lse) > SUM_TOL):
        mass = np.exp(lse)
        c.add("log_probs_not_normalised",
              f"every value of input is <= 0, but exp of the rows sums to values in "
              f"[{mass.min():.3f}, {mass.max():.3f}], not 1",
              "use log_softmax, which normalises each row, before nll_loss")


def _check_class_ids(c: _Case, y: np.ndarray, n_classes: int) -> None:
    if not c.y_finite:
        return
    if not np.issubdtype(y.dtype, np.integer):
        if _integer_valued(y):
            seen = _values(np.unique(y))
            c.add("float_class_targets",
                  f"target has dtype {y.dtype} (values {seen}); class-index targets must be "
                  "integers",
                  "cast them: target.astype(np.int64) (torch: target.long())")
        else:
            c.add("float_class_targets",
                  f"target has non-integer values (e.g. {_g(y[y != np.round(y)].flat[0])}); "
                  f"{c.name} needs integer class ids or (N, C) probabilities",
                  "for real-valued targets use a regression loss such as mse_loss; for class "
                  "ids cast with .long()")
            return
    ignored = (y == c.ignore_index) if c.ignore_index is not None else np.zeros(y.shape, bool)
    if ignored.all():
        c.add("all_targets_ignored",
              f"every one of the {y.size} targets equals ignore_index={c.ignore_index}: nothing is "
              "left to average, so a 'mean' loss is 0/0 = NaN (and its gradient NaN)",
              "skip batches without a real target (check the padding or the filter that built "
              "this batch), or sum the loss and divide by max(count, 1)")
        return
    ids = y[~ignored].astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= n_classes):
        lo, hi = int(ids.min()), int(ids.max())
        one_based = lo >= 1 and hi == n_classes
        c.add("class_index_out_of_range",
              f"target has class ids in [{lo}, {hi}] but input has C = {n_classes} classes "
              f"(valid ids 0..{n_classes - 1})",
              "the labels look 1-based: subtract 1" if one_based else
              "make the last layer output one logit per class, or remap labels to 0..C-1")
    if c.ignore_index is not None:
        _check_padding(c, y)


def _trailing_runs(y: np.ndarray, value) -> np.ndarray:
    """Length of the run of ``value`` at the end of each row of a 2-D array."""
    tail = (y == value)[:, ::-1]
    return np.where(tail.all(axis=1), y.shape[1], tail.argmin(axis=1))


def _check_padding(c: _Case, y: np.ndarray) -> None:
    """Token targets (N, T) whose rows end in runs of one id that occurs nowhere else: padding.

    Real text can end every row with the same token (an end-of-text mark), but then every run
    has length 1; padding to the longest row gives runs of different lengths. An id that also
    occurs inside the rows is a real token, so honest targets stay silent.
    """
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 4:
        return
    ends, counts = np.unique(y[:, -1], return_counts=True)
    pad = ends[counts.argmax()]
    if pad == c.ignore_index:
        return
    runs = _trailing_runs(y, pad)
    if (y == pad).sum() != runs.sum() or runs.max() < 2 or np.unique(runs).size < 2:
        return
    c.add("padding_not_ignored",
          f"the target rows end in runs of the id {_g(pad)} ({runs.min()} to {runs.max()} of "
          f"{y.shape[1]} positions, {runs.sum() / y.size:.0%} of all targets) and the id occurs "
          "nowhere else: padding, which the loss counts as tokens to predict and average over",
          f"set the padded targets to {IGNORE_INDEX} (torch's default ignore_index), or pass "
          f"ignore_index={_g(pad)}")


def _check_multi_margin(c: _Case) -> None:
    """multi_margin_loss: raw scores (N, C) or (C,), class ids (N,) or (); a margin of 1."""
    x, y = c.x, c.y
    if x.ndim not in (1, 2) or x.shape[-1] < 2:
        c.add("shape_mismatch",
              f"input has shape {x.shape}; multi_margin_loss needs scores of shape (N, C) or (C,) "
              "with C >= 2",
              "give the last layer one output per class")
        return
    n_classes, index_shape = x.shape[-1], x.shape[:-1]
    if c.x_finite and x.ndim == 2 and x.size >= MIN_VALUES and _in01(x):
        c.add("probabilities_as_margin_scores",
              f"every value of input is in [0, 1] (min {_g(x.min())}, max {_g(x.max())}): "
              "probabilities, so no score can lead another by more than 1 and the margin of 1 "
              "is met only by a one-hot output",
              "pass the raw scores of the last linear layer: the margin is set on their scale")
    if y.shape == index_shape:
        _check_class_ids(c, y, n_classes)
    elif y.shape == (*index_shape, 1):
        c.add("target_n1_shape",
              f"target has shape {y.shape}, but multi_margin_loss takes class ids of shape "
              f"{index_shape}",
              "drop the extra axis: target.reshape(-1) (torch: target.squeeze(1))")
        _check_class_ids(c, y.reshape(index_shape), n_classes)
    else:
        c.add("shape_mismatch",
              f"input has shape {x.shape} and target {y.shape}; multi_margin_loss wants class "
              f"ids of shape {index_shape}",
              "pass class ids (target.argmax(1) for one-hot rows)")


def _check_same_shape_targets(c: _Case, axis: int, nll: bool) -> None:
    """A target shaped like the input: probabilities for cross_entropy, a mistake otherwise."""
    y = c.y
    if not c.y_finite:
        return
    if np.isin(y, (0, 1)).all():
        ones = y.sum(axis=axis)
        if ones.max() > 1:
            c.add("multi_label_with_softmax",
                  f"{int((ones > 1).sum())} of {ones.size} target rows have more than one 1 "
                  f"(up to {int(ones.max())}): multi-hot labels, but softmax makes the classes "
                  "compete for one unit of probability",
                  "use binary_cross_entropy_with_logits: one sigmoid per label, never softmax")
            return
        if nll or not _is_float(y):
            c.add("one_hot_integer_targets" if not nll else "shape_mismatch",
                  f"target is a one-hot array of shape {y.shape} and dtype {y.dtype}; "
                  + ("nll_loss takes class ids of shape (N,)" if nll else
                     "same-shape targets are read as probabilities and must be float"),
                  "pass class ids target.argmax(1)" + ("" if nll else
                                                       ", or target.astype(float)"))
            return
        if ones.min() == 0:
            c.add("target_rows_not_distributions",
                  f"{int((ones == 0).sum())} of {ones.size} target rows are all zero; probability "
                  "targets must sum to 1",
                  "give every row its class, or drop unlabelled rows (or use ignore_index)")
        return
    if nll:
        c.add("shape_mismatch",
              f"target has the input's shape {y.shape}; nll_loss takes class ids of shape (N,)",
              "for soft targets use cross_entropy on logits; for one-hot rows pass argmax(1)")
        return
    normalised, sums = _rows_sum_to_one(y, axis)
    if y.min() < 0 or not normalised:
        c.add("target_rows_not_distributions",
              "probability targets must be non-negative rows summing to 1; target has values in "
              f"[{_g(y.min())}, {_g(y.max())}] and row sums in "
              f"[{sums.min():.3f}, {sums.max():.3f}]",
              "normalise the rows (softmax of teacher logits, or q / q.sum(1)), or pass class ids")


def _same_shape_or_report(c: _Case) -> bool:
    x, y = c.x, c.y
    if x.shape == y.shape:
        return True
    try:
        out = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        c.add("shape_mismatch", f"input has shape {x.shape} and target {y.shape}; {c.name} "
              "compares them element by element, so they must match",
              "check that they come from the same batch and reshape one to the other's shape")
        return False
    if c.name in ("binary_cross_entropy", "binary_cross_entropy_with_logits",
                  "sigmoid_focal_loss", "multilabel_soft_margin_loss"):
        c.add("shape_mismatch", f"input has shape {x.shape} and target {y.shape}; "
              f"{c.name} needs equal shapes", "reshape one to match, e.g. logits.reshape(-1)")
        return False
    c.add("broadcast_shapes",
          f"input {x.shape} and target {y.shape} broadcast to {out}: every prediction is compared "
          "with every target (torch only warns)",
          "make the shapes equal, e.g. input.reshape(-1) (torch: input.squeeze(1))")
    return False


def _check_binary(c: _Case) -> None:
    x, y = c.x, c.y
    same = _same_shape_or_report(c)
    if c.x_finite:
        if c.name == "binary_cross_entropy":
            outside = (x < 0) | (x > 1)
            if outside.any():
                c.add("logits_as_probabilities",
                      f"input has values in [{_g(x.min())}, {_g(x.max())}] ({int(outside.sum())} "
                      f"of {x.size} outside [0, 1]): logits, but binary_cross_entropy expects "
                      "probabilities",
                      "pass the logits to binary_cross_entropy_with_logits (no sigmoid needed)")
            elif same and c.y_finite:
                wrong = ((x == 0) & (y == 1)) | ((x == 1) & (y == 0))
                if wrong.any():
                    c.add("saturated_probabilities",
                          f"{int(wrong.sum())} predictions are exactly 0 or 1 on the wrong side "
                          "of their target: log(0) is clamped at -100, so each adds 100 and "
                          "passes no useful gradient",
                          "work with logits and binary_cross_entropy_with_logits")
        elif _in01(x) and x.size >= MIN_VALUES:
            c.add("probabilities_as_logits",
                  f"every value of input is in [0, 1] (min {_g(x.min())}, max {_g(x.max())}): "
                  f"these look like sigmoid outputs, and {c.name} applies a second sigmoid",
                  "pass the raw logits (remove the sigmoid), or use binary_cross_entropy on "
                  "probabilities")
    if not c.y_finite:
        return
    vals = np.unique(y)
    if vals.size and (vals.min() < 0 or vals.max() > 1):
        if np.isin(vals, (-1, 1)).all():
            c.add("minus_one_labels",
                  f"target uses the labels {_values(vals)}; binary cross-entropy wants {{0, 1}}",
                  "map them first: (y + 1) / 2")
        elif _integer_valued(vals) and vals.min() >= 0:
            c.add("class_ids_in_binary_loss",
                  f"target holds the class ids {_values(vals)}; {c.name} reads each entry as the "
                  "probability of a 1",
                  "one class out of C: cross_entropy on (N, C) logits; several: one-hot encode to "
                  "0/1 columns")
        else:
            c.add("target_outside_0_1",
                  f"target has values in [{_g(vals.min())}, {_g(vals.max())}]; binary targets "
                  "are probabilities in [0, 1]",
                  "rescale or threshold the targets into [0, 1]")
    elif (c.name != "binary_cross_entropy" and same and y.ndim == 2 and y.shape[0] >= 8
          and y.shape[1] >= 3 and np.isin(vals, (0, 1)).all() and np.all(y.sum(axis=1) == 1)):
        c.add("single_label_rows",
              f"every one of the {y.shape[0]} target rows has exactly one 1 among {y.shape[1]} "
              "columns: mutually exclusive classes, where softmax cross-entropy is the usual "
              "choice",
              "if exactly one class is always true, use cross_entropy with target.argmax(1); if "
              "several could be, keep this loss")


def _check_regression(c: _Case) -> None:
    _same_shape_or_report(c)
    y = c.y
    if not c.y_finite or y.size < 8 or not _integer_valued(y):
        return
    vals = np.unique(y)
    # Labels are few, repeated, and count from 0 or 1 (or are -1/1) without big gaps; counts such
    # as 33..48 are not labels.
    label_like = vals.min() in (-1, 0, 1) and vals.max() - vals.min() + 1 <= 2 * vals.size
    if label_like and 2 <= vals.size <= 10 and y.size >= 2 * vals.size:
        binary = np.isin(vals, (0, 1)).all()
        c.add("regression_on_class_labels",
              f"target holds only the {vals.size} integer values {_values(vals)} over {y.size} "
              f"entries: class labels, not quantities (fine only if they are ordered amounts)",
              "use binary_cross_entropy_with_logits on raw logits: a squared error on 0/1 "
              "labels gives weak gradients once the sigmoid saturates" if binary else
              "use cross_entropy on (N, C) logits with integer class ids: regressing ids invents "
              "an order and distances between the classes")


def _check_kl_div(c: _Case) -> None:
    x, y = c.x, c.y
    _same_shape_or_report(c)
    if c.reduction == "mean" and x.ndim >= 2 and x.shape[0] and x.size // x.shape[0] > 1:
        n, numel = x.shape[0], max(x.size, y.size)
        c.add("kl_div_mean_reduction",
              f"reduction='mean' divides the summed KL by all {numel} elements, not by the batch "
              f"size {n}, so the value is {numel / n:g} times smaller than the KL per example",
              "use reduction='batchmean' (sum / batch size), the KL divergence per example")
    x_probs = c.x_finite and _in01(x) and x.ndim >= 1 and x.shape[-1] >= 2
    x_normalised = x_probs and _rows_sum_to_one(x, -1)[0]
    y_log = (c.y_finite and y.size and y.max() <= 0 and y.ndim >= 1
             and bool(np.all(np.abs(logsumexp(y)) <= SUM_TOL)))
    if x_normalised and y_log and not c.log_target:
        c.add("kl_div_arguments_swapped",
              "input looks like probabilities (rows sum to 1.000) and target like "
              "log-probabilities (all <= 0, exp rows sum to 1): the arguments are swapped",
              "call kl_div(log_q, p): model log-probabilities first, target probabilities second")
        return
    if c.x_finite and x.size and x.min() >= 0 and x.max() > 0:
        what = ("every row of input is in [0, 1] and sums to 1.000: probabilities"
                if x_normalised else
                f"every value of input is >= 0 (min {_g(x.min())}, max {_g(x.max())})")
        c.add("kl_div_probabilities_as_input",
              f"{what}, but kl_div expects log-probabilities (<= 0) as input",
              "pass log-probabilities: kl_div(log_softmax(logits, dim=-1), p, "
              "reduction='batchmean')")
    elif c.x_finite and x.size and x.max() > 0:
        c.add("kl_div_logits_as_input",
              f"input has positive values (max {_g(x.max())}): raw scores, not log-probabilities "
              "(which are <= 0)",
              "apply log_softmax(dim=-1) to the input first")
    if not c.y_finite or not y.size:
        return
    if c.log_target:
        if y.max() > 0:
            c.add("kl_div_log_target_mismatch",
                  f"log_target=True but target has positive values (max {_g(y.max())}): "
                  "probabilities, not log-probabilities",
                  "pass log_target=False (the default), or take the log of the target")
        return
    if y.min() < 0:
        if y.max() <= 0:
            c.add("kl_div_log_target_mismatch",
                  f"target is all <= 0 (min {_g(y.min())}): log-probabilities, but "
                  "log_target=False reads it as probabilities",
                  "pass log_target=True, or exponentiate the target")
        else:
            c.add("kl_div_target_not_distribution",
                  f"target has values in [{_g(y.min())}, {_g(y.max())}]: neither probabilities "
                  "nor log-probabilities (raw teacher logits?)",
                  "turn it into probabilities first: softmax(teacher_logits / T, dim=-1)")
        return
    if y.ndim >= 1 and y.shape[-1] >= 2:
        normalised, sums = _rows_sum_to_one(y, -1)
        if y.max() > 1 or not normalised:
            c.add("kl_div_target_not_distribution",
                  f"target rows sum to values in [{sums.min():.3f}, {sums.max():.3f}], not 1",
                  "normalise the target: softmax of teacher logits, or p / p.sum(-1)")


# ----------------------------------------------------------------------------- recommend_loss

def recommend_loss(target, *, structure="labels", ignore_index=IGNORE_INDEX):
    """Name the loss to start with, from what a target array looks like (chapter 12).

    ``structure`` says what the target describes:

    - ``"labels"`` (default): one target per example (or per position), compared with the model's
      output. Read from the values:
      real numbers (N,) or (N, K) -> ``mse_loss``, or ``huber_loss`` when robust z-scores
      (median / MAD) show heavy tails; a 0/1 (or -1/1, or bool) vector -> ``binary_cross_entropy_
      with_logits``; integer class ids 0..K-1 (or one-hot rows) -> ``cross_entropy``; multi-hot
      0/1 rows -> ``binary_cross_entropy_with_logits`` per label (never softmax); non-negative
      rows summing to 1 -> ``cross_entropy`` with probability targets (``kl_div`` with
      ``"batchmean"`` for distillation); arrays with 3 or more axes are read per position.
      A minority of 1 in 10 or rarer (smallest / largest class count at most 1/9) adds
      ``pos_weight`` or class weights, the prior-probability initialisation of the output bias
      and a focal-loss alternative. Integer class ids equal to ``ignore_index`` (unlabelled
      items) are left out.
    - ``"tokens"``: (N, T) or (T,) integer token ids of sequences, the next-token targets of a
      language model, with padding marked by ``ignore_index`` (default -100, torch's)
      -> ``cross_entropy`` on logits permuted from (N, T, C) to (N, C, T) (chapter 11).
    - ``"pairs"``: a (M,) same/different flag (0/1, bool or -1/1) for pairs ``(x1_i, x2_i)``
      -> ``contrastive_loss``.
    - ``"triplets"``: either (M, 3) integer rows ``(anchor, positive, negative)`` of indices
      -> ``triplet_margin_loss``, or (N,) identity labels of a batch of embeddings, from which
      triplets are mined online -> ``triplet_semihard_loss``.

    Only the target is read. Outliers relative to a trend (a house priced far above houses of its
    size) are not visible in the target alone: pass the residuals of a simple baseline fit to ask
    whether they are heavy-tailed.

    Returns a ``Recommendation(loss, output_layer, reason, torch_call, alternatives)``.
    Raises ``ValueError`` for empty, NaN/inf or single-valued targets and shapes that fit no case.
    """
    fn = "recommend_loss"
    ignore_index = _checks.ignore_index(fn, ignore_index)
    y = _as_array(fn, "target", target)
    if y.size == 0:
        _checks.fail(fn, "target", f"is empty (shape {y.shape})", "at least two target values",
                     "pass the whole target array of the training set")
    if _is_float(y) and not np.all(np.isfinite(y)):
        bad = int((~np.isfinite(y)).sum())
        _checks.fail(fn, "target", f"contains {bad} NaN/inf values", "finite numbers",
                     "drop or fill the missing targets first")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if structure == "pairs":
        return _recommend_pairs(y)
    if structure == "triplets":
        return _recommend_triplets(y)
    if structure == "tokens":
        return _recommend_tokens(y, ignore_index)
    if structure != "labels":
        _checks.fail(fn, "structure", f"is {structure!r}",
                     "'labels', 'tokens', 'pairs' or 'triplets'",
                     "describe token sequences with structure='tokens', pair data with "
                     "structure='pairs' and triplets with structure='triplets'")
    if y.ndim == 0:
        _checks.fail(fn, "target", f"is the single number {y!r}", "an array of targets",
                     "pass the target of every example, shape (N,) or (N, K)")
    note = ""
    if y.ndim == 2 and y.shape[1] == 1:
        y, note = y[:, 0], f" (Target of shape {y.shape} read as ({y.shape[0]},).)"
    if np.unique(y).size < 2:
        _checks.fail(fn, "target", f"has the single value {_g(y.flat[0])}",
                     "at least two distinct values", "a constant target leaves nothing to learn: "
                     "check the labels were loaded correctly")
    if y.ndim == 2:
        rec = _recommend_rows(y)
    else:
        flat = y.reshape(-1)
        ignored = flat == ignore_index
        kept = flat[~ignored]
        if ignored.any() and _integer_valued(flat) and kept.size and _looks_like_class_ids(
                kept, np.unique(kept)):
            note += (f" {int(ignored.sum())} of {flat.size} targets equal ignore_index="
                     f"{ignore_index} (unlabelled) and were left out; cross_entropy skips them "
                     "too.")
            flat = kept
        rec = _recommend_flat(flat, per_position=y.ndim >= 3)
    if note:
        rec = Recommendation(rec.loss, rec.output_layer, rec.reason + note, rec.torch_call,
                             rec.alternatives)
    return rec


def _recommend_tokens(y: np.ndarray, ignore_index: int) -> Recommendation:
    """(N, T) or (T,) token ids of sequences: next-token cross-entropy, padding ignored."""
    fn = "recommend_loss"
    if y.ndim not in (1, 2) or not _integer_valued(y):
        _checks.fail(fn, "target", f"has shape {y.shape} and dtype {y.dtype}",
                     "(N, T) or (T,) integer token ids for structure='tokens'",
                     "pass the next-token targets of a batch of sequences, padding set to -100")
    rows = y.reshape(1, -1) if y.ndim == 1 else y
    padded = rows == ignore_index
    ids = rows[~padded].astype(np.int64)
    if ids.size == 0:
        _checks.fail(fn, "target", f"is all padding (every value equals ignore_index="
                     f"{ignore_index})", "at least one real token", "check the padding mask")
    if ids.min() < 0:
        _checks.fail(fn, "target", f"has the negative id {int(ids.min())}",
                     f"token ids >= 0, padding marked with ignore_index={ignore_index}",
                     "pass the value that marks padding as ignore_index, or set padding to -100")
    n_tok, seen = ids.size, int(ids.max()) + 1
    lengths = (~padded).sum(axis=1)
    reason = (f"the target holds {n_tok} token ids in {rows.shape[0]} sequence(s) (ids 0 to "
              f"{seen - 1}, so a vocabulary of at least {seen}): a language model predicts the "
              "next token, one classification out of C at every position. The loss is the mean "
              "of -log p(token | the tokens before it) over the real tokens; its exp is the "
              "perplexity. A model emits logits of shape (N, T, C), and cross_entropy reads the "
              "classes from axis 1: permute to (N, C, T), or flatten to (N*T, C) and (N*T,).")
    if padded.any():
        reason += (f" {int(padded.sum())} positions ({padded.mean():.0%}) are padding "
                   f"(ignore_index={ignore_index}; sequence lengths {int(lengths.min())} to "
                   f"{int(lengths.max())}): they leave the sum and the count, so 'mean' averages "
                   "over real tokens pooled across the batch, not per sequence.")
    elif rows.shape[0] > 1 and rows.shape[1] >= 4:
        ends, counts = np.unique(rows[:, -1], return_counts=True)
        pad = ends[counts.argmax()]
        runs = _trailing_runs(rows, pad)
        if (rows == pad).sum() == runs.sum() and runs.max() >= 2 and np.unique(runs).size > 1:
            reason += (f" The rows end in runs of the id {int(pad)}, which occurs nowhere else: "
                       f"if that is padding, set it to -100 or pass ignore_index={int(pad)}, or "
                       "the loss will count it as text.")
    call = "F.cross_entropy(logits.permute(0, 2, 1), target)  # logits (N, T, C), target (N, T)"
    if ignore_index != IGNORE_INDEX:
        call = call.replace("target)", f"target, ignore_index={ignore_index})", 1)
    return Recommendation(
        "cross_entropy",
        "C logits per position (the vocabulary size), shape (N, T, C) from the model, no "
        "softmax; permute to (N, C, T) for the loss",
        reason, call,
        ("cross_entropy with label_smoothing=0.1 (less over-confident; report perplexity "
         "from the loss without smoothing)",
         "nll_loss (only if the model already ends in log_softmax)"))


def _looks_like_class_ids(y: np.ndarray, vals: np.ndarray) -> bool:
    """Integers from 0 that mostly fill 0..max and repeat: ids, not counts or prices."""
    if not _integer_valued(vals) or vals.min() < 0:
        return False
    dense = vals.size >= 0.5 * (vals.max() + 1)
    repeats = y.size >= 2 * vals.size
    few = vals.size <= 20 or np.issubdtype(y.dtype, np.integer)
    return bool(dense and repeats and few)


def _recommend_flat(y: np.ndarray, per_position: bool) -> Recommendation:
    vals = np.unique(y)
    if np.isin(vals, (0, 1)).all() or np.isin(vals, (-1, 1)).all():
        return _binary((y == 1).astype(np.int64), minus_one=vals.min() < 0,
                       per_position=per_position)
    if _looks_like_class_ids(y, vals):
        counts = np.bincount(y.astype(np.int64), minlength=int(vals.max()) + 1)
        return _multiclass(counts, float_ids=_is_float(y), per_position=per_position,
                           call="F.cross_entropy(logits, target.long())", how="integer class ids")
    return _regression(y.reshape(-1, 1), per_position=per_position)


def _imbalance(counts: np.ndarray) -> float:
    present = counts[counts > 0]
    return float(present.min() / present.max())


def _binary(y01: np.ndarray, minus_one: bool, per_position: bool) -> Recommendation:
    n, n_pos = y01.size, int(y01.sum())
    n_neg = n - n_pos
    where = "per position (same shape as the target)" if per_position else "per example, (N,)"
    reason = (f"the target is a 0/1 vector ({n_pos / n:.1%} ones over {n} values): a yes/no label, "
              "a Bernoulli outcome. BCE with logits folds the sigmoid into the loss, so it stays "
              "finite where log(sigmoid(x)) would reach log(0).")
    if minus_one:
        reason += " The labels are {-1, 1}: map them with (y + 1) / 2 first."
    call = "F.binary_cross_entropy_with_logits(logits, target.float())"
    alts = ["cross_entropy (two logits per example: the same model, parametrised twice)"]
    if min(n_pos, n_neg) / max(n_pos, n_neg) <= IMBALANCE_RATIO:
        minority, majority = (1, 0) if n_pos < n_neg else (0, 1)
        share = min(n_pos, n_neg) / n
        pos_weight = n_neg / n_pos
        prior = n_pos / n
        reason += (f" Strongly imbalanced: class {minority} is only {share:.1%} of the target, so "
                   f"'always predict {majority}' already scores {1 - share:.1%} accuracy. "
                   f"pos_weight = #negatives / #positives = {pos_weight:.3g} rebalances the two "
                   "terms (its best constant prediction is then 0.5); a focal loss instead "
                   "down-weights the many easy examples. Without pos_weight (focal or plain "
                   "BCE), start the output bias at log(pi / (1 - pi)) = "
                   f"{np.log(prior / (1 - prior)):.3g} with pi = {prior:.3g}, the positive rate "
                   "(the prior-probability initialisation of Lin et al. 2017, chapter 7), so the "
                   "first steps are not spent learning the base rate. Judge the model by "
                   "minority recall and precision, not accuracy.")
        call = ("F.binary_cross_entropy_with_logits(logits, target.float(), "
                f"pos_weight=torch.tensor({float(f'{pos_weight:.3g}')!r}))")
        alts = ["sigmoid_focal_loss (gamma=2 down-weights easy examples; Lin et al. 2017)",
                "binary_cross_entropy_with_logits with resampled, balanced batches"]
    return Recommendation("binary_cross_entropy_with_logits",
                          f"1 logit {where}, no sigmoid: the loss applies it", reason, call,
                          tuple(alts))


def _multiclass(counts: np.ndarray, float_ids: bool, per_position: bool, call: str,
                how: str) -> Recommendation:
    k, n = counts.size, int(counts.sum())
    shape = f"(N, {k}, d1, ...), class axis second" if per_position else f"(N, {k})"
    reason = (f"the target holds {how} 0..{k - 1} over {n} values: one class out of {k}, a "
              f"categorical label. cross_entropy on logits is log_softmax + nll_loss in one stable "
              f"step; at chance it equals ln {k} = {np.log(k):.3f}.")
    alts = ["cross_entropy with label_smoothing=0.1 (over-confident models)",
            "multi_margin_loss (the multiclass SVM hinge of Weston and Watkins: a margin of 1 "
            "between scores, no probabilities; chapter 9)",
            "nll_loss (only if the model already ends in log_softmax)"]
    if float_ids:
        reason += " The ids are stored as floats: cast them with .long() (torch rejects floats)."
        alts.append("mse_loss (only if the values are ordered amounts, not categories)")
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        reason += (f" Classes {_values(missing)} never occur: check the encoding (1-based "
                   "labels?) and the size of the last layer.")
    if _imbalance(counts) <= IMBALANCE_RATIO:
        present = counts > 0
        weights = np.zeros(k)
        weights[present] = n / (present.sum() * counts[present])
        reason += (f" Strongly imbalanced: the rarest class has {int(counts[present].min())} "
                   f"examples, the most common {int(counts.max())}. Class weights "
                   f"N / (K * count_k) (here {weights[present].min():.3g} to "
                   f"{weights.max():.3g}) rebalance the loss; judge by per-class recall. "
                   "Without weights (plain or focal loss), start the output biases at the log "
                   "class frequencies, so the first loss is the entropy of the labels rather "
                   "than ln K.")
        call = call[:-1] + ", weight=class_weights)"
        alts = ["sigmoid_focal_loss (on one-hot targets: one-vs-rest, down-weights easy examples)",
                "cross_entropy with balanced resampling instead of weights", *alts]
    return Recommendation("cross_entropy",
                          f"{k} logits per {'position' if per_position else 'example'}, shape "
                          f"{shape}, no softmax: cross_entropy applies log_softmax",
                          reason, call, tuple(alts))


def _recommend_rows(y: np.ndarray) -> Recommendation:
    n, k = y.shape
    if np.isin(y, (0, 1)).all():
        ones = y.sum(axis=1)
        if np.all(ones == 1):
            counts = np.bincount(np.argmax(y, axis=1), minlength=k)
            return _multiclass(counts, float_ids=False, per_position=False,
                               call="F.cross_entropy(logits, target.argmax(1))",
                               how="one-hot rows for classes")
        return _multilabel(y.astype(np.float64), ones)
    if y.min() >= 0 and y.max() <= 1:
        normalised, _ = _rows_sum_to_one(y, 1)
        if normalised:
            reason = (f"every row of the target is a probability distribution over {k} classes "
                      "(non-negative, sums to 1) but not one-hot: soft labels (label smoothing, "
                      "annotator votes, a teacher's predictions). cross_entropy takes them "
                      "directly, -sum_k q_k log softmax(z)_k, with gradient softmax(z) - q. "
                      "kl_div(log_softmax(z), q, reduction='batchmean') has the same gradient "
                      "and is 0 at a perfect match; it is the form used for distillation.")
            return Recommendation(
                "cross_entropy", f"{k} logits per example, shape (N, {k}), no softmax", reason,
                "F.cross_entropy(logits, target)",
                ("kl_div with reduction='batchmean' (distillation; 0 at a perfect match)",
                 "distillation_loss (from teacher logits, with temperature T and the T^2 factor)"))
        reason = (f"the target rows hold {k} independent probabilities in [0, 1] that do not sum "
                  "to 1: soft multi-label targets. BCE with logits takes soft targets per label.")
        return Recommendation(
            "binary_cross_entropy_with_logits",
            f"{k} logits per example, shape (N, {k}), no sigmoid", reason,
            "F.binary_cross_entropy_with_logits(logits, target)",
            ("multilabel_soft_margin_loss (the same loss averaged per example)",))
    return _regression(y, per_position=False)


def _multilabel(y: np.ndarray, ones: np.ndarray) -> Recommendation:
    n, k = y.shape
    reason = (f"the target rows are multi-hot: {np.mean(ones > 1):.0%} of the {n} rows have more "
              f"than one 1 (up to {int(ones.max())} of {k}), so labels are not exclusive. Use one "
              "sigmoid and one BCE per label; never softmax, which makes the labels compete for "
              "one unit of probability. Then choose a decision threshold per label on "
              "validation data (chapter 4): 0.5 is rarely best for every label.")
    call = "F.binary_cross_entropy_with_logits(logits, target.float())"
    alts = ["multilabel_soft_margin_loss (the same loss averaged per example)"]
    pos = y.sum(axis=0)
    rate = pos / n
    rare = np.flatnonzero(rate < 0.1)
    if rare.size:
        absent = np.flatnonzero(pos == 0)
        weight = (n - pos[pos > 0]) / pos[pos > 0]
        reason += (f" {rare.size} of {k} labels are positive in under 10% of rows (lowest rate "
                   f"{rate.min():.1%}): pos_weight = #negatives / #positives per label (here up "
                   f"to {weight.max():.3g}) or a focal loss keeps them from being ignored.")
        if absent.size:
            reason += f" Labels {_values(absent)} are never positive."
        call = ("F.binary_cross_entropy_with_logits(logits, target.float(), "
                "pos_weight=pos_weight)")
        alts.append("sigmoid_focal_loss (rare labels; down-weights easy negatives)")
    return Recommendation("binary_cross_entropy_with_logits",
                          f"{k} logits per example, shape (N, {k}), no sigmoid: the loss applies "
                          "it", reason, call, tuple(alts))


def _heavy_tailed(z: np.ndarray) -> bool:
    """Are there more, or farther, robust z-scores than Gaussian noise would give?

    Two signs: more values beyond 3.5 than a Gaussian sample of this size plausibly has (its
    mean plus three standard deviations, plus two), or one value beyond the largest |z| a
    Gaussian sample reaches, about sqrt(2 ln n), with room for a noisy MAD on small samples.
    Fewer than 10 values cannot tell tails from noise. Measured on Gaussian samples, n = 10 to
    20 000: at most about 1 % flagged.
    """
    n = z.size
    if n < 10:
        return False
    expected = P_GAUSS_OUTLIER * n
    too_many = n >= 50 and (z > Z_OUTLIER).sum() > expected + 3.0 * np.sqrt(expected) + 2.0
    too_far = z.max() > max(5.0, np.sqrt(2.0 * np.log(n)) + 2.0) * (1.0 + 4.0 / n)
    return bool(too_many or too_far)


def _regression(y: np.ndarray, per_position: bool) -> Recommendation:
    """Real targets, (M, K) columns: MSE unless robust z-scores show heavy tails."""
    y = y.astype(np.float64)
    med = np.median(y, axis=0)
    dev = np.abs(y - med)
    scale = 1.4826 * np.median(dev, axis=0)  # MAD -> sigma for Gaussian data
    # More than half the values tied at the median: fall back to the mean absolute deviation.
    fallback = 1.2533 * dev.mean(axis=0)
    scale = np.where(scale > 0, scale, fallback)
    scale = np.where(scale > 0, scale, 1.0)  # a constant column has no tails
    z = np.abs(dev / scale)
    n_out, z_max = int((z > Z_OUTLIER).sum()), float(z.max())
    heavy = _heavy_tailed(z)
    k = y.shape[1]
    unit = "position" if per_position else "example"
    layer = (f"{k} linear outputs per {unit}, no activation" if k > 1 else
             f"1 linear output per {unit}, no activation")
    span = f"from {_g(y.min())} to {_g(y.max())}"
    probability_alt = (("binary_cross_entropy_with_logits (if the values are probabilities of "
                        "a yes/no outcome)",) if y.min() >= 0 and y.max() <= 1 else ())
    if not heavy:
        reason = (f"the target holds real values ({span}): an amount, not a label. mse_loss "
                  "estimates the conditional mean and matches Gaussian noise; the tails look no "
                  f"heavier than Gaussian ({n_out} of {y.size} values beyond {Z_OUTLIER} robust "
                  f"standard deviations, largest |z| = {z_max:.1f}).")
        if y.size < 10:
            reason += " (Fewer than 10 values: too few to judge the tails.)"
        return Recommendation("mse_loss", layer, reason, "F.mse_loss(pred, target)",
                              ("l1_loss (predicts the median; Laplace noise)",
                               "huber_loss (if the residuals turn out to have outliers, and for "
                               "the TD errors of a value function, as in DQN; chapter 3)",
                               *probability_alt))
    sigma = float(np.median(scale))
    delta = 1.345 * sigma
    reason = (f"the target holds real values ({span}) with heavy tails: {n_out} of {y.size} "
              f"values lie more than {Z_OUTLIER} robust standard deviations (1.4826 x MAD = "
              f"{sigma:.3g}) from the median, the farthest at |z| = {z_max:.1f}. Squared errors "
              "would let these few dominate the loss and its gradient; Huber is quadratic up to "
              "delta and linear beyond, so no point pulls harder than delta. delta = 1.345 x "
              f"robust scale = {delta:.3g} is a start (Huber's choice for 95% efficiency on "
              "Gaussian noise); re-tune it on the residuals.")
    return Recommendation("huber_loss", layer, reason,
                          f"F.huber_loss(pred, target, delta={delta:.3g})",
                          ("l1_loss (fully robust; predicts the median)",
                           "smooth_l1_loss (Huber divided by delta, with beta = delta)",
                           "mse_loss (if the extreme values are real signal to be fitted)"))


def _recommend_pairs(y: np.ndarray) -> Recommendation:
    fn = "recommend_loss"
    vals = np.unique(y)
    if y.ndim != 1 or not (np.isin(vals, (0, 1)).all() or np.isin(vals, (-1, 1)).all()):
        _checks.fail(fn, "target", f"has shape {y.shape} and values {_values(vals)}",
                     "a (M,) same/different flag per pair (0/1, bool or -1/1) for "
                     "structure='pairs'",
                     "pass same = (label1 == label2) for the pairs (x1_i, x2_i)")
    same = float(np.mean(y == 1))
    reason = (f"the target flags {y.size} pairs as same or different ({same:.0%} same): a pair "
              "loss pulls matching pairs together and pushes other pairs apart until their "
              "distance exceeds the margin (Hadsell et al. 2006).")
    if vals.min() < 0:
        reason += " The flags are -1/1: pass same = (target == 1)."
    if not 0.1 <= same <= 0.9:
        reason += (" Few pairs of one kind: sample pairs so that both kinds are common in every "
                   "batch.")
    return Recommendation(
        "contrastive_loss",
        "an embedding vector per item (D linear outputs), the same network applied to x1 and x2",
        reason, "L.contrastive_loss(f(x1), f(x2), same, margin=1.0)  # from lossutils import "
        "torch as L",
        ("cosine_embedding_loss (torch built-in; labels -1/1; compares directions)",
         "triplet_semihard_loss (when identity labels are available)"))


def _recommend_triplets(y: np.ndarray) -> Recommendation:
    fn = "recommend_loss"
    alts = ("nt_xent_loss (many negatives at once; temperature; van den Oord et al. 2018)",
            "contrastive_loss (pairs)")
    layer = "an embedding vector per item (D linear outputs, often L2-normalised)"
    if y.ndim == 2 and y.shape[1] == 3 and _integer_valued(y) and y.min() >= 0:
        if np.any(y[:, 0] == y[:, 2]):
            _checks.fail(fn, "target", f"has {int(np.sum(y[:, 0] == y[:, 2]))} rows whose "
                         "negative is the anchor itself", "(anchor, positive, negative) index "
                         "rows with negative != anchor", "rebuild the triplets")
        reason = (f"the target lists {y.shape[0]} fixed (anchor, positive, negative) index rows: "
                  "triplet_margin_loss asks d(a, p) + margin <= d(a, n) for each (Schroff et al. "
                  "2015). Fixed triplets soon become easy; mining them per batch from labels "
                  "(triplet_semihard_loss) keeps them informative.")
        return Recommendation(
            "triplet_margin_loss", layer, reason,
            "F.triplet_margin_loss(emb[t[:, 0]], emb[t[:, 1]], emb[t[:, 2]], margin=1.0)",
            ("triplet_semihard_loss (mine triplets per batch from identity labels)", *alts))
    if y.ndim == 1 and _integer_valued(y):
        labels, counts = np.unique(y, return_counts=True)
        if labels.size < 2 or counts.max() < 2:
            _checks.fail(fn, "target", f"has {labels.size} distinct labels, each at most "
                         f"{int(counts.max())} times", "at least two labels and one label "
                         "repeated (an anchor needs a positive and a negative)",
                         "build batches with several examples per identity (e.g. 4 per label)")
        reason = (f"the target gives identity labels to {y.size} embeddings ({labels.size} "
                  f"identities): triplets are mined inside each batch. Semi-hard mining takes, "
                  "for each (anchor, positive) pair, the closest negative that is still farther "
                  "than the positive (Schroff et al. 2015), which avoids the collapse that "
                  "mining the hardest negatives can cause early in training (chapter 10).")
        singles = int(np.sum(counts == 1))
        if singles:
            reason += (f" {singles} identities appear once and can serve only as negatives: "
                       "sample several examples per identity.")
        return Recommendation("triplet_semihard_loss", layer, reason,
                              "L.triplet_semihard_loss(embeddings, labels, margin=1.0)  # from "
                              "lossutils import torch as L", alts)
    _checks.fail(fn, "target", f"has shape {y.shape}", "(M, 3) integer (anchor, positive, "
                 "negative) rows or (N,) integer identity labels for structure='triplets'",
                 "pass index triplets or the labels of a batch of embeddings")
