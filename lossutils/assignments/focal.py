"""Checks and experiment for the ``focal`` assignment (chapter 7, class imbalance).

The student writes, with NumPy only,

* ``focal_loss(logits, targets, alpha=0.25, gamma=2.0)``: the mean over all elements of the
  sigmoid focal loss as torchvision defines it,
  ``alpha_t (1 - p_t)^gamma BCEWithLogits(x, y)`` with ``p = sigmoid(x)``,
  ``p_t = p y + (1 - p)(1 - y)`` and ``alpha_t = alpha y + (1 - alpha)(1 - y)``
  (``alpha=None`` switches the class weighting off); finite and accurate for logits up to +-100;
* ``focal_loss_grad(logits, targets, alpha=0.25, gamma=2.0)``: the gradient of that mean w.r.t.
  ``logits``, same shape.

Targets are hard labels (0.0 or 1.0). Each check tests one property on fixed inputs and raises
``AssertionError`` saying what failed on which input: these are the visible tests of the student
notebook. Expected values come from
:func:`lossutils.sigmoid_focal_loss` and :func:`lossutils.sigmoid_focal_loss_grad` (reduction
"mean") and a few numbers worked out by hand.
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..activations import sigmoid
from ..binary import binary_cross_entropy_with_logits_grad as _bce_grad
from ..binary import sigmoid_focal_loss as _ref_loss
from ..binary import sigmoid_focal_loss_grad as _ref_grad
from ._expect import call, expect_close, expect_scalar, expect_shape, expect_true, under_nbgrader
from ._grading import course_reference

__all__ = [
    "loss_bce_limit", "loss_modulating_factor", "loss_alpha_weighting", "loss_extreme_logits",
    "loss_reduction", "grad_bce_limit", "grad_modulating_factor", "grad_alpha_weighting",
    "grad_extreme_logits", "grad_mean_scaling", "experiment", "check_experiment",
    "plot_experiment",
]

_LOSS = "focal_loss"
_GRAD = "focal_loss_grad"

# The course's reference for each graded function: what the checks compare with, and what the
# site must never print (tests/browser/test_site_teaching.py).
REFERENCES = {_LOSS: (_ref_loss,), _GRAD: (_ref_grad,)}
LOG2 = float(np.log(2.0))


def _check(fn, name, ref, what, x, y, alpha, gamma, want=None, rtol=1e-6, atol=1e-9):
    inputs = {"logits": x, "targets": y, "alpha": alpha, "gamma": gamma}
    got = call(fn, x, y, alpha=alpha, gamma=gamma)
    if want is None:
        want = ref(x, y, alpha=alpha, gamma=gamma, reduction="mean")
    hint = None
    if alpha is not None and alpha != 0.5:
        swapped = ref(x, y, alpha=1.0 - alpha, gamma=gamma, reduction="mean")
        arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray | float) else None
        if arr is not None and arr.shape == np.shape(swapped) and np.allclose(
                arr, swapped, rtol=rtol, atol=atol) and not np.allclose(swapped, want):
            hint = ("this is the value with alpha and 1 - alpha swapped: alpha weights the "
                    "targets equal to 1, 1 - alpha the targets equal to 0")
    expect_close(got, want, f"{name}, {what}", inputs, rtol=rtol, atol=atol, hint=hint)


def _loss(fn, what, x, y, alpha, gamma, want=None):
    _check(fn, _LOSS, _ref_loss, what, np.asarray(x, float), np.asarray(y, float), alpha, gamma,
           want)


def _grad(fn, what, x, y, alpha, gamma, want=None):
    _check(fn, _GRAD, _ref_grad, what, np.asarray(x, float), np.asarray(y, float), alpha, gamma,
           want)


def _random(g, n=None, scale=3.0, shape=None):
    """Random logits and hard 0/1 targets (both classes present when there are several)."""
    shape = shape or (int(g.integers(4, 12)) if n is None else n,)
    x = g.normal(scale=scale, size=shape)
    y = (g.random(shape) < 0.4).astype(np.float64)
    y.flat[0], y.flat[-1] = 1.0, 0.0
    return x, y


# ---- focal_loss ---------------------------------------------------------------------------------

def loss_bce_limit(focal_loss):
    """``alpha=None, gamma=0`` is exactly binary cross-entropy with logits (torchvision's test)."""
    what = "BCE limit (alpha=None, gamma=0 must equal binary cross-entropy with logits)"
    _loss(focal_loss, what, [0.0, 0.0], [1.0, 0.0], None, 0.0, want=LOG2)
    _loss(focal_loss, what, [2.0, -1.0, 0.5], [1.0, 1.0, 0.0], None, 0.0)


def loss_modulating_factor(focal_loss):
    """The factor is ``(1 - p_t)^gamma``: p for a negative, 1 - p for a positive."""
    what = "modulating factor (1 - p_t)**gamma, alpha=None"
    _loss(focal_loss, what, [0.0], [1.0], None, 2.0, want=0.25 * LOG2)
    # p_t = 0.9: 100 times below cross-entropy (Lin et al. 2017)
    x9 = float(np.log(9.0))
    _loss(focal_loss, what, [x9], [1.0], None, 2.0, want=0.01 * float(np.log(10 / 9)))
    _loss(focal_loss, what, [-x9], [0.0], None, 2.0, want=0.01 * float(np.log(10 / 9)))
    _loss(focal_loss, what, [1.5, -0.5, 0.7, -2.0], [1.0, 1.0, 0.0, 0.0], None, 2.0)


def loss_alpha_weighting(focal_loss):
    """``alpha`` weights the positives (y = 1), ``1 - alpha`` the negatives; ``None`` is off."""
    what = "alpha weighting (alpha on targets 1, 1 - alpha on targets 0)"
    _loss(focal_loss, what, [0.0, 0.0], [1.0, 1.0], 0.25, 0.0, want=0.25 * LOG2)
    _loss(focal_loss, what, [0.0, 0.0], [0.0, 0.0], 0.25, 0.0, want=0.75 * LOG2)
    _loss(focal_loss, what, [1.5, -0.5, 0.7, -2.0], [1.0, 1.0, 0.0, 0.0], 0.25, 2.0)


def loss_extreme_logits(focal_loss):
    """Finite and accurate at logits +-100: a wrong-side logit of 100 costs about 100 * weight."""
    what = "extreme logits (finite and accurate up to |logit| = 100)"
    x = [100.0, -100.0, 100.0, -100.0]
    y = [1.0, 1.0, 0.0, 0.0]
    _loss(focal_loss, what, x, y, 0.25, 2.0, want=(0.25 * 100 + 0.75 * 100) / 4)
    _loss(focal_loss, what, x, y, None, 0.0, want=50.0)


def loss_reduction(focal_loss):
    """One number: the mean over all elements (not a sum, not per positive)."""
    what = "reduction (a single number: the mean over all elements)"
    x = np.array([[1.2, -0.3, 2.0], [-1.5, 0.4, 0.0], [0.9, -2.2, 3.1], [-0.1, 1.7, -0.8]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    inputs = {"logits": x, "targets": y, "alpha": 0.25, "gamma": 2.0}
    expect_scalar(call(focal_loss, x, y, alpha=0.25, gamma=2.0), f"{_LOSS}, {what}", inputs)
    _loss(focal_loss, what, x, y, 0.25, 2.0)


# ---- focal_loss_grad ----------------------------------------------------------------------------

def grad_bce_limit(focal_loss_grad):
    """``alpha=None, gamma=0``: the BCE gradient ``(sigmoid(x) - y) / n``."""
    what = "gradient in the BCE limit (alpha=None, gamma=0: (sigmoid(x) - y) / n)"
    _grad(focal_loss_grad, what, [0.0, 0.0], [1.0, 0.0], None, 0.0, want=[-0.25, 0.25])
    _grad(focal_loss_grad, what, [2.0, -1.0, 0.5], [1.0, 1.0, 0.0], None, 0.0)


def grad_modulating_factor(focal_loss_grad):
    """With ``gamma > 0`` the factor ``(1 - p_t)^gamma`` depends on the logit too (product rule)."""
    what = "gradient with the modulating factor (gamma > 0, alpha=None; product rule)"
    _grad(focal_loss_grad, what, [0.0], [1.0], None, 2.0, want=[-(LOG2 / 4 + 1 / 8)])
    _grad(focal_loss_grad, what, [1.5, -0.5, 0.7, -2.0], [1.0, 1.0, 0.0, 0.0], None, 2.0)


def grad_alpha_weighting(focal_loss_grad):
    """``alpha`` scales the gradient of positives, ``1 - alpha`` that of negatives."""
    what = "gradient alpha weighting (alpha on targets 1, 1 - alpha on targets 0)"
    _grad(focal_loss_grad, what, [0.0, 0.0], [1.0, 1.0], 0.25, 0.0, want=[-0.0625, -0.0625])
    _grad(focal_loss_grad, what, [0.0, 0.0], [0.0, 0.0], 0.25, 0.0, want=[0.1875, 0.1875])
    _grad(focal_loss_grad, what, [1.5, -0.5, 0.7, -2.0], [1.0, 1.0, 0.0, 0.0], 0.25, 2.0)


def grad_extreme_logits(focal_loss_grad):
    """Finite at logits +-100: about ``-alpha / n`` or ``(1 - alpha) / n`` on the wrong side, 0
    on the right side."""
    what = "gradient at extreme logits (finite and accurate up to |logit| = 100)"
    x = [100.0, -100.0, 100.0, -100.0]
    y = [1.0, 1.0, 0.0, 0.0]
    _grad(focal_loss_grad, what, x, y, 0.25, 2.0, want=[0.0, -0.0625, 0.1875, 0.0])
    _grad(focal_loss_grad, what, x, y, None, 0.0, want=[0.0, -0.25, 0.25, 0.0])


def grad_mean_scaling(focal_loss_grad):
    """Same shape as ``logits``, divided by the number of elements."""
    what = "gradient shape and scaling (same shape as logits, divided by the number of elements)"
    x = np.array([[1.2, -0.3, 2.0], [-1.5, 0.4, 0.0], [0.9, -2.2, 3.1], [-0.1, 1.7, -0.8]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    inputs = {"logits": x, "targets": y, "alpha": 0.25, "gamma": 2.0}
    expect_shape(call(focal_loss_grad, x, y, alpha=0.25, gamma=2.0), (4, 3),
                 f"{_GRAD}, {what}", inputs)
    _grad(focal_loss_grad, what, x, y, 0.25, 2.0)


# ---- experiment: focal vs BCE on a 90/10 imbalanced set ----------------------------------------

STEPS = 200
LOG_EVERY = 10
LR_BCE = 2.0
LR_FOCAL = 8.0
DISTANCE = 2.5


def _recall_precision(w, b, X, y):
    predicted = sigmoid(X @ w + b) >= 0.5
    positive = y == 1
    recall = float(predicted[positive].mean())
    precision = float(predicted[positive].sum() / max(int(predicted.sum()), 1))
    return recall, precision


def experiment(focal_loss, focal_loss_grad, alpha=0.75, gamma=2.0, seed=0, steps=STEPS):
    """Train a logistic model on a 90/10 imbalanced set with the focal loss and with plain BCE.

    Data: :func:`lossutils.data.imbalanced_blobs` (1000 training points, 10% positives, class
    centres 2.5 apart) and a fresh test set of 2000 points. Model ``z = X w + b``. Both runs take
    ``steps`` gradient-descent steps from zero; the focal run uses the student's ``focal_loss_grad``
    (chain rule: ``dL/dw = X^T g``, ``dL/db = sum(g)``), the BCE run the gradient
    ``(sigmoid(z) - y) / n``. The focal loss damps every gradient by ``alpha_t (1 - p_t)^gamma``,
    so it gets a larger step (8 instead of 2). The student's ``focal_loss`` is logged every
    ``LOG_EVERY`` steps. Reported: minority-class recall and precision on the test set at
    threshold 0.5. About ``steps * 1.05`` calls of the student's functions.
    """
    X, y = data.imbalanced_blobs(n=1000, minority_fraction=0.1, distance=DISTANCE, seed=seed)
    X_test, y_test = data.imbalanced_blobs(n=2000, minority_fraction=0.1, distance=DISTANCE,
                                           seed=seed + 10_000)
    y = y.astype(np.float64)
    n = len(y)
    w_f, b_f = np.zeros(2), 0.0
    w_b, b_b = np.zeros(2), 0.0
    curve = []
    with np.errstate(all="ignore"):
        for step in range(steps + 1):
            z = X @ w_f + b_f
            if step % LOG_EVERY == 0:
                curve.append(expect_scalar(call(focal_loss, z, y, alpha=alpha, gamma=gamma),
                                           f"{_LOSS} during the experiment", {"step": step}))
            if step == steps:
                break
            g = expect_shape(call(focal_loss_grad, z, y, alpha=alpha, gamma=gamma), (n,),
                             f"{_GRAD} during the experiment", {"step": step})
            w_f, b_f = w_f - LR_FOCAL * (X.T @ g), b_f - LR_FOCAL * float(g.sum())
            g_b = _bce_grad(X @ w_b + b_b, y)
            w_b, b_b = w_b - LR_BCE * (X.T @ g_b), b_b - LR_BCE * float(g_b.sum())
        recall_f, precision_f = _recall_precision(w_f, b_f, X_test, y_test)
        recall_b, precision_b = _recall_precision(w_b, b_b, X_test, y_test)
    return {
        "X": X, "y": y, "alpha": alpha, "gamma": gamma, "w_focal": w_f, "b_focal": b_f,
        "w_bce": w_b, "b_bce": b_b, "curve": np.array(curve),
        "curve_steps": np.arange(0, steps + 1, LOG_EVERY),
        "recall_focal": recall_f, "precision_focal": precision_f,
        "recall_bce": recall_b, "precision_bce": precision_b,
    }


@course_reference
def _reference_loss(logits, targets, alpha=0.25, gamma=2.0):
    """The course's mean focal loss, with the student's signature (for the learning curve)."""
    return _ref_loss(logits, targets, alpha=alpha, gamma=gamma, reduction="mean")


def check_experiment(focal_loss, focal_loss_grad, seed=0):
    """Trained with the student's gradient (alpha=0.75, gamma=2) on data set ``seed``, the focal
    loss finds clearly more of the minority class than BCE at threshold 0.5.

    Only ``focal_loss_grad`` is judged: the training loss is logged with the course's reference
    loss (a mistake in ``focal_loss`` costs the points of its own tests, not these).
    Requirements: the focal training loss falls steadily, and the focal model's test recall on
    the minority class is at least 0.05 above the BCE model's. With a correct answer the recalls
    are about 0.7-0.85 (focal) against 0.55-0.7 (BCE).
    """
    del focal_loss  # the test cell passes both, as the experiment cell does
    what = "experiment (focal vs BCE on a 90/10 imbalanced set)"
    inputs = {"data seed": seed, "alpha": 0.75, "gamma": 2.0, "steps": STEPS}
    r = experiment(_reference_loss, focal_loss_grad, seed=seed)
    curve = r["curve"]
    if not np.all(np.isfinite(curve)):
        expect_true(False, what, f"the training loss became {curve[~np.isfinite(curve)][0]}",
                    inputs, hint="check focal_loss_grad at large logits")
    steady = bool(np.all(np.diff(curve) <= 1e-12 * max(1.0, abs(curve[0]))))
    expect_true(steady and curve[-1] < 0.9 * curve[0], what,
                f"trained with your focal_loss_grad, the focal training loss should fall "
                f"steadily, but went {np.round(curve, 5)}", inputs,
                hint="focal_loss_grad should be the gradient of the mean focal loss")
    rf, rb = r["recall_focal"], r["recall_bce"]
    expect_true(rf >= rb + 0.05, what,
                f"minority-class recall at threshold 0.5: focal {rf:.3f}, BCE {rb:.3f}; expected "
                "the focal model at least 0.05 above", inputs)


def plot_experiment(*results):
    """Decision boundaries of the BCE model and of each focal model, and their learning curves
    (a matplotlib figure; None while nbgrader validates or autogrades)."""
    if under_nbgrader():
        return None
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    r0 = results[0]
    X, y = r0["X"], r0["y"]
    ax.scatter(*X[y == 0].T, s=6, color="0.6", label="majority (0)")
    ax.scatter(*X[y == 1].T, s=10, color="crimson", label="minority (1)")
    xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 2)

    def boundary(w, b, label, style):
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(b + w[0] * xs) / w[1], style, label=label)

    boundary(r0["w_bce"], r0["b_bce"], f"BCE (recall {r0['recall_bce']:.2f})", "k--")
    for r, color in zip(results, ["tab:blue", "tab:green", "tab:purple"], strict=False):
        boundary(r["w_focal"], r["b_focal"],
                 f"focal, alpha={r['alpha']}, gamma={r['gamma']} "
                 f"(recall {r['recall_focal']:.2f})", color)
        ax2.plot(r["curve_steps"], r["curve"], marker="o", color=color,
                 label=f"alpha={r['alpha']}, gamma={r['gamma']}")
    ax.set(xlabel="feature 1", ylabel="feature 2", ylim=(X[:, 1].min(), X[:, 1].max()),
           title="Decision boundaries at p = 0.5")
    ax.legend(fontsize=8, loc="lower right")
    ax2.set(xlabel="gradient-descent step", ylabel="training focal loss (your focal_loss)",
            title="Learning curve")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig
