"""Answers for the copy-detection tests: honest solutions written independently, and disguised
near-copies of a classmate's answer and of the course library (huber and focal).

Every answer here is correct (full marks), so the grades cannot tell them apart; only the
copy detection can. Each dictionary maps answer-cell ids to cell sources.

* ``HONEST_*``: independent solutions, each its own approach or shape (a loop, boolean masks,
  ``np.minimum`` or ``np.where``, helpers or none). None of them may be paired with another, nor
  with the library.
* ``SOURCE_HUBER``: a student's answer with two helpers; ``COPY_OF_SOURCE``: a classmate's
  disguised copy of it (every name changed, helpers reordered and renamed, reformatted with
  other line breaks, spacing and redundant parentheses, comments and docstrings rewritten).
* ``COPY_OF_LIBRARY``: focal answers built from lossutils' own code (``sigmoid``, ``softplus``,
  ``_alpha_t``, ``_bce_with_logits_terms`` and ``_bce_with_logits_slope``, the bodies of
  ``sigmoid_focal_loss`` and its gradient), disguised the same way.
"""

from __future__ import annotations

HONEST_HUBER = {
    "h_loop": {
        "huber_loss": '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    p = np.ravel(np.asarray(pred, dtype=float))
    t = np.ravel(np.asarray(target, dtype=float))
    total = 0.0
    for a, b in zip(p, t):
        gap = abs(a - b)
        if gap <= delta:
            total += 0.5 * gap ** 2
        else:
            total += delta * gap - 0.5 * delta ** 2
    return total / p.size
''',
        "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    diff = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    out = np.where(np.abs(diff) <= delta, diff, delta * np.sign(diff))
    return out / diff.size
''',
    },
    "h_masks": {
        "huber_loss": '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    diff = np.subtract(pred, target, dtype=float)
    inside = np.abs(diff) <= delta
    losses = np.empty_like(diff)
    losses[inside] = 0.5 * diff[inside] ** 2
    losses[~inside] = delta * np.abs(diff[~inside]) - delta ** 2 / 2
    return losses.mean().item()
''',
        "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    diff = np.subtract(pred, target, dtype=float)
    return np.minimum(np.maximum(diff, -delta), delta) / len(diff.ravel())
''',
    },
    "h_minimum": {
        "huber_loss": '''import numpy as np


def _abs_residual(pred, target):
    return np.abs(np.asarray(pred, float) - np.asarray(target, float))


def huber_loss(pred, target, delta=1.0):
    a = _abs_residual(pred, target)
    q = np.minimum(a, delta)
    return float(np.mean(0.5 * q ** 2 + delta * (a - q)))
''',
        "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    r = np.asarray(pred, float) - np.asarray(target, float)
    slope = np.sign(r) * np.minimum(np.abs(r), delta)
    return slope / np.size(r)
''',
    },
    "h_split": {
        "huber_loss": '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    errors = (np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)).ravel()
    quadratic = np.minimum(np.abs(errors), delta)
    linear = np.abs(errors) - quadratic
    return float((0.5 * quadratic**2 + delta * linear).sum() / errors.size)
''',
        "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    e = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    g = e.copy()
    g[e > delta] = delta
    g[e < -delta] = -delta
    return g / e.size
''',
    },
}

SOURCE_HUBER = {
    "huber_loss": '''import numpy as np


def _as_float_arrays(pred, target):
    """Both inputs as float arrays of one shape."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {target.shape}")
    return pred, target


def _zones(residual, delta):
    # which elements are in the quadratic zone, which in the linear one
    small = np.abs(residual) <= delta
    return small, ~small


def huber_loss(pred, target, delta=1.0):
    pred, target = _as_float_arrays(pred, target)
    residual = pred - target
    small, large = _zones(residual, delta)
    per_element = np.zeros_like(residual)
    per_element[small] = 0.5 * residual[small] ** 2
    per_element[large] = delta * (np.abs(residual[large]) - 0.5 * delta)
    return float(np.sum(per_element) / residual.size)
''',
    "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    pred, target = _as_float_arrays(pred, target)
    residual = pred - target
    small, large = _zones(residual, delta)
    grad = np.zeros_like(residual)
    grad[small] = residual[small]
    grad[large] = delta * np.sign(residual[large])
    return grad / residual.size
''',
}

COPY_OF_SOURCE = {
    "huber_loss": '''import numpy as np


def split_regions(err, d):
    inner = (np.abs(err) <= d)   # quadratic part
    return (inner, ~inner)


def to_arrays(y_hat, y):
    # convert and check
    y_hat = np.asarray(y_hat,
                       dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y_hat.shape != y.shape:
        raise ValueError(f"mismatch {y_hat.shape} / {y.shape}")
    return (y_hat, y)


def huber_loss(pred, target, delta=1.0):
    """My Huber loss."""
    y_hat, y = to_arrays(pred, target)
    err = (y_hat - y)
    inner, outer = split_regions(err, delta)
    values = np.zeros_like(err)
    values[inner] = (0.5 * (err[inner] ** 2))
    values[outer] = delta * (np.abs(err[outer])
                             - 0.5 * delta)
    return float(np.sum(values) / err.size)
''',
    "huber_grad": '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    # gradient, same zones as the loss
    y_hat, y = to_arrays(pred, target)
    err = y_hat - y
    inner, outer = split_regions(err, delta)
    g = np.zeros_like(err)
    g[inner] = err[inner]
    g[outer] = (delta * np.sign(err[outer]))
    return g / err.size
''',
}

HONEST_FOCAL = {
    "f_direct": {
        "focal_loss": '''import numpy as np


def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    log_p = -np.logaddexp(0.0, -x)
    log_1mp = -np.logaddexp(0.0, x)
    p = np.exp(log_p)
    pt = np.where(y == 1, p, 1.0 - p)
    log_pt = np.where(y == 1, log_p, log_1mp)
    weight = 1.0 if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    return float(np.mean(-weight * (1.0 - pt) ** gamma * log_pt))
''',
        "focal_loss_grad": '''import numpy as np


def focal_loss_grad(logits, targets, alpha=0.25, gamma=2.0):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    p = 0.5 * (1.0 + np.tanh(0.5 * x))
    pt = np.where(y == 1, p, 1.0 - p)
    log_pt = np.where(y == 1, -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x))
    dlog_pt = y - p  # derivative of log(p_t) for 0/1 labels
    q = 1.0 - pt
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(q > 0, gamma * q ** (gamma - 1) * pt, 0.0)
    d = slope * dlog_pt * log_pt - q ** gamma * dlog_pt
    if alpha is not None:
        d = d * np.where(y == 1, alpha, 1.0 - alpha)
    return d / x.size
''',
    },
    "f_loop": {
        "focal_loss": '''import math

import numpy as np


def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    xs = np.asarray(logits, dtype=float).ravel()
    ys = np.asarray(targets, dtype=float).ravel()
    acc = 0.0
    for x, y in zip(xs, ys):
        if x >= 0:
            prob = 1.0 / (1.0 + math.exp(-x))
        else:
            prob = math.exp(x) / (1.0 + math.exp(x))
        if y == 1:
            w = 1.0 if alpha is None else alpha
            acc += w * (1.0 - prob) ** gamma * math.log1p(math.exp(-abs(x))) + (
                w * (1.0 - prob) ** gamma * max(-x, 0.0))
        else:
            w = 1.0 if alpha is None else 1.0 - alpha
            acc += w * prob ** gamma * (math.log1p(math.exp(-abs(x))) + max(x, 0.0))
    return acc / len(xs)
''',
        "focal_loss_grad": '''import numpy as np


def focal_loss_grad(logits, targets, alpha=0.25, gamma=2.0):
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    q = y * (1.0 - s) + (1.0 - y) * s
    nll = y * np.logaddexp(0.0, -x) + (1.0 - y) * np.logaddexp(0.0, x)
    a = np.ones_like(x) if alpha is None else y * alpha + (1.0 - y) * (1.0 - alpha)
    # q'/q = 1 - s - y for 0/1 labels, so the product rule needs no division
    g = a * q ** gamma * (gamma * (1.0 - s - y) * nll + (s - y))
    return g / x.size
''',
    },
}

COPY_OF_LIBRARY = {
    "focal_loss": '''import numpy as np


def softp(v):
    # log(1 + e^v) without overflow
    return np.maximum(v, 0.0) + np.log1p(np.exp(-np.abs(v)))


def logistic(v):
    ex = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + ex), ex / (1.0 + ex))


def class_weight(a, t):
    return 1.0 if a is None else a * t + (1.0 - a) * (1.0 - t)


def bce_parts(v, t, pw=None):
    wt = t if pw is None else pw * t
    return wt * softp(-v) + (1.0 - t) * softp(v)


def focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    z = np.asarray(logits, dtype=float)
    t = np.asarray(targets, dtype=float)
    # how wrong each prediction is
    miss = t * logistic(-z) + (1.0 - t) * logistic(z)
    per = class_weight(alpha, t) * miss ** gamma * bce_parts(z, t)
    return float(per.mean())
''',
    "focal_loss_grad": '''import numpy as np


def bce_slope(v, t, pw=None):
    wt = t if pw is None else pw * t
    return (1.0 - t) * logistic(v) - wt * logistic(-v)


def focal_loss_grad(logits, targets, alpha=0.25, gamma=2.0):
    z = np.asarray(logits, dtype=float)
    t = np.asarray(targets, dtype=float)
    s, s_neg = logistic(z), logistic(-z)
    miss = t * s_neg + (1.0 - t) * s
    r = np.divide(s * s_neg, miss, out=np.ones_like(miss), where=miss > 0)
    b = bce_parts(z, t)
    g = miss ** gamma * (gamma * b * (1.0 - 2.0 * t) * r + bce_slope(z, t))
    return class_weight(alpha, t) * g / z.size
''',
}
