"""Feedback pages that show their maths offline (``GenerateFeedback.exporter_class``).

nbgrader's feedback template loads MathJax from a CDN, so a student who opens the HTML file
offline (or behind a firewall) sees raw TeX. :class:`OfflineFeedbackExporter` writes the maths
of the instructor's Markdown cells as MathML instead (browsers render it natively: Chrome and
Edge since 2023, Firefox and Safari for longer), converted by ``latex2mathml``, and leaves the
CDN script out. Students' written answers keep their TeX as written: their text is shown as text
(:func:`.safety.safe_markdown`), and turning it into markup is exactly what must not happen.
"""

from __future__ import annotations

import copy
import html
import re

from nbconvert.exporters import HTMLExporter

__all__ = ["OfflineFeedbackExporter", "tex_to_mathml"]

# nbconvert's mathjax() macro, from its opening comment to its closing one
_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\d)")


def _convert(tex: str, display: str) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # noqa: BLE001 - leave maths the converter does not know as TeX
        return html.escape(f"$${tex}$$" if display == "block" else f"${tex}$")


def tex_to_mathml(markdown: str) -> str:
    """``$...$`` and ``$$...$$`` in Markdown (outside code) as MathML elements."""
    parts = _CODE.split(markdown)
    for k in range(0, len(parts), 2):  # even parts are outside code
        text = _DISPLAY.sub(lambda m: "\n\n" + _convert(m.group(1), "block") + "\n\n", parts[k])
        parts[k] = _INLINE.sub(lambda m: _convert(m.group(1), "inline"), text)
    return "".join(parts)


class OfflineFeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML with the instructor's maths as MathML and no CDN script."""

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if (cell.cell_type == "markdown" and not meta.get("solution")
                    and not cell.metadata.get("lossgrade_report")):
                cell.source = tex_to_mathml(cell.source)
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return _MATHJAX.sub("<!-- maths: MathML, rendered by the browser -->", output), resources
