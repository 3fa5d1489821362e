"""Distances, semi-hard mining, TFA's semi-hard triplet loss, PML's NT-Xent, contrastive loss."""

import tracemalloc

import numpy as np
import pytest
import torch
from clear_errors import assert_clear_error
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pytorch_metric_learning.losses import NTXentLoss

import lossutils as L

RNG = np.random.default_rng(10)


def _direct_distances(x):
    """Reference distances from the differences themselves, (B, B, D): small batches only."""
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def _mine_semihard_loop(d, labels):
    """Semi-hard mining written the slow, obvious way: a loop over anchors and positives."""
    rows = []
    for a in range(len(labels)):
        negatives = np.flatnonzero(labels != labels[a])
        if negatives.size == 0:
            continue
        for p in np.flatnonzero(labels == labels[a]):
            if p == a:
                continue
            farther = negatives[d[a, negatives] > d[a, p]]
            if farther.size:
                n = farther[np.argmin(d[a, farther])]  # first minimum: lowest index
            else:
                n = negatives[np.argmax(d[a, negatives])]
            rows.append((a, p, n))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _tfa_semihard_reference(x, labels, margin):
    """TF Addons' triplet_semihard_loss, per pair, with its masked min/max reductions."""
    d = _direct_distances(x)
    same = labels[:, None] == labels[None, :]
    total, count = 0.0, 0
    for a in range(len(labels)):
        for p in range(len(labels)):
            if p == a or not same[a, p]:
                continue
            outside = ~same[a] & (d[a] > d[a, p])
            if outside.any():
                d_neg = d[a][outside].min()
            else:
                # TFA's masked maximum: max((d - rowmin) * mask) + rowmin, rowmin for no negative
                low = d[a].min()
                d_neg = np.max((d[a] - low) * ~same[a]) + low
            total += max(margin + d[a, p] - d_neg, 0.0)
            count += 1
    return total / count


def _batch(b, dim, classes, grid=False):
    if grid:  # small integers: many exactly tied distances
        x = RNG.integers(-2, 3, size=(b, dim)).astype(np.float64)
    else:
        x = RNG.normal(size=(b, dim))
    return x, RNG.integers(0, classes, size=b)


# ---- pairwise_distances -------------------------------------------------------------------------

def test_pairwise_distances_match_direct_differences():
    x = RNG.normal(size=(40, 6)) * 3 + 5
    d = L.pairwise_distances(x)
    np.testing.assert_allclose(d, _direct_distances(x), rtol=1e-12, atol=0)
    np.testing.assert_allclose(L.pairwise_distances(x, squared=True), _direct_distances(x) ** 2,
                               rtol=1e-12, atol=0)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)


def test_pairwise_distances_exact_for_equal_and_nearly_equal_rows():
    base = RNG.normal(size=(1, 8)) * 1e3 + 1e6  # far from the origin: the expanded form cancels
    x = np.repeat(base, 6, axis=0)
    x[3] += 1e-7  # a near duplicate
    x[4] = RNG.normal(size=8)
    d = L.pairwise_distances(x)
    assert d[0, 1] == 0.0 and d[1, 2] == 0.0 and d[0, 5] == 0.0  # equal rows: exactly 0
    np.testing.assert_allclose(d, _direct_distances(x), rtol=1e-10, atol=0)
    assert (d >= 0).all() and np.isfinite(d).all()


def test_pairwise_distances_degenerate_and_huge():
    np.testing.assert_array_equal(L.pairwise_distances(np.ones((3, 2))), np.zeros((3, 3)))
    np.testing.assert_array_equal(L.pairwise_distances(np.zeros((1, 4))), [[0.0]])
    huge = np.array([[1e300, 0.0], [0.0, 1e300]])  # the squares alone would overflow
    assert L.pairwise_distances(huge)[0, 1] == pytest.approx(np.sqrt(2) * 1e300, rel=1e-15)
    tiny = np.array([[1e-300, 0.0], [0.0, 1e-300]])  # the squares alone would underflow
    assert L.pairwise_distances(tiny)[0, 1] == pytest.approx(np.sqrt(2) * 1e-300, rel=1e-15)


# ---- mining -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_mining_matches_the_loop_reference(seed):
    rng = np.random.default_rng(seed)
    b, dim, classes = int(rng.integers(2, 48)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
    x, y = _batch(b, dim, classes, grid=seed % 2 == 0)
    got = L.mine_semihard_triplets(x, y)
    expected = _mine_semihard_loop(L.pairwise_distances(x), y)
    assert got.dtype == np.int64 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(2, 16), st.integers(1, 3)).flatmap(
    lambda s: st.tuples(arrays(np.float64, s, elements=st.integers(-3, 3).map(float)),
                        arrays(np.int64, s[:1], elements=st.integers(0, 3)))))
def test_mining_matches_the_loop_reference_on_tied_grids(batch):
    x, y = batch
    np.testing.assert_array_equal(L.mine_semihard_triplets(x, y),
                                  _mine_semihard_loop(L.pairwise_distances(x), y))


def test_mining_by_hand_ties_fallback_and_order():
    # points on a line: 0 and 1 are class 0; 2, 3, 4 class 1
    x = np.array([[0.0], [1.0], [2.0], [-2.0], [5.0]])
    y = np.array([0, 0, 1, 1, 1])
    rows = L.mine_semihard_triplets(x, y)
    # a=0, p=1 (d=1): negatives at 2, 2 (tie: lowest index 2), 5 -> n=2
    # a=1, p=0 (d=1): negatives at 1 (not > 1), 3, 4 -> n=3 (d=3)
    # a=2: d(2,3)=4, d(2,4)=3; negatives 0 (2), 1 (1): none farther -> farthest, n=0
    # a=3: p=2 (4): negatives 2, 3: none farther -> n=1 (3); p=4 (7): n=1
    # a=4: p=2 (3): negatives 5, 4 -> n=1 (4); p=3 (7): none farther -> farthest n=0 (5)
    expected = [[0, 1, 2], [1, 0, 3], [2, 3, 0], [2, 4, 0], [3, 2, 1], [3, 4, 1],
                [4, 2, 1], [4, 3, 0]]
    np.testing.assert_array_equal(rows, expected)


def test_mining_strictness_a_negative_at_the_positive_distance_is_not_semihard():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -3.0]])
    y = np.array([0, 0, 1, 1])
    # anchor 0: positive at 1, negatives at 1 (equal, not farther) and 3 -> n = 3
    assert L.mine_semihard_triplets(x, y)[0].tolist() == [0, 1, 3]


def test_mining_degenerate_batches():
    x = RNG.normal(size=(5, 3))
    assert L.mine_semihard_triplets(x, np.zeros(5, dtype=int)).shape == (0, 3)  # no negatives
    assert L.mine_semihard_triplets(x, np.arange(5)).shape == (0, 3)  # no positives
    assert L.mine_semihard_triplets(x[:1], [0]).shape == (0, 3)
    # all-equal embeddings: nothing is farther than the positive; the fallback is the lowest index
    rows = L.mine_semihard_triplets(np.ones((4, 2)), [0, 0, 1, 1])
    np.testing.assert_array_equal(rows, [[0, 1, 2], [1, 0, 2], [2, 3, 0], [3, 2, 0]])


def test_mining_memory_is_quadratic():
    b = 512
    x, y = RNG.normal(size=(b, 32)), RNG.integers(0, 8, size=b)
    tracemalloc.start()
    L.mine_semihard_triplets(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # a (B, B, B) boolean alone would be 134 MB; the B x B working set is a few dozen copies
    assert peak < 40 * b * b * 8


# ---- triplet_semihard_loss ----------------------------------------------------------------------

def test_triplet_semihard_tfa_docstring_example():
    # single class: margin + d(a, p), as TFA's masked max gives 0; TFA prints float32 digits
    got = L.triplet_semihard_loss([[0.0, 1.0], [1.0, 0.0]], [0, 0])
    assert got == pytest.approx(2.4142137, abs=1e-6)
    assert got == pytest.approx(1.0 + np.sqrt(2.0), rel=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_triplet_semihard_matches_tfa_reference(seed):
    rng = np.random.default_rng(100 + seed)
    b, dim, classes = int(rng.integers(2, 30)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
    x, y = _batch(b, dim, classes, grid=seed % 3 == 0)
    if len(np.unique(y)) == b:
        y[0] = y[1]  # at least one positive pair, so TFA's value is defined
    margin = float(rng.uniform(0.1, 2.0))
    assert L.triplet_semihard_loss(x, y, margin=margin) == pytest.approx(
        _tfa_semihard_reference(x, y, margin), rel=1e-12, abs=1e-15)


def test_triplet_semihard_by_hand():
    x = np.array([[0.0], [1.0], [2.0], [-2.0], [5.0]])
    y = np.array([0, 0, 1, 1, 1])
    d = np.abs(x - x.T)
    rows = [[0, 1, 2], [1, 0, 3], [2, 3, 0], [2, 4, 0], [3, 2, 1], [3, 4, 1], [4, 2, 1],
            [4, 3, 0]]
    expected = np.mean([max(0.0, 1.0 + d[a, p] - d[a, n]) for a, p, n in rows])
    assert L.triplet_semihard_loss(x, y) == pytest.approx(expected, rel=1e-15)


def test_triplet_semihard_degenerate_batches():
    x = RNG.normal(size=(4, 3))
    # no positive pair: TFA gives 0/0 = NaN; the course returns 0.0
    assert L.triplet_semihard_loss(x, np.arange(4)) == 0.0
    # all-equal embeddings: every distance 0, the fallback negative is 0 away: exactly the margin
    assert L.triplet_semihard_loss(np.ones((4, 2)), [0, 0, 1, 1], margin=0.3) == 0.3
    # no semi-hard negative anywhere: the farthest negative is used
    far = np.array([[0.0], [10.0], [1.0], [2.0]])
    assert L.triplet_semihard_loss(far, [0, 0, 1, 1]) == pytest.approx(
        _tfa_semihard_reference(far, np.array([0, 0, 1, 1]), 1.0), rel=1e-15)


# ---- NT-Xent ------------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature", [0.07, 0.2, 0.5, 1.0, 5.0])
@pytest.mark.parametrize("seed", range(3))
def test_nt_xent_matches_pytorch_metric_learning(temperature, seed):
    rng = np.random.default_rng(200 + seed)
    b = int(rng.integers(4, 24))
    x = rng.normal(size=(b, int(rng.integers(2, 8))))
    y = rng.integers(0, int(rng.integers(2, 6)), size=b)
    expected = NTXentLoss(temperature=temperature)(torch.tensor(x), torch.tensor(y)).item()
    assert L.nt_xent_loss(x, y, temperature=temperature) == pytest.approx(expected, rel=1e-12,
                                                                          abs=1e-15)


def test_nt_xent_simclr_views_zero_vectors_and_duplicates():
    x = RNG.normal(size=(6, 4))
    x[1] = 0.0  # a zero vector: cosine 0 with everything, not NaN
    x[3] = x[2]
    y = np.array([0, 1, 2, 0, 1, 2])  # two views per instance, as in SimCLR
    expected = NTXentLoss(temperature=0.1)(torch.tensor(x), torch.tensor(y)).item()
    got = L.nt_xent_loss(x, y, temperature=0.1)
    assert np.isfinite(got) and got == pytest.approx(expected, rel=1e-12)


def test_nt_xent_degenerate_and_extreme():
    x = RNG.normal(size=(4, 3))
    assert L.nt_xent_loss(x, np.zeros(4, dtype=int)) == 0.0  # no negatives
    assert L.nt_xent_loss(x, np.arange(4)) == 0.0  # no positives
    # tiny temperature: the ratio underflows and the loss saturates at -log(tiny), as in PML
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])
    y = np.array([0, 0, 1])
    expected = NTXentLoss(temperature=1e-3)(torch.tensor(x), torch.tensor(y)).item()
    got = L.nt_xent_loss(x, y, temperature=1e-3)
    assert np.isfinite(got) and got == pytest.approx(expected, rel=1e-12)
    # anchor 0: its positive is opposite, its negative identical -> -log(tiny) = 708.4;
    # anchor 1: positive and negative both opposite -> log 2
    tiny = np.finfo(np.float64).tiny
    assert got == pytest.approx((-np.log(tiny) + np.log(2.0)) / 2, rel=1e-12)


# ---- contrastive --------------------------------------------------------------------------------

def test_contrastive_by_hand():
    x1 = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    x2 = np.array([[3.0, 4.0], [0.3, 0.4], [3.0, 4.0], [1.0, 1.0]])
    same = np.array([1, 0, 0, 0])
    # d = 5, 0.5, 5, 0: 0.5 * 25; 0.5 * (1 - 0.5)^2; 0 (beyond the margin); 0.5 * 1^2
    np.testing.assert_allclose(L.contrastive_loss(x1, x2, same, reduction="none"),
                               [12.5, 0.125, 0.0, 0.5], rtol=1e-15)
    assert L.contrastive_loss(x1, x2, same) == pytest.approx(13.125 / 4, rel=1e-15)
    assert L.contrastive_loss(x1, x2, same, margin=6.0, reduction="sum") == pytest.approx(
        12.5 + 0.5 * 5.5**2 + 0.5 + 0.5 * 36, rel=1e-15)


def test_contrastive_matches_torch_formula():
    x1, x2 = RNG.normal(size=(7, 3)), RNG.normal(size=(7, 3))
    same = RNG.integers(0, 2, size=7)
    d = torch.nn.functional.pairwise_distance(torch.tensor(x1), torch.tensor(x2), eps=0.0)
    s = torch.tensor(same, dtype=torch.float64)
    expected = (0.5 * s * d**2 + 0.5 * (1 - s) * torch.clamp(1.5 - d, min=0) ** 2).numpy()
    np.testing.assert_allclose(L.contrastive_loss(x1, x2, same, margin=1.5, reduction="none"),
                               expected,
                               rtol=1e-12)


# ---- bad input ----------------------------------------------------------------------------------

X = np.zeros((3, 2))
BAD = [
    (L.pairwise_distances, (np.zeros(3),), {}, ValueError, r"reshape\(1, -1\)"),
    (L.pairwise_distances, (np.array([[0.0, np.inf]]),), {}, ValueError, r"contains inf"),
    (L.pairwise_distances, (np.array([[0.0, np.nan]]),), {}, ValueError, r"NaN"),
    (L.pairwise_distances, (np.array([[1e308, -1e308]]),), {}, ValueError, r"normalise"),
    (L.mine_semihard_triplets, (X, [0, 1]), {}, ValueError, r"length 2"),
    (L.mine_semihard_triplets, (X, [[0], [1], [1]]), {}, ValueError, r"reshape\(-1\)"),
    (L.mine_semihard_triplets, (X, [0.0, 1.0, 1.0]), {}, TypeError, r"astype"),
    (L.triplet_semihard_loss, (X, [0, 1, 1]), {"margin": 0.0}, ValueError, r"margin is 0"),
    (L.triplet_semihard_loss, (X, [0, 1, 1]), {"margin": -1}, ValueError, r"> 0"),
    (L.nt_xent_loss, (X, [0, 1, 1]), {"temperature": 0}, ValueError, r"temperature"),
    (L.nt_xent_loss, (X, [0, 1]), {}, ValueError, r"one label per embedding"),
    (L.contrastive_loss, (X, X, [1, -1, 1]), {}, ValueError, r"\(y \+ 1\) // 2"),
    (L.contrastive_loss, (X, X, [[1], [0], [1]]), {}, ValueError, r"same shape"),
    (L.contrastive_loss, (X, np.zeros((3, 3)), [1, 0, 1]), {}, ValueError, r"x2 shape"),
    (L.contrastive_loss, (X, X, [1, 0, 1]), {"margin": 0}, ValueError, r"margin"),
    (L.contrastive_loss, (X, X, [1, 0, 1]), {"reduction": "batchmean"}, ValueError,
     r"reduction"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, words", BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_named_and_has_a_fix(fn, args, kwargs, exc, words):
    assert_clear_error(fn, args, kwargs, exc, words)
