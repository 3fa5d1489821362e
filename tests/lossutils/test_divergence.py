"""KL divergence, entropy and distillation: torch parity, gradients, conventions, bad input."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clear_errors import assert_clear_error

import lossutils as L
from lossutils.gradcheck import numerical_grad, relative_error

RNG = np.random.default_rng(8)
KL_REDUCTIONS = ["none", "mean", "sum", "batchmean"]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _log_probs(shape):
    x = RNG.normal(scale=2.0, size=shape)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _probs_with_zeros(shape):
    p = np.exp(RNG.normal(size=shape))
    p[..., 0] = 0.0  # zero entries exercise 0 log 0 = 0
    return p / p.sum(axis=-1, keepdims=True)


def _quiet_kl(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return L.kl_div(*args, **kwargs)


# ---- kl_div: torch parity ----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(4, 5), (3, 2, 4), (6,)])
def test_kl_div_matches_torch_values_and_grads(reduction, log_target, shape):
    x = _log_probs(shape)
    p = _probs_with_zeros(shape)
    if log_target:
        target = np.log(np.where(p > 0, p, 1e-30))  # finite log-targets, as torch needs
    else:
        target = p
    xt = _t(x, grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = F.kl_div(xt, _t(target), reduction=reduction, log_target=log_target)
    expected.sum().backward()
    got = _quiet_kl(x, target, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(got, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    grad = L.kl_div_grad(x, target, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, atol=0)


def test_kl_div_grad_matches_finite_differences():
    x = _log_probs((3, 4))
    p = _probs_with_zeros((3, 4))
    num = numerical_grad(lambda v: L.kl_div(v, p, reduction="batchmean"), x)
    assert relative_error(L.kl_div_grad(x, p, reduction="batchmean"), num) < 1e-7


def test_kl_div_reductions_by_hand():
    # one row: KL([0.5, 0.5] || [0.25, 0.75]) = 0.5 log 2 + 0.5 log(2/3)
    x = np.log([[0.25, 0.75], [0.25, 0.75]])
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    kl_row = 0.5 * np.log(2.0) + 0.5 * np.log(2.0 / 3.0)
    assert L.kl_div(x, p, reduction="batchmean") == pytest.approx(kl_row, rel=1e-14)
    assert L.kl_div(x, p, reduction="sum") == pytest.approx(2 * kl_row, rel=1e-14)
    with pytest.warns(UserWarning, match="batchmean"):
        assert L.kl_div(x, p) == pytest.approx(kl_row / 2, rel=1e-14)  # divides by C too


def test_kl_div_zero_target_is_exactly_zero_even_against_minus_inf():
    # torch 2.13 gives NaN for t = 0 against log q = -inf (xlogy(0, 0) - 0 * -inf); the limit is 0
    x = np.array([-np.inf, np.log(0.5), np.log(0.5)])
    p = np.array([0.0, 0.5, 0.5])
    np.testing.assert_array_equal(L.kl_div(x, p, reduction="none"), [0.0, 0.0, 0.0])
    lt = np.array([-np.inf, np.log(0.5), np.log(0.5)])
    np.testing.assert_array_equal(L.kl_div(x, lt, reduction="none", log_target=True),
                                  [0.0, 0.0, 0.0])
    # p > 0 where q = 0: the divergence is infinite, as in torch
    assert L.kl_div(np.array([-np.inf, 0.0]), np.array([0.5, 0.5]), reduction="sum") == np.inf


def test_kl_div_accepts_probabilities_as_input():
    # a common mistake, but a valid call: diagnose() reports it, kl_div computes what it was given
    p = np.array([[0.2, 0.8]])
    got = L.kl_div(p, p, reduction="batchmean")
    expected = F.kl_div(_t(p), _t(p), reduction="batchmean").item()
    assert got == pytest.approx(expected, rel=1e-14)


def test_kl_div_zero_dim_batchmean_does_not_divide():
    assert L.kl_div(np.log(0.5), 0.25, reduction="batchmean") == pytest.approx(
        F.kl_div(_t(np.log(0.5)), _t(0.25), reduction="batchmean").item(), rel=1e-14)


# ---- entropy and kl_divergence -----------------------------------------------------------------

def test_entropy_by_hand_and_against_torch():
    p = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(L.entropy(p), [np.log(4), 0.0, np.log(2)], rtol=1e-15, atol=0)
    q = _probs_with_zeros((5, 6))
    expected = torch.distributions.Categorical(probs=_t(q)).entropy().numpy()
    np.testing.assert_allclose(L.entropy(q), expected, rtol=1e-12)
    assert isinstance(L.entropy([0.5, 0.5]), np.float64)


def test_kl_divergence_maths_order_and_conventions():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    kl_pq = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)  # 0.5108
    kl_qp = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)  # 0.3681
    assert L.kl_divergence(p, q) == pytest.approx(kl_pq, rel=1e-14)
    assert L.kl_divergence(q, p) == pytest.approx(kl_qp, rel=1e-14)
    assert round(float(L.kl_divergence(p, q)), 4) == 0.5108
    assert round(float(L.kl_divergence(q, p)), 4) == 0.3681
    # 0 log 0 = 0; p > 0 = q gives +inf
    assert L.kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(np.log(2.0), rel=1e-15)
    assert L.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert L.kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_kl_divergence_rows_match_torch_and_kl_div():
    p, q = _probs_with_zeros((4, 5)), np.exp(_log_probs((4, 5)))
    expected = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=_t(p)),
        torch.distributions.Categorical(probs=_t(q))).numpy()
    np.testing.assert_allclose(L.kl_divergence(p, q), expected, rtol=1e-12)
    np.testing.assert_allclose(L.kl_divergence(p, q),
                               L.kl_div(np.log(q), p, reduction="none").sum(-1), rtol=1e-13)


# ---- distillation -------------------------------------------------------------------------------

def _torch_distillation(s, t, y, T, alpha):
    soft = T * T * F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1),
                            reduction="batchmean", log_target=True)
    if y is None:
        return soft
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, torch.as_tensor(y))


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0, 20.0])
@pytest.mark.parametrize("with_target", [False, True])
def test_distillation_matches_torch_values_and_grads(T, with_target):
    s, t = RNG.normal(scale=3, size=(6, 5)), RNG.normal(scale=3, size=(6, 5))
    y = RNG.integers(0, 5, size=6) if with_target else None
    st = _t(s, grad=True)
    expected = _torch_distillation(st, _t(t), y, T, 0.7)
    expected.backward()
    assert L.distillation_loss(s, t, y, T=T, alpha=0.7) == pytest.approx(expected.item(),
                                                                         rel=1e-12)
    np.testing.assert_allclose(L.distillation_loss_grad(s, t, y, T=T, alpha=0.7),
                               st.grad.numpy(), rtol=1e-10, atol=1e-15)
    num = numerical_grad(lambda v: L.distillation_loss(v, t, y, T=T, alpha=0.7), s)
    # absolute floor: T^2 makes the loss large, so differencing it loses ~1e-9 absolute
    np.testing.assert_allclose(L.distillation_loss_grad(s, t, y, T=T, alpha=0.7), num,
                               rtol=1e-6, atol=1e-8)


def test_distillation_soft_term_is_zero_when_student_matches_teacher():
    s = RNG.normal(size=(3, 4))
    assert L.distillation_loss(s, s) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(L.distillation_loss_grad(s, s), 0.0, atol=1e-15)


def test_distillation_alpha_convention():
    s, t, y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3)), np.array([0, 2, 1, 1])
    soft = L.distillation_loss(s, t, T=3.0)
    hard = L.cross_entropy(s, y)
    assert L.distillation_loss(s, t, y, T=3.0, alpha=1.0) == pytest.approx(soft, rel=1e-14)
    assert L.distillation_loss(s, t, y, T=3.0, alpha=0.0) == pytest.approx(hard, rel=1e-14)
    assert L.distillation_loss(s, t, y, T=3.0, alpha=0.25) == pytest.approx(
        0.25 * soft + 0.75 * hard, rel=1e-14)


def test_distillation_is_finite_and_exact_at_extreme_logits():
    s = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    t = np.array([[-1e4, 1e4, 0.0], [-1e4, 1e4, -5.0]])
    y = np.array([1, 0])
    for T in (1.0, 4.0):
        st = _t(s, grad=True)
        expected = _torch_distillation(st, _t(t), y, T, 0.9)
        expected.backward()
        got = L.distillation_loss(s, t, y, T=T)
        assert np.isfinite(got)
        assert got == pytest.approx(expected.item(), rel=1e-12)
        grad = L.distillation_loss_grad(s, t, y, T=T)
        assert np.isfinite(grad).all()
        np.testing.assert_allclose(grad, st.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- bad input ----------------------------------------------------------------------------------

BAD = [
    (L.kl_div, ([[0.1, np.nan]], [[0.5, 0.5]]), {}, ValueError, r"input contains NaN"),
    (L.kl_div, ([[-1.0, -1.0]], [[0.5, 0.5, 0.0]]), {}, ValueError, r"target shape"),
    (L.kl_div, ([[-1.0, -1.0]], [[-0.1, 1.1]]), {}, ValueError, r"log_target=True"),
    (L.kl_div, ([[-1.0, -1.0]], [[0.5, 0.5]]), {"reduction": "avg"}, ValueError, r"batchmean"),
    (L.kl_div_grad, ([[-1.0, -1.0]], [[0.5]]), {}, ValueError, r"target shape"),
    (L.entropy, ([[0.5, 0.6]],), {}, ValueError, r"summing to 1\.1"),
    (L.entropy, ([[1.5, -0.5]],), {}, ValueError, r"probabilities in \[0, 1\]"),
    (L.entropy, (0.5,), {}, ValueError, r"scalar"),
    (L.kl_divergence, ([0.5, 0.5], [0.2, 0.3, 0.5]), {}, ValueError, r"q shape"),
    (L.kl_divergence, ([0.5, 0.5], [2.0, -1.0]), {}, ValueError, r"softmax"),
    (L.kl_divergence, ([0.5, np.nan], [0.5, 0.5]), {}, ValueError, r"NaN"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]]), {"T": 0.0}, ValueError, r"T is 0\.0"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]]), {"T": -2}, ValueError, r"> 0"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]]), {"alpha": 1.5}, ValueError, r"\[0, 1\]"),
    (L.distillation_loss, ([1.0, 2.0], [1.0, 2.0]), {}, ValueError, r"\(N, C\)"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0, 3.0]]), {}, ValueError, r"shape"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]], [1.0]), {}, TypeError, r"float"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]], [[1]]), {}, ValueError, r"reshape"),
    (L.distillation_loss, ([[1.0, 2.0]], [[1.0, 2.0]], [2]), {}, ValueError, r"class ids"),
    (L.distillation_loss_grad, ([[1.0, 2.0]], [[1.0, 2.0]]), {"T": 1e-320}, ValueError,
     r"overflows"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, words", BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_named_and_has_a_fix(fn, args, kwargs, exc, words):
    assert_clear_error(fn, args, kwargs, exc, words)
