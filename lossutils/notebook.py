"""Display helpers for the chapters: package code shown, numbers glued, progress shown."""

from __future__ import annotations

import functools
import inspect

__all__ = ["show_source", "glue", "progress"]

# The mime prefix myst-nb (pinned in requirements.txt) reads glued values back from.
GLUE_PREFIX = "application/papermill.record/"


def show_source(*objects):
    """Display the source of ``lossutils`` functions, highlighted, straight from the package.

    The code a reader sees is therefore the code that is tested and that grades the assignments.
    """
    from IPython.display import Code

    text = "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects)
    return Code(text, language="python")


def glue(name: str, value, *, display: bool = True) -> None:
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


def progress(total: int, *, desc: str = ""):
    """A progress bar for loops longer than a couple of seconds (chapter 6's training runs).

    ``tqdm`` draws it; in a notebook the bar is a plain HTML ``<progress>`` element updated in
    place, not an ipywidget, so the saved page still shows the finished bar on the static website,
    where widgets would need a kernel. Outside IPython it is tqdm's usual text bar.
    Use it as ``with progress(n, "training") as bar: ... bar.update(1)``.
    """
    from tqdm.std import tqdm

    try:
        from IPython import get_ipython
    except ImportError:  # plain Python without IPython
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        return tqdm(total=total, desc=desc)
    return _html_progress_class()(total=total, desc=desc)


@functools.cache
def _html_progress_class():
    # Built on first use, so that importing lossutils does not import tqdm and IPython.
    from html import escape

    from IPython.display import HTML, display
    from tqdm.std import tqdm

    class HtmlProgress(tqdm):
        # tqdm calls display() on every refresh; the bar is one display handle updated in place.
        def __init__(self, *args, **kwargs):
            self._handle = None
            kwargs.setdefault("mininterval", 0.2)
            super().__init__(*args, file=_NullFile(), **kwargs)

        def _html(self):
            done, total = self.n, self.total or 0
            label = escape(self.desc or "progress")
            text = escape(self.format_meter(**{**self.format_dict, "ncols": 0}))
            return HTML(f'<div><progress value="{done}" max="{total}" aria-label="{label}">'
                        f"</progress> <code>{text}</code></div>")

        def display(self, msg=None, pos=None):
            if self._handle is None:
                self._handle = display(self._html(), display_id=True)
            else:
                self._handle.update(self._html())
            return True

        def close(self):
            if not self.disable:
                self.display()
            super().close()

    return HtmlProgress


class _NullFile:
    """Where tqdm's text output goes when the HTML bar shows progress instead."""

    def write(self, _text):
        pass

    def flush(self):
        pass

