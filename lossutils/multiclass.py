"""Multi-class cross-entropy and negative log-likelihood, with their gradients (chapter 5).

The class dimension is 1, as in torch: logits ``(N, C)`` or ``(N, C, d1, d2, ...)`` for one
prediction per pixel, and an unbatched ``(C,)`` is accepted too. Targets are class indices of shape
``(N, d1, ...)`` or, for cross-entropy, class probabilities of the input's shape.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _blocks, _checks

__all__ = ["cross_entropy", "cross_entropy_grad", "nll_loss", "nll_loss_grad"]


class _Batch(NamedTuple):
    x: np.ndarray            # input, float64
    axis: int                # the class axis: 1, or 0 for an unbatched (C,) input
    how: str                 # reduction
    w: np.ndarray | None     # class weights shaped to broadcast along ``axis``, or None
    t: np.ndarray | None     # class ids (ignored ones as 0), keepdims at axis; None for probs
    w_y: np.ndarray | None   # weight of each item's class, 0 for ignored items, keepdims at axis
    counted: np.ndarray | None  # False where the target is ignore_index, keepdims at axis
    some_ignored: bool       # whether any item's target is ignore_index
    q: np.ndarray | None     # probability targets, or None for class ids
    eps: float               # label smoothing


def _class_targets(fn, x, axis, target, ignore_index, probs_allowed):
    """Return ``(class ids, counted)`` or ``(None, probabilities)`` after checking shapes and ids.

    ``counted`` is the mask of items whose id is not ``ignore_index`` (ignored ids become 0),
    or None when every id is a class and none can be ignore_index."""
    _checks._reject_tensor(fn, "target", target)
    arr = np.asarray(target)
    n_classes = x.shape[axis]
    if arr.shape == x.shape and arr.dtype.kind == "f" and x.ndim:
        if not probs_allowed:
            _checks.fail(fn, "target", f"has float dtype and the input's shape {x.shape}",
                         "integer class indices", "pass class ids, e.g. target.argmax(axis=1); "
                         "for soft labels use cross_entropy", TypeError)
        q = _checks.as_float(fn, "target", arr)
        if q.size and (q.min() < 0 or q.max() > 1):
            _checks.fail(fn, "target", f"(probabilities) has values in [{q.min():.4g}, "
                         f"{q.max():.4g}]", "class probabilities in [0, 1]",
                         "apply softmax to scores first, or pass integer class ids")
        if ignore_index >= 0:
            _checks.fail(fn, "ignore_index", f"is {ignore_index} with probability targets",
                         "a negative value (no class is ignored)",
                         "drop ignore_index, or give ignored items all-zero target rows")
        return None, q
    expected = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if x.ndim >= 2 and arr.ndim == x.ndim and arr.shape[1] == 1:
        _checks.fail(fn, "target shape", f"is {arr.shape}, a class axis of size 1",
                     f"class indices of shape {expected}",
                     "squeeze with target.reshape(-1) (target.squeeze(1) for spatial targets)")
    t = _checks.as_class_index(fn, "target", arr)
    if t.shape != expected:
        fix = ("integer one-hot rows are not class ids: pass target.argmax(axis=1), or "
               "target.astype(float) as probabilities" if t.shape == x.shape else
               "give one class id per item: input is (N, C, d1, ...) and target (N, d1, ...)")
        _checks.fail(fn, "target shape", f"is {t.shape}",
                     f"{expected} for input of shape {x.shape} (class dim {axis})", fix)
    lo, hi = (t.min(), t.max()) if t.size else (0, -1)
    if 0 <= lo and hi < n_classes and not lo <= ignore_index <= hi:
        return t, None  # every id is a class and none is ignored: no mask to form
    valid = t != ignore_index
    ids = t[valid]
    if ids.size and (ids.min() < 0 or ids.max() >= n_classes):
        _checks.fail(fn, "target", f"has class ids in [{ids.min()}, {ids.max()}]",
                     f"ids in [0, {n_classes - 1}] for {n_classes} classes "
                     f"(or ignore_index={ignore_index})",
                     "check the number of classes in input dim 1; labels 1..C need target - 1")
    return np.where(valid, t, 0), valid


def _batch(fn, input, target, weight, ignore_index, reduction, label_smoothing,
           probs_allowed=True):
    """Validate everything but NaN in the input: :func:`nll_loss` only checks what it reads."""
    how = _checks.reduction(fn, reduction)
    eps = _checks.label_smoothing(fn, label_smoothing)
    _checks.ignore_index(fn, ignore_index)
    x = _checks.as_float(fn, "input", input, allow_nan=True)
    if x.ndim == 0 or x.shape[1 if x.ndim >= 2 else 0] == 0:
        _checks.fail(fn, "input shape", f"is {x.shape}", "(N, C, ...) or (C,) with C >= 1 classes",
                     "pass one score per class along dim 1")
    axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[axis]
    w = None
    if weight is not None:
        w = _checks.as_float(fn, "weight", weight)
        if w.shape != (n_classes,):
            _checks.fail(fn, "weight", f"has shape {w.shape}",
                         f"one weight per class, shape ({n_classes},)",
                         "pass a 1-D array with an entry for every class of input dim 1")
    t, other = _class_targets(fn, x, axis, target, int(ignore_index), probs_allowed)
    w_along = None if w is None else w.reshape(w.shape + (1,) * (x.ndim - axis - 1))
    if t is None:
        return _Batch(x, axis, how, w_along, None, None, None, False, other, eps)
    some_ignored = other is not None
    valid = other if some_ignored else np.ones(t.shape, dtype=bool)
    w_y = valid.astype(np.float64) if w is None else w[t] * valid
    return _Batch(x, axis, how, w_along, _keep(t, axis), _keep(w_y, axis), _keep(valid, axis),
                  some_ignored, None, eps)


def _keep(a, axis):
    """``a`` with a class axis of length 1 inserted at ``axis`` (keepdims layout)."""
    return a.reshape(a.shape[:axis] + (1,) + a.shape[axis:])


def _flat_rows(a, idx):
    """For a C-contiguous (N, C) array: its flat view and the flat positions of ``a[i, idx_i]``.
    One index into the flat view is about 1.5x faster than fancy indexing with two arrays."""
    return a.reshape(-1), np.arange(0, a.size, a.shape[1]) + idx[:, 0]


def _pick(a, idx, axis):
    """``a[i, idx_i, ...]`` for every item, keepdims (``np.take_along_axis``; direct indexing
    for the common (N, C) case, several times faster on small blocks)."""
    if a.ndim == 2 and a.flags.c_contiguous:
        flat, pos = _flat_rows(a, idx)
        return flat[pos][:, None]
    if a.ndim == 2:
        return a[np.arange(a.shape[0]), idx[:, 0]][:, None]
    return np.take_along_axis(a, idx, axis=axis)


def _add_at_picked(a, idx, values, axis):
    """``a[i, idx_i, ...] += values_i`` in place, one entry per item (``values`` keepdims)."""
    if a.ndim == 2 and a.flags.c_contiguous:
        flat, pos = _flat_rows(a, idx)
        flat[pos] += values[:, 0]
    elif a.ndim == 2:
        a[np.arange(a.shape[0]), idx[:, 0]] += values[:, 0]
    else:
        np.put_along_axis(a, idx, np.take_along_axis(a, idx, axis=axis) + values, axis=axis)


def _mean_denominator(b):
    """Class ids: the summed weights of the counted items (the count without weights).
    Probabilities: the number of items N * d1 * ..., whatever the weights."""
    if b.q is not None:
        return b.x.size // b.x.shape[b.axis]
    return float(b.w_y.sum())


def _grad_scale(b):
    """The factor that turns the summed loss's gradient into the reduced loss's."""
    if b.how != "mean":
        return 1.0
    den = _mean_denominator(b)
    if den:
        return 1.0 / den
    # a zero denominator: torch's gradient is 0 when every item is ignored and 0/0 = NaN when the
    # counted items all have class weight 0 (the loss itself is NaN in both cases)
    return 0.0 if b.q is not None or not b.counted.any() else np.nan


def _reduce(loss, b):
    """Reduce the per-item loss (or, for ``"mean"``/``"sum"``, its sum); ``"mean"`` divides by
    :func:`_mean_denominator` (NaN if 0)."""
    if b.how != "mean":
        return _checks.reduce(loss, b.how)
    den = _mean_denominator(b)
    return np.float64(loss.sum() / den) if den else np.float64(np.nan)


def _class_sum(a, axis, w=None):
    """``sum_k w_k a_k`` over the class axis (keepdims) for class weights ``w`` of shape (C,)."""
    if w is None:
        return a.sum(axis=axis, keepdims=True)
    return _keep(np.asarray(np.einsum("c,c->" if axis == 0 else "nc...,c->n...", a, w)), axis)


def _smoothed_targets(b, q):
    """``q (1 - eps) + eps / K``, times the class weights: the coefficients of ``-log p_k``."""
    if b.eps:
        q = q * (1.0 - b.eps)
        q += b.eps / b.x.shape[b.axis]
    return q if b.w is None else q * b.w


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
    ``q' = q (1 - eps) + eps / K``; ``"mean"`` divides by N * d1 * ..., never by a weight sum.
    Computed from ``z = x - max_k x_k``: ``-log p_k = log sum_j exp(z_j) - z_k``, finite for any
    finite logits (such as +-1e4); for class ids, block by block of rows in one reused buffer,
    without forming a ``log_softmax`` array.
    Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,); ``target`` (N,), (N, d1, ...) or () int,
    or float like ``input``; ``weight`` (C,). Returns (N, d1, ...) for ``"none"``, else a scalar.
    Example: logits [2, 1, -1] with true class 1 (the logit 1): -log 0.2595 = 1.349.
    Chapter 5 (multi-class classification).
    """
    fn = "cross_entropy"
    b = _batch(fn, input, target, weight, ignore_index, reduction, label_smoothing)
    axis, eps, n_classes = b.axis, b.eps, b.x.shape[b.axis]
    if b.q is not None:
        z = _shifted_logits(fn, b)
        log_p = z - _log_sum_exp(z, axis)
        loss = -(_smoothed_targets(b, b.q) * log_p).sum(axis=axis, keepdims=True)
        return _reduce(np.squeeze(loss, axis=axis), b)
    # -log p_k = lse - z_k: the target's z_k (and, for smoothing, the class sum of z) are read
    # before the exponential overwrites z, so no log_softmax array is formed
    w = None if b.w is None else b.w.reshape(-1)
    z_y, lse = np.empty(b.t.shape), np.empty(b.t.shape)
    z_sum = np.empty(b.t.shape) if eps else None
    for rows, z in _shifted_blocks(fn, b):
        z_y[rows] = _pick(z, b.t[rows], axis)
        if eps:
            z_sum[rows] = _class_sum(z, axis, w)
        lse[rows] = _log_sum_exp(z, axis, overwrite=True)
    # picking the target's -log p (rather than summing c_k (-log p_k)) keeps a -inf logit of
    # another class out of the sum
    loss = (1.0 - eps) * b.w_y * _zero_ignored(lse - z_y, b)
    if eps:
        w_total = n_classes if w is None else w.sum()  # sum_k w_k (-log p_k) = W lse - sum w_k z_k
        loss += (eps / n_classes) * b.counted * _zero_ignored(w_total * lse - z_sum, b)
    return _reduce(np.squeeze(loss, axis=axis), b)


def _zero_ignored(a, b):
    """``a`` (per item, keepdims) with 0 at the ignored items, which must not enter the loss.

    Their class id was replaced by 0 so that picking stays in range; a -inf logit or log-prob at
    that class (a masked class, or log 0) would otherwise give ``0 * inf = NaN``, where torch,
    which never reads an ignored item, gives 0.
    """
    return np.where(b.counted, a, 0.0) if b.some_ignored else a


def _shifted_logits(fn, b, rows=slice(None), out=None):
    """``z = x - max_k x_k`` along the class axis for ``x = b.x[rows]``, after its NaN check.

    Every exponent is then <= 0 (nothing overflows) and the top class's ``-log p = lse - 0`` is
    exact. A row's maximum is NaN exactly when the row holds a NaN, so it serves as the check.
    """
    x = b.x[rows]
    m = x.max(axis=b.axis, keepdims=True)
    if _checks.has_nan(m):
        _checks.as_float(fn, "input", b.x)  # every logit enters the loss: the standard error
    # a row of -inf (every class masked) shifts to NaN: its loss is then 0 if the item is
    # ignored and NaN if not, both as in torch, so NumPy's warning would only alarm
    with np.errstate(invalid="ignore"):
        return np.subtract(x, m, out=out)


def _shifted_blocks(fn, b):
    """Yield ``(rows, z)`` with ``z`` the shifted logits of ``b.x[rows]``, for blocks of rows
    along axis 0 (the whole input if it is one (C,) row).

    Every block is written into one reused buffer (see :mod:`lossutils._blocks`), so a large
    batch allocates no (N, C, ...) temporary and the shift, exponentials and sums stay in cache.
    """
    x = b.x
    if x.ndim < 2:
        yield slice(None), _shifted_logits(fn, b)
        return
    slices, buffer_shape = _blocks.row_blocks(x.shape)
    buf = np.empty(buffer_shape)
    for rows in slices:
        yield rows, _shifted_logits(fn, b, rows, out=buf[:len(x[rows])])


def _log_sum_exp(z, axis, overwrite=False):
    """``log sum_k exp(z_k)`` of shifted logits (keepdims); ``overwrite`` computes the
    exponentials in ``z``'s own memory, for callers that have read what they need from it."""
    return np.log(np.exp(z, out=z if overwrite else None).sum(axis=axis, keepdims=True))


def cross_entropy_grad(input, target, *, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """Gradient of :func:`cross_entropy` w.r.t. the logits.

    Per item, ``softmax(x) * sum_k c_k - c`` where ``c`` are the target coefficients of ``-log p``:
    ``w_y (softmax(x) - onehot(y))`` without smoothing, ``softmax(x) - q`` for probability targets
    without weights. Then divided by the denominator of the ``"mean"`` loss. Ignored items get 0.
    Shapes: like ``input``. Chapter 5 (multi-class classification).
    """
    fn = "cross_entropy_grad"
    b = _batch(fn, input, target, weight, ignore_index, reduction, label_smoothing)
    axis, eps, n_classes = b.axis, b.eps, b.x.shape[b.axis]
    # softmax exp(z_k) / sum_j exp(z_j), written over the shifted logits z (a fresh array)
    z = _shifted_logits(fn, b)
    p = np.exp(z, out=z)
    p /= p.sum(axis=axis, keepdims=True)
    if b.q is not None:
        c = _smoothed_targets(b, b.q)  # the coefficients w_k q'_k
        return (p * c.sum(axis=axis, keepdims=True) - c) * _grad_scale(b)
    # c = (1 - eps) w_y onehot(y) + (eps / K) w_k for counted items: its two parts are applied
    # apart, so no (N, C) array of coefficients is formed
    w_total = n_classes if b.w is None else b.w.sum()
    sum_c = (1.0 - eps) * b.w_y + (eps / n_classes) * w_total * b.counted  # sum_k c_k
    g = np.multiply(p, sum_c, out=p)  # p sum_k c_k, over p's memory
    if eps:
        g -= (eps / n_classes) * (1.0 if b.w is None else b.w) * b.counted
    _add_at_picked(g, b.t, -(1.0 - eps) * b.w_y, axis)
    g *= _grad_scale(b)
    return g


# ---- negative log-likelihood --------------------------------------------------------------------

def _nll_batch(fn, input, target, weight, ignore_index, reduction):
    """The checked batch and ``input[i, y_i]`` per item (0 for ignored items)."""
    b = _batch(fn, input, target, weight, ignore_index, reduction, 0.0, probs_allowed=False)
    return b, _zero_ignored(_pick(b.x, b.t, b.axis), b)


def _no_nan_read(fn, input, picked):
    """The standard NaN error if an entry the loss reads is NaN: only those N entries are
    checked, so the cost stays O(N), as in torch (ignored items read nothing: 0 in ``picked``)."""
    if _checks.has_nan(picked):
        _checks.as_float(fn, "input", input)


def nll_loss(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class: ``l_i = -w_{y_i} input[i, y_i]``.

    ``input`` holds log-probabilities (``log_softmax`` output); nothing is applied to it, so
    ``nll_loss(log_softmax(x, dim=1), y)`` equals ``cross_entropy(x, y)``. ``ignore_index`` items
    give 0 and are not counted; ``"mean"`` divides by ``sum_i w_{y_i}`` over counted items (NaN if
    none). Only the entries the loss reads are checked for NaN.
    Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,); ``target`` int (N,), (N, d1, ...) or ();
    ``weight`` (C,). Returns (N, d1, ...) for ``"none"``, else a scalar.
    Example: ``nll_loss(np.log([[0.01, 0.99]]), [0])`` = -log 0.01 = 4.605. Chapter 5.
    """
    fn = "nll_loss"
    b, picked = _nll_batch(fn, input, target, weight, ignore_index, reduction)
    if b.how == "none":
        loss = np.squeeze(-b.w_y * picked, axis=b.axis)
    else:  # the weighted sum as one dot product
        loss = _reduce(-np.vdot(b.w_y, picked), b)
    if _checks.has_nan(loss):  # a NaN read, or 0 / 0 (every item ignored)
        _no_nan_read(fn, input, picked)
    return loss


def nll_loss_grad(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of :func:`nll_loss` w.r.t. ``input``: ``-w_{y_i}`` at the target entry of each
    counted item (divided by the ``"mean"`` denominator), 0 everywhere else.

    Shapes: like ``input``. Chapter 5 (multi-class classification).
    """
    fn = "nll_loss_grad"
    b, picked = _nll_batch(fn, input, target, weight, ignore_index, reduction)
    _no_nan_read(fn, input, picked)  # the gradient does not depend on the entries: look now
    g = np.zeros(b.x.shape)
    _add_at_picked(g, b.t, -_grad_scale(b) * b.w_y, b.axis)
    return g
