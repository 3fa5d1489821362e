"""Display helpers for the chapters: package code shown as it is, and numbers glued into prose."""

from __future__ import annotations

import inspect

__all__ = ["show_source", "glue"]

# The mime prefix myst-nb (pinned in requirements.txt) reads glued values back from.
GLUE_PREFIX = "application/papermill.record/"


def show_source(*objects):
    """Display the source of ``lossutils`` functions, highlighted, straight from the package.

    The code a reader sees is therefore the code that is tested and that grades the assignments.
    """
    from IPython.display import Code

    text = "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects)
    return Code(text, language="python")


def glue(name: str, value, display: bool = True) -> None:
    """Store ``value`` under ``name`` for ``{glue:text}`name``` roles in the page's prose.

    Emits exactly what ``myst_nb.glue`` emits, without importing ``nbformat`` (whose schema
    validators cost about 3 s of CPU in every chapter kernel). Pass ``display=False`` to keep
    the value out of the cell's visible output, as the chapters do.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as show

    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    show({prefix + key: data for key, data in bundle.items()}, raw=True, metadata=metadata)
