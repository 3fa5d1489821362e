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

# re-exported: the row-sum tolerance of distributions and the reductions kl_div accepts
KL_REDUCTIONS = _checks.KL_REDUCTIONS
ROW_SUM_TOL = _checks.ROW_SUM_TOL


def _p_log_ratio(p, log_p, log_q):
    """``p (log p - log q)`` elementwise, with ``0 log 0 = 0``: a class that ``p`` never produces
    costs nothing, even where ``log q = -inf`` (the limit of ``p log(p / q)`` as ``p -> 0``)."""
    with np.errstate(invalid="ignore"):  # 0 * inf where p = 0, replaced by the 0 below
        return np.where(p > 0, p * (log_p - log_q), 0.0)


def _kl_denominator(x, reduction):
    """What the reduction divides the summed KL by: the batch, every element, or nothing."""
    if reduction == "batchmean":
        return x.shape[0] if x.ndim else 1
    return x.size if reduction == "mean" else 1


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
    x, t = _checks.kl_div(fn, input, target, reduction, log_target)
    if log_target:
        p, log_p = np.exp(t), t
    else:
        with np.errstate(divide="ignore"):  # log 0 = -inf: 0 log 0 is taken as 0 below
            p, log_p = t, np.log(t)
    loss = _p_log_ratio(p, log_p, x)
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
    x, t = _checks.kl_div(fn, input, target, reduction, log_target)
    p = np.exp(t) if log_target else t
    return -p / _kl_denominator(x, reduction)


# ------------------------------------------------------------------------------------------------
# Entropy and KL(p || q) in the maths order
# ------------------------------------------------------------------------------------------------

def entropy(p):
    """Shannon entropy per row, ``H(p) = -sum_k p_k log p_k`` in nats, with 0 log 0 = 0.

    Shapes: ``p`` (..., K), rows on the last axis summing to 1 -> (...) (a scalar for one row).
    Returns values in ``[0, log K]``. Chapter 8.
    """
    p = _checks.distribution("entropy", "p", p)
    with np.errstate(divide="ignore"):  # log 0 = -inf: 0 log 0 is taken as 0
        log_p = np.log(p)
    # 0.0 - sum (not -sum): a certain outcome gives 0.0, not the -0.0 readers would see printed
    h = 0.0 - _p_log_ratio(p, log_p, 0.0).sum(axis=-1)
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
    p = _checks.distribution(fn, "p", p)
    q = _checks.distribution(fn, "q", q)
    _checks.same_shape(fn, "p", p, "q", q)
    with np.errstate(divide="ignore"):  # log 0 = -inf: 0 log 0 is 0, p log(p / 0) is +inf
        kl = _p_log_ratio(p, np.log(p), np.log(q)).sum(axis=-1)
    return np.float64(kl) if kl.ndim == 0 else kl


# ------------------------------------------------------------------------------------------------
# Knowledge distillation (Hinton et al. 2015)
# ------------------------------------------------------------------------------------------------

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
    s, t, y, T, alpha = _checks.distillation(fn, student_logits, teacher_logits, target, T, alpha)
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
    s, t, y, T, alpha = _checks.distillation(fn, student_logits, teacher_logits, target, T, alpha)
    soft = T * (softmax(s / T) - softmax(t / T)) / s.shape[0]
    if y is None:
        return soft
    return alpha * soft + (1.0 - alpha) * cross_entropy_grad(s, y)
