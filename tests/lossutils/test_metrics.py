"""lossutils.metrics.calibration: the reliability bins and the ECE, worked by hand and at the
extremes, and clear errors for bad input."""

import re

import numpy as np
import pytest

from lossutils import metrics


def test_calibration_bins_and_ece_by_hand():
    # Four predictions: two at confidence 0.9 (one right, one wrong) and two at 0.6 (both right).
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 0, 0, 1])
    cal = metrics.calibration(probs, labels, n_bins=10)
    assert cal["share"][8] == 0.5 and cal["share"][5] == 0.5 and cal["share"].sum() == 1.0
    np.testing.assert_allclose(cal["confidence"][[5, 8]], [0.6, 0.9])
    np.testing.assert_allclose(cal["accuracy"][[5, 8]], [1.0, 0.5])
    assert np.isnan(cal["accuracy"][0]) and np.isnan(cal["confidence"][9])
    np.testing.assert_allclose(cal["ece"], 0.5 * 0.4 + 0.5 * 0.4)


def test_calibration_extremes():
    rng = np.random.default_rng(0)
    # Calibrated by construction: labels drawn from the predicted probabilities, many samples.
    p1 = rng.uniform(0.5, 1.0, size=200_000)
    y = (rng.uniform(size=p1.size) < p1).astype(np.int64)
    assert metrics.calibration(np.c_[1 - p1, p1], y)["ece"] < 0.01
    # Certain and always wrong: the largest possible error, 1; certain and right: 0.
    sure = np.tile([1.0, 0.0, 0.0], (5, 1))
    assert metrics.calibration(sure, np.ones(5, dtype=np.int64))["ece"] == 1.0
    assert metrics.calibration(sure, np.zeros(5, dtype=np.int64))["ece"] == 0.0
    # A confidence of exactly 1 belongs to the last bin, 0.1 to the first (right-closed bins).
    assert metrics.calibration(sure, np.zeros(5, dtype=np.int64))["share"][9] == 1.0
    cal = metrics.calibration(np.array([[0.1] * 10]), np.array([3]), n_bins=10)
    assert cal["share"][0] == 1.0


@pytest.mark.parametrize("probs, labels, n_bins, message", [
    (np.array([0.2, 0.8]), np.array([1]), 10, "probs has shape (2,)"),
    (np.array([[0.2, 0.8]]), np.array([[1]]), 10, "labels has shape (1, 1)"),
    (np.array([[2.0, -1.0]]), np.array([0]), 10, "probabilities in [0, 1]"),
    (np.array([[0.2, 0.7]]), np.array([0]), 10, "do not sum to 1"),
    (np.array([[0.2, 0.8]]), np.array([2]), 10, "class indices in [0, 1]"),
    (np.array([[0.2, 0.8]]), np.array([1.0]), 10, "integer class indices"),
    (np.array([[0.2, 0.8]]), np.array([1]), 0, "n_bins is 0"),
])
def test_calibration_rejects_bad_input(probs, labels, n_bins, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        metrics.calibration(probs, labels, n_bins=n_bins)

