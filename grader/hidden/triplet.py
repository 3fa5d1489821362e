"""Hidden checks of the ``triplet`` assignment: the visible properties on fresh random inputs.

Each function checks the same property as its namesake in :mod:`lossutils.assignments.triplet`,
on inputs drawn from the grader's per-submission seed (:func:`grader.seeds.rng`) plus edge cases
the notebook does not show (duplicated rows, arbitrary label ids, singleton classes, ties).
"""

from __future__ import annotations

import numpy as np

from lossutils.assignments import triplet as visible
from lossutils.assignments.triplet import (
    HAND_X,
    HAND_Y,
    HINGE_WHAT,
    LOSS_DEGENERATE_WHAT,
    _batch,
    _check_diagonal,
    _check_distances,
    _check_loss,
    _check_negatives,
    _check_pairs,
    _expect_no_rows,
    _hand_loss,
    _has_semihard,
    _is_fallback,
    _many_equal_pairs,
)

from ..seeds import rng

__all__ = [
    "distances_values", "distances_diagonal_and_duplicates",
    "negatives_pairs_and_order", "negatives_semihard_choice", "negatives_fallback",
    "negatives_ties_and_strictness", "negatives_degenerate_batches",
    "loss_values", "loss_margin", "loss_hinge_and_mean", "loss_degenerate_batches",
    "check_experiment",
]


def distances_values(pairwise_distances):
    """Plain Euclidean distances (not squared), shape (B, B), symmetric."""
    what = "values (plain Euclidean distances ||x_i - x_j||, not squared)"
    g = rng("triplet/distances_values")
    for b, d, scale in ((int(g.integers(5, 30)), int(g.integers(2, 17)), 1.0),
                        (int(g.integers(3, 9)), 1, 5.0),
                        (2, int(g.integers(2, 6)), 0.01),
                        (int(g.integers(4, 12)), int(g.integers(2, 6)), 100.0)):
        _check_distances(pairwise_distances, what, g.normal(scale=scale, size=(b, d)),
                         atol=1e-7 * scale)
    _check_distances(pairwise_distances, what + " - a single embedding", np.array([[1.5, -2.0]]),
                     want=[[0.0]])


def negatives_semihard_choice(semihard_negatives):
    """Where some negative is farther than the positive, n is the closest of those."""
    what = "semi-hard choice (n = the closest negative with d(a, n) > d(a, p))"
    g = rng("triplet/negatives_semihard")
    for _ in range(4):
        x, y = _batch(g, int(g.integers(10, 40)), int(g.integers(2, 9)), int(g.integers(2, 7)),
                      scale=float(g.uniform(0.1, 10.0)))
        _check_negatives(semihard_negatives, what, x, y, select=_has_semihard)


def negatives_fallback(semihard_negatives):
    """Where no negative is farther than the positive, n is the farthest negative."""
    what = "fallback (no negative farther than the positive: n = the farthest negative)"
    g = rng("triplet/negatives_fallback")
    for _ in range(3):
        # one blob holding every class, and one member of class 0 far outside it: for an anchor
        # of class 0 in the blob and that far positive, every negative is closer (fallback)
        b = int(g.integers(8, 16))
        x = g.normal(scale=0.3, size=(b, 2))
        y = g.permutation(np.arange(b) % int(g.integers(2, 4)))
        far = int(np.flatnonzero(y == 0)[0])
        x[far] = g.normal(size=2) + [20.0, 0.0]
        _check_negatives(semihard_negatives, what, x, y, select=_is_fallback)
    # two negatives tie for the farthest: the lower index wins
    x = np.array([[0.0, 0.0], [9.0, 0.0], [0.0, 3.0], [3.0, 0.0], [0.0, -3.0]])
    _check_negatives(semihard_negatives, what, x, np.array([1, 1, 2, 2, 2]), select=_is_fallback)


def negatives_ties_and_strictness(semihard_negatives):
    """``d(a, n) = d(a, p)`` is not semi-hard (strict ``>``); equal distances: the lowest index.

    Integer coordinates make the distances exact, so ties are real ties for any correct way of
    computing them.
    """
    what = "ties (strictly farther than the positive; equally far negatives: the lowest index)"
    g = rng("triplet/negatives_ties")
    for _ in range(4):
        b = int(g.integers(10, 30))
        x = g.integers(-3, 4, size=(b, 2)).astype(float)
        y = g.integers(0, int(g.integers(2, 5)), size=b)
        _check_negatives(semihard_negatives, what, x, y)
    # many duplicated points: zero distances, ties everywhere
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]), 3, axis=0)
    _check_negatives(semihard_negatives, what, x, np.array([0, 1, 2, 1, 2, 0, 2, 0, 1]))


def loss_values(semihard_triplet_loss):
    """Mean hinge over the mined rows, plain distances, one number."""
    what = "value (mean over the rows of max(0, d(a, p) - d(a, n) + margin))"
    g = rng("triplet/loss_values")
    for _ in range(4):
        x, y = _batch(g, int(g.integers(6, 40)), int(g.integers(2, 9)), int(g.integers(2, 7)),
                      scale=float(g.uniform(0.2, 3.0)))
        _check_loss(semihard_triplet_loss, what, x, y)
    x = g.integers(-2, 3, size=(12, 2)).astype(float)        # ties and duplicates
    _check_loss(semihard_triplet_loss, what, x, g.integers(0, 3, size=12))


def loss_margin(semihard_triplet_loss):
    """The ``margin`` argument is used (default 1.0)."""
    what = "margin (the hinge is max(0, d(a, p) - d(a, n) + margin), default margin=1.0)"
    g = rng("triplet/loss_margin")
    for margin in (float(g.uniform(0.05, 0.5)), float(g.uniform(1.5, 5.0)), 1.0):
        x, y = _batch(g, int(g.integers(8, 30)), int(g.integers(2, 6)), int(g.integers(2, 5)))
        _check_loss(semihard_triplet_loss, what, x, y, margin=margin)



def distances_diagonal_and_duplicates(pairwise_distances):
    """Exact zeros on the diagonal and between duplicated rows, no NaN far from 0."""
    g = rng("triplet/distances_diagonal")
    base = g.normal(size=(int(g.integers(3, 7)), int(g.integers(2, 9))))
    for x in (np.array([[1.0, 2.0], [1.0, 2.0], [4.0, 6.0]]),
              base[g.integers(0, len(base), size=len(base) + 3)],           # duplicated rows
              1e5 + g.normal(size=(int(g.integers(4, 9)), 4)),              # far from 0
              _many_equal_pairs(g)):
        _check_diagonal(pairwise_distances, x)


def negatives_pairs_and_order(semihard_negatives):
    """One row per ordered positive pair, sorted, on random batches."""
    g = rng("triplet/negatives_pairs")
    cases = [_batch(g, int(g.integers(8, 25)), int(g.integers(2, 6)), int(g.integers(2, 6)))
             for _ in range(3)]
    # arbitrary label ids and a class with a single member (its sample is never an anchor)
    cases.append((g.normal(size=(7, 2)), np.array([10, 42, 10, 7, 42, 10, 3])))
    for x, y in cases:
        _check_pairs(semihard_negatives, x, y)


def negatives_degenerate_batches(semihard_negatives):
    """No rows without negatives or positives, in more shapes; singleton classes drop out."""
    g = rng("triplet/negatives_degenerate")
    for x, y in ((g.normal(size=(4, 2)), np.array([3, 3, 3, 3])),
                 (g.normal(size=(3, 2)), np.array([0, 1, 2])),
                 (g.normal(size=(2, 3)), np.array([5, 5])),
                 (g.normal(size=(1, 2)), np.array([0])),
                 (np.zeros((5, 2)), np.zeros(5, dtype=np.int64)),
                 (g.normal(size=(9, 2)), g.permutation(np.arange(9)))):
        _expect_no_rows(semihard_negatives, x, y)
    # only the singleton classes drop out: the rows are the pairs of the other class (which
    # negative each row picks belongs to the choice, fallback and ties tests)
    x, y = g.normal(size=(7, 2)), np.array([0, 1, 0, 2, 3, 0, 4])
    _check_pairs(semihard_negatives, x, y)


def loss_hinge_and_mean(semihard_triplet_loss):
    """Zero hinges count in the mean, on random batches too."""
    g = rng("triplet/loss_hinge")
    visible._check_separated_clusters(semihard_triplet_loss, g, int(g.integers(2, 6)))
    _check_loss(semihard_triplet_loss, HINGE_WHAT, HAND_X, HAND_Y, want=_hand_loss(1.0))
    for _ in range(2):
        x, y = _batch(g, int(g.integers(10, 30)), 2, int(g.integers(2, 5)), scale=3.0)
        _check_loss(semihard_triplet_loss, HINGE_WHAT, x, y)


def loss_degenerate_batches(semihard_triplet_loss):
    """No rows means a loss of 0.0, for any margin, in more shapes."""
    g = rng("triplet/loss_degenerate")
    for x, y in ((np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0, 0])),
                 (g.normal(size=(3, 2)), np.array([0, 1, 2])),
                 (g.normal(size=(6, 3)), np.full(6, 4)),
                 (g.normal(size=(1, 2)), np.array([0])),
                 (g.normal(size=(5, 2)), g.permutation(5))):
        _check_loss(semihard_triplet_loss, LOSS_DEGENERATE_WHAT, x, y, want=0.0, atol=0.0)
        _check_loss(semihard_triplet_loss, LOSS_DEGENERATE_WHAT, x, y, margin=0.3, want=0.0,
                    atol=0.0)


def check_experiment(semihard_negatives):
    """The experiment's requirements on a data set drawn from the grader's seed."""
    visible.check_experiment(semihard_negatives,
                             seed=int(rng("triplet/experiment").integers(1, 10_000)))
