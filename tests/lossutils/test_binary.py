"""Binary, multi-label and focal losses: torch parity, extreme logits, worked numbers, bad input."""

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as L
from lossutils.gradcheck import numerical_grad, relative_error

RNG = np.random.default_rng(4)
REDUCTIONS = ["none", "mean", "sum"]
EXTREME = np.array([-1e4, -100.0, -40.0, -3.0, 0.0, 2.0, 40.0, 100.0, 1e4])


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _torch(fn, x, *args, **kwargs):
    """Value and gradient (of sum(loss) for "none") w.r.t. the first argument, by autograd."""
    xt = _t(x, grad=True)
    out = fn(xt, *[None if a is None else _t(a) for a in args], **kwargs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), xt.grad.numpy()


def _labels(shape, soft=False):
    y = (RNG.uniform(size=shape) < 0.5).astype(float)
    y.flat[:2] = [0.0, 1.0]
    if soft:
        y.flat[2:5] = [0.2, 0.5, 0.9]
    return y


def torchvision_focal(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss (0.28), re-stated in torch from its formula."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None and alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


# ---- binary cross-entropy on probabilities ------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch_including_p_at_0_and_1(reduction, weighted):
    p = RNG.uniform(size=(5, 3))
    y = _labels((5, 3), soft=True)
    p[0], y[0] = [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]   # exact hits and a clamped miss
    p[1], y[1] = [1.0, 1e-13, 1.0], [0.0, 1.0, 0.4]  # clamped miss, tiny p, soft target at p = 1
    w = RNG.uniform(0.5, 2.0, size=3) if weighted else None
    value = L.binary_cross_entropy(p, y, weight=w, reduction=reduction)
    grad = L.binary_cross_entropy_grad(p, y, weight=w, reduction=reduction)
    t_value, t_grad = _torch(F.binary_cross_entropy, p, y, w, reduction=reduction)
    np.testing.assert_allclose(value, t_value, rtol=1e-13)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-13)  # incl. the 1e12-sized slopes at 0 and 1


def test_bce_log_is_clamped_at_minus_100():
    got = L.binary_cross_entropy([0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], reduction="none")
    np.testing.assert_array_equal(got, [100.0, 100.0, 0.0, 0.0])
    assert np.all(np.isfinite(L.binary_cross_entropy_grad([0.0, 1.0], [1.0, 0.0])))


def test_worked_example_minus_log_001():
    # a confident wrong answer: the true class got probability 0.01
    assert round(float(L.binary_cross_entropy([0.01], [1.0])), 3) == 4.605
    logit = np.log(0.01 / 0.99)
    assert round(float(L.binary_cross_entropy_with_logits([logit], [1.0])), 3) == 4.605


# ---- binary cross-entropy on logits -------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, pos_weighted", [(False, False), (True, False), (False, True),
                                                    (True, True)])
def test_bce_with_logits_matches_torch(reduction, weighted, pos_weighted):
    x = RNG.normal(size=(6, 4)) * 3
    x[0] = [-1e4, 1e4, -100.0, 100.0]
    x[1] = [40.0, -40.0, 0.0, 1e-3]
    y = _labels((6, 4), soft=True)
    w = RNG.uniform(0.5, 2.0, size=(6, 4)) if weighted else None
    pw = RNG.uniform(0.5, 4.0, size=4) if pos_weighted else None
    value = L.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction, pos_weight=pw)
    grad = L.binary_cross_entropy_with_logits_grad(x, y, weight=w, reduction=reduction,
                                                   pos_weight=pw)
    t_value, t_grad = _torch(F.binary_cross_entropy_with_logits, x, y, w, reduction=reduction,
                             pos_weight=None if pw is None else _t(pw))
    # atol: torch forms (1 - y) x + softplus(-x), a difference of two large numbers for y = 0 and
    # x << 0, so its small losses carry ~1e-16 absolute error (0 for 4.2e-18 at x = -40)
    np.testing.assert_allclose(value, t_value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-13, atol=1e-15)


def test_bce_with_logits_extremes_are_exact():
    x = np.array([-1e4, 1e4, 1e4, -1e4, 40.0, -40.0, 100.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    got = L.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_array_equal(got[:4], [1e4, 1e4, 0.0, 0.0])  # wrong side: exactly |x|
    # right side: log1p(exp(-|x|)) to full relative precision, on both labels
    np.testing.assert_allclose(got[4:], np.log1p(np.exp(-np.abs(x[4:]))), rtol=1e-15)
    slope = L.binary_cross_entropy_with_logits_grad(x[4:], y[4:], reduction="none")
    np.testing.assert_allclose(slope, [-np.exp(-40.0), np.exp(-40.0), -np.exp(-100.0)],
                               rtol=1e-14)
    pw = np.array([3.0])
    np.testing.assert_array_equal(
        L.binary_cross_entropy_with_logits(x[:1], y[:1], pos_weight=pw, reduction="sum"), 3e4)
    np.testing.assert_array_equal(L.binary_cross_entropy_with_logits_grad(x[:4], y[:4], weight=None,
                                                                          reduction="none"),
                                  [-1.0, 1.0, 0.0, 0.0])


def test_pos_weight_broadcasts_along_the_last_dim():
    x = RNG.normal(size=(2, 3, 4))
    y = _labels((2, 3, 4))
    pw = np.array([1.0, 2.0, 3.0, 4.0])
    t_value, t_grad = _torch(F.binary_cross_entropy_with_logits, x, y, reduction="none",
                             pos_weight=_t(pw))
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=pw), t_value,
        rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits_grad(x, y, reduction="none", pos_weight=pw), t_grad,
        rtol=1e-13)


def test_bce_with_logits_equals_bce_of_sigmoid_for_moderate_logits():
    x = RNG.normal(size=20) * 4
    y = _labels(20, soft=True)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(x, y),
                               L.binary_cross_entropy(L.sigmoid(x), y), rtol=1e-12)


# ---- multi-label soft margin --------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 3), (4,)])
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_matches_torch(reduction, shape, weighted):
    x = RNG.normal(size=shape) * 3
    x.flat[0] = -1e4
    y = _labels(shape)
    w = RNG.uniform(0.5, 2.0, size=shape[-1]) if weighted else None
    value = L.multilabel_soft_margin_loss(x, y, weight=w, reduction=reduction)
    grad = L.multilabel_soft_margin_loss_grad(x, y, weight=w, reduction=reduction)
    t_value, t_grad = _torch(F.multilabel_soft_margin_loss, x, y, w, reduction=reduction)
    np.testing.assert_allclose(value, t_value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-13, atol=1e-17)
    assert np.shape(value) == np.shape(t_value)  # (N,) per sample for "none"


# ---- focal loss ---------------------------------------------------------------------------------

FOCAL_SETTINGS = [(0.25, 2.0), (None, 0.0), (-1, 2.0), (0.0, 1.0), (1.0, 0.5), (0.6, 5.0)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha, gamma", FOCAL_SETTINGS)
def test_focal_matches_torchvision_formula(alpha, gamma, reduction):
    x = RNG.normal(size=(4, 5)) * 3
    y = _labels((4, 5), soft=True)
    value = L.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma, reduction=reduction)
    grad = L.sigmoid_focal_loss_grad(x, y, alpha=alpha, gamma=gamma, reduction=reduction)
    t_value, t_grad = _torch(torchvision_focal, x, y, alpha=alpha, gamma=gamma,
                             reduction=reduction)
    # atol: a loss of ~1e-20 (a very confident right answer) may differ in its last digits
    np.testing.assert_allclose(value, t_value, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-11, atol=1e-17)


def test_focal_default_reduction_is_none():
    x = RNG.normal(size=(3, 2))
    y = _labels((3, 2))
    assert L.sigmoid_focal_loss(x, y).shape == (3, 2)
    assert L.sigmoid_focal_loss_grad(x, y).shape == (3, 2)


def _focal_mp(x, y, alpha, gamma):
    """The focal loss in 60-digit arithmetic, each sigmoid formed on its own side."""
    x, y = mpmath.mpf(x), mpmath.mpf(y)
    p, q = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))  # sigmoid(x), sigmoid(-x)
    ce = y * mpmath.log1p(mpmath.exp(-x)) + (1 - y) * mpmath.log1p(mpmath.exp(x))
    loss = ce * (y * q + (1 - y) * p) ** gamma
    return loss if alpha is None else (alpha * y + (1 - alpha) * (1 - y)) * loss


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (None, 0.5), (0.75, 1.0)])
def test_focal_is_accurate_at_extreme_logits(alpha, gamma):
    x = np.concatenate([EXTREME, EXTREME])
    y = np.repeat([1.0, 0.0], EXTREME.size)
    value = L.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
    grad = L.sigmoid_focal_loss_grad(x, y, alpha=alpha, gamma=gamma)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    with mpmath.workdps(60):
        ref = [float(_focal_mp(a, b, alpha, gamma)) for a, b in zip(x, y, strict=True)]
        ref_grad = [float(mpmath.diff(lambda t, b=b: _focal_mp(t, b, alpha, gamma), a))
                    for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-300)
    # the wrong side of 1e4 costs alpha_t * 1e4, exactly
    a_pos, a_neg = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
    np.testing.assert_array_equal(value[[0, 2 * EXTREME.size - 1]], [a_pos * 1e4, a_neg * 1e4])


def test_focal_agrees_with_torchvision_formula_at_extremes_in_absolute_terms():
    # torchvision forms 1 - p_t by subtraction, so it rounds tiny losses to 0; both agree to 1e-15
    x = np.concatenate([EXTREME, EXTREME])
    y = np.repeat([1.0, 0.0], EXTREME.size)
    t_value, t_grad = _torch(torchvision_focal, x, y)
    np.testing.assert_allclose(L.sigmoid_focal_loss(x, y), t_value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(L.sigmoid_focal_loss_grad(x, y), t_grad, rtol=1e-12, atol=1e-15)


def test_focal_modulating_factor_worked_numbers():
    # (1 - p_t)^2 is 0.01 at p_t = 0.9 and 0.81 at p_t = 0.1: the easy example fades 81-fold more
    logit = np.log(np.array([0.9, 0.1]) / np.array([0.1, 0.9]))
    for y in (1.0, 0.0):
        x = logit if y else -logit
        ratio = (L.sigmoid_focal_loss(x, [y, y], alpha=None)
                 / L.binary_cross_entropy_with_logits(x, [y, y], reduction="none"))
        np.testing.assert_allclose(ratio, [0.01, 0.81], rtol=1e-12)


def test_focal_alpha_weights_the_positives():
    x = np.array([0.3, 0.3])
    y = np.array([1.0, 0.0])
    plain = L.sigmoid_focal_loss(x, y, alpha=None)
    np.testing.assert_allclose(L.sigmoid_focal_loss(x, y, alpha=0.25), plain * [0.25, 0.75])
    np.testing.assert_array_equal(L.sigmoid_focal_loss(x, y, alpha=-1), plain)


# ---- finite differences -------------------------------------------------------------------------

GRAD_CASES = [
    (L.binary_cross_entropy, L.binary_cross_entropy_grad, "prob", {}),
    (L.binary_cross_entropy_with_logits, L.binary_cross_entropy_with_logits_grad, "logit",
     {"pos_weight": np.array([0.5, 2.0, 3.0])}),
    (L.multilabel_soft_margin_loss, L.multilabel_soft_margin_loss_grad, "logit",
     {"weight": np.array([1.0, 0.5, 2.0])}),
    (L.sigmoid_focal_loss, L.sigmoid_focal_loss_grad, "logit", {"gamma": 2.0}),
    (L.sigmoid_focal_loss, L.sigmoid_focal_loss_grad, "logit", {"alpha": None, "gamma": 0.5}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, grad, kind, kwargs", GRAD_CASES)
def test_gradients_match_finite_differences(loss, grad, kind, kwargs, reduction):
    x = RNG.uniform(0.05, 0.95, size=(4, 3)) if kind == "prob" else RNG.normal(size=(4, 3)) * 2
    y = _labels((4, 3), soft=True)
    kwargs = kwargs | {"reduction": reduction}
    numeric = numerical_grad(lambda v: np.sum(loss(v, y, **kwargs)), x)
    # floor: entries below 1e-2 are compared in absolute terms (1e-8), above the FD round-off
    assert relative_error(grad(x, y, **kwargs), numeric, floor=1e-2) < 1e-6


# ---- bad input ----------------------------------------------------------------------------------

X3, Y3 = np.array([0.2, 0.5, 0.9]), np.array([0.0, 1.0, 1.0])
BAD = [
    ("binary_cross_entropy", (np.array([-0.5, 0.5, 1.5]), Y3), {}, ValueError, "logits"),
    ("binary_cross_entropy_grad", (np.array([0.5, 2.0, 0.1]), Y3), {}, ValueError,
     "probabilities in [0, 1]"),
    ("binary_cross_entropy", (X3, np.array([-1.0, 1.0, 1.0])), {}, ValueError, "(y + 1) / 2"),
    ("binary_cross_entropy_with_logits", (X3, np.array([0.0, 2.0, 1.0])), {}, ValueError,
     "0/1 labels"),
    ("binary_cross_entropy_with_logits", (X3.reshape(3, 1), Y3), {}, ValueError, "shape"),
    ("binary_cross_entropy_with_logits", (np.zeros((2, 3)), np.zeros((2, 3))),
     {"pos_weight": np.ones(2)}, ValueError, "pos_weight shape"),
    ("binary_cross_entropy", (X3, Y3), {"weight": np.ones(2)}, ValueError, "weight shape"),
    ("binary_cross_entropy_with_logits_grad", (np.array([0.0, np.nan, 1.0]), Y3), {}, ValueError,
     "NaN"),
    ("binary_cross_entropy", (X3, Y3), {"reduction": "batchmean"}, ValueError, "reduction"),
    ("multilabel_soft_margin_loss", (np.float64(0.3), np.float64(1.0)), {}, ValueError,
     "(N, C)"),
    ("multilabel_soft_margin_loss_grad", (np.zeros((2, 3)), -np.ones((2, 3))), {}, ValueError,
     "target"),
    ("sigmoid_focal_loss", (X3, Y3), {"alpha": 1.5}, ValueError, "alpha"),
    ("sigmoid_focal_loss", (X3, Y3), {"alpha": -0.5}, ValueError, "alpha=None"),
    ("sigmoid_focal_loss_grad", (X3, Y3), {"alpha": "0.25"}, TypeError, "alpha"),
    ("sigmoid_focal_loss", (X3, Y3), {"gamma": -1.0}, ValueError, "gamma"),
    ("sigmoid_focal_loss", (X3, np.array([0.0, 1.0, 3.0])), {}, ValueError, "target"),
    ("sigmoid_focal_loss", (X3, Y3), {"reduction": "avg"}, ValueError, "reduction"),
]


@pytest.mark.parametrize("name, args, kwargs, exc, words", BAD)
def test_bad_input_is_explained(name, args, kwargs, exc, words):
    with pytest.raises(exc, match=f"lossutils.{name}:") as info:
        getattr(L, name)(*args, **kwargs)
    message = str(info.value)
    assert words in message and "Fix:" in message and "expected" in message


def test_large_inputs_match_torch():
    # 2 * 40_000 elements: large inputs, mixed weights
    x = RNG.normal(size=(2, 40_000)) * 4
    y = _labels((2, 40_000), soft=True)
    w = RNG.uniform(0.5, 2.0, size=(2, 40_000))
    pw = np.array(2.5)
    for reduction in REDUCTIONS:
        t_value, t_grad = _torch(F.binary_cross_entropy_with_logits, x, y, w,
                                 reduction=reduction, pos_weight=_t(pw))
        np.testing.assert_allclose(
            L.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction,
                                               pos_weight=pw), t_value, rtol=1e-12,
            atol=1e-14)
        # atol: torch forms lw * sigmoid(x) - pw * y, which cancels where x >> 0 and y = 1
        np.testing.assert_allclose(
            L.binary_cross_entropy_with_logits_grad(x, y, weight=w, reduction=reduction,
                                                    pos_weight=pw), t_grad, rtol=1e-12,
            atol=1e-14)
        t_value, t_grad = _torch(torchvision_focal, x, y, reduction=reduction)
        np.testing.assert_allclose(L.sigmoid_focal_loss(x, y, reduction=reduction), t_value,
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(L.sigmoid_focal_loss_grad(x, y, reduction=reduction), t_grad,
                                   rtol=1e-11, atol=1e-14)
    p = L.sigmoid(x)
    t_value, t_grad = _torch(F.binary_cross_entropy, p, y, reduction="sum")
    np.testing.assert_allclose(L.binary_cross_entropy(p, y, reduction="sum"), t_value, rtol=1e-12)
    np.testing.assert_allclose(L.binary_cross_entropy_grad(p, y, reduction="sum"), t_grad,
                               rtol=1e-12)
    xm, ym = x.reshape(800, 100), y.reshape(800, 100)
    t_value, t_grad = _torch(F.multilabel_soft_margin_loss, xm, ym, reduction="none")
    np.testing.assert_allclose(L.multilabel_soft_margin_loss(xm, ym, reduction="none"), t_value,
                               rtol=1e-12)
    np.testing.assert_allclose(L.multilabel_soft_margin_loss_grad(xm, ym, reduction="none"),
                               t_grad, rtol=1e-12, atol=1e-17)


def test_nan_in_a_large_input_is_reported_with_its_index():
    x, y = np.zeros((2, 60_000)), np.zeros((2, 60_000))
    x[1, 123] = np.nan
    with pytest.raises(ValueError, match=r"lossutils.sigmoid_focal_loss_grad: inputs contains "
                                         r"NaN \(first at index \(1, 123\)\)"):
        L.sigmoid_focal_loss_grad(x, y)


def test_scalar_inputs_match_torch():
    t_value, t_grad = _torch(F.binary_cross_entropy_with_logits, 0.3, 1.0, reduction="sum",
                             pos_weight=_t(2.0))
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(0.3, 1.0, reduction="sum", pos_weight=2.0), t_value,
        rtol=1e-14)
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits_grad(0.3, 1.0, reduction="sum", pos_weight=2.0),
        t_grad, rtol=1e-14)
    t_value, t_grad = _torch(torchvision_focal, -0.7, 0.0)
    np.testing.assert_allclose(L.sigmoid_focal_loss(-0.7, 0.0), t_value, rtol=1e-14)
    np.testing.assert_allclose(L.sigmoid_focal_loss_grad(-0.7, 0.0), t_grad, rtol=1e-14)
    assert np.shape(L.sigmoid_focal_loss(-0.7, 0.0)) == ()
