"""Grade a whole class on a Dask cluster: ``python -m grader.grade_class ID [ID ...]``.

Run it from the course folder (where ``nbgrader_config.py`` is), after ``nbgrader collect`` or
``nbgrader zip_collect``. Every submission folder ``submitted/<student>/<ID>/`` becomes one task,
graded by a worker of a Dask cluster (``distributed``) with the same application, configuration
and code path as ``nbgrader autograde ID --student=<student>`` (:mod:`grader.cluster`), so every
protection applies:

* by default a LocalCluster on this machine with ``--jobs`` worker processes (default: one per
  core);
* with ``--scheduler tcp://HOST:PORT``, an existing cluster (``dask scheduler`` and ``dask worker
  ... --nthreads 1`` processes on other machines), which must see the course folder at the same
  path and the gradebook: set ``LOSSCOURSE_DB_URL`` to a PostgreSQL database (see
  ``nbgrader_config.py``) when the workers run on several machines.

The gradebook is prepared once before the tasks run (tables, students), so the workers never race
to create the same rows; a SQLite gradebook uses its write-ahead log while they run (and a busy
timeout), a PostgreSQL one is used as configured. A worker that dies mid-task has its submission
regraded elsewhere; one that kills workers again and again is given up after
``--allowed-failures`` deaths (Dask's ``KilledWorker``) and reported with the reason. A submission
that could not be graded is flagged in the gradebook with the reason (the export's ``status`` and
``notes`` show it) and gets 0 until it is graded.

Options: ``--force`` regrades submissions that were already autograded (without it nbgrader skips
them, and the summary counts them as skipped); ``--report`` writes the class reports
(:mod:`grader.report`) afterwards and prints where. The summary counts graded, skipped, empty and
failed submissions apart and lists every failure; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import cluster, records

__all__ = ["Task", "course_directory", "gradebook_url", "discover", "grade_class", "summary",
           "main"]

BUSY_TIMEOUT = 300  # seconds a SQLite connection waits for another's write transaction
NO_WORKER_TIMEOUT = 300.0  # seconds without any worker before the rest of the class is given up


@dataclass
class Task:
    assignment: str
    student: str
    status: str = ""  # graded, skipped, empty, failed
    seconds: float = 0.0
    error: str = ""
    worker: str = ""
    forced_after_death: bool = False

    @property
    def ok(self) -> bool:
        return self.status in ("graded", "skipped", "empty")


def course_directory(course: Path):
    """nbgrader's CourseDirectory settings of ``course``, from its nbgrader_config.py (which
    reads ``LOSSCOURSE_DB_URL`` for the gradebook): what the grading workers are given."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config, root=str(course))


def gradebook_url(course: Path) -> tuple[str, str] | None:
    """(db_url, course_id) of the course's gradebook as nbgrader is configured (SQLite file or
    ``LOSSCOURSE_DB_URL``), or None for a SQLite gradebook that does not exist yet."""
    cd = course_directory(course)
    sqlite = _sqlite_file(cd.db_url)
    if sqlite is not None and not sqlite.is_file():
        return None
    return cd.db_url, cd.course_id


def discover(course: Path, assignments: list[str], cd=None) -> list[Task]:
    """One task per submission folder ``submitted/<student>/<assignment>/``."""
    cd = cd or course_directory(course)
    tasks = []
    for assignment in assignments:
        pattern = cd.format_path(cd.submitted_directory, "*", glob.escape(assignment))
        for folder in sorted(glob.glob(pattern)):
            if os.path.isdir(folder):
                tasks.append(Task(assignment, Path(folder).parent.name))
    return tasks


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return Path(u.database) if u.get_backend_name() == "sqlite" and u.database else None


def _with_busy_timeout(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if "timeout" in u.query:
        return url
    return u.update_query_dict({"timeout": str(BUSY_TIMEOUT)}).render_as_string(
        hide_password=False)


def prepare_gradebook(db_url: str, course_id: str, assignments: list[str],
                      students: list[str]) -> None:
    """Create the gradebook's tables and the students before any worker writes to it: rows that
    several workers would otherwise create at the same moment."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) as gb:
        for a in assignments:
            try:
                gb.find_assignment(a)
            except MissingEntry:
                raise SystemExit(f"the gradebook has no assignment '{a}': run `nbgrader "
                                 f"generate_assignment {a}` first (gradebook: "
                                 f"{_redacted(db_url)})") from None
        known = {s.id for s in gb.students}
        for s in sorted(set(students) - known):
            gb.update_or_create_student(s)


@contextmanager
def _sqlite_wal(db: Path | None):
    """Write-ahead logging while several workers share a SQLite file (readers never wait for a
    writer; a commit costs one sync); the previous journal mode is put back afterwards."""
    import sqlite3

    if db is None or not db.is_file():
        yield
        return
    con = sqlite3.connect(db, timeout=BUSY_TIMEOUT)
    try:
        previous = con.execute("PRAGMA journal_mode").fetchone()[0]
        con.execute("PRAGMA journal_mode=wal")
    finally:
        con.close()
    try:
        yield
    finally:
        if previous != "wal":
            con = sqlite3.connect(db, timeout=BUSY_TIMEOUT)
            try:
                con.execute(f"PRAGMA journal_mode={previous}")
            finally:
                con.close()


@contextmanager
def _client(jobs: int, scheduler: str | None, allowed_failures: int):
    """A Dask client: of a new LocalCluster, or of the cluster at ``scheduler``."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from distributed import Client

    if scheduler:
        client = Client(scheduler, timeout=60)
        try:
            failures = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler
                                               .allowed_failures)
            yield client, f"the cluster at {scheduler}", failures
        finally:
            client.close()
        return
    with cluster.local_cluster(jobs, allowed_failures) as local:
        client = Client(local)
        try:
            yield client, f"a local cluster of {jobs} worker(s)", allowed_failures
        finally:
            client.close()


def _check_workers(client, course: Path, progress) -> None:
    """Every worker must see the course folder; warn about workers with several threads (they
    grade one submission at a time: nbgrader works in the course folder)."""
    deadline = time.monotonic() + 60
    while not client.scheduler_info()["workers"]:
        if time.monotonic() > deadline:
            raise SystemExit("the cluster has no workers: start some with `dask worker "
                             "tcp://SCHEDULER:PORT --nthreads 1`")
        time.sleep(0.5)
    try:
        checks = client.run(cluster.worker_check, str(course))
    except Exception as exc:  # noqa: BLE001 - typically: the workers lack the grader package
        raise SystemExit(f"the workers could not run the grader ({type(exc).__name__}: {exc}): "
                         "install the course's requirements-grader.txt on every worker") from None
    for address, info in checks.items():
        if not (info["course"] and info["config"]):
            raise SystemExit(f"worker {address} on {info['host']} cannot see the course folder "
                             f"{course} (or its nbgrader_config.py): every worker must mount it at "
                             "the same path")
        if info["threads"] > 1:
            progress(f"note: worker {address} has {info['threads']} threads but grades one "
                     "submission at a time; start workers with --nthreads 1 (and --nworkers N)")


def _record_failure(course: Path, db_url: str, course_id: str, task: Task) -> None:
    """Flag a submission that could not be graded, with the reason, and give it 0 (until it is
    graded): the gradebook, formgrader and the export then say why."""
    from nbgrader.api import Gradebook, MissingEntry

    reason = f"grading failed: {task.error}"
    with Gradebook(db_url, course_id) as gb:
        try:
            notebooks = [n.name for n in gb.find_assignment(task.assignment).notebooks]
        except MissingEntry:
            return
        gb.update_or_create_submission(task.assignment, task.student)
    for nb in notebooks:
        records.annotate_gradebook(db_url, task.assignment, nb, task.student, [reason],
                                   flag=True, zero=True)
        records.write_report(course, {
            "student": task.student, "assignment": task.assignment, "notebook": nb,
            "status": "failed", "autograded_score": 0.0, "autograded_max": None,
            "needs_review": True, "review_reasons": [reason], "tests": [],
            "notes": [{"code": "grading-failed", "message": reason, "review": True}],
            "scan": []})


def grade_class(course: Path, assignments: list[str], jobs: int | None = None,
                scheduler: str | None = None, force: bool = False, progress=print,
                task_timeout: float = 900.0,
                allowed_failures: int = cluster.ALLOWED_FAILURES) -> tuple[list[Task], str]:
    """Grade every submission of ``assignments``; returns the tasks with their outcomes and a
    description of the cluster used."""
    from distributed import KilledWorker, wait

    course = course.resolve()
    cd = course_directory(course)
    tasks = discover(course, assignments, cd)
    db_url = cd.db_url
    sqlite = _sqlite_file(db_url)
    if sqlite is not None:
        db_url = _with_busy_timeout(db_url)
        if scheduler:
            progress("note: a SQLite gradebook with a remote cluster works only if every worker "
                     "sees the file on a local disk; use PostgreSQL (LOSSCOURSE_DB_URL)")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    prepare_gradebook(db_url, cd.course_id, assignments, [t.student for t in tasks])
    if not tasks:
        return tasks, "no cluster (nothing to grade)"
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    run = uuid.uuid4().hex[:8]
    with _sqlite_wal(sqlite), _client(jobs, scheduler, allowed_failures) as (client, where,
                                                                               failures):
        _check_workers(client, course, progress)
        futures = {client.submit(cluster.grade_submission, str(course), t.assignment, t.student,
                                 force, db_url, task_timeout, run, pure=False,
                                 key=f"grade-{t.assignment}-{t.student}-{run}"): t
                   for t in tasks}
        pending, idle_since = set(futures), None
        while pending:
            try:
                done, pending = wait(pending, timeout=5, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished in these 5 s
                done = set()
            for fut in done:
                task = futures[fut]
                if fut.status == "finished":
                    out = fut.result()
                    task.status, task.error = out["status"], out["error"]
                    task.seconds, task.worker = out["seconds"], out["worker"]
                    task.forced_after_death = out["forced_after_death"]
                else:
                    exc = fut.exception()
                    task.status = "failed"
                    if isinstance(exc, KilledWorker):
                        task.error = cluster.failure_reason(course, task.assignment,
                                                            task.student, failures + 1, run)
                    else:
                        task.error = f"{type(exc).__name__}: {exc}"[:500]
                # forget it at once: a result kept on a worker that dies is computed again
                del futures[fut]
                fut.release()
                progress(_line(task))
            if done or client.scheduler_info()["workers"]:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > NO_WORKER_TIMEOUT:
                for fut in pending:
                    futures[fut].status = "failed"
                    futures[fut].error = (f"no grading worker for {NO_WORKER_TIMEOUT:.0f} s: "
                                          "the cluster lost all its workers")
                client.cancel(list(pending))
                break
    for task in tasks:
        if task.status == "failed":
            _record_failure(course, db_url, cd.course_id, task)
    return tasks, where


def _line(task: Task) -> str:
    head = {"graded": "ok     ", "skipped": "skipped", "empty": "empty  "}.get(task.status,
                                                                          "FAILED ")
    text = f"{head} {task.assignment}/{task.student}"
    if task.status == "skipped":
        return text + " (already graded; --force regrades it)"
    if task.status == "failed":
        return f"{text}: {task.error}"
    return text + f" ({task.seconds:.1f} s)" + (
        " - regraded: the first attempt died with its worker" if task.forced_after_death else "")


def summary(tasks: list[Task], wall: float, where: str) -> str:
    count = {s: sum(t.status == s for t in tasks) for s in ("graded", "skipped", "empty",
                                                           "failed")}
    busy = sum(t.seconds for t in tasks)
    lines = [f"{len(tasks)} submissions: {count['graded']} graded, {count['skipped']} skipped "
             f"(already graded; --force regrades them), {count['empty']} empty (recorded with "
             f"0 points), {count['failed']} failed; {wall:.1f} s on {where} ({busy:.1f} s of "
             "grading work)"]
    lines += [f"  FAILED {t.assignment}/{t.student}: {t.error}" for t in tasks
              if t.status == "failed"]
    lines += [f"  regraded after a worker died: {t.assignment}/{t.student}" for t in tasks
              if t.forced_after_death and t.status != "failed"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="+")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--scheduler", help="grade on the existing Dask cluster at this address "
                        "(tcp://HOST:PORT) instead of a local one")
    parser.add_argument("--course", default=".", help="the course folder (default: current)")
    parser.add_argument("--force", action="store_true", help="regrade graded submissions")
    parser.add_argument("--report", action="store_true", help="write the class reports")
    parser.add_argument("--task-timeout", type=float, default=900.0,
                        help="seconds one submission may take before its worker is stopped")
    parser.add_argument("--allowed-failures", type=int, default=cluster.ALLOWED_FAILURES,
                        help="retries of a submission whose worker died (local cluster; an "
                        "existing cluster uses its scheduler's setting)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    course = Path(args.course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        parser.error(f"{course} has no nbgrader_config.py: run this from the course folder "
                     "(or give --course)")
    os.chdir(course)
    t0 = time.perf_counter()
    tasks, where = grade_class(course, args.assignment, args.jobs, args.scheduler, args.force,
                               task_timeout=args.task_timeout,
                               allowed_failures=args.allowed_failures)
    print(summary(tasks, time.perf_counter() - t0, where))
    if not tasks:
        print(f"no submission folders for {', '.join(args.assignment)} (nbgrader collect / "
              "zip_collect puts them in submitted/<student>/<assignment>/)")
    print(f"grading logs, one per student and assignment: "
          f"{course / records.REPORTS_DIR / 'logs'}/<assignment>/<student>.log")
    print(f"grading reports, one per notebook: "
          f"{course / records.REPORTS_DIR}/<assignment>/<student>/<notebook>.json")
    if args.report:
        from .report import write_reports

        for assignment in args.assignment:
            for kind, path in write_reports(course, assignment).items():
                print(f"class report {assignment} {kind}: {path}")
    return 1 if any(t.status == "failed" for t in tasks) else 0


if __name__ == "__main__":
    sys.exit(main())
