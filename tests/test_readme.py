"""The README's analyst path, executed as written: its KPI module and its playbook lines, in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import coachkit
from coachkit import kpis

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(section: str) -> dict[str, list[str]]:
    """The fenced code blocks of a README section, by language."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[str]] = {}
    for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S):
        out.setdefault(lang, []).append(code)
    return out


@pytest.fixture
def registry():
    saved = dict(kpis.registry)
    before = set(sys.modules)
    yield
    kpis.registry.clear()
    kpis.registry.update(saved)
    for name in set(sys.modules) - before:
        if name == "my_kpis" or name.startswith("coachkit_kpis_"):
            del sys.modules[name]


def team_folder(tmp_path: Path) -> Path:
    """A dataset with the README's module in kpis/ and the README's [kpis] lines as its playbook."""
    code = blocks("Adding a KPI (analysts)")
    (module,) = code["python"]
    (toml,) = code["toml"]
    assert "..." not in module  # a complete function, not an outline
    folder = tmp_path / "team"
    (folder / "kpis").mkdir(parents=True)
    (folder / "kpis" / "my_kpis.py").write_text(module, encoding="utf-8")
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(6)],
            "rep_id": ["R1"] * 5 + ["R2"],
            "activity_type": ["call", "call", "email", "call", "call", "email"],
            "occurred_at": pd.to_datetime(
                ["2026-01-05 09:00", "2026-01-05 10:00", "2026-01-06 09:00", "2026-01-07 09:00", "2026-01-12 09:00"]
                + ["2026-01-05 11:00"]
            ),
        }
    )
    coachkit.SalesData.from_frames(acts, pd.DataFrame({"rep_id": ["R1", "R2"]})).save(folder, "csv")
    (folder / "playbook.toml").write_text(toml, encoding="utf-8")
    return folder


def test_the_readme_kpi_runs_as_written(tmp_path, registry, monkeypatch):
    folder = team_folder(tmp_path)
    monkeypatch.chdir(tmp_path)  # nothing depends on the working directory or sys.path
    t = coachkit.kpi_table(coachkit.load(folder), kpis=["calls_per_active_day"]).set_index(["rep_id", "period_start"])
    w1, w2 = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")
    # R1, week of 5 Jan: 3 calls on 3 active days (Mon 2 calls, Tue an email, Wed 1 call) -> 1.0
    assert t.loc[("R1", w1), ["numerator", "denominator", "value"]].tolist() == [3.0, 3.0, 1.0]
    assert t.loc[("R1", w2), "value"] == 1.0
    assert t.loc[("R2", w1), "value"] == 0.0  # an active day without calls
    assert np.isnan(t.loc[("R2", w2), "value"])  # no active day: no value, not 0
    assert coachkit.list_kpis().set_index("name").loc["calls_per_active_day", "label"] == "Calls per active day"


def test_the_cli_finds_the_readme_kpi_without_pythonpath(tmp_path):
    folder = team_folder(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "from coachkit.cli import main; main()", "kpis", "--playbook", "playbook.toml"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "calls_per_active_day  —  Calls per active day [calls/day] (mean" in out.stdout
