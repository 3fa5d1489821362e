"""Adversarial and reliability submissions for the secure autograder (huber assignment).

One module per attack category (reference, monkeypatch, lying, ipython_hooks, extra_cells,
read_files, write_gradebook, module_shims, denial), each with at least one attack and an honest
twin, plus reliability.py (broken notebooks, edited cells, limits). build.py turns the cases
into ``submitted/<student>/huber/`` folders; tests/grader/test_adversarial.py and
tests/grader/test_reliability.py grade them with plain ``nbgrader autograde``.
"""
