"""How long does copy detection take for a class? ``grader.similarity`` on simulated classes.

For each class size (``--students``, default 60 and 600), a temporary course holds, for every
assignment, one autograded notebook per simulated student, built the way the grader builds it
(:func:`grader.submission.rebuild` of a submission into the instructor's notebook). The answers
are the independent honest solutions and disguised copies of tests/grader/similarity_cases.py
(huber, focal) and the instructor's answers (every assignment), each student's with its own
random variable names, blank lines and comments, so that no two documents are the same text;
every twentieth student copies another's answers (renamed again).

The detection runs as ``grader.report`` runs it (:func:`grader.similarity.run_bounded`: a child
process with its limits and fixed hash seed), once per assignment. Reported: wall time per
assignment and per class, the number of comparisons copydetect made, and the child's peak
memory. The classes are for timing: many simulated students share an approach, so the number of
listed pairs says nothing about precision (tests/grader/test_similarity.py checks that).
``--update-readme`` rewrites the table in benchmarks/README.md (section "Grading at scale").
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "grader"))
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]


class _Rename(ast.NodeTransformer):
    """Random names for a function's local variables and arguments (not the graded names)."""

    def __init__(self, rng: random.Random, keep: set[str]):
        self.rng, self.keep, self.names = rng, keep, {}

    def _new(self, name: str) -> str:
        if name in self.keep or name.startswith("__"):
            return name
        if name not in self.names:
            self.names[name] = f"{self.rng.choice('abcdefghkmnpqrstuvwxyz')}{len(self.names)}_" \
                               f"{self.rng.randrange(1000)}"
        return self.names[name]

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node


def _disguise(source: str, rng: random.Random, keep: set[str]) -> str:
    """The cell with local names changed and comments and blank lines sprinkled in."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)} | {a.arg for n in ast.walk(tree)
                                                  if isinstance(n, ast.FunctionDef)
                                                  for a in n.args.args}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    free = names - bound  # modules, builtins, other functions: keep
    tree = _Rename(rng, keep | free).visit(tree)
    lines = []
    for line in ast.unparse(tree).splitlines():
        lines.append(line)
        if rng.random() < 0.15:
            lines.append("")
        if rng.random() < 0.1 and line.strip():
            indent = line[:len(line) - len(line.lstrip())]
            lines.append(f"{indent}# step {rng.randrange(100)}")
    return "\n".join(lines) + "\n"


def _variants(assignment: str) -> list[dict[str, str]]:
    from adversarial.course import solution_answers
    from similarity_cases import (
        COPY_OF_LIBRARY,
        COPY_OF_SOURCE,
        HONEST_FOCAL,
        HONEST_HUBER,
        SOURCE_HUBER,
    )

    base = solution_answers(assignment)
    extra = {"huber": [*HONEST_HUBER.values(), SOURCE_HUBER, COPY_OF_SOURCE],
             "focal": [*HONEST_FOCAL.values(), COPY_OF_LIBRARY]}.get(assignment, [])
    return [base] + [{**base, **code} for code in extra]


def build(course: Path, students: int, seed: int) -> None:
    import nbformat

    from grader import submission

    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    rng = random.Random(seed)
    for a in ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / a, course / "solutions" / a)
        shutil.copytree(ROOT / "exercises" / a, course / "exercises" / a)
        master = nbformat.read(course / "solutions" / a / f"{a}.ipynb", as_version=4)
        release = nbformat.read(course / "exercises" / a / f"{a}.ipynb", as_version=4)
        graded = set(submission.layout(master).graded_names)
        variants = _variants(a)
        answers: list[dict[str, str]] = []
        for k in range(students):
            if k % 20 == 19 and answers:
                chosen = rng.choice(answers)  # a copier takes a classmate's answers
            else:
                chosen = rng.choice(variants)
            answers.append({gid: _disguise(src, rng, graded) for gid, src in chosen.items()})
            nb = nbformat.from_dict(release)
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid in answers[-1]:
                    cell.source = answers[-1][gid]
            rebuilt, _ = submission.rebuild(nb, master)
            folder = course / "autograded" / f"s{k:04d}" / a
            folder.mkdir(parents=True)
            nbformat.write(rebuilt, folder / f"{a}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[60, 600])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    from grader import similarity

    rows = []
    for n in args.students:
        work = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
        try:
            t0 = time.perf_counter()
            build(work, n, args.seed)
            built = time.perf_counter() - t0
            for run in range(args.repeat):
                times, comparisons, pairs, load = {}, 0, 0, os.getloadavg()[0]
                for a in ASSIGNMENTS:
                    t0 = time.perf_counter()
                    result = similarity.run_bounded(work, a)
                    times[a] = time.perf_counter() - t0
                    if result.get("error"):
                        raise SystemExit(f"{a}, {n} students: {result['error']}")
                    comparisons += result["comparisons"]
                    pairs += len(result["pairs"])
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                rows.append((n, run, times, comparisons, pairs, peak, load))
                print(f"{n} students, run {run}: {sum(times.values()):.1f} s "
                      f"({', '.join(f'{a} {t:.1f}' for a, t in times.items())}), "
                      f"{comparisons} comparisons, peak {peak:.0f} MB, load {load:.1f} "
                      f"(class built in {built:.0f} s)", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    table = ["| students | run | wall, 4 assignments | per assignment (huber, focal, triplet, "
             "kl_vs_ce) | comparisons | peak memory of the child | load (1 min) |",
             "|---|---|---|---|---|---|---|"]
    for n, run, times, comparisons, _, peak, load in rows:
        table.append(f"| {n} | {run + 1} | {sum(times.values()):.1f} s | "
                     f"{', '.join(f'{t:.1f}' for t in times.values())} s | {comparisons} | "
                     f"{peak:.0f} MB | {load:.1f} |")
    text = "\n".join(table)
    print(text)
    if args.update_readme:
        from readme_tables import replace_table

        replace_table("similarity-table", text)


if __name__ == "__main__":
    main()
