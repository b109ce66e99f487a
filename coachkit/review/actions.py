"""The next step of a focus area, chosen by its cause: a small rule set per KPI.

"Work on conversations" is not a next step: too few conversations from too few dials needs more dialling, too
few from a low connect rate needs better call times or a better list. For a focus KPI, :func:`choose_action`
tries that KPI's causes in order (:data:`CAUSES`); the first whose test holds on the rep's own activities
(against their peers' where a comparison is needed) picks the action, and the focus item names the evidence
that chose it. When no cause holds, the playbook's action for the KPI is used.

The actions are the playbook's (``[coaching.actions.<kpi>]``: one sentence per cause and a ``default``; see
``coachkit/default_playbook.toml``); the evidence sentences are :data:`WHY`. Both are templates filled with the
rep's numbers (``{name}`` placeholders only: no attribute or index access), so two reps with the same focus get
different, specific sentences.

Inputs are plain frames (:class:`Evidence`): the rep's activities in the focus window, the other peers'
activities in the same window, and which KPIs the rep is behind on. Everything is vectorised.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fmt import is_missing, num, pct, plural

__all__ = ["CAUSES", "WHY", "Action", "Evidence", "choose_action", "hour_ranges"]


@dataclass(frozen=True)
class Evidence:
    """What the cause rules look at, for one rep and window.

    ``acts``: the rep's activities in the window (canonical columns); ``peer_acts``: the other reps of the peer
    group in the same window; ``behind``: KPI -> True when the rep is clearly behind on it (the focus test);
    ``values``: KPI -> the rep's value; ``benchmarks``: KPI -> what it was compared with; ``working_days``: the
    rep's working days in the window (absent weeks left out); ``absent_weeks``: how many weeks of the window
    were absent; ``waiting``: the accounts with a conversation and no follow-up yet
    (:func:`coachkit.review.open_follow_ups`); ``has_time_of_day``: whether the data has times of day;
    ``day_target``: KPI -> the per-working-day target (count KPIs); ``peers``: the peer group in words.
    """

    acts: pd.DataFrame
    peer_acts: pd.DataFrame
    behind: Mapping[str, bool] = field(default_factory=dict)
    values: Mapping[str, float] = field(default_factory=dict)
    benchmarks: Mapping[str, float] = field(default_factory=dict)
    working_days: float = 0.0
    absent_weeks: int = 0
    waiting: pd.DataFrame | None = None
    has_time_of_day: bool = True
    day_target: Mapping[str, float] = field(default_factory=dict)
    peers: str = "peers"
    actions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """The chosen next step: ``kpi``, ``cause`` (``default`` when no rule held), the ``text`` to do and ``why``
    (the evidence that chose it; '' for the default)."""

    kpi: str
    cause: str
    text: str
    why: str = ""


#: (kpi, cause) -> the evidence sentence that names why the cause was chosen (the action itself is the playbook's
#: ``[coaching.actions.<kpi>] <cause>``, :data:`coachkit.Playbook.actions`).
WHY: dict[tuple[str, str], str] = {
    ("calls", "few_days"): ("Calls were logged on {active_days} of {working_days} working days."),
    ("calls", "short_days"): (
        "On the {active_days} days with calls, the rep made {per_day} a day against a target of {target_day}."
    ),
    ("conversations", "low_connect"): (
        "Dials are there ({calls} calls) but only {connect} of them connected, against {connect_peers} for the {peers}."
    ),
    ("conversations", "low_volume"): (
        "The connect rate ({connect}) is in line, but {calls} calls in {working_days} working days is {per_day} a day."
    ),
    ("conversations", "both"): (
        "Both dials ({calls} calls, {per_day} a day) and the connect rate ({connect}) are short."
    ),
    ("connect_rate", "call_times"): (
        "Only {rep_share} of the rep's calls were in {best_hours}, against {peer_share} of the {peers}' calls; there the {peers} connect {best_rate}, against {other_rate} at other hours."
    ),
    ("connect_rate", "list_quality"): (
        "{bad_share} of the rep's calls reached a gatekeeper or a wrong number, against {bad_peers} for the {peers}."
    ),
    ("connect_rate", "unanswered"): (
        "{unanswered_share} of the rep's calls went unanswered or to voicemail, against {unanswered_peers} for the {peers}."
    ),
    ("meetings", "few_conversations"): (
        "{conversations} in {working_days} working days leave little to book meetings from."
    ),
    ("meetings", "low_conversion"): (
        "{conversations} led to {meetings}: {conversion} of conversations, against {conversion_peers} for the {peers}."
    ),
    ("meeting_show_rate", "no_shows"): ("{no_shows} of {booked} meetings with an outcome were no-shows."),
    ("follow_up_24h_rate", "waiting"): (
        "{waiting_n} accounts had a conversation in the window and no call, meeting, email or follow-up since."
    ),
    ("follow_up_24h_rate", "late"): ("Follow-ups do happen, but a median of {median_delay} after the conversation."),
    ("notes_coverage", "few_notes"): ("Notes were written after {noted} of {conversations}."),
    ("outcome_logged_rate", "unlogged"): ("{unlogged} of {calls} calls have no outcome logged."),
    ("emails", "per_day"): ("{emails} emails in {working_days} working days is {per_day} a day."),
    ("follow_ups", "per_day"): ("{follow_ups} follow-ups in {working_days} working days is {per_day} a day."),
    ("active_days", "idle_days"): ("Activity on {active_days} of {working_days} working days."),
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``; an unknown name is left as written."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


# ---------------------------------------------------------------------------------------------- evidence helpers


def _calls(a: pd.DataFrame) -> pd.DataFrame:
    return a[a["activity_type"].eq("call").to_numpy(dtype=bool, na_value=False)]


def _share(mask: pd.Series | np.ndarray, n: int) -> float:
    return float(np.sum(mask)) / n if n else np.nan


def _outcome_share(a: pd.DataFrame, outcomes: tuple[str, ...]) -> tuple[float, int]:
    c = _calls(a)
    logged = c[c["outcome"].notna().to_numpy()]
    return _share(logged["outcome"].isin(outcomes).to_numpy(), len(logged)), len(logged)


def hour_ranges(hours: list[int]) -> str:
    """Hours of the day as ranges: [8, 9, 16, 17] -> "8:00–10:00 and 16:00–18:00"."""
    hs = sorted(set(int(h) for h in hours))
    runs: list[list[int]] = []
    for h in hs:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    parts = [f"{r[0]}:00–{r[-1] + 1}:00" for r in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def best_hours(peer_calls: pd.DataFrame, *, min_calls: int = 20, cover: float = 0.3) -> tuple[list[int], float, float]:
    """The hours of the day when the peers connect most: hours ranked by the peers' connect rate (hours with at
    least ``min_calls`` calls), the top ones taken until they hold ``cover`` of the peers' calls. Returns
    (hours, connect rate in them, connect rate at other hours); ([], NaN, NaN) with too few calls."""
    c = peer_calls[peer_calls["outcome"].notna().to_numpy()]
    if len(c) < 5 * min_calls:
        return [], np.nan, np.nan
    hour = c["occurred_at"].dt.hour
    conn = c["outcome"].eq("connected").to_numpy(dtype=bool, na_value=False)
    g = pd.DataFrame({"hour": hour.to_numpy(), "conn": conn}).groupby("hour")["conn"].agg(["sum", "size"])
    g = g[g["size"] >= min_calls]
    if len(g) < 3:
        return [], np.nan, np.nan
    g = g.assign(rate=g["sum"] / g["size"]).sort_values(["rate", "size"], ascending=[False, False])
    need = cover * len(c)
    taken = g.index[: int(np.searchsorted(g["size"].cumsum().to_numpy(), need) + 1)].tolist()
    inside = hour.isin(taken).to_numpy()
    rate_in = _share(conn & inside, int(inside.sum()))
    rate_out = _share(conn & ~inside, int((~inside).sum()))
    return sorted(int(h) for h in taken), rate_in, rate_out


def _conversations(a: pd.DataFrame) -> np.ndarray:
    t, o = a["activity_type"], a["outcome"]
    return (((t == "call") & (o == "connected")) | ((t == "meeting") & (o == "held"))).to_numpy(
        dtype=bool, na_value=False
    )


def _follow_up_delays(a: pd.DataFrame) -> pd.Series:
    """Days from each conversation with an account to the rep's next touch of that account (calls, meetings,
    emails, follow-ups); only conversations that had one."""
    conv = a[_conversations(a) & a["account_id"].notna().to_numpy()][["account_id", "occurred_at"]]
    touch = a[a["activity_type"].isin(["call", "meeting", "email", "follow_up"]).to_numpy(dtype=bool, na_value=False)]
    touch = touch[touch["account_id"].notna().to_numpy()][["account_id", "occurred_at"]]
    if conv.empty or touch.empty:
        return pd.Series(dtype="float64")
    conv = conv.assign(account_id=conv["account_id"].astype(str)).sort_values("occurred_at")
    touch = touch.assign(account_id=touch["account_id"].astype(str), next_at=touch["occurred_at"])
    touch = touch.sort_values("occurred_at")
    m = pd.merge_asof(
        conv,
        touch[["account_id", "occurred_at", "next_at"]],
        on="occurred_at",
        by="account_id",
        direction="forward",
        allow_exact_matches=False,
    )
    delay = (m["next_at"] - m["occurred_at"]).dt.total_seconds() / 86400
    return delay.dropna()


# ---------------------------------------------------------------------------------------------- the rules

Rule = Callable[[Evidence, dict[str, str]], bool]


def _per_day(ev: Evidence, kpi: str, count: float, v: dict[str, str]) -> None:
    wd = ev.working_days
    v["working_days"] = num(wd)
    v["per_day"] = num(count / wd, 1) if wd else "–"
    t = ev.day_target.get(kpi)
    v["target_day"] = num(t) if t is not None and not is_missing(t) else "more"


def _few_days(ev: Evidence, v: dict[str, str]) -> bool:
    c = _calls(ev.acts)
    days = c["occurred_at"].dt.normalize().nunique()
    wd = ev.working_days
    v |= {"active_days": num(days), "working_days": num(wd), "idle_days": num(max(wd - days, 0))}
    return wd > 0 and days < 0.8 * wd


def _short_days(ev: Evidence, v: dict[str, str]) -> bool:
    c = _calls(ev.acts)
    days = c["occurred_at"].dt.normalize().nunique()
    t = ev.day_target.get("calls")
    per = len(c) / days if days else 0.0
    v |= {"active_days": num(days), "per_day": plural(per, "call"), "target_day": num(t) if t else "–"}
    return bool(t) and days > 0 and per < 0.9 * float(t)


def _connect_numbers(ev: Evidence, v: dict[str, str]) -> None:
    c, pc = _calls(ev.acts), _calls(ev.peer_acts)
    conn = c["outcome"].eq("connected").to_numpy(dtype=bool, na_value=False)
    pconn = pc["outcome"].eq("connected").to_numpy(dtype=bool, na_value=False)
    v["calls"] = num(len(c))
    v["connect"] = pct(_share(conn, len(c)))
    v["connect_peers"] = pct(_share(pconn, len(pc)))
    _per_day(ev, "calls", len(c), v)
    hours, _, _ = best_hours(pc) if ev.has_time_of_day else ([], np.nan, np.nan)
    v["best_hours"] = hour_ranges(hours) if hours else "the hours when the peers connect most"


def _low_connect(ev: Evidence, v: dict[str, str]) -> bool:
    _connect_numbers(ev, v)
    v["connect_action"] = _connect_action(ev)
    return bool(ev.behind.get("connect_rate")) and not ev.behind.get("calls")


def _low_volume(ev: Evidence, v: dict[str, str]) -> bool:
    _connect_numbers(ev, v)
    return bool(ev.behind.get("calls")) and not ev.behind.get("connect_rate")


def _both(ev: Evidence, v: dict[str, str]) -> bool:
    _connect_numbers(ev, v)
    return bool(ev.behind.get("calls")) and bool(ev.behind.get("connect_rate"))


def _call_times(ev: Evidence, v: dict[str, str]) -> bool:
    if not ev.has_time_of_day:
        return False
    c, pc = _calls(ev.acts), _calls(ev.peer_acts)
    hours, rate_in, rate_out = best_hours(pc)
    if not hours or len(c) == 0:
        return False
    rep_share = _share(c["occurred_at"].dt.hour.isin(hours).to_numpy(), len(c))
    peer_share = _share(pc["occurred_at"].dt.hour.isin(hours).to_numpy(), len(pc))
    v |= {
        "best_hours": hour_ranges(hours),
        "rep_share": pct(rep_share),
        "peer_share": pct(peer_share),
        "best_rate": pct(rate_in),
        "other_rate": pct(rate_out),
    }
    return rep_share <= peer_share - 0.10 and rate_in >= 1.25 * rate_out


def _list_quality(ev: Evidence, v: dict[str, str]) -> bool:
    bad, n = _outcome_share(ev.acts, ("wrong_number", "gatekeeper"))
    peers, pn = _outcome_share(ev.peer_acts, ("wrong_number", "gatekeeper"))
    v |= {"bad_share": pct(bad), "bad_peers": pct(peers)}
    return n > 0 and pn > 0 and bad >= 0.10 and bad >= peers + 0.05


def _unanswered(ev: Evidence, v: dict[str, str]) -> bool:
    miss, n = _outcome_share(ev.acts, ("no_answer", "voicemail"))
    peers, pn = _outcome_share(ev.peer_acts, ("no_answer", "voicemail"))
    v |= {"unanswered_share": pct(miss), "unanswered_peers": pct(peers)}
    return n > 0 and pn > 0 and miss >= peers + 0.10


def _connect_action(ev: Evidence) -> str:
    """The connect-rate action that fits this rep (used inside the conversations action)."""
    v: dict[str, str] = {"peers": ev.peers}
    for cause in CAUSES["connect_rate"]:
        if RULES[cause](ev, v):
            text = ev.actions.get(f"connect_rate.{cause}") or ev.actions.get("connect_rate")
            if text:
                t = fill(text, v)
                return t[0].lower() + t[1:]
    return "test other call windows and check the call list."


def _meeting_numbers(ev: Evidence, v: dict[str, str]) -> tuple[int, int, int, int]:
    conv = int(_conversations(ev.acts).sum())
    pconv = int(_conversations(ev.peer_acts).sum())
    meet = int(ev.acts["activity_type"].eq("meeting").sum())
    pmeet = int(ev.peer_acts["activity_type"].eq("meeting").sum())
    v |= {
        "conversations": plural(conv, "conversation"),
        "meetings": plural(meet, "meeting"),
        "conversion": pct(meet / conv) if conv else "–",
        "conversion_peers": pct(pmeet / pconv) if pconv else "–",
        "working_days": num(ev.working_days),
    }
    return conv, meet, pconv, pmeet


def _few_conversations(ev: Evidence, v: dict[str, str]) -> bool:
    _meeting_numbers(ev, v)
    return bool(ev.behind.get("conversations"))


def _low_conversion(ev: Evidence, v: dict[str, str]) -> bool:
    conv, meet, pconv, pmeet = _meeting_numbers(ev, v)
    return conv >= 5 and pconv > 0 and meet / conv < 0.8 * (pmeet / pconv)


def _no_shows(ev: Evidence, v: dict[str, str]) -> bool:
    m = ev.acts[ev.acts["activity_type"].eq("meeting").to_numpy(dtype=bool, na_value=False)]
    m = m[m["outcome"].notna().to_numpy()]
    ns = int(m["outcome"].eq("no_show").sum())
    v |= {"no_shows": num(ns), "booked": num(len(m))}
    return ns >= 2


def _waiting(ev: Evidence, v: dict[str, str]) -> bool:
    w = ev.waiting
    n = 0 if w is None else int((w["days_waiting"] >= 1).sum())
    oldest = 0 if not n else int(w["days_waiting"].max())
    v |= {"waiting_n": num(n), "oldest": plural(oldest, "day")}
    return n >= 3


def _late(ev: Evidence, v: dict[str, str]) -> bool:
    d = _follow_up_delays(ev.acts)
    if len(d) < 3:
        return False
    med = float(d.median())
    v["median_delay"] = plural(round(med, 1), "day") if med >= 1 else f"{med * 24:.0f} hours"
    return med > 1.0


def _few_notes(ev: Evidence, v: dict[str, str]) -> bool:
    conv = _conversations(ev.acts)
    notes = ev.acts["notes"].astype("string").str.strip().fillna("").ne("").to_numpy(dtype=bool)
    v |= {"noted": num(int((conv & notes).sum())), "conversations": plural(int(conv.sum()), "conversation")}
    return int(conv.sum()) > 0


def _unlogged(ev: Evidence, v: dict[str, str]) -> bool:
    c = _calls(ev.acts)
    v |= {"unlogged": num(int(c["outcome"].isna().sum())), "calls": num(len(c))}
    return len(c) > 0


def _type_per_day(kpi: str, typ: str) -> Rule:
    def rule(ev: Evidence, v: dict[str, str]) -> bool:
        n = int(ev.acts["activity_type"].eq(typ).sum())
        v[kpi] = num(n)
        _per_day(ev, kpi, n, v)
        return ev.working_days > 0 and ev.day_target.get(kpi) is not None

    return rule


def _idle_days(ev: Evidence, v: dict[str, str]) -> bool:
    days = ev.acts["occurred_at"].dt.normalize().nunique()
    v |= {"active_days": num(days), "working_days": num(ev.working_days)}
    return True


RULES: dict[str, Rule] = {
    "few_days": _few_days,
    "short_days": _short_days,
    "low_connect": _low_connect,
    "low_volume": _low_volume,
    "both": _both,
    "call_times": _call_times,
    "list_quality": _list_quality,
    "unanswered": _unanswered,
    "few_conversations": _few_conversations,
    "low_conversion": _low_conversion,
    "no_shows": _no_shows,
    "waiting": _waiting,
    "late": _late,
    "few_notes": _few_notes,
    "unlogged": _unlogged,
    "per_day": lambda ev, v: False,  # replaced per KPI below
    "idle_days": _idle_days,
}

#: KPI -> its causes, tried in this order.
CAUSES: dict[str, tuple[str, ...]] = {
    "calls": ("few_days", "short_days"),
    "conversations": ("both", "low_connect", "low_volume"),
    "connect_rate": ("call_times", "list_quality", "unanswered"),
    "meetings": ("few_conversations", "low_conversion"),
    "meeting_show_rate": ("no_shows",),
    "follow_up_24h_rate": ("waiting", "late"),
    "notes_coverage": ("few_notes",),
    "outcome_logged_rate": ("unlogged",),
    "emails": ("per_day",),
    "follow_ups": ("per_day",),
    "active_days": ("idle_days",),
}

_TYPE_RULES = {"emails": _type_per_day("emails", "email"), "follow_ups": _type_per_day("follow_ups", "follow_up")}


def choose_action(kpi: str, ev: Evidence, playbook_actions: Mapping[str, str] | None = None) -> Action:
    """The next step for a focus area on ``kpi``: the first cause of :data:`CAUSES` whose test holds on ``ev``, the
    playbook's action for it (``playbook_actions["kpi.cause"]``, else the KPI's, filled with the rep's numbers) and
    the evidence that chose it (:data:`WHY`), else the playbook's action for ``kpi`` (cause ``default``)."""
    actions = dict(playbook_actions or {})
    ev = dataclasses.replace(ev, actions=actions)
    values: dict[str, str] = {"peers": ev.peers}
    generic = f"Review {kpi.replace('_', ' ')} together and agree one change to try next week."
    for cause in CAUSES.get(kpi, ()):
        rule = _TYPE_RULES[kpi] if cause == "per_day" else RULES[cause]
        if rule(ev, values):
            todo = actions.get(f"{kpi}.{cause}") or actions.get(kpi) or generic
            return Action(kpi, cause, fill(todo, values), fill(WHY[(kpi, cause)], values))
    return Action(kpi, "default", fill(actions.get(kpi) or generic, values))
