"""Metrics that judge predicted probabilities rather than train a model: calibration (chapter 5).

``from lossutils import metrics``. NumPy in, NumPy out; the argument checks are the losses'.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["calibration"]


def calibration(probs, labels, *, n_bins=10):
    """Reliability of predicted probabilities: confidence against accuracy, and the ECE.

    The confidence of a prediction is its largest probability, ``c_i = max_k p_ik``; the prediction
    is correct when that class is the label. Confidences fall into ``n_bins`` equal-width bins,
    ``((b - 1) / n_bins, b / n_bins]``; in bin ``b`` holding ``n_b`` of the ``N`` predictions,
    ``conf_b`` is their mean confidence and ``acc_b`` the fraction that is correct. The expected
    calibration error (Guo et al. 2017) is ``ECE = sum_b (n_b / N) |acc_b - conf_b|``: 0 when the
    answers given with 80% confidence are right 80% of the time (and so on for every bin), larger
    when confidence and accuracy part. Chapters 5 (label smoothing), 6 (cross-entropy against
    MSE) and 11 (language models) use it; a reliability diagram plots ``accuracy`` against
    ``confidence``.

    Shapes: ``probs`` (N, C), rows of class probabilities (softmax outputs; for a binary model pass
    ``np.c_[1 - p, p]``); ``labels`` (N,) integer class indices.
    Returns a dict: ``confidence``, ``accuracy`` and ``share`` (each (n_bins,); NaN confidence and
    accuracy in empty bins, ``share = n_b / N``) and ``ece`` (a float).
    """
    fn = "metrics.calibration"
    p = _checks.as_float(fn, "probs", probs)
    y = _checks.as_class_index(fn, "labels", labels)
    n_bins = _checks.count(fn, "n_bins", n_bins, 1)
    if p.ndim != 2 or p.shape[0] == 0:
        _checks.fail(fn, "probs", f"has shape {p.shape}", "a non-empty (N, C) array of rows of "
                     "class probabilities", "pass softmax(logits, dim=1); for one binary "
                     "probability per example pass np.c_[1 - p, p]")
    if y.shape != (p.shape[0],):
        _checks.fail(fn, "labels", f"has shape {y.shape}", f"({p.shape[0]},), one class index per "
                     "row of probs", "pass integer labels of shape (N,), e.g. y.reshape(-1)")
    _checks.probabilities(fn, "probs", p)
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        _checks.fail(fn, "probs", "has rows that do not sum to 1", "rows of class probabilities",
                     "apply softmax to logits first (rows of probabilities sum to 1)")
    if y.min() < 0 or y.max() >= p.shape[1]:
        _checks.fail(fn, "labels", f"has values in [{y.min()}, {y.max()}]",
                     f"class indices in [0, {p.shape[1] - 1}]", "map labels to 0 .. C - 1")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    bin_of = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(bin_of, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty bins give NaN, as documented
        conf = np.bincount(bin_of, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(bin_of, weights=correct, minlength=n_bins) / count
    share = count / y.size
    ece = float(np.sum(share[count > 0] * np.abs(acc[count > 0] - conf[count > 0])))
    return {"confidence": conf, "accuracy": acc, "share": share, "ece": ece}
