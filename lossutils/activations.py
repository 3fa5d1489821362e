"""Numerically stable activations that turn logits into probabilities (chapters 4 and 5).

Each function stays finite for any finite input: exponentials are only ever taken of
non-positive numbers, so ``exp`` cannot overflow.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "sigmoid", "softplus", "log_sigmoid", "logsumexp", "log_softmax", "softmax",
    "label_smoothing_targets",
]


def sigmoid(input):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, elementwise.

    Computed as ``exp(min(x, 0)) / (1 + exp(-|x|))`` so no exponent is positive.
    Shapes: any -> same. Chapter 4 (binary classification).
    """
    x = _checks.as_float("sigmoid", "input", input)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(input):
    """``log(1 + exp(x))`` = ``max(x, 0) + log1p(exp(-|x|))``, elementwise (chapter 4)."""
    x = _checks.as_float("softplus", "input", input)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def log_sigmoid(input):
    """``log sigmoid(x)`` = ``-softplus(-x)``, finite for any finite x (chapter 4)."""
    return -softplus(-_checks.as_float("log_sigmoid", "input", input))


def logsumexp(input, *, dim=-1, keepdim=False):
    """``log(sum_k exp(x_k))`` along ``dim``, shifted by the maximum (chapter 5).

    ``logsumexp(x) = m + log(sum_k exp(x_k - m))`` with ``m = max_k x_k``: the largest term becomes
    ``exp(0) = 1``, so the sum neither overflows nor underflows to ``log(0)``.
    """
    x = _checks.as_float("logsumexp", "input", input)
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf rows: keep -inf instead of producing NaN
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim)


def log_softmax(input, *, dim=-1):
    """``x_k - logsumexp(x)`` along ``dim`` (chapter 5). Shapes: any -> same."""
    x = _checks.as_float("log_softmax", "input", input)
    return x - logsumexp(x, dim=dim, keepdim=True)


def softmax(input, *, dim=-1):
    """``exp(x_k) / sum_j exp(x_j)`` along ``dim``, via the max shift (chapter 5).

    Example: ``softmax([2, 1, -1])`` is about ``[0.705, 0.259, 0.035]``.
    """
    return np.exp(log_softmax(input, dim=dim))


def label_smoothing_targets(target, num_classes, *, label_smoothing=0.1):
    """Smoothed target distributions ``q = (1 - eps) * onehot(y) + eps / K`` (Szegedy et al. 2016).

    ``eps / K`` goes to *every* class, the true one included, as in ``torch``'s
    ``cross_entropy(label_smoothing=eps)``: the true class gets ``1 - eps + eps / K``.
    Shapes: ``target`` (N,) int -> (N, K). Chapter 5 (multi-class classification).
    """
    fn = "label_smoothing_targets"
    y = _checks.as_class_index(fn, "target", target)
    k = int(num_classes)
    if k < 1:
        _checks.fail(fn, "num_classes", f"is {num_classes!r}", "an integer >= 1",
                     "pass the number of classes K")
    eps = _checks.positive(fn, "label_smoothing", label_smoothing, allow_zero=True)
    if eps > 1:
        _checks.fail(fn, "label_smoothing", f"is {label_smoothing!r}", "a value in [0, 1]",
                     "typical values are 0.1 or smaller")
    if y.size and (y.min() < 0 or y.max() >= k):
        _checks.fail(fn, "target", f"has class ids in [{y.min()}, {y.max()}]",
                     f"ids in [0, {k - 1}]", "check num_classes and the label encoding")
    onehot = np.eye(k)[y]
    return (1.0 - eps) * onehot + eps / k
