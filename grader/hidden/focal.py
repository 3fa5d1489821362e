"""Hidden checks of the ``focal`` assignment: the visible properties on fresh random inputs.

Each function checks the same property as its namesake in :mod:`lossutils.assignments.focal`, on
inputs drawn from the grader's per-submission seed (:func:`grader.seeds.rng`) plus edge cases the
notebook does not show.
"""

from __future__ import annotations

import numpy as np

from lossutils.assignments import focal as visible
from lossutils.assignments._expect import call, expect_scalar, expect_shape
from lossutils.assignments.focal import _GRAD, _LOSS, _grad, _loss, _random

from ..seeds import rng

__all__ = [
    "loss_bce_limit", "loss_modulating_factor", "loss_alpha_weighting", "loss_extreme_logits",
    "loss_reduction", "grad_bce_limit", "grad_modulating_factor", "grad_alpha_weighting",
    "grad_extreme_logits", "grad_mean_scaling", "check_experiment",
]


def loss_bce_limit(focal_loss):
    """``alpha=None, gamma=0`` is exactly binary cross-entropy with logits (torchvision's test)."""
    what = "BCE limit (alpha=None, gamma=0 must equal binary cross-entropy with logits)"
    g = rng("focal/loss_bce_limit")
    for _ in range(3):
        x, y = _random(g)
        _loss(focal_loss, what, x, y, None, 0.0)


def loss_modulating_factor(focal_loss):
    """The factor is ``(1 - p_t)^gamma``: p for a negative, 1 - p for a positive."""
    what = "modulating factor (1 - p_t)**gamma, alpha=None"
    g = rng("focal/loss_modulating_factor")
    for gamma in (1.0, 2.0, float(g.uniform(0.3, 0.9)), float(g.uniform(2.5, 4.0))):
        x, y = _random(g)
        _loss(focal_loss, what, x, y, None, gamma)


def loss_alpha_weighting(focal_loss):
    """``alpha`` weights the positives (y = 1), ``1 - alpha`` the negatives; ``None`` is off."""
    what = "alpha weighting (alpha on targets 1, 1 - alpha on targets 0)"
    g = rng("focal/loss_alpha_weighting")
    for alpha in (0.25, float(g.uniform(0.05, 0.45)), float(g.uniform(0.55, 0.95)), 0.0, 1.0):
        gamma = float(g.choice([0.0, 1.0, 2.0]))
        x, y = _random(g)
        _loss(focal_loss, what, x, y, alpha, gamma)
        _loss(focal_loss, what, x, np.ones_like(y), alpha, gamma)   # all positives
        _loss(focal_loss, what, x, np.zeros_like(y), alpha, gamma)  # all negatives


def loss_extreme_logits(focal_loss):
    """Finite and accurate at logits +-100: a wrong-side logit of 100 costs about 100 * weight."""
    what = "extreme logits (finite and accurate up to |logit| = 100)"
    x = [100.0, -100.0, 100.0, -100.0]
    y = [1.0, 1.0, 0.0, 0.0]
    g = rng("focal/loss_extreme_logits")
    for alpha, gamma in ((0.25, 2.0), (None, 0.0), (None, 2.0), (0.5, 1.0), (0.25, 3.0)):
        _loss(focal_loss, what, x, y, alpha, gamma)
        mag = g.uniform(30.0, 100.0, size=6) * g.choice([-1.0, 1.0], size=6)
        _loss(focal_loss, what, mag, (g.random(6) < 0.5).astype(float), alpha, gamma)
    _loss(focal_loss, what, np.full(5, 100.0), np.zeros(5), 0.25, 2.0)   # all 0, all wrong
    _loss(focal_loss, what, np.full(5, -100.0), np.ones(5), 0.25, 2.0)   # all 1, all wrong


def loss_reduction(focal_loss):
    """One number: the mean over all elements (not a sum, not per positive)."""
    what = "reduction (a single number: the mean over all elements)"
    g = rng("focal/loss_reduction")
    for shape in ((int(g.integers(20, 60)),), (int(g.integers(2, 6)), int(g.integers(2, 6))),
                  (2, 3, int(g.integers(2, 5)))):
        x, y = _random(g, shape=shape)
        inputs = {"logits": x, "targets": y, "alpha": 0.25, "gamma": 2.0}
        expect_scalar(call(focal_loss, x, y, alpha=0.25, gamma=2.0), f"{_LOSS}, {what}", inputs)
        _loss(focal_loss, what, x, y, 0.25, 2.0)
        _loss(focal_loss, what, x, y, float(g.uniform(0.1, 0.9)), float(g.uniform(0.0, 3.0)))


def grad_bce_limit(focal_loss_grad):
    """``alpha=None, gamma=0``: the BCE gradient ``(sigmoid(x) - y) / n``."""
    what = "gradient in the BCE limit (alpha=None, gamma=0: (sigmoid(x) - y) / n)"
    g = rng("focal/grad_bce_limit")
    for _ in range(3):
        x, y = _random(g)
        _grad(focal_loss_grad, what, x, y, None, 0.0)


def grad_modulating_factor(focal_loss_grad):
    """With ``gamma > 0`` the factor ``(1 - p_t)^gamma`` depends on the logit too (product rule)."""
    what = "gradient with the modulating factor (gamma > 0, alpha=None; product rule)"
    g = rng("focal/grad_modulating_factor")
    for gamma in (1.0, 2.0, float(g.uniform(0.3, 0.9)), float(g.uniform(2.5, 4.0))):
        x, y = _random(g)
        _grad(focal_loss_grad, what, x, y, None, gamma)


def grad_alpha_weighting(focal_loss_grad):
    """``alpha`` scales the gradient of positives, ``1 - alpha`` that of negatives."""
    what = "gradient alpha weighting (alpha on targets 1, 1 - alpha on targets 0)"
    g = rng("focal/grad_alpha_weighting")
    for alpha in (0.25, float(g.uniform(0.05, 0.45)), float(g.uniform(0.55, 0.95)), 0.0, 1.0):
        gamma = float(g.choice([0.0, 1.0, 2.0]))
        x, y = _random(g)
        _grad(focal_loss_grad, what, x, y, alpha, gamma)
        _grad(focal_loss_grad, what, x, np.ones_like(y), alpha, gamma)
        _grad(focal_loss_grad, what, x, np.zeros_like(y), alpha, gamma)


def grad_extreme_logits(focal_loss_grad):
    """Finite at logits +-100: about ``-alpha / n`` or ``(1 - alpha) / n`` on the wrong side, 0
    on the right side."""
    what = "gradient at extreme logits (finite and accurate up to |logit| = 100)"
    x = [100.0, -100.0, 100.0, -100.0]
    y = [1.0, 1.0, 0.0, 0.0]
    g = rng("focal/grad_extreme_logits")
    for alpha, gamma in ((0.25, 2.0), (None, 0.0), (None, 2.0), (0.5, 1.0), (0.25, 3.0)):
        _grad(focal_loss_grad, what, x, y, alpha, gamma)
        mag = g.uniform(30.0, 100.0, size=6) * g.choice([-1.0, 1.0], size=6)
        _grad(focal_loss_grad, what, mag, (g.random(6) < 0.5).astype(float), alpha, gamma)
    _grad(focal_loss_grad, what, np.full(5, 100.0), np.zeros(5), 0.25, 2.0)
    _grad(focal_loss_grad, what, np.full(5, -100.0), np.ones(5), 0.25, 2.0)


def grad_mean_scaling(focal_loss_grad):
    """Same shape as ``logits``, divided by the number of elements."""
    what = "gradient shape and scaling (same shape as logits, divided by the number of elements)"
    g = rng("focal/grad_mean_scaling")
    for shape in ((int(g.integers(20, 60)),), (int(g.integers(2, 6)), int(g.integers(2, 6))),
                  (2, 3, int(g.integers(2, 5)))):
        x, y = _random(g, shape=shape)
        inputs = {"logits": x, "targets": y, "alpha": 0.25, "gamma": 2.0}
        expect_shape(call(focal_loss_grad, x, y, alpha=0.25, gamma=2.0), shape,
                     f"{_GRAD}, {what}", inputs)
        _grad(focal_loss_grad, what, x, y, 0.25, 2.0)
        _grad(focal_loss_grad, what, x, y, float(g.uniform(0.1, 0.9)), float(g.uniform(0.0, 3.0)))



def check_experiment(focal_loss, focal_loss_grad):
    """The experiment's requirements on a data set drawn from the grader's seed."""
    visible.check_experiment(focal_loss, focal_loss_grad,
                             seed=int(rng("focal/experiment").integers(1, 10_000)))
