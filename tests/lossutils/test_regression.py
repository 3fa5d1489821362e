"""Regression losses: torch parity in values and gradients, kinks, worked numbers, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as L
from lossutils.gradcheck import numerical_grad, relative_error

RNG = np.random.default_rng(3)
REDUCTIONS = ["none", "mean", "sum"]

# (our name, torch function, keyword for the threshold or None)
LOSSES = [
    ("mse_loss", F.mse_loss, None),
    ("l1_loss", F.l1_loss, None),
    ("huber_loss", F.huber_loss, "delta"),
    ("smooth_l1_loss", F.smooth_l1_loss, "beta"),
]


def _torch_value_and_grad(fn, x, y, **kwargs):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, torch.tensor(y), **kwargs)
    out.backward(torch.ones_like(out))  # the gradient of sum(loss) for "none"
    return out.detach().numpy(), xt.grad.numpy()


def _ours(name, x, y, **kwargs):
    return getattr(L, name)(x, y, **kwargs), getattr(L, name + "_grad")(x, y, **kwargs)


CASES = [(name, fn, knob, t)
         for name, fn, knob in LOSSES for t in ([0.3, 1.0, 2.5] if knob else [None])]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, torch_fn, knob, threshold", CASES)
def test_matches_torch(name, torch_fn, knob, threshold, reduction):
    x, y = RNG.normal(size=(4, 6)) * 2, RNG.normal(size=(4, 6))
    kwargs = {"reduction": reduction} | ({knob: threshold} if knob else {})
    value, grad = _ours(name, x, y, **kwargs)
    t_value, t_grad = _torch_value_and_grad(torch_fn, x, y, **kwargs)
    np.testing.assert_allclose(value, t_value, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-13, atol=0)
    assert np.shape(value) == np.shape(t_value) and grad.shape == x.shape


def test_smooth_l1_beta_zero_is_l1_like_torch():
    x, y = np.array([0.0, 1.5, -2.0, 0.25]), np.array([0.0, 0.0, 0.0, 0.5])
    for reduction in REDUCTIONS:
        value, grad = _ours("smooth_l1_loss", x, y, beta=0.0, reduction=reduction)
        t_value, t_grad = _torch_value_and_grad(F.smooth_l1_loss, x, y, beta=0.0,
                                                reduction=reduction)
        np.testing.assert_array_equal(value, t_value)
        np.testing.assert_array_equal(grad, t_grad)
        np.testing.assert_array_equal(value, L.l1_loss(x, y, reduction=reduction))


@pytest.mark.parametrize("name, torch_fn, knob", LOSSES)
def test_gradients_at_kinks_follow_torch(name, torch_fn, knob):
    # residuals exactly at 0 (the L1 kink) and at +-threshold (the Huber/smooth-L1 kink)
    y = np.zeros(6)
    x = np.array([0.0, 0.8, -0.8, 0.4, -3.0, 3.0])
    kwargs = {knob: 0.8} if knob else {}
    value, grad = _ours(name, x, y, reduction="sum", **kwargs)
    t_value, t_grad = _torch_value_and_grad(torch_fn, x, y, reduction="sum", **kwargs)
    np.testing.assert_allclose(value, t_value, rtol=1e-14)
    np.testing.assert_array_equal(grad, t_grad)


def test_l1_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(L.l1_loss_grad([1.0, 2.0], [1.0, 0.0], reduction="sum"),
                                  [0.0, 1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, knob", [("mse_loss", None), ("l1_loss", None),
                                        ("huber_loss", "delta"), ("smooth_l1_loss", "beta")])
def test_gradients_match_finite_differences(name, knob, reduction):
    x = RNG.normal(size=(3, 4)) * 2
    y = x + RNG.choice([-1.0, 1.0], size=x.shape) * RNG.uniform(0.1, 2.0, size=x.shape)
    kwargs = {"reduction": reduction} | ({knob: 0.9} if knob else {})
    # |residual| is in [0.1, 2.0]; keep every residual clear of the kink at 0.9
    x = np.where(np.abs(np.abs(x - y) - 0.9) < 0.05, x + 0.2, x)

    def total(v):
        return np.sum(getattr(L, name)(v, y, **kwargs))

    numeric = numerical_grad(total, x)
    assert relative_error(getattr(L, name + "_grad")(x, y, **kwargs), numeric) < 1e-7


def test_worked_example_mse():
    # (2.25 + 0 + 1) / 3 from the course's first chapter
    assert round(float(L.mse_loss([2.5, 3.0, 5.0], [1.0, 3.0, 4.0])), 4) == 1.0833
    np.testing.assert_allclose(L.mse_loss([2.5, 3.0, 5.0], [1.0, 3.0, 4.0], reduction="none"),
                               [2.25, 0.0, 1.0])
    assert L.l1_loss([2.5, 3.0, 5.0], [1.0, 3.0, 4.0], reduction="sum") == 2.5


def test_huber_by_hand_both_zones():
    got = L.huber_loss([0.5, 3.0, -3.0], [0.0, 0.0, 0.0], delta=2.0, reduction="none")
    np.testing.assert_array_equal(got, [0.125, 4.0, 4.0])  # 0.5 r^2; 2 (3 - 1)
    got = L.smooth_l1_loss([0.5, 3.0], [0.0, 0.0], beta=2.0, reduction="none")
    np.testing.assert_array_equal(got, [0.0625, 2.0])  # 0.5 r^2 / 2; 3 - 1


@pytest.mark.parametrize("fn", [L.huber_loss, L.huber_loss_grad, L.smooth_l1_loss,
                                L.smooth_l1_loss_grad, L.mse_loss, L.l1_loss])
def test_options_are_keyword_only(fn):
    # torch's positional order is huber_loss(input, target, reduction, delta): a positional float
    # or string after the tensors would be a guess, so the course refuses it
    x, y = RNG.normal(size=5), RNG.normal(size=5)
    with pytest.raises(TypeError, match="positional"):
        fn(x, y, "sum")
    with pytest.raises(TypeError, match="positional"):
        fn(x, y, 2.0, "sum")


def test_empty_mean_is_nan_like_torch():
    empty = np.zeros(0)
    assert np.isnan(L.mse_loss(empty, empty))
    assert torch.isnan(F.mse_loss(torch.tensor(empty), torch.tensor(empty)))
    assert L.huber_loss(empty, empty, reduction="sum") == 0.0
    assert L.mse_loss_grad(empty, empty).shape == (0,)


def test_finite_for_large_residuals():
    x = np.array([1e4, -1e4, 1e150])
    y = np.zeros(3)
    for name in ("l1_loss", "huber_loss", "smooth_l1_loss"):
        value, grad = _ours(name, x, y, reduction="none")
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_array_equal(L.huber_loss(x[:2], y[:2], delta=2.0, reduction="none"),
                                  [2.0 * (1e4 - 1.0)] * 2)


BAD = [
    ("mse_loss", dict(input=np.zeros((3, 1)), target=np.zeros(3)), ValueError, "shape"),
    ("l1_loss", dict(input=np.zeros(3), target=np.zeros(4)), ValueError, "shape"),
    ("huber_loss", dict(input=np.zeros(3), target=np.zeros(3), delta=0.0), ValueError, "delta"),
    ("huber_loss_grad", dict(input=np.zeros(3), target=np.zeros(3), delta=-1.0), ValueError,
     "delta"),
    ("smooth_l1_loss", dict(input=np.zeros(3), target=np.zeros(3), beta=-0.5), ValueError,
     "beta"),
    ("smooth_l1_loss_grad", dict(input=np.zeros(3), target=np.zeros(3), beta=float("nan")),
     ValueError, "beta"),
    ("mse_loss", dict(input=[1.0, np.nan], target=[0.0, 0.0]), ValueError, "NaN"),
    ("mse_loss_grad", dict(input=[1.0, 2.0], target=[0.0, np.nan]), ValueError, "target"),
    ("l1_loss", dict(input=[1.0], target=[0.0], reduction="average"), ValueError, "reduction"),
    ("huber_loss", dict(input=["a"], target=[0.0]), TypeError, "dtype"),
    ("mse_loss", dict(input=torch.zeros(2), target=np.zeros(2)), TypeError, "torch.Tensor"),
    ("huber_loss", dict(input=[0.0], target=[0.0], delta=[1.0]), TypeError, "delta"),
]


@pytest.mark.parametrize("name, kwargs, exc, words", BAD)
def test_bad_input_is_explained(name, kwargs, exc, words):
    with pytest.raises(exc, match=f"lossutils.{name}:") as info:
        getattr(L, name)(**kwargs)
    message = str(info.value)
    assert words in message and "Fix:" in message and "expected" in message


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_large_inputs_match_torch(reduction):
    # 2 * 40_000 elements, compared with torch at every reduction
    x, y = RNG.normal(size=(2, 40_000)) * 2, RNG.normal(size=(2, 40_000))
    for name, torch_fn, knob, threshold in CASES[:4] + [CASES[-1]]:
        kwargs = {"reduction": reduction} | ({knob: threshold} if knob else {})
        value, grad = _ours(name, x, y, **kwargs)
        t_value, t_grad = _torch_value_and_grad(torch_fn, x.ravel(), y.ravel(), **kwargs)
        np.testing.assert_allclose(np.ravel(value), np.ravel(t_value), rtol=1e-12)
        np.testing.assert_allclose(grad.ravel(), t_grad, rtol=1e-13)


def test_nan_in_a_large_input_is_reported_with_its_index():
    x, y = np.zeros(100_000), np.zeros(100_000)
    y[77_777] = np.nan
    with pytest.raises(ValueError, match=r"lossutils.huber_loss: target contains NaN "
                                         r"\(first at index \(77777,\)\)"):
        L.huber_loss(x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, torch_fn, knob, threshold",
                         CASES[:2] + [CASES[3], CASES[6]]
                         + [("smooth_l1_loss", F.smooth_l1_loss, "beta", 0.0)])
def test_nan_input_is_an_error_but_inf_minus_inf_is_torchs_nan(name, torch_fn, knob, threshold,
                                                               reduction):
    # a NaN input or target gets the standard error from the loss and its gradient, naming its
    # index; inf - inf (no NaN in either) is not an error and gives torch's NaN
    kwargs = {"reduction": reduction} | ({knob: threshold} if knob else {})
    clean = np.array([0.5, -2.0, 3.0])
    for arg, where in (("input", 1), ("target", 2)):
        bad = clean.copy()
        bad[where] = np.nan
        args = (bad, clean) if arg == "input" else (clean, bad)
        for fn in (name, name + "_grad"):
            with pytest.raises(ValueError, match=rf"lossutils.{fn}: {arg} contains NaN "
                                                 rf"\(first at index \({where},\)\)"):
                getattr(L, fn)(*args, **kwargs)
    x, y = np.array([np.inf, 1.0, 2.0]), np.array([np.inf, 0.0, 2.0])
    with np.errstate(invalid="ignore"):  # NumPy's own warning for inf - inf is not the point
        value, grad = _ours(name, x, y, **kwargs)
    t_value, t_grad = _torch_value_and_grad(torch_fn, x, y, **kwargs)
    np.testing.assert_array_equal(value, t_value)
    assert np.isnan(value).any()
    # the gradient at the inf - inf entry is NaN here; torch's sign() makes the L1 one 0 there,
    # and a sign that hid NaN would hide a NaN input from the check, so only the rest must agree
    np.testing.assert_array_equal(grad[1:], t_grad[1:])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_scalar_inputs_match_torch(reduction):
    for name, torch_fn, knob, threshold in CASES:
        kwargs = {"reduction": reduction} | ({knob: threshold} if knob else {})
        value, grad = _ours(name, 2.5, 1.0, **kwargs)
        t_value, t_grad = _torch_value_and_grad(torch_fn, np.float64(2.5), np.float64(1.0),
                                                **kwargs)
        np.testing.assert_allclose(value, t_value, rtol=1e-15)
        np.testing.assert_allclose(grad, t_grad, rtol=1e-15)
        assert np.shape(grad) == () and np.shape(value) == ()
