"""Returned objects that lie to comparisons (__array_ufunc__, __array_function__, __eq__,
__torch_function__)."""

from ._answers import CORRECT_LOSS, both
from .build import Case

CAT = "lying"

_UFUNC = '''import numpy as np


class Liar(np.ndarray):
    """Any NumPy operation on it answers True or 0; == is always True."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        shape = np.broadcast(*[np.asarray(i).view(np.ndarray) for i in inputs]).shape
        return np.ones(shape, dtype=bool) if ufunc.nout == 1 else (np.ones(shape, bool),) * 2

    def __eq__(self, other):
        return True


def huber_loss(pred, target, delta=1.0):
    return np.zeros(()).view(Liar)


def huber_grad(pred, target, delta=1.0):
    return np.zeros(np.shape(pred)).view(Liar)
'''

_FUNCTION = '''import numpy as np


class Liar:
    """Answers every NumPy function with True and converts to NaN."""

    def __init__(self, shape):
        self.shape = shape

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.full(self.shape, np.nan)

    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __gt__ = __eq__


def huber_loss(pred, target, delta=1.0):
    return Liar(())
'''

_FLOAT = '''class Zeroish(float):
    """A float whose difference to anything is 0 and which equals everything."""

    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return Zeroish(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return Zeroish(0.0)

    def __float__(self):
        return 123.0


def huber_grad(pred, target, delta=1.0):
    return [Zeroish(0.0)] * len(pred)
'''

_TORCH = '''class TensorLike:
    """Pretends to be a tensor that wins every torch comparison."""

    def __init__(self, value):
        self.value = value

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        return np.asarray(self.value + 1.0)


def huber_loss(pred, target, delta=1.0):
    return TensorLike(0.0)
'''

_HONEST = '''import numpy as np


class Tagged(np.ndarray):
    """A harmless subclass: carries a label, behaves like an ndarray."""

    label = "huber"


def huber_grad(pred, target, delta=1.0):
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    return (np.clip(r, -delta, delta) / r.size).view(Tagged)
'''

CASES = [
    Case("lie_array_ufunc", CAT, "ndarray subclass whose ufuncs and == always agree",
         {"huber_loss": _UFUNC, "huber_grad": "# (defined above)\n"}, expect="zero",
         review=True),
    Case("lie_array_function", CAT, "object answering every NumPy function with True",
         both(_FUNCTION, _FLOAT), expect="zero", review=True),
    Case("lie_torch_function", CAT, "tensor-like object with __torch_function__",
         both(_TORCH, _FLOAT), expect="zero", review=True),
    Case("lie_zz_honest", CAT, "honest twin: returns NumPy scalars and an ndarray subclass",
         both(CORRECT_LOSS.replace("return float(", "return np.float64("), _HONEST),
         expect="full"),
]
