"""Honest Python is graded as Python: every way of binding a graded name in the answer cells that
Run All would honour gets the marks a ``def`` gets. The attack twin binds the name only in a cell
that is not an answer cell, which Run All would also run but grading does not: it earns what the
answer cells earn (the stub's nothing) and is flagged."""

from ._answers import CORRECT_GRAD, CORRECT_LOSS, both
from .build import Case

CAT = "honest-styles"

_ASSIGNED = (CORRECT_LOSS.replace("def huber_loss(", "def mean_huber(")
             + "\n\nhuber_loss = mean_huber\n")

_LAMBDA = '''import numpy as np

_r = lambda p, t: np.asarray(p, dtype=float) - np.asarray(t, dtype=float)  # noqa: E731
huber_loss = lambda pred, target, delta=1.0: float(np.mean(np.where(  # noqa: E731
    np.abs(_r(pred, target)) <= delta, 0.5 * _r(pred, target) ** 2,
    delta * (np.abs(_r(pred, target)) - 0.5 * delta))))
'''

_CALLABLE = '''import numpy as np


class Huber:
    """The loss as an object with its default threshold."""

    def __init__(self, delta=1.0):
        self.delta = delta

    def __call__(self, pred, target, delta=None):
        delta = self.delta if delta is None else delta
        r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
        a = np.abs(r)
        return float(np.mean(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))


huber_loss = Huber()
'''

_EXEC = '''import numpy as np

TEMPLATE = """
def {name}(pred, target, delta=1.0):
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    return np.clip(r, -delta, delta) / r.size
"""
exec(TEMPLATE.format(name="huber_grad"))
'''

_GLOBALS = '''import numpy as np


def _make_grad():
    def grad(pred, target, delta=1.0):
        r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
        return np.clip(r, -delta, delta) / r.size
    return grad


globals()["huber_grad"] = _make_grad()
'''

_DECORATED = '''import functools

import numpy as np


def as_float_arrays(fn):
    @functools.wraps(fn)
    def wrapper(pred, target, *args, **kwargs):
        return fn(np.asarray(pred, dtype=float), np.asarray(target, dtype=float), *args, **kwargs)
    return wrapper


@as_float_arrays
def huber_loss(pred, target, delta=1.0):
    a = np.abs(pred - target)
    display(a.shape)  # shows the shape in the notebook; printed while grading
    return float(np.mean(np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))))
'''

_PARTIAL = '''import functools

import numpy as np


def clipped_residual(pred, target, delta=1.0, scale=1.0):
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    return scale * np.clip(r, -delta, delta) / r.size


huber_grad = functools.partial(clipped_residual, scale=1.0)
'''

_ONLY_OUTSIDE = "huber_loss = lambda pred, target, delta=1.0: 0.0  # noqa: E731\n"

CASES = [
    Case("style_assigned", CAT, "huber_loss = mean_huber", both(_ASSIGNED, CORRECT_GRAD)),
    Case("style_lambda", CAT, "huber_loss as a lambda", both(_LAMBDA, CORRECT_GRAD)),
    Case("style_callable", CAT, "huber_loss as a callable object", both(_CALLABLE, CORRECT_GRAD)),
    Case("style_exec", CAT, "huber_grad from exec of a template", both(CORRECT_LOSS, _EXEC)),
    Case("style_globals", CAT, "huber_grad registered in globals()", both(CORRECT_LOSS, _GLOBALS)),
    Case("style_decorated", CAT, "a decorated huber_loss that calls display()",
         both(_DECORATED, CORRECT_GRAD)),
    Case("style_partial", CAT, "huber_grad = functools.partial(...)",
         both(CORRECT_LOSS, _PARTIAL)),
    Case("style_zz_outside", CAT, "the answer cell keeps the stub, another cell binds the name",
         {"huber_grad": CORRECT_GRAD},
         expect=frozenset({"test_grad_quadratic", "test_grad_clipped", "test_grad_boundary",
                           "test_grad_scaling", "test_experiment"}),
         extra_cells=[("huber_loss", _ONLY_OUTSIDE)], review=True,
         note_codes=("extra-definition",)),
]
