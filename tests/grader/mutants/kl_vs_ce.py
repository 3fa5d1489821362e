"""Plausible wrong answers for the kl_vs_ce assignment (see tests/grader/mutants/__init__.py)."""

_P = "    p = np.asarray(p, dtype=float)\n"
_PQ = _P + "    q = np.asarray(q, dtype=float)\n"
_SAFE = "    lp = np.log(np.where(p > 0, p, 1.0))\n"
_SAFE_Q = "    lq = np.log(np.where(p > 0, q, 1.0))\n"


def _h(body: str) -> str:
    return f"def entropy(p):\n{_P}{body}\n"


def _ce(body: str) -> str:
    return f"def cross_entropy(p, q):\n{_PQ}{body}\n"


def _kl(body: str) -> str:
    return f"def kl_divergence(p, q):\n{_PQ}{body}\n"


# Stable softmax of the logits (q) and the targets (p), for the gradient mutants.
_Z = ("    z = np.asarray(logits, dtype=float)\n"
      "    p = np.asarray(p, dtype=float)\n"
      "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
      "    q = e / e.sum(axis=-1, keepdims=True)\n"
      "    n = z.shape[0]\n")


def _grad(name: str, body: str) -> str:
    return f"def {name}(logits, p):\n{_Z}{body}\n"


def _grad_mutants(name: str) -> dict[str, str]:
    """Wrong gradients that fit either function (CE and KL share the gradient)."""
    return {
        "sign flipped (p - softmax)": _grad(name, "    return (p - q) / n"),
        "sum over rows instead of mean (no 1/N)": _grad(name, "    return q - p"),
        "divided by N * K": _grad(name, "    return (q - p) / z.size"),
        "softmax without the max shift (overflow at 1000)":
            _grad(name, "    with np.errstate(all='ignore'):\n"
                        "        e = np.exp(z)\n"
                        "        return (e / e.sum(axis=-1, keepdims=True) - p) / n"),
        "logits clipped to +-50 before the softmax":
            _grad(name, "    c = np.exp(np.clip(z, -50, 50))\n"
                        "    return (c / c.sum(axis=-1, keepdims=True) - p) / n"),
        "softmax over the batch axis":
            _grad(name, "    e0 = np.exp(z - z.max(axis=0, keepdims=True))\n"
                        "    return (e0 / e0.sum(axis=0, keepdims=True) - p) / n"),
        "gradient w.r.t. the probabilities (-p / q)": _grad(name, "    return -p / q / n"),
        "only the diagonal of the softmax Jacobian": _grad(name, "    return -p * (1 - q) / n"),
        "hard target: argmax of p": _grad(
            name, "    hard = np.eye(z.shape[1])[p.argmax(axis=-1)]\n    return (q - hard) / n"),
        "log-softmax instead of softmax": _grad(
            name, "    return (z - z.max(axis=-1, keepdims=True) - np.log(e.sum(axis=-1, "
                  "keepdims=True)) - p) / n"),
    }


_KL_GRAD = _grad_mutants("kl_grad_logits")
_KL_GRAD["gradient of the reverse KL(q || p)"] = _grad(
    "kl_grad_logits",
    "    with np.errstate(all='ignore'):\n"
    "        r = np.log(q) - np.log(p)\n"
    "    inner = (q * r).sum(axis=-1, keepdims=True)\n"
    "    return q * (r - inner) / n")
_KL_GRAD["log p in the formula (nan where p = 0)"] = _grad(
    "kl_grad_logits",
    "    with np.errstate(all='ignore'):\n"
    "        return (q - p + 0.0 * np.log(p)) / n")


def _distill(body: str, signature: str = "T=2.0") -> str:
    return (f"def distillation_loss(student_logits, teacher_logits, {signature}):\n"
            "    s = np.asarray(student_logits, dtype=float)\n"
            "    t = np.asarray(teacher_logits, dtype=float)\n"
            "    def lsm(x):\n"
            "        x = x - x.max(axis=-1, keepdims=True)\n"
            "        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))\n"
            f"{body}\n")


_KL_ST = ("    lp, lq = lsm(t / T), lsm(s / T)\n"
          "    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)\n")

MUTANTS = {
    "entropy": {
        "log base 2": _h("    return -np.sum(p * np.log2(np.where(p > 0, p, 1.0)), axis=-1)"),
        "no 0 log 0 convention (nan at zeros)":
            _h("    with np.errstate(all='ignore'):\n"
               "        return -np.sum(p * np.log(p), axis=-1)"),
        "one number for the whole batch": _h(_SAFE + "    return -np.sum(p * lp)"),
        "mean over rows": _h(_SAFE + "    return -np.mean(np.sum(p * lp, axis=-1))"),
        "mean over classes instead of sum": _h(_SAFE + "    return -np.mean(p * lp, axis=-1)"),
        "sign flipped": _h(_SAFE + "    return np.sum(p * lp, axis=-1)"),
        "epsilon 1e-6 inside the log": _h("    return -np.sum(p * np.log(p + 1e-6), axis=-1)"),
        "per column (axis 0)": _h(_SAFE + "    return -np.sum(p * lp, axis=0)"),
        "perplexity exp(H)": _h(_SAFE + "    return np.exp(-np.sum(p * lp, axis=-1))"),
        "log10": _h("    return -np.sum(p * np.log10(np.where(p > 0, p, 1.0)), axis=-1)"),
    },
    "cross_entropy": {
        "arguments swapped (-sum q log p)":
            _ce("    return -np.sum(q * np.log(np.where(q > 0, p, 1.0)), axis=-1)"),
        "no 0 log 0 convention (nan where p = q = 0)":
            _ce("    with np.errstate(all='ignore'):\n"
                "        return -np.sum(p * np.log(q), axis=-1)"),
        "log base 2": _ce("    return -np.sum(p * np.log2(np.where(p > 0, q, 1.0)), axis=-1)"),
        "one number for the whole batch": _ce(_SAFE_Q + "    return -np.sum(p * lq)"),
        "mean over classes instead of sum": _ce(_SAFE_Q + "    return -np.mean(p * lq, axis=-1)"),
        "sign flipped": _ce(_SAFE_Q + "    return np.sum(p * lq, axis=-1)"),
        "KL instead of CE (entropy subtracted)":
            _ce(_SAFE_Q + _SAFE + "    return np.sum(p * (lp - lq), axis=-1)"),
        "epsilon 1e-3 inside the log": _ce("    return -np.sum(p * np.log(q + 1e-3), axis=-1)"),
        "mean over rows": _ce(_SAFE_Q + "    return -np.mean(np.sum(p * lq, axis=-1))"),
        "binary cross-entropy per entry":
            _ce("    lq1 = np.log(np.where(p < 1, 1 - q, 1.0))\n" + _SAFE_Q +
                "    return -np.sum(p * lq + (1 - p) * lq1, axis=-1)"),
    },
    "kl_divergence": {
        "wrong direction KL(q || p)":
            _kl("    ratio = np.where(q > 0, q, 1.0) / np.where(q > 0, p, 1.0)\n"
                "    return np.sum(q * np.log(ratio), axis=-1)"),
        "no 0 log 0 convention (nan at zeros)":
            _kl("    with np.errstate(all='ignore'):\n"
                "        return np.sum(p * np.log(p / q), axis=-1)"),
        "log base 2":
            _kl("    r = np.where(p > 0, p, 1.0) / np.where(p > 0, q, 1.0)\n"
                "    return np.sum(p * np.log2(r), axis=-1)"),
        "one number for the whole batch":
            _kl("    r = np.where(p > 0, p, 1.0) / np.where(p > 0, q, 1.0)\n"
                "    return np.sum(p * np.log(r))"),
        "cross-entropy instead of KL (entropy missing)":
            _kl(_SAFE_Q + "    return -np.sum(p * lq, axis=-1)"),
        "sign flipped (sum p log(q / p))":
            _kl("    r = np.where(p > 0, q, 1.0) / np.where(p > 0, p, 1.0)\n"
                "    return np.sum(p * np.log(r), axis=-1)"),
        "mean over classes instead of sum":
            _kl("    r = np.where(p > 0, p, 1.0) / np.where(p > 0, q, 1.0)\n"
                "    return np.mean(p * np.log(r), axis=-1)"),
        "symmetrised (mean of both directions)":
            _kl("    with np.errstate(all='ignore'):\n"
                "        a = np.where(p > 0, p * np.log(p / q), 0.0).sum(axis=-1)\n"
                "        b = np.where(q > 0, q * np.log(q / p), 0.0).sum(axis=-1)\n"
                "    return 0.5 * (a + b)"),
        "epsilon 1e-3 in numerator and denominator":
            _kl("    return np.sum(p * np.log((p + 1e-3) / (q + 1e-3)), axis=-1)"),
        "torch kl_div order mixed up: sum q (log q - p)":
            _kl("    lq = np.log(np.where(q > 0, q, 1.0))\n"
                "    return np.sum(q * (lq - p), axis=-1)"),
    },
    "ce_grad_logits": _grad_mutants("ce_grad_logits"),
    "kl_grad_logits": _KL_GRAD,
    "distillation_loss": {
        "T**2 factor missing": _distill(_KL_ST + "    return float(kl.mean())"),
        "multiplied by T instead of T**2": _distill(_KL_ST + "    return float(T * kl.mean())"),
        "divided by T**2": _distill(_KL_ST + "    return float(kl.mean() / T**2)"),
        "wrong direction KL(student || teacher)":
            _distill("    lp, lq = lsm(t / T), lsm(s / T)\n"
                     "    kl = (np.exp(lq) * (lq - lp)).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "student logits not divided by T":
            _distill("    lp, lq = lsm(t / T), lsm(s)\n"
                     "    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "teacher logits not divided by T":
            _distill("    lp, lq = lsm(t), lsm(s / T)\n"
                     "    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "sum over rows instead of mean": _distill(_KL_ST + "    return float(T * T * kl.sum())"),
        "mean over all elements (divided by N * K)":
            _distill(_KL_ST + "    return float(T * T * kl.sum() / s.size)"),
        "cross-entropy form (T**2 * CE, teacher entropy included)":
            _distill("    lp, lq = lsm(t / T), lsm(s / T)\n"
                     "    ce = -(np.exp(lp) * lq).sum(axis=-1)\n"
                     "    return float(T * T * ce.mean())"),
        "logits multiplied by T":
            _distill("    lp, lq = lsm(t * T), lsm(s * T)\n"
                     "    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "naive softmax (overflow at 1000)":
            _distill("    with np.errstate(all='ignore'):\n"
                     "        ep, eq = np.exp(t / T), np.exp(s / T)\n"
                     "        pt = ep / ep.sum(axis=-1, keepdims=True)\n"
                     "        qs = eq / eq.sum(axis=-1, keepdims=True)\n"
                     "        kl = np.where(pt > 0, pt * np.log(pt / qs), 0.0).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "log of a softmax that underflowed (nan at 1000)":
            _distill("    with np.errstate(all='ignore'):\n"
                     "        pt, qs = np.exp(lsm(t / T)), np.exp(lsm(s / T))\n"
                     "        kl = (pt * (np.log(pt) - np.log(qs))).sum(axis=-1)\n"
                     "    return float(T * T * kl.mean())"),
        "default temperature 1": _distill(_KL_ST + "    return float(T * T * kl.mean())",
                                          signature="T=1.0"),
        "temperature ignored (always 2)":
            _distill("    lp, lq = lsm(t / 2.0), lsm(s / 2.0)\n"
                     "    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)\n"
                     "    return float(4.0 * kl.mean())"),
    },
}
