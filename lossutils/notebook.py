"""Display helpers for the chapters: show package code as it is, never retyped (every chapter)."""

from __future__ import annotations

import inspect

__all__ = ["show_source"]


def show_source(*objects):
    """Display the source of ``lossutils`` functions, highlighted, straight from the package.

    The code a reader sees is therefore the code that is tested and that grades the assignments.
    """
    from IPython.display import Code

    text = "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects)
    return Code(text, language="python")
