"""Grading on a Dask cluster: one task per (student, assignment), run by ``distributed`` workers.

:func:`grade_submission` is the task. It runs in a Dask worker process, which keeps one nbgrader
autograde application per course (configured from the course's ``nbgrader_config.py``, exactly
as ``nbgrader autograde`` is) and grades one student's assignment with nbgrader's ``Autograde``
converter: the same code path as ``nbgrader autograde ID --student=S``, every protection
included. The course folder must be at the same path on every worker (a shared file system, as
nbgrader's exchange already assumes); the gradebook is the URL the client passes (PostgreSQL for
several machines).

What a task leaves in the course folder, under ``grading_reports/logs/<assignment>/``:

* ``<student>.log``: nbgrader's log of every attempt, each between a start and an end line naming
  the worker;
* ``<student>.outcome``: the outcome of the last attempt that ended, with the run it belongs to;
* ``<student>.running`` while an attempt runs. An attempt that finds this marker knows that the
  previous one died with its worker (killed, out of memory, machine lost) and grades with
  ``--force`` for this student, so that nbgrader neither skips the half-written submission nor
  keeps half of it. nbgrader writes gradebook rows with update-or-create, so a regraded
  submission keeps one row per notebook and cell: nothing is lost and nothing duplicated.

A worker that dies while grading makes the scheduler give the task to another worker; after
``distributed.scheduler.allowed-failures`` deaths the scheduler gives up with ``KilledWorker``,
which the client reports with the reason (:func:`failure_reason`). A task that runs longer than
its time limit (beyond every sandbox budget: only a hang outside the student's code can do that)
stops its worker the same way, after writing why to the log.

:func:`local_cluster` starts a LocalCluster sized for grading (one thread per worker process,
one task per worker at a time, a bounded number of retries).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .records import REPORTS_DIR
from .safety import one_line

__all__ = ["grade_submission", "local_cluster", "failure_reason", "log_path", "ALLOWED_FAILURES",
           "worker_check"]

ALLOWED_FAILURES = 2  # deaths of a worker on one task before the scheduler gives up on it
_LOCK = threading.Lock()  # one grading at a time per worker process (nbgrader's cwd and app)
_GRADERS: dict[tuple[str, str], _Grader] = {}
_START, _END = "==== attempt started", "==== attempt ended"


def log_path(course: str | Path, assignment: str, student: str) -> Path:
    return Path(course) / REPORTS_DIR / "logs" / assignment / f"{student}.log"


def _marker(course: str | Path, assignment: str, student: str) -> Path:
    return log_path(course, assignment, student).with_suffix(".running")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _worker_name() -> str:
    try:
        from distributed import get_worker

        w = get_worker()
        return f"{w.name} ({w.address}, pid {os.getpid()})"
    except (ImportError, ValueError):
        return f"{socket.gethostname()} (pid {os.getpid()})"


class _Grader:
    """One nbgrader autograde application for a course and gradebook, kept by a worker."""

    def __init__(self, course: str, db_url: str):
        from nbgrader.apps import AutogradeApp

        os.chdir(course)  # nbgrader reads nbgrader_config.py from, and works in, the course root
        bin_dir = str(Path(sys.executable).parent)  # nbgrader shells out to alembic
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        AutogradeApp.clear_instance()
        self.app = AutogradeApp.instance()
        self.app.initialize([f"--CourseDirectory.db_url={db_url}"])
        self.app.log.propagate = False
        for handler in list(self.app.log.handlers):  # nbgrader's stderr handler: logs go to files
            self.app.log.removeHandler(handler)
        self.formatter = self.app._log_formatter_cls(
            fmt=self.app.log_format.replace("%(color)s", "").replace("%(end_color)s", ""),
            datefmt=self.app.log_datefmt)

    @contextmanager
    def logging_to(self, path: Path):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setLevel(self.app.log_level)
        handler.setFormatter(self.formatter)
        # nbgrader's log and Python warnings (SQLAlchemy's, nbgrader's) go to the task's log,
        # not to the worker's stderr (the instructor's terminal, for a local cluster)
        warnings_log = logging.getLogger("py.warnings")
        logging.captureWarnings(True)
        warnings_log.propagate = False
        for log in (self.app.log, warnings_log):
            log.addHandler(handler)
        try:
            yield
        finally:
            for log in (self.app.log, warnings_log):
                log.removeHandler(handler)
            handler.close()

    def grade(self, assignment: str, student: str, force: bool) -> str:
        """``graded``, ``skipped`` (already graded: nbgrader's own decision), or ``empty``."""
        from nbgrader.converters import Autograde, NbGraderException

        from . import intake

        class _Autograde(Autograde):  # config of "Autograde" applies to this subclass
            processed: bool | None = None

            def init_destination(self, assignment_id, student_id):
                self.processed = super().init_destination(assignment_id, student_id)
                return self.processed

        cd = self.app.coursedir
        cd.assignment_id, cd.student_id = assignment, glob.escape(student)
        folder = Path(cd.format_path(cd.submitted_directory, student, assignment))
        if not folder.is_dir():
            raise RuntimeError(f"the submission folder {folder} is not there (is the course "
                               "folder shared with this worker at the same path?)")
        if not any(folder.glob("*.ipynb")):
            intake.record_empty_submissions(cd, glob.escape(assignment), glob.escape(student))
            return "empty"
        converter = _Autograde(coursedir=cd, parent=self.app, force=force)
        try:
            converter.start()
        except NbGraderException as exc:
            raise RuntimeError(f"nbgrader could not grade it ({exc})") from None
        return "graded" if converter.processed else "skipped"


def _grader(course: str, db_url: str) -> _Grader:
    key = (course, db_url)
    if key not in _GRADERS:
        _GRADERS.clear()
        _GRADERS[key] = _Grader(course, db_url)
    os.chdir(course)
    return _GRADERS[key]


def _stop_worker(log: Path, seconds: float) -> None:
    """The task's time is up: say so in its log, then end this worker process (the only way to
    stop a task Dask is running; the nanny starts a fresh worker)."""
    try:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_now()} grading took longer than the task time limit ({seconds:.0f} s): "
                     "this worker stops itself\n")
    finally:
        os.kill(os.getpid(), signal.SIGKILL)


def grade_submission(course: str, assignment: str, student: str, force: bool, db_url: str,
                     task_timeout: float = 900.0, run: str = "") -> dict:
    """Grade one student's assignment (runs on a worker); returns the outcome as a dict:
    ``status`` (graded, skipped, empty, failed), ``error``, ``seconds``, ``worker``,
    ``forced_after_death`` (a previous attempt had died).

    ``run`` names the class grading run. Dask recomputes a finished task whose result was held
    by a worker that died before the client fetched it; the outcome recorded for this run is
    then returned again instead of grading the submission a second time."""
    with _LOCK:
        t0 = time.perf_counter()
        log, marker = log_path(course, assignment, student), _marker(course, assignment, student)
        log.parent.mkdir(parents=True, exist_ok=True)
        outcome = log.with_suffix(".outcome")
        try:
            recorded = json.loads(outcome.read_text(encoding="utf-8"))
            if run and recorded.get("run") == run and not marker.exists():
                return recorded["result"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass
        died_before = marker.exists()
        who = _worker_name()
        marker.write_text(f"{who}\n{_now()}\n", encoding="utf-8")
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_START} {_now()} (run {run}) on {who}" + (
                "; a previous attempt died with its worker: regrading with --force\n"
                if died_before else "\n"))
        timer = threading.Timer(task_timeout, _stop_worker, (log, task_timeout))
        timer.daemon = True
        timer.start()
        result = {"status": "failed", "error": "", "worker": who,
                  "forced_after_death": died_before}
        try:
            grader = _grader(course, db_url)
            with grader.logging_to(log):
                result["status"] = grader.grade(assignment, student, force or died_before)
        except Exception as exc:  # noqa: BLE001 - reported for this student only
            result["error"] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            timer.cancel()
        result["seconds"] = time.perf_counter() - t0
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{_END} {_now()}: {result['status']} in {result['seconds']:.1f} s"
                     + (f" ({result['error']})" if result["error"] else "") + "\n")
        outcome.write_text(json.dumps({"run": run, "result": result}), encoding="utf-8")
        marker.unlink(missing_ok=True)
        return result


def failure_reason(course: str | Path, assignment: str, student: str, deaths: int,
                   run: str = "") -> str:
    """Why a task ended with ``KilledWorker``, from its log: the attempts of this run (none of
    which ended), where they ran, and the last line any of them wrote."""
    log = log_path(course, assignment, student)
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    first = next((i for i, ln in enumerate(lines) if ln.startswith(f"{_START}")
                  and f"(run {run})" in ln), len(lines))
    recent = lines[first:]
    attempts = [ln for ln in recent if ln.startswith(_START)]
    last = next((ln for ln in reversed(recent) if ln.strip() and not ln.startswith(_START)),
                "")
    workers = sorted({a.split(" on ", 1)[-1].split(";")[0] for a in attempts})
    text = (f"the grading worker died while grading it {len(attempts) or deaths} times "
            f"(on {', '.join(workers) or 'unknown workers'}); it was not tried again")
    if last:  # the log may quote a student's text: one printable line
        text += f". Last log line: {one_line(last)}"
    return text + f". Log: {log}"


def worker_check(course: str) -> dict:
    """Run on every worker before grading: can it see the course and import the grader?"""
    root = Path(course)
    return {"host": socket.gethostname(), "course": root.is_dir(),
            "config": (root / "nbgrader_config.py").is_file(),
            "threads": _threads()}


def _threads() -> int:
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return 1


@contextmanager
def local_cluster(workers: int, allowed_failures: int = ALLOWED_FAILURES):
    """A Dask LocalCluster for grading: ``workers`` processes with one thread each, on loopback,
    no dashboard, no profiler; the scheduler hands each worker one task at a time (so a dying
    worker takes only the submission it was grading with it) and gives up on a task after
    ``allowed_failures`` deaths."""
    import dask
    from distributed import LocalCluster

    settings = {"distributed.scheduler.allowed-failures": allowed_failures,
                "distributed.scheduler.worker-saturation": 1.0,
                # the statistical profiler samples the grading thread's stack every 10 ms: a few
                # per cent of the CPU for a dashboard nobody looks at here
                "distributed.worker.profile.enabled": False}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)
