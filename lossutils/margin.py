"""Margin and ranking losses (chapter 9).

Each loss is a hinge ``max(0, margin - score)`` on some score of a pair or triplet: a distance
(``hinge_embedding_loss``), a score difference (``margin_ranking_loss``), a cosine
(``cosine_embedding_loss``) or a difference of distances (``triplet_margin_loss``). Values follow
``torch.nn.functional``; labels are in {-1, 1} (``y = 2 * y01 - 1`` maps 0/1 labels).
Gradients ``<name>_grad`` are w.r.t. the first argument; at a hinge's kink they take the flat side.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "hinge_embedding_loss", "hinge_embedding_loss_grad",
    "margin_ranking_loss", "margin_ranking_loss_grad",
    "cosine_embedding_loss", "cosine_embedding_loss_grad",
    "triplet_margin_loss", "triplet_margin_loss_grad",
]

# Added to each squared norm inside the square root. torch's kernel holds 1e-12 in a float32
# constant, i.e. 9.99999996e-13; using the same number keeps even a zero vector's gradient
# (which is b / sqrt(eps * |b|^2)) equal to torch's to the last digits.
COSINE_EPS = float(np.float32(1e-12))


def _number(fn: str, arg: str, value) -> float:
    """A real hyper-parameter that may be zero or negative (torch puts no bound on it)."""
    if not np.isscalar(value) or isinstance(value, (str, bool)) or np.isnan(value):
        _checks.fail(fn, arg, f"is {value!r}", "a real number", f"pass a number, e.g. {arg}=0.0",
                     TypeError)
    return float(value)


def _pm_one(fn: str, target, shape: tuple[int, ...]) -> np.ndarray:
    """Labels in {-1, 1}, one per sample (shape ``shape``)."""
    y = _checks.as_float(fn, "target", target)
    if y.shape != shape:
        _checks.fail(fn, "target shape", f"is {y.shape}", f"{shape}",
                     "one label in {-1, 1} per sample; an (N, 1) target is fixed with "
                     ".reshape(-1)")
    _checks.labels_in(fn, "target", y, (-1.0, 1.0))
    return y


# ------------------------------------------------------------------------------------------------
# hinge_embedding_loss
# ------------------------------------------------------------------------------------------------

def _hinge_embedding_args(fn, input, target, margin, reduction):
    x = _checks.as_float(fn, "input", input)
    m = _checks.positive(fn, "margin", margin, allow_zero=True)
    _checks.reduction(fn, reduction)
    y = _pm_one(fn, target, x.shape)
    return x, y, m


def hinge_embedding_loss(input, target, *, margin=1.0, reduction="mean"):
    """Hinge embedding loss, torch's ``F.hinge_embedding_loss`` (chapter 9).

    ``l = x`` where ``y = 1`` and ``l = max(0, margin - x)`` where ``y = -1``. ``x`` is usually a
    distance between two embeddings: similar pairs pay their distance (unclipped, so a negative
    ``x`` gives a negative loss), dissimilar pairs pay only when closer than ``margin`` (>= 0).

    Shapes: ``input``, ``target`` any, equal; labels in {-1, 1} -> scalar, or the input's shape
    for ``'none'``.
    """
    fn = "hinge_embedding_loss"
    x, y, m = _hinge_embedding_args(fn, input, target, margin, reduction)
    loss = np.where(y > 0, x, np.maximum(m - x, 0.0))
    return _checks.reduce(loss, reduction)


def hinge_embedding_loss_grad(input, target, *, margin=1.0, reduction="mean"):
    """Gradient of ``hinge_embedding_loss`` w.r.t. ``input``: 1 (y = 1), -1 inside the margin.

    Shapes: as ``input``. Chapter 9.
    """
    fn = "hinge_embedding_loss_grad"
    x, y, m = _hinge_embedding_args(fn, input, target, margin, reduction)
    g = np.where(y > 0, 1.0, np.where(m - x > 0, -1.0, 0.0))
    return _checks.reduce_grad(g, reduction, x.size)


# ------------------------------------------------------------------------------------------------
# margin_ranking_loss
# ------------------------------------------------------------------------------------------------

def _ranking_args(fn, input1, input2, target, margin, reduction):
    x1 = _checks.as_float(fn, "input1", input1)
    x2 = _checks.as_float(fn, "input2", input2)
    _checks.same_shape(fn, "input1", x1, "input2", x2)
    m = _number(fn, "margin", margin)
    _checks.reduction(fn, reduction)
    y = _pm_one(fn, target, x1.shape)
    return x1, x2, y, m


def margin_ranking_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Ranking hinge, torch's ``F.margin_ranking_loss`` (chapter 9).

    ``l = max(0, -y * (x1 - x2) + margin)``: ``y = 1`` asks for ``x1`` ranked above ``x2`` by at
    least ``margin``, ``y = -1`` the reverse. A tie costs ``margin``. No broadcasting.

    Shapes: ``input1``, ``input2``, ``target`` equal, (N,) or () -> scalar, or (N,) for ``'none'``.
    """
    fn = "margin_ranking_loss"
    x1, x2, y, m = _ranking_args(fn, input1, input2, target, margin, reduction)
    return _checks.reduce(np.maximum(m - y * (x1 - x2), 0.0), reduction)


def margin_ranking_loss_grad(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Gradient of ``margin_ranking_loss`` w.r.t. ``input1``: ``-y`` where the hinge is active.

    The gradient w.r.t. ``input2`` is its negative. Shapes: as ``input1``. Chapter 9.
    """
    fn = "margin_ranking_loss_grad"
    x1, x2, y, m = _ranking_args(fn, input1, input2, target, margin, reduction)
    g = np.where(m - y * (x1 - x2) > 0, -y, 0.0)
    return _checks.reduce_grad(g, reduction, x1.size)


# ------------------------------------------------------------------------------------------------
# cosine_embedding_loss
# ------------------------------------------------------------------------------------------------

def _pair_args(fn, input1, input2, target, margin, reduction):
    a, b = _checks.embedding_pair(fn, "input1", input1, "input2", input2)
    m = _number(fn, "margin", margin)
    _checks.reduction(fn, reduction)
    y = _pm_one(fn, target, a.shape[:-1])
    return a, b, y, m


def _cosine(a: np.ndarray, b: np.ndarray):
    """Cosine along the last axis and the two padded squared norms it used."""
    aa = np.einsum("...i,...i->...", a, a) + COSINE_EPS
    bb = np.einsum("...i,...i->...", b, b) + COSINE_EPS
    # the 1e-12 inside the root makes a zero vector's cosine 0 instead of 0/0
    return np.einsum("...i,...i->...", a, b) / np.sqrt(aa * bb), aa, bb


def cosine_embedding_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Cosine embedding loss, torch's ``F.cosine_embedding_loss`` (chapter 9).

    ``cos = <a, b> / sqrt((|a|^2 + 1e-12) (|b|^2 + 1e-12))`` (a zero vector has cosine 0);
    ``l = 1 - cos`` where ``y = 1`` and ``l = max(0, cos - margin)`` where ``y = -1``.
    torch suggests ``margin`` in [0, 0.5]; any real number is accepted, as in torch.

    Shapes: ``input1``, ``input2`` (N, D) or (D,); ``target`` (N,) or () in {-1, 1} -> scalar,
    or (N,) for ``'none'``.
    """
    fn = "cosine_embedding_loss"
    a, b, y, m = _pair_args(fn, input1, input2, target, margin, reduction)
    cos = _cosine(a, b)[0]
    return _checks.reduce(np.where(y > 0, 1.0 - cos, np.maximum(cos - m, 0.0)), reduction)


def cosine_embedding_loss_grad(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Gradient of ``cosine_embedding_loss`` w.r.t. ``input1``.

    ``d cos / d a = b / sqrt(aa * bb) - cos * a / aa`` with the padded squared norms ``aa``,
    ``bb``; the loss multiplies it by -1 (y = 1), by 1 (y = -1 and cos > margin) or by 0.
    Shapes: as ``input1``. Chapter 9.
    """
    fn = "cosine_embedding_loss_grad"
    a, b, y, m = _pair_args(fn, input1, input2, target, margin, reduction)
    cos, aa, bb = _cosine(a, b)
    dcos = b / np.sqrt(aa * bb)[..., None] - (cos / aa)[..., None] * a
    sign = np.where(y > 0, -1.0, np.where(cos - m > 0, 1.0, 0.0))
    return _checks.reduce_grad(sign[..., None] * dcos, reduction, max(y.size, 1))


# ------------------------------------------------------------------------------------------------
# triplet_margin_loss
# ------------------------------------------------------------------------------------------------

def _triplet_args(fn, anchor, positive, negative, margin, p, eps, reduction):
    a = _checks.as_float(fn, "anchor", anchor)
    pos = _checks.as_float(fn, "positive", positive)
    neg = _checks.as_float(fn, "negative", negative)
    _checks.same_shape(fn, "anchor", a, "positive", pos)
    _checks.same_shape(fn, "anchor", a, "negative", neg)
    if a.ndim not in (1, 2):
        _checks.fail(fn, "anchor", f"has shape {a.shape}", "(N, D) or (D,)",
                     "flatten each embedding to one vector, e.g. x.reshape(len(x), -1)")
    m = _checks.positive(fn, "margin", margin)
    p = _checks.positive(fn, "p", p)
    eps = _number(fn, "eps", eps)
    _checks.reduction(fn, reduction)
    return a, pos, neg, m, p, eps


def _lp_norm(v: np.ndarray, p: float) -> np.ndarray:
    return np.linalg.norm(v, ord=p, axis=-1)


def _lp_norm_grad(v: np.ndarray, norm: np.ndarray, p: float) -> np.ndarray:
    """d ||v||_p / d v along the last axis; 0 at v = 0 (torch's choice at the kink)."""
    if np.isinf(p):
        top = (np.abs(v) == norm[..., None]) & (norm[..., None] > 0)
        # ties share the gradient equally, as torch does
        return np.sign(v) * top / np.maximum(top.sum(axis=-1, keepdims=True), 1)
    r = np.abs(v) / np.where(norm > 0, norm, 1.0)[..., None]
    nonzero = r > 0
    # |v_i|^(p-1) is taken only where v_i != 0: for p < 1 it would be inf at 0
    g = np.sign(v) * np.where(nonzero, np.power(np.where(nonzero, r, 1.0), p - 1.0), 0.0)
    return np.where(norm[..., None] > 0, g, 0.0)


def _triplet_terms(a, pos, neg, p, eps, swap):
    v_ap, v_an = a - pos + eps, a - neg + eps
    d_ap, d_an = _lp_norm(v_ap, p), _lp_norm(v_an, p)
    share_an = np.ones(d_an.shape)
    if swap:
        d_pn = _lp_norm(pos - neg + eps, p)
        # the share of the minimum's gradient that d(a, n) gets: all, none, or half at a tie
        share_an = np.where(d_an < d_pn, 1.0, np.where(d_an == d_pn, 0.5, 0.0))
        d_an = np.minimum(d_an, d_pn)
    return v_ap, v_an, d_ap, d_an, share_an


def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """Triplet loss, torch's ``F.triplet_margin_loss`` (chapter 9).

    ``l = max(d(a, p) - d(a, n) + margin, 0)`` with the plain (not squared) distance
    ``d(u, v) = ||u - v + eps||_p``: ``eps`` is added to the difference, so identical vectors are
    ``eps * D^(1/p)`` apart and all-equal embeddings cost exactly ``margin``. ``swap=True`` uses
    ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al. 2016).
    ``margin <= 0`` is rejected, as in torch: the loss would then ignore every triplet that is
    already ordered.

    Shapes: ``anchor``, ``positive``, ``negative`` (N, D) or (D,), equal -> scalar, or (N,) for
    ``'none'``.
    """
    fn = "triplet_margin_loss"
    a, pos, neg, m, p, eps = _triplet_args(fn, anchor, positive, negative, margin, p, eps,
                                           reduction)
    _, _, d_ap, d_an, _ = _triplet_terms(a, pos, neg, p, eps, swap)
    return _checks.reduce(np.maximum(d_ap - d_an + m, 0.0), reduction)


def triplet_margin_loss_grad(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                             reduction="mean"):
    """Gradient of ``triplet_margin_loss`` w.r.t. ``anchor``.

    Where the hinge is active: ``grad d(a, p) - grad d(a, n)``, with
    ``grad ||v||_p = sign(v) |v|^(p-1) / ||v||_p^(p-1)`` (``v / ||v||`` for p = 2). With
    ``swap=True`` and ``d(p, n)`` the smaller, the negative term does not involve the anchor
    (at a tie it gets half, as torch's ``minimum`` does).
    Shapes: as ``anchor``. Chapter 9.
    """
    fn = "triplet_margin_loss_grad"
    a, pos, neg, m, p, eps = _triplet_args(fn, anchor, positive, negative, margin, p, eps,
                                           reduction)
    v_ap, v_an, d_ap, d_an, share_an = _triplet_terms(a, pos, neg, p, eps, swap)
    active = (d_ap - d_an + m > 0)[..., None]
    grad_an = _lp_norm_grad(v_an, _lp_norm(v_an, p), p)
    g = _lp_norm_grad(v_ap, d_ap, p) - share_an[..., None] * grad_an
    return _checks.reduce_grad(np.where(active, g, 0.0), reduction, max(d_ap.size, 1))
