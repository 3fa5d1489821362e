"""The instructors' autograder for the course's nbgrader assignments (never shipped to students).

Installed beside ``lossutils`` (its reference, which never imports it) with its own dependencies
(``pip install -e grader``, or ``requirements-grader.txt``), and switched on by the course's
``nbgrader_config.py``. Its parts, each a module:

* :mod:`grader.sandbox` / ``_sandbox_child.py``: the confined process that runs one student's
  answer cells; :mod:`grader.testrun` runs the instructor's test cells against it;
* :mod:`grader.nbgrader_plugin`: the nbgrader preprocessors and exporter that install the above;
  :mod:`grader.intake` and :mod:`grader.submission`: finding and repairing submitted notebooks;
* :mod:`grader.scan`: the static scan of submissions; :mod:`grader.records`,
  :mod:`grader.report` and :mod:`grader.export_csv`: reports and the grades export;
* :mod:`grader.grade_class`: grading a whole class at once;
* :mod:`grader.hidden`: the hidden checks, seeded per submission by :mod:`grader.seeds`.
"""
