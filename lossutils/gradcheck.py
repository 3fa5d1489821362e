"""Central finite differences, to check an analytic gradient (chapters 3 to 5).

``numerical_grad(f, x)`` approximates d f / d x for a scalar function ``f`` of an array ``x`` with
``(f(x + h e_i) - f(x - h e_i)) / (2h)`` per element, in float64. Its error is O(h^2)
away from kinks; at a kink (|r| = delta for Huber, r = 0 for L1) the two sides disagree and no
finite difference is meaningful, so compare away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_grad", "relative_error"]


def numerical_grad(f: Callable[[np.ndarray], float], x, *, h: float = 1e-6) -> np.ndarray:
    """Gradient of scalar ``f`` at ``x`` by central differences; same shape as ``x``."""
    x = np.array(x, dtype=np.float64)  # a private copy: x is perturbed in place below
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = float(f(x))
        flat[i] = old - h
        down = float(f(x))
        flat[i] = old
        gflat[i] = (up - down) / (2.0 * h)
    return grad


def relative_error(a, b, *, floor: float = 1e-12) -> float:
    """``max |a - b| / max(|a| + |b|, floor)``: below 1e-7 is a match, above 1e-2 a bug."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor), initial=0.0))
