"""A throwaway PostgreSQL server for the gradebook tests and benchmarks.

Debian's ``postgresql`` package (``make test`` installs it when missing) provides ``initdb`` and
``postgres`` under ``/usr/lib/postgresql/<version>/bin``. :class:`PostgresServer` creates a
cluster in a fresh temporary data directory, starts ``postgres`` on a free loopback port
(listening on 127.0.0.1 only, its Unix socket inside the private data directory), creates
databases on request and stops it again: a fast shutdown, then an immediate one, then SIGKILL,
each with a deadline, and the data directory removed.

PostgreSQL refuses to run as root. When the tests run as root the server runs as ``nobody``
(data directory owned by it, mode 0700); otherwise as the current user. Connections need the
password generated for this server (SCRAM), so other local users cannot use it. The server gets
a parent-death signal: if the process that started it dies without stopping it, it shuts down.

Usage::

    with PostgresServer() as pg:
        url = pg.create_database("gradebook")   # postgresql+psycopg2://...
"""

from __future__ import annotations

import ctypes
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "postgres_bin", "PostgresUnavailable"]

USER = "grader"  # the database superuser of the throwaway cluster
_PR_SET_PDEATHSIG = 1


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``postgres`` (the newest Debian version, or PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL's server programs (initdb, postgres) were not found: install Debian's "
        "'postgresql' package (`make test` does: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; see the module docstring."""

    def __init__(self, start_timeout: float = 60.0, stop_timeout: float = 20.0):
        self.bin = postgres_bin()
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.password = secrets.token_urlsafe(24)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.folder: Path | None = None
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        else:
            self.uid, self.gid = os.geteuid(), os.getegid()

    # ---- processes ------------------------------------------------------------------------------

    def _demote(self) -> None:
        """In the child before exec: become the server's user, die with the parent."""
        if os.geteuid() != self.uid:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)  # a fast shutdown if we die first
        os.setsid()

    def _env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C",
                "HOME": str(self.folder)}

    def _run(self, args: list[str], timeout: float) -> str:
        proc = subprocess.run(args, cwd=self.folder, env=self._env(), preexec_fn=self._demote,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}")
        return proc.stdout

    @property
    def datadir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def start(self) -> PostgresServer:
        # /tmp, not pytest's tmp_path: the server's user must be able to reach the folder
        self.folder = Path(tempfile.mkdtemp(prefix="losscourse-pg-"))
        os.chown(self.folder, self.uid, self.gid)
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n")
        os.chown(pwfile, self.uid, self.gid)
        pwfile.chmod(0o600)
        try:
            self._run([str(self.bin / "initdb"), "-D", str(self.datadir), "-U", USER,
                       f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                       "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                      timeout=self.start_timeout)
        finally:
            pwfile.unlink()
        last = ""
        for _ in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            try:
                self._start_server()
                return self
            except RuntimeError as exc:
                last = str(exc)
                self._kill()
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def _start_server(self) -> None:
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - kept by the server
        try:
            self.proc = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.datadir),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
                 "-c", f"unix_socket_directories={self.datadir}",
                 # a throwaway cluster: durability is not needed, speed is
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                cwd=self.folder, env=self._env(), preexec_fn=self._demote,
                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            ready = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                                    "-p", str(self.port), "-t", "1"], env=self._env(),
                                   capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres was not ready after {self.start_timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-chars:]
        except (OSError, TypeError):
            return ""

    def _kill(self) -> None:
        """Stop the server process: fast shutdown, immediate shutdown, SIGKILL (bounded)."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGINT, self.stop_timeout), (signal.SIGQUIT, 5.0),
                          (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        if self.proc.poll() is None:  # pragma: no cover - SIGKILL cannot be ignored
            raise RuntimeError(f"postgres (pid {self.proc.pid}) did not stop")
        self.proc = None

    def stop(self) -> None:
        try:
            self._kill()
        finally:
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- databases ------------------------------------------------------------------------------

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` (what ``CourseDirectory.db_url`` takes)."""
        return (f"postgresql+psycopg2://{USER}:{self.password}@127.0.0.1:{self.port}/"
                f"{database}")

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=USER,
                                password=self.password, dbname=database, connect_timeout=10)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: use letters, digits and underscores")
        con = self.connect()
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def backends(self) -> int:
        """Client connections open right now (the check that nothing leaks connections)."""
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                            "'client backend' AND pid <> pg_backend_pid()")
                return int(cur.fetchone()[0])
        finally:
            con.close()
