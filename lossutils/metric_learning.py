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

# Pairs with |xi - xj|^2 below this fraction of |xi|^2 + |xj|^2 are recomputed from the
# difference: there the expanded form has cancelled most of its digits.
NEAR = 1e-2
RECOMPUTE_CHUNK = 8192  # pairs per block of the direct recomputation (bounded memory)
NORMALIZE_EPS = 1e-12   # torch's F.normalize floor on the norm: a zero vector stays zero


# ------------------------------------------------------------------------------------------------
# Input checks
# ------------------------------------------------------------------------------------------------

def _embeddings(fn: str, embeddings, arg: str = "embeddings") -> np.ndarray:
    x = _checks.as_float(fn, arg, embeddings)
    if x.ndim != 2:
        _checks.fail(fn, arg, f"has shape {x.shape}", "a 2-D array (B, D), one embedding per row",
                     "stack the embeddings as rows; a single vector is x.reshape(1, -1)")
    if not np.isfinite(x).all():
        _checks.fail(fn, arg, "contains inf", "finite numbers",
                     "find where the embedding network overflows, or normalise the embeddings")
    # beyond this, a distance itself would overflow float64
    limit = np.finfo(np.float64).max / (2.0 * np.sqrt(max(x.shape[1], 1)))
    if x.size and np.abs(x).max() > limit:
        _checks.fail(fn, arg, f"has entries as large as {np.abs(x).max():.3g}",
                     f"magnitudes below {limit:.3g}, so that distances stay finite",
                     "normalise the embeddings, e.g. x / np.linalg.norm(x, axis=1, keepdims=True)")
    return x


def _labels(fn: str, labels, n: int) -> np.ndarray:
    _checks._reject_tensor(fn, "labels", labels)
    y = np.asarray(labels)
    if not np.issubdtype(y.dtype, np.integer):
        _checks.fail(fn, "labels", f"has dtype {y.dtype}", "integer class ids",
                     "cast with labels.astype(np.int64)", TypeError)
    if y.ndim != 1:
        _checks.fail(fn, "labels", f"has shape {y.shape}", f"a 1-D array of {n} class ids",
                     "one label per embedding; a (B, 1) array is fixed with labels.reshape(-1)")
    if y.shape[0] != n:
        _checks.fail(fn, "labels", f"has length {y.shape[0]}",
                     f"one label per embedding row ({n})", "pass the labels of the same batch")
    return y.astype(np.int64, copy=False)


# ------------------------------------------------------------------------------------------------
# Distances
# ------------------------------------------------------------------------------------------------

def _scaled_squared_distances(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Squared distances ``d2 / scale^2`` and ``scale``, a power of two (so scaling is exact).

    The expanded form ``|xi|^2 + |xj|^2 - 2 xi.xj`` runs on BLAS in O(B^2) memory. Two things keep
    it accurate: the rows are first shifted to a point inside the cloud (distances do not change,
    norms shrink to the cloud's own size), and pairs where it cancelled badly are recomputed as
    ``sum (xi - xj)^2``, which is exactly 0 for equal rows and never negative.
    """
    b = x.shape[0]
    # a data value per coordinate: integer data stay integers, so their distances stay exact
    shift = np.partition(x, b // 2, axis=0)[b // 2] if b else np.zeros(x.shape[1])
    xs = x - shift
    top = float(np.abs(xs).max()) if xs.size else 0.0
    if top == 0.0:
        return np.zeros((b, b)), 1.0
    scale = 1.0
    if not 2.0**-400 < top < 2.0**400:  # squares would under- or overflow: rescale, exactly
        scale = float(np.ldexp(1.0, int(np.frexp(top)[1]) - 1))  # power of two in (top/2, top]
        xs /= scale
    sq = np.einsum("ij,ij->i", xs, xs)
    outer = np.add.outer(sq, sq)
    d2 = xs @ xs.T
    d2 *= -2.0
    d2 += outer  # same rounding for (i, j) and (j, i): the matrix stays exactly symmetric
    outer *= NEAR
    near = d2 <= outer
    # the diagonal is always "near"; most batches have no other near pair
    flat = np.flatnonzero(near) if np.count_nonzero(near) > b else np.zeros(0, dtype=np.intp)
    i, j = np.divmod(flat, b)
    upper = i < j
    i, j = i[upper], j[upper]
    for start in range(0, i.size, RECOMPUTE_CHUNK):
        ii, jj = i[start:start + RECOMPUTE_CHUNK], j[start:start + RECOMPUTE_CHUNK]
        diff = (x[ii] - x[jj]) / scale
        exact = np.einsum("ij,ij->i", diff, diff)
        d2[ii, jj] = exact
        d2[jj, ii] = exact
    np.fill_diagonal(d2, 0.0)
    return d2, scale


def _distances(x: np.ndarray) -> np.ndarray:
    d2, scale = _scaled_squared_distances(x)
    d = np.sqrt(d2, out=d2)
    if scale != 1.0:
        d *= scale
    return d


def pairwise_distances(embeddings, *, squared=False):
    """All Euclidean distances in a batch, ``D[i, j] = ||x_i - x_j||_2`` (chapter 10).

    ``squared=True`` returns ``||x_i - x_j||^2``. The diagonal is exactly 0, equal rows are exactly
    0 apart, no entry is negative or NaN, and every entry keeps a relative accuracy of about
    ``D * 1e-14`` or better, nearly equal rows included: pairs that the fast expanded form would
    get wrong are recomputed from their difference. Memory O(B^2).

    Shapes: ``embeddings`` (B, D) -> (B, B), symmetric.
    """
    x = _embeddings("pairwise_distances", embeddings)
    if squared:
        d2, scale = _scaled_squared_distances(x)
        if scale != 1.0:
            d2 *= scale * scale
        return d2
    return _distances(x)


# ------------------------------------------------------------------------------------------------
# Semi-hard mining
# ------------------------------------------------------------------------------------------------

def _argsort_rows(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable argsort of each row of a non-negative matrix, and the rows that contain ties.

    A fast (SIMD, unstable) float sort does the work: the lowest mantissa bits of each distance
    are replaced by its column index, so sorting the values also sorts the indices along. That is
    exact unless two values of a row agree in all the remaining bits (ties, or near-ties 1e-13
    apart); those rows, usually none, are re-sorted with a stable argsort.
    """
    b = d.shape[1]
    bits = max(int(b - 1).bit_length(), 1)
    low = (1 << bits) - 1
    # d holds no -0.0 (its sign bit would sort it first): sums of squares and sqrt give +0.0
    keys = d.view(np.int64) & ~low
    keys |= np.arange(b, dtype=np.int64)
    # non-negative finite doubles order like their bit patterns, so a float sort sorts the keys
    keys = np.sort(keys.view(np.float64), axis=1).view(np.int64)
    order = keys & low
    keys >>= bits
    tie_rows = np.flatnonzero((keys[:, 1:] == keys[:, :-1]).any(axis=1))
    if tie_rows.size:
        order[tie_rows] = np.argsort(d[tie_rows], axis=1, kind="stable")
    return order, tie_rows


def _tied_rows_positions(d_rows, order_rows, same_rows):
    """Semi-hard positions for rows whose sorted distances contain ties (the general case).

    Returns, for each sorted position k, the position of the first negative strictly farther
    than position k (``B`` if none), and per row the position of the farthest negative with the
    lowest index (-1 if the row has no negative). The stable sort put equal distances in index
    order, so "first in its group" means "lowest index".
    """
    t, b = d_rows.shape
    col = np.arange(b)
    rows = np.arange(t)[:, None]
    s = np.take_along_axis(d_rows, order_rows, axis=1)
    starts = np.ones(s.shape, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    group_start = np.maximum.accumulate(np.where(starts, col, 0), axis=1)
    next_start = np.minimum.accumulate(np.where(starts, col, b)[:, ::-1], axis=1)[:, ::-1]
    group_end = np.full((t, b), b)
    group_end[:, :-1] = next_start[:, 1:]
    # next_neg[:, k]: first negative at a position >= k; column b stands for "none"
    next_neg = np.full((t, b + 1), b)
    next_neg[:, :b] = np.where(same_rows, b, col)
    next_neg = np.minimum.accumulate(next_neg[:, ::-1], axis=1)[:, ::-1]
    strictly_farther = next_neg[rows, group_end]
    negative = ~same_rows
    last = b - 1 - np.argmax(negative[:, ::-1], axis=1)
    farthest = next_neg[np.arange(t), group_start[np.arange(t), last]]
    return strictly_farther, np.where(negative.any(axis=1), farthest, -1)


def _semihard_pairs(d: np.ndarray, labels: np.ndarray):
    """Every ordered positive pair (a, p), grouped by anchor, and its semi-hard negative n.

    n = the negative with the smallest d(a, n) > d(a, p); if there is none, the negative with the
    largest d(a, n); ties go to the lowest index. ``n = -1`` for anchors without negatives.
    Works on one sort of each row of ``d``: in sorted order, the answer is the first negative
    after the positive. Without ties that is the position just after the positive's run of
    same-label neighbours, found from the positive positions alone (O(P) work after the sort);
    rows with ties take the general route. O(B^2) memory and O(B^2 log B) time.
    """
    b = labels.shape[0]
    order, tie_rows = _argsort_rows(d)
    codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
    same_sorted = codes[order] == codes[:, None]  # the anchor itself included
    flat = np.flatnonzero(same_sorted)  # row-major: by anchor, then sorted position
    a, k = np.divmod(flat, b)
    # runs of consecutive same-label positions within a row
    first = np.ones(a.size, dtype=bool)
    first[1:] = (k[1:] != k[:-1] + 1) | (a[1:] != a[:-1])
    run = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    run_start = k[starts]
    run_stop = np.append(k[starts[1:] - 1], k[-1]) + 1 if a.size else k
    nxt = run_stop[run]  # the first negative after a positive; b if the row ends in its run
    # farthest negative: the last position, unless the row ends in a same-label run
    fallback = np.full(b, b - 1)
    tail = run_stop == b
    fallback[a[starts][tail]] = run_start[tail] - 1  # -1: the anchor has no negative at all
    if tie_rows.size:
        strictly_farther, farthest = _tied_rows_positions(d[tie_rows], order[tie_rows],
                                                          same_sorted[tie_rows])
        slot = np.full(b, -1)
        slot[tie_rows] = np.arange(tie_rows.size)
        tied = slot[a] >= 0
        nxt[tied] = strictly_farther[slot[a[tied]], k[tied]]
        fallback[tie_rows] = farthest
    order = order.reshape(-1)
    p = order[flat]
    keep = p != a
    a, p, nxt = a[keep], p[keep], nxt[keep]
    fallback_a = fallback[a]
    has_neg = fallback_a >= 0
    position = np.where(nxt < b, nxt, np.maximum(fallback_a, 0))
    return a, p, np.where(has_neg, order[a * b + position], -1)


def _ordered_by_anchor_then_positive(a, p, n, labels: np.ndarray) -> np.ndarray:
    """Rows (a, p, n) sorted by a then p, placed directly (O(P), no sort of the P rows).

    Anchor a owns ``size(class of a) - 1`` consecutive rows; within them, positive p goes to its
    rank among its class members, less one when it comes after the anchor itself.
    """
    codes, counts = np.unique(labels, return_inverse=True, return_counts=True)[1:]
    codes = codes.reshape(-1)
    by_class = np.argsort(codes, kind="stable")
    rank = np.empty(labels.size, dtype=np.int64)
    rank[by_class] = np.arange(labels.size) - (np.cumsum(counts) - counts)[codes[by_class]]
    offset = np.cumsum(counts[codes] - 1) - (counts[codes] - 1)
    rows = np.empty((a.size, 3), dtype=np.int64)
    rows[offset[a] + rank[p] - (p > a)] = np.stack([a, p, n], axis=1)
    return rows


def mine_semihard_triplets(embeddings, labels):
    """The (anchor, positive, negative) rows that ``triplet_semihard_loss`` uses (chapter 10).

    One row per ordered pair ``a != p`` with ``labels[a] == labels[p]``, sorted by ``a`` then
    ``p``. The negative is semi-hard in TensorFlow Addons' sense: the one with the smallest
    ``d(a, n)`` strictly greater than ``d(a, p)``; if no negative is farther than the positive,
    the farthest negative (the fallback). Ties go to the lowest index. Distances are plain
    Euclidean. Anchors without any negative (a single-class batch) give no rows.

    Vectorised: one sort per row of the distance matrix, O(B^2) memory, no (B, B, B) tensor.
    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> int64 array (P, 3).
    """
    fn = "mine_semihard_triplets"
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0])
    b = x.shape[0]
    if b < 2:
        return np.zeros((0, 3), dtype=np.int64)
    a, p, n = _semihard_pairs(_distances(x), y)
    if a.size == 0 or n[0] < 0:  # no pairs, or a single class: no anchor has a negative
        return np.zeros((0, 3), dtype=np.int64)
    return _ordered_by_anchor_then_positive(a, p, n, y)


def triplet_semihard_loss(embeddings, labels, *, margin=1.0):
    """Triplet loss on semi-hard negatives mined in the batch, TF Addons >= 0.11 (chapter 10).

    For every ordered positive pair (a, p) with its semi-hard negative n (see
    ``mine_semihard_triplets``)::

        loss = mean over all ordered positive pairs of max(0, margin + d(a, p) - d(a, n))

    with plain Euclidean distances on the embeddings as given; pairs whose hinge is 0 count in the
    mean. Degenerate batches: with a single class there is no negative, and, as in TFA, the
    negative distance is taken as 0, so each pair costs ``margin + d(a, p)``. With no positive
    pair at all (every label distinct) TFA divides 0 by 0 and returns NaN; here the loss is 0.0,
    as for any loss with nothing to average.

    Example (TFA's docstring): ``[[0, 1], [1, 0]]`` with labels ``[0, 0]`` gives
    ``1 + sqrt(2) = 2.4142...``.

    Shapes: ``embeddings`` (B, D), ``labels`` (B,) ints -> scalar.
    """
    fn = "triplet_semihard_loss"
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0])
    m = _checks.positive(fn, "margin", margin)
    if x.shape[0] < 2:
        return np.float64(0.0)
    d = _distances(x)
    a, p, n = _semihard_pairs(d, y)
    if a.size == 0:
        return np.float64(0.0)
    d_an = np.where(n >= 0, d[a, np.maximum(n, 0)], 0.0)
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
    x = _embeddings(fn, embeddings)
    y = _labels(fn, labels, x.shape[0])
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
    fn = "contrastive_loss"
    u, v = _checks.embedding_pair(fn, "x1", x1, "x2", x2)
    m = _checks.positive(fn, "margin", margin)
    _checks.reduction(fn, reduction)
    s = _checks.as_float(fn, "same", same)
    if s.shape != u.shape[:-1]:
        _checks.fail(fn, "same shape", f"is {s.shape}", f"{u.shape[:-1]}, one flag per pair",
                     "an (N, 1) array is fixed with same.reshape(-1)")
    if (~np.isin(s, (0.0, 1.0))).any():
        first = s[~np.isin(s, (0.0, 1.0))].flat[0].item()
        _checks.fail(fn, "same", f"contains {first!r}", "only the flags {0, 1}",
                     "1 marks a similar pair, 0 a dissimilar one; map {-1, 1} labels with "
                     "same = (y + 1) // 2")
    d = np.sqrt(np.einsum("...i,...i->...", u - v, u - v))
    loss = np.where(s == 1.0, 0.5 * d * d, 0.5 * np.maximum(m - d, 0.0) ** 2)
    return _checks.reduce(loss, reduction)
