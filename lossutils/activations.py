"""Activations that turn logits into probabilities, finite for any finite input (chapters 4, 5).

Exponentials are only ever taken of non-positive numbers, so ``exp`` cannot overflow.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "sigmoid", "softplus", "log_sigmoid", "logsumexp", "log_softmax", "softmax",
    "label_smoothing_targets",
]


def sigmoid(input):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise (chapter 4).

    Computed as ``1 / (1 + exp(-x))`` for ``x >= 0`` and ``exp(x) / (1 + exp(x))`` below, so no
    exponent is positive and ``sigmoid(-x)`` keeps its digits where it is tiny.
    Shapes: ``input`` any -> the same shape.
    """
    x = _checks.as_float("sigmoid", "input", input)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(input):
    """``softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``, elementwise (chapter 4).

    The right-hand form never overflows, and ``log1p`` keeps the tail ``exp(-|x|)`` where it is
    tiny. ``softplus(-x) = -log sigmoid(x)``. Shapes: ``input`` any -> the same shape.
    """
    x = _checks.as_float("softplus", "input", input)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def log_sigmoid(input):
    """``log sigmoid(x) = -softplus(-x)``, elementwise, finite for any finite x (chapter 4).

    Shapes: ``input`` any -> the same shape.
    """
    return -softplus(-_checks.as_float("log_sigmoid", "input", input))


def logsumexp(input, *, dim=-1, keepdim=False):
    """``log sum_k exp(x_k)`` along ``dim``, shifted by the maximum (chapter 5).

    ``logsumexp(x) = m + log sum_k exp(x_k - m)`` with ``m = max_k x_k``: the largest term becomes
    ``exp(0) = 1``, so the sum neither overflows nor underflows to ``log 0``.
    Shapes: ``input`` any -> ``dim`` removed (kept with size 1 if ``keepdim``).
    """
    x = _checks.as_float("logsumexp", "input", input)
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # a row of -inf: keep -inf rather than -inf - -inf = NaN
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim)


def log_softmax(input, *, dim=-1):
    """``log softmax(x)_k = x_k - logsumexp(x)`` along ``dim`` (chapter 5).

    Computed as ``z_k - log sum_j exp(z_j)`` with ``z = x - max_j x_j``, as torch does: the top
    class's log-probability is then exactly ``-log sum_j exp(z_j)``. A row of ``-inf`` (every
    class masked) gives NaN, as in torch. Shapes: ``input`` any -> the same shape.
    """
    x = _checks.as_float("log_softmax", "input", input)
    with np.errstate(invalid="ignore"):  # -inf - (-inf) in a fully masked row: NaN, as torch
        z = x - np.max(x, axis=dim, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))


def softmax(input, *, dim=-1):
    """``softmax(x)_k = exp(x_k) / sum_j exp(x_j)`` along ``dim``, via the max shift (chapter 5).

    Example: ``softmax([2, 1, -1])`` is about ``[0.705, 0.259, 0.035]``.
    Shapes: ``input`` any -> the same shape, summing to 1 along ``dim``.
    """
    return np.exp(log_softmax(input, dim=dim))


def label_smoothing_targets(target, num_classes, *, label_smoothing=0.1):
    """Smoothed target distributions ``q = (1 - eps) onehot(y) + eps / K`` (Szegedy et al. 2016).

    ``eps / K`` goes to *every* class, the true one included, as in torch's
    ``cross_entropy(label_smoothing=eps)``: the true class gets ``1 - eps + eps / K``.
    Shapes: ``target`` (N,) class ids, ``num_classes`` K -> (N, K) float64. Chapter 5.
    """
    y, k, eps = _checks.smoothing_targets("label_smoothing_targets", target, num_classes,
                                          label_smoothing)
    return (1.0 - eps) * np.eye(k)[y] + eps / k
