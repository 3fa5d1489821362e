"""Calling the reference implementation or a framework built-in instead of writing the answer."""

from ._answers import HONEST, both
from .build import Case

CAT = "reference"

CASES = [
    Case("ref_lossutils", CAT, "imports the course's reference functions", both(
        '''from lossutils import huber_loss as _reference


def huber_loss(pred, target, delta=1.0):
    return _reference(pred, target, delta=delta)
''', '''def huber_grad(pred, target, delta=1.0):
    from lossutils.regression import huber_loss_grad
    return huber_loss_grad(pred, target, delta=delta)
'''), expect="zero", review=True),
    Case("ref_torch", CAT, "uses torch.nn.functional.huber_loss and autograd", both(
        '''import torch


def huber_loss(pred, target, delta=1.0):
    return torch.nn.functional.huber_loss(torch.as_tensor(pred), torch.as_tensor(target),
                                          delta=delta).item()
''', '''def huber_grad(pred, target, delta=1.0):
    import torch
    p = torch.tensor(pred, requires_grad=True)
    torch.nn.functional.huber_loss(p, torch.as_tensor(target), delta=delta).backward()
    return p.grad.numpy()
'''), expect="zero", review=True),
    Case("ref_importlib", CAT, "reaches the reference through importlib and __import__", both(
        '''import importlib


def huber_loss(pred, target, delta=1.0):
    return importlib.import_module("lossutils.regression").huber_loss(pred, target, delta)
''', '''def huber_grad(pred, target, delta=1.0):
    mod = __import__("lossutils.regression", fromlist=["huber_loss_grad"])
    return mod.huber_loss_grad(pred, target, delta)
'''), expect="zero", review=True),
    Case("ref_source_exec", CAT, "finds the reference's source file and executes it", both(
        '''import glob
import os
import sys

import numpy as np


def _load_reference():
    here = os.path.dirname(os.path.dirname(np.__file__))
    for finder in glob.glob(os.path.join(here, "__editable__*lossutils*finder.py")):
        text = open(finder).read()
        start = text.index("MAPPING")
        root = text[start:].split("'lossutils': '")[1].split("'")[0]
        sys.path.insert(0, os.path.dirname(root))
    for base in sys.path + [here]:
        path = os.path.join(base, "lossutils", "regression.py")
        if os.path.exists(path):
            sys.path.insert(0, base)
    import lossutils.regression
    return lossutils.regression


def huber_loss(pred, target, delta=1.0):
    return _load_reference().huber_loss(pred, target, delta)
''', '''def huber_grad(pred, target, delta=1.0):
    return _load_reference().huber_loss_grad(pred, target, delta)
'''), expect="zero", review=True),
    Case("ref_zz_honest", CAT, "honest twin: NumPy only", HONEST, expect="full"),
]
