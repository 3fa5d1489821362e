"""Entropy, KL divergence and distillation (chapter 8).

Two argument orders live here, on purpose. ``kl_div(input, target)`` follows
``torch.nn.functional.kl_div``: the model's log-probabilities first, the data distribution second,
and it computes KL(target || exp(input)). ``kl_divergence(p, q)`` follows the maths: KL(p || q) with
the distributions themselves, in that order. Everything is in nats (natural logarithms).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _checks
from .activations import log_softmax, softmax
from .multiclass import cross_entropy, cross_entropy_grad

__all__ = [
    "kl_div", "kl_div_grad", "entropy", "kl_divergence", "distillation_loss",
    "distillation_loss_grad",
]

KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")
ROW_SUM_TOL = 1e-6


# ------------------------------------------------------------------------------------------------
# torch's kl_div: model log-probabilities first
# ------------------------------------------------------------------------------------------------

def _kl_div_args(fn, input, target, reduction, log_target):
    x = _checks.as_float(fn, "input", input)
    t = _checks.as_float(fn, "target", target)
    _checks.same_shape(fn, "input", x, "target", t)
    _checks.reduction(fn, reduction, KL_REDUCTIONS)
    if not log_target and t.size and t.min() < 0:
        _checks.fail(fn, "target", f"has a negative value ({t.min():.4g})", "probabilities (>= 0)",
                     "if target holds log-probabilities pass log_target=True; otherwise "
                     "normalise it with softmax or t / t.sum(-1, keepdims=True)")
    return x, t


def _kl_denominator(x: np.ndarray, reduction: str) -> int:
    if reduction == "batchmean":
        return x.shape[0] if x.ndim else 1
    if reduction == "mean":
        return x.size
    return 1


def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, torch's ``F.kl_div`` (chapter 8).

    ``input`` holds the model's log-probabilities ``log q`` (use ``log_softmax``), ``target`` the
    data distribution ``p``::

        l = p * (log p - log q)          (log_target=False; 0 log 0 := 0)
        l = exp(t) * (t - log q)         (log_target=True, t = log p)

    Terms with ``p = 0`` are exactly 0, even where ``log q = -inf``. (torch 2.13 returns NaN in
    that ``0 * inf`` corner, and for a ``-inf`` log-target; both are 0 here, the limit of
    ``p log(p / q)`` as ``p -> 0``. Everywhere else the values are torch's.) Where ``p > 0`` and
    ``log q = -inf`` the term is ``+inf``.

    Reductions: ``'batchmean'`` = sum / ``input.shape[0]``, the KL divergence per sample, which
    is what the maths means; ``'mean'`` = sum / number of elements (so also divided by the number
    of classes): torch's default, kept for parity, and it warns. ``'sum'``, ``'none'`` as usual.

    Shapes: ``input``, ``target`` any, equal -> scalar, or the input's shape for ``'none'``.
    A negative ``target`` is rejected (with ``log_target=False`` it cannot be a probability; the
    usual cause is log-probabilities passed without ``log_target=True``). Passing probabilities
    as ``input`` is not an error here: ``lossutils.diagnose`` flags it.
    """
    fn = "kl_div"
    x, t = _kl_div_args(fn, input, target, reduction, log_target)
    diff = np.zeros(x.shape)
    if log_target:
        p = np.exp(t)
        # p == 0 (t = -inf or underflow) contributes 0; masking keeps 0 * inf out of the sum
        np.subtract(t, x, out=diff, where=p > 0)
    else:
        p = t
        positive = t > 0
        log_p = np.log(t, out=np.zeros_like(t), where=positive)
        np.subtract(log_p, x, out=diff, where=positive)
    loss = p * diff
    if reduction == "mean":
        warnings.warn("lossutils.kl_div: reduction='mean' divides by the number of elements, not "
                      "the batch size; use reduction='batchmean' for the KL divergence per sample",
                      UserWarning, stacklevel=2)
    if reduction == "none":
        return loss
    return np.float64(loss.sum() / _kl_denominator(x, reduction))


def kl_div_grad(input, target, *, reduction="mean", log_target=False):
    """Gradient of ``kl_div`` w.r.t. ``input``: ``-p`` divided as the reduction divides.

    ``p = target`` (or ``exp(target)`` with ``log_target=True``). For ``'none'`` it is the gradient
    of the sum. Shapes: same as ``input``. Chapter 8.
    """
    fn = "kl_div_grad"
    x, t = _kl_div_args(fn, input, target, reduction, log_target)
    p = np.exp(t) if log_target else t
    return -p / _kl_denominator(x, reduction)


# ------------------------------------------------------------------------------------------------
# Entropy and KL(p || q) in the maths order
# ------------------------------------------------------------------------------------------------

def _distribution(fn: str, arg: str, x) -> np.ndarray:
    """Rows (last axis) must be probability vectors: entries in [0, 1], sum 1 within 1e-6."""
    p = _checks.as_float(fn, arg, x)
    if p.ndim == 0:
        _checks.fail(fn, arg, "is a scalar", "a distribution along the last axis, shape (..., K)",
                     "pass the whole probability vector, e.g. [p, 1 - p] for a coin")
    if p.size and (p.min() < 0 or p.max() > 1):
        _checks.fail(fn, arg, f"has values in [{p.min():.4g}, {p.max():.4g}]",
                     "probabilities in [0, 1]",
                     "if these are logits or scores, apply lossutils.softmax first")
    if p.size:
        err = np.abs(p.sum(axis=-1) - 1.0)
        if err.max() > ROW_SUM_TOL:
            where = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
            _checks.fail(fn, arg, f"has a row summing to {p.sum(axis=-1)[where]:.6g} "
                         f"(row {where})", f"rows (last axis) that sum to 1 within {ROW_SUM_TOL}",
                         "normalise with p / p.sum(axis=-1, keepdims=True), or softmax if "
                         "these are logits")
    return p


def _xlogx_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p log(p / q)`` elementwise with 0 log 0 = 0 and +inf where p > 0 = q."""
    out = np.zeros(np.broadcast_shapes(p.shape, q.shape))
    positive = p > 0
    log_p = np.log(p, out=np.zeros_like(p), where=positive)
    log_q = np.full_like(q, -np.inf)
    np.log(q, out=log_q, where=q > 0)
    np.multiply(p, log_p - log_q, out=out, where=positive)
    return out


def entropy(p):
    """Shannon entropy per row, ``H(p) = -sum_k p_k log p_k`` in nats, with 0 log 0 = 0.

    Shapes: ``p`` (..., K), rows on the last axis summing to 1 -> (...) (a scalar for one row).
    Returns values in ``[0, log K]``. Chapter 8.
    """
    p = _distribution("entropy", "p", p)
    # 0.0 - sum (not -sum): a certain outcome gives 0.0, not the -0.0 readers would see printed.
    h = 0.0 - _xlogx_ratio(p, np.ones_like(p)).sum(axis=-1)
    return np.float64(h) if h.ndim == 0 else h


def kl_divergence(p, q):
    """KL(p || q) per row in the maths order: ``sum_k p_k log(p_k / q_k)``, in nats.

    Conventions: ``0 log(0 / q) = 0`` (a class that ``p`` never produces costs nothing), and a
    class with ``p_k > 0 = q_k`` makes the divergence ``+inf`` (``q`` calls an event impossible
    that happens). ``KL >= 0``, ``= 0`` iff ``p == q``, and it is not symmetric.
    ``kl_divergence(p, q)`` equals ``kl_div(log(q), p, reduction='none').sum(-1)``.

    Shapes: ``p``, ``q`` (..., K), equal, rows summing to 1 -> (...) (a scalar for one row).
    Chapter 8.
    """
    fn = "kl_divergence"
    p = _distribution(fn, "p", p)
    q = _distribution(fn, "q", q)
    _checks.same_shape(fn, "p", p, "q", q)
    kl = _xlogx_ratio(p, q).sum(axis=-1)
    return np.float64(kl) if kl.ndim == 0 else kl


# ------------------------------------------------------------------------------------------------
# Knowledge distillation (Hinton et al. 2015)
# ------------------------------------------------------------------------------------------------

def _distillation_args(fn, student_logits, teacher_logits, target, T, alpha):
    s = _checks.as_float(fn, "student_logits", student_logits)
    t = _checks.as_float(fn, "teacher_logits", teacher_logits)
    if s.ndim != 2:
        _checks.fail(fn, "student_logits", f"has shape {s.shape}", "logits of shape (N, C)",
                     "put the batch first and the classes last; one sample is x.reshape(1, -1)")
    _checks.same_shape(fn, "student_logits", s, "teacher_logits", t)
    T = _checks.positive(fn, "T", T)
    alpha = _checks.positive(fn, "alpha", alpha, allow_zero=True)
    if alpha > 1:
        _checks.fail(fn, "alpha", f"is {alpha!r}", "a weight in [0, 1]",
                     "alpha weights the soft term and 1 - alpha the hard one; e.g. alpha=0.9")
    with np.errstate(over="ignore"):
        overflow = not (np.isfinite(s / T).all() and np.isfinite(t / T).all())
    if overflow:
        _checks.fail(fn, "T", f"is {T!r}, which overflows logits / T", "a temperature that "
                     "keeps logits / T finite", "use a temperature of order 1 to 20")
    y = None
    if target is not None:
        y = _checks.as_class_index(fn, "target", target)
        if y.shape != s.shape[:1]:
            _checks.fail(fn, "target shape", f"is {y.shape}", f"({s.shape[0]},), one class id "
                         "per row", "pass class indices; an (N, 1) target is fixed with "
                         ".reshape(-1)")
        if y.size and (y.min() < 0 or y.max() >= s.shape[1]):
            _checks.fail(fn, "target", f"has class ids in [{y.min()}, {y.max()}]",
                         f"ids in [0, {s.shape[1] - 1}]", "check the label encoding")
    return s, t, y, T, alpha


def distillation_loss(student_logits, teacher_logits, target=None, *, T=4.0, alpha=0.9):
    """Knowledge-distillation loss of Hinton et al. 2015 (chapter 8).

    Soft term, the teacher's softened distribution as the target::

        soft = T^2 * batchmean KL( softmax(teacher / T) || softmax(student / T) )

    The ``T^2`` keeps the soft term's gradients the same size as ``T`` changes (they shrink as
    ``1 / T^2`` otherwise). The KL form differs from the cross-entropy form of the paper by
    ``T^2 * H(teacher)``, a constant in the student: same gradients, and 0 when the student
    matches the teacher.

    With ``target`` (class ids), the hard cross-entropy at ``T = 1`` joins with weight
    ``1 - alpha``; the convention here is that ``alpha`` weights the soft term::

        loss = alpha * soft + (1 - alpha) * cross_entropy(student_logits, target)

    Without ``target`` the loss is the soft term alone and ``alpha`` is unused.
    Both log-softmaxes are computed stably, so logits of +-1e4 are fine.

    Shapes: ``student_logits``, ``teacher_logits`` (N, C); ``target`` (N,) ints -> scalar.
    """
    fn = "distillation_loss"
    s, t, y, T, alpha = _distillation_args(fn, student_logits, teacher_logits, target, T, alpha)
    soft = T * T * kl_div(log_softmax(s / T), log_softmax(t / T), reduction="batchmean",
                          log_target=True)
    if y is None:
        return np.float64(soft)
    return np.float64(alpha * soft + (1.0 - alpha) * cross_entropy(s, y))


def distillation_loss_grad(student_logits, teacher_logits, target=None, *, T=4.0, alpha=0.9):
    """Gradient of ``distillation_loss`` w.r.t. ``student_logits``.

    ``d soft / d s = T * (softmax(s / T) - softmax(t / T)) / N``: one ``1 / T`` from the chain
    rule through ``s / T`` against the ``T^2``. The hard term adds
    ``(1 - alpha) * (softmax(s) - onehot(y)) / N``. Shapes: (N, C). Chapter 8.
    """
    fn = "distillation_loss_grad"
    s, t, y, T, alpha = _distillation_args(fn, student_logits, teacher_logits, target, T, alpha)
    soft = T * (softmax(s / T) - softmax(t / T)) / s.shape[0]
    if y is None:
        return soft
    return alpha * soft + (1.0 - alpha) * cross_entropy_grad(s, y)
