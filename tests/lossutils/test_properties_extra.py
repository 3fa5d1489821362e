"""Hypothesis properties of the divergence, margin and embedding losses (chapters 8 to 10)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lossutils as L

SETTINGS = settings(max_examples=60, deadline=None)
EXTREMES = st.sampled_from([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4])


@st.composite
def distributions(draw, rows=None, classes=None, zeros=True):
    """Probability rows, some with exact zeros."""
    n = draw(rows if rows is not None else st.integers(1, 4))
    k = draw(classes if classes is not None else st.integers(2, 6))
    w = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 10.0)))
    if not zeros:
        w = w + 1e-3
    w[:, 0] += 1e-3  # no all-zero row
    return w / w.sum(axis=1, keepdims=True)


@st.composite
def distribution_pairs(draw):
    p = draw(distributions())
    q = draw(distributions(rows=st.just(p.shape[0]), classes=st.just(p.shape[1]), zeros=False))
    return p, q


def logits(n, k, bound=30.0):
    return arrays(np.float64, (n, k), elements=st.floats(-bound, bound))


def embeddings(max_b=12, max_d=4):
    """Small batches on a grid of quarters: exact arithmetic, and many tied distances."""
    return st.tuples(st.integers(2, max_b), st.integers(1, max_d)).flatmap(
        lambda s: arrays(np.float64, s, elements=st.integers(-20, 20).map(lambda v: v / 4)))


# ---- divergences ---------------------------------------------------------------------------------

@SETTINGS
@given(distribution_pairs())
def test_kl_is_non_negative_and_zero_only_against_itself(pq):
    p, q = pq
    assert (L.kl_divergence(p, q) >= -1e-15).all()
    np.testing.assert_array_equal(L.kl_divergence(p, p), 0.0)
    assert (L.entropy(p) >= 0).all() and (L.entropy(p) <= np.log(p.shape[1]) + 1e-12).all()


@SETTINGS
@given(distributions(), logits(4, 6))
def test_cross_entropy_is_entropy_plus_kl(p, z):
    z = z[: p.shape[0], : p.shape[1]]
    q = L.softmax(z)
    ce = L.cross_entropy(z, p)  # probability targets, mean over rows
    np.testing.assert_allclose(ce, np.mean(L.entropy(p) + L.kl_divergence(p, q)), rtol=1e-9,
                               atol=1e-12)
    # the same KL through torch's argument order
    np.testing.assert_allclose(L.kl_div(L.log_softmax(z), p, reduction="batchmean"),
                               np.mean(L.kl_divergence(p, q)), rtol=1e-9, atol=1e-12)


def test_kl_is_not_symmetric():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    assert abs(L.kl_divergence(p, q) - L.kl_divergence(q, p)) > 0.1


@SETTINGS
@given(distributions(zeros=True))
def test_kl_div_is_finite_with_zero_rows_and_zero_entries(p):
    p = p.copy()
    p[0] = 0.0  # a whole row of zeros in the target contributes exactly 0
    x = L.log_softmax(np.zeros_like(p))
    per_element = L.kl_div(x, p, reduction="none")
    assert np.isfinite(per_element).all()
    np.testing.assert_array_equal(per_element[0], 0.0)


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    arrays(np.float64, (n, 3), elements=EXTREMES), arrays(np.float64, (n, 3), elements=EXTREMES),
    arrays(np.int64, (n,), elements=st.integers(0, 2)))),
    st.sampled_from([1.0, 2.0, 4.0, 20.0]))
def test_distillation_is_finite_and_non_negative_at_extreme_logits(data, T):
    s, t, y = data
    for target in (None, y):
        value = L.distillation_loss(s, t, target, T=T)
        assert np.isfinite(value) and value >= -1e-9
        assert np.isfinite(L.distillation_loss_grad(s, t, target, T=T)).all()


def test_distillation_t_squared_keeps_the_gradient_size():
    rng = np.random.default_rng(3)
    s, t = rng.normal(scale=2.0, size=(8, 10)), rng.normal(scale=4.0, size=(8, 10))
    temps = [1.0, 2.0, 4.0, 20.0]
    scaled = np.array([np.linalg.norm(L.distillation_loss_grad(s, t, T=T)) for T in temps])
    unscaled = scaled / np.array(temps) ** 2  # what the soft term gives without the T^2 factor
    assert scaled.max() / scaled.min() < 2.0  # 0.26 .. 0.44 here
    assert unscaled.max() / unscaled.min() > 100.0


# ---- margin and embedding losses -----------------------------------------------------------------

@SETTINGS
@given(st.integers(1, 5).flatmap(lambda n: arrays(np.float64, (3, n, 3),
                                                  elements=st.floats(-1e3, 1e3))),
       st.floats(0.01, 3.0), st.booleans())
def test_triplet_margin_is_non_negative_and_finite(apn, margin, swap):
    value = L.triplet_margin_loss(*apn, margin=margin, swap=swap, reduction="none")
    assert np.isfinite(value).all() and (value >= 0).all()


@SETTINGS
@given(embeddings(), st.integers(1, 4), st.floats(0.05, 2.0))
def test_semihard_loss_non_negative_and_invariant(x, classes, margin):
    y = np.arange(x.shape[0]) % classes
    value = L.triplet_semihard_loss(x, y, margin=margin)
    assert np.isfinite(value) and value >= 0
    # distances do not see a translation (exact on the grid, so ties stay ties), and the mean
    # over pairs does not see the order of the batch
    perm = np.random.default_rng(0).permutation(x.shape[0])
    np.testing.assert_allclose(L.triplet_semihard_loss(x + 4.0, y, margin=margin), value,
                               rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(L.triplet_semihard_loss(x[perm], y[perm], margin=margin), value,
                               rtol=1e-12, atol=1e-15)


@SETTINGS
@given(embeddings(), st.integers(1, 4))
def test_mined_triplets_are_valid(x, classes):
    y = np.arange(x.shape[0]) % classes
    rows = L.mine_semihard_triplets(x, y)
    a, p, n = rows.T
    assert (a != p).all() and (y[a] == y[p]).all() and (y[a] != y[n]).all()
    assert rows.shape[0] == (0 if classes == 1 else sum(
        int((y == c).sum()) * (int((y == c).sum()) - 1) for c in np.unique(y)))
    np.testing.assert_array_equal(rows[np.lexsort((p, a))], rows)  # sorted by a, then p


@SETTINGS
@given(embeddings(), st.integers(1, 4), st.floats(0.01, 5.0))
def test_nt_xent_and_contrastive_non_negative_and_finite(x, classes, temperature):
    y = np.arange(x.shape[0]) % classes
    value = L.nt_xent_loss(x, y, temperature=temperature)
    assert np.isfinite(value) and value >= 0
    same = (np.arange(x.shape[0]) % 2).astype(float)
    c = L.contrastive_loss(x, x[::-1], same, reduction="none")
    assert np.isfinite(c).all() and (c >= 0).all()


def test_embedding_losses_finite_at_degenerate_batches():
    equal = np.ones((6, 3))
    zero = np.zeros((6, 3))
    y = np.array([0, 0, 1, 1, 2, 2])
    for x in (equal, zero):
        assert L.triplet_semihard_loss(x, y) == 1.0  # all distances 0: exactly the margin
        assert np.isfinite(L.nt_xent_loss(x, y))
        assert np.isfinite(L.pairwise_distances(x)).all()
        assert L.triplet_margin_loss(x, x, x) == 1.0
        assert np.isfinite(L.cosine_embedding_loss(x, x, np.ones(6)))
    single = np.random.default_rng(1).normal(size=(5, 2))
    assert np.isfinite(L.triplet_semihard_loss(single, np.zeros(5, dtype=int)))
    assert L.nt_xent_loss(single, np.zeros(5, dtype=int)) == 0.0
