"""The KPI lab: the example KPI module, its promotion through the playbook, and the checks of coachkit.kpi_lab."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coachkit import Playbook, SalesData, kpi_lab, kpis
from coachkit.sample import sample_playbook

LAB = Path(__file__).resolve().parents[1] / "examples" / "kpi_lab"


@pytest.fixture
def lab(monkeypatch):
    """The example folder on sys.path; the KPI registry restored afterwards (other tests see the built-ins)."""
    saved = dict(kpis.registry)
    monkeypatch.syspath_prepend(str(LAB))
    sys.modules.pop("my_kpis", None)
    yield
    kpis.registry.clear()
    kpis.registry.update(saved)
    sys.modules.pop("my_kpis", None)


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
    import my_kpis  # noqa: F401  (registers the KPI)

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
    assert pb.kpi_modules == ("my_kpis",)
    assert "calls_per_active_day" not in kpis.registry
    t = kpis.kpi_table(tiny(pb))  # imports the playbook's modules: no coachkit edit needed
    assert "calls_per_active_day" in set(t["kpi"])


def test_example_playbook_is_the_sample_playbook_plus_the_module():
    pb = Playbook.from_toml(LAB / "playbook.toml")
    assert dataclasses.replace(pb, kpi_modules=(), source="x") == dataclasses.replace(sample_playbook(), source="x")


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
