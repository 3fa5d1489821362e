"""Regression guard: no loss of lossutils is more than 10x slower than torch on the CPU.

Every loss is timed on about 10^6 float64 elements (cross-entropy and NLL on 4096 x 1000 logits,
the embedding-pair losses on 10^4 x 100, the batch losses on B = 1024, D = 64):

* reference: torch's built-in (``torch.nn.functional``), or for a loss torch lacks the peer's
  formula in torch operations (named in the table), forward (value) and forward + backward
  (gradient);
* NumPy: ``lossutils.<name>`` against the reference's forward, ``lossutils.<name>_grad`` against
  its forward + backward (the built-in's way of getting the same gradient);
* torch flavour: ``lossutils.torch.<name>``, forward and forward + backward, against the same.

Each time is the median of repeated calls after a warm-up. A ratio above the limit (10x) is
marked ``!``; the script then lists those cells and exits with status 1 (0 when none is).

Usage: ``python benchmarks/bench_losses.py`` (a few minutes); ``--quick`` for small inputs and few
repeats (seconds: a smoke run, whose ratios measure the fixed cost of a call, its argument checks,
more than the loss, so it may flag cells); ``--limit X`` to flag above X instead of 10;
``--only NAME[,NAME...]`` for some losses (a row's name or its first word); ``--out FILE`` to also
write the report; ``--threads N`` for torch's thread count (default 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

import lossutils
from lossutils import torch as L

LIMIT = 10.0


@dataclass
class Case:
    """One loss: its inputs (NumPy; the first is differentiated) and the reference it is timed
    against (a torch callable on tensors)."""

    name: str
    shape: str
    args: tuple
    reference: str
    ref: Callable
    kwargs: dict = field(default_factory=dict)  # lossutils options, NumPy and torch flavour alike


# ---- references for the losses torch lacks: the peers' formulas in torch operations ----------

def focal_ref(x, y, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss, reduction 'mean'."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return ((alpha * y + (1 - alpha) * (1 - y)) * ce * (1 - p_t) ** gamma).mean()


def distillation_ref(s, t, temperature=4.0):
    return F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1),
                    reduction="batchmean") * temperature**2


def contrastive_ref(a, b, same, margin=1.0):
    d = F.pairwise_distance(a, b, eps=0.0)
    return 0.5 * (same * d**2 + (1 - same) * F.relu(margin - d) ** 2).mean()


def simclr_ref(emb, labels, temperature=0.07):
    """SimCLR's NT-Xent with two views per instance: cross-entropy over each row's cosine
    similarities, itself masked out, the other view as the target."""
    z = F.normalize(emb, dim=1)
    logits = (z @ z.T / temperature).fill_diagonal_(-torch.inf)
    same = labels[:, None] == labels[None, :]
    target = (same & ~torch.eye(len(labels), dtype=torch.bool)).float().argmax(dim=1)
    return F.cross_entropy(logits, target)


def _semihard_negatives(emb, labels):
    """TF Addons' semi-hard selection as masked minima and maxima over a (pairs, B) matrix: for
    each ordered positive pair, the nearest negative farther than the positive, else the
    farthest negative. Returns (anchors, positives, distances to the negative, its index)."""
    d = torch.cdist(emb, emb)
    same = labels[:, None] == labels[None, :]
    a, p = torch.nonzero(same & ~torch.eye(len(labels), dtype=torch.bool), as_tuple=True)
    d_an, negative = d[a], ~same[a]
    farther = negative & (d_an > d[a, p][:, None])
    nearest_farther = torch.where(farther, d_an, torch.inf).min(dim=1)
    farthest = torch.where(negative, d_an, -torch.inf).max(dim=1)
    has_farther = farther.any(dim=1)
    n = torch.where(has_farther, nearest_farther.indices, farthest.indices)
    d_neg = torch.where(has_farther, nearest_farther.values, farthest.values)
    return a, p, d[a, p], d_neg, n


def semihard_ref(emb, labels, margin=1.0):
    _, _, d_ap, d_neg, _ = _semihard_negatives(emb, labels)
    return torch.clamp_min(margin + d_ap - d_neg, 0.0).mean()


def mining_ref(emb, labels):
    a, p, _, _, n = _semihard_negatives(emb, labels)
    return torch.stack([a, p, n], dim=1)


def make_cases(n: int, rows: int, cols: int, batch: int, dim: int,
               rng: np.random.Generator) -> list[Case]:
    """Inputs of about ``n`` elements (``rows x cols`` for the class losses, ``batch x dim`` for
    the batch losses)."""
    def normal(*shape):
        return rng.standard_normal(shape)

    x, y = normal(n), normal(n)
    p = rng.uniform(0.001, 0.999, n)
    y01 = (rng.uniform(size=n) < 0.5).astype(np.float64)
    ypm = 2.0 * y01 - 1.0
    logits, classes = 3.0 * normal(rows, cols), rng.integers(0, cols, rows)
    log_probs = lossutils.log_softmax(logits, dim=1)
    side = int(round(n**0.5))
    sq_logits, sq_teacher = 2.0 * normal(side, side), 2.0 * normal(side, side)
    sq_logp, sq_p = lossutils.log_softmax(sq_logits), lossutils.softmax(sq_teacher)
    sq_q = lossutils.softmax(sq_logits)
    multi_hot = (rng.uniform(size=(side, side)) < 0.1).astype(np.float64)
    pairs, width = max(n // 100, 2), 100
    e1, e2, e3 = normal(pairs, width), normal(pairs, width), normal(pairs, width)
    emb = normal(batch, dim)
    emb_labels = rng.integers(0, max(batch // 16, 2), batch)  # about 16 samples per class
    views = np.repeat(np.arange(batch // 2), 2)  # two views per instance, as in SimCLR
    batch_shape = f"({batch}, {dim})"
    return [
        Case("mse_loss", f"({n},)", (x, y), "F.mse_loss", F.mse_loss),
        Case("l1_loss", f"({n},)", (x, y), "F.l1_loss", F.l1_loss),
        Case("huber_loss", f"({n},)", (x, y), "F.huber_loss", F.huber_loss),
        Case("smooth_l1_loss", f"({n},)", (x, y), "F.smooth_l1_loss", F.smooth_l1_loss),
        Case("binary_cross_entropy", f"({n},)", (p, y01), "F.binary_cross_entropy",
             F.binary_cross_entropy),
        Case("binary_cross_entropy_with_logits", f"({n},)", (3 * x, y01),
             "F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
        Case("multilabel_soft_margin_loss", f"({side}, {side})", (sq_logits, multi_hot),
             "F.multilabel_soft_margin_loss", F.multilabel_soft_margin_loss),
        Case("sigmoid_focal_loss", f"({n},)", (3 * x, y01), "torchvision's formula", focal_ref,
             {"reduction": "mean"}),
        Case("cross_entropy", f"({rows}, {cols})", (logits, classes), "F.cross_entropy",
             F.cross_entropy),
        Case("cross_entropy (label_smoothing=0.1)", f"({rows}, {cols})", (logits, classes),
             "F.cross_entropy", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1),
             {"label_smoothing": 0.1}),
        Case("nll_loss", f"({rows}, {cols})", (log_probs, classes), "F.nll_loss", F.nll_loss),
        Case("kl_div", f"({side}, {side})", (sq_logp, sq_p), "F.kl_div",
             lambda a, b: F.kl_div(a, b, reduction="batchmean"), {"reduction": "batchmean"}),
        Case("kl_divergence", f"({side}, {side})", (sq_p, sq_q), "F.kl_div(log q, p), row sums",
             lambda a, b: F.kl_div(b.log(), a, reduction="none").sum(-1)),
        Case("entropy", f"({side}, {side})", (sq_p,), "Categorical(probs).entropy()",
             lambda a: torch.distributions.Categorical(probs=a).entropy()),
        Case("distillation_loss", f"({side}, {side})", (sq_logits, sq_teacher),
             "F.kl_div of log_softmax, softmax", distillation_ref),
        Case("hinge_embedding_loss", f"({n},)", (x, ypm), "F.hinge_embedding_loss",
             F.hinge_embedding_loss),
        Case("margin_ranking_loss", f"({n},)", (x, y, ypm), "F.margin_ranking_loss",
             F.margin_ranking_loss),
        Case("cosine_embedding_loss", f"({pairs}, {width})", (e1, e2, ypm[:pairs]),
             "F.cosine_embedding_loss", F.cosine_embedding_loss),
        Case("triplet_margin_loss", f"({pairs}, {width})", (e1, e2, e3),
             "F.triplet_margin_loss", F.triplet_margin_loss),
        Case("contrastive_loss", f"({pairs}, {width})", (e1, e2, y01[:pairs]),
             "F.pairwise_distance formula", contrastive_ref),
        Case("pairwise_distances", batch_shape, (emb,), "torch.cdist",
             lambda a: torch.cdist(a, a)),
        Case("nt_xent_loss", batch_shape, (emb, views), "SimCLR: F.cross_entropy of similarities",
             simclr_ref),
        Case("mine_semihard_triplets", batch_shape, (emb, emb_labels),
             "TF Addons' selection, masked min/max", mining_ref),
        Case("triplet_semihard_loss", batch_shape, (emb, emb_labels),
             "TF Addons' formula, masked min/max", semihard_ref),
    ]


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def forward_backward(fn: Callable, first: torch.Tensor, rest: tuple) -> Callable[[], None]:
    """``fn(leaf, *rest)`` summed to a scalar, then ``.backward()`` to the leaf."""
    leaf = first.clone().requires_grad_(True)

    def run() -> None:
        out = fn(leaf, *rest)
        (out if out.dim() == 0 else out.sum()).backward()
        leaf.grad = None

    return run


def time_case(case: Case, repeats: int) -> dict[str, float]:
    """Milliseconds per call of each contender that exists for this loss."""
    base = case.name.split(" ")[0]
    tensors = tuple(torch.from_numpy(a) for a in case.args)
    numpy_fn = getattr(lossutils, base)
    numpy_grad = getattr(lossutils, base + "_grad", None)
    flavour_fn = getattr(L, base)

    def flavour(*a):
        return flavour_fn(*a, **case.kwargs)

    ms = {
        "ref": median_ms(lambda: case.ref(*tensors), repeats),
        "numpy": median_ms(lambda: numpy_fn(*case.args, **case.kwargs), repeats),
        "flavour": median_ms(lambda: flavour(*tensors), repeats),
    }
    if tensors[0].is_floating_point() and base != "mine_semihard_triplets":  # mining: indices
        ms["ref_grad"] = median_ms(forward_backward(case.ref, tensors[0], tensors[1:]), repeats)
        ms["flavour_grad"] = median_ms(forward_backward(flavour, tensors[0], tensors[1:]),
                                       repeats)
        if numpy_grad is not None:
            ms["numpy_grad"] = median_ms(lambda: numpy_grad(*case.args, **case.kwargs), repeats)
    return ms


def fmt(ms: float) -> str:
    """Milliseconds to three significant digits (microsecond calls included), without exponent."""
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def cell(ms: dict[str, float], key: str, ref: str, limit: float, slow: list[str],
         label: str) -> str:
    """``time (ratio x)``, marked ``!`` above the limit (and noted in ``slow``); ``—`` if the
    contender does not exist (a NumPy gradient of a loss that has none, mining's gradient)."""
    if key not in ms:
        return "—"
    ratio = ms[key] / ms[ref]
    if ratio > limit:
        slow.append(f"{label} {ratio:.1f}x")
    return f"{fmt(ms[key])} ({ratio:.1f}x{' !' if ratio > limit else ''})"


def loss_table(cases: list[Case], repeats: int, limit: float) -> tuple[list[str], list[str]]:
    """The Markdown table (printed row by row as it is measured) and the cells above ``limit``."""
    lines = [
        "| loss | shape | reference | ref value ms | NumPy value ms (x) | L value ms (x) "
        "| ref grad ms | NumPy `_grad` ms (x) | L grad ms (x) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    slow: list[str] = []
    for case in cases:
        ms = time_case(case, repeats)
        cells = [
            fmt(ms["ref"]),
            cell(ms, "numpy", "ref", limit, slow, f"{case.name}: NumPy value"),
            cell(ms, "flavour", "ref", limit, slow, f"{case.name}: lossutils.torch value"),
            fmt(ms["ref_grad"]) if "ref_grad" in ms else "—",
            cell(ms, "numpy_grad", "ref_grad", limit, slow, f"{case.name}: NumPy _grad"),
            cell(ms, "flavour_grad", "ref_grad", limit, slow,
                 f"{case.name}: lossutils.torch gradient"),
        ]
        lines.append(f"| {case.name} | {case.shape} | {case.reference} | "
                     + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines, slow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats (smoke)")
    parser.add_argument("--limit", type=float, default=LIMIT,
                        help=f"flag ratios above this (default {LIMIT:g})")
    parser.add_argument("--only", metavar="NAME[,NAME...]",
                        help="only these losses (a row's name or its first word)")
    parser.add_argument("--out", help="also write the Markdown report to this file")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's thread count (default 1: NumPy's elementwise operations use "
                             "one core too, and on a busy machine torch's threads wait for each "
                             "other; 0 keeps torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        sizes, repeats = dict(n=10_000, rows=64, cols=160, batch=64, dim=16), 3
    else:
        sizes, repeats = dict(n=1_000_000, rows=4096, cols=1000, batch=1024, dim=64), 7
    cases = make_cases(rng=np.random.default_rng(0), **sizes)
    if args.only:
        only = set(args.only.split(","))
        cases = [c for c in cases if c.name in only or c.name.split(" ")[0] in only]

    header = [
        f"# lossutils against torch, {dt.date.today().isoformat()}"
        + (" (--quick: small inputs)" if args.quick else ""),
        "",
        f"CPU float64; {platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} "
        f"torch threads, load average {os.getloadavg()[0]:.1f} at the start; Python "
        f"{platform.python_version()}, torch {torch.__version__}, NumPy {np.__version__}. "
        f"Median of {repeats} calls after a warm-up, in ms; (x) = ratio to the reference on the "
        f"left (value: its forward; gradient: its forward + backward); '!' marks a ratio above "
        f"{args.limit:g}x. L = lossutils.torch.",
        "",
    ]
    print("\n".join(header), flush=True)
    table, slow = loss_table(cases, repeats, args.limit)
    verdict = (f"Slower than {args.limit:g}x: " + "; ".join(slow) + "."
               if slow else f"Slower than {args.limit:g}x: none.")
    print("\n" + verdict, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(header + table + ["", verdict]) + "\n")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
