"""Section 5, follow-up discipline: follow-up within 24 hours and the accounts still waiting."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...coverage import Coverage
from ...stats import wilson
from ...window import Window
from ..compare import against, change
from ..fmt import N_NOUNS, clip, day_text, num, pct, plural, rate_text
from ..page import Section, Table, Text
from ..rows import is_conversation
from ..targets import rate_target
from ..team import Team, team_for, team_median, window_total

_TOUCH_TYPES = ("call", "meeting", "email", "follow_up")


def open_follow_ups(activities: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """Accounts with a conversation in [start, end] and no follow-up *yet*.

    For each account of ``activities`` (one rep's), the latest conversation (a call with
    outcome connected or a meeting with outcome held, with an account_id) whose
    occurred_at is in the window; the account is open when the rep logged no call,
    meeting, email or follow_up (any outcome) on it with occurred_at strictly after that
    conversation and before the end of the ``end`` day. Activities after ``end`` are
    ignored. Columns: ``account_id``, ``last_conversation`` (timestamp), ``via`` (call or
    meeting), ``conversations`` (in the window), ``days_waiting`` (whole days from the
    conversation to the end of ``end``), ``note`` (that conversation's notes, may be
    missing). Longest waiting first.
    """
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    a = activities[(activities["occurred_at"] < hi) & activities["account_id"].notna()]
    conv = a[is_conversation(a).to_numpy() & (a["occurred_at"] >= lo).to_numpy()]
    cols = ["account_id", "last_conversation", "via", "conversations", "days_waiting", "note"]
    if conv.empty:
        return pd.DataFrame(columns=cols)
    conv = conv.sort_values("occurred_at", kind="stable")
    last = conv.groupby("account_id", observed=True).tail(1).set_index("account_id")
    n_conv = conv.groupby("account_id", observed=True).size()
    touch = a[a["activity_type"].isin(_TOUCH_TYPES)]
    latest_touch = touch.groupby("account_id", observed=True)["occurred_at"].max()
    lt = latest_touch.reindex(last.index)
    is_open = (lt.isna() | (lt <= last["occurred_at"])).to_numpy()
    o = last[is_open]
    out = pd.DataFrame(
        {
            "account_id": o.index.astype(str),
            "last_conversation": o["occurred_at"].to_numpy(),
            "via": o["activity_type"].to_numpy(),
            "conversations": n_conv.reindex(o.index).to_numpy(dtype="int64"),
            "days_waiting": ((hi - o["occurred_at"]).dt.total_seconds() // 86400).astype("int64").to_numpy(),
            "note": o["notes"].to_numpy(),
        },
        columns=cols,
    )
    return out.sort_values(["last_conversation", "account_id"], kind="stable").reset_index(drop=True)


def follow_up(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    team: Team | None = None,
    max_rows: int = 10,
    profile: Coverage | None = None,
) -> Section:
    """Follow-up within 24 h (rate, n, interval, against benchmark and peers) and the accounts still waiting.

    With a ``profile`` (:class:`coachkit.coverage.Coverage`) that cannot support it, one "not in this data" line
    instead (and no "nothing is waiting" when no conversation can be counted)."""
    team = team_for(data, rep_id, window, team)
    sec = Section("follow_up", "Follow-up discipline")
    why = profile.supports("follow_up_24h_rate") if profile is not None else ""
    if why:
        sec.add(Text(f"Follow-up within 24 hours: not in this data ({why}).", "note"))
        sec.frames["open"] = open_follow_ups(data.activities.iloc[:0], window.start, window.end)
        sec.values.update(open_accounts=0, waiting_a_day=0)
        return sec
    this, prior = window_total(team, "follow_up_24h_rate"), window_total(team, "follow_up_24h_rate", "prior")
    target, tk = rate_target(data, rep_id, "follow_up_24h_rate")
    row = {
        "kpi": "follow_up_24h_rate",
        "kind": "rate",
        "value": this["value"],
        "target": target,
        "target_kind": tk,
        "ci_low": float(wilson(this["numerator"], this["denominator"])[0]),
        "ci_high": float(wilson(this["numerator"], this["denominator"])[1]),
        "prior": prior["value"],
        "change": change(
            "rate",
            float(this["numerator"]),
            float(this["denominator"]),
            float(prior["numerator"]),
            float(prior["denominator"]),
        ),
    }
    # the judgement and the change are the scorecard's and the focus's: here, the plain comparison
    bits = [b for b in (against(row),) if b]
    bits.append(f"peers' median {pct(team_median(team, 'follow_up_24h_rate'))}")
    sec.add(
        f"Followed up within 24 hours after {rate_text(this['numerator'], this['denominator'], noun=N_NOUNS['follow_up_24h_rate'])}; "
        + "; ".join(bits)
        + "."
    )
    acts = data.activities[data.activities["rep_id"] == rep_id]
    waiting = open_follow_ups(acts, window.start, window.end)
    sec.frames["open"] = waiting
    n_open = len(waiting)
    older = int((waiting["days_waiting"] >= 1).sum()) if n_open else 0
    if n_open == 0:
        sec.add("Every account with a conversation in the window has had a follow-up since. Nothing is waiting.")
    else:
        sec.add(
            f"{plural(n_open, 'account')} had a conversation in the window and no call, meeting, email or "
            f"follow-up since ({older} of them waiting a day or more by {day_text(window.end)}). "
            + (f"The {max_rows} waiting longest:" if n_open > max_rows else "")
        )
        show_rows = waiting.head(max_rows)
        sec.add(
            Table(
                pd.DataFrame(
                    {
                        "Account": show_rows["account_id"],
                        "Last conversation": show_rows["last_conversation"].dt.strftime("%a %d %b %H:%M"),
                        "Via": show_rows["via"],
                        "Days waiting": show_rows["days_waiting"].map(num),
                        "Conversations in window": show_rows["conversations"].map(num),
                        "What the buyer said": show_rows["note"].map(lambda s: clip(s, 160) or "(no notes)"),
                    }
                ),
                "Accounts with a conversation and no follow-up yet",
            )
        )
    sec.values.update(open_accounts=n_open, waiting_a_day=older)
    return sec
