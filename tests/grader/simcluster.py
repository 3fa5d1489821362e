"""A simulated Dask cluster for the class grader's tests: separate processes on loopback.

One ``dask scheduler`` and one ``dask worker`` per named "machine", each started as its own
process group with its own working folder, temporary folder and HOME (as separate machines would
have), sharing only the course folder, which the tests pass by absolute path as a shared file
system would. The scheduler gives up on a task after ``allowed_failures`` worker deaths and hands
each worker one task at a time, and the workers do not profile (the settings
``grader.cluster.local_cluster`` uses).

Every process gets a parent-death signal, so nothing outlives the test process; :meth:`stop`
ends them all (SIGTERM, then SIGKILL after a deadline) and :meth:`kill` takes one machine down at
once (SIGKILL to its whole process group: nanny, worker and what they started).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["SimulatedCluster", "processes_under"]

BIN = Path(sys.executable).parent
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def processes_under(folder: Path) -> list[str]:
    """Processes whose command line or working folder is inside ``folder`` (leftovers)."""
    folder = str(folder.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if folder in cmd or cwd.startswith(folder):
            found.append(f"{entry.name}: {cmd[:200]} (in {cwd})")
    return found


class SimulatedCluster:
    def __init__(self, base: Path, machines: tuple[str, ...] = ("w1", "w2"),
                 allowed_failures: int = 2, start_timeout: float = 90.0,
                 stop_timeout: float = 20.0):
        self.base = base
        self.machines = machines
        self.allowed_failures = allowed_failures
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.procs: dict[str, subprocess.Popen] = {}
        self.address = ""

    def _folder(self, name: str) -> Path:
        folder = self.base / name
        for sub in ("work", "tmp", "home", "dask"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return folder

    def _env(self, folder: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DASK_", "LOSSCOURSE_", "PYTEST_"))}
        env.update({"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "HOME": str(folder / "home"), "TMPDIR": str(folder / "tmp"),
                    "PYTHONUNBUFFERED": "1", "DASK_LOGGING__DISTRIBUTED": "info",
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(self.allowed_failures),
                    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"})
        return env

    def _spawn(self, name: str, args: list[str]) -> None:
        folder = self._folder(name)
        with open(folder / "output.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [str(BIN / "dask"), *args], cwd=folder / "work", env=self._env(folder),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)

    def start(self) -> SimulatedCluster:
        info = self.base / "scheduler.json"
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(info)])
        deadline = time.monotonic() + self.start_timeout
        while not info.is_file():
            self._alive_or_raise("scheduler")
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start:\n" + self.output("scheduler"))
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        for name in self.machines:
            folder = self._folder(name)
            self._spawn(name, ["worker", self.address, "--name", name, "--nthreads", "1",
                               "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard",
                               "--local-directory", str(folder / "dask"),
                               "--death-timeout", "60"])
        self.wait_for_workers(len(self.machines), deadline)
        return self

    def wait_for_workers(self, count: int, deadline: float) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            while len(client.scheduler_info()["workers"]) < count:
                for name in self.machines:
                    self._alive_or_raise(name)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {len(client.scheduler_info()['workers'])} of "
                                       f"{count} workers joined")
                time.sleep(0.2)

    def _alive_or_raise(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.output(name)}")

    def output(self, name: str) -> str:
        try:
            return (self.base / name / "output.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self, name: str) -> None:
        """Take one machine down at once: SIGKILL to its whole process group."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        end = time.monotonic() + self.stop_timeout
        while time.monotonic() < end and not self._group_gone(proc):
            time.sleep(0.05)

    def _group_gone(self, proc: subprocess.Popen) -> bool:
        proc.poll()  # reap our own child, so that only live members keep the group
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def stop(self) -> None:
        """End every process (workers first): SIGTERM to each process group, SIGKILL to what
        is left after the deadline."""
        for name in [*self.machines, "scheduler"]:
            proc = self.procs.get(name)
            if proc is None:
                continue
            for sig, wait in ((signal.SIGTERM, self.stop_timeout), (signal.SIGKILL, 5.0)):
                if self._group_gone(proc):
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                end = time.monotonic() + wait
                while time.monotonic() < end and not self._group_gone(proc):
                    time.sleep(0.1)
            proc.poll()

    def __enter__(self) -> SimulatedCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
