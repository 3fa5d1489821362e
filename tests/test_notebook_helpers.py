"""lossutils.notebook: glue must emit what myst-nb reads, show_source the package's own code."""

import inspect

import pytest
from IPython.core.interactiveshell import InteractiveShell

import lossutils as L
from lossutils.notebook import glue, show_source


def capture(fn, *args, **kwargs):
    published = []
    shell = InteractiveShell.instance()
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kw: published.append((data, metadata))
    try:
        fn(*args, **kwargs)
    finally:
        shell.display_pub.publish = original
    return published


@pytest.mark.parametrize("display", [False, True])
@pytest.mark.parametrize("value", [1.0833333, "text", [0.01, 0.91]])
def test_glue_matches_myst_nb(value, display):
    from myst_nb import glue as reference

    assert capture(glue, "x", value, display=display) == capture(reference, "x", value,
                                                                 display=display)


def test_show_source_is_the_package_source():
    code = show_source(L.huber_loss)
    assert code.data == inspect.getsource(L.huber_loss).rstrip()
