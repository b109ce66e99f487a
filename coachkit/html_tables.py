"""HTML tables for notebooks and the explorer app: every cell escaped, notes in full with a keyword highlighted.

The tables render the same in JupyterLab (trusted or not: the styles that matter are inline, because an untrusted
notebook drops ``<style>``), in ipywidgets' HTML and in Voilà. Long tables sit in a scrolling box: every row is
there, none silently cut.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

__all__ = ["highlight", "table_html", "notes_html"]


def highlight(text: Any, keyword: str) -> str:
    """``text`` HTML-escaped, with every case-insensitive occurrence of ``keyword`` wrapped in ``<mark>``."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    text = str(text)
    keyword = (keyword or "").strip()
    if not keyword:
        return html.escape(text)
    out, pos = [], 0
    for m in re.finditer(re.escape(keyword), text, flags=re.IGNORECASE):
        out.append(html.escape(text[pos : m.start()]))
        out.append(f'<mark style="background:#ffe58a">{html.escape(m.group(0))}</mark>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


_TABLE_CSS = (
    "<style>.ck-table{border-collapse:collapse;font-size:12px}"
    ".ck-table th,.ck-table td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:left;vertical-align:top}"
    ".ck-table th{background:#f5f5f5;position:sticky;top:0}</style>"
)
# Inline styles survive JupyterLab's sanitizer (an untrusted notebook drops <style>): left-aligned notes that
# wrap, times that do not, and a scrolling box.
_NOTES_TD = ' class="ck-notes" style="text-align:left;white-space:pre-wrap;min-width:320px;max-width:640px"'
_NOWRAP_TD = ' style="white-space:nowrap"'
_SCROLL_DIV = '<div class="ck-scroll" style="max-height:420px;overflow:auto">'


def table_html(frame: pd.DataFrame, *, keyword: str = "", caption: str = "", scroll: bool = True) -> str:
    """``frame`` as an HTML table, every cell HTML-escaped, ``notes`` in full with ``keyword`` highlighted.

    ``scroll``: inside a box of at most 420 px that scrolls, so that a long list is all there but compact.
    """
    cols = list(frame.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    nowrap = {"time", "when", "occurred_at", "duration"}
    body = []
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for col, value in zip(cols, row, strict=True):
            if col == "notes":
                cells.append(f"<td{_NOTES_TD}>{highlight(value, keyword)}</td>")
                continue
            shown = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            cells.append(f"<td{_NOWRAP_TD if col in nowrap else ''}>{html.escape(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<caption style="text-align:left">{html.escape(caption)}</caption>' if caption else ""
    table = f'<table class="ck-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    return _TABLE_CSS + (f"{_SCROLL_DIV}{table}</div>" if scroll else table)


def notes_html(found: pd.DataFrame, keyword: str, *, total_notes: int, start: int = 0, size: int | None = None) -> str:
    """The notes search result: a line with the total, then the notes (newest first) with the keyword highlighted.

    ``total_notes``: notes searched (non-blank notes of the selection); ``start``/``size``: the page shown
    (all rows when ``size`` is None).
    """
    keyword = (keyword or "").strip()
    if not keyword:
        if not total_notes:
            return "<p>There are no notes in this selection to search.</p>"
        return f"<p>Type a word to search the {total_notes:,} notes of this selection.</p>"
    n = len(found)
    if n == 0:
        return f"<p>No note contains <b>{html.escape(keyword)}</b> ({total_notes:,} notes searched).</p>"
    stop = n if size is None else min(n, start + size)
    page = found.iloc[start:stop]
    shown = page.assign(
        when=page["occurred_at"].dt.strftime("%a %d %b %Y %H:%M"),
        rep=page["name"].fillna(page["rep_id"]) if "name" in page.columns else page["rep_id"],
    )
    cols = ["when", "rep", "activity_type", "outcome", "notes"]
    shown = shown[cols].rename(columns={"activity_type": "type"})
    line = (
        f"<p><b>{n:,}</b> of {total_notes:,} notes contain <mark>{html.escape(keyword)}</mark>, newest first"
        + (f"; showing {start + 1:,}–{stop:,}" if (start, stop) != (0, n) else "")
        + ".</p>"
    )
    return line + table_html(shown, keyword=keyword)
