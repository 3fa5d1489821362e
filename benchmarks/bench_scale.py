"""Grading at scale: what the Dask engine and the PostgreSQL gradebook cost, and how it scales.

One simulated class (``--students`` x the assignments, built as in ``bench_grading.py``: the
instructor's answers, every seventh student the unanswered release) is graded by
``python -m grader.grade_class ID... --jobs N`` in several *variants*, each on a fresh copy of the
course:

* engine ``dask``: the class grader as committed (a Dask LocalCluster of N workers);
* engine ``pool``: the home-made process pool it replaced, run from a copy of that code
  (``--old-pool DIR``: a folder holding today's ``grader`` package with the pool's
  ``grade_class.py`` of commit df16963 in place of the Dask one, so that only the engine differs:
  ``git archive HEAD grader | tar -x -C DIR && git show df16963:grader/grade_class.py >
  DIR/grader/grade_class.py``); skipped when not given;
* gradebook ``sqlite`` (the course folder's ``gradebook.db``) or ``postgres`` (a throwaway local
  PostgreSQL server, tests/grader/pgserver.py, one database per variant, given to nbgrader through
  ``LOSSCOURSE_DB_URL``);
* N = 1 and 2 workers.

Each variant is timed as the instructor sees it (the whole command: cluster or pool start-up,
grading, shut-down), then the same command once more, when every submission is skipped as
already graded: that second time is the command's fixed cost, so (first - second) / notebooks is
the time per notebook without it. Variants run ``--repeat`` times in a shuffled order so that a
change in the machine's load does not favour one. The script checks that every variant gives the
same grades for every test cell and reports medians: wall time, fixed cost, wall and CPU time
(all processes) per notebook, the grading time the workers report, the parallel efficiency
(1-worker time / (2 x 2-worker time)), the Dask and PostgreSQL layers as differences, a capacity
table on paper for 10,000 students, and the load average around each run. ``--json FILE``
keeps every run; ``--update-readme`` rewrites the table in benchmarks/README.md (section
"Grading at scale").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "grader"))
from bench_grading import ASSIGNMENTS, BIN, build_class  # noqa: E402
from gradebooks import cell_scores  # noqa: E402
from pgserver import PostgresServer  # noqa: E402
from readme_tables import replace_table  # noqa: E402


@dataclass(frozen=True)
class Variant:
    engine: str  # dask | pool
    gradebook: str  # sqlite | postgres
    workers: int

    @property
    def name(self) -> str:
        return f"{self.engine}-{self.gradebook}-{self.workers}"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("LOSSCOURSE_GRADING_SEED", None)
    env.pop("LOSSCOURSE_DB_URL", None)
    env.update(extra)
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_variant(variant: Variant, base: Path, work: Path, run: int, assignments: list[str],
                pg: PostgresServer | None, old_pool: Path | None) -> dict:
    course = work / f"{variant.name}-{run}"
    shutil.copytree(base, course)
    extra = {}
    if variant.gradebook == "postgres":
        url = pg.create_database(f"{variant.name.replace('-', '_')}_{run}")
        extra["LOSSCOURSE_DB_URL"] = url
        # the assignments into the new gradebook (not timed)
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "*", "--force"],
                       cwd=course, env=_env(**extra), check=True, capture_output=True)
    else:
        url = f"sqlite:///{course / 'gradebook.db'}"
    if variant.engine == "pool":
        extra["PYTHONPATH"] = str(old_pool)
    cmd = [sys.executable, "-m", "grader.grade_class", *assignments,
           "--jobs", str(variant.workers)]
    load0 = os.getloadavg()[0]
    wall, cpu, out = _timed(cmd, course, _env(**extra), variant)
    # the same command again: every submission is skipped as already graded, so its time is
    # the command's fixed cost (start-up, cluster or pool, shut-down) plus a cheap check each
    fixed, fixed_cpu, _ = _timed(cmd, course, _env(**extra), variant)
    work = re.search(r"\(([\d.]+) s of grading work\)", out)
    result = {"variant": variant.name, "run": run, "wall": wall, "cpu": cpu, "fixed": fixed,
              "fixed_cpu": fixed_cpu,
              "work": float(work.group(1)) if work else None,
              "load": [load0, os.getloadavg()[0]], "grades": cell_scores(url)}
    shutil.rmtree(course, ignore_errors=True)
    return result


def _timed(cmd: list[str], course: Path, env: dict, variant: Variant) -> tuple[float, float, str]:
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"{variant.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, cpu, proc.stdout


def table(results: list[dict], variants: list[Variant], notebooks: int) -> str:
    by = {v.name: [r for r in results if r["variant"] == v.name] for v in variants}
    by = {k: rs for k, rs in by.items() if rs}

    def med(key: str, name: str) -> float:
        return statistics.median(r[key] for r in by[name])

    # per notebook, start-up and shut-down excluded: (graded run - all-skipped run) / notebooks
    net = {k: (med("wall", k) - med("fixed", k)) / notebooks for k in by}
    net_cpu = {k: (med("cpu", k) - med("fixed_cpu", k)) / notebooks for k in by}
    lines = ["| variant (engine, gradebook, workers) | runs | wall per run, median (each run) "
             "| fixed cost of the command | wall per notebook, fixed cost excluded | grading "
             "work per notebook, inside the workers | CPU per notebook, all processes, fixed cost "
             "excluded | "
             "load (1 min) |", "|---|---|---|---|---|---|---|---|"]
    for v in variants:
        if v.name not in by:
            continue
        rs = by[v.name]
        loads = [x for r in rs for x in r["load"]]
        work = [r["work"] for r in rs if r["work"] is not None]
        lines.append(
            f"| {v.engine}, {v.gradebook}, {v.workers} | {len(rs)} | {med('wall', v.name):.1f} s "
            f"({', '.join(format(r['wall'], '.0f') for r in rs)}) | "
            f"{med('fixed', v.name):.1f} s | {net[v.name]:.2f} s | "
            f"{statistics.median(work) / notebooks:.2f} s | "
            f"{net_cpu[v.name]:.2f} s | {min(loads):.1f}-{max(loads):.1f} |")
    lines += ["", "| derived (medians) | value |", "|---|---|"]
    for engine, gradebook in itertools.product(("dask", "pool"), ("sqlite", "postgres")):
        one, two = f"{engine}-{gradebook}-1", f"{engine}-{gradebook}-2"
        if one in by and two in by:
            lines.append(f"| efficiency with 2 workers, {engine} + {gradebook}: per notebook "
                         f"N(1) / (2 N(2)); whole command T(1) / (2 T(2)) | "
                         f"{net[one] / (2 * net[two]):.2f}; "
                         f"{med('wall', one) / (2 * med('wall', two)):.2f} |")
    def layer(label: str, a: str, b: str) -> None:
        if a in by and b in by:
            lines.append(f"| {label}: wall per notebook; CPU per notebook; fixed cost | "
                         f"{net[a] - net[b]:+.2f} s; {net_cpu[a] - net_cpu[b]:+.2f} s; "
                         f"{med('fixed', a) - med('fixed', b):+.1f} s |")

    for w in (1, 2):
        for gradebook in ("sqlite", "postgres"):
            layer(f"Dask layer, {gradebook}, {w} worker(s), Dask minus pool",
                  f"dask-{gradebook}-{w}", f"pool-{gradebook}-{w}")
        for engine in ("dask", "pool"):
            layer(f"PostgreSQL layer, {engine}, {w} worker(s), PostgreSQL minus SQLite",
                  f"{engine}-postgres-{w}", f"{engine}-sqlite-{w}")
    same = len({json.dumps(sorted(r["grades"].items())) for r in results}) == 1
    lines.append(f"| identical grades in every run of every variant | {'yes' if same else 'NO'} |")
    lines.append(f"| machine | {os.cpu_count()} cores; load: 1-minute average, "
                 "this benchmark included |")
    if "dask-postgres-1" in by and "dask-postgres-2" in by:
        lines += ["", *capacity(net_cpu["dask-postgres-2"],
                                net["dask-postgres-1"] / (2 * net["dask-postgres-2"]))]
    return "\n".join(lines)


def capacity(cpu_per_notebook: float, efficiency: float, students: int = 10_000,
             assignments: int = 4) -> list[str]:
    """Hours to grade ``students`` x ``assignments`` notebooks with W workers, on paper: every
    worker (one core) spends the measured CPU time per notebook, at the measured efficiency of
    two workers on one machine (machines share nothing but the gradebook and the file system)."""
    n = students * assignments
    lines = [f"| capacity on paper: {students:,} students x {assignments} assignments = {n:,} "
             "notebooks | workers (one core each) | hours |", "|---|---|---|"]
    for workers in (2, 8, 32, 64, 128):
        hours = n * cpu_per_notebook / (workers * min(efficiency, 1.0)) / 3600
        lines.append(f"| CPU {cpu_per_notebook:.2f} s per notebook (Dask + PostgreSQL, 2 workers)"
                     f", efficiency {min(efficiency, 1.0):.2f} | {workers} | {hours:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--assignments", nargs="+", default=ASSIGNMENTS)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["dask", "pool"])
    parser.add_argument("--gradebooks", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--old-pool", type=Path, help="folder holding the old grader package")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every run here")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    # a kill (SIGTERM) still stops the PostgreSQL server and removes the temporary folders
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    engines = [e for e in args.engines if e != "pool" or args.old_pool]
    if "pool" in args.engines and not args.old_pool:
        print("no --old-pool folder: the pool variants are skipped")
    if args.old_pool and not (args.old_pool / "grader" / "grade_class.py").is_file():
        raise SystemExit(f"--old-pool {args.old_pool}: no grader/grade_class.py in it")
    variants = [Variant(e, g, w) for e in engines for g in args.gradebooks for w in args.workers]
    n = args.students * len(args.assignments)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    pg = PostgresServer() if "postgres" in args.gradebooks else None
    results: list[dict] = []
    try:
        if pg:
            pg.start()
        base = work / "base"
        build_class(base, args.assignments, args.students)
        order = random.Random(args.seed)
        for run in range(args.repeat):
            todo = list(variants)
            order.shuffle(todo)
            for v in todo:
                r = run_variant(v, base, work, run, args.assignments, pg, args.old_pool)
                print(f"run {run} {v.name}: {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, load "
                      f"{r['load'][0]:.1f}->{r['load'][1]:.1f}", flush=True)
                results.append(r)
    finally:
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "grades"}
                                         for r in results], indent=1))
    text = (f"Class: {args.students} students x {len(args.assignments)} assignments = {n} "
            f"notebooks per run.\n\n" + table(results, variants, n))
    print(text)
    if args.update_readme:
        replace_table("scale-table", text)


if __name__ == "__main__":
    main()
