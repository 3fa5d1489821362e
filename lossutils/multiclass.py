"""Multi-class cross-entropy and negative log-likelihood, with their gradients (chapter 5).

The class dimension is 1, as in torch: logits ``(N, C)`` or ``(N, C, d1, d2, ...)`` for one
prediction per pixel, and an unbatched ``(C,)`` is accepted too. Targets are class indices of shape
``(N, d1, ...)`` or, for cross-entropy, class probabilities of the input's shape.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from .activations import log_softmax, softmax

__all__ = ["cross_entropy", "cross_entropy_grad", "nll_loss", "nll_loss_grad"]


def _item_weights(b):
    """``w_{y_i}`` for every item with a class id, 0 for ignored items (class axis kept)."""
    w_y = np.ones(b.ids.shape) if b.w is None else np.take(b.w.reshape(-1), b.ids)
    return w_y * b.counted


def _mean_denominator(b):
    """What ``"mean"`` divides by: with class ids, the summed weights ``w_{y_i}`` of the counted
    items (their count without weights); with probabilities, the number of items N * d1 * ...,
    whatever the weights (as torch)."""
    if b.q is not None:
        return b.x.size // b.x.shape[b.axis]
    return _item_weights(b).sum()


def _reduce(loss, b):
    """Reduce the loss per item; ``"mean"`` divides by :func:`_mean_denominator` (NaN if 0)."""
    if b.how != "mean":
        return _checks.reduce(loss, b.how)
    den = _mean_denominator(b)
    return np.float64(loss.sum() / den) if den else np.float64(np.nan)


def _grad_scale(b):
    """The factor that turns the gradient of the summed loss into that of the reduced loss."""
    if b.how != "mean":
        return 1.0
    den = _mean_denominator(b)
    if den:
        return 1.0 / den
    # 0 / 0: torch's gradient is 0 when every item is ignored, and NaN when the counted items
    # all have class weight 0 (the loss itself is NaN in both cases)
    return 0.0 if b.q is not None or not b.counted.any() else np.nan


def _target_coefficients(b):
    """The coefficients ``c_ik`` with ``loss_i = -sum_k c_ik log p_ik``, the input's shape.

    Class ids: ``c = (1 - eps) w_y onehot(y) + (eps / K) w`` for counted items, 0 for ignored ones.
    Probabilities: ``c = w q'`` with the smoothed ``q' = (1 - eps) q + eps / K``.
    """
    k = b.x.shape[b.axis]
    w = 1.0 if b.w is None else b.w
    if b.q is not None:
        return w * ((1.0 - b.eps) * b.q + b.eps / k)
    onehot = np.zeros(b.x.shape)
    np.put_along_axis(onehot, b.ids, 1.0, axis=b.axis)
    return (1.0 - b.eps) * _item_weights(b) * onehot + (b.eps / k) * w * b.counted


# ---- cross-entropy ------------------------------------------------------------------------------

def cross_entropy(input, target, *, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits, as ``torch.nn.functional.cross_entropy``.

    Class ids ``y``: ``l_i = (1 - eps) w_{y_i} (-log p_{i,y_i}) + (eps / K) sum_k w_k (-log p_ik)``
    with ``log p = log_softmax(x, dim=1)``, i.e. the target ``(1 - eps) onehot(y) + eps / K`` (the
    smoothing mass goes to all K classes, the true one too). Items whose target is ``ignore_index``
    give 0 and are not counted. ``"mean"`` divides by ``sum_i w_{y_i}`` over counted items (the
    count without weights); if every item is ignored it is NaN, as in torch.
    Probability targets ``q`` (the input's shape, float): ``l_i = -sum_k w_k q'_ik log p_ik`` with
    ``q' = (1 - eps) q + eps / K``; ``"mean"`` divides by N * d1 * ..., never by a weight sum.
    ``log_softmax`` shifts the logits by their maximum, so any finite logits (such as +-1e4) give
    a finite loss.
    Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,); ``target`` (N,), (N, d1, ...) or () int,
    or float like ``input``; ``weight`` (C,). Returns (N, d1, ...) for ``"none"``, else a scalar.
    Example: logits [2, 1, -1] with true class 1 (the logit 1): -log 0.2595 = 1.349.
    Chapter 5 (multi-class classification).
    """
    b = _checks.class_batch("cross_entropy", input, target, weight, ignore_index, reduction,
                            label_smoothing)
    log_p = log_softmax(b.x, dim=b.axis)
    if b.q is not None:
        loss = -(_target_coefficients(b) * log_p).sum(axis=b.axis)
        return _reduce(loss, b)
    # ignored items give 0: their log-probabilities are read as 0, so that a masked class (log p
    # = -inf) or a fully masked row (NaN) cannot leak into the loss as 0 * inf
    log_p = np.where(b.counted, log_p, 0.0)
    # the target's -log p is picked rather than summed as 0 * (-log p_k) over the other classes,
    # where a masked logit's -log p_k = inf would give NaN
    loss = -(1.0 - b.eps) * _item_weights(b) * np.take_along_axis(log_p, b.ids, axis=b.axis)
    if b.eps:
        w = 1.0 if b.w is None else b.w
        loss = loss - (b.eps / b.x.shape[b.axis]) * (w * log_p).sum(axis=b.axis, keepdims=True)
    return _reduce(np.squeeze(loss, axis=b.axis), b)


def cross_entropy_grad(input, target, *, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """Gradient of :func:`cross_entropy` w.r.t. the logits.

    For ``loss_i = -sum_k c_ik log softmax(x_i)_k`` (see :func:`_target_coefficients`) it is
    ``softmax(x_i) sum_k c_ik - c_i``: ``w_y (softmax(x) - onehot(y))`` without smoothing,
    ``softmax(x) - q`` for probability targets without weights. Then divided by the denominator
    of the ``"mean"`` loss. Ignored items get 0.
    Shapes: like ``input``. Chapter 5 (multi-class classification).
    """
    b = _checks.class_batch("cross_entropy_grad", input, target, weight, ignore_index, reduction,
                            label_smoothing)
    c = _target_coefficients(b)
    grad = softmax(b.x, dim=b.axis) * c.sum(axis=b.axis, keepdims=True) - c
    return grad * _grad_scale(b)


# ---- negative log-likelihood --------------------------------------------------------------------

def nll_loss(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class: ``l_i = -w_{y_i} input[i, y_i]``.

    ``input`` holds log-probabilities (``log_softmax`` output); nothing is applied to it, so
    ``nll_loss(log_softmax(x, dim=1), y)`` equals ``cross_entropy(x, y)``. ``ignore_index`` items
    give 0 and are not counted; ``"mean"`` divides by ``sum_i w_{y_i}`` over counted items (NaN if
    none). Only the entries the loss reads are checked for NaN, as torch reads no other.
    Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,); ``target`` int (N,), (N, d1, ...) or ();
    ``weight`` (C,). Returns (N, d1, ...) for ``"none"``, else a scalar.
    Example: ``nll_loss(np.log([[0.01, 0.99]]), [0])`` = -log 0.01 = 4.605. Chapter 5.
    """
    fn = "nll_loss"
    b = _checks.class_batch(fn, input, target, weight, ignore_index, reduction)
    # input[i, y_i], and 0 for ignored items: their placeholder entry may be -inf or NaN
    loss = -_item_weights(b) * _checks.nll_entries(fn, b)
    return _reduce(np.squeeze(loss, axis=b.axis), b)


def nll_loss_grad(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of :func:`nll_loss` w.r.t. ``input``: ``-w_{y_i}`` at the target entry of each
    counted item (divided by the ``"mean"`` denominator), 0 everywhere else.

    Shapes: like ``input``. Chapter 5 (multi-class classification).
    """
    fn = "nll_loss_grad"
    b = _checks.class_batch(fn, input, target, weight, ignore_index, reduction)
    _checks.nll_entries(fn, b)  # the gradient does not read them, but a NaN there is an error
    grad = np.zeros(b.x.shape)
    np.put_along_axis(grad, b.ids, -_item_weights(b) * _grad_scale(b), axis=b.axis)
    return grad
