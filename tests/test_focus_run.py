"""The run-wide focus: exclusions by hand, one BH family over the run read one peer group at a time, the run file
round trip, and a review that takes its rows from the run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachkit import load, review, sample
from coachkit.coaching import select_focus
from coachkit.focus_run import ABSENT_REASON, exclude, family_candidates, read_focus, run_focus, write_focus
from coachkit.panel import peer_groups


def _cands() -> pd.DataFrame:
    c = pd.DataFrame(
        {
            "rep_id": ["a", "a", "a", "b", "b"],
            "kpi": ["calls", "connect_rate", "emails", "calls", "notes_coverage"],
            "eligible": [True, True, True, True, False],
            "reason": ["", "", "", "", "only 3 conversations (need 8)"],
        }
    ).astype({"reason": "string"})
    c.attrs["fdr"] = 0.05
    return c


def test_exclude_by_hand() -> None:
    out = exclude(
        _cands(),
        unsupported={"emails": "the data has no emails"},
        absent={"a": [pd.Timestamp("2024-06-10")], "b": [pd.Timestamp("2024-05-06")]},
        window=(pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-30")),
    )
    # a: calls (a count) in an absent week -> not judged; emails not in the data; the connect rate stays
    assert out["eligible"].tolist() == [False, True, False, True, False]
    assert out["reason"].tolist() == [ABSENT_REASON, "", "the data has no emails", "", "only 3 conversations (need 8)"]
    # b's absent week is before the window: its calls are judged; an earlier reason is kept
    assert out.attrs["fdr"] == 0.05
    assert exclude(_cands())["eligible"].tolist() == [True, True, True, True, False]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    """30 reps: three teams of 6 SDRs and 4 AEs, every peer group a team x role."""
    path = tmp_path_factory.mktemp("sample")
    sample(reps=30, weeks=10, seed=2).save(path, "parquet")
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """12 reps: three teams of 2-3 SDRs and 1-2 AEs, every peer group too small: the role across teams."""
    path = tmp_path_factory.mktemp("small")
    sample(reps=12, weeks=10, seed=2).save(path, "parquet")
    return path


def test_run_focus_reads_one_peer_group_at_a_time_and_selects_once(folder) -> None:
    reads: list[list[str]] = []

    def spy(source, *, playbook=None, reps=None):
        reads.append(sorted(reps))
        return load(source, playbook=playbook, reps=reps)

    data = load(folder)
    w = review.review_window(data, "", 4)
    as_of = review.focus_as_of(data.playbook, w.end)
    reps = sorted(data.reps["rep_id"])
    selected, findings = run_focus(folder, as_of, 4, reps, end=w.end, reps_table=data.reps, load=spy)
    # every read is one team x role (or, for a small one, its role across teams), never the whole dataset
    groups = peer_groups(data.reps)
    for r in reads:
        assert len(r) < len(reps)
        assert len({groups[x] for x in r}) == 1 or len({data.reps.set_index("rep_id").at[x, "role"] for x in r}) == 1
    # one row per rep x focus KPI, all selected in one family
    assert selected["family"].eq("run").all()
    assert set(selected["rep_id"]) <= set(reps)
    assert selected.groupby("rep_id").size().nunique() == 1
    fam = selected["eligible"] & selected["p_value"].notna()
    assert selected.loc[fam, "q_value"].notna().all() and selected.loc[~fam, "q_value"].isna().all()
    # the same as selecting the concatenated candidates of the groups by hand
    by_hand = []
    for g in sorted(set(groups)):
        members = groups.index[groups == g].tolist()
        part = family_candidates(load(folder, reps=members), as_of, 4, members, end=w.end)
        part = part[~part["peer_basis"].astype(str).str.startswith("role across teams")]
        by_hand.append(part)
    assert not selected["peer_basis"].astype(str).str.startswith("role across teams").any()
    hand = pd.concat(by_hand, ignore_index=True)
    hand.attrs.update(selected.attrs)
    hand = select_focus(hand)
    key = ["rep_id", "kpi"]
    a = selected.sort_values(key).reset_index(drop=True)
    b = hand.sort_values(key).reset_index(drop=True)
    assert a["flagged"].tolist() == b["flagged"].tolist()
    np.testing.assert_allclose(a["q_value"].to_numpy(dtype=float), b["q_value"].to_numpy(dtype=float), equal_nan=True)
    assert list(findings.columns[:2]) == ["peer_group", "peer_label"]


def test_small_teams_are_compared_within_their_role_across_teams(small) -> None:
    reads: list[list[str]] = []

    def spy(source, *, playbook=None, reps=None):
        reads.append(sorted(reps))
        return load(source, playbook=playbook, reps=reps)

    data = load(small)
    w = review.review_window(data, "", 4)
    as_of = review.focus_as_of(data.playbook, w.end)
    reps = sorted(data.reps["rep_id"])
    selected, _ = run_focus(small, as_of, 4, reps, end=w.end, reps_table=data.reps, load=spy)
    assert selected["peer_basis"].astype(str).str.startswith("role across teams").all()
    roles = data.reps.set_index("rep_id")["role"]
    # after one read per team x role, one read per role with every rep of the role
    for role in ("SDR", "AE"):
        assert sorted(roles.index[roles == role]) in reads
    # each rep's peers are the active reps of its role
    for rep, n in selected.drop_duplicates("rep_id").set_index("rep_id")["peers_n"].items():
        same = selected.drop_duplicates("rep_id")["rep_id"].map(roles).eq(roles[rep]).sum()
        assert n == same


def test_the_run_file_round_trip_and_the_review_takes_its_rows(folder, tmp_path) -> None:
    data = load(folder)
    w = review.review_window(data, "", 4)
    as_of = review.focus_as_of(data.playbook, w.end)
    reps = sorted(data.reps["rep_id"])
    selected, _ = run_focus(folder, as_of, 4, reps, end=w.end, reps_table=data.reps)
    path = write_focus(tmp_path / "focus.parquet", selected)
    rep = reps[0]
    rows = read_focus(path, rep)
    assert rows["rep_id"].eq(rep).all() and len(rows) == int((selected["rep_id"] == rep).sum())
    assert rows["flagged"].dtype == bool
    assert read_focus(path, "nobody").empty
    team = review.team_tables(data, rep, w)
    sec = review.focus(data, rep, w, team=team, run=str(path))
    assert sec.values["family"] == "run"
    mine = selected[selected["rep_id"] == rep]
    expected = mine[mine["flagged"]].sort_values("std_gap", ascending=False)["kpi"].head(data.playbook.max_focus)
    assert sec.frames["focus"]["kpi"].tolist() == expected.tolist()
    assert "over the whole review run" in " ".join(sec.sentences)
    alone = review.focus(data, rep, w, team=team)
    assert alone.values["family"] == "peer group"
    assert "the rep's peer group only (this review was run on its own" in " ".join(alone.sentences)


def test_a_review_run_alone_reads_its_small_teams_role_for_the_peers(small) -> None:
    from coachkit.batch import load_for_review

    data = load(small)
    w = review.review_window(data, "", 4)
    as_of = review.focus_as_of(data.playbook, w.end)
    rep = sorted(data.reps.loc[data.reps["role"] == "SDR", "rep_id"])[0]
    selected, _ = run_focus(small, as_of, 4, sorted(data.reps["rep_id"]), end=w.end, reps_table=data.reps)
    run_rows = selected[selected["rep_id"] == rep].set_index("kpi")
    team_only = load_for_review(small, rep)  # the review reads its team x role only
    assert len(team_only.reps) < int((data.reps["role"] == "SDR").sum())
    alone = review.focus(team_only, rep, w, source=small).frames["candidates"].set_index("kpi")
    # the same peers as the batch's pre-pass (every active SDR), so the same values and benchmarks
    assert alone["peer_label"].iloc[0] == "SDRs across teams"
    assert (alone["peers_n"] == run_rows.loc[alone.index, "peers_n"]).all()
    np.testing.assert_allclose(alone["benchmark_value"], run_rows.loc[alone.index, "benchmark_value"], equal_nan=True)
    np.testing.assert_allclose(alone["p_value"], run_rows.loc[alone.index, "p_value"], equal_nan=True)
    assert alone["family"].eq("peer group").all()
