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


def _pair(fn, input, target, reduction):
    """Validate the common arguments: ``(input, target, reduction)`` as float64 arrays."""
    how = _checks.reduction(fn, reduction)
    x = _checks.as_float(fn, "input", input)
    y = _checks.as_float(fn, "target", target)
    _checks.same_shape(fn, "input", x, "target", y)
    return x, y, how


def _threshold_and_reduction(fn, name, value, reduction):
    """Accept torch's positional ``f(input, target, "sum")`` as well as ``f(x, y, 1.0, "sum")``.

    A string in the ``delta``/``beta`` slot can only be a reduction; a number then left in the
    ``reduction`` slot is the threshold. Two strings are ambiguous and rejected.
    """
    if not isinstance(value, str):
        return value, reduction
    if isinstance(reduction, str):
        if reduction != "mean":
            _checks.fail(fn, name, f"is the string {value!r} while reduction is {reduction!r}",
                         f"a number for {name}",
                         f"pass both by keyword, e.g. {fn}(input, target, {name}=1.0, "
                         f"reduction={reduction!r})", TypeError)
        return 1.0, value
    return reduction, value


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, ``l_i = (x_i - y_i)^2``.

    Shapes: ``input`` and ``target`` any shape, equal (no silent broadcasting).
    Returns the loss per element for ``"none"``, else a float64 scalar. Chapter 3 (regression).
    Example: ``mse_loss([2.5, 3, 5], [1, 3, 4])`` = (2.25 + 0 + 1) / 3 = 1.0833.
    """
    x, y, how = _pair("mse_loss", input, target, reduction)
    return _checks.reduce((x - y) ** 2, how)


def mse_loss_grad(input, target, reduction="mean"):
    """Gradient of :func:`mse_loss` w.r.t. ``input``: ``2 (x - y)``, divided by ``n`` for "mean".

    Shapes: like ``input``. Chapter 3 (regression).
    """
    x, y, how = _pair("mse_loss_grad", input, target, reduction)
    return _checks.reduce_grad(2.0 * (x - y), how, x.size)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error, ``l_i = |x_i - y_i|``.

    Shapes: ``input`` and ``target`` equal, any shape. Returns per element for ``"none"``, else a
    scalar. Chapter 3 (regression).
    """
    x, y, how = _pair("l1_loss", input, target, reduction)
    return _checks.reduce(np.abs(x - y), how)


def l1_loss_grad(input, target, reduction="mean"):
    """Gradient of :func:`l1_loss`: ``sign(x - y)`` (/ ``n`` for "mean").

    At the kink ``x = y`` it is 0, the subgradient torch's backward returns. Shapes: like ``input``.
    Chapter 3 (regression).
    """
    x, y, how = _pair("l1_loss_grad", input, target, reduction)
    return _checks.reduce_grad(np.sign(x - y), how, x.size)


def huber_loss(input, target, delta=1.0, reduction="mean"):
    """Huber loss: quadratic for small residuals, linear (slope ``delta``) for large ones.

    ``l_i = 0.5 e_i^2`` if ``|e_i| < delta`` else ``delta (|e_i| - 0.5 delta)``, ``e = x - y``.
    Large ``delta``: MSE / 2; far out: ``delta`` times L1 minus a constant. ``delta > 0`` required.
    ``huber_loss(x, y, "sum")`` (torch's positional order) is read as ``reduction="sum"``.
    Shapes: ``input`` and ``target`` equal. Returns per element for ``"none"``, else a scalar.
    Chapter 3 (regression).
    """
    fn = "huber_loss"
    delta, reduction = _threshold_and_reduction(fn, "delta", delta, reduction)
    delta = _checks.positive(fn, "delta", delta)
    x, y, how = _pair(fn, input, target, reduction)
    r = x - y
    # with c = clip(r, -delta, delta), c (r - c / 2) is 0.5 r^2 inside the band and
    # delta (|r| - 0.5 delta) outside: both branches in one formula, neither computed in vain
    c = np.clip(r, -delta, delta)
    if how == "none":
        return c * (r - 0.5 * c)
    # its sum as two dot products, which only read: no per-element loss array is written
    return _checks.reduce_total(np.vdot(c, r) - 0.5 * np.vdot(c, c), how, r.size)


def huber_loss_grad(input, target, delta=1.0, reduction="mean"):
    """Gradient of :func:`huber_loss`: ``clip(x - y, -delta, delta)`` (/ ``n`` for "mean").

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "huber_loss_grad"
    delta, reduction = _threshold_and_reduction(fn, "delta", delta, reduction)
    delta = _checks.positive(fn, "delta", delta)
    x, y, how = _pair(fn, input, target, reduction)
    return _checks.reduce_grad(np.clip(x - y, -delta, delta), how, x.size)


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    """Smooth L1 loss: Huber divided by its threshold, so the linear part has slope 1.

    ``l_i = 0.5 e_i^2 / beta`` if ``|e_i| < beta`` else ``|e_i| - 0.5 beta``; hence
    ``huber_loss(delta=d) = d * smooth_l1_loss(beta=d)``. ``beta = 0`` is the L1 loss (as in torch);
    ``beta < 0`` is rejected. Shapes: ``input`` and ``target`` equal. Returns per element for
    ``"none"``, else a scalar. Chapter 3 (regression).
    """
    fn = "smooth_l1_loss"
    beta, reduction = _threshold_and_reduction(fn, "beta", beta, reduction)
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    x, y, how = _pair(fn, input, target, reduction)
    r = x - y
    if beta == 0:  # 0 / 0 inside a band of width 0: the limit is plain L1, as in torch
        return _checks.reduce(np.abs(r), how)
    # Huber's loss with delta = beta, divided by beta (see huber_loss for the clipped form)
    c = np.clip(r, -beta, beta)
    if how == "none":
        return c * (r - 0.5 * c) / beta
    return _checks.reduce_total((np.vdot(c, r) - 0.5 * np.vdot(c, c)) / beta, how, r.size)


def smooth_l1_loss_grad(input, target, beta=1.0, reduction="mean"):
    """Gradient of :func:`smooth_l1_loss`: ``clip((x - y) / beta, -1, 1)`` (/ ``n`` for "mean").

    At ``beta = 0`` it is the L1 gradient ``sign(x - y)``. Shapes: like ``input``. Chapter 3.
    """
    fn = "smooth_l1_loss_grad"
    beta, reduction = _threshold_and_reduction(fn, "beta", beta, reduction)
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    x, y, how = _pair(fn, input, target, reduction)
    r = x - y
    g = np.sign(r) if beta == 0 else np.clip(r / beta, -1.0, 1.0)
    return _checks.reduce_grad(g, how, x.size)
