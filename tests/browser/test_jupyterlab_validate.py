"""The other half of the student experience: an assignment in JupyterLab, checked with nbgrader's
Validate button.

JupyterLab runs on 127.0.0.1 (a free port, a random token, a temporary root holding the student
release of the Huber assignment and a completed copy of it, and temporary settings). In Chromium
the test opens each notebook, runs all cells from the Run menu, presses Validate in the notebook
toolbar (added by nbgrader's lab extension) and reads the dialog: the stub fails its tests, the
completed notebook passes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
from sitepages import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "huber"
RELEASE = REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOLUTION = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
START_TIMEOUT = 90
RUN_TIMEOUT_MS = 120_000
VALIDATE_TIMEOUT_MS = 240_000
# The notebook in front (JupyterLab keeps other open notebooks in hidden panels).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
IDLE = f"{PANEL} .jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']"
# Tracebacks and warnings both render as stderr outputs (and nbgrader fails a cell on either).
STDERR = f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def completed_notebook(release: Path, solution: Path) -> dict:
    """The student release with every answer cell filled from the instructor's solution region."""
    nb = json.loads(release.read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
               for c in json.loads(solution.read_text())["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    filled = 0
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            lines = answers[meta["grade_id"]].splitlines(keepends=True)
            cell["source"] = "".join(ln for ln in lines if ln.strip() not in MARKERS)
            filled += 1
    assert filled >= 2, f"{release}: only {filled} answer cells"
    return nb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, root dir) of a JupyterLab server started for these tests."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    (root / "completed").mkdir(parents=True)
    shutil.copy(RELEASE, root / f"{ASSIGNMENT}.ipynb")
    (root / "completed" / f"{ASSIGNMENT}.ipynb").write_text(
        json.dumps(completed_notebook(RELEASE, SOLUTION), indent=1))
    # Every cell in the page (no virtual scrolling) so all outputs can be read; start the
    # notebook's own kernel without asking; no news prompt over the page.
    settings = tmp / "settings" / "@jupyterlab"
    for name, value in [("notebook-extension/tracker",
                         {"windowingMode": "none", "autoStartDefaultKernel": True}),
                        ("apputils-extension/notification", {"fetchNews": "false"})]:
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), PYTHONFAULTHANDLER="1")
    log = (tmp / "server.log").open("w")
    # The server's working directory is the student's folder: validation reads no course config.
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log_text = (tmp / "server.log").read_text()
                pytest.fail(f"JupyterLab did not start:\n{log_text[-3000:]}")
            time.sleep(0.5)
    yield base, token, root
    try:  # a clean shutdown also stops the kernels the server started
        urllib.request.urlopen(urllib.request.Request(
            f"{base}api/shutdown?token={token}", method="POST"), timeout=10)
        proc.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    log.close()


NOTEBOOK_STATE = f"""() => {{
  const prompts = [...document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return {{
    prompts,
    ran: prompts.filter(t => /\\[\\d+\\]/.test(t)).length,
    running: prompts.some(t => t.includes('*')),
    stderr: document.querySelectorAll("{STDERR}").length,
    kernel: document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator')
      ?.getAttribute('data-status'),
    connected: /Kernel status: Idle/.test(
      document.querySelector('{PANEL} .jp-NotebookPanel-toolbar')?.textContent || ''),
    died: [...document.querySelectorAll('.jp-Dialog')]
      .some(d => /appears to have died/.test(d.textContent)),
  }};
}}"""


def server_log(root: Path, lines: int = 40) -> str:
    """The last lines the JupyterLab server printed (kernel starts, restarts and deaths)."""
    log = root.parent / "server.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_until(page, done, timeout_ms: int, what: str, root: Path) -> dict:
    """Poll the notebook's state until ``done(state)``; on timeout say where it stood, with the
    dialogs on the page and the server's log."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        state = page.evaluate(NOTEBOOK_STATE)
        if done(state):
            return state
        if time.monotonic() > deadline:
            dialogs = page.locator(".jp-Dialog").all_inner_texts()
            raise AssertionError(f"{what}: {state}\ndialogs: {dialogs}\n"
                                 f"server log:\n{server_log(root)}")
        page.wait_for_timeout(500)


def api(base: str, token: str, route: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}api/{route}?token={token}", method="GET" if body is None else "POST",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def start_kernel(base: str, token: str, path: str) -> None:
    """Start the notebook's kernel as a session for ``path`` (the page then attaches to it)."""
    session = api(base, token, "sessions", {"path": path, "type": "notebook",
                                            "name": Path(path).name,
                                            "kernel": {"name": "python3"}})
    assert session["kernel"]["name"] == "python3", session


def run_all(page, root: Path) -> bool:
    """Run all cells from the Run menu and wait until they are done; False if the kernel died."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']:not(.lm-mod-disabled)").click()
    # Done when no cell is queued or running and either every code cell has run or one failed
    # (Run All stops at the first error), or when JupyterLab says the kernel died.
    state = wait_until(page, lambda s: s["died"] or (
        s["ran"] > 0 and not s["running"]
        and (s["ran"] == len(s["prompts"]) or s["stderr"] > 0)), RUN_TIMEOUT_MS,
        "Run All did not finish", root)
    return not state["died"]


def run_all_and_validate(page, base: str, token: str, root: Path, path: str, shot: Path) -> dict:
    """Open ``path``, run all cells from the Run menu, press Validate; return the dialog's state."""
    # The notebook's kernel is started first, as a session for its path, so the page attaches to
    # a running kernel (opening the page alone lets JupyterLab race two kernel starts under load).
    start_kernel(base, token, path)
    # ?reset: a fresh layout holding only this notebook (not the ones earlier tests opened).
    page.goto(f"{base}lab/tree/{path}?reset&token={token}")
    page.wait_for_selector(f"{PANEL} .jp-Notebook", timeout=RUN_TIMEOUT_MS)
    assert page.locator(".jp-NotebookPanel").count() == 1, "other notebooks are open"
    wait_until(page, lambda s: s["kernel"] == "idle" and s["connected"], RUN_TIMEOUT_MS,
               "the notebook did not connect to its kernel", root)
    # Run menu commands act on the notebook that has the focus: click into it first. The first
    # cell is the course's set-up code cell, where a click starts editing: Escape leaves the
    # focus on the notebook in command mode.
    page.locator(f"{PANEL} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.wait_for_selector(f"{PANEL}.jp-mod-current, {PANEL} .jp-Notebook.jp-mod-commandMode",
                           state="attached", timeout=RUN_TIMEOUT_MS)
    if not run_all(page, root):
        # Seen once in CI: the kernel died in a cell that only compares numbers, which no run
        # here could repeat. It is reported with the server's log (faulthandler's stack if the
        # kernel crashed) and Run All gets one more kernel; a second death fails the test.
        warnings.warn(f"{path}: the kernel died during Run All and JupyterLab restarted it; "
                      f"running all cells again. Server log:\n{server_log(root)}", stacklevel=2)
        page.locator(".jp-Dialog .jp-mod-accept").click()
        wait_until(page, lambda s: s["kernel"] == "idle" and s["connected"] and not s["died"],
                   RUN_TIMEOUT_MS, "the restarted kernel did not come back", root)
        assert run_all(page, root), f"the kernel died twice:\n{server_log(root)}"
    page.wait_for_selector(IDLE, state="attached", timeout=RUN_TIMEOUT_MS)
    button = page.locator(f"{PANEL} .jp-NotebookPanel-toolbar .validate-button")
    assert button.count() == 1, "no Validate button in the notebook toolbar (nbgrader extension)"
    button.click()
    dialog = page.locator(".jp-Dialog").filter(has=page.locator("#validation-message"))
    dialog.wait_for(timeout=VALIDATE_TIMEOUT_MS)
    page.screenshot(path=shot)
    return {
        "title": dialog.locator(".jp-Dialog-header").inner_text(),
        "classes": dialog.locator("#validation-message").get_attribute("class") or "",
        "text": dialog.locator("#validation-message").inner_text(),
        "errors": page.locator(STDERR).count(),
    }


@contextlib.contextmanager
def lab_page(chromium, failure_shot: Path):
    """A fresh page; when the test fails inside, a screenshot of where it stood is kept."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    except Exception:
        page.screenshot(path=failure_shot)
        raise
    finally:
        context.close()


def executed(notebook: Path) -> list[int | None]:
    return [c.get("execution_count") for c in json.loads(notebook.read_text())["cells"]
            if c["cell_type"] == "code"]


def test_validate_reports_failing_tests_for_the_student_stub(lab, chromium, artifacts):
    base, token, root = lab
    with lab_page(chromium, artifacts / "jupyterlab-stub-failure.png") as page:
        state = run_all_and_validate(page, base, token, root, f"{ASSIGNMENT}.ipynb",
                                     artifacts / "jupyterlab-validate-stub.png")
    assert state["errors"] > 0, "running the stub raised nothing in the notebook"
    assert state["title"].strip() == "Validation Results", state
    assert "validation-failed" in state["classes"], state
    assert "The following cell failed" in state["text"], state["text"][:500]
    assert "NotImplementedError" in state["text"], state["text"][:500]
    # the checks' messages, in short lines, without tracebacks through the course package
    assert "huber_loss raised NotImplementedError" in state["text"], state["text"][:1500]
    assert "input:" in state["text"] and "lossutils/assignments" not in state["text"], \
        state["text"][:1500]
    assert "Traceback" not in state["text"] and "File " not in state["text"], state["text"][:1500]
    # Validate saved the notebook as the student ran it: from the top until the first failure.
    counts = executed(root / f"{ASSIGNMENT}.ipynb")
    assert counts[0] == 1 and None in counts, f"unexpected execution counts {counts}"


def test_validate_reports_success_for_a_completed_notebook(lab, chromium, artifacts):
    base, token, root = lab
    with lab_page(chromium, artifacts / "jupyterlab-completed-failure.png") as page:
        state = run_all_and_validate(page, base, token, root, f"completed/{ASSIGNMENT}.ipynb",
                                     artifacts / "jupyterlab-validate-completed.png")
    assert state["errors"] == 0, "the completed notebook raised an error when run in JupyterLab"
    assert "validation-success" in state["classes"], state
    assert "Success! Your notebook passes all the tests." in state["text"], state["text"][:500]
    counts = executed(root / "completed" / f"{ASSIGNMENT}.ipynb")
    assert counts == list(range(1, len(counts) + 1)), f"not every cell ran in order: {counts}"
