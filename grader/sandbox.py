"""Parent side of the grading sandbox: one confined child process per submission.

:class:`Sandbox` gets a child running ``_sandbox_child.py`` (the grader's interpreter without
``site``, an empty temporary working directory, a scrubbed environment, its own session): forked
from a per-process *zygote* that imported NumPy once (:class:`_Zygote`), or, if that fails,
started afresh. It sends the child the student's answer cells and forwards calls of the graded
functions to it. What comes back is decoded here into plain NumPy arrays, ``None`` or an
:class:`Outcome` describing an error, a time limit, a crash or a broken channel. Nothing the
child sends is executed or trusted beyond that: the grade is decided by the caller, in this
process, which student code cannot reach.

Limits (see :class:`Limits`): each call of a student function, the set-up (the answer cells) and
the whole notebook have wall-clock budgets; the child has an address-space limit, a CPU-time
limit, a file-size limit and a few open files. A child that times out or dies is killed with its
whole process group and restarted for the next call, at most ``max_restarts`` times; a function
that timed out or crashed ``strikes`` times is not called again.
"""

from __future__ import annotations

import atexit
import base64
import json
import math
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from lossutils.assignments._grading import DENIED_MODULES, IMPORT_REFUSED

from . import safety

__all__ = ["Limits", "Outcome", "Sandbox", "protection_plan", "encode", "decode_result"]

CHILD = Path(__file__).with_name("_sandbox_child.py")
# A reply of the child is read whole and parsed by the grader: its size and shape are bounded
# before parsing, so a forged reply (student code can write to the channel) costs at most a few
# times this in memory. The largest honest result of the course's checks is under 100 KB.
MAX_REPLY = 8 * 1024 * 1024
MAX_REPLY_DEPTH = 6
_RESULT_DTYPES = {"<f8": np.float64, "<i8": np.int64, "<u8": np.uint64, "|b1": np.bool_}
_NOBODY = (65534, 65534)
# Modules loaded before the child gives up root when the interpreter's standard library is not
# readable by `nobody`: answers that import something else then get a clear ImportError.
PRELOAD = ("numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial",
           "numpy.lib.stride_tricks", "math", "cmath", "statistics", "fractions", "decimal",
           "random", "heapq", "bisect", "copy", "dataclasses", "typing", "string", "json",
           "array", "struct", "contextlib", "itertools", "functools", "collections", "operator",
           "numbers", "enum", "warnings", "time", "re", "textwrap", "traceback", "linecache")


@dataclass(frozen=True)
class Limits:
    """Budgets for one notebook. Wall-clock seconds unless stated otherwise."""

    call_seconds: float = 10.0  # one call of a student function
    setup_seconds: float = 30.0  # starting the child: NumPy import and the answer cells
    notebook_seconds: float = 240.0  # everything the child does for one notebook
    memory_mb: int = 2048  # address space of the child
    file_mb: int = 16  # largest file the child may write (in its own temporary folder)
    open_files: int = 64
    max_restarts: int = 6  # new children after a crash or a time-out
    strikes: int = 2  # time-outs or crashes of one function before it is not called again


@dataclass
class Outcome:
    """Result of one call. ``kind`` is one of: array, none, error (the function raised),
    unconvertible (returned something that is not numbers), timeout, crash, budget (the notebook's
    time is used up), skipped (the function already timed out too often), protocol (the channel
    to the child broke), unavailable (the answer cells could not be run at all)."""

    kind: str
    value: Any = None
    error_type: str = ""
    message: str = ""
    where: list | None = None
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind in ("array", "none")


@dataclass
class Stats:
    calls: int = 0
    starts: int = 0
    timeouts: int = 0
    crashes: int = 0
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)


# ---- what protections this machine allows ------------------------------------------------------

def _others_can_read(path: Path) -> bool:
    """Whether an unprivileged user can reach ``path`` (o+x on every folder above, o+r on it)."""
    path = path.resolve()
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


@cache
def _landlock_abi() -> int:
    if sys.platform != "linux":
        return 0
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return max(0, int(libc.syscall(444, None, 0, 1)))
    except (OSError, AttributeError):
        return 0


@cache
def protection_plan() -> dict:
    """How the child confines itself on this machine (computed once per grader process)."""
    import platform

    stdlib = sysconfig.get_paths()["stdlib"]
    plan = {"landlock": _landlock_abi() > 0,
            "seccomp": sys.platform == "linux" and platform.machine() == "x86_64",
            "user": "same", "preload": []}
    if os.geteuid() == 0:
        readable = all(_others_can_read(Path(p)) for p in (sys.executable, stdlib,
                                                             np.__file__))
        if readable or not plan["landlock"]:
            plan["user"] = "nobody"
            if not _others_can_read(Path(stdlib)):
                plan["preload"] = list(PRELOAD)
        else:
            # The interpreter lives in a folder only root can read: keep uid 0 but drop every
            # capability; Landlock then confines file access like it would for `nobody`.
            plan["user"] = "drop-capabilities"
    return plan


def _child_env(workdir: str) -> dict[str, str]:
    threads = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "TZ": "UTC", "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONIOENCODING": "utf-8",
            **threads}


# ---- encoding ------------------------------------------------------------------------------------

def encode(value: Any) -> Any:
    """Arguments for the child as JSON: arrays of numbers, NumPy scalars, Python scalars,
    None, strings, and lists / tuples / dicts of those."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot send an array of dtype {value.dtype} to the sandbox")
        arr = np.array(value, order="C", copy=True)
        return {"__nd__": [arr.dtype.str, list(arr.shape),
                           base64.b64encode(arr.tobytes()).decode("ascii")]}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot send a NumPy scalar of dtype {value.dtype} to the sandbox")
        return {"__np__": [value.dtype.str,
                           base64.b64encode(np.asarray(value).tobytes()).decode("ascii")]}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"__list__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")


def decode_result(reply: dict) -> Any:
    dtype = _RESULT_DTYPES[reply["dtype"]]
    shape = reply["shape"]
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise ValueError("bad shape")
    data = base64.b64decode(reply["data"], validate=True)
    if len(data) != math.prod(shape) * np.dtype(dtype).itemsize:
        raise ValueError("size does not match shape")
    arr = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    arr = arr.reshape(shape)
    return arr[()] if arr.ndim == 0 else arr


def _text(value: Any, limit: int = 4000) -> str:
    return value[:limit] if isinstance(value, str) else ""


# ---- child processes: from the zygote, or started directly --------------------------------------

class _Child:
    """A running sandbox child: its pid (also its process group), pipes and stderr file."""

    def __init__(self, pid: int, stdin: int, resp: int, errfile, proc=None, zygote=None):
        self.pid, self.stdin, self.resp, self.errfile = pid, stdin, resp, errfile
        self.proc, self.zygote = proc, zygote
        self.status: int | None = None

    def wait(self, timeout: float) -> int | None:
        """Exit status like Popen.returncode (negative: killed by that signal), or None."""
        if self.status is None:
            if self.proc is not None:
                try:
                    self.status = self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            elif self.zygote is not None:
                self.status = self.zygote.wait(self.pid, timeout)
        return self.status

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc is not None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for fd in (self.stdin, self.resp):
            try:
                os.close(fd)
            except OSError:
                pass
        self.errfile.close()


class _Zygote:
    """A process that imported NumPy once and forks one sandbox child per submission.

    It runs no student code: each fork detaches (own session, only its own pipes) and confines
    itself before running the answer cells. One zygote per grader process, started on first use;
    it exits when the grader closes the control socket (or dies).
    """

    _instances: dict[tuple, _Zygote] = {}  # one per list of preloaded modules

    def __init__(self, setup: dict):
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.workdir = tempfile.mkdtemp(prefix="lossgrade-zygote-")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-S", "-s", "-P", "-B", str(CHILD), "--zygote",
                 str(theirs.fileno())], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=self.workdir, env=_child_env(self.workdir),
                pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        self.sock = ours
        self.sock.settimeout(120)
        atexit.register(self.close)
        reply = self._ask({"op": "init", "numpy_parent": setup["numpy_parent"],
                           "preload": setup["preload"]})
        if not reply.get("ready"):
            raise OSError("the sandbox zygote did not start")

    @classmethod
    def get(cls, setup: dict) -> _Zygote:
        key = tuple(setup["preload"])
        zygote = cls._instances.get(key)
        if zygote is None or zygote.proc.poll() is not None:
            zygote = cls._instances[key] = cls(setup)
        return zygote

    @classmethod
    def forget(cls, setup: dict) -> None:
        cls._instances.pop(tuple(setup["preload"]), None)

    def _ask(self, message: dict, fds: list[int] | None = None) -> dict:
        import socket

        data = json.dumps(message).encode("utf-8")
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.send(data)
        reply = self.sock.recv(65536)
        if not reply:
            raise OSError("the sandbox zygote exited")
        return json.loads(reply.decode("utf-8"))

    def close(self) -> None:
        """End the zygote (it exits when its control socket closes) and remove its folder."""
        self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def spawn(self, stdin_r: int, resp_w: int, err_fd: int) -> int:
        pid = self._ask({"op": "spawn"}, [stdin_r, resp_w, err_fd]).get("pid")
        if not isinstance(pid, int) or pid <= 0:
            raise OSError("the sandbox zygote could not fork")
        return pid

    def wait(self, pid: int, timeout: float) -> int | None:
        try:
            status = self._ask({"op": "wait", "pid": pid, "timeout": timeout}).get("status")
        except (OSError, ValueError):
            return None
        return status if isinstance(status, int) else None


def _start_child(setup: dict, use_zygote: bool) -> _Child:
    """Start a child for ``setup``: forked by the zygote if possible, else a fresh interpreter."""
    errfile = tempfile.TemporaryFile(prefix="lossgrade-stderr-")
    if use_zygote:
        stdin_r, stdin_w = os.pipe()
        resp_r, resp_w = os.pipe()
        try:
            zygote = _Zygote.get(setup)
            pid = zygote.spawn(stdin_r, resp_w, errfile.fileno())
        except (OSError, ValueError):
            for fd in (stdin_r, stdin_w, resp_r, resp_w):
                os.close(fd)
            _Zygote.forget(setup)
        else:
            os.close(stdin_r)
            os.close(resp_w)
            os.set_blocking(stdin_w, False)
            return _Child(pid, stdin_w, resp_r, errfile, zygote=zygote)
    resp_r, resp_w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-s", "-P", "-B", str(CHILD), str(resp_w)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errfile,
            cwd=setup["workdir"], env=_child_env(setup["workdir"]), pass_fds=(resp_w,),
            start_new_session=True, close_fds=True)
    finally:
        os.close(resp_w)
    stdin_w = os.dup(proc.stdin.fileno())
    proc.stdin.close()
    proc.stdin = None
    os.set_blocking(stdin_w, False)
    return _Child(proc.pid, stdin_w, resp_r, errfile, proc=proc)


# ---- the sandbox -------------------------------------------------------------------------------

class Sandbox:
    """One student's answer cells running in a confined child process.

    ``cells`` are ``(name, source)`` pairs executed in order in one namespace (like a notebook).
    Use as a context manager, or call :meth:`close`; :meth:`start` is called on first use.
    """

    def __init__(self, cells: list[tuple[str, str]], seed: int, limits: Limits | None = None,
                 layers: dict | None = None, zygote: bool = True):
        self.cells = [{"name": name, "source": source} for name, source in cells]
        self.seed = int(seed)
        self.limits = limits or Limits()
        self.stats = Stats()
        self.setup_report: dict | None = None
        self.broken: str | None = None  # why no child can be started any more
        self._child: _Child | None = None
        self._workdir: str | None = None
        self._next_id = 0
        self._strikes: dict[str, int] = {}
        # ``layers`` switches protections off, for tests that check each layer on its own.
        self._plan = {**protection_plan(), **(layers or {})}
        self._use_zygote = zygote

    # -- life cycle --
    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def remaining(self) -> float:
        return self.limits.notebook_seconds - self.stats.seconds

    def start(self) -> dict:
        """Start the child and run the answer cells; returns the set-up report (per cell:
        ``name``, ``error`` (None or type/message/where), ``output``; and ``protections``)."""
        if self._child is not None:
            return self.setup_report
        if self.broken:
            raise RuntimeError(self.broken)
        self.stats.starts += 1
        self._workdir = tempfile.mkdtemp(prefix="lossgrade-")
        plan = self._plan
        if plan["user"] == "nobody" and os.geteuid() == 0:
            os.chown(self._workdir, *_NOBODY)
        numpy_dir = Path(np.__file__).resolve().parent
        read_dirs = [str(numpy_dir)]
        if (numpy_dir.parent / "numpy.libs").is_dir():
            read_dirs.append(str(numpy_dir.parent / "numpy.libs"))
        lim = self.limits
        setup = {
            "limits": {"memory_bytes": lim.memory_mb * 2**20,
                       "cpu_seconds": math.ceil(lim.notebook_seconds + lim.setup_seconds),
                       "file_bytes": lim.file_mb * 2**20, "open_files": lim.open_files},
            "numpy_parent": str(numpy_dir.parent), "stdlib": sysconfig.get_paths()["stdlib"],
            "read_dirs": read_dirs, "workdir": self._workdir, "user": plan["user"],
            "nobody": list(_NOBODY), "landlock": plan["landlock"], "seccomp": plan["seccomp"],
            "preload": plan["preload"], "seed": self.seed, "cells": self.cells,
            "audit_hook": plan.get("audit_hook", True),
            # the rule the students' checks apply while they validate (lossutils.assignments)
            "denied": sorted(DENIED_MODULES), "import_refused": IMPORT_REFUSED,
        }
        self._child = _start_child(setup, self._use_zygote)
        deadline = time.monotonic() + min(lim.setup_seconds, max(self.remaining, 0.0))
        t0 = time.monotonic()
        reply, problem = self._exchange({"op": "setup", **setup}, deadline)
        self.stats.seconds += time.monotonic() - t0
        if problem is not None:
            kind, message = problem
            self._kill()
            if kind == "timeout":
                message = (f"running your answer cells took longer than {lim.setup_seconds:g} s "
                           "(is there an infinite loop or a long computation outside a "
                           "function?)")
            self.broken = message
            self.stats.events.append(f"set-up failed: {message}")
            raise RuntimeError(message)
        self.setup_report = self._check_setup(reply)
        return self.setup_report

    def close(self) -> None:
        self._kill()

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            if child.wait(timeout=10) is None:
                self.stats.events.append(f"child {child.pid} did not exit after SIGKILL")
            child.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- framing with deadlines --
    def _send(self, obj: dict, deadline: float) -> bool:
        body = json.dumps(obj, allow_nan=True).encode("utf-8")
        data = memoryview(struct.pack(">I", len(body)) + body)
        fd = self._child.stdin
        while data:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _, ready, _ = select.select([], [fd], [], left)
            if ready:
                try:
                    written = os.write(fd, data)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    return False
                data = data[written:]
        return True

    def _recv(self, deadline: float) -> tuple[bytes | None, str]:
        """One frame, or (None, 'timeout' | 'eof' | 'too large')."""
        buf = bytearray()
        need = 4
        header_done = False
        while True:
            while len(buf) >= need:
                if header_done:
                    return bytes(buf[4:need]), ""
                (size,) = struct.unpack(">I", buf[:4])
                if size > MAX_REPLY:
                    return None, "too large"
                need, header_done = 4 + size, True
            left = deadline - time.monotonic()
            if left <= 0:
                return None, "timeout"
            ready, _, _ = select.select([self._child.resp], [], [], left)
            if ready:
                chunk = os.read(self._child.resp, min(need - len(buf), 1 << 20))
                if not chunk:
                    return None, "eof"
                buf += chunk

    def _exchange(self, request: dict, deadline: float) -> tuple[dict | None, tuple | None]:
        if not self._send(request, deadline):
            return None, self._failure("timeout" if time.monotonic() >= deadline else "eof")
        raw, why = self._recv(deadline)
        if raw is None:
            return None, self._failure(why)
        # a reply is a flat object with a few small lists (shape, where, one entry per cell)
        containers = 16 + 4 * len(self.cells)
        try:
            text = raw.decode("utf-8")
            del raw
            if safety.json_shape_problem(text, MAX_REPLY_DEPTH, containers) is not None:
                raise ValueError("not the shape of a reply")
            reply = json.loads(text)
            if not isinstance(reply, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            return None, ("protocol", "the answer code wrote garbage to the grader's channel")
        return reply, None

    def _failure(self, why: str) -> tuple[str, str]:
        if why == "timeout":
            return "timeout", "time limit exceeded"
        if why == "too large":
            return "protocol", f"a result larger than {MAX_REPLY // 2**20} MiB"
        return "crash", self._death_message()

    def _death_message(self) -> str:
        child = self._child
        code = child.wait(timeout=5) if child is not None else None
        if code is None and child is not None:
            child.kill()  # it closed its pipe but kept running
            child.wait(timeout=5)
        tail = ""
        if child is not None:
            errfile = child.errfile
            errfile.flush()
            errfile.seek(0, os.SEEK_END)
            size = errfile.tell()
            errfile.seek(max(0, size - 2000))
            lines = [ln for ln in errfile.read().decode("utf-8", "replace").splitlines()
                     if ln.strip()]
            tail = lines[-1].strip()[:300] if lines else ""
        if code is None:
            what = "stopped responding"
        elif code < 0:
            sig = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            what = {"SIGXCPU": "used up its CPU-time limit", "SIGKILL": "was killed (SIGKILL: "
                    "usually the machine ran out of memory)", "SIGSEGV": "crashed "
                    "(segmentation fault)"}.get(sig, f"was ended by signal {sig}")
        else:
            what = f"exited with status {code}"
        message = f"the Python process running your answer cells {what}"
        if tail:
            message += f"; its last message: {tail}"
        if "MemoryError" in tail or "Cannot allocate memory" in tail:
            message += f" (the memory limit is {self.limits.memory_mb} MB)"
        return message

    def _check_setup(self, reply: dict) -> dict:
        cells = reply.get("cells") if reply.get("ready") is True else None
        if not isinstance(cells, list):
            self._kill()
            self.broken = "the answer cells' process did not report back properly"
            raise RuntimeError(self.broken)
        bound = reply.get("bound")
        report = {"cells": [], "protections": reply.get("protections"),
                  "bound": [_text(n, 100) for n in bound[:200] if isinstance(n, str)]
                  if isinstance(bound, list) else []}
        for raw in cells[: len(self.cells)]:
            raw = raw if isinstance(raw, dict) else {}
            error = raw.get("error")
            if isinstance(error, dict):
                error = {"type": _text(error.get("type"), 80),
                         "message": _text(error.get("message")),
                         "where": _where(error.get("where"))}
            else:
                error = None
            report["cells"].append({"name": _text(raw.get("name"), 200), "error": error,
                                    "output": _text(raw.get("output"), 8192)})
        return report

    # -- calls --
    def call(self, name: str, args: tuple = (), kwargs: dict | None = None,
             timeout: float | None = None) -> Outcome:
        """Call the student's ``name(*args, **kwargs)`` in the child."""
        lim = self.limits
        if self._strikes.get(name, 0) >= lim.strikes:
            return Outcome("skipped", message=f"{name} was not called again: it already exceeded "
                           f"the time limit of {lim.call_seconds:g} s or crashed the process "
                           f"{lim.strikes} times")
        if self.remaining <= 0:
            return Outcome("budget", message=f"the time budget of {lim.notebook_seconds:g} s for "
                           "the whole notebook is used up")
        if self._child is None:
            if self.broken:
                return Outcome("unavailable", message=self.broken)
            if self.stats.starts > lim.max_restarts:
                self.broken = (f"the answer cells' process was restarted {lim.max_restarts} "
                               "times after crashes or time-outs; no more calls are made")
                return Outcome("unavailable", message=self.broken)
            try:
                self.start()
            except RuntimeError as exc:
                return Outcome("unavailable", message=str(exc))
        try:
            request = {"op": "call", "id": self._next_id, "name": name,
                       "args": encode(tuple(args)), "kwargs": encode(dict(kwargs or {}))}
        except TypeError as exc:
            return Outcome("protocol", message=str(exc))
        self._next_id += 1
        limit = min(timeout or lim.call_seconds, lim.call_seconds, self.remaining)
        t0 = time.monotonic()
        reply, problem = self._exchange(request, t0 + limit)
        spent = time.monotonic() - t0
        self.stats.seconds += spent
        self.stats.calls += 1
        if problem is not None:
            kind, message = problem
            self._kill()
            if kind == "timeout":
                self.stats.timeouts += 1
                self._strikes[name] = self._strikes.get(name, 0) + 1
                if limit < lim.call_seconds and self.remaining <= 0:
                    return Outcome("budget", seconds=spent, message=f"the time budget of "
                                   f"{lim.notebook_seconds:g} s for the whole notebook ran out "
                                   f"while {name} was running")
                return Outcome("timeout", seconds=spent,
                               message=f"{name} did not return within {limit:g} s (an infinite "
                                       "loop? the limit per call is "
                                       f"{lim.call_seconds:g} s)")
            self.stats.crashes += kind == "crash"
            self._strikes[name] = self._strikes.get(name, 0) + 1
            self.stats.events.append(f"{kind} during {name}: {message}")
            return Outcome(kind, seconds=spent, message=message)
        return self._outcome(reply, request["id"], spent)

    def _outcome(self, reply: dict, call_id: int, spent: float) -> Outcome:
        output = _text(reply.get("output"), 4000)
        kind = reply.get("kind")
        if reply.get("id") != call_id or kind not in ("array", "none", "error", "unconvertible"):
            self._kill()
            return Outcome("protocol", seconds=spent,
                           message="the answer code interfered with the grader's channel")
        if kind == "array":
            try:
                value = decode_result(reply)
            except (KeyError, ValueError, TypeError):
                self._kill()
                return Outcome("protocol", seconds=spent, message="a malformed result")
            return Outcome("array", value=value, output=output, seconds=spent)
        if kind == "none":
            return Outcome("none", output=output, seconds=spent)
        if kind == "unconvertible":
            return Outcome("unconvertible", message=_text(reply.get("what"), 300),
                           output=output, seconds=spent)
        error_type, message = _text(reply.get("type"), 80), _text(reply.get("message"))
        if error_type == "MemoryError":
            message += f" (the grader's memory limit is {self.limits.memory_mb} MB)"
        return Outcome("error", error_type=error_type, message=message,
                       where=_where(reply.get("where")), output=output, seconds=spent)


def _where(value: Any) -> list | None:
    if (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and type(value[1]) is int and isinstance(value[2], str)):
        return [value[0][:200], value[1], value[2][:300]]
    return None
