"""The speed benchmark runs: ``benchmarks/bench_losses.py --quick`` prints a row for every loss.

Speed itself is measured by the full run (benchmarks/README.md), not asserted here: timings on a
shared machine are not a pass/fail signal for a unit test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_losses.py"

LOSSES = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "multilabel_soft_margin_loss", "sigmoid_focal_loss",
    "cross_entropy", "cross_entropy (label_smoothing=0.1)", "nll_loss", "kl_div",
    "kl_divergence", "entropy", "distillation_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss", "contrastive_loss",
    "pairwise_distances", "nt_xent_loss", "triplet_semihard_loss",
]
COLUMNS = 11  # loss, shape, reference, 6 timings, verdict, plus the empty cell before the first |


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| loss "):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            rows[cells[0]] = cells
    return rows


def test_quick_run_prints_a_row_for_every_loss(tmp_path):
    report = tmp_path / "report.md"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(report)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "malloc keeps freed memory" in proc.stdout  # glibc's mallopt took the thresholds
    rows = _rows(proc.stdout)
    missing = [name for name in LOSSES if name not in rows]
    assert not missing, f"no table row for {missing}"
    for name in LOSSES:
        cells = rows[name]
        assert len(cells) == COLUMNS - 1, cells
        # the torch-flavour forward time is always measured, and is a positive number
        assert float(cells[7].split()[0]) > 0, cells
        assert cells[-1] in {"PASS", "FAIL", "n/a (no peer)"}, cells
    assert "Semi-hard mining" in proc.stdout and "same rows as the loop: True" in proc.stdout
    assert "bytes per B^2" in proc.stdout
    assert set(_rows(report.read_text(encoding="utf-8"))) == set(rows)  # --out holds the same
