"""``coachkit explore SOURCE``, end to end: the Voilà server started by the CLI, driven in headless Chromium.

A manager's path: the page opens with no code cells; changing team, rep, KPI and period updates the trend
chart and the drill-down table, and so does a click on a point of the trend; no traceback appears; the page requests nothing but the local server; the
server stops on SIGTERM and frees its port. Needs Debian's chromium (``scripts/test.sh`` installs it) and
the playwright package; never downloads a browser. ``COACHKIT_SCREENSHOTS=DIR`` keeps the screenshots.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coachkit.app import free_port
from coachkit.notebook import SAMPLE_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytest.importorskip("voila", reason="voila is not installed (pip install -e .)")

COACHKIT = [sys.executable, "-c", "from coachkit.cli import main; main()"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen(
        [*COACHKIT, "explore", str(SAMPLE_DIR), "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = proc.stdout.readline()  # printed once the server answers
    assert f"http://127.0.0.1:{port}/" in line, line + proc.stdout.read()
    yield proc, f"http://127.0.0.1:{port}/", port
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_explorer_page_updates_on_every_kind_of_change(server, tmp_path):
    proc, url, port = server
    shots = Path(os.environ.get("COACHKIT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 2200})

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=180_000)
        page.wait_for_selector(".ck-trend .vega-embed svg", timeout=180_000)

        def trend_title() -> str:
            return page.text_content(".ck-trend .vega-embed svg .role-title-text") or ""

        def settle(what, before, timeout=60_000):
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
                arg=[what, before],
                timeout=timeout,
            )

        def check(name):
            page.screenshot(path=str(shots / f"voila-{name}.png"), full_page=True)
            body = page.inner_text("body")
            assert "Traceback" not in body and "Could not update" not in body, name
            assert page.query_selector_all(".ck-drill-table tr"), name
            assert not page.query_selector_all(".jp-InputArea, .jp-CodeCell .jp-Editor"), "code is shown"

        check("initial")
        assert page.inner_text(".ck-status").startswith("Aisha Okoye")
        first_title = trend_title()

        # team: the reps follow, the status and the drill-down show the team
        drill = page.inner_text(".ck-drill-title")
        page.select_option(".ck-team select", "SMB")
        settle(".ck-drill-title", drill)
        assert page.inner_text(".ck-status").startswith("SMB")
        check("team")

        # rep: the trend is that rep's, the drill-down too
        drill = page.inner_text(".ck-drill-title")
        page.select_option(".ck-reps select", label="Kofi Foster")
        settle(".ck-drill-title", drill)
        page.wait_for_function(
            "() => document.querySelector('.ck-trend svg .role-title-text').textContent.includes('Kofi Foster')"
        )
        assert trend_title() != first_title and "Kofi Foster" in page.inner_text(".ck-drill-title")
        check("rep")

        # a click on a point of the rep's line: that week in the drill-down
        drill = page.inner_text(".ck-drill-title")
        groups = page.query_selector_all(".ck-trend svg g.mark-symbol.role-mark")
        second = groups[-1].query_selector_all("path")[1].bounding_box()  # the rep's points are the last layer
        page.mouse.click(second["x"] + second["width"] / 2, second["y"] + second["height"] / 2)
        settle(".ck-drill-title", drill)
        assert page.inner_text(".ck-drill-title").startswith("Kofi Foster, week of Mon 05 Oct 2026")
        check("click")

        # KPI: the trend changes, the drill-down does not need to
        title = trend_title()
        page.select_option(".ck-kpi select", label="Calls")
        page.wait_for_function(
            "(old) => document.querySelector('.ck-trend svg .role-title-text').textContent !== old", arg=title
        )
        assert trend_title().startswith("Calls per week")
        check("kpi")

        # period: the trend per month, then another month in the drill-down
        drill = page.inner_text(".ck-drill-title")
        page.click(".ck-freq button:has-text('month')")
        settle(".ck-drill-title", drill)
        assert trend_title().startswith("Calls per month") and "month of" in page.inner_text(".ck-drill-title")
        drill = page.inner_text(".ck-drill-title")
        page.select_option(".ck-drill-period select", index=1)
        settle(".ck-drill-title", drill)
        check("period")
        browser.close()
    assert outside == [], f"the page asked the network for {outside}"
    assert errors == []

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.2)
    else:
        pytest.fail(f"port {port} still answers after the explorer was stopped")


def test_a_taken_port_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run(
            [*COACHKIT, "explore", str(SAMPLE_DIR), "--port", str(port), "--no-browser"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert out.stderr.strip() == f"coachkit explore: port {port} on 127.0.0.1 is in use; pick another with --port"
