"""The kernel-free explorer: self-contained HTML whose frames really differ per slider value."""

import json
import re

import numpy as np
import pytest

from lossutils.explorer import slider_figure

X = np.linspace(-3, 3, 41)


def huber_frames(delta):
    r = np.abs(X)
    return {"loss": np.where(r <= delta, 0.5 * X**2, delta * (r - delta / 2)),
            "gradient": np.clip(X, -delta, delta)}


def make(**kwargs):
    args = dict(param="delta", title="Huber loss", xlabel="residual", ylabel="value",
                alt="Huber loss and its gradient for several thresholds")
    args.update(kwargs)
    return slider_figure(huber_frames, X, [0.5, 1.0, 2.0], **args)


def payload(html):
    return json.loads(re.search(r"var d=(\{.*?\});", html).group(1))


def test_html_is_self_contained_and_labelled():
    html = make().to_html()
    assert "http" not in html and "<script src" not in html
    assert '<input type="range"' in html and '<label for="' in html
    assert "<desc" in html and "Huber loss and its gradient" in html
    assert html.count("<polyline") == 2


def test_every_frame_is_computed_and_differs():
    data = payload(make().to_html())
    assert data["values"] == ["0.5", "1", "2"]
    assert len(data["points"]) == 3 and all(len(f) == 2 for f in data["points"])
    assert len({f[0] for f in data["points"]}) == 3  # the loss curve changes with delta


def test_initial_frame_is_drawn():
    html = make(initial=0).to_html()
    first = payload(html)["points"][0][0]
    assert f'points="{first}"' in html


def test_no_negative_zero_tick_and_right_legend():
    html = make(ylim=(-2.0, 4.0), legend="upper right").to_html()
    assert ">-0<" not in html and ">0<" in html


def test_a_negative_zero_slider_value_reads_0():
    # rounding a small negative step (np.arange's -1e-16, here -0.04) to a grid gives -0.0
    values = np.round(np.array([-0.2, -0.1, -0.04, 0.1, 0.2]), 1)
    assert np.signbit(values[2]) and values[2] == 0
    fig = slider_figure(lambda v: {"loss": X * v}, X, values, param="margin", title="t",
                        xlabel="x", ylabel="y", alt="a line whose slope is the slider value",
                        initial=2)
    html = fig.to_html()
    assert payload(html)["values"] == ["-0.2", "-0.1", "0", "0.1", "0.2"]
    assert '<output id="' in html and ">0</output>" in html and "= -0" not in html


@pytest.mark.parametrize("kwargs, words", [(dict(legend="middle"), "legend"), ])
def test_bad_options_are_explained(kwargs, words):
    with pytest.raises(ValueError, match=words):
        make(**kwargs)


def test_frame_count_mismatch_is_explained():
    from lossutils.explorer import SliderFigure
    with pytest.raises(ValueError, match="one frame per slider value"):
        SliderFigure(X, [1.0, 2.0], [huber_frames(1.0)], param="d", title="t", xlabel="x",
                     ylabel="y", alt="a")
