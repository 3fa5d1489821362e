"""Margin and ranking losses (chapter 9).

Each loss is a hinge ``max(0, margin - score)`` on some score of a pair or triplet: a distance
(``hinge_embedding_loss``), a score difference (``margin_ranking_loss``), a cosine
(``cosine_embedding_loss``) or a difference of distances (``triplet_margin_loss``). Values follow
``torch.nn.functional``; labels are in {-1, 1} (``y = 2 * y01 - 1`` maps 0/1 labels).

Gradients ``<name>_grad`` are w.r.t. the first argument. At a hinge's kink (the hinge's argument
exactly 0) there is no derivative; they return the subgradient torch's built-ins return there,
the slope of the active side, because torch writes these hinges as ``clamp_min(., 0)``, whose
backward passes the gradient at equality. A hinge written with ``relu`` gives 0 there instead.
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


# ------------------------------------------------------------------------------------------------
# hinge_embedding_loss
# ------------------------------------------------------------------------------------------------

def hinge_embedding_loss(input, target, *, margin=1.0, reduction="mean"):
    """Hinge embedding loss, torch's ``F.hinge_embedding_loss`` (chapter 9).

    ``l = x`` where ``y = 1`` and ``l = max(0, margin - x)`` where ``y = -1``. ``x`` is usually a
    distance between two embeddings: similar pairs pay their distance (unclipped, so a negative
    ``x`` gives a negative loss), dissimilar pairs pay only when closer than ``margin`` (>= 0).

    Shapes: ``input``, ``target`` any, equal; labels in {-1, 1}. Returns the input's shape for
    ``'none'``, else a scalar.
    """
    x, y, m = _checks.hinge_embedding("hinge_embedding_loss", input, target, margin, reduction)
    return _checks.reduce(np.where(y > 0, x, np.maximum(m - x, 0.0)), reduction)


def hinge_embedding_loss_grad(input, target, *, margin=1.0, reduction="mean"):
    """Gradient of ``hinge_embedding_loss`` w.r.t. ``input``: 1 where ``y = 1``; where
    ``y = -1``, -1 inside the margin and 0 beyond it.

    At the kink ``x = margin`` it is -1, the subgradient torch's built-in returns (a hinge
    written with ``relu`` gives 0). Shapes: as ``input``. Chapter 9.
    """
    x, y, m = _checks.hinge_embedding("hinge_embedding_loss_grad", input, target, margin,
                                      reduction)
    grad = np.where(y > 0, 1.0, np.where(m - x >= 0, -1.0, 0.0))
    return _checks.reduce_grad(grad, reduction, x.size)


# ------------------------------------------------------------------------------------------------
# margin_ranking_loss
# ------------------------------------------------------------------------------------------------

def margin_ranking_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Ranking hinge, torch's ``F.margin_ranking_loss`` (chapter 9).

    ``l = max(0, -y (x1 - x2) + margin)``: ``y = 1`` asks for ``x1`` ranked above ``x2`` by at
    least ``margin``, ``y = -1`` the reverse. A tie costs ``margin``. No broadcasting.

    Shapes: ``input1``, ``input2``, ``target`` equal, (N,) or (). Returns (N,) for ``'none'``,
    else a scalar.
    """
    x1, x2, y, m = _checks.margin_ranking("margin_ranking_loss", input1, input2, target, margin,
                                          reduction)
    return _checks.reduce(np.maximum(m - y * (x1 - x2), 0.0), reduction)


def margin_ranking_loss_grad(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Gradient of ``margin_ranking_loss`` w.r.t. ``input1``: ``-y`` where the hinge is active.

    At the kink ``y (x1 - x2) = margin`` (a tie, with the default margin 0) it is ``-y``, the
    subgradient torch's built-in returns (a hinge written with ``relu`` gives 0). The gradient
    w.r.t. ``input2`` is its negative. Shapes: as ``input1``. Chapter 9.
    """
    x1, x2, y, m = _checks.margin_ranking("margin_ranking_loss_grad", input1, input2, target,
                                          margin, reduction)
    grad = np.where(m - y * (x1 - x2) >= 0, -y, 0.0)
    return _checks.reduce_grad(grad, reduction, x1.size)


# ------------------------------------------------------------------------------------------------
# cosine_embedding_loss
# ------------------------------------------------------------------------------------------------

def _cosine(a, b):
    """``<a, b> / sqrt((|a|^2 + eps)(|b|^2 + eps))`` along the last axis, and the two padded
    squared norms; the ``eps`` inside the root makes a zero vector's cosine 0 instead of 0/0."""
    aa = np.sum(a * a, axis=-1) + COSINE_EPS
    bb = np.sum(b * b, axis=-1) + COSINE_EPS
    return np.sum(a * b, axis=-1) / np.sqrt(aa * bb), aa, bb


def cosine_embedding_loss(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Cosine embedding loss, torch's ``F.cosine_embedding_loss`` (chapter 9).

    ``cos = <a, b> / sqrt((|a|^2 + 1e-12) (|b|^2 + 1e-12))`` (a zero vector has cosine 0);
    ``l = 1 - cos`` where ``y = 1`` and ``l = max(0, cos - margin)`` where ``y = -1``.
    torch suggests ``margin`` in [0, 0.5]; any real number is accepted, as in torch.

    Shapes: ``input1``, ``input2`` (N, D) or (D,); ``target`` (N,) or () in {-1, 1}. Returns (N,)
    for ``'none'``, else a scalar.
    """
    a, b, y, m = _checks.cosine_embedding("cosine_embedding_loss", input1, input2, target, margin,
                                          reduction)
    cos = _cosine(a, b)[0]
    return _checks.reduce(np.where(y > 0, 1.0 - cos, np.maximum(cos - m, 0.0)), reduction)


def cosine_embedding_loss_grad(input1, input2, target, *, margin=0.0, reduction="mean"):
    """Gradient of ``cosine_embedding_loss`` w.r.t. ``input1``.

    ``d cos / d a = b / sqrt(aa bb) - cos a / aa`` with the padded squared norms ``aa``, ``bb``;
    the loss multiplies it by -1 (y = 1), by 1 (y = -1 and cos >= margin) or by 0. At the kink
    ``cos = margin`` that is the subgradient torch's built-in returns (``relu`` would give 0).
    Shapes: as ``input1``. Chapter 9.
    """
    a, b, y, m = _checks.cosine_embedding("cosine_embedding_loss_grad", input1, input2, target,
                                          margin, reduction)
    cos, aa, bb = _cosine(a, b)
    dcos = b / np.sqrt(aa * bb)[..., None] - (cos / aa)[..., None] * a
    sign = np.where(y > 0, -1.0, np.where(cos - m >= 0, 1.0, 0.0))
    return _checks.reduce_grad(sign[..., None] * dcos, reduction, max(y.size, 1))


# ------------------------------------------------------------------------------------------------
# triplet_margin_loss
# ------------------------------------------------------------------------------------------------

def _lp_norm(v, p):
    return np.linalg.norm(v, ord=p, axis=-1)


def _lp_norm_grad(v, p):
    """d ||v||_p / d v along the last axis: ``sign(v) |v|^(p-1) / ||v||_p^(p-1)``, and 0 at
    ``v = 0`` (torch's choice at that kink). For p = inf the largest entries share it."""
    norm = _lp_norm(v, p)[..., None]
    if np.isinf(p):
        top = (np.abs(v) == norm) & (norm > 0)
        return np.sign(v) * top / np.maximum(top.sum(axis=-1, keepdims=True), 1)
    # |v_i| / ||v|| is raised to p - 1 only where v_i != 0: for p < 1 that power is inf at 0
    r = np.abs(v) / np.where(norm > 0, norm, 1.0)
    return np.sign(v) * np.where(r > 0, np.power(np.where(r > 0, r, 1.0), p - 1.0), 0.0)


def _triplet_distances(a, pos, neg, p, eps, swap):
    """``d(a, p)``, ``d(a, n)`` (the smaller of ``d(a, n)`` and ``d(p, n)`` with ``swap``) and
    the share of its gradient that reaches the anchor: 1, 0 when ``d(p, n)`` is the smaller, 1/2
    at a tie (as torch's ``minimum``)."""
    d_ap, d_an = _lp_norm(a - pos + eps, p), _lp_norm(a - neg + eps, p)
    share = np.ones(d_an.shape)
    if swap:
        d_pn = _lp_norm(pos - neg + eps, p)
        share = np.where(d_an < d_pn, 1.0, np.where(d_an == d_pn, 0.5, 0.0))
        d_an = np.minimum(d_an, d_pn)
    return d_ap, d_an, share


def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """Triplet loss, torch's ``F.triplet_margin_loss`` (chapter 9).

    ``l = max(d(a, p) - d(a, n) + margin, 0)`` with the plain (not squared) distance
    ``d(u, v) = ||u - v + eps||_p``: ``eps`` is added to the difference, so identical vectors are
    ``eps * D^(1/p)`` apart and all-equal embeddings cost exactly ``margin``. ``swap=True`` uses
    ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al. 2016).
    ``margin <= 0`` is rejected, as in torch: the loss would then ignore every triplet that is
    already ordered.

    Shapes: ``anchor``, ``positive``, ``negative`` (N, D) or (D,), equal. Returns (N,) for
    ``'none'``, else a scalar.
    """
    a, pos, neg, m, p, eps = _checks.triplet("triplet_margin_loss", anchor, positive, negative,
                                             margin, p, eps, reduction)
    d_ap, d_an, _ = _triplet_distances(a, pos, neg, p, eps, swap)
    return _checks.reduce(np.maximum(d_ap - d_an + m, 0.0), reduction)


def triplet_margin_loss_grad(anchor, positive, negative, *, margin=1.0, p=2, eps=1e-6, swap=False,
                             reduction="mean"):
    """Gradient of ``triplet_margin_loss`` w.r.t. ``anchor``.

    Where the hinge is active: ``grad d(a, p) - grad d(a, n)``, with
    ``grad ||v||_p = sign(v) |v|^(p-1) / ||v||_p^(p-1)`` (``v / ||v||`` for p = 2). With
    ``swap=True`` and ``d(p, n)`` the smaller, the negative term does not involve the anchor
    (at a tie it gets half, as torch's ``minimum`` does). At the kink
    ``d(a, p) - d(a, n) + margin = 0`` the hinge counts as active: the subgradient torch's
    built-in returns (``relu`` would give 0). Shapes: as ``anchor``. Chapter 9.
    """
    a, pos, neg, m, p, eps = _checks.triplet("triplet_margin_loss_grad", anchor, positive,
                                             negative, margin, p, eps, reduction)
    d_ap, d_an, share = _triplet_distances(a, pos, neg, p, eps, swap)
    grad = _lp_norm_grad(a - pos + eps, p) - share[..., None] * _lp_norm_grad(a - neg + eps, p)
    active = (d_ap - d_an + m >= 0)[..., None]
    return _checks.reduce_grad(np.where(active, grad, 0.0), reduction, max(d_ap.size, 1))
