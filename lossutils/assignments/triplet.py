"""Checks and experiment for the ``triplet`` assignment (chapter 10, metric learning).

The student writes, with NumPy only,

* ``pairwise_distances(embeddings)``: the (B, B) matrix of plain (not squared) Euclidean
  distances between the rows of ``embeddings`` (B, D), exactly 0 on the diagonal, never NaN;
* ``semihard_negatives(embeddings, labels)``: an integer array (P, 3) of rows ``(a, p, n)``, one
  per ordered pair ``a != p`` with equal labels, sorted by ``a`` then ``p``, where ``n`` is the
  negative with the smallest ``d(a, n) > d(a, p)`` (strictly), or, if there is none, the negative
  with the largest ``d(a, n)``; ties go to the lowest index; an anchor without any negative (a
  single-class batch) gives no rows;
* ``semihard_triplet_loss(embeddings, labels, margin=1.0)``: the mean over those rows of
  ``max(0, d(a, p) - d(a, n) + margin)``, and 0.0 when there are no rows.

Each check tests one property on fixed inputs and raises ``AssertionError`` saying what failed on
which input: these are the visible tests of the student notebook. Expected values come from
:func:`lossutils.pairwise_distances` and :func:`lossutils.mine_semihard_triplets`, with the loss
computed from the mined rows (TF Addons' ``triplet_semihard_loss``, which
:func:`lossutils.triplet_semihard_loss` follows, differs only on single-class batches), plus a few
numbers worked out by hand. The graded functions may come back through a proxy as float64 arrays,
so row indices are accepted as any whole numbers.
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..metric_learning import mine_semihard_triplets as _ref_rows
from ..metric_learning import pairwise_distances as _ref_distances
from ._expect import (
    as_result,
    call,
    expect_close,
    expect_scalar,
    expect_true,
    failure,
    fixed_rng,
    under_nbgrader,
)

__all__ = [
    "distances_values", "distances_diagonal_and_duplicates",
    "negatives_pairs_and_order", "negatives_semihard_choice", "negatives_fallback",
    "negatives_ties_and_strictness", "negatives_degenerate_batches",
    "loss_values", "loss_margin", "loss_hinge_and_mean", "loss_degenerate_batches",
    "experiment", "check_experiment", "plot_experiment",
]

_DIST = "pairwise_distances"
_MINE = "semihard_negatives"
_LOSS = "semihard_triplet_loss"

# The course's reference for each graded function: what the checks compare with, and what the
# site must never print (tests/browser/test_site_teaching.py). The loss is computed here from the
# reference rows (:func:`_want_loss`), so the miner is its reference too.
REFERENCES = {_DIST: (_ref_distances,), _MINE: (_ref_rows,), _LOSS: (_ref_rows,)}


# ---- expected values ----------------------------------------------------------------------------

def _want_loss(x, y, margin):
    """The assignment's loss from the reference rows: 0.0 without rows (TFA differs there)."""
    rows = _ref_rows(x, y)
    if len(rows) == 0:
        return 0.0
    d = _ref_distances(x)
    a, p, n = rows.T
    return float(np.maximum(d[a, p] - d[a, n] + margin, 0.0).mean())


def _positive_pairs(y):
    """All ordered pairs (a, p), a != p, equal labels, sorted by a then p: shape (P, 2)."""
    y = np.asarray(y)
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    return np.argwhere(same)


def _batch(g, b, d, n_classes, scale=1.0, label_ids=None):
    """Random embeddings (b, d) and labels with every class present at least twice if possible."""
    ids = np.arange(n_classes) if label_ids is None else np.asarray(label_ids)
    y = ids[np.arange(b) % len(ids)]
    y = g.permutation(y)
    return g.normal(scale=scale, size=(b, d)), y.astype(np.int64)


# ---- pairwise_distances -------------------------------------------------------------------------

def _check_distances(fn, what, x, want=None, rtol=1e-6, atol=1e-9):
    inputs = {"embeddings": x}
    got = call(fn, x)
    expect_close(got, _ref_distances(x) if want is None else want, f"{_DIST}, {what}", inputs,
                 rtol=rtol, atol=atol)
    return as_result(got, what, inputs)


def distances_values(pairwise_distances):
    """Plain Euclidean distances (not squared), shape (B, B), symmetric."""
    what = "values (plain Euclidean distances ||x_i - x_j||, not squared)"
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    _check_distances(pairwise_distances, what + " - a 3-4-5 triangle gives 5, not 25", x,
                     want=[[0.0, 5.0, 10.0], [5.0, 0.0, 5.0], [10.0, 5.0, 0.0]])
    g = fixed_rng("triplet/distances_values")
    _check_distances(pairwise_distances, what, g.normal(size=(6, 3)))


DIAGONAL_WHAT = ("diagonal and duplicates (exact 0 on the diagonal, 0 between equal rows, "
                 "never NaN)")


def _check_diagonal(pairwise_distances, x):
    what = DIAGONAL_WHAT
    inputs = {"embeddings": x}
    got = as_result(call(pairwise_distances, x), f"{_DIST}, {what}", inputs)
    want = _ref_distances(x)
    expect_true(got.shape == want.shape, f"{_DIST}, {what}",
                f"expected shape {want.shape}, got {got.shape}", inputs)
    expect_true(not np.isnan(got).any(), f"{_DIST}, {what}",
                "the result contains NaN: a squared distance that rounds below 0 must be "
                "clipped at 0 before the square root", inputs)
    diag = np.diag(got)
    expect_true(np.all(diag == 0.0), f"{_DIST}, {what}",
                f"the diagonal must be exactly 0 but holds {diag[diag != 0.0][:3]}", inputs)
    # far from the origin the expanded form loses digits: allow its error, not a NaN
    scale = float(np.abs(x).max())
    expect_close(got, want, f"{_DIST}, {what}", inputs, rtol=1e-6, atol=3e-7 * scale)


def _many_equal_pairs(g):
    """Many equal pairs far from 0: the expanded form rounds some of them below 0."""
    many = 1e3 + g.normal(size=(25, 16))
    return np.concatenate([many, many])


def distances_diagonal_and_duplicates(pairwise_distances):
    """Exact zeros on the diagonal, (near) zeros between equal rows, no NaN even far from 0.

    The expanded form ``|x|^2 + |y|^2 - 2 x.y`` can round to a tiny negative number, whose square
    root is NaN: clip it at 0 (or compute from differences) and set the diagonal to 0.
    """
    g = fixed_rng("triplet/distances_diagonal")
    for x in (np.array([[1.0, 2.0], [1.0, 2.0], [4.0, 6.0]]),
              1e4 + g.normal(size=(5, 3)),                                   # far from 0
              _many_equal_pairs(g)):
        _check_diagonal(pairwise_distances, x)


# ---- semihard_negatives: reading and comparing rows ---------------------------------------------

def _rows(got, what, inputs):
    """The returned rows as an int64 array (P, 3); any empty result counts as no rows."""
    arr = as_result(got, what, inputs)
    if arr.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise failure(what, "the result has the wrong shape", inputs, got=f"shape {arr.shape}",
                      expected="an integer array of shape (P, 3), one row (anchor, positive, "
                               "negative) per ordered positive pair")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise failure(what, "the rows must hold integer indices", inputs,
                      got=str(arr[~(arr == np.round(arr))][:3]))
    return arr.astype(np.int64)


def _mine(fn, what, x, y):
    inputs = {"embeddings": x, "labels": y}
    return _rows(call(fn, x, y), f"{_MINE}, {what}", inputs), inputs


def _check_valid(rows, y, what, inputs):
    """Indices in range; a != p with the same label; n with another label."""
    b = len(y)
    if rows.size == 0:
        return
    bad = ((rows < 0) | (rows >= b)).any(axis=1)
    if bad.any():
        expect_true(False, what, f"row {rows[bad][0].tolist()} has an index outside "
                    f"0..{b - 1}", inputs)
    a, p, n = rows.T
    wrong = (a == p) | (y[a] != y[p])
    if wrong.any():
        expect_true(False, what, f"row {rows[wrong][0].tolist()} is not a positive pair (anchor "
                    "and positive must be different samples with the same label)", inputs)
    wrong = y[n] == y[a]
    if wrong.any():
        expect_true(False, what, f"in row {rows[wrong][0].tolist()} the negative has the "
                    "anchor's label", inputs)


def _explain(a, p, n_got, n_want, d, y):
    """Why a chosen negative is wrong, in words, for the most common mistakes."""
    neg = np.flatnonzero(y != y[a])
    farther = neg[d[a, neg] > d[a, p]]
    msg = (f"for anchor {a} and positive {p} (d(a, p) = {d[a, p]:.6g}) the negative should be "
           f"{n_want} (d(a, n) = {d[a, n_want]:.6g}) but is {n_got}")
    if not 0 <= n_got < len(y):
        return msg
    msg += f" (d(a, n) = {d[a, n_got]:.6g})"
    if y[n_got] == y[a]:
        return msg + ", which has the anchor's label"
    if d[a, n_got] == d[a, n_want] and n_got != n_want:
        return msg + ": equally far, and ties go to the lowest index"
    if d[a, n_got] == d[a, p] and farther.size:
        return msg + ": a semi-hard negative must be strictly farther than the positive"
    if farther.size and d[a, n_got] < d[a, p]:
        return msg + (": that one is closer than the positive (a hard negative); semi-hard means "
                      "the closest negative that is farther than the positive")
    if farther.size and d[a, n_got] > d[a, n_want]:
        return msg + ": a closer negative is still farther than the positive"
    if not farther.size:
        return msg + (": no negative is farther than the positive, so the fallback applies: the "
                      "negative with the largest d(a, n)")
    return msg


def _check_negatives(fn, what, x, y, select=None):
    """Compare the negative of every expected (a, p) selected by ``select(rows, d)``."""
    got, inputs = _mine(fn, what, x, y)
    full = f"{_MINE}, {what}"
    _check_valid(got, y, full, inputs)
    want = _ref_rows(x, y)
    d = _ref_distances(x)
    chosen = {(int(a), int(p)): int(n) for a, p, n in got}
    keep = np.ones(len(want), dtype=bool) if select is None else select(want, d)
    for a, p, n in want[keep]:
        expect_true((int(a), int(p)) in chosen, full,
                    f"there is no row for anchor {a}, positive {p} (every ordered positive pair "
                    "needs one, also when no negative is farther than the positive)", inputs)
        n_got = chosen[(int(a), int(p))]
        if n_got != n:
            expect_true(False, full, _explain(int(a), int(p), n_got, int(n), d, y), inputs)
    return int(keep.sum())


def _has_semihard(rows, d):
    a, p, n = rows.T
    return d[a, n] > d[a, p]


def _is_fallback(rows, d):
    return ~_has_semihard(rows, d)


# ---- semihard_negatives: the checks --------------------------------------------------------------

PAIRS_WHAT = "rows (one per ordered pair a != p with equal labels, sorted by a then p)"


def _check_pairs(semihard_negatives, x, y):
    what = PAIRS_WHAT
    got, inputs = _mine(semihard_negatives, what, x, y)
    want = _positive_pairs(y)
    full = f"{_MINE}, {what}"
    pairs = got[:, :2]
    have = {tuple(r) for r in pairs.tolist()}
    need = {tuple(r) for r in want.tolist()}
    missing, extra = sorted(need - have), sorted(have - need)
    expect_true(not missing, full, f"{len(missing)} of {len(need)} pairs have no row, e.g. "
                f"(a, p) = {missing[:4]}; both orders (a, p) and (p, a) are needed", inputs)
    expect_true(not extra, full, f"rows for pairs that are not positive pairs, e.g. "
                f"(a, p) = {extra[:4]}", inputs)
    expect_true(len(pairs) == len(want), full, f"{len(pairs)} rows for {len(want)} positive "
                "pairs: some pair appears more than once", inputs)
    expect_true(np.array_equal(pairs, want), full, "the rows are not sorted by anchor, then "
                f"positive: the (a, p) columns start {pairs[:6].tolist()}, expected "
                f"{want[:6].tolist()}", inputs)
    _check_valid(got, y, full, inputs)


def negatives_pairs_and_order(semihard_negatives):
    """One row per ordered positive pair (a != p, same label), sorted by anchor then positive."""
    g = fixed_rng("triplet/negatives_pairs")
    for x, y in ((g.normal(size=(5, 2)), np.array([0, 1, 0, 1, 0])),
                 (g.normal(size=(6, 3)), np.array([2, 2, 0, 1, 1, 2]))):
        _check_pairs(semihard_negatives, x, y)


def negatives_semihard_choice(semihard_negatives):
    """Where some negative is farther than the positive, n is the closest of those."""
    what = "semi-hard choice (n = the closest negative with d(a, n) > d(a, p))"
    x = np.array([[0.0], [1.0], [-0.5], [1.5], [3.0], [-3.5]])
    y = np.array([0, 0, 1, 1, 2, 2])
    _check_negatives(semihard_negatives, what, x, y, select=_has_semihard)
    g = fixed_rng("triplet/negatives_semihard")
    x, y = _batch(g, 12, 2, 3)
    _check_negatives(semihard_negatives, what, x, y, select=_has_semihard)


def negatives_fallback(semihard_negatives):
    """Where no negative is farther than the positive, n is the farthest negative."""
    what = "fallback (no negative farther than the positive: n = the farthest negative)"
    x = np.array([[0.0], [10.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    _check_negatives(semihard_negatives, what, x, y, select=_is_fallback)


def negatives_ties_and_strictness(semihard_negatives):
    """``d(a, n) = d(a, p)`` is not semi-hard (strict ``>``); equal distances: the lowest index.

    Integer coordinates make the distances exact, so ties are real ties for any correct way of
    computing them.
    """
    what = "ties (strictly farther than the positive; equally far negatives: the lowest index)"
    x = np.array([[0, 0], [3, 4], [5, 0], [0, 6], [6, 0], [-8, 0]], dtype=float)
    y = np.array([0, 0, 1, 1, 2, 2])
    _check_negatives(semihard_negatives, what, x, y)


DEGENERATE_WHAT = "degenerate batches (a single class, or every label distinct: no rows)"


def _expect_no_rows(semihard_negatives, x, y):
    got, inputs = _mine(semihard_negatives, DEGENERATE_WHAT, x, y)
    expect_true(len(got) == 0, f"{_MINE}, {DEGENERATE_WHAT}",
                f"expected no rows but got {len(got)}, starting {got[:3].tolist()}", inputs)


def negatives_degenerate_batches(semihard_negatives):
    """No rows without negatives (one class) or without positives (all labels distinct)."""
    g = fixed_rng("triplet/negatives_degenerate")
    for x, y in ((g.normal(size=(4, 2)), np.array([3, 3, 3, 3])),
                 (g.normal(size=(3, 2)), np.array([0, 1, 2]))):
        _expect_no_rows(semihard_negatives, x, y)


# ---- semihard_triplet_loss ----------------------------------------------------------------------

# Hand-worked example: 2-D points, labels [0, 0, 1, 1]. Pairs (0, 1) and (1, 0) find semi-hard
# negatives at hinge 0; pairs (2, 3) and (3, 2) fall back to the farthest negative (sqrt 5 and 3).
HAND_X = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
HAND_Y = np.array([0, 0, 1, 1])
HAND_D23 = float(np.sqrt(13.0))


def _hand_loss(margin):
    hinge = [max(0.0, 1.0 - 2.0 + margin), max(0.0, 1.0 - 2.0 + margin),
             max(0.0, HAND_D23 - np.sqrt(5.0) + margin), max(0.0, HAND_D23 - 3.0 + margin)]
    return float(np.mean(hinge))


def _check_loss(fn, what, x, y, margin=None, want=None, rtol=1e-6, atol=1e-9):
    inputs = {"embeddings": x, "labels": y} | ({} if margin is None else {"margin": margin})
    got = call(fn, x, y) if margin is None else call(fn, x, y, margin=margin)
    full = f"{_LOSS}, {what}"
    value = expect_scalar(got, full, inputs)
    expect_close(value, _want_loss(x, y, 1.0 if margin is None else margin) if want is None
                 else want, full, inputs, rtol=rtol, atol=atol)


def loss_values(semihard_triplet_loss):
    """Mean hinge over the mined rows, plain distances, one number."""
    what = "value (mean over the rows of max(0, d(a, p) - d(a, n) + margin))"
    _check_loss(semihard_triplet_loss, what, np.array([[0.0], [2.0], [1.0]]),
                np.array([0, 0, 1]), want=2.0)
    _check_loss(semihard_triplet_loss, what, HAND_X, HAND_Y, want=_hand_loss(1.0))
    g = fixed_rng("triplet/loss_values")
    x, y = _batch(g, 12, 2, 3)
    _check_loss(semihard_triplet_loss, what, x, y)


def loss_margin(semihard_triplet_loss):
    """The ``margin`` argument is used (default 1.0)."""
    what = "margin (the hinge is max(0, d(a, p) - d(a, n) + margin), default margin=1.0)"
    for margin in (0.5, 2.0):
        _check_loss(semihard_triplet_loss, what, HAND_X, HAND_Y, margin=margin,
                    want=_hand_loss(margin))


HINGE_WHAT = ("hinge and mean (max(0, .) per row; the mean over all rows, zero hinges "
              "included)")


def _check_separated_clusters(semihard_triplet_loss, g, k):
    """Far-apart tight clusters: every hinge is negative before the max, so the loss is 0."""
    y = np.repeat(np.arange(k), 3)
    x = 20.0 * np.eye(k, 4)[y] + g.normal(scale=0.05, size=(len(y), 4))
    _check_loss(semihard_triplet_loss, HINGE_WHAT + " - well separated clusters cost 0", x, y,
                want=0.0, atol=1e-12)


def loss_hinge_and_mean(semihard_triplet_loss):
    """Hinges below 0 count as 0 and every row counts in the mean (zeros included)."""
    _check_separated_clusters(semihard_triplet_loss, fixed_rng("triplet/loss_hinge"), 3)
    # two of the four hinges are 0: they still count in the mean
    _check_loss(semihard_triplet_loss, HINGE_WHAT, HAND_X, HAND_Y, want=_hand_loss(1.0))


LOSS_DEGENERATE_WHAT = ("degenerate batches (no rows: the loss is 0.0, not NaN and not "
                        "margin + d(a, p))")


def loss_degenerate_batches(semihard_triplet_loss):
    """No rows means a loss of 0.0: a single-class batch (no negatives) or all labels distinct."""
    g = fixed_rng("triplet/loss_degenerate")
    for x, y in ((np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0, 0])),
                 (g.normal(size=(3, 2)), np.array([0, 1, 2]))):
        _check_loss(semihard_triplet_loss, LOSS_DEGENERATE_WHAT, x, y, want=0.0, atol=0.0)


# ---- experiment: semi-hard against random triplets ---------------------------------------------

N_CLASSES = 5
PER_CLASS = 6
SPREAD = 0.5
STEPS = 40
LEARNING_RATE = 0.3
MARGIN = 1.0
LOG_EVERY = 5


def _hinge_gradient(e, rows, margin):
    """Gradient of the mean over ``rows`` of ``max(0, |e_a - e_p| - |e_a - e_n| + margin)``.

    ``d|u| / du = u / |u|``; at ``u = 0`` the distance has a kink and the zero subgradient is used
    (dividing by a zero norm would give NaN).
    """
    a, p, n = rows.T
    u_ap, u_an = e[a] - e[p], e[a] - e[n]
    d_ap = np.sqrt(np.einsum("ij,ij->i", u_ap, u_ap))
    d_an = np.sqrt(np.einsum("ij,ij->i", u_an, u_an))
    unit_ap = u_ap / np.where(d_ap > 0, d_ap, 1.0)[:, None]
    unit_an = u_an / np.where(d_an > 0, d_an, 1.0)[:, None]
    active = ((d_ap - d_an + margin) > 0)[:, None] / len(rows)
    grad = np.zeros_like(e)
    np.add.at(grad, a, active * (unit_ap - unit_an))
    np.add.at(grad, p, -active * unit_ap)
    np.add.at(grad, n, active * unit_an)
    return grad


def _mean_hinge_all_triplets(e, y, margin):
    """Mean hinge over every valid triplet (a, p, n): what random sampling estimates."""
    d = _ref_distances(e)
    pos = y[:, None] == y[None, :]
    np.fill_diagonal(pos, False)
    neg = y[:, None] != y[None, :]
    mask = pos[:, :, None] & neg[:, None, :]
    return float(np.maximum(d[:, :, None] - d[:, None, :] + margin, 0.0)[mask].mean())


def experiment(semihard_negatives, seed=0, steps=STEPS):
    """Learn 2-D embeddings of 5 classes with semi-hard and with random triplets.

    Start: :func:`lossutils.data.clustered_embeddings`, 6 points per class around 5 centres on
    the unit circle, spread 0.5, so the classes overlap. The embeddings themselves are the
    parameters (no network): both runs start from the same points and take ``steps`` plain
    gradient-descent steps of size ``LEARNING_RATE`` on the mean triplet hinge (margin 1) over
    their rows:

    * **semi-hard**: the rows are the student's ``semihard_negatives(embeddings, labels)``,
      recomputed at every step (one call per step);
    * **random**: the same ordered positive pairs, each with a negative drawn uniformly.

    The gradient of the hinge is computed here from the rows. Every ``LOG_EVERY`` steps both runs
    log the batch's semi-hard triplet loss (the quantity the student implemented, computed with
    the reference) and the mean hinge over *all* valid triplets.

    Returns a dict with the logged steps, both runs' curves, the start and final embeddings and
    the labels.
    """
    e0, y = data.clustered_embeddings(n_classes=N_CLASSES, per_class=PER_CLASS, dim=2,
                                      spread=SPREAD, seed=seed)
    g = np.random.default_rng(seed)
    pairs = _positive_pairs(y)
    negatives = [np.flatnonzero(y != label) for label in y]
    what = f"{_MINE} during the experiment"
    result = {"labels": y, "start": e0, "steps": np.arange(0, steps + 1, LOG_EVERY)}
    for mode in ("semihard", "random"):
        e = e0.copy()
        semihard_curve, all_curve = [], []
        for step in range(steps + 1):
            if step % LOG_EVERY == 0:
                semihard_curve.append(_want_loss(e, y, MARGIN))
                all_curve.append(_mean_hinge_all_triplets(e, y, MARGIN))
            if step == steps:
                break
            if mode == "semihard":
                inputs = {"step": step, "embeddings": e, "labels": y}
                rows = _rows(call(semihard_negatives, e, y), what, inputs)
                _check_valid(rows, y, what, inputs)
                expect_true(len(rows) > 0, what, "no rows were returned for a batch of "
                            f"{N_CLASSES} classes with {PER_CLASS} samples each", inputs)
            else:
                pick = [negatives[a][g.integers(len(negatives[a]))] for a in pairs[:, 0]]
                rows = np.column_stack([pairs, pick])
            e = e - LEARNING_RATE * _hinge_gradient(e, rows, MARGIN)
        result[f"{mode}_loss"] = np.array(semihard_curve)
        result[f"{mode}_all_triplets"] = np.array(all_curve)
        result[f"{mode}_embeddings"] = e
    return result


def check_experiment(semihard_negatives, seed=0):
    """Trained on the student's semi-hard rows (data set ``seed``), the batch's semi-hard loss
    falls much faster than with random triplets.

    Requirements: after ``STEPS`` steps the semi-hard run's semi-hard triplet loss is at most half
    of where it started and at most 75% of the random run's. With a correct answer the first ratio
    is below 0.36 and the second below 0.57 (typically 0.05 and 0.08) for every data seed tried.
    """
    what = "experiment (semi-hard vs random triplets)"
    inputs = {"data seed": seed, "steps": STEPS}
    r = experiment(semihard_negatives, seed=seed)
    s, rand = r["semihard_loss"], r["random_loss"]
    expect_true(s[-1] <= 0.5 * s[0], what,
                f"with your semi-hard rows the loss went from {s[0]:.4g} to only {s[-1]:.4g} in "
                f"{STEPS} steps (expected at most half of the start)", inputs)
    expect_true(s[-1] <= 0.75 * rand[-1], what,
                f"final semi-hard loss with your rows {s[-1]:.4g} vs {rand[-1]:.4g} with random "
                "triplets; expected at most 75% of the random run's", inputs)


def plot_experiment(result):
    """Learning curves and the 2-D embeddings before and after (a matplotlib figure; None while
    nbgrader validates or autogrades, see :func:`._common.under_nbgrader`)."""
    if under_nbgrader():
        return None
    import matplotlib.pyplot as plt

    r = result
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    ax = axes[0]
    for mode, color in (("semihard", "tab:blue"), ("random", "tab:orange")):
        ax.plot(r["steps"], r[f"{mode}_loss"], marker="o", color=color,
                label=f"{mode} rows: semi-hard loss")
        ax.plot(r["steps"], r[f"{mode}_all_triplets"], ls="--", color=color,
                label=f"{mode} rows: mean over all triplets")
    ax.set(xlabel="gradient-descent step", ylabel="loss of the batch (margin 1)",
           title="Learning curves")
    ax.legend(fontsize=7)
    for ax, key, title in zip(axes[1:], ("start", "semihard_embeddings", "random_embeddings"),
                              ("start", "after semi-hard training", "after random training"),
                              strict=True):
        e = r[key]
        ax.scatter(e[:, 0], e[:, 1], c=r["labels"], cmap="tab10", vmin=0, vmax=9, s=25)
        ax.set(title=title, xlabel="e1", ylabel="e2")
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig
