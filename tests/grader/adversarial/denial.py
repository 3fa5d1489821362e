"""Denial of service: killing or hanging the grader, endless loops, fork and memory bombs."""

from ._answers import CORRECT_GRAD, WRONG_GRAD, WRONG_LOSS, both
from .build import Case

CAT = "denial"

_KILL = '''
import os
import signal

for target in (os.getppid(), 1):
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        try:
            os.kill(target, sig)
        except Exception:
            pass
try:
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
except Exception:
    pass
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            os.kill(int(entry), signal.SIGKILL)
        except Exception:
            pass
'''

_HANG_TOP = '''import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    pass
'''

_IMMUNE = '''import signal

import numpy as np


def huber_loss(pred, target, delta=1.0):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass


def huber_grad(pred, target, delta=1.0):
    n = 0
    while True:
        n += 1
'''

_MEMORY = '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    hoard = []
    while True:
        hoard.append(np.empty(10**8))


def huber_grad(pred, target, delta=1.0):
    return np.ones(10**11)
'''

_FORK_BOMB = '''
import os

for _ in range(64):
    try:
        os.fork()
    except Exception:
        break
'''

_CRASH = '''import faulthandler


def huber_loss(pred, target, delta=1.0):
    faulthandler._read_null()


def huber_grad(pred, target, delta=1.0):
    import sys
    sys.setrecursionlimit(10**7)

    def deeper(n):
        return deeper(n + 1) + 1
    return deeper(0)
'''

_SLOW_LOSS = '''import time


def huber_loss(pred, target, delta=1.0):
    """Correct, element by element in pure Python, and deliberately slow."""
    time.sleep(0.002)
    pred = [float(p) for p in __import__("numpy").ravel(pred)]
    target = [float(t) for t in __import__("numpy").ravel(target)]
    total = 0.0
    for p, t in zip(pred, target):
        a = abs(p - t)
        total += 0.5 * a * a if a <= delta else delta * (a - 0.5 * delta)
    return total / len(pred)
'''

_HUGE_CELL = WRONG_LOSS + "# " + "x" * 300_000 + "\n"  # over the 200,000 characters per cell

_BLANK_LINES = "\n" * 150_000 + "%time\n" + WRONG_LOSS  # quadratic for a careless regex

_FORGED_REPLY = '''import os
import struct


def huber_loss(pred, target, delta=1.0):
    """Writes its own reply to the grader's channel: nested lists, then a huge length."""
    body = b"[" * 4_000_000
    os.write(3, struct.pack(">I", len(body)) + body)
    os.write(3, struct.pack(">I", 2**31) + b"{")
    return 0.0
'''


def _deep_json() -> str:
    """A notebook whose JSON nests 100,000 lists deep (Python's parser recurses on it)."""
    return '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ' + \
        "[" * 100_000 + "]" * 100_000 + "}"


def _wide_json() -> str:
    """A notebook with 400,000 empty objects: gigabytes of Python dicts if parsed."""
    return ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": [' +
            ",".join(["{}"] * 400_000) + ']}, "cells": []}')


def _hidden_markers(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "written_interpretation":
            cell.source = "# BEGIN HIDDEN TESTS\n" * 30_000


CASES = [
    Case("dos_a_kill_grader", CAT, "signals the grader, its process group and every process",
         both(WRONG_LOSS + _KILL, WRONG_GRAD), expect="zero", review=True),
    Case("dos_b_hang_top_level", CAT, "SIGINT-immune endless loop at the top of an answer cell",
         both(_HANG_TOP + WRONG_LOSS, CORRECT_GRAD), expect="zero", review=True),
    Case("dos_c_sigint_immune_calls", CAT, "endless loops that ignore SIGINT inside the functions",
         {"huber_loss": _IMMUNE, "huber_grad": "# defined above\n"}, expect="zero",
         review=True),
    Case("dos_d_memory", CAT, "allocates without bound", {"huber_loss": _MEMORY,
                                                           "huber_grad": "# defined above\n"},
         expect="zero", review=True),
    Case("dos_e_fork_bomb", CAT, "forks repeatedly", both(WRONG_LOSS + _FORK_BOMB, WRONG_GRAD),
         expect="zero", review=True),
    Case("dos_f_crash", CAT, "segfaults and overflows the C stack",
         {"huber_loss": _CRASH, "huber_grad": "# defined above\n"}, expect="zero", review=True),
    Case("dos_g_huge_cell", CAT, "an answer cell of 300,000 characters",
         both(_HUGE_CELL, WRONG_GRAD), expect="zero", review=True),
    Case("dos_h_blank_lines", CAT, "150,000 blank lines before a magic in an answer cell",
         both(_BLANK_LINES, WRONG_GRAD), expect="zero", transform=_hidden_markers),
    Case("dos_i_deep_json", CAT, "notebook JSON nested 100,000 levels deep", {}, expect="zero",
         review=True, raw=_deep_json()),
    Case("dos_j_wide_json", CAT, "notebook JSON with 400,000 objects", {}, expect="zero",
         review=True, raw=_wide_json()),
    Case("dos_k_forged_reply", CAT, "writes nested and oversized replies to the grader's channel",
         both(_FORGED_REPLY, WRONG_GRAD), expect="zero", review=True),
    Case("dos_zz_honest_slow", CAT, "honest twin: correct, pure Python, slow", both(
        _SLOW_LOSS, CORRECT_GRAD), expect="full"),
]
