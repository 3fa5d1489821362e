"""Small seeded data sets used by the chapters, the assignments and the tests.

Pure NumPy. Every generator that draws random numbers takes ``seed`` and builds its own
``np.random.default_rng(seed)``, so the same call gives the same arrays on every machine and never
touches global random state. Import as ``from lossutils import data`` (not re-exported at the top
level: these are data sets, not losses).
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = [
    "circles", "imbalanced_blobs", "sine_with_outliers", "house_prices", "bimodal_distribution",
    "clustered_embeddings",
]


def _fraction(fn: str, arg: str, value: object, n: int) -> int:
    """Turn a fraction of ``n`` into a count, keeping at least one item on each side."""
    v = _checks.positive(fn, arg, value)  # type: ignore[arg-type]
    if v >= 1:
        _checks.fail(fn, arg, f"is {value!r}", "a fraction in (0, 1)", f"pass e.g. {arg}=0.1")
    return int(min(max(round(v * n), 1), n - 1))


def circles(*, n=200, noise=0.1, factor=0.5, seed=0):
    """Two concentric noisy circles: a data set no straight line separates (chapter 6).

    Points ``r (cos t, sin t) + noise * N(0, I)`` with ``t ~ U[0, 2 pi)``; the outer circle has
    radius 1 and label 0, the inner one radius ``factor`` and label 1 (``n // 2`` outer points).

    Returns ``X`` of shape (n, 2), float64, and ``y`` of shape (n,), int64, in shuffled order.
    """
    fn = "data.circles"
    n = _checks.count(fn, "n", n, 2)
    noise = _checks.positive(fn, "noise", noise, allow_zero=True)
    factor = _checks.positive(fn, "factor", factor)
    if factor >= 1:
        _checks.fail(fn, "factor", f"is {factor!r}", "a radius ratio in (0, 1)",
                     "pass e.g. factor=0.5 (inner radius / outer radius)")
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    y = np.r_[np.zeros(n_outer, dtype=np.int64), np.ones(n - n_outer, dtype=np.int64)]
    radius = np.where(y == 0, 1.0, factor)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    X = radius[:, None] * np.c_[np.cos(angle), np.sin(angle)] + noise * rng.normal(size=(n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


def imbalanced_blobs(*, n=1000, minority_fraction=0.1, distance=2.0, seed=0):
    """Two overlapping Gaussian blobs with a rare positive class, 90/10 by default (chapter 7).

    Majority (label 0) ~ N((0, 0), I); minority (label 1) ~ N((d, d) / sqrt(2), I), so the centres
    are ``distance`` apart. Exactly ``round(minority_fraction * n)`` points are positive, which is
    what makes "always predict 0" score ``1 - minority_fraction`` accuracy.

    Returns ``X`` of shape (n, 2), float64, and ``y`` of shape (n,), int64, in shuffled order.
    """
    fn = "data.imbalanced_blobs"
    n = _checks.count(fn, "n", n, 2)
    n_pos = _fraction(fn, "minority_fraction", minority_fraction, n)
    distance = _checks.positive(fn, "distance", distance, allow_zero=True)
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n - n_pos, dtype=np.int64), np.ones(n_pos, dtype=np.int64)]
    centre = np.full(2, distance / np.sqrt(2.0))
    X = rng.normal(size=(n, 2)) + y[:, None] * centre
    order = rng.permutation(n)
    return X[order], y[order]


def sine_with_outliers(*, n=100, outlier_fraction=0.05, noise=0.1, outlier_shift=5.0, seed=0,
                       return_outliers=False):
    """``y = sin(x) + noise``, with a few points pushed far upward (chapter 3, Huber vs MSE).

    ``x ~ U[0, 2 pi]`` (sorted), ``y = sin(x) + noise * N(0, 1)``; ``round(outlier_fraction * n)``
    points chosen at random get ``+ outlier_shift + U[-1, 1]`` on top, all on the same side, so a
    squared loss is visibly dragged toward them while an absolute or Huber loss is not.

    Returns ``x`` (n,) and ``y`` (n,), float64; with ``return_outliers=True`` also a boolean mask
    ``is_outlier`` (n,).
    """
    fn = "data.sine_with_outliers"
    n = _checks.count(fn, "n", n, 2)
    n_out = _fraction(fn, "outlier_fraction", outlier_fraction, n)
    noise = _checks.positive(fn, "noise", noise, allow_zero=True)
    shift = _checks.positive(fn, "outlier_shift", outlier_shift)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 2.0 * np.pi, size=n))
    y = np.sin(x) + noise * rng.normal(size=n)
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[rng.choice(n, size=n_out, replace=False)] = True
    y[is_outlier] += shift + rng.uniform(-1.0, 1.0, size=n_out)
    return (x, y, is_outlier) if return_outliers else (x, y)


def house_prices(*, n=20, noise=10.0, outlier_error=200.0, seed=0, return_outliers=False):
    """House sizes and prices with one listing far off the trend (chapter 3, the outlier story).

    ``size ~ U[60, 200]`` square metres; ``price = 50 + 2 * size + noise * N(0, 1)`` in thousands
    of dollars, so an ordinary house sits about $10k from the line. One house, chosen at random,
    is ``outlier_error`` ($200k) above it: squared, that single error counts
    ``(200 / 10)^2 = 400`` times as much as a typical one.

    Returns ``size`` (n,) and ``price`` (n,), float64 (price in $1000s); with
    ``return_outliers=True`` also a boolean mask ``is_outlier`` (n,) with exactly one True.
    """
    fn = "data.house_prices"
    n = _checks.count(fn, "n", n, 2)
    noise = _checks.positive(fn, "noise", noise, allow_zero=True)
    outlier_error = _checks.positive(fn, "outlier_error", outlier_error)
    rng = np.random.default_rng(seed)
    size = np.round(rng.uniform(60.0, 200.0, size=n))
    price = 50.0 + 2.0 * size + noise * rng.normal(size=n)
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[rng.integers(n)] = True
    price[is_outlier] += outlier_error
    return (size, price, is_outlier) if return_outliers else (size, price)


def bimodal_distribution(*, K=20, modes=(0.25, 0.75), width=0.08, weights=(0.5, 0.5)):
    """A discrete two-peaked distribution over ``K`` bins (chapter 8, forward vs reverse KL).

    Bin ``k`` sits at ``c_k = (k + 0.5) / K`` in [0, 1];
    ``p_k ∝ sum_i w_i exp(-(c_k - m_i)^2 / (2 width^2))`` over the modes ``m_i``, then normalised.
    No randomness: the same arguments always give the same vector.

    Returns ``p`` of shape (K,), float64, non-negative, summing to 1.
    """
    fn = "data.bimodal_distribution"
    K = _checks.count(fn, "K", K, 4)
    width = _checks.positive(fn, "width", width)
    m = np.asarray(modes, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if m.shape != (2,) or w.shape != (2,) or (w <= 0).any():
        _checks.fail(fn, "modes/weights", f"are {modes!r} / {weights!r}",
                     "two mode positions in [0, 1] and two positive weights",
                     "pass e.g. modes=(0.25, 0.75), weights=(0.5, 0.5)")
    centres = (np.arange(K) + 0.5) / K
    p = (w[None, :] * np.exp(-0.5 * ((centres[:, None] - m[None, :]) / width) ** 2)).sum(axis=1)
    return p / p.sum()


def clustered_embeddings(*, n_classes=5, per_class=20, dim=2, spread=0.3, seed=0):
    """Embeddings that form one Gaussian cluster per class (chapter 10, metric learning).

    Class centres are unit vectors (evenly spaced on the circle when ``dim == 2``, random
    directions otherwise); each point is ``centre + spread * N(0, I)``. A larger ``spread`` makes
    clusters overlap, which is when semi-hard mining has something to find.

    Returns ``embeddings`` (n_classes * per_class, dim), float64, and ``labels``
    (n_classes * per_class,), int64 with exactly ``per_class`` of each class, in shuffled order.
    """
    fn = "data.clustered_embeddings"
    n_classes = _checks.count(fn, "n_classes", n_classes, 1)
    per_class = _checks.count(fn, "per_class", per_class, 1)
    dim = _checks.count(fn, "dim", dim, 1)
    spread = _checks.positive(fn, "spread", spread, allow_zero=True)
    rng = np.random.default_rng(seed)
    if dim == 2:
        angle = 2.0 * np.pi * np.arange(n_classes) / n_classes
        centres = np.c_[np.cos(angle), np.sin(angle)]
    else:
        centres = rng.normal(size=(n_classes, dim))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), per_class)
    emb = centres[labels] + spread * rng.normal(size=(labels.size, dim))
    order = rng.permutation(labels.size)
    return emb[order], labels[order]
