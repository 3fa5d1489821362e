"""Plausible wrong answers for the focal assignment (see tests/grader/mutants/__init__.py)."""

# Shared set-up lines: stable -log p_t (ce), p_t, 1 - p_t (q), p and alpha_t.
_SETUP = """\
    x = np.asarray(logits, dtype=float)
    y = np.asarray(targets, dtype=float)
    ce = y * np.logaddexp(0.0, -x) + (1.0 - y) * np.logaddexp(0.0, x)
    p_t = np.exp(-ce)
    q = y * np.exp(-np.logaddexp(0.0, x)) + (1.0 - y) * np.exp(-np.logaddexp(0.0, -x))
    p = np.exp(-np.logaddexp(0.0, -x))
    a_t = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
"""


def _loss(body: str) -> str:
    return f"def focal_loss(logits, targets, alpha=0.25, gamma=2.0):\n{_SETUP}{body}\n"


def _grad(body: str) -> str:
    return f"def focal_loss_grad(logits, targets, alpha=0.25, gamma=2.0):\n{_SETUP}{body}\n"


_GOOD_GRAD = "(gamma * (1.0 - 2.0 * y) * p_t * ce + (p - y))"

MUTANTS = {
    "focal_loss": {
        "sum instead of mean":
            _loss("    return float(np.sum(a_t * q**gamma * ce))"),
        "alpha on the negatives (swapped)":
            _loss("    a_s = 1.0 if alpha is None else (1 - alpha) * y + alpha * (1 - y)\n"
                  "    return float(np.mean(a_s * q**gamma * ce))"),
        "alpha on every element":
            _loss("    a_s = 1.0 if alpha is None else alpha\n"
                  "    return float(np.mean(a_s * q**gamma * ce))"),
        "alpha ignored":
            _loss("    return float(np.mean(q**gamma * ce))"),
        "gamma applied to p_t instead of 1 - p_t":
            _loss("    return float(np.mean(a_t * p_t**gamma * ce))"),
        "gamma applied to 1 - p for every label":
            _loss("    return float(np.mean(a_t * (1 - p)**gamma * ce))"),
        "unstable log of sigmoid (inf/nan at +-100)":
            _loss("    s = 1 / (1 + np.exp(-x))\n"
                  "    bce = -(y * np.log(s) + (1 - y) * np.log(1 - s))\n"
                  "    pt = np.where(y == 1, s, 1 - s)\n"
                  "    return float(np.mean(a_t * (1 - pt)**gamma * bce))"),
        "probabilities clipped to [1e-7, 1 - 1e-7]":
            _loss("    s = np.clip(1 / (1 + np.exp(-x)), 1e-7, 1 - 1e-7)\n"
                  "    pt = np.where(y == 1, s, 1 - s)\n"
                  "    return float(np.mean(a_t * (1 - pt)**gamma * -np.log(pt)))"),
        "divided by the number of positives (RetinaNet)":
            _loss("    return float(np.sum(a_t * q**gamma * ce) / max(y.sum(), 1.0))"),
        "alpha=None read as alpha=1 (negatives dropped)":
            _loss("    a = 1.0 if alpha is None else alpha\n"
                  "    w = a * y + (1.0 - a) * (1.0 - y)\n"
                  "    return float(np.mean(w * q**gamma * ce))"),
        "gamma fixed at 2":
            _loss("    return float(np.mean(a_t * q**2 * ce))"),
        "sign flipped (negative loss)":
            _loss("    return float(np.mean(a_t * q**gamma * np.log(p_t)))"),
        "mean over the first axis only":
            _loss("    return np.mean(a_t * q**gamma * ce, axis=0)"),
    },
    "focal_loss_grad": {
        "not divided by n":
            _grad(f"    return a_t * q**gamma * {_GOOD_GRAD}"),
        "modulating factor treated as a constant":
            _grad("    return a_t * q**gamma * (p - y) / x.size"),
        "alpha on the negatives (swapped)":
            _grad("    a_s = 1.0 if alpha is None else (1 - alpha) * y + alpha * (1 - y)\n"
                  f"    return a_s * q**gamma * {_GOOD_GRAD} / x.size"),
        "wrong direction (sign flipped)":
            _grad(f"    return -a_t * q**gamma * {_GOOD_GRAD} / x.size"),
        "alpha on every element":
            _grad("    a_s = 1.0 if alpha is None else alpha\n"
                  f"    return a_s * q**gamma * {_GOOD_GRAD} / x.size"),
        "gamma applied to p_t instead of 1 - p_t":
            _grad("    return a_t * p_t**gamma * (-gamma * (1 - 2 * y) * q * ce + (p - y))"
                  " / x.size"),
        "unstable: 1 - p_t by subtraction, divided by it (nan at +-100)":
            _grad("    s = 1 / (1 + np.exp(-x))\n"
                  "    qq = 1 - np.where(y == 1, s, 1 - s)\n"
                  "    with np.errstate(all='ignore'):\n"
                  "        dq = gamma * qq**gamma / qq * (1 - 2 * y) * s * (1 - s)\n"
                  "    return a_t * (dq * ce + qq**gamma * (s - y)) / x.size"),
        "unstable: log of a saturated sigmoid (nan at +-100)":
            _grad("    s = 1 / (1 + np.exp(-x))\n"
                  "    pt = np.where(y == 1, s, 1 - s)\n"
                  "    with np.errstate(all='ignore'):\n"
                  "        bce = -np.log(pt)\n"
                  "    return a_t * (1 - pt)**gamma * (gamma * (1 - 2 * y) * pt * bce + (s - y))"
                  " / x.size"),
        "divided by the number of positives":
            _grad(f"    return a_t * q**gamma * {_GOOD_GRAD} / max(y.sum(), 1.0)"),
        "factor gamma missing in the product rule":
            _grad("    return a_t * q**gamma * ((1.0 - 2.0 * y) * p_t * ce + (p - y)) / x.size"),
        "wrong sign of the modulating term":
            _grad("    return a_t * q**gamma * (-gamma * (1.0 - 2.0 * y) * p_t * ce + (p - y))"
                  " / x.size"),
        "reduced to one number":
            _grad(f"    return float(np.mean(a_t * q**gamma * {_GOOD_GRAD}))"),
        "BCE gradient only":
            _grad("    return (p - y) / x.size"),
        "gradient of the loss without alpha":
            _grad(f"    return q**gamma * {_GOOD_GRAD} / x.size"),
    },
}
