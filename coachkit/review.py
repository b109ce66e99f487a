"""The weekly per-rep review, section by section, as data: sentences, tables and charts.

Every section is a pure function of a :class:`~coachkit.SalesData`, a rep id and a
:class:`Window`, returning a :class:`Section`: an ordered list of parts (headings,
plain-language sentences, tables with raw ``frames`` behind them, Altair charts over
aggregated data). The notebook ``notebooks/rep_review.ipynb`` calls one function per
cell and shows the result with :func:`show`; :func:`section_html` is the escaped HTML.

The review reads like a coach's 1:1 pre-read: activities first, then their outcomes
and the feedback they earned; pipeline results last (monitored, not managed); it
ends on what to work on next week.

Definitions used throughout:

- **Window.** The ``weeks`` calendar weeks (Monday starts) up to and including the
  week of ``as_of``, ending on ``as_of`` (see :func:`review_window`). The **prior
  window** is the same span moved back ``7 × weeks`` days, so both hold the same
  weekdays. Data after ``as_of`` is never used: the review shows what was known then.
- **Team.** The reps of the same team *and* role as the rep (the rep included), as in
  :func:`coachkit.coaching.coaching_focus`. *Team median* is the median of those reps'
  window values (rates: Σ numerator / Σ denominator per rep; counts: the rep's weekly
  average × the reviewed rep's number of weeks). In charts, *team* is the other reps of
  that group pooled (Σ over them), so that it has one honest interval.
- **Rates** carry their n (the denominator) and a 95% Wilson interval; counts a 95%
  exact Poisson interval; the feedback score a 95% t interval.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from . import charts
from .batch import review_window as batch_window
from .coaching import FOCUS_DEFINITION, coaching_focus, focus_window, peer_groups
from .feedback import effort_feedback, feedback_themes
from .kpis import kpi_table, registry
from .stats import lagged_association, poisson_interval, wilson

__all__ = [
    "HEADLINE_KPIS",
    "Window",
    "Team",
    "Section",
    "Heading",
    "Text",
    "Table",
    "Chart",
    "resolve_path",
    "review_window",
    "team_tables",
    "header",
    "summary",
    "summary_sentences",
    "headline",
    "effort",
    "outcomes",
    "open_follow_ups",
    "follow_up",
    "notable_notes",
    "feedback",
    "history",
    "trends",
    "trend_sentence",
    "effort_vs_feedback",
    "pipeline",
    "focus",
    "focus_record",
    "previous_focus",
    "compare_focus",
    "definitions",
    "index_summary",
    "section_html",
    "show",
]

#: The headline KPIs of the summary and the team index, in reading order: effort, outcomes, feedback.
HEADLINE_KPIS: tuple[str, ...] = (
    "activity_score",
    "conversations",
    "connect_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
)

#: Every KPI the review computes per week for the team (one ``kpi_table`` call per window).
REVIEW_KPIS: tuple[str, ...] = (
    "activities",
    "calls",
    "meetings",
    "emails",
    "follow_ups",
    "active_days",
    "activity_score",
    "conversations",
    "connect_rate",
    "meeting_show_rate",
    "outcome_logged_rate",
    "follow_up_24h_rate",
    "notes_coverage",
    "feedback_score",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
)

#: What the n of each KPI counts, in words.
N_NOUNS: dict[str, str] = {
    "connect_rate": "calls",
    "meeting_show_rate": "meetings held or no-show",
    "outcome_logged_rate": "calls",
    "follow_up_24h_rate": "conversations with an account",
    "notes_coverage": "conversations",
    "feedback_score": "scored activities",
    "win_rate": "closed deals",
    "cycle_days": "won deals",
    "activity_score": "weeks",
}

#: Activity-type count KPI -> activity type.
TYPE_KPIS: dict[str, str] = {"calls": "call", "emails": "email", "meetings": "meeting", "follow_ups": "follow_up"}

_TOUCH_TYPES = ("call", "meeting", "email", "follow_up")
_NOTE_CHARS = 280


# ---------------------------------------------------------------- the parts of a section


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text (escaped when shown); ``kind`` ``note`` is shown smaller."""

    text: str
    kind: str = "p"


@dataclass(frozen=True)
class Table:
    """A display table (formatted strings, escaped when shown) with an optional caption."""

    frame: pd.DataFrame
    caption: str = ""
    header: bool = True


@dataclass(frozen=True)
class Chart:
    """An Altair chart over aggregated data."""

    chart: Any


@dataclass
class Section:
    """One review section: ``parts`` in display order, and the raw ``frames``/``values`` behind them."""

    key: str
    title: str
    parts: list[Any] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def sentences(self) -> list[str]:
        """The plain-language paragraphs of the section, in order."""
        return [p.text for p in self.parts if isinstance(p, Text)]

    @property
    def charts(self) -> list[Any]:
        """The charts of the section, in order."""
        return [p.chart for p in self.parts if isinstance(p, Chart)]

    @property
    def tables(self) -> list[pd.DataFrame]:
        """The display tables of the section, in order."""
        return [p.frame for p in self.parts if isinstance(p, Table)]

    def add(self, *parts: Any) -> Section:
        for p in parts:
            if p is None:
                continue
            if isinstance(p, str):
                p = Text(p)
            self.parts.append(p)
        return self


# ---------------------------------------------------------------- formatting


def _isnan(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def pct(x: Any) -> str:
    """A proportion as a whole percentage ("8%"); "–" when missing. Below 1% keeps one decimal."""
    if _isnan(x):
        return "–"
    v = 100 * float(x)
    return f"{v:.1f}%" if 0 < abs(v) < 1 else f"{v:.0f}%"


def num(x: Any, digits: int = 0) -> str:
    """A number with thousands separators ("1,234"); "–" when missing."""
    if _isnan(x):
        return "–"
    return f"{float(x):,.{digits}f}"


def rate_text(k: Any, n: Any, *, noun: str = "") -> str:
    """A rate with its n and 95% Wilson interval: "8% (12/150 calls, 95% CI 5–14%)"; "no data (n = 0)" when n is 0."""
    if _isnan(n) or float(n) <= 0:
        return f"no data (n = 0{' ' + noun if noun else ''})"
    lo, hi = (float(v) for v in wilson(k, n))
    what = f" {noun}" if noun else ""
    return f"{pct(float(k) / float(n))} ({num(k)}/{num(n)}{what}, 95% CI {_ci(lo, hi)})"


def _ci(lo: float, hi: float) -> str:
    a, b = pct(lo), pct(hi)
    return f"{a.rstrip('%')}–{b}" if a.endswith("%") and b.endswith("%") else f"{a}–{b}"


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%a %d %b %Y")


def _short_day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%a %d %b")


def _p(p: float) -> str:
    """A p-value as text: "p = 0.23", or "p < 0.01"."""
    return "p < 0.01" if p < 0.01 else f"p = {p:.2f}"


def _plural(n: float, word: str, plural: str | None = None) -> str:
    return f"{num(n)} {word if round(float(n)) == 1 else (plural or word + 's')}"


# ---------------------------------------------------------------- paths (for the notebook)


def resolve_path(path: str | Path) -> Path:
    """A dataset or playbook path given to the review notebook, made absolute.

    An absolute path is kept. A relative one is tried against the current directory (the batch
    and ``papermill`` run from wherever they are started), then against the repository's
    ``notebooks/`` folder (where Jupyter and ``pytest --nbval`` run the notebook), so that the
    default ``../data/sample`` works from both. The first that exists wins; else the path as given
    relative to the current directory (and loading it reports that it is missing).
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    for base in (Path.cwd(), Path(__file__).resolve().parents[1] / "notebooks"):
        if (base / p).exists():
            return (base / p).resolve()
    return (Path.cwd() / p).resolve()


# ---------------------------------------------------------------- window and team


@dataclass(frozen=True)
class Window:
    """The review window: ``start`` (a Monday, midnight) to ``end`` (``as_of``, whole day included)."""

    start: pd.Timestamp
    end: pd.Timestamp
    weeks: int

    @property
    def prior_start(self) -> pd.Timestamp:
        """First day of the prior window (``7 × weeks`` days earlier)."""
        return self.start - pd.Timedelta(days=7 * self.weeks)

    @property
    def prior_end(self) -> pd.Timestamp:
        """Last day of the prior window."""
        return self.end - pd.Timedelta(days=7 * self.weeks)

    @property
    def end_exclusive(self) -> pd.Timestamp:
        """Midnight after the last day."""
        return self.end + pd.Timedelta(days=1)

    @property
    def label(self) -> str:
        """E.g. "Mon 26 Oct – Fri 20 Nov 2026 (4 weeks)"."""
        span = _plural(self.weeks, "week")
        return f"{_short_day(self.start)} – {_day(self.end)} ({span})"

    @property
    def prior_label(self) -> str:
        """The prior window, e.g. "Mon 28 Sep – Fri 23 Oct 2026"."""
        return f"{_short_day(self.prior_start)} – {_day(self.prior_end)}"

    def working_days(self, playbook: Any, prior: bool = False) -> int:
        """Working days of the playbook in the window (or the prior window)."""
        s, e = (self.prior_start, self.prior_end) if prior else (self.start, self.end)
        return int(playbook.working_days_between([s], [e + pd.Timedelta(days=1)])[0])


def review_window(data: Any, as_of: Any = "", weeks: int = 4) -> Window:
    """The review window ending on ``as_of``: the ``weeks`` Monday-Sunday weeks up to and including
    the week of ``as_of``, cut at ``as_of`` (so the last week is partial when ``as_of`` is not a Sunday).

    ``as_of`` empty or None means the date of the latest activity in ``data``. The batch chooses reps
    and titles the index with the same window (:func:`coachkit.batch.review_window`).
    """
    start, end = batch_window(data.activities, as_of, weeks)
    return Window(start=start, end=end, weeks=int(weeks))


def _rep_row(data: Any, rep_id: str) -> pd.Series:
    rows = data.reps[data.reps["rep_id"] == rep_id]
    if rows.empty:
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    return rows.iloc[0]


def peers(data: Any, rep_id: str) -> list[str]:
    """The rep ids of the same team and role as ``rep_id`` (the rep included; a missing team/role matches missing).

    ``data``: a SalesData or its reps table.
    """
    key = peer_groups(data if isinstance(data, pd.DataFrame) else data.reps)
    if rep_id not in key.index:
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    return sorted(key.index[key == key[rep_id]].tolist())


@dataclass
class Team:
    """The team-level tables a review needs, computed once per notebook by :func:`team_tables`.

    ``this`` / ``prior``: weekly :func:`coachkit.kpi_table` rows of :data:`REVIEW_KPIS` for the
    peers over the window / prior window (data cut at each window's end). ``totals``: per
    window, rep and KPI, the window value with numerator, denominator and weeks.
    """

    rep_id: str
    peers: list[str]
    this: pd.DataFrame
    prior: pd.DataFrame
    totals: pd.DataFrame
    group: str

    def weekly(self, kpi: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``kpi`` by week over the prior and this window: the rep's rows, and per week the median
        ``value`` of the peers that have one (a rate with no denominator has none)."""
        both = pd.concat([self.prior, self.this], ignore_index=True)
        rows = both[both["kpi"] == kpi]
        mine = rows[rows["rep_id"] == self.rep_id]
        med = rows[rows["value"].notna()].groupby("period_start", as_index=False)["value"].median()
        return mine, med


def _aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Weekly KPI rows -> one row per (rep_id, kpi): the window value, numerator, denominator, weeks."""
    if table.empty:
        return pd.DataFrame(columns=["rep_id", "kpi", "value", "numerator", "denominator", "weeks"])
    g = table.groupby(["rep_id", "kpi"], observed=True, sort=False)
    out = g.agg(
        total=("value", "sum"),
        mean=("value", "mean"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        weeks=("period_start", "size"),
    ).reset_index()
    kinds = out["kpi"].map(lambda k: registry[k].kind if k in registry else "count")
    ratio = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    out["value"] = np.where(kinds.isin(["rate", "mean"]), ratio, np.where(kinds == "score", out["mean"], out["total"]))
    return out[["rep_id", "kpi", "value", "numerator", "denominator", "weeks"]]


def team_tables(data: Any, rep_id: str, window: Window) -> Team:
    """The weekly KPI tables of the rep's team (same team and role) for the window and the prior window."""
    group = peers(data, rep_id)
    me = _rep_row(data, rep_id)
    this = kpi_table(
        data.between(window.start, window.end), start=window.start, end=window.end, kpis=REVIEW_KPIS, reps=group
    )
    prior = kpi_table(
        data.between(window.prior_start, window.prior_end),
        start=window.prior_start,
        end=window.prior_end,
        kpis=REVIEW_KPIS,
        reps=group,
    )
    totals = pd.concat(
        [_aggregate(this).assign(window="this"), _aggregate(prior).assign(window="prior")], ignore_index=True
    )
    team, role = me.get("team"), me.get("role")
    label = " ".join(str(x) for x in (team, role) if not _isnan(x)) or "all reps"
    return Team(rep_id, group, this, prior, totals, f"{label}s" if not _isnan(role) else label)


def _team(data: Any, rep_id: str, window: Window, team: Team | None) -> Team:
    if team is not None and team.rep_id == rep_id:
        return team
    return team_tables(data, rep_id, window)


def _total(team: Team, kpi: str, which: str = "this", rep: str | None = None) -> pd.Series:
    """The rep's (default: the reviewed rep's) window row for ``kpi``; zeros/NaN when absent."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi) & (t["rep_id"] == (rep or team.rep_id))]
    if rows.empty:
        return pd.Series({"value": np.nan, "numerator": 0.0, "denominator": 0.0, "weeks": 0})
    return rows.iloc[0]


def _team_median(team: Team, kpi: str, which: str = "this") -> float:
    """Median over the peers of their window values (counts: weekly average × the reviewed rep's weeks)."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi)]
    kind = registry[kpi].kind
    if kind == "rate":
        rows = rows[rows["denominator"] > 0]
        vals = rows["numerator"] / rows["denominator"]
    elif kind == "count":
        weeks = float(_total(team, kpi, which)["weeks"])
        vals = rows["value"] / rows["weeks"].where(rows["weeks"] > 0) * weeks
    else:
        vals = rows["value"]
    vals = vals.dropna()
    return float(vals.median()) if len(vals) else np.nan


def _others(team: Team, kpi: str, which: str = "this") -> tuple[float, float]:
    """(Σ numerator, Σ denominator) of ``kpi`` over the other peers (rates), or (Σ value, 0) for counts."""
    t = team.totals
    rows = t[(t["window"] == which) & (t["kpi"] == kpi) & (t["rep_id"] != team.rep_id)]
    if registry[kpi].kind == "count":
        return float(rows["value"].sum()), 0.0
    return float(rows["numerator"].sum()), float(rows["denominator"].sum())


def _ramp_factors(pb: Any, week_starts: pd.Series, hired_at: Any) -> np.ndarray:
    if _isnan(hired_at):
        return np.ones(len(week_starts))
    days = (pd.to_datetime(week_starts) - pd.Timestamp(hired_at)).dt.days.to_numpy()
    return np.array([pb.ramp_factor(int(d // 7) + 1) for d in days], dtype="float64")


def _count_target(data: Any, rep_id: str, window: Window, kpi: str, prior: bool = False) -> float:
    """The role target of a count KPI over the window: Σ over its weeks of per-day target × working days in
    the window part of the week (per-week target × those days / 5) × the ramp factor of the tenure week."""
    me = _rep_row(data, rep_id)
    pb = data.playbook
    targets = pb.targets_for(me.get("role"))
    if kpi not in targets:
        return np.nan
    per, value = targets[kpi]
    start, end = (window.prior_start, window.prior_end) if prior else (window.start, window.end)
    weeks = pd.Series(pd.date_range(start, end, freq="7D"))
    lo = weeks.clip(lower=start)
    hi = (weeks + pd.Timedelta(days=7)).clip(upper=end + pd.Timedelta(days=1))
    hired = me.get("hired_at")
    left = me.get("left_at")
    if not _isnan(hired):
        lo = lo.clip(lower=pd.Timestamp(hired))
    if not _isnan(left):
        hi = hi.clip(upper=pd.Timestamp(left) + pd.Timedelta(days=1))
    ok = hi > lo
    if not ok.any():
        return 0.0
    work = pb.working_days_between(lo[ok], hi[ok]).astype("float64")
    ramp = _ramp_factors(pb, weeks[ok], hired)
    return float(np.sum(value * work * (1.0 if per == "day" else 0.2) * ramp))


def _rate_target(data: Any, rep_id: str, kpi: str) -> tuple[float, str]:
    """(target, what it is) of a rate KPI: the role target, else the playbook benchmark, else (NaN, "")."""
    pb = data.playbook
    targets = pb.targets_for(_rep_row(data, rep_id).get("role"))
    if kpi in targets:
        return targets[kpi][1], "role target"
    if kpi in pb.benchmarks:
        return float(pb.benchmarks[kpi]), "playbook benchmark"
    return np.nan, ""


def _window_acts(data: Any, rep_id: str, start: Any, end: Any) -> pd.DataFrame:
    a = data.activities
    m = (
        (a["rep_id"] == rep_id)
        & (a["occurred_at"] >= start)
        & (a["occurred_at"] < pd.Timestamp(end) + pd.Timedelta(days=1))
    )
    return a[m.to_numpy(dtype=bool, na_value=False)]


def _is_conversation(a: pd.DataFrame) -> pd.Series:
    t, o = a["activity_type"], a["outcome"]
    return (((t == "call") & (o == "connected")) | ((t == "meeting") & (o == "held"))).fillna(False).astype(bool)


# ---------------------------------------------------------------- 1. header


def header(data: Any, rep_id: str, window: Window) -> Section:
    """Who the rep is (name, team, role, manager, tenure), the window, and how fresh the data is."""
    me = _rep_row(data, rep_id)
    pb = data.playbook
    sec = Section("header", str(me.get("name")) if not _isnan(me.get("name")) else str(rep_id))
    hired = me.get("hired_at")
    if _isnan(hired):
        tenure = "hire date not recorded"
        tenure_week = None
    else:
        days = int((window.end - pd.Timestamp(hired)).days)
        tenure_week = days // 7 + 1
        if days < 0:
            tenure = f"starts {_day(hired)}"
        elif days < 7 * 26:
            tenure = f"week {tenure_week} (hired {_day(hired)})"
        else:
            years, months = divmod(int(days / 30.44), 12)
            parts = ([_plural(years, "year")] if years else []) + ([_plural(months, "month")] if months else [])
            tenure = f"{' '.join(parts)} (hired {_day(hired)})"
    ramp = pb.ramp_factor(tenure_week) if tenure_week else 1.0
    if tenure_week and ramp < 1:
        tenure += f"; ramping: targets this week are {pct(ramp)} of full"
    # the team's latest activity: the same whether the whole dataset or only the team was loaded
    acts = data.activities
    latest = acts.loc[acts["rep_id"].isin(peers(data, rep_id)), "occurred_at"].max()
    mine = acts.loc[acts["rep_id"] == rep_id, "occurred_at"]
    mine_before = mine[mine < window.end_exclusive]
    rep_latest = mine_before.max() if len(mine_before) else pd.NaT
    lag = (window.end - pd.Timestamp(latest).normalize()).days if not _isnan(latest) else None
    if _isnan(latest):
        fresh = "no activities for the team"
    elif lag is not None and lag > 0:
        fresh = f"the team's activities run to {pd.Timestamp(latest):%a %d %b %Y %H:%M}: {_plural(lag, 'day')} before the window ends"
    else:
        fresh = f"the team's activities run to {pd.Timestamp(latest):%a %d %b %Y %H:%M}"
    rows = [
        ("Rep", f"{'' if _isnan(me.get('name')) else me.get('name')} ({rep_id})"),
        ("Team", "–" if _isnan(me.get("team")) else str(me.get("team"))),
        ("Role", "–" if _isnan(me.get("role")) else str(me.get("role"))),
        ("Manager", "–" if _isnan(me.get("manager")) else str(me.get("manager"))),
        ("Tenure", tenure),
        ("Window", window.label),
        ("Compared with", f"the prior window {window.prior_label}"),
        ("Data", fresh),
        ("Rep's last activity", "none" if _isnan(rep_latest) else f"{pd.Timestamp(rep_latest):%a %d %b %Y %H:%M}"),
    ]
    if not _isnan(me.get("left_at")):
        rows.insert(5, ("Left", _day(me.get("left_at"))))
    if getattr(data, "warnings", None):
        rows.append(
            ("Data warnings", f"{len(data.warnings)} in the rows read for this review (`coachkit validate` lists all)")
        )
    frame = pd.DataFrame(rows, columns=["", "value"])
    sec.frames["header"] = frame
    sec.values.update(tenure_week=tenure_week, ramp=ramp, latest=latest, rep_latest=rep_latest)
    sec.add(Table(frame, header=False))
    return sec


# ---------------------------------------------------------------- 2. summary


def _scores(data: Any, rep_id: str, start: Any, end: Any) -> np.ndarray:
    a = _window_acts(data, rep_id, start, end)
    return a["feedback_score"].dropna().to_numpy(dtype="float64")


def _t_interval(x: np.ndarray) -> tuple[float, float]:
    if len(x) < 2:
        return np.nan, np.nan
    m, s = float(np.mean(x)), float(np.std(x, ddof=1))
    h = float(_st.t.ppf(0.975, len(x) - 1)) * s / math.sqrt(len(x))
    return m - h, m + h


def _change(kind: str, k1: float, n1: float, k2: float, n2: float, w1: float = 1.0, w2: float = 1.0) -> str:
    """'up', 'down' or 'same' for this window (k1 of n1) against the prior (k2 of n2), at the 5% level.

    Rates: two-proportion z-test. Counts (k only): exact binomial test of k1 given k1 + k2 with
    p = w1 / (w1 + w2), w the exposure (working days). Anything without data: ''.
    """
    if kind == "rate":
        if not (n1 > 0 and n2 > 0):
            return ""
        p = (k1 + k2) / (n1 + n2)
        if p in (0.0, 1.0):
            return "same"
        z = (k1 / n1 - k2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
        pval = 2 * _st.norm.sf(abs(z))
        diff = k1 / n1 - k2 / n2
    elif kind == "count":
        if k1 + k2 <= 0 or not (w1 > 0 and w2 > 0):
            return "" if k1 + k2 <= 0 and not (w1 > 0 and w2 > 0) else ("same" if k1 + k2 <= 0 else "")
        pval = _st.binomtest(int(round(k1)), int(round(k1 + k2)), w1 / (w1 + w2)).pvalue
        diff = k1 / w1 - k2 / w2
    else:
        raise ValueError(kind)
    if pval >= 0.05:
        return "same"
    return "up" if diff > 0 else "down"


def summary(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    team: Team | None = None,
    kpis: Sequence[str] = HEADLINE_KPIS,
    sentences: bool = True,
    focus_frame: pd.DataFrame | None = None,
    weekly: pd.DataFrame | None = None,
) -> Section:
    """The headline KPIs: this window, the prior window, the team median, the target, n and the interval.

    Frame ``summary`` has one row per KPI with ``kpi``, ``label``, ``kind``, ``value``, ``prior``,
    ``team_median``, ``target`` (role target, else playbook benchmark; activity score: 100),
    ``target_kind``, ``numerator``, ``n`` (rates: the denominator; counts: the count; feedback
    score: scored activities; activity score: weeks), ``ci_low``/``ci_high`` (Wilson, Poisson or t),
    ``prior_n``, ``change`` (``up``/``down``/``same`` at the 5% level, '' without data).
    With ``sentences``, :func:`summary_sentences` come first, then the longer trend of ``weekly``
    (:func:`history`) when given, and last next week's focus (``focus_frame``'s top area).
    """
    team = _team(data, rep_id, window, team)
    pb = data.playbook
    w1, w2 = window.working_days(pb), window.working_days(pb, prior=True)
    rows = []
    for k in kpis:
        d = registry[k]
        this, prior = _total(team, k), _total(team, k, "prior")
        row: dict[str, Any] = {"kpi": k, "label": d.label, "kind": d.kind, "unit": d.unit}
        row["team_median"] = _team_median(team, k)
        if d.kind == "rate":
            kk, n = float(this["numerator"]), float(this["denominator"])
            lo, hi = (float(v) for v in wilson(kk, n))
            target, tk = _rate_target(data, rep_id, k)
            row |= {"value": kk / n if n > 0 else np.nan, "numerator": kk, "n": n, "ci_low": lo, "ci_high": hi}
            row |= {"prior": prior["value"], "prior_n": float(prior["denominator"])}
            row |= {"target": target, "target_kind": tk}
            row["change"] = _change("rate", kk, n, float(prior["numerator"]), float(prior["denominator"]))
        elif d.kind == "count":
            kk = float(this["value"]) if not _isnan(this["value"]) else 0.0
            lo, hi = (float(v[0]) for v in poisson_interval([kk]))
            target = _count_target(data, rep_id, window, k)
            row |= {"value": kk, "numerator": kk, "n": kk, "ci_low": lo, "ci_high": hi}
            pk = float(prior["value"]) if not _isnan(prior["value"]) else 0.0
            row |= {
                "prior": pk,
                "prior_n": pk,
                "target": target,
                "target_kind": "role target" if not _isnan(target) else "",
            }
            row["change"] = _change("count", kk, 0, pk, 0, w1, w2)
        elif k == "feedback_score":
            s1, s2 = (
                _scores(data, rep_id, window.start, window.end),
                _scores(data, rep_id, window.prior_start, window.prior_end),
            )
            lo, hi = _t_interval(s1)
            row |= {
                "value": float(np.mean(s1)) if len(s1) else np.nan,
                "numerator": float(np.sum(s1)),
                "n": float(len(s1)),
            }
            row |= {"ci_low": lo, "ci_high": hi, "prior": float(np.mean(s2)) if len(s2) else np.nan}
            row |= {"prior_n": float(len(s2)), "target": np.nan, "target_kind": ""}
            if len(s1) >= 2 and len(s2) >= 2 and (np.std(s1) > 0 or np.std(s2) > 0):
                p = _st.ttest_ind(s1, s2, equal_var=False).pvalue
                row["change"] = "same" if p >= 0.05 else ("up" if s1.mean() > s2.mean() else "down")
            else:
                row["change"] = ""
        else:  # score / mean KPIs without an interval
            target = 100.0 if k == "activity_score" else np.nan
            row |= {"value": this["value"], "numerator": np.nan, "n": float(this["weeks"]), "ci_low": np.nan}
            row |= {"ci_high": np.nan, "prior": prior["value"], "prior_n": float(prior["weeks"])}
            row |= {"target": target, "target_kind": "on target" if k == "activity_score" else "", "change": ""}
        rows.append(row)
    frame = pd.DataFrame(rows)
    sec = Section("summary", "Summary")
    sec.frames["summary"] = frame
    if sentences:
        text = summary_sentences(frame, window, team_group=team.group)
        if weekly is not None and len(weekly):
            trend = trends(weekly)
            sec.frames["trend"] = trend
            text.append(trend_sentence(trend))
        if focus_frame is not None:
            text.append(next_week_sentence(focus_frame))
        sec.add(*text)
    sec.add(Table(_summary_display(frame, window), f"{window.label}, against the prior window {window.prior_label}"))
    sec.values["team_group"] = team.group
    return sec


def _fmt_value(kind: str, kpi: str, x: Any) -> str:
    if _isnan(x):
        return "–"
    if kind == "rate":
        return pct(x)
    if kind == "count":
        return num(x)
    if kpi == "activity_score":
        return f"{float(x):.0f}/100"
    return num(x, 1) if kpi == "feedback_score" else num(x, 1)


def _fmt_interval(kind: str, kpi: str, lo: Any, hi: Any) -> str:
    if _isnan(lo) or _isnan(hi):
        return "–"
    if kind == "rate":
        return _ci(lo, hi)
    if kind == "count":
        return f"{num(lo)}–{num(hi)}"
    return f"{num(lo, 1)}–{num(hi, 1)}"


def _fmt_n(kpi: str, kind: str, n: Any) -> str:
    if _isnan(n):
        return "–"
    noun = N_NOUNS.get(kpi, registry[kpi].unit if kind == "count" and kpi in registry else "")
    return f"{num(n)} {noun}".strip()


def _summary_display(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "KPI": frame["label"],
            "This window": [
                _fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["value"], strict=True)
            ],
            "95% interval": [
                _fmt_interval(k, kp, lo, hi)
                for k, kp, lo, hi in zip(frame["kind"], frame["kpi"], frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "n": [_fmt_n(kp, k, n) for kp, k, n in zip(frame["kpi"], frame["kind"], frame["n"], strict=True)],
            "Prior window": [
                _fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["prior"], strict=True)
            ],
            "Team median": [
                _fmt_value(k, kp, v) for k, kp, v in zip(frame["kind"], frame["kpi"], frame["team_median"], strict=True)
            ],
            "Target": [
                _fmt_value(k, kp, v) + (f" ({t})" if t and t != "on target" and not _isnan(v) else "")
                for k, kp, v, t in zip(frame["kind"], frame["kpi"], frame["target"], frame["target_kind"], strict=True)
            ],
        }
    )
    return out


def _versus(row: Mapping[str, Any]) -> str:
    """ "below the 10% playbook benchmark" when the interval excludes it, else "in line with ..."."""
    target = row.get("target")
    if _isnan(target) or not row.get("target_kind") or _isnan(row.get("value")):
        return ""
    kind, kpi = row["kind"], row["kpi"]
    what = f"the {row['target_kind']} of {_fmt_value(kind, kpi, target)}"
    if row["target_kind"] == "on target":
        what = "target (100)"
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if _isnan(lo) or _isnan(hi):
        lo = hi = row["value"]
        if abs(float(row["value"]) - float(target)) < 5:
            return f"around {what}"
    better = registry[kpi].higher_is_better
    if hi < target:
        return f"{'below' if better else 'better than'} {what}"
    if lo > target:
        return f"{'above' if better else 'worse than'} {what}"
    return f"in line with {what}"


def _since(row: Mapping[str, Any], window: Window) -> str:
    kind, kpi = row["kind"], row["kpi"]
    prior = _fmt_value(kind, kpi, row.get("prior"))
    span = f"the prior {_plural(window.weeks, 'week')}"
    ch = row.get("change")
    if ch == "up":
        return f"up from {prior} in {span}"
    if ch == "down":
        return f"down from {prior} in {span}"
    if ch == "same":
        return f"no clear change from {span} ({prior})"
    if _isnan(row.get("prior")):
        return f"no data for {span}"
    return f"{span}: {prior}"


def summary_sentences(
    frame: pd.DataFrame, window: Window, *, focus_frame: pd.DataFrame | None = None, team_group: str = "team"
) -> list[str]:
    """Plain-language sentences for the summary frame: effort, outcomes, feedback; then next week's focus."""
    rows = {r["kpi"]: r for r in frame.to_dict("records")}
    out: list[str] = []

    def tail(r: Mapping[str, Any]) -> str:
        bits = [b for b in (_versus(r), _since(r, window)) if b]
        med = r.get("team_median")
        if not _isnan(med):
            bits.append(f"{team_group} median {_fmt_value(r['kind'], r['kpi'], med)}")
        return "; ".join(bits)

    if "activity_score" in rows:
        r = rows["activity_score"]
        if _isnan(r["value"]):
            out.append("Effort: no activity score (no targets for this role, or no working days in the window).")
        else:
            out.append(
                f"Effort: activity score {r['value']:.0f}/100 against the role's targets "
                f"(100 = every target met, averaged over {_plural(r['n'], 'week')}); {tail(r)}."
            )
    if "conversations" in rows:
        r = rows["conversations"]
        ci = _fmt_interval("count", "conversations", r["ci_low"], r["ci_high"])
        out.append(f"Conversations: {num(r['value'])} in the window (95% CI {ci}); {tail(r)}.")
    for k in ("connect_rate", "follow_up_24h_rate", "notes_coverage", "meeting_show_rate", "outcome_logged_rate"):
        if k in rows:
            r = rows[k]
            text = rate_text(r["numerator"], r["n"], noun=N_NOUNS.get(k, ""))
            out.append(f"{r['label']} {text}; {tail(r)}.")
    if "feedback_score" in rows:
        r = rows["feedback_score"]
        if r["n"] > 0:
            ci = _fmt_interval("mean", "feedback_score", r["ci_low"], r["ci_high"])
            ci_text = f", 95% CI {ci}" if ci != "–" else ""
            out.append(
                f"Feedback score {r['value']:.1f} out of 5 ({_plural(r['n'], 'scored activity', 'scored activities')}"
                f"{ci_text}); {tail(r)}."
            )
        else:
            out.append("Feedback score: no scored activities in the window.")
    for k, r in rows.items():
        if k not in HEADLINE_KPIS and k not in ("meeting_show_rate", "outcome_logged_rate"):
            out.append(f"{r['label']} {_fmt_value(r['kind'], k, r['value'])}; {tail(r)}.")
    if focus_frame is not None:
        out.append(next_week_sentence(focus_frame))
    return out


def next_week_sentence(focus_frame: pd.DataFrame) -> str:
    """The closing sentence: the top focus area and its action, or that nothing is clearly behind."""
    if focus_frame is None or focus_frame.empty:
        return (
            "Next week: no KPI is clearly behind its benchmark once the numbers' uncertainty is allowed for; "
            "keep the rhythm and pick one habit from the sections below to sharpen."
        )
    top = focus_frame.iloc[0]
    more = len(focus_frame) - 1
    rest = f" (and {_plural(more, 'more area')} in section 9)" if more else ""
    return f"Next week: work on {str(top['label']).lower()}{rest}. {top['action']}"


def headline(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The summary frame as the headline records of the team index (``export.publish_summary``)."""
    out = []
    for r in frame.to_dict("records"):
        kind = r["kind"]
        fmt = "pct" if kind == "rate" else ("int" if kind in ("count", "score") else "float")
        item = {"key": r["kpi"], "label": r["label"], "value": r["value"], "format": fmt}
        if kind == "count":  # a count is its own n
            item |= {"low": r["ci_low"], "high": r["ci_high"]}
        elif kind == "rate" or r["kpi"] == "feedback_score":
            item |= {"low": r["ci_low"], "high": r["ci_high"], "n": r["n"]}
        out.append({k: (None if _isnan(v) else v) for k, v in item.items()})
    return out


# ---------------------------------------------------------------- 3. effort


def _daily_volume(data: Any, rep_id: str, window: Window) -> pd.DataFrame:
    """Per day of the window (working days, plus any other day with activity) and main activity type:
    count and the day's target (per-day target, or per-week target / 5, × ramp; NaN without one)."""
    pb = data.playbook
    me = _rep_row(data, rep_id)
    a = _window_acts(data, rep_id, window.start, window.end)
    days = pd.date_range(window.start, window.end, freq="D")
    work = pb.working_days_between(days, days + pd.Timedelta(days=1)) > 0
    if not _isnan(me.get("hired_at")):
        work &= days >= pd.Timestamp(me.get("hired_at"))
    if not _isnan(me.get("left_at")):
        work &= days <= pd.Timestamp(me.get("left_at"))
    counts = (
        a.assign(day=a["occurred_at"].dt.normalize())
        .groupby(["day", "activity_type"], observed=True)
        .size()
        .rename("count")
    )
    active = set(counts.index.get_level_values(0)) if len(counts) else set()
    keep = [d for d, w in zip(days, work, strict=True) if w or d in active]
    targets = pb.targets_for(me.get("role"))
    mondays = pd.Series([d - pd.Timedelta(days=d.weekday()) for d in keep])
    ramp = _ramp_factors(pb, mondays, me.get("hired_at")) if keep else np.array([])
    rows = []
    for kpi, t in TYPE_KPIS.items():
        tgt = targets.get(kpi)
        for i, d in enumerate(keep):
            is_work = bool(work[days.get_loc(d)])
            target = np.nan
            if tgt is not None:
                target = (tgt[1] if tgt[0] == "day" else tgt[1] / 5) * ramp[i] if is_work else 0.0
            rows.append({"period_start": d, "activity_type": t, "count": int(counts.get((d, t), 0)), "target": target})
    return pd.DataFrame(rows, columns=["period_start", "activity_type", "count", "target"])


def effort(data: Any, rep_id: str, window: Window, *, team: Team | None = None) -> Section:
    """Daily volume by activity type against target, the weekly trend, the mix against the team, active days,
    and the weekday x hour pattern."""
    team = _team(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("effort", "Effort")
    work_days = window.working_days(pb)
    me = _rep_row(data, rep_id)
    targets = pb.targets_for(me.get("role"))

    # volume per type against target
    rows = []
    for kpi, t in TYPE_KPIS.items():
        k = float(_total(team, kpi)["value"] or 0)
        target = _count_target(data, rep_id, window, kpi)
        med = _team_median(team, kpi)
        rows.append(
            {
                "type": t,
                "kpi": kpi,
                "count": k,
                "per_day": k / work_days if work_days else np.nan,
                "target": target,
                "target_per_day": target / work_days if work_days and not _isnan(target) else np.nan,
                "share_of_target": k / target if not _isnan(target) and target > 0 else np.nan,
                "team_median": med,
                "per": targets[kpi][0] if kpi in targets else "",
            }
        )
    vol = pd.DataFrame(rows)
    sec.frames["volume"] = vol
    texts = []
    for r in vol.to_dict("records"):
        label = registry[r["kpi"]].label.lower()
        if _isnan(r["target"]):
            texts.append(f"{num(r['count'])} {label} (team median {num(r['team_median'])})")
        else:
            texts.append(
                f"{num(r['count'])} {label} against a target of {num(r['target'])} "
                f"({pct(r['share_of_target'])}; team median {num(r['team_median'])})"
            )
    sec.add(f"In {_plural(work_days, 'working day')}: " + "; ".join(texts) + ".")
    disp = pd.DataFrame(
        {
            "Activity": [registry[k].label for k in vol["kpi"]],
            "This window": vol["count"].map(num),
            "Per working day": vol["per_day"].map(lambda x: num(x, 1)),
            "Target": [
                "–" if _isnan(t) else f"{num(t)} ({num(tp, 1)}/day)"
                for t, tp in zip(vol["target"], vol["target_per_day"], strict=True)
            ],
            "% of target": vol["share_of_target"].map(pct),
            "Team median": vol["team_median"].map(num),
        }
    )
    sec.add(Table(disp, "Volume by activity type (targets are ramp-adjusted for new hires)"))
    daily = _daily_volume(data, rep_id, window)
    sec.frames["daily"] = daily
    if len(daily):
        sec.add(Chart(charts.volume_vs_target(daily, title="Daily volume against target (tick = the day's target)")))

    # weekly trend: activity score over both windows, against the team median
    mine, med = team.weekly("activity_score")
    sec.frames["weekly_score"] = mine.reset_index(drop=True)
    if mine["value"].notna().any():
        sec.add(
            Chart(
                charts.kpi_trend(
                    mine[["period_start", "value"]],
                    title=f"Activity score by week, {2 * window.weeks} weeks (100 = every target met)",
                    unit="score",
                    target=100.0,
                    team=med,
                )
            )
        )
    # mix against the team
    mix = _mix(team)
    sec.frames["mix"] = mix
    if mix["n"].sum() > 0:
        sec.add(Chart(charts.mix_vs_team(mix, title=f"Activity mix: this rep against the other {team.group}")))
    # active days
    a = _window_acts(data, rep_id, window.start, window.end)
    days = a["occurred_at"].dt.normalize().drop_duplicates()
    on_work = int((pb.working_days_between(days, days + pd.Timedelta(days=1)) > 0).sum()) if len(days) else 0
    off = len(days) - on_work
    med_active = _team_median(team, "active_days")
    text = f"Active on {on_work} of {work_days} working days"
    text += f" (team median {num(med_active)} active days)" if not _isnan(med_active) else ""
    text += f", plus {_plural(off, 'non-working day')}." if off else "."
    sec.values.update(active_work_days=on_work, active_other_days=off, working_days=work_days)
    sec.add(text)
    # weekday x hour
    if len(a):
        heat = (
            pd.DataFrame({"weekday": a["occurred_at"].dt.day_of_week, "hour": a["occurred_at"].dt.hour})
            .value_counts()
            .rename("count")
            .reset_index()
        )
        sec.frames["weekday_hour"] = heat
        busiest = heat.sort_values("count", ascending=False).iloc[0]
        sec.add(
            Chart(charts.weekday_hour_heatmap(heat, title="When the activities happen (this window)")),
            Text(
                f"Busiest hour: {charts.WEEKDAYS[int(busiest['weekday'])]} {int(busiest['hour']):02d}:00 "
                f"({_plural(busiest['count'], 'activity', 'activities')}).",
                "note",
            ),
        )
    return sec


def _mix(team: Team) -> pd.DataFrame:
    t = team.totals
    t = t[(t["window"] == "this") & t["kpi"].isin(["activities", *TYPE_KPIS])]
    rows = []
    for who, mask in (
        ("this rep", t["rep_id"] == team.rep_id),
        (f"team: other {team.group}", t["rep_id"] != team.rep_id),
    ):
        s = t[mask].groupby("kpi")["value"].sum()
        total = float(s.get("activities", 0.0))
        if total <= 0:
            continue
        other = total - sum(float(s.get(k, 0.0)) for k in TYPE_KPIS)
        for kpi, typ in [*TYPE_KPIS.items(), ("other", "task")]:
            n = other if kpi == "other" else float(s.get(kpi, 0.0))
            rows.append({"who": who, "activity_type": typ if kpi != "other" else "other", "share": n / total, "n": n})
    return pd.DataFrame(rows, columns=["who", "activity_type", "share", "n"])


# ---------------------------------------------------------------- 4. outcomes


def _rate_rows(team: Team, kpis: Iterable[str]) -> pd.DataFrame:
    rows = []
    for k in kpis:
        this = _total(team, k)
        kk, n = float(this["numerator"]), float(this["denominator"])
        ok, on = _others(team, k)
        for who, a, b in (("this rep", kk, n), (f"team: other {team.group}", ok, on)):
            lo, hi = (float(v) for v in wilson(a, b))
            rows.append(
                {
                    "kpi": k,
                    "label": registry[k].label,
                    "who": who,
                    "value": a / b if b > 0 else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "k": a,
                    "n": b,
                }
            )
    return pd.DataFrame(rows)


def outcomes(data: Any, rep_id: str, window: Window, *, team: Team | None = None) -> Section:
    """What the effort produced: connect rate, meeting show rate, outcomes logged, the outcome mix and conversations."""
    team = _team(data, rep_id, window, team)
    sec = Section("outcomes", "Outcomes of the effort")
    a = _window_acts(data, rep_id, window.start, window.end)
    conv = _is_conversation(a)
    calls_conn = int((conv & (a["activity_type"] == "call")).sum())
    meets_held = int((conv & (a["activity_type"] == "meeting")).sum())
    total = calls_conn + meets_held
    med = _team_median(team, "conversations")
    sec.add(
        f"{_plural(total, 'conversation')}: {_plural(calls_conn, 'connected call')} and "
        f"{_plural(meets_held, 'held meeting')} (team median {num(med)})."
    )
    rates = _rate_rows(team, ["connect_rate", "meeting_show_rate", "outcome_logged_rate"])
    sec.frames["rates"] = rates
    for k in ("connect_rate", "meeting_show_rate", "outcome_logged_rate"):
        r = rates[(rates["kpi"] == k) & (rates["who"] == "this rep")].iloc[0]
        target, tk = _rate_target(data, rep_id, k)
        bench = f"; {tk} {pct(target)}" if tk else ""
        sec.add(
            f"{r['label']} {rate_text(r['k'], r['n'], noun=N_NOUNS[k])}; "
            f"team median {pct(_team_median(team, k))}{bench}."
        )
    if rates["n"].sum() > 0:
        sec.add(Chart(charts.rate_bars(rates, title="Rates with 95% intervals: this rep and the rest of the team")))
    # outcome mix
    sub = a[a["activity_type"].isin(["call", "meeting", "email"])]
    mix = (
        sub.assign(outcome=sub["outcome"].fillna("not logged"))
        .groupby(["activity_type", "outcome"], observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    sec.frames["outcome_mix"] = mix
    if len(mix):
        sec.add(Chart(charts.outcome_mix(mix, title="Outcomes by activity type (this window)")))
    # weekly connect rate over both windows
    mine, med_w = team.weekly("connect_rate")
    if (mine["denominator"] > 0).any():
        target, _ = _rate_target(data, rep_id, "connect_rate")
        top = np.nanmax([mine["ci_high"].max(), med_w["value"].max(), 0.0 if _isnan(target) else target])
        sec.add(
            Chart(
                charts.kpi_trend(
                    mine[["period_start", "value", "ci_low", "ci_high", "denominator"]],
                    title=f"Connect rate by week, {2 * window.weeks} weeks (n = calls with an outcome)",
                    unit="%",
                    target=None if _isnan(target) else target,
                    team=med_w,
                    rate_max=min(1.0, math.ceil(top * 1.1 / 0.05) * 0.05) if top > 0 else None,
                )
            )
        )
    return sec


# ---------------------------------------------------------------- 5. follow-up


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
    conv = a[_is_conversation(a).to_numpy() & (a["occurred_at"] >= lo).to_numpy()]
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


def _clip(text: Any, n: int = _NOTE_CHARS) -> str:
    if _isnan(text):
        return ""
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def follow_up(data: Any, rep_id: str, window: Window, *, team: Team | None = None, max_rows: int = 10) -> Section:
    """Follow-up within 24 h (rate, n, interval, against benchmark and team) and the accounts still waiting."""
    team = _team(data, rep_id, window, team)
    sec = Section("follow_up", "Follow-up discipline")
    this, prior = _total(team, "follow_up_24h_rate"), _total(team, "follow_up_24h_rate", "prior")
    target, tk = _rate_target(data, rep_id, "follow_up_24h_rate")
    row = {
        "kpi": "follow_up_24h_rate",
        "kind": "rate",
        "value": this["value"],
        "target": target,
        "target_kind": tk,
        "ci_low": float(wilson(this["numerator"], this["denominator"])[0]),
        "ci_high": float(wilson(this["numerator"], this["denominator"])[1]),
        "prior": prior["value"],
        "change": _change(
            "rate",
            float(this["numerator"]),
            float(this["denominator"]),
            float(prior["numerator"]),
            float(prior["denominator"]),
        ),
    }
    bits = [b for b in (_versus(row), _since(row, window)) if b]
    bits.append(f"team median {pct(_team_median(team, 'follow_up_24h_rate'))}")
    sec.add(
        f"Followed up within 24 hours after {rate_text(this['numerator'], this['denominator'], noun=N_NOUNS['follow_up_24h_rate'])}; "
        + "; ".join(bits)
        + "."
    )
    mine, med = team.weekly("follow_up_24h_rate")
    if (mine["denominator"] > 0).any():
        sec.add(
            Chart(
                charts.kpi_trend(
                    mine[["period_start", "value", "ci_low", "ci_high", "denominator"]],
                    title="Follow-up within 24 h by week (n = conversations with an account)",
                    unit="%",
                    target=None if _isnan(target) else target,
                    team=med,
                )
            )
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
            f"{_plural(n_open, 'account')} had a conversation in the window and no call, meeting, email or "
            f"follow-up since ({older} of them waiting a day or more by {_day(window.end)}). "
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
                        "What the buyer said": show_rows["note"].map(lambda s: _clip(s, 160) or "(no notes)"),
                    }
                ),
                "Accounts with a conversation and no follow-up yet",
            )
        )
    sec.values.update(open_accounts=n_open, waiting_a_day=older)
    return sec


# ---------------------------------------------------------------- 6. feedback


def _theme_matrix(notes: pd.Series, themes: Sequence[Any]) -> pd.DataFrame:
    s = notes.astype("str") if len(notes) else notes
    return pd.DataFrame(
        {t.name: s.str.contains(t.pattern, regex=True).fillna(False).astype(bool).to_numpy() for t in themes},
        index=notes.index,
    )


def notable_notes(activities: pd.DataFrame, themes: Sequence[Any], *, recent: int = 3) -> pd.DataFrame:
    """A few notable notes from conversations (one rep's, already cut to the window), to quote.

    The most recent note for each theme, keeping the ``recent`` most recent of those (one
    note per theme, newest first); then the lowest- and the highest-scored note (when scores
    exist and differ). A note is listed once. Columns: ``occurred_at``, ``activity_type``,
    ``account_id``, ``feedback_score``, ``themes`` (comma-separated), ``why``, ``note``
    (whitespace collapsed, clipped to 280 characters). Text is returned raw: escape it when
    showing it as HTML.
    """
    cols = ["occurred_at", "activity_type", "account_id", "feedback_score", "themes", "why", "note"]
    a = activities[_is_conversation(activities).to_numpy()]
    a = a[a["notes"].fillna("").astype(str).str.contains(r"\S", regex=True).to_numpy(dtype=bool)]
    if a.empty:
        return pd.DataFrame(columns=cols)
    a = a.sort_values("occurred_at", ascending=False, kind="stable")
    hits = _theme_matrix(a["notes"], themes)
    names = [t.name for t in themes]
    kinds = {t.name: t.kind for t in themes}
    picked: dict[Any, str] = {}
    per_theme = []
    for name in names:
        rows = hits.index[hits[name].to_numpy()]
        if len(rows):
            per_theme.append((a.at[rows[0], "occurred_at"], rows[0], name))
    per_theme.sort(key=lambda x: x[0], reverse=True)
    for _, idx, name in per_theme:
        if len(picked) >= recent:
            break
        label = "objection" if kinds[name] == "objection" else "buying signal"
        if idx not in picked:
            picked[idx] = f"latest {name.replace('_', ' ')} {label}"
    scored = a[a["feedback_score"].notna()]
    if len(scored):
        low = scored["feedback_score"].idxmin()
        high = scored["feedback_score"].idxmax()
        if scored.at[low, "feedback_score"] != scored.at[high, "feedback_score"]:
            for idx, why in ((low, "lowest score"), (high, "highest score")):
                picked[idx] = picked[idx] + "; " + why if idx in picked else why
    idx = list(picked)
    sel = a.loc[idx]
    theme_text = [", ".join(n.replace("_", " ") for n in names if hits.at[i, n]) for i in idx]
    return pd.DataFrame(
        {
            "occurred_at": sel["occurred_at"].to_numpy(),
            "activity_type": sel["activity_type"].to_numpy(),
            "account_id": sel["account_id"].to_numpy(),
            "feedback_score": sel["feedback_score"].to_numpy(dtype="float64"),
            "themes": theme_text,
            "why": [picked[i] for i in idx],
            "note": sel["notes"].map(_clip).to_numpy(),
        },
        columns=cols,
    )


def feedback(data: Any, rep_id: str, window: Window, *, team: Team | None = None) -> Section:
    """The feedback score trend, themes in the notes against the team, notes coverage, and notable notes."""
    team = _team(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("feedback", "Feedback")
    # notes coverage
    this, prior = _total(team, "notes_coverage"), _total(team, "notes_coverage", "prior")
    target, tk = _rate_target(data, rep_id, "notes_coverage")
    lo, hi = (float(v) for v in wilson(this["numerator"], this["denominator"]))
    row = {
        "kpi": "notes_coverage",
        "kind": "rate",
        "value": this["value"],
        "target": target,
        "target_kind": tk,
        "ci_low": lo,
        "ci_high": hi,
        "prior": prior["value"],
        "change": _change(
            "rate",
            float(this["numerator"]),
            float(this["denominator"]),
            float(prior["numerator"]),
            float(prior["denominator"]),
        ),
    }
    bits = [b for b in (_versus(row), _since(row, window)) if b] + [
        f"team median {pct(_team_median(team, 'notes_coverage'))}"
    ]
    sec.add(
        f"Notes written after {rate_text(this['numerator'], this['denominator'], noun=N_NOUNS['notes_coverage'])}; "
        + "; ".join(bits)
        + "."
    )
    # score trend
    mine, med = team.weekly("feedback_score")
    s1 = _scores(data, rep_id, window.start, window.end)
    if len(s1):
        lo_s, hi_s = _t_interval(s1)
        ci_text = f", 95% CI {lo_s:.1f}–{hi_s:.1f}" if not _isnan(lo_s) else ""
        sec.add(
            f"Feedback score {np.mean(s1):.1f} out of 5 over {_plural(len(s1), 'scored activity', 'scored activities')}"
            f"{ci_text}; team median {num(_team_median(team, 'feedback_score'), 1)}."
        )
    else:
        sec.add("No scored activities in the window.")
    if (mine["denominator"] > 0).any():
        sec.add(
            Chart(
                charts.kpi_trend(
                    mine[["period_start", "value", "denominator"]],
                    title=f"Feedback score by week, {2 * window.weeks} weeks (1–5; n = scored activities)",
                    unit="score 1–5",
                    team=med,
                )
            )
        )
    # themes against the team
    th = feedback_themes(data.between(window.start, window.end), start=window.start, end=window.end, reps=team.peers)
    if len(th) and len(pb.themes):
        agg = th.groupby(["rep_id", "theme", "kind"], observed=True, sort=False).agg(
            count=("count", "sum"), with_notes=("with_notes", "sum")
        )
        agg = agg.reset_index()
        # with_notes repeats per theme; it is per rep-week, so summing over weeks per theme is right
        rows = []
        for who, mask in (
            ("this rep", agg["rep_id"] == rep_id),
            (f"team: other {team.group}", agg["rep_id"] != rep_id),
        ):
            g = agg[mask].groupby(["theme", "kind"], observed=True, sort=False)[["count", "with_notes"]].sum()
            for (theme, kind), r in g.iterrows():
                lo_t, hi_t = (float(v) for v in wilson(r["count"], r["with_notes"]))
                rows.append(
                    {
                        "kind": "objections" if kind == "objection" else "buying signals",
                        "theme": str(theme).replace("_", " "),
                        "who": who,
                        "value": r["count"] / r["with_notes"] if r["with_notes"] > 0 else np.nan,
                        "ci_low": lo_t,
                        "ci_high": hi_t,
                        "n": float(r["with_notes"]),
                        "count": float(r["count"]),
                    }
                )
        themes_frame = pd.DataFrame(rows)
        sec.frames["themes"] = themes_frame
        mine_t = themes_frame[themes_frame["who"] == "this rep"]
        n_notes = float(mine_t["n"].iloc[0]) if len(mine_t) else 0.0
        if 0 < n_notes < pb.min_n:
            sec.add(
                f"Only {_plural(n_notes, 'conversation')} with notes in the window: too few to compare themes "
                f"with the team (the playbook asks for at least {pb.min_n})."
            )
        elif n_notes > 0:
            top = mine_t.sort_values("count", ascending=False).head(3)
            top = top[top["count"] > 0]
            if len(top):
                listed = ", ".join(
                    f"{t['theme']} {pct(t['value'])} ({num(t['count'])}/{num(t['n'])})" for t in top.to_dict("records")
                )
                sec.add(f"Most frequent themes in this rep's notes: {listed}.")
            sec.add(
                Chart(charts.theme_shares(themes_frame, title="Themes: share of notes that mention each (n = notes)"))
            )
        else:
            sec.add("No notes on conversations in the window, so no themes to compare.")
    # notable notes
    acts = _window_acts(data, rep_id, window.start, window.end)
    notes = notable_notes(acts, pb.themes)
    sec.frames["notes"] = notes
    if len(notes):
        sec.add(Heading("Notable notes"))
        sec.add(
            Table(
                pd.DataFrame(
                    {
                        "When": pd.to_datetime(notes["occurred_at"]).dt.strftime("%a %d %b %H:%M"),
                        "Account": notes["account_id"],
                        "Why quoted": notes["why"],
                        "Score": notes["feedback_score"].map(lambda x: "–" if _isnan(x) else f"{x:.0f}"),
                        "Note": notes["note"].map(lambda s: f"“{s}”"),
                    }
                )
            )
        )
    return sec


# ---------------------------------------------------------------- 7. effort <-> feedback


def _strength(rho: float) -> str:
    r = abs(rho)
    return "no visible" if r < 0.1 else ("a weak" if r < 0.3 else ("a moderate" if r < 0.5 else "a strong"))


def association_sentence(x_label: str, y_label: str, row: Mapping[str, Any]) -> str:
    """One exploratory sentence for a ``lagged_association`` row (always with n and wording that does not claim cause)."""
    lag = int(row["lag"])
    when = "in the same week" if lag == 0 else f"{_plural(lag, 'week')} later"
    n = int(row["n"])
    if _isnan(row.get("rho")):
        return f"{x_label} and {y_label} {when}: not enough to say ({row.get('reason') or 'no data'}; n = {n} weeks)."
    rho, p = float(row["rho"]), float(row["p_value"])
    direction = "higher" if rho > 0 else "lower"
    head = f"{_strength(rho)} relation" if abs(rho) >= 0.1 else "no visible relation"
    if abs(rho) >= 0.1:
        head += f": weeks with more {x_label.lower()} tended to have {direction} {y_label.lower()} {when}"
    else:
        head += f" between {x_label.lower()} and {y_label.lower()} {when}"
    chance = "could well be chance" if p >= 0.05 else "unlikely to be chance alone, but not proof of cause"
    return f"{head[0].upper()}{head[1:]} (Spearman ρ = {rho:+.2f}, n = {n} weeks, permutation {_p(p)}; {chance})."


def history(data: Any, rep_id: str, window: Window, weeks: int = 12) -> pd.DataFrame:
    """The rep's last ``weeks`` calendar weeks up to the window's end (at least the window and the prior
    window), one row per week: :func:`coachkit.feedback.effort_feedback` on the data cut at the end."""
    weeks = max(int(weeks), 2 * window.weeks)
    start = window.start - pd.Timedelta(days=7 * (weeks - window.weeks))
    return effort_feedback(data.between(start, window.end), rep_id, start=start, end=window.end)


#: Weekly series whose trend the summary describes: column -> words.
TREND_SERIES: dict[str, str] = {
    "activities": "activities",
    "conversations": "conversations",
    "connect_rate": "connect rate",
    "feedback_score": "feedback score",
}


def trends(weekly: pd.DataFrame, series: Mapping[str, str] = TREND_SERIES) -> pd.DataFrame:
    """Monotonic trend of each weekly series over the weeks of ``weekly`` (oldest first): Spearman ρ of the
    value against the week number, with n (weeks with a value) and a permutation p-value
    (:func:`coachkit.stats.lagged_association` at lag 0); ``direction`` is ``rising``/``falling`` when
    p < 0.05, else ``steady`` (``unknown`` when ρ cannot be computed)."""
    w = weekly.sort_values("period_start")
    rows = []
    for col, words in series.items():
        y = w[col].to_numpy(dtype="float64")
        r = lagged_association(np.arange(len(y), dtype="float64"), y, lags=(0,), n_perm=2000).iloc[0]
        if _isnan(r["rho"]):
            direction = "unknown"
        elif r["p_value"] < 0.05:
            direction = "rising" if r["rho"] > 0 else "falling"
        else:
            direction = "steady"
        rows.append({"series": col, "words": words, "rho": r["rho"], "p_value": r["p_value"], "n": int(r["n"])})
        rows[-1]["direction"] = direction
    return pd.DataFrame(rows, columns=["series", "words", "rho", "p_value", "n", "direction"])


def trend_sentence(trend: pd.DataFrame) -> str:
    """One sentence on the longer trend, e.g. "Over the last 12 weeks: activities rising (ρ = +0.71, ...)"."""
    if trend.empty:
        return ""
    weeks = int(trend["n"].max())
    bits = []
    for r in trend.to_dict("records"):
        if r["direction"] == "unknown":
            bits.append(f"{r['words']}: too few weeks to say")
            continue
        what = {"rising": "rising", "falling": "falling", "steady": "no clear trend"}[r["direction"]]
        bits.append(f"{r['words']} {what} (ρ = {r['rho']:+.2f}, n = {r['n']}, {_p(r['p_value'])})")
    return f"Over the last {_plural(weeks, 'week')} (Spearman ρ against time, exploratory): " + "; ".join(bits) + "."


def effort_vs_feedback(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    history_weeks: int = 12,
    lags: Sequence[int] = (0, 1),
    weekly: pd.DataFrame | None = None,
) -> Section:
    """How the rep's weekly effort relates to the feedback it earned, over the last ``history_weeks``
    weeks (at least the window and the prior window): weekly activities against the feedback score in
    the same week and ``lags`` weeks later, and against the connect rate in the same week. Exploratory:
    Spearman ρ with n and a permutation p-value (:func:`coachkit.stats.lagged_association`)."""
    sec = Section("effort_vs_feedback", "Effort and feedback")
    ef = weekly if weekly is not None else history(data, rep_id, window, history_weeks)
    sec.frames["weekly"] = ef
    x = ef.set_index("period_start")["activities"].where(lambda s: s > 0)
    results = []
    for y_name, y_label, y_lags in (
        ("feedback_score", "feedback score", lags),
        ("connect_rate", "connect rate", (0,)),
    ):
        y = ef.set_index("period_start")[y_name]
        res = lagged_association(x, y, lags=y_lags, n_perm=2000).assign(outcome=y_name)
        results.append(res)
        for r in res.to_dict("records"):
            sec.add(association_sentence("activities", y_label, r))
    assoc = pd.concat(results, ignore_index=True)
    sec.frames["association"] = assoc
    sec.add(
        Text(
            "Exploratory: a few weeks of one rep's data, weeks are not independent, and several relations "
            "are looked at; use these as questions for the 1:1, not conclusions.",
            "note",
        )
    )
    plot = ef.assign(n=ef["feedback_n"])[["period_start", "activities", "feedback_score", "n"]]
    if plot[["activities", "feedback_score"]].notna().all(axis=1).sum() >= 2:
        sec.add(
            Chart(
                charts.scatter_effort_feedback(
                    plot,
                    "activities",
                    "feedback_score",
                    title="Weekly activities and feedback score",
                    x_title="activities in the week",
                    y_title="feedback score (1–5)",
                )
            )
        )
    disp = pd.DataFrame(
        {
            "Week of": pd.to_datetime(ef["period_start"]).dt.strftime("%d %b"),
            "Activities": ef["activities"].map(num),
            "Conversations": ef["conversations"].map(num),
            "Connect rate (n)": [
                "–" if _isnan(v) else f"{pct(v)} ({num(n)})"
                for v, n in zip(ef["connect_rate"], ef["connect_n"], strict=True)
            ],
            "Feedback score (n)": [
                "–" if _isnan(v) else f"{v:.1f} ({num(n)})"
                for v, n in zip(ef["feedback_score"], ef["feedback_n"], strict=True)
            ],
            "Notes coverage": ef["notes_coverage"].map(pct),
            "Top theme": ef["top_theme"].map(lambda s: "–" if _isnan(s) else str(s).replace("_", " ")),
        }
    )
    sec.add(Table(disp, f"The last {_plural(len(ef), 'week')}, week by week"))
    return sec


# ---------------------------------------------------------------- 8. pipeline


def pipeline(data: Any, rep_id: str, window: Window, *, team: Team | None = None) -> Section:
    """Deals created, pipeline created, win rate, sales cycle and deals by stage: monitored, not managed."""
    team = _team(data, rep_id, window, team)
    pb = data.playbook
    sec = Section("pipeline", "Pipeline (monitored, not managed)")
    created, prior_created = _total(team, "deals_created"), _total(team, "deals_created", "prior")
    amount = _total(team, "pipeline_created")
    win, cyc = _total(team, "win_rate"), _total(team, "cycle_days")
    sec.add(
        f"{_plural(float(created['value'] or 0), 'deal')} created in the window (prior window "
        f"{num(prior_created['value'] or 0)}; team median {num(_team_median(team, 'deals_created'))}), "
        f"worth {num(amount['value'] or 0)} in total."
    )
    if float(win["denominator"]) > 0:
        sec.add(
            f"Win rate {rate_text(win['numerator'], win['denominator'], noun='deals closed in the window')}; "
            f"team median {pct(_team_median(team, 'win_rate'))}."
        )
    else:
        sec.add(f"Win rate: no deals closed in the window (team median {pct(_team_median(team, 'win_rate'))}).")
    if float(cyc["denominator"]) > 0:
        sec.add(
            f"Sales cycle of the deals won in the window: {num(cyc['value'])} days on average "
            f"(n = {_plural(cyc['denominator'], 'deal')}; team median {num(_team_median(team, 'cycle_days'))} days)."
        )
    d = data.deals[data.deals["rep_id"] == rep_id]
    created_by = d["created_at"] < window.end_exclusive
    open_then = created_by & (d["closed_at"].isna() | (d["closed_at"] >= window.end_exclusive))
    closed_in = d["closed_at"].notna() & (d["closed_at"] >= window.start) & (d["closed_at"] < window.end_exclusive)
    stages = list(pb.stage_names)
    closed_names = {s.name for s in pb.stages if s.is_closed}
    open_stage = d.loc[open_then, "stage"].where(~d.loc[open_then, "stage"].isin(closed_names), "stage not recorded")
    counts = pd.concat(
        [
            open_stage.fillna("stage not recorded").map(lambda s: f"open: {s}"),
            d.loc[closed_in, "is_won"].map({True: "won in window", False: "lost in window"}).dropna(),
        ]
    ).value_counts()
    order = [f"open: {s}" for s in stages if s not in closed_names] + ["open: stage not recorded"]
    order += ["won in window", "lost in window"]
    order += [s for s in counts.index if s not in order]
    funnel = pd.DataFrame({"stage": order, "n": [int(counts.get(s, 0)) for s in order]})
    funnel = funnel[
        (funnel["n"] > 0) | funnel["stage"].str.startswith("open: ") & ~funnel["stage"].eq("open: stage not recorded")
    ]
    funnel = funnel.reset_index(drop=True)
    sec.frames["stages"] = funnel
    if funnel["n"].sum() > 0:
        sec.add(
            Chart(
                charts.stage_funnel(
                    funnel.assign(conversion=np.nan),
                    title=f"Deals open on {_day(window.end)} by stage, and closed in the window",
                )
            )
        )
    return sec


# ---------------------------------------------------------------- 9. focus


def focus_as_of(playbook: Any, end: Any) -> pd.Timestamp:
    """The day coaching focus is judged to: the Sunday of ``end``'s week when no working day of that week is
    left after ``end`` (e.g. a Friday in a Mon-Fri team), else ``end`` itself (then the week in progress is
    not judged, see :func:`coachkit.coaching.focus_window`)."""
    end = pd.Timestamp(end).normalize()
    sunday = end + pd.Timedelta(days=6 - end.weekday())
    left = int(playbook.working_days_between([end + pd.Timedelta(days=1)], [sunday + pd.Timedelta(days=1)])[0])
    return sunday if left == 0 else end


def focus_record(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Focus areas as JSON-ready records (kpi, label, value, n, benchmark, benchmark_value, evidence, action),
    stored in the review summary so that the next review can compare."""
    keep = ["kpi", "label", "kind", "value", "n", "benchmark", "benchmark_value", "evidence", "action"]
    out = []
    for r in frame.to_dict("records"):
        out.append(
            {
                k: (None if _isnan(r.get(k)) else (float(r[k]) if isinstance(r[k], float | np.floating) else r[k]))
                for k in keep
            }
        )
    return out


def previous_focus(summary: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(focus records, window) from a previous review's summary (``export.read_summary``); empty when absent."""
    if not summary:
        return [], {}
    items = summary.get("focus") or []
    good = [dict(i) for i in items if isinstance(i, Mapping) and i.get("kpi")]
    win = summary.get("window") if isinstance(summary.get("window"), Mapping) else {}
    return good, dict(win)


def compare_focus(previous: Sequence[Mapping[str, Any]] | None, current: pd.DataFrame) -> pd.DataFrame:
    """Compare the previous review's focus areas with the current ones, by KPI.

    ``status``: ``kept`` (in both), ``new`` (only now), ``resolved`` (only before: no longer
    among the focus areas, because it is no longer clearly behind or others now rank higher). Columns ``kpi``, ``label``, ``status``, ``previous_value``, ``value``,
    ``previous_evidence``, ``evidence``; current areas first in their rank order, then the
    resolved ones in their previous order.
    """
    prev = {str(p["kpi"]): p for p in previous or [] if p.get("kpi")}
    rows = []
    now = set()
    for r in current.to_dict("records"):
        k = str(r["kpi"])
        now.add(k)
        p = prev.get(k)
        rows.append(
            {
                "kpi": k,
                "label": r["label"],
                "status": "kept" if p else "new",
                "previous_value": np.nan if p is None or p.get("value") is None else float(p["value"]),
                "value": float(r["value"]),
                "previous_evidence": "" if p is None else str(p.get("evidence") or ""),
                "evidence": str(r["evidence"]),
            }
        )
    for k, p in prev.items():
        if k in now:
            continue
        rows.append(
            {
                "kpi": k,
                "label": str(p.get("label") or k),
                "status": "resolved",
                "previous_value": np.nan if p.get("value") is None else float(p["value"]),
                "value": np.nan,
                "previous_evidence": str(p.get("evidence") or ""),
                "evidence": "",
            }
        )
    cols = ["kpi", "label", "status", "previous_value", "value", "previous_evidence", "evidence"]
    return pd.DataFrame(rows, columns=cols)


def focus(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    previous: Sequence[Mapping[str, Any]] | None = None,
    previous_window: Mapping[str, Any] | None = None,
) -> Section:
    """Coaching focus for next week (:func:`coachkit.coaching.coaching_focus`), compared with the previous review.

    Judged on the full weeks up to :func:`focus_as_of`; data after the window's end is not used.
    ``previous``: the previous review's :func:`focus_record` list (None: no previous review).
    """
    sec = Section("focus", "Coaching focus for next week")
    as_of = focus_as_of(data.playbook, window.end)
    cut = data.between(None, window.end)
    frame = coaching_focus(cut, rep_id, as_of, window.weeks)
    first, last = focus_window(as_of, window.weeks)
    sec.frames["focus"] = frame
    sec.values["focus_window"] = (first, last)
    if first != window.start:
        sec.add(
            Text(
                f"Judged on the full weeks {_short_day(first)} – {_day(min(last, window.end))}; "
                "a week still in progress is not judged.",
                "note",
            )
        )
    if frame.empty:
        sec.add(next_week_sentence(frame))
    else:
        for i, r in enumerate(frame.to_dict("records"), 1):
            lead = (
                "Leading: the rep can change this next week."
                if r["kind"] == "leading"
                else ("Lagging: a result that follows the activities weeks later.")
            )
            sec.add(Heading(f"{i}. {r['label']}"))
            sec.add(f"{r['evidence']} {lead}")
            sec.add(f"Suggested action: {r['action']}")
    if previous is not None:
        cmp = compare_focus(previous, frame)
        sec.frames["comparison"] = cmp
        when = ""
        if previous_window and previous_window.get("start") and previous_window.get("end"):
            when = f" ({previous_window['start']} to {previous_window['end']})"
        groups = {s: cmp.loc[cmp["status"] == s, "label"].tolist() for s in ("kept", "new", "resolved")}
        if cmp.empty:
            sec.add(f"The previous review{when} had no focus areas either.")
        else:
            parts = []
            if groups["kept"]:
                parts.append("still a focus: " + ", ".join(groups["kept"]))
            if groups["new"]:
                parts.append("new: " + ", ".join(groups["new"]))
            if groups["resolved"]:
                parts.append("no longer among the focus areas: " + ", ".join(groups["resolved"]))
            sec.add(Heading("Compared with the previous review"))
            sec.add(f"Against the previous review{when}: " + "; ".join(parts) + ".")
            sec.add(
                Table(
                    pd.DataFrame(
                        {
                            "Area": cmp["label"],
                            "Status": cmp["status"],
                            "Then": cmp["previous_evidence"].replace("", "–"),
                            "Now": cmp["evidence"].replace("", "–"),
                        }
                    )
                )
            )
    else:
        sec.add(Text("No previous review of this rep in the output folder to compare with.", "note"))
    return sec


# ---------------------------------------------------------------- 10. definitions


#: Terms used in the review that are not KPIs, with their definitions.
TERMS: dict[str, str] = {
    "Conversation": "A call with outcome connected or a meeting with outcome held.",
    "Window": "The review's calendar weeks (Monday to Sunday) up to and including the week of the as-of day, "
    "ending on the as-of day. The prior window is the same span 7 × weeks days earlier.",
    "Team": "The reps of the same team and role (the rep included). Team median: the median of their window "
    "values (counts: weekly average × this rep's weeks). In charts, 'team: other …' pools the other reps.",
    "No follow-up yet": "An account with a conversation in the window on which the rep logged no call, meeting, "
    "email or follow-up (any outcome) after the latest such conversation, up to the end of the window.",
    "Intervals": "95%: Wilson score interval for rates, exact Poisson (Garwood) for counts, t interval for the "
    "mean feedback score. 'Up'/'down' against the prior window means a difference at the 5% level "
    "(two-proportion z test, exact binomial test on counts, Welch t test on scores); otherwise 'no clear change'.",
    "Theme share": "Conversations whose notes match a playbook theme's keywords (whole words, any case) / "
    "conversations with notes.",
    "Trend": "Spearman ρ of a weekly value against the week number over the last weeks, with a permutation "
    "p-value: 'rising'/'falling' when p < 0.05, else 'no clear trend'. Exploratory.",
    "Focus area": FOCUS_DEFINITION,
}


def definitions(kpis_shown: Iterable[str]) -> Section:
    """Every KPI shown, with its exact definition from the KPI registry, then the review's other terms."""
    names = [k for k in dict.fromkeys(kpis_shown) if k in registry]
    frame = pd.DataFrame(
        {
            "KPI": [registry[k].label for k in names],
            "Name": names,
            "Unit": [registry[k].unit for k in names],
            "Definition": [registry[k].definition for k in names],
        }
    )
    terms = pd.DataFrame({"Term": list(TERMS), "Definition": list(TERMS.values())})
    sec = Section("definitions", "Definitions")
    sec.frames["kpis"] = frame
    sec.frames["terms"] = terms
    sec.add(Table(frame), Table(terms))
    return sec


#: The KPIs whose values the review shows (for :func:`definitions`).
SHOWN_KPIS: tuple[str, ...] = (
    *HEADLINE_KPIS,
    "calls",
    "emails",
    "meetings",
    "follow_ups",
    "activities",
    "active_days",
    "meeting_show_rate",
    "outcome_logged_rate",
    "deals_created",
    "pipeline_created",
    "win_rate",
    "cycle_days",
)


# ---------------------------------------------------------------- the index record


def index_summary(
    data: Any, rep_id: str, window: Window, summary_frame: pd.DataFrame, focus_frame: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The review's record for the team index and the next review: rep, window, headline KPIs, focus."""
    me = _rep_row(data, rep_id)

    def text(v: Any) -> str:
        return "" if _isnan(v) else str(v)

    out = {
        "rep_id": rep_id,
        "name": text(me.get("name")),
        "team": text(me.get("team")),
        "role": text(me.get("role")),
        "window": {"start": window.start.date().isoformat(), "end": window.end.date().isoformat()},
        "headline": headline(summary_frame),
        "focus": focus_record(focus_frame) if focus_frame is not None else [],
    }
    if focus_frame is not None:
        out["headline"].append(
            {
                "key": "focus",
                "label": "Focus next week",
                "value": ", ".join(focus_frame["label"].astype(str)) or "none",
                "format": "text",
            }
        )
    return out


# ---------------------------------------------------------------- showing a section


_CSS = (
    "<style>.ck-note{color:#555;font-size:0.9em}.ck-caption{color:#444;font-style:italic;margin:0.2em 0}"
    "table.coachkit-table td,table.coachkit-table th{text-align:left;padding:0.25em 0.6em;vertical-align:top}"
    "</style>"
)


def _esc(text: str) -> str:
    """Escape text for an HTML text node (quotes need no escaping outside attributes)."""
    return _html.escape(text, quote=False)


def _part_html(part: Any) -> str:
    esc = _esc
    if isinstance(part, Heading):
        return f"<h3>{esc(part.text)}</h3>"
    if isinstance(part, Text):
        cls = ' class="ck-note"' if part.kind == "note" else ""
        return f"<p{cls}>{esc(part.text)}</p>"
    if isinstance(part, Table):
        cap = f'<p class="ck-caption">{esc(part.caption)}</p>' if part.caption else ""
        body = part.frame.to_html(
            escape=True, index=False, header=part.header, border=0, na_rep="–", classes="coachkit-table"
        )
        return cap + body
    return ""


def section_html(section: Section, *, level: int = 2) -> str:
    """The section's heading, sentences and tables as HTML (charts left out); every text is escaped."""
    out = [f"<h{level}>{_esc(section.title)}</h{level}>"]
    out += [_part_html(p) for p in section.parts if not isinstance(p, Chart)]
    return "\n".join(out)


def show(section: Section, *, level: int = 2, number: int | None = None) -> None:
    """Display ``section`` in a notebook: escaped HTML for text and tables, charts as SVG.

    A chart is shown as the ``image/svg+xml`` output Altair's ``svg`` renderer gives (with the same
    ``text/plain``), drawn by :func:`coachkit.charts.to_svg`, which skips re-validating the spec.
    """
    from IPython.display import HTML, display

    title = f"{number}. {section.title}" if number is not None else section.title
    buf = [_CSS, f"<h{level}>{_esc(title)}</h{level}>"]
    for p in section.parts:
        if isinstance(p, Chart):
            if buf:
                display(HTML("\n".join(buf)))
                buf = []
            display({"image/svg+xml": charts.to_svg(p.chart), "text/plain": repr(p.chart)}, raw=True)
        else:
            buf.append(_part_html(p))
    if buf:
        display(HTML("\n".join(buf)))
