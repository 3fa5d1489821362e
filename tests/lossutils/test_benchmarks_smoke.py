"""The speed guard runs: ``benchmarks/bench_losses.py --quick`` times every loss and flags ratios.

Speed itself is measured by the full run (benchmarks/README.md), not asserted here: timings on a
shared machine are not a pass/fail signal for a unit test. What is asserted is the guard's logic:
a row with a time for every contender of every loss, and a flag and exit status 1 exactly when a
ratio is above the limit (forced both ways with ``--limit``).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import lossutils

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_losses.py"

LOSSES = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "multilabel_soft_margin_loss", "sigmoid_focal_loss",
    "cross_entropy", "cross_entropy (label_smoothing=0.1)", "nll_loss", "kl_div",
    "kl_divergence", "entropy", "distillation_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss", "contrastive_loss",
    "pairwise_distances", "nt_xent_loss", "mine_semihard_triplets", "triplet_semihard_loss",
]
TIMED = re.compile(r"^[\d.]+ \(\d+\.\dx( !)?\)$")  # "12.3 (1.2x)", flagged "0.0412 (31.0x !)"


@pytest.fixture
def bench(monkeypatch):
    """The script as a module, run in this process (torch is imported already)."""
    spec = importlib.util.spec_from_file_location("bench_losses", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def _run(bench, capsys, *args: str) -> tuple[int, str]:
    """``bench_losses.py --quick args`` (``--threads 0`` leaves torch's thread count alone):
    its exit status and the report it printed."""
    capsys.readouterr()
    status = bench.main(["--quick", "--threads", "0", *args])
    return status, capsys.readouterr().out


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| loss "):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            rows[cells[0]] = cells
    return rows


def test_every_loss_gets_a_row_with_every_contender(bench, tmp_path, capsys):
    report = tmp_path / "report.md"
    status, out = _run(bench, capsys, "--limit", "1e9", "--out", str(report))
    assert status == 0, out
    rows = _rows(out)
    assert sorted(rows) == sorted(LOSSES)
    for name, cells in rows.items():
        assert len(cells) == 9, cells
        base = name.split(" ")[0]
        assert float(cells[3]) > 0  # the reference's value time
        assert TIMED.match(cells[4]) and TIMED.match(cells[5]), cells  # NumPy and torch values
        has_grad = base != "mine_semihard_triplets"  # mining returns indices: no gradient
        assert (cells[6] != "—") == has_grad, cells
        assert TIMED.match(cells[8]) if has_grad else cells[8] == "—", cells
        numpy_grad = hasattr(lossutils, base + "_grad")
        assert TIMED.match(cells[7]) if numpy_grad else cells[7] == "—", cells
    assert "!" not in "".join(c for cells in rows.values() for c in cells)
    assert "Slower than 1e+09x: none." in out
    assert _rows(report.read_text(encoding="utf-8")) == rows  # --out holds the same table


def test_a_ratio_above_the_limit_is_flagged_and_fails_the_run(bench, capsys):
    status, out = _run(bench, capsys, "--limit", "1e-9", "--only", "huber_loss")
    assert status == 1, out
    (cells,) = _rows(out).values()
    flagged = [c for c in cells[4:] if c.endswith("x !)")]
    assert len(flagged) == 4, cells  # NumPy and torch flavour, value and gradient
    assert "huber_loss: NumPy _grad" in out.split("Slower than 1e-09x: ")[1]
