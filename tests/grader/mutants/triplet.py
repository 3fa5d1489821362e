"""Plausible wrong answers for the triplet assignment (see tests/grader/mutants/__init__.py)."""

_X = "    x = np.asarray(embeddings, dtype=float)\n"
_EXPANDED = (_X + "    sq = (x * x).sum(axis=1)\n"
             "    d2 = sq[:, None] + sq[None, :] - 2.0 * x @ x.T\n")


def _dist(body: str) -> str:
    return f"def pairwise_distances(embeddings):\n{body}\n"


# The correct miner's loop, with the choice of n (and the loop order) left to each mutant.
def _mine(choose: str, loop: str | None = None, tail: str | None = None) -> str:
    loop = loop or ("    for a in range(len(y)):\n"
                    "        negatives = np.flatnonzero(y != y[a])\n"
                    "        if negatives.size == 0:\n"
                    "            continue\n"
                    "        d_neg = d[a, negatives]\n"
                    "        for p in np.flatnonzero(y == y[a]):\n"
                    "            if p == a:\n"
                    "                continue\n")
    tail = tail or "    return np.array(rows, dtype=np.int64).reshape(-1, 3)"
    return ("def semihard_negatives(embeddings, labels):\n"
            "    y = np.asarray(labels).reshape(-1)\n"
            "    d = pairwise_distances(embeddings)\n"
            "    rows = []\n"
            f"{loop}{choose}            rows.append((a, p, n))\n{tail}\n")


_SEMIHARD = ("            farther = d_neg > d[a, p]\n"
             "            if farther.any():\n"
             "                n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"
             "            else:\n"
             "                n = negatives[np.argmax(d_neg)]\n")

_ROWS = ("    y = np.asarray(labels).reshape(-1)\n"
         "    rows = semihard_negatives(embeddings, labels)\n"
         "    d = pairwise_distances(embeddings)\n")


def _loss(body: str) -> str:
    return f"def semihard_triplet_loss(embeddings, labels, margin=1.0):\n{_ROWS}{body}\n"


_H = "np.maximum(0.0, d[a, p] - d[a, n] + margin)"
_EMPTY = "    if len(rows) == 0:\n        return 0.0\n    a, p, n = rows.T\n"

MUTANTS = {
    "pairwise_distances": {
        "squared distances":
            _dist(_X + "    diff = x[:, None, :] - x[None, :, :]\n"
                  "    return (diff**2).sum(axis=-1)"),
        "expanded form without clipping or zero diagonal (NaN from round-off)":
            _dist(_EXPANDED + "    return np.sqrt(d2)"),
        "expanded form clipped at 0, diagonal not set to 0":
            _dist(_EXPANDED + "    return np.sqrt(np.maximum(d2, 0.0))"),
        "expanded form with the diagonal set to 0 but no clipping":
            _dist(_EXPANDED + "    np.fill_diagonal(d2, 0.0)\n    return np.sqrt(d2)"),
        "expanded form with abs() instead of clipping, diagonal not set":
            _dist(_EXPANDED + "    return np.sqrt(np.abs(d2))"),
        "epsilon inside the square root (sqrt(d2 + 1e-12))":
            _dist(_X + "    diff = x[:, None, :] - x[None, :, :]\n"
                  "    return np.sqrt((diff**2).sum(axis=-1) + 1e-12)"),
        "torch-style eps added to the difference (||x_i - x_j + 1e-6||)":
            _dist(_X + "    diff = x[:, None, :] - x[None, :, :] + 1e-6\n"
                  "    return np.sqrt((diff**2).sum(axis=-1))"),
        "Manhattan (L1) distance":
            _dist(_X + "    return np.abs(x[:, None, :] - x[None, :, :]).sum(axis=-1)"),
        "root mean square over coordinates (divided by D)":
            _dist(_X + "    diff = x[:, None, :] - x[None, :, :]\n"
                  "    return np.sqrt((diff**2).mean(axis=-1))"),
        "distances between columns (transposed input)":
            _dist(_X + "    diff = x.T[:, None, :] - x.T[None, :, :]\n"
                  "    return np.sqrt((diff**2).sum(axis=-1))"),
        "largest coordinate difference (Chebyshev)":
            _dist(_X + "    return np.abs(x[:, None, :] - x[None, :, :]).max(axis=-1)"),
    },
    "semihard_negatives": {
        "hardest negative (closest overall)":
            _mine("            n = negatives[np.argmin(d_neg)]\n"),
        "no fallback (pairs without a farther negative are skipped)":
            _mine("            farther = d_neg > d[a, p]\n"
                  "            if not farther.any():\n"
                  "                continue\n"
                  "            n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"),
        "fallback to the closest negative instead of the farthest":
            _mine("            farther = d_neg > d[a, p]\n"
                  "            if farther.any():\n"
                  "                n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"
                  "            else:\n"
                  "                n = negatives[np.argmin(d_neg)]\n"),
        "non-strict inequality (d(a, n) >= d(a, p))":
            _mine("            farther = d_neg >= d[a, p]\n"
                  "            if farther.any():\n"
                  "                n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"
                  "            else:\n"
                  "                n = negatives[np.argmax(d_neg)]\n"),
        "ties to the highest index":
            _mine("            farther = d_neg > d[a, p]\n"
                  "            r = slice(None, None, -1)\n"
                  "            if farther.any():\n"
                  "                masked = np.where(farther, d_neg, np.inf)[r]\n"
                  "                n = negatives[r][np.argmin(masked)]\n"
                  "            else:\n"
                  "                n = negatives[r][np.argmax(d_neg[r])]\n"),
        "rows grouped by class instead of sorted by anchor":
            _mine(_SEMIHARD, loop=(
                "    for c in np.unique(y):\n"
                "        members = np.flatnonzero(y == c)\n"
                "        negatives = np.flatnonzero(y != c)\n"
                "        if negatives.size == 0:\n"
                "            continue\n"
                "        for a in members:\n"
                "          d_neg = d[a, negatives]\n"
                "          for p in members:\n"
                "            if p == a:\n"
                "                continue\n")),
        "sorted by positive, then anchor":
            _mine(_SEMIHARD, tail=(
                "    rows = sorted(rows, key=lambda r: (r[1], r[0]))\n"
                "    return np.array(rows, dtype=np.int64).reshape(-1, 3)")),
        "unordered pairs only (a < p)":
            _mine("            if p < a:\n"
                  "                continue\n" + _SEMIHARD),
        "FaceNet window d(a, p) < d(a, n) < d(a, p) + 1, else fallback":
            _mine("            farther = (d_neg > d[a, p]) & (d_neg < d[a, p] + 1.0)\n"
                  "            if farther.any():\n"
                  "                n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"
                  "            else:\n"
                  "                n = negatives[np.argmax(d_neg)]\n"),
        "easiest negative (always the farthest)":
            _mine("            n = negatives[np.argmax(d_neg)]\n"),
        "index into the negatives list, not the batch":
            _mine("            farther = d_neg > d[a, p]\n"
                  "            if farther.any():\n"
                  "                n = int(np.argmin(np.where(farther, d_neg, np.inf)))\n"
                  "            else:\n"
                  "                n = int(np.argmax(d_neg))\n"),
        "fallback to the farthest sample, positives included":
            _mine("            farther = d_neg > d[a, p]\n"
                  "            if farther.any():\n"
                  "                n = negatives[np.argmin(np.where(farther, d_neg, np.inf))]\n"
                  "            else:\n"
                  "                n = int(np.argmax(d[a]))\n"),
        "row (a, p, -1) for anchors without negatives":
            _mine(_SEMIHARD.replace("            farther", "            n = -1\n"
                                    "            if negatives.size == 0:\n"
                                    "                rows.append((a, p, n))\n"
                                    "                continue\n            farther", 1),
                  loop=("    for a in range(len(y)):\n"
                        "        negatives = np.flatnonzero(y != y[a])\n"
                        "        d_neg = d[a, negatives]\n"
                        "        for p in np.flatnonzero(y == y[a]):\n"
                        "            if p == a:\n"
                        "                continue\n")),
    },
    "semihard_triplet_loss": {
        "squared distances":
            _loss(_EMPTY + "    h = np.maximum(0.0, d[a, p]**2 - d[a, n]**2 + margin)\n"
                  "    return float(np.mean(h))"),
        "sum instead of mean":
            _loss(_EMPTY + f"    return float(np.sum({_H}))"),
        "mean over the non-zero hinges only":
            _loss(_EMPTY + "    h = np.maximum(0.0, d[a, p] - d[a, n] + margin)\n"
                  "    return float(h[h > 0].mean()) if (h > 0).any() else 0.0"),
        "no hinge (negative terms allowed)":
            _loss(_EMPTY + "    return float(np.mean(d[a, p] - d[a, n] + margin))"),
        "squared hinge":
            _loss(_EMPTY + f"    return float(np.mean({_H}**2))"),
        "margin ignored (always 1)":
            _loss(_EMPTY + "    return float(np.mean(np.maximum(0.0, d[a, p] - d[a, n] + 1)))"),
        "TF Addons on a single class (margin + d(a, p))":
            _loss("    same = y[:, None] == y[None, :]\n"
                  "    if (same.all() and len(y) > 1):\n"
                  "        off = ~np.eye(len(y), dtype=bool)\n"
                  "        return float(np.mean(margin + d[off]))\n" + _EMPTY +
                  "    return float(np.mean(np.maximum(0.0, d[a, p] - d[a, n] + margin)))"),
        "NaN without rows (mean of an empty array)":
            _loss("    a, p, n = rows.reshape(-1, 3).T\n"
                  "    with np.errstate(all='ignore'):\n"
                  "        return float(np.mean(np.maximum(0.0, d[a, p] - d[a, n] + margin)))"),
        "batch-hard (hardest positive and hardest negative per anchor)":
            _loss(_EMPTY +
                  "    same = y[:, None] == y[None, :]\n"
                  "    hinges = []\n"
                  "    for i in np.unique(a):\n"
                  "        pos = same[i].copy()\n"
                  "        pos[i] = False\n"
                  "        hardest = d[i][~same[i]].min()\n"
                  "        hinges.append(max(0.0, d[i][pos].max() - hardest + margin))\n"
                  "    return float(np.mean(hinges))"),
        "batch-all (mean over every valid triplet)":
            _loss(_EMPTY +
                  "    neg = y[:, None] != y[None, :]\n"
                  "    h = [max(0.0, d[i, j] - d[i, k] + margin)\n"
                  "         for i, j in zip(a, p) for k in np.flatnonzero(neg[i])]\n"
                  "    return float(np.mean(h))"),
        "wrong sign (d(a, n) - d(a, p) + margin)":
            _loss(_EMPTY + "    return float(np.mean(np.maximum(0, d[a, n] - d[a, p] + margin)))"),
        "margin subtracted":
            _loss(_EMPTY + "    return float(np.mean(np.maximum(0, d[a, p] - d[a, n] - margin)))"),
        "mean per anchor, then over anchors":
            _loss(_EMPTY + "    h = np.maximum(0.0, d[a, p] - d[a, n] + margin)\n"
                  "    return float(np.mean([h[a == i].mean() for i in np.unique(a)]))"),
    },
}
