"""Grade a whole class on every core: ``python -m grader.grade_class ID [ID ...]``.

Run it from the course folder (where ``nbgrader_config.py`` is), after ``nbgrader collect`` or
``nbgrader zip_collect``. It starts ``--jobs`` worker processes (default: one per core); each
imports nbgrader once and grades one student's assignment at a time with the same application
and configuration as ``nbgrader autograde ID --student=S`` (so every protection applies), taking
the next (assignment, student) from a shared queue. A student whose grading fails or kills a
worker is reported and the worker replaced; the rest of the class goes on.

The gradebook stays consistent: the workers' SQLite connections wait for each other's short
write transactions (a busy timeout) instead of failing, the gradebook uses SQLite's write-ahead
log while they run (readers then never wait for a writer; the previous mode is restored at the
end), and no two workers ever grade the same submission. A gradebook configured elsewhere
(``CourseDirectory.db_url``, e.g. PostgreSQL) is used as configured.

Options: ``--force`` regrades submissions that were already autograded; ``--report`` writes the
class reports (:mod:`grader.report`) afterwards. The summary lists every task with
its time and outcome; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Task", "discover", "grade_class", "main"]

BUSY_TIMEOUT = 300  # seconds a worker waits for another's gradebook write


@dataclass
class Task:
    assignment: str
    student: str
    ok: bool | None = None
    seconds: float = 0.0
    error: str = ""
    attempts: int = 0


def _config_values(course: Path) -> dict:
    """submitted_directory and db_url from the course's nbgrader_config.py (no nbgrader import)."""
    from traitlets.config.loader import PyFileConfigLoader

    values = {"submitted_directory": "submitted", "db_url": None}
    path = course / "nbgrader_config.py"
    if path.is_file():
        cfg = PyFileConfigLoader(path.name, path=str(course)).load_config()
        cd = cfg.get("CourseDirectory", {})
        values["submitted_directory"] = cd.get("submitted_directory", "submitted")
        values["db_url"] = cd.get("db_url") or None
    return values


def discover(course: Path, assignments: list[str]) -> list[Task]:
    """One task per submission folder ``submitted/<student>/<assignment>/``."""
    submitted = course / _config_values(course)["submitted_directory"]
    tasks = []
    for assignment in assignments:
        for folder in sorted(submitted.glob(f"*/{glob.escape(assignment)}")):
            if folder.is_dir():
                tasks.append(Task(assignment, folder.parent.name))
    return tasks


# ---- worker side ---------------------------------------------------------------------------------

class _Grader:
    """One nbgrader autograde application per worker, configured once (nbgrader_config.py,
    --force, the gradebook URL); each task runs nbgrader's Autograde converter for one student,
    exactly what ``nbgrader autograde ID --student=S`` runs."""

    def __init__(self, course: Path, force: bool, db_url: str | None, log):
        import logging

        from nbgrader.apps import AutogradeApp

        self.course = course
        args = ["--force"] if force else []
        if db_url:
            args.append(f"--CourseDirectory.db_url={db_url}")
        self.app = AutogradeApp.instance()
        self.app.initialize(args)
        self.app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)

    def grade(self, assignment: str, student: str) -> None:
        from nbgrader.converters import Autograde, NbGraderException

        from . import intake

        cd = self.app.coursedir
        cd.assignment_id, cd.student_id = assignment, glob.escape(student)
        folder = Path(cd.format_path(cd.submitted_directory, student, assignment))
        if not any(folder.glob("*.ipynb")):
            intake.record_empty_submissions(cd, glob.escape(assignment), glob.escape(student))
            return
        try:
            Autograde(coursedir=cd, parent=self.app).start()
        except NbGraderException as exc:
            raise RuntimeError(f"nbgrader could not grade it ({exc}); see the worker log") from None


def worker(course: Path, force: bool, db_url: str | None, log_path: Path) -> None:
    """Read tasks as JSON lines on stdin, answer one JSON line each on stdout."""
    os.chdir(course)
    out = sys.stdout
    sys.stdout = sys.stderr  # nbgrader's own prints must not reach the protocol
    with open(log_path, "a", encoding="utf-8") as log:
        grader = _Grader(course, force, db_url, log)
        print(json.dumps({"ready": True}), file=out, flush=True)
        for line in sys.stdin:
            task = json.loads(line)
            t0 = time.perf_counter()
            result = {"ok": True, "error": ""}
            log.write(f"==== {task['assignment']} / {task['student']}\n")
            try:
                grader.grade(task["assignment"], task["student"])
            except Exception as exc:  # noqa: BLE001 - reported for this student only
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            log.flush()
            result["seconds"] = time.perf_counter() - t0
            print(json.dumps(result), file=out, flush=True)


# ---- parent side ---------------------------------------------------------------------------------

@dataclass
class _Worker:
    proc: subprocess.Popen
    task: Task | None = None
    started: float = 0.0
    buffer: bytes = field(default=b"")


def _spawn(course: Path, force: bool, db_url: str | None, index: int) -> _Worker:
    logs = course / "grading_reports" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "grader.grade_class", "--worker",
           "--course", str(course), "--log", str(logs / f"worker-{index}.log")]
    if force:
        cmd.append("--force")
    if db_url:
        cmd += ["--db-url", db_url]
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=course, env=env)
    return _Worker(proc)


def _send(w: _Worker, task: Task) -> None:
    task.attempts += 1
    w.task, w.started = task, time.perf_counter()
    w.proc.stdin.write((json.dumps({"assignment": task.assignment,
                                    "student": task.student}) + "\n").encode())
    w.proc.stdin.flush()


def grade_class(course: Path, assignments: list[str], jobs: int, force: bool = False,
                progress=print, task_timeout: float = 900.0) -> list[Task]:
    """Grade every submission of ``assignments``; returns the tasks with their outcomes.

    A task that takes longer than ``task_timeout`` seconds (the sandbox's own budgets make that
    impossible unless something outside the student's code hangs) has its worker killed and is
    reported as failed."""
    course = course.resolve()
    tasks = discover(course, assignments)
    db_url = _config_values(course)["db_url"]
    journal = None
    if db_url is None:
        db_url = f"sqlite:///{course / 'gradebook.db'}?timeout={BUSY_TIMEOUT}"
        # Write-ahead logging while several workers share the file: readers no longer wait for
        # writers, and a commit costs one sync. Put back afterwards (WAL needs a local disk).
        journal = _journal_mode(course / "gradebook.db", "wal")
    try:
        return _run_workers(course, tasks, jobs, force, db_url, progress, task_timeout)
    finally:
        if journal is not None and journal != "wal":
            _journal_mode(course / "gradebook.db", journal)


def _journal_mode(db: Path, mode: str) -> str | None:
    """Set SQLite's journal mode; returns the previous one (None if there is no gradebook)."""
    import sqlite3

    if not db.is_file():
        return None
    con = sqlite3.connect(db, timeout=BUSY_TIMEOUT)
    try:
        previous = con.execute("PRAGMA journal_mode").fetchone()[0]
        con.execute(f"PRAGMA journal_mode={mode}")
        return previous
    finally:
        con.close()


def _run_workers(course: Path, tasks: list[Task], jobs: int, force: bool, db_url: str,
                 progress, task_timeout: float) -> list[Task]:
    queue = list(tasks)
    workers = [_spawn(course, force, db_url, k) for k in range(max(1, min(jobs, len(tasks))))]
    idle: list[_Worker] = []
    done, respawns = 0, 0
    while done < len(tasks):
        if not workers:  # workers keep dying (cannot even start): give up on the rest
            for task in queue:
                task.ok, task.error = False, "no grading worker could be started"
            break
        for w in workers:
            if w.task is not None and time.perf_counter() - w.started > task_timeout:
                w.proc.kill()  # its stdout reaches EOF below: the task fails, a worker replaces it
        fds = {w.proc.stdout.fileno(): w for w in workers}
        ready, _, _ = select.select(list(fds), [], [], 1.0)
        for fd in ready:
            w = fds[fd]
            chunk = os.read(fd, 65536)
            if not chunk:  # the worker died: its task fails, a new worker takes over
                workers.remove(w)
                w.proc.wait()
                if w.task is not None:
                    w.task.ok, w.task.error = False, "the grading worker died or hung"
                    w.task.seconds = time.perf_counter() - w.started
                    done += 1
                    progress(f"FAILED {w.task.assignment}/{w.task.student}: worker died")
                if respawns < 2 * len(tasks):
                    respawns += 1
                    workers.append(_spawn(course, force, db_url, 100 + respawns))
                continue
            w.buffer += chunk
            while b"\n" in w.buffer:
                line, w.buffer = w.buffer.split(b"\n", 1)
                message = json.loads(line)
                if w.task is not None:
                    task, w.task = w.task, None
                    if not message["ok"] and "locked" in message["error"] and task.attempts < 2:
                        queue.insert(0, task)  # the gradebook was busy: try once more
                    else:
                        task.ok, task.error = message["ok"], message["error"]
                        task.seconds = message["seconds"]
                        done += 1
                        progress(f"{'ok    ' if task.ok else 'FAILED'} {task.assignment}/"
                                 f"{task.student} ({task.seconds:.1f} s) {task.error}".rstrip())
                idle.append(w)
        while idle and queue:
            w = idle.pop()
            if w in workers:
                _send(w, queue.pop(0))
    for w in workers:
        w.proc.stdin.close()
    for w in workers:
        w.proc.wait(timeout=60)
    return tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="*")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--course", default=".")
    parser.add_argument("--force", action="store_true", help="regrade graded submissions")
    parser.add_argument("--report", action="store_true", help="write the class reports")
    parser.add_argument("--task-timeout", type=float, default=900.0,
                        help="seconds before a worker stuck on one submission is replaced")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    course = Path(args.course).resolve()
    if args.worker:
        worker(course, args.force, args.db_url, Path(args.log))
        return 0
    if not args.assignment:
        parser.error("name at least one assignment")
    t0 = time.perf_counter()
    tasks = grade_class(course, args.assignment, args.jobs, args.force,
                        task_timeout=args.task_timeout)
    wall = time.perf_counter() - t0
    failed = [t for t in tasks if not t.ok]
    busy = sum(t.seconds for t in tasks)
    print(f"graded {len(tasks) - len(failed)} of {len(tasks)} submissions in {wall:.1f} s with "
          f"{args.jobs} worker(s) ({busy:.1f} s of grading work)")
    for t in failed:
        print(f"  FAILED {t.assignment}/{t.student}: {t.error}")
    if args.report:
        from .report import write_reports

        for assignment in args.assignment:
            write_reports(course, assignment)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
