"""Hidden checks of the ``kl_vs_ce`` assignment: the visible properties on fresh random inputs.

Each function checks the same property as its namesake in :mod:`lossutils.assignments.kl_vs_ce`,
on inputs drawn from the grader's per-submission seed (:func:`grader.seeds.rng`) plus edge cases
the notebook does not show (zeros in p and q, logits shifted per row, extreme temperatures).
"""

from __future__ import annotations

import numpy as np

from lossutils.assignments import kl_vs_ce as visible
from lossutils.assignments._expect import call, expect_scalar
from lossutils.assignments.kl_vs_ce import (
    EXTREME_WHAT,
    GRAD_WHAT,
    KL_ZEROS_WHAT,
    _check,
    _check_distill,
    _dist,
    _grad_cases_random,
    _kl_direction,
    _onehot,
    _want_ce,
    _want_grad,
)
from lossutils.divergence import entropy as _ref_entropy
from lossutils.divergence import kl_divergence as _ref_kl

from ..seeds import rng

__all__ = [
    "entropy_values", "entropy_zeros", "cross_entropy_values", "cross_entropy_zeros",
    "kl_values", "kl_zeros", "ce_grad_values", "ce_grad_row_mean", "ce_grad_extreme_logits",
    "kl_grad_values", "kl_grad_zeros", "kl_grad_extreme_logits", "distillation_values",
    "distillation_temperature", "distillation_extreme_logits", "check_forward_reverse",
    "check_temperature",
]


def entropy_values(entropy):
    """``H(p) = -sum_k p_k log p_k`` per row (natural log): shape (N,)."""
    what = "values (H(p) = -sum p log p per row, natural log, shape (N,))"
    g = rng("kl_vs_ce/entropy_values")
    for n, k, scale in ((int(g.integers(2, 12)), int(g.integers(2, 30)), 1.0),
                        (1, int(g.integers(3, 10)), 4.0), (int(g.integers(20, 60)), 3, 0.3)):
        p = _dist(g, n, k, scale)
        _check(entropy, "entropy", what, {"p": p}, _ref_entropy(p))


def entropy_zeros(entropy):
    """``0 log 0 = 0``: zero probabilities contribute nothing (no NaN); a one-hot row has H = 0."""
    what = "zeros in p (0 log 0 = 0: no NaN, a one-hot row has entropy 0)"
    g = rng("kl_vs_ce/entropy_zeros")
    for zeros in (0.3, 0.7):
        p = _dist(g, int(g.integers(3, 10)), int(g.integers(4, 20)), zeros=zeros)
        _check(entropy, "entropy", what, {"p": p}, _ref_entropy(p))
    k = int(g.integers(3, 12))
    p = _onehot(g.integers(0, k, size=4), k)
    _check(entropy, "entropy", what, {"p": p}, np.zeros(4))


def cross_entropy_values(cross_entropy):
    """``CE(p, q) = -sum_k p_k log q_k`` per row; ``CE(p, p) = H(p)``; one-hot p: ``-log q_y``."""
    what = "values (CE(p, q) = -sum p log q per row, shape (N,))"
    g = rng("kl_vs_ce/cross_entropy_values")
    for n, k in ((int(g.integers(2, 12)), int(g.integers(2, 30))), (1, int(g.integers(3, 8))),
                 (int(g.integers(20, 50)), 2)):
        p, q = _dist(g, n, k, 1.5), _dist(g, n, k, 3.0)
        _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, _want_ce(p, q))


def cross_entropy_zeros(cross_entropy):
    """Terms with ``p_k = 0`` are 0, even where ``q_k = 0`` too (``0 log 0 = 0``)."""
    what = "zeros (terms with p_k = 0 contribute 0, even where q_k = 0: no NaN)"
    g = rng("kl_vs_ce/cross_entropy_zeros")
    n, k = int(g.integers(3, 10)), int(g.integers(4, 15))
    p = _dist(g, n, k, zeros=0.5)
    q = np.where(p > 0, _dist(g, n, k), 0.0)                   # q = 0 wherever p = 0
    q /= q.sum(axis=1, keepdims=True)
    _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, _want_ce(p, q))
    p = _dist(g, n, k, zeros=0.6)
    q = _dist(g, n, k)
    _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, _want_ce(p, q))


def kl_values(kl_divergence):
    """``KL(p || q) = sum_k p_k log(p_k / q_k)`` per row, in that direction; ``KL(p || p) = 0``."""
    what = "values (KL(p || q) = sum p log(p / q) per row, p first)"
    name = "kl_divergence"
    g = rng("kl_vs_ce/kl_values")
    for n, k in ((int(g.integers(2, 12)), int(g.integers(2, 30))), (1, int(g.integers(3, 8))),
                 (int(g.integers(20, 50)), 3)):
        p, q = _dist(g, n, k, 2.0), _dist(g, n, k, 1.0)
        _kl_direction(kl_divergence, what, p, q, _ref_kl(p, q))
    p = _dist(g, 4, 7)
    _check(kl_divergence, name, what + " - KL(p || p) = 0", {"p": p, "q": p.copy()}, np.zeros(4))


def kl_zeros(kl_divergence):
    """Terms with ``p_k = 0`` are 0 (also where ``q_k = 0``): no NaN."""
    what = "zeros (terms with p_k = 0 contribute 0, even where q_k = 0: no NaN)"
    name = "kl_divergence"
    g = rng("kl_vs_ce/kl_zeros")
    n, k = int(g.integers(3, 10)), int(g.integers(4, 15))
    p = _dist(g, n, k, zeros=0.5)
    q = np.where(p > 0, _dist(g, n, k), 0.0)
    q /= q.sum(axis=1, keepdims=True)
    _check(kl_divergence, name, what, {"p": p, "q": q}, _ref_kl(p, q))
    p = _dist(g, n, k, zeros=0.6)
    q = _dist(g, n, k)
    _check(kl_divergence, name, what, {"p": p, "q": q}, _ref_kl(p, q))


def _grad_values(fn, name):
    what = GRAD_WHAT[name]
    g = rng(f"kl_vs_ce/{name}_values")
    for z, p in _grad_cases_random(g, 4):
        _check(fn, name, what, {"logits": z, "p": p}, _want_grad(z, p))
    # a shift of every logit in a row changes nothing
    z, p = _grad_cases_random(g, 1)[0]
    z = z + g.normal(scale=20.0, size=(len(z), 1))
    _check(fn, name, what + " - logits shifted per row", {"logits": z, "p": p}, _want_grad(z, p))


def _grad_extreme(fn, name):
    what = EXTREME_WHAT
    g = rng(f"kl_vs_ce/{name}_extreme")
    n, k = int(g.integers(2, 8)), int(g.integers(3, 10))
    z = g.choice([-1000.0, 1000.0], size=(n, k)) + g.normal(size=(n, k))
    p = _dist(g, n, k, zeros=0.3)
    _check(fn, name, what, {"logits": z, "p": p}, _want_grad(z, p))
    z = np.full((2, k), -1000.0)
    z[:, 0] = [-999.0, -1000.0]
    p = _dist(g, 2, k)
    _check(fn, name, what, {"logits": z, "p": p}, _want_grad(z, p))


def kl_grad_zeros(kl_grad_logits):
    """Zeros in ``p`` are fine: the gradient stays ``(softmax(z) - p) / N`` (no log p, no NaN)."""
    what = KL_ZEROS_WHAT
    name = "kl_grad_logits"
    g = rng("kl_vs_ce/kl_grad_zeros")
    for zeros in (0.4, 0.8):
        n, k = int(g.integers(2, 10)), int(g.integers(3, 12))
        z, p = g.normal(scale=2.0, size=(n, k)), _dist(g, n, k, zeros=zeros)
        _check(kl_grad_logits, name, what, {"logits": z, "p": p}, _want_grad(z, p))
    k = int(g.integers(3, 9))
    z, p = g.normal(size=(3, k)), _onehot([0, k - 1, 1], k)
    _check(kl_grad_logits, name, what + " - one-hot targets", {"logits": z, "p": p},
           _want_grad(z, p))


def distillation_values(distillation_loss):
    """Default ``T = 2``: ``4 * mean_rows KL(softmax(t / 2) || softmax(s / 2))``, one number."""
    what = "values at the default T=2 (T**2 * mean over rows of KL(teacher_T || student_T))"
    g = rng("kl_vs_ce/distillation_values")
    for n, k in ((int(g.integers(2, 20)), int(g.integers(2, 12))), (1, int(g.integers(3, 9)))):
        s, t = g.normal(scale=2.0, size=(n, k)), g.normal(scale=4.0, size=(n, k))
        _check_distill(distillation_loss, what, s, t)
    # the student matching the teacher up to a shift per row costs nothing
    t = g.normal(scale=3.0, size=(3, 6))
    _check_distill(distillation_loss, what + " - student = teacher + a constant per row",
                   t + g.normal(size=(3, 1)), t, want=0.0, atol=1e-12)


def distillation_temperature(distillation_loss):
    """The temperature divides both logits, and the KL is multiplied by ``T^2``."""
    what = "temperature (softmax of logits / T for both, times T**2)"
    g = rng("kl_vs_ce/distillation_temperature")
    for T in (1.0, float(g.uniform(0.3, 0.9)), float(g.uniform(3.0, 10.0)), 20.0):
        n, k = int(g.integers(2, 10)), int(g.integers(2, 10))
        s, t = g.normal(scale=2.0, size=(n, k)), g.normal(scale=4.0, size=(n, k))
        _check_distill(distillation_loss, what, s, t, T=T)


def distillation_extreme_logits(distillation_loss):
    """Finite and exact for logits of +-1000 (stable log-softmax at every temperature).

    Judged against the student's own loss, so that only stability counts here (a mistake in
    the formula costs the values and temperature tests): shifting every logit of a row by the
    same constant changes no softmax, so the loss at logits near +-1000 must equal the loss at
    the same logits near 0, and be finite."""
    what = "extreme logits (+-1000 at T=1 and T=2: no overflow, no NaN)"
    g = rng("kl_vs_ce/distillation_extreme")
    n, k = int(g.integers(2, 6)), int(g.integers(3, 8))
    for T in (1.0, 2.0, float(g.uniform(3.0, 6.0))):
        s, t = g.normal(scale=2.0, size=(n, k)), g.normal(scale=3.0, size=(n, k))
        moderate = expect_scalar(call(distillation_loss, s, t, T=T),
                                 f"distillation_loss, {what}", {"T": T})
        shift_s = g.choice([-1000.0, 1000.0], size=(n, 1))
        shift_t = g.choice([-1000.0, 1000.0], size=(n, 1))
        _check_distill(distillation_loss, what + " - logits shifted by +-1000 per row",
                       s + shift_s, t + shift_t, T=T, want=moderate, rtol=1e-6, atol=1e-9)
    # a teacher sure of one class, a student that agrees: KL is tiny, not NaN
    t = np.array([[1000.0, 0.0, 0.0]])
    _check_distill(distillation_loss, what, t.copy(), t, T=1.0, want=0.0, atol=1e-12)


def ce_grad_values(ce_grad_logits):
    """``(softmax(z) - p) / N`` on random rows, also after a per-row shift of the logits."""
    _grad_values(ce_grad_logits, "ce_grad_logits")


def kl_grad_values(kl_grad_logits):
    """``(softmax(z) - p) / N`` on random rows, also after a per-row shift of the logits."""
    _grad_values(kl_grad_logits, "kl_grad_logits")


def ce_grad_row_mean(ce_grad_logits):
    """Each row's gradient divided by N, for random N and K including N = 1 and K = 1."""
    g = rng("kl_vs_ce/ce_grad_row_mean")
    visible._check_row_mean(ce_grad_logits, g,
                            ((int(g.integers(2, 40)), int(g.integers(2, 9))),
                             (1, int(g.integers(2, 9))), (int(g.integers(2, 6)), 1)))


def ce_grad_extreme_logits(ce_grad_logits):
    """Finite and exact for random logits of +-1000 and for rows that are all near -1000."""
    _grad_extreme(ce_grad_logits, "ce_grad_logits")


def kl_grad_extreme_logits(kl_grad_logits):
    """Finite and exact for random logits of +-1000 and for rows that are all near -1000."""
    _grad_extreme(kl_grad_logits, "kl_grad_logits")


def check_forward_reverse(kl_divergence):
    """The experiment's requirements on a bimodal target drawn from the grader's seed."""
    g = rng("kl_vs_ce/forward_reverse")
    left, right = float(g.uniform(0.2, 0.3)), float(g.uniform(0.7, 0.8))
    heavy = float(g.uniform(0.6, 0.7))
    weights = (heavy, 1 - heavy) if g.random() < 0.5 else (1 - heavy, heavy)
    visible.check_forward_reverse(kl_divergence, modes=(left, right), weights=weights,
                                  width=float(g.uniform(0.05, 0.07)))


def check_temperature(distillation_loss):
    """The experiment's requirements on logits drawn from the grader's seed."""
    visible.check_temperature(distillation_loss,
                              seed=int(rng("kl_vs_ce/temperature").integers(1, 10_000)))
