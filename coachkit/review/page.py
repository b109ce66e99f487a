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


@dataclass(frozen=True)
class Columns:
    """Parts side by side on a wide screen (two columns from 1000 px), one after the other on a narrow one."""

    left: tuple[Any, ...]
    right: tuple[Any, ...]


def _flat(parts: Any) -> list[Any]:
    """``parts`` with the parts inside :class:`Details` and :class:`Columns` put in their place, in reading order."""
    out: list[Any] = []
    for p in parts:
        if isinstance(p, Details):
            out += _flat(p.parts)
        elif isinstance(p, Columns):
            out += _flat(p.left) + _flat(p.right)
        else:
            out.append(p)
    return out


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
        """The plain-language paragraphs of the section, in order (also those inside :class:`Details` and
        :class:`Columns`)."""
        return [p.text for p in _flat(self.parts) if isinstance(p, Text)]

    @property
    def charts(self) -> list[Any]:
        """The charts of the section, in order."""
        return [p.chart for p in _flat(self.parts) if isinstance(p, Chart)]

    @property
    def tables(self) -> list[pd.DataFrame]:
        """The display tables of the section, in order."""
        return [p.frame for p in _flat(self.parts) if isinstance(p, Table)]

    def add(self, *parts: Any) -> Section:
        for p in parts:
            if p is None:
                continue
            if isinstance(p, str):
                p = Text(p)
            self.parts.append(p)
        return self


#: The review's stylesheet, carried by the first screen's output (so that it also applies in Jupyter); the exported
#: page's base styles are ``coachkit/templates/coachkit/page.css``. Every rule is scoped to coachkit's classes.
CSS = """
.ck-note{color:#555;font-size:.88em}.ck-caption{color:#444;font-style:italic;margin:.2em 0}
.ck-empty{color:#444}
table.coachkit-table td,table.coachkit-table th{text-align:left;padding:.25em .6em;vertical-align:top}
details.ck-details{margin:.35em 0}details.ck-details>summary{cursor:pointer;color:#3a3a3a;font-size:.9em}
details.ck-details[open]{padding-bottom:.3em}
ul.ck-bullets,ol.ck-bullets{margin:.15em 0 .4em;padding-left:1.3em}ul.ck-bullets li,ol.ck-bullets li{margin:.2em 0}
nav.ck-toc{margin:.9em 0 .2em;color:#444;font-size:.92em}
header.ck-head{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:.2em 1em;
margin:0 0 .15em}
h1.ck-h1{font-size:1.45rem;margin:0;line-height:1.3;border:0;padding:0}
.ck-facts{font-size:.95rem;font-weight:normal;color:#444}
nav.ck-links{order:2;white-space:nowrap;font-size:.92em}
.ck-cols{display:grid;grid-template-columns:minmax(0,1.08fr) minmax(0,1fr);gap:0 1.8em;align-items:start}
@media (max-width:1000px){.ck-cols{grid-template-columns:minmax(0,1fr)}}
.ck-col{min-width:0}details.ck-details{max-width:100%;overflow-x:auto}
.ck-cols h3{margin:.5em 0 .25em;font-size:1.08rem;border:0}
table.ck-scorecard{border-collapse:collapse;width:100%;font-size:.9em;margin:.3em 0 .2em}
table.ck-scorecard caption{caption-side:top;text-align:left;color:#444;padding:0 0 .2em;font-size:.95em}
table.ck-scorecard th,table.ck-scorecard td{padding:.28em .4em;border-bottom:1px solid #e6e6e6;text-align:left;
vertical-align:middle;background:none}
table.ck-scorecard thead th{font-weight:600;font-size:.86em;color:#333;vertical-align:bottom;
border-bottom:1px solid #bbb}
table.ck-scorecard tbody th{font-weight:600}
table.ck-scorecard td.ck-num{text-align:right;white-space:nowrap}
.ck-sub{display:block;color:#666;font-size:.82em;font-weight:normal;white-space:normal}.ck-team{white-space:nowrap}
.ck-up,.ck-down,.ck-flat{white-space:nowrap}.ck-up{color:#176117}.ck-down{color:#a3001b}.ck-flat{color:#666}
svg.ck-spark{display:block}
"""

_CSS = f"<style>{CSS.strip()}</style>"


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
    if isinstance(part, Columns):
        left = "\n".join(_part_html(p) for p in part.left if not isinstance(p, Chart))
        right = "\n".join(_part_html(p) for p in part.right if not isinstance(p, Chart))
        return f'<div class="ck-cols"><div class="ck-col">{left}</div><div class="ck-col">{right}</div></div>'
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


def show(section: Section | None, *, level: int = 2, number: int | None = None, when: bool = True) -> None:
    """Display ``section`` in a notebook: escaped HTML for text and tables, charts as SVG.

    Nothing is displayed when ``when`` is False or ``section`` is None (e.g. the sections of a rep with no activity
    in the window). ``level`` 0 shows no heading. A chart is shown as the ``image/svg+xml`` output Altair's ``svg`` renderer gives (with the same
    ``text/plain``), drawn by :func:`coachkit.charts.to_svg`, which skips re-validating the spec.
    """
    from IPython.display import HTML, display

    if not when or section is None:
        return
    buf = [_CSS] + ([_title_html(section, level, number)] if level else [])
    for p in section.parts:
        if isinstance(p, Chart):
            if buf:
                display(HTML("\n".join(buf)))
                buf = []
            from ..charts import to_svg  # imported with the first chart (Altair): not by a page of text alone

            display({"image/svg+xml": to_svg(p.chart), "text/plain": repr(p.chart)}, raw=True)
        else:
            buf.append(_part_html(p))
    if buf:
        display(HTML("\n".join(buf)))
