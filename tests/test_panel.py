"""Tests of coachkit.panel: peer groups with the size rule, the rep-week panel's exposure, data availability."""

from __future__ import annotations

import pandas as pd
import pytest

from coachkit import SalesData
from coachkit.panel import kpi_availability, peer_members, peer_table, rep_week_panel
from coachkit.playbook import Playbook


def _acts(rows):
    return pd.DataFrame(rows, columns=["activity_id", "rep_id", "activity_type", "occurred_at", "outcome"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"])
    )


def test_peer_table_team_and_role_then_role_across_teams():
    reps = pd.DataFrame(
        {
            "rep_id": ["a1", "a2", "a3", "a4", "b1", "b2", "c1", "n1"],
            "team": ["A", "A", "A", "A", "B", "B", "C", None],
            "role": ["SDR", "SDR", "SDR", "SDR", "SDR", "AE", "AE", None],
        }
    )
    t = peer_table(reps)
    assert t.loc["a1", "peer_basis"] == "team × role" and t.loc["a1", "peers_n"] == 4
    assert t.loc["a1", "peer_label"] == "A SDRs"
    # b1 is the only SDR of B: compared with every SDR (5), A's included
    assert t.loc["b1", "peer_basis"] == "role across teams (team too small)"
    assert t.loc["b1", "peer_label"] == "SDRs across teams" and t.loc["b1", "peers_n"] == 5
    assert sorted(peer_members(t, t.loc["b1", "peer_group"])) == ["a1", "a2", "a3", "a4", "b1"]
    assert sorted(peer_members(t, t.loc["b2", "peer_group"])) == ["b2", "c1"]
    assert t.loc["n1", "peer_label"] == "reps across teams" and t.loc["n1", "peers_n"] == 1
    # only active reps count: with a4 inactive, A has 3 SDRs and falls back too
    t3 = peer_table(reps, active=["a1", "a2", "a3", "b1"])
    assert list(t3.index) == ["a1", "a2", "a3", "b1"]
    assert (t3["peer_basis"] == "role across teams (team too small)").all() and (t3["peers_n"] == 4).all()
    assert peer_table(reps, min_peers=1).loc["b1", "peer_basis"] == "team × role"


def test_exposure_is_prorated_for_the_data_start_hire_leave_and_holidays():
    # Data from Wed 2024-01-03 to Wed 2024-01-24. Holiday Mon 15 Jan. Rep h hired Thu 11 Jan; rep l left Tue 16 Jan.
    pb = Playbook.from_text('[calendar]\nholidays = ["2024-01-15"]\n')
    acts = _acts(
        [
            ("1", "x", "call", "2024-01-03 10:00", None),
            ("2", "x", "call", "2024-01-24 10:00", None),
            ("3", "h", "call", "2024-01-12 10:00", None),
            ("4", "l", "call", "2024-01-16 10:00", None),
        ]
    )
    reps = pd.DataFrame(
        {"rep_id": ["x", "h", "l"], "hired_at": [None, "2024-01-11", None], "left_at": [None, None, "2024-01-16"]}
    )
    data = SalesData.from_frames(acts, reps.assign(**{c: pd.to_datetime(reps[c]) for c in ("hired_at", "left_at")}))
    data.playbook = pb
    p = rep_week_panel(data, "2023-12-18", "2024-01-28", ["calls"])
    ex = {
        (r, str(w.date())): (e, f) for r, w, e, f in p[["rep_id", "period_start", "exposure", "full_exposure"]].values
    }
    # x: the weeks of 18 and 25 Dec are before the data: not in the panel at all (not zero weeks)
    assert sorted(w for r, w in ex if r == "x") == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert ex[("x", "2024-01-01")] == (3, 5)  # Wed-Fri
    assert ex[("x", "2024-01-15")] == (4, 4)  # the holiday is not a working day at all
    assert ex[("x", "2024-01-22")] == (3, 5)  # the data ends on Wednesday
    assert ex[("h", "2024-01-08")] == (2, 5)  # hired Thursday
    assert ("h", "2024-01-01") not in ex
    assert ex[("l", "2024-01-15")] == (1, 4)  # Tue 16 only (Mon is a holiday), left_at inclusive
    assert ("l", "2024-01-22") not in ex
    assert bool(p.loc[(p["rep_id"] == "x") & (p["period_start"] == "2024-01-01"), "partial"].iloc[0])
    calls = p.set_index(["rep_id", "period_start"])["value"]
    assert calls[("x", pd.Timestamp("2024-01-01"))] == 1 and calls[("x", pd.Timestamp("2024-01-08"))] == 0


@pytest.mark.parametrize(
    ("rows", "kpi", "reason"),
    [
        ([("1", "a", "call", "2024-01-03 10:00", None)], "connect_rate", "the data has no call outcomes logged"),
        ([("1", "a", "call", "2024-01-03 10:00", None)], "emails", "the data has no email activities"),
        ([("1", "a", "call", "2024-01-03 10:00", "connected")], "notes_coverage", "the data has no notes"),
        (
            [("1", "a", "call", "2024-01-03", "connected")],
            "meeting_show_rate",
            "the data has no meeting outcomes logged",
        ),
        ([("1", "a", "call", "2024-01-03 10:00", "connected")], "active_days", ""),
        ([("1", "a", "meeting", "2024-01-03 10:00", "held")], "conversations", ""),  # held meetings count
        ([("1", "a", "email", "2024-01-03 10:00", "sent")], "conversations", "no call or meeting outcomes"),
        ([("1", "a", "call", "2024-01-03 10:00", "connected")], "follow_up_24h_rate", "no account_id"),
    ],
)
def test_kpi_availability(rows, kpi, reason):
    data = SalesData.from_frames(_acts(rows), pd.DataFrame({"rep_id": ["a"]}))
    got = kpi_availability(data, [kpi])[kpi]
    assert (reason in got) if reason else got == ""


def test_date_only_timestamps_cannot_measure_24_hours():
    acts = _acts([("1", "a", "call", "2024-01-03", "connected"), ("2", "a", "email", "2024-01-04", "sent")])
    acts["account_id"] = "X"
    data = SalesData.from_frames(acts, pd.DataFrame({"rep_id": ["a"]}))
    assert "no time of day" in kpi_availability(data, ["follow_up_24h_rate"])["follow_up_24h_rate"]
