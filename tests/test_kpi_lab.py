"""The KPI lab: the example KPI module, its promotion through the playbook, and the checks of coachkit.kpi_lab."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coachkit import Playbook, SalesData, kpi_files, kpi_lab, kpis
from coachkit.sample import sample_playbook

LAB = Path(__file__).resolve().parents[1] / "examples" / "kpi_lab"


@pytest.fixture
def lab():
    """The KPI registry and imported modules restored afterwards (other tests see the built-ins)."""
    saved = dict(kpis.registry)
    before = set(sys.modules)
    yield
    kpis.registry.clear()
    kpis.registry.update(saved)
    for name in set(sys.modules) - before:
        if name == "my_kpis" or name.startswith(("coachkit_kpis_", "team_kpis", "helpers")):
            sys.modules.pop(name, None)


def tiny(playbook: Playbook | None = None) -> SalesData:
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(7)],
            "rep_id": ["R1"] * 5 + ["R2"] * 2,
            "activity_type": ["call", "call", "call", "email", "call", "email", "email"],
            "occurred_at": pd.to_datetime(
                [
                    "2026-01-05 09:00",
                    "2026-01-05 10:00",
                    "2026-01-05 11:00",
                    "2026-01-06 09:00",  # an active day without calls
                    "2026-01-07 09:00",
                    "2026-01-05 09:00",
                    "2026-01-12 09:00",
                ]
            ),
        }
    )
    return SalesData.from_frames(acts, pd.DataFrame({"rep_id": ["R1", "R2"]}), playbook=playbook)


def test_calls_per_active_day(lab):
    kpi_files.import_kpi_files([LAB / "my_kpis.py"])  # registers the KPI

    t = kpis.kpi_table(tiny(), kpis=["calls_per_active_day"]).set_index(["rep_id", "period_start"])
    w1, w2 = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-12")
    assert t.loc[("R1", w1), ["numerator", "denominator", "value"]].tolist() == [4.0, 3.0, 4 / 3]
    assert t.loc[("R2", w1), "value"] == 0.0  # one active day, no calls
    assert t.loc[("R1", w2), "denominator"] == 0 and np.isnan(t.loc[("R1", w2), "value"])
    assert (
        "type call / number of distinct calendar dates"
        in kpis.list_kpis().set_index("name").loc["calls_per_active_day", "definition"]
    )


def test_promotion_through_the_playbook(lab):
    pb = Playbook.from_toml(LAB / "playbook.toml")
    assert pb.kpi_paths == (str(LAB / "my_kpis.py"),) and pb.kpi_modules == ()  # relative to the playbook
    assert "calls_per_active_day" not in kpis.registry
    t = kpis.kpi_table(tiny(pb))  # imports the playbook's KPI files: no coachkit edit, no PYTHONPATH
    assert "calls_per_active_day" in set(t["kpi"])


def test_example_playbook_is_the_sample_playbook_plus_the_module():
    pb = Playbook.from_toml(LAB / "playbook.toml")
    plain = dataclasses.replace(pb, kpi_modules=(), kpi_paths=(), source="x")
    assert plain == dataclasses.replace(sample_playbook(), source="x")


def test_kpi_paths_are_relative_to_the_playbook_and_import_folders(lab, tmp_path, monkeypatch):
    team = tmp_path / "team"
    (team / "kpis").mkdir(parents=True)
    (team / "kpis" / "helpers.py").write_text("def calls(inp):\n    return inp.count(inp.is_type('call'))\n")
    (team / "kpis" / "team_kpis.py").write_text(
        "import coachkit\nfrom helpers import calls\n\n"
        "@coachkit.kpi('double_calls', label='Double calls', unit='calls', kind='count')\n"
        'def double_calls(inp):\n    """2 x calls."""\n    return inp.frame(2 * calls(inp))\n'
    )
    (team / "kpis" / "_private.py").write_text("raise RuntimeError('not imported')\n")
    (team / "playbook.toml").write_text('[kpis]\npaths = ["kpis/"]\n')
    monkeypatch.chdir(tmp_path)  # the paths do not depend on the working directory
    pb = Playbook.from_toml(team / "playbook.toml")
    assert pb.kpi_paths == (str(team / "kpis"),)
    t = kpis.kpi_table(tiny(pb), kpis=["double_calls"]).set_index(["rep_id", "period_start"])
    assert t.loc[("R1", pd.Timestamp("2026-01-05")), "value"] == 8.0  # 4 calls
    kpis.kpi_table(tiny(pb), kpis=["double_calls"])  # a second import is not needed, nor an error
    assert [m.__name__ for m in kpi_files.import_kpi_files([team / "kpis"])] == ["helpers", "team_kpis"]


def test_kpi_paths_errors_name_the_playbook_the_path_and_the_fix(lab, tmp_path):
    (tmp_path / "playbook.toml").write_text('[kpis]\npaths = ["nope/"]\n')
    pb = Playbook.from_toml(tmp_path / "playbook.toml")
    with pytest.raises(ImportError, match=r"playbook.toml: `kpis.paths` names '.*nope', which does not exist"):
        kpis.kpi_table(tiny(pb))
    (tmp_path / "broken.py").write_text("1 / 0\n")
    with pytest.raises(ImportError, match=r"broken.py failed to import: ZeroDivisionError"):
        kpi_files.import_kpi_files([tmp_path / "broken.py"], source="x.toml")
    with pytest.raises(Exception, match="`kpis.paths` must be a list of paths"):
        Playbook.from_text("[kpis]\npaths = [1]\n")


def test_duplicates_says_it_plainly():
    corr = pd.DataFrame({"kpi": ["calls", "connect_rate"], "rho": [0.97, -0.5], "n": [350, 346]})
    text = kpi_lab.duplicates(corr, "calls_per_active_day")
    assert text.startswith("**calls_per_active_day duplicates an existing KPI**: Calls (calls), ρ = 0.97 over 350")
    assert "connect_rate" not in text
    other = kpi_lab.duplicates(corr.iloc[1:], "x")
    assert other == (
        "x duplicates no existing KPI: its strongest correlation is with Connect rate (connect_rate), "
        "ρ = -0.50 over 346 rep-periods (a duplicate would be |ρ| ≥ 0.9)."
    )
    assert "no correlation could be computed" in kpi_lab.duplicates(corr.assign(rho=np.nan), "x")


def table() -> pd.DataFrame:
    weeks = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    rows = []
    values = {"R1": [1.0, 2.0, 3.0], "R2": [4.0, 5.0, np.nan], "R3": [7.0, 8.0, 9.0]}
    for rep, vals in values.items():
        for w, v in zip(weeks, vals, strict=True):
            rows.append((rep, w, "new", v, v, 2.0))
            rows.append((rep, w, "same", 2 * v, np.nan, np.nan))
            rows.append((rep, w, "anti", -v, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["rep_id", "period_start", "kpi", "value", "numerator", "denominator"])


def test_profile_distribution_and_n():
    p = kpi_lab.profile(table(), "new").set_index("measure")
    assert p.loc["value", ["rep_periods", "missing", "mean", "p50"]].tolist() == [9, 1, 39 / 8, 4.5]
    assert p.loc["n (denominator)", "mean"] == 2.0
    assert "n (denominator)" not in kpi_lab.profile(table(), "same")["measure"].tolist()
    with pytest.raises(KeyError, match="not in the table"):
        kpi_lab.profile(table(), "nope")


def test_correlations_with_existing_kpis():
    c = kpi_lab.correlations(table(), "new")
    assert c["kpi"].tolist() == ["anti", "same"] or c["kpi"].tolist() == ["same", "anti"]
    assert c.set_index("kpi")["rho"].to_dict() == pytest.approx({"same": 1.0, "anti": -1.0})
    assert c["n"].tolist() == [8, 8]


def test_stability_from_week_to_week():
    s = kpi_lab.stability(table(), "new").iloc[0]
    # pairs (t, t+1): R1 (1,2) (2,3); R2 (4,5); R3 (7,8) (8,9) -> perfectly ordered
    assert s["pairs"] == 5 and s["lag1_rho"] == pytest.approx(1.0)
    # rep means 2, 4.5, 8 around 4.875: between SS = 3(2.875²) + 2(0.375²) + 3(3.125²); total SS of the 8 values
    v = np.array([1, 2, 3, 4, 5, 7, 8, 9.0])
    between = 3 * 2.875**2 + 2 * 0.375**2 + 3 * 3.125**2
    assert s["between_rep_share"] == pytest.approx(between / ((v - v.mean()) ** 2).sum())
