"""Checks and experiments for the ``kl_vs_ce`` assignment (chapter 8, entropy and divergences).

The student writes, with NumPy only, for (N, K) arrays whose rows are distributions (natural log,
``0 log 0 = 0``):

* ``entropy(p)``, ``cross_entropy(p, q)``, ``kl_divergence(p, q)``: per row, shape (N,):
  ``H(p) = -sum p log p``, ``-sum p log q`` and ``KL(p || q) = sum p log(p / q)``;
* ``ce_grad_logits(logits, p)``, ``kl_grad_logits(logits, p)``: the gradient w.r.t. ``logits`` of
  the row-mean of ``CE(p, softmax(logits))`` (the notebook gives ``(softmax(logits) - p) / N``)
  and of ``KL(p || softmax(logits))`` (the student works it out; messages about it never state
  it), stable for logits up to +-1000;
* ``distillation_loss(student_logits, teacher_logits, T=2.0)``:
  ``T^2`` times the row-mean of ``KL(softmax(teacher / T) || softmax(student / T))``.

Each check tests one property on fixed inputs and raises ``AssertionError`` saying what failed on
which input: these are the visible tests of the student notebook. Expected values come from
:func:`lossutils.entropy`, :func:`lossutils.kl_divergence` (cross-entropy as
``H(p) + KL(p || q)``), :func:`lossutils.cross_entropy_grad` with probability targets and
:func:`lossutils.distillation_loss`, plus a few numbers worked out by hand.
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..activations import softmax
from ..divergence import distillation_loss as _ref_distillation
from ..divergence import entropy as _ref_entropy
from ..divergence import kl_divergence as _ref_kl
from ..multiclass import cross_entropy_grad as _ref_ce_grad
from ._expect import (
    as_result,
    call,
    expect_close,
    expect_scalar,
    expect_shape,
    expect_true,
    failure,
    fixed_rng,
    under_nbgrader,
)

__all__ = [
    "entropy_values", "entropy_zeros", "cross_entropy_values", "cross_entropy_zeros",
    "kl_values", "kl_zeros", "ce_grad_values", "ce_grad_row_mean", "ce_grad_extreme_logits",
    "kl_grad_values", "kl_grad_zeros", "kl_grad_extreme_logits", "distillation_values",
    "distillation_temperature", "distillation_extreme_logits",
    "forward_reverse_experiment", "check_forward_reverse", "temperature_experiment",
    "check_temperature", "plot_forward_reverse", "plot_temperature",
]

LOG2 = float(np.log(2.0))

# The course's reference for each graded function: what the checks compare with, and what the
# site must never print (tests/browser/test_site_teaching.py). Both gradients are the gradient of
# cross-entropy with probability targets.
REFERENCES = {
    "entropy": (_ref_entropy,), "cross_entropy": (_ref_entropy, _ref_kl),
    "kl_divergence": (_ref_kl,), "ce_grad_logits": (_ref_ce_grad,),
    "kl_grad_logits": (_ref_ce_grad,), "distillation_loss": (_ref_distillation,),
}


# ---- inputs -------------------------------------------------------------------------------------

def _dist(g, n, k, scale=2.0, zeros=0.0):
    """``n`` random distributions over ``k`` classes; a fraction ``zeros`` of entries set to 0."""
    p = softmax(g.normal(scale=scale, size=(n, k)))
    if zeros:
        keep = g.random((n, k)) >= zeros
        keep[np.arange(n), g.integers(0, k, size=n)] = True  # every row keeps some mass
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    return p


def _onehot(idx, k):
    return np.eye(k)[np.asarray(idx)]


def _want_ce(p, q):
    """``-sum p log q`` = ``H(p) + KL(p || q)`` (with 0 log 0 = 0)."""
    return _ref_entropy(p) + _ref_kl(p, q)


def _want_grad(logits, p):
    """Row-mean cross-entropy gradient ``(softmax(z) - p) / N`` (the KL one: see the notebook's
    question)."""
    return _ref_ce_grad(logits, p)


def _check(fn, name, what, args, want, rtol=1e-6, atol=1e-9, **kwargs):
    inputs = dict(args) | kwargs
    got = call(fn, *args.values(), **kwargs)
    return expect_close(got, want, f"{name}, {what}", inputs, rtol=rtol, atol=atol)


# ---- entropy, cross-entropy, KL -----------------------------------------------------------------

def entropy_values(entropy):
    """``H(p) = -sum_k p_k log p_k`` per row (natural log): shape (N,)."""
    what = "values (H(p) = -sum p log p per row, natural log, shape (N,))"
    p = np.array([[0.25, 0.25, 0.25, 0.25], [0.5, 0.25, 0.125, 0.125], [0.9, 0.05, 0.05, 0.0]])
    want = [np.log(4.0), 1.75 * LOG2, -(0.9 * np.log(0.9) + 0.1 * np.log(0.05))]
    _check(entropy, "entropy", what, {"p": p}, want)
    g = fixed_rng("kl_vs_ce/entropy_values")
    p = _dist(g, 5, 6)
    _check(entropy, "entropy", what, {"p": p}, _ref_entropy(p))


def entropy_zeros(entropy):
    """``0 log 0 = 0``: zero probabilities contribute nothing (no NaN); a one-hot row has H = 0."""
    what = "zeros in p (0 log 0 = 0: no NaN, a one-hot row has entropy 0)"
    p = np.array([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    _check(entropy, "entropy", what, {"p": p}, [LOG2, 0.0])


def cross_entropy_values(cross_entropy):
    """``CE(p, q) = -sum_k p_k log q_k`` per row; ``CE(p, p) = H(p)``; one-hot p: ``-log q_y``."""
    what = "values (CE(p, q) = -sum p log q per row, shape (N,))"
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.2, 0.3, 0.5]])
    want = [LOG2, 1.5 * LOG2, -(0.2 * np.log(0.2) + 0.3 * np.log(0.3) + 0.5 * np.log(0.5))]
    _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, want)
    g = fixed_rng("kl_vs_ce/cross_entropy_values")
    p, q = _dist(g, 5, 6), _dist(g, 5, 6)
    _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, _want_ce(p, q))


def cross_entropy_zeros(cross_entropy):
    """Terms with ``p_k = 0`` are 0, even where ``q_k = 0`` too (``0 log 0 = 0``)."""
    what = "zeros (terms with p_k = 0 contribute 0, even where q_k = 0: no NaN)"
    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    q = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    _check(cross_entropy, "cross_entropy", what, {"p": p, "q": q}, [0.0, LOG2, LOG2])


def kl_values(kl_divergence):
    """``KL(p || q) = sum_k p_k log(p_k / q_k)`` per row, in that direction; ``KL(p || p) = 0``."""
    what = "values (KL(p || q) = sum p log(p / q) per row, p first)"
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    q = np.array([[0.25, 0.75], [0.5, 0.5], [0.2, 0.8]])
    want = [0.5 * np.log(2.0) + 0.5 * np.log(2.0 / 3.0),
            0.9 * np.log(1.8) + 0.1 * np.log(0.2), 0.0]
    _kl_direction(kl_divergence, what, p, q, want)
    g = fixed_rng("kl_vs_ce/kl_values")
    p, q = _dist(g, 5, 6), _dist(g, 5, 6)
    _kl_direction(kl_divergence, what, p, q, _ref_kl(p, q))


def _kl_direction(fn, what, p, q, want):
    inputs = {"p": p, "q": q}
    got = call(fn, p, q)
    reverse = _ref_kl(q, p)
    arr = as_result(got, f"kl_divergence, {what}", inputs)
    if arr.shape == reverse.shape and not np.allclose(want, reverse, rtol=1e-3) \
            and np.allclose(arr, reverse, rtol=1e-6, atol=1e-9):
        raise failure(f"kl_divergence, {what}", "got KL(q || p) = sum q log(q / p) instead of "
                      "KL(p || q) = sum p log(p / q)", inputs,
                      hint="the weights come from the first argument, p")
    expect_close(got, want, f"kl_divergence, {what}", inputs)


def kl_zeros(kl_divergence):
    """Terms with ``p_k = 0`` are 0 (also where ``q_k = 0``): no NaN."""
    what = "zeros (terms with p_k = 0 contribute 0, even where q_k = 0: no NaN)"
    name = "kl_divergence"
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    q = np.array([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    _check(kl_divergence, name, what, {"p": p, "q": q}, [LOG2, 0.0, 0.0])


# ---- gradients w.r.t. logits --------------------------------------------------------------------

def _grad_cases_random(g, n_cases):
    cases = []
    for _ in range(n_cases):
        n, k = int(g.integers(2, 12)), int(g.integers(2, 20))
        cases.append((g.normal(scale=float(g.uniform(0.5, 5.0)), size=(n, k)), _dist(g, n, k)))
    return cases


def ce_grad_values(ce_grad_logits):
    """``d/dz mean_rows CE(p, softmax(z)) = (softmax(z) - p) / N``."""
    _grad_values(ce_grad_logits, "ce_grad_logits")


def kl_grad_values(kl_grad_logits):
    """The gradient w.r.t. the logits of the row-mean ``KL(p || softmax(z))``."""
    _grad_values(kl_grad_logits, "kl_grad_logits")


# The CE gradient is given in the notebook; the KL one is the student's question, so its
# messages name the quantity, not the answer.
GRAD_WHAT = {"ce_grad_logits": "values ((softmax(logits) - p) / N: the gradient of the mean "
                               "over rows)",
             "kl_grad_logits": "values (the gradient w.r.t. logits of the mean over rows of "
                               "KL(p || softmax(logits)))"}


def _grad_values(fn, name):
    what = GRAD_WHAT[name]
    z = np.zeros((1, 4))
    p = np.array([[0.0, 0.0, 1.0, 0.0]])
    _check(fn, name, what, {"logits": z, "p": p}, [[0.25, 0.25, -0.75, 0.25]])
    z = np.array([[np.log(2.0), 0.0], [0.0, 0.0]])
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    _check(fn, name, what, {"logits": z, "p": p}, [[1 / 12, -1 / 12], [-0.25, 0.25]])
    g = fixed_rng(f"kl_vs_ce/{name}_values")
    for z, p in _grad_cases_random(g, 1):
        _check(fn, name, what, {"logits": z, "p": p}, _want_grad(z, p))


def _check_row_mean(ce_grad_logits, g, sizes):
    what = "shape and row mean (shape (N, K); each row's gradient divided by N)"
    name = "ce_grad_logits"
    for n, k in sizes:
        row_z, row_p = g.normal(size=(1, k)), _dist(g, 1, k)
        z, p = np.repeat(row_z, n, axis=0), np.repeat(row_p, n, axis=0)
        inputs = {"logits": z, "p": p}
        expect_shape(call(ce_grad_logits, z, p), (n, k), f"{name}, {what}", inputs)
        _check(ce_grad_logits, name, what + f" - {n} equal rows, each gets 1/{n} of one row's",
               inputs, (softmax(z) - p) / n)


def ce_grad_row_mean(ce_grad_logits):
    """Shape (N, K); the mean over rows divides each row's gradient by N (not by N * K, not 1)."""
    _check_row_mean(ce_grad_logits, fixed_rng("kl_vs_ce/ce_grad_row_mean"), ((3, 4),))


def ce_grad_extreme_logits(ce_grad_logits):
    """Finite and exact for logits up to +-1000 (shift by the row maximum before ``exp``)."""
    _grad_extreme(ce_grad_logits, "ce_grad_logits")


def kl_grad_extreme_logits(kl_grad_logits):
    """Finite and exact for logits up to +-1000 (shift by the row maximum before ``exp``)."""
    _grad_extreme(kl_grad_logits, "kl_grad_logits")


EXTREME_WHAT = ("extreme logits (+-1000: no overflow, no NaN; subtract the row maximum before "
                "exp)")


def _grad_extreme(fn, name):
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]])
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.25, 0.25]])
    _check(fn, name, EXTREME_WHAT, {"logits": z, "p": p}, _want_grad(z, p))


KL_ZEROS_WHAT = "zeros in p (finite, exact gradient: no NaN from log 0)"


def kl_grad_zeros(kl_grad_logits):
    """Zeros in ``p`` are fine: the gradient stays finite and exact (no log 0, no NaN)."""
    what = KL_ZEROS_WHAT
    name = "kl_grad_logits"
    z = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    p = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.5]])
    _check(kl_grad_logits, name, what, {"logits": z, "p": p}, _want_grad(z, p))


# ---- distillation -------------------------------------------------------------------------------

def _want_distill(s, t, T):
    return float(_ref_distillation(s, t, T=T))


def _check_distill(fn, what, s, t, T=None, want=None, rtol=1e-6, atol=1e-9):
    inputs = {"student_logits": s, "teacher_logits": t} | ({} if T is None else {"T": T})
    got = call(fn, s, t) if T is None else call(fn, s, t, T=T)
    full = f"distillation_loss, {what}"
    value = expect_scalar(got, full, inputs)
    want = _want_distill(s, t, 2.0 if T is None else T) if want is None else want
    expect_close(value, want, full, inputs, rtol=rtol, atol=atol)


def distillation_values(distillation_loss):
    """Default ``T = 2``: ``4 * mean_rows KL(softmax(t / 2) || softmax(s / 2))``, one number."""
    what = "values at the default T=2 (T**2 * mean over rows of KL(teacher_T || student_T))"
    s = np.array([[0.0, 0.0]])
    t = np.array([[2.0 * np.log(3.0), 0.0]])  # softmax(t / 2) = [0.75, 0.25]
    want = 4.0 * (0.75 * np.log(1.5) + 0.25 * np.log(0.5))
    _check_distill(distillation_loss, what, s, t, want=want)
    g = fixed_rng("kl_vs_ce/distillation_values")
    s, t = g.normal(size=(4, 5)), g.normal(scale=3.0, size=(4, 5))
    _check_distill(distillation_loss, what, s, t)


def distillation_temperature(distillation_loss):
    """The temperature divides both logits, and the KL is multiplied by ``T^2``."""
    what = "temperature (softmax of logits / T for both, times T**2)"
    s = np.array([[0.0, 0.0]])
    for T in (1.0, 4.0):
        t = np.array([[T * np.log(3.0), 0.0]])  # softmax(t / T) = [0.75, 0.25]
        want = T * T * (0.75 * np.log(1.5) + 0.25 * np.log(0.5))
        _check_distill(distillation_loss, what, s, t, T=T, want=want)
    g = fixed_rng("kl_vs_ce/distillation_temperature")
    s, t = g.normal(size=(3, 4)), g.normal(scale=3.0, size=(3, 4))
    _check_distill(distillation_loss, what, s, t, T=0.5)


def distillation_extreme_logits(distillation_loss):
    """Finite and exact for logits of +-1000 (stable log-softmax at every temperature)."""
    what = "extreme logits (+-1000 at T=1 and T=2: no overflow, no NaN)"
    s = np.array([[1000.0, 0.0, -1000.0]])
    t = np.array([[0.0, 1000.0, 0.0]])
    for T in (1.0, 2.0):
        _check_distill(distillation_loss, what, s, t, T=T)


# ---- experiment 1: forward vs reverse KL on a bimodal target ----------------------------------

BINS = 100
MUS = np.linspace(0.0, 1.0, 101)
SIGMAS = np.geomspace(0.03, 0.5, 50)


def _gaussians(mus, sigmas):
    """Every discretised Gaussian on the bin centres, one row per (mean, width) pair."""
    c = (np.arange(BINS) + 0.5) / BINS
    mu, sd = np.meshgrid(mus, sigmas, indexing="ij")
    z = -0.5 * ((c[None, :] - mu.reshape(-1, 1)) / sd.reshape(-1, 1)) ** 2
    q = np.exp(z - z.max(axis=1, keepdims=True))  # sigma >= 0.03 keeps every bin above 1e-300
    return q / q.sum(axis=1, keepdims=True)


def forward_reverse_experiment(kl_divergence, modes=(0.25, 0.75), weights=(0.4, 0.6),
                               width=0.06):
    """Fit one Gaussian to a two-peaked target by minimising forward and reverse KL.

    The target ``p`` is :func:`lossutils.data.bimodal_distribution` over ``BINS`` bins on [0, 1].
    The candidates are discretised Gaussians ``q`` with means in ``MUS`` and widths in ``SIGMAS``
    (5050 of them). The student's ``kl_divergence`` scores all candidates in two calls, one row per
    candidate: forward ``KL(p || q)`` and reverse ``KL(q || p)``; the best candidate of each wins
    (a grid search, so nothing depends on a step size).

    Returns a dict with the target, both fitted distributions and their means and standard
    deviations (moments over the bins), the target's mean and standard deviation, the heavier
    mode and the modes' width. Discretised Gaussians on a fixed grid form an exponential family in
    (x, x^2), so the forward fit matches the target's mean and variance (moment matching).
    """
    p = data.bimodal_distribution(K=BINS, modes=modes, width=width, weights=weights)
    q = _gaussians(MUS, SIGMAS)
    target = np.broadcast_to(p, q.shape).copy()
    c = (np.arange(BINS) + 0.5) / BINS
    result = {"p": p, "centres": c, "target_mean": float(p @ c),
              "target_sd": float(np.sqrt(p @ (c - p @ c) ** 2)),
              "heavier_mode": float(modes[int(np.argmax(weights))]), "width": float(width)}
    for name, args in (("forward", (target, q)), ("reverse", (q, target))):
        what = f"kl_divergence during the experiment ({name} KL)"
        inputs = {"p": args[0], "q": args[1]}
        scores = expect_shape(call(kl_divergence, *args), (len(q),), what, inputs)
        expect_true(not np.isnan(scores).any(), what, "some divergences are NaN", inputs)
        fit = q[int(np.argmin(scores))]
        result[f"{name}_q"] = fit
        result[f"{name}_kl"] = float(scores.min())
        # moments of the fitted distribution itself: the grid cuts the Gaussian's tails off
        result[f"{name}_mean"] = float(fit @ c)
        result[f"{name}_sd"] = float(np.sqrt(fit @ (c - fit @ c) ** 2))
    return result


def check_forward_reverse(kl_divergence, modes=(0.25, 0.75), weights=(0.4, 0.6), width=0.06):
    """Forward KL covers both modes (moment matching); reverse KL locks onto one mode.

    Requirements, on the moments of the fitted distributions: the forward fit's mean is within
    0.03 of the target's mean and its standard deviation within 20% of the target's; the reverse
    fit's mean is within 0.03 of the heavier mode and its standard deviation at most 1.5 times a
    mode's width.
    """
    what = "experiment (forward vs reverse KL on a bimodal target)"
    inputs = {"modes": modes, "weights": weights, "width": width}
    r = forward_reverse_experiment(kl_divergence, **inputs)
    expect_true(abs(r["forward_mean"] - r["target_mean"]) <= 0.03
                and abs(r["forward_sd"] / r["target_sd"] - 1.0) <= 0.2, what,
                f"minimising KL(p || q) should match the target's mean {r['target_mean']:.3f} and "
                f"standard deviation {r['target_sd']:.3f} (a wide q over both modes), but the fit "
                f"has mean {r['forward_mean']:.3f} and sd {r['forward_sd']:.3f}", inputs)
    expect_true(abs(r["reverse_mean"] - r["heavier_mode"]) <= 0.03
                and r["reverse_sd"] <= 1.5 * r["width"], what,
                f"minimising KL(q || p) should give a narrow q on the heavier mode "
                f"{r['heavier_mode']:.3f} (mode width {r['width']:.3f}), but the fit has mean "
                f"{r['reverse_mean']:.3f} and sd {r['reverse_sd']:.3f}", inputs)


# ---- experiment 2: why distillation multiplies by T^2 -------------------------------------------

TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 16.0)
FD_STEP = 1e-5


def temperature_experiment(distillation_loss, seed=0):
    """Size of the gradient of the student's distillation loss as the temperature grows.

    For fixed student and teacher logits (4 x 5), the gradient w.r.t. the student's logits is
    measured by central differences of the student's own ``distillation_loss`` (2 calls per entry,
    200 calls in all). ``with_t2`` is its norm at each temperature; ``without_t2`` the norm of the
    same gradient divided by ``T^2``, i.e. of the KL term alone.
    """
    g = np.random.default_rng(seed)
    s, t = g.normal(scale=1.0, size=(4, 5)), g.normal(scale=3.0, size=(4, 5))
    with_t2 = []
    for T in TEMPERATURES:
        grad = np.zeros_like(s)
        for idx in np.ndindex(*s.shape):
            step = np.zeros_like(s)
            step[idx] = FD_STEP
            inputs = {"student_logits": s + step, "teacher_logits": t, "T": T}
            up = expect_scalar(call(distillation_loss, s + step, t, T=T),
                               "distillation_loss during the experiment", inputs)
            down = expect_scalar(call(distillation_loss, s - step, t, T=T),
                                 "distillation_loss during the experiment", inputs)
            grad[idx] = (up - down) / (2.0 * FD_STEP)
        with_t2.append(float(np.linalg.norm(grad)))
    temps = np.array(TEMPERATURES)
    with_t2 = np.array(with_t2)
    return {"T": temps, "with_t2": with_t2, "without_t2": with_t2 / temps**2}


def _loss_matches_at_experiment(distillation_loss, seed, what):
    """The experiment measures the gradient of the student's loss: if the loss itself is wrong
    at the experiment's logits, say which temperature and point to the property, instead of
    blaming the T**2 factor for numbers another mistake made."""
    g = np.random.default_rng(seed)
    s, t = g.normal(scale=1.0, size=(4, 5)), g.normal(scale=3.0, size=(4, 5))
    for T in TEMPERATURES:
        got = expect_scalar(call(distillation_loss, s, t, T=T),
                            "distillation_loss during the experiment", {"T": T})
        want = _want_distill(s, t, T)
        if not np.isclose(got, want, rtol=1e-6, atol=1e-9):
            unsoftened = T * T * float(np.mean(_ref_kl(softmax(t), softmax(s / T))))
            hint = ("the teacher's logits must be divided by T too"
                    if np.isclose(got, unsoftened, rtol=1e-6) else
                    "the distillation tests above say which property is wrong")
            raise failure(what, f"your distillation_loss is not T**2 * KL(softmax(teacher / T) "
                          f"|| softmax(student / T)) at T = {T:g}, so the experiment cannot "
                          "measure what the T**2 factor does", {"seed": seed, "T": T},
                          got=f"{got:.10g}", expected=f"{want:.10g}", hint=hint)


def check_temperature(distillation_loss, seed=0):
    """With ``T^2`` the gradient keeps its size across T; the bare KL's shrinks like ``1/T^2``.

    Requirements: the gradient norms with ``T^2`` stay within a factor 5 of each other over
    T = 1..16, and without it the norm at T = 16 is below 1/20 of the norm at T = 1. A correct
    answer varies by a factor of at most 3.5 with ``T^2`` and falls by 75 or more without.
    """
    what = "experiment (gradient size of the distillation loss across temperatures)"
    inputs = {"seed": seed, "T": TEMPERATURES}
    _loss_matches_at_experiment(distillation_loss, seed, what)
    r = temperature_experiment(distillation_loss, seed=seed)
    w, wo = r["with_t2"], r["without_t2"]
    expect_true(np.all(np.isfinite(w)) and w.min() > 0, what,
                f"the gradient norms are {np.round(w, 5)}", inputs)
    expect_true(w.max() <= 5.0 * w.min(), what,
                f"the gradient norms of your distillation_loss are {np.round(w, 4)} for "
                f"T = {TEMPERATURES}: with the T**2 factor they should stay within a factor 5",
                inputs)
    expect_true(wo[-1] <= wo[0] / 20.0, what,
                f"divided by T**2 the gradient norms are {np.round(wo, 5)}: they should shrink "
                "by a factor of more than 20 from T = 1 to T = 16", inputs)


# ---- figures ------------------------------------------------------------------------------------

def plot_forward_reverse(result):
    """Target and both fits (a matplotlib figure; None under nbgrader)."""
    if under_nbgrader():
        return None
    import matplotlib.pyplot as plt

    r = result
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.bar(r["centres"], r["p"], width=1.0 / BINS, color="0.75", label="target p (two modes)")
    ax.plot(r["centres"], r["forward_q"], color="tab:blue", lw=2,
            label=f"argmin KL(p || q): mean {r['forward_mean']:.2f}, sd {r['forward_sd']:.3f}")
    ax.plot(r["centres"], r["reverse_q"], color="tab:red", lw=2,
            label=f"argmin KL(q || p): mean {r['reverse_mean']:.2f}, sd {r['reverse_sd']:.3f}")
    ax.set(xlabel="x", ylabel="probability per bin", title="Forward vs reverse KL")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_temperature(result):
    """Gradient norm against T, with and without the T^2 factor (None under nbgrader)."""
    if under_nbgrader():
        return None
    import matplotlib.pyplot as plt

    r = result
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.loglog(r["T"], r["with_t2"], marker="o", label="T**2 * KL (your distillation_loss)")
    ax.loglog(r["T"], r["without_t2"], marker="s", label="KL alone (divided by T**2)")
    ax.set(xlabel="temperature T", ylabel="norm of the gradient w.r.t. student logits",
           title="Why distillation multiplies by T**2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
