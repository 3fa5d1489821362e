"""lossutils: the course's reference loss functions, their gradients and diagnostics.

NumPy in, NumPy out, float64 throughout; no torch import here (the tensor flavour lives in
``lossutils.torch``, ``from lossutils import torch as L``).

Argument order follows ``torch.nn.functional``: prediction first, then target, then options, with
``reduction="mean" | "sum" | "none"``. (scikit-learn's metrics use the opposite order,
``metric(y_true, y_pred)``: do not mix the two.) Gradients are ``<name>_grad`` with the same
arguments and return d(loss)/d(first argument).
"""

from .activations import *  # noqa: F403
from .activations import __all__ as _activations
from .binary import *  # noqa: F403
from .binary import __all__ as _binary
from .diagnostics import *  # noqa: F403
from .diagnostics import __all__ as _diagnostics
from .divergence import *  # noqa: F403
from .divergence import __all__ as _divergence
from .margin import *  # noqa: F403
from .margin import __all__ as _margin
from .metric_learning import *  # noqa: F403
from .metric_learning import __all__ as _metric_learning
from .multiclass import *  # noqa: F403
from .multiclass import __all__ as _multiclass
from .regression import *  # noqa: F403
from .regression import __all__ as _regression

__all__ = [
    *_activations, *_regression, *_binary, *_multiclass, *_divergence, *_margin,
    *_metric_learning, *_diagnostics,
]
__version__ = "0.2.0"
