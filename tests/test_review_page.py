"""The page model's new parts (bullets, details, contents, self-rendering parts) and the sparkline: escaped,
well-formed, worked out by hand."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from coachkit.review.page import Bullet, Bullets, Chart, Contents, Details, Section, Table, Text, anchor, section_html
from coachkit.review.sparkline import MUTED, REP, sparkline_svg

HOSTILE = '<script>alert(1)</script> & "quotes"'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(tag)
        if tag not in ("br", "line", "circle", "polyline"):
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.seen.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()


def _balanced(html: str) -> list[str]:
    p = _Tags()
    p.feed(html)
    assert p.open == []
    return p.seen


def test_bullets_details_contents_escape_and_nest() -> None:
    sec = Section("focus", "Talk <about> this week")
    sec.add(
        Bullets((Bullet(HOSTILE, "text & more", (HOSTILE, "")),), ordered=True),
        Bullets((), empty="Nothing <here>."),
        Details("Statistics <p>", (Text("ρ = 0.3"), Table(pd.DataFrame({"a": [HOSTILE]})), Chart(object()))),
        Contents((("effort", "1. Effort"), ("x y", "2. <X>"))),
    )
    html = section_html(sec, number=3)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.startswith('<h2 id="ck-focus">3. Talk &lt;about&gt; this week</h2>')
    assert '<ol class="ck-bullets"><li><b>&lt;script&gt;' in html
    assert html.count('<br><span class="ck-note">') == 1  # the empty note is left out
    assert '<p class="ck-empty">Nothing &lt;here&gt;.</p>' in html
    assert '<details class="ck-details"><summary>Statistics &lt;p&gt;</summary>' in html
    assert '<a href="#ck-effort">1. Effort</a> · <a href="#ck-x-y">2. &lt;X&gt;</a>' in html
    tags = _balanced(html)
    assert "details" in tags and "summary" in tags and "nav" in tags
    assert section_html(sec, level=0).startswith("<ol")  # no heading at level 0


def test_parts_with_their_own_html_are_inserted_as_given() -> None:
    class Own:
        def html(self) -> str:
            return "<b>mine</b>"

    assert section_html(Section("k", "T").add(Own()), level=0) == "<b>mine</b>"


def test_anchor_ids_are_safe() -> None:
    assert anchor("follow_up") == "ck-follow_up"
    assert anchor('a"b <c>') == "ck-a-b--c-"


def test_sparkline_by_hand() -> None:
    # 4 weeks, values 0, 10, None, 20; the window starts at week 2; height 26, pad 3: y = 23 - v / 20 * 20
    svg = sparkline_svg([0, 10, None, 20], window_from=2, width=33, height=26, label=HOSTILE)
    assert svg.startswith('<svg class="ck-spark" width="33" height="26" viewBox="0 0 33 26" role="img"')
    assert 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"' in svg
    # x = 3 + i * 9: points (3, 23) and (12, 13) grey; week 3 is missing so week 4 is a lone dot
    assert f'<polyline points="3.0,23.0 12.0,13.0" fill="none" stroke="{MUTED}"' in svg
    assert svg.count("<polyline") == 1
    assert f'<circle cx="30.0" cy="3.0" r="2.2" fill="{REP}"' in svg
    _balanced(svg)


def test_sparkline_target_partial_week_and_empty() -> None:
    svg = sparkline_svg([0.1, 0.2], window_from=1, target=0.4, last_partial=True, width=26, height=26)
    # scale 0..0.4: the target is the top line (y = 3); the window's segment joins week 1 to week 2
    assert '<line x1="3" x2="23" y1="3.0" y2="3.0"' in svg
    assert f'<polyline points="3.0,18.0 23.0,13.0" fill="none" stroke="{REP}"' in svg
    assert 'fill="#ffffff"' in svg  # the last week is not complete: a hollow dot
    assert sparkline_svg([None, float("nan")]) == sparkline_svg([]).replace('aria-label=""', 'aria-label=""')
    assert "<polyline" not in sparkline_svg([None, float("nan")])
    flat = sparkline_svg([5, 5, 5], zero_based=False)
    assert re.search(r'points="[0-9., ]+"', flat)  # a flat series still draws (no division by zero)


@pytest.mark.parametrize("values", [[1], [0, 0], [3, None, 3]])
def test_sparkline_small_series(values) -> None:
    _balanced(sparkline_svg(values))
