"""Self-contained, escaped HTML: the nbconvert template, the external-URL checks, the index page.

No kernel here: notebooks are built as executed notebooks by hand (with a real vl-convert SVG).
"""

from __future__ import annotations

import json
import math
import re

import altair as alt
import nbformat
import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook, new_output

from coachkit import export

HOSTILE = "<script>alert(1)</script>"


def _svg_chart(labels: list[str]) -> str:
    df = pd.DataFrame({"type": labels, "n": range(1, len(labels) + 1)})
    chart = alt.Chart(df).mark_bar().encode(x="type:N", y="n:Q")
    return vlc.vegalite_to_svg(chart.to_json())


def _executed_notebook() -> nbformat.NotebookNode:
    """An executed notebook as papermill would leave it: code, a chart, a table, a summary."""
    table_html = export.table(pd.DataFrame({"who": ["Ann"], "notes": [HOSTILE]})).data
    cells = [
        new_code_cell("SECRET_CODE_MARKER = 1", execution_count=1),
        new_code_cell(
            "chart",
            execution_count=2,
            outputs=[new_output("display_data", data={"image/svg+xml": _svg_chart(["call", HOSTILE])})],
        ),
        new_code_cell(
            "table",
            execution_count=3,
            outputs=[
                new_output("execute_result", data={"text/html": table_html, "text/plain": "t"}, execution_count=3)
            ],
        ),
        new_code_cell(
            "summary",
            execution_count=4,
            outputs=[
                new_output(
                    "display_data",
                    data={export.SUMMARY_MIME: {"rep_id": "r1", "headline": []}, "text/plain": "SUMMARY_TEXT"},
                )
            ],
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def page() -> str:
    return export.export_html(_executed_notebook(), title=f"Review: {HOSTILE}")


# ---------------------------------------------------------------- the review page


def test_page_hides_code_and_prompts(page: str) -> None:
    body = page.split("<body", 1)[1]
    assert "SECRET_CODE_MARKER" not in page
    assert "jp-InputPrompt" not in body and "jp-OutputPrompt" not in body and "jp-InputArea" not in body
    assert "In&nbsp;[" not in body and "Out[" not in body


def test_page_has_no_external_reference_and_no_url_at_all(page: str) -> None:
    assert export.external_references(page) == []
    assert export.external_urls(page) == []
    assert "<script src" not in page.lower()


def test_default_lab_template_is_not_self_contained() -> None:
    # Why coachkit has its own template: the checks catch nbconvert's CDN scripts.
    body, _ = HTMLExporter(exclude_input=True).from_notebook_node(_executed_notebook())
    refs = export.external_references(body)
    assert any("require" in r for r in refs), refs
    assert any("mathjax" in r.lower() for r in refs), refs


def test_chart_is_inline_svg_with_marks(page: str) -> None:
    assert page.count("<svg") == 1
    assert 'aria-roledescription="bar"' in page
    assert "data:image/svg+xml;base64" not in page.split("<body", 1)[1]  # not an <img>


def test_data_text_is_escaped_everywhere(page: str) -> None:
    assert "<script>alert" not in page
    # the table cell and the chart axis label both show it as text
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2
    assert "<title>Review: &lt;script&gt;" in page


def test_summary_output_is_data_not_display(page: str) -> None:
    assert "SUMMARY_TEXT" not in page
    assert export.SUMMARY_MIME not in page


def test_export_refuses_a_page_with_an_external_script() -> None:
    nb = _executed_notebook()
    bad = '<script src="https://cdn.example.com/vega.js"></script>'
    nb.cells.append(new_code_cell("x", outputs=[new_output("display_data", data={"text/html": bad})]))
    with pytest.raises(export.SelfContainedError, match="cdn.example.com"):
        export.export_html(nb)


# ---------------------------------------------------------------- what counts as external


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<script src="https://cdn.x.org/a.js"></script>', ["https://cdn.x.org/a.js"]),
        ('<link rel="stylesheet" href="http://x.org/a.css">', ["http://x.org/a.css"]),
        ('<img src="//x.org/pixel.gif">', ["//x.org/pixel.gif"]),
        ('<img srcset="a.png 1x, https://x.org/b.png 2x">', ["https://x.org/b.png"]),
        ("<style>body { background: url('https://x.org/bg.png') }</style>", ["https://x.org/bg.png"]),
        ('<style>@import "https://x.org/font.css";</style>', ["https://x.org/font.css"]),
        ('<div style="background:url(http://x.org/i.png)"></div>', ["http://x.org/i.png"]),
        ('<svg><image xlink:href="https://x.org/i.png"/></svg>', ["https://x.org/i.png"]),
        ('<script>import("https://x.org/m.mjs")</script>', ["https://x.org/m.mjs"]),
        ('<form action="https://x.org/post"></form>', ["https://x.org/post"]),
        # not external
        ('<a href="r1.html">r1</a><a href="#top">top</a>', []),
        ('<img src="data:image/png;base64,AAAA">', []),
        ("<style>p { background: url(data:image/svg+xml;base64,AAAA) }</style>", []),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', []),
        ("<p>&lt;img src=&quot;https://x.org/a.png&quot;&gt;</p>", []),  # escaped text is not a tag
    ],
)
def test_external_references(snippet: str, expected: list[str]) -> None:
    assert export.external_references(snippet) == expected


def test_external_urls_counts_text_but_not_namespaces() -> None:
    page = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"></svg>'
    assert export.external_urls(page) == []
    assert export.external_urls("<p>see https://x.org/a</p>") == ["https://x.org/a"]


def test_css_comments_are_stripped_from_style_only() -> None:
    page = "<style>/* https://credits.example */ p {}</style><p>/* kept */</p>"
    assert export._strip_css_comments(page) == "<style> p {}</style><p>/* kept */</p>"


def test_inline_svg_prefixes_ids_and_drops_scripts() -> None:
    svg = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="evil()">'
        '<defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"/>'
        '<use href="#clip1"/><script>evil()</script></svg>'
    )
    out = export.inline_svg(svg)
    assert out.startswith("<svg")
    assert "script" not in out and "onload" not in out
    (new_id,) = re.findall(r'\bid="([^"]+)"', out)
    assert re.fullmatch(r"ck[0-9a-f]{10}-0", new_id)
    assert f"url(#{new_id})" in out and f'href="#{new_id}"' in out
    assert export.inline_svg(svg) == out  # deterministic
    # the renderer's numbering does not matter (vl-convert counts gradient ids per process) ...
    assert export.inline_svg(svg.replace("clip1", "clip7")) == out
    # ... but the chart does
    assert export.inline_svg(svg.replace("<rect/>", "<circle/>")) != out


def test_inline_svg_of_non_svg_is_shown_as_text() -> None:
    assert export.inline_svg("<b>x</b>") == "<pre>&lt;b&gt;x&lt;/b&gt;</pre>"


# ---------------------------------------------------------------- escaping helpers


def test_table_escapes_but_styler_by_default_does_not() -> None:
    frame = pd.DataFrame({"notes": [HOSTILE, "a & b"]})
    html = export.table(frame).data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "a &amp; b" in html
    assert "<script>" not in html
    # the trap table() avoids: pandas' Styler passes cell text through unescaped
    assert "<script>alert(1)</script>" in frame.style.to_html()


def test_heading_escapes() -> None:
    html = export.heading("<b>Ann</b>", "team <East>", level=9).data
    assert html == "<h6>&lt;b&gt;Ann&lt;/b&gt;</h6>\n<p>team &lt;East&gt;</p>"


# ---------------------------------------------------------------- the summary glue


def test_publish_and_read_summary_roundtrip(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    export.publish_summary(
        {
            "rep_id": "r1",
            "window": {"start": pd.Timestamp("2024-06-03").date(), "end": "2024-06-30"},
            "headline": [
                {"key": "calls", "label": "Calls", "value": np.int64(12), "format": "int"},
                {"key": "rate", "label": "Connect rate", "value": 0.25, "low": math.nan, "high": None, "n": 4},
            ],
        }
    )
    ((bundle, raw),) = shown
    assert raw is True
    assert bundle["text/plain"] == "Review summary for the team index: Calls 12; Connect rate 0.2"
    data = bundle[export.SUMMARY_MIME]
    assert json.loads(json.dumps(data)) == data
    assert data["window"]["start"] == "2024-06-03"
    assert data["headline"][0]["value"] == 12 and type(data["headline"][0]["value"]) is int
    assert data["headline"][1]["low"] is None

    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output("display_data", data=dict(bundle))])])
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # as stored on disk
    assert export.read_summary(nb) == data
    assert export.read_summary(new_notebook(cells=[new_code_cell("x")])) is None


def test_publish_summary_rejects_values_json_cannot_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    with pytest.raises(TypeError, match="cannot be written as JSON"):
        export.publish_summary({"headline": [{"value": object()}]})


# ---------------------------------------------------------------- the team index


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (0.314, "pct", "31%"),
        (1234, "int", "1,234"),
        (1234.0, None, "1,234"),
        (2.25, None, "2.2"),  # banker's rounding of the float, as Python formats it
        (None, "pct", "–"),
        (math.nan, None, "–"),
        ("ahead", "text", "ahead"),
    ],
)
def test_format_value(value: object, fmt: str | None, text: str) -> None:
    assert export.format_value(value, fmt) == text


def _manifest() -> dict:
    def summary(name: str, focus: list[str], attention: float, **kw) -> dict:
        return {
            "name": name,
            "team": "East & West",
            "role": "SDR",
            "active": True,
            "focus": [{"kpi": k.lower(), "label": k} for k in focus],
            "attention": attention,
            "headline": [
                {
                    "key": "calls",
                    "label": "Calls",
                    "value": 595,
                    "format": "int",
                    "target": 1000,
                    "change": "down",
                    "low": 549,
                    "high": 644,
                },
                {
                    "key": "connect_rate",
                    "label": "Connect rate",
                    "value": 0.31,
                    "low": 0.24,
                    "high": 0.39,
                    "n": 140,
                    "format": "pct",
                    "target": 0.1,
                },
            ],
        } | kw

    return {
        "week": "2024-W26",
        "parameters": {
            "source": "/home/me/secret/data",
            "weeks": 4,
            "window": {"start": "2024-06-03", "end": "2024-06-28"},
        },
        "team_findings": [
            {
                "peer_label": "East <SDRs>",
                "peers_n": 5,
                "kpi": "emails",
                "label": "Emails",
                "measure": "count",
                "team_value": 99.7,
                "target": 125.0,
                "target_kind": "role target",
            },
            {
                "peer_label": "East <SDRs>",
                "peers_n": 5,
                "kpi": "connect_rate",
                "label": "Connect rate",
                "measure": "rate",
                "team_value": 0.086,
                "target": 0.1,
                "target_kind": "playbook benchmark",
            },
        ],
        "reps": {
            "r1": {
                "status": "ok",
                "files": {"ipynb": "r1.ipynb", "html": "r1.html"},
                "previous": "2024-W25/r1.ipynb",
                "summary": summary(
                    "Ann <Lee>",
                    ["Connect rate"],
                    3.5,
                    comparison=[
                        {"kpi": "connect_rate", "label": "Connect rate", "status": "kept", "words": "still a focus"},
                        {
                            "kpi": "calls",
                            "label": "Calls",
                            "status": "resolved",
                            "words": "resolved: back within range",
                        },
                    ],
                ),
            },
            "r2": {
                "status": "ok",
                "files": {"ipynb": "r2.ipynb"},
                "summary": summary("Bo", ["Calls", "Emails"], 9.0, absent_weeks=["2024-06-10"]),
            },
            "r3": {"status": "ok", "files": {"html": "r3.html"}, "summary": summary("Cy", [], 0.0)},
            "<script>": {
                "status": "failed",
                "files": {"ipynb": "script-0123456789.ipynb"},
                "error": {"type": "ValueError", "kind": "cell error", "message": "bad <img src=x onerror=alert(1)>"},
            },
            "gone": {
                "status": "skipped",
                "reason": {
                    "kind": "left",
                    "message": "left on 2024-05-31; no activity in the window 2024-06-03 to 2024-06-28",
                },
                "files": {},
            },
        },
    }


def test_index_orders_by_attention_links_names_and_shows_changes() -> None:
    page = export.render_index(_manifest())
    assert "<title>Rep reviews, 2024-W26: Mon 03 Jun 2024 – Fri 28 Jun 2024</title>" in page
    assert "3 reviewed · " in page and "1 failed (listed below)" in page and "1 not reviewed (listed below)" in page
    assert (
        '<a href="../index.html">All review weeks</a>' in page and '<a href="definitions.html">Definitions</a>' in page
    )
    # most in need of attention first: Bo (9.0), Ann (3.5), Cy (0)
    rows = re.findall(r'<tr><td>(?:<a href="[^"]*">)?([^<]+)', page.split('class="reviews"')[1].split("</table>")[0])
    assert rows == ["Bo", "Ann &lt;Lee&gt;", "Cy"]
    # names link to the review (the HTML, else the notebook); team and role under the name, escaped
    assert '<a href="r1.html">Ann &lt;Lee&gt;</a><span class="sub">East &amp; West · SDR</span>' in page
    assert '<a href="r2.ipynb">Bo</a>' in page
    # focus, the change since the previous review, absent weeks
    assert '<td>Calls<br>Emails<span class="sub">absent: Mon 10 Jun 2024</span></td>' in page
    assert "<td>still: Connect rate<br>Calls resolved: back within range</td>" in page
    assert (
        '<span class="none">no earlier review</span>' in page
        and '<span class="none">nothing clearly behind</span>' in page
    )
    # key numbers with target, change and the interval and n as a tooltip
    assert (
        '<span class="kpi" title="95% interval 549–644">Calls <b>595</b> / 1,000 <span class="down">▼</span></span>'
        in page
    )
    assert '<span class="kpi" title="95% interval 24%–39%; n = 140">Connect rate <b>31%</b> (target 10%)</span>' in page
    # the team topic once, escaped; the failure with its error; the skipped rep with its reason in the one date style
    assert (
        "<li><b>East &lt;SDRs&gt; (5 reps)</b> as a group, below: emails (100 a week vs role target 125); connect "
        "rate (9% vs playbook benchmark 10%).</li>" in page
    )
    assert "<td>&lt;script&gt;</td><td><b>ValueError</b><pre>bad &lt;img src=x onerror=alert(1)&gt;</pre>" in page
    assert '<a href="script-0123456789.ipynb">notebook</a>' in page
    assert (
        "<td>gone</td><td>left on Fri 31 May 2024; no activity in the window Mon 03 Jun 2024 to Fri 28 Jun 2024</td>"
        in page
    )
    # no local path, nothing external, nothing executable
    assert "/home/me" not in page and "secret" not in page
    assert "<script" not in page and "<img" not in page
    assert export.external_references(page) == [] and export.external_urls(page) == []


def test_index_with_only_failures_has_no_review_table() -> None:
    manifest = _manifest()
    manifest["reps"] = {k: v for k, v in manifest["reps"].items() if v["status"] == "failed"}
    page = export.render_index(manifest)
    assert "0 reviewed · " in page and 'class="reviews"' not in page


def test_index_dates_and_money() -> None:
    from coachkit.run_pages import date_text, dates_in_text, money_text

    assert date_text("2026-11-20") == "Fri 20 Nov 2026" and date_text("soon") == "" and date_text(None) == ""
    assert dates_in_text("from 2026-11-02 to 2026-11-20.") == "from Mon 02 Nov 2026 to Fri 20 Nov 2026."
    assert money_text(12300.4, "GBP") == "12,300 GBP" and money_text(12300.4) == "12,300"
    assert money_text(float("nan"), "EUR") == "–"


def test_definitions_page_once_per_run() -> None:
    from coachkit.kpis import registry
    from coachkit.run_pages import render_definitions

    page = render_definitions(["connect_rate", "calls"], notes=["Targets for emails are left out: <no emails>."])
    assert page.startswith("<!DOCTYPE html>") and "<title>Definitions</title>" in page
    assert registry["connect_rate"].definition.split(" / ")[0] in page
    assert '<p class="ck-note">Targets for emails are left out: &lt;no emails&gt;.</p>' in page
    assert '<a href="index.html">All reps</a>' in page and "<details" not in page  # open, not collapsed
    assert export.external_references(page) == [] and "<script" not in page


def test_the_page_of_a_rep_not_reviewed() -> None:
    from coachkit.run_pages import render_not_reviewed

    page = render_not_reviewed(
        "R9",
        {"kind": "left", "message": "left on 2024-05-31; no activity in the window 2024-06-03 to 2024-06-28"},
        {"start": "2024-06-03", "end": "2024-06-28"},
        name="Zed <Z>",
        team="East",
        role="SDR",
    )
    assert "<title>Review: Zed &lt;Z&gt;</title>" in page
    assert "East SDR · Mon 03 Jun 2024 – Fri 28 Jun 2024" in page
    assert (
        "No review for Zed &lt;Z&gt; (R9) this week: left on Fri 31 May 2024; no activity in the window Mon 03 Jun "
        "2024 to Fri 28 Jun 2024." in page
    )
    assert '<a href="index.html">All reps</a>' in page and "<script" not in page
    assert export.external_references(page) == []
    unnamed = render_not_reviewed("R<9>", {"kind": "left", "message": "left"}, {"start": "", "end": ""})
    assert "No review for R&lt;9&gt; this week: left." in unnamed  # the id once, not "R9 (R9)"
