"""The page model of a review: a :class:`Section` is an ordered list of parts (:class:`Heading`,
:class:`Text`, :class:`Table`, :class:`Chart`, :class:`Bullets`, :class:`Details`, :class:`Contents`, or any
part with an ``html()`` method that returns its own escaped HTML, such as the scorecard) with the raw
``frames`` and ``values`` behind them; :func:`show` displays one in a notebook and :func:`section_html` gives
its escaped HTML.

Every text is escaped where it becomes HTML. Statistical detail goes into :class:`Details` (an HTML
``<details>`` block: collapsed, opened with a click, no script). A section's heading carries the id
``ck-<key>`` so that the review's contents (:class:`Contents`) can link to it.
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


@dataclass(frozen=True)
class Bullet:
    """One item of a :class:`Bullets` list: a bold ``title``, a sentence, and smaller ``notes`` under it."""

    title: str
    text: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bullets:
    """A list of :class:`Bullet` items (numbered when ``ordered``); ``empty`` is shown when there is none."""

    items: tuple[Bullet, ...]
    empty: str = ""
    ordered: bool = False


@dataclass(frozen=True)
class Details:
    """A collapsed block (HTML ``<details>``) titled ``summary``, holding ``parts`` (no charts)."""

    summary: str
    parts: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Contents:
    """The review's table of contents: (section key, title) pairs, linked to the sections' headings."""

    entries: tuple[tuple[str, str], ...]


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
    "details.ck-details{margin:0.4em 0}details.ck-details>summary{cursor:pointer;color:#444}"
    "ul.ck-bullets,ol.ck-bullets{margin:0.2em 0 0.5em;padding-left:1.4em}ul.ck-bullets li,ol.ck-bullets li"
    "{margin:0.15em 0}nav.ck-toc{margin:0.6em 0;color:#444}"
    "</style>"
)


def anchor(key: str) -> str:
    """The HTML id of a section's heading: ``ck-`` and the key (letters, digits, - and _ only)."""
    return "ck-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


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
    if isinstance(part, Bullets):
        if not part.items:
            return f'<p class="ck-empty">{esc(part.empty)}</p>' if part.empty else ""
        tag = "ol" if part.ordered else "ul"
        items = []
        for b in part.items:
            title = f"<b>{esc(b.title)}</b>" if b.title else ""
            text = (" " if title and b.text else "") + esc(b.text)
            notes = "".join(f'<br><span class="ck-note">{esc(n)}</span>' for n in b.notes if n)
            items.append(f"<li>{title}{text}{notes}</li>")
        return f'<{tag} class="ck-bullets">' + "".join(items) + f"</{tag}>"
    if isinstance(part, Details):
        inner = "\n".join(_part_html(p) for p in part.parts if not isinstance(p, Chart))
        return f'<details class="ck-details"><summary>{esc(part.summary)}</summary>\n{inner}\n</details>'
    if isinstance(part, Contents):
        links = " · ".join(f'<a href="#{anchor(k)}">{esc(t)}</a>' for k, t in part.entries)
        return f'<nav class="ck-toc">Sections: {links}</nav>' if part.entries else ""
    if callable(getattr(part, "html", None)):
        return str(part.html())
    return ""


def _title_html(section: Section, level: int, number: int | None) -> str:
    title = f"{number}. {section.title}" if number is not None else section.title
    return f'<h{level} id="{anchor(section.key)}">{_esc(title)}</h{level}>'


def section_html(section: Section, *, level: int = 2, number: int | None = None) -> str:
    """The section's heading (none when ``level`` is 0), sentences and tables as HTML (charts left out); every
    text is escaped."""
    out = [_title_html(section, level, number)] if level else []
    out += [_part_html(p) for p in section.parts if not isinstance(p, Chart)]
    return "\n".join(out)


def show(section: Section, *, level: int = 2, number: int | None = None) -> None:
    """Display ``section`` in a notebook: escaped HTML for text and tables, charts as SVG.

    ``level`` 0 shows no heading. A chart is shown as the ``image/svg+xml`` output Altair's ``svg`` renderer gives (with the same
    ``text/plain``), drawn by :func:`coachkit.charts.to_svg`, which skips re-validating the spec.
    """
    from IPython.display import HTML, display

    buf = [_CSS] + ([_title_html(section, level, number)] if level else [])
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
