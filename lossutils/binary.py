"""Binary, multi-label and focal losses and their gradients (chapters 4 and 7).

Losses on logits never form ``sigmoid(x)`` and then take its log: they use
``-log sigmoid(x) = softplus(-x)`` and ``-log(1 - sigmoid(x)) = softplus(x)``, whose stable form
only exponentiates ``-|x|``, so nothing overflows and a logit of ``-1e4`` with target 1 costs
exactly ``1e4``.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from .activations import sigmoid, softplus

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
    "multilabel_soft_margin_loss", "multilabel_soft_margin_loss_grad",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad",
]

# torch's BCE backward divides by max(p (1 - p), eps), so p = 0 or 1 gives a large finite slope;
# its eps is the float32 constant 1e-12 (9.99999996e-13 in float64), kept here for equal values.
_BCE_GRAD_EPS = float(np.float32(1e-12))


def _weighted(values, weight):
    return values if weight is None else weight * values


def _bce_with_logits_terms(x, y, pos_weight=None):
    """``pw y softplus(-x) + (1 - y) softplus(x)``: BCE on logits per element, unweighted.

    A sum of two non-negative terms, so a small loss is never the difference of two large
    numbers (torch's kernel forms ``(1 - y) x - log sigmoid(x)``, which rounds ``y = 0, x = -40``
    to 0 instead of 4.2e-18).
    """
    pw_y = y if pos_weight is None else pos_weight * y
    return pw_y * softplus(-x) + (1.0 - y) * softplus(x)


def _bce_with_logits_slope(x, y, pos_weight=None):
    """d/dx of :func:`_bce_with_logits_terms`: ``(1 - y) sigmoid(x) - pw y sigmoid(-x)``.

    That is ``sigmoid(x) - y`` without ``pos_weight``, written with ``sigmoid(-x)`` in place of
    ``1 - sigmoid(x)`` so that a saturated correct prediction keeps its tiny slope instead of 0.
    """
    pw_y = y if pos_weight is None else pos_weight * y
    return (1.0 - y) * sigmoid(x) - pw_y * sigmoid(-x)


# ---- binary cross-entropy on probabilities ------------------------------------------------------

def binary_cross_entropy(input, target, *, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities, with torch's clamp of each log at -100.

    ``l_i = -w_i [y_i max(log p_i, -100) + (1 - y_i) max(log(1 - p_i), -100)]``.
    The clamp keeps ``p = 0`` or ``1`` finite (a loss of at most 100 per element). Targets may be
    soft, in [0, 1]. For logits use :func:`binary_cross_entropy_with_logits`, which needs no clamp.
    Shapes: ``input`` (probabilities) and ``target`` equal, any shape; ``weight`` broadcasts to
    them. Returns the loss per element for ``"none"``, else a scalar (``"mean"`` divides by the
    number of elements, whatever the weights). Chapter 4 (binary classification).
    Example: ``binary_cross_entropy([0.01], [1.0])`` = -log 0.01 = 4.605.
    """
    fn = "binary_cross_entropy"
    p, y = _checks.binary(fn, input, target, reduction, probabilities_in=True)
    w, _ = _checks.binary_weights(fn, p.shape, weight)
    with np.errstate(divide="ignore"):  # log 0 = -inf is expected: the clamp catches it
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    loss = -(y * log_p + (1.0 - y) * log_1mp)
    return _checks.reduce(_weighted(loss, w), reduction)


def binary_cross_entropy_grad(input, target, *, weight=None, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy` w.r.t. the probabilities.

    ``w (p - y) / max(p (1 - p), 1e-12)``: the exact slope ``-y / p + (1 - y) / (1 - p)`` with
    torch's guard for ``p`` at 0 or 1 (a large finite slope, such as ``-1e12`` at ``p = 0, y = 1``).
    Shapes: like ``input``. Chapter 4 (binary classification).
    """
    fn = "binary_cross_entropy_grad"
    p, y = _checks.binary(fn, input, target, reduction, probabilities_in=True)
    w, _ = _checks.binary_weights(fn, p.shape, weight)
    grad = (p - y) / np.maximum(p * (1.0 - p), _BCE_GRAD_EPS)
    return _checks.reduce_grad(_weighted(grad, w), reduction, p.size)


# ---- binary cross-entropy on logits -------------------------------------------------------------

def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy on logits: sigmoid and log fused into one stable expression.

    ``l_i = -w_i [pw y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))]``
    ``= w_i [pw y_i softplus(-x_i) + (1 - y_i) softplus(x_i)]``. ``pos_weight`` (``pw``) scales
    only the positive term and broadcasts along the last (class) dim; ``weight`` scales the whole
    term. Finite for every finite logit, with no clamp: x = -1e4 with y = 1 costs 1e4.
    Shapes: ``input`` (logits) and ``target`` equal; ``weight`` and ``pos_weight`` broadcast to
    them (``pos_weight`` typically ``(C,)``). Returns the loss per element for ``"none"``, else a
    scalar (``"mean"`` divides by the number of elements). Chapter 4 (binary and multi-label).
    """
    fn = "binary_cross_entropy_with_logits"
    x, y = _checks.binary(fn, input, target, reduction)
    w, pw = _checks.binary_weights(fn, x.shape, weight, pos_weight)
    return _checks.reduce(_weighted(_bce_with_logits_terms(x, y, pw), w), reduction)


def binary_cross_entropy_with_logits_grad(input, target, *, weight=None, reduction="mean",
                                          pos_weight=None):
    """Gradient of :func:`binary_cross_entropy_with_logits` w.r.t. the logits.

    ``w [(1 - y) sigmoid(x) - pw y sigmoid(-x)]``; without ``pos_weight`` that is
    ``w (sigmoid(x) - y)``, the "prediction minus target" of chapter 4. Shapes: like ``input``.
    """
    fn = "binary_cross_entropy_with_logits_grad"
    x, y = _checks.binary(fn, input, target, reduction)
    w, pw = _checks.binary_weights(fn, x.shape, weight, pos_weight)
    grad = _weighted(_bce_with_logits_slope(x, y, pw), w)
    return _checks.reduce_grad(grad, reduction, x.size)


# ---- multi-label soft margin --------------------------------------------------------------------

def _multilabel(fn, input, target, weight, reduction):
    x, y = _checks.binary(fn, input, target, reduction)
    if x.ndim == 0:
        _checks.fail(fn, "input", "is a scalar", "shape (C,) or (N, C)",
                     "for a single binary output use binary_cross_entropy_with_logits")
    w, _ = _checks.binary_weights(fn, x.shape, weight)
    return x, y, w


def multilabel_soft_margin_loss(input, target, *, weight=None, reduction="mean"):
    """Multi-label loss: one independent sigmoid BCE per class, averaged over the classes.

    ``l_n = (1 / C) sum_c w_c BCEWithLogits(x_nc, y_nc)``: a loss per sample, then the reduction
    over samples. Shapes: ``input`` (N, C) logits (or (C,)), ``target`` the same shape with 0/1 (or
    soft) labels; ``weight`` broadcasts, typically (C,). Returns (N,) for ``"none"``, else a
    scalar. Chapter 4 (multi-label classification).
    """
    x, y, w = _multilabel("multilabel_soft_margin_loss", input, target, weight, reduction)
    per_sample = _weighted(_bce_with_logits_terms(x, y), w).mean(axis=-1)
    return _checks.reduce(np.asarray(per_sample), reduction)


def multilabel_soft_margin_loss_grad(input, target, *, weight=None, reduction="mean"):
    """Gradient of :func:`multilabel_soft_margin_loss`: ``w_c (sigmoid(x_nc) - y_nc) / C``
    (divided by N as well for ``"mean"``). Shapes: like ``input``. Chapter 4.
    """
    x, y, w = _multilabel("multilabel_soft_margin_loss_grad", input, target, weight, reduction)
    n_classes = x.shape[-1]
    grad = _weighted(_bce_with_logits_slope(x, y), w) / max(n_classes, 1)
    return _checks.reduce_grad(grad, reduction, x.size // n_classes if n_classes else 0)


# ---- focal loss ---------------------------------------------------------------------------------

def _focal(fn, inputs, targets, alpha, gamma, reduction):
    x, y = _checks.binary(fn, inputs, targets, reduction, names=("inputs", "targets"))
    gamma = _checks.positive(fn, "gamma", gamma, allow_zero=True)
    return x, y, _checks.focal_alpha(fn, alpha), gamma


def _alpha_t(alpha, y):
    """``alpha`` on the positives, ``1 - alpha`` on the negatives (a mix for soft labels)."""
    return 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)


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
    x, y, alpha, gamma = _focal("sigmoid_focal_loss", inputs, targets, alpha, gamma, reduction)
    # 1 - p_t = y (1 - p) + (1 - y) p, with 1 - p = sigmoid(-x): a confident right answer's tiny
    # 1 - p_t keeps its digits, where 1 minus p_t would round it to 0
    one_minus_pt = y * sigmoid(-x) + (1.0 - y) * sigmoid(x)
    loss = _alpha_t(alpha, y) * one_minus_pt**gamma * _bce_with_logits_terms(x, y)
    return _checks.reduce(loss, reduction)


def sigmoid_focal_loss_grad(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    """Gradient of :func:`sigmoid_focal_loss` w.r.t. the logits.

    With ``q = 1 - p_t``, ``B`` the BCE term and ``dq/dx = (1 - 2y) p (1 - p)``, the product rule
    gives ``dFL/dx = alpha_t q^gamma [gamma B (1 - 2y) p (1 - p) / q + dB/dx]`` with
    ``dB/dx = p - y``. Shapes: like ``inputs``. Chapter 7.
    """
    x, y, alpha, gamma = _focal("sigmoid_focal_loss_grad", inputs, targets, alpha, gamma,
                                reduction)
    p, one_minus_p = sigmoid(x), sigmoid(-x)
    q = y * one_minus_p + (1.0 - y) * p
    # p (1 - p) / q, written so that gamma < 1 needs no q^(gamma - 1), which is inf where q
    # underflows to 0 (a saturated hard label); there the ratio's limit is 1
    ratio = np.divide(p * one_minus_p, q, out=np.ones_like(q), where=q > 0)
    bce = _bce_with_logits_terms(x, y)
    grad = q**gamma * (gamma * bce * (1.0 - 2.0 * y) * ratio + _bce_with_logits_slope(x, y))
    return _checks.reduce_grad(_alpha_t(alpha, y) * grad, reduction, x.size)
