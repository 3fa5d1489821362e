"""Speed of lossutils against PyTorch, side by side in one run (see benchmarks/README.md).

For each loss, on about 10^6 float64 elements on the CPU (cross-entropy and NLL on 4096 x 1000):

* torch: the ``torch.nn.functional`` built-in, forward and forward + backward;
* NumPy: ``lossutils.<name>`` (value) against the torch forward, and ``lossutils.<name>_grad``
  against the torch forward + backward (the built-in's way of getting the same gradient);
* L: ``lossutils.torch.<name>`` forward and forward + backward against the built-in's.

Targets: NumPy within 3x of torch, the PyTorch flavour within 1.5x. Each time is the median of
repeats after a warm-up, interleaved in a shuffled order with the times it is compared with (the
values with each other, the gradients with each other), so a burst of load elsewhere hits every
column alike and no column always follows the same neighbour.
Losses with no ``torch.nn.functional`` built-in are compared with the peer they follow, written
with torch operations (named in the "reference" column).

Then semi-hard triplet mining (B = 1024, D = 64): the vectorised
``lossutils.mine_semihard_triplets`` (target < 50 ms), a loop-based version written here for the
ratio (checked to give the same rows), and the peak memory of the vectorised miner (tracemalloc)
at three batch sizes, to show O(B^2).

Usage: ``python benchmarks/bench_losses.py`` (about 2 minutes), ``--quick`` for a smoke run on
small inputs (seconds), ``--out FILE`` to also write the Markdown report to a file,
``--threads N`` to set torch's thread count, ``--only NAME[,NAME...]`` to run only some losses
(``huber_loss``, ``cross_entropy`` for both of its rows, ``mining`` for the mining part).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import glob
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

import lossutils
from lossutils import torch as L

NUMPY_TARGET = 3.0
TORCH_TARGET = 1.5
MINING_TARGET_MS = 50.0


@dataclass
class Case:
    """One loss: its inputs (NumPy), and how each contender is called on them."""

    name: str
    shape: str
    args: tuple  # NumPy inputs; the first one is differentiated
    reference: str  # what the torch column runs
    ref: Callable | None  # torch reference on tensors; None when torch has no peer
    kwargs: dict = field(default_factory=dict)  # lossutils options, NumPy and torch flavour alike


def make_cases(n: int, rows: int, cols: int, batch: int, dim: int,
               rng: np.random.Generator, peers: bool = True) -> list[Case]:
    """Inputs of about ``n`` elements (``rows x cols`` for the class losses)."""
    def normal(*shape):
        return rng.standard_normal(shape)

    x, y = normal(n), normal(n)
    p = rng.uniform(0.001, 0.999, n)
    y01 = (rng.uniform(size=n) < 0.5).astype(np.float64)
    ypm = 2.0 * y01 - 1.0
    logits = 3.0 * normal(rows, cols)
    classes = rng.integers(0, cols, rows)
    side = int(round(n ** 0.5))
    sq_logits, sq_teacher = 2.0 * normal(side, side), 2.0 * normal(side, side)
    sq_logp = L.log_softmax(torch.from_numpy(sq_logits), dim=1).numpy()
    sq_p = L.softmax(torch.from_numpy(sq_teacher), dim=1).numpy()
    sq_q = L.softmax(torch.from_numpy(sq_logits), dim=1).numpy()
    multi_hot = (rng.uniform(size=(side, side)) < 0.1).astype(np.float64)
    pairs, width = max(n // 100, 2), 100
    e1, e2, e3 = normal(pairs, width), normal(pairs, width), normal(pairs, width)
    pair_pm = ypm[:pairs]
    emb = normal(batch, dim)
    emb_labels = rng.integers(0, max(batch // 16, 2), batch)
    # NT-Xent at B / 4: pytorch-metric-learning forms a (positive pairs x negative pairs) matrix,
    # about 8 GB at B = 1024, so the peer cannot run at the full batch
    ntx_batch = max(batch // 4, 4)
    ntx_emb = emb[:ntx_batch]
    ntx_labels = np.repeat(np.arange(ntx_batch // 2), 2)  # two views per instance, as in SimCLR
    logp_rows = L.log_softmax(torch.from_numpy(logits), dim=1).numpy()

    def focal_ref(xt, yt):
        # torchvision's composition: BCE-with-logits scaled by (1 - p_t)^gamma and alpha_t
        prob = torch.sigmoid(xt)
        ce = F.binary_cross_entropy_with_logits(xt, yt, reduction="none")
        p_t = prob * yt + (1 - prob) * (1 - yt)
        return ((0.25 * yt + 0.75 * (1 - yt)) * ce * (1 - p_t) ** 2).mean()

    def distill_ref(s, t, temp=4.0):
        return F.kl_div(F.log_softmax(s / temp, 1), F.softmax(t / temp, 1),
                        reduction="batchmean") * temp * temp

    def contrastive_ref(a, b, same, margin=1.0):
        d = F.pairwise_distance(a, b, eps=0.0)
        return 0.5 * (same * d**2 + (1 - same) * F.relu(margin - d) ** 2).mean()

    ntxent = _pml_ntxent() if peers else None

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
        Case("sigmoid_focal_loss", f"({n},)", (3 * x, y01), "torchvision formula with F ops",
             focal_ref, kwargs={"reduction": "mean"}),
        Case("cross_entropy", f"({rows}, {cols})", (logits, classes), "F.cross_entropy",
             F.cross_entropy),
        Case("cross_entropy (label_smoothing=0.1)", f"({rows}, {cols})", (logits, classes),
             "F.cross_entropy", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1),
             kwargs={"label_smoothing": 0.1}),
        Case("nll_loss", f"({rows}, {cols})", (logp_rows, classes), "F.nll_loss", F.nll_loss),
        Case("kl_div", f"({side}, {side})", (sq_logp, sq_p), "F.kl_div",
             lambda a, b: F.kl_div(a, b, reduction="batchmean"),
             kwargs={"reduction": "batchmean"}),
        Case("kl_divergence", f"({side}, {side})", (sq_p, sq_q), "F.kl_div(log q, p) row sums",
             lambda a, b: F.kl_div(b.log(), a, reduction="none").sum(-1)),
        Case("entropy", f"({side}, {side})", (sq_p,), "distributions.Categorical.entropy",
             lambda a: torch.distributions.Categorical(probs=a).entropy()),
        Case("distillation_loss", f"({side}, {side})", (sq_logits, sq_teacher),
             "F.kl_div of F.log_softmax / F.softmax", distill_ref),
        Case("hinge_embedding_loss", f"({n},)", (x, ypm), "F.hinge_embedding_loss",
             F.hinge_embedding_loss),
        Case("margin_ranking_loss", f"({n},)", (x, y, ypm), "F.margin_ranking_loss",
             F.margin_ranking_loss),
        Case("cosine_embedding_loss", f"({pairs}, {width})", (e1, e2, pair_pm),
             "F.cosine_embedding_loss", F.cosine_embedding_loss),
        Case("triplet_margin_loss", f"({pairs}, {width})", (e1, e2, e3),
             "F.triplet_margin_loss", F.triplet_margin_loss),
        Case("contrastive_loss", f"({pairs}, {width})", (e1, e2, y01[:pairs]),
             "F.pairwise_distance formula", contrastive_ref),
        Case("pairwise_distances", f"({batch}, {dim})", (emb,), "torch.cdist",
             lambda a: torch.cdist(a, a)),
        Case("nt_xent_loss", f"({ntx_batch}, {dim})", (ntx_emb, ntx_labels),
             "pytorch-metric-learning NTXentLoss" if ntxent else "(PML skipped or missing)",
             ntxent),
        Case("triplet_semihard_loss", f"({batch}, {dim})", (emb, emb_labels),
             "none in torch (TF Addons)", None),
    ]


def _pml_ntxent() -> Callable | None:
    try:
        from pytorch_metric_learning.losses import NTXentLoss
    except ImportError:  # the comparison is optional; the NumPy and torch flavours still run
        return None
    loss = NTXentLoss(temperature=0.07)
    return lambda emb, labels: loss(emb, labels)


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory in the process, for every contender alike.

    By default glibc hands large freed blocks back to the system and adapts the size above which
    it does so as the program runs, so whether a contender's 8-32 MB temporaries come back as
    fresh pages (a page fault per few KiB, which costs more than the arithmetic on this machine)
    depends on which cases ran before it: single cells moved by +-50% between runs, whichever
    side allocated. With both thresholds pinned far above the largest temporary, every contender
    reuses its memory, as it does in the steady state of a training loop. Returns False where
    ``mallopt`` is missing (not glibc); the run then keeps the default behaviour.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 1 << 28) and mallopt(m_trim_threshold, 1 << 30))


def set_numpy_blas_threads(n: int) -> int | None:
    """Give NumPy's OpenBLAS ``n`` threads, as ``--threads`` gives torch; returns the count set.

    The matrix products (``pairwise_distances``, mining) and the ``np.dot`` reductions run on
    OpenBLAS, whose workers spin-wait for each other like torch's: on a busy machine two of them
    took 9 ms for a 10^6-element dot that one thread does in 0.4 ms. NumPy has no API for this
    (threadpoolctl is not a dependency), so the library bundled in numpy.libs is asked directly.
    """
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(libs, "libscipy_openblas*.so*")):
        lib = ctypes.CDLL(path)  # the copy NumPy already loaded: dlopen returns the same handle
        for suffix in ("64_", ""):
            setter = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            getter = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                setter(ctypes.c_int(n))
                return int(getter())
    return None


def median_ms(contenders: dict[str, Callable[[], object]], repeats: int, warmup: int,
              budget_s: float) -> dict[str, float]:
    """Median wall time (ms) of each callable, measured in interleaved rounds after a warm-up.

    Each round runs every callable once, in an order shuffled for that round (seeded, so a run
    can be repeated exactly). What a call costs depends on what ran just before it: a 100 us
    call that follows one which wrote 32 MB finds the caches full of that data and took up to
    100 us longer here. A fixed order gives one column the same predecessor every round, and so
    the same handicap (the built-in's nll_loss measured 68 or 150 us by its place in the round).
    As many rounds as fit in ``budget_s`` seconds, at least a third of ``repeats`` and at most
    four times it: short calls, the noisiest, get the most rounds.
    """
    t0 = time.perf_counter()
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    round_s = (time.perf_counter() - t0) / max(warmup, 1)
    rounds = max(1, repeats // 3, min(4 * repeats, int(budget_s / max(round_s, 1e-9))))
    order = np.random.default_rng(len(contenders))
    keys = list(contenders)
    times: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(rounds):
        for key in order.permutation(keys):
            fn = contenders[key]
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def forward_backward(fn: Callable, first: torch.Tensor, rest: tuple) -> Callable[[], None]:
    leaf = first.clone().requires_grad_(True)

    def run() -> None:
        fn(leaf, *rest).backward()
        leaf.grad = None

    return run


def as_tensor(a):
    return torch.from_numpy(a) if isinstance(a, np.ndarray) else a


def bench_case(case: Case, repeats: int, warmup: int, budget_s: float) -> dict[str, float]:
    tens = tuple(as_tensor(a) for a in case.args)
    np_fn = getattr(lossutils, case.name.split(" ")[0], None)
    np_grad = getattr(lossutils, case.name.split(" ")[0] + "_grad", None)
    lt_fn = getattr(L, case.name.split(" ")[0])
    kw = case.kwargs
    differentiable = tens[0].is_floating_point()

    def lt(*a):
        return lt_fn(*a, **kw)

    def lt_scalar(*a):
        out = lt(*a)
        return out if out.dim() == 0 else out.sum()

    def ref_scalar(*a):
        out = case.ref(*a)
        return out if out.dim() == 0 else out.sum()

    # values and gradients are timed apart, each group interleaved within itself: a forward
    # pass of 4096 picks that follows a backward which wrote 32 MB measures the caches' refill,
    # not the forward pass (with the two groups mixed, such cells moved by 2x between runs)
    values: dict[str, Callable[[], object]] = {}
    gradients: dict[str, Callable[[], object]] = {}
    if case.ref is not None:
        values["ref"] = lambda: case.ref(*tens)
        if differentiable:
            gradients["ref_fb"] = forward_backward(ref_scalar, tens[0], tens[1:])
    if np_fn is not None:
        values["np"] = lambda: np_fn(*case.args, **kw)
    if np_grad is not None:
        gradients["np_grad"] = lambda: np_grad(*case.args, **kw)
    values["lt"] = lambda: lt(*tens)
    if differentiable:
        gradients["lt_fb"] = forward_backward(lt_scalar, tens[0], tens[1:])
    ms = median_ms(values, repeats, warmup, budget_s / 2)
    if gradients:
        ms |= median_ms(gradients, repeats, warmup, budget_s / 2)
    return ms


def ratio_cell(ms: dict[str, float], key: str, base: str, target: float,
               verdicts: list[str]) -> str:
    if key not in ms:
        return "—"
    if base not in ms:
        return f"{ms[key]:.2f}"
    r = ms[key] / ms[base]
    ok = r <= target
    verdicts.append("PASS" if ok else "FAIL")
    return f"{ms[key]:.2f} ({r:.2f}x{'' if ok else ' !'})"


def loss_table(cases: list[Case], repeats: int, warmup: int, budget_s: float) -> list[str]:
    lines = [
        "| loss | shape | reference | torch fwd ms | NumPy value ms (x) | torch fwd+bwd ms "
        "| NumPy _grad ms (x) | L fwd ms (x) | L fwd+bwd ms (x) | verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("\n".join(lines), flush=True)
    for case in cases:
        ms = bench_case(case, repeats, warmup, budget_s)
        verdicts: list[str] = []
        cells = [
            f"{ms['ref']:.2f}" if "ref" in ms else "—",
            ratio_cell(ms, "np", "ref", NUMPY_TARGET, verdicts),
            f"{ms['ref_fb']:.2f}" if "ref_fb" in ms else "—",
            ratio_cell(ms, "np_grad", "ref_fb", NUMPY_TARGET, verdicts),
            ratio_cell(ms, "lt", "ref", TORCH_TARGET, verdicts),
            ratio_cell(ms, "lt_fb", "ref_fb", TORCH_TARGET, verdicts),
        ]
        verdict = ("FAIL" if "FAIL" in verdicts else "PASS") if verdicts else "n/a (no peer)"
        lines.append(f"| {case.name} | {case.shape} | {case.reference} | " + " | ".join(cells)
                     + f" | {verdict} |")
        print(lines[-1], flush=True)
    return lines


# ----------------------------------------------------------------------------------------------
# Semi-hard mining
# ----------------------------------------------------------------------------------------------

def mine_semihard_loop(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The same rows as ``lossutils.mine_semihard_triplets``, one positive pair at a time.

    For each ordered positive pair (a, p): the closest negative strictly farther than p, else the
    farthest negative. The distance matrix is shared with the vectorised miner, so both see the
    same numbers; only the selection runs pair by pair.
    """
    labels = np.asarray(labels)
    dist = lossutils.pairwise_distances(embeddings)
    rows = []
    for a in range(len(labels)):
        negatives = np.flatnonzero(labels != labels[a])
        if negatives.size == 0:
            continue
        d_an = dist[a, negatives]
        for p in np.flatnonzero(labels == labels[a]):
            if p == a:
                continue
            farther = d_an > dist[a, p]
            if farther.any():
                pick = np.flatnonzero(farther)[np.argmin(d_an[farther])]
            else:
                pick = np.argmax(d_an)
            rows.append((a, p, negatives[pick]))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def mining_report(batch: int, dim: int, rng: np.random.Generator, repeats: int) -> list[str]:
    emb = rng.standard_normal((batch, dim))
    labels = rng.integers(0, max(batch // 16, 2), batch)
    vec = median_ms({"vec": lambda: lossutils.mine_semihard_triplets(emb, labels),
                     "torch": lambda: L.mine_semihard_triplets(torch.from_numpy(emb),
                                                               torch.from_numpy(labels))},
                    repeats, 1, 20.0)
    start = time.perf_counter()
    looped = mine_semihard_loop(emb, labels)
    loop_ms = 1e3 * (time.perf_counter() - start)
    rows = np.asarray(lossutils.mine_semihard_triplets(emb, labels))
    same = _same_rows(rows, looped)
    verdict = "PASS" if vec["vec"] < MINING_TARGET_MS and same else "FAIL"
    lines = [
        f"Semi-hard mining, B = {batch}, D = {dim}, {len(set(labels.tolist()))} classes, "
        f"{len(rows)} triplets (one per ordered positive pair):",
        "",
        "| miner | ms | ratio to vectorised | verdict |",
        "|---|---:|---:|---|",
        f"| lossutils.mine_semihard_triplets (NumPy, vectorised) | {vec['vec']:.1f} | 1.0x | "
        f"{verdict} (target < {MINING_TARGET_MS:.0f} ms; same rows as the loop: {same}) |",
        f"| lossutils.torch.mine_semihard_triplets | {vec['torch']:.1f} | "
        f"{vec['torch'] / vec['vec']:.2f}x | |",
        f"| loop over positive pairs (this script) | {loop_ms:.1f} | "
        f"{loop_ms / vec['vec']:.0f}x | |",
        "",
        "Peak memory of the vectorised miner (tracemalloc), O(B^2):",
        "",
        "| B | peak MiB | bytes per B^2 |",
        "|---:|---:|---:|",
    ]
    for b in (batch // 4, batch // 2, batch):
        e, lab = emb[:b], labels[:b]
        mb = peak_mb(lambda e=e, lab=lab: lossutils.mine_semihard_triplets(e, lab))
        lines.append(f"| {b} | {mb:.2f} | {mb * 2**20 / b**2:.1f} |")
    return lines


def _same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as sets of (anchor, positive, negative) rows, whatever order each miner emits."""
    a, b = np.asarray(a).reshape(-1, 3), np.asarray(b).reshape(-1, 3)
    return a.shape == b.shape and bool(np.array_equal(np.unique(a, axis=0), np.unique(b, axis=0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, few repeats (smoke)")
    parser.add_argument("--out", help="also write the Markdown report to this file")
    parser.add_argument("--threads", type=int,
                        help="torch threads (default: torch's own choice, one per core); on a "
                             "machine busy with other jobs, 1 avoids OpenMP workers waiting for "
                             "a descheduled sibling, which inflates every multi-threaded time")
    parser.add_argument("--only", metavar="NAME[,NAME...]",
                        help="run only these losses (a row's name or its first word, e.g. "
                             "cross_entropy for both of its rows); 'mining' selects the mining "
                             "part, which is otherwise skipped when --only is given")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc thresholds alone (by default the run pins "
                             "them so freed memory is reused; see keep_freed_memory)")
    args = parser.parse_args(argv)
    kept = False if args.default_malloc else keep_freed_memory()
    only = set(args.only.split(",")) if args.only else None
    blas = None
    if args.threads:
        torch.set_num_threads(args.threads)
        blas = set_numpy_blas_threads(args.threads)

    rng = np.random.default_rng(0)
    if args.quick:
        sizes = dict(n=10_000, rows=64, cols=160, batch=128, dim=16)
        repeats, warmup, budget, mining = 1, 1, 0.1, (128, 16)
    else:
        sizes = dict(n=1_000_000, rows=4096, cols=1000, batch=1024, dim=64)
        repeats, warmup, budget, mining = 15, 2, 4.0, (1024, 64)

    header = [
        f"# lossutils speed, {dt.date.today().isoformat()}"
        + (" (--quick smoke run, small inputs)" if args.quick else ""),
        "",
        f"CPU float64; {platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} "
        f"torch threads{'' if blas is None else f', {blas} NumPy BLAS threads'}, malloc "
        f"{'keeps freed memory' if kept else 'with default thresholds'}, load average "
        f"{os.getloadavg()[0]:.1f} at the start; Python "
        f"{platform.python_version()}, torch {torch.__version__}, NumPy {np.__version__}. "
        f"Median ms; (x) = ratio to the torch column on its left (forward for values, "
        f"forward+backward for gradients). Targets: NumPy <= {NUMPY_TARGET}x, "
        f"lossutils.torch (L) <= {TORCH_TARGET}x; '!' marks a miss.",
        "",
    ]
    print("\n".join(header), flush=True)
    # --quick skips pytorch-metric-learning (seconds to import) to stay a fast smoke test
    wants_ntxent = only is None or "nt_xent_loss" in only
    cases = make_cases(rng=rng, peers=not args.quick and wants_ntxent, **sizes)
    if only is not None:
        cases = [c for c in cases if c.name in only or c.name.split(" ")[0] in only]
    lines = header + loss_table(cases, repeats, warmup, budget)
    if only is None or "mining" in only:
        mine = mining_report(*mining, rng=rng, repeats=repeats)
        print("\n" + "\n".join(mine), flush=True)
        lines += [""] + mine
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
