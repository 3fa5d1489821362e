"""Plausible wrong answers for each assignment, one module per assignment id.

Each module defines ``MUTANTS = {graded_function_name: {label: source}}``: ``source`` is Python
code that defines ``graded_function_name`` (and any helpers it needs) the way a student might get it
wrong. tests/grader/test_mutations.py executes it next to the correct answers and expects at least
one graded test cell of solutions/<id>/<id>.ipynb to fail.
"""
