"""Class reports for one assignment: item analysis, score distribution, static-scan findings.

``python -m grader.report ID [--course DIR]`` (run after ``nbgrader autograde ID``)
reads the per-notebook JSON reports the grader wrote (``grading_reports/ID/<student>/``) and the
gradebook's roster, and writes next to them:

* ``ID.item_analysis.csv`` and ``ID.item_analysis.html``: per test (property) the pass rate, mean
  points, discrimination (correlation between passing it and the rest of the score) and the most
  common failure messages (numbers blanked out so that similar failures group together), plus the
  students who need a look and why;
* ``ID.score_distribution.png``: histogram of the autograded scores;
* ``ID.scan_report.csv`` and ``ID.scan_report.html``: the static scan, one section per submission.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import similarity
from .records import REPORTS_DIR, read_reports
from .safety import csv_cell

__all__ = ["ItemStats", "item_analysis", "normalise_message", "write_reports", "main"]

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARRAY = re.compile(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]")
_INPUTS = re.compile(r"\s*\(?(?:for|called with) \w[\w ]*=.*$|\s*\(for the inputs .*$", re.S)


@dataclass
class ItemStats:
    grade_id: str
    description: str
    max_points: float
    graded: int = 0
    passed: int = 0
    points: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    discrimination: float | None = None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.graded if self.graded else None

    @property
    def mean_points(self) -> float | None:
        return statistics.fmean(self.points) if self.points else None


_VALUE_LABELS = ("input:", "got:", "expected:", "where:")


def normalise_message(message: str | None) -> str:
    """A failure message reduced to what alike failures share, to group them.

    The checks write short labelled lines (see :mod:`lossutils.assignments._expect`): the first
    line names the function and the property and is kept as written (its numbers belong to the
    formula: ``0.5 * r**2``, ``90/10``); the lines that only hold values (input, got, expected,
    where) are dropped; in the others (problem, hint) numbers are blanked. An older one-line
    message keeps the part before its first ``: `` and has numbers blanked after it."""
    lines = (message or "").splitlines()
    if not lines:
        return ""
    head, rest = lines[0], lines[1:]
    if not rest and ": " in head:
        head, tail = head.split(": ", 1)
        tail = _NUMBER.sub("#", _ARRAY.sub("[...]", _INPUTS.sub("", " ".join(tail.split()))))
        return f"{' '.join(head.split())}: {tail}"[:240]
    kept, label_seen = [], False
    for line in rest:
        text = line.strip()
        if text.startswith(_VALUE_LABELS):
            label_seen = True
            continue
        if label_seen and not re.match(r"\w+:", text):
            continue  # continuation of a value line
        label_seen = False
        kept.append(_NUMBER.sub("#", _ARRAY.sub("[...]", text)))
    return " | ".join([" ".join(head.split()), *(" ".join(k.split()) for k in kept if k)])[:240]


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def item_analysis(reports: dict[str, list[dict]]) -> tuple[list[ItemStats], dict[str, float]]:
    """Per-test statistics and each graded student's autograded score."""
    items: dict[str, ItemStats] = {}
    totals: dict[str, float] = {}
    per_student: dict[str, dict[str, float]] = {}
    for student, notebooks in sorted(reports.items()):
        if not any(nb.get("status") == "graded" for nb in notebooks):
            continue
        totals[student] = 0.0
        per_student[student] = {}
        for nb in notebooks:
            for t in nb.get("tests", []):
                key = f"{nb['notebook']}/{t['grade_id']}"
                item = items.setdefault(key, ItemStats(key, t["description"], t["max_points"]))
                pts = float(t["points"] or 0.0)
                item.graded += 1
                item.passed += bool(t["passed"])
                item.points.append(pts)
                if not t["passed"]:
                    item.failures[normalise_message(t["message"])] += 1
                totals[student] += pts
                per_student[student][key] = pts
    for key, item in items.items():
        students = [s for s in per_student if key in per_student[s]]
        xs = [per_student[s][key] for s in students]
        rest = [totals[s] - per_student[s][key] for s in students]
        item.discrimination = _correlation(xs, rest)
    return list(items.values()), totals


def _roster(course: Path, assignment: str) -> dict[str, str]:
    """Student id -> status ("no submission" for roster students without one)."""
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError:  # pragma: no cover - nbgrader is a course requirement
        return {}
    from .grade_class import gradebook_url

    out = {}
    configured = gradebook_url(course)  # SQLite or PostgreSQL, as nbgrader is configured
    if configured is None:
        return out
    with Gradebook(*configured) as gb:
        for student in gb.students:
            try:
                gb.find_submission(assignment, student.id)
                out[student.id] = "submitted"
            except MissingEntry:
                out[student.id] = "no submission"
    return out


def _histogram_png(scores: list[float], max_score: float | None, assignment: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = max_score or (max(scores) if scores else 1.0)
    bins = max(5, min(20, int(top) + 1))
    ax.hist(scores, bins=bins, range=(0, top), color="tab:blue", edgecolor="white")
    if scores:
        ax.axvline(statistics.fmean(scores), color="crimson", linestyle="--",
                   label=f"mean {statistics.fmean(scores):.1f}")
        ax.legend(loc="upper left")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # students come in whole numbers
    ax.set(xlabel=f"autograded score (of {top:g})", ylabel="students",
           title=f"{assignment}: score distribution (n={len(scores)})")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


class _SafeWriter:
    """``csv.writer`` whose cells never start a spreadsheet formula (:func:`.safety.csv_cell`):
    failure messages, scan snippets and file names quote text students chose."""

    def __init__(self, fh):
        self._writer = csv.writer(fh)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


def _fmt(value, digits=2) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def write_reports(course: str | Path, assignment: str) -> dict[str, Path]:
    """Write the item analysis, distribution plot and scan report; returns their paths."""
    course = Path(course)
    out_dir = course / REPORTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = read_reports(course, assignment)
    items, totals = item_analysis(reports)
    roster = _roster(course, assignment)
    max_score = sum(i.max_points for i in items) or None
    paths = {"csv": out_dir / f"{assignment}.item_analysis.csv",
             "html": out_dir / f"{assignment}.item_analysis.html",
             "png": out_dir / f"{assignment}.score_distribution.png",
             "scan_csv": out_dir / f"{assignment}.scan_report.csv",
             "scan_html": out_dir / f"{assignment}.scan_report.html"}

    with open(paths["csv"], "w", newline="", encoding="utf-8") as fh:
        w = _SafeWriter(fh)
        w.writerow(["test", "description", "max_points", "graded", "passed", "pass_rate",
                    "mean_points", "discrimination", "failure_1", "count_1", "failure_2",
                    "count_2", "failure_3", "count_3"])
        for it in items:
            common = it.failures.most_common(3)
            row = [it.grade_id, it.description, it.max_points, it.graded, it.passed,
                   _fmt(it.pass_rate, 3), _fmt(it.mean_points, 3), _fmt(it.discrimination, 3)]
            for k in range(3):
                row += list(common[k]) if k < len(common) else ["", ""]
            w.writerow(row)

    png = _histogram_png(list(totals.values()), max_score, assignment)
    paths["png"].write_bytes(png)

    review, statuses = [], Counter()
    for student in sorted(set(reports) | set(roster)):
        nbs = reports.get(student, [])
        status = nbs[0].get("status", "graded") if nbs else roster.get(student, "no submission")
        if status == "submitted":
            status = "not graded yet"
        statuses[status] += 1
        reasons = [r for nb in nbs for r in nb.get("review_reasons", [])]
        if reasons or status not in ("graded",):
            review.append((student, status, reasons))

    esc = html.escape
    scores = list(totals.values())
    summary = (f"{len(scores)} graded; mean {statistics.fmean(scores):.2f}, median "
               f"{statistics.median(scores):.2f}, min {min(scores):g}, max {max(scores):g} "
               f"(of {max_score:g})" if scores else "no graded submissions")
    rows = []
    for it in items:
        fails = "".join(f"<li>{n} &times; <code>{esc(m)}</code></li>"
                        for m, n in it.failures.most_common(3))
        rows.append(f"<tr><td>{esc(it.grade_id)}</td><td>{esc(it.description)}</td>"
                    f"<td>{it.max_points:g}</td><td>{it.graded}</td>"
                    f"<td>{_fmt(it.pass_rate and 100 * it.pass_rate, 0)}%</td>"
                    f"<td>{_fmt(it.mean_points)}</td><td>{_fmt(it.discrimination)}</td>"
                    f"<td><ul>{fails}</ul></td></tr>")
    review_rows = "".join(
        f"<tr><td>{esc(s)}</td><td>{esc(st)}</td><td>{'<br>'.join(esc(r) for r in rs)}</td></tr>"
        for s, st, rs in review)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{esc(assignment)}: item analysis</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
code{{font-size:90%}}</style></head><body>
<h1>{esc(assignment)}: item analysis</h1>
<p>{esc(summary)}. Status counts: {esc(counts)}.</p>
<img alt="score distribution" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Tests (one property each)</h2>
<table><tr><th>test</th><th>property</th><th>points</th><th>graded</th><th>pass rate</th>
<th>mean points</th><th>discrimination</th><th>most common failures</th></tr>
{''.join(rows)}</table>
<p>Discrimination: correlation between a test's points and the rest of the score; near 0 or
negative means the test does not separate stronger from weaker answers.</p>
<h2>Submissions that need a look</h2>
<table><tr><th>student</th><th>status</th><th>reasons</th></tr>{review_rows}</table>
</body></html>"""
    paths["html"].write_text(page, encoding="utf-8")
    _write_scan(reports, assignment, paths)
    paths.update(similarity.write_reports(course, assignment))  # copy detection (no grades)
    return paths


def _write_scan(reports: dict[str, list[dict]], assignment: str, paths: dict) -> None:
    esc = html.escape
    sections = []
    with open(paths["scan_csv"], "w", newline="", encoding="utf-8") as fh:
        w = _SafeWriter(fh)
        w.writerow(["student", "notebook", "severity", "rule", "where", "message", "snippet"])
        for student, nbs in sorted(reports.items()):
            items = []
            for nb in nbs:
                for f in sorted(nb.get("scan", []), key=lambda f: (
                        {"high": 0, "medium": 1, "low": 2}.get(f["severity"], 3), f["where"])):
                    w.writerow([student, nb["notebook"], f["severity"], f["rule"], f["where"],
                                f["message"], f["snippet"]])
                    items.append(f"<tr class='{esc(f['severity'])}'><td>{esc(f['severity'])}"
                                 f"</td><td>{esc(f['rule'])}</td><td>{esc(f['where'])}</td>"
                                 f"<td>{esc(f['message'])}</td><td><code>{esc(f['snippet'])}"
                                 "</code></td></tr>")
            body = (f"<table><tr><th>severity</th><th>rule</th><th>where</th><th>what</th>"
                    f"<th>code</th></tr>{''.join(items)}</table>" if items
                    else "<p>nothing found</p>")
            sections.append(f"<h2 id='{esc(student)}'>{esc(student)}</h2>{body}")
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{esc(assignment)}: static scan</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 6px}}
tr.high td{{background:#fde2e2}}tr.medium td{{background:#fff4d6}}</style></head><body>
<h1>{esc(assignment)}: static scan of every submission</h1>
<p>Triage only: findings never change a grade (the sandbox makes these tricks earn nothing).
High: almost certainly aimed at the grader; medium: unusual in an answer; low: worth a glance.
</p>{''.join(sections)}</body></html>"""
    paths["scan_html"].write_text(page, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="+")
    parser.add_argument("--course", default=".", help="course folder (default: current)")
    args = parser.parse_args(argv)
    for assignment in args.assignment:
        for kind, path in write_reports(args.course, assignment).items():
            print(f"{assignment}: {kind:9s} {path}")


if __name__ == "__main__":
    main()
