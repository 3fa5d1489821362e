"""lossutils.torch: the NumPy flavour's values, gradients and errors, for tensors.

Values must agree with ``lossutils.<name>`` to float64 precision (rtol 1e-12), autograd gradients
with ``lossutils.<name>_grad``, and bad input must raise the same error type with the same
message. Gradients of the losses without a NumPy ``_grad`` go through
``torch.autograd.gradcheck``. Where the flavour calls a torch built-in whose documented semantics
differ from the NumPy flavour's, the test below says so (``kl_div``'s 0 * inf corner, BCE on
logits for tiny losses, no gradient for ``pos_weight``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lossutils as N
from lossutils import torch as L

REDUCTIONS = ["none", "mean", "sum"]
NOT_LOSSES = {"Finding", "Findings", "Recommendation", "diagnose", "recommend_loss"}


def _tensor(a):
    """NumPy float arrays become float64 tensors, integer arrays int64 tensors; rest unchanged."""
    if isinstance(a, np.ndarray):
        return torch.from_numpy(a.copy())
    return a


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _data():
    r = np.random.default_rng(20240601)
    d = {
        "x": r.normal(size=(5, 4)), "y": r.normal(size=(5, 4)),
        "p": r.uniform(0.02, 0.98, (5, 4)), "soft": r.uniform(size=(5, 4)),
        "w4": r.uniform(0.2, 2.0, 4), "ids": r.integers(0, 4, 5),
        "x_sp": r.normal(size=(2, 4, 3)), "ids_sp": r.integers(0, 4, (2, 3)),
        "a": r.normal(size=(6, 3)), "b": r.normal(size=(6, 3)), "c": r.normal(size=(6, 3)),
        "v": r.normal(size=7), "u": r.normal(size=7),
        "emb": r.normal(size=(12, 3)), "labels": r.integers(0, 3, 12),
    }
    d["hard"] = (d["soft"] > 0.5).astype(np.float64)
    d["pm"] = np.where(r.uniform(size=(5, 4)) > 0.5, 1.0, -1.0)
    d["pm6"] = np.where(r.uniform(size=6) > 0.5, 1.0, -1.0)
    d["pm7"] = np.where(r.uniform(size=7) > 0.5, 1.0, -1.0)
    d["ids_ignored"] = d["ids"].copy()
    d["ids_ignored"][[1, 3]] = -100
    d["q"] = _softmax(2 * r.normal(size=(5, 4)))
    d["q0"] = d["q"].copy()
    d["q0"][:, 0] = 0.0
    d["q0"] /= d["q0"].sum(axis=1, keepdims=True)
    d["logp"] = np.log(_softmax(d["x"]))
    d["same6"] = (r.uniform(size=6) > 0.5).astype(np.float64)
    return d


D = _data()


def _cases():
    d = D
    cases = []
    for red in REDUCTIONS:
        kw = {"reduction": red}
        cases += [
            ("mse_loss", (d["x"], d["y"]), kw),
            ("l1_loss", (d["x"], d["y"]), kw),
            ("huber_loss", (d["x"], d["y"]), {"delta": 0.6, **kw}),
            ("huber_loss", (3 * d["x"], d["y"]), {"delta": 2.0, **kw}),
            ("smooth_l1_loss", (d["x"], d["y"]), {"beta": 0.6, **kw}),
            ("smooth_l1_loss", (d["x"], d["y"]), {"beta": 0.0, **kw}),
            ("binary_cross_entropy", (d["p"], d["soft"]), kw),
            ("binary_cross_entropy", (d["p"], d["hard"]), {"weight": d["w4"], **kw}),
            ("binary_cross_entropy_with_logits", (3 * d["x"], d["soft"]), kw),
            ("binary_cross_entropy_with_logits", (3 * d["x"], d["hard"]),
             {"weight": d["w4"], "pos_weight": 2 * d["w4"], **kw}),
            ("multilabel_soft_margin_loss", (3 * d["x"], d["hard"]), kw),
            ("multilabel_soft_margin_loss", (3 * d["x"], d["hard"]), {"weight": d["w4"], **kw}),
            ("sigmoid_focal_loss", (3 * d["x"], d["hard"]), kw),
            ("sigmoid_focal_loss", (3 * d["x"], d["soft"]), {"alpha": None, "gamma": 1.5, **kw}),
            ("sigmoid_focal_loss", (3 * d["x"], d["hard"]), {"alpha": 0.6, "gamma": 0.0, **kw}),
            ("cross_entropy", (d["x"], d["ids"]), kw),
            ("cross_entropy", (d["x"], d["ids_ignored"]),
             {"weight": d["w4"], "label_smoothing": 0.2, **kw}),
            ("cross_entropy", (d["x"], d["ids"]), {"ignore_index": 2, "label_smoothing": 0.1,
                                                   **kw}),
            ("cross_entropy", (d["x_sp"], d["ids_sp"]), {"weight": d["w4"], **kw}),
            ("cross_entropy", (d["x"], d["q"]), {"weight": d["w4"], "label_smoothing": 0.3, **kw}),
            ("cross_entropy", (d["x"][0], d["ids"][0]), kw),
            ("nll_loss", (d["logp"], d["ids_ignored"]), {"weight": d["w4"], **kw}),
            ("nll_loss", (d["logp"], d["ids"]), kw),
            ("kl_div", (d["logp"], d["q0"]), kw),
            ("kl_div", (d["logp"], np.log(d["q"])), {"log_target": True, **kw}),
            ("hinge_embedding_loss", (d["x"], d["pm"]), {"margin": 0.5, **kw}),
            ("margin_ranking_loss", (d["v"], d["u"], d["pm7"]), {"margin": 0.3, **kw}),
            ("cosine_embedding_loss", (d["a"], d["b"], d["pm6"]), {"margin": 0.2, **kw}),
            ("triplet_margin_loss", (d["a"], d["b"], d["c"]), kw),
            ("triplet_margin_loss", (d["a"], d["b"], d["c"]),
             {"margin": 0.5, "p": 3, "swap": True, **kw}),
            ("contrastive_loss", (d["a"], d["b"], d["same6"]), {"margin": 2.0, **kw}),
        ]
    cases += [
        ("kl_div", (d["logp"], d["q0"]), {"reduction": "batchmean"}),
        ("entropy", (d["q0"],), {}),
        ("kl_divergence", (d["q"], d["q0"][:, ::-1].copy()), {}),
        ("distillation_loss", (d["x"], d["y"]), {}),
        ("distillation_loss", (d["x"], d["y"], d["ids"]), {"T": 2.0, "alpha": 0.3}),
        ("pairwise_distances", (d["emb"],), {}),
        ("pairwise_distances", (d["emb"],), {"squared": True}),
        ("triplet_semihard_loss", (d["emb"], d["labels"]), {"margin": 0.7}),
        ("nt_xent_loss", (d["emb"], d["labels"]), {"temperature": 0.3}),
        ("softmax", (d["x"],), {"dim": 0}),
        ("log_softmax", (d["x"],), {}),
        ("logsumexp", (d["x_sp"],), {"dim": 1, "keepdim": True}),
        ("sigmoid", (10 * d["x"],), {}),
        ("softplus", (10 * d["x"],), {}),
        ("log_sigmoid", (10 * d["x"],), {}),
    ]
    return [pytest.param(name, args, kw, id=f"{name}-{i}") for i, (name, args, kw)
            in enumerate(cases)]


CASES = _cases()


def _run(name, args, kwargs, grad=False):
    """Both flavours on the same inputs: (NumPy value, torch value, torch leaf of arg 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's 'mean' warning, in both flavours
        expected = getattr(N, name)(*args, **kwargs)
        targs = [_tensor(a) for a in args]
        if grad:
            targs[0] = targs[0].requires_grad_(True)
        got = getattr(L, name)(*targs, **kwargs)
    return np.asarray(expected), got, targs[0]


def _assert_grad_close(got, expected):
    scale = float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15 * max(scale, 1.0))


# ---- the same API -------------------------------------------------------------------------------

def test_torch_inside_is_the_real_torch():
    import lossutils.torch as flavour

    assert flavour.torch is torch  # absolute imports: lossutils/torch.py does not shadow torch
    assert flavour.F is torch.nn.functional


def test_every_numpy_function_has_a_tensor_twin():
    wanted = {n for n in N.__all__ if not n.endswith("_grad") and n not in NOT_LOSSES}
    assert wanted <= set(L.__all__), wanted - set(L.__all__)
    assert all(callable(getattr(L, n)) for n in L.__all__)


# ---- values and gradients against the NumPy flavour ----------------------------------------------

@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_values_match_numpy(name, args, kwargs):
    expected, got, _ = _run(name, args, kwargs)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12, atol=0)


GRAD_CASES = [c for c in CASES if hasattr(N, c.values[0] + "_grad")]


@pytest.mark.parametrize("name, args, kwargs", GRAD_CASES)
def test_autograd_matches_numpy_grad(name, args, kwargs):
    _, got, leaf = _run(name, args, kwargs, grad=True)
    (got if got.dim() == 0 else got.sum()).backward()
    expected = getattr(N, name + "_grad")(*args, **kwargs)
    _assert_grad_close(leaf.grad.numpy(), expected)


def test_grad_cases_cover_every_numpy_grad():
    have = {c.values[0] for c in GRAD_CASES}
    assert {n[:-5] for n in N.__all__ if n.endswith("_grad")} <= have


def _gradcheck(fn, *inputs):
    leaves = [t.detach().clone().requires_grad_(True) if t.is_floating_point() else t
              for t in inputs]
    assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-6, rtol=1e-5, fast_mode=True)


def test_gradcheck_losses_without_a_numpy_grad():
    d = {k: _tensor(v) for k, v in D.items()}
    _gradcheck(lambda e: L.pairwise_distances(e), d["emb"][:5])
    _gradcheck(lambda e: L.pairwise_distances(e, squared=True), d["emb"][:5])
    _gradcheck(lambda e: L.triplet_semihard_loss(e, d["labels"], margin=0.7), d["emb"])
    _gradcheck(lambda e: L.nt_xent_loss(e, d["labels"], temperature=0.3), d["emb"])
    _gradcheck(lambda a, b: L.contrastive_loss(a, b, d["same6"], margin=2.0), d["a"], d["b"])
    _gradcheck(lambda p: L.entropy(torch.softmax(p, dim=1)), d["x"])
    _gradcheck(lambda p, q: L.kl_divergence(torch.softmax(p, 1), torch.softmax(q, 1)),
               d["x"], d["y"])


def test_huber_second_derivatives():
    # torch's Huber and smooth L1 backward passes are differentiable: d2/de2 is 1 inside the band
    e = torch.tensor([-3.0, -0.4, 0.2, 2.5], dtype=torch.float64, requires_grad=True)
    target = torch.zeros(4, dtype=torch.float64)
    for loss, threshold in ((L.huber_loss, "delta"), (L.smooth_l1_loss, "beta")):
        assert torch.autograd.gradgradcheck(lambda x, f=loss: f(x, target, reduction="sum"), (e,))
        y = (e / 3).detach().requires_grad_(True)
        for red in REDUCTIONS:  # in both arguments: the target's gradient is minus the input's
            assert torch.autograd.gradgradcheck(
                lambda a, b, f=loss, r=red, k=threshold: f(a, b, **{k: 0.7}, reduction=r), (e, y))
        (g,) = torch.autograd.grad(loss(e, target, reduction="sum"), e, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), e)
        np.testing.assert_array_equal(h.numpy(), [0.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_on_a_large_input(pos_weight, reduction):
    # 10^5 soft targets: value and gradient are the NumPy flavour's
    r = np.random.default_rng(7)
    x, y = 3 * r.normal(size=(20_000, 5)), r.uniform(size=(20_000, 5))
    kwargs = {"reduction": reduction, "pos_weight": r.uniform(0.5, 3.0, 5) if pos_weight else None}
    xt = torch.from_numpy(x).requires_grad_(True)
    value = L.binary_cross_entropy_with_logits(xt, torch.from_numpy(y), **kwargs)
    value.backward()
    expected = N.binary_cross_entropy_with_logits(x, y, **kwargs)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)
    grad = N.binary_cross_entropy_with_logits_grad(x, y, **kwargs)
    # soft targets: where (1 - y) sigmoid(x) and pw y sigmoid(-x) nearly cancel, the two
    # flavours' roundings differ in the last digits of a tiny slope, hence the absolute floor
    np.testing.assert_allclose(xt.grad.numpy(), grad, rtol=1e-10, atol=1e-12 * abs(grad).max())


def test_bce_with_logits_second_derivatives():
    # torch's backward of BCE on logits is differentiable in the logits and the targets
    d = {k: _tensor(v) for k, v in D.items()}
    x = (3 * d["x"]).requires_grad_(True)
    y = d["soft"].clone().requires_grad_(True)
    for red in REDUCTIONS:
        def loss(a, b, red=red):
            return L.binary_cross_entropy_with_logits(a, b, weight=d["w4"], reduction=red,
                                                      pos_weight=d["w4"])
        assert torch.autograd.gradgradcheck(loss, (x, y))
        assert torch.autograd.gradgradcheck(
            lambda a, red=red: L.binary_cross_entropy_with_logits(a, d["hard"], reduction=red),
            (x,))
    # d2/dx2 = sigmoid'(x) (1 + (pw - 1) y), also at x = 0 and -0.0
    z = torch.tensor([-0.0, 0.0, 2.0, -3.0], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([1.0, 0.0, 0.5, 1.0], dtype=torch.float64)
    pos_weight = torch.tensor(3.0, dtype=torch.float64)
    total = L.binary_cross_entropy_with_logits(z, t, reduction="sum", pos_weight=pos_weight)
    (g,) = torch.autograd.grad(total, z, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), z)
    s = torch.sigmoid(z.detach())
    np.testing.assert_allclose(h.numpy(), (s * (1 - s) * (1 + 2 * t)).numpy(), rtol=1e-12)


def test_class_weights_take_no_gradient_as_in_torch():
    # a difference from a formula written in tensor operations: torch's built-ins refuse a
    # pos_weight or a cross-entropy class weight that requires grad, and the flavour keeps
    # torch's behaviour and its error
    w = torch.ones(4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument "
                                           "'pos_weight'"):
        L.binary_cross_entropy_with_logits(_tensor(D["x"]), _tensor(D["soft"]), pos_weight=w)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument "
                                           "'weight'"):
        L.cross_entropy(_tensor(D["x"]), _tensor(D["ids"]), weight=w)


def test_gradcheck_of_composed_losses_in_every_argument():
    d = {k: _tensor(v) for k, v in D.items()}
    _gradcheck(lambda x, y: L.huber_loss(x, y, delta=0.6), d["x"], d["y"])
    _gradcheck(lambda p, y: L.binary_cross_entropy(p, y), d["p"], d["soft"])
    _gradcheck(lambda x, y: L.binary_cross_entropy_with_logits(x, y, pos_weight=d["w4"]),
               d["x"], d["soft"])
    _gradcheck(lambda x: L.cross_entropy(x, d["ids_ignored"], weight=d["w4"],
                                         label_smoothing=0.2), d["x"])
    _gradcheck(lambda x, q: L.cross_entropy(x, q), d["x"], d["q"])
    _gradcheck(lambda x: L.sigmoid_focal_loss(x, d["hard"], reduction="sum"), d["x"])
    _gradcheck(lambda a, b, c: L.triplet_margin_loss(a, b, c, swap=True), d["a"], d["b"],
               d["c"])
    _gradcheck(lambda a, b: L.cosine_embedding_loss(a, b, d["pm6"]), d["a"], d["b"])
    _gradcheck(lambda s, t: L.distillation_loss(s, t, d["ids"], T=2.0, alpha=0.3),
               d["x"], d["y"])


# ---- extreme but finite inputs ---------------------------------------------------------------

def test_bce_at_probabilities_zero_and_one_is_finite_and_matches_numpy():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-300, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    expected, got, leaf = _run("binary_cross_entropy", (p, y), {"reduction": "sum"}, grad=True)
    got.backward()
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)
    grad = N.binary_cross_entropy_grad(p, y, reduction="sum")
    assert np.isfinite(leaf.grad.numpy()).all() and abs(grad[0]) > 1e11
    np.testing.assert_allclose(leaf.grad.numpy(), grad, rtol=1e-12)


@pytest.mark.parametrize("name, kwargs", [
    ("binary_cross_entropy_with_logits", {"pos_weight": np.full(6, 3.0)}),
    ("sigmoid_focal_loss", {"reduction": "none"}),
    ("multilabel_soft_margin_loss", {}),
])
def test_logit_losses_at_huge_logits(name, kwargs):
    x = np.array([[-1e4, -100.0, -30.0, 30.0, 100.0, 1e4]] * 2)
    y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]])
    expected, got, leaf = _run(name, (x, y), kwargs, grad=True)
    assert torch.isfinite(got).all()
    # torch's BCE-on-logits kernel forms (1 - y) x - pw y log sigmoid(x) - ..., whose right-side
    # losses (9.4e-14 at |x| = 30) carry an absolute error of about |x| * 1e-16; the NumPy
    # flavour adds two non-negative terms and keeps them. Everything else agrees to rtol 1e-12.
    atol = 1e-14 if name == "binary_cross_entropy_with_logits" else 0
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12, atol=atol)
    (got if got.dim() == 0 else got.sum()).backward()
    _assert_grad_close(leaf.grad.numpy(), getattr(N, name + "_grad")(x, y, **kwargs))


def test_cross_entropy_at_huge_logits_and_all_ignored():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    expected, got, _ = _run("cross_entropy", (x, np.array([1, 0])), {"label_smoothing": 0.1})
    assert torch.isfinite(got) and np.isclose(got.item(), expected, rtol=1e-12)
    ignored = L.cross_entropy(torch.tensor(x), torch.tensor([-100, -100]))
    assert torch.isnan(ignored) and np.isnan(N.cross_entropy(x, [-100, -100]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_checks_only_the_entries_it_reads_for_nan(reduction):
    logp = np.log(np.full((3, 4), 0.25))
    logp[0, 3] = logp[2, 1] = np.nan  # row 0 reads class 1; row 2 is ignored
    ids = np.array([1, 3, -100])
    got = L.nll_loss(torch.tensor(logp), torch.tensor(ids), reduction=reduction)
    np.testing.assert_allclose(got.numpy(), N.nll_loss(logp, ids, reduction=reduction))
    logp[1, 3] = np.nan  # now a read entry
    for flavour, cast in ((N, np.asarray), (L, torch.tensor)):
        with pytest.raises(ValueError, match=r"input contains NaN \(first at index \(0, 3\)\)"):
            flavour.nll_loss(cast(logp), cast(ids), reduction=reduction)
    # every item ignored: 'mean' is 0 / 0 = NaN, not an error
    assert torch.isnan(L.nll_loss(torch.tensor(logp), torch.tensor([-100, -100, -100])))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_ignored_items_with_masked_classes_give_torch_values(reduction, weighted, ignore_index):
    # ignored items are read at class 0 (so that picking stays in range); a -inf there, from a
    # masked logit or a log 0, once gave 0 * inf = NaN in both flavours where torch gives 0.
    # Row 3 is counted with a masked class: finite, or inf once smoothing puts mass on it
    F = torch.nn.functional
    x = np.array([[-np.inf, 1.0, 2.0], [0.5, 0.2, 0.1], [-np.inf] * 3, [0.3, -np.inf, 1.5]])
    ids = np.array([ignore_index, 1, ignore_index, 2])
    w = np.array([0.5, 2.0, 1.5]) if weighted else None
    logp = F.log_softmax(torch.tensor(x), dim=1).numpy()  # row 2 is NaN: every class masked
    logp[2] = -np.inf
    checks = [("cross_entropy", x, {"label_smoothing": 0.0}),
              ("cross_entropy", x, {"label_smoothing": 0.2}), ("nll_loss", logp, {})]
    for name, inputs, extra in checks:
        kwargs = dict(weight=w, ignore_index=ignore_index, reduction=reduction, **extra)
        leaf = torch.tensor(inputs, requires_grad=True)
        torch_kwargs = kwargs | {"weight": None if w is None else torch.tensor(w)}
        expected = getattr(F, name)(leaf, torch.tensor(ids), **torch_kwargs)
        (expected if expected.dim() == 0 else expected.sum()).backward()
        got = getattr(N, name)(inputs, ids, **kwargs)
        np.testing.assert_allclose(got, expected.detach().numpy(), rtol=1e-12)
        # torch's gradient is NaN on the all-masked row (log_softmax's backward reads exp(NaN))
        np.testing.assert_allclose(getattr(N, name + "_grad")(inputs, ids, **kwargs),
                                   leaf.grad.numpy(), rtol=1e-12, atol=1e-15)
        twin = leaf.detach().clone().requires_grad_(True)
        tensor_kwargs = kwargs | {"weight": None if w is None else torch.tensor(w)}
        got = getattr(L, name)(twin, torch.tensor(ids), **tensor_kwargs)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
        (got if got.dim() == 0 else got.sum()).backward()
        np.testing.assert_allclose(twin.grad.numpy(), leaf.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_nll_loss_converts_ids_and_weights_for_the_kernel():
    # NumPy arrays, int32 or uint8 ids and a float32 weight for float64 input, which torch's
    # kernel refuses, are converted first and give the NumPy flavour's value
    logp = np.log(np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]))
    ids, w = np.array([1, 0, 1]), np.array([0.5, 2.0])
    expected = N.nll_loss(logp, ids, weight=w)
    for x, y, weight in [(logp, ids, w),
                         (torch.tensor(logp), torch.tensor(ids, dtype=torch.int32), w),
                         (torch.tensor(logp), torch.tensor(ids), torch.tensor(w).float()),
                         (torch.tensor(logp), torch.tensor(ids).to(torch.uint8), None)]:
        got = L.nll_loss(x, y, weight=weight)
        assert got.dtype == torch.float64
        np.testing.assert_allclose(got.item(), expected if weight is not None
                                   else N.nll_loss(logp, ids), rtol=1e-15)
    with pytest.raises(TypeError, match=r"lossutils.nll_loss: target has dtype bool"):
        L.nll_loss(torch.tensor(logp), torch.tensor([True, False, True]))
    # a NaN weight, which the kernel would accept, is named by the checks
    with pytest.raises(ValueError, match=r"lossutils.nll_loss: weight contains NaN"):
        L.nll_loss(torch.tensor(logp), torch.tensor(ids), weight=torch.tensor([np.nan, 1.0]))


def test_kl_div_zero_target_against_minus_inf_log_prob_is_torchs_nan():
    # a documented difference: lossutils.torch.kl_div is torch's F.kl_div, which computes
    # xlogy(t, t) - t * input and so gives 0 * inf = NaN where t = 0 meets input = -inf; the
    # NumPy flavour returns the limit of p log(p / q) as p -> 0, which is 0. The gradient, -t,
    # is the same in both
    x = torch.tensor([[-np.inf, -0.1], [-1.0, -0.5]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0.0, 1.0], [0.3, 0.7]], dtype=torch.float64)
    loss = L.kl_div(x, t, reduction="none")
    torch_loss = torch.nn.functional.kl_div(x, t, reduction="none")
    np.testing.assert_array_equal(loss.detach().numpy(), torch_loss.detach().numpy())
    assert torch.isnan(loss[0, 0])
    numpy_loss = N.kl_div(x.detach().numpy(), t.numpy(), reduction="none")
    assert numpy_loss[0, 0] == 0.0
    np.testing.assert_allclose(loss.detach().numpy()[[0, 1, 1], [1, 0, 1]],
                               numpy_loss[[0, 1, 1], [1, 0, 1]], rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), -t.numpy())
    np.testing.assert_array_equal(N.kl_div_grad(x.detach().numpy(), t.numpy(), reduction="sum"),
                                  -t.numpy())


def test_zero_probabilities_give_finite_gradients():
    p = torch.tensor([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([[0.0, 0.2, 0.8], [0.1, 0.9, 0.0]], dtype=torch.float64)  # 0 where p is
    x = torch.log(q).requires_grad_(True)  # log q = -inf where q = 0
    for loss in (L.entropy(p).sum(), L.kl_divergence(p, torch.tensor([[0.2, 0.1, 0.7]] * 2)).sum(),
                 L.kl_div(x, p.detach(), reduction="sum")):
        loss.backward()
    # kl_div is torch's built-in: the gradient w.r.t. its input (the model's log-probabilities)
    # is -p, finite; its value and its gradient w.r.t. the target are NaN in the 0 * inf corner
    # (see test_kl_div_zero_target_against_minus_inf_log_prob_is_torchs_nan)
    for t in (p, x):
        assert torch.isfinite(t.grad).all(), t.grad
    np.testing.assert_allclose(L.entropy(p).detach().numpy(), N.entropy(p.detach().numpy()),
                               rtol=1e-12)
    assert torch.isinf(L.kl_divergence([[0.5, 0.5]], [[1.0, 0.0]])[0])  # p > 0 = q: infinite


def test_degenerate_embedding_batches():
    same = np.zeros((4, 3))
    np.testing.assert_allclose(  # all-equal embeddings cost exactly the margin
        L.triplet_margin_loss(*(torch.tensor(same),) * 3, margin=0.4).item(), 0.4, rtol=1e-12)
    for emb, labels in [(D["emb"][:5], np.zeros(5, dtype=np.int64)),   # a single class
                        (D["emb"][:5], np.arange(5)),                   # no positive pair
                        (np.repeat(D["emb"][:3], 4, axis=0), D["labels"])]:  # exact ties
        for name in ("triplet_semihard_loss", "nt_xent_loss"):
            expected, got, leaf = _run(name, (emb, labels), {}, grad=True)
            np.testing.assert_allclose(got.item(), expected, rtol=1e-12)
            got.backward()
            assert torch.isfinite(leaf.grad).all()
    dup = torch.tensor(np.repeat(D["emb"][:3], 2, axis=0), requires_grad=True)
    L.pairwise_distances(dup).sum().backward()  # equal rows: slope 0 at distance 0, not NaN
    assert torch.isfinite(dup.grad).all()
    zero = torch.zeros(2, 3, requires_grad=True)  # a zero distance: the gradient is 0, not NaN
    L.contrastive_loss(zero, torch.zeros(2, 3), torch.tensor([1.0, 0.0])).backward()
    assert torch.equal(zero.grad, torch.zeros(2, 3))
    assert L.cosine_embedding_loss(torch.zeros(1, 3), torch.ones(1, 3), [1.0]).item() == 1.0


# ---- exactly at the kink --------------------------------------------------------------------
# Both flavours return torch's subgradient at a hinge's kink: the slope of the active side
# (lossutils.margin explains why). Every kink below is exact in float64.

KINKS = [
    ("hinge_embedding_loss", (np.array([0.5, 0.5, 0.7]), np.array([-1.0, 1.0, -1.0])),
     {"margin": 0.5}),
    ("margin_ranking_loss", (np.array([1.5, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]),
                             np.array([1.0, -1.0, 1.0])), {"margin": 0.5}),
    ("margin_ranking_loss", (np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([1.0, -1.0])),
     {}),
    ("cosine_embedding_loss", (np.array([[1.0, 0.0], [1.0, 1.0]]),
                               np.array([[0.0, 3.0], [1.0, -1.0]]), np.array([-1.0, -1.0])), {}),
    ("triplet_margin_loss", (np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]),
                             np.array([[8.0, 6.0]])), {"margin": 5.0, "eps": 0.0}),
    ("triplet_margin_loss", (np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]),
                             np.array([[9.0, 4.0]])), {"margin": 1.0, "eps": 0.0, "swap": True}),
]


@pytest.mark.parametrize("name, args, kwargs", KINKS, ids=[k[0] for k in KINKS])
def test_gradients_at_hinge_kinks_equal_numpy(name, args, kwargs):
    kwargs = kwargs | {"reduction": "sum"}
    _, got, leaf = _run(name, args, kwargs, grad=True)
    got.backward()
    expected = getattr(N, name + "_grad")(*args, **kwargs)
    np.testing.assert_allclose(leaf.grad.numpy(), expected, rtol=1e-15, atol=0)
    assert np.any(expected != 0)  # the active side's slope, where a relu would give 0


def test_triplet_semihard_loss_at_the_kink():
    # points on a line, labels [0, 0, 1, 1], margin 0.5: the mined rows (0, 1, 2) and (3, 2, 1)
    # sit exactly on the kink (0.5 + d(a, p) - d(a, n) = 0), (2, 3, 0) is active, (1, 0, 3) not
    x = np.array([[0.0], [1.0], [1.5], [5.0]])
    labels = np.array([0, 0, 1, 1])
    rows = N.mine_semihard_triplets(x, labels)
    np.testing.assert_array_equal(rows, [[0, 1, 2], [1, 0, 3], [2, 3, 0], [3, 2, 1]])
    leaf = torch.tensor(x, requires_grad=True)
    loss = L.triplet_semihard_loss(leaf, torch.tensor(labels), margin=0.5)
    loss.backward()
    assert loss.item() == pytest.approx(2.5 / 4, rel=1e-15)
    # the mean over rows of the hinge's slope where its argument is >= 0 (torch's clamp_min)
    expected = np.zeros_like(x)
    for a, p, n in rows:
        if 0.5 + abs(x[a] - x[p]) - abs(x[a] - x[n]) >= 0:
            expected[a] += np.sign(x[a] - x[p]) - np.sign(x[a] - x[n])
            expected[p] -= np.sign(x[a] - x[p])
            expected[n] += np.sign(x[a] - x[n])
    np.testing.assert_array_equal(leaf.grad.numpy(), expected / len(rows))
    np.testing.assert_array_equal(expected.ravel() / 4, [0.25, 0.5, -1.0, 0.25])  # relu: 0, -0.5


def test_contrastive_loss_at_the_kink_has_slope_zero():
    # d = margin for a dissimilar pair: the squared hinge max(0, margin - d)^2 / 2 is smooth there
    x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    x2 = torch.tensor([[3.0, 4.0], [0.6, 0.8]], dtype=torch.float64)
    L.contrastive_loss(x1, x2, torch.tensor([0.0, 0.0]), margin=5.0, reduction="sum").backward()
    np.testing.assert_allclose(x1.grad.numpy(), [[0.0, 0.0], [4.0 * 0.6, 4.0 * 0.8]], rtol=1e-15)


# ---- mining --------------------------------------------------------------------------------

@pytest.mark.parametrize("emb, labels", [
    (D["emb"], D["labels"]),
    (np.repeat(D["emb"][:4], 3, axis=0), D["labels"]),          # ties everywhere
    (D["emb"][:6], np.array([0, 0, 0, 0, 0, 1])),               # mostly no semi-hard negative
    (D["emb"][:5], np.zeros(5, dtype=np.int64)),                # no negative: no rows
    (D["emb"][:1], np.zeros(1, dtype=np.int64)),
])
def test_mined_rows_equal_numpy(emb, labels):
    got = L.mine_semihard_triplets(torch.tensor(emb), torch.tensor(labels))
    assert got.dtype == torch.int64 and got.shape[1] == 3
    np.testing.assert_array_equal(got.numpy(), N.mine_semihard_triplets(emb, labels))


# ---- dtype and device ----------------------------------------------------------------------

def test_float32_stays_float32_and_close_to_float64():
    x32 = torch.tensor(D["x"], dtype=torch.float32, requires_grad=True)
    loss = L.cross_entropy(x32, torch.tensor(D["ids"]), label_smoothing=0.1)
    assert loss.dtype == torch.float32
    loss.backward()
    assert x32.grad.dtype == torch.float32
    np.testing.assert_allclose(loss.item(), N.cross_entropy(D["x"], D["ids"],
                                                            label_smoothing=0.1), rtol=1e-5)
    assert L.huber_loss(x32, D["y"], reduction="none").dtype == torch.float32


def test_target_on_another_device_is_named():
    with pytest.raises(ValueError, match=r"lossutils\.mse_loss: target is on device meta"):
        L.mse_loss(torch.zeros(3), torch.zeros(3, device="meta"))


def test_lists_and_arrays_become_float64_tensors():
    out = L.mse_loss([2.5, 3, 5], [1, 3, 4])
    assert out.dtype == torch.float64 and np.isclose(out.item(), 1.0833333333333333, rtol=1e-12)


# ---- errors: the NumPy flavour's type and message -------------------------------------------

ERRORS = [
    ("mse_loss", (np.zeros((4, 1)), np.zeros(4)), {}),
    ("mse_loss", (np.array([0.0, np.nan]), np.zeros(2)), {}),
    ("l1_loss", (np.zeros(2), np.array([1.0, np.nan])), {}),
    ("huber_loss", (np.zeros(2), np.zeros(2)), {"reduction": "avg"}),
    ("huber_loss", (np.zeros(2), np.zeros(2)), {"delta": 0.0}),
    ("smooth_l1_loss", (np.zeros(2), np.zeros(2)), {"beta": -1.0}),
    ("binary_cross_entropy", (np.array([0.5, 1.5]), np.zeros(2)), {}),
    ("binary_cross_entropy_with_logits", (np.zeros(2), np.array([-1.0, 1.0])), {}),
    ("binary_cross_entropy_with_logits", (np.zeros((2, 3)), np.zeros((2, 3))),
     {"pos_weight": np.ones(2)}),
    ("sigmoid_focal_loss", (np.zeros(2), np.zeros(2)), {"alpha": 1.5}),
    ("cross_entropy", (np.zeros((3, 4)), np.zeros((3, 1), dtype=np.int64)), {}),
    ("cross_entropy", (np.zeros((3, 4)), np.array([0, 4, 1])), {}),
    ("cross_entropy", (np.zeros((3, 4)), np.array([0, 1, 1])), {"weight": np.ones(3)}),
    ("cross_entropy", (np.zeros((3, 4)), np.array([0, 1, 1])), {"label_smoothing": 1.5}),
    ("cross_entropy", (np.zeros((3, 4)), np.full((3, 4), 0.25)), {"ignore_index": 0}),
    ("cross_entropy", (np.zeros((3, 4)), np.full((3, 4), 2.0)), {}),
    ("nll_loss", (np.array([[0.0, np.nan]]), np.array([1])), {}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, 4, 1])), {}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, -1, 1])), {}),
    ("nll_loss", (np.zeros((3, 4)), np.array([-100, 5, 1])), {}),
    ("nll_loss", (np.zeros((3, 4)), np.zeros((3, 1), dtype=np.int64)), {}),
    ("nll_loss", (np.zeros((3, 4)), np.full((3, 4), 0.25)), {}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, 1])), {}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, 1, 1])), {"weight": np.ones(3)}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, 1, 1])),
     {"weight": np.array([1.0, np.nan, 1.0, 1.0])}),
    ("nll_loss", (np.zeros((3, 4)), np.array([0, 1, 1])), {"reduction": "avg"}),
    ("cross_entropy", (np.zeros((3, 4)), np.array([0, 7, 1])), {"ignore_index": 2}),
    ("kl_div", (np.zeros(3), np.array([0.5, -0.1, 0.6])), {}),
    ("kl_div", (np.zeros(3), np.full(3, 1 / 3)), {"reduction": "avg"}),
    ("entropy", (np.array([0.5, 0.6]),), {}),
    ("kl_divergence", (np.array([0.5, 0.5]), np.array([2.0, -1.0])), {}),
    ("distillation_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 1), np.int64)), {}),
    ("distillation_loss", (np.zeros((2, 3)), np.zeros((2, 3))), {"T": 0.0}),
    ("hinge_embedding_loss", (np.zeros(3), np.array([1.0, 0.0, -1.0])), {}),
    # a NaN input, or a NaN among labels in {-1, 1} or {0, 1}
    ("hinge_embedding_loss", (np.array([0.0, np.nan]), np.array([1.0, -1.0])), {}),
    ("hinge_embedding_loss", (np.zeros(2), np.array([1.0, np.nan])), {}),
    ("margin_ranking_loss", (np.zeros(2), np.array([np.nan, 0.0]), np.ones(2)), {}),
    ("margin_ranking_loss", (np.zeros(2), np.zeros(2), np.array([1.0, np.nan])),
     {"reduction": "sum"}),
    ("cosine_embedding_loss", (np.ones((2, 3)), np.ones((2, 3)), np.array([np.nan, 1.0])), {}),
    ("cosine_embedding_loss", (np.ones((2, 3)), np.array([[1.0, np.nan, 0.0], [1, 1, 1]]),
                               np.ones(2)), {}),
    ("contrastive_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.array([np.nan, 1.0])), {}),
    ("margin_ranking_loss", (np.zeros(3), np.zeros(3), np.ones((3, 1))), {}),
    ("cosine_embedding_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.ones(2)),
     {"margin": "big"}),
    ("triplet_margin_loss", (np.zeros((2, 3)),) * 3, {"margin": 0.0}),
    ("triplet_margin_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))), {}),
    ("contrastive_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, -1.0])), {}),
    ("contrastive_loss", (np.zeros((2, 3)), np.zeros((2, 3)), np.ones(2)), {"margin": -1.0}),
    ("nt_xent_loss", (np.zeros((3, 2)), np.array([0, 0, 1])), {"temperature": 0.0}),
    ("triplet_semihard_loss", (np.zeros((3, 2)), np.array([0, 0, 1])), {"margin": -0.1}),
    ("mine_semihard_triplets", (np.zeros((3, 2)), np.array([0, 0])), {}),
    ("pairwise_distances", (np.array([[0.0, np.inf]]),), {}),
    ("label_smoothing_targets", (np.array([0, 3]), 3), {}),
]


def _error_of(fn, *args, **kwargs):
    with pytest.raises((ValueError, TypeError)) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fn(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("name, args, kwargs", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_raises_the_numpy_error(name, args, kwargs):
    expected = _error_of(getattr(N, name), *args, **kwargs)
    from_tensors = _error_of(getattr(L, name), *[_tensor(a) for a in args], **kwargs)
    from_arrays = _error_of(getattr(L, name), *args, **kwargs)
    assert type(from_tensors) is type(expected) and type(from_arrays) is type(expected)
    assert str(from_tensors) == str(expected) == str(from_arrays)
    assert str(expected).startswith(f"lossutils.{name}: ") and "Fix:" in str(expected)


@pytest.mark.parametrize("name, args", [
    ("cross_entropy", (np.zeros((3, 4)), np.array([0.0, 1.0, 1.0]))),
    ("nll_loss", (np.zeros((3, 4)), np.array([0.0, 1.0, 1.0]))),
    ("label_smoothing_targets", (np.array([0.0, 1.0]), 3)),
    ("triplet_semihard_loss", (np.zeros((2, 2)), np.array([0.0, 1.0]))),
])
def test_float_class_ids_are_a_type_error(name, args):
    expected = _error_of(getattr(N, name), *args)
    got = _error_of(getattr(L, name), *[_tensor(a) for a in args])
    assert type(got) is type(expected) is TypeError
    assert f"lossutils.{name}: " in str(got) and "float" in str(got) and "Fix:" in str(got)


def test_nan_reports_its_first_index_for_tensors():
    x = torch.zeros(2, 3)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"input contains NaN \(first at index \(1, 2\)\)"):
        L.huber_loss(x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"target contains NaN"):
        L.binary_cross_entropy_with_logits(torch.zeros(2, 3), x)
    # +inf and -inf sum to NaN without any NaN element: that is not an error
    inf = torch.tensor([np.inf, -np.inf, 0.0])
    assert torch.isnan(L.mse_loss(inf, torch.zeros(3))) is not None


def test_kl_div_mean_warns_in_both_flavours():
    with pytest.warns(UserWarning, match="batchmean"):
        L.kl_div(torch.log(torch.full((2, 3), 1 / 3)), torch.full((2, 3), 1 / 3))


def _cloud_with_near_pairs():
    # 562 rows far from the origin, with near-duplicates and exact duplicates far apart in the
    # batch
    r = np.random.default_rng(11)
    b = 562
    emb = r.normal(size=(b, 3)) + 1e3
    emb[300:350] = emb[:50] + 1e-7 * r.normal(size=(50, 3))
    emb[b - 1] = emb[3]
    emb[b - 2] = emb[260]
    return emb


@pytest.mark.parametrize("squared", [False, True])
def test_pairwise_distances_of_a_large_batch_with_near_pairs(squared):
    emb = _cloud_with_near_pairs()
    x = torch.tensor(emb, requires_grad=True)
    got = L.pairwise_distances(x, squared=squared)
    assert torch.equal(got, got.T) and bool((got.diagonal() == 0).all())
    assert got[3, -1] == 0 and got[260, -2] == 0
    np.testing.assert_allclose(got.detach().numpy(), N.pairwise_distances(emb, squared=squared),
                               rtol=1e-12, atol=0)
    # the gradient against the direct sum over differences, sum_j (G_kj + G_jk) dD_kj / dx_k
    g = np.random.default_rng(3).normal(size=got.shape)
    got.backward(torch.tensor(g))
    diff = emb[:, None, :] - emb[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    s = g + g.T
    if squared:
        s = 2 * s
    else:
        s = np.divide(s, dist, out=np.zeros_like(s), where=dist > 0)
    expected = (s[:, :, None] * diff).sum(axis=1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-9 * abs(expected).max())


def test_pairwise_distances_second_derivatives():
    # create_graph=True differentiates the formula: second derivatives of well-separated rows
    emb = torch.tensor(np.random.default_rng(2).normal(size=(4, 3)), requires_grad=True)
    for squared in (False, True):
        assert torch.autograd.gradgradcheck(
            lambda e, s=squared: L.pairwise_distances(e, squared=s), (emb,))


def test_cosine_embedding_loss_has_second_derivatives():
    # torch's cosine_embedding_loss is composed of differentiable operations
    r = np.random.default_rng(4)
    a, b = (torch.tensor(r.normal(size=(3, 4)), requires_grad=True) for _ in range(2))
    y = torch.tensor([1.0, -1.0, -1.0])
    assert torch.autograd.gradgradcheck(
        lambda u, v: L.cosine_embedding_loss(u, v, y, margin=-0.5, reduction="sum"), (a, b))


def test_pairwise_distances_keep_close_pairs_far_from_the_origin():
    r = np.random.default_rng(5)
    base = r.normal(size=(6, 4)) + 1e5  # a cloud far from the origin
    emb = np.concatenate([base, base + 1e-6 * r.normal(size=(6, 4))])  # and near-duplicates
    got = L.pairwise_distances(torch.tensor(emb))
    assert torch.equal(got, got.T) and bool((got.diagonal() == 0).all())
    np.testing.assert_allclose(got.numpy(), N.pairwise_distances(emb), rtol=1e-12, atol=0)
    np.testing.assert_allclose(L.pairwise_distances(torch.tensor(emb), squared=True).numpy(),
                               N.pairwise_distances(emb, squared=True), rtol=1e-12, atol=0)
