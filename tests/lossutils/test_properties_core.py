"""Hypothesis properties of the regression, binary, focal and cross-entropy losses.

Each property is a fact the chapters state: losses are non-negative and vanish at a perfect
prediction, Huber interpolates between MSE / 2 and delta * L1, focal loss is BCE reweighted
downwards, and cross-entropy with class ids is cross-entropy with one-hot (or smoothed) rows.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as L

FAST = settings(max_examples=30, deadline=None)
REDUCTION = st.sampled_from(["none", "mean", "sum"])


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def arrays(elements, min_side=1, max_side=6, dims=(1, 2)):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=dims[0], max_dims=dims[1],
                                                   min_side=min_side, max_side=max_side),
                      elements=elements)


@st.composite
def pairs(draw, lo=-1e3, hi=1e3):
    """Two same-shaped arrays, input and target."""
    x = draw(arrays(floats(lo, hi)))
    y = draw(hnp.arrays(np.float64, x.shape, elements=floats(lo, hi)))
    return x, y


@st.composite
def logits_and_labels(draw, soft=True, lo=-1e4, hi=1e4):
    x = draw(arrays(floats(lo, hi)))
    labels = floats(0.0, 1.0) if soft else st.sampled_from([0.0, 1.0])
    y = draw(hnp.arrays(np.float64, x.shape, elements=labels))
    return x, y


@st.composite
def class_problems(draw, max_classes=6):
    """Logits (N, C) or (N, C, d) with class ids, all finite, logits up to +-1e4."""
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, max_classes))
    spatial = draw(st.sampled_from([(), (2,)]))
    x = draw(hnp.arrays(np.float64, (n, c) + spatial, elements=floats(-1e4, 1e4)))
    t = draw(hnp.arrays(np.int64, (n,) + spatial, elements=st.integers(0, c - 1)))
    return x, t


# ---- regression ---------------------------------------------------------------------------------

REGRESSION = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"]


@FAST
@given(pairs(), st.sampled_from(REGRESSION), REDUCTION)
def test_regression_losses_are_non_negative_and_zero_at_the_target(xy, name, reduction):
    x, y = xy
    assert np.all(np.asarray(getattr(L, name)(x, y, reduction=reduction)) >= 0)
    np.testing.assert_array_equal(getattr(L, name)(x, x, reduction=reduction), 0.0)
    np.testing.assert_array_equal(getattr(L, name + "_grad")(x, x, reduction=reduction), 0.0)


@FAST
@given(pairs(), REDUCTION)
def test_huber_is_half_mse_when_delta_exceeds_every_residual(xy, reduction):
    x, y = xy
    delta = 2.0 * float(np.max(np.abs(x - y))) + 1.0
    np.testing.assert_allclose(L.huber_loss(x, y, delta=delta, reduction=reduction),
                               0.5 * np.asarray(L.mse_loss(x, y, reduction=reduction)),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(L.huber_loss_grad(x, y, delta=delta, reduction=reduction),
                               0.5 * L.mse_loss_grad(x, y, reduction=reduction), rtol=1e-12,
                               atol=1e-300)


@FAST
@given(arrays(floats(-1.0, 1.0).filter(lambda v: abs(v) > 1e-3)), floats(0.1, 10.0))
def test_huber_tends_to_delta_times_l1_far_out(direction, delta):
    # residuals far beyond delta: huber = delta (|e| - delta / 2), so huber / (delta |e|) -> 1,
    # from below, with a gap delta / (2 |e|) that is at most 5e-6 here (|e| >= 1e6, delta <= 10)
    e = direction * 1e9
    zero = np.zeros_like(e)
    huber = L.huber_loss(e, zero, delta=delta, reduction="none")
    ratio = huber / (delta * np.abs(e))
    assert np.all(ratio <= 1.0)
    np.testing.assert_allclose(ratio, 1.0, rtol=5e-6)
    np.testing.assert_allclose(huber, delta * np.abs(e) - delta**2 / 2, rtol=1e-15)
    np.testing.assert_allclose(L.huber_loss_grad(e, zero, delta=delta, reduction="none"),
                               delta * L.l1_loss_grad(e, zero, reduction="none"))


@FAST
@given(pairs(-10.0, 10.0), floats(0.05, 5.0), REDUCTION)
def test_huber_is_delta_times_smooth_l1(xy, delta, reduction):
    x, y = xy
    np.testing.assert_allclose(
        L.huber_loss(x, y, delta=delta, reduction=reduction),
        delta * np.asarray(L.smooth_l1_loss(x, y, beta=delta, reduction=reduction)),
        rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        L.huber_loss_grad(x, y, delta=delta, reduction=reduction),
        delta * L.smooth_l1_loss_grad(x, y, beta=delta, reduction=reduction),
        rtol=1e-12, atol=1e-300)


# ---- binary and focal ---------------------------------------------------------------------------

@FAST
@given(logits_and_labels(), REDUCTION)
def test_binary_losses_are_finite_and_non_negative(xy, reduction):
    x, y = xy
    for value in (L.binary_cross_entropy_with_logits(x, y, reduction=reduction),
                  L.sigmoid_focal_loss(x, y, reduction=reduction),
                  L.binary_cross_entropy(L.sigmoid(x), y, reduction=reduction)):
        assert np.all(np.isfinite(value)) and np.all(np.asarray(value) >= 0)
    for grad in (L.binary_cross_entropy_with_logits_grad(x, y, reduction=reduction),
                 L.sigmoid_focal_loss_grad(x, y, reduction=reduction)):
        assert np.all(np.isfinite(grad))


@FAST
@given(arrays(st.sampled_from([0.0, 1.0])))
def test_bce_is_zero_at_a_perfect_probability(y):
    np.testing.assert_array_equal(L.binary_cross_entropy(y, y, reduction="none"), 0.0)


@FAST
@given(logits_and_labels(), REDUCTION, st.sampled_from([None, -1]))
def test_focal_with_gamma_zero_and_no_alpha_is_bce_with_logits(xy, reduction, off):
    x, y = xy
    np.testing.assert_allclose(L.sigmoid_focal_loss(x, y, alpha=off, gamma=0.0,
                                                    reduction=reduction),
                               L.binary_cross_entropy_with_logits(x, y, reduction=reduction),
                               rtol=1e-14, atol=0)
    np.testing.assert_allclose(L.sigmoid_focal_loss_grad(x, y, alpha=off, gamma=0.0,
                                                         reduction=reduction),
                               L.binary_cross_entropy_with_logits_grad(x, y,
                                                                       reduction=reduction),
                               rtol=1e-14, atol=0)


@FAST
@given(logits_and_labels(), st.one_of(st.none(), floats(0.0, 1.0)), floats(0.0, 5.0))
def test_focal_never_exceeds_bce(xy, alpha, gamma):
    x, y = xy
    focal = L.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
    bce = L.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert np.all(focal <= bce * (1 + 1e-15))


@FAST
@given(logits_and_labels(lo=-30.0, hi=30.0))
def test_multilabel_is_the_class_mean_of_bce_with_logits(xy):
    x, y = xy
    np.testing.assert_allclose(
        L.multilabel_soft_margin_loss(x, y, reduction="none"),
        L.binary_cross_entropy_with_logits(x, y, reduction="none").mean(axis=-1), rtol=1e-13)


# ---- cross-entropy ------------------------------------------------------------------------------

@FAST
@given(class_problems(), REDUCTION, floats(0.0, 1.0))
def test_cross_entropy_is_finite_and_non_negative(problem, reduction, smoothing):
    x, t = problem
    value = L.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing)
    grad = L.cross_entropy_grad(x, t, reduction=reduction, label_smoothing=smoothing)
    assert np.all(np.isfinite(value)) and np.all(np.asarray(value) >= 0)
    assert np.all(np.isfinite(grad))


@FAST
@given(class_problems(), REDUCTION, floats(0.0, 1.0))
def test_class_ids_equal_one_hot_probability_targets(problem, reduction, smoothing):
    x, t = problem
    onehot = np.moveaxis(np.eye(x.shape[1])[t], -1, 1)  # class axis back to dim 1
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(L.cross_entropy(x, t, **kwargs),
                               L.cross_entropy(x, onehot, **kwargs), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(L.cross_entropy_grad(x, t, **kwargs),
                               L.cross_entropy_grad(x, onehot, **kwargs), rtol=1e-12, atol=1e-15)


@FAST
@given(class_problems(), floats(0.0, 1.0))
def test_smoothing_equals_label_smoothing_targets(problem, eps):
    x, t = problem
    if x.ndim != 2:
        t, x = t[:, 0], x[..., 0]
    q = L.label_smoothing_targets(t, num_classes=x.shape[1], label_smoothing=eps)
    np.testing.assert_allclose(L.cross_entropy(x, t, label_smoothing=eps, reduction="none"),
                               L.cross_entropy(x, q, reduction="none"), rtol=1e-12, atol=1e-9)


@FAST
@given(class_problems(), floats(-1e3, 1e3))
def test_cross_entropy_ignores_a_shift_of_all_logits(problem, shift):
    x, t = problem
    x = np.clip(x, -1e3, 1e3)
    np.testing.assert_allclose(L.cross_entropy(x + shift, t, reduction="none"),
                               L.cross_entropy(x, t, reduction="none"), rtol=1e-9, atol=1e-9)


@FAST
@given(class_problems())
def test_confident_correct_logits_cost_almost_nothing(problem):
    x, t = problem
    onehot = np.moveaxis(np.eye(x.shape[1])[t], -1, 1)
    sharp = 800.0 * onehot  # the true class ahead by 800: exp(-800) underflows to 0
    np.testing.assert_array_equal(L.cross_entropy(sharp, t, reduction="none"), 0.0)
