"""The pages of a review run besides the reviews: the team index (:func:`render_index`) and the definitions
(:func:`render_definitions`, one ``definitions.html`` per run, linked from every review and the index).

The team index (``index.html`` of a week) is what a manager opens first on Monday.

One page that fits a 1280 px screen without horizontal scrolling: the run's window, the team topics (gaps the
whole peer group shares, reported once here rather than in every review), then one row per reviewed rep,
**ordered by need for attention** (the rep's focus areas, the larger shortfall first), with the rep's name
linking to the review, the focus areas, the change since the previous review and three key numbers; then the
reps whose review failed, with the error, and the reps not reviewed, with the reason.

Everything comes from the run's manifest (:mod:`coachkit.batch`) and the summary each review publishes
(:func:`coachkit.review.index_summary`). Every value from the data is escaped; links are relative file names;
no local path is shown. Dates are written one way ("Mon 26 Oct 2026"), amounts with their currency when the run
knows it.
"""

from __future__ import annotations

import datetime as dt
import html as _html
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = [
    "INDEX_CSS",
    "attention_key",
    "date_text",
    "dates_in_text",
    "money_text",
    "render_definitions",
    "render_index",
    "render_not_reviewed",
    "render_weeks",
]

#: The index's stylesheet: one column of text at most 1240 px wide; the table never wider than the page.
INDEX_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0 auto;
max-width:1240px;padding:.8rem 1.5rem 2rem;color:#1f1f1f;font-size:15px;line-height:1.45}
h1{font-size:1.45rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:1.4rem 0 .4rem}
.meta{color:#555;margin:.2rem 0}.meta a{margin-right:.8em}
a{color:#1f4e9e}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.6rem 0}
th,td{padding:.4em .5em;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#f4f4f4;font-weight:600;font-size:.9em}
col.rep{width:19%}col.focus{width:29%}col.since{width:24%}col.numbers{width:28%}
.sub{display:block;color:#666;font-size:.85em}
.none{color:#777}
.up{color:#176117}.down{color:#a3001b}
ul.topics{margin:.2rem 0 .6rem;padding-left:1.3em}ul.topics li{margin:.2em 0}
.failed{color:#a3001b}
pre{white-space:pre-wrap;margin:0;font-size:.85em}
.kpi{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
"""


def date_text(value: Any) -> str:
    """A date as "Mon 26 Oct 2026" (ISO text or a date); '' when missing or not a date."""
    if value in (None, ""):
        return ""
    try:
        d = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return ""
    return d.strftime("%a %d %b %Y")


_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def dates_in_text(text: str) -> str:
    """``text`` with every ISO date (2026-11-20) written as :func:`date_text` does (Fri 20 Nov 2026)."""
    return _ISO_DATE.sub(lambda m: date_text(m.group(1)) or m.group(1), text)


def money_text(value: Any, currency: str | None = None) -> str:
    """An amount as "12,300 GBP" (with the currency when known, else "12,300"); "–" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{float(value):,.0f}"
    return f"{text} {currency}" if currency else text


def _fmt(value: Any, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt == "pct":
        v = 100 * float(value)
        return f"{v:.1f}%" if 0 < abs(v) < 1 else f"{v:.0f}%"
    if fmt == "int":
        return f"{float(value):,.0f}"
    if fmt == "money":
        return money_text(value)
    if fmt == "text" or isinstance(value, str):
        return str(value)
    return f"{float(value):,.1f}"


def attention_key(rep_id: str, record: Mapping[str, Any]) -> tuple[float, int, str]:
    """Sort key of a reviewed rep on the index: the larger ``attention`` (the summed shortfall of the rep's focus
    areas, in standard errors) first, then more new focus areas, then by name."""
    s = record.get("summary") or {}
    try:
        attention = float(s.get("attention") or 0.0)
    except (TypeError, ValueError):
        attention = 0.0
    new = sum(1 for c in s.get("comparison") or [] if isinstance(c, Mapping) and c.get("status") == "new")
    return (-attention, -new, str(s.get("name") or rep_id).lower())


def _kpi_html(item: Mapping[str, Any], currency: str | None) -> str:
    esc = _html.escape
    fmt = item.get("format")
    value = money_text(item.get("value"), currency) if fmt == "money" else _fmt(item.get("value"), fmt)
    tip = []
    if item.get("low") is not None and item.get("high") is not None:
        tip.append(f"95% interval {_fmt(item['low'], fmt)}–{_fmt(item['high'], fmt)}")
    if item.get("n") is not None:
        tip.append(f"n = {_fmt(item['n'], 'int')}")
    target = item.get("target")
    against = f" / {_fmt(target, fmt)}" if target is not None and fmt != "pct" else ""
    if target is not None and fmt == "pct":
        against = f" (target {_fmt(target, fmt)})"
    arrow = {"up": ' <span class="up">▲</span>', "down": ' <span class="down">▼</span>'}.get(
        item.get("change") or "", ""
    )
    title = f' title="{esc("; ".join(tip), quote=True)}"' if tip else ""
    label = esc(str(item.get("label") or item.get("key") or ""))
    return f'<span class="kpi"{title}>{label} <b>{esc(value)}</b>{esc(against)}{arrow}</span>'


def _since(summary: Mapping[str, Any], previous: Any) -> str:
    esc = _html.escape
    comp = [c for c in summary.get("comparison") or [] if isinstance(c, Mapping)]
    if not previous and not comp:
        return '<span class="none">no earlier review</span>'
    if not comp:
        return '<span class="none">no focus areas then or now</span>'
    bits = []
    for status, words in (("new", "new"), ("kept", "still")):
        labels = [str(c.get("label") or c.get("kpi")) for c in comp if c.get("status") == status]
        if labels:
            bits.append(f"{words}: {', '.join(labels)}")
    bits += [
        f"{c.get('label') or c.get('kpi')} {c.get('words') or c.get('status')}"
        for c in comp
        if c.get("status") not in ("new", "kept")
    ]
    return "<br>".join(esc(b) for b in bits)


def _by_group(findings: list[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        label = str(f.get("peer_label") or "")
        n = f.get("peers_n")
        key = f"{label} ({n} reps)" if n not in (None, "") else label
        groups.setdefault(key, []).append(f)
    return list(groups.items())


def _topic(group: str, items: list[Mapping[str, Any]]) -> str:
    """One team topic: the peer group and each KPI it misses as a group, with its value and the target."""
    esc = _html.escape
    bits = []
    for f in items:
        label = str(f.get("label") or f.get("kpi") or "")
        value, target, what = f.get("team_value"), f.get("target"), str(f.get("target_kind") or "target")
        if f.get("measure") == "rate":
            detail = f"{_fmt(value, 'pct')} vs {what} {_fmt(target, 'pct')}"
        else:  # counts: a week of 5 working days (coachkit.coaching.team_findings)
            detail = f"{_fmt(value, 'int')} a week vs {what} {_fmt(target, 'int')}"
        bits.append(f"{esc(label.lower())} ({esc(detail)})")
    return f"<li><b>{esc(group)}</b> as a group, below: {'; '.join(bits)}.</li>"


def _table(cls: str, cols: str, headers: list[str], rows: list[str]) -> list[str]:
    """The lines of one of the index's tables: class ``cls``, ``cols`` (the ``<col>`` elements), the header
    labels (plain text, escaped here) and ``rows`` (``<tr>`` HTML, escaped by the caller)."""
    head = "".join(f"<th>{_html.escape(h)}</th>" for h in headers)
    return [
        f'<table class="{cls}"><colgroup>{cols}</colgroup>',
        f"<thead><tr>{head}</tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]


def render_index(manifest: Mapping[str, Any], *, definitions: str = "definitions.html") -> str:
    """The index page of a review run from its manifest (see the module docstring).

    ``manifest``: the run's manifest: ``parameters.window``, ``week`` (when the run is one week of a history
    folder: then a link to all weeks), ``team_findings`` (optional: the run's team topics, each with ``evidence``),
    ``currency`` (optional), and ``reps``: rep id -> record with ``status`` (``ok``, ``failed``, ``skipped``),
    ``files``, ``summary`` (the review's published summary), ``error`` (failed), ``reason`` (skipped) and
    ``previous`` (the previous review, when there was one). ``definitions``: the run's definitions page ('' for
    none).
    """
    esc = _html.escape
    params = manifest.get("parameters") or {}
    window = params.get("window") or {}
    currency = manifest.get("currency") or None
    reps: Mapping[str, Any] = manifest.get("reps") or {}
    ok = [(rid, r) for rid, r in reps.items() if r.get("status") == "ok"]
    failed = [(rid, r) for rid, r in reps.items() if r.get("status") not in ("ok", "skipped")]
    skipped = [(rid, r) for rid, r in reps.items() if r.get("status") == "skipped"]
    ok.sort(key=lambda x: attention_key(*x))
    span = f"{date_text(window.get('start'))} – {date_text(window.get('end'))}"
    weeks = params.get("weeks")
    week = manifest.get("week")
    title = f"Rep reviews, {week}" if week else "Rep reviews"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}: {esc(span)}</title>",
        f"<style>{INDEX_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}: {esc(span)}" + (f" ({esc(str(weeks))} weeks)" if weeks else "") + "</h1>",
    ]
    links = []
    if week:
        links.append('<a href="../index.html">All review weeks</a>')
    if definitions:
        links.append(f'<a href="{esc(quote(definitions))}">Definitions</a>')
    counts = [f"{len(ok)} reviewed"]
    if failed:
        counts.append(f'<span class="failed">{len(failed)} failed (listed below)</span>')
    if skipped:
        counts.append(f"{len(skipped)} not reviewed (listed below)")
    out.append(f'<p class="meta">{" · ".join(counts)}. {" ".join(links)}</p>')
    findings = [f for f in manifest.get("team_findings") or [] if isinstance(f, Mapping)]
    if findings:
        out.append("<h2>Team topics</h2>")
        out.append(
            '<p class="meta">Gaps a whole peer group shares: a process or target question, raised once here and not '
            "as any one rep's focus (each rep is compared with the peers instead).</p>"
        )
        out.append(
            '<ul class="topics">' + "".join(_topic(label, items) for label, items in _by_group(findings)) + "</ul>"
        )
    if ok:
        out.append("<h2>Reviews, most in need of attention first</h2>")
        rows = []
        for rid, r in ok:
            s = r.get("summary") or {}
            files = r.get("files") or {}
            link = files.get("html") or files.get("ipynb")
            name = esc(str(s.get("name") or rid))
            who = f'<a href="{esc(quote(link))}">{name}</a>' if link else name
            sub = " · ".join(esc(str(x)) for x in (s.get("team"), s.get("role")) if x)
            focus = [f for f in s.get("focus") or [] if isinstance(f, Mapping)]
            if s.get("active") is False:
                focus_html = '<span class="none">no activity in the window</span>'
            elif focus:
                focus_html = "<br>".join(esc(str(f.get("label") or f.get("kpi"))) for f in focus)
            else:
                focus_html = '<span class="none">nothing clearly behind</span>'
            absent = s.get("absent_weeks") or []
            if absent:
                focus_html += f'<span class="sub">absent: {esc(", ".join(date_text(a) for a in absent))}</span>'
            items = [i for i in s.get("headline") or [] if isinstance(i, Mapping)][:3]
            numbers = "".join(_kpi_html(i, currency) for i in items) or '<span class="none">–</span>'
            rows.append(
                f'<tr><td>{who}<span class="sub">{sub}</span></td><td>{focus_html}</td>'
                f"<td>{_since(s, r.get('previous'))}</td><td>{numbers}</td></tr>"
            )
        cols = '<col class="rep"><col class="focus"><col class="since"><col class="numbers">'
        out += _table(
            "reviews", cols, ["Rep", "Talk about this week", "Since the previous review", "This window"], rows
        )
    if failed:
        out.append('<h2 class="failed">Failed</h2>')
        rows = []
        for rid, r in failed:
            err = r.get("error") or {}
            nb = (r.get("files") or {}).get("ipynb")
            nb_html = f'<a href="{esc(quote(nb))}">notebook</a>' if nb else ""
            rows.append(
                f"<tr><td>{esc(rid)}</td><td><b>{esc(str(err.get('type', '')))}</b>"
                f"<pre>{esc(str(err.get('message', '')))}</pre></td><td>{nb_html}</td></tr>"
            )
        cols = '<col style="width:20%"><col><col style="width:12%">'
        out += _table("failures", cols, ["Rep", "Error", "Notebook"], rows)
    if skipped:
        out.append("<h2>Not reviewed</h2>")
        rows = []
        for rid, r in skipped:
            reason = r.get("reason") or {}
            link = (r.get("files") or {}).get("html")
            who = f'<a href="{esc(quote(link))}">{esc(rid)}</a>' if link else esc(rid)
            rows.append(f"<tr><td>{who}</td><td>{esc(dates_in_text(str(reason.get('message', ''))))}</td></tr>")
        out += _table("skipped", '<col style="width:20%"><col>', ["Rep", "Why"], rows)
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def render_definitions(kpis: Any = None, *, notes: Any = (), title: str = "Definitions") -> str:
    """The run's definitions page (``definitions.html``): every KPI a review shows with its exact definition, the
    review's other terms (:func:`coachkit.review.definitions`), and ``notes`` (e.g. the targets left out because
    the data cannot support them). Linked from every review and the index, instead of repeated in each review."""
    from .review.page import CSS, section_html
    from .review.sections.definitions import SHOWN_KPIS, definitions

    sec = definitions(SHOWN_KPIS if kpis is None else kpis, notes=notes, collapsed=False)
    esc = _html.escape
    body = section_html(sec, level=0)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{INDEX_CSS}{CSS}table{{table-layout:auto}}table.coachkit-table:first-of-type td:nth-child(-n+3){{white-space:nowrap}}</style>",
            "</head>",
            "<body>",
            f"<h1>{esc(title)}</h1>",
            '<p class="meta"><a href="index.html">All reps</a></p>',
            body,
            "</body>",
            "</html>",
            "",
        ]
    )


def render_not_reviewed(
    rep_id: str, reason: Mapping[str, Any], window: Mapping[str, Any], *, name: str = "", team: str = "", role: str = ""
) -> str:
    """The short page of a rep asked for by name who has no review this run (no activity in the window: left, not yet
    hired, on leave): the header line and one paragraph saying why, with links to the index and the definitions.
    ``reason``: the manifest's ``{"kind", "message"}``; ``window``: ``{"start", "end"}`` (ISO dates)."""
    esc = _html.escape
    who = name or rep_id
    facts = " · ".join(x for x in (" ".join(y for y in (team, role) if y), _span(window)) if x)
    message = dates_in_text(str(reason.get("message") or "no activity in the window"))
    named = esc(who) if who == rep_id else f"{esc(who)} ({esc(rep_id)})"  # not "gone (gone)" for a rep without a name
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Review: {esc(who)}</title>",
            f"<style>{INDEX_CSS}</style>",
            "</head>",
            "<body>",
            '<p class="meta"><a href="index.html">All reps</a> <a href="definitions.html">Definitions</a></p>',
            f'<h1>{esc(who)} <span class="sub" style="display:inline">{esc(facts)}</span></h1>',
            f"<p>No review for {named} this week: {esc(message)}. There is nothing to review; "
            "if the rep should have activity, check that their work is logged under this rep id.</p>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _span(window: Mapping[str, Any]) -> str:
    a, b = date_text(window.get("start")), date_text(window.get("end"))
    return f"{a} – {b}" if a and b else ""


def render_weeks(weeks: Any) -> str:
    """The review history page (``OUT/index.html``): the review weeks, newest first, the latest linked at the top.

    ``weeks``: :class:`coachkit.publish.Week` items (``key``, ``manifest``). Each row links ``<week>/index.html``;
    the window, the counts and when the run was made come from the week's manifest. Values are escaped; dates in
    the one style of the index.
    """
    esc = _html.escape
    ordered = sorted(weeks, key=lambda w: w.key, reverse=True)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Rep reviews</title>",
        f"<style>{INDEX_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>Rep reviews</h1>",
    ]
    if not ordered:
        out.append('<p class="meta">No review week yet.</p>')
    else:
        latest = ordered[0]
        window = (latest.manifest.get("parameters") or {}).get("window") or {}
        out.append(
            f'<p>Latest: <a href="{esc(quote(latest.key))}/index.html">{esc(latest.key)}</a>, {esc(_span(window))}.</p>'
        )
        out.append('<table class="weeks"><thead><tr><th>Week</th><th>Window</th><th>Reviewed</th>')
        out.append("<th>Failed</th><th>Not reviewed</th><th>Run</th></tr></thead><tbody>")
        for w in ordered:
            m = w.manifest
            window = (m.get("parameters") or {}).get("window") or {}
            reps = [r for r in (m.get("reps") or {}).values() if isinstance(r, Mapping)]
            n_ok = sum(r.get("status") == "ok" for r in reps)
            n_skipped = sum(r.get("status") == "skipped" for r in reps)
            n_failed = len(reps) - n_ok - n_skipped
            started = str(m.get("started_at", ""))
            when = f"{date_text(started)} {started[11:16]}".strip()
            out.append(
                f'<tr><td><a href="{esc(quote(w.key))}/index.html">{esc(w.key)}</a></td>'
                f"<td>{esc(_span(window))}</td>"
                f"<td>{n_ok}</td><td>{n_failed}</td><td>{n_skipped}</td><td>{esc(when)}</td></tr>"
            )
        out.append("</tbody></table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
