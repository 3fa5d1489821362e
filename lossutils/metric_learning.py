"""Embedding losses and triplet mining (chapter 10).

A batch is ``embeddings`` (B, D), one row per sample, and integer ``labels`` (B,). Pairs with equal
labels are positives, pairs with different labels negatives; a sample is never its own positive.
Distances are plain (not squared) Euclidean unless ``squared=True``, and embeddings are used as
given (not normalised), as in TensorFlow Addons' ``triplet_semihard_loss``; ``nt_xent_loss``
normalises, as pytorch-metric-learning does.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "pairwise_distances", "mine_semihard_triplets", "triplet_semihard_loss", "nt_xent_loss",
    "contrastive_loss",
]

# Pairs with d^2 below this fraction of |xi|^2 + |xj|^2 are recomputed from their difference:
# there the expanded form has cancelled most of its digits.
NEAR = 1e-2
RECOMPUTE_CHUNK = 8192  # pairs per batch of that recomputation, so its memory stays bounded
NORMALIZE_EPS = 1e-12   # torch's F.normalize floor on the norm: a zero vector stays zero


# ------------------------------------------------------------------------------------------------
# Distances
# ------------------------------------------------------------------------------------------------

def distance_frame(x):
    """``(shift, scale)``: the rows ``(x - shift) / scale`` have the distances of ``x`` divided by
    ``scale``, and norms that suit the expanded form ``|xi|^2 + |xj|^2 - 2 xi.xj``.

    That form loses the digits of ``d^2`` that lie below the rounding of ``|xi|^2``, so the rows
    are first moved to the cloud's median (distances do not change; norms shrink to the cloud's
    own size; a median of integers stays a multiple of 1/2, so integer data keep exact distances).
    Coordinates whose squares would overflow or underflow are divided by a power of two (exact).
    Shared by both flavours.
    """
    shift = np.median(x, axis=0) if len(x) else np.zeros(x.shape[1:])
    top = float(np.abs(x - shift).max()) if x.size else 0.0
    if top == 0.0 or 2.0**-400 < top < 2.0**400:
        return shift, 1.0
    return shift, float(2.0 ** np.frexp(top)[1])  # a power of two just above top


def near_pairs(d2, norms):
    """The pairs ``i <= j`` where the expanded ``d2`` cancelled most of its digits:
    ``d2 <= NEAR (|x_i|^2 + |x_j|^2)`` (``norms``). That takes in the diagonal, every pair of equal
    rows and any negative ``d2``. Shared by both flavours."""
    i, j = np.nonzero(d2 <= NEAR * norms)
    upper = i <= j
    return i[upper], j[upper]


def _scaled_squared_distances(x):
    """``(|x_i - x_j|^2 / scale^2, scale)`` for all pairs: exactly symmetric with a zero diagonal,
    never negative (``scale`` from :func:`distance_frame`)."""
    shift, scale = distance_frame(x)
    xs = (x - shift) / scale
    sq = np.sum(xs**2, axis=1)
    norms = sq[:, None] + sq[None, :]
    # exactly symmetric, as xs @ xs.T is: NumPy multiplies a matrix by its own transpose with
    # BLAS's syrk, which computes one triangle, and mirrors it
    d2 = norms - 2.0 * (xs @ xs.T)
    i, j = near_pairs(d2, norms)
    # recompute those from the difference, which is exactly 0 on the diagonal and for equal rows
    for start in range(0, i.size, RECOMPUTE_CHUNK):
        ii, jj = i[start:start + RECOMPUTE_CHUNK], j[start:start + RECOMPUTE_CHUNK]
        d2[ii, jj] = d2[jj, ii] = np.sum(((x[ii] - x[jj]) / scale) ** 2, axis=1)
    return d2, scale


def _distances(x):
    d2, scale = _scaled_squared_distances(x)
    return np.sqrt(d2) * scale


def pairwise_distances(embeddings, *, squared=False):
    """All Euclidean distances in a batch, ``D[i, j] = ||x_i - x_j||_2`` (chapter 10).

    ``squared=True`` returns ``||x_i - x_j||^2``. Computed as ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j`` (one
    matrix product) on rows moved into the cloud, with the pairs where that cancels recomputed
    from their difference (see :func:`distance_frame`): the diagonal is exactly 0, equal rows are
    exactly 0 apart, no entry is negative or NaN, and every entry keeps a relative accuracy of
    about ``D * 1e-14``, nearly equal rows included. Memory O(B^2).

    Shapes: ``embeddings`` (B, D) -> (B, B), symmetric.
    """
    d2, scale = _scaled_squared_distances(_checks.embeddings("pairwise_distances", embeddings))
    return d2 * scale * scale if squared else np.sqrt(d2) * scale


# ------------------------------------------------------------------------------------------------
# Semi-hard mining
# ------------------------------------------------------------------------------------------------

def _semihard_rows(d, labels):
    """(anchor, positive, negative) for every ordered positive pair of an anchor that has a
    negative, by anchor then positive; ``d`` is the distance matrix."""
    rows = []
    for a in range(len(labels)):
        negatives = np.flatnonzero(labels != labels[a])
        positives = np.flatnonzero(labels == labels[a])
        positives = positives[positives != a]
        if negatives.size == 0 or positives.size == 0:
            continue
        # the anchor's negatives by distance; a stable sort puts ties in index order
        order = np.argsort(d[a, negatives], kind="stable")
        negatives, d_an = negatives[order], d[a, negatives][order]
        # per positive, the first negative strictly farther than it ...
        first_farther = np.searchsorted(d_an, d[a, positives], side="right")
        # ... else the farthest one (the lowest index among equally far ones)
        farthest = np.searchsorted(d_an, d_an[-1], side="left")
        n = negatives[np.where(first_farther < negatives.size, first_farther, farthest)]
        rows.append(np.column_stack([np.full(positives.size, a), positives, n]))
    return np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int64)


def mine_semihard_triplets(embeddings, labels):
    """The (anchor, positive, negative) rows that ``triplet_semihard_loss`` uses (chapter 10).

    One row per ordered pair ``a != p`` with ``labels[a] == labels[p]``, sorted by ``a`` then
    ``p``. The negative is semi-hard in TensorFlow Addons' sense: the one with the smallest
    ``d(a, n)`` strictly greater than ``d(a, p)``; if no negative is farther than the positive,
    the farthest negative (the fallback). Ties go to the lowest index. Distances are plain
    Euclidean (:func:`pairwise_distances`). Anchors without any negative (a single-class batch)
    give no rows. One sort per anchor; memory O(B^2).

    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> int64 array (P, 3).
    """
    fn = "mine_semihard_triplets"
    x = _checks.embeddings(fn, embeddings)
    y = _checks.batch_labels(fn, labels, x.shape[0])
    return _semihard_rows(_distances(x), y).astype(np.int64)


def triplet_semihard_loss(embeddings, labels, *, margin=1.0):
    """Triplet loss on semi-hard negatives mined in the batch, TF Addons >= 0.11 (chapter 10).

    For every ordered positive pair (a, p) with its semi-hard negative n (see
    ``mine_semihard_triplets``)::

        loss = mean over all ordered positive pairs of max(0, margin + d(a, p) - d(a, n))

    with plain Euclidean distances on the embeddings as given; pairs whose hinge is 0 count in the
    mean. That is chapter 9's ``triplet_margin_loss`` (``eps=0``) on the mined triplets.
    Degenerate batches: with a single class there is no negative, and, as in TFA, the negative
    distance is taken as 0, so each pair costs ``margin + d(a, p)``. With no positive pair at all
    (every label distinct) TFA divides 0 by 0 and returns NaN; here the loss is 0.0, as for any
    loss with nothing to average.

    Example (TFA's docstring): ``[[0, 1], [1, 0]]`` with labels ``[0, 0]`` gives
    ``1 + sqrt(2) = 2.4142...``.

    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints, ``margin`` > 0 -> scalar.
    """
    fn = "triplet_semihard_loss"
    x = _checks.embeddings(fn, embeddings)
    y = _checks.batch_labels(fn, labels, x.shape[0])
    m = _checks.positive(fn, "margin", margin)
    d = _distances(x)
    rows = _semihard_rows(d, y)
    if rows.size:
        a, p, n = rows.T
        d_an = d[a, n]
    else:  # a single class (no negative anywhere), or no positive pair
        a, p = np.nonzero((y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool))
        d_an = 0.0
    if a.size == 0:
        return np.float64(0.0)
    return np.float64(np.maximum(m + d[a, p] - d_an, 0.0).mean())


# ------------------------------------------------------------------------------------------------
# NT-Xent (SimCLR / InfoNCE) and the contrastive pair loss
# ------------------------------------------------------------------------------------------------

def nt_xent_loss(embeddings, labels, *, temperature=0.07):
    """NT-Xent (normalised temperature-scaled cross-entropy), pytorch-metric-learning's
    ``NTXentLoss`` (chapter 10).

    With ``s_ij`` the cosine similarity of the L2-normalised embeddings (a zero vector stays 0),
    for each ordered positive pair (a, p)::

        l_ap = -log( exp(s_ap / tau) / (exp(s_ap / tau) + sum_{n: y_n != y_a} exp(s_an / tau))
                     + tiny )

    and the loss is the mean over all ordered positive pairs. Other positives of the anchor are
    not in the denominator (SupCon puts them there). As in the peer, the exponents are shifted by
    their maximum per pair (nothing overflows) and ``tiny`` (the smallest normal float64,
    ~2.2e-308) is added inside the log, so an underflowing ratio costs ``-log(tiny) = 708.4``
    instead of ``inf``. No positive pair or no negative pair -> 0.0.
    With two views per instance this is SimCLR's loss.

    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> scalar.
    """
    fn = "nt_xent_loss"
    x = _checks.embeddings(fn, embeddings)
    y = _checks.batch_labels(fn, labels, x.shape[0])
    tau = _checks.positive(fn, "temperature", temperature)
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    neg = y[:, None] != y[None, :]
    if not same.any() or not neg.any():
        return np.float64(0.0)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), NORMALIZE_EPS)
    logits = (xn @ xn.T) / tau
    neg_logits = np.where(neg, logits, -np.inf)
    top_neg = neg_logits.max(axis=1)  # every anchor has a negative once the batch has two classes
    neg_sum = np.exp(neg_logits - top_neg[:, None]).sum(axis=1)  # exp(-inf) = 0 off the negatives
    a, p = np.nonzero(same)
    pos = logits[a, p]
    shift = np.maximum(pos, top_neg[a])
    numerator = np.exp(pos - shift)
    denominator = numerator + neg_sum[a] * np.exp(top_neg[a] - shift)
    ratio = numerator / denominator
    return np.float64(np.mean(-np.log(ratio + np.finfo(np.float64).tiny)))


def contrastive_loss(x1, x2, same, *, margin=1.0, reduction="mean"):
    """Contrastive pair loss of Hadsell, Chopra and LeCun 2006 (chapter 10).

    With the plain Euclidean distance ``d = ||x1 - x2||_2``::

        l = 0.5 * d^2                      if same = 1 (pull similar pairs together)
        l = 0.5 * max(0, margin - d)^2     if same = 0 (push dissimilar pairs beyond the margin)

    The factor 1/2 is the paper's (its gradient is then ``d`` times a unit vector); some code
    drops it, which doubles the loss. ``same`` is 1 for a similar pair, 0 for a dissimilar one.

    Shapes: ``x1``, ``x2`` (N, D) or (D,), equal; ``same`` (N,) or () in {0, 1} -> scalar, or
    (N,) for ``'none'``.
    """
    u, v, s, m = _checks.contrastive("contrastive_loss", x1, x2, same, margin, reduction)
    d = np.sqrt(np.sum((u - v) ** 2, axis=-1))
    loss = np.where(s == 1.0, 0.5 * d**2, 0.5 * np.maximum(m - d, 0.0) ** 2)
    return _checks.reduce(loss, reduction)
