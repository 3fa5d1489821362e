"""The course's losses for tensors, for training code: ``from lossutils import torch as L``.

The same names, argument order, defaults, checks and errors as the NumPy flavour
(``lossutils.<name>``): the argument checks are the NumPy flavour's own (``lossutils._checks``),
run on NumPy views of the tensors. Then each loss is torch's own functional loss where torch has
one (``F.mse_loss``, ``F.cross_entropy``, ``F.triplet_margin_loss``, ...), so autograd runs
torch's kernels; the losses torch lacks (the focal loss, entropy and KL in the maths order,
distillation, distances, semi-hard mining and its triplet loss, NT-Xent, the contrastive loss) are
their formulas in tensor operations.

Values equal the NumPy flavour's and autograd's gradients its ``<name>_grad``, to float64
precision, with two documented exceptions where torch's built-in differs: ``kl_div`` is NaN
(torch) rather than 0 where a zero target meets ``log q = -inf``, and BCE on logits rounds losses
below about 1e-16 of the logit (torch's ``(1 - y) x - log sigmoid(x)`` cancels; the NumPy flavour
adds two non-negative terms). As in torch, ``pos_weight`` and class weights take no gradient. At
a hinge's kink both flavours return torch's subgradient, the slope of the active side (see
``lossutils.margin``).

Tensors keep their dtype and device; anything else (lists, NumPy arrays) becomes a float64 CPU
tensor.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from .metric_learning import NORMALIZE_EPS, distance_frame, near_pairs
from .metric_learning import mine_semihard_triplets as _mine_numpy

__all__ = [
    # activations (chapters 4 and 5)
    "sigmoid", "softplus", "log_sigmoid", "logsumexp", "log_softmax", "softmax",
    "label_smoothing_targets",
    # regression (chapter 3)
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
    # binary, multi-label, focal (chapters 4 and 7)
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multilabel_soft_margin_loss",
    "sigmoid_focal_loss",
    # multi-class (chapter 5)
    "cross_entropy", "nll_loss",
    # divergences and distillation (chapter 8)
    "kl_div", "entropy", "kl_divergence", "distillation_loss",
    # margin and ranking (chapter 9)
    "hinge_embedding_loss", "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss",
    # metric learning (chapter 10)
    "pairwise_distances", "mine_semihard_triplets", "triplet_semihard_loss", "nt_xent_loss",
    "contrastive_loss",
]


# ----------------------------------------------------------------------------------------------
# From arguments to the checks, and to the tensors the losses compute with
# ----------------------------------------------------------------------------------------------

def _views(fn, **arguments):
    """The arguments as the checks read them: tensors as NumPy arrays (a view of a CPU tensor,
    else a copy), anything else as it is. Tensor arguments must share the first one's device,
    which the copies would hide."""
    tensors = [(name, a) for name, a in arguments.items() if isinstance(a, torch.Tensor)]
    for name, t in tensors[1:]:
        first, device = tensors[0][0], tensors[0][1].device
        if t.device != device:
            _checks.fail(fn, name, f"is on device {t.device}", f"the device of {first}, {device}",
                         f"move it with .to({str(device)!r})")
    return [_view(a) for a in arguments.values()]


def _view(a):
    if not isinstance(a, torch.Tensor):
        return a
    a = a.detach().cpu()
    return (a.float() if a.dtype == torch.bfloat16 else a).numpy()  # NumPy has no bfloat16


def _floats(*arguments):
    """Float tensors to compute with, once the checks passed: a tensor argument itself (autograd
    follows it), anything else as a new tensor; all in the dtype and on the device of the first
    tensor argument (float64 if that is not floating-point, and on the CPU if there is none).
    ``None`` (an absent weight) stays ``None``."""
    tensors = [a for a in arguments if isinstance(a, torch.Tensor)]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = tensors[0].dtype if tensors and tensors[0].is_floating_point() else torch.float64
    out = []
    for a in arguments:
        if a is not None and not isinstance(a, torch.Tensor):
            a = torch.tensor(np.asarray(a, dtype=np.float64))
        out.append(None if a is None else a.to(device=device, dtype=dtype))
    return out


def _ids(target, device):
    """Class ids as an int64 tensor on ``device`` (their values were checked already)."""
    return torch.as_tensor(np.asarray(target) if not isinstance(target, torch.Tensor) else target,
                           device=device).long()


def _scalar(value):
    """Hyper-parameters may arrive as one-element tensors; the checks want plain numbers."""
    return value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value


def _reduce(loss, reduction):
    """``'none' | 'mean' | 'sum'`` of an unreduced loss (the mean of nothing is NaN)."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# ----------------------------------------------------------------------------------------------
# Activations (chapters 4 and 5)
# ----------------------------------------------------------------------------------------------

def _one_input(fn, input):
    _checks.as_float(fn, "input", *_views(fn, input=input))
    return _floats(input)[0]


def sigmoid(input):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise (chapter 4). Shapes: any -> same."""
    return torch.sigmoid(_one_input("sigmoid", input))


def softplus(input):
    """``softplus(x) = log(1 + exp(x)) = -log sigmoid(-x)``, elementwise (chapter 4).

    Written with ``F.logsigmoid``, which is accurate in float64 for every x; ``F.softplus`` returns
    x itself above its threshold 20, 8e-10 off at x = 21. Shapes: any -> same.
    """
    return -F.logsigmoid(-_one_input("softplus", input))


def log_sigmoid(input):
    """``log sigmoid(x) = -softplus(-x)``, elementwise, finite for any finite x (chapter 4).

    Shapes: any -> same.
    """
    return F.logsigmoid(_one_input("log_sigmoid", input))


def logsumexp(input, *, dim=-1, keepdim=False):
    """``log sum_k exp(x_k)`` along ``dim``, shifted by the maximum (chapter 5).

    Shapes: any -> ``dim`` removed (kept with size 1 if ``keepdim``).
    """
    return torch.logsumexp(_one_input("logsumexp", input), dim=dim, keepdim=keepdim)


def log_softmax(input, *, dim=-1):
    """``x_k - logsumexp(x)`` along ``dim`` (chapter 5). Shapes: any -> same."""
    return torch.log_softmax(_one_input("log_softmax", input), dim=dim)


def softmax(input, *, dim=-1):
    """``exp(x_k) / sum_j exp(x_j)`` along ``dim``, via the max shift (chapter 5).

    Shapes: any -> same, summing to 1 along ``dim``.
    """
    return torch.softmax(_one_input("softmax", input), dim=dim)


def label_smoothing_targets(target, num_classes, *, label_smoothing=0.1):
    """Smoothed targets ``q = (1 - eps) onehot(y) + eps / K`` (Szegedy et al. 2016), chapter 5.

    ``eps / K`` goes to every class, the true one included. Shapes: ``target`` (N,) ints ->
    (N, K) float64, on the target's device.
    """
    fn = "label_smoothing_targets"
    y, k, eps = _checks.smoothing_targets(fn, *_views(fn, target=target), num_classes,
                                          _scalar(label_smoothing))
    device = target.device if isinstance(target, torch.Tensor) else None
    onehot = F.one_hot(_ids(target, device), k).to(torch.float64)
    return (1.0 - eps) * onehot + eps / k


# ----------------------------------------------------------------------------------------------
# Regression (chapter 3): torch's functional losses
# ----------------------------------------------------------------------------------------------

def _regression(fn, input, target, reduction):
    _checks.reduction(fn, reduction)
    _checks.pair(fn, *_views(fn, input=input, target=target))
    return _floats(input, target)


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error ``(x - y)^2``, then reduced: ``F.mse_loss`` (chapter 3).

    Shapes: ``input``, ``target`` equal, any -> scalar, or the input's shape for ``'none'``.
    Example: ``mse_loss([2.5, 3, 5], [1, 3, 4])`` = 1.0833.
    """
    x, y = _regression("mse_loss", input, target, reduction)
    return F.mse_loss(x, y, reduction=reduction)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error ``|x - y|``: ``F.l1_loss`` (chapter 3); its gradient at ``x = y`` is 0.

    Shapes as :func:`mse_loss`.
    """
    x, y = _regression("l1_loss", input, target, reduction)
    return F.l1_loss(x, y, reduction=reduction)


def huber_loss(input, target, *, delta=1.0, reduction="mean"):
    """Huber loss ``0.5 e^2`` if ``|e| < delta`` else ``delta (|e| - 0.5 delta)``, ``e = x - y``:
    ``F.huber_loss`` (chapter 3). ``delta <= 0`` is rejected. Shapes as :func:`mse_loss`."""
    fn = "huber_loss"
    delta = _checks.positive(fn, "delta", _scalar(delta))
    x, y = _regression(fn, input, target, reduction)
    return F.huber_loss(x, y, reduction=reduction, delta=delta)


def smooth_l1_loss(input, target, *, beta=1.0, reduction="mean"):
    """Smooth L1 ``0.5 e^2 / beta`` if ``|e| < beta`` else ``|e| - 0.5 beta``: ``F.smooth_l1_loss``
    (chapter 3). ``beta = 0`` is the L1 loss; ``beta < 0`` is rejected. Shapes as
    :func:`mse_loss`."""
    fn = "smooth_l1_loss"
    beta = _checks.positive(fn, "beta", _scalar(beta), allow_zero=True)
    x, y = _regression(fn, input, target, reduction)
    return F.smooth_l1_loss(x, y, reduction=reduction, beta=beta)


# ----------------------------------------------------------------------------------------------
# Binary, multi-label and focal losses (chapters 4 and 7)
# ----------------------------------------------------------------------------------------------

def _binary(fn, input, target, weight, pos_weight, reduction, probabilities_in=False):
    views = _views(fn, input=input, target=target, weight=weight, pos_weight=pos_weight)
    x, _ = _checks.binary(fn, views[0], views[1], reduction, probabilities_in=probabilities_in)
    _checks.binary_weights(fn, x.shape, views[2], views[3])
    return _floats(input, target, weight, pos_weight)


def binary_cross_entropy(input, target, *, weight=None, reduction="mean"):
    """BCE on probabilities, ``-w [y log p + (1 - y) log(1 - p)]`` with each log clamped at
    -100: ``F.binary_cross_entropy`` (chapter 4).

    ``p`` of 0 or 1 costs at most 100 and has a large finite slope. ``weight`` broadcasts to the
    input; ``'mean'`` divides by the number of elements whatever the weights. Shapes: ``input``,
    ``target`` equal, any -> scalar, or the input's shape for ``'none'``.
    """
    p, y, w, _ = _binary("binary_cross_entropy", input, target, weight, None, reduction,
                         probabilities_in=True)
    return F.binary_cross_entropy(p, y, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits, ``-w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``:
    ``F.binary_cross_entropy_with_logits`` (chapter 4).

    ``weight`` scales whole terms and broadcasts to the input; ``pos_weight`` (one per class, last
    dim) scales only the positive term and, as in torch, takes no gradient. ``'mean'`` divides by
    the number of elements. torch's kernel forms ``(1 - y) x - pw y log sigmoid(x) ...``, whose
    losses below about 1e-16 |x| round (to 0 for ``y = 0, x = -40``). Shapes as
    :func:`binary_cross_entropy`.
    """
    x, y, w, pw = _binary("binary_cross_entropy_with_logits", input, target, weight, pos_weight,
                          reduction)
    return F.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction, pos_weight=pw)


def multilabel_soft_margin_loss(input, target, *, weight=None, reduction="mean"):
    """Multi-label loss, per sample ``(1/C) sum_c w_c BCEWithLogits(x_c, y_c)``:
    ``F.multilabel_soft_margin_loss`` (chapter 4).

    Shapes: ``input``, ``target`` (N, C) or (C,); ``weight`` broadcasts (typically (C,)) ->
    scalar, or (N,) for ``'none'``.
    """
    fn = "multilabel_soft_margin_loss"
    x, y, w, _ = _binary(fn, input, target, weight, None, reduction)
    if x.dim() == 0:
        _checks.fail(fn, "input", "is a scalar", "shape (C,) or (N, C)",
                     "for a single binary output use binary_cross_entropy_with_logits")
    return F.multilabel_soft_margin_loss(x, y, weight=w, reduction=reduction)


def sigmoid_focal_loss(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    """Sigmoid focal loss ``alpha_t (1 - p_t)^gamma BCEWithLogits(x, y)`` (Lin et al. 2017), as
    ``torchvision.ops.sigmoid_focal_loss``; torch has no built-in, so here is the formula.

    ``p = sigmoid(x)``, ``p_t = p y + (1 - p)(1 - y)``, ``alpha_t = alpha y + (1 - alpha)(1 - y)``:
    alpha weights the positives; ``alpha=None`` or -1 switches the weighting off, and with it off
    ``gamma = 0`` is plain BCE with logits. Default reduction ``'none'``, as torchvision.
    Shapes: ``inputs``, ``targets`` any, equal. Chapter 7.
    """
    fn = "sigmoid_focal_loss"
    views = _views(fn, inputs=inputs, targets=targets)
    _checks.binary(fn, *views, reduction, names=("inputs", "targets"))
    gamma = _checks.positive(fn, "gamma", _scalar(gamma), allow_zero=True)
    alpha = _checks.focal_alpha(fn, _scalar(alpha))
    x, y = _floats(inputs, targets)
    # 1 - p_t from sigmoid(-x) = 1 - p, and the BCE from log sigmoid: both keep their digits when
    # tiny (torchvision's 1 - p_t by subtraction, and F's BCE kernel, round those to 0)
    one_minus_pt = y * torch.sigmoid(-x) + (1.0 - y) * torch.sigmoid(x)
    bce = -(y * F.logsigmoid(x) + (1.0 - y) * F.logsigmoid(-x))
    loss = one_minus_pt**gamma * bce
    if alpha is not None:
        loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------------------------
# Multi-class cross-entropy and NLL (chapter 5)
# ----------------------------------------------------------------------------------------------

def cross_entropy(input, target, *, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits, class dim 1: ``F.cross_entropy`` (chapter 5).

    Class ids: ``l_i = (1 - eps) w_{y_i} (-log p_{i y_i}) + (eps / K) sum_k w_k (-log p_ik)``,
    ``log p = log_softmax(x, dim=1)``; items whose target is ``ignore_index`` give 0 and are not
    counted; ``'mean'`` divides by ``sum_i w_{y_i}`` over counted items. Probability targets ``q``
    (float, the input's shape): ``l_i = -sum_k w_k q'_ik log p_ik``, ``q' = (1 - eps) q + eps / K``,
    ``'mean'`` divides by N * d1 * ... . Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,);
    ``target`` (N,), (N, d1, ...) or () ints, or the input's shape; ``weight`` (C,) -> scalar, or
    (N, d1, ...) for ``'none'``.
    """
    fn = "cross_entropy"
    views = _views(fn, input=input, target=target, weight=weight)
    b = _checks.class_batch(fn, views[0], views[1], views[2], ignore_index, reduction,
                            _scalar(label_smoothing))
    x, w = _floats(input, weight)
    y = _floats(target)[0].to(x) if b.q is not None else _ids(target, x.device)
    return F.cross_entropy(x, y, weight=w, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=b.eps)


def nll_loss(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class, ``l_i = -w_{y_i} input[i, y_i]``:
    ``F.nll_loss`` (chapter 5).

    ``input`` holds log-probabilities, so ``nll_loss(log_softmax(x, dim=1), y)`` is
    ``cross_entropy(x, y)``. Ignored items give 0 and are not counted; ``'mean'`` divides by
    ``sum_i w_{y_i}`` over counted items. Only the entries the loss reads are checked for NaN.
    Shapes as :func:`cross_entropy` with class ids.
    """
    fn = "nll_loss"
    views = _views(fn, input=input, target=target, weight=weight)
    b = _checks.class_batch(fn, views[0], views[1], views[2], ignore_index, reduction)
    _checks.nll_entries(fn, b)
    x, w = _floats(input, weight)
    return F.nll_loss(x, _ids(target, x.device), weight=w, ignore_index=ignore_index,
                      reduction=reduction)


# ----------------------------------------------------------------------------------------------
# Entropy, KL divergence and distillation (chapter 8)
# ----------------------------------------------------------------------------------------------

def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, the model's log-probabilities first: ``F.kl_div``
    (chapter 8).

    ``l = p (log p - log q)`` with ``p = target``, ``log q = input`` (``log_target=True``:
    ``l = exp(t) (t - log q)``). ``'batchmean'`` divides the sum by ``input.shape[0]``, the KL per
    sample; ``'mean'`` divides by the number of elements, and torch warns. torch's kernel gives
    NaN where ``p = 0`` meets ``log q = -inf`` (the NumPy flavour gives the limit, 0). Shapes:
    equal, any -> scalar, or the input's shape for ``'none'``.
    """
    fn = "kl_div"
    _checks.kl_div(fn, *_views(fn, input=input, target=target), reduction, log_target)
    x, t = _floats(input, target)
    return F.kl_div(x, t, reduction=reduction, log_target=log_target)


def _log_where_positive(positive, p):
    """``log p`` where ``positive``, 0 elsewhere: there ``0 log 0`` is 0, and so is its slope
    (``log`` of a masked 0 would give ``0 * inf = NaN`` in both the value and the backward)."""
    return torch.log(torch.where(positive, p, 1.0))


def entropy(p):
    """Shannon entropy per row, ``H(p) = -sum_k p_k log p_k`` in nats, with 0 log 0 = 0
    (chapter 8); torch has no functional version. Shapes: ``p`` (..., K), rows summing to 1 ->
    (...)."""
    fn = "entropy"
    _checks.distribution(fn, "p", *_views(fn, p=p))
    (p,) = _floats(p)
    return -(p * _log_where_positive(p > 0, p)).sum(dim=-1)


def kl_divergence(p, q):
    """KL(p || q) per row in the maths order, ``sum_k p_k log(p_k / q_k)``, in nats (chapter 8).

    ``0 log(0 / q) = 0``; a class with ``p_k > 0 = q_k`` makes it ``+inf``. Equal to
    ``kl_div(log(q), p, reduction='none').sum(-1)``. Shapes: ``p``, ``q`` (..., K), equal, rows
    summing to 1 -> (...).
    """
    fn = "kl_divergence"
    p_view, q_view = _views(fn, p=p, q=q)
    p_arr = _checks.distribution(fn, "p", p_view)
    _checks.same_shape(fn, "p", p_arr, "q", _checks.distribution(fn, "q", q_view))
    p, q = _floats(p, q)
    produced = p > 0  # the classes p never produces cost 0, whatever q says about them
    return (p * (_log_where_positive(produced, p) - _log_where_positive(produced, q))).sum(-1)


def distillation_loss(student_logits, teacher_logits, target=None, *, T=4.0, alpha=0.9):
    """Knowledge distillation (Hinton et al. 2015), from ``F.kl_div`` and ``F.cross_entropy``
    (chapter 8).

    ``soft = T^2 batchmean KL(softmax(teacher / T) || softmax(student / T))``; the ``T^2`` keeps
    the soft gradients' size independent of T. With ``target`` (class ids), the hard
    cross-entropy at T = 1 joins: ``alpha * soft + (1 - alpha) * cross_entropy(student, target)``;
    without it the loss is ``soft`` alone. Shapes: logits (N, C), ``target`` (N,) -> scalar.
    """
    fn = "distillation_loss"
    views = _views(fn, student_logits=student_logits, teacher_logits=teacher_logits,
                   target=target)
    _, _, y, T, alpha = _checks.distillation(fn, *views, _scalar(T), _scalar(alpha))
    s, t = _floats(student_logits, teacher_logits)
    soft = T * T * F.kl_div(torch.log_softmax(s / T, dim=1), torch.log_softmax(t / T, dim=1),
                            reduction="batchmean", log_target=True)
    if y is None:
        return soft
    return alpha * soft + (1.0 - alpha) * F.cross_entropy(s, _ids(target, s.device))


# ----------------------------------------------------------------------------------------------
# Margin and ranking losses (chapter 9): torch's functional losses
# ----------------------------------------------------------------------------------------------

def hinge_embedding_loss(input, target, *, margin=1.0, reduction="mean"):
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1``: ``F.hinge_embedding_loss``
    (chapter 9). Shapes: ``input``, ``target`` equal, labels in {-1, 1} -> scalar or the input's
    shape."""
    fn = "hinge_embedding_loss"
    _, _, m = _checks.hinge_embedding(fn, *_views(fn, input=input, target=target),
                                      _scalar(margin), reduction)
    x, y = _floats(input, target)
    return F.hinge_embedding_loss(x, y, margin=m, reduction=reduction)


def margin_ranking_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Ranking hinge ``max(0, margin - y (x1 - x2))``: ``F.margin_ranking_loss`` (chapter 9).

    A tie costs ``margin``; no broadcasting. Shapes: (N,) or () each -> scalar or (N,).
    """
    fn = "margin_ranking_loss"
    views = _views(fn, input1=input1, input2=input2, target=target)
    *_, m = _checks.margin_ranking(fn, *views, _scalar(margin), reduction)
    x1, x2, y = _floats(input1, input2, target)
    return F.margin_ranking_loss(x1, x2, y, margin=m, reduction=reduction)


def cosine_embedding_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """``1 - cos(a, b)`` if ``y = 1``, ``max(0, cos(a, b) - margin)`` if -1:
    ``F.cosine_embedding_loss`` (chapter 9).

    ``cos = <a, b> / sqrt((|a|^2 + 1e-12)(|b|^2 + 1e-12))``, so a zero vector has cosine 0.
    Shapes: ``input1``, ``input2`` (N, D) or (D,); ``target`` (N,) or () in {-1, 1} -> scalar or
    (N,).
    """
    fn = "cosine_embedding_loss"
    views = _views(fn, input1=input1, input2=input2, target=target)
    *_, m = _checks.cosine_embedding(fn, *views, _scalar(margin), reduction)
    a, b, y = _floats(input1, input2, target)
    return F.cosine_embedding_loss(a, b, y, margin=m, reduction=reduction)


def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d(u, v) = ||u - v + eps||_p``:
    ``F.triplet_margin_loss`` (chapter 9).

    Plain (not squared) distances; ``swap=True`` uses ``min(d(a, n), d(p, n))``. ``margin <= 0`` is
    rejected. Shapes: (N, D) or (D,) each -> scalar or (N,).
    """
    fn = "triplet_margin_loss"
    views = _views(fn, anchor=anchor, positive=positive, negative=negative)
    *_, m, p, eps = _checks.triplet(fn, *views, _scalar(margin), _scalar(p), _scalar(eps),
                                    reduction)
    a, pos, neg = _floats(anchor, positive, negative)
    return F.triplet_margin_loss(a, pos, neg, margin=m, p=p, eps=eps, swap=swap,
                                 reduction=reduction)


# ----------------------------------------------------------------------------------------------
# Metric learning (chapter 10): formulas, torch has none of these
# ----------------------------------------------------------------------------------------------

def _batch(fn, embeddings, labels):
    """Embeddings (B, D) as a float tensor and labels (B,) as an int64 tensor, checked."""
    x_view, y_view = _views(fn, embeddings=embeddings, labels=labels)
    x = _checks.embeddings(fn, x_view)
    _checks.batch_labels(fn, y_view, x.shape[0])
    (e,) = _floats(embeddings)
    return e, _ids(labels, e.device)


def pairwise_distances(embeddings, *, squared=False):
    """All Euclidean distances of a batch, ``D[i, j] = ||x_i - x_j||_2`` (chapter 10).

    The NumPy flavour's formula: ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j`` on rows moved into the cloud,
    the pairs where it cancels recomputed from their difference (both chosen by the NumPy
    flavour's ``distance_frame`` and ``near_pairs``). ``squared=True`` gives ``||x_i - x_j||^2``.
    The diagonal and equal rows are exactly 0 (with slope 0), the matrix is exactly symmetric.
    Shapes: ``embeddings`` (B, D) -> (B, B).
    """
    fn = "pairwise_distances"
    (x_view,) = _views(fn, embeddings=embeddings)
    shift, scale = distance_frame(_checks.embeddings(fn, x_view))
    (x,) = _floats(embeddings)
    xs = (x - torch.as_tensor(shift).to(x)) / scale
    sq = (xs * xs).sum(dim=1)
    norms = sq[:, None] + sq[None, :]
    gram = xs @ xs.T
    # 2 x_i.x_j as G + G^T: exactly symmetric, whatever the rounding of the matrix product (the
    # transpose is copied first: torch copies it block by block, where an elementwise sum would
    # read it a column at a time, 3x slower at B = 1024)
    d2 = norms - (gram + gram.T.contiguous())
    i, j = (torch.as_tensor(k, device=x.device)
            for k in near_pairs(d2.detach().cpu().numpy(), norms.detach().cpu().numpy()))
    i, j = torch.cat([i, j]), torch.cat([j, i])
    exact = (((x[i] - x[j]) / scale) ** 2).sum(dim=1)  # the near pairs', from their differences
    if squared:
        d = d2.index_put((i, j), exact)
    else:
        # d2 <= 0 only at near pairs, which are overwritten: 1 keeps sqrt's slope finite there
        d = torch.sqrt(torch.where(d2 > 0, d2, 1.0)).index_put((i, j), _sqrt(exact))
    return d if scale == 1.0 else d * scale ** (2 if squared else 1)


def _sqrt(s):
    """``sqrt(s)`` of ``s >= 0`` with value 0 and slope 0 at 0, where sqrt's slope is infinite
    (so equal rows have distance 0 and pass no NaN back), as torch's norm does."""
    positive = s > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, s, 1.0)), 0.0)


def mine_semihard_triplets(embeddings, labels):
    """The (anchor, positive, negative) rows that :func:`triplet_semihard_loss` uses (chapter 10).

    The NumPy flavour's miner (:func:`lossutils.mine_semihard_triplets`), run on a CPU copy: mining
    picks indices, which carry no gradient, so there is one definition of it. Shapes:
    ``embeddings`` (B, D), ``labels`` (B,) ints -> int64 tensor (P, 3) on their device.
    """
    rows = _mine_numpy(*_views("mine_semihard_triplets", embeddings=embeddings, labels=labels))
    device = embeddings.device if isinstance(embeddings, torch.Tensor) else None
    return torch.as_tensor(rows, device=device)


def triplet_semihard_loss(embeddings, labels, *, margin=1.0):
    """Triplet loss with semi-hard mining, TensorFlow Addons >= 0.11 (chapter 10).

    ``F.triplet_margin_loss`` (plain Euclidean distances, ``eps=0``) on the rows of
    :func:`mine_semihard_triplets`: the mean over ordered positive pairs of
    ``max(0, margin + d(a, p) - d(a, n))``, zero hinges counted. A single-class batch takes the
    negative distance as 0 (each pair costs ``margin + d(a, p)``, as TFA); no positive pair gives
    0.0. Example: ``[[0, 1], [1, 0]]``, labels ``[0, 0]`` -> 2.4142.
    Shapes: ``embeddings`` (B, D), ``labels`` (B,) -> scalar.
    """
    fn = "triplet_semihard_loss"
    x, y = _batch(fn, embeddings, labels)
    m = _checks.positive(fn, "margin", _scalar(margin))
    rows = _mine_numpy(*_views(fn, embeddings=embeddings, labels=labels))
    if rows.size:
        a, p, n = torch.from_numpy(rows).to(x.device).unbind(1)
        return F.triplet_margin_loss(x[a], x[p], x[n], margin=m, eps=0.0)
    a, p = torch.nonzero((y[:, None] == y[None, :]).fill_diagonal_(False), as_tuple=True)
    if not a.numel():
        return x.sum() * 0.0  # nothing to average: 0, still attached to the graph
    # a single class: no negative anywhere, and TFA takes d(a, n) as 0
    return torch.clamp_min(m + torch.linalg.vector_norm(x[a] - x[p], dim=1), 0.0).mean()


def nt_xent_loss(embeddings, labels, *, temperature=0.07):
    """NT-Xent (SimCLR / InfoNCE), pytorch-metric-learning's ``NTXentLoss`` (chapter 10).

    With ``s`` the cosine similarities of the L2-normalised embeddings, per ordered positive pair
    ``l_ap = -log(e_ap / (e_ap + sum_{n: y_n != y_a} e_an) + tiny)``, ``e_ij = exp(s_ij / tau)``,
    averaged over the pairs; other positives are not in the denominator. Exponents are shifted by
    their maximum per pair, and ``tiny`` (the dtype's smallest normal number) caps an underflowing
    ratio at ``-log(tiny)``. No positive or no negative pair gives 0.0.
    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> scalar.
    """
    fn = "nt_xent_loss"
    x, y = _batch(fn, embeddings, labels)
    tau = _checks.positive(fn, "temperature", _scalar(temperature))
    neg = y[:, None] != y[None, :]
    same = (~neg).fill_diagonal_(False)
    if not (bool(same.any()) and bool(neg.any())):
        return x.sum() * 0.0
    xn = x / torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min(NORMALIZE_EPS)
    logits = (xn @ xn.T) / tau
    neg_logits = torch.where(neg, logits, -torch.inf)
    top_neg = neg_logits.amax(dim=1)  # finite: with two classes every anchor has a negative
    neg_sum = torch.exp(neg_logits - top_neg[:, None]).sum(dim=1)
    a, p = torch.nonzero(same, as_tuple=True)
    pos = logits[a, p]
    shift = torch.maximum(pos, top_neg[a])
    numerator = torch.exp(pos - shift)
    ratio = numerator / (numerator + neg_sum[a] * torch.exp(top_neg[a] - shift))
    return -torch.log(ratio + torch.finfo(x.dtype).tiny).mean()


def contrastive_loss(x1, x2, same, *, margin=1.0, reduction="mean"):
    """Contrastive pair loss of Hadsell, Chopra and LeCun 2006 (chapter 10).

    ``d = ||x1 - x2||_2``; ``l = d^2 / 2`` for a similar pair (``same = 1``) and
    ``max(0, margin - d)^2 / 2`` for a dissimilar one (``same = 0``). The gradient of ``d`` at
    ``d = 0`` is taken as 0 (torch's norm). Shapes: ``x1``, ``x2`` (N, D) or (D,); ``same`` (N,)
    or () in {0, 1} -> scalar, or (N,) for ``'none'``.
    """
    fn = "contrastive_loss"
    *_, m = _checks.contrastive(fn, *_views(fn, x1=x1, x2=x2, same=same), _scalar(margin),
                                reduction)
    u, v, s = _floats(x1, x2, same)
    d = torch.linalg.vector_norm(u - v, dim=-1)
    loss = torch.where(s == 1.0, 0.5 * d**2, 0.5 * torch.clamp_min(m - d, 0.0) ** 2)
    return _reduce(loss, reduction)
