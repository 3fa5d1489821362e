"""lossutils.notebook: glue emits what myst-nb reads, show_source the package's own code, and
progress a bar the static site can show without a kernel."""

import inspect

import pytest
from IPython.core.interactiveshell import InteractiveShell

import lossutils as L
from lossutils.notebook import glue, progress, show_source


def capture(fn, *args, **kwargs):
    published = []
    shell = InteractiveShell.instance()
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, transient=None, **kw: published.append(
        (data, metadata, transient))
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


def run_progress(total, steps):
    with progress(total, desc="training 4 runs") as bar:
        for _ in range(steps):
            bar.update(1)


def test_progress_in_a_notebook_is_one_html_bar_updated_in_place_not_a_widget():
    published = capture(run_progress, 8, 8)
    assert published, "nothing was displayed"
    mimes = {key for data, _, _ in published for key in data}
    assert not any("widget" in key for key in mimes), mimes   # a widget would be dead on the site
    ids = {(transient or {}).get("display_id") for _, _, transient in published}
    assert len(ids) == 1 and None not in ids, "every update must target the same display"
    last = published[-1][0]["text/html"]
    assert 'value="8" max="8"' in last and 'aria-label="training 4 runs"' in last
    assert "8/8" in last


def test_progress_outside_ipython_is_a_text_bar(capsys, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    run_progress(3, 3)
    assert "3/3" in capsys.readouterr().err
