"""Interactive exploration for sales coaches: the functions behind ``notebooks/explore.ipynb``.

Every view is a pure function of a :class:`coachkit.SalesData` and a selection (team,
reps, date range, frequency, KPI, activity types, keyword); :func:`view` computes them
all and :func:`show` displays them. The ipywidgets in :func:`controls` are only a thin
layer that calls :func:`show` through ``interactive_output``: ipywidgets swallows
exceptions raised in callbacks, so tests call these functions directly and the
notebook calls :func:`show` once itself for the default selection.

The activity-type filter applies to the activity views (heatmap, outcome mix, notes
search, drill-down); KPIs keep their own definitions (a connect rate is about calls
whatever the filter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import charts, schema
from .kpis import kpi_table, period_start, registry

__all__ = [
    "ALL_TEAMS",
    "Selection",
    "team_reps",
    "activities_view",
    "kpi_trend_frame",
    "rep_vs_team_frame",
    "heatmap_frame",
    "outcome_frame",
    "search_notes",
    "drill_down",
    "view",
    "show",
    "controls",
    "app",
]

#: The team choice meaning "every team".
ALL_TEAMS = "All teams"
#: KPIs compared rep against team (rates, with intervals).
REP_VS_TEAM_KPIS = ("connect_rate", "meeting_show_rate", "follow_up_24h_rate", "notes_coverage")
NOTE_COLUMNS = ["occurred_at", "rep_id", "name", "activity_type", "outcome", "notes"]
DRILL_COLUMNS = ["occurred_at", "activity_type", "direction", "outcome", "duration_s", "account_id", "deal_id", "notes"]


@dataclass(frozen=True)
class Selection:
    """What the coach picked. ``reps`` empty means every rep of ``team``; ``types`` empty means every type."""

    team: str = ALL_TEAMS
    reps: tuple[str, ...] = ()
    start: Any = None
    end: Any = None
    freq: str = "W"
    kpi: str = "activity_score"
    types: tuple[str, ...] = ()
    keyword: str = ""


def team_reps(data: Any, team: str | None = ALL_TEAMS) -> list[str]:
    """Rep ids of ``team`` (every rep for :data:`ALL_TEAMS` or None), sorted."""
    reps = data.reps
    if team not in (None, "", ALL_TEAMS):
        known = sorted(reps["team"].dropna().unique())
        if team not in known:
            raise ValueError(f"unknown team {team!r}; the dataset's teams are {known}")
        reps = reps[reps["team"] == team]
    return sorted(reps["rep_id"].dropna().astype(str))


def _chosen_reps(data: Any, team: str | None, reps: Iterable[str] | None) -> list[str]:
    members = team_reps(data, team)
    reps = list(reps or ())
    if not reps:
        return members
    unknown = [r for r in reps if r not in set(data.reps["rep_id"])]
    if unknown:
        raise ValueError(f"unknown rep id(s) {unknown}")
    return reps


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
    a = data.between(start, end).activities
    mask = a["rep_id"].isin(chosen)
    types = list(types or ())
    if types:
        mask &= a["activity_type"].isin(types)
    info = data.reps.drop_duplicates("rep_id").set_index("rep_id")[["name", "team"]]
    out = a[mask].join(info, on="rep_id")
    return out.sort_values(["occurred_at", "activity_id"], kind="stable").reset_index(drop=True)


def kpi_trend_frame(
    data: Any,
    kpi: str,
    *,
    freq: str = "W",
    team: str | None = ALL_TEAMS,
    reps: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, team): ``kpi`` per selected rep and period (kpi_table rows with ``n`` = denominator), and the
    median over the reps of ``team`` per period (``period_start``, ``value``, ``team_n``), as ``charts.kpi_trend``
    takes them. Periods are limited to ``start``..``end``; activities outside it are not counted."""
    if kpi not in registry:
        raise KeyError(f"unknown KPI {kpi!r}; known: {', '.join(registry)}")
    members = team_reps(data, team)
    chosen = _chosen_reps(data, team, reps)
    pool = sorted(set(members) | set(chosen))
    table = kpi_table(data.between(start, end), freq=freq, start=start, end=end, kpis=[kpi], reps=pool)
    table = table.assign(n=table["denominator"])
    rows = table[table["rep_id"].isin(chosen)].reset_index(drop=True)
    team_rows = table[table["rep_id"].isin(members)]
    med = team_rows.groupby("period_start", as_index=False)["value"].agg(value="median", team_n="count")
    return rows, med


def rep_vs_team_frame(
    data: Any,
    rep_ids: Sequence[str],
    *,
    team: str | None = ALL_TEAMS,
    start: Any = None,
    end: Any = None,
    kpis: Sequence[str] = REP_VS_TEAM_KPIS,
) -> pd.DataFrame:
    """Rate KPIs over the whole window for the selected reps together and for ``team``: ``label`` (KPI label),
    ``who`` (the rep's name, or ``"n reps"``, and ``"team"``), ``value`` = Σ numerator / Σ denominator,
    ``ci_low``/``ci_high`` (95% Wilson) and ``n`` = Σ denominator."""
    from .stats import wilson

    members = team_reps(data, team)
    pool = sorted(set(members) | set(rep_ids))
    table = kpi_table(data.between(start, end), freq="M", start=start, end=end, kpis=list(kpis), reps=pool)
    if len(rep_ids) == 1:
        name = data.reps.loc[data.reps["rep_id"] == rep_ids[0], "name"]
        who = str(name.iloc[0]) if len(name) and pd.notna(name.iloc[0]) else rep_ids[0]
    else:
        who = f"{len(rep_ids)} reps"
    parts = []
    for label, ids in ((who, list(rep_ids)), ("team", members)):
        s = table[table["rep_id"].isin(ids)].groupby("kpi", sort=False)[["numerator", "denominator"]].sum()
        s = s.reindex(list(kpis)).fillna(0.0)
        lo, hi = wilson(s["numerator"], s["denominator"])
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(s["denominator"] > 0, s["numerator"] / s["denominator"], np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "label": [registry[k].label for k in s.index],
                    "who": label,
                    "value": value,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": s["denominator"].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def heatmap_frame(activities: pd.DataFrame) -> pd.DataFrame:
    """Activities per local weekday (0 = Monday) and hour of day: ``weekday``, ``hour``, ``count`` (non-zero cells)."""
    t = activities["occurred_at"].dropna()
    out = pd.DataFrame({"weekday": t.dt.day_of_week, "hour": t.dt.hour}).value_counts().rename("count").reset_index()
    return out.sort_values(["weekday", "hour"], kind="stable").reset_index(drop=True).astype("int64")


def outcome_frame(activities: pd.DataFrame) -> pd.DataFrame:
    """Activities per type and outcome (a missing outcome is ``"not logged"``): ``activity_type``, ``outcome``,
    ``n``; types in the canonical order, outcomes by count within a type."""
    a = activities[["activity_type", "outcome"]].fillna({"outcome": "not logged"})
    out = a.value_counts().rename("n").reset_index()
    rank = {t: i for i, t in enumerate(schema.ACTIVITY_TYPES)}
    out["_r"] = out["activity_type"].map(rank).fillna(len(rank))
    out = out.sort_values(["_r", "n", "outcome"], ascending=[True, False, True], kind="stable")
    return out.drop(columns="_r").reset_index(drop=True).astype({"n": "int64"})


def search_notes(activities: pd.DataFrame, keyword: str, limit: int | None = 50) -> pd.DataFrame:
    """Activities whose notes contain ``keyword`` literally (case-insensitive; regex characters are plain
    text), newest first: ``occurred_at``, ``rep_id``, ``name``, ``activity_type``, ``outcome``, ``notes``.
    A blank keyword matches nothing. ``limit`` caps the rows (None: all)."""
    cols = [c for c in NOTE_COLUMNS if c in activities.columns]
    keyword = (keyword or "").strip()
    if not keyword:
        return activities.loc[[], cols].reset_index(drop=True)
    hit = activities["notes"].str.contains(keyword, case=False, regex=False).fillna(False).astype(bool)
    out = activities.loc[hit, cols].sort_values("occurred_at", ascending=False, kind="stable")
    return (out if limit is None else out.head(limit)).reset_index(drop=True)


def drill_down(
    data: Any, rep_id: str, period: Any, *, freq: str = "W", types: Iterable[str] | None = None
) -> pd.DataFrame:
    """Exactly the activities of ``rep_id`` in the calendar period (``freq`` D/W/M) containing ``period``,
    in time order (optionally only ``types``): what a KPI cell of that rep-period was computed from."""
    start = pd.Timestamp(period_start(pd.Series([pd.Timestamp(period)]), freq).iloc[0])
    a = data.activities
    mask = (a["rep_id"] == rep_id) & (period_start(a["occurred_at"], freq) == start)
    types = list(types or ())
    if types:
        mask &= a["activity_type"].isin(types)
    out = a.loc[mask].sort_values(["occurred_at", "activity_id"], kind="stable")
    return out[["activity_id", *DRILL_COLUMNS]].reset_index(drop=True)


def view(data: Any, sel: Selection) -> dict[str, Any]:
    """Every view of the selection: ``trend`` (chart), ``rep_vs_team`` (chart), ``heatmap``, ``outcomes``
    (charts), ``notes`` (frame), ``drill_down`` (frame: the first selected rep's latest period), and ``title``."""
    chosen = _chosen_reps(data, sel.team, sel.reps)
    focus = list(sel.reps) or chosen[:1]
    d = registry[sel.kpi]
    rows, med = kpi_trend_frame(data, sel.kpi, freq=sel.freq, team=sel.team, reps=focus, start=sel.start, end=sel.end)
    unit = "%" if d.kind == "rate" else d.unit
    out: dict[str, Any] = {
        "title": f"{sel.team}: {', '.join(focus)}; {sel.kpi} per {dict(D='day', W='week', M='month')[sel.freq]}",
        "trend": charts.kpi_trend(rows, title=d.label, unit=unit, team=med),
        "rep_vs_team": charts.rate_bars(
            rep_vs_team_frame(data, focus, team=sel.team, start=sel.start, end=sel.end), title="Rep against team"
        ),
    }
    acts = activities_view(data, team=sel.team, reps=focus, start=sel.start, end=sel.end, types=sel.types)
    out["heatmap"] = charts.weekday_hour_heatmap(heatmap_frame(acts))
    out["outcomes"] = charts.outcome_mix(outcome_frame(acts))
    out["notes"] = search_notes(acts, sel.keyword)
    last = rows.loc[rows["rep_id"] == focus[0], "period_start"].max() if len(rows) else pd.NaT
    out["drill_down"] = (
        drill_down(data, focus[0], last, freq=sel.freq, types=sel.types) if pd.notna(last) else pd.DataFrame()
    )
    return out


def show(data: Any, **selection: Any) -> None:
    """Display :func:`view` for a selection given as keyword arguments of :class:`Selection`."""
    from IPython.display import Markdown, display

    sel = Selection(**{k: tuple(v) if k in ("reps", "types") else v for k, v in selection.items()})
    v = view(data, sel)
    display(Markdown(f"**{v['title']}**"))
    for key in ("trend", "rep_vs_team", "heatmap", "outcomes"):
        display(v[key])
    display(Markdown(f"Notes containing {sel.keyword!r}: {len(v['notes'])} shown"))
    display(v["notes"])
    display(Markdown("Activities of the first rep's latest period (drill-down)"))
    display(v["drill_down"])


def controls(data: Any, sel: Selection) -> dict[str, Any]:
    """ipywidgets for each field of :class:`Selection`, initialised from ``sel`` (rep choices follow the team)."""
    import ipywidgets as w

    teams = [ALL_TEAMS, *sorted(data.reps["team"].dropna().unique())]
    types = list(data.playbook.activity_types or schema.ACTIVITY_TYPES)
    c = {
        "team": w.Dropdown(options=teams, value=sel.team, description="Team"),
        "reps": w.SelectMultiple(options=team_reps(data, sel.team), value=sel.reps, description="Reps"),
        "start": w.DatePicker(value=pd.Timestamp(sel.start).date() if sel.start else None, description="From"),
        "end": w.DatePicker(value=pd.Timestamp(sel.end).date() if sel.end else None, description="To"),
        "freq": w.ToggleButtons(options=[("day", "D"), ("week", "W"), ("month", "M")], value=sel.freq),
        "kpi": w.Dropdown(options=list(registry), value=sel.kpi, description="KPI"),
        "types": w.SelectMultiple(options=types, value=sel.types, description="Types"),
        "keyword": w.Text(value=sel.keyword, description="Notes", continuous_update=False),
    }

    def on_team(change: dict[str, Any]) -> None:
        c["reps"].value = ()
        c["reps"].options = team_reps(data, change["new"])

    c["team"].observe(on_team, names="value")
    return c


def app(data: Any, sel: Selection) -> Any:
    """The interactive explorer: :func:`controls` above the output of :func:`show`, wired with
    ``ipywidgets.interactive_output`` (the only widget logic; everything shown is computed by :func:`view`)."""
    import functools

    import ipywidgets as w

    c = controls(data, sel)
    out = w.interactive_output(functools.partial(show, data), c)
    rows = [
        w.HBox([c["team"], c["reps"], c["types"]]),
        w.HBox([c["start"], c["end"], c["freq"]]),
        w.HBox([c["kpi"], c["keyword"]]),
    ]
    return w.VBox([*rows, out])
