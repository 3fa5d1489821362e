"""Child side of the grading sandbox: runs ONE student's answer cells and answers calls.

Started by :mod:`grader.sandbox`, either directly as
``python -S -s -P -B <this file> <response fd>`` or, to skip the NumPy import for every
submission, as a *zygote* (``--zygote <control fd>``) that imports NumPy once and forks one child
per submission (:func:`zygote`). Either way the child has an empty working directory and a
scrubbed environment; the file is run by path, never imported, and uses the standard library
only. Everything before ``_serve`` is trusted set-up, done before
any student code exists in the process:

1. read the set-up frame from stdin (limits, answer cells, seed, folders);
2. set resource limits (address space, CPU seconds, file size, open files, no core dumps);
3. import NumPy (and, when the standard library will be unreadable, a list of common modules);
4. confine the process: Landlock (file access below a few read-only folders and the working
   directory, signals and TCP limited to this process), a seccomp filter (no new processes,
   exec, signals, sockets, ptrace, raising limits), all capabilities dropped or the uid changed
   to ``nobody`` when started as root;
5. install an audit hook that refuses imports outside NumPy and the standard library, file access
   outside the allowed folders, process creation, signals, sockets and ``gc`` introspection;
6. execute the answer cells in a fresh namespace and report per cell;
7. serve calls: ``{"op": "call", "id", "name", "args", "kwargs"}`` -> the function's result as a
   plain array of numbers, ``None``, or the exception's type and message.

Frames are a 4-byte big-endian length and UTF-8 JSON. Requests come on fd 0, replies go to the
response fd. Student code can write to that fd too, but all it could forge is a return value of
its own functions, which the trusted parent compares with values the child never sees.
"""

import base64
import json
import os
import struct
import sys

MAX_FRAME = 256 * 1024 * 1024
OUTPUT_CAP = 8192  # characters of printed output kept per cell / call
ANSWER_PREFIX = "<answer cell "


# ---- framing ------------------------------------------------------------------------------------

def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_FRAME:
        return None
    body = _read_exact(fd, size)
    return None if body is None else json.loads(body.decode("utf-8"))


def write_frame(fd, obj):
    body = json.dumps(obj, allow_nan=True).encode("utf-8")
    data = struct.pack(">I", len(body)) + body
    while data:
        written = os.write(fd, data)
        data = data[written:]


# ---- step 2: resource limits --------------------------------------------------------------------

def apply_limits(limits):
    import resource
    import signal

    def cap(which, value):
        value = int(value)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, limits["memory_bytes"])
    # SIGXCPU at the soft limit ends the process; the hard limit is one second later.
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_CORE, 0)
    # A write beyond the file-size limit fails with an error instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# ---- step 3: imports ----------------------------------------------------------------------------

def import_numpy(setup):
    sys.path.append(setup["numpy_parent"])
    try:
        import numpy  # noqa: F401 - loaded before confinement, from the grader's environment
        for name in setup["preload"]:
            try:
                __import__(name)
            except Exception:  # noqa: BLE001 - a module missing here is simply not preloaded
                pass
    finally:
        # NumPy's submodules load through the package's own path; nothing else from
        # site-packages (torch, the course package) must stay findable.
        sys.path.remove(setup["numpy_parent"])


# ---- step 4: confinement (Linux, x86-64) ---------------------------------------------------------

_LANDLOCK_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
_LANDLOCK_FILE_READ = (1 << 0) | (1 << 2)
_LANDLOCK_FILE_RW = (1 << 1) | (1 << 2)


def _landlock(libc, ctypes, setup):
    """Restrict file access, signals and TCP; return the ABI used or a reason it was not."""
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
    if abi < 1:
        return f"unavailable (errno {ctypes.get_errno()})"
    handled_fs = (1 << 13) - 1  # the rights of ABI 1
    if abi >= 2:
        handled_fs |= 1 << 13  # refer
    if abi >= 3:
        handled_fs |= 1 << 14  # truncate
    if abi >= 5:
        handled_fs |= 1 << 15  # ioctl on devices

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(handled_fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(444, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return f"create_ruleset failed (errno {ctypes.get_errno()})"

    def allow(path, rights):
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)
            rule = PathBeneath(rights & handled_fs, fd)
            if libc.syscall(445, ruleset, 1, ctypes.byref(rule), 0) != 0:
                raise OSError(ctypes.get_errno(), "landlock_add_rule failed for " + path)
        finally:
            os.close(fd)

    stdlib = setup["stdlib"]
    allow(stdlib, 1 << 3)  # list the folder (the import system needs it), read nothing below
    for entry in os.listdir(stdlib):
        if entry not in ("site-packages", "dist-packages"):
            allow(os.path.join(stdlib, entry), _LANDLOCK_FS_READ)
    for path in setup["read_dirs"]:
        allow(path, _LANDLOCK_FS_READ)
    allow(setup["workdir"], handled_fs & ~((1 << 6) | (1 << 11)))  # no char/block devices
    allow("/dev/null", _LANDLOCK_FILE_RW)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return f"no_new_privs failed (errno {ctypes.get_errno()})"
    if libc.syscall(446, ruleset, 0) != 0:  # landlock_restrict_self
        return f"restrict_self failed (errno {ctypes.get_errno()})"
    os.close(ruleset)
    return f"abi {abi}"


# Syscalls an answer never needs: new processes and exec, signals to anyone, sockets, tracing,
# raising resource limits, mounts and namespaces, kernel keys/modules/bpf, io_uring (which would
# bypass this filter), file handles (which bypass path checks), clocks, reboot.
_DENY = (57, 58, 59, 322, 62, 200, 234, 129, 297, 424, 434, 438, 101, 310, 311, 41, 53, 42, 49,
         50, 43, 288, 160, 302, 165, 166, 155, 161, 272, 308, 175, 313, 176, 246, 320, 169, 321,
         298, 323, 250, 248, 249, 425, 426, 427, 172, 173, 167, 168, 170, 171, 164, 227, 159,
         305, 163, 179, 103, 135, 133, 259, 304, 303, 300, 212, 428, 429, 430, 431, 432, 433,
         442, 447, 440, 312)
_CLONE, _CLONE3, _CLONE_THREAD = 56, 435, 0x00010000


def _seccomp(libc, ctypes):
    import platform

    if platform.machine() != "x86_64":
        return "unsupported machine " + platform.machine()

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | 1, 0x00050000 | 38
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, 0xC000003E), (ret, 0, 0, kill), (ld, 0, 0, 0),
            (jge, 0, 1, 0x40000000), (ret, 0, 0, eperm)]
    for nr in _DENY:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, _CLONE3), (ret, 0, 0, enosys)]  # glibc then falls back to clone
    # clone: threads only (CLONE_THREAD in the low word of the first argument)
    prog += [(jeq, 0, 4, _CLONE), (ld, 0, 0, 16), (jset, 0, 1, _CLONE_THREAD), (ret, 0, 0, allow),
             (ret, 0, 0, eperm)]
    prog += [(ret, 0, 0, allow)]
    filters = (Filter * len(prog))(*[Filter(*p) for p in prog])
    fprog = Prog(len(prog), filters)
    if libc.prctl(38, 1, 0, 0, 0) != 0:
        return f"no_new_privs failed (errno {ctypes.get_errno()})"
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        return f"failed (errno {ctypes.get_errno()})"
    return "on"


def _drop_capabilities(libc, ctypes):
    """uid 0 keeps its uid (the interpreter may live in a root-only folder) but loses every
    capability, so the kernel treats it like an ordinary user; Landlock does the rest."""
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (EINVAL past the last capability)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)
    data = (Data * 2)()
    if libc.syscall(126, ctypes.byref(header), data) != 0:  # capset
        raise OSError(ctypes.get_errno(), "capset failed")
    return "capabilities dropped"


def confine(setup):
    import ctypes
    import resource

    report = {"uid": os.getuid()}
    libc = ctypes.CDLL(None, use_errno=True)
    user = setup["user"]
    # Landlock first: its rules name folders that `nobody` may not be allowed to open.
    report["landlock"] = _landlock(libc, ctypes, setup) if setup["landlock"] else "off"
    if user == "nobody" and os.getuid() == 0:
        os.setgroups([])
        os.setgid(setup["nobody"][1])
        os.setuid(setup["nobody"][0])
        report["uid"] = os.getuid()
    if user == "drop-capabilities" and os.getuid() == 0:
        report["capabilities"] = _drop_capabilities(libc, ctypes)
    if os.getuid() != 0:
        # No new processes or threads for this user (the seccomp filter also stops processes).
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    report["seccomp"] = _seccomp(libc, ctypes) if setup["seccomp"] else "off"
    return report


# ---- step 5: the audit hook ---------------------------------------------------------------------

_PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "os.kill", "os.killpg", "os.startfile", "subprocess.Popen",
                   "signal.pthread_kill", "pty.spawn", "sys.addaudithook", "resource.setrlimit",
                   "resource.prlimit", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                   "builtins.input", "webbrowser.open", "urllib.Request", "sys.remote_exec")
_PREFIX_EVENTS = ("socket.", "ctypes.", "sqlite3.", "_winapi.", "winreg.")
_READ_EVENTS = ("os.listdir", "os.scandir", "os.chdir", "glob.glob", "os.listxattr",
                "os.getxattr")
_WRITE_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink",
                 "os.truncate", "os.chmod", "os.chown", "os.utime", "os.chflags", "os.lchflags",
                 "os.setxattr", "os.removexattr", "shutil.copyfile", "shutil.copymode",
                 "shutil.copystat", "shutil.copytree", "shutil.rmtree", "shutil.move",
                 "shutil.chown", "shutil.make_archive", "shutil.unpack_archive")
_DENIED_IMPORTS = ("ctypes", "_ctypes", "cffi", "sqlite3", "_sqlite3", "dbm", "_dbm", "_gdbm",
                   "readline", "pty", "multiprocessing", "_multiprocessing", "ssl", "_ssl",
                   "_xxsubinterpreters", "_posixshmem")


def install_audit_hook(read_roots, write_root, allowed_imports, denied=_DENIED_IMPORTS,
                       refused=None):
    """Install the hook. It reads only values captured here (so rebinding builtins, ``os`` or
    this module's globals cannot change its decisions) and never calls student objects.
    ``denied`` and ``refused`` (the message, with ``{module}``) come from the grader, which
    shares them with the checks students validate with."""
    import posix

    refused = refused or ("import of {module!r} is not allowed in answer cells: use only NumPy "
                          "and the Python standard library (no torch, no lossutils, no scipy)")
    _format = refused.format

    _type, _str, _bytes, _int, _len = type, str, bytes, int, len
    _PermissionError, _ImportError, _OSError = PermissionError, ImportError, OSError
    _lstat, _readlink, _getcwd = posix.lstat, posix.readlink, posix.getcwd
    _O_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    read_roots = tuple(r.rstrip("/") for r in read_roots)
    write_root = write_root.rstrip("/")
    allowed_imports = frozenset(allowed_imports)
    denied_imports = frozenset(denied)
    process_events = frozenset(_PROCESS_EVENTS)
    prefix_events, read_events = _PREFIX_EVENTS, frozenset(_READ_EVENTS)
    write_events = frozenset(_WRITE_EVENTS)
    stdlib = read_roots[0]

    def resolve(path):
        """Absolute path with '.', '..' and symlinks resolved, or None if not a plain path."""
        if _type(path) is _bytes:
            path = path.decode("utf-8", "surrogateescape")
        elif _type(path) is not _str:
            return None
        if not path.startswith("/"):
            path = _getcwd() + "/" + path
        todo = [p for p in path.split("/") if p][::-1]
        done = []
        hops = 0
        while todo:
            part = todo.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join(done + [part])
            try:
                mode = _lstat(candidate).st_mode
            except _OSError:
                mode = 0
            if mode & 0o170000 == 0o120000:
                hops += 1
                if hops > 40:
                    return None
                target = _readlink(candidate)
                if target.startswith("/"):
                    done = []
                todo.extend([p for p in target.split("/") if p][::-1])
                continue
            done.append(part)
        return "/" + "/".join(done)

    def inside(path, root):
        return path == root or path.startswith(root + "/")

    def readable(path):
        if inside(path, write_root) or path == "/dev/null":
            return True
        for root in read_roots:
            if inside(path, root):
                if root == stdlib and (inside(path, stdlib + "/site-packages")
                                       or inside(path, stdlib + "/dist-packages")):
                    return False
                return True
        return False

    def check_path(event, path, write):
        if path is None or _type(path) is _int:
            return  # the working directory itself, or an already open descriptor
        resolved = resolve(path)
        ok = resolved is not None and (inside(resolved, write_root) or resolved == "/dev/null"
                                       if write else readable(resolved))
        if not ok:
            shown = path if _type(path) is _str else "<path>"
            raise _PermissionError(f"{event} of {shown[:200]!r} is not allowed while grading: "
                                   "answer code may only use NumPy and the standard library, "
                                   "without files")

    def hook(event, args):
        if event == "open":
            path = args[0]
            mode, flags = args[1], args[2]
            write = (_type(mode) is _str and ("w" in mode or "a" in mode or "x" in mode
                                              or "+" in mode)) or (
                _type(flags) is _int and flags & _O_WRITE != 0)
            check_path("opening a file", path, write)
        elif event == "import":
            name = args[0]
            if _type(name) is not _str:
                raise _ImportError("import of a non-string module name")
            top = name.partition(".")[0]
            if top.startswith("_sysconfigdata"):
                return  # the interpreter's build settings (numpy.testing reads them)
            if top not in allowed_imports or top in denied_imports or name in denied_imports:
                raise _ImportError(_format(module=name[:100]))
        elif event in process_events:
            raise _PermissionError(f"{event} is not allowed while grading")
        elif event in read_events:
            check_path(event, args[0] if _len(args) else None, False)
        elif event in write_events:
            for arg in args[:2]:
                if _type(arg) is _str or _type(arg) is _bytes:
                    check_path(event, arg, True)
                elif arg is not None and _type(arg) is not _int:
                    raise _PermissionError(f"{event} with a non-string path is not allowed")
        elif event == "object.__setattr__":
            if _len(args) > 1 and _type(args[1]) is _str and args[1] == "__code__":
                raise _PermissionError("replacing a function's __code__ is not allowed")
        else:
            for prefix in prefix_events:
                if event.startswith(prefix):
                    raise _PermissionError(f"{event} is not allowed while grading")

    sys.addaudithook(hook)


# ---- steps 6 and 7: cells and calls -------------------------------------------------------------

class _Capture:
    """Stand-in for sys.stdout / sys.stderr: keeps the first OUTPUT_CAP characters."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, text):
        if type(text) is str and self.size < OUTPUT_CAP:
            self.parts.append(text[: OUTPUT_CAP - self.size])
            self.size += len(self.parts[-1])
        return len(text) if type(text) is str else 0

    def flush(self):
        pass

    def take(self):
        text, self.parts, self.size = "".join(self.parts), [], 0
        return text


def _short(text, limit=2000):
    text = text if type(text) is str else "<not a string>"
    return text if len(text) <= limit else text[:limit] + "..."


def _describe_error(exc, traceback):
    """Type name, message, and the last line of an answer cell in the traceback."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a broken __str__ is the student's
        message = "<the exception's message could not be shown>"
    where = None
    try:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.startswith(ANSWER_PREFIX):
                where = [frame.filename[len(ANSWER_PREFIX):-1], frame.lineno, frame.line or ""]
    except BaseException:  # noqa: BLE001
        pass
    name = type(exc).__name__
    return {"type": _short(name if type(name) is str else "Exception", 80),
            "message": _short(message), "where": where}


def decode(value, np):
    """Arguments from the parent (trusted, built from plain JSON)."""
    if type(value) is dict:
        if "__nd__" in value:
            dtype, shape, data = value["__nd__"]
            arr = np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).copy()
            return arr.reshape(shape)
        if "__np__" in value:
            dtype, data = value["__np__"]
            return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype))[0]
        if "__tuple__" in value:
            return tuple(decode(v, np) for v in value["__tuple__"])
        if "__list__" in value:
            return [decode(v, np) for v in value["__list__"]]
        if "__dict__" in value:
            return {k: decode(v, np) for k, v in value["__dict__"]}
        raise ValueError("unknown encoding")
    return value


def encode_result(result, np):
    """The value an answer returned, as plain numbers; student code may run here (__array__)."""
    if result is None:
        return {"kind": "none"}
    try:
        arr = np.asarray(result)
    except BaseException as exc:  # noqa: BLE001
        return {"kind": "unconvertible",
                "what": f"{_short(type(result).__name__, 80)} that NumPy cannot turn into an "
                        f"array ({_short(str(type(exc).__name__))})"}
    kind = arr.dtype.kind
    if kind not in "biuf":
        what = {"c": "complex numbers", "O": "Python objects", "U": "text",
                "S": "bytes"}.get(kind, f"values of dtype {arr.dtype}")
        return {"kind": "unconvertible",
                "what": f"{what} (type {_short(type(result).__name__, 80)})"}
    dtype = {"b": "|b1", "i": "<i8", "u": "<u8", "f": "<f8"}[kind]
    plain = np.array(arr, dtype=np.dtype(dtype), order="C", copy=True)  # keeps 0-d results 0-d
    return {"kind": "array", "dtype": dtype, "shape": list(plain.shape),
            "data": base64.b64encode(plain.tobytes()).decode("ascii")}


def run_cells(cells, namespace, capture):
    import linecache
    import traceback

    results = []
    for cell in cells:
        filename = ANSWER_PREFIX + cell["name"] + ">"
        source = cell["source"]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        result = {"name": cell["name"], "error": None}
        try:
            code = compile(source, filename, "exec")
            exec(code, namespace)  # noqa: S102 - this process exists to run the answer
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt included
            result["error"] = _describe_error(exc, traceback)
        result["output"] = capture.take()
        results.append(result)
    return results


def bound_callables(namespace):
    """Names the answer cells bound to something callable (however they bound them)."""
    names = []
    for key, value in list(namespace.items())[:10000]:
        if type(key) is str and not key.startswith("__") and callable(value):
            names.append(key[:100])
    return names[:200]


def undefined_message(name, namespace, results):
    """Why ``name`` is not there: the answer cell that stopped, or what the cells do define."""
    message = f"{name} is not defined by your answer cells"
    # the cell named after the function first (answer cells carry the function's name)
    for result in sorted(results, key=lambda r: r.get("name") != name):
        error = result.get("error")
        if error:
            place = result["name"]
            place = place if place.startswith("helper cell ") else f"answer cell '{place}'"
            line = f" at line {error['where'][1]}" if error.get("where") else ""
            return (f"{message}: your {place} stopped{line} with {error['type']}: "
                    f"{_short(error['message'], 300)}")
    others = [n for n in bound_callables(namespace) if n != "__lossgrade_magic__"][:8]
    if others:
        message += f" (they define {', '.join(others)})"
    return message


def serve(resp_fd, namespace, np, capture, results=()):
    import traceback

    while True:
        request = read_frame(0)
        if request is None or request.get("op") != "call":
            return
        reply = {"id": request["id"]}
        name = request["name"]
        fn = namespace.get(name)
        try:
            if fn is None:
                raise NameError(undefined_message(name, namespace, results))
            if not callable(fn):
                raise TypeError(f"{name} is a {type(fn).__name__}, not a function")
            args = decode(request["args"], np)
            kwargs = decode(request["kwargs"], np)
            result = fn(*args, **kwargs)
            reply.update(encode_result(result, np))
        except BaseException as exc:  # noqa: BLE001
            reply["kind"] = "error"
            reply.update(_describe_error(exc, traceback))
        reply["output"] = capture.take()
        write_frame(resp_fd, reply)


def run_child(resp_fd, setup):
    """Steps 2 to 7 for one submission (NumPy may already be imported by the zygote)."""
    apply_limits(setup["limits"])
    if "numpy" not in sys.modules:
        import_numpy(setup)
    import numpy as np

    os.chdir(setup["workdir"])
    os.environ["HOME"] = os.environ["TMPDIR"] = setup["workdir"]
    report = confine(setup)
    # ctypes is loaded by NumPy; an answer that imports it gets the audit hook's refusal.
    for name in ("ctypes", "_ctypes", "ctypes._endian"):
        sys.modules.pop(name, None)
    # Signals by pidfd have no audit event; without these names nothing can send them.
    import signal
    for module in (signal, sys.modules.get("_signal"), os, sys.modules.get("posix")):
        for attr in ("pidfd_send_signal", "pidfd_open"):
            if module is not None and hasattr(module, attr):
                delattr(module, attr)
    if setup.get("audit_hook", True):  # switched off only by tests of the kernel-level layers
        install_audit_hook([setup["stdlib"], *setup["read_dirs"]], setup["workdir"],
                           set(sys.stdlib_module_names) | {"numpy"},
                           setup.get("denied") or _DENIED_IMPORTS, setup.get("import_refused"))
    import random

    # The legacy global generator on purpose: answers that call np.random.rand() unseeded
    # must still give the same numbers when graded twice.
    np.random.seed(setup["seed"] % (2**32))  # noqa: NPY002
    random.seed(setup["seed"])
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    # IPython magics in answer cells were turned into calls of this no-op by the parent
    # (submission.MAGIC_CALL).
    # display() as in a notebook, where it would show the value: here it prints it.
    namespace = {"__name__": "__main__", "__builtins__": __builtins__,
                 "__lossgrade_magic__": lambda *args, **kwargs: None,
                 "display": lambda *objs, **kwargs: print(*objs)}
    results = run_cells(setup["cells"], namespace, capture)
    write_frame(resp_fd, {"ready": True, "cells": results, "protections": report,
                          "bound": bound_callables(namespace)})
    serve(resp_fd, namespace, np, capture, results)


# ---- zygote: NumPy imported once, one fork per submission ----------------------------------------

def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` ends (``PR_SET_PDEATHSIG``), or now if it already has.

    The grader ends a child whose time is up; a grader killed outright (a cluster machine taken
    down) cannot, and a child in a session of its own escapes a kill of the grader's group. The
    zygote ends when its grader does, so in a fork of it this chains to the grader.
    """
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(70)


def _forked(ctl, fds, zygote_pid):
    """In a fresh fork of the zygote: detach from it completely, then run one submission."""
    import signal

    code = 70
    try:
        die_with_parent(zygote_pid)
        ctl.close()  # the submission must never reach the zygote's control channel
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        stdin_r, resp_w, err_fd = fds
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(stdin_r, 0)
        os.dup2(devnull, 1)
        os.dup2(err_fd, 2)
        os.dup2(resp_w, 3)
        os.closerange(4, 65536)
        run_child(3, read_frame(0))
        code = 0
    except BaseException:  # noqa: BLE001 - the parent reports the last line of stderr
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)  # never return into the zygote's loop


def zygote(ctl_fd):
    """Serve the grader's control socket: ``init`` (import NumPy), ``spawn`` (fork a child for
    one submission, with its stdin, response pipe and stderr passed as descriptors), ``wait``
    (reap a child and report its status). No student code ever runs in this process."""
    import socket
    import time

    # The grader closing the socket ends this loop. A grader killed outright (a cluster machine
    # taken down) may find this process inside a "wait" for a child that outlives it, so a
    # parent that is gone ends the loop too: started in a session of its own, this process is
    # out of reach of a kill of the grader's process group.
    parent = os.getppid()
    ctl = socket.socket(fileno=ctl_fd)
    ctl.settimeout(1.0)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 65536, 3)
        except TimeoutError:
            if os.getppid() != parent:
                return
            continue
        except OSError:
            return
        if not data:
            return
        message = json.loads(data.decode("utf-8"))
        op = message.get("op")
        if op == "init":
            import_numpy(message)
            reply = {"ready": True}
        elif op == "spawn" and len(fds) == 3:
            zygote_pid = os.getpid()
            pid = os.fork()
            if pid == 0:
                _forked(ctl, fds, zygote_pid)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif op == "wait":
            deadline = time.monotonic() + float(message.get("timeout", 5))
            status = None
            while True:
                try:
                    done, raw = os.waitpid(int(message["pid"]), os.WNOHANG)
                except ChildProcessError:
                    break
                if done:
                    status = os.waitstatus_to_exitcode(raw)
                    break
                if time.monotonic() > deadline or os.getppid() != parent:
                    break
                time.sleep(0.005)
            reply = {"status": status}
        else:
            for fd in fds:
                os.close(fd)
            reply = {"error": "unknown request"}
        ctl.send(json.dumps(reply).encode("utf-8"))


def main():
    if sys.argv[1] == "--zygote":
        zygote(int(sys.argv[2]))
    else:
        die_with_parent(os.getppid())  # the grader thread that started it waits for it
        run_child(int(sys.argv[1]), read_frame(0))


if __name__ == "__main__":
    main()
