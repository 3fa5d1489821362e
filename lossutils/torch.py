"""The course's losses for tensors: ``from lossutils import torch as L``.

The same names, argument order, defaults, checks and values as the NumPy flavour
(``lossutils.<name>``), written as the course's formulas in tensor code so that autograd
differentiates them. Tensors keep their dtype and device; anything else (lists, NumPy arrays)
becomes a float64 CPU tensor. Each loss is its formula, built from primitives such as
``log_softmax``, ``logsigmoid``, ``logsumexp``, norms and ``dot``, with two exceptions that run
torch's own kernels after the course's checks, because their formula could not come within 1.5x
of the fused kernel, which computes the same function as accurately (``benchmarks/README.md``):
the Huber and smooth L1 losses (the residual and its clamp are three passes over the data where
the kernel makes one; 1.6-1.8x even block by block) and ``nll_loss`` (a gather, a sum and a
scale are four tensor dispatches where the kernel is one, and at a few thousand items the
dispatches are the cost: 1.6-2x). ``nll_loss`` even lets the kernel check its arguments first,
since the checks themselves cost half a 4096-item call: the course's checks run when the kernel
refuses something (to give their error, or to convert the input and run it again) or when the
loss is NaN (to name a NaN input).

Bad input raises the NumPy flavour's errors, with the same messages. The NaN check is lazy: a
tensor whose sum is not NaN holds no NaN, so clean input costs one read-only pass.

Every composed operation writes a full temporary, and fresh memory (its page faults) costs more
than the arithmetic; so the ``'mean'``/``'sum'`` paths fold their last product into a ``dot`` or
a norm, which only read, the logit-BCE sum runs block by block through a small scratch tensor
(``_BLOCK``) and the distance matrix is written in place. ``benchmarks/`` measures this flavour
against the built-ins.
"""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from .binary import _BCE_GRAD_EPS
from .divergence import ROW_SUM_TOL
from .margin import COSINE_EPS
from .margin import _number as _real_number
from .metric_learning import NEAR, NORMALIZE_EPS
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

Tensor = torch.Tensor


# ----------------------------------------------------------------------------------------------
# Input checks: the NumPy flavour's rules and messages, for tensors
# ----------------------------------------------------------------------------------------------

def _raise_if_nan(fn: str, arg: str, t: Tensor) -> None:
    """If ``t`` holds a NaN, raise ``_checks.as_float``'s error (it names the first index)."""
    if bool(torch.isnan(t.detach()).any()):
        _checks.as_float(fn, arg, t.detach().to("cpu", torch.float64).numpy())


def _no_nan(fn: str, arg: str, t: Tensor) -> None:
    # any NaN makes the sum NaN; a NaN sum without one (inf - inf) is cleared by the scan
    if t.numel() and bool(torch.isnan(t.detach().sum())):
        _raise_if_nan(fn, arg, t)


def _float(fn: str, arg: str, x: object, like: Tensor | None = None,
           allow_nan: bool = False) -> Tensor:
    """A floating tensor: tensors keep their dtype and device (or take ``like``'s); other input
    goes through ``_checks.as_float`` and becomes float64."""
    if isinstance(x, torch.Tensor):
        t = x
        if t.is_complex():
            _checks.fail(fn, arg, f"has dtype {t.dtype}", "real numbers",
                         "pass the real part, e.g. t.real", TypeError)
        if like is not None and t.device != like.device:
            _checks.fail(fn, arg, f"is on device {t.device}", f"the device of input, {like.device}",
                         f"move it with .to({str(like.device)!r})")
        if like is not None and t.dtype != like.dtype:
            t = t.to(like.dtype)
        elif not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        t = torch.from_numpy(np.array(_checks.as_float(fn, arg, x, allow_nan=True)))
        if like is not None:
            t = t.to(device=like.device, dtype=like.dtype)
    if not allow_nan:
        _no_nan(fn, arg, t)
    return t


def _class_index(fn: str, arg: str, x: object, device: torch.device) -> Tensor:
    """Integer class ids as int64; float ids are the classic mistake (``_checks`` messages)."""
    if not isinstance(x, torch.Tensor):
        return torch.from_numpy(np.array(_checks.as_class_index(fn, arg, x))).to(device)
    if x.is_floating_point() or x.is_complex():
        _checks.fail(fn, arg, f"has float dtype {x.dtype}", "integer class indices",
                     "cast with target.long(); for soft labels pass probabilities with the same "
                     "shape as the input", TypeError)
    if x.dtype == torch.bool:
        _checks.fail(fn, arg, f"has dtype {x.dtype}", "integer class indices",
                     "cast with target.long()", TypeError)
    if x.device != device:
        _checks.fail(fn, arg, f"is on device {x.device}", f"the device of input, {device}",
                     f"move it with .to({str(device)!r})")
    return x if x.dtype == torch.int64 else x.long()  # .long() of int64 is still a dispatch


def _same_shape(fn: str, a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.shape != b.shape:  # _checks reads only .shape: hand it plain tuples, not torch.Size
        _checks.same_shape(fn, a_name, SimpleNamespace(shape=tuple(a.shape)), b_name,
                           SimpleNamespace(shape=tuple(b.shape)))


def _broadcast_to(fn: str, arg: str, value: object, like: Tensor, hint: str) -> Tensor | None:
    """An optional weight that must broadcast to the input's shape (never the other way)."""
    if value is None:
        return None
    w = _float(fn, arg, value, like=like)
    try:
        ok = torch.broadcast_shapes(w.shape, like.shape) == like.shape
    except RuntimeError:
        ok = False
    if not ok:
        _checks.fail(fn, f"{arg} shape", f"is {tuple(w.shape)}",
                     f"a shape that broadcasts to the input shape {tuple(like.shape)}", hint)
    return w


def _min_max(t: Tensor) -> tuple[float, float]:
    lo, hi = torch.aminmax(t.detach())
    return float(lo), float(hi)


def _in_unit_interval(fn: str, arg: str, t: Tensor, expected: str, fix: str,
                      got: str = "has values in") -> None:
    if t.numel():
        lo, hi = _min_max(t)
        if lo < 0 or hi > 1:
            _checks.fail(fn, arg, f"{got} [{lo:.4g}, {hi:.4g}]", expected, fix)


def _labels_in(fn: str, arg: str, y: Tensor, allowed: tuple[float, ...],
               expected: str | None = None, fix: str | None = None) -> None:
    """Labels restricted to a set: a cheap tensor check, then the NumPy flavour's message.

    Without ``expected``/``fix`` the error is ``_checks.labels_in``'s own. A NaN is never an
    allowed label, so ``y`` needs no NaN scan of its own: a NaN gets the NaN error here.
    """
    ok = y == allowed[0]
    for value in allowed[1:]:
        ok |= y == value
    if bool(ok.all()):
        return
    _raise_if_nan(fn, arg, y)
    arr = y.detach().to("cpu", torch.float64).numpy()
    if expected is None:
        _checks.labels_in(fn, arg, arr, allowed)
    first = arr[~np.isin(arr, allowed)].flat[0].item()
    _checks.fail(fn, arg, f"contains {first!r}", expected, fix)


def _number(fn: str, arg: str, value: object) -> float:
    """A real hyper-parameter with no bound (torch puts none on e.g. a ranking margin)."""
    return _real_number(fn, arg, _scalar(value))


def _scalar(value: object) -> object:
    """Hyper-parameters may arrive as one-element tensors; the checks want plain numbers."""
    return value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value


def _reduce(loss: Tensor, how: str) -> Tensor:
    """``'none' | 'mean' | 'sum'`` of an unreduced loss; the mean of nothing is NaN (0 / 0)."""
    if how == "none":
        return loss
    total = loss.sum()
    # sum / n rather than mean(): mean's backward writes a full tensor of 1/n, sum's broadcasts
    return total if how == "sum" else total / loss.numel()


class _RowDot(torch.autograd.Function):
    """``sum_i a_i b_i`` along the last dim of same-shape tensors, as a batched matrix product
    (no (N, D) tensor of products), with the backward ``grad b`` and ``grad a``: one product
    each (``2 grad a`` when ``a`` is ``b``). The batched product's own backward runs two more
    batched products, 2.6x slower at (10^4, 100); a squared norm's backward takes four passes.
    The backward is made of differentiable operations, so second derivatives work."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:
        ctx.same = a is b
        ctx.save_for_backward(a, b)
        return torch.einsum("...i,...i->...", a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        g = grad.unsqueeze(-1)
        if ctx.same:
            return (2.0 * g) * a, None
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


def _rowdot(a: Tensor, b: Tensor) -> Tensor:
    """``sum_i a_i b_i`` along the last dim of same-shape tensors (:class:`_RowDot`)."""
    return _RowDot.apply(a, b)


def _row_squares(a: Tensor) -> Tensor:
    """``sum_i a_i^2`` along the last dim (:class:`_RowDot`, whose backward is one product)."""
    return _RowDot.apply(a, a)


class _SumSquares(torch.autograd.Function):
    """``sum(e^2)`` as ``dot(e, e)``, one read, with the backward ``2 e grad``: one product.

    Autograd's own routes cost more: the squared norm's backward runs four full passes (a
    division by the norm, a zero-norm mask), the dot's two products and their sum. The backward
    here is written in differentiable operations, so second derivatives stay right.
    """

    @staticmethod
    def forward(ctx, e: Tensor) -> Tensor:
        ctx.save_for_backward(e)
        return _dot(e, e)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (e,) = ctx.saved_tensors
        return e * (2.0 * grad)


def _sum_squares(e: Tensor) -> Tensor:
    """``sum(e^2)``: a read-only dot product, whose backward is one product (``_SumSquares``)."""
    return _SumSquares.apply(e)


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """``sum(a * b)`` of same-shape tensors without materialising ``a * b``: a dot only reads."""
    return torch.dot(a.reshape(-1), b.reshape(-1))


def _reduce_product(a: Tensor, b: Tensor, how: str) -> Tensor:
    """``reduce(a * b, how)``; ``'mean'`` and ``'sum'`` never form the product tensor."""
    if how == "none":
        return a * b
    s = _dot(a, b)
    return s if how == "sum" else s / a.numel()


# ----------------------------------------------------------------------------------------------
# Activations (chapters 4 and 5)
# ----------------------------------------------------------------------------------------------

def sigmoid(input):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise, stable for any finite x (chapter 4)."""
    return torch.sigmoid(_float("sigmoid", "input", input))


def softplus(input):
    """``log(1 + exp(x))`` = ``max(x, 0) + log1p(exp(-|x|))``, elementwise (chapter 4)."""
    x = _float("softplus", "input", input)
    return torch.clamp_min(x, 0.0) + torch.log1p(torch.exp(-x.abs()))


def log_sigmoid(input):
    """``log sigmoid(x)`` = ``-softplus(-x)``, finite for any finite x (chapter 4)."""
    return F.logsigmoid(_float("log_sigmoid", "input", input))


def logsumexp(input, *, dim=-1, keepdim=False):
    """``log(sum_k exp(x_k))`` along ``dim``, computed after a shift by the maximum (chapter 5)."""
    return torch.logsumexp(_float("logsumexp", "input", input), dim=dim, keepdim=keepdim)


def log_softmax(input, *, dim=-1):
    """``x_k - logsumexp(x)`` along ``dim`` (chapter 5). Shapes: any -> same."""
    return torch.log_softmax(_float("log_softmax", "input", input), dim=dim)


def softmax(input, *, dim=-1):
    """``exp(x_k) / sum_j exp(x_j)`` along ``dim``, via the max shift (chapter 5)."""
    return torch.softmax(_float("softmax", "input", input), dim=dim)


def label_smoothing_targets(target, num_classes, *, label_smoothing=0.1):
    """Smoothed targets ``q = (1 - eps) onehot(y) + eps / K`` (Szegedy et al. 2016), chapter 5.

    ``eps / K`` goes to every class, the true one included. Shapes: ``target`` (N,) ints ->
    (N, K) float64, on the target's device.
    """
    fn = "label_smoothing_targets"
    device = target.device if isinstance(target, torch.Tensor) else torch.device("cpu")
    y = _class_index(fn, "target", target, device)
    k = int(num_classes)
    if k < 1:
        _checks.fail(fn, "num_classes", f"is {num_classes!r}", "an integer >= 1",
                     "pass the number of classes K")
    eps = _checks.positive(fn, "label_smoothing", _scalar(label_smoothing), allow_zero=True)
    if eps > 1:
        _checks.fail(fn, "label_smoothing", f"is {label_smoothing!r}", "a value in [0, 1]",
                     "typical values are 0.1 or smaller")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
        _checks.fail(fn, "target", f"has class ids in [{int(y.min())}, {int(y.max())}]",
                     f"ids in [0, {k - 1}]", "check num_classes and the label encoding")
    onehot = F.one_hot(y, k).to(torch.float64)
    return (1.0 - eps) * onehot + eps / k


# ----------------------------------------------------------------------------------------------
# Regression (chapter 3)
# ----------------------------------------------------------------------------------------------

def _inputs(fn: str, input, target, reduction: str, names: tuple[str, str] = ("input", "target"),
            ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Two same-shape tensors after the checks, and those whose NaN scan waits for the loss.

    A NaN in either input makes a ``'mean'``/``'sum'`` loss NaN, so for those the scan runs only
    when the result is NaN (:func:`_nan_checked`): clean input costs no extra pass.
    """
    _checks.reduction(fn, reduction)
    deferred = reduction != "none"
    x = _float(fn, names[0], input, allow_nan=deferred)
    y = _float(fn, names[1], target, like=x, allow_nan=deferred)
    _same_shape(fn, names[0], x, names[1], y)
    return x, y, ({names[0]: x, names[1]: y} if deferred else {})


def _residual(fn: str, input, target, reduction: str) -> tuple[Tensor, dict[str, Tensor]]:
    """``x - y`` after :func:`_inputs`' checks, and the inputs whose NaN scan is deferred."""
    x, y, unchecked = _inputs(fn, input, target, reduction)
    return x - y, unchecked


def _nan_checked(fn: str, loss: Tensor, unchecked: dict[str, Tensor]) -> Tensor:
    """``loss``, once the deferred NaN checks of ``unchecked`` passed (see :func:`_inputs`)."""
    if unchecked and bool(torch.isnan(loss.detach())):
        for arg, t in unchecked.items():
            _raise_if_nan(fn, arg, t)
    return loss


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error ``(x - y)^2`` elementwise, then reduced (chapter 3).

    Shapes: ``input``, ``target`` equal, any -> scalar, or the input's shape for ``'none'``.
    Example: ``mse_loss([2.5, 3, 5], [1, 3, 4])`` = 1.0833.
    """
    e, unchecked = _residual("mse_loss", input, target, reduction)
    if reduction == "none":
        return e * e
    s = _sum_squares(e)  # the summed squared error is ||x - y||^2
    return _nan_checked("mse_loss", s if reduction == "sum" else s / e.numel(), unchecked)


def _absolute(e: Tensor, how: str) -> Tensor:
    """``reduce(|e|)``; the sum of ``|e|`` is the L1 norm of the residual, a single read."""
    if how == "none":
        return e.abs()
    s = torch.linalg.vector_norm(e, ord=1)
    return s if how == "sum" else s / e.numel()


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error ``|x - y|`` (chapter 3); its gradient at ``x = y`` is 0.

    Shapes as :func:`mse_loss`.
    """
    e, unchecked = _residual("l1_loss", input, target, reduction)
    return _nan_checked("l1_loss", _absolute(e, reduction), unchecked)


def huber_loss(input, target, *, delta=1.0, reduction="mean"):
    """Huber loss: ``e^2 / 2`` if ``|e| < delta`` else ``delta (|e| - delta / 2)``, ``e = x - y``.

    Quadratic near zero, linear with slope ``delta`` far out, so an outlier's pull is capped.
    ``delta <= 0`` is rejected.
    The value and gradient are torch's fused kernel's (see the module docstring). Shapes as
    :func:`mse_loss`. Chapter 3.
    """
    fn = "huber_loss"
    delta = _checks.positive(fn, "delta", _scalar(delta))
    x, y, unchecked = _inputs(fn, input, target, reduction)
    return _nan_checked(fn, F.huber_loss(x, y, reduction=reduction, delta=delta), unchecked)


def smooth_l1_loss(input, target, *, beta=1.0, reduction="mean"):
    """Smooth L1: ``e^2 / (2 beta)`` if ``|e| < beta`` else ``|e| - beta / 2`` (chapter 3).

    Huber divided by its threshold: ``huber_loss(delta=d) = d * smooth_l1_loss(beta=d)``.
    ``beta = 0`` is the L1 loss; ``beta < 0`` is rejected. torch's fused kernel computes it, as
    :func:`huber_loss`. Shapes as :func:`mse_loss`.
    """
    fn = "smooth_l1_loss"
    beta = _checks.positive(fn, "beta", _scalar(beta), allow_zero=True)
    x, y, unchecked = _inputs(fn, input, target, reduction)
    return _nan_checked(fn, F.smooth_l1_loss(x, y, reduction=reduction, beta=beta), unchecked)


# ----------------------------------------------------------------------------------------------
# Binary, multi-label and focal losses (chapters 4 and 7)
# ----------------------------------------------------------------------------------------------

def _pair(fn: str, input, target, reduction: str, probabilities_in: bool = False,
          allow_nan: bool = False) -> tuple[Tensor, Tensor]:
    """Input and target, checked; ``allow_nan`` leaves their NaN scan to :func:`_nan_checked`."""
    _checks.reduction(fn, reduction)
    x = _float(fn, "input", input, allow_nan=allow_nan)
    y = _float(fn, "target", target, like=x, allow_nan=allow_nan)
    _same_shape(fn, "input", x, "target", y)
    if probabilities_in:
        _in_unit_interval(fn, "input", x, "probabilities in [0, 1]",
                          "if these are logits, use the *_with_logits / logits version, or "
                          "apply sigmoid first")
    # binary targets are 0/1 labels or soft labels in [0, 1]; {-1, 1} labels are a mistake
    _in_unit_interval(fn, "target", y, "0/1 labels or probabilities in [0, 1]",
                      "map {-1, 1} labels with (y + 1) / 2; for class ids use cross_entropy")
    return x, y


def _weights(fn: str, x: Tensor, weight, pos_weight=None) -> tuple[Tensor | None, Tensor | None]:
    w = _broadcast_to(fn, "weight", weight, x,
                      "pass one weight per element, or per class as shape (C,)")
    pw = _broadcast_to(fn, "pos_weight", pos_weight, x,
                       f"pass one weight per class along the last dim, shape ({x.shape[-1]},)"
                       if x.dim() else "pass a scalar pos_weight")
    return w, pw


class _ClampedBinaryCrossEntropy(torch.autograd.Function):
    """``-[y max(log p, -100) + (1 - y) max(log(1 - p), -100)]`` elementwise.

    The forward pass is the formula. The backward pass is the analytic slope
    ``(p - y) / max(p (1 - p), 1e-12)``: autograd through the clamped logs would give
    ``0 * inf = NaN`` at ``p = 0`` or 1, where torch (and the NumPy ``_grad``) give a large finite
    slope such as ``-1e12``.
    """

    @staticmethod
    def forward(ctx, p: Tensor, y: Tensor) -> Tensor:
        # no graph is recorded in here, so every step after the first writes in place
        log_p = torch.log(p).clamp_min_(-100.0)
        log_q = torch.neg(p).log1p_().clamp_min_(-100.0)
        # y log p + (1 - y) log(1 - p) as log(1 - p) + y (log p - log(1 - p)): one product fewer
        diff = log_p.sub_(log_q)
        ctx.save_for_backward(p, y, diff if ctx.needs_input_grad[1] else None)
        return torch.addcmul(log_q, y, diff).neg_()

    @staticmethod
    def backward(ctx, grad: Tensor):
        p, y, diff = ctx.saved_tensors
        grad_p = grad_y = None
        if ctx.needs_input_grad[0]:
            den = torch.addcmul(p, p, p, value=-1.0).clamp_min_(_BCE_GRAD_EPS)  # p (1 - p)
            grad_p = (p - y).div_(den).mul_(grad)
        if ctx.needs_input_grad[1]:
            grad_y = -diff * grad
        return grad_p, grad_y


def binary_cross_entropy(input, target, *, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities, each log clamped at -100 (chapter 4).

    ``l_i = -w_i [y_i max(log p_i, -100) + (1 - y_i) max(log(1 - p_i), -100)]``: ``p`` of exactly
    0 or 1 costs at most 100, and its gradient is finite (see ``_ClampedBinaryCrossEntropy``).
    Targets may be soft, in [0, 1]; ``weight`` broadcasts to the input; ``'mean'`` divides by the
    number of elements whatever the weights. Shapes: ``input``, ``target`` equal, any -> scalar,
    or the input's shape for ``'none'``. Example: ``binary_cross_entropy([0.01], [1.0])`` = 4.605.
    """
    fn = "binary_cross_entropy"
    p, y = _pair(fn, input, target, reduction, probabilities_in=True)
    w, _ = _weights(fn, p, weight)
    loss = _ClampedBinaryCrossEntropy.apply(p, y)
    if w is None:
        return _reduce(loss, reduction)
    return _reduce_product(loss, w.expand_as(loss), reduction)


# Elements per block of a blockwise reduction: the scratch blocks (2 MiB each in float64) are
# allocated once per call and stay in the last-level cache, where every whole-array temporary
# would be 8 MB of fresh memory per 10^6 elements, page faults included
_BLOCK = 1 << 18


def _log1p_exp_total(t: Tensor, k: Tensor | None = None) -> Tensor:
    """``sum k log1p(exp(t))`` (``k = 1`` when None), block by block: no temporary the size of
    ``t`` (see ``_BLOCK``). ``exp`` then ``log1p`` in place is ``softplus`` for ``t <= 0``."""
    tf = t.reshape(-1)
    kf = tf if k is None else k.reshape(-1)  # tf is a placeholder, unread when k is None
    scratch = tf.new_empty(min(tf.numel(), _BLOCK))
    sums = tf.new_zeros(max(1, -(-tf.numel() // _BLOCK)))  # split gives an empty tensor one block
    for ts, ks, out in zip(tf.split(_BLOCK), kf.split(_BLOCK), sums, strict=True):
        block = torch.exp(ts, out=scratch[:ts.numel()]).log1p_()
        if k is None:
            torch.sum(block, dim=0, out=out)
        else:
            torch.dot(block, ks, out=out)
    return sums.sum()


class _BCEWithLogits(torch.autograd.Function):
    """Unweighted BCE on logits as two non-negative parts, ``A + s x``, reduced by ``how``.

    ``pw y softplus(-x) + (1 - y) softplus(x)`` with ``softplus(+-x) = relu(+-x) + log1p(e)``,
    ``e = exp(-|x|)``: ``A = (1 + (pw - 1) y) log1p(e)`` and ``s x = (1 - y) x`` for ``x >= 0``,
    ``-pw y x`` below. A small loss is never the difference of two large numbers (the textbook
    ``(1 - y) x + softplus(-x)`` rounds ``y = 0, x = -40`` to 0 instead of 4.2e-18), and nothing
    exponentiates a positive number, so a logit of -1e4 with target 1 costs exactly 1e4.

    The backward pass is the analytic slope ``(1 - y) sigmoid(x) - pw y sigmoid(-x)`` (``sigmoid(x)
    - y`` without ``pos_weight``), where autograd would differentiate abs, softplus, the slope
    product and the sum step by step, six full passes. It is formed as
    ``s - sign(x) k sigmoid(-|x|)`` with the forward pass's slope ``s`` and ``k = 1 + (pw - 1) y``:
    ``sigmoid(-|x|)`` keeps its digits however small, so a saturated correct prediction gets its
    tiny slope, not ``1 - 1 = 0``. With ``create_graph=True`` the backward pass is the same slope
    in differentiable operations (second derivatives ``k sigmoid'(x)``), and the targets and
    ``pos_weight`` get theirs, ``pw softplus(-x) - softplus(x)`` and ``y softplus(-x)``.
    """

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor, pw: Tensor | None, how: str) -> Tensor:
        ctx.how = how
        minus_abs = x.abs().neg_()
        # x >= 0, except that -0.0 counts as negative: the backward's copysign reads the sign bit
        positive = torch.signbit(x).logical_not_()
        if pw is None:
            k, slope = None, positive.to(x.dtype).sub_(y)  # step(x) - y
        else:
            k = torch.addcmul(torch.ones_like(y), pw - 1.0, y)
            slope = torch.where(positive, 1.0 - y, -pw * y)
        ctx.save_for_backward(x, y, pw, minus_abs, slope, k)
        if how == "none":
            log1p_e = torch.exp(minus_abs).log1p_()  # softplus(-|x|), as _log1p_exp_total
            return (log1p_e if k is None else log1p_e.mul_(k)).addcmul_(slope, x)
        # sum(A) + sum(s x): both parts are non-negative, so summing them apart loses nothing
        total = _log1p_exp_total(minus_abs, k) + _dot(slope, x)
        return total if how == "sum" else total / x.numel()

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, y, pw, minus_abs, slope, k = ctx.saved_tensors
        if ctx.how == "mean":
            grad = grad / x.numel()
        grad_x = grad_y = grad_pw = None
        if ctx.needs_input_grad[0] and torch.is_grad_enabled():
            # create_graph=True: the slope again, as a function of x that autograd differentiates
            pw_y = y if pw is None else pw * y
            grad_x = ((1.0 - y) * torch.sigmoid(x) - pw_y * torch.sigmoid(-x)) * grad
        elif ctx.needs_input_grad[0]:
            tail = torch.sigmoid(minus_abs)  # sigmoid(-|x|)
            if k is not None:
                tail.mul_(k)
            # s - sign(x) k sigmoid(-|x|), written over tail: a fresh tensor costs its page faults
            grad_x = torch.sub(slope, tail.copysign_(x), out=tail).mul_(grad)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            softplus_neg = F.softplus(-x)
        if ctx.needs_input_grad[1]:
            d_y = -x if pw is None else pw * softplus_neg - F.softplus(x)
            grad_y = d_y * grad
        if ctx.needs_input_grad[2]:
            grad_pw = (y * softplus_neg * grad).sum_to_size(pw.shape)
        return grad_x, grad_y, grad_pw, None


def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits, ``-w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]`` (chapter 4).

    Computed as ``w [pw y softplus(-x) + (1 - y) softplus(x)]``, a sum of non-negative terms that
    is finite and accurate for every finite logit. ``weight`` scales whole terms and broadcasts to
    the input; ``pos_weight`` (one per class, last dim) scales only the positive term. ``'mean'``
    divides by the number of elements. Shapes as :func:`binary_cross_entropy`.
    """
    fn = "binary_cross_entropy_with_logits"
    # a NaN in either input makes a 'mean' or 'sum' NaN: scan for it only then (as _inputs)
    deferred = reduction != "none"
    x, y = _pair(fn, input, target, reduction, allow_nan=deferred)
    unchecked = {"input": x, "target": y} if deferred else {}
    w, pw = _weights(fn, x, weight, pos_weight)
    if w is None:
        return _nan_checked(fn, _BCEWithLogits.apply(x, y, pw, reduction), unchecked)
    loss = _BCEWithLogits.apply(x, y, pw, "none")
    return _nan_checked(fn, _reduce_product(loss, w.expand_as(loss), reduction), unchecked)


def multilabel_soft_margin_loss(input, target, *, weight=None, reduction="mean"):
    """Multi-label loss: per sample ``(1/C) sum_c w_c BCEWithLogits(x_c, y_c)`` (chapter 4).

    One independent sigmoid per class, averaged over the classes, then reduced over samples.
    Shapes: ``input``, ``target`` (N, C) or (C,); ``weight`` broadcasts (typically (C,)) ->
    scalar, or (N,) for ``'none'``.
    """
    fn = "multilabel_soft_margin_loss"
    x, y = _pair(fn, input, target, reduction)
    if x.dim() == 0:
        _checks.fail(fn, "input", "is a scalar", "shape (C,) or (N, C)",
                     "for a single binary output use binary_cross_entropy_with_logits")
    w, _ = _weights(fn, x, weight)
    terms = _BCEWithLogits.apply(x, y, None, "none")
    if w is not None:
        terms = terms * w
    return _reduce(terms.sum(dim=-1) / x.shape[-1], reduction)


def sigmoid_focal_loss(inputs, targets, *, alpha=0.25, gamma=2.0, reduction="none"):
    """Sigmoid focal loss ``alpha_t (1 - p_t)^gamma BCEWithLogits(x, y)`` (Lin et al. 2017).

    ``p = sigmoid(x)``, ``p_t = p y + (1 - p)(1 - y)``, ``alpha_t = alpha y + (1 - alpha)(1 - y)``:
    alpha weights the positives; ``alpha=None`` or -1 switches the weighting off, and with it off
    ``gamma = 0`` is plain BCE with logits. ``1 - p_t = y sigmoid(-x) + (1 - y) sigmoid(x)`` is
    formed from the two sigmoids, never by subtraction, so it keeps its digits when tiny.
    Default reduction ``'none'``, as torchvision. Shapes: any, equal. Chapter 7.
    """
    fn = "sigmoid_focal_loss"
    x, y = _pair(fn, inputs, targets, reduction)
    gamma = _checks.positive(fn, "gamma", _scalar(gamma), allow_zero=True)
    alpha = _checks.focal_alpha(fn, _scalar(alpha))
    one_minus_pt = torch.addcmul(torch.sigmoid(-x) * y, torch.sigmoid(x), 1.0 - y)
    loss = _BCEWithLogits.apply(x, y, None, "none") * one_minus_pt.pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * y + (1.0 - alpha) * (1.0 - y))
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------------------------
# Multi-class cross-entropy and NLL (chapter 5)
# ----------------------------------------------------------------------------------------------

def _class_setup(fn: str, input, weight, ignore_index, reduction, label_smoothing,
                 allow_nan: bool = False):
    """Checks shared by cross_entropy and nll_loss; returns (x, class dim, weight, eps).

    ``label_smoothing=None`` (nll_loss, which has no such argument) skips its check.
    """
    _checks.reduction(fn, reduction)
    eps = (0.0 if label_smoothing is None
           else _checks.label_smoothing(fn, _scalar(label_smoothing)))
    _checks.ignore_index(fn, ignore_index)
    x = _float(fn, "input", input, allow_nan=allow_nan)
    if x.dim() == 0 or x.shape[1 if x.dim() >= 2 else 0] == 0:
        _checks.fail(fn, "input shape", f"is {tuple(x.shape)}",
                     "(N, C, ...) or (C,) with C >= 1 classes",
                     "pass one score per class along dim 1")
    cdim = 1 if x.dim() >= 2 else 0
    c = x.shape[cdim]
    w = None
    if weight is not None:
        w = _float(fn, "weight", weight, like=x)
        if tuple(w.shape) != (c,):
            _checks.fail(fn, "weight", f"has shape {tuple(w.shape)}",
                         f"one weight per class, shape ({c},)",
                         "pass a 1-D array with an entry for every class of input dim 1")
    return x, cdim, w, eps


def _is_probability_target(target, x: Tensor) -> bool:
    if isinstance(target, torch.Tensor):
        floating = target.is_floating_point()
    else:
        floating = np.issubdtype(np.asarray(target).dtype, np.floating)
    return floating and tuple(np.shape(target)) == tuple(x.shape) and x.dim() > 0


def _class_ids(fn: str, target, x: Tensor, cdim: int, probs_allowed: bool) -> Tensor:
    """Class ids of the right type and shape for ``x`` (the NumPy flavour's checks and errors);
    their range is checked by :func:`_counted_ids`."""
    if not probs_allowed and _is_probability_target(target, x):
        _checks.fail(fn, "target", f"has float dtype and the input's shape {tuple(x.shape)}",
                     "integer class indices", "pass class ids, e.g. target.argmax(axis=1); for "
                     "soft labels use cross_entropy", TypeError)
    expected = tuple(x.shape[:1]) + tuple(x.shape[2:]) if x.dim() >= 2 else ()
    # np.shape would do, but its dispatch costs more than this function's other checks together
    shape = tuple(target.shape if isinstance(target, torch.Tensor) else np.shape(target))
    if x.dim() >= 2 and len(shape) == x.dim() and shape[1] == 1:
        _checks.fail(fn, "target shape", f"is {shape}, a class axis of size 1",
                     f"class indices of shape {expected}",
                     "squeeze with target.reshape(-1) (target.squeeze(1) for spatial targets)")
    y = _class_index(fn, "target", target, x.device)
    if tuple(y.shape) != expected:
        fix = ("integer one-hot rows are not class ids: pass target.argmax(axis=1), or "
               "target.astype(float) as probabilities" if tuple(y.shape) == tuple(x.shape) else
               "give one class id per item: input is (N, C, d1, ...) and target (N, d1, ...)")
        _checks.fail(fn, "target shape", f"is {tuple(y.shape)}",
                     f"{expected} for input of shape {tuple(x.shape)} (class dim {cdim})", fix)
    return y


def _counted_ids(fn: str, y: Tensor, c: int, ignore_index: int) -> tuple[Tensor, Tensor | None]:
    """Class ids with ignored items set to class 0, and the mask of counted items (None when
    nothing is ignored); an id outside ``[0, C)`` that is not ``ignore_index`` is an error."""
    if not y.numel():
        return y, None
    lo, hi = (int(v) for v in torch.aminmax(y))
    if 0 <= lo and hi < c and not lo <= ignore_index <= hi:
        return y, None  # every id is a class and none is ignored: no mask needed
    counted = y != ignore_index
    ids = y[counted]
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= c):
        _checks.fail(fn, "target", f"has class ids in [{int(ids.min())}, {int(ids.max())}]",
                     f"ids in [0, {c - 1}] for {c} classes (or ignore_index={ignore_index})",
                     "check the number of classes in input dim 1; labels 1..C need target - 1")
    return torch.where(counted, y, 0), counted


def _nll_of(fn: str, logp: Tensor, y: Tensor, counted: Tensor | None, cdim: int,
            w: Tensor | None, eps: float, reduction: str, ignore_index: int) -> Tensor:
    """``(1 - eps) (-w_y log p_y) + (eps / C) sum_k w_k (-log p_k)`` per counted item.

    That is the cross-entropy against the target ``(1 - eps) onehot(y) + eps / C``. Ignored items
    give 0. ``'mean'`` divides both terms by ``sum_i w_{y_i}`` over the counted items (the count,
    without weights), so all items ignored gives 0 / 0 = NaN, as torch. Ids that
    :func:`cross_entropy` left unchecked are checked here if the gather finds one out of range.
    """
    c = logp.shape[cdim]
    try:
        picked = logp.gather(cdim, y.unsqueeze(cdim))  # log p_y, the class dim kept as size 1
    except RuntimeError:  # "index ... is out of bounds": ignored items, or a wrong id
        y, counted = _counted_ids(fn, y, c, ignore_index)
        picked = logp.gather(cdim, y.unsqueeze(cdim))
    if w is None and counted is None and not eps and reduction != "none":
        # the common case, kept to the fewest tensor operations: on a small batch each one's
        # dispatch costs as much as the gather itself
        total = picked.sum()
        return total * (-1.0 if reduction == "sum" else -1.0 / picked.numel())
    picked = picked.squeeze(cdim)
    if w is None:
        w_y = None if counted is None else counted.to(logp.dtype)
    else:
        w_y = w[y] if counted is None else w[y] * counted
    loss = -picked if w_y is None else -(w_y * picked)
    if eps:
        if w is None:
            smooth = logp.sum(cdim)
        else:
            smooth = torch.tensordot(logp.movedim(cdim, -1), w, dims=1)
        loss = (1.0 - eps) * loss - (eps / c) * smooth
    if counted is not None:
        # ignored items read class 0: a -inf log-prob there (a masked logit) gave 0 * inf = NaN,
        # where torch, which never reads an ignored item, gives 0
        loss = torch.where(counted, loss, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    den = picked.numel() if w_y is None else w_y.sum()
    return loss.sum() / den


def cross_entropy(input, target, *, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits, ``-log softmax(x)[y]`` per item, class dim 1 (chapter 5).

    Class ids: ``l_i = (1 - eps) w_{y_i} (-log p_{i y_i}) + (eps / K) sum_k w_k (-log p_ik)``,
    ``log p = log_softmax(x, dim=1)``: the target ``(1 - eps) onehot(y) + eps / K``. Items whose
    target is ``ignore_index`` give 0 and are not counted; ``'mean'`` divides by
    ``sum_i w_{y_i}`` over counted items. Probability targets ``q`` (float, the input's shape):
    ``l_i = -sum_k w_k q'_ik log p_ik``, ``q' = q (1 - eps) + eps / K``, ``'mean'`` divides by
    N * d1 * ... . Shapes: ``input`` (N, C), (N, C, d1, ...) or (C,); ``target`` (N,), (N, d1, ...)
    or () ints, or the input's shape; ``weight`` (C,) -> scalar, or (N, d1, ...) for ``'none'``.
    Example: logits [2, 1, -1], class 1: 1.349.
    """
    fn = "cross_entropy"
    x, cdim, w, eps = _class_setup(fn, input, weight, ignore_index, reduction, label_smoothing)
    if _is_probability_target(target, x):
        q = _float(fn, "target", target, like=x)
        _in_unit_interval(fn, "target", q, "class probabilities in [0, 1]",
                          "apply softmax to scores first, or pass integer class ids",
                          got="(probabilities) has values in")
        if int(ignore_index) >= 0:
            _checks.fail(fn, "ignore_index", f"is {ignore_index} with probability targets",
                         "a negative value (no class is ignored)",
                         "drop ignore_index, or give ignored items all-zero target rows")
        logp = torch.log_softmax(x, dim=cdim)
        if eps:
            q = q * (1.0 - eps) + eps / x.shape[cdim]
        if w is not None:
            q = q * w.view((-1,) + (1,) * (x.dim() - cdim - 1))
        if reduction == "none":
            return -(q * logp).sum(cdim)
        total = -_dot(q, logp)
        return total if reduction == "sum" else total / (x.numel() // x.shape[cdim])
    y, counted = _class_ids(fn, target, x, cdim, probs_allowed=True), None
    if 0 <= ignore_index < x.shape[cdim]:
        # an id outside [0, C) makes the gather in _nll_of fail, whether it is ignore_index or a
        # mistake: otherwise the range is checked there, only then, and costs clean ids nothing
        y, counted = _counted_ids(fn, y, x.shape[cdim], int(ignore_index))
    return _nll_of(fn, torch.log_softmax(x, dim=cdim), y, counted, cdim, w, eps, reduction,
                   int(ignore_index))


def nll_loss(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of the target class, ``l_i = -w_{y_i} input[i, y_i]`` (chapter 5).

    ``input`` holds log-probabilities: nothing is applied to it, so
    ``nll_loss(log_softmax(x, dim=1), y) == cross_entropy(x, y)``. Ignored items give 0 and are
    not counted; ``'mean'`` divides by ``sum_i w_{y_i}`` over counted items. Only the entries the
    loss reads are checked for NaN, and only when the loss is NaN. torch's kernel computes it
    (see the module docstring) and checks the arguments first; whatever it refuses gets the
    course's error, not the kernel's. Shapes as :func:`cross_entropy` with class ids.
    """
    fn = "nll_loss"
    _checks.reduction(fn, reduction)
    ignore = _checks.ignore_index(fn, ignore_index)
    try:
        # the kernel checks types, shapes, devices and id ranges itself, so the course's checks
        # (a third of a 4096-item call) run only when it refuses: to say what was wrong, or to
        # convert input that is not yet float tensors with int64 ids and run it again
        loss = F.nll_loss(input, target, weight, ignore_index=ignore, reduction=reduction)
    except (TypeError, ValueError, RuntimeError, IndexError, NotImplementedError):
        x, cdim, w, y = _nll_args(fn, input, target, weight, ignore, reduction)
        loss = F.nll_loss(x, y, w, ignore_index=ignore, reduction=reduction)
    nan = math.isnan(loss.item()) if loss.dim() == 0 else bool(torch.isnan(loss).any())
    if nan:  # a NaN among the entries the loss reads, or 0 / 0 (every item ignored): which?
        x, cdim, _, y = _nll_args(fn, input, target, weight, ignore, reduction)
        y, counted = _counted_ids(fn, y, x.shape[cdim], ignore)
        picked = x.detach().gather(cdim, y.unsqueeze(cdim)).squeeze(cdim)
        if bool(torch.isnan(picked if counted is None else picked[counted]).any()):
            _raise_if_nan(fn, "input", x)
    return loss


def _nll_args(fn: str, input, target, weight, ignore_index: int, reduction: str):
    """``(x, class dim, weight, ids)`` for :func:`nll_loss` after the course's checks (ids in
    range too), as float tensors and int64 ids."""
    x, cdim, w, _ = _class_setup(fn, input, weight, ignore_index, reduction, None,
                                 allow_nan=True)
    y = _class_ids(fn, target, x, cdim, probs_allowed=False)
    _counted_ids(fn, y, x.shape[cdim], ignore_index)
    return x, cdim, w, y


# ----------------------------------------------------------------------------------------------
# Entropy, KL divergence and distillation (chapter 8)
# ----------------------------------------------------------------------------------------------

def _where_positive(positive: Tensor, t: Tensor) -> Tensor:
    """``t`` where ``positive``, else 1: its log is 0 there, so neither ``0 log 0`` nor its
    slope becomes ``0 * inf = NaN`` (the slope of ``p log p`` at ``p = 0`` is taken as 0)."""
    return torch.where(positive, t, 1.0)


def _kl_terms(fn: str, x: Tensor, t: Tensor, log_target: bool) -> tuple[Tensor, Tensor]:
    """``(p, d)`` with the pointwise KL ``p * d``: ``d = log p - x``, and 0 where ``p = 0``.

    ``p = 0`` contributes 0 (``0 log 0 = 0``), even against ``x = log q = -inf``: the masks keep
    ``0 * inf`` out of the value and of the backward pass; they are only built when a zero exists.
    """
    if log_target:
        p, diff = torch.exp(t), t - x
        if t.numel() and float(torch.exp(t.detach().min())) == 0.0:  # t = -inf, or underflow
            diff = torch.where(p > 0, diff, 0.0)
        return p, diff
    low = float(t.detach().min()) if t.numel() else 1.0
    if low < 0:
        _checks.fail(fn, "target", f"has a negative value ({low:.4g})", "probabilities (>= 0)",
                     "if target holds log-probabilities pass log_target=True; otherwise "
                     "normalise it with softmax or t / t.sum(-1, keepdims=True)")
    if low > 0:
        return t, torch.log(t).sub_(x)  # in place: one temporary; log's backward reads only t
    positive = t > 0
    diff = torch.log(_where_positive(positive, t)).sub_(x)
    return t, torch.where(positive, diff, 0.0)


def kl_div(input, target, *, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise, the model's log-probabilities first (chapter 8).

    ``l = p (log p - log q)`` with ``p = target``, ``log q = input`` and ``0 log 0 = 0`` (also where
    ``log q = -inf``); ``log_target=True``: ``l = exp(t) (t - log q)``. ``'batchmean'`` divides
    the sum by ``input.shape[0]``, the KL per sample; ``'mean'`` divides by the number of elements
    (so by C too) and warns. A negative target (without ``log_target``) is rejected.
    Shapes: equal, any -> scalar, or the input's shape for ``'none'``.
    """
    fn = "kl_div"
    x = _float(fn, "input", input)
    t = _float(fn, "target", target, like=x)
    _same_shape(fn, "input", x, "target", t)
    _checks.reduction(fn, reduction, ("none", "batchmean", "sum", "mean"))
    p, diff = _kl_terms(fn, x, t, log_target)
    if reduction == "mean":
        warnings.warn("lossutils.kl_div: reduction='mean' divides by the number of elements, not "
                      "the batch size; use reduction='batchmean' for the KL divergence per sample",
                      UserWarning, stacklevel=2)
    if reduction == "none":
        return p * diff
    total = _dot(p, diff)
    if reduction == "batchmean":
        return total / x.shape[0] if x.dim() else total
    return total / x.numel() if reduction == "mean" else total


def _distribution(fn: str, arg: str, value, like: Tensor | None = None) -> Tensor:
    """Rows (last dim) must be probability vectors: entries in [0, 1], sums 1 within 1e-6."""
    p = _float(fn, arg, value, like=like)
    if p.dim() == 0:
        _checks.fail(fn, arg, "is a scalar", "a distribution along the last axis, shape (..., K)",
                     "pass the whole probability vector, e.g. [p, 1 - p] for a coin")
    _in_unit_interval(fn, arg, p, "probabilities in [0, 1]",
                      "if these are logits or scores, apply lossutils.softmax first")
    if p.numel():
        sums = p.detach().sum(dim=-1)
        err = (sums - 1.0).abs()
        if float(err.max()) > ROW_SUM_TOL:
            flat = int(torch.argmax(err))
            where = tuple(int(i) for i in np.unravel_index(flat, tuple(err.shape)))
            _checks.fail(fn, arg, f"has a row summing to {float(sums.flatten()[flat]):.6g} "
                         f"(row {where})", f"rows (last axis) that sum to 1 within {ROW_SUM_TOL}",
                         "normalise with p / p.sum(axis=-1, keepdims=True), or softmax if "
                         "these are logits")
    return p


def entropy(p):
    """Shannon entropy per row, ``H(p) = -sum_k p_k log p_k`` in nats, with 0 log 0 = 0.

    Shapes: ``p`` (..., K), rows summing to 1 -> (...) (0-d for one row). Chapter 8.
    """
    p = _distribution("entropy", "p", p)
    return -(p * torch.log(_where_positive(p > 0, p))).sum(dim=-1)


def kl_divergence(p, q):
    """KL(p || q) per row in the maths order, ``sum_k p_k log(p_k / q_k)``, in nats (chapter 8).

    ``0 log(0 / q) = 0``; a class with ``p_k > 0 = q_k`` makes it ``+inf``. Equal to
    ``kl_div(log(q), p, reduction='none').sum(-1)``. Shapes: ``p``, ``q`` (..., K), equal, rows
    summing to 1 -> (...).
    """
    fn = "kl_divergence"
    p = _distribution(fn, "p", p)
    q = _distribution(fn, "q", q, like=p)
    _same_shape(fn, "p", p, "q", q)
    positive = p > 0  # classes p never produces cost 0, whatever q says about them
    log_ratio = torch.log(_where_positive(positive, p)) - torch.log(_where_positive(positive, q))
    return (p * log_ratio).sum(dim=-1)


def distillation_loss(student_logits, teacher_logits, target=None, *, T=4.0, alpha=0.9):
    """Knowledge distillation (Hinton et al. 2015), chapter 8.

    ``soft = T^2 batchmean KL(softmax(teacher / T) || softmax(student / T))``; the ``T^2`` keeps
    the soft gradients' size independent of T. With ``target`` (class ids), the hard
    cross-entropy at T = 1 joins: ``alpha * soft + (1 - alpha) * cross_entropy(student, target)``;
    without it the loss is ``soft`` alone. Shapes: logits (N, C), ``target`` (N,) -> scalar.
    """
    fn = "distillation_loss"
    s = _float(fn, "student_logits", student_logits)
    t = _float(fn, "teacher_logits", teacher_logits, like=s)
    if s.dim() != 2:
        _checks.fail(fn, "student_logits", f"has shape {tuple(s.shape)}", "logits of shape (N, C)",
                     "put the batch first and the classes last; one sample is x.reshape(1, -1)")
    _same_shape(fn, "student_logits", s, "teacher_logits", t)
    T = _checks.positive(fn, "T", _scalar(T))
    alpha = _checks.positive(fn, "alpha", _scalar(alpha), allow_zero=True)
    if alpha > 1:
        _checks.fail(fn, "alpha", f"is {alpha!r}", "a weight in [0, 1]",
                     "alpha weights the soft term and 1 - alpha the hard one; e.g. alpha=0.9")
    if s.numel() and not all(np.isfinite(v / T) for v in (*_min_max(s), *_min_max(t))):
        _checks.fail(fn, "T", f"is {T!r}, which overflows logits / T", "a temperature that "
                     "keeps logits / T finite", "use a temperature of order 1 to 20")
    y = None
    if target is not None:
        y = _class_index(fn, "target", target, s.device)
        if tuple(y.shape) != tuple(s.shape[:1]):
            _checks.fail(fn, "target shape", f"is {tuple(y.shape)}", f"({s.shape[0]},), one "
                         "class id per row", "pass class indices; an (N, 1) target is fixed with "
                         ".reshape(-1)")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= s.shape[1]):
            _checks.fail(fn, "target", f"has class ids in [{int(y.min())}, {int(y.max())}]",
                         f"ids in [0, {s.shape[1] - 1}]", "check the label encoding")
    log_student = torch.log_softmax(s / T, dim=1)
    p, diff = _kl_terms(fn, log_student, torch.log_softmax(t / T, dim=1), log_target=True)
    soft = _dot(p, diff) * (T * T) / s.shape[0]  # T^2 times the batch-mean KL
    if y is None:
        return soft
    return alpha * soft + (1.0 - alpha) * cross_entropy(s, y)


# ----------------------------------------------------------------------------------------------
# Margin and ranking losses (chapter 9)
# ----------------------------------------------------------------------------------------------

def _pm_one(fn: str, target, like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Labels in {-1, 1}, one per sample."""
    y = _float(fn, "target", target, like=like, allow_nan=True)  # NaN: see _labels_in
    if tuple(y.shape) != shape:
        _checks.fail(fn, "target shape", f"is {tuple(y.shape)}", f"{shape}",
                     "one label in {-1, 1} per sample; an (N, 1) target is fixed with "
                     ".reshape(-1)")
    _labels_in(fn, "target", y, (-1.0, 1.0))
    return y


def hinge_embedding_loss(input, target, *, margin=1.0, reduction="mean"):
    """Hinge embedding loss: ``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1``.

    ``x`` is usually a distance: similar pairs pay it (unclipped), dissimilar pairs pay only when
    closer than ``margin`` (>= 0). Shapes: ``input``, ``target`` equal, labels in {-1, 1} ->
    scalar or the input's shape. Chapter 9.
    """
    fn = "hinge_embedding_loss"
    _checks.reduction(fn, reduction)
    deferred = reduction != "none"  # a NaN input makes the sum NaN: scan only then (as _inputs)
    x = _float(fn, "input", input, allow_nan=deferred)
    m = _checks.positive(fn, "margin", _scalar(margin), allow_zero=True)
    y = _pm_one(fn, target, x, tuple(x.shape))
    loss = _reduce(torch.where(y > 0, x, torch.sub(m, x).relu_()), reduction)
    return _nan_checked(fn, loss, {"input": x} if deferred else {})


def margin_ranking_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Ranking hinge ``max(0, margin - y (x1 - x2))``: ``y = 1`` wants x1 above x2 by ``margin``.

    A tie costs ``margin``; no broadcasting. Shapes: (N,) or () each -> scalar or (N,). Chapter 9.
    """
    fn = "margin_ranking_loss"
    x1, x2, unchecked = _inputs(fn, input1, input2, reduction, names=("input1", "input2"))
    m = _number(fn, "margin", margin)
    y = _pm_one(fn, target, x1, tuple(x1.shape))
    # m - y (x1 - x2), then max(., 0), in one temporary updated in place (no step's backward
    # needs the value it overwrites)
    return _nan_checked(fn, _reduce(torch.sub(x2, x1).mul_(y).add_(m).relu_(), reduction),
                        unchecked)


def _cosine(a: Tensor, b: Tensor) -> Tensor:
    """``<a, b> / sqrt((|a|^2 + 1e-12)(|b|^2 + 1e-12))`` along the last dim.

    The 1e-12 inside the root makes a zero vector's cosine 0 instead of 0 / 0.
    """
    aa = _row_squares(a) + COSINE_EPS
    bb = _row_squares(b) + COSINE_EPS
    return _rowdot(a, b) / torch.sqrt(aa * bb)


def _embedding_pair(fn: str, names: tuple[str, ...], values: tuple,
                    allow_nan: bool = False) -> list[Tensor]:
    first = _float(fn, names[0], values[0], allow_nan=allow_nan)
    out = [first] + [_float(fn, n, v, like=first, allow_nan=allow_nan)
                     for n, v in zip(names[1:], values[1:], strict=True)]
    for n, t in zip(names[1:], out[1:], strict=True):
        _same_shape(fn, names[0], first, n, t)
    if first.dim() not in (1, 2):
        _checks.fail(fn, names[0], f"has shape {tuple(first.shape)}", "(N, D) or (D,)",
                     "flatten each embedding to one vector, e.g. x.reshape(len(x), -1)")
    return out


def cosine_embedding_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Cosine embedding loss: ``1 - cos(a, b)`` if ``y = 1``, ``max(0, cos(a, b) - margin)`` if -1.

    ``cos = <a, b> / sqrt((|a|^2 + 1e-12)(|b|^2 + 1e-12))``, so a zero vector has cosine 0.
    Shapes: ``input1``, ``input2`` (N, D) or (D,); ``target`` (N,) or () in {-1, 1} -> scalar or
    (N,). Chapter 9.
    """
    fn = "cosine_embedding_loss"
    _checks.reduction(fn, reduction)
    deferred = reduction != "none"  # a NaN input makes the sum NaN: scan only then (as _inputs)
    a, b = _embedding_pair(fn, ("input1", "input2"), (input1, input2), allow_nan=deferred)
    m = _number(fn, "margin", margin)
    y = _pm_one(fn, target, a, tuple(a.shape[:-1]))
    cos = _cosine(a, b)
    loss = _reduce(torch.where(y > 0, 1.0 - cos, torch.clamp_min(cos - m, 0.0)), reduction)
    return _nan_checked(fn, loss, {"input1": a, "input2": b} if deferred else {})


def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """Triplet loss ``max(d(a, p) - d(a, n) + margin, 0)``, ``d(u, v) = ||u - v + eps||_p``.

    Plain (not squared) distances; ``eps`` is added to the difference, so identical vectors are
    ``eps D^(1/p)`` apart and all-equal embeddings cost exactly ``margin``. ``swap=True`` uses
    ``min(d(a, n), d(p, n))``. ``margin <= 0`` is rejected. Shapes: (N, D) or (D,) each ->
    scalar or (N,). Chapter 9.
    """
    fn = "triplet_margin_loss"
    a, pos, neg = _embedding_pair(fn, ("anchor", "positive", "negative"),
                                  (anchor, positive, negative))
    m = _checks.positive(fn, "margin", _scalar(margin))
    p = _checks.positive(fn, "p", _scalar(p))
    eps = _number(fn, "eps", eps)
    _checks.reduction(fn, reduction)

    def dist(u: Tensor, v: Tensor) -> Tensor:
        return torch.linalg.vector_norm((u - v).add_(eps), ord=p, dim=-1)

    d_ap, d_an = dist(a, pos), dist(a, neg)
    if swap:
        d_an = torch.minimum(d_an, dist(pos, neg))
    return _reduce(torch.relu(d_ap - d_an + m), reduction)


# ----------------------------------------------------------------------------------------------
# Metric learning (chapter 10)
# ----------------------------------------------------------------------------------------------

def _embeddings(fn: str, value, arg: str = "embeddings") -> Tensor:
    x = _float(fn, arg, value)
    if x.dim() != 2:
        _checks.fail(fn, arg, f"has shape {tuple(x.shape)}",
                     "a 2-D array (B, D), one embedding per row",
                     "stack the embeddings as rows; a single vector is x.reshape(1, -1)")
    if not bool(torch.isfinite(x.detach()).all()):
        _checks.fail(fn, arg, "contains inf", "finite numbers",
                     "find where the embedding network overflows, or normalise the embeddings")
    return x


def _labels(fn: str, labels, n: int, device: torch.device) -> Tensor:
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            _checks.fail(fn, "labels", f"has dtype {labels.dtype}", "integer class ids",
                         "cast with labels.long()", TypeError)
        y = labels.to(device=device, dtype=torch.int64)
    else:
        arr = np.asarray(labels)
        if not np.issubdtype(arr.dtype, np.integer):
            _checks.fail(fn, "labels", f"has dtype {arr.dtype}", "integer class ids",
                         "cast with labels.astype(np.int64)", TypeError)
        y = torch.from_numpy(arr.astype(np.int64)).to(device)
    if y.dim() != 1:
        _checks.fail(fn, "labels", f"has shape {tuple(y.shape)}", f"a 1-D array of {n} class ids",
                     "one label per embedding; a (B, 1) array is fixed with labels.reshape(-1)")
    if y.shape[0] != n:
        _checks.fail(fn, "labels", f"has length {y.shape[0]}",
                     f"one label per embedding row ({n})", "pass the labels of the same batch")
    return y


def _cpu_float64(x: Tensor) -> np.ndarray:
    """A NumPy copy for the NumPy flavour (any float dtype, any device)."""
    return x.detach().to("cpu", torch.float64).numpy()


# Rows of the upper triangle per block of the distance matrix: each block's product is written
# into the result in place, and its masks are (R, B) scratch tensors that malloc hands back
_DISTANCE_ROWS = 256


def _sqrt_(t: Tensor) -> None:
    """``t.sqrt_()``; on the CPU through NumPy's square root, which is vectorised where torch's
    float64 one is a scalar loop (2.9 ms against 1.5 ms per 10^6 on this course's machines).
    Both round correctly. Only for tensors outside autograd (a Function's own results)."""
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        a = t.numpy()
        np.sqrt(a, out=a)
    else:
        t.sqrt_()


def _centre(x: Tensor) -> Tensor:
    """A point inside the cloud of rows: the coordinate-wise median of at most 64 rows spread over
    the batch. Each coordinate is a data value, so integer data keep exact distances; a
    translation, so it carries no gradient."""
    return x.detach()[::max(1, x.shape[0] // 64)].median(dim=0).values


class _PairwiseDistances(torch.autograd.Function):
    """Euclidean distances of all pairs, accurate for close pairs too (the NumPy flavour's method).

    The expanded ``|xi|^2 + |xj|^2 - 2 xi.xj`` runs as products of augmented rows
    ``[xi, |xi|^2, 1] . [-2 xj, 1, |xj|^2]`` on rows shifted into the cloud (:func:`_centre`;
    distances do not change, norms shrink to the cloud's own size), one block of rows at a time,
    only on and above the diagonal: half the arithmetic of the full product, and each entry is
    computed once, so its mirror image below the diagonal makes the matrix exactly symmetric with
    a zero diagonal.
    Pairs where the expansion cancelled most of its digits, ``d^2 <= NEAR (|xi|^2 + |xj|^2)``,
    are recomputed from their difference, which is exactly 0 for equal rows.

    The backward pass is ``grad_k = sum_j S_kj (x_k - x_j)`` with ``S = (G + G^T) / D`` (``2 (G +
    G^T)`` for squared distances): ``r_k x_k - (S x)_k``, one matrix product, with the near pairs'
    terms formed from their differences (the expanded form would cancel there) and slope 0 where
    a distance is 0. With ``create_graph=True`` the same sum runs in differentiable operations on
    the saved output, whose derivative is this backward again: second derivatives work.
    """

    @staticmethod
    def forward(ctx, x: Tensor, squared: bool) -> Tensor:
        b = x.shape[0]
        xs = x - _centre(x)
        sq = _rowdot(xs, xs)
        ones = xs.new_ones((b, 1))
        left = torch.cat([xs, sq[:, None], ones], dim=1)
        right = torch.cat([xs * -2.0, ones, sq[:, None]], dim=1)
        d = xs.new_empty((b, b))
        near_i, near_j, near_d2 = [], [], []
        for r0 in range(0, b, _DISTANCE_ROWS):
            r1 = min(r0 + _DISTANCE_ROWS, b)
            block = torch.mm(left[r0:r1], right[r0:].T, out=d[r0:r1, r0:])  # written in place
            diagonal = block[:, :r1 - r0]
            diagonal.triu_(1)
            # candidates against a threshold per row, NEAR (|xi|^2 + max_j |xj|^2), one pass;
            # then the pair threshold NEAR (|xi|^2 + |xj|^2) on the candidates only
            near = torch.le(block, (sq[r0:r1, None] + sq[r0:].max()).mul_(NEAR))
            near[:, :r1 - r0].triu_(1)  # below the diagonal, the zeros above are "near"
            i, j = torch.nonzero(near, as_tuple=True)
            if i.numel():
                keep = block[i, j] <= (sq[i + r0] + sq[j + r0]) * NEAR
                i, j = i[keep], j[keep]
            if i.numel():
                diff = x[i + r0] - x[j + r0]
                exact = _rowdot(diff, diff)
                block[i, j] = exact
                near_i.append(i + r0)
                near_j.append(j + r0)
                near_d2.append(exact)
            if not squared:
                _sqrt_(block)
            d[r1:, r0:r1] = block[:, r1 - r0:].T  # the mirror image below the diagonal
            diagonal += diagonal.T.clone()  # the diagonal block is upper triangular: mirror it
        i, j, d2 = (torch.cat(t) if t else xs.new_zeros(0, dtype=dt)
                    for t, dt in ((near_i, torch.int64), (near_j, torch.int64),
                                  (near_d2, xs.dtype)))
        ctx.squared = squared
        ctx.save_for_backward(x, xs, d, i, j, d2)
        return d

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, xs, d, i, j, d2 = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: the same sum, differentiable
            s = grad + grad.T
            if ctx.squared:
                s = 2.0 * s
            else:  # d is this function's output: its own backward differentiates it
                positive = d > 0
                s = torch.where(positive, s / torch.where(positive, d, 1.0), 0.0)
            s = s * (1.0 - torch.eye(s.shape[0], dtype=s.dtype, device=s.device))
            xs = x - _centre(x)
            return xs * s.sum(dim=1, keepdim=True) - s @ xs, None
        s = grad + grad.T
        if ctx.squared:
            s.mul_(2.0)
        else:
            s.div_(d)  # inf or NaN where d = 0: the diagonal and equal rows, set to 0 below
        s.fill_diagonal_(0.0)
        w = s[i, j]
        if not ctx.squared:
            w = torch.where(d2 > 0, w, 0.0)  # the slope of a zero distance is taken as 0
        s[i, j] = 0.0
        s[j, i] = 0.0
        g = torch.addmm(xs * s.sum(dim=1, keepdim=True), s, xs, alpha=-1.0)
        if i.numel():
            pull = (x[i] - x[j]).mul_(w[:, None])
            g.index_add_(0, i, pull).index_add_(0, j, pull, alpha=-1.0)
        return g, None


def _distances(x: Tensor, squared: bool = False) -> Tensor:
    """All pairwise Euclidean distances of the rows of ``x`` (:class:`_PairwiseDistances`)."""
    if x.shape[0] == 0:
        return x.new_zeros((0, 0))
    return _PairwiseDistances.apply(x, squared)


def pairwise_distances(embeddings, *, squared=False):
    """All Euclidean distances of a batch, ``D[i, j] = ||x_i - x_j||_2`` (chapter 10).

    ``squared=True`` gives ``||x_i - x_j||^2``. The diagonal and equal rows are exactly 0, the
    matrix is exactly symmetric, nothing is negative or NaN, close pairs keep their digits.
    Memory O(B^2). Shapes: ``embeddings`` (B, D) -> (B, B).
    """
    return _distances(_embeddings("pairwise_distances", embeddings), squared=squared)


def mine_semihard_triplets(embeddings, labels):
    """The (anchor, positive, negative) rows that :func:`triplet_semihard_loss` uses (chapter 10).

    One row per ordered pair ``a != p`` with equal labels, sorted by ``a`` then ``p``; the negative
    is the closest one strictly farther than ``p`` (TensorFlow Addons' semi-hard), else the
    farthest; ties go to the lowest index. Anchors without negatives give no rows. Mining picks
    indices, which carry no gradient, so the selection runs once for both flavours: in the NumPy
    flavour's vectorised miner (one sort per row, O(B^2) memory), on a CPU copy.
    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> int64 tensor (P, 3) on their device.
    """
    fn = "mine_semihard_triplets"
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0], x.device)
    rows = _mine_numpy(_cpu_float64(x), y.cpu().numpy())
    return torch.from_numpy(rows).to(x.device)


def triplet_semihard_loss(embeddings, labels, *, margin=1.0):
    """Triplet loss with semi-hard mining, TensorFlow Addons >= 0.11 (chapter 10).

    ``mean over ordered positive pairs (a, p) of max(0, margin + d(a, p) - d(a, n))`` with n from
    :func:`mine_semihard_triplets`, plain Euclidean distances, zero hinges counted. A single-class
    batch takes the negative distance as 0 (each pair costs ``margin + d(a, p)``, as TFA); no
    positive pair gives 0.0. Only the distances of the mined rows are formed, from differences.
    Example: ``[[0, 1], [1, 0]]``, labels ``[0, 0]`` -> 2.4142.
    Shapes: ``embeddings`` (B, D), ``labels`` (B,) -> scalar.
    """
    fn = "triplet_semihard_loss"
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0], x.device)
    m = _checks.positive(fn, "margin", _scalar(margin))
    b = x.shape[0]
    positive = (y[:, None] == y[None, :]) & ~torch.eye(b, dtype=torch.bool, device=x.device)
    if not bool(positive.any()):
        return x.sum() * 0.0  # nothing to average: 0, still attached to the graph
    rows = torch.from_numpy(_mine_numpy(_cpu_float64(x), y.cpu().numpy())).to(x.device)
    if rows.shape[0]:
        a, p, n = rows.unbind(1)
        d_an = torch.linalg.vector_norm(x[a] - x[n], dim=1)
    else:  # a single class: no negative anywhere, and TFA takes d(a, n) as 0
        a, p = torch.nonzero(positive, as_tuple=True)
        d_an = 0.0
    d_ap = torch.linalg.vector_norm(x[a] - x[p], dim=1)
    return torch.relu(m + d_ap - d_an).mean()


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
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0], x.device)
    tau = _checks.positive(fn, "temperature", _scalar(temperature))
    b = x.shape[0]
    neg = y[:, None] != y[None, :]
    same = ~neg & ~torch.eye(b, dtype=torch.bool, device=x.device)
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
    ``d = 0`` is taken as 0. Shapes: ``x1``, ``x2`` (N, D) or (D,); ``same`` (N,) or () in
    {0, 1} -> scalar, or (N,) for ``'none'``.
    """
    fn = "contrastive_loss"
    u, v = _embedding_pair(fn, ("x1", "x2"), (x1, x2))
    m = _checks.positive(fn, "margin", _scalar(margin))
    _checks.reduction(fn, reduction)
    s = _float(fn, "same", same, like=u, allow_nan=True)  # NaN: see _labels_in
    if tuple(s.shape) != tuple(u.shape[:-1]):
        _checks.fail(fn, "same shape", f"is {tuple(s.shape)}", f"{tuple(u.shape[:-1])}, one flag "
                     "per pair", "an (N, 1) array is fixed with same.reshape(-1)")
    _labels_in(fn, "same", s, (0.0, 1.0), "only the flags {0, 1}",
               "1 marks a similar pair, 0 a dissimilar one; map {-1, 1} labels with "
               "same = (y + 1) // 2")
    d = torch.linalg.vector_norm(u - v, dim=-1)  # its backward takes the slope at d = 0 as 0
    loss = torch.where(s == 1.0, 0.5 * d * d, 0.5 * torch.clamp_min(m - d, 0.0) ** 2)
    return _reduce(loss, reduction)
