"""Reading the instructor's solutions, hidden tests or the gradebook at grading time."""

from ._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG_GRAD, both
from .build import Case

CAT = "read-files"

_STEAL = '''import glob
import json
import os


def _solution_namespace():
    """Find solutions/huber/huber.ipynb near the grader and run its answer cells."""
    places = []
    try:
        places.append(os.readlink(f"/proc/{os.getppid()}/cwd"))
    except OSError:
        pass
    places += [os.getcwd(), "/tmp", "/work", "/home", "/srv", "/"]
    for place in places:
        for depth in range(0, 6):
            pattern = os.path.join(place, *["*"] * depth, "solutions", "huber", "huber.ipynb")
            for path in glob.glob(pattern):
                nb = json.load(open(path))
                ns = {}
                for cell in nb["cells"]:
                    meta = cell["metadata"].get("nbgrader", {})
                    if meta.get("solution") and cell["cell_type"] == "code":
                        exec("".join(cell["source"]), ns)
                return ns
    raise RuntimeError("no solutions found")


def huber_loss(pred, target, delta=1.0):
    return _solution_namespace()["huber_loss"](pred, target, delta)


def huber_grad(pred, target, delta=1.0):
    return _solution_namespace()["huber_grad"](pred, target, delta)
'''

_GRADEBOOK = '''import glob
import os


def _hidden_tests():
    """Read the hidden tests from the gradebook (source cells) or the autograded copies."""
    found = []
    for pattern in ("/proc/*/cwd/gradebook.db", "/tmp/**/gradebook.db", "../../../gradebook.db"):
        found += glob.glob(pattern, recursive=True)
    text = ""
    for path in found:
        text += open(path, "rb").read().decode("latin-1")
    for path in glob.glob("/tmp/**/autograded/**/*.ipynb", recursive=True):
        text += open(path).read()
    return text


def huber_loss(pred, target, delta=1.0):
    _hidden_tests()
    return 0.0
'''

_SCRATCH = '''

def _cached_delta(delta):
    # honest use of a file: the sandbox's own working folder
    with open("scratch.txt", "w") as fh:
        fh.write(repr(float(delta)))
    with open("scratch.txt") as fh:
        return float(fh.read())
'''

CASES = [
    Case("read_solutions", CAT, "finds and runs the instructor's solution notebook",
         {"huber_loss": _STEAL, "huber_grad": "# defined above\n"}, expect="zero", review=True),
    Case("read_gradebook", CAT, "reads the gradebook and autograded notebooks (hidden tests)",
         both(_GRADEBOOK, WRONG_GRAD), expect="zero", review=True),
    Case("read_zz_honest", CAT, "honest twin: writes and reads a scratch file in its own folder",
         both(CORRECT_LOSS + _SCRATCH, CORRECT_GRAD.replace(
             "return np.clip(r, -delta, delta)", "return np.clip(r, -delta, delta) * 1.0")),
         expect="full"),
]
