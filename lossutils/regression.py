"""Regression losses and their gradients (chapter 3).

Every loss is a function of the residual ``e = input - target`` alone. ``reduction="mean"`` divides
by the number of elements; the gradients of ``reduction="none"`` are those of ``sum(loss)``.
"""

from __future__ import annotations

import numpy as np

from . import _blocks, _checks

__all__ = [
    "mse_loss", "mse_loss_grad", "l1_loss", "l1_loss_grad", "huber_loss", "huber_loss_grad",
    "smooth_l1_loss", "smooth_l1_loss_grad",
]


def _pair(fn, input, target, reduction):
    """Validate the common arguments: ``(input, target, reduction)`` as float64 arrays.

    NaN is looked for afterwards, by :func:`_nan_checked`, and only if the result holds one.
    """
    how = _checks.reduction(fn, reduction)
    x = _checks.as_float(fn, "input", input, allow_nan=True)
    y = _checks.as_float(fn, "target", target, allow_nan=True)
    _checks.same_shape(fn, "input", x, "target", y)
    return x, y, how


def _nan_checked(fn, out, x, y):
    """``out``, after the standard NaN error if ``x`` or ``y`` holds a NaN.

    Every loss and gradient here is NaN wherever its input or target is, so the two are scanned
    only when ``out`` holds a NaN: one read of the result instead of two of the inputs. A NaN
    that clean inputs produce (``inf - inf``) is returned, as torch returns it.
    """
    if _checks.has_nan(out):
        _checks.as_float(fn, "input", x)
        _checks.as_float(fn, "target", y)
    return out


def _huber_total(x, y, delta):
    """``sum_i c_i (e_i - c_i / 2)`` with ``e = x - y`` and ``c = clip(e, -delta, delta)``: the
    summed Huber loss, as two dot products per block of elements (see :mod:`lossutils._blocks`),
    so neither ``e`` nor ``c`` is ever formed for the whole array."""
    x, y = x.reshape(-1), y.reshape(-1)
    slices, buffer_shape = _blocks.row_blocks(x.shape)
    e_buf, c_buf = np.empty(buffer_shape), np.empty(buffer_shape)
    total = 0.0
    for rows in slices:
        e = np.subtract(x[rows], y[rows], out=e_buf[:len(x[rows])])
        c = np.clip(e, -delta, delta, out=c_buf[:len(e)])
        total += np.vdot(c, e) - 0.5 * np.vdot(c, c)
    return total


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error, ``l_i = (x_i - y_i)^2``.

    Shapes: ``input`` and ``target`` any shape, equal (no silent broadcasting).
    Returns the loss per element for ``"none"``, else a float64 scalar. Chapter 3 (regression).
    Example: ``mse_loss([2.5, 3, 5], [1, 3, 4])`` = (2.25 + 0 + 1) / 3 = 1.0833.
    """
    fn = "mse_loss"
    x, y, how = _pair(fn, input, target, reduction)
    return _nan_checked(fn, _checks.reduce((x - y) ** 2, how), x, y)


def mse_loss_grad(input, target, *, reduction="mean"):
    """Gradient of :func:`mse_loss` w.r.t. ``input``: ``2 (x - y)``, divided by ``n`` for "mean".

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "mse_loss_grad"
    x, y, how = _pair(fn, input, target, reduction)
    return _nan_checked(fn, _checks.reduce_grad(2.0 * (x - y), how, x.size), x, y)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error, ``l_i = |x_i - y_i|``.

    Shapes: ``input`` and ``target`` equal, any shape. Returns per element for ``"none"``, else a
    scalar. Chapter 3 (regression).
    """
    fn = "l1_loss"
    x, y, how = _pair(fn, input, target, reduction)
    return _nan_checked(fn, _checks.reduce(np.abs(x - y), how), x, y)


def l1_loss_grad(input, target, *, reduction="mean"):
    """Gradient of :func:`l1_loss`: ``sign(x - y)`` (/ ``n`` for "mean").

    At the kink ``x = y`` it is 0, the subgradient torch's backward returns. Shapes: like ``input``.
    Chapter 3 (regression).
    """
    fn = "l1_loss_grad"
    x, y, how = _pair(fn, input, target, reduction)
    return _nan_checked(fn, _checks.reduce_grad(np.sign(x - y), how, x.size), x, y)


def huber_loss(input, target, *, delta=1.0, reduction="mean"):
    """Huber loss: quadratic for small residuals, linear (slope ``delta``) for large ones.

    ``l_i = 0.5 e_i^2`` if ``|e_i| < delta`` else ``delta (|e_i| - 0.5 delta)``, ``e = x - y``.
    Large ``delta``: MSE / 2; far out: ``delta`` times L1 minus a constant. ``delta > 0`` required.
    Shapes: ``input`` and ``target`` equal. Returns per element for ``"none"``, else a scalar.
    Chapter 3 (regression).
    """
    fn = "huber_loss"
    delta = _checks.positive(fn, "delta", delta)
    x, y, how = _pair(fn, input, target, reduction)
    # with c = clip(e, -delta, delta), c (e - c / 2) is 0.5 e^2 inside the band and
    # delta (|e| - 0.5 delta) outside: both branches in one formula, neither computed in vain
    if how == "none":
        e = x - y
        c = np.clip(e, -delta, delta)
        return _nan_checked(fn, c * (e - 0.5 * c), x, y)
    return _nan_checked(fn, _checks.reduce_total(_huber_total(x, y, delta), how, x.size), x, y)


def huber_loss_grad(input, target, *, delta=1.0, reduction="mean"):
    """Gradient of :func:`huber_loss`: ``clip(x - y, -delta, delta)`` (/ ``n`` for "mean").

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "huber_loss_grad"
    delta = _checks.positive(fn, "delta", delta)
    x, y, how = _pair(fn, input, target, reduction)
    return _nan_checked(fn, _checks.reduce_grad(np.clip(x - y, -delta, delta), how, x.size), x, y)


def smooth_l1_loss(input, target, *, beta=1.0, reduction="mean"):
    """Smooth L1 loss: Huber divided by its threshold, so the linear part has slope 1.

    ``l_i = 0.5 e_i^2 / beta`` if ``|e_i| < beta`` else ``|e_i| - 0.5 beta``; hence
    ``huber_loss(delta=d) = d * smooth_l1_loss(beta=d)``. ``beta = 0`` is the L1 loss (as in torch);
    ``beta < 0`` is rejected. Shapes: ``input`` and ``target`` equal. Returns per element for
    ``"none"``, else a scalar. Chapter 3 (regression).
    """
    fn = "smooth_l1_loss"
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    x, y, how = _pair(fn, input, target, reduction)
    if beta == 0:  # 0 / 0 inside a band of width 0: the limit is plain L1, as in torch
        return _nan_checked(fn, _checks.reduce(np.abs(x - y), how), x, y)
    # Huber's loss with delta = beta, divided by beta (see huber_loss for the clipped form)
    if how == "none":
        e = x - y
        c = np.clip(e, -beta, beta)
        return _nan_checked(fn, c * (e - 0.5 * c) / beta, x, y)
    total = _huber_total(x, y, beta) / beta
    return _nan_checked(fn, _checks.reduce_total(total, how, x.size), x, y)


def smooth_l1_loss_grad(input, target, *, beta=1.0, reduction="mean"):
    """Gradient of :func:`smooth_l1_loss`: ``clip((x - y) / beta, -1, 1)`` (/ ``n`` for "mean").

    At ``beta = 0`` it is the L1 gradient ``sign(x - y)``. Shapes: like ``input``. Chapter 3.
    """
    fn = "smooth_l1_loss_grad"
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    x, y, how = _pair(fn, input, target, reduction)
    e = x - y
    g = np.sign(e) if beta == 0 else np.clip(e / beta, -1.0, 1.0)
    return _nan_checked(fn, _checks.reduce_grad(g, how, x.size), x, y)
