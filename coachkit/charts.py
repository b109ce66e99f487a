"""Every chart coachkit shows, as pure functions from small *aggregated* frames to Altair charts.

Conventions shared by all functions:

- Inputs are aggregated tables (one row per rep-week, weekday-hour, stage...), never raw
  activities. Each function validates its columns (``ValueError`` naming the missing ones) and
  refuses more than :data:`MAX_ROWS` rows, so Altair's ``MaxRowsError`` cannot happen.
- Rates are proportions in 0..1 with ``value``, ``ci_low``, ``ci_high`` and ``n`` (the
  denominator). ``n`` may be given as ``denominator`` (the KPI table), ``value`` as ``rate``
  (``stats.funnel_limits``) or ``mean`` (``stats.shrink``). Every rate chart shows its interval
  and puts n in the tooltip, and as a text label where it fits.
- The data is embedded inline in the spec (only the columns used), and the coachkit theme
  (:data:`CONFIG`) is embedded as the chart's ``config``: a chart is self-contained and renders
  the same in any process (papermill, nbconvert, ``vl_convert``), whatever theme is enabled.
  Configured charts cannot be concatenated by Altair; use :func:`combine` instead.
- Activity types always get the same colour (:func:`activity_colour`); team and benchmark
  series are neutral grey.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from altair.utils.data import to_values
from altair.utils.schemapi import debug_mode

from coachkit.chart_display import (
    VEGALITE_MIME,
    enable_interactive,
    enable_svg,
    mimebundle,
    offline_jupyter_charts,
    spec_bundle,
    to_svg,
)
from coachkit.schema import ACTIVITY_TYPES

__all__ = [
    "MAX_ROWS",
    "CONFIG",
    "ACTIVITY_COLOURS",
    "OUTCOME_COLOURS",
    "NOT_LOGGED",
    "TEAM_GREY",
    "REP_COLOUR",
    "WEEKDAYS",
    "activity_colour",
    "outcome_colour",
    "outcome_order",
    "use_theme",
    "enable_svg",
    "to_svg",
    "VEGALITE_MIME",
    "spec_bundle",
    "mimebundle",
    "enable_interactive",
    "PICK",
    "offline_jupyter_charts",
    "combine",
    "kpi_trend",
    "volume_vs_target",
    "mix_vs_team",
    "weekday_hour_heatmap",
    "outcome_mix",
    "rate_bars",
    "theme_shares",
    "funnel_plot",
    "stage_funnel",
    "ramp_curves",
    "scatter_effort_feedback",
    "lag_association",
    "scorecard",
]

#: Charts take aggregated data: a frame with more rows than this is refused.
MAX_ROWS = 5000

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
ACTIVITY_COLOURS: dict[str, str] = {
    "call": "#0072B2",
    "meeting": "#E69F00",
    "email": "#009E73",
    "follow_up": "#CC79A7",
    "task": "#D55E00",
    "note": "#56B4E9",
}
_EXTRA_COLOURS = ("#882255", "#44AA99", "#999933", "#AA4499", "#117733", "#661100")

#: The label of a missing outcome in outcome charts.
NOT_LOGGED = "not logged"
#: One colour per canonical outcome, the same in every chart, whatever the activity type, the selection or the
#: rep (the explorer's outcome mix and the reviews' share it). Successes are blues and greens, misses warm
#: colours, neutral outcomes muted; a missing outcome is light grey. All 17 are distinct, so that one legend can
#: hold every type's outcomes. Colours from Okabe & Ito (2008) and Paul Tol's "muted" scheme.
OUTCOME_COLOURS: dict[str, str] = {
    "connected": "#0072B2",
    "no_answer": "#E69F00",
    "voicemail": "#CC79A7",
    "busy": "#DDCC77",
    "wrong_number": "#882255",
    "gatekeeper": "#AA4499",
    "held": "#009E73",
    "no_show": "#D55E00",
    "rescheduled": "#999933",
    "canceled": "#CC6677",
    "scheduled": "#44AA99",
    "sent": "#88CCEE",
    "replied": "#332288",
    "bounced": "#661100",
    "completed": "#117733",
    "other": "#6F6F6F",
    NOT_LOGGED: "#D9D9D9",
}
_EXTRA_OUTCOME_COLOURS = ("#F0E442", "#A6761D", "#1B9E77", "#E7298A", "#66A61E", "#7570B3", "#56B4E9", "#B15928")
#: Series colours (reps, cohorts, outcomes), in order.
CATEGORICAL = ("#332288", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#882255", "#999933", "#44AA99")
REP_COLOUR = CATEGORICAL[0]
TEAM_GREY = "#8C8C8C"
INK = "#222222"
#: Series whose name starts with one of these are drawn as the neutral benchmark.
BENCHMARK_WORDS = ("team", "peer", "earlier", "benchmark", "all reps")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FONT = "'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif"
_AXIS = {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "labelColor": "#333333"}

#: The coachkit theme, embedded in every chart as its ``config``.
CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None, "continuousWidth": 460, "continuousHeight": 220},
    "axis": {
        **_AXIS,
        "titleColor": "#333333",
        "gridColor": "#E8E8E8",
        "domainColor": "#888888",
        "tickColor": "#888888",
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal", "symbolOpacity": 1},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 14, "anchor": "start", "color": INK, "subtitleFontSize": 11, "subtitleColor": "#555555"},
    "range": {"category": list(CATEGORICAL)},
    "text": {"fontSize": 10, "color": "#333333"},
}


# ---- theme, renderer, composition --------------------------------------------------------------


def _unvalidated(build: Callable[..., Any]) -> Callable[..., Any]:
    """Build a chart without Altair's validation of every object as it is created (debug mode).

    That validation costs more than building the chart; the charts' specs are validated by
    their tests, and ``chart.to_dict()`` still validates the whole spec.
    """

    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with debug_mode(False):
            return build(*args, **kwargs)

    return wrapper


def activity_colour(activity_type: str) -> str:
    """The fixed colour of an activity type; playbook-specific types get a stable hashed colour."""
    if activity_type in ACTIVITY_COLOURS:
        return ACTIVITY_COLOURS[activity_type]
    return _EXTRA_COLOURS[zlib.crc32(str(activity_type).encode()) % len(_EXTRA_COLOURS)]


def outcome_colour(outcome: str) -> str:
    """The fixed colour of an outcome (:data:`OUTCOME_COLOURS`); a playbook's extra outcome gets a stable hashed one."""
    if outcome in OUTCOME_COLOURS:
        return OUTCOME_COLOURS[outcome]
    return _EXTRA_OUTCOME_COLOURS[zlib.crc32(str(outcome).encode()) % len(_EXTRA_OUTCOME_COLOURS)]


def outcome_order(outcomes: Iterable[str]) -> list[str]:
    """Distinct ``outcomes`` in the canonical taxonomy's order (:data:`OUTCOME_COLOURS`), then others
    alphabetically, :data:`NOT_LOGGED` last: the same stacking and legend order in every chart."""
    seen = {str(o) for o in outcomes if pd.notna(o)}
    canon = [o for o in OUTCOME_COLOURS if o in seen and o != NOT_LOGGED]
    rest = sorted(seen - set(OUTCOME_COLOURS))
    return canon + rest + ([NOT_LOGGED] if NOT_LOGGED in seen else [])


def _outcome_scale(outcomes: Iterable[str]) -> alt.Scale:
    domain = outcome_order(outcomes)
    return alt.Scale(domain=domain, range=[outcome_colour(o) for o in domain])


def use_theme() -> None:
    """Register and enable the coachkit theme for ad-hoc charts written in notebooks (idempotent).

    coachkit's own charts embed :data:`CONFIG` already and do not need this.
    """
    if "coachkit" not in alt.theme.names():
        alt.theme.register("coachkit", enable=False)(lambda: {"config": CONFIG})
    alt.theme.enable("coachkit")


@_unvalidated
def combine(*charts: alt.TopLevelMixin, columns: int = 1) -> alt.ConcatChart:
    """Lay out coachkit charts in a grid of ``columns`` columns, with the theme applied once."""
    parts = []
    for chart in charts:
        part = chart.copy(deep=False)
        part.config = alt.Undefined
        parts.append(part)
    # each chart keeps its own colour meaning (activity types, outcomes, reps)
    return _finish(alt.concat(*parts, columns=columns).resolve_scale(color="independent"))


# ---- private helpers -----------------------------------------------------------------------------

_ALIASES = {"n": ("denominator",), "value": ("rate", "mean")}


def _frame(df: pd.DataFrame, required: Iterable[str], optional: Iterable[str] = (), *, what: str) -> pd.DataFrame:
    """Validate ``df`` for chart ``what`` and return a copy holding only the chart's columns."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"{what}: {len(df):,} rows is more than the {MAX_ROWS:,} a chart takes; charts take aggregated "
            "data (e.g. one row per rep-week), never raw activities: aggregate first"
        )
    out = df.copy()
    for name, aliases in _ALIASES.items():
        alias = next((a for a in aliases if a in out.columns), None)
        if name not in out.columns and alias is not None:
            out = out.rename(columns={alias: name})
    required = list(required)
    missing = [c for c in required if c not in out.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; it needs {', '.join(required)}")
    keep = required + [c for c in optional if c in out.columns and c not in required]
    return out[keep].reset_index(drop=True)


#: Data for ``facet()``, which requires some; :func:`_finish` replaces it with the rows.
_LATER = alt.InlineData(values=[])


def _data(df: pd.DataFrame) -> alt.InlineData:
    """The rows inline in the spec (independent of Altair's data transformer).

    Called while building a chart (:func:`_unvalidated`): Altair does not check every row against
    the schema at construction.
    """
    return alt.InlineData(values=to_values(df)["values"])


def _finish(
    chart: Any,
    title: str | None = None,
    subtitle: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    **props: Any,
) -> Any:
    """The finished chart: title, ``props`` (e.g. ``height``), coachkit's config and (``data``) the rows.

    One shallow copy with attributes set on it, the same spec as ``.properties(...)``: each
    ``properties``/``copy`` of a layered chart makes Altair deep-copy every layer twice. The rows
    go in last, at the top of the chart (``facet`` moves a layer's data there too), so that no
    copy carries them.
    """
    chart = chart.copy(deep=False)
    if title is not None or subtitle is not None:
        chart.title = alt.Title(text=title or "", subtitle=subtitle or alt.Undefined)
    for key, value in props.items():
        setattr(chart, key, value)
    chart.config = alt.Config(**CONFIG)
    if data is not None:
        chart.data = _data(data)
    return chart


def _n_label(n: pd.Series) -> pd.Series:
    """``n=1,234`` per value (a missing n is 0); an empty series gives an empty text series."""
    counts = pd.to_numeric(n, errors="coerce").fillna(0).round().astype("int64")
    return pd.Series([f"n={v:,}" for v in counts.tolist()], index=n.index, dtype="object")


def _order(values: Iterable[Any], preferred: Sequence[str] = ()) -> list[Any]:
    """Distinct values: those in ``preferred`` first in its order, then the rest in order of appearance."""
    seen = list(dict.fromkeys(v for v in values if pd.notna(v)))
    return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]


def _activity_scale(types: Iterable[str]) -> alt.Scale:
    domain = _order(types, ACTIVITY_TYPES)
    return alt.Scale(domain=domain, range=[activity_colour(t) for t in domain])


def _series_scale(names: Iterable[Any]) -> alt.Scale:
    """Benchmark-like series (team, earlier hires) in grey, others in the categorical palette."""
    domain, colours, i = _order(names), [], 0
    for name in domain:
        if str(name).strip().lower().startswith(BENCHMARK_WORDS):
            colours.append(TEAM_GREY)
        else:
            colours.append(CATEGORICAL[i % len(CATEGORICAL)])
            i += 1
    return alt.Scale(domain=domain, range=colours)


def _fmt(unit: str) -> str:
    return ".0%" if unit == "%" else ",.2~f"


def _tips(*fields: tuple[str, str, str], unit: str = "%", df: pd.DataFrame | None = None) -> list[alt.Tooltip]:
    """Tooltips from (field, type, title); rate fields (value, ci_*) get ``unit``'s format; skip absent fields."""
    out = []
    for field, kind, title in fields:
        if df is not None and field not in df.columns:
            continue
        fmt = {"value": _fmt(unit), "ci_low": _fmt(unit), "ci_high": _fmt(unit), "raw": _fmt(unit), "n": ","}.get(field)
        fmt = fmt if kind == "quantitative" else ("%a %d %b %Y" if kind == "temporal" else None)
        out.append(alt.Tooltip(field, type=kind, title=title, format=fmt or alt.Undefined))
    return out


_RATE_TIPS = (("value", "quantitative", "rate"), ("ci_low", "quantitative", "95% low"))
_RATE_TIPS += (("ci_high", "quantitative", "95% high"), ("n", "quantitative", "n"))


def _rate_axis(unit: str, title: str | None = None) -> dict[str, Any]:
    if unit == "%":
        return {"scale": alt.Scale(domain=[0, 1]), "axis": alt.Axis(format="%"), "title": title or "rate"}
    return {"title": title or unit}


def _interval_layers(
    y: alt.Y,
    colour: alt.Color | alt.ColorValue,
    unit: str,
    extra_tips: Sequence[tuple[str, str, str]],
    df: pd.DataFrame,
    scale: alt.Scale | None = None,
) -> alt.LayerChart:
    """Horizontal interval (ci_low..ci_high) + point (value) + ``n=`` label per row (data comes from the parent)."""
    axis = _rate_axis(unit)
    if scale is not None:
        axis["scale"] = scale
    tips = _tips(*extra_tips, *_RATE_TIPS, unit=unit, df=df)
    base = alt.Chart().encode(y=y, color=colour, tooltip=tips)
    offset = {"yOffset": alt.YOffset("who:N", sort=_order(df["who"]))} if "who" in df.columns else {}
    rule = base.mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", **axis), x2=alt.X2("ci_high:Q"), **offset)
    point = base.mark_point(filled=True, size=70, opacity=1).encode(x=alt.X("value:Q", **axis), **offset)
    text = base.mark_text(align="left", dx=6, color="#555555").encode(
        x=alt.X("label_x:Q"), text=alt.Text("n_label:N"), **offset
    )
    return alt.layer(rule, point, text)


def _with_rate_labels(d: pd.DataFrame) -> pd.DataFrame:
    d = d.assign(n_label=_n_label(d["n"]))
    return d.assign(label_x=d["ci_high"].fillna(d["value"]).fillna(0.0))


# ---- effort ---------------------------------------------------------------------------------------


#: Name of the point selection :func:`kpi_trend` adds with ``select=True``: fields ``rep_id`` and ``period``
#: (the period's first day as ``YYYY-MM-DD`` text, the same in every browser timezone).
PICK = "pick"


def _zoomed_rate_scale(d: pd.DataFrame) -> alt.Scale:
    """A rate axis from 0 to just above the data (its values and interval tops), never past 100%.

    A connect rate of 3-12% is drawn on 0-15%, not on 0-100%. The top is the largest of ``value`` and
    ``ci_high`` rounded up to the next 5% (or 1% below 10%), so that the axis does not change with every
    selection; an all-missing frame gets 0-100%.
    """
    cols = [c for c in ("value", "ci_high") if c in d.columns]
    top = pd.to_numeric(d[cols].stack(), errors="coerce").max() if cols and len(d) else float("nan")
    if pd.isna(top) or top <= 0:
        return alt.Scale(domain=[0, 1])
    step = 0.01 if top < 0.1 else 0.05
    top = min(1.0, float(np.ceil(round(top / step, 9)) * step))
    return alt.Scale(domain=[0, max(top, step)], clamp=True)


@_unvalidated
def kpi_trend(
    df: pd.DataFrame,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    team: pd.DataFrame | None = None,
    rate_max: float | None = None,
    zoom: bool = False,
    team_label: str = "team median",
    period: str = "week of",
    select: bool = False,
) -> alt.LayerChart:
    """A KPI over time: a line per rep with its interval band, the team median and the target.

    ``df``: ``period_start`` (date), ``value``; optional ``rep_id`` (one line per rep), ``name`` (the
    rep's name, shown instead of the id), ``ci_low``, ``ci_high``, ``n``, ``partial`` (bool: a period the
    data or the window covers only in part, drawn as a hollow point and said so in the tooltip) and
    ``days`` (days of the period covered, for that tooltip); ``period`` titles the date in the tooltip. ``unit`` ``"%"`` means a rate in 0..1;
    rates require ``ci_low``, ``ci_high`` and ``n`` (n is labelled under each point for one rep and up to
    16 periods; counts and means carry no n label, their n is in the tooltip when given).
    ``team``: ``period_start``, ``value`` (the team median), drawn as a grey dashed line named
    ``team_label``; optional ``team_n`` (reps behind each median, in the tooltip). ``target``: a
    horizontal rule. KPI-table rows can be passed as they are. ``rate_max``: the top of a rate axis
    (default 100%), e.g. 0.2 so that connect rates of a few percent are readable; ``zoom``: the rate
    axis runs from 0 to just above the data instead (:func:`_zoomed_rate_scale`). ``select``: clicking a
    point selects it, as the point selection :data:`PICK` over ``rep_id`` and ``period`` (for
    ``altair.JupyterChart``, whose ``selections.pick`` then names the rep-period clicked).
    """
    rate = ["ci_low", "ci_high", "n"] if unit == "%" else []
    optional = ["rep_id", "name", "ci_low", "ci_high", "n", "partial", "days"]
    d = _frame(df, ["period_start", "value", *rate], optional, what="kpi_trend")
    if "rep_id" in d.columns:
        d["rep_id"] = d["rep_id"].astype("str")
        names = d["name"] if "name" in d.columns else pd.Series(pd.NA, index=d.index)
        d["series"] = names.where(names.notna(), d["rep_id"]).astype("str")
    else:
        d["series"] = "rep"
    d["is_team"] = False
    if "partial" in d.columns:
        d["partial"] = d["partial"].fillna(False).astype(bool)
    if team is not None:
        t = _frame(team, ["period_start", "value"], ["team_n"], what="kpi_trend team")
        d = pd.concat([d, t.assign(series=team_label, is_team=True)], ignore_index=True)
    if "partial" in d.columns:
        d["partial"] = d["partial"].astype("boolean").fillna(False).astype(bool)
    d = d.drop(columns=["name"], errors="ignore")
    colour = alt.Color("series:N", scale=_series_scale(d["series"]), title=None)
    axis = _rate_axis(unit)
    if unit == "%" and zoom:
        axis["scale"] = _zoomed_rate_scale(d)
    elif unit == "%" and rate_max is not None:
        axis["scale"] = alt.Scale(domain=[0, float(rate_max)], clamp=True)
    y = alt.Y("value:Q", **axis)
    tip_fields = [("series", "nominal", "series"), ("period_start", "temporal", period)]
    tips = _tips(*tip_fields, *_RATE_TIPS, unit=unit, df=d)
    if "partial" in d.columns:
        d["coverage"] = np.where(d["partial"], "partial period", "whole period")
        if "days" in d.columns:
            days = pd.to_numeric(d["days"], errors="coerce")
            covered = [f"partial period: {int(v)} days covered" if pd.notna(v) else "partial period" for v in days]
            d["coverage"] = np.where(d["partial"], covered, "whole period")
        tips.append(alt.Tooltip("coverage:N", title="coverage"))
    team_tips = _tips(*tip_fields, ("value", "quantitative", "median"), unit=unit)
    if "team_n" in d.columns:
        team_tips.append(alt.Tooltip("team_n:Q", title="reps in the median"))
    monthly = period.startswith("month")
    x_axis = alt.Axis(format="%b %Y", tickCount="month") if monthly else alt.Axis(format="%d %b")
    x = alt.X("period_start:T", title=None, axis=x_axis)
    base = alt.Chart().encode(x=x, color=colour)
    dash = alt.StrokeDashValue([1, 0], condition={"test": "datum.is_team", "value": [5, 3]})
    layers = [base.mark_line(strokeWidth=2).encode(y=y, strokeDash=dash)]
    if "ci_low" in d.columns and "ci_high" in d.columns:
        band = base.mark_area(opacity=0.18).encode(y=alt.Y("ci_low:Q"), y2=alt.Y2("ci_high:Q"))
        layers.insert(0, band.transform_filter("!datum.is_team && isValid(datum.ci_low) && isValid(datum.ci_high)"))
    if "partial" in d.columns:  # hollow (white) points for partial periods, filled ones for whole periods
        fill = alt.Fill(
            "series:N",
            scale=_series_scale(d["series"]),
            title=None,
            condition={"test": "datum.partial", "value": "white"},
        )  # the same field and scale as the colour: Vega-Lite draws one legend for both
        point = base.mark_point(size=45, opacity=1, strokeWidth=2).encode(y=y, tooltip=tips, fill=fill)
    else:
        point = base.mark_point(filled=True, size=45).encode(y=y, tooltip=tips)
    if team is not None:  # the median's points carry the median's tooltip
        point = point.transform_filter("!datum.is_team")
        layers.append(
            base.mark_point(filled=True, size=30).encode(y=y, tooltip=team_tips).transform_filter("datum.is_team")
        )
    if select:
        d["period"] = pd.to_datetime(d["period_start"]).dt.strftime("%Y-%m-%d")
        if "rep_id" not in d.columns:
            d["rep_id"] = None
        pick = alt.selection_point(name=PICK, fields=["rep_id", "period"], on="click", clear="dblclick")
        point = point.add_params(pick).encode(
            size=alt.SizeValue(45, condition={"param": PICK, "empty": False, "value": 160})
        )
    layers.append(point)
    reps = d.loc[~d["is_team"], "series"].nunique()
    if unit == "%" and "n" in d.columns and reps == 1 and d.loc[~d["is_team"], "period_start"].nunique() <= 16:
        d["n_label"] = _n_label(d["n"])
        text = base.mark_text(dy=14, color="#666666", fontSize=9).encode(
            y=y, text=alt.Text("n_label:N"), color=alt.ColorValue("#666666")
        )
        layers.append(text.transform_filter("!datum.is_team && isValid(datum.value)"))
    if target is not None:
        d["target"] = float(target)
        rule = alt.Chart().mark_rule(color=INK, strokeDash=[2, 2]).encode(y=alt.Y("mean(target):Q"))
        tip = (
            alt.Chart()
            .mark_text(align="left", baseline="bottom", dy=-2, color=INK)
            .encode(
                y=alt.Y("mean(target):Q"),
                x=alt.XValue(2),
                text=alt.TextValue(f"target {target:.0%}" if unit == "%" else f"target {target:,.4g}"),
            )
        )
        layers += [rule, tip]
    return _finish(alt.layer(*layers), title, data=d)


@_unvalidated
def volume_vs_target(df: pd.DataFrame, *, title: str = "Daily volume against target") -> alt.FacetChart:
    """Activity volume per period (day or week) and type, one panel per type, with the target as a tick.

    ``df``: ``period_start`` (date), ``activity_type``, ``count``; optional ``target`` (that
    period's expected count for that type, e.g. ramp-adjusted; NaN for none). Include
    zero-count rows for working days without activity so they show as gaps against the target.
    The count axes show whole numbers only (no 0.5 meetings); the date axis labels Mondays only, the first
    day of each week, so that weeks read as the reviews count them.
    """
    d = _frame(df, ["period_start", "activity_type", "count"], ["target"], what="volume_vs_target")
    types = _order(d["activity_type"], ACTIVITY_TYPES)
    mondays = "day(datum.value) == 1 ? timeFormat(datum.value, '%a %d %b') : ''"
    x = alt.X(
        "period_start:O",
        timeUnit="yearmonthdate",
        title=None,
        axis=alt.Axis(labelExpr=mondays, labelAngle=0, labelOverlap=False, ticks=False),
    )
    tips = _tips(("period_start", "temporal", "period"), ("activity_type", "nominal", "type"), unit="count", df=d)
    tips += _tips(("count", "quantitative", "count"), ("target", "quantitative", "target"), df=d)
    base = alt.Chart().encode(x=x)
    colour = alt.Color("activity_type:N", scale=_activity_scale(types), title=None, legend=None)
    # every layer carries the same whole-number axis: a layer without one would bring back ticks at 0.5
    # (the label expression also hides a fractional tick that a renderer may still draw: no "0, 1, 1, 2, 2")
    whole = "datum.value % 1 ? '' : format(datum.value, ',d')"
    axis = alt.Axis(tickMinStep=1, tickCount=3, labelExpr=whole)
    y = alt.Y("count:Q", title="count", axis=axis)
    layers = [base.mark_bar().encode(y=y, color=colour, tooltip=tips)]
    if d["period_start"].nunique() <= 14:
        text = alt.Text("count:Q")
        layers.append(base.mark_text(dy=-4, baseline="bottom").encode(y=alt.Y("count:Q", axis=axis), text=text))
    if "target" in d.columns:
        layers.append(base.mark_tick(color=INK, thickness=2).encode(y=alt.Y("target:Q", axis=axis), tooltip=tips))
    chart = alt.layer(*layers).properties(height=70, width=alt.Step(24))
    row = alt.Row("activity_type:N", sort=types, title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
    return _finish(chart.facet(row=row, data=_LATER).resolve_scale(y="independent"), title, data=d)


@_unvalidated
def mix_vs_team(df: pd.DataFrame, *, title: str = "Activity mix against the team") -> alt.LayerChart:
    """Each group's activity mix as one 100% bar (share of its activities by type), e.g. rep vs team.

    ``df``: ``who`` (e.g. the rep's name and ``"team"``; bars in order of appearance),
    ``activity_type``, ``share`` (0..1, summing to 1 per ``who``), ``n`` (activities of that type).
    """
    d = _frame(df, ["who", "activity_type", "share", "n"], what="mix_vs_team")
    types = _order(d["activity_type"], ACTIVITY_TYPES)
    d["rank"] = d["activity_type"].map({t: i for i, t in enumerate(types)})
    d = d.sort_values(["who", "rank"], kind="stable")
    total = d.groupby("who", sort=False)["share"].transform("sum")
    d["mid"] = (d.groupby("who", sort=False)["share"].cumsum() - d["share"] / 2) / total.where(total > 0)
    d["share_label"] = (d["share"] / total.where(total > 0)).map(lambda s: f"{s:.0%}" if s >= 0.08 else "")
    y = alt.Y("who:N", sort=_order(df["who"]), title=None)
    tips = _tips(("who", "nominal", "who"), ("activity_type", "nominal", "type"), unit="%")
    tips += [alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("n:Q", format=",", title="n")]
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of activities"),
            color=alt.Color("activity_type:N", scale=_activity_scale(types), title=None),
            order=alt.Order("rank:Q"),
            tooltip=tips,
        )
    )
    text = (
        alt.Chart()
        .mark_text(color="white", fontWeight="bold")
        .encode(y=y, x=alt.X("mid:Q"), text=alt.Text("share_label:N"))
    )
    return _finish(alt.layer(bars, text), title, data=d, height=alt.Step(36))


@_unvalidated
def weekday_hour_heatmap(df: pd.DataFrame, *, title: str = "When the activities happen") -> alt.LayerChart:
    """Activity count by weekday (Mon..Sun, all shown) and hour of day (the active range of hours).

    ``df``: ``weekday`` (0 = Monday .. 6 = Sunday, or a name such as ``"Mon"``/``"Monday"``),
    ``hour`` (0..23), ``count``.
    """
    d = _frame(df, ["weekday", "hour", "count"], what="weekday_hour_heatmap")
    names = {w.lower(): w for w in WEEKDAYS} | {i: w for i, w in enumerate(WEEKDAYS)}
    key = d["weekday"].map(lambda v: str(v).strip().lower()[:3] if isinstance(v, str) else v)
    d["weekday"] = key.map(lambda v: names.get(v) if isinstance(v, str) or float(v).is_integer() else None)
    bad = df["weekday"].reset_index(drop=True)[d["weekday"].isna()].tolist()
    if len(bad):
        raise ValueError(f"weekday_hour_heatmap: weekday {bad[0]!r} is not 0..6 (Monday = 0) or Mon..Sun")
    hours = pd.to_numeric(d["hour"], errors="coerce")
    wrong = ~hours.between(0, 23) | (hours % 1 != 0)
    if wrong.any():
        raise ValueError(f"weekday_hour_heatmap: hour {d['hour'][wrong].tolist()[0]!r} is not a whole hour 0..23")
    d["hour"] = hours.astype("int64")
    domain = list(range(d["hour"].min(), d["hour"].max() + 1)) if len(d) else list(range(24))
    top = float(d["count"].max()) if len(d) else 0.0
    x = alt.X("hour:O", scale=alt.Scale(domain=domain), title="hour of day", axis=alt.Axis(labelAngle=0))
    y = alt.Y("weekday:O", scale=alt.Scale(domain=list(WEEKDAYS)), title=None)
    tips = [alt.Tooltip("weekday:O"), alt.Tooltip("hour:O"), alt.Tooltip("count:Q", format=",")]
    rect = (
        alt.Chart()
        .mark_rect()
        .encode(x=x, y=y, color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), title="activities"), tooltip=tips)
    )
    light = alt.ColorValue("#333333", condition={"test": f"datum.count > {top / 2!r}", "value": "white"})
    text = alt.Chart().mark_text(fontSize=9).encode(x=x, y=y, text=alt.Text("count:Q"), color=light)
    return _finish(alt.layer(rect, text), title, data=d, width=alt.Step(22), height=alt.Step(22))


# ---- outcomes and feedback ------------------------------------------------------------------------


@_unvalidated
def outcome_mix(df: pd.DataFrame, *, title: str = "Outcomes by activity type") -> alt.LayerChart:
    """Share of each outcome within each activity type (100% bars), with the type's n at the bar's end.

    ``df``: ``activity_type``, ``outcome``, ``n`` (activities of that type with that outcome; a missing
    outcome is shown as :data:`NOT_LOGGED`). Every outcome has its fixed colour (:func:`outcome_colour`)
    and outcomes are stacked and listed in the taxonomy's order (:func:`outcome_order`), so that the same
    outcome looks the same in every selection, for every rep and in the reviews.
    """
    d = _frame(df, ["activity_type", "outcome", "n"], what="outcome_mix")
    d["outcome"] = d["outcome"].astype("object").where(d["outcome"].notna(), NOT_LOGGED).astype("str")
    types = _order(d["activity_type"], ACTIVITY_TYPES)
    outcomes = outcome_order(d["outcome"])
    d["rank"] = d["outcome"].map({o: i for i, o in enumerate(outcomes)})
    d["total"] = d.groupby("activity_type")["n"].transform("sum")
    d["share"] = d["n"] / d["total"].where(d["total"] > 0)
    totals = d.groupby("activity_type", as_index=False)["n"].sum()
    totals["n_label"] = _n_label(totals["n"])
    y = alt.Y("activity_type:N", sort=types, title=None)
    tips = _tips(("activity_type", "nominal", "type"), ("outcome", "nominal", "outcome"))
    tips += [alt.Tooltip("n:Q", format=","), alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("total:Q", title="of")]
    bars = (
        alt.Chart(_data(d))
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("n:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of activities"),
            color=alt.Color(
                "outcome:N", scale=_outcome_scale(outcomes), title=None, legend=alt.Legend(orient="bottom", columns=6)
            ),
            order=alt.Order("rank:Q"),
            tooltip=tips,
        )
    )
    text = alt.Chart(_data(totals)).mark_text(align="left", dx=4, color="#555555")
    text = text.encode(y=y, x=alt.XDatum(1.0), text=alt.Text("n_label:N"))
    return _finish(alt.layer(bars, text), title, height=alt.Step(30))


def _cycle(k: int) -> list[str]:
    return [CATEGORICAL[i % len(CATEGORICAL)] for i in range(k)]


@_unvalidated
def rate_bars(df: pd.DataFrame, *, title: str | None = None, unit: str = "%", zoom: bool = False) -> alt.LayerChart:
    """Rates as point + 95% interval per ``label`` (e.g. connect rate, show rate), labelled with n.

    ``df``: ``label`` (row, in order of appearance), ``value``, ``ci_low``, ``ci_high``, ``n``;
    optional ``who`` (e.g. rep name and ``"team"``: side-by-side, team in grey). A row with n = 0
    shows only its ``n=0`` label. ``zoom``: the rate axis runs from 0 to just above the intervals
    instead of 0-100% (as :func:`kpi_trend`).
    """
    d = _with_rate_labels(_frame(df, ["label", "value", "ci_low", "ci_high", "n"], ["who"], what="rate_bars"))
    colour = (
        alt.Color("who:N", scale=_series_scale(d["who"]), title=None)
        if "who" in d.columns
        else alt.ColorValue(REP_COLOUR)
    )
    y = alt.Y("label:N", sort=_order(d["label"]), title=None)
    tips = (("label", "nominal", "KPI"), ("who", "nominal", "who"))
    layers = _interval_layers(y, colour, unit, tips, d, scale=_zoomed_rate_scale(d) if zoom and unit == "%" else None)
    return _finish(layers, title, data=d, height=alt.Step(44 if "who" in d.columns else 26))


@_unvalidated
def theme_shares(df: pd.DataFrame, *, title: str = "Themes in the notes") -> alt.FacetChart:
    """Share of notes mentioning each theme, rep vs team, one panel per kind (objections, buying signals).

    ``df``: ``kind``, ``theme``, ``who`` (rep name / ``"team"``), ``value`` (share of notes with
    the theme), ``ci_low``, ``ci_high``, ``n`` (notes). Themes in order of appearance.
    """
    need = ["kind", "theme", "who", "value", "ci_low", "ci_high", "n"]
    d = _with_rate_labels(_frame(df, need, what="theme_shares"))
    colour = alt.Color("who:N", scale=_series_scale(d["who"]), title=None)
    y = alt.Y("theme:N", sort=_order(d["theme"]), title=None)
    tips = (("kind", "nominal", "kind"), ("theme", "nominal", "theme"), ("who", "nominal", "who"))
    layers = _interval_layers(y, colour, "%", tips, d).properties(height=alt.Step(40))
    row = alt.Row("kind:N", sort=_order(d["kind"]), title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
    return _finish(layers.facet(row=row, data=_LATER).resolve_scale(y="independent"), title, data=d)


# ---- team and process -----------------------------------------------------------------------------


@_unvalidated
def funnel_plot(
    points: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    center: float,
    highlight: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Each rep's rate against their volume, inside the team's control limits (a funnel plot).

    ``points``: ``rep_id``, ``n``, ``value`` (or ``rate``); optional ``flag_95``, ``flag_99.8``.
    ``limits``: ``n``, ``level`` (e.g. 0.95, 0.998), ``lower``, ``upper`` (as
    ``stats.funnel_limits(...).limits``). ``center``: the team rate (``p0``), a grey rule.
    ``highlight``: a rep id drawn in colour and labelled; others are grey.
    """
    p = _frame(points, ["rep_id", "n", "value"], ["flag_95", "flag_99.8"], what="funnel_plot points")
    lim = _frame(limits, ["n", "level", "lower", "upper"], what="funnel_plot limits")
    lim = lim.melt(id_vars=["n", "level"], value_vars=["lower", "upper"], var_name="bound", value_name="limit")
    lim["limit_name"] = lim["level"].map(lambda v: f"{v * 100:g}% limits")
    p["rep_id"] = p["rep_id"].astype("str")
    p["is_focus"] = p["rep_id"] == highlight if highlight is not None else False
    x = alt.X("n:Q", title="volume (n)", scale=alt.Scale(zero=True))
    y = alt.Y("value:Q", **_rate_axis("%"))
    dash = alt.StrokeDash("limit_name:N", title=None, scale=alt.Scale(range=[[5, 3], [1, 0]]))
    lines = alt.Chart(_data(lim)).mark_line(interpolate="step-after", color="#555555", strokeWidth=1.2)
    lines = lines.encode(x=x, y=alt.Y("limit:Q", title="rate"), detail=alt.Detail("bound:N"), strokeDash=dash)
    centre = alt.Chart().mark_rule(color=TEAM_GREY, strokeWidth=2).encode(y=alt.YDatum(float(center)))
    tips = [alt.Tooltip("rep_id:N", title="rep"), alt.Tooltip("value:Q", format=".0%", title="rate")]
    # a dotted field name ("flag_99.8") is a nested path to Vega-Lite: the tooltip showed "undefined"
    flags = [c for c in p.columns if c.startswith("flag_")]
    p = p.rename(columns={c: c.replace(".", "_") for c in flags})
    tips += [alt.Tooltip("n:Q", format=",")]
    tips += [alt.Tooltip(f"{c.replace('.', '_')}:N", title=f"{c[5:]}% limits") for c in flags]
    colour = alt.ColorValue(TEAM_GREY, condition={"test": "datum.is_focus", "value": REP_COLOUR})
    dots = alt.Chart(_data(p)).mark_circle(size=60, opacity=0.9).encode(x=x, y=y, color=colour, tooltip=tips)
    label = alt.Chart(_data(p)).mark_text(align="left", dx=7, color=REP_COLOUR, fontWeight="bold")
    label = label.encode(x=x, y=y, text=alt.Text("rep_id:N")).transform_filter("datum.is_focus")
    return _finish(alt.layer(lines, centre, dots, label), title, f"team rate {center:.0%}; n = {len(p)} reps")


@_unvalidated
def stage_funnel(df: pd.DataFrame, *, title: str = "Deals by stage") -> alt.LayerChart:
    """Deals that reached each pipeline stage, in stage order, labelled with the conversion from the previous stage.

    ``df``: ``stage`` (rows in stage order, e.g. ``playbook.stages``), ``n`` (deals reaching it);
    optional ``conversion``, ``ci_low``, ``ci_high`` (conversion from the previous stage with its
    interval; when ``conversion`` is absent it is n / previous n, blank when the previous n is 0).
    """
    d = _frame(df, ["stage", "n"], ["conversion", "ci_low", "ci_high"], what="stage_funnel")
    if "conversion" not in d.columns:
        prev = d["n"].shift(1)
        d["conversion"] = d["n"] / prev.where(prev > 0)
    conv = d["conversion"].map(lambda c: "" if pd.isna(c) else f" · {c:.0%} of previous")
    d["bar_label"] = d["n"].fillna(0).round().astype("int64").map("{:,}".format) + conv
    d.loc[0:0, "bar_label"] = d["bar_label"].iloc[:1].str.replace(r" · .*", "", regex=True)
    y = alt.Y("stage:N", sort=list(d["stage"]), title=None)
    tips = [alt.Tooltip("stage:N"), alt.Tooltip("n:Q", format=",", title="deals (n)")]
    tips += [alt.Tooltip(f"{c}:Q", format=".0%") for c in ("conversion", "ci_low", "ci_high") if c in d.columns]
    bars = alt.Chart().mark_bar(color=REP_COLOUR).encode(y=y, x=alt.X("n:Q", title="deals"), tooltip=tips)
    text = alt.Chart().mark_text(align="left", dx=4).encode(y=y, x=alt.X("n:Q"), text=alt.Text("bar_label:N"))
    return _finish(alt.layer(bars, text), title, data=d, height=alt.Step(28))


@_unvalidated
def ramp_curves(df: pd.DataFrame, *, title: str, unit: str, target: pd.DataFrame | None = None) -> alt.LayerChart:
    """A metric by tenure week per cohort (e.g. a new hire vs earlier hires at the same tenure).

    ``df``: ``tenure_week`` (1 = first week), ``cohort``, ``value`` (e.g. the median), ``ci_low``,
    ``ci_high`` (the band: an interval or the interquartile range), ``n`` (reps or activities behind
    the value). Cohorts named like ``"earlier hires"``/``"team"`` are grey. ``target``:
    ``tenure_week``, ``value`` (the ramp target), a dark dashed step line.
    """
    d = _frame(df, ["tenure_week", "cohort", "value", "ci_low", "ci_high", "n"], what="ramp_curves")
    d["cohort"] = d["cohort"].astype("str")
    colour = alt.Color("cohort:N", scale=_series_scale(d["cohort"]), title=None)
    weeks = sorted(d["tenure_week"].dropna().unique().tolist())
    ticks = {"values": weeks} if len(weeks) <= 30 else {"tickMinStep": 1}
    x = alt.X("tenure_week:Q", title="tenure week", axis=alt.Axis(format="d", **ticks))
    y = alt.Y("value:Q", **_rate_axis(unit))
    tips = _tips(
        ("cohort", "nominal", "cohort"), ("tenure_week", "quantitative", "tenure week"), *_RATE_TIPS, unit=unit
    )
    base = alt.Chart(_data(d)).encode(x=x, color=colour)
    layers = [
        base.mark_area(opacity=0.18).encode(y=alt.Y("ci_low:Q"), y2=alt.Y2("ci_high:Q")),
        base.mark_line(strokeWidth=2).encode(y=y),
        base.mark_point(filled=True, size=35).encode(y=y, tooltip=tips),
    ]
    if target is not None:
        t = _frame(target, ["tenure_week", "value"], what="ramp_curves target")
        line = alt.Chart(_data(t)).mark_line(color=INK, strokeDash=[2, 2], interpolate="step-after")
        layers.append(line.encode(x=x, y=alt.Y("value:Q"), tooltip=[alt.Tooltip("value:Q", title="target")]))
    return _finish(alt.layer(*layers), title)


@_unvalidated
def scatter_effort_feedback(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    trend: str | None = "linear",
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> alt.LayerChart:
    """Weekly effort (``x``) against the feedback or outcome it earned (``y``): exploratory, with n.

    ``df``: ``period_start`` (week), the columns named by ``x`` and ``y``; optional ``n`` (e.g.
    scored activities behind ``y``). ``trend``: ``"linear"``, ``"loess"`` or None (drawn only
    with 4+ weeks). The title carries the number of weeks with both values.
    """
    if trend not in (None, "linear", "loess"):
        raise ValueError(f"scatter_effort_feedback: trend must be 'linear', 'loess' or None, not {trend!r}")
    d = _frame(df, ["period_start", x, y], ["n"], what="scatter_effort_feedback")
    weeks = int(d[[x, y]].notna().all(axis=1).sum())
    xs = alt.X(f"{x}:Q", title=x_title or x, scale=alt.Scale(zero=False))
    ys = alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False))
    tips = [alt.Tooltip("period_start:T", title="week of", format="%d %b %Y")]
    tips += [alt.Tooltip(f"{x}:Q", format=",.2~f"), alt.Tooltip(f"{y}:Q", format=",.2~f")]
    tips += [alt.Tooltip("n:Q", format=",")] if "n" in d.columns else []
    dots = alt.Chart().mark_circle(size=70, color=REP_COLOUR, opacity=0.8).encode(x=xs, y=ys, tooltip=tips)
    layers = [dots]
    if trend is not None and weeks >= 4:
        fit = alt.Chart().transform_filter(f"isValid(datum[{x!r}]) && isValid(datum[{y!r}])")
        fit = fit.transform_regression(x, y) if trend == "linear" else fit.transform_loess(x, y)
        layers.append(fit.mark_line(color=TEAM_GREY, strokeDash=[4, 3]).encode(x=alt.X(f"{x}:Q"), y=alt.Y(f"{y}:Q")))
    head = f"{title or f'{y_title or y} vs {x_title or x}'} (n = {weeks} weeks)"
    sub = "Exploratory: weeks are few and not independent; an association is not a cause."
    return _finish(alt.layer(*layers), head, sub, data=d)


@_unvalidated
def lag_association(df: pd.DataFrame, *, title: str = "Effort and later outcomes, by lag") -> alt.LayerChart:
    """Spearman ρ of weekly effort with the outcome ``lag`` weeks later, one bar per lag, labelled with n.

    ``df``: ``lag``, ``rho``, ``n`` (pairs of weeks); optional ``p_value`` (as
    ``stats.lagged_association``). Exploratory: shown with that wording.
    """
    d = _frame(df, ["lag", "rho", "n"], ["p_value"], what="lag_association")
    d["n_label"] = _n_label(d["n"])
    d["label_y"] = d["rho"].fillna(0.0).clip(lower=0.0)
    x = alt.X("lag:O", title="lag (weeks)", axis=alt.Axis(labelAngle=0))
    tips = [alt.Tooltip("lag:O"), alt.Tooltip("rho:Q", format=".2f", title="ρ"), alt.Tooltip("n:Q", format=",")]
    tips += [alt.Tooltip("p_value:Q", format=".3f", title="p")] if "p_value" in d.columns else []
    bars = (
        alt.Chart()
        .mark_bar(color=REP_COLOUR)
        .encode(x=x, y=alt.Y("rho:Q", scale=alt.Scale(domain=[-1, 1]), title="Spearman ρ"), tooltip=tips)
    )
    text = alt.Chart().mark_text(dy=-8).encode(x=x, y=alt.Y("label_y:Q"), text=alt.Text("n_label:N"))
    sub = "Exploratory: weekly series are autocorrelated and lags are not corrected for multiple testing."
    return _finish(alt.layer(bars, text), title, sub, data=d, width=alt.Step(48))


@_unvalidated
def scorecard(
    df: pd.DataFrame,
    *,
    title: str,
    unit: str = "%",
    center: float | None = None,
    highlight: str | None = None,
) -> alt.LayerChart:
    """Reps ranked by their shrunk estimate (highest first), each a dot with its interval and n.

    ``df``: ``rep_id``, ``value`` (or ``mean``: the shrunk estimate), ``ci_low``, ``ci_high``,
    ``n``; optional ``raw`` (the unshrunk rate, tooltip only). Ties keep row order. ``center``:
    the team/prior mean as a grey rule. ``highlight``: a rep id drawn in colour, others dark grey.
    """
    d = _frame(df, ["rep_id", "value", "ci_low", "ci_high", "n"], ["raw"], what="scorecard")
    d["rep_id"] = d["rep_id"].astype("str")
    d = _with_rate_labels(d.sort_values("value", ascending=False, kind="stable", na_position="last"))
    y = alt.Y("rep_id:N", sort=list(d["rep_id"]), title=None)
    focus = d["rep_id"] == highlight if highlight is not None else pd.Series(True, index=d.index)
    colour = alt.ColorValue("#555555", condition={"test": "datum.is_focus", "value": REP_COLOUR})
    d["is_focus"] = focus
    tips = [("rep_id", "nominal", "rep"), ("raw", "quantitative", "raw rate")]
    layers = _interval_layers(y, colour, unit, tips, d)
    if center is not None:
        layers += alt.Chart().mark_rule(color=TEAM_GREY, strokeDash=[4, 3]).encode(x=alt.XDatum(float(center)))
    return _finish(layers, title, data=d, height=alt.Step(22))
