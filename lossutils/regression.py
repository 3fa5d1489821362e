"""Regression losses and their gradients (chapter 3).

Every loss is a function of the residual ``e = input - target`` alone. ``reduction="mean"`` divides
by the number of elements; the gradients of ``reduction="none"`` are those of ``sum(loss)``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _checks

__all__ = [
    "mse_loss", "mse_loss_grad", "l1_loss", "l1_loss_grad", "huber_loss", "huber_loss_grad",
    "smooth_l1_loss", "smooth_l1_loss_grad",
]

# ---- block-wise evaluation (shared with the binary and multi-class losses) ----------------------
# A chain of NumPy operations on whole arrays streams every full-size temporary through memory once
# per operation; on a block of about 32k numbers the temporaries stay in the CPU cache. Blocks run
# on a few threads (NumPy releases the GIL inside its loops), as torch's fused kernels do. Results
# do not depend on the number of threads: partial sums are added in block order.
_BLOCK = 1 << 15
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
_THREADS = max(1, min(4, _CPUS or 1))
_pool: ThreadPoolExecutor | None = None


def _forget_pool():
    # a forked child inherits the pool object but not its threads: it must start its own
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _map_blocks(task, slices):
    """``[task(s) for s in slices]``, on the thread pool when there are several blocks."""
    global _pool
    if len(slices) < 2 or _THREADS == 1:
        return [task(s) for s in slices]
    if _pool is None:
        _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="lossutils")
    return list(_pool.map(task, slices))


def _blockwise(fn, kernel, arrays, how="none", shape=None, mean_over=None):
    """Evaluate ``kernel`` on blocks of rows and reduce its values by ``how``.

    ``arrays`` are ``(name, array or None)`` pairs; the first array sets the rows. An array with
    the same number of dimensions and the same leading length is cut into the same blocks of rows;
    any other (a per-class weight that broadcasts, say, or None) is passed whole.
    ``kernel(*blocks)`` returns a fresh array with the values of its rows: ``shape`` (default: the
    first array's shape) restricted to the block. ``how``: ``"none"`` assembles the values,
    ``"sum"`` adds them, ``"mean"`` divides the sum by ``mean_over`` (default: the number of
    values; a mean over nothing is NaN).

    NaN: every kernel carries a NaN of its inputs into its values, so the inputs are scanned (by
    :func:`_checks.as_float`, which raises its standard message naming the input) only when a
    block's sum comes out NaN; a NaN made of infinities (inf - inf) is left in the result.
    """
    first = arrays[0][1]
    if first.ndim == 0:  # scalars: evaluate as one-element arrays (kernels work in place)
        for name, a in arrays:
            if a is not None:
                _checks.as_float(fn, name, a)  # NaN check with the scalar's own index
        arrays = [(name, a if a is None or a.ndim else a.reshape(1)) for name, a in arrays]
        values = _blockwise(fn, kernel, arrays, how, (1,), mean_over)
        return values.reshape(()) if how == "none" else values
    shape = first.shape if shape is None else tuple(shape)
    if shape:
        step = max(1, _BLOCK // max(1, first.size // max(1, shape[0])))
        slices = [slice(i, i + step) for i in range(0, shape[0], step)]
    else:  # a single value: one block, everything whole
        slices = [...]
    cut = [a is not None and a.ndim == first.ndim and a.ndim > 0 and a.shape[0] == first.shape[0]
           for _, a in arrays]
    out = np.empty(shape) if how == "none" else None

    def task(rows):
        blocks = [a[rows] if c else a for (_, a), c in zip(arrays, cut, strict=True)]
        values = kernel(*blocks)
        if out is None:
            return float(values.sum())
        out[rows] = values
        with np.errstate(over="ignore", invalid="ignore"):  # only looking for NaN here
            return float(values.sum())

    partial = _map_blocks(task, slices)
    if np.isnan(partial).any():
        for name, a in arrays:
            if a is not None:
                _checks.as_float(fn, name, a)  # raises for the first input that holds a NaN
    if out is not None:
        return out
    total = np.float64(sum(partial))
    if how == "sum":
        return total
    n = int(np.prod(shape)) if mean_over is None else mean_over
    return np.float64(total / n) if n else np.float64(np.nan)


def _grad_scale(how, n):
    """The factor a per-element gradient gets: 1 / n for a mean over n elements, else 1."""
    return 1.0 / n if how == "mean" and n else 1.0


# ---- regression losses --------------------------------------------------------------------------

def _pair(fn, input, target, reduction):
    """Validate the common arguments: ``(input, target, reduction)`` as float64 arrays.

    A NaN in them is caught from the results (see :func:`_blockwise`).
    """
    how = _checks.reduction(fn, reduction)
    x = _checks.as_float(fn, "input", input, allow_nan=True)
    y = _checks.as_float(fn, "target", target, allow_nan=True)
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
    fn = "mse_loss"
    x, y, how = _pair(fn, input, target, reduction)

    def kernel(x, y):
        e = np.subtract(x, y)
        return np.square(e, out=e)

    return _blockwise(fn, kernel, [("input", x), ("target", y)], how)


def mse_loss_grad(input, target, reduction="mean"):
    """Gradient of :func:`mse_loss` w.r.t. ``input``: ``2 (x - y)``, divided by ``n`` for "mean".

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "mse_loss_grad"
    x, y, how = _pair(fn, input, target, reduction)
    scale = 2.0 * _grad_scale(how, x.size)

    def kernel(x, y):
        e = np.subtract(x, y)
        e *= scale
        return e

    return _blockwise(fn, kernel, [("input", x), ("target", y)])


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error, ``l_i = |x_i - y_i|``.

    Shapes: ``input`` and ``target`` equal, any shape. Returns per element for ``"none"``, else a
    scalar. Chapter 3 (regression).
    """
    fn = "l1_loss"
    x, y, how = _pair(fn, input, target, reduction)

    def kernel(x, y):
        e = np.subtract(x, y)
        return np.abs(e, out=e)

    return _blockwise(fn, kernel, [("input", x), ("target", y)], how)


def l1_loss_grad(input, target, reduction="mean"):
    """Gradient of :func:`l1_loss`: ``sign(x - y)`` (/ ``n`` for "mean").

    At the kink ``x = y`` it is 0, the subgradient torch's backward returns. Shapes: like ``input``.
    Chapter 3 (regression).
    """
    fn = "l1_loss_grad"
    x, y, how = _pair(fn, input, target, reduction)
    scale = _grad_scale(how, x.size)

    def kernel(x, y):
        e = np.subtract(x, y)
        np.sign(e, out=e)
        e *= scale
        return e

    return _blockwise(fn, kernel, [("input", x), ("target", y)])


def _huber_of_abs(a, delta):
    """Huber loss of ``a = |e|``, computed in place in ``a``.

    With ``q = min(|e|, delta)``, ``q (|e| - q / 2)`` is ``e^2 / 2`` inside the threshold and
    ``delta (|e| - delta / 2)`` outside, so both branches come from one expression without a mask.
    """
    half_q = np.minimum(a, delta)
    half_q *= 0.5
    a -= half_q
    a *= half_q
    a *= 2.0
    return a


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

    def kernel(x, y):
        e = np.subtract(x, y)
        return _huber_of_abs(np.abs(e, out=e), delta)

    return _blockwise(fn, kernel, [("input", x), ("target", y)], how)


def huber_loss_grad(input, target, delta=1.0, reduction="mean"):
    """Gradient of :func:`huber_loss`: ``clip(x - y, -delta, delta)`` (/ ``n`` for "mean").

    Shapes: like ``input``. Chapter 3 (regression).
    """
    fn = "huber_loss_grad"
    delta, reduction = _threshold_and_reduction(fn, "delta", delta, reduction)
    delta = _checks.positive(fn, "delta", delta)
    x, y, how = _pair(fn, input, target, reduction)
    scale = _grad_scale(how, x.size)

    def kernel(x, y):
        e = np.subtract(x, y)
        np.clip(e, -delta, delta, out=e)
        e *= scale
        return e

    return _blockwise(fn, kernel, [("input", x), ("target", y)])


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

    def kernel(x, y):
        e = np.subtract(x, y)
        a = np.abs(e, out=e)
        if beta == 0:  # 0 / 0 inside a band of width 0: the limit is plain L1, as in torch
            return a
        _huber_of_abs(a, beta)
        a /= beta
        return a

    return _blockwise(fn, kernel, [("input", x), ("target", y)], how)


def smooth_l1_loss_grad(input, target, beta=1.0, reduction="mean"):
    """Gradient of :func:`smooth_l1_loss`: ``clip((x - y) / beta, -1, 1)`` (/ ``n`` for "mean").

    At ``beta = 0`` it is the L1 gradient ``sign(x - y)``. Shapes: like ``input``. Chapter 3.
    """
    fn = "smooth_l1_loss_grad"
    beta, reduction = _threshold_and_reduction(fn, "beta", beta, reduction)
    beta = _checks.positive(fn, "beta", beta, allow_zero=True)
    x, y, how = _pair(fn, input, target, reduction)
    scale = _grad_scale(how, x.size)

    def kernel(x, y):
        e = np.subtract(x, y)
        if beta == 0:
            np.sign(e, out=e)
        else:
            e /= beta
            np.clip(e, -1.0, 1.0, out=e)
        e *= scale
        return e

    return _blockwise(fn, kernel, [("input", x), ("target", y)])
