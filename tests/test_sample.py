"""Tests of coachkit.sample: determinism, the committed dataset, realism and personas."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import schema
from coachkit.playbook import Playbook
from coachkit.sample import (
    NOTE_CONTEXT,
    NOTE_FOLLOW_UPS,
    NOTE_NEXT,
    NOTE_OPENERS,
    NOTE_THEMES,
    PERSONAS,
    SAMPLE_PLAYBOOK_TEXT,
    sample,
    sample_personas,
)

COMMITTED = Path(__file__).parents[1] / "data" / "sample"
REGENERATE = "coachkit sample data/sample --reps 30 --weeks 26 --seed 0 --format parquet"
WINDOW_START = pd.Timestamp("2026-05-25")  # the Monday 26 weeks before Sunday 2026-11-22
WINDOW_END = pd.Timestamp("2026-11-23")  # exclusive


@pytest.fixture(scope="module")
def data():
    return sample()


@pytest.fixture(scope="module")
def personas():
    return {p: r for r, p in sample_personas(30, 0).items() if p != "ordinary"}


def conversations(a: pd.DataFrame) -> pd.Series:
    return ((a["activity_type"] == "call") & (a["outcome"] == "connected")) | (
        (a["activity_type"] == "meeting") & (a["outcome"] == "held")
    )


def connect_rate(a: pd.DataFrame) -> float:
    calls = a[(a["activity_type"] == "call") & a["outcome"].notna()]
    return float((calls["outcome"] == "connected").mean())


def follow_up_24h_share(a: pd.DataFrame) -> pd.Series:
    """Per rep: share of conversations with an account followed by a touch on that account within 24 h."""
    conv = a[conversations(a) & a["account_id"].notna()][["activity_id", "rep_id", "account_id", "occurred_at"]]
    touches = a[a["activity_type"].isin(["call", "meeting", "email", "follow_up"]) & a["account_id"].notna()]
    pairs = conv.merge(
        touches[["rep_id", "account_id", "occurred_at"]], on=["rep_id", "account_id"], suffixes=("", "_t")
    )
    gap = pairs["occurred_at_t"] - pairs["occurred_at"]
    followed = pairs.loc[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(hours=24)), "activity_id"].unique()
    return conv.assign(ok=conv["activity_id"].isin(followed)).groupby("rep_id")["ok"].mean()


# ---- the committed dataset ---------------------------------------------------------------------------


def test_committed_files_are_byte_identical_to_a_regeneration(data, tmp_path):
    data.save(tmp_path, "parquet")
    committed = sorted(p.name for p in COMMITTED.iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        old, new = (COMMITTED / name).read_bytes(), (tmp_path / name).read_bytes()
        if old == new:
            continue
        if name.endswith(".parquet") and pd.read_parquet(COMMITTED / name).equals(pd.read_parquet(tmp_path / name)):
            import pyarrow

            pytest.fail(
                f"data/sample/{name}: same values but different bytes, most likely the Parquet writer metadata "
                f"changed (pyarrow {pyarrow.__version__}, pandas {pd.__version__}). Regenerate with `{REGENERATE}` "
                "and commit the files."
            )
        pytest.fail(
            f"data/sample/{name} differs from a fresh sample(reps=30, weeks=26, seed=0): the generator or "
            f"SalesData.save() changed. If intended, regenerate with `{REGENERATE}` and commit the files."
        )


def test_committed_dataset_is_small_and_has_its_playbook():
    total = sum(p.stat().st_size for p in COMMITTED.iterdir())
    assert total <= 10 * 1024 * 1024
    assert (COMMITTED / "playbook.toml").read_text(encoding="utf-8") == SAMPLE_PLAYBOOK_TEXT
    reps = pd.read_parquet(COMMITTED / "reps.parquet")
    assert len(reps) == 30


# ---- determinism -------------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_bytes(tmp_path):
    one, two = sample(reps=12, weeks=6, seed=3), sample(reps=12, weeks=6, seed=3)
    for table in schema.TABLES:
        pd.testing.assert_frame_equal(one.table(table), two.table(table))
    for fmt in ("parquet", "csv"):
        one.save(tmp_path / f"a-{fmt}", fmt)
        two.save(tmp_path / f"b-{fmt}", fmt)
        for path in sorted((tmp_path / f"a-{fmt}").iterdir()):
            assert path.read_bytes() == (tmp_path / f"b-{fmt}" / path.name).read_bytes(), path.name


def test_different_seeds_give_different_data():
    one, two = sample(reps=12, weeks=6, seed=3), sample(reps=12, weeks=6, seed=4)
    assert not one.activities.equals(two.activities)
    assert len(one.activities) != len(two.activities)


def test_default_window_is_fixed_and_does_not_depend_on_today(data):
    a = data.activities
    assert a["occurred_at"].min() >= WINDOW_START
    assert a["occurred_at"].max() < WINDOW_END
    # the first and last weeks are populated (the Monday 2026-05-25 is a bank holiday)
    assert a["occurred_at"].min() < pd.Timestamp("2026-05-27")
    assert a["occurred_at"].max() >= pd.Timestamp("2026-11-20")
    explicit = sample(reps=4, weeks=26, start="2026-05-25")
    pd.testing.assert_frame_equal(explicit.activities, sample(reps=4, weeks=26).activities)
    shifted = sample(reps=4, weeks=4, start="2025-01-06")
    assert shifted.activities["occurred_at"].min() >= pd.Timestamp("2025-01-06")
    assert shifted.activities["occurred_at"].max() < pd.Timestamp("2025-02-03")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reps": 0}, "reps must be an integer >= 1"),
        ({"weeks": 2.5}, "weeks must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"start": "not a date"}, "start must be a date"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        sample(**kwargs)


# ---- the canonical model ------------------------------------------------------------------------------


def test_frames_have_canonical_columns_and_dtypes(data):
    for table in schema.TABLES:
        frame = data.table(table)
        assert list(frame.columns) == schema.columns(table)
        assert {c: str(t) for c, t in frame.dtypes.items()} == {c: str(t) for c, t in schema.dtypes(table).items()}


def test_playbook_is_the_sample_playbook_with_the_default_themes(data):
    pb = data.playbook
    assert pb.text == SAMPLE_PLAYBOOK_TEXT
    assert pb.source == "coachkit sample"
    assert pb.timezone == "Europe/London"
    assert pb.themes == Playbook.default().themes
    window_holidays = [h for h in pb.holidays if WINDOW_START.date() <= h < WINDOW_END.date()]
    assert [h.isoformat() for h in window_holidays] == ["2026-05-25", "2026-08-31"]
    assert pb.targets_for("SDR")["calls"] == ("day", 50.0)
    assert pb.targets_for("AE")["meetings"] == ("week", 10.0)


def test_ids_and_references_are_consistent(data):
    a, reps, deals = data.activities, data.reps, data.deals
    assert a["activity_id"].is_unique and reps["rep_id"].is_unique and deals["deal_id"].is_unique
    assert a["activity_id"].iloc[0] == "A0000001"
    assert a["rep_id"].isin(reps["rep_id"]).all()
    assert deals["rep_id"].isin(reps["rep_id"]).all()
    # grouped by rep (rep ids sort as their order), in time order within each rep
    assert a["rep_id"].is_monotonic_increasing
    assert a.groupby("rep_id", observed=True)["occurred_at"].is_monotonic_increasing.all()
    tagged = a[a["deal_id"].notna()].merge(deals, on="deal_id", suffixes=("", "_deal"))
    assert len(tagged) == a["deal_id"].notna().sum() > 0
    assert (tagged["account_id"] == tagged["account_id_deal"]).all()
    assert (tagged["occurred_at"] >= tagged["created_at"]).all()
    assert (tagged["closed_at"].isna() | (tagged["occurred_at"] <= tagged["closed_at"])).all()
    # a contact belongs to one account
    pairs = a.dropna(subset=["contact_id"])[["contact_id", "account_id"]].drop_duplicates()
    assert pairs["contact_id"].is_unique
    assert a["contact_id"].isna().equals(a["account_id"].isna())


def test_values_are_in_the_playbook_taxonomy(data):
    a, pb = data.activities, data.playbook
    assert set(a["activity_type"]) == {"call", "meeting", "email", "follow_up", "task", "note"}
    for kind, group in a.groupby("activity_type"):
        assert set(group["outcome"].dropna()) <= set(pb.outcomes_for(kind)), kind
    assert (a["duration_s"].dropna() >= 0).all()
    assert a["feedback_score"].dropna().between(1, 5).all()
    assert set(a["feedback_score"].dropna()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(a["direction"].dropna()) == {"inbound", "outbound"}
    assert set(data.deals["stage"]) <= set(pb.stage_names)


# ---- rhythm and rates ---------------------------------------------------------------------------------


def test_outcome_rates_are_inside_their_published_bands(data):
    a = data.activities
    assert 0.05 <= connect_rate(a) <= 0.15
    meetings = a[a["activity_type"] == "meeting"]["outcome"]
    no_show = (meetings == "no_show").sum() / meetings.isin(["held", "no_show"]).sum()
    assert 0.10 <= no_show <= 0.30
    assert {"rescheduled", "canceled"} <= set(meetings.dropna())
    emails = a[a["activity_type"] == "email"]["outcome"].value_counts(normalize=True)
    assert emails["sent"] > 0.8 and 0.01 < emails["replied"] < 0.15 and 0.01 < emails["bounced"] < 0.06
    calls = a[a["activity_type"] == "call"]
    logged = calls["outcome"].notna().mean()
    assert 0.95 < logged < 1.0  # a few unlogged calls, for outcome_logged_rate
    assert 0 < calls["duration_s"].isna().mean() < 0.05


def test_durations_fit_the_outcome(data):
    a = data.activities
    calls = a[a["activity_type"] == "call"]
    talk = calls.loc[calls["outcome"] == "connected", "duration_s"].dropna()
    rings = calls.loc[calls["outcome"].isin(["no_answer", "voicemail", "busy", "wrong_number"]), "duration_s"]
    assert talk.median() > 120 and talk.min() >= 45
    assert rings.max() <= 75
    held = a.loc[(a["activity_type"] == "meeting") & (a["outcome"] == "held"), "duration_s"]
    assert held.between(1800, 3600).all() and held.notna().all()
    assert a.loc[a["outcome"] == "no_show", "duration_s"].isna().all()


def test_weekly_rhythm_weekends_and_holidays(data):
    a = data.activities
    weekday = a["occurred_at"].dt.day_of_week
    assert 0 < (weekday >= 5).mean() < 0.005
    days = a["occurred_at"].dt.normalize()
    holidays = pd.to_datetime([h.isoformat() for h in data.playbook.holidays])
    assert not days.isin(holidays).any()
    calls = a[(a["activity_type"] == "call") & (weekday < 5)]
    hours = calls["occurred_at"].dt.hour.value_counts()
    assert set(hours.index) <= set(range(8, 19))
    assert hours[10] > hours[12] and hours[16] > hours[12] and hours[10] > hours[8]
    meetings = a[a["activity_type"] == "meeting"]["occurred_at"]
    assert set(meetings.dt.minute) == {0, 30} and (meetings.dt.second == 0).all()


def test_the_leaver_has_nothing_after_leaving(data):
    reps = data.reps
    leavers = reps[reps["left_at"].notna()]
    assert len(leavers) == 1
    left = leavers.iloc[0]
    assert WINDOW_START < left["left_at"] < WINDOW_END
    mine = data.activities[data.activities["rep_id"] == left["rep_id"]]
    assert len(mine) > 0 and mine["occurred_at"].max() < left["left_at"]
    deals = data.deals[data.deals["rep_id"] == left["rep_id"]]
    assert (deals["created_at"] < left["left_at"]).all()
    assert (deals["closed_at"].isna() | (deals["closed_at"] < left["left_at"])).all()


def test_new_hires_ramp_inside_the_window(data):
    a, reps = data.activities, data.reps
    hires = reps[reps["hired_at"] > WINDOW_START]
    assert len(hires) == 3
    assert (reps["hired_at"] < WINDOW_END).all()
    for _, rep in hires.iterrows():
        mine = a[a["rep_id"] == rep["rep_id"]]
        assert mine["occurred_at"].min() >= rep["hired_at"]
        tenure_week = (mine["occurred_at"] - rep["hired_at"]).dt.days // 7 + 1
        weekly = tenure_week.value_counts()
        first_two = weekly.reindex([1, 2], fill_value=0).mean()
        ramped = weekly[weekly.index >= 9].mean()
        assert first_two < 0.5 * ramped, rep["rep_id"]


def test_every_activity_is_inside_its_reps_employment(data):
    a = data.activities.merge(data.reps, on="rep_id")
    assert (a["occurred_at"] >= a["hired_at"]).all()
    assert (a["left_at"].isna() | (a["occurred_at"] < a["left_at"])).all()


def test_teams_roles_and_managers(data):
    reps = data.reps
    assert reps.groupby("team")["manager"].nunique().to_dict() == {"Enterprise": 1, "Mid-Market": 1, "SMB": 1}
    assert reps["role"].value_counts().to_dict() == {"SDR": 18, "AE": 12}
    assert reps["name"].is_unique


def test_big_segments_are_split_into_teams_without_changing_the_data(monkeypatch):
    big = sample(reps=100, weeks=1)
    reps = big.reps
    # 100 reps: segments of 34/33/33 reps, each split into 2 teams of 16-17, in rep-id order
    assert reps.groupby("team").size().to_dict() == {
        "Enterprise 1": 17,
        "Enterprise 2": 17,
        "Mid-Market 1": 17,
        "Mid-Market 2": 16,
        "SMB 1": 17,
        "SMB 2": 16,
    }
    assert reps.loc[reps["rep_id"].isin(["R001", "R097"]), "team"].tolist() == ["Enterprise 1", "Enterprise 2"]
    assert reps.loc[reps["rep_id"].isin(["R049", "R052"]), "team"].tolist() == ["Enterprise 1", "Enterprise 2"]
    managers = reps.groupby("team")["manager"].agg(["nunique", "first"])
    assert (managers["nunique"] == 1).all() and managers["first"].is_unique
    assert managers.loc["Enterprise 1", "first"] == "Priya Raman"
    monkeypatch.setattr(
        importlib.import_module("coachkit.sample"), "TEAM_SIZE", 1000
    )  # one team per segment: only the labels differ
    whole = sample(reps=100, weeks=1)
    assert sorted(whole.reps["team"].unique()) == ["Enterprise", "Mid-Market", "SMB"]
    pd.testing.assert_frame_equal(big.activities, whole.activities)
    pd.testing.assert_frame_equal(big.deals, whole.deals)
    others = [c for c in reps.columns if c not in ("team", "manager")]
    pd.testing.assert_frame_equal(reps[others], whole.reps[others])


# ---- deals --------------------------------------------------------------------------------------------


def test_deals_follow_the_stage_rules(data):
    deals = data.deals
    open_ = deals[~deals["is_closed"]]
    closed = deals[deals["is_closed"]]
    assert len(open_) > 0 and len(closed) > 0
    assert open_["closed_at"].isna().all() and open_["is_won"].isna().all()
    assert not open_["stage"].isin(["closed_won", "closed_lost"]).any()
    assert (closed["stage"] == closed["is_won"].map({True: "closed_won", False: "closed_lost"})).all()
    assert (closed["closed_at"] > closed["created_at"]).all()
    assert 0.15 < closed["is_won"].mean() < 0.5
    assert (deals["amount"] > 0).all()
    # created from a held meeting on the same account, by the same rep, shortly before
    a = data.activities
    held = a[(a["activity_type"] == "meeting") & (a["outcome"] == "held")]
    src = pd.merge_asof(
        deals.sort_values("created_at"),
        held[["rep_id", "account_id", "occurred_at"]].sort_values("occurred_at"),
        left_on="created_at",
        right_on="occurred_at",
        by=["rep_id", "account_id"],
        tolerance=pd.Timedelta(hours=3),
    )
    assert src["occurred_at"].notna().all()


def test_wins_follow_the_quality_of_the_effort(data, personas):
    # pooled over seeds so the noise does not decide: the best effort wins more often than the weakest
    won = {"low_volume_high_quality": [], "high_volume_low_connect": []}
    for seed in (0, 1, 2):
        d = data if seed == 0 else sample(reps=30, weeks=26, seed=seed)
        for persona, rep in ((p, r) for r, p in sample_personas(30, seed).items() if p in won):
            closed = d.deals[(d.deals["rep_id"] == rep) & d.deals["is_closed"]]
            won[persona].extend(closed["is_won"].astype(bool))
    assert np.mean(won["low_volume_high_quality"]) > np.mean(won["high_volume_low_connect"]) + 0.1


# ---- personas -----------------------------------------------------------------------------------------


def test_personas_are_assigned_once_and_recorded(data):
    mapping = sample_personas(30, 0)
    assert list(mapping) == list(data.reps["rep_id"])
    assert set(mapping.values()) <= set(PERSONAS)
    special = [p for p in mapping.values() if p != "ordinary"]
    assert sorted(special) == sorted(set(PERSONAS) - {"ordinary"})
    reps = data.reps.set_index("rep_id")
    for persona in ("high_volume_low_connect", "low_volume_high_quality"):
        rep = next(r for r, p in mapping.items() if p == persona)
        assert reps.loc[rep, "role"] == "SDR"
    for rep, persona in mapping.items():
        if persona != "ordinary":  # persona stories are not blurred by ramping or leaving
            assert reps.loc[rep, "hired_at"] < WINDOW_START and pd.isna(reps.loc[rep, "left_at"])
    assert sample_personas(30, 1) != mapping
    assert len(sample_personas(3, 0)) == 3


def test_high_volume_rep_calls_more_and_connects_less(data, personas):
    a = data.activities
    hv = a[a["rep_id"] == personas["high_volume_low_connect"]]
    lv = a[a["rep_id"] == personas["low_volume_high_quality"]]
    hv_calls, lv_calls = (hv["activity_type"] == "call").sum(), (lv["activity_type"] == "call").sum()
    assert hv_calls > 1.8 * lv_calls
    assert connect_rate(hv) < 0.07 < 0.11 < connect_rate(lv)
    assert hv["feedback_score"].mean() < lv["feedback_score"].mean() - 0.5


def test_follow_up_discipline_differs(data, personas):
    share = follow_up_24h_share(data.activities)
    strong, weak = share[personas["strong_follow_up"]], share[personas["weak_follow_up"]]
    assert strong > 0.85 and weak < 0.35
    assert share.median() > weak + 0.2


def test_notes_habits_differ(data, personas):
    a = data.activities
    conv = a[conversations(a)]
    coverage = conv["notes"].str.strip().str.len().gt(0).groupby(conv["rep_id"]).mean()
    assert coverage[personas["rich_notes"]] > 0.9
    assert coverage[personas["empty_notes"]] < 0.2
    length = conv["notes"].str.len().groupby(conv["rep_id"]).mean()
    assert length[personas["rich_notes"]] > length.median() * 1.3


def test_trends_improve_and_decline(data, personas):
    a = data.activities
    conv = a[conversations(a)]
    week = (conv["occurred_at"] - WINDOW_START).dt.days // 7
    for persona, sign in (("improving", 1), ("declining", -1)):
        mine = week[conv["rep_id"] == personas[persona]]
        first, last = (mine < 6).sum(), (mine >= 20).sum()
        assert sign * (last - first) > 0.3 * max(first, last), (persona, first, last)


def test_notes_sit_on_conversations_standalone_notes_and_follow_ups(data):
    a = data.activities
    assert a.loc[(a["activity_type"] == "call") & (a["outcome"] != "connected"), "notes"].isna().all()
    assert a.loc[a["activity_type"].isin(["task", "meeting"]) & ~conversations(a), "notes"].isna().all()
    recaps = a.loc[a["activity_type"].isin(["email", "follow_up"]), "notes"].dropna()
    assert len(recaps) > 0 and recaps.isin(NOTE_FOLLOW_UPS).all()
    assert a.loc[a["activity_type"] == "note", "notes"].notna().all()


# ---- the notes bank -----------------------------------------------------------------------------------


def test_theme_fragments_match_their_own_theme_only():
    themes = Playbook.from_text(SAMPLE_PLAYBOOK_TEXT).themes
    for theme in themes:
        for fragment in NOTE_THEMES[theme.name]:
            hits = {t.name for t in themes if re.search(t.pattern, fragment)}
            assert hits == {theme.name}, fragment
    for fragment in (*NOTE_OPENERS, *NOTE_CONTEXT, *NOTE_NEXT, *NOTE_FOLLOW_UPS):
        assert not [t.name for t in themes if re.search(t.pattern, fragment)], fragment


def test_every_theme_is_heard_and_notes_vary(data):
    notes = data.activities.loc[conversations(data.activities), "notes"].dropna()
    for theme in data.playbook.themes:
        assert notes.str.contains(theme.pattern, regex=True).mean() > 0.01, theme.name
    assert notes.nunique() > 0.3 * len(notes)


# ---- invariants on small samples ----------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(reps=st.integers(1, 8), weeks=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_small_samples_keep_the_invariants(reps, weeks, seed):
    data = sample(reps=reps, weeks=weeks, seed=seed)
    a = data.activities
    start = WINDOW_END - pd.Timedelta(weeks=weeks)
    assert len(data.reps) == reps
    assert a["activity_id"].is_unique
    assert a["occurred_at"].between(start, WINDOW_END, inclusive="left").all()
    holidays = pd.to_datetime([h.isoformat() for h in data.playbook.holidays])
    assert not a["occurred_at"].dt.normalize().isin(holidays).any()
    joined = a.merge(data.reps, on="rep_id")
    assert (joined["occurred_at"] >= joined["hired_at"]).all()
    assert (joined["left_at"].isna() | (joined["occurred_at"] < joined["left_at"])).all()
    assert set(sample_personas(reps, seed)) == set(data.reps["rep_id"])
