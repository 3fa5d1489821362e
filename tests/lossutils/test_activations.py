"""Stable activations: values against torch, finiteness at extreme logits, smoothing targets."""

import numpy as np
import pytest
import torch

import lossutils as L

EXTREME = np.array([[-1e4, -100.0, 0.0, 3.0, 100.0, 1e4]])


def test_softmax_worked_example():
    # The course's worked example: softmax([2, 1, -1]) ~ [0.71, 0.26, 0.03] (truncated digits).
    np.testing.assert_allclose(L.softmax([2.0, 1.0, -1.0]), [0.7054, 0.2595, 0.0351], atol=1e-4)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid"])
def test_matches_torch_at_extreme_logits(name):
    t = torch.tensor(EXTREME, dtype=torch.float64)
    expected = {
        "softmax": lambda: torch.softmax(t, dim=-1),
        "log_softmax": lambda: torch.log_softmax(t, dim=-1),
        "logsumexp": lambda: torch.logsumexp(t, dim=-1),
        "sigmoid": lambda: torch.sigmoid(t),
    }[name]().numpy()
    got = getattr(L, name)(EXTREME)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_log_sigmoid_and_softplus_finite_and_exact():
    x = EXTREME.ravel()
    t = torch.tensor(x)
    F = torch.nn.functional
    np.testing.assert_allclose(L.log_sigmoid(x), F.logsigmoid(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(L.softplus(x), F.softplus(t).numpy(), rtol=1e-12)


def test_softmax_dim_for_spatial_input():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_allclose(L.softmax(x, dim=1),
                               torch.softmax(torch.tensor(x), dim=1).numpy(), rtol=1e-12)


def test_label_smoothing_targets_worked_example():
    q = L.label_smoothing_targets([3], num_classes=10, label_smoothing=0.1)
    expected = np.full((1, 10), 0.01)
    expected[0, 3] = 0.91
    np.testing.assert_allclose(q, expected, rtol=1e-12)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(target=[0.0, 1.0], num_classes=3), TypeError, "float"),
        (dict(target=[0, 3], num_classes=3), ValueError, "class ids"),
        (dict(target=[0], num_classes=3, label_smoothing=1.5), ValueError, "[0, 1]"),
        (dict(target=[0], num_classes=3, label_smoothing=-0.1), ValueError, "label_smoothing"),
    ],
)
def test_label_smoothing_targets_bad_input(kwargs, exc, words):
    with pytest.raises(exc, match="label_smoothing_targets") as info:
        L.label_smoothing_targets(**kwargs)
    assert words in str(info.value) and "Fix:" in str(info.value)


def test_nan_and_tensor_inputs_are_rejected_clearly():
    with pytest.raises(ValueError, match=r"NaN \(first at index \(1,\)\)"):
        L.softmax([0.0, np.nan])
    with pytest.raises(TypeError, match="torch.Tensor"):
        L.sigmoid(torch.zeros(2))
