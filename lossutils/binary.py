"""Binary, multi-label and focal losses and their gradients (chapters 4 and 7).

Losses on logits never form ``sigmoid(x)`` and then take its log: they work from
``exp(-|x|)``, which lies in (0, 1] for every finite ``x``, so nothing overflows and a logit of
``-1e4`` with target 1 costs exactly ``1e4``.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from .regression import _blockwise, _grad_scale

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


def _pair(fn, input, target, reduction, probabilities_in=False):
    """Validate input and target; a NaN in them is caught from the results (see ``_blockwise``)."""
    how = _checks.reduction(fn, reduction)
    x = _checks.as_float(fn, "input", input, allow_nan=True)
    y = _checks.as_float(fn, "target", target, allow_nan=True)
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


# ---- shared kernels -----------------------------------------------------------------------------

def _exp_neg_abs(x):
    """``exp(-|x|)``: the only exponential the stable sigmoid and softplus forms need."""
    e = np.abs(x)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _sigmoids(x, e):
    """``(sigmoid(x), sigmoid(-x))`` given ``e = exp(-|x|)``.

    Each is ``1 / (1 + e)`` on its large side and ``e / (1 + e)`` on its small side, so a tiny
    probability keeps its relative precision instead of being formed as ``1 - (almost 1)``.
    """
    d = 1.0 + e
    pos = x >= 0
    s_pos = np.where(pos, 1.0, e)
    s_pos /= d
    s_neg = np.where(pos, e, 1.0)
    s_neg /= d
    return s_pos, s_neg


def _bce_logits_terms(x, y, pos_weight, e):
    """Unweighted, unreduced BCE on logits given ``e = exp(-|x|)`` (``e`` is overwritten).

    ``pw y softplus(-x) + (1 - y) softplus(x)`` with ``softplus(+-x) = relu(+-x) + log1p(e)``: a sum
    of non-negative terms, so a small loss is never the difference of two large numbers (torch's
    ``(1 - y) x + softplus(-x)`` rounds ``y = 0, x = -40`` to 0 instead of 4.2e-18).
    """
    loss = np.log1p(e, out=e)
    if pos_weight is None:
        # y relu(-x) + (1 - y) relu(x) = x (step(x) - y), non-negative for y in [0, 1]
        t = (x >= 0).astype(np.float64)
        t -= y
    else:
        loss *= 1.0 + (pos_weight - 1.0) * y
        t = np.where(x >= 0, 1.0 - y, -pos_weight * y)
    t *= x
    loss += t
    return loss


def _bce_logits_grad_terms(x, y, pos_weight):
    """Unweighted d/dx of the BCE-on-logits terms.

    ``(1 + (pw - 1) y) sigmoid(x) - pw y``, written as ``(1 - y) sigmoid(x) - pw y sigmoid(-x)`` so
    that a saturated correct prediction gets its tiny slope rather than a rounded 0.
    """
    g, s_neg = _sigmoids(x, _exp_neg_abs(x))
    g *= 1.0 - y
    s_neg *= y if pos_weight is None else pos_weight * y
    g -= s_neg
    return g


def _arrays(x, y, w=None, pw=None):
    return [("input", x), ("target", y), ("weight", w), ("pos_weight", pw)]


# ---- binary cross-entropy on probabilities ------------------------------------------------------

def binary_cross_entropy(input, target, weight=None, reduction="mean"):
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

    def kernel(p, y, w, _):
        # log 0 = -inf is expected (the clamp catches it); an invalid log can only come from a
        # NaN-tainted input, whose NaN _blockwise reports
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = np.log(p)
            log_1mp = np.log1p(np.negative(p))
        np.maximum(log_p, -100.0, out=log_p)
        np.maximum(log_1mp, -100.0, out=log_1mp)
        # y log p + (1 - y) log(1 - p) as log(1 - p) + y (log p - log(1 - p)): one product fewer
        log_p -= log_1mp
        log_p *= y
        log_p += log_1mp
        np.negative(log_p, out=log_p)
        if w is not None:
            log_p *= w
        return log_p

    return _blockwise(fn, kernel, _arrays(p, y, w), how)


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy` w.r.t. the probabilities.

    ``w (p - y) / max(p (1 - p), 1e-12)``, the exact slope ``-y/p + (1-y)/(1-p)`` with torch's
    guard for ``p`` at 0 or 1 (a large finite slope, such as ``-1e12`` at ``p = 0, y = 1``).
    Shapes: like ``input``. Chapter 4 (binary classification).
    """
    fn = "binary_cross_entropy_grad"
    p, y, how = _pair(fn, input, target, reduction, probabilities_in=True)
    w, _ = _weights(fn, p, weight)
    scale = _grad_scale(how, p.size)

    def kernel(p, y, w, _):
        den = np.subtract(1.0, p)
        den *= p
        np.maximum(den, _BCE_GRAD_EPS, out=den)
        g = np.subtract(p, y)
        g /= den
        g *= scale if w is None else scale * w
        return g

    return _blockwise(fn, kernel, _arrays(p, y, w))


# ---- binary cross-entropy on logits -------------------------------------------------------------

def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
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

    def kernel(x, y, w, pw):
        loss = _bce_logits_terms(x, y, pw, _exp_neg_abs(x))
        if w is not None:
            loss *= w
        return loss

    return _blockwise(fn, kernel, _arrays(x, y, w, pw), how)


def binary_cross_entropy_with_logits_grad(input, target, weight=None, reduction="mean",
                                          pos_weight=None):
    """Gradient of :func:`binary_cross_entropy_with_logits` w.r.t. the logits.

    ``w [(1 + (pw - 1) y) sigmoid(x) - pw y]``; without ``pos_weight`` that is
    ``w (sigmoid(x) - y)``, the "prediction minus target" of chapter 4. Shapes: like ``input``.
    """
    fn = "binary_cross_entropy_with_logits_grad"
    x, y, how = _pair(fn, input, target, reduction)
    w, pw = _weights(fn, x, weight, pos_weight)
    scale = _grad_scale(how, x.size)

    def kernel(x, y, w, pw):
        g = _bce_logits_grad_terms(x, y, pw)
        g *= scale if w is None else scale * w
        return g

    return _blockwise(fn, kernel, _arrays(x, y, w, pw))


# ---- multi-label soft margin --------------------------------------------------------------------

def _multilabel_args(fn, input, target, weight, reduction):
    x, y, how = _pair(fn, input, target, reduction)
    if x.ndim == 0:
        _checks.fail(fn, "input", "is a scalar", "shape (C,) or (N, C)",
                     "for a single binary output use binary_cross_entropy_with_logits")
    w, _ = _weights(fn, x, weight)
    return x, y, w, how


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """Multi-label loss: one independent sigmoid BCE per class, averaged over the classes.

    ``l_n = (1 / C) sum_c w_c BCEWithLogits(x_nc, y_nc)``: a per-sample loss, then the reduction
    over samples. Shapes: ``input`` (N, C) logits (or (C,)), ``target`` the same shape with 0/1 (or
    soft) labels; ``weight`` broadcasts, typically (C,). Returns (N,) for ``"none"``, else a
    scalar. Chapter 4 (multi-label classification).
    """
    fn = "multilabel_soft_margin_loss"
    x, y, w, how = _multilabel_args(fn, input, target, weight, reduction)

    def kernel(x, y, w, _):
        terms = _bce_logits_terms(x, y, None, _exp_neg_abs(x))
        if w is not None:
            terms *= w
        per_sample = terms.sum(axis=-1)
        per_sample /= x.shape[-1]
        return per_sample

    return _blockwise(fn, kernel, _arrays(x, y, w), how, shape=x.shape[:-1])


def multilabel_soft_margin_loss_grad(input, target, weight=None, reduction="mean"):
    """Gradient of :func:`multilabel_soft_margin_loss`: ``w_c (sigmoid(x_nc) - y_nc) / C``
    (divided by N as well for ``"mean"``). Shapes: like ``input``. Chapter 4.
    """
    fn = "multilabel_soft_margin_loss_grad"
    x, y, w, how = _multilabel_args(fn, input, target, weight, reduction)
    n_classes = x.shape[-1]
    scale = _grad_scale(how, x.size // n_classes if n_classes else 0) / max(n_classes, 1)

    def kernel(x, y, w, _):
        g = _bce_logits_grad_terms(x, y, None)
        g *= scale if w is None else scale * w
        return g

    return _blockwise(fn, kernel, _arrays(x, y, w))


# ---- focal loss ---------------------------------------------------------------------------------

def _focal_args(fn, inputs, targets, alpha, gamma, reduction):
    x, y, how = _pair(fn, inputs, targets, reduction)
    gamma = _checks.positive(fn, "gamma", gamma, allow_zero=True)
    if alpha is not None:
        if not np.isscalar(alpha) or isinstance(alpha, (str, bool)):
            _checks.fail(fn, "alpha", f"is {alpha!r}", "a number in [0, 1], -1 or None",
                         "pass e.g. alpha=0.25, or alpha=None for no class weighting", TypeError)
        alpha = float(alpha)
        if alpha == -1.0:
            alpha = None
        elif not 0.0 <= alpha <= 1.0:
            _checks.fail(fn, "alpha", f"is {alpha!r}", "a weight in [0, 1] for the positives",
                         "pass e.g. alpha=0.25; alpha=None (or -1) switches the weighting off")
    return x, y, alpha, gamma, how


def _focal_parts(x, y):
    """The pieces the focal loss and its gradient share, all from one exponential.

    Returns ``e = exp(-|x|)``, ``p = sigmoid(x)``, ``sigmoid(-x)`` and
    ``q = 1 - p_t = y sigmoid(-x) + (1 - y) sigmoid(x)``. ``q`` keeps full relative precision even
    when tiny (a confident, correct prediction), where ``1 - p_t`` by subtraction would be 0.
    """
    e = _exp_neg_abs(x)
    p, p_neg = _sigmoids(x, e)
    q = p_neg * y
    q += p * (1.0 - y)
    return e, p, p_neg, q


def _alpha_t(alpha, y):
    """``alpha`` on the positives, ``1 - alpha`` on the negatives (a mix for soft labels)."""
    return alpha * y + (1.0 - alpha) * (1.0 - y)


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
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

    def kernel(x, y):
        e, _, _, q = _focal_parts(x, y)
        loss = _bce_logits_terms(x, y, None, e)
        if gamma != 0:
            loss *= q**gamma
        if alpha is not None:
            loss *= _alpha_t(alpha, y)
        return loss

    return _blockwise(fn, kernel, [("inputs", x), ("targets", y)], how)


def sigmoid_focal_loss_grad(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Gradient of :func:`sigmoid_focal_loss` w.r.t. the logits.

    With ``q = 1 - p_t`` and ``B`` the BCE term,
    ``dFL/dx = alpha_t q^gamma [gamma B (1 - 2y) p (1 - p) / q + (p - y)]``. The ratio
    ``p (1 - p) / q`` is ``p`` or ``1 - p`` for hard labels; it is formed so that it stays finite
    where ``q`` underflows to 0 (then it is 1). Shapes: like ``inputs``. Chapter 7.
    """
    fn = "sigmoid_focal_loss_grad"
    x, y, alpha, gamma, how = _focal_args(fn, inputs, targets, alpha, gamma, reduction)
    scale = _grad_scale(how, x.size)

    def kernel(x, y):
        e, p, p_neg, q = _focal_parts(x, y)
        if gamma != 0:
            ratio = p * p_neg
            np.divide(ratio, q, out=ratio, where=q > 0)
            ratio[q == 0] = 1.0  # q underflowed (a saturated hard label): the limit of p(1-p)/q
            ratio *= gamma * (1.0 - 2.0 * y)
            ratio *= _bce_logits_terms(x, y, None, e)
        # p - y as (1 - y) p - y (1 - p): the tiny slope of a saturated correct prediction survives
        g = p
        g *= 1.0 - y
        p_neg *= y
        g -= p_neg
        if gamma != 0:
            g += ratio
            g *= q**gamma
        g *= scale if alpha is None else scale * _alpha_t(alpha, y)
        return g

    return _blockwise(fn, kernel, [("inputs", x), ("targets", y)])
