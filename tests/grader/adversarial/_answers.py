"""Answer-cell sources shared by the adversarial cases (huber assignment).

CORRECT_* are honest answers (full marks); WRONG_* return plausible-looking but wrong numbers,
so an attack only scores if it fools the grader.
"""

CORRECT_LOSS = '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    a = np.abs(r)
    return float(np.mean(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))
'''

CORRECT_GRAD = '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    r = np.asarray(pred, dtype=float) - np.asarray(target, dtype=float)
    return np.clip(r, -delta, delta) / r.size
'''

WRONG_LOSS = '''import numpy as np


def huber_loss(pred, target, delta=1.0):
    return 0.0
'''

WRONG_GRAD = '''import numpy as np


def huber_grad(pred, target, delta=1.0):
    return np.zeros(np.shape(pred))
'''


def both(loss: str, grad: str) -> dict[str, str]:
    return {"huber_loss": loss, "huber_grad": grad}


HONEST = both(CORRECT_LOSS, CORRECT_GRAD)
WRONG = both(WRONG_LOSS, WRONG_GRAD)
