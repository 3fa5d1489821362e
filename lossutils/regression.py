"""Regression losses and their gradients (chapter 3).

Every loss is a function of the residual ``e = input - target`` alone. ``reduction="mean"`` divides
by the number of elements; the gradients of ``reduction="none"`` are those of ``sum(loss)``.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "mse_loss", "mse_loss_grad", "l1_loss", "l1_loss_grad", "huber_loss", "huber_loss_grad",
    "smooth_l1_loss", "smooth_l1_loss_grad",
]


def _residual(fn, input, target, reduction):
    """``e = input - target`` after the checks (equal shapes, no NaN, a known reduction)."""
    _checks.reduction(fn, reduction)
    x, y = _checks.pair(fn, input, target)
    return x - y


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error, ``l_i = (x_i - y_i)^2``.

    Shapes: ``input`` and ``target`` any shape, equal (no silent broadcasting).
    Returns the loss per element for ``"none"``, else a float64 scalar. Chapter 3 (regression).
    Example: ``mse_loss([2.5, 3, 5], [1, 3, 4])`` = (2.25 + 0 + 1) / 3 = 1.0833.
    """
    e = _residual("mse_loss", input, target, reduction)
    return _checks.reduce(e**2, reduction)


def mse_loss_grad(input, target, *, reduction="mean"):
    """Gradient of :func:`mse_loss` w.r.t. ``input``: ``2 (x - y)``, divided by ``n`` for "mean".

    Shapes: like ``input``. Chapter 3 (regression).
    """
    e = _residual("mse_loss_grad", input, target, reduction)
    return _checks.reduce_grad(2.0 * e, reduction, e.size)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error, ``l_i = |x_i - y_i|``.

    Shapes: ``input`` and ``target`` equal, any shape. Returns the loss per element for ``"none"``,
    else a scalar. Chapter 3 (regression).
    """
    e = _residual("l1_loss", input, target, reduction)
    return _checks.reduce(np.abs(e), reduction)


def l1_loss_grad(input, target, *, reduction="mean"):
    """Gradient of :func:`l1_loss`: ``sign(x - y)`` (/ ``n`` for "mean").

    At the kink ``x = y`` it is 0, the subgradient torch's backward returns. Shapes: like ``input``.
    Chapter 3 (regression).
    """
    e = _residual("l1_loss_grad", input, target, reduction)
    return _checks.reduce_grad(np.sign(e), reduction, e.size)


def huber_loss(input, target, *, delta=1.0, reduction="mean"):
    """Huber loss: quadratic for small residuals, linear (slope ``delta``) for large ones.

    ``l_i = 0.5 e_i^2`` if ``|e_i| < delta`` else ``delta (|e_i| - 0.5 delta)``, with
    ``e = x - y``; the two pieces meet with equal value and slope at ``|e| = delta``. Large
    ``delta``: MSE / 2; far out: ``delta`` times L1 minus a constant. ``delta > 0`` is required.
    Shapes: ``input`` and ``target`` equal, any shape. Returns the loss per element for
    ``"none"``, else a scalar. Chapter 3 (regression).
    """
    fn = "huber_loss"
    delta = _checks.positive(fn, "delta", delta)
    abs_e = np.abs(_residual(fn, input, target, reduction))
    # c = min(|e|, delta) is |e| inside the band and delta outside, so c (|e| - c / 2) is
    # 0.5 e^2 inside and delta (|e| - delta / 2) outside: both pieces in one expression.
    # (np.where, choosing a piece per element, costs 3x the rest on residuals of random sign.)
    c = np.minimum(abs_e, delta)
    return _checks.reduce(c * (abs_e - 0.5 * c), reduction)


def huber_loss_grad(input, target, *, delta=1.0, reduction="mean"):
    """Gradient of :func:`huber_loss` w.r.t. ``input``: ``e`` inside the band, ``delta sign(e)``
    outside, i.e. the residual clipped to ``[-delta, delta]`` (/ ``n`` for "mean").

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "huber_loss_grad"
    delta = _checks.positive(fn, "delta", delta)
    e = _residual(fn, input, target, reduction)
    return _checks.reduce_grad(np.clip(e, -delta, delta), reduction, e.size)


def smooth_l1_loss(input, target, *, beta=1.0, reduction="mean"):
    """Smooth L1 loss: Huber divided by its threshold, so the linear part has slope 1.

    ``l_i = 0.5 e_i^2 / beta`` if ``|e_i| < beta`` else ``|e_i| - 0.5 beta``; hence
    ``huber_loss(delta=d) = d * smooth_l1_loss(beta=d)``. ``beta = 0`` is the L1 loss (as in torch);
    ``beta < 0`` is rejected. Shapes: ``input`` and ``target`` equal, any shape. Returns the loss
    per element for ``"none"``, else a scalar. Chapter 3 (regression).
    """
    fn = "smooth_l1_loss"
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    e = _residual(fn, input, target, reduction)
    if beta == 0:  # the quadratic band is empty: plain L1, as torch
        return _checks.reduce(np.abs(e), reduction)
    abs_e = np.abs(e)
    c = np.minimum(abs_e, beta)  # Huber's expression with delta = beta (see huber_loss), / beta
    return _checks.reduce(c * (abs_e - 0.5 * c), reduction) / beta


def smooth_l1_loss_grad(input, target, *, beta=1.0, reduction="mean"):
    """Gradient of :func:`smooth_l1_loss`: ``e / beta`` inside the band, ``sign(e)`` outside,
    i.e. ``e / beta`` clipped to ``[-1, 1]`` (/ ``n`` for "mean"); at ``beta = 0`` it is the L1
    gradient ``sign(e)``.

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "smooth_l1_loss_grad"
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    e = _residual(fn, input, target, reduction)
    grad = np.sign(e) if beta == 0 else np.clip(e / beta, -1.0, 1.0)
    return _checks.reduce_grad(grad, reduction, e.size)
