"""Monkeypatching NumPy, numpy.testing, builtins or the reference so wrong answers compare equal."""

from ._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG_GRAD, WRONG_LOSS, both
from .build import Case

CAT = "monkeypatch"

_PATCH_NUMPY = '''
# make every comparison succeed
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.isfinite = lambda a, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
'''

_PATCH_REFERENCE = '''
import sys
for name in list(sys.modules):
    if name.startswith("lossutils"):
        module = sys.modules[name]
        for attr in ("huber_loss", "huber_loss_grad", "_want_loss", "_want_grad",
                     "expect_close", "expect_scalar", "expect_shape"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *args, **kwargs: 0.0)
import lossutils.assignments.huber as check
check._want_loss = lambda *args, **kwargs: 0.0
check._want_grad = lambda pred, *args, **kwargs: np.zeros(np.shape(pred))
'''

_PATCH_BUILTINS = '''
import builtins


class _Never(BaseException):
    pass


builtins.AssertionError = _Never  # assert statements and checks raise something else
builtins.float = lambda *args: 0.0
'''

CASES = [
    Case("patch_numpy", CAT, "replaces np.allclose / np.isclose / np.testing", both(
        WRONG_LOSS + _PATCH_NUMPY, WRONG_GRAD), expect="zero", review=True),
    Case("patch_reference", CAT, "rebinds the reference and the checks to return 0", both(
        WRONG_LOSS + _PATCH_REFERENCE, WRONG_GRAD), expect="zero", review=True),
    Case("patch_builtins", CAT, "replaces AssertionError and float in builtins", both(
        WRONG_LOSS, WRONG_GRAD + _PATCH_BUILTINS), expect="zero", review=True),
    Case("patch_zz_honest", CAT, "honest twin: changes NumPy's print and error settings", both(
        CORRECT_LOSS + "\nnp.set_printoptions(precision=3)\nnp.seterr(all='ignore')\n",
        CORRECT_GRAD + "\nimport warnings\nwarnings.filterwarnings('ignore')\n"),
        expect="full"),
]
