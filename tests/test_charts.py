"""Tests for coachkit.charts: specs (data, encodings, sort orders, n, theme) and SVG rendering."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import charts as c

HOSTILE = "<script>alert(1)</script>"
WEEKS = pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20"])


# ---- helpers -------------------------------------------------------------------------------------


def nodes(spec: object) -> Iterator[dict]:
    """Every dict in a spec, depth first."""
    if isinstance(spec, dict):
        yield spec
        for v in spec.values():
            yield from nodes(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from nodes(v)


def values(spec: dict) -> list[list[dict]]:
    """Every dataset the spec's views use, in order of first use (Altair moves inline values to ``datasets``)."""
    out, seen = [], set()
    for n in nodes({k: v for k, v in spec.items() if k != "datasets"}):
        data = n.get("data")
        if isinstance(data, dict) and data.get("name") not in seen | {"empty"}:  # "empty": datum-only marks
            seen.add(data.get("name"))
            out.append(spec["datasets"][data["name"]] if "name" in data else data["values"])
    return out


def marks(spec: dict) -> list[dict]:
    """(mark type, encoding) units of the spec."""
    out = []
    for n in nodes(spec):
        if "mark" in n:
            mark = n["mark"]["type"] if isinstance(n["mark"], dict) else n["mark"]
            out.append({"mark": mark, "enc": n.get("encoding", {}), "unit": n})
    return out


def enc(spec: dict, mark: str, channel: str) -> list[dict]:
    return [m["enc"][channel] for m in marks(spec) if m["mark"] == mark and channel in m["enc"]]


def tooltip_fields(spec: dict) -> set[str]:
    return {t["field"] for m in marks(spec) for t in m["enc"].get("tooltip", []) if "field" in t}


def svg(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(chart.to_json())


def rates(**extra: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["connect rate", "connect rate", "show rate", "show rate"],
            "who": ["Ann", "team", "Ann", "team"],
            "value": [0.25, 0.3, np.nan, 0.8],
            "ci_low": [0.15, 0.27, np.nan, 0.75],
            "ci_high": [0.38, 0.33, np.nan, 0.85],
            "n": [40, 800, 0, 200],
            **extra,
        }
    )


def trend_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": "r1",
            "period_start": WEEKS,
            "kpi": "connect_rate",
            "value": [0.2, 0.3, np.nan],
            "numerator": [4, 9, 0],
            "denominator": [20, 30, 0],
            "ci_low": [0.1, 0.2, np.nan],
            "ci_high": [0.35, 0.4, np.nan],
        }
    )


def volume_frame() -> pd.DataFrame:
    days = list(pd.date_range("2025-01-06", periods=3))
    return pd.DataFrame(
        {
            "period_start": days * 2,
            "activity_type": ["email"] * 3 + ["call"] * 3,
            "count": [20, 22, 0, 40, 55, 0],
            "target": [25.0] * 3 + [50.0] * 3,
        }
    )


def mix_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "who": ["Ann"] * 3 + ["team"] * 3,
            "activity_type": ["email", "call", "meeting"] * 2,
            "share": [0.3, 0.65, 0.05, 0.25, 0.5, 0.25],
            "n": [30, 65, 5, 250, 500, 250],
        }
    )


def funnel_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    points = pd.DataFrame({"rep_id": ["a", "b", HOSTILE], "n": [20.0, 80.0, 50.0], "rate": [0.5, 0.28, 0.1]})
    limits = pd.DataFrame(
        {
            "n": [1.0, 2.0, 1.0, 2.0],
            "level": [0.95, 0.95, 0.998, 0.998],
            "lower": [0.0, 0.0, 0.0, 0.0],
            "upper": [1.0, 1.0, 1.0, 1.0],
        }
    )
    return points, limits


def stage_frame() -> pd.DataFrame:
    return pd.DataFrame({"stage": ["prospecting", "qualification", "proposal", "closed_won"], "n": [40, 20, 0, 0]})


def ramp_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure_week": [1, 2, 3, 1, 2, 3],
            "cohort": ["Bob"] * 3 + ["earlier hires"] * 3,
            "value": [10, 20, 25, 15, 25, 30.0],
            "ci_low": [8, 15, 20, 10, 20, 25.0],
            "ci_high": [12, 25, 30, 20, 30, 35.0],
            "n": [1, 1, 1, 8, 8, 8],
        }
    )


def scatter_frame(weeks: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period_start": pd.date_range("2025-01-06", periods=weeks, freq="7D"),
            "calls": [100, 120, 90, 150, 130, 110.0][:weeks],
            "score": [3.2, 3.5, 3.0, 3.9, 3.6, np.nan][:weeks],
            "n": [10, 12, 8, 15, 11, 0][:weeks],
        }
    )


def score_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["a", "b", "c", "d", HOSTILE],
            "mean": [0.2, 0.35, 0.3, np.nan, 0.3],
            "ci_low": [0.1, 0.3, 0.2, np.nan, 0.25],
            "ci_high": [0.3, 0.4, 0.4, np.nan, 0.35],
            "n": [20, 300, 50, 0, 60],
            "raw": [0.1, 0.36, 0.3, np.nan, 0.3],
        }
    )


#: name -> a call with tiny valid inputs; used for rendering and validation tests.
BUILDERS: dict[str, Callable[[], alt.TopLevelMixin]] = {
    "kpi_trend": lambda: c.kpi_trend(trend_frame(), title="Connect rate", unit="%", target=0.25),
    "volume_vs_target": lambda: c.volume_vs_target(volume_frame()),
    "mix_vs_team": lambda: c.mix_vs_team(mix_frame()),
    "weekday_hour_heatmap": lambda: c.weekday_hour_heatmap(
        pd.DataFrame({"weekday": [0, 4], "hour": [9, 16], "count": [5, 3]})
    ),
    "outcome_mix": lambda: c.outcome_mix(
        pd.DataFrame({"activity_type": ["call", "call"], "outcome": ["connected", "no_answer"], "n": [10, 30]})
    ),
    "rate_bars": lambda: c.rate_bars(rates()),
    "theme_shares": lambda: c.theme_shares(
        rates().rename(columns={"label": "theme"}).assign(kind=["objection"] * 2 + ["buying signal"] * 2)
    ),
    "funnel_plot": lambda: c.funnel_plot(*funnel_frames(), center=0.3, highlight=HOSTILE),
    "stage_funnel": lambda: c.stage_funnel(stage_frame()),
    "ramp_curves": lambda: c.ramp_curves(ramp_frame(), title="Calls per day", unit="calls"),
    "scatter_effort_feedback": lambda: c.scatter_effort_feedback(scatter_frame(), "calls", "score"),
    "lag_association": lambda: c.lag_association(pd.DataFrame({"lag": [1, 2], "rho": [0.4, -0.1], "n": [10, 9]})),
    "scorecard": lambda: c.scorecard(score_frame(), title="Connect rate", center=0.3),
}


# ---- validation ------------------------------------------------------------------------------------

#: name -> (call taking one frame, a column it needs)
NEEDS: dict[str, tuple[Callable[[pd.DataFrame], object], str]] = {
    "kpi_trend": (lambda d: c.kpi_trend(d, title="t", unit="%"), "ci_low"),
    "volume_vs_target": (c.volume_vs_target, "activity_type"),
    "mix_vs_team": (c.mix_vs_team, "share"),
    "weekday_hour_heatmap": (c.weekday_hour_heatmap, "weekday"),
    "outcome_mix": (c.outcome_mix, "outcome"),
    "rate_bars": (c.rate_bars, "ci_high"),
    "theme_shares": (c.theme_shares, "kind"),
    "funnel_plot points": (lambda d: c.funnel_plot(d, funnel_frames()[1], center=0.3), "rep_id"),
    "funnel_plot limits": (lambda d: c.funnel_plot(funnel_frames()[0], d, center=0.3), "level"),
    "stage_funnel": (c.stage_funnel, "stage"),
    "ramp_curves": (lambda d: c.ramp_curves(d, title="t", unit="calls"), "tenure_week"),
    "scatter_effort_feedback": (lambda d: c.scatter_effort_feedback(d, "calls", "score"), "calls"),
    "lag_association": (c.lag_association, "rho"),
    "scorecard": (lambda d: c.scorecard(d, title="t"), "rep_id"),
}


@pytest.mark.parametrize("name", NEEDS)
def test_missing_columns_are_named(name: str) -> None:
    call, column = NEEDS[name]
    with pytest.raises(ValueError, match=rf"{name.split()[0]}.*missing column\(s\).*\b{column}\b"):
        call(pd.DataFrame({"unrelated": [1]}))


def test_missing_columns_lists_only_the_missing_ones() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) ci_low, ci_high, n;"):
        c.rate_bars(pd.DataFrame({"label": ["x"], "value": [0.5]}))


def test_a_rate_trend_needs_its_interval_and_n_but_a_count_trend_does_not() -> None:
    counts = pd.DataFrame({"period_start": WEEKS, "value": [5.0, 6.0, 7.0]})
    with pytest.raises(ValueError, match=r"missing column\(s\) ci_low, ci_high, n"):
        c.kpi_trend(counts, title="Connect rate", unit="%")
    spec = c.kpi_trend(counts, title="Calls per day", unit="calls").to_dict()
    assert "area" not in [m["mark"] for m in marks(spec)]  # no interval given: no band


def test_row_limit_is_a_clear_error_at_the_boundary() -> None:
    ok = pd.DataFrame({"label": "x", "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 10}, index=range(c.MAX_ROWS))
    assert len(values(c.rate_bars(ok).to_dict())[0]) == c.MAX_ROWS
    too_many = pd.concat([ok, ok.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match=r"rate_bars: 5,001 rows .* aggregated"):
        c.rate_bars(too_many)


def test_not_a_frame_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a pandas DataFrame, got list"):
        c.stage_funnel([{"stage": "a", "n": 1}])  # type: ignore[arg-type]


def test_heatmap_rejects_bad_weekdays_and_hours() -> None:
    with pytest.raises(ValueError, match=r"weekday 7 is not 0..6"):
        c.weekday_hour_heatmap(pd.DataFrame({"weekday": [0, 7], "hour": [9, 9], "count": [1, 1]}))
    with pytest.raises(ValueError, match=r"weekday 'Funday'"):
        c.weekday_hour_heatmap(pd.DataFrame({"weekday": ["Funday"], "hour": [9], "count": [1]}))
    with pytest.raises(ValueError, match=r"hour 24 is not a whole hour 0..23"):
        c.weekday_hour_heatmap(pd.DataFrame({"weekday": [0, 1], "hour": [9, 24], "count": [1, 1]}))
    with pytest.raises(ValueError, match=r"hour 9.5 is not a whole hour"):
        c.weekday_hour_heatmap(pd.DataFrame({"weekday": [0], "hour": [9.5], "count": [1]}))


def test_scatter_rejects_an_unknown_trend() -> None:
    with pytest.raises(ValueError, match="trend must be"):
        c.scatter_effort_feedback(scatter_frame(), "calls", "score", trend="cubic")


# ---- theme, renderer, composition ------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_embeds_the_theme_and_survives_another_active_theme(name: str) -> None:
    before = alt.theme.active
    try:
        alt.theme.enable("dark")
        spec = BUILDERS[name]().to_dict()
    finally:
        alt.theme.enable(before)
    assert spec["config"]["font"] == c.FONT
    assert spec["config"]["range"]["category"] == list(c.CATEGORICAL)
    assert spec["config"]["background"] == "white"


def test_use_theme_is_idempotent_and_enable_svg_selects_svg() -> None:
    theme, renderer = alt.theme.active, alt.renderers.active
    try:
        c.use_theme()
        c.use_theme()
        assert alt.theme.active == "coachkit"
        assert alt.Chart(pd.DataFrame({"x": [1]})).mark_point().to_dict()["config"]["font"] == c.FONT
        c.enable_svg()
        assert alt.renderers.active == "svg"
    finally:
        alt.theme.enable(theme)
        alt.renderers.enable(renderer)


def test_call_has_the_same_colour_in_every_chart() -> None:
    def colour_of(spec: dict, activity: str) -> str:
        scales = [e["scale"] for e in enc(spec, "bar", "color") if e.get("field") == "activity_type"]
        assert scales, "no activity-type colour scale"
        return scales[0]["range"][scales[0]["domain"].index(activity)]

    volume = c.volume_vs_target(volume_frame()).to_dict()
    mix = c.mix_vs_team(mix_frame()).to_dict()
    assert colour_of(volume, "call") == colour_of(mix, "call") == c.ACTIVITY_COLOURS["call"] == "#0072B2"
    assert colour_of(volume, "email") == colour_of(mix, "email") == c.ACTIVITY_COLOURS["email"]


def test_custom_activity_types_get_a_stable_colour_outside_the_fixed_ones() -> None:
    colour = c.activity_colour("linkedin_message")
    assert colour == c.activity_colour("linkedin_message")
    assert colour not in c.ACTIVITY_COLOURS.values()


def test_combine_applies_the_theme_once_and_keeps_colour_meanings_apart() -> None:
    spec = c.combine(BUILDERS["rate_bars"](), BUILDERS["outcome_mix"](), columns=2).to_dict()
    assert spec["columns"] == 2 and len(spec["concat"]) == 2
    assert spec["config"]["font"] == c.FONT
    assert all("config" not in part for part in spec["concat"])
    assert spec["resolve"]["scale"]["color"] == "independent"
    assert "<svg" in svg(c.combine(BUILDERS["rate_bars"](), BUILDERS["outcome_mix"]()))


# ---- each chart ---------------------------------------------------------------------------------------


def test_kpi_trend_takes_kpi_table_rows_with_band_team_target_and_n() -> None:
    team = pd.DataFrame({"period_start": WEEKS, "value": [0.22, 0.24, 0.26]})
    spec = c.kpi_trend(trend_frame(), title="Connect rate", unit="%", target=0.25, team=team).to_dict()
    (rows,) = values(spec)
    rep = [r for r in rows if not r["is_team"]]
    # the rows as given (denominator becomes n), plus the team median rows
    assert [(r["period_start"][:10], r["value"], r["n"], r["ci_low"]) for r in rep] == [
        ("2025-01-06", 0.2, 20, 0.1),
        ("2025-01-13", 0.3, 30, 0.2),
        ("2025-01-20", None, 0, None),
    ]
    assert [r["value"] for r in rows if r["is_team"]] == [0.22, 0.24, 0.26]
    assert [r["n_label"] for r in rep] == ["n=20", "n=30", "n=0"]
    assert "numerator" not in rows[0] and "kpi" not in rows[0]  # only the columns the chart uses
    assert enc(spec, "line", "x")[0] == {
        "field": "period_start",
        "type": "temporal",
        "title": None,
        "axis": {"format": "%d %b"},
    }
    (band,) = [m for m in marks(spec) if m["mark"] == "area"]
    assert band["enc"]["y"]["field"] == "ci_low" and band["enc"]["y2"]["field"] == "ci_high"
    assert {"n", "ci_low", "ci_high", "value"} <= tooltip_fields(spec)
    colour = enc(spec, "line", "color")[0]["scale"]
    assert colour == {"domain": ["r1", "team median"], "range": [c.REP_COLOUR, c.TEAM_GREY]}
    assert enc(spec, "line", "y")[0]["axis"]["format"] == "%" and enc(spec, "line", "y")[0]["scale"]["domain"] == [0, 1]
    assert {r["target"] for r in rows} == {0.25}
    assert any(m["enc"].get("text", {}).get("value") == "target 25%" for m in marks(spec))
    assert spec["title"]["text"] == "Connect rate"


def test_kpi_trend_with_several_reps_colours_by_rep_and_drops_n_labels() -> None:
    two = pd.concat([trend_frame(), trend_frame().assign(rep_id="r2")], ignore_index=True)
    spec = c.kpi_trend(two, title="Connect rate", unit="%").to_dict()
    assert enc(spec, "line", "color")[0]["scale"]["domain"] == ["r1", "r2"]
    assert not [m for m in marks(spec) if m["mark"] == "text"]
    assert "n" in tooltip_fields(spec)


def test_volume_vs_target_panels_in_activity_order_with_target_ticks() -> None:
    spec = c.volume_vs_target(volume_frame()).to_dict()
    (rows,) = values(spec)
    assert [(r["activity_type"], r["count"], r["target"]) for r in rows] == [
        ("email", 20, 25.0),
        ("email", 22, 25.0),
        ("email", 0, 25.0),
        ("call", 40, 50.0),
        ("call", 55, 50.0),
        ("call", 0, 50.0),
    ]
    assert spec["facet"]["row"]["sort"] == ["call", "email"]  # playbook order, not data order
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert enc(spec, "tick", "y")[0]["field"] == "target"
    assert enc(spec, "bar", "x")[0]["timeUnit"] == "yearmonthdate"


def test_mix_vs_team_labels_sit_in_the_middle_of_each_segment() -> None:
    spec = c.mix_vs_team(mix_frame()).to_dict()
    (rows,) = values(spec)
    ann = {r["activity_type"]: r for r in rows if r["who"] == "Ann"}
    # stacked in playbook order call, meeting, email: 0..0.65, 0.65..0.70, 0.70..1
    assert ann["call"]["mid"] == pytest.approx(0.325)
    assert ann["meeting"]["mid"] == pytest.approx(0.675)
    assert ann["email"]["mid"] == pytest.approx(0.85)
    assert [ann[t]["share_label"] for t in ("call", "meeting", "email")] == ["65%", "", "30%"]  # 5% is too thin
    assert enc(spec, "bar", "y")[0]["sort"] == ["Ann", "team"]
    assert enc(spec, "bar", "x")[0]["stack"] == "normalize"
    assert "n" in tooltip_fields(spec)


def test_heatmap_orders_weekdays_monday_first_over_the_active_hours() -> None:
    df = pd.DataFrame({"weekday": [6, "Monday", "fri"], "hour": [11, 9, 16], "count": [1, 12, 3]})
    spec = c.weekday_hour_heatmap(df).to_dict()
    (rows,) = values(spec)
    assert [(r["weekday"], r["hour"], r["count"]) for r in rows] == [("Sun", 11, 1), ("Mon", 9, 12), ("Fri", 16, 3)]
    assert enc(spec, "rect", "y")[0]["scale"]["domain"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert enc(spec, "rect", "x")[0]["scale"]["domain"] == list(range(9, 17))
    assert enc(spec, "text", "color")[0]["condition"]["test"] == "datum.count > 6.0"  # white text on dark cells


def test_outcome_mix_shares_and_n_per_type() -> None:
    df = pd.DataFrame(
        {
            "activity_type": ["meeting", "call", "call", "meeting"],
            "outcome": ["held", "connected", "no_answer", "no_show"],
            "n": [8, 10, 30, 2],
        }
    )
    spec = c.outcome_mix(df).to_dict()
    bars, totals = values(spec)
    assert {(r["activity_type"], r["outcome"]): r["share"] for r in bars} == {
        ("meeting", "held"): 0.8,
        ("call", "connected"): 0.25,
        ("call", "no_answer"): 0.75,
        ("meeting", "no_show"): 0.2,
    }
    assert {r["activity_type"]: r["n_label"] for r in totals} == {"call": "n=40", "meeting": "n=10"}
    assert enc(spec, "bar", "y")[0]["sort"] == ["call", "meeting"]
    # the taxonomy's order and each outcome's fixed colour, whatever the order or counts of the rows
    scale = enc(spec, "bar", "color")[0]["scale"]
    assert scale["domain"] == ["connected", "no_answer", "held", "no_show"]
    assert scale["range"] == ["#0072B2", "#E69F00", "#009E73", "#D55E00"]
    assert {"n", "share", "total"} <= tooltip_fields(spec)


def test_rate_bars_show_interval_and_n_and_put_the_team_in_grey() -> None:
    spec = c.rate_bars(rates(), title="Outcome rates").to_dict()
    (rows,) = values(spec)
    assert [r["n_label"] for r in rows] == ["n=40", "n=800", "n=0", "n=200"]
    # the n label sits right of the interval; a row with n = 0 has no interval, so at 0
    assert [r["label_x"] for r in rows] == [0.38, 0.33, 0.0, 0.85]
    (rule,) = [m for m in marks(spec) if m["mark"] == "rule"]
    assert rule["enc"]["x"]["field"] == "ci_low" and rule["enc"]["x2"]["field"] == "ci_high"
    assert rule["enc"]["yOffset"]["field"] == "who"
    assert enc(spec, "point", "color")[0]["scale"] == {"domain": ["Ann", "team"], "range": [c.REP_COLOUR, c.TEAM_GREY]}
    assert enc(spec, "point", "y")[0]["sort"] == ["connect rate", "show rate"]
    assert {"n", "ci_low", "ci_high"} <= tooltip_fields(spec)


def test_theme_shares_one_panel_per_kind() -> None:
    spec = BUILDERS["theme_shares"]().to_dict()
    assert spec["facet"]["row"]["field"] == "kind"
    assert spec["facet"]["row"]["sort"] == ["objection", "buying signal"]
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert "n" in tooltip_fields(spec)


def test_funnel_plot_draws_both_limits_the_team_rate_and_the_highlighted_rep() -> None:
    points, limits = funnel_frames()
    spec = c.funnel_plot(points, limits, center=0.3, highlight="b", title="Connect rate").to_dict()
    lim, pts = values(spec)
    assert len(lim) == 8  # 4 grid rows x (lower, upper)
    assert {r["limit_name"] for r in lim} == {"95% limits", "99.8% limits"}
    assert [(r["rep_id"], r["value"], r["is_focus"]) for r in pts] == [
        ("a", 0.5, False),
        ("b", 0.28, True),
        (HOSTILE, 0.1, False),
    ]
    assert enc(spec, "line", "detail")[0]["field"] == "bound"
    assert enc(spec, "rule", "y")[0] == {"datum": 0.3}
    assert spec["title"]["subtitle"] == "team rate 30%; n = 3 reps"
    assert "n" in tooltip_fields(spec)


def test_funnel_plot_flags_have_no_dotted_field_names() -> None:
    # "flag_99.8" is a nested path to Vega-Lite: the tooltip showed "flag_99.8: undefined"
    points, limits = funnel_frames()
    points = points.assign(flag_95=["above", "within", "below"], **{"flag_99.8": ["within", "within", "below"]})
    spec = c.funnel_plot(points, limits, center=0.3).to_dict()
    fields = tooltip_fields(spec)
    assert {"flag_95", "flag_99_8"} <= fields and not any("." in f for f in fields)
    _, pts = values(spec)
    assert [r["flag_99_8"] for r in pts] == ["within", "within", "below"]
    titles = {t.get("title") for m in marks(spec) for t in m["enc"].get("tooltip", [])}
    assert "99.8% limits" in titles


def test_stage_funnel_keeps_stage_order_and_labels_conversion() -> None:
    spec = c.stage_funnel(stage_frame()).to_dict()
    (rows,) = values(spec)
    assert [r["bar_label"] for r in rows] == ["40", "20 · 50% of previous", "0 · 0% of previous", "0"]
    assert enc(spec, "bar", "y")[0]["sort"] == ["prospecting", "qualification", "proposal", "closed_won"]
    given_conv = stage_frame().assign(conversion=[np.nan, 0.5, 0.0, np.nan], ci_low=np.nan, ci_high=np.nan)
    assert {"conversion", "ci_low", "ci_high", "n"} <= tooltip_fields(c.stage_funnel(given_conv).to_dict())


def test_ramp_curves_grey_benchmark_and_target_line() -> None:
    target = pd.DataFrame({"tenure_week": [1, 2, 3], "value": [12.5, 25.0, 37.5]})
    spec = c.ramp_curves(ramp_frame(), title="Calls per day", unit="calls", target=target).to_dict()
    data, tgt = values(spec)
    assert [r["value"] for r in data] == [10, 20, 25, 15, 25, 30]
    assert [r["value"] for r in tgt] == [12.5, 25.0, 37.5]
    assert enc(spec, "line", "color")[0]["scale"] == {
        "domain": ["Bob", "earlier hires"],
        "range": [c.REP_COLOUR, c.TEAM_GREY],
    }
    assert enc(spec, "line", "x")[0]["axis"]["values"] == [1, 2, 3]
    assert "n" in tooltip_fields(spec)


def test_scatter_counts_complete_weeks_and_says_it_is_exploratory() -> None:
    spec = c.scatter_effort_feedback(scatter_frame(), "calls", "score", trend="loess", y_title="score").to_dict()
    assert spec["title"]["text"] == "score vs calls (n = 5 weeks)"  # the week without a score does not count
    assert spec["title"]["subtitle"].startswith("Exploratory")
    assert any("loess" in t for n in nodes(spec) for t in n.get("transform", []) if isinstance(t, dict))
    few = c.scatter_effort_feedback(scatter_frame(3), "calls", "score").to_dict()
    assert not any(n.get("transform") for n in nodes(few))  # no trend line through 3 weeks
    assert "n" in tooltip_fields(spec)


def test_lag_association_bars_with_n() -> None:
    spec = BUILDERS["lag_association"]().to_dict()
    (rows,) = values(spec)
    assert [(r["lag"], r["rho"], r["n_label"], r["label_y"]) for r in rows] == [
        (1, 0.4, "n=10", 0.4),
        (2, -0.1, "n=9", 0.0),
    ]
    assert spec["title"]["subtitle"].startswith("Exploratory")


def test_scorecard_ranks_by_the_estimate_with_ties_in_row_order_and_missing_last() -> None:
    spec = c.scorecard(score_frame(), title="Connect rate", center=0.3, highlight="b").to_dict()
    (rows,) = values(spec)
    order = ["b", "c", HOSTILE, "a", "d"]
    assert [r["rep_id"] for r in rows] == order
    assert enc(spec, "point", "y")[0]["sort"] == order
    assert [r["is_focus"] for r in rows] == [True, False, False, False, False]
    assert {"raw", "n", "ci_low", "ci_high"} <= tooltip_fields(spec)
    assert enc(spec, "rule", "x")[-1] == {"datum": 0.3}


# ---- rendering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDERS)
def test_every_chart_renders_to_svg_with_marks(name: str) -> None:
    out = svg(BUILDERS[name]())
    assert out.lstrip().startswith("<svg")
    assert 'class="mark-' in out
    assert HOSTILE not in out


@pytest.mark.parametrize("name", ["funnel_plot", "scorecard"])
def test_text_from_the_data_is_escaped_in_svg(name: str) -> None:
    out = svg(BUILDERS[name]())
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_a_hostile_title_and_rep_name_are_escaped() -> None:
    df = rates(who=[HOSTILE, "team", HOSTILE, "team"])
    out = svg(c.rate_bars(df, title=HOSTILE))
    assert "<script>" not in out and out.count("&lt;script&gt;") >= 2


def test_spec_embeds_all_its_data() -> None:
    for name, build in BUILDERS.items():
        spec = json.loads(build().to_json())
        data = [n["data"] for n in nodes(spec) if isinstance(n.get("data"), dict)]
        assert data and all(d.get("name") in spec["datasets"] for d in data), name  # embedded, no url


# ---- invariants ---------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=6))
def test_outcome_shares_add_up_to_one_per_type(counts: list[int]) -> None:
    df = pd.DataFrame({"activity_type": "call", "outcome": [f"o{i}" for i in range(len(counts))], "n": counts})
    bars, totals = values(c.outcome_mix(df).to_dict(validate=False))  # schema checked elsewhere
    assert totals == [{"activity_type": "call", "n": sum(counts), "n_label": f"n={sum(counts):,}"}]
    if sum(counts) == 0:
        assert all(r["share"] is None for r in bars)  # zero denominator: no share, no crash
    else:
        assert sum(r["share"] for r in bars) == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=6))
def test_mix_label_positions_increase_within_zero_and_one(shares: list[float]) -> None:
    types = list(c.ACTIVITY_TYPES[: len(shares)])
    df = pd.DataFrame({"who": "rep", "activity_type": types, "share": shares, "n": 1})
    (rows,) = values(c.mix_vs_team(df).to_dict(validate=False))
    mids = [r["mid"] for r in rows]
    assert mids == sorted(mids) and 0 < mids[0] and mids[-1] < 1


def _renumber_gradients(svg_text: str) -> str:
    # vl-convert numbers gradient ids per process (gradient_0, gradient_1, ...), not per chart
    return re.sub(r"gradient_[0-9]+", "gradient_N", svg_text)


@pytest.mark.parametrize("name", ["weekday_hour_heatmap", "rate_bars"])
def test_to_svg_is_what_the_svg_renderer_draws(name: str) -> None:
    chart = BUILDERS[name]()
    renderer = alt.renderers.active
    try:
        alt.renderers.enable("svg")
        bundle = chart._repr_mimebundle_()
    finally:
        alt.renderers.enable(renderer)
    out = c.to_svg(chart)
    assert out.lstrip().startswith("<svg")
    assert _renumber_gradients(out) == _renumber_gradients(bundle["image/svg+xml"])


# ---- issue 14: the explorer's charts -----------------------------------------------------------------


def test_every_outcome_has_one_distinct_colour_whatever_the_selection() -> None:
    assert len(set(c.OUTCOME_COLOURS.values())) == len(c.OUTCOME_COLOURS) == 17
    from coachkit.schema import DEFAULT_OUTCOMES

    canon = {o for outs in DEFAULT_OUTCOMES.values() for o in outs}
    assert canon | {c.NOT_LOGGED} == set(c.OUTCOME_COLOURS)
    one = pd.DataFrame({"activity_type": ["call", "call"], "outcome": ["voicemail", "connected"], "n": [5, 1]})
    two = pd.DataFrame(
        {"activity_type": ["email", "call", "call"], "outcome": ["replied", None, "voicemail"], "n": [1, 9, 2]}
    )
    scales = [enc(c.outcome_mix(f).to_dict(), "bar", "color")[0]["scale"] for f in (one, two)]
    colour = [dict(zip(s["domain"], s["range"], strict=True)) for s in scales]
    assert colour[0]["voicemail"] == colour[1]["voicemail"] == "#CC79A7"  # the same in both selections
    assert scales[1]["domain"] == ["voicemail", "replied", "not logged"]  # taxonomy order, missing last
    assert c.outcome_colour("custom_thing") == c.outcome_colour("custom_thing")  # a playbook extra: stable
    assert c.outcome_order(["zeta", "held", "not logged", "alpha", "connected"]) == [
        "connected",
        "held",
        "alpha",
        "zeta",
        "not logged",
    ]


def test_counts_get_no_n_label_and_an_empty_label_series_is_fine() -> None:
    counts = trend_frame().assign(kpi="calls", value=[3.0, 5.0, 0.0], denominator=np.nan)
    spec = c.kpi_trend(counts, title="Calls", unit="calls").to_dict()
    assert not [m for m in marks(spec) if m["mark"] == "text"]  # no "n=0" under count points
    assert c._n_label(pd.Series([], dtype="float64")).tolist() == []
    assert c._n_label(pd.Series([1234.0, np.nan])).tolist() == ["n=1,234", "n=0"]


def test_partial_periods_are_hollow_and_say_how_many_days() -> None:
    f = trend_frame().assign(partial=[False, False, True], days=[7, 7, 3])
    spec = c.kpi_trend(f, title="Connect rate", unit="%").to_dict()
    (rows,) = values(spec)
    assert [r["coverage"] for r in rows] == ["whole period", "whole period", "partial period: 3 days covered"]
    (point,) = [m for m in marks(spec) if m["mark"] == "point"]
    assert point["enc"]["fill"]["condition"] == {"test": "datum.partial", "value": "white"}
    assert "coverage" in tooltip_fields(spec)


@pytest.mark.parametrize(("top", "domain"), [(0.13, [0, 0.15]), (0.062, [0, 0.07]), (0.97, [0, 1.0]), (np.nan, [0, 1])])
def test_rate_axes_zoom_to_the_data(top: float, domain: list[float]) -> None:
    f = trend_frame().assign(value=[0.03, 0.05, np.nan], ci_high=[0.04, top, np.nan])
    if np.isnan(top):  # nothing to zoom to: the whole 0-100%
        f = f.assign(value=np.nan, ci_low=np.nan, ci_high=np.nan)
    spec = c.kpi_trend(f, title="Connect rate", unit="%", zoom=True).to_dict()
    assert enc(spec, "line", "y")[0]["scale"]["domain"] == pytest.approx(domain)
    bars = c.rate_bars(rates().assign(ci_high=[0.05, 0.06, np.nan, 0.13], value=0.04), zoom=True).to_dict()
    assert enc(bars, "rule", "x")[0]["scale"]["domain"] == pytest.approx([0, 0.15])


def test_names_peers_in_grey_and_each_point_its_own_tooltip() -> None:
    f = trend_frame().assign(name="Ann <b>Lee</b>")
    team = pd.DataFrame({"period_start": WEEKS, "value": [0.2, 0.2, 0.2], "team_n": [5, 5, 4]})
    spec = c.kpi_trend(f, title="t", unit="%", team=team, team_label="peers' median (SMB SDR)").to_dict()
    colour = enc(spec, "line", "color")[0]["scale"]
    assert colour == {"domain": ["Ann <b>Lee</b>", "peers' median (SMB SDR)"], "range": [c.REP_COLOUR, c.TEAM_GREY]}
    points = [m for m in marks(spec) if m["mark"] == "point"]
    tips = [{t["field"] for t in p["enc"]["tooltip"]} for p in points]
    assert "team_n" in tips[0] and "n" not in tips[0]  # the median's points: how many reps, no rate n
    assert "n" in tips[1] and "team_n" not in tips[1]  # the rep's points: n and the interval
    assert HOSTILE not in svg(c.kpi_trend(f.assign(name=HOSTILE), title="t", unit="%"))


def test_select_adds_the_click_selection_the_drill_down_listens_to() -> None:
    spec = c.kpi_trend(trend_frame(), title="t", unit="%", select=True).to_dict()
    (param,) = [p for n in nodes(spec) for p in n.get("params", []) if p.get("name") == c.PICK]
    assert param["select"]["fields"] == ["rep_id", "period"] and param["select"]["on"] == "click"
    (rows,) = values(spec)
    assert [r["period"] for r in rows] == ["2025-01-06", "2025-01-13", "2025-01-20"]
    assert "params" not in json.dumps(c.kpi_trend(trend_frame(), title="t", unit="%").to_dict())


def test_the_display_bundle_is_interactive_static_and_text() -> None:
    chart = c.kpi_trend(trend_frame(), title="Connect <rate>", unit="%")
    bundle = c.mimebundle(chart)
    assert set(bundle) == {"application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"}
    assert bundle["application/vnd.vegalite.v5+json"] == chart.to_dict(validate=False)
    assert bundle["image/svg+xml"] == c.to_svg(chart)
    assert bundle["text/plain"] == "<chart: Connect <rate>>"
    before = alt.renderers.active
    try:
        c.enable_interactive()
        c.enable_interactive()
        assert alt.renderers.active == "coachkit"
        data = chart._repr_mimebundle_()
        assert set(data[0] if isinstance(data, tuple) else data) == set(bundle)
    finally:
        alt.renderers.enable(before)


def test_offline_jupyter_chart_bundle_is_cached_on_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(alt.JupyterChart, "_is_offline", False, raising=False)
    monkeypatch.setattr(alt.JupyterChart, "_esm", alt.JupyterChart._esm)
    (tmp_path / "cached.txt").write_text("x")
    import vl_convert

    cache = tmp_path / f"jupyterchart-altair{alt.__version__}-vlc{vl_convert.__version__}.js"
    cache.write_text("export default {render(){}}  // cached bundle")
    c.offline_jupyter_charts(cache_dir=str(tmp_path))
    assert alt.JupyterChart._esm.endswith("// cached bundle") and alt.JupyterChart._is_offline
    assert "esm.sh" not in alt.JupyterChart._esm


def test_a_trend_with_partial_periods_keeps_one_legend_of_names() -> None:
    f = pd.concat([trend_frame(), trend_frame().assign(rep_id="r2")], ignore_index=True)
    f = f.assign(name=["Ann"] * 3 + ["Bob"] * 3, partial=[False, False, True] * 2)
    team = pd.DataFrame({"period_start": WEEKS, "value": [0.2, 0.25, 0.3]})
    drawn = svg(c.kpi_trend(f, title="t", unit="%", team=team, team_label="peers' median (A SDR)"))
    legend = re.findall(r"role-legend-label[^>]*>.*?<text[^>]*>([^<]+)</text>", drawn, flags=re.S)
    assert legend == ["Ann", "Bob", "peers&#39; median (A SDR)"] or legend == ["Ann", "Bob", "peers' median (A SDR)"]
