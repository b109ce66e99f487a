"""coachkit.app: what ``coachkit explore`` writes and runs (the browser test drives the real server)."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from coachkit import SalesData, app


def test_the_served_notebook_is_one_cell_reading_the_dataset(tmp_path):
    nb = app.app_notebook(tmp_path / "my data", None)
    (cell,) = nb["cells"]
    assert cell["cell_type"] == "code" and cell["outputs"] == []
    assert cell["source"] == (
        f"from coachkit.app import explorer_cell\n\nexplorer_cell({str(tmp_path / 'my data')!r}, '')"
    )
    assert nb["metadata"]["kernelspec"]["name"] == app.KERNEL_NAME


def test_prepare_writes_this_python_s_kernel_and_an_offline_page_template(tmp_path):
    path = app.prepare(tmp_path, "/data/x", "/data/playbook.toml")
    assert json.loads(path.read_text())["cells"][0]["source"].endswith(
        "explorer_cell('/data/x', '/data/playbook.toml')"
    )
    kernel = json.loads((tmp_path / "share/jupyter/kernels" / app.KERNEL_NAME / "kernel.json").read_text())
    assert kernel["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    template = tmp_path / "share/jupyter/voila/templates" / app.TEMPLATE
    text = (template / "index.html.j2").read_text()
    assert "cdn.jsdelivr.net" not in text and "https://" not in text.split("notebook_css")[1].split("endblock")[0]
    assert "{%- extends" in text  # still Voilà's lab page
    assert json.loads((template / "conf.json").read_text()) == {"base_template": "lab"}


def test_voila_listens_on_localhost_without_code_or_tracebacks(tmp_path):
    cmd = app.voila_command(tmp_path / "explore.ipynb", 8123)
    assert cmd[:3] == [sys.executable, "-m", "voila"]
    for arg in ("--port=8123", "--Voila.ip=127.0.0.1", "--strip_sources=True", "--show_tracebacks=False"):
        assert arg in cmd
    assert "--Voila.open_browser=False" in cmd and f"--template={app.TEMPLATE}" in cmd


def test_a_dataset_that_does_not_load_is_one_line_in_the_page(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reps.csv").write_text("rep_id\nR1\n")
    widget = app.explorer_cell(str(bad))
    assert widget.value.startswith("<p><b>The data cannot be explored:</b> activities.csv: required file missing")
    assert "Traceback" not in widget.value and "\n" not in widget.value


def test_a_dataset_without_activities_says_so(tmp_path):
    reps = pd.DataFrame({"rep_id": ["R1"]})
    acts = pd.DataFrame(columns=["activity_id", "rep_id", "activity_type", "occurred_at"])
    SalesData.from_frames(acts, reps).save(tmp_path / "empty", "csv")
    widget = app.explorer_cell(str(tmp_path / "empty"))
    assert widget.value.endswith("has no activities.</p>")


def test_running_refuses_a_missing_source_in_one_line(tmp_path):
    with pytest.raises(RuntimeError, match="no such dataset folder or .duckdb file"), app.running(tmp_path / "nope"):
        pass
