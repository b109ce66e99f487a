"""``import coachkit`` in a Jupyter kernel sets up offline chart display, with no call the user must know about."""

from __future__ import annotations

import nbclient
import nbformat
import pytest

from coachkit import notebook

pytestmark = pytest.mark.slow


def test_import_coachkit_makes_any_altair_chart_display_offline():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(code)
        for code in (
            "import coachkit\nimport altair as alt, pandas as pd\n"
            "alt.Chart(pd.DataFrame({'a': [1, 2]}), title='Mine').mark_bar().encode(x='a')",
            "alt.renderers.active",
            "alt.renderers.enable('svg')\nalt.Chart(pd.DataFrame({'a': [1]})).mark_bar().encode(x='a')",
        )
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=180).execute()
    first, active, chosen = (cell.outputs[-1] for cell in nb.cells)
    assert set(first["data"]) == {"application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"}
    assert first["data"]["text/plain"] == "<chart: Mine>"
    assert "cdn" not in str(first["data"]["application/vnd.vegalite.v5+json"]).lower()
    assert active["data"]["text/plain"] == "'coachkit'"
    assert set(chosen["data"]) == {"image/svg+xml", "text/plain"}  # a renderer chosen by the user is kept


def test_outside_a_kernel_nothing_is_installed():
    assert notebook.install_display() is False
