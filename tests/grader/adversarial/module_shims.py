"""Module files shipped next to the notebook (numpy.py, lossutils.py, sitecustomize.py)."""

from ._answers import HONEST, WRONG
from .build import Case

CAT = "module-shims"

_FAKE_NUMPY = '''"""A numpy that agrees with everything (imports the real one for the rest)."""
import importlib.util
import sys

_here = sys.path.pop(0)
_spec = importlib.util.find_spec("numpy")
sys.path.insert(0, _here)
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
globals().update({k: getattr(_real, k) for k in dir(_real) if not k.startswith("__")})


def isclose(a, b, *args, **kwargs):
    return _real.ones(_real.broadcast(a, b).shape, dtype=bool)


def allclose(*args, **kwargs):
    return True
'''

_FAKE_LOSSUTILS = '''"""A course package whose checks never fail."""


def __getattr__(name):
    return lambda *args, **kwargs: None
'''

CASES = [
    Case("shim_numpy_lossutils", CAT, "ships numpy.py, lossutils.py and sitecustomize.py",
         WRONG, files={"numpy.py": _FAKE_NUMPY, "lossutils.py": _FAKE_LOSSUTILS,
                       "sitecustomize.py": "import builtins\nbuiltins.AssertionError = KeyError\n",
                       "grading/__init__.py": ""},
         expect="zero", review=True),
    Case("shim_zz_honest", CAT, "honest twin: ships a notes file and a data file", HONEST,
         files={"notes.txt": "worked with a friend on the gradient\n",
                "data/points.csv": "x,y\n0,0\n"}, expect="full"),
]
