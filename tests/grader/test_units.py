"""Pieces of the secure grader without nbgrader runs: repairing notebooks, the static scan,
magics, trusted test cells, renamed-notebook matching and the item analysis."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import nbformat
from adversarial import build
from adversarial._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG, both

from grader import report, scan, submission, testrun
from grader.intake import choose_notebook
from grader.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
MASTER = nbformat.read(ROOT / "solutions" / "huber" / "huber.ipynb", as_version=4)


def _student(answers=None, transform=None):
    case = build.Case("s", "unit", "", answers or both(CORRECT_LOSS, CORRECT_GRAD),
                      transform=transform)
    return build.make_notebook(case, build.release_notebook())


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _ids(nb):
    return [_gid(c) for c in nb.cells]


def test_layout_of_the_instructor_notebook():
    lay = submission.layout(MASTER)
    assert lay.graded_names == ["huber_loss", "huber_grad"]
    assert len(lay.tests) == 9 and len(lay.answers) == 2 and len(lay.written) == 1


def test_rebuild_keeps_the_instructor_structure_and_the_student_answers():
    nb = _student(transform=lambda nb: nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1")))
    rebuilt, notes = submission.rebuild(nb, MASTER)
    assert _ids(rebuilt) == _ids(MASTER)
    lay = submission.layout(rebuilt)
    assert rebuilt.cells[lay.answers[0]].source == CORRECT_LOSS
    for i in lay.tests:  # hidden tests are back for grading
        assert rebuilt.cells[i].source == MASTER.cells[i].source
    assert notes == []


def test_helper_cells_are_the_definition_cells_run_all_would_run_before_an_answer():
    def add_cells(nb):
        at = _ids(nb).index("huber_loss")
        new = nbformat.v4.new_code_cell
        nb.cells[at:at] = [new("import numpy as np\n\nSCALE = 2.0\n\ndef helper(x):\n"
                               "    return x\n"),                     # definitions: run
                           new("print(helper(3))"),                     # scratch: not run
                           new("def huber_loss(p, t, delta=1.0):\n    return 0.0\n"),
                           new("np.seterr(all='ignore')\nhelper.cache = {}\n")]
        grad_at = _ids(nb).index("huber_grad")
        nb.cells.insert(grad_at, new("from math import pi as PI\n"))  # before huber_grad
        nb.cells.append(new("def helper(x):\n    return -x\n"))      # after every answer

    nb = _student(transform=add_cells)
    helpers = submission.helper_cells(nb, MASTER)
    ids = _ids(nb)
    assert [(h["before"], h["defines"]) for h in helpers] == [
        ("huber_loss", ["np", "SCALE", "helper"]), ("huber_grad", ["PI"])]
    assert helpers[0]["cell"] == ids.index("huber_loss") - 3
    assert submission.helper_cells(_student(), MASTER) == []


def test_rebuild_reports_each_kind_of_damage():
    def damage(nb):
        nb.cells = [c for c in nb.cells if _gid(c) != "test_loss_linear"]
        dup = next(c for c in nb.cells if _gid(c) == "test_grad_clipped")
        nb.cells.append(copy.deepcopy(dup))
        for c in nb.cells:
            gid = _gid(c)
            if gid == "test_loss_boundary":
                c.metadata.nbgrader["grade_id"] = "mine"
            if gid == "test_grad_boundary":
                c.source = "pass"
            if gid == "huber_grad":
                del c.metadata["nbgrader"]
        nb.cells.append(nbformat.v4.new_code_cell("def huber_loss(p, t, delta=1.0):\n    return 0"))
    rebuilt, notes = submission.rebuild(_student(transform=damage), MASTER)
    codes = {n.code for n in notes}
    assert codes >= {"test-deleted", "test-duplicated", "unknown-cell-id", "test-edited",
                     "answer-found-by-name", "extra-definition"}
    lay = submission.layout(rebuilt)
    assert rebuilt.cells[lay.answers[1]].source == CORRECT_GRAD  # found by its def
    assert _ids(rebuilt) == _ids(MASTER)


def test_rebuild_of_an_unreadable_submission_grades_nothing():
    rebuilt, notes = submission.rebuild(nbformat.v4.new_notebook(), MASTER)
    lay = submission.layout(rebuilt)
    assert all("No answer cell" in rebuilt.cells[i].source for i in lay.answers)
    assert {n.code for n in notes} >= {"answer-missing", "written-missing", "test-deleted"}
    assert all("BEGIN SOLUTION" not in c.source for c in rebuilt.cells)


def test_magics_become_no_ops_and_shell_cells_are_dropped():
    code, changes = submission.answer_code("%matplotlib inline\nx = 1\n!ls\n")
    assert submission.MAGIC_CALL in code and "x = 1" in code and len(changes) == 1
    compile(code, "<cell>", "exec")
    code, changes = submission.answer_code("%%bash\nrm -rf /\n")
    assert code == "" and "not Python" in changes[0]
    code, _ = submission.answer_code("%%time\ndef f():\n    return 1\n")
    assert code.startswith("def f")
    assert submission.answer_code("y = (1\n     % 2)\n")[0] == "y = (1\n     % 2)\n"


def test_hidden_tests_are_stripped():
    source = MASTER.cells[submission.layout(MASTER).tests[0]].source
    stripped = submission.strip_hidden_tests(source)
    assert "grader.hidden" in source and "grader" not in stripped
    assert "check.loss_quadratic_zone(huber_loss)" in stripped


def test_scan_flags_attacks_not_honest_answers():
    honest = scan.scan_source(CORRECT_LOSS + CORRECT_GRAD, "answer")
    assert not [f for f in honest if f.severity in ("high", "medium")]
    attacks = {
        "import torch": "forbidden-import", "np.allclose = lambda *a: True": "monkeypatch",
        "get_ipython().events.register('x', f)": "ipython-hook",
        "class A(float):\n    def __eq__(self, o):\n        return True": "lying-object",
        "f = open('../../gradebook.db')": "instructor-path", "x = f.__globals__": "introspection",
        "import os\nos.kill(1, 9)": "process-control",
    }
    for code, rule in attacks.items():
        rules = {f.rule for f in scan.scan_source(code, "cell")}
        assert rule in rules, (code, rules)


def test_scan_of_submission_files(tmp_path):
    (tmp_path / "huber.ipynb").write_text("{}")
    (tmp_path / "numpy.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    found = {f.where: f.severity for f in scan.scan_files(tmp_path, {"huber.ipynb"})}
    assert found == {"numpy.py": "high", "notes.txt": "low"}


def test_test_cells_run_in_the_grader_against_the_sandbox():
    lay = submission.layout(MASTER)
    tests = [MASTER.cells[i] for i in lay.tests]
    with Sandbox([("a", CORRECT_LOSS), ("b", WRONG["huber_grad"])], seed=3) as box:
        results = [testrun.run_cell(c.source, "<t>", {}, lay.graded_names, box, 30, 3)
                   for c in tests[:5]]
    assert [r.passed for r in results] == [True, True, True, True, False]
    assert results[4].error[0] == "AssertionError" and "huber_grad" in results[4].error[1]
    assert results[4].outputs[-1].output_type == "error"


def test_a_student_exit_or_interrupt_never_escapes_into_the_grader():
    src = "def f():\n    raise KeyboardInterrupt\ndef g():\n    raise SystemExit(0)\n"
    with Sandbox([("a", src)], seed=0) as box:
        for name in ("f", "g"):
            res = testrun.run_cell(f"{name}()", "<t>", {}, ["f", "g"], box, 10, 0)
            assert not res.passed and issubclass(
                testrun._exception_class(res.error[0]), Exception)


def test_last_expression_gives_partial_credit_like_ipython():
    with Sandbox([("a", "def half():\n    return 0.5\n")], seed=0) as box:
        res = testrun.run_cell("x = 1\nhalf() * 2", "<t>", {}, ["half"], box, 10, 0)
    assert res.outputs[-1].output_type == "execute_result"
    assert res.outputs[-1].data["text/plain"] == "np.float64(1.0)"


def test_describe_test_reads_the_first_comment():
    assert testrun.describe_test("# huber_loss, linear zone (3 points)\nx") == \
        "huber_loss, linear zone"


def test_renamed_notebooks_are_matched_by_name_then_by_age(tmp_path):
    paths = []
    for k, name in enumerate(["Untitled.ipynb", "huber-Copy1.ipynb", "Huber (2).ipynb"]):
        path = tmp_path / name
        path.write_text("{}")
        os.utime(path, (time.time() + k, time.time() + k))
        paths.append(str(path))
    assert choose_notebook("huber", [paths[1]], True) == (paths[1], "", False)
    assert choose_notebook("huber", [paths[0]], True)[0] == paths[0]
    assert choose_notebook("huber", [paths[0]], False)[0] is None
    pick, detail, ambiguous = choose_notebook("huber", paths, True)
    assert pick == paths[2] and ambiguous and "huber-Copy1.ipynb" in detail


def test_item_analysis_counts_and_groups_failures():
    def nb(student, passed):
        tests = [{"grade_id": "t1", "description": "one", "max_points": 2.0,
                  "points": 2.0 if p else 0.0, "passed": p,
                  "message": None if p else f"f, zone: got {k}.5 but expected 1 for pred=[{k}]"}
                 for k, p in enumerate(passed)]
        return {student: [{"notebook": "n", "status": "graded", "tests": [
            {**t, "grade_id": f"t{i}"} for i, t in enumerate(tests)]}]}
    reports = {**nb("a", [True, True]), **nb("b", [True, False]), **nb("c", [False, False]),
               "d": [{"notebook": "n", "status": "empty", "tests": []}]}
    items, totals = report.item_analysis(reports)
    assert totals == {"a": 4.0, "b": 2.0, "c": 0.0}
    first, second = items
    assert (first.graded, first.passed, second.passed) == (3, 2, 1)
    assert second.failures.most_common(1)[0] == ("f, zone: got # but expected #", 2)
    assert second.discrimination is not None and second.discrimination > 0


def test_documented_budgets_are_the_configured_ones():
    """The appendix's budget table, the course configuration and the defaults agree."""
    import re

    from grader.nbgrader_plugin import SecureExecute

    config = (ROOT / "nbgrader_config.py").read_text()
    doc = (ROOT / "book" / "appendix_instructors.md").read_text()
    defaults = SecureExecute()
    for trait, unit, row in (("call_timeout", "s", "one call of a student function"),
                             ("cell_timeout", "s", "one test cell"),
                             ("notebook_timeout", "s", "all student code of one notebook"),
                             ("setup_timeout", "s", "starting the sandbox"),
                             ("memory_limit_mb", "MB", "memory of the sandbox")):
        value = getattr(defaults, trait)
        configured = re.search(rf"c\.SecureExecute\.{trait} = (\S+)", config)
        if configured:
            assert float(configured.group(1)) == value, trait
        line = next(ln for ln in doc.splitlines() if ln.startswith(f"| {row}"))
        assert f"| {value:g} {unit} |" in line, (trait, line)


def _notebook_function(tmp_path, monkeypatch, answer_cell: str, where: str):
    """A student's function as a kernel holds it: compiled from a cell whose source linecache
    knows, in the namespace of ``__main__``, run while ``nbgrader validate`` validates the
    notebook in ``tmp_path`` (the answer cell holds the stub; ``where`` is "answer" or "extra")."""
    import linecache

    release = nbformat.read(ROOT / "exercises" / "huber" / "huber.ipynb", as_version=4)
    for cell in release.cells:
        if _gid(cell) == "huber_loss" and where == "answer":
            cell.source = answer_cell
    if where == "extra":
        release.cells.append(nbformat.v4.new_code_cell(answer_cell))
    nbformat.write(release, tmp_path / "huber.ipynb")
    filename = str(tmp_path / "cell-7.py")
    linecache.cache[filename] = (len(answer_cell), None, answer_cell.splitlines(True), filename)
    namespace = {"__name__": "__main__"}
    exec(compile(answer_cell, filename, "exec"), namespace)  # noqa: S102 - the test's own code
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    return namespace["huber_loss"]


def test_validate_refuses_what_grading_refuses(tmp_path, monkeypatch):
    from lossutils.assignments._grading import IMPORT_REFUSED, refusal

    honest = _notebook_function(tmp_path, monkeypatch, CORRECT_LOSS, "answer")
    assert refusal(honest) is None
    (tmp_path / "x").mkdir()
    outside = _notebook_function(tmp_path / "x", monkeypatch, CORRECT_LOSS, "extra")
    assert "which is not an answer cell" in refusal(outside)
    scipy = CORRECT_LOSS.replace("import numpy as np", "import numpy as np\nimport scipy.special")
    (tmp_path / "y").mkdir()
    refused = refusal(_notebook_function(tmp_path / "y", monkeypatch, scipy, "answer"))
    assert IMPORT_REFUSED.format(module="scipy.special") in refused


def test_grading_and_the_checks_agree_on_what_a_cell_binds():
    from lossutils.assignments._grading import bound_names, definitions_only

    code = ("import functools\nhuber_loss = functools.partial(f, delta=1)\n"
            "globals()['huber_grad'] = g\nglobals().update(extra=h)\nfor k in range(2):\n"
            "    pass\nclass A:\n    pass\n")
    assert {"functools", "huber_loss", "huber_grad", "extra", "k", "A"} <= set(bound_names(code))
    assert definitions_only("import numpy as np\nEPS = 1e-12\ndef f():\n    pass\n") == [
        "np", "EPS", "f"]
    assert definitions_only("x = 1\nprint(x)\n") is None
    assert submission.bound_names("%time\nhuber_loss = lambda p, t: 0\n") == ["huber_loss"]


def test_student_text_is_data():
    from grader import safety

    assert safety.csv_cell("=1+1") == "'=1+1" and safety.csv_cell("-0.25") == "-0.25"
    assert safety.csv_cell("@SUM(A1)") == "'@SUM(A1)" and safety.csv_cell(3.5) == 3.5
    md = safety.safe_markdown("<script>x</script> [a](javascript:alert(1)) [b](https://ok.org)")
    assert "<script" not in md and "](javascript:" not in md and "](https://ok.org)" in md
    assert safety.one_line("a\n\n## Grading report\n- x") == "a ## Grading report - x"
    # a terminal escape sequence (clear the screen) and NUL are shown, not obeyed
    assert safety.one_line("ok\x1b[2J\x00done\x9b") == "ok?[2J?done?"
    assert safety.json_shape_problem("[" * 100 + "]" * 100, 64, 1000).startswith(
        "the notebook's JSON is nested")
    assert safety.json_shape_problem('{"a": "[[[[[[["}', 3, 10) is None
    assert safety.json_shape_problem("[{}, {}, {}]", 64, 2).startswith("the notebook's JSON holds")


def test_zip_extraction_never_leaves_its_folder(tmp_path):
    import io
    import stat
    import zipfile

    from grader.exchange import SafeCollector, SafeExtractor

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("bob_huber.ipynb", "{}")
        zf.writestr("deeper.zip", b"PK not really")
    archive, out = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir()
    out.mkdir()
    with zipfile.ZipFile(archive / "download.zip", "w") as zf:
        zf.writestr("s/alice_1_huber.ipynb", "{}")
        zf.writestr("../escaped.ipynb", "{}")
        zf.writestr("/tmp/absolute.ipynb", "{}")
        link = zipfile.ZipInfo("s/carol_2_huber.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("s/dave_3_huber.zip", inner.getvalue())
        zf.writestr("s/bomb_4_huber.ipynb", b"0" * (4 * 2**20), compress_type=zipfile.ZIP_DEFLATED)
    (archive / "broken.zip").write_bytes(b"not a zip")
    SafeExtractor().extract(str(archive), str(out))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["download/s/alice_1_huber.ipynb",
                     "download/s/dave_3_huber.zip__bob_huber.ipynb"], files
    assert not (tmp_path / "escaped.ipynb").exists()
    collector = SafeCollector(named_regexp=r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?:[0-9]+_)*"
                                           r"(?P<file_id>[^/_][^/]*\.ipynb)$")
    first = collector.collect(str(out / files[1]))
    assert first["student_id"] == "dave", first  # never bob, whose name is inside the upload
    assert collector.collect("/x/../_1_huber.ipynb") is None
    assert collector.collect("/x/.._1_huber.ipynb") is None
    again = collector.collect("/y/dave_9_huber.zip__bob_huber.ipynb")
    assert again["file_id"] == "huber.zip__bob_huber (2).ipynb", again
