"""Peak memory and time of the grader process per submission: an honest one and the worst tried.

For each submission below (huber assignment), in a temporary copy of the course, one fresh Python
process runs ``nbgrader autograde huber --student=<id>`` (nbgrader's own application, in process,
exactly what the command runs) and reports its peak resident memory (``ru_maxrss`` of that
process alone: the sandbox is a separate, memory-limited process) and wall time; a second one
does the same for ``nbgrader generate_feedback``. The submissions:

* ``honest``: the instructor's answers;
* ``big_outputs``: honest answers in a notebook of 19 MB (a cell output with a large image),
  just under the 20 MB file limit;
* ``oversized_file``: the same at 40 MB (refused unread, flagged);
* ``deep_json``: JSON nested 100,000 levels deep (refused before parsing);
* ``wide_json``: 190,000 empty objects in the notebook's metadata (just under the 200,000 limit);
* ``huge_cell``: an answer cell of 190,000 characters (under the per-cell limit) and a written
  answer of 150,000 lines of ``# BEGIN HIDDEN TESTS`` (cut to 20,000 characters);
* ``forged_reply``: answer code that writes an 8 MB nested frame to the grader's channel (the
  largest reply the grader reads) on every call;
* ``memory_bomb``: answer code that allocates without bound (the sandbox's limit stops it).

``--update-readme`` rewrites the table in benchmarks/README.md (section "Grader memory").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

_RUN = textwrap.dedent("""
    import json, os, sys, time
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp
    t0 = time.perf_counter()
    app = NbGraderApp.instance()
    code = 0
    try:
        app.initialize(sys.argv[1:])
        app.start()
    except NoStart:
        pass
    except SystemExit as exc:
        code = exc.code or 0
    # VmHWM: this process's own peak (ru_maxrss also carries the parent's across exec)
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({"code": code, "seconds": time.perf_counter() - t0, "peak_mb": hwm / 1024}))
""")

_FORGED = '''import os
import struct


def huber_loss(pred, target, delta=1.0):
    body = b"[" * (8 * 2**20 - 64)
    os.write(3, struct.pack(">I", len(body)) + body)
    return 0.0
'''

_BOMB = '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    hoard = []
    while True:
        hoard.append(np.ones(10**7))
'''


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("LOSSCOURSE_GRADING_SEED", None)
    return env


def _notebook(answers: dict[str, str]) -> dict:
    nb = json.loads((ROOT / "exercises" / "huber" / "huber.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    return nb


def submissions() -> dict[str, str]:
    """Submission name -> notebook file text."""
    sys.path.insert(0, str(ROOT))
    import nbformat

    from grader.submission import instructor_answers

    honest = instructor_answers(nbformat.read(ROOT / "solutions" / "huber" / "huber.ipynb",
                                              as_version=4))
    out = {"honest": json.dumps(_notebook(honest))}

    def with_image(megabytes: float) -> str:
        nb = _notebook(honest)
        data = "A" * int(megabytes * 2**20)
        nb["cells"][3]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                      "data": {"image/png": data}}]
        return json.dumps(nb)

    out["big_outputs"] = with_image(19)
    out["oversized_file"] = with_image(40)
    out["deep_json"] = ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": '
                        + "[" * 100_000 + "]" * 100_000 + "}")
    wide = _notebook(honest)
    wide["metadata"]["x"] = [{}] * 190_000
    out["wide_json"] = json.dumps(wide)
    huge = _notebook({**honest, "huber_loss": honest["huber_loss"] + "# " + "x" * 190_000})
    for cell in huge["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "written_interpretation":
            cell["source"] = "# BEGIN HIDDEN TESTS\n" * 150_000
    out["huge_cell"] = json.dumps(huge)
    out["forged_reply"] = json.dumps(_notebook({**honest, "huber_loss": _FORGED}))
    out["memory_bomb"] = json.dumps(_notebook({**honest, "huber_loss": _BOMB}))
    return out


def _measure(course: Path, args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=900)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(keep: bool) -> list[dict]:
    base = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        course = base / "course"
        course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions" / "huber", course / "solutions" / "huber")
        shutil.copytree(ROOT / "exercises" / "huber", course / "exercises" / "huber")
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "huber"], cwd=course,
                       env=_env(), check=True, capture_output=True)
        rows = []
        for name, text in submissions().items():
            folder = course / "submitted" / name / "huber"
            folder.mkdir(parents=True)
            (folder / "huber.ipynb").write_text(text)
            grade = _measure(course, ["autograde", "huber", f"--student={name}"])
            feedback = _measure(course, ["generate_feedback", "huber", f"--student={name}"])
            report = json.loads((course / "grading_reports" / "huber" / name / "huber.json")
                                .read_text())
            rows.append({"submission": name, "size_mb": len(text) / 2**20,
                         "autograde_mb": grade["peak_mb"], "autograde_s": grade["seconds"],
                         "feedback_mb": feedback["peak_mb"], "feedback_s": feedback["seconds"],
                         "score": report["autograded_score"],
                         "flagged": report["needs_review"]})
            print(json.dumps(rows[-1]), flush=True)
        return rows
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def table(rows: list[dict]) -> str:
    lines = ["| submission | file | autograde: peak MB | s | generate_feedback: peak MB | s | "
             "score / 20 | flagged |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['submission']} | {r['size_mb']:.1f} MB | {r['autograde_mb']:.0f} | "
                     f"{r['autograde_s']:.1f} | {r['feedback_mb']:.0f} | {r['feedback_s']:.1f} | "
                     f"{r['score']:g} | {'yes' if r['flagged'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    args = parser.parse_args()
    rows = run(args.keep)
    text = table(rows)
    print(text)
    if args.update_readme:
        from readme_tables import replace_table  # beside this script

        replace_table("memory-table", text)


if __name__ == "__main__":
    main()
