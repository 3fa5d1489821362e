"""Slider explorers that respond on the static website, without a kernel (every chapter).

``slider_figure`` evaluates a function for every slider position in Python, when the page is
executed, and emits a self-contained SVG + ``<input type="range">``; a few lines of inline
JavaScript swap the precomputed curves when the slider moves. Nothing is fetched from anywhere, so
it works offline, on the built site and in JupyterLab alike. ``live_widget`` is the ipywidgets
twin for a running kernel (tag its cell ``remove-cell`` so the site does not show a dead widget).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["SliderFigure", "slider_figure", "live_widget"]

_W, _H = 640, 360
_PAD = dict(left=64, right=16, top=36, bottom=48)
# Colour-blind-safe (Okabe-Ito) hues, distinguishable in light and dark mode; dashes add a
# second cue for readers who cannot tell the colours apart.
_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
_DASHES = ["", "8 4", "2 4", "8 4 2 4", "12 6", "4 2"]


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    step = 10 ** np.floor(np.log10(span / n)) if span > 0 else 1.0
    for m in (1, 2, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    start = np.ceil(lo / step) * step
    return [float(t) + 0.0 for t in np.arange(start, hi + step * 1e-9, step)]  # + 0.0: no "-0"


class SliderFigure:
    """A line chart whose curves change with a slider; renders as HTML (``_repr_html_``).

    ``frames[i]`` maps each series label to its y values (same length as ``x``) at slider value
    ``values[i]``. ``alt`` describes the figure for screen readers.
    """

    def __init__(self, x, values, frames, *, param: str, title: str, xlabel: str, ylabel: str,
                 alt: str, ylim: tuple[float, float] | None = None, initial: int | None = None,
                 fmt: str = "{:g}", legend: str = "upper left"):
        self.x = np.asarray(x, dtype=np.float64)
        # + 0.0 turns a -0.0 (np.round(-0.04, 1), np.arange steps) into 0.0: the slider shows "0"
        self.values = [float(v) + 0.0 for v in values]
        self.frames = [{k: np.asarray(v, dtype=np.float64) for k, v in f.items()} for f in frames]
        if not self.values or len(self.frames) != len(self.values):
            raise ValueError("slider_figure: need one frame per slider value; got "
                             f"{len(self.frames)} frames for {len(self.values)} values. Fix: "
                             "return a dict of curves for every value.")
        self.labels = list(self.frames[0])
        self.param, self.title, self.alt = param, title, alt
        self.xlabel, self.ylabel = xlabel, ylabel
        self.fmt = fmt
        if legend not in ("upper left", "upper right"):
            raise ValueError(f"slider_figure: legend is {legend!r}; expected 'upper left' or "
                             "'upper right'. Fix: pick the corner the curves leave free.")
        self.legend = legend
        self.initial = len(self.values) // 2 if initial is None else int(initial)
        ys = np.concatenate([y[np.isfinite(y)] for f in self.frames for y in f.values()])
        self.ylim = ylim if ylim is not None else (float(ys.min()), float(ys.max()))

    # Coordinates are computed here, so the browser only swaps strings.
    def _sx(self, x):
        lo, hi = self.x.min(), self.x.max()
        return _PAD["left"] + (x - lo) / (hi - lo) * (_W - _PAD["left"] - _PAD["right"])

    def _sy(self, y):
        lo, hi = self.ylim
        y = np.clip(y, lo - (hi - lo), hi + (hi - lo))  # keep off-scale points near the frame
        return _H - _PAD["bottom"] - (y - lo) / (hi - lo) * (_H - _PAD["top"] - _PAD["bottom"])

    def _points(self, y) -> str:
        ok = np.isfinite(y)
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(self._sx(self.x[ok]), self._sy(y[ok]),
                                                           strict=True))

    def to_html(self) -> str:
        data = [[self._points(f[k]) for k in self.labels] for f in self.frames]
        payload = json.dumps({"points": data, "values": [self.fmt.format(v) for v in self.values]})
        uid = "lx" + hashlib.sha1((self.title + payload).encode()).hexdigest()[:10]
        e = html.escape
        left, right = _PAD["left"], _W - _PAD["right"]
        top, bottom = _PAD["top"], _H - _PAD["bottom"]
        parts = [f'<svg viewBox="0 0 {_W} {_H}" width="100%" style="max-width:{_W}px" '
                 f'role="img" aria-labelledby="{uid}-t {uid}-d" '
                 'font-family="sans-serif" font-size="13" fill="currentColor">',
                 f'<title id="{uid}-t">{e(self.title)}</title>',
                 f'<desc id="{uid}-d">{e(self.alt)}</desc>',
                 f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="15">'
                 f'{e(self.title)}</text>',
                 f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
                 'fill="none" stroke="currentColor" stroke-opacity="0.5"/>']
        for t in _ticks(float(self.x.min()), float(self.x.max())):
            sx = self._sx(t)
            parts.append(f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{bottom}" y2="{bottom + 5}" '
                         f'stroke="currentColor"/><text x="{sx:.1f}" y="{bottom + 18}" '
                         f'text-anchor="middle">{t:g}</text>')
        for t in _ticks(*self.ylim):
            sy = self._sy(t)
            parts.append(f'<line x1="{left - 5}" x2="{left}" y1="{sy:.1f}" y2="{sy:.1f}" '
                         f'stroke="currentColor"/><text x="{left - 8}" y="{sy + 4:.1f}" '
                         f'text-anchor="end">{t:g}</text>')
        parts.append(f'<text x="{(left + right) / 2}" y="{_H - 8}" text-anchor="middle">'
                     f'{e(self.xlabel)}</text><text transform="translate(16 {(top + bottom) / 2}) '
                     f'rotate(-90)" text-anchor="middle">{e(self.ylabel)}</text>')
        parts.append(f'<clipPath id="{uid}-c"><rect x="{left}" y="{top}" width="{right - left}" '
                     f'height="{bottom - top}"/></clipPath><g clip-path="url(#{uid}-c)">')
        for i in range(len(self.labels)):
            c, d = _COLOURS[i % len(_COLOURS)], _DASHES[i % len(_DASHES)]
            parts.append(f'<polyline id="{uid}-s{i}" fill="none" stroke="{c}" stroke-width="2.5" '
                         f'stroke-dasharray="{d}" points="{data[self.initial][i]}"/>')
        parts.append("</g>")
        # Legend entries are ~7 px per character wide; right-aligned legends start further left.
        width = 46 + 7 * max(len(label) for label in self.labels)
        lx = left + 10 if self.legend == "upper left" else right - 10 - width
        for i, label in enumerate(self.labels):
            c, d = _COLOURS[i % len(_COLOURS)], _DASHES[i % len(_DASHES)]
            y = top + 16 + 18 * i
            parts.append(f'<line x1="{lx}" x2="{lx + 30}" y1="{y - 4}" y2="{y - 4}" '
                         f'stroke="{c}" stroke-width="2.5" stroke-dasharray="{d}"/>'
                         f'<text x="{lx + 36}" y="{y}">{e(label)}</text>')
        parts.append("</svg>")
        value = self.fmt.format(self.values[self.initial])
        control = (f'<div style="display:flex;gap:0.75em;align-items:center;margin-top:0.25em">'
                   f'<label for="{uid}-r">{e(self.param)}</label>'
                   f'<input type="range" id="{uid}-r" min="0" max="{len(self.values) - 1}" '
                   f'step="1" '
                   f'value="{self.initial}" aria-valuetext="{e(self.param)} = {value}" '
                   f'style="flex:1;max-width:24em">'
                   f'<output id="{uid}-o" for="{uid}-r">{value}</output></div>')
        script = (f"<script>(function(){{var d={payload};"
                  f"var r=document.getElementById('{uid}-r'),o=document.getElementById('{uid}-o');"
                  f"r.addEventListener('input',function(){{var i=+r.value;"
                  f"d.points[i].forEach(function(p,k){{document.getElementById('{uid}-s'+k)"
                  f".setAttribute('points',p);}});o.textContent=d.values[i];"
                  f"r.setAttribute('aria-valuetext','{e(self.param)} = '+d.values[i]);}});}})();"
                  f"</script>")
        return (f'<figure class="loss-explorer" id="{uid}" style="margin:1em 0">'
                + "".join(parts) + control + script + "</figure>")

    def _repr_html_(self) -> str:
        return self.to_html()


def slider_figure(curves: Callable[[float], Mapping[str, Sequence[float]]], x, values, **kwargs
                  ) -> SliderFigure:
    """Evaluate ``curves(v)`` -> ``{label: y}`` for every slider value ``v`` and build the figure.

    Keyword arguments are those of :class:`SliderFigure` (``param``, ``title``, ``xlabel``,
    ``ylabel``, ``alt`` required).
    """
    values = list(values)
    return SliderFigure(x, values, [curves(v) for v in values], **kwargs)


def live_widget(curves: Callable[[float], Mapping[str, Sequence[float]]], x, values, *, param: str,
                title: str, xlabel: str, ylabel: str, ylim: tuple[float, float] | None = None):
    """Kernel-backed twin of :func:`slider_figure`: an ipywidgets slider redrawing matplotlib."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    values = [float(v) + 0.0 for v in values]  # no "-0" in the slider's label either
    x = np.asarray(x, dtype=np.float64)

    def draw(value):
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for label, y in curves(value).items():
            ax.plot(x, y, label=label)
        ax.set(title=f"{title} ({param} = {value:g})", xlabel=xlabel, ylabel=ylabel)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend()
        plt.show()

    slider = widgets.SelectionSlider(options=values, value=values[len(values) // 2],
                                     description=param, continuous_update=True)
    return widgets.interactive(draw, value=slider)
