"""Run several nbgrader commands in one Python process, each in its own folder and environment.

nbgrader takes seconds to import; a workflow test with a dozen commands and several student
identities would spend most of its time starting Python. This runs the same applications the
``nbgrader`` command runs (``NbGraderApp`` with the given arguments, reset between commands, as
nbgrader's own test suite does), switching the working directory and the environment (HOME,
JUPYTER_* folders, exchange root) for each command.

Usage: ``python session.py < commands.json > results.json`` where commands is a list of
``{"args": [...], "cwd": "...", "env": {...}}``; each result has ``code`` and ``log``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import traceback


def run(commands: list[dict]) -> list[dict]:
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp
    from nbgrader.validator import Validator

    results = []
    for command in commands:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(command["env"])
        os.chdir(command["cwd"])
        log = io.StringIO()
        t0 = time.perf_counter()
        saved_stdout = sys.stdout
        sys.stdout = Validator.stream = log
        app = NbGraderApp.instance()
        code = 0
        try:
            app.initialize(command["args"])
            app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
            app.start()
        except NoStart:
            pass  # raised by the top-level app after a sub-command has run: success
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # noqa: BLE001 - reported to the test
            code = 1
            log.write(traceback.format_exc())
        finally:
            app.reset()
            sys.stdout = Validator.stream = saved_stdout
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        results.append({"args": command["args"], "code": code, "log": log.getvalue(),
                        "seconds": round(time.perf_counter() - t0, 2)})
    return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
