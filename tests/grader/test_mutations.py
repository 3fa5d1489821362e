"""Mutation check: plausible wrong answers must lose points in every assignment.

For each assignment the instructor notebook `solutions/<id>/<id>.ipynb` is read directly (hidden
tests included): its autograded answer cells are executed once to obtain the correct functions, and
each graded test cell's source is run in a fresh namespace that holds only the graded function
names, which is exactly what a test cell may use. A mutant (tests/grader/mutants/<id>.py) replaces
one graded function while the others stay correct; it is killed when at least one graded test cell
raises. No nbgrader and no kernel: everything runs in this process, in seconds.

`python tests/grader/test_mutations.py` rewrites the kill-rate table in
tests/grader/mutants/README.md; the test below fails when the table is out of date.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import time
import types
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
README = MUTANTS_DIR / "README.md"
ASSIGNMENTS = ["huber", "focal", "triplet", "kl_vs_ce"]
PRESENT = [a for a in ASSIGNMENTS if (ROOT / "solutions" / a / f"{a}.ipynb").is_file()]
MIN_MUTANTS_PER_FUNCTION = 8
MIN_KILL_RATE = 0.90
TABLE_START, TABLE_END = "<!-- kill-table:start -->", "<!-- kill-table:end -->"


@dataclass
class Assignment:
    name: str
    answer_cells: list[tuple[str, str]]  # (grade_id, source)
    test_cells: list[tuple[str, str]]
    graded: dict[str, types.FunctionType] = field(default_factory=dict)
    answers_ns: dict = field(default_factory=dict)


@cache
def load(name: str) -> Assignment:
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    answers, tests = [], []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            answers.append((meta["grade_id"], cell.source))
        elif meta.get("grade"):
            tests.append((meta["grade_id"], cell.source))
    a = Assignment(name, answers, tests)
    ns: dict = {"__name__": f"answers_{name}"}
    for grade_id, source in answers:
        exec(compile(source, f"<answer cell {grade_id}>", "exec"), ns)  # noqa: S102
    a.answers_ns = ns
    # The graded names: every function an answer cell defines.
    a.graded = {k: v for k, v in ns.items() if isinstance(v, types.FunctionType)
                and v.__code__.co_filename.startswith("<answer cell")}
    return a


def run_tests(a: Assignment, bindings: dict, stop_at_first_failure: bool = False,
              strict_output: bool = False) -> dict[str, str | None]:
    """Run each graded test cell with only ``bindings`` visible; map grade_id -> error or None.

    With ``strict_output`` a cell that writes to stderr or raises a warning also fails, as it
    would in nbgrader (any stderr output scores 0).
    """
    results: dict[str, str | None] = {}
    for grade_id, source in a.test_cells:
        ns = {"__name__": f"test_{a.name}", **bindings}
        out, err = io.StringIO(), io.StringIO()
        error = None
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            try:
                exec(compile(source, f"<test cell {grade_id}>", "exec"), ns)  # noqa: S102
            except Exception as exc:  # noqa: BLE001 - any exception fails the cell
                error = f"{type(exc).__name__}: {exc}"
        if strict_output and error is None and (err.getvalue() or caught):
            error = f"stderr/warnings: {err.getvalue()!r} {[str(w.message) for w in caught]}"
        results[grade_id] = error
        if error and stop_at_first_failure:
            break
    return results


def load_mutants(name: str) -> dict[str, dict[str, str]]:
    path = MUTANTS_DIR / f"{name}.py"
    assert path.is_file(), f"no mutants for {name}: create tests/grader/mutants/{name}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTANTS


def mutant_bindings(a: Assignment, target: str, source: str) -> dict:
    """The correct graded functions, except ``target``, which comes from the mutant's source.

    The mutant is executed in a copy of the answers' namespace (so it may use numpy and helper
    names); the other graded functions keep their own globals, so they never call the mutant.
    """
    ns = dict(a.answers_ns)
    exec(compile(source, f"<mutant of {target}>", "exec"), ns)  # noqa: S102
    fn = ns.get(target)
    assert isinstance(fn, types.FunctionType) and fn is not a.graded[target], (
        f"the mutant source does not define a new {target}")
    return {**a.graded, target: fn}


@cache
def kills(name: str) -> list[tuple[str, str, str | None]]:
    """(function, mutant label, first failing test cell or None if it survived), in file order."""
    a = load(name)
    rows = []
    for target, mutants in load_mutants(name).items():
        assert target in a.graded, f"mutants target {target}, not a graded function of {name}"
        for label, source in mutants.items():
            results = run_tests(a, mutant_bindings(a, target, source), stop_at_first_failure=True)
            failed = [g for g, e in results.items() if e]
            rows.append((target, label, failed[0] if failed else None))
    return rows


def kill_table() -> str:
    lines = ["| assignment | graded function | mutants | killed | kill rate |",
             "|---|---|---:|---:|---:|"]
    for name in ASSIGNMENTS:
        if name not in PRESENT or not (MUTANTS_DIR / f"{name}.py").is_file():
            continue
        rows = kills(name)
        for target in dict.fromkeys(r[0] for r in rows):
            mine = [r for r in rows if r[0] == target]
            k = sum(r[2] is not None for r in mine)
            lines.append(f"| {name} | `{target}` | {len(mine)} | {k} | {k / len(mine):.0%} |")
        k = sum(r[2] is not None for r in rows)
        lines.append(f"| **{name}** | all | {len(rows)} | {k} | **{k / len(rows):.0%}** |")
    lines.append("")
    lines.append("Each mutant and the first test cell that fails on it:")
    lines.append("")
    lines.append("| assignment | graded function | mutant | killed by |")
    lines.append("|---|---|---|---|")
    for name in ASSIGNMENTS:
        if name not in PRESENT or not (MUTANTS_DIR / f"{name}.py").is_file():
            continue
        for target, label, cell in kills(name):
            by = f"`{cell}`" if cell else "SURVIVED"
            label = label.replace("|", "\\|")  # a pipe would end the table cell
            lines.append(f"| {name} | `{target}` | {label} | {by} |")
    return "\n".join(lines)


def _readme_with(table: str) -> str:
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


@pytest.mark.parametrize("name", PRESENT)
def test_solution_passes_every_test_cell_quietly(name):
    a = load(name)
    assert a.graded, f"{name}: no function defined in the answer cells"
    assert len(a.test_cells) >= 4, f"{name}: expected several graded test cells"
    t0 = time.perf_counter()
    results = run_tests(a, dict(a.graded), strict_output=True)
    seconds = time.perf_counter() - t0
    failed = {g: e for g, e in results.items() if e}
    assert not failed, f"{name}: the instructor solution fails {failed}"
    # The notebook budget is 30 s including kernel start-up; the test cells alone stay far below.
    assert seconds < 15, f"{name}: test cells took {seconds:.1f} s in-process"


# The hidden tests draw their inputs from a seed derived from each submission, so a correct
# answer must pass under every seed, not only the default one.
SEEDS_PER_ASSIGNMENT = 12


@pytest.mark.parametrize("name", PRESENT)
def test_solution_passes_under_many_grading_seeds(name, monkeypatch):
    from grader.seeds import SEED_ENV

    a = load(name)
    failures = {}
    for k in range(SEEDS_PER_ASSIGNMENT):
        monkeypatch.setenv(SEED_ENV, f"{name}-submission-{k}")
        failed = {g: e for g, e in run_tests(a, dict(a.graded)).items() if e}
        if failed:
            failures[k] = failed
    assert not failures, f"{name}: the instructor solution fails under some seeds: {failures}"


def test_huber_experiment_does_not_fail_a_correct_answer_on_unlucky_data(monkeypatch):
    # On a few data sets (seed 1569 among them) even the reference's Huber fit misses the
    # "below 0.05 and half of MSE" bar; the hidden experiment must then compare with the
    # reference instead of failing a correct gradient.
    from grader.hidden import huber as hidden
    from grader.seeds import SEED_ENV, rng
    from lossutils.assignments import huber as check

    def ref_loss(p, t, delta=1.0):
        return float(check._want_loss(p, t, delta))

    def ref_grad(p, t, delta=1.0):
        return check._want_grad(p, t, delta)

    unlucky = check.experiment(ref_loss, ref_grad, seed=1569)
    assert unlucky["test_mse_huber"] > 0.05, "data seed 1569 is no longer a hard data set"
    for k in range(100_000):
        monkeypatch.setenv(SEED_ENV, f"unlucky-{k}")
        if int(rng("huber/experiment").integers(1, 10_000)) == 1569:
            break
    else:
        pytest.fail("no grading seed maps to data seed 1569")
    hidden.check_experiment(ref_loss, ref_grad)  # must not raise
    wrong = check.experiment(ref_loss, lambda p, t, delta=1.0: 0.9 * ref_grad(p, t, delta),
                             seed=1569)
    with pytest.raises(AssertionError, match=r"correct gradient\s+reaches"):
        hidden.check_experiment(ref_loss, lambda p, t, delta=1.0: 0.9 * ref_grad(p, t, delta))
    assert wrong["test_mse_huber"] != unlucky["test_mse_huber"]


@pytest.mark.parametrize("name", PRESENT)
def test_stub_fails_every_test_cell(name):
    a = load(name)

    def stub(*args, **kwargs):
        raise NotImplementedError("stub")

    results = run_tests(a, {k: stub for k in a.graded})
    passed = [g for g, e in results.items() if e is None]
    assert not passed, f"{name}: these test cells pass when nothing is implemented: {passed}"


@pytest.mark.parametrize("name", PRESENT)
def test_mutants_lose_points(name):
    a = load(name)
    mutants = load_mutants(name)
    for target in a.graded:
        assert len(mutants.get(target, {})) >= MIN_MUTANTS_PER_FUNCTION, (
            f"{name}: {target} needs at least {MIN_MUTANTS_PER_FUNCTION} mutants")
    rows = kills(name)
    survivors = [(t, label) for t, label, cell in rows if cell is None]
    rate = 1 - len(survivors) / len(rows)
    assert rate >= MIN_KILL_RATE, f"{name}: kill rate {rate:.0%}; survivors {survivors}"


def test_kill_table_is_current():
    assert README.is_file(), "tests/grader/mutants/README.md is missing"
    assert README.read_text() == _readme_with(kill_table()), (
        "tests/grader/mutants/README.md is out of date: "
        "run `python tests/grader/test_mutations.py`")


if __name__ == "__main__":
    README.write_text(_readme_with(kill_table()))
    print(kill_table())
    sys.exit(0)


@pytest.mark.parametrize("name, target, label, test_cell", [
    ("triplet", "semihard_negatives", "hardest negative (closest overall)",
     "test_negatives_degenerate"),
    ("kl_vs_ce", "distillation_loss", "teacher logits not divided by T",
     "test_distillation_extreme"),
])
def test_hidden_checks_charge_a_mistake_to_its_own_property(name, target, label, test_cell):
    """A mistake of one property (which negative; softening the teacher) costs the tests of that
    property, not those of another (degenerate batches; extreme logits), hidden ones included."""
    a = load(name)
    bindings = mutant_bindings(a, target, load_mutants(name)[target][label])
    results = run_tests(a, bindings)
    assert results[test_cell] is None, results[test_cell]
    assert any(results.values()), f"{label} must still be caught by its own property's tests"


def test_experiments_blame_the_function_that_is_wrong():
    """A wrong loss with a right gradient keeps the experiment's points (it judges the
    gradient); a distillation loss with an unsoftened teacher is told so, not blamed on T**2."""
    huber = load("huber")
    half = load_mutants("huber")["huber_loss"]["missing 0.5 in the quadratic zone"]
    results = run_tests(huber, mutant_bindings(huber, "huber_loss", half))
    assert results["test_experiment"] is None and results["test_loss_quadratic"]
    kl = load("kl_vs_ce")
    results = run_tests(kl, mutant_bindings(
        kl, "distillation_loss",
        load_mutants("kl_vs_ce")["distillation_loss"]["teacher logits not divided by T"]))
    assert "teacher's logits must be divided by T" in results["test_temperature"], \
        results["test_temperature"]
    assert "within a factor 5" not in results["test_temperature"]
