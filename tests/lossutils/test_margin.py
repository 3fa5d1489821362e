"""Margin and ranking losses: torch parity in values and gradients, edge cases, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clear_errors import assert_clear_error

import lossutils as L
from lossutils.gradcheck import numerical_grad, relative_error

RNG = np.random.default_rng(9)
REDUCTIONS = ["none", "mean", "sum"]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _pm(n):
    y = RNG.choice([-1.0, 1.0], size=n)
    y[:2] = [1.0, -1.0]  # both branches every time
    return y


def _check(ours, ours_grad, theirs, first, args, kwargs):
    """Compare value and gradient w.r.t. the first argument with torch's autograd."""
    xt = _t(first, grad=True)
    expected = theirs(xt, *[_t(a) for a in args], **kwargs)
    expected.sum().backward()
    np.testing.assert_allclose(ours(first, *args, **kwargs), expected.detach().numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours_grad(first, *args, **kwargs), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_matches_torch(reduction):
    x = RNG.normal(size=(4, 5)) * 2
    _check(L.hinge_embedding_loss, L.hinge_embedding_loss_grad, F.hinge_embedding_loss, x,
           (_pm(20).reshape(4, 5),), dict(margin=0.7, reduction=reduction))


def test_hinge_embedding_by_hand():
    # y = 1 pays x itself (unclipped), y = -1 pays max(0, margin - x)
    got = L.hinge_embedding_loss([0.5, -0.5, 0.25, 2.0], [1, 1, -1, -1], reduction="none")
    np.testing.assert_array_equal(got, [0.5, -0.5, 0.75, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_matches_torch(reduction):
    x1, x2 = RNG.normal(size=9), RNG.normal(size=9)
    _check(L.margin_ranking_loss, L.margin_ranking_loss_grad, F.margin_ranking_loss, x1,
           (x2, _pm(9)), dict(margin=0.3, reduction=reduction))


def test_margin_ranking_ties_cost_the_margin():
    assert L.margin_ranking_loss([1.0, 2.0], [1.0, 2.0], [1, -1], margin=0.5) == 0.5
    assert L.margin_ranking_loss([1.0], [1.0], [1]) == 0.0  # default margin 0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.2, -0.3])
def test_cosine_embedding_matches_torch(reduction, margin):
    a, b = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 3))
    _check(L.cosine_embedding_loss, L.cosine_embedding_loss_grad, F.cosine_embedding_loss, a,
           (b, _pm(8)), dict(margin=margin, reduction=reduction))


def test_cosine_embedding_zero_vectors_have_cosine_zero():
    a = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    y = np.array([1.0, -1.0, 1.0])
    got = L.cosine_embedding_loss(a, b, y, reduction="none")
    np.testing.assert_array_equal(got, [1.0, 0.0, 1.0])
    _check(L.cosine_embedding_loss, L.cosine_embedding_loss_grad, F.cosine_embedding_loss, a,
           (b, y), dict(reduction="mean"))
    assert np.isfinite(L.cosine_embedding_loss_grad(a, b, y)).all()


def test_cosine_embedding_single_pair_and_gradcheck():
    a, b = RNG.normal(size=4), RNG.normal(size=4)
    _check(L.cosine_embedding_loss, L.cosine_embedding_loss_grad, F.cosine_embedding_loss, a,
           (b, np.array(1.0)), {})
    num = numerical_grad(lambda v: L.cosine_embedding_loss(v, b, np.array(1.0)), a)
    assert relative_error(L.cosine_embedding_loss_grad(a, b, np.array(1.0)), num) < 1e-7


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2, 3, np.inf])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_matches_torch(reduction, p, swap):
    a = RNG.normal(size=(10, 4))
    pos = a + RNG.normal(scale=0.8, size=(10, 4))
    # negatives near the positives so that swap (d(p, n) < d(a, n)) matters for some rows
    neg = pos + RNG.normal(scale=0.6, size=(10, 4))
    kwargs = dict(margin=1.5, p=p, swap=swap, reduction=reduction)
    _check(L.triplet_margin_loss, L.triplet_margin_loss_grad, F.triplet_margin_loss, a,
           (pos, neg), kwargs)
    if swap:
        assert not np.allclose(L.triplet_margin_loss(a, pos, neg, **kwargs),
                               L.triplet_margin_loss(a, pos, neg, **{**kwargs, "swap": False}))


def test_triplet_margin_gradcheck():
    a, pos, neg = RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))
    for p in (1.5, 2, 3):
        num = numerical_grad(lambda v, p=p: L.triplet_margin_loss(v, pos, neg, margin=3.0, p=p),
                             a)
        got = L.triplet_margin_loss_grad(a, pos, neg, margin=3.0, p=p)
        assert relative_error(got, num) < 1e-7


def test_triplet_margin_all_equal_embeddings_give_exactly_the_margin():
    x = np.ones((4, 3))
    for swap in (False, True):
        got = L.triplet_margin_loss(x, x, x, margin=0.7, swap=swap, reduction="none")
        np.testing.assert_array_equal(got, np.full(4, 0.7))
        expected = F.triplet_margin_loss(_t(x), _t(x), _t(x), margin=0.7, swap=swap,
                                         reduction="none").numpy()
        np.testing.assert_array_equal(got, expected)
    assert np.isfinite(L.triplet_margin_loss_grad(x, x, x)).all()


def test_triplet_margin_eps_is_added_to_the_difference():
    # identical anchor and positive are eps * sqrt(D) apart, not 0
    a = np.zeros((1, 4))
    n = np.full((1, 4), 10.0)
    d_an = np.linalg.norm(a - n + 1e-6)
    assert L.triplet_margin_loss(a, a, n, margin=25.0) == pytest.approx(
        2e-6 - d_an + 25.0, rel=1e-14)


# ---- exactly at the kink -------------------------------------------------------------------
# Where a hinge's argument is exactly 0 there is no derivative. The gradients return the
# subgradient torch's built-ins return: the slope of the active side (torch writes these hinges
# with clamp_min, whose backward passes the gradient at equality); a relu would give 0. Every
# kink below is exact in float64.

def _torch_grad(fn, first, *rest, **kwargs):
    leaf = _t(first, grad=True)
    fn(leaf, *[_t(a) for a in rest], reduction="sum", **kwargs).backward()
    return leaf.grad.numpy()


def test_relu_and_clamp_min_differ_at_zero():
    # the two ways of writing max(0, z) in torch, and why the choice needs stating
    for hinge, slope in ((torch.relu, 0.0), (lambda z: torch.clamp_min(z, 0.0), 1.0)):
        z = _t([0.0], grad=True)
        hinge(z).sum().backward()
        assert z.grad.item() == slope


def test_hinge_embedding_kink():
    x = np.array([0.5, 0.5, 0.7, 0.2])
    y = np.array([-1.0, 1.0, -1.0, -1.0])  # the first entry sits on the kink x = margin
    ours = L.hinge_embedding_loss_grad(x, y, margin=0.5, reduction="sum")
    np.testing.assert_array_equal(ours, _torch_grad(F.hinge_embedding_loss, x, y, margin=0.5))
    np.testing.assert_array_equal(ours, [-1.0, 1.0, 0.0, -1.0])


def test_margin_ranking_kink():
    x1, x2 = np.array([1.0, 1.5, 2.0, 3.0]), np.array([1.0, 1.0, 1.0, 3.0])
    y = np.array([1.0, 1.0, -1.0, -1.0])  # y (x1 - x2) = margin in the second entry
    ours = L.margin_ranking_loss_grad(x1, x2, y, margin=0.5, reduction="sum")
    np.testing.assert_array_equal(ours, _torch_grad(F.margin_ranking_loss, x1, x2, y, margin=0.5))
    np.testing.assert_array_equal(ours, [-1.0, -1.0, 1.0, 1.0])
    # with the default margin 0, every tie is a kink
    tie = L.margin_ranking_loss_grad(x2, x2, y, reduction="sum")
    np.testing.assert_array_equal(tie, _torch_grad(F.margin_ranking_loss, x2, x2, y))
    np.testing.assert_array_equal(tie, -y)


def test_cosine_embedding_kink():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = np.array([[0.0, 3.0], [0.0, 1.0], [1.0, -1.0]])
    y = np.array([-1.0, -1.0, -1.0])  # rows 0 and 2 are orthogonal: cos = margin = 0 exactly
    ours = L.cosine_embedding_loss_grad(a, b, y, reduction="sum")
    np.testing.assert_allclose(ours, _torch_grad(F.cosine_embedding_loss, a, b, y),
                               rtol=1e-15, atol=0)
    # d cos / d a = b / (|a| |b|) at cos = 0 (up to the 1e-12 inside the norms), not 0
    np.testing.assert_allclose(ours[[0, 2]], [[0.0, 1.0], [0.5, -0.5]], rtol=1e-11, atol=0)


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_kink(swap):
    # eps = 0 keeps the distances exact: d(a, p) = 5; without swap d(a, n) = 10 with margin 5,
    # with swap d(p, n) = 6 < d(a, n) with margin 1: the hinge's argument is 0 either way
    a, p = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    n, margin = (np.array([[8.0, 6.0]]), 5.0) if not swap else (np.array([[9.0, 4.0]]), 1.0)
    kwargs = dict(margin=margin, eps=0.0, swap=swap)
    assert L.triplet_margin_loss(a, p, n, **kwargs) == 0.0
    ours = L.triplet_margin_loss_grad(a, p, n, reduction="sum", **kwargs)
    np.testing.assert_allclose(ours, _torch_grad(F.triplet_margin_loss, a, p, n, **kwargs),
                               rtol=1e-15, atol=0)
    # grad d(a, p) - grad d(a, n); with swap the negative term does not involve the anchor
    np.testing.assert_allclose(ours, [[0.2, -0.2]] if not swap else [[-0.6, -0.8]], rtol=1e-15)


def test_hinge_losses_are_finite_at_extremes():
    big = np.array([1e300, -1e300, 0.0])
    assert np.isfinite(L.margin_ranking_loss(big, -big, [1, 1, 1], reduction="none")[[0, 2]]).all()
    zero = np.zeros((2, 3))
    assert np.isfinite(L.triplet_margin_loss(zero, zero, zero))
    assert np.isfinite(L.cosine_embedding_loss(zero, zero, [1, -1]))


BAD = [
    (L.hinge_embedding_loss, ([0.5, 1.0], [0, 1]), {}, ValueError, r"2 \* y01 - 1"),
    (L.hinge_embedding_loss, ([0.5, 1.0], [1, -1, 1]), {}, ValueError, r"target shape"),
    (L.hinge_embedding_loss, ([0.5, 1.0], [1, -1]), {"margin": -1.0}, ValueError, r">= 0"),
    (L.hinge_embedding_loss_grad, ([0.5, np.nan], [1, -1]), {}, ValueError, r"NaN"),
    (L.margin_ranking_loss, ([1.0, 2.0], [1.0], [1, 1]), {}, ValueError, r"input2 shape"),
    (L.margin_ranking_loss, ([1.0, 2.0], [1.0, 0.0], [1, 0]), {}, ValueError, r"y01"),
    (L.margin_ranking_loss, ([1.0], [1.0], [1]), {"margin": "big"}, TypeError, r"margin"),
    (L.margin_ranking_loss, ([1.0], [1.0], [1]), {"reduction": "avg"}, ValueError, "reduction"),
    (L.cosine_embedding_loss, (np.ones((2, 3)), np.ones((2, 3)), [[1], [1]]), {}, ValueError,
     r"reshape\(-1\)"),
    (L.cosine_embedding_loss, (np.ones((2, 3, 1)), np.ones((2, 3, 1)), [1, 1]), {}, ValueError,
     r"\(N, D\)"),
    (L.cosine_embedding_loss_grad, (np.ones((2, 3)), np.ones((2, 2)), [1, 1]), {}, ValueError,
     r"input2 shape"),
    (L.triplet_margin_loss, (np.ones((2, 3)),) * 3, {"margin": 0.0}, ValueError, r"margin is 0"),
    (L.triplet_margin_loss, (np.ones((2, 3)),) * 3, {"margin": -1}, ValueError, r"> 0"),
    (L.triplet_margin_loss, (np.ones((2, 3)),) * 3, {"p": 0}, ValueError, r"p is 0"),
    (L.triplet_margin_loss, (np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 3))), {},
     ValueError, r"negative shape"),
    (L.triplet_margin_loss_grad, (np.ones((2, 3)),) * 3, {"margin": 0}, ValueError, r"margin"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, words", BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_named_and_has_a_fix(fn, args, kwargs, exc, words):
    assert_clear_error(fn, args, kwargs, exc, words)
