"""Plausible wrong answers for the huber assignment (see tests/grader/mutants/__init__.py)."""

_R = "    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)\n    a = np.abs(r)\n"


def _loss(body: str) -> str:
    return f"def huber_loss(pred, target, delta=1.0):\n{_R}{body}\n"


def _grad(body: str) -> str:
    return f"def huber_grad(pred, target, delta=1.0):\n{_R}{body}\n"


MUTANTS = {
    "huber_loss": {
        "sum instead of mean":
            _loss("    return np.sum(np.where(a <= delta, 0.5 * r**2, delta * (a - delta / 2)))"),
        "missing 0.5 in the quadratic zone":
            _loss("    return np.mean(np.where(a <= delta, r**2, delta * (a - delta / 2)))"),
        "delta**2 instead of delta / 2 in the linear zone":
            _loss("    return np.mean(np.where(a <= delta, 0.5 * r**2, delta * (a - delta**2)))"),
        "smooth-L1 scaling (divided by delta)":
            _loss("    return np.mean(np.where(a <= delta, 0.5 * r**2 / delta, a - delta / 2))"),
        "squared clipping 0.5 * min(|r|, delta)**2":
            _loss("    return np.mean(0.5 * np.minimum(a, delta) ** 2)"),
        "linear zone without the - delta / 2 offset":
            _loss("    return np.mean(np.where(a <= delta, 0.5 * r**2, delta * a))"),
        "mean over the first axis only":
            _loss("    return np.mean(np.where(a <= delta, 0.5 * r**2, delta * (a - delta / 2)),"
                  " axis=0)"),
        "no reduction (per-element loss)":
            _loss("    return np.where(a <= delta, 0.5 * r**2, delta * (a - delta / 2))"),
        "sum divided by the number of rows":
            _loss("    per = np.where(a <= delta, 0.5 * r**2, delta * (a - delta / 2))\n"
                  "    return per.sum() / len(per)"),
        "no clipping (half MSE)":
            _loss("    return np.mean(0.5 * r**2)"),
        "threshold on r instead of |r|":
            _loss("    return np.mean(np.where(r <= delta, 0.5 * r**2, delta * (a - delta / 2)))"),
        "zones swapped":
            _loss("    return np.mean(np.where(a > delta, 0.5 * r**2, delta * (a - delta / 2)))"),
        "delta ignored (always 1)":
            _loss("    return np.mean(np.where(a <= 1.0, 0.5 * r**2, a - 0.5))"),
        "mean absolute error":
            _loss("    return np.mean(a)"),
    },
    "huber_grad": {
        "not divided by n":
            _grad("    return np.clip(r, -delta, delta)"),
        "divided by the number of rows":
            _grad("    return np.clip(r, -delta, delta) / len(r)"),
        "wrong direction (target - pred)":
            _grad("    return np.clip(-r, -delta, delta) / r.size"),
        "clipped at 1 instead of delta":
            _grad("    return np.clip(r, -1.0, 1.0) / r.size"),
        "no clipping (MSE / 2 gradient)":
            _grad("    return r / r.size"),
        "2 r in the quadratic zone":
            _grad("    return np.where(a <= delta, 2 * r, delta * np.sign(r)) / r.size"),
        "smooth-L1 gradient (divided by delta)":
            _grad("    return np.clip(r / delta, -1.0, 1.0) / r.size"),
        "L1 gradient sign(r)":
            _grad("    return np.sign(r) / r.size"),
        "zero outside the threshold":
            _grad("    return np.where(a <= delta, r, 0.0) / r.size"),
        "clipped at delta**2":
            _grad("    return np.clip(r, -delta**2, delta**2) / r.size"),
        "reduced to one number":
            _grad("    return float(np.mean(np.clip(r, -delta, delta)))"),
        "clipped at delta / 2":
            _grad("    return np.clip(r, -delta / 2, delta / 2) / r.size"),
        "threshold on r instead of |r|":
            _grad("    return np.where(r <= delta, r, delta) / r.size"),
        "sign lost in the linear zone":
            _grad("    return np.where(a <= delta, r, delta) / r.size"),
    },
}
