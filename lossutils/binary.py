"""Binary, multi-label and focal losses and their gradients (chapters 4 and 7).

Losses on logits never form ``sigmoid(x)`` and then take its log: they use the stable
``softplus`` and ``sigmoid`` of :mod:`lossutils.activations` (here both signs at once, from one
exponential), which only exponentiate ``-|x|``, so nothing overflows and a logit of ``-1e4`` with
target 1 costs exactly ``1e4``.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
    "multilabel_soft_margin_loss", "multilabel_soft_margin_loss_grad",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad",
]

# torch's BCE backward divides by max(p (1 - p), eps), so p = 0 or 1 gives a large finite slope;
# its eps is the float32 constant 1e-12 (9.99999996e-13 in float64), kept here for equal values.
_BCE_GRAD_EPS = float(np.float32(1e-12))


# ---- validation ---------------------------------------------------------------------------------

def _targets_01(fn, y):
    """Binary targets are 0/1 labels or soft labels in [0, 1]; {-1, 1} labels are a mistake."""
    if y.size and (y.min() < 0 or y.max() > 1):
        _checks.fail(fn, "target", f"has values in [{y.min():.4g}, {y.max():.4g}]",
                     "0/1 labels or probabilities in [0, 1]",
                     "map {-1, 1} labels with (y + 1) / 2; for class ids use cross_entropy")


def _broadcast_to(fn, arg, value, shape, hint):
    """An optional weight that must broadcast to the input's shape (torch semantics)."""
    if value is None:
        return None
    w = _checks.as_float(fn, arg, value)
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        _checks.fail(fn, f"{arg} shape", f"is {w.shape}",
                     f"a shape that broadcasts to the input shape {shape}", hint)
    return w


def _pair(fn, input, target, reduction, probabilities_in=False,
          names=("input", "target")):
    """Validate input and target (as float64 arrays) and the reduction."""
    how = _checks.reduction(fn, reduction)
    x = _checks.as_float(fn, names[0], input)
    y = _checks.as_float(fn, names[1], target)
    _checks.same_shape(fn, "input", x, "target", y)
    if probabilities_in:
        _checks.probabilities(fn, "input", x)
    _targets_01(fn, y)
    return x, y, how


def _weights(fn, x, weight, pos_weight=None):
    w = _broadcast_to(fn, "weight", weight, x.shape,
                      "pass one weight per element, or per class as shape (C,)")
    pw = _broadcast_to(fn, "pos_weight", pos_weight, x.shape,
                       f"pass one weight per class along the last dim, shape ({x.shape[-1]},)"
                       if x.ndim else "pass a scalar pos_weight")
    return w, pw


# ---- shared terms -------------------------------------------------------------------------------

def _softplus_both(x):
    """``(softplus(x), softplus(-x))``, the values of :func:`softplus`, sharing their costly part.

    ``softplus(+-x) = max(+-x, 0) + log1p(exp(-|x|))``: one exponential and one ``log1p`` serve
    both signs (those two passes cost more than all the additions and products of a loss).
    """
    shared = np.log1p(np.exp(-np.abs(x)))
    return np.maximum(x, 0.0) + shared, np.maximum(-x, 0.0) + shared


def _sigmoid_both(x):
    """``(sigmoid(x), sigmoid(-x))``, the values of :func:`sigmoid`, from one ``exp(-|x|)``.

    With ``e = exp(-|x|)``, ``1 / (1 + e)`` is the sigmoid of ``|x|`` and ``e / (1 + e)`` that of
    ``-|x|``; the sign of ``x`` says which is which.
    """
    e = np.exp(-np.abs(x))
    of_abs, of_minus_abs = 1.0 / (1.0 + e), e / (1.0 + e)
    positive = x >= 0
    return np.where(positive, of_abs, of_minus_abs), np.where(positive, of_minus_abs, of_abs)


def _bce_logits_terms(x, y, pos_weight=None):
    """Unweighted, unreduced BCE on logits: ``pw y softplus(-x) + (1 - y) softplus(x)``.

    A sum of non-negative terms, so a small loss is never the difference of two large numbers
    (torch's ``(1 - y) x + softplus(-x)`` rounds ``y = 0, x = -40`` to 0 instead of 4.2e-18).
    """
    pw_y = y if pos_weight is None else pos_weight * y
    sp_pos, sp_neg = _softplus_both(x)
    return pw_y * sp_neg + (1.0 - y) * sp_pos


def _bce_logits_grad_terms(x, y, pos_weight=None):
    """Unweighted d/dx of the BCE-on-logits terms.

    ``(1 + (pw - 1) y) sigmoid(x) - pw y``, written as ``(1 - y) sigmoid(x) - pw y sigmoid(-x)`` so
    that a saturated correct prediction gets its tiny slope rather than a rounded 0.
    """
    pw_y = y if pos_weight is None else pos_weight * y
    sig_pos, sig_neg = _sigmoid_both(x)
    return (1.0 - y) * sig_pos - pw_y * sig_neg


def _weighted(values, w):
    return values if w is None else values * w


# ---- binary cross-entropy on probabilities ------------------------------------------------------

def binary_cross_entropy(input, target, *, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities, with torch's clamp of each log at -100.

    ``l_i = -w_i [y_i max(log p_i, -100) + (1 - y_i) max(log(1 - p_i), -100)]``.
    The clamp keeps ``p = 0`` or ``1`` finite (a loss of at most 100 per element). Targets may be
    soft, in [0, 1]. For logits use :func:`binary_cross_entropy_with_logits`, which needs no clamp.
    Shapes: ``input`` (probabilities) and ``target`` equal, any shape; ``weight`` broadcasts to
    them. Returns per element for ``"none"``, else a scalar (``"mean"`` divides by the number of
    elements, whatever the weights). Chapter 4 (binary classification).
    Example: ``binary_cross_entropy([0.01], [1.0])`` = -log 0.01 = 4.605.
    """
    fn = "binary_cross_entropy"
    p, y, how = _pair(fn, input, target, reduction, probabilities_in=True)
    w, _ = _weights(fn, p, weight)
    with np.errstate(divide="ignore"):  # log 0 = -inf is expected: the clamp catches it
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    loss = -(y * log_p + (1.0 - y) * log_1mp)
    return _checks.reduce(_weighted(loss, w), how)


def binary_cross_entropy_grad(input, target, *, weight=None, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy` w.r.t. the probabilities.

    ``w (p - y) / max(p (1 - p), 1e-12)``, the exact slope ``-y/p + (1-y)/(1-p)`` with torch's
    guard for ``p`` at 0 or 1 (a large finite slope, such as ``-1e12`` at ``p = 0, y = 1``).
    Shapes: like ``input``. Chapter 4 (binary classification).
    """
    fn = "binary_cross_entropy_grad"
    p, y, how = _pair(fn, input, target, reduction, probabilities_in=True)
    w, _ = _weights(fn, p, weight)
    g = (p - y) / np.maximum(p * (1.0 - p), _BCE_GRAD_EPS)
    return _checks.reduce_grad(_weighted(g, w), how, p.size)


# ---- binary cross-entropy on logits -------------------------------------------------------------

def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy on logits: sigmoid and log fused into one stable expression.

    ``l_i = w_i [pw y_i softplus(-x_i) + (1 - y_i) softplus(x_i)]``, which equals
    ``-w_i [pw y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))]``. ``pos_weight`` (``pw``)
    scales only the positive term and broadcasts along the last (class) dim; ``weight`` scales the
    whole term. Finite for every finite logit, with no clamp: x = -1e4 with y = 1 costs 1e4.
    Shapes: ``input`` (logits) and ``target`` equal; ``weight`` and ``pos_weight`` broadcast to
    them (``pos_weight`` typically ``(C,)``). Returns per element for ``"none"``, else a scalar
    (``"mean"`` divides by the number of elements). Chapter 4 (binary and multi-label).
    """
    fn = "binary_cross_entropy_with_logits"
    x, y, how = _pair(fn, input, target, reduction)
    w, pw = _weights(fn, x, weight, pos_weight)
    return _checks.reduce(_weighted(_bce_logits_terms(x, y, pw), w), how)


def binary_cross_entropy_with_logits_grad(input, target, *, weight=None, reduction="mean",
                                          pos_weight=None):
    """Gradient of :func:`binary_cross_entropy_with_logits` w.r.t. the logits.

    ``w [(1 + (pw - 1) y) sigmoid(x) - pw y]``; without ``pos_weight`` that is
    ``w (sigmoid(x) - y)``, the "prediction minus target" of chapter 4. Shapes: like ``input``.
    """
    fn = "binary_cross_entropy_with_logits_grad"
    x, y, how = _pair(fn, input, target, reduction)
    w, pw = _weights(fn, x, weight, pos_weight)
    return _checks.reduce_grad(_weighted(_bce_logits_grad_terms(x, y, pw), w), how, x.size)


# ---- multi-label soft margin --------------------------------------------------------------------

def _multilabel_args(fn, input, target, weight, reduction):
    x, y, how = _pair(fn, input, target, reduction)
    if x.ndim == 0:
        _checks.fail(fn, "input", "is a scalar", "shape (C,) or (N, C)",
                     "for a single binary output use binary_cross_entropy_with_logits")
    w, _ = _weights(fn, x, weight)
    return x, y, w, how


def multilabel_soft_margin_loss(input, target, *, weight=None, reduction="mean"):
    """Multi-label loss: one independent sigmoid BCE per class, averaged over the classes.

    ``l_n = (1 / C) sum_c w_c BCEWithLogits(x_nc, y_nc)``: a per-sample loss, then the reduction
    over samples. Shapes: ``input`` (N, C) logits (or (C,)), ``target`` the same shape with 0/1 (or
    soft) labels; ``weight`` broadcasts, typically (C,). Returns (N,) for ``"none"``, else a
    scalar. Chapter 4 (multi-label classification).
    """
    fn = "multilabel_soft_margin_loss"
    x, y, w, how = _multilabel_args(fn, input, target, weight, reduction)
    per_sample = _weighted(_bce_logits_terms(x, y), w).sum(axis=-1) / x.shape[-1]
    return _checks.reduce(np.asarray(per_sample), how)


def multilabel_soft_margin_loss_grad(input, target, *, weight=None, reduction="mean"):
    """Gradient of :func:`multilabel_soft_margin_loss`: ``w_c (sigmoid(x_nc) - y_nc) / C``
    (divided by N as well for ``"mean"``). Shapes: like ``input``. Chapter 4.
    """
    fn = "multilabel_soft_margin_loss_grad"
    x, y, w, how = _multilabel_args(fn, input, target, weight, reduction)
    n_classes = x.shape[-1]
    g = _weighted(_bce_logits_grad_terms(x, y), w) / max(n_classes, 1)
    return _checks.reduce_grad(g, how, x.size // n_classes if n_classes else 0)


# ---- focal loss ---------------------------------------------------------------------------------

def _focal_args(fn, inputs, targets, alpha, gamma, reduction):
    x, y, how = _pair(fn, inputs, targets, reduction, names=("inputs", "targets"))
    gamma = _checks.positive(fn, "gamma", gamma, allow_zero=True)
    return x, y, _checks.focal_alpha(fn, alpha), gamma, how


def _one_minus_p_t(x, y):
    """``(p, 1 - p, q)`` with ``p = sigmoid(x)`` and ``q = 1 - p_t = y (1 - p) + (1 - y) p``.

    ``1 - p`` is ``sigmoid(-x)`` and ``q`` is built from the two sigmoids, so it keeps full
    relative precision even when tiny (a confident, correct prediction), where ``1 - p_t`` by
    subtraction would be 0.
    """
    p, p_neg = _sigmoid_both(x)
    return p, p_neg, y * p_neg + (1.0 - y) * p


def _alpha_t(alpha, y):
    """``alpha`` on the positives, ``1 - alpha`` on the negatives (a mix for soft labels)."""
    return alpha * y + (1.0 - alpha) * (1.0 - y)


def sigmoid_focal_loss(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    """Sigmoid focal loss (Lin et al. 2017), as ``torchvision.ops.sigmoid_focal_loss``.

    ``FL_i = alpha_t (1 - p_t)^gamma BCEWithLogits(x_i, y_i)`` with ``p = sigmoid(x)``,
    ``p_t = p y + (1 - p)(1 - y)`` and ``alpha_t = alpha y + (1 - alpha)(1 - y)``: ``alpha`` weights
    the positives and ``1 - alpha`` the negatives. ``alpha=None`` or ``-1`` switches the class
    weighting off; with it off and ``gamma = 0`` this is exactly BCE with logits. The factor
    ``(1 - p_t)^gamma`` is 0.01 at ``p_t = 0.9`` and 0.81 at ``p_t = 0.1`` (gamma 2): easy examples
    fade. Default reduction ``"none"`` (as torchvision); ``"mean"`` averages over all elements.
    Shapes: ``inputs`` (logits) and ``targets`` (0/1 or soft labels in [0, 1]) equal, any shape.
    Chapter 7 (class imbalance).
    """
    fn = "sigmoid_focal_loss"
    x, y, alpha, gamma, how = _focal_args(fn, inputs, targets, alpha, gamma, reduction)
    _, _, q = _one_minus_p_t(x, y)
    loss = q**gamma * _bce_logits_terms(x, y)
    if alpha is not None:
        loss = _alpha_t(alpha, y) * loss
    return _checks.reduce(loss, how)


def sigmoid_focal_loss_grad(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    """Gradient of :func:`sigmoid_focal_loss` w.r.t. the logits.

    With ``q = 1 - p_t`` and ``B`` the BCE term,
    ``dFL/dx = alpha_t q^gamma [gamma B (1 - 2y) p (1 - p) / q + (p - y)]``. The ratio
    ``p (1 - p) / q`` is ``p`` or ``1 - p`` for hard labels; it is formed so that it stays finite
    where ``q`` underflows to 0 (then it is 1). Shapes: like ``inputs``. Chapter 7.
    """
    fn = "sigmoid_focal_loss_grad"
    x, y, alpha, gamma, how = _focal_args(fn, inputs, targets, alpha, gamma, reduction)
    p, p_neg, q = _one_minus_p_t(x, y)
    # p (1 - p) / q; where q underflowed to 0 (a saturated hard label) its limit is 1
    ratio = np.divide(p * p_neg, q, out=np.ones_like(q), where=q > 0)
    # p - y as (1 - y) p - y (1 - p): the tiny slope of a saturated correct prediction survives
    p_minus_y = (1.0 - y) * p - y * p_neg
    g = q**gamma * (gamma * _bce_logits_terms(x, y) * (1.0 - 2.0 * y) * ratio + p_minus_y)
    if alpha is not None:
        g = _alpha_t(alpha, y) * g
    return _checks.reduce_grad(g, how, x.size)
