"""How fast is the secure autograder? A simulated class graded serially, in parallel, and bare.

In a temporary course folder (the repository's ``nbgrader_config.py`` and ``solutions/``), a
class of ``--students`` students submits every assignment: most hand in the instructor's answers,
every seventh the unanswered release. Then, on identical copies of that course:

1. **serial**: ``nbgrader autograde ID`` for each assignment in turn (one process each, as an
   instructor would type it);
2. **parallel**: one ``python -m grader.grade_class ID... --jobs N`` for all the
   assignments (N = ``--jobs``, default every core: a Dask LocalCluster of N workers since the
   class grader moved to Dask; ``bench_scale.py`` compares it with the process pool it replaced);
3. **bare**: for ``--bare`` submissions per assignment, the graded notebook (the student's answers
   and every test, hidden ones included) executed top to bottom in a Jupyter kernel with nbclient,
   which is what stock nbgrader's grading amounts to, without any protection.

It reports wall times, the parallel efficiency (target: parallel wall within 1.3x of serial / N),
the grading time per notebook against the bare execution (target: within 1.5x), and checks that
both runs give identical grades for every submission and an intact SQLite gradebook.
``--update-readme`` rewrites the results table in benchmarks/README.md (section "Grading").
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("LOSSCOURSE_GRADING_SEED", None)
    return env


CPU = {"seconds": 0.0}  # CPU time of every finished command and its descendants


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], cwd: Path) -> float:
    t0, c0 = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    CPU["seconds"] = _cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def _answers(assignment: str) -> dict[str, str]:
    import nbformat

    from grader.submission import instructor_answers

    return instructor_answers(
        nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4))


def build_class(course: Path, assignments: list[str], students: int) -> None:
    import nbformat

    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, course / "solutions" / a)
    _run([str(BIN / "nbgrader"), "generate_assignment", "*", "--force"], course)
    for a in assignments:
        answers = _answers(a)
        release = nbformat.read(course / "exercises" / a / f"{a}.ipynb", as_version=4)
        for k in range(students):
            nb = nbformat.from_dict(release)
            if k % 7 != 3:
                for cell in nb.cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if gid in answers:
                        cell.source = answers[gid]
            folder = course / "submitted" / f"s{k:03d}" / a
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{a}.ipynb")


def grades(course: Path) -> dict[tuple[str, str, str], float]:
    con = sqlite3.connect(course / "gradebook.db")
    try:
        rows = con.execute(
            "SELECT a.name, st.id, gc.name, g.auto_score FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "JOIN assignment a ON sa.assignment_id = a.id "
            "JOIN student st ON sa.student_id = st.id "
            "JOIN base_cell gc ON g.cell_id = gc.id").fetchall()
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    return {(a, s, c): score for a, s, c, score in rows}


def bare_seconds(course: Path, assignments: list[str], per_assignment: int) -> list[float]:
    """nbclient execution of graded notebooks (answers + all tests), kernel start included."""
    import nbformat
    from nbclient import NotebookClient

    times = []
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the checks skip figures, as when grading
    for a in assignments:
        for k in [k for k in range(per_assignment * 7) if k % 7 != 3][:per_assignment]:
            path = course / "autograded" / f"s{k:03d}" / a / f"{a}.ipynb"
            nb = nbformat.read(path, as_version=4)
            nb.cells = [c for c in nb.cells if not c.metadata.get("lossgrade_report")]
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            with tempfile.TemporaryDirectory() as tmp:
                client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                        resources={"metadata": {"path": tmp}})
                t0 = time.perf_counter()
                client.execute()
                times.append(time.perf_counter() - t0)
    return times


def startup_seconds(course: Path) -> float:
    """An `nbgrader autograde` that finds nothing to do: the fixed cost of one command."""
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENTS[0], "--student=nobody"],
                   cwd=course, env=_env(), capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--assignments", nargs="+", default=ASSIGNMENTS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bare", type=int, default=3, help="bare runs per assignment")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        base = work / "base"
        build_class(base, args.assignments, args.students)
        serial, parallel = work / "serial", work / "parallel"
        shutil.copytree(base, serial)
        shutil.copytree(base, parallel)
        n = args.students * len(args.assignments)
        start = startup_seconds(serial)

        per, t_serial, cpu_serial, loads = {}, 0.0, 0.0, [os.getloadavg()[0]]
        for a in args.assignments:
            per[a] = _run([str(BIN / "nbgrader"), "autograde", a], serial)
            t_serial += per[a]
            cpu_serial += CPU["seconds"]
            loads.append(os.getloadavg()[0])
        t_parallel = _run([sys.executable, "-m", "grader.grade_class",
                           *args.assignments, "--jobs", str(args.jobs)], parallel)
        cpu_parallel = CPU["seconds"]
        loads.append(os.getloadavg()[0])
        same = grades(serial) == grades(parallel)
        bare = bare_seconds(serial, args.assignments, args.bare)
        grading = (t_serial - start * len(args.assignments)) / n
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ideal = t_serial / args.jobs
    bare_mean = statistics.fmean(bare)
    table = "\n".join([
        "| measurement | value |", "|---|---|",
        f"| class | {args.students} students x {len(args.assignments)} assignments = {n} "
        "notebooks |",
        f"| serial: `nbgrader autograde ID`, one per assignment | {t_serial:.1f} s "
        f"({', '.join(f'{a} {s:.0f} s' for a, s in per.items())}) |",
        f"| parallel: one `grade_class ID... --jobs {args.jobs}` for all assignments | "
        f"{t_parallel:.1f} s |",
        f"| parallel / (serial / {args.jobs}) (target <= 1.3) | {t_parallel / ideal:.2f} |",
        f"| CPU time serial / parallel (all processes) | {cpu_serial:.0f} s / "
        f"{cpu_parallel:.0f} s |",
        f"| cores kept busy: serial / parallel (CPU time / wall time) | "
        f"{cpu_serial / t_serial:.2f} / {cpu_parallel / t_parallel:.2f} |",
        f"| load average (1 min) during the runs, min / max | {min(loads):.1f} / "
        f"{max(loads):.1f} |",
        f"| identical grades serial vs parallel, gradebook intact | {'yes' if same else 'NO'} |",
        f"| start-up of one `nbgrader` command | {start:.1f} s |",
        f"| secure grading per notebook (serial, start-up excluded) | {grading:.2f} s |",
        f"| bare kernel execution per notebook (nbclient, {len(bare)} runs) | "
        f"{bare_mean:.2f} s (min {min(bare):.2f}, max {max(bare):.2f}) |",
        f"| grading / bare (target <= 1.5) | {grading / bare_mean:.2f} |",
        f"| machine | {os.cpu_count()} cores, shared with other jobs |",
    ])
    print(table)
    if args.update_readme:
        from readme_tables import replace_table

        replace_table("grading-table", table)


if __name__ == "__main__":
    main()
