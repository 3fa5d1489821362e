"""nbgrader configuration for the course's graded assignments (nbgrader 0.9.6).

Run every nbgrader command from the folder that holds this file (the repository root, or a copy
of the course folder): nbgrader reads ``nbgrader_config.py`` from the working directory and treats
that directory as the course root, so nothing here is an absolute path.

Layout:
    solutions/<id>/<id>.ipynb   instructor version (solutions and hidden tests): nbgrader's *source*
    exercises/<id>/<id>.ipynb   student version, written by `nbgrader generate_assignment <id>`
                                (committed, never edited by hand): nbgrader's *release*
The working folders `submitted/`, `autograded/`, `feedback/` and `gradebook.db` are created by
collect/autograde on the instructor's machine and never committed (see .gitignore).

Exchange: `nbgrader release_assignment / fetch_assignment / submit / collect` go through a shared
folder. nbgrader's default is /srv/nbgrader/exchange, which needs root to create; instructors set
their own by exporting LOSSCOURSE_EXCHANGE (for example a folder on a shared drive that every
student can write to) or by putting `c.Exchange.root = "..."` in a jupyter config file of their own
(~/.jupyter/nbgrader_config.py or /etc/jupyter/nbgrader_config.py). Courses that use a plain zip /
LMS route instead never need the exchange.

Gradebook: `gradebook.db` (SQLite) here, or the database named by LOSSCOURSE_DB_URL (PostgreSQL).
"""

import os
import warnings

import sqlalchemy.exc

c = get_config()  # noqa: F821 - provided by the traitlets config loader

c.CourseDirectory.course_id = "loss-functions"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# `exercises/` is committed, so on a fresh clone nbgrader would skip generating the release
# ("Skipping existing assignment") and never record the assignment in the gradebook, and every
# later `autograde` would fail. The release is generated, never edited by hand, and comes out
# byte for byte the same: regenerating it on every `nbgrader generate_assignment <id>` is safe.
c.GenerateAssignment.force = True

if os.environ.get("LOSSCOURSE_EXCHANGE"):
    c.Exchange.root = os.environ["LOSSCOURSE_EXCHANGE"]

# Gradebook: nbgrader's default is the SQLite file gradebook.db in this folder, enough for one
# grading machine. To grade from several machines (a Dask cluster, see the instructors' appendix,
# "Grading at scale"), export LOSSCOURSE_DB_URL with a SQLAlchemy URL of a PostgreSQL database,
# e.g. postgresql+psycopg2://grader:PASSWORD@db.example.org/losscourse (the driver, psycopg2, is
# in requirements-grader.txt). Every nbgrader command and the class grader then use it.
if os.environ.get("LOSSCOURSE_DB_URL"):
    c.CourseDirectory.db_url = os.environ["LOSSCOURSE_DB_URL"]

# The stub students see in place of each solution region. The hint above the region (a comment in
# the instructor's cell, kept by nbgrader) says what the function must do.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your code, '
              'then run the test cells below.")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell limit. Every assignment runs in well under 30 s in total (experiment included); a cell
# that needs a minute is a student's infinite loop, which then costs one minute per cell, not hours.
c.Execute.timeout = 60

# nbgrader scores a test cell 0 as soon as it writes anything to stderr, even when it passes. The
# test cells silence warnings from student code themselves; this catches what is left: Python
# warnings (e.g. a RuntimeWarning raised by numpy inside an honest answer) and matplotlib's one-off
# font-cache notice. Dropping stderr can never earn points (a test still needs to raise nothing),
# so matching generously only protects honest answers.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)(^.*\w*Warning: |^Matplotlib is building the font cache)"

# Restoring deleted test cells. With nbgrader's default (False) a submission whose test cell was
# deleted gets 0 for that cell and a silent "needs manual grade"; True puts the instructor's cell
# back and grades it. A duplicated or renamed graded cell aborts that student's notebook with either
# setting (checked with nbgrader 0.9.6: KeyError / "metadata may be corrupted"), so True loses
# nothing; the course's secure grader decides such submissions from the answer cells instead.
c.OverwriteCells.add_missing_cells = True

# ==== Instructors only from here on (tools/student_repo.py ends the students' copy here) ====
# ---- Secure grading (grader; see book/appendix_instructors.md) -----------------------
# `nbgrader autograde` starts no Jupyter kernel: each student's answer cells run in a confined
# child process (sandbox.py) and the instructor's test cells run in the grader, calling the
# student's functions through that process (testrun.py). The lines below install it; every other
# nbgrader command keeps its usual behaviour (`validate` still runs the notebook in a kernel).
c.Autograde.exporter_class = "grader.nbgrader_plugin.TolerantExporter"
c.Autograde.pre_convert_hook = "grader.intake.pre_convert_hook"
c.Autograde.sanitize_preprocessors = [
    "grader.nbgrader_plugin.RepairSubmission",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grader.nbgrader_plugin.SecureExecute",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "grader.nbgrader_plugin.RecordGrading",
]
# Budgets (see book/appendix_instructors.md): one call of a student function, one test
# cell, all student code of one notebook, and the sandbox's memory.
c.SecureExecute.call_timeout = 10
c.SecureExecute.cell_timeout = 60
c.SecureExecute.notebook_timeout = 300
c.SecureExecute.memory_limit_mb = 2048
# Feedback never shows hidden-test source; the CSV export lists every roster student with a
# status and the grader's reasons.
# Maths as MathML, so feedback opened offline shows formulas, not TeX (grader/feedback.py).
c.GenerateFeedback.exporter_class = "grader.feedback.OfflineFeedbackExporter"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.nbgrader_plugin.StripHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.ExportApp.plugin_class = "grader.export_csv.GradesCsvExport"
# Collecting and returning (grader/exchange.py): collect never follows a symbolic link a student
# put in the exchange; release_feedback names the students collected from a zip (no exchange
# submission) instead of crashing on them.
c.ExchangeFactory.collect = "grader.exchange.SafeCollect"
c.ExchangeFactory.release_feedback = "grader.exchange.SafeReleaseFeedback"
# Notebooks run by `nbgrader validate` here: kernels on local sockets (ipykernel warns about
# unencrypted TCP otherwise, on every run).
c.KernelManager.transport = "ipc"
# nbgrader 0.9.6 with SQLAlchemy 2 warns three times about its own session handling for every new
# submission; nothing an instructor can act on.
warnings.filterwarnings("ignore", category=sqlalchemy.exc.SAWarning, module=r"nbgrader\.")
# `nbgrader zip_collect <id>` (submissions downloaded from a learning platform into
# downloaded/<id>/archive/): files named <student id>_<notebook>.ipynb, optionally with the
# platform's numeric ids in between (alice_20931_77812_huber.ipynb). Adapt to your platform.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?:[0-9]+_)*(?P<file_id>[^/_][^/]*\.ipynb)$")
# Extraction never leaves downloaded/<id>/extracted/, one bad archive never stops the others, and
# a notebook a student zipped before uploading is filed under the platform's name for the upload
# (never under a name chosen inside the student's archive); see grader/exchange.py.
c.ZipCollectApp.extractor_plugin = "grader.exchange.SafeExtractor"
c.ZipCollectApp.collector_plugin = "grader.exchange.SafeCollector"
