"""Self-contained HTML for managers: executed notebooks to HTML, the team index, and the review summary.

A review page must open offline (an email attachment, a file share) and make no
network request. nbconvert's ``lab`` template loads require.js, MathJax and
Mermaid from CDNs, and Altair's default HTML output loads vega from a CDN, so:

* the notebook renders charts with Altair's ``svg`` renderer (vl-convert: offline,
  deterministic), and the charts are written into the page as inline ``<svg>``;
* the page uses coachkit's nbconvert template (``coachkit/templates/coachkit``), the
  ``lab`` template with every CDN script removed; comments are stripped from the
  inlined CSS (they hold credits URLs);
* :func:`export_html` refuses to return a page that still references anything
  outside itself (see :func:`external_references`).

Text from the data is escaped: :func:`table` and :func:`heading` escape every value,
and vl-convert escapes chart text as XML.

**The review summary.** A review notebook hands its headline KPIs to the batch (for
``index.html`` and ``manifest.json``) by calling :func:`publish_summary` once. It
becomes an output of MIME type :data:`SUMMARY_MIME` in the executed notebook, which
the HTML does not show and :func:`read_summary` reads back. The summary is a dict::

    {
      "rep_id": "r1", "name": "Ann Lee", "team": "East", "role": "SDR",
      "window": {"start": "2024-05-06", "end": "2024-06-02"},
      "headline": [
        {"key": "connect_rate", "label": "Connect rate", "value": 0.31,
         "low": 0.24, "high": 0.39, "n": 140, "format": "pct"},
        ...
      ]
    }

``headline`` items need ``key``, ``label`` and ``value``; ``low``/``high`` (the
interval), ``n`` and ``format`` (``int``, ``pct``, ``float``, ``text``) are optional.
Missing numbers are ``None`` (NaN is turned into ``None``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html as _html
import json
import math
import re
import threading
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = [
    "SUMMARY_MIME",
    "SelfContainedError",
    "export_html",
    "external_references",
    "external_urls",
    "format_value",
    "heading",
    "publish_summary",
    "read_summary",
    "render_index",
    "render_weeks",
    "table",
]

#: MIME type of the review summary output (see the module docstring).
SUMMARY_MIME = "application/vnd.coachkit.summary+json"

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "coachkit"


class SelfContainedError(ValueError):
    """An HTML page references a resource outside itself."""


# ---------------------------------------------------------------- inside the notebook


def publish_summary(summary: Mapping[str, Any]) -> None:
    """Display ``summary`` as the review's machine-readable summary (not shown in the HTML).

    Call it once per review notebook. NaN and numpy numbers are turned into JSON values;
    a value JSON cannot hold raises ``TypeError``.
    """
    from IPython.display import display

    clean = _jsonable(dict(summary))
    json.dumps(clean, allow_nan=False)  # fail here, in the rep's notebook, not later in the batch
    items = clean.get("headline") or []
    text = "Review summary for the team index: " + (
        "; ".join(f"{i.get('label', i.get('key'))} {format_value(i.get('value'), i.get('format'))}" for i in items)
        or "no headline KPIs"
    )
    display({SUMMARY_MIME: clean, "text/plain": text}, raw=True)


def read_summary(nb: Any) -> dict[str, Any] | None:
    """The summary a notebook published with :func:`publish_summary` (the last one), or None."""
    found = None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            if SUMMARY_MIME in data:
                value = data[SUMMARY_MIME]
                found = json.loads(value) if isinstance(value, str) else dict(value)
    return found


def table(frame: Any, *, index: bool = False) -> Any:
    """An HTML table of ``frame`` for display in a review, every cell escaped.

    (pandas' ``Styler`` does not escape by default; ``DataFrame.to_html(escape=True)`` does.)
    """
    from IPython.display import HTML

    return HTML(frame.to_html(escape=True, index=index, border=0, na_rep="", classes="coachkit-table"))


def heading(title: str, *lines: str, level: int = 1) -> Any:
    """A heading with optional lines of text under it, all escaped."""
    from IPython.display import HTML

    level = min(max(int(level), 1), 6)
    parts = [f"<h{level}>{_html.escape(str(title))}</h{level}>"]
    parts += [f"<p>{_html.escape(str(line))}</p>" for line in lines]
    return HTML("\n".join(parts))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy / pandas scalars
        return _jsonable(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    raise TypeError(f"summary value {value!r} of type {type(value).__name__} cannot be written as JSON")


# ---------------------------------------------------------------- notebook -> HTML


def export_html(nb: Any, *, title: str = "Review") -> str:
    """The executed notebook ``nb`` as one self-contained HTML page, without code or prompts.

    Raises :class:`SelfContainedError` if the page would reference anything outside itself.
    """
    exporter = _exporter()
    with _SVG_LOCK:
        # nbconvert re-parses and re-serialises the whole page with BeautifulSoup (to add alt
        # text to images and tabindex to cells): most of an export's time when charts are inline
        # SVG. The template leaves a placeholder for each chart; the charts go in afterwards.
        _SVGS.clear()
        body, _ = exporter.from_notebook_node(_without_summary(nb), resources={"metadata": {"name": title}})
        svgs = list(_SVGS)
        _SVGS.clear()
    body = _strip_css_comments(body)
    body = _SVG_PLACEHOLDER.sub(lambda m: svgs[int(m.group(1))], body)
    refs = external_references(body)
    if refs:
        raise SelfContainedError(f"the HTML of {title!r} references outside resources: {refs[:5]}")
    return body


_SVGS: list[str] = []
_SVG_LOCK = threading.Lock()
_SVG_PLACEHOLDER = re.compile(r"<!--coachkit-svg:([0-9]+)-->")


def _svg_placeholder(svg: str) -> str:
    """The coachkit_svg template filter: the chart made safe (:func:`inline_svg`), put in later."""
    _SVGS.append(inline_svg(svg))
    return f"<!--coachkit-svg:{len(_SVGS) - 1}-->"


@functools.cache
def _exporter() -> Any:
    # One exporter per process: building it (templates, pygments CSS) costs ~0.3 s.
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        require_js_url="",
        mathjax_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
        jupyter_widgets_base_url="",
    )
    exporter.register_filter("coachkit_svg", _svg_placeholder)
    return exporter


def _without_summary(nb: Any) -> Any:
    """A copy of ``nb`` without the summary outputs (data for the index, not for the page)."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if SUMMARY_MIME not in (o.get("data") or {})]
    return nb


_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _strip_css_comments(page: str) -> str:
    return _STYLE.sub(lambda m: m.group(1) + _CSS_COMMENT.sub("", m.group(2)) + m.group(3), page)


_SVG_START = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^>]*>\s*)?(?=<svg\b)", re.I)
_SCRIPTISH = re.compile(r"<(script|foreignObject)\b.*?</\1\s*>|<(script|foreignObject)\b[^>]*/>", re.S | re.I)
_EVENT_ATTR = re.compile(r"""\s on[a-z]+ \s*=\s* (?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I | re.X)
_SVG_ID = re.compile(r"""\bid="([^"]+)\"""")


def inline_svg(svg: str) -> str:
    """``svg`` (a chart rendered by vl-convert) made safe to inline in a page.

    Drops an XML declaration/doctype, any script or foreignObject element and event
    attributes, and renames element ids to a hash of the chart plus their order, so that
    two charts on one page cannot share a clip-path or gradient id, and the page does not
    depend on how the renderer numbered them (vl-convert counts gradients per process).
    """
    if not _SVG_START.match(svg):
        return f"<pre>{_html.escape(svg[:200])}</pre>"
    svg = _SVG_START.sub("", svg, count=1)
    svg = _SCRIPTISH.sub("", svg)
    svg = _EVENT_ATTR.sub("", svg)
    ids = list(dict.fromkeys(_SVG_ID.findall(svg)))
    if ids:
        for i, old in enumerate(ids):  # placeholders first: the hash must not depend on the old ids
            new = f"\x00{i}\x00"
            svg = svg.replace(f'id="{old}"', f'id="{new}"')
            svg = svg.replace(f"url(#{old})", f"url(#{new})")
            svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
        prefix = "ck" + hashlib.sha1(svg.encode()).hexdigest()[:10] + "-"
        svg = re.sub("\x00([0-9]+)\x00", lambda m: f"{prefix}{m.group(1)}", svg)
    return svg


# ---------------------------------------------------------------- what counts as external

#: Attributes whose value the browser fetches or navigates to.
URL_ATTRIBUTES = frozenset(
    {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data", "background", "cite", "ping"}
)
_SCHEME = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|//|\\\\)", re.I)
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]*)|@import\s+['"]([^'"]+)""", re.I)
_ANY_URL = re.compile(r"""(?:https?|ftp|wss?)://[^\s"'<>)]*|(?<![\w:])//[a-z0-9.\-]+\.[a-z]{2,}/""", re.I)


def _is_external(value: str) -> bool:
    value = value.strip()
    if not value or value.startswith("#"):
        return False
    if value.lower().startswith("data:"):
        return False
    return bool(_SCHEME.match(value))


class _RefCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in = tag
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                candidates = [v.split()[0] for v in value.split(",") if v.strip()] if name == "srcset" else [value]
                self.refs += [v for v in candidates if _is_external(v)]
            elif name == "style":
                self._css(value)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self._css(data)
        elif self._in == "script":
            self.refs += _ANY_URL.findall(data)

    def _css(self, text: str) -> None:
        for a, b in _CSS_URL.findall(text):
            if _is_external(a or b):
                self.refs.append(a or b)


def external_references(page: str) -> list[str]:
    """URLs outside the page that a browser would fetch or navigate to.

    That is: an absolute or protocol-relative URL (any scheme but ``data:``) in a
    ``src``, ``href``, ``xlink:href``, ``srcset``, ``action``, ``formaction``,
    ``poster``, ``data``, ``background``, ``cite`` or ``ping`` attribute, in a CSS
    ``url()`` or ``@import`` (style elements and attributes), or anywhere in an
    inline script. Fragment links (``#x``), ``data:`` URLs and relative links
    (``r1.html``, which is how the index links a review) are not external.
    """
    collector = _RefCollector()
    collector.feed(page)
    collector.close()
    return collector.refs


_XMLNS = re.compile(r"""\sxmlns(?::[\w.\-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""", re.I)


def external_urls(page: str) -> list[str]:
    """Every URL-looking text in ``page`` except XML namespace declarations (``xmlns="http://…"``).

    Stricter than :func:`external_references`: it also counts URLs in text, so it is
    empty only for a page that mentions no outside address at all (a note quoting a
    web address would appear here, escaped and harmless).
    """
    return _ANY_URL.findall(_XMLNS.sub(" ", page))


# ---------------------------------------------------------------- the team index


def format_value(value: Any, fmt: str | None = None) -> str:
    """A headline value as text: ``int`` 1,234; ``pct`` 31% (from 0.31); ``float`` 1.2; else str."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt == "text" or isinstance(value, str):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if fmt == "pct":
        return f"{number:.0%}"
    if fmt == "int" or (fmt is None and number.is_integer()):
        return f"{number:,.0f}"
    return f"{number:,.1f}"


def render_index(manifest: Mapping[str, Any]) -> str:
    """The team index page of a review run (``index.html``), from the run's manifest: see
    :func:`coachkit.run_pages.render_index`."""
    from .run_pages import render_index as render

    return render(manifest)


INDEX_NAME = "index.html"


def render_weeks(weeks: Sequence[Any]) -> str:
    """The review history page (``OUT/index.html``), from the published weeks: see
    :func:`coachkit.run_pages.render_weeks`."""
    from .run_pages import render_weeks as render

    return render(weeks)
