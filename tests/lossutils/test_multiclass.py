"""Cross-entropy and NLL: torch parity (weights, smoothing, ignore_index, spatial, probability
targets), extreme logits, worked numbers, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as L
from lossutils.gradcheck import numerical_grad, relative_error

RNG = np.random.default_rng(5)
REDUCTIONS = ["none", "mean", "sum"]
SHAPES = [(6, 4), (3, 4, 2, 3), (4,)]  # (N, C), (N, C, d1, d2), unbatched (C,)


def _t(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def _torch(fn, x, target, weight=None, **kwargs):
    xt = _t(x, grad=True)
    out = fn(xt, _t(target), weight=None if weight is None else _t(weight), **kwargs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), xt.grad.numpy()


def _index_target(shape, ignore_index=None):
    axis = 1 if len(shape) > 1 else 0
    target_shape = shape[:1] + shape[2:] if axis else ()
    t = RNG.integers(0, shape[axis], size=target_shape)
    if ignore_index is not None and t.ndim:
        t.flat[1] = ignore_index
    return t


def _prob_target(shape):
    axis = 1 if len(shape) > 1 else 0
    q = RNG.uniform(size=shape)
    q /= q.sum(axis=axis, keepdims=True)
    if len(shape) > 1:
        q[0] = 0.0  # a zero row: allowed, it contributes nothing but the smoothing
    return q


def _assert_close(ours, theirs, rtol=1e-12, atol=1e-15):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)
    assert np.shape(ours) == np.shape(theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_class_ids_match_torch(reduction, shape, weighted, smoothing, ignore_index):
    x = RNG.normal(size=shape) * 2
    t = _index_target(shape, ignore_index)
    w = RNG.uniform(0.2, 2.0, size=shape[1 if len(shape) > 1 else 0]) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    value, grad = _torch(F.cross_entropy, x, t, w, **kwargs)
    _assert_close(L.cross_entropy(x, t, weight=w, **kwargs), value)
    _assert_close(L.cross_entropy_grad(x, t, weight=w, **kwargs), grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets_match_torch(reduction, shape, weighted, smoothing):
    x = RNG.normal(size=shape) * 2
    q = _prob_target(shape)
    w = RNG.uniform(0.2, 2.0, size=shape[1 if len(shape) > 1 else 0]) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    value, grad = _torch(F.cross_entropy, x, q, w, **kwargs)
    _assert_close(L.cross_entropy(x, q, weight=w, **kwargs), value)
    _assert_close(L.cross_entropy_grad(x, q, weight=w, **kwargs), grad)


@pytest.mark.parametrize("target_kind", ["index", "prob"])
def test_full_smoothing_is_uniform_target_like_torch(target_kind):
    # eps = 1: every class gets 1 / K, the labels no longer matter
    x = RNG.normal(size=(5, 4))
    w = RNG.uniform(0.2, 2.0, size=4)
    t = _index_target((5, 4), ignore_index=-100) if target_kind == "index" else _prob_target((5, 4))
    for reduction in REDUCTIONS:
        kwargs = dict(reduction=reduction, label_smoothing=1.0)
        value, grad = _torch(F.cross_entropy, x, t, w, **kwargs)
        _assert_close(L.cross_entropy(x, t, weight=w, **kwargs), value)
        _assert_close(L.cross_entropy_grad(x, t, weight=w, **kwargs), grad)


def test_probability_targets_are_not_modified():
    x, q = RNG.normal(size=(3, 4)), _prob_target((3, 4))
    before = q.copy()
    L.cross_entropy_grad(x, q)
    np.testing.assert_array_equal(q, before)


def test_weighted_mean_differs_between_index_and_one_hot_targets_as_in_torch():
    # class ids divide by sum_i w[y_i], probability targets by N: same data, different means
    x = RNG.normal(size=(5, 3))
    t = np.array([0, 1, 2, 2, 1])
    w = np.array([0.2, 1.0, 3.0])
    onehot = np.eye(3)[t]
    by_index, by_prob = L.cross_entropy(x, t, weight=w), L.cross_entropy(x, onehot, weight=w)
    assert not np.isclose(by_index, by_prob)
    np.testing.assert_allclose(by_index * w[t].sum(), by_prob * 5, rtol=1e-13)
    np.testing.assert_allclose(by_prob, F.cross_entropy(_t(x), _t(onehot), _t(w)).numpy(),
                               rtol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(reduction, shape, weighted):
    log_p = np.log(L.softmax(RNG.normal(size=shape), dim=1 if len(shape) > 1 else 0))
    t = _index_target(shape, ignore_index=-100)
    w = RNG.uniform(0.2, 2.0, size=shape[1 if len(shape) > 1 else 0]) if weighted else None
    value, grad = _torch(F.nll_loss, log_p, t, w, reduction=reduction)
    _assert_close(L.nll_loss(log_p, t, weight=w, reduction=reduction), value)
    _assert_close(L.nll_loss_grad(log_p, t, weight=w, reduction=reduction), grad)
    # nll of log_softmax is cross-entropy
    x = RNG.normal(size=shape)
    np.testing.assert_allclose(
        L.nll_loss(L.log_softmax(x, dim=1 if len(shape) > 1 else 0), t, weight=w,
                   reduction=reduction),
        L.cross_entropy(x, t, weight=w, reduction=reduction), rtol=1e-13)


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_strided_inputs_pick_the_same_entries(name):
    # a Fortran-ordered copy and a column slice (not C-contiguous) must give the same values
    x = RNG.normal(size=(7, 5))
    t = np.array([0, 4, 2, 2, 1, -100, 3])
    for strided in (np.asfortranarray(x), np.hstack([x, x])[:, :5]):
        assert not strided.flags.c_contiguous
        for f in (getattr(L, name), getattr(L, f"{name}_grad")):
            np.testing.assert_array_equal(f(strided, t, reduction="sum"), f(x, t, reduction="sum"))


def test_every_item_ignored_gives_nan_mean_like_torch():
    x, t = RNG.normal(size=(3, 4)), np.full(3, -100)
    for fn, grad_fn, tfn in [(L.cross_entropy, L.cross_entropy_grad, F.cross_entropy),
                             (L.nll_loss, L.nll_loss_grad, F.nll_loss)]:
        value, grad = _torch(tfn, x, t)
        assert np.isnan(fn(x, t)) and np.isnan(value)
        assert fn(x, t, reduction="sum") == 0.0
        np.testing.assert_array_equal(grad_fn(x, t), grad)  # torch's gradient: zeros
    assert np.isnan(L.cross_entropy(x, t, label_smoothing=0.1))
    assert np.isnan(L.cross_entropy(np.zeros((0, 4)), np.zeros(0, dtype=int)))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_extreme_logits_are_finite_and_match_torch(smoothing):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 100.0], [-100.0, 100.0, 0.0], [1e4, 1e4, 1e4],
                  [0.0, 0.0, 0.0]])
    t = np.array([1, 1, 0, 2, 0])
    for target in (t, np.eye(3)[t]):
        value, grad = _torch(F.cross_entropy, x, target, label_smoothing=smoothing,
                             reduction="none")
        ours = L.cross_entropy(x, target, label_smoothing=smoothing, reduction="none")
        ours_grad = L.cross_entropy_grad(x, target, label_smoothing=smoothing, reduction="none")
        assert np.all(np.isfinite(ours)) and np.all(np.isfinite(ours_grad))
        _assert_close(ours, value)
        _assert_close(ours_grad, grad)
    # the wrong side of 1e4 costs 2e4, exactly; the all-equal row costs log 3
    plain = L.cross_entropy(x, t, reduction="none")
    assert plain[0] == 2e4 and np.isclose(plain[3], np.log(3.0), rtol=1e-15)


def test_worked_examples():
    # softmax([2, 1, -1]) ~ [0.705, 0.259, 0.035]; the true class is the second logit (value 1)
    assert round(float(L.cross_entropy([[2.0, 1.0, -1.0]], [1])), 2) == 1.35
    np.testing.assert_allclose(L.cross_entropy([[2.0, 1.0, -1.0]], [1]), -np.log(0.2594965),
                               rtol=1e-6)
    # the true class got probability 0.01: -log 0.01 = 4.605, by logits and by log-probabilities
    assert round(float(L.cross_entropy(np.log([[0.01, 0.99]]), [0])), 3) == 4.605
    assert round(float(L.nll_loss(np.log([[0.01, 0.99]]), [0])), 3) == 4.605
    # chance level: uniform logits cost log K
    np.testing.assert_allclose(L.cross_entropy(np.zeros((4, 10)), [0, 3, 5, 9]), np.log(10.0))


def test_gradient_rows_sum_to_zero_without_weights():
    x, t = RNG.normal(size=(5, 4)), RNG.integers(0, 4, size=5)
    np.testing.assert_allclose(L.cross_entropy_grad(x, t, label_smoothing=0.1).sum(axis=1), 0.0,
                               atol=1e-16)


GRAD_CASES = [
    dict(),
    dict(weight=np.array([0.5, 1.0, 2.0, 1.5]), label_smoothing=0.2),
    dict(ignore_index=1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", GRAD_CASES)
def test_gradients_match_finite_differences(kwargs, reduction):
    x = RNG.normal(size=(3, 4, 2)) * 2
    t = np.array([[0, 1], [2, 3], [1, 1]])
    kwargs = kwargs | {"reduction": reduction}
    numeric = numerical_grad(lambda v: np.sum(L.cross_entropy(v, t, **kwargs)), x)
    assert relative_error(L.cross_entropy_grad(x, t, **kwargs), numeric, floor=1e-2) < 1e-6
    q = _prob_target((3, 4, 2))
    numeric = numerical_grad(lambda v: np.sum(L.cross_entropy(v, q, reduction=reduction)), x)
    assert relative_error(L.cross_entropy_grad(x, q, reduction=reduction), numeric,
                          floor=1e-2) < 1e-6


X = np.zeros((3, 4))
BAD = [
    ("cross_entropy", (X, np.array([[0], [1], [2]])), {}, ValueError,
     "squeeze with target.reshape(-1)"),
    ("nll_loss", (X, np.array([[0], [1], [2]])), {}, ValueError, "squeeze"),
    ("cross_entropy", (X, np.array([0.0, 1.0, 2.0])), {}, TypeError, "float"),
    ("cross_entropy_grad", (X, np.array([0, 4, 1])), {}, ValueError, "class ids in [0, 4]"),
    ("cross_entropy", (X, np.array([0, -1, 1])), {}, ValueError, "class ids"),
    ("nll_loss_grad", (X, np.array([0, 1, 7])), {"ignore_index": 7, "weight": np.ones(5)},
     ValueError, "one weight per class"),
    ("cross_entropy", (X, np.array([0, 1, 2])), {"weight": np.ones(3)}, ValueError,
     "one weight per class"),
    ("cross_entropy", (X, np.array([0, 1, 2])), {"label_smoothing": 1.5}, ValueError,
     "label_smoothing"),
    ("cross_entropy_grad", (X, np.array([0, 1, 2])), {"label_smoothing": -0.1}, ValueError,
     "label_smoothing"),
    ("cross_entropy", (X, np.full((3, 4), 0.5) - np.eye(3, 4)), {}, ValueError,
     "probabilities in [0, 1]"),
    ("cross_entropy", (X, np.full((3, 4), 0.25)), {"ignore_index": 0}, ValueError,
     "ignore_index"),
    ("cross_entropy", (np.array([[0.0, np.nan], [1.0, 2.0]]), np.array([0, 1])), {}, ValueError,
     "NaN"),
    ("nll_loss", (np.array([[0.0, np.nan], [1.0, 2.0]]), np.array([1, 1])), {}, ValueError,
     "NaN"),
    ("cross_entropy", (X, np.array([0, 1, 2])), {"reduction": "batchmean"}, ValueError,
     "reduction"),
    ("cross_entropy", (X, np.array([0, 1, 2, 3])), {}, ValueError, "target shape"),
    ("cross_entropy", (X, np.eye(3, 4, dtype=int)), {}, ValueError, "argmax"),
    ("nll_loss", (X, np.eye(3, 4)), {}, TypeError, "cross_entropy"),
    ("cross_entropy", (X, np.array([0, 1, 2])), {"ignore_index": 0.5}, TypeError,
     "ignore_index"),
    ("cross_entropy", (np.float64(1.0), np.array(0)), {}, ValueError, "input shape"),
    ("cross_entropy", (X, torch.zeros(3, dtype=torch.long)), {}, TypeError, "torch.Tensor"),
]


@pytest.mark.parametrize("name, args, kwargs, exc, words", BAD)
def test_bad_input_is_explained(name, args, kwargs, exc, words):
    with pytest.raises(exc, match=f"lossutils.{name}:") as info:
        getattr(L, name)(*args, **kwargs)
    message = str(info.value)
    assert words in message and "Fix:" in message and "expected" in message


@pytest.mark.parametrize("shape", [(128, 600), (4, 5, 48, 48), (13, 5, 48, 48)])
def test_large_inputs_match_torch(shape):
    # 77k, 46k and 150k logits, a quarter of the items ignored, against torch
    x = RNG.normal(size=shape) * 3
    t = _index_target(shape, ignore_index=-100)
    t[::4] = -100
    w = RNG.uniform(0.2, 2.0, size=shape[1])
    q = _prob_target(shape)
    for target, weight, smoothing in [(t, None, 0.0), (t, w, 0.1), (q, w, 0.1)]:
        for reduction in REDUCTIONS:
            kwargs = dict(reduction=reduction, label_smoothing=smoothing)
            value, grad = _torch(F.cross_entropy, x, target, weight, **kwargs)
            np.testing.assert_allclose(L.cross_entropy(x, target, weight=weight, **kwargs), value,
                                       rtol=1e-12)
            # atol: entries like p_y - 1 cancel; both sides round them to ~1e-16
            np.testing.assert_allclose(L.cross_entropy_grad(x, target, weight=weight, **kwargs),
                                       grad,
                                       rtol=1e-12, atol=1e-15)


def test_nan_in_a_large_input_is_reported_with_its_index():
    x, t = np.zeros((300, 500)), np.zeros(300, dtype=int)
    x[250, 7] = np.nan
    with pytest.raises(ValueError, match=r"lossutils.cross_entropy: input contains NaN "
                                         r"\(first at index \(250, 7\)\)"):
        L.cross_entropy(x, t)
