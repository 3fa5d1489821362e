"""Random inputs of the hidden checks, drawn from a seed that the grader fixes per submission.

:func:`rng` derives a generator from ``$LOSSCOURSE_GRADING_SEED`` (set by the grader while it runs
one submission's test cells, :mod:`grader.testrun`) and the check's tag, so grading the same
submission twice draws the same inputs and gives the same grade, while students cannot know them.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = ["SEED_ENV", "seed", "rng"]

SEED_ENV = "LOSSCOURSE_GRADING_SEED"
_DEFAULT_BASE = "loss-functions-course"


def seed(tag: str) -> int:
    """A 63-bit seed for the random inputs of one check, named by ``tag``: derived from
    ``$LOSSCOURSE_GRADING_SEED`` when the grader sets it, else from a fixed default."""
    base = os.environ.get(SEED_ENV, "") or _DEFAULT_BASE
    digest = hashlib.sha256(f"{base}/{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rng(tag: str) -> np.random.Generator:
    """``np.random.Generator`` seeded by :func:`seed`."""
    return np.random.default_rng(seed(tag))
