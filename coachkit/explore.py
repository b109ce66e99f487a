"""The coach's explorer: what ``notebooks/explore.ipynb`` and ``coachkit explore`` show, as pure functions.

A :class:`Selection` (team, reps, From/To dates, frequency, KPI, activity types, notes keyword) is turned
into views by the functions here; :class:`coachkit.explore_app.Explorer` caches them and
:func:`coachkit.explore_app.app` wires them to ipywidgets. Nothing here raises for a selection a coach can
make: an empty or impossible one (a rep who left, From after To, a weekend or a future range, a rep not
hired yet, a KPI without data) gets a one-line explanation (:class:`Part` ``.message``) in place of the
chart.

Semantics:

- ``reps`` empty means the whole team (every rep of ``team``; :data:`ALL_TEAMS`: every rep). Rep ids
  outside ``team`` may be picked; they are compared with their own peers.
- **Peers** are :func:`coachkit.coaching.peer_groups`: the reps of the same team and role (the picked reps
  included). The trend's grey line is the peers' median per period; rep-vs-peers pools their counts.
- The activity-type filter applies to the activity views (heatmap, outcome mix, notes search, drill-down);
  KPIs keep their own definitions (a connect rate is about calls whatever the filter).
- A **partial period** is a day, week or month that the From/To range or the data (first to last activity
  day) covers only in part; the trend draws it hollow and says how many days it covers.
"""

from __future__ import annotations

import html
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import charts, schema
from .html_tables import highlight, notes_html, table_html
from .kpis import kpi_table, period_start, registry

__all__ = [
    "ALL_TEAMS",
    "FREQ_WORDS",
    "REP_VS_TEAM_KPIS",
    "DRILL_COLUMNS",
    "Selection",
    "Part",
    "team_reps",
    "rep_names",
    "peers_of",
    "peer_label",
    "selection_problem",
    "activities_view",
    "kpi_trend_frame",
    "rep_vs_team_frame",
    "heatmap_frame",
    "outcome_frame",
    "search_notes",
    "highlight",
    "notes_html",
    "drill_down",
    "drill_display",
    "drill_csv",
    "table_html",
    "window_periods",
    "trend_part",
    "rep_vs_team_part",
    "activity_parts",
    "view",
    "show",
    "show_drill_down",
]

#: The team choice meaning "every team".
ALL_TEAMS = "All teams"
#: Frequency code -> the word used in titles.
FREQ_WORDS = {"D": "day", "W": "week", "M": "month"}
#: KPIs compared rep against peers (rates, with intervals).
REP_VS_TEAM_KPIS = ("connect_rate", "meeting_show_rate", "follow_up_24h_rate", "notes_coverage")
NOTE_COLUMNS = ["occurred_at", "rep_id", "name", "activity_type", "outcome", "notes"]
#: The drill-down's columns: everything a KPI cell of a rep-period was computed from.
DRILL_COLUMNS = [
    "activity_id",
    "occurred_at",
    "activity_type",
    "direction",
    "outcome",
    "duration_s",
    "account_id",
    "deal_id",
    "notes",
    "feedback_score",
]
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Selection:
    """What the coach picked. ``reps`` empty means every rep of ``team``; ``types`` empty means every type.

    ``start``/``end``: the From and To days (inclusive; None: the data's first/last day).
    """

    team: str = ALL_TEAMS
    reps: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    freq: str = "W"
    kpi: str = "activity_score"
    types: tuple[str, ...] = ()
    keyword: str = ""

    @classmethod
    def of(cls, **fields: Any) -> Selection:
        """A selection from keyword arguments as widgets give them (lists for ``reps``/``types``, None for empty)."""
        clean = {k: v for k, v in fields.items() if k in cls.__dataclass_fields__}
        for key in ("reps", "types"):
            if key in clean:
                clean[key] = tuple(str(v) for v in (clean[key] or ()))
        for key in ("start", "end"):
            if key in clean and clean[key] is not None and not (isinstance(clean[key], str) and not clean[key]):
                clean[key] = pd.Timestamp(clean[key]).normalize()
            elif key in clean:
                clean[key] = None
        if "keyword" in clean:
            clean["keyword"] = str(clean["keyword"] or "")
        if "team" in clean and not clean["team"]:
            clean["team"] = ALL_TEAMS
        return cls(**clean)


@dataclass
class Part:
    """One view of the explorer: a chart, or a one-line ``message`` saying why there is none, and its frame."""

    chart: Any = None
    message: str | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    title: str = ""

    @property
    def ok(self) -> bool:
        return self.chart is not None


# ---- reps, teams, peers ------------------------------------------------------------------------


def _rep_info(data: Any) -> pd.DataFrame:
    return data.reps.drop_duplicates("rep_id").set_index("rep_id")


def team_reps(data: Any, team: str | None = ALL_TEAMS) -> list[str]:
    """Rep ids of ``team`` (every rep for :data:`ALL_TEAMS`, "" or None), sorted. ``ValueError`` for an unknown team."""
    reps = data.reps
    if team not in (None, "", ALL_TEAMS):
        known = sorted(reps["team"].dropna().unique())
        if team not in known:
            raise ValueError(f"unknown team {team!r}; the dataset's teams are {known}")
        reps = reps[reps["team"] == team]
    return sorted(reps["rep_id"].dropna().astype(str))


def rep_names(data: Any, rep_ids: Iterable[str]) -> list[str]:
    """Each rep's name (the id when the name is missing or the rep unknown)."""
    names = _rep_info(data)["name"] if "name" in data.reps.columns else pd.Series(dtype="object")
    out = []
    for r in rep_ids:
        n = names.get(r)
        out.append(str(n) if n is not None and pd.notna(n) and str(n).strip() else str(r))
    return out


def _who(data: Any, rep_ids: Sequence[str]) -> str:
    names = rep_names(data, rep_ids)
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} more"


def peers_of(data: Any, rep_ids: Iterable[str]) -> list[str]:
    """The reps of the peer groups (:func:`coachkit.coaching.peer_groups`: team × role) of ``rep_ids``, sorted."""
    from .coaching import peer_groups

    groups = peer_groups(data.reps)
    mine = set(groups.reindex(list(rep_ids)).dropna())
    return sorted(groups.index[groups.isin(mine)].astype(str))


def peer_label(data: Any, rep_ids: Iterable[str]) -> str:
    """The peer groups of ``rep_ids`` in words, e.g. ``"SMB SDR"`` or ``"SMB SDR, SMB AE"``."""
    info = _rep_info(data).reindex(list(rep_ids))
    parts = []
    for team, role in zip(info["team"], info["role"], strict=True):
        t = str(team) if pd.notna(team) else "no team"
        r = str(role) if pd.notna(role) else "no role"
        parts.append(f"{t} {r}")
    return ", ".join(dict.fromkeys(parts))


def _chosen_reps(data: Any, team: str | None, reps: Iterable[str] | None) -> list[str]:
    members = team_reps(data, team)
    reps = list(reps or ())
    if not reps:
        return members
    known = set(data.reps["rep_id"].astype(str))
    unknown = [r for r in reps if r not in known]
    if unknown:
        raise ValueError(f"unknown rep id(s) {unknown}")
    return reps


# ---- dates --------------------------------------------------------------------------------------


def _day(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).normalize()


def _fmt_day(ts: Any) -> str:
    return f"{pd.Timestamp(ts):%a %d %b %Y}"


#: id(activities frame) -> (weak reference to it, its first and last day): a min/max over millions of
#: timestamps costs milliseconds, and every view asks.
_DAYS_SEEN: dict[int, tuple[Any, tuple[pd.Timestamp | None, pd.Timestamp | None]]] = {}


def _data_days(data: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and the last day with an activity (None, None without activities)."""
    frame = data.activities
    seen = _DAYS_SEEN.get(id(frame))
    if seen is not None and seen[0]() is frame:
        return seen[1]
    t = frame["occurred_at"]
    days = (None, None) if not len(t) or t.isna().all() else (t.min().normalize(), t.max().normalize())
    try:
        ref = weakref.ref(frame)
    except TypeError:  # pragma: no cover - pandas frames take weak references
        return days
    for key in [k for k, (r, _) in _DAYS_SEEN.items() if r() is None]:
        del _DAYS_SEEN[key]
    _DAYS_SEEN[id(frame)] = (ref, days)
    return days


def _span(data: Any, sel: Selection) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The selection's From and To days, defaulting to the data's first and last day."""
    first, last = _data_days(data)
    return _day(sel.start) or first, _day(sel.end) or last


def activities_text(n: int) -> str:
    """``"1 activity"``, ``"1,234 activities"``."""
    return f"{n:,} activit{'y' if n == 1 else 'ies'}"


def _team_words(team: str | None) -> str:
    return "every rep" if team in (None, "", ALL_TEAMS) else f"team {team}"


def _range_text(start: Any, end: Any) -> str:
    return f"from {_fmt_day(start)} to {_fmt_day(end)}"


def selection_problem(data: Any, sel: Selection) -> str | None:
    """Why nothing can be shown for ``sel`` at all, in one line, or None when the selection is fine.

    Checked in order: an unknown team or rep, an unknown KPI or frequency, From after To, no activity in the
    dataset, a range wholly before or after the data, a team without reps, reps who left before the range
    or were hired after it, a range without any activity of the chosen reps (a weekend, a holiday).
    """
    try:
        chosen = _chosen_reps(data, sel.team, sel.reps)
    except ValueError as exc:
        return str(exc)[0].upper() + str(exc)[1:] + "."
    if sel.kpi not in registry:
        return f"Unknown KPI {sel.kpi!r}; pick one of the list (coachkit kpis prints them all)."
    if sel.freq not in FREQ_WORDS:
        return f"Unknown period {sel.freq!r}; use day (D), week (W) or month (M)."
    first, last = _data_days(data)
    if first is None:
        return "The dataset has no activities."
    start, end = _span(data, sel)
    if start > end:
        return f"From ({_fmt_day(start)}) is after To ({_fmt_day(end)}): pick a From date on or before To."
    if start > last:
        return (
            f"The data ends on {_fmt_day(last)}; the range {_range_text(start, end)} is after it: "
            "pick an earlier From date."
        )
    if end < first:
        return (
            f"The data starts on {_fmt_day(first)}; the range {_range_text(start, end)} is before it: "
            "pick a later To date."
        )
    if not chosen:
        return f"Team {sel.team!r} has no reps."
    info = _rep_info(data).reindex(chosen)
    hired = info["hired_at"] if "hired_at" in info.columns else pd.Series(pd.NaT, index=info.index)
    left = info["left_at"] if "left_at" in info.columns else pd.Series(pd.NaT, index=info.index)
    gone = left.notna() & (left < start)
    unborn = hired.notna() & (hired > end)
    if (gone | unborn).all():
        names = rep_names(data, chosen)
        why = []
        for name, g, h, l_ in zip(names, gone, hired, left, strict=True):
            why.append(f"{name} left on {_fmt_day(l_)}" if g else f"{name} was hired on {_fmt_day(h)}")
        lead = "; ".join(why[:3]) + ("; ..." if len(why) > 3 else "")
        return f"{lead}: no activity {_range_text(start, end)}. Pick a range when they worked, or other reps."
    a = data.activities
    t = a["occurred_at"]
    inside = a["rep_id"].isin(chosen) & (t >= start) & (t < end + _DAY)
    if not inside.any():
        who = _who(data, sel.reps) if sel.reps else _team_words(sel.team)
        days = pd.date_range(start, end, freq="D")
        workdays = [d for d in days if d.day_of_week in data.playbook.working_days]
        hint = " (no working day in the range)" if not workdays else ""
        return f"No activity for {who} {_range_text(start, end)}{hint}: pick a longer range or other reps."
    return None


# ---- activities ---------------------------------------------------------------------------------


def activities_view(
    data: Any,
    *,
    team: str | None = ALL_TEAMS,
    reps: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
    types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The selected activities (reps of ``team`` or ``reps``, ``start``..``end`` inclusive, ``types``) with the
    rep's ``name`` and ``team``, in time order."""
    chosen = _chosen_reps(data, team, reps)
    a = data.between(start, end).activities if start is not None or end is not None else data.activities
    mask = a["rep_id"].isin(chosen)
    types = list(types or ())
    if types:
        mask &= a["activity_type"].isin(types)
    info = _rep_info(data)[["name", "team"]]
    out = a[mask].join(info, on="rep_id")
    return out.sort_values(["occurred_at", "activity_id"], kind="stable").reset_index(drop=True)


def heatmap_frame(activities: pd.DataFrame) -> pd.DataFrame:
    """Activities per local weekday (0 = Monday) and hour of day: ``weekday``, ``hour``, ``count`` (non-zero cells)."""
    t = activities["occurred_at"].dropna()
    out = pd.DataFrame({"weekday": t.dt.day_of_week, "hour": t.dt.hour}).value_counts().rename("count").reset_index()
    return out.sort_values(["weekday", "hour"], kind="stable").reset_index(drop=True).astype("int64")


def outcome_frame(activities: pd.DataFrame) -> pd.DataFrame:
    """Activities per type and outcome (a missing outcome is ``"not logged"``): ``activity_type``, ``outcome``,
    ``n``; types in the canonical order, outcomes by count within a type."""
    a = activities[["activity_type", "outcome"]].astype("object").fillna({"outcome": charts.NOT_LOGGED})
    out = a.value_counts().rename("n").reset_index()
    rank = {t: i for i, t in enumerate(schema.ACTIVITY_TYPES)}
    out["_r"] = out["activity_type"].map(rank).fillna(len(rank))
    out = out.sort_values(["_r", "n", "outcome"], ascending=[True, False, True], kind="stable")
    return out.drop(columns="_r").reset_index(drop=True).astype({"n": "int64"})


# ---- notes --------------------------------------------------------------------------------------


def search_notes(activities: pd.DataFrame, keyword: str, limit: int | None = None) -> pd.DataFrame:
    """Activities whose notes contain ``keyword`` literally (case-insensitive; regex characters are plain
    text), newest first: ``occurred_at``, ``rep_id``, ``name``, ``activity_type``, ``outcome``, ``notes`` (in
    full). A blank keyword matches nothing. ``limit`` caps the rows (None, the default: all of them)."""
    cols = [c for c in NOTE_COLUMNS if c in activities.columns]
    keyword = (keyword or "").strip()
    if not keyword or "notes" not in activities.columns:
        return activities.loc[[], cols].reset_index(drop=True)
    hit = activities["notes"].str.contains(keyword, case=False, regex=False).fillna(False).astype(bool)
    out = activities.loc[hit, cols].sort_values("occurred_at", ascending=False, kind="stable")
    return (out if limit is None else out.head(limit)).reset_index(drop=True)


# ---- drill-down -----------------------------------------------------------------------------------


def drill_down(
    data: Any, rep_id: str, period: Any, *, freq: str = "W", types: Iterable[str] | None = None
) -> pd.DataFrame:
    """Exactly the activities of ``rep_id`` in the calendar period (``freq`` D/W/M) containing ``period``,
    in time order (optionally only ``types``): what a KPI cell of that rep-period was computed from.
    Columns :data:`DRILL_COLUMNS` (all of them, however many rows)."""
    start = pd.Timestamp(period_start(pd.Series([pd.Timestamp(period)]), freq).iloc[0])
    a = data.activities
    a = a[a["rep_id"] == rep_id]
    mask = period_start(a["occurred_at"], freq) == start
    types = list(types or ())
    if types:
        mask &= a["activity_type"].isin(types)
    out = a.loc[mask].sort_values(["occurred_at", "activity_id"], kind="stable")
    return out[DRILL_COLUMNS].reset_index(drop=True)


def _duration(seconds: pd.Series) -> pd.Series:
    s = pd.to_numeric(seconds, errors="coerce")
    whole = s.round().astype("Int64")
    text = (whole // 60).astype("string") + ":" + (whole % 60).astype("string").str.zfill(2)
    return text.astype("object").where(s.notna(), "")


def drill_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The drill-down as a coach reads it: ``time`` (weekday, day, month and time; the period's caption gives
    the year), ``type``, ``outcome``, ``duration`` (m:ss), ``notes`` (in full), ``feedback score``,
    ``account``, ``deal``, ``direction``, ``activity`` (its id); blanks for missing values."""
    f = frame
    t = f["occurred_at"]
    date_only = bool(len(t)) and bool((t.dropna() == t.dropna().dt.normalize()).all())
    out = pd.DataFrame(
        {
            "time": t.dt.strftime("%a %d %b" if date_only else "%a %d %b %H:%M"),
            "type": f["activity_type"],
            "outcome": f["outcome"],
            "duration": _duration(f["duration_s"]),
            "notes": f["notes"],
            "feedback score": f["feedback_score"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
            "account": f["account_id"],
            "deal": f["deal_id"],
            "direction": f["direction"],
            "activity": f["activity_id"],
        }
    )
    return out.astype("object").where(out.notna(), "")


def drill_csv(frame: pd.DataFrame) -> str:
    """The drill-down as CSV text (UTF-8, ISO 8601 local times, empty cells for missing values), every row."""
    out = frame.copy()
    out["occurred_at"] = out["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return out.to_csv(index=False, lineterminator="\n")


def window_periods(data: Any, sel: Selection) -> pd.DataFrame:
    """The periods (``freq``) the selection's range touches: ``period_start``, ``period_end`` (exclusive),
    ``days`` (days of the period inside both the range and the data), ``partial`` and ``label`` (e.g.
    ``"week of Mon 16 Nov 2026 (partial: 5 of 7 days)"``), latest first. Empty for an impossible range."""
    cols = ["period_start", "period_end", "days", "partial", "label"]
    start, end = _span(data, sel)
    first, last = _data_days(data)
    if start is None or end is None or start > end or sel.freq not in FREQ_WORDS:
        return pd.DataFrame(columns=cols)
    lo, hi = max(start, first), min(end, last)
    if lo > hi:
        return pd.DataFrame(columns=cols)
    starts = pd.Series(pd.date_range(period_start(pd.Series([lo]), sel.freq).iloc[0], hi, freq="D"))
    starts = pd.Series(period_start(starts, sel.freq).unique())
    ends = pd.Series(_next_start(starts, sel.freq))
    covered = (ends.clip(upper=hi + _DAY) - starts.clip(lower=lo)).dt.days.clip(lower=0)
    length = (ends - starts).dt.days
    partial = covered < length
    word = {"D": "", "W": "week of ", "M": "month of "}[sel.freq]
    fmt = "%B %Y" if sel.freq == "M" else "%a %d %b %Y"
    labels = [
        f"{word}{s.strftime(fmt)}" + (f" (partial: {c} of {n} days)" if p else "")
        for s, c, n, p in zip(starts, covered, length, partial, strict=True)
    ]
    out = pd.DataFrame({"period_start": starts, "period_end": ends, "days": covered, "partial": partial})
    out["label"] = labels
    return out.iloc[::-1].reset_index(drop=True)


def _next_start(starts: pd.Series, freq: str) -> pd.Series:
    """The start of the period after each period start (``freq`` D/W/M)."""
    if freq == "D":
        return starts + _DAY
    if freq == "W":
        return starts + pd.Timedelta(days=7)
    return starts + pd.offsets.MonthBegin(1)


# ---- KPI trend and rep vs peers ---------------------------------------------------------------------


def kpi_trend_frame(
    data: Any,
    kpi: str,
    *,
    freq: str = "W",
    team: str | None = ALL_TEAMS,
    reps: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
    table: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, peers): ``kpi`` per chosen rep and period, and the median over their peers per period.

    ``rows``: kpi_table rows of the chosen reps (``reps``, or every rep of ``team`` when empty) with ``n`` =
    the denominator, ``name``, ``days`` (days of the period inside the range and the data) and ``partial``.
    ``peers``: ``period_start``, ``value`` (the median over the peers' values: :func:`peers_of` the chosen
    reps; with no reps picked, the team itself), ``team_n`` (reps with a value). Periods are limited to
    ``start``..``end``; activities outside it are not counted. ``table``: precomputed kpi_table rows of at
    least those reps and periods (the explorer's cache).
    """
    if kpi not in registry:
        raise KeyError(f"unknown KPI {kpi!r}; known: {', '.join(registry)}")
    chosen = _chosen_reps(data, team, reps)
    pool = peers_of(data, chosen) if reps else chosen
    pool = sorted(set(pool) | set(chosen))
    if table is None:
        table = kpi_table(data.between(start, end), freq=freq, start=start, end=end, kpis=[kpi], reps=pool)
    table = table[table["kpi"] == kpi]
    table = table.assign(n=table["denominator"])
    rows = table[table["rep_id"].isin(chosen)].reset_index(drop=True)
    rows["name"] = rep_names(data, rows["rep_id"])
    periods = window_periods(data, Selection(start=start, end=end, freq=freq)).set_index("period_start")
    rows["days"] = rows["period_start"].map(periods["days"]).astype("float64")
    rows["partial"] = rows["period_start"].map(periods["partial"]).astype("boolean").fillna(False).astype(bool)
    team_rows = table[table["rep_id"].isin(pool)]
    med = team_rows.groupby("period_start", as_index=False)["value"].agg(value="median", team_n="count")
    return rows, med


def _pooled(table: pd.DataFrame, ids: Sequence[str], kpis: Sequence[str]) -> pd.DataFrame:
    from .stats import wilson

    s = table[table["rep_id"].isin(list(ids))].groupby("kpi", sort=False)[["numerator", "denominator"]].sum()
    s = s.reindex(list(kpis)).fillna(0.0)
    lo, hi = wilson(s["numerator"], s["denominator"])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(s["denominator"] > 0, s["numerator"] / s["denominator"], np.nan)
    return pd.DataFrame(
        {
            "label": [registry[k].label for k in s.index],
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "n": s["denominator"].to_numpy(),
        }
    )


def rep_vs_team_frame(
    data: Any,
    rep_ids: Sequence[str],
    *,
    team: str | None = ALL_TEAMS,
    start: Any = None,
    end: Any = None,
    kpis: Sequence[str] = REP_VS_TEAM_KPIS,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rate KPIs over the whole range for the chosen reps together and for their peers.

    Columns ``label`` (KPI label), ``who`` (the rep's name, or ``"n reps"``; with no reps picked the team,
    alone), ``value`` = Σ numerator / Σ denominator, ``ci_low``/``ci_high`` (95% Wilson on those sums) and
    ``n`` = Σ denominator. The peers are :func:`peers_of` the reps (team × role, the reps included), labelled
    ``"peers (SMB SDR)"``. ``table``: precomputed monthly kpi_table rows (the explorer's cache).
    """
    rep_ids = list(rep_ids)
    members = team_reps(data, team)
    pool = peers_of(data, rep_ids) if rep_ids else members
    if table is None:
        reps = sorted(set(pool) | set(rep_ids))
        table = kpi_table(data.between(start, end), freq="M", start=start, end=end, kpis=list(kpis), reps=reps)
    if not rep_ids:
        label = team if team not in (None, "", ALL_TEAMS) else "all reps"
        return _pooled(table, members, kpis).assign(who=f"{label} ({len(members)} reps)")
    who = rep_names(data, rep_ids)[0] if len(rep_ids) == 1 else f"{len(rep_ids)} reps"
    peers = f"peers ({peer_label(data, rep_ids)}, {len(pool)} reps)"
    return pd.concat(
        [_pooled(table, rep_ids, kpis).assign(who=who), _pooled(table, pool, kpis).assign(who=peers)],
        ignore_index=True,
    )[["label", "who", "value", "ci_low", "ci_high", "n"]]


def _unit(kpi: str) -> str:
    d = registry[kpi]
    return "%" if d.kind == "rate" else d.unit


def trend_part(data: Any, sel: Selection, *, table: pd.DataFrame | None = None, select: bool = False) -> Part:
    """The KPI trend of the selection: the chosen reps' lines (names), their peers' median, partial periods
    hollow, a zoomed rate axis; or a one-line message (no reps active, a KPI without data)."""
    d = registry[sel.kpi]
    start, end = _span(data, sel)
    rows, med = kpi_trend_frame(
        data, sel.kpi, freq=sel.freq, team=sel.team, reps=sel.reps, start=start, end=end, table=table
    )
    word = FREQ_WORDS[sel.freq]
    if sel.reps:
        who = _who(data, sel.reps)
        label = f"peers' median ({peer_label(data, sel.reps)})"
        title = f"{d.label} per {word}: {who}"
    else:
        rows = rows.iloc[0:0]
        team = sel.team if sel.team not in (None, "", ALL_TEAMS) else "all reps"
        label = f"team median ({team})"
        title = f"{d.label} per {word}: {team}, median over its reps"
    have = rows["value"].notna().any() or (not sel.reps and med["value"].notna().any())
    if not have:
        who = _who(data, sel.reps) if sel.reps else _team_words(sel.team)
        msg = (
            f"{d.label} has no value for {who} {_range_text(start, end)}: "
            "nothing it is computed from was logged in that range (its definition: coachkit kpis)."
        )
        return Part(message=msg, frame=rows, title=title)
    unit = _unit(sel.kpi)
    period = {"D": "day", "W": "week of", "M": "month of"}[sel.freq]
    chart = charts.kpi_trend(
        rows, title=title, unit=unit, team=med, zoom=True, team_label=label, period=period, select=select
    )
    return Part(chart=chart, frame=rows, title=title)


def rep_vs_team_part(data: Any, sel: Selection, *, table: pd.DataFrame | None = None) -> Part:
    """The rate KPIs of the chosen reps against their peers over the range (or of the team), or a message."""
    start, end = _span(data, sel)
    f = rep_vs_team_frame(data, list(sel.reps), team=sel.team, start=start, end=end, table=table)
    title = "Against their peers, whole range" if sel.reps else "The team, whole range"
    if not (f["n"] > 0).any():
        labels = ", ".join(registry[k].label.lower() for k in REP_VS_TEAM_KPIS if k in registry)
        msg = f"No rate can be computed for this range: {labels} need logged call outcomes, meetings or notes."
        return Part(message=msg, frame=f)
    return Part(chart=charts.rate_bars(f, title=title, zoom=True), frame=f, title=title)


def activity_parts(acts: pd.DataFrame, sel: Selection) -> dict[str, Part]:
    """The heatmap and outcome mix of the selected activities (``activities_view``), or messages."""
    types = ", ".join(sel.types)
    if acts.empty:
        what = f"no {types} activities" if sel.types else "no activities"
        msg = f"There are {what} in this selection."
        return {"heatmap": Part(message=msg), "outcomes": Part(message=msg)}
    t = acts["occurred_at"].dropna()
    if len(t) and (t == t.dt.normalize()).all():
        heat = Part(message="The activities have dates but no times of day, so there is no hour-of-day pattern.")
    else:
        h = heatmap_frame(acts)
        heat = Part(chart=charts.weekday_hour_heatmap(h), frame=h)
    o = outcome_frame(acts)
    if "outcome" in acts.columns and acts["outcome"].isna().all():
        outcomes = Part(message="No outcome is logged on these activities, so there is no outcome mix.", frame=o)
    else:
        outcomes = Part(chart=charts.outcome_mix(o), frame=o)
    return {"heatmap": heat, "outcomes": outcomes}


# ---- the whole view, for notebooks ------------------------------------------------------------------


def view(data: Any, sel: Selection) -> dict[str, Any]:
    """Every view of the selection, never raising for a selection a coach can make.

    ``problem``: a one-line explanation when nothing can be shown (:func:`selection_problem`; then the other
    keys hold empty parts), else None. ``title``; ``trend``, ``rep_vs_team``, ``heatmap``, ``outcomes``
    (:class:`Part`); ``notes`` (the matching notes, every one, newest first) and ``notes_total`` (notes
    searched); ``drill_rep``, ``drill_period`` and ``drill_down`` (the activities of the first chosen rep's
    latest period in the range, every one).
    """
    empty = Part()
    out: dict[str, Any] = {"problem": selection_problem(data, sel), "title": ""}
    out.update(trend=empty, rep_vs_team=empty, heatmap=empty, outcomes=empty)
    out.update(notes=pd.DataFrame(columns=NOTE_COLUMNS), notes_total=0)
    out.update(drill_rep=None, drill_period=None, drill_down=pd.DataFrame(columns=DRILL_COLUMNS))
    if out["problem"]:
        return out
    start, end = _span(data, sel)
    chosen = _chosen_reps(data, sel.team, sel.reps)
    who = _who(data, sel.reps) if sel.reps else (sel.team if sel.team != ALL_TEAMS else "every team")
    out["title"] = f"{who}, {_range_text(start, end)}"
    out["trend"] = trend_part(data, sel)
    out["rep_vs_team"] = rep_vs_team_part(data, sel)
    acts = activities_view(data, reps=chosen, start=start, end=end, types=sel.types)
    out.update(activity_parts(acts, sel))
    out["notes"] = search_notes(acts, sel.keyword)
    out["notes_total"] = int(_has_note(acts).sum())
    rep = chosen[0]
    periods = window_periods(data, sel)
    mine = acts.loc[acts["rep_id"] == rep, "occurred_at"]
    if len(mine) and len(periods):
        latest = pd.Timestamp(period_start(pd.Series([mine.max()]), sel.freq).iloc[0])
        out.update(drill_rep=rep, drill_period=latest)
        out["drill_down"] = drill_down(data, rep, latest, freq=sel.freq, types=sel.types)
    return out


def _has_note(acts: pd.DataFrame) -> pd.Series:
    if "notes" not in acts.columns:
        return pd.Series(False, index=acts.index)
    return acts["notes"].fillna("").str.strip().ne("")


def show(data: Any, **selection: Any) -> None:
    """Display :func:`view` for a selection given as keyword arguments of :class:`Selection` (static: charts
    and tables; every row of the notes found and of the drill-down, in scrollable boxes)."""
    from IPython.display import HTML, Markdown, display

    sel = Selection.of(**selection)
    v = view(data, sel)
    if v["problem"]:
        display(Markdown(f"**{v['problem']}**"))
        return
    display(Markdown(f"**{v['title']}**"))
    for key in ("trend", "rep_vs_team", "heatmap", "outcomes"):
        part = v[key]
        display(part.chart if part.ok else Markdown(f"*{part.message}*"))
    display(HTML(notes_html(v["notes"], sel.keyword, total_notes=v["notes_total"])))
    if v["drill_rep"] is None:
        display(Markdown("*No activity to drill down to.*"))
        return
    name = rep_names(data, [v["drill_rep"]])[0]
    frame = v["drill_down"]
    period = f"{FREQ_WORDS[sel.freq]} of {_fmt_day(v['drill_period'])}"
    caption = f"{name}, {period}: {activities_text(len(frame))} (every one; the box scrolls)"
    display(HTML(table_html(drill_display(frame), caption=caption)))


def show_drill_down(data: Any, rep_id: str, period: Any, *, freq: str = "W", types: Iterable[str] = ()) -> None:
    """Display every activity of ``rep_id`` in the period (``freq``) containing ``period``, in a scrollable
    table with a caption giving the rep's name, the period and the number of activities."""
    from IPython.display import HTML, display

    known = set(data.reps["rep_id"].astype(str))
    if rep_id not in known:
        display(HTML(f"<p><b>Unknown rep id {html.escape(repr(rep_id))}</b>; pick one of the reps table.</p>"))
        return
    frame = drill_down(data, rep_id, period, freq=freq, types=types)
    start = pd.Timestamp(period_start(pd.Series([pd.Timestamp(period)]), freq).iloc[0])
    name = rep_names(data, [rep_id])[0]
    caption = (
        f"{name}, {FREQ_WORDS[freq]} of {_fmt_day(start)}: {activities_text(len(frame))} (every one; the box scrolls)"
    )
    display(HTML(table_html(drill_display(frame), caption=caption)))
