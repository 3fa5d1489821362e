"""Fixtures of the book tests: the student distribution, written once per test session.

It is written by tools/student_repo.py into a temporary folder named like the public repository
(launch links on a JupyterHub open ``<repository name>/<path>``), from this checkout as it is.
Tests that change it work on a clone of their own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))  # sitepages: the secrets and text search
import student_repo  # noqa: E402
from launching import REPO_NAME  # noqa: E402


@pytest.fixture(scope="session")
def student_dist(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("distribution") / REPO_NAME
    assert student_repo.write(dest, ROOT), "the first write of a distribution made no commit"
    return dest
