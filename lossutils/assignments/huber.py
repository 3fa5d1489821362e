"""Checks and experiment for the ``huber`` assignment (chapter 3, regression).

The student writes, with NumPy only,

* ``huber_loss(pred, target, delta=1.0)``: the mean over all elements of ``0.5 r^2`` where
  ``|r| <= delta`` and ``delta (|r| - delta / 2)`` elsewhere, ``r = pred - target``;
* ``huber_grad(pred, target, delta=1.0)``: the gradient of that mean w.r.t. ``pred``, i.e.
  ``clip(r, -delta, delta) / n``, same shape as ``pred``.

Each check below tests one property on fixed inputs and raises ``AssertionError`` saying what
failed on which input: these are the visible tests of the student notebook. Expected values come
from :func:`lossutils.huber_loss` / :func:`lossutils.huber_loss_grad` (reduction "mean") and a
few numbers worked out by hand.
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..regression import huber_loss as _ref_loss
from ..regression import huber_loss_grad as _ref_grad
from ._expect import call, expect_close, expect_scalar, expect_shape, expect_true, under_nbgrader
from ._grading import course_reference

__all__ = [
    "loss_quadratic_zone", "loss_linear_zone", "loss_boundary", "loss_reduction",
    "grad_quadratic_zone", "grad_clipped_zone", "grad_boundary", "grad_mean_scaling",
    "experiment", "check_training", "check_experiment", "plot_experiment",
]

_LOSS = "huber_loss"
_GRAD = "huber_grad"

# The course's reference for each graded function: what the checks compare with, and what the
# site must never print (tests/browser/test_site_teaching.py).
REFERENCES = {_LOSS: (_ref_loss,), _GRAD: (_ref_grad,)}


@course_reference
def _want_loss(pred, target, delta):
    return _ref_loss(pred, target, delta=delta, reduction="mean")


@course_reference
def _want_grad(pred, target, delta):
    return _ref_grad(pred, target, delta=delta, reduction="mean")


def _check_loss(huber_loss, what, pred, target, delta, want=None):
    inputs = {"pred": pred, "target": target, "delta": delta}
    got = call(huber_loss, pred, target, delta=delta)
    expect_close(got, _want_loss(pred, target, delta) if want is None else want,
                 f"{_LOSS}, {what}", inputs)


def _check_grad(huber_grad, what, pred, target, delta, want=None):
    inputs = {"pred": pred, "target": target, "delta": delta}
    got = call(huber_grad, pred, target, delta=delta)
    expect_close(got, _want_grad(pred, target, delta) if want is None else want,
                 f"{_GRAD}, {what}", inputs)


def _residual_cases(g, lo, hi, delta, n=None, shape=None):
    """``(pred, target)`` whose residuals have ``lo * delta <= |r| <= hi * delta``, random signs."""
    shape = shape or (int(g.integers(3, 9)) if n is None else n,)
    r = g.uniform(lo, hi, size=shape) * delta * g.choice([-1.0, 1.0], size=shape)
    target = g.normal(size=shape)
    return target + r, target


# ---- huber_loss ---------------------------------------------------------------------------------

def loss_quadratic_zone(huber_loss):
    """Where every ``|r| <= delta`` the loss is the mean of ``0.5 r^2``, with no ``/ delta``."""
    what = "quadratic zone (|r| <= delta, loss 0.5 * r**2)"
    pred, target = np.array([0.5, -0.3, 0.2, 0.9]), np.array([0.0, 0.1, 0.2, 0.0])
    _check_loss(huber_loss, what, pred, target, 1.0, want=0.1525)  # (0.125+0.08+0+0.405)/4
    _check_loss(huber_loss, what, np.array([1.5, -1.8]), np.zeros(2), 2.0, want=1.3725)


def loss_linear_zone(huber_loss):
    """Where every ``|r| > delta`` the loss is the mean of ``delta (|r| - delta / 2)``."""
    what = "linear zone (|r| > delta, loss delta * (|r| - delta / 2))"
    _check_loss(huber_loss, what, np.array([3.0, -2.0]), np.zeros(2), 1.0, want=2.0)
    _check_loss(huber_loss, what, np.array([3.0, -5.0]), np.zeros(2), 2.0, want=6.0)
    _check_loss(huber_loss, what, np.array([1.0, 2.0]), np.array([-1.0, 4.5]), 0.3,
                want=0.3 * ((2.0 - 0.15) + (2.5 - 0.15)) / 2)


def loss_boundary(huber_loss):
    """At ``|r| = delta`` both formulas give ``delta^2 / 2``; a zero residual costs 0."""
    what = "boundary |r| = delta (loss delta**2 / 2) and zero residual (loss 0)"
    _check_loss(huber_loss, what, np.array([1.5, -1.5, 0.0]), np.zeros(3), 1.5, want=0.75)
    _check_loss(huber_loss, what, np.array([2.0, -3.0]), np.array([2.0, -3.0]), 1.0, want=0.0)


def loss_reduction(huber_loss):
    """One number, the mean over *all* elements (not the sum, not per row, not per element)."""
    what = "reduction (a single number: the mean over all elements)"
    pred = np.array([[0.5, 3.0, -0.2, 0.0], [-2.5, 0.1, 1.0, 4.0], [0.3, -0.7, 2.2, -1.1]])
    target = np.zeros((3, 4))
    inputs = {"pred": pred, "target": target, "delta": 1.0}
    got = call(huber_loss, pred, target, delta=1.0)
    expect_scalar(got, f"{_LOSS}, {what}", inputs)
    _check_loss(huber_loss, what, pred, target, 1.0)
    _check_loss(huber_loss, what, np.array([0.5]), np.array([0.0]), 1.0, want=0.125)


# ---- huber_grad ---------------------------------------------------------------------------------

def grad_quadratic_zone(huber_grad):
    """Where ``|r| <= delta`` the gradient of the mean is ``r / n``."""
    what = "gradient in the quadratic zone (|r| <= delta: r / n)"
    pred, target = np.array([0.5, -0.3, 0.2, 0.9]), np.array([0.0, 0.1, 0.2, 0.0])
    _check_grad(huber_grad, what, pred, target, 1.0, want=[0.125, -0.1, 0.0, 0.225])
    _check_grad(huber_grad, what, np.array([1.5, -1.8]), np.zeros(2), 2.0, want=[0.75, -0.9])


def grad_clipped_zone(huber_grad):
    """Where ``|r| > delta`` the gradient is clipped to ``delta * sign(r) / n``."""
    what = "gradient in the linear zone (|r| > delta: delta * sign(r) / n)"
    _check_grad(huber_grad, what, np.array([3.0, -2.0]), np.zeros(2), 1.0, want=[0.5, -0.5])
    _check_grad(huber_grad, what, np.array([3.0, -5.0, 10.0, -0.5]), np.zeros(4), 0.25,
                want=[0.0625, -0.0625, 0.0625, -0.0625])


def grad_boundary(huber_grad):
    """At ``|r| = delta`` both sides agree on ``delta * sign(r) / n``; at ``r = 0`` it is 0."""
    what = "gradient at |r| = delta (delta * sign(r) / n) and at r = 0 (0)"
    _check_grad(huber_grad, what, np.array([1.5, -1.5, 0.0]), np.zeros(3), 1.5,
                want=[0.5, -0.5, 0.0])


def grad_mean_scaling(huber_grad):
    """Same shape as ``pred``, divided by the number of *elements* (of the mean being derived)."""
    what = "gradient shape and scaling (same shape as pred, divided by the number of elements)"
    pred = np.array([[0.5, 3.0, -0.2, 0.0], [-2.5, 0.1, 1.0, 4.0], [0.3, -0.7, 2.2, -1.1]])
    target = np.zeros((3, 4))
    inputs = {"pred": pred, "target": target, "delta": 1.0}
    expect_shape(call(huber_grad, pred, target, delta=1.0), (3, 4), f"{_GRAD}, {what}", inputs)
    _check_grad(huber_grad, what, pred, target, 1.0)
    _check_grad(huber_grad, what, np.array([0.5]), np.array([0.0]), 1.0, want=[0.5])


# ---- experiment: Huber vs MSE on a sine with outliers -------------------------------------------

DEGREE = 7
STEPS = 150
LOG_EVERY = 10


def _features(x):
    """Legendre polynomials of ``x`` rescaled from [0, 2 pi] to [-1, 1]: a well-conditioned basis,
    so plain gradient descent converges in a few hundred steps."""
    return np.polynomial.legendre.legvander(x / np.pi - 1.0, DEGREE)


def experiment(huber_loss, huber_grad, delta=1.0, seed=0, steps=STEPS):
    """Fit a degree-7 polynomial to ``sin(x)`` with 5% outlier targets, with Huber and with MSE.

    Both fits run ``steps`` steps of gradient descent from zero weights; the Huber fit uses the
    student's ``huber_grad`` (chain rule: ``dL/dw = Phi^T huber_grad(Phi w, y)``), the MSE fit the
    gradient ``2 r / n`` of the mean squared error. The step size is ``1 / L`` (``1 / 2L`` for MSE)
    with ``L`` the largest eigenvalue of ``Phi^T Phi / n``, which bounds the curvature of both
    losses. The student's ``huber_loss`` is logged every ``LOG_EVERY`` steps for the learning
    curve. Errors are measured against the *clean* curve ``sin(x)`` on a dense test grid.

    Returns a dict with the data, both fitted curves, the Huber learning curve and the test mean
    squared errors ``test_mse_huber`` and ``test_mse_mse``. About ``steps * 1.1`` calls of the
    student's functions, well under a second.
    """
    x, y, outlier = data.sine_with_outliers(n=100, outlier_fraction=0.05, seed=seed,
                                            return_outliers=True)
    phi = _features(x)
    n = len(x)
    lipschitz = float(np.linalg.eigvalsh(phi.T @ phi / n).max())
    w_huber = np.zeros(phi.shape[1])
    w_mse = np.zeros(phi.shape[1])
    curve = []
    with np.errstate(all="ignore"):
        for step in range(steps):
            pred = phi @ w_huber
            if step % LOG_EVERY == 0:
                curve.append(expect_scalar(call(huber_loss, pred, y, delta=delta),
                                           f"{_LOSS} during the experiment", {"step": step}))
            g = expect_shape(call(huber_grad, pred, y, delta=delta), (n,),
                             f"{_GRAD} during the experiment", {"step": step})
            w_huber = w_huber - (phi.T @ g) / lipschitz
            w_mse = w_mse - (phi.T @ (2.0 * (phi @ w_mse - y) / n)) / (2.0 * lipschitz)
        curve.append(expect_scalar(call(huber_loss, phi @ w_huber, y, delta=delta),
                                   f"{_LOSS} during the experiment", {"step": steps}))
        x_test = np.linspace(0.0, 2.0 * np.pi, 200)
        phi_test = _features(x_test)
        fit_huber, fit_mse = phi_test @ w_huber, phi_test @ w_mse
        return {
            "x": x, "y": y, "outlier": outlier, "x_test": x_test, "y_test": np.sin(x_test),
            "fit_huber": fit_huber, "fit_mse": fit_mse, "curve": np.array(curve),
            "curve_steps": np.array([*range(0, steps, LOG_EVERY), steps]), "delta": delta,
            "test_mse_huber": float(np.mean((fit_huber - np.sin(x_test)) ** 2)),
            "test_mse_mse": float(np.mean((fit_mse - np.sin(x_test)) ** 2)),
        }


def check_training(huber_grad, seed):
    """Trained with the student's gradient on data set ``seed``, the Huber fit is the one the
    reference gradient gives; returns the experiment's result.

    Only ``huber_grad`` is judged: the training loss is logged with the course's reference loss
    (a mistake in ``huber_loss`` costs the points of its own tests, not these). Requirements:
    the Huber training loss falls steadily, and the Huber fit's test error equals, to 1e-6
    relative, the error reached on the same data with the reference gradient
    (``lossutils.huber_loss_grad``).
    """
    what = "experiment (Huber vs MSE on sin(x) with 5% outliers)"
    inputs = {"data seed": seed, "delta": 1.0, "steps": STEPS}
    r = experiment(_want_loss, huber_grad, seed=seed)
    curve = r["curve"]
    if not np.all(np.isfinite(curve)):
        expect_true(False, what, f"the training loss became {curve[~np.isfinite(curve)][0]}",
                    inputs, hint="does huber_grad divide by the number of elements?")
    steady = bool(np.all(np.diff(curve) <= 1e-12 * max(1.0, abs(curve[0]))))
    expect_true(steady and curve[-1] < 0.9 * curve[0], what,
                f"trained with your huber_grad, the Huber training loss should fall steadily, "
                f"but went {np.round(curve, 5)}", inputs,
                hint="huber_grad should be the gradient of the mean Huber loss")
    h, m = r["test_mse_huber"], r["test_mse_mse"]
    ref = experiment(_want_loss, _want_grad, seed=seed)["test_mse_huber"]
    expect_true(np.isfinite(h) and abs(h - ref) <= 1e-12 + 1e-6 * ref, what,
                f"test error of the Huber fit {h:.6g}, but training with the correct gradient "
                f"reaches {ref:.6g} on the same data (MSE fit: {m:.4g})", inputs,
                hint="check huber_grad")
    return r


def check_experiment(huber_loss, huber_grad):
    """:func:`check_training` on the notebook's data set, and the lesson: the Huber fit's test
    error is below 0.05 and at most half of the MSE fit's. (``huber_loss`` only draws the
    notebook's learning curve; the points judge ``huber_grad``.)"""
    del huber_loss  # the test cell passes both, as the experiment cell does
    r = check_training(huber_grad, seed=0)
    h, m = r["test_mse_huber"], r["test_mse_mse"]
    expect_true(h < 0.05 and h <= 0.5 * m, "experiment (Huber vs MSE on sin(x) with 5% outliers)",
                f"test error of the Huber fit {h:.4g} vs MSE fit {m:.4g}; expected the Huber "
                "fit below 0.05 and at most half the MSE error",
                {"data seed": 0, "delta": 1.0, "steps": STEPS})


def plot_experiment(result):
    """Data, both fits and the Huber learning curve, side by side (a matplotlib figure; None
    while nbgrader validates or autogrades, see :func:`._common.under_nbgrader`)."""
    if under_nbgrader():
        return None
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    r = result
    ax.scatter(r["x"][~r["outlier"]], r["y"][~r["outlier"]], s=10, color="0.5", label="data")
    ax.scatter(r["x"][r["outlier"]], r["y"][r["outlier"]], s=30, marker="x", color="crimson",
               label="outliers")
    ax.plot(r["x_test"], r["y_test"], "k:", label="sin(x)")
    ax.plot(r["x_test"], r["fit_mse"], color="tab:orange",
            label=f"MSE fit (test MSE {r['test_mse_mse']:.3f})")
    ax.plot(r["x_test"], r["fit_huber"], color="tab:blue",
            label=f"Huber fit, delta={r['delta']} (test MSE {r['test_mse_huber']:.3f})")
    # headroom above the outliers for the legend
    ax.set(xlabel="x", ylabel="y", title="Fitting sin(x) with 5% outliers",
           ylim=(min(r["y"].min(), -1.2) - 0.3, r["y"].max() + 4.5))
    ax.legend(fontsize=8, loc="upper right")
    ax2.plot(r["curve_steps"], r["curve"], marker="o", color="tab:blue")
    ax2.set(xlabel="gradient-descent step", ylabel="training Huber loss (your huber_loss)",
            title="Learning curve")
    fig.tight_layout()
    return fig
