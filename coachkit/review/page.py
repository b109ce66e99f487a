"""The page model of a review: a :class:`Section` is an ordered list of parts (:class:`Heading`,
:class:`Text`, :class:`Table`, :class:`Chart`) with the raw ``frames`` and ``values`` behind them;
:func:`show` displays one in a notebook and :func:`section_html` gives its escaped HTML.
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import charts


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (escaped when shown); ``kind`` ``note`` is shown smaller."""

    text: str
    kind: str = "p"


@dataclass(frozen=True)
class Table:
    """A display table (formatted strings, escaped when shown) with an optional caption."""

    frame: pd.DataFrame
    caption: str = ""
    header: bool = True


@dataclass(frozen=True)
class Chart:
    """An Altair chart over aggregated data."""

    chart: Any


@dataclass
class Section:
    """One review section: ``parts`` in display order, and the raw ``frames``/``values`` behind them."""

    key: str
    title: str
    parts: list[Any] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def sentences(self) -> list[str]:
        """The plain-language paragraphs of the section, in order."""
        return [p.text for p in self.parts if isinstance(p, Text)]

    @property
    def charts(self) -> list[Any]:
        """The charts of the section, in order."""
        return [p.chart for p in self.parts if isinstance(p, Chart)]

    @property
    def tables(self) -> list[pd.DataFrame]:
        """The display tables of the section, in order."""
        return [p.frame for p in self.parts if isinstance(p, Table)]

    def add(self, *parts: Any) -> Section:
        for p in parts:
            if p is None:
                continue
            if isinstance(p, str):
                p = Text(p)
            self.parts.append(p)
        return self


_CSS = (
    "<style>.ck-note{color:#555;font-size:0.9em}.ck-caption{color:#444;font-style:italic;margin:0.2em 0}"
    "table.coachkit-table td,table.coachkit-table th{text-align:left;padding:0.25em 0.6em;vertical-align:top}"
    "</style>"
)


def _esc(text: str) -> str:
    """Escape text for an HTML text node (quotes need no escaping outside attributes)."""
    return _html.escape(text, quote=False)


def _part_html(part: Any) -> str:
    esc = _esc
    if isinstance(part, Heading):
        return f"<h3>{esc(part.text)}</h3>"
    if isinstance(part, Text):
        cls = ' class="ck-note"' if part.kind == "note" else ""
        return f"<p{cls}>{esc(part.text)}</p>"
    if isinstance(part, Table):
        cap = f'<p class="ck-caption">{esc(part.caption)}</p>' if part.caption else ""
        body = part.frame.to_html(
            escape=True, index=False, header=part.header, border=0, na_rep="–", classes="coachkit-table"
        )
        return cap + body
    return ""


def section_html(section: Section, *, level: int = 2) -> str:
    """The section's heading, sentences and tables as HTML (charts left out); every text is escaped."""
    out = [f"<h{level}>{_esc(section.title)}</h{level}>"]
    out += [_part_html(p) for p in section.parts if not isinstance(p, Chart)]
    return "\n".join(out)


def show(section: Section, *, level: int = 2, number: int | None = None) -> None:
    """Display ``section`` in a notebook: escaped HTML for text and tables, charts as SVG.

    A chart is shown as the ``image/svg+xml`` output Altair's ``svg`` renderer gives (with the same
    ``text/plain``), drawn by :func:`coachkit.charts.to_svg`, which skips re-validating the spec.
    """
    from IPython.display import HTML, display

    title = f"{number}. {section.title}" if number is not None else section.title
    buf = [_CSS, f"<h{level}>{_esc(title)}</h{level}>"]
    for p in section.parts:
        if isinstance(p, Chart):
            if buf:
                display(HTML("\n".join(buf)))
                buf = []
            display({"image/svg+xml": charts.to_svg(p.chart), "text/plain": repr(p.chart)}, raw=True)
        else:
            buf.append(_part_html(p))
    if buf:
        display(HTML("\n".join(buf)))
