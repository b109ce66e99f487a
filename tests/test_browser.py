"""A rep's review opened in headless Chromium with the network cut off: the chart renders, nothing loads.

Needs Debian's chromium (``apt-get install -y chromium``; ``.ci/run`` installs it) and the
playwright Python package. Run locally with ``pytest -m browser tests/test_browser.py``.
Set ``COACHKIT_SCREENSHOTS=DIR`` to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from coachkit import SalesData
from coachkit.batch import run_reviews

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_NOTE = "<script>window.__xss = 1</script> customer asked for pricing"


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reps = pd.DataFrame({"rep_id": ["R1"], "name": ["Ann Lee"], "team": ["East"], "role": ["SDR"]})
    rows = [
        ("2024-06-17 09:00", "call", "connected", None),
        ("2024-06-18 09:00", "call", "no_answer", None),
        ("2024-06-24 10:00", "email", "sent", XSS_NOTE),
        ("2024-06-30 15:00", "meeting", "held", "<img src=x onerror=window.__xss=2>"),
    ]
    acts = pd.DataFrame(
        [
            {"activity_id": f"a{i}", "rep_id": "R1", "occurred_at": pd.Timestamp(t), "activity_type": k}
            | {"outcome": o, "notes": n}
            for i, (t, k, o, n) in enumerate(rows)
        ]
    )
    data = tmp_path_factory.mktemp("data")
    SalesData.from_frames(acts, reps).save(data, "parquet")
    out = tmp_path_factory.mktemp("reviews")
    result = run_reviews(data, out, as_of="2024-06-30", weeks=2, workers=1, quiet=True)
    assert result.ok == ["R1"], result.summary()
    return result.folder  # out/2024-W26


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _open_offline(browser, path: Path):
    """Open ``path`` with every non-file request blocked; return (page, requests, blocked, errors)."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    requests: list[str] = []
    blocked: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def block(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    page.goto(path.as_uri(), wait_until="load")
    return page, requests, blocked, errors


def _screenshot(page, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
    folder = Path(os.environ.get("COACHKIT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    page.screenshot(path=str(target), full_page=full_page)
    return target


def test_review_renders_offline(browser, reviews: Path, tmp_path: Path) -> None:
    page, requests, blocked, errors = _open_offline(browser, reviews / "R1.html")
    # the only request is the page itself, from disk
    assert requests == [(reviews / "R1.html").as_uri()]
    assert blocked == [] and errors == []

    # the first screen at 1280 x 800, before any scrolling: the header line, the scorecard with its sparklines,
    # "Talk about this week" and "Going well"; every section starts below them
    assert page.evaluate("window.scrollY") == 0
    for selector in ("h1.ck-h1", "table.ck-scorecard", "text=Talk about this week", "text=Going well"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] + min(box["height"], 40) <= 800, selector
    first_section = page.locator("h2").first.bounding_box()
    scorecard = page.locator("table.ck-scorecard").bounding_box()
    assert first_section["y"] > scorecard["y"] + scorecard["height"]
    assert page.locator("svg.ck-spark").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    _screenshot(page, tmp_path, "R1-first-screen.png", full_page=False)

    # every chart rendered: an inline SVG of visible size with marks drawn in it
    charts = page.locator("svg.marks")
    n = charts.count()
    assert n >= 1
    for i in range(n):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 50
        assert charts.nth(i).locator("g.role-mark > *").count() >= 1

    # hostile notes and names are text, and no script from the data ran
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("script").count() == 0 and page.locator("main img").count() == 0
    assert page.get_by_text("Ann Lee").count() >= 1
    png = _screenshot(page, tmp_path, "R1.png")
    assert png.stat().st_size > 10_000


def test_index_renders_offline_and_links_the_review(browser, reviews: Path, tmp_path: Path) -> None:
    page, requests, blocked, errors = _open_offline(browser, reviews / "index.html")
    assert blocked == [] and errors == []
    # the index fits the screen: no horizontal scroll at 1280 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    row = page.locator("table.reviews tbody tr")
    assert row.count() == 1
    assert row.locator("td").first.inner_text().startswith("Ann Lee")
    with page.expect_navigation():  # wait for the navigation the click starts, not the current page's load
        row.get_by_role("link", name="Ann Lee", exact=True).click()
    assert page.url == (reviews / "R1.html").as_uri()
    assert page.locator("svg.marks").count() >= 1
    assert all(u.startswith("file://") for u in requests) and blocked == []
    _screenshot(page, tmp_path, "index-then-r1.png")


def test_the_weeks_page_links_the_latest_week(browser, reviews: Path, tmp_path: Path) -> None:
    page, requests, blocked, errors = _open_offline(browser, reviews.parent / "index.html")
    assert blocked == [] and errors == []
    assert page.locator("table.weeks tbody tr").count() == 1
    with page.expect_navigation():
        page.get_by_role("link", name="2024-W26").first.click()
    assert page.url == (reviews / "index.html").as_uri()
    assert page.locator("table.reviews tbody tr").count() == 1
    with page.expect_navigation():  # and back to the weeks
        page.get_by_role("link", name="All review weeks").click()
    assert page.url == (reviews.parent / "index.html").as_uri()
