"""The hidden set-up cell: in every chapter and assignment, the same as _config.yml says, and it
installs the course package only where it is missing, from the configured or overriding source.

The end-to-end checks (a fresh Colab-like environment without lossutils, and Binder) are
tests/book/test_launch_colab.py and test_launch_binder.py; here the cell's logic runs with pip
replaced by a recorder.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402


def test_every_notebook_carries_the_configured_cell():
    assert setup_cell.main(["--check"]) == 0, "run `python tools/setup_cell.py`"


def test_the_student_release_carries_it_too():
    want = setup_cell.cell_source(setup_cell.package_source())
    for path in sorted(ROOT.glob("exercises/*/*.ipynb")):
        first = json.loads(path.read_text())["cells"][0]
        assert "".join(first["source"]) == want, f"{path}: regenerate with nbgrader"
        assert first["metadata"]["tags"] == ["remove-cell"]


def test_the_cell_follows_the_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/x/y\n"
                      "  package_source: 'lossutils @ https://mirror.example.edu/lossutils.whl'\n")
    assert setup_cell.package_source(config) == "lossutils @ https://mirror.example.edu/lossutils.whl"
    assert "https://mirror.example.edu/lossutils.whl" in setup_cell.cell_source(
        setup_cell.package_source(config))
    config.write_text("repository:\n  url: https://example.org/x/y\n")
    with pytest.raises(SystemExit, match="package_source"):
        setup_cell.package_source(config)


def _run_cell(monkeypatch, installed: bool, env: str | None) -> list[list[str]]:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real(name, *a) if installed or name != "lossutils"
                                          else None))
    if env is None:
        monkeypatch.delenv(setup_cell.ENV, raising=False)
    else:
        monkeypatch.setenv(setup_cell.ENV, env)
    exec(setup_cell.cell_source("lossutils @ git+https://example.org/course@main"), {})
    return calls


def test_nothing_happens_where_the_package_is_installed(monkeypatch):
    assert _run_cell(monkeypatch, installed=True, env="/somewhere/else") == []


def test_a_missing_package_is_installed_from_the_configured_source(monkeypatch):
    (cmd,) = _run_cell(monkeypatch, installed=False, env=None)
    assert cmd[1:] == ["-m", "pip", "install", "--quiet",
                       "lossutils @ git+https://example.org/course@main"]


def test_the_environment_variable_overrides_the_source(monkeypatch):
    (cmd,) = _run_cell(monkeypatch, installed=False, env="/srv/wheels/lossutils-0.2.0.whl")
    assert cmd[-1] == "/srv/wheels/lossutils-0.2.0.whl"
