"""Null datasets for calibrating the coaching statistics: no rep truly differs from its peers.

:func:`exchange_rep_weeks` takes a dataset and, within every team × role and every
calendar week, hands each rep's whole week (its activities, and the deals created in
it) to a randomly chosen peer, a fresh random permutation per week. Week-level
effects shared by the team (holidays, seasonality, a campaign) stay in place, and so
does the week-to-week variation of real work; what goes is anything that makes one
rep different from the others over several weeks. On such data every coaching focus
area is a false alarm, so the share of reps who get one measures the false-flag rate
(``tests/test_calibration.py``; the README's "Coaching focus: what a flag means").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["exchange_rep_weeks", "plant_shortfall"]


def _monday(ts: pd.Series) -> pd.Series:
    day = ts.dt.normalize()
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def exchange_rep_weeks(data: Any, seed: int) -> Any:
    """A null copy of ``data``: whole rep-weeks exchanged at random among the reps of each team and role.

    Only reps employed throughout the data's span are kept (a rep hired after the first activity
    or leaving before the last is dropped with their rows), and their ``hired_at``/``left_at`` are
    cleared, so that every rep has every week. Then for each team × role and each Monday-Sunday
    week (of ``occurred_at``; deals by ``created_at``), the reps' weeks are permuted among them
    (numpy generator seeded by ``seed``): rep A's week-12 activities become rep B's, and so on.
    Account ids travel with their activities. Returns a new :class:`coachkit.SalesData`; ``data``
    is not modified.
    """
    rng = np.random.default_rng(seed)
    acts, reps, deals = data.activities, data.reps.drop_duplicates("rep_id"), data.deals
    t0 = acts["occurred_at"].min().normalize()
    t1 = acts["occurred_at"].max().normalize()
    stay = (reps["hired_at"].isna() | (reps["hired_at"] <= t0)) & (reps["left_at"].isna() | (reps["left_at"] >= t1))
    reps = reps[stay.to_numpy(dtype=bool)].assign(hired_at=pd.NaT, left_at=pd.NaT).reset_index(drop=True)
    keep = set(reps["rep_id"])
    acts = acts[acts["rep_id"].isin(keep)].reset_index(drop=True)
    deals = deals[deals["rep_id"].isin(keep)].reset_index(drop=True)
    group = reps["team"].fillna("\0").astype(str) + "\x1f" + reps["role"].fillna("\0").astype(str)
    weeks = pd.Index(sorted(set(_monday(acts["occurred_at"]).dropna()) | set(_monday(deals["created_at"]).dropna())))
    # (rep, week) -> the rep who gets that week
    mapping: dict[tuple[str, pd.Timestamp], str] = {}
    for _, members in reps.groupby(group.to_numpy(), sort=True)["rep_id"]:
        ids = members.to_numpy()
        for w in weeks:
            for src, dst in zip(ids, rng.permutation(ids), strict=True):
                mapping[(src, w)] = dst
    table = pd.Series(mapping)
    table.index = table.index.set_names(["rep_id", "week"])

    def move(frame: pd.DataFrame, when: str) -> pd.Series:
        idx = pd.MultiIndex.from_arrays([frame["rep_id"].astype(str), _monday(frame[when])])
        return pd.Series(table.reindex(idx).to_numpy(), index=frame.index).fillna(frame["rep_id"])

    acts = acts.assign(rep_id=move(acts, "occurred_at").astype(acts["rep_id"].dtype))
    deals = deals.assign(rep_id=move(deals, "created_at").astype(deals["rep_id"].dtype))
    return replace(data, activities=acts, reps=reps, deals=deals, warnings=[])


def plant_shortfall(
    data: Any, rep_id: str, *, drop_calls: float = 0.0, no_follow_up: bool = False, seed: int = 0
) -> Any:
    """A copy of ``data`` with a real shortfall planted on one rep (for power tests).

    ``drop_calls``: this share of the rep's calls removed at random (seeded). ``no_follow_up``: every
    one of the rep's activities that is not a conversation gets an account id of its own, so no
    conversation of theirs is ever followed up on its account (the conversations keep their accounts).
    """
    rng = np.random.default_rng(seed)
    a = data.activities
    mine = a["rep_id"].eq(rep_id).to_numpy(dtype=bool)
    if drop_calls > 0:
        calls = np.flatnonzero(mine & a["activity_type"].eq("call").to_numpy(dtype=bool))
        gone = rng.choice(calls, size=int(round(drop_calls * len(calls))), replace=False)
        keep = np.ones(len(a), dtype=bool)
        keep[gone] = False
        a = a[keep].reset_index(drop=True)
        mine = mine[keep]
    if no_follow_up:
        conv = (a["activity_type"].eq("call") & a["outcome"].eq("connected")) | (
            a["activity_type"].eq("meeting") & a["outcome"].eq("held")
        )
        touch = mine & ~conv.to_numpy(dtype=bool, na_value=False)
        ids = pd.Series([f"planted-{i}" for i in range(int(touch.sum()))], dtype=a["account_id"].dtype)
        acct = a["account_id"].copy()
        acct.iloc[np.flatnonzero(touch)] = ids.to_numpy()
        # a later conversation on the same account would count as a follow-up: give those their own too
        conv_mine = np.flatnonzero(mine & conv.to_numpy(dtype=bool, na_value=False))
        acct.iloc[conv_mine] = [f"planted-conv-{i}" for i in range(len(conv_mine))]
        a = a.assign(account_id=acct)
    return replace(data, activities=a)
