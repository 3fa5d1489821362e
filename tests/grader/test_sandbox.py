"""The sandbox on its own: what answer code can and cannot do, limits, crashes, clean-up.

Every forbidden operation is tried twice: with all protections, and with the audit hook switched
off, so that the kernel-level layers (Landlock, seccomp, capabilities or uid, resource limits) are
shown to hold on their own where the machine supports them.
"""

from __future__ import annotations

import dis
import os
import time
from pathlib import Path

import numpy as np
import pytest

from grader import _sandbox_child as child_module
from grader.sandbox import Limits, Sandbox, decode_result, encode, protection_plan

ROOT = Path(__file__).resolve().parents[2]
PROBE = "def probe(code):\n    exec(code, {})\n    return 1.0\n"
KERNEL = protection_plan()["landlock"] and protection_plan()["seccomp"]
SECRET = ROOT / "solutions" / "huber" / "huber.ipynb"

FORBIDDEN = {
    "read the instructor's notebook": f"open({str(SECRET)!r}).read()",
    "read it with os.open": f"import os; os.open({str(SECRET)!r}, os.O_RDONLY)",
    "read /etc/passwd": "open('/etc/passwd').read()",
    "read another process's environment": "open('/proc/1/environ').read()",
    "list the course folder": f"import os; os.listdir({str(ROOT)!r})",
    "write next to the gradebook": f"open({str(ROOT / 'lossgrade_probe.db')!r}, 'w')",
    "escape through a symlink": (f"import os; os.symlink({str(ROOT)!r}, 'link'); "
                                 "open('link/README.md').read()"),
    "start a process": "import subprocess; subprocess.run(['true'])",
    "fork": "import os; os.fork()",
    "signal the grader": "import os, signal; os.kill(os.getppid(), signal.SIGTERM)",
    "open a socket": "import socket; socket.socket()",
    "import the reference": "import lossutils",
    "import torch": "import torch",
    "read a file through ctypes (loaded by NumPy)": (
        "import numpy._core._internal as i\n"
        f"fd = i.ctypes.CDLL(None).open({str(SECRET).encode()!r}, 0)\n"
        "if fd < 0:\n    raise PermissionError('refused')"),
    "raise a resource limit": "import resource; resource.setrlimit(resource.RLIMIT_AS, (-1, -1))",
}
ALLOWED = {
    "NumPy submodules": "import numpy as np; np.linalg.eigvalsh(np.eye(2)); np.fft.fft([1, 2])",
    "numpy.testing": "import numpy as np; np.testing.assert_allclose(1.0, 1.0)",
    "standard library modules": "import statistics, fractions, itertools; statistics.mean([1])",
    "a scratch file in its own folder": "open('s.txt', 'w').write('x'); open('s.txt').read()",
    "threads": "import threading; t = threading.Thread(target=len, args=([],)); t.start()",
    "warnings and stderr": "import sys, warnings; warnings.warn('w'); print('e', file=sys.stderr)",
}


def _probe(code: str, **layers) -> tuple[str, str]:
    with Sandbox([("probe", PROBE)], seed=1, limits=Limits(call_seconds=20),
                 layers=layers or None) as box:
        out = box.call("probe", (code,))
    return out.kind, f"{out.error_type}: {out.message}"


@pytest.mark.parametrize("what", FORBIDDEN)
def test_forbidden_operation_is_refused(what):
    kind, message = _probe(FORBIDDEN[what])
    assert kind == "error", f"{what} was allowed"
    assert not (ROOT / "lossgrade_probe.db").exists()


@pytest.mark.skipif(not KERNEL, reason="Landlock or seccomp not available on this machine")
@pytest.mark.parametrize("what", [w for w in FORBIDDEN if "import" not in w])
def test_kernel_layers_refuse_without_the_audit_hook(what):
    kind, message = _probe(FORBIDDEN[what], audit_hook=False)
    assert kind == "error", f"{what} was allowed once the audit hook is off"
    assert "not allowed while grading" not in message  # refused by the kernel, not the hook


@pytest.mark.parametrize("what", ALLOWED)
def test_honest_operation_is_allowed(what):
    kind, message = _probe(ALLOWED[what])
    assert kind == "array", f"{what}: {message}"


def test_rebinding_builtins_and_os_does_not_lift_the_guard():
    code = ("import builtins, os, posixpath\nbuiltins.type = lambda x: str\n"
            "os.getcwd = lambda: '/'\nposixpath.realpath = lambda p, **k: p\n"
            f"open({str(SECRET)!r}).read()")
    kind, message = _probe(code)
    assert kind == "error" and "not allowed" in message


def test_the_audit_hook_reads_no_globals():
    """The hook decides with values captured at install time only: a student who rebinds a
    global or builtin name cannot change what it allows."""
    install = child_module.install_audit_hook.__code__
    nested = [c for c in install.co_consts if hasattr(c, "co_code")]
    assert {c.co_name for c in nested} >= {"hook", "resolve", "inside", "readable",
                                           "check_path"}
    for code in nested:
        names = [i.argval for i in dis.get_instructions(code)
                 if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
        assert not names, f"{code.co_name} looks up {names} at call time"


def test_results_are_plain_numbers_whatever_the_answer_returns():
    src = ("import numpy as np\n"
           "class Liar(np.ndarray):\n"
           "    def __eq__(self, other): return True\n"
           "    def __array_ufunc__(self, *a, **k): return True\n"
           "def liar(): return np.arange(3.0).view(Liar)\n"
           "def listy(): return [1, 2, 3]\n"
           "def scalar(): return np.float32(1.5)\n"
           "def none(): return None\n"
           "def text(): return 'abc'\n"
           "def cplx(): return np.array([1j])\n"
           "def fail(): raise ValueError('bad input')\n")
    with Sandbox([("answers", src)], seed=0) as box:
        liar = box.call("liar")
        assert type(liar.value) is np.ndarray and liar.value.tolist() == [0.0, 1.0, 2.0]
        assert box.call("listy").value.dtype == np.int64
        scalar = box.call("scalar").value
        assert type(scalar) is np.float64 and scalar == 1.5
        assert box.call("none").kind == "none"
        assert box.call("text").kind == "unconvertible"
        assert "complex" in box.call("cplx").message
        fail = box.call("fail")
        assert (fail.kind, fail.error_type, fail.message) == ("error", "ValueError", "bad input")
        assert fail.where == ["answers", 11, "def fail(): raise ValueError('bad input')"]
        assert box.call("missing").error_type == "NameError"


def test_arguments_arrive_unchanged():
    values = (np.arange(6.0).reshape(2, 3), np.array([True, False]), np.int64(7), 2.5, None,
              "text", [1, (2, 3)], {"k": np.float64(0.5)})
    src = "def echo(*args):\n    global seen\n    seen = args\n    return 0.0\n" \
          "def types():\n    return [len(seen)]\n"
    with Sandbox([("answers", src)], seed=0) as box:
        assert box.call("echo", values).ok
        assert box.call("types").value.tolist() == [len(values)]
    assert encode(values[0])["__nd__"][1] == [2, 3]
    with pytest.raises(TypeError):
        encode(object())


def test_unseeded_randomness_is_the_same_when_graded_twice():
    src = ("import numpy as np, random\n"
           "def draw():\n    return [np.random.rand(), random.random()]\n")
    draws = []
    for _ in range(2):
        with Sandbox([("answers", src)], seed=42) as box:
            draws.append(box.call("draw").value.tolist())
    assert draws[0] == draws[1]


def test_time_limits_restart_the_process_and_stop_calling_a_hopeless_function():
    src = ("import signal\n"
           "def spin():\n"
           "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "    while True:\n        pass\n"
           "def ok(x):\n    return x + 1\n")
    limits = Limits(call_seconds=1, max_restarts=5, strikes=2)
    with Sandbox([("answers", src)], seed=0, limits=limits) as box:
        t0 = time.monotonic()
        assert box.call("spin").kind == "timeout"
        assert box.call("ok", (1.0,)).value == 2.0  # a fresh process answers
        assert box.call("spin").kind == "timeout"
        assert box.call("spin").kind == "skipped"  # two strikes: not called again
        assert time.monotonic() - t0 < 8
        assert box.stats.timeouts == 2 and box.stats.starts == 2


def test_endless_top_level_code_fails_every_call_with_a_reason():
    with Sandbox([("answers", "while True:\n    pass\n")], seed=0,
                 limits=Limits(setup_seconds=1)) as box:
        out = box.call("anything")
    assert out.kind == "unavailable" and "longer than 1 s" in out.message


def test_crash_and_memory_are_reported_in_words():
    src = ("import faulthandler\nimport numpy as np\n"
           "def crash():\n    faulthandler._read_null()\n"
           "def hog():\n    return np.ones(10**10)\n"
           "def ok():\n    return 1.0\n")
    with Sandbox([("answers", src)], seed=0, limits=Limits(memory_mb=1024)) as box:
        crash = box.call("crash")
        assert crash.kind == "crash" and "segmentation fault" in crash.message
        hog = box.call("hog")
        assert hog.error_type == "MemoryError" and "1024 MB" in hog.message
        assert box.call("ok").value == 1.0


def test_notebook_budget_is_enforced():
    src = "import time\ndef nap():\n    time.sleep(0.6)\n    return 1.0\n"
    with Sandbox([("answers", src)], seed=0, limits=Limits(notebook_seconds=2)) as box:
        kinds = [box.call("nap").kind for _ in range(6)]
    assert kinds[0] == "array" and kinds[-1] == "budget", kinds


def test_nothing_is_left_behind():
    with Sandbox([("answers", "def f():\n    return 1.0\n")], seed=0) as box:
        box.call("f")
        pid, workdir = box._child.pid, box._workdir
        assert Path(workdir).is_dir()
    assert not Path(workdir).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_setup_reports_answer_cell_errors_and_protections():
    cells = [("first", "def f():\n    return 1.0\nprint('hello')\n"),
             ("second", "def g(:\n"), ("third", "raise SystemExit(3)\n")]
    with Sandbox(cells, seed=0) as box:
        report = box.start()
        assert report["cells"][0] == {"name": "first", "error": None, "output": "hello\n"}
        assert report["cells"][1]["error"]["type"] == "SyntaxError"
        assert report["cells"][2]["error"]["type"] == "SystemExit"
        assert box.call("f").value == 1.0
        if KERNEL:
            prot = report["protections"]
            assert prot["landlock"].startswith("abi") and prot["seccomp"] == "on"


def test_decoding_refuses_inconsistent_replies():
    with pytest.raises(ValueError):
        decode_result({"dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="})
    with pytest.raises(KeyError):
        decode_result({"dtype": "|O", "shape": [1], "data": ""})


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to nobody needs root")
def test_the_nobody_mode_works_when_chosen():
    """When the interpreter is readable by `nobody` the root grader's sandbox switches to it."""
    from grader.sandbox import PRELOAD

    src = ("import os, statistics\n"
           "def who():\n    return [os.getuid(), os.getgid()]\n"
           f"def steal():\n    return open({str(SECRET)!r}).read()\n")
    with Sandbox([("answers", src)], seed=0,
                 layers={"user": "nobody", "preload": list(PRELOAD)}) as box:
        assert box.call("who").value.tolist() == [65534, 65534]
        assert box.call("steal").kind == "error"
        assert box.setup_report["protections"]["uid"] == 65534
