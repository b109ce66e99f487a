"""Team overview for managers: per peer group (team × role), scorecards ranked by shrunk estimates, funnel plots,
week-over-week changes that survive overdispersion, team medians with their n, and how activity is spread.

Pure functions over the rep-week panel of :func:`team_panel` (:func:`coachkit.panel.rep_week_panel` plus each
rep's peer group). Reps are only ever ranked and compared within their peer group: SDRs and AEs are different
jobs. Every estimate carries its n and a 95% interval that allows for week-to-week variation (the group's
dispersion φ, :mod:`coachkit.stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .coaching import activity_scores
from .dataset import performed_activities
from .kpis import registry
from .panel import active_reps, peer_table, rep_week_panel
from .stats import (
    compare_counts,
    compare_rates,
    count_dispersion,
    fit_beta_binomial,
    funnel_limits,
    poisson_interval,
    rate_dispersion,
    shrink,
    sum_interval,
    wilson,
)

__all__ = [
    "SCORECARD_KPIS",
    "FUNNEL_KPIS",
    "RESULT_KPIS",
    "team_panel",
    "scorecard",
    "funnel",
    "week_over_week",
    "team_medians",
    "activity_spread",
]

#: The scorecard: the activity score, then the leading KPIs (effort and its quality before results).
SCORECARD_KPIS = (
    "activity_score",
    "calls",
    "conversations",
    "meetings",
    "connect_rate",
    "meeting_show_rate",
    "follow_up_24h_rate",
    "notes_coverage",
)
#: Rate KPIs shown as funnel plots.
FUNNEL_KPIS = ("connect_rate", "meeting_show_rate", "follow_up_24h_rate")
#: Results: monitored, not managed.
RESULT_KPIS = ("deals_created", "pipeline_created", "win_rate")
#: The KPIs :func:`team_panel` computes (the activity score is built from the targets' KPIs).
PANEL_KPIS = tuple(dict.fromkeys([*SCORECARD_KPIS, "emails", "follow_ups", *RESULT_KPIS]))

SCORECARD_COLUMNS = [
    "peer_label",
    "rank",
    "rep_id",
    "kpi",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "weeks",
    "raw",
    "method",
    "note",
    "peer_group",
    "peers_n",
]


def team_panel(data: Any, start: Any, end: Any, reps: Sequence[str] | None = None) -> pd.DataFrame:
    """The weekly panel of the overview: :func:`coachkit.panel.rep_week_panel` of :data:`PANEL_KPIS` for the
    weeks from ``start`` to ``end`` (data after ``end`` is not used; a week cut by ``end`` is partial, with
    its exposure prorated by working days), with each rep's ``peer_group``, ``peer_label``, ``peer_basis``,
    ``peers_n``, ``role_key`` (:func:`coachkit.panel.peer_table` over the reps with an activity in the
    weeks), ``role`` and ``hired_at``. Reps without any activity in the weeks are left out.
    ``attrs["playbook"]`` is the dataset's playbook (for the activity score's targets).
    """
    cut = data.between(None, end).performed()  # to-dos not done (``done`` false) are not effort
    names = [k for k in PANEL_KPIS if k in registry]
    p = rep_week_panel(cut, pd.Timestamp(start), pd.Timestamp(end), names, reps=reps)
    covered = set(p.loc[p["exposure"] > 0, "rep_id"])
    active = [r for r in active_reps(cut, start, end, reps) if r in covered]
    peers = peer_table(data.reps, active)
    p = p[p["rep_id"].isin(active)].reset_index(drop=True)
    info = data.reps.drop_duplicates("rep_id").set_index("rep_id")
    for c in ("peer_group", "peer_label", "peer_basis", "peers_n", "role_key"):
        p[c] = p["rep_id"].map(peers[c])
    p["role"] = p["rep_id"].map(info["role"])
    p["hired_at"] = p["rep_id"].map(info["hired_at"])
    p.attrs["playbook"] = data.playbook
    return p


def _groups(panel: pd.DataFrame) -> dict[str, pd.Index]:
    """Peer group key -> its members among the panel's reps (a group of the role across teams: every rep of the role)."""
    info = panel.drop_duplicates("rep_id").set_index("rep_id")
    out = {}
    for g in sorted(info["peer_group"].unique()):
        out[g] = (
            info.index[info["role_key"] == g] if str(g).startswith("*\x1f") else info.index[info["peer_group"] == g]
        )
    return out


def scorecard(panel: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Reps ranked on ``kpi`` within their peer group over the panel's weeks, best first, never by raw rates.

    - rate: k = Σ numerator, n = Σ denominator; ``value`` = the empirical-Bayes shrunk rate with its
      interval (:func:`coachkit.stats.shrink`, prior fitted per peer group on effective counts k/φ, n/φ,
      φ = the group's :func:`coachkit.stats.rate_dispersion`); ``raw`` = k / n; ``method`` says whether the
      group's reps were pooled fully (their spread is not above chance) or partially.
    - count: ``value`` = per week of 5 working days, K / E × 5 (E = working days of exposure), with the
      interval φ·Garwood(K/φ) / E × 5; ``n`` = K.
    - sum (talk time, pipeline): per week, total / weeks with the t interval of :func:`coachkit.stats.sum_interval`
      (no Poisson interval); ``n`` = weeks.
    - activity score: :func:`coachkit.coaching.activity_scores` (each target capped at 100%; the interval
      from the count model); ``n`` = targets scored.
    - mean: the mean of the weeks' values with a t interval; ``n`` = weeks with a value.

    ``note``: for the activity score, the targets run over (e.g. "over target: Calls 150%").
    ``rank`` is 1 for the best among the reps whose peer group it is (for a group of the role across
    teams, the prior and φ use every rep of the role); reps with no data come last. Columns: peer_label,
    rank, rep_id, kpi, value, ci_low, ci_high, n, weeks, raw, method, note, peer_group, peers_n.
    """
    from scipy import stats as _st

    d = registry[kpi]
    parts = []
    for group, members in _groups(panel).items():
        gp = panel[panel["rep_id"].isin(members) & (panel["kpi"] == kpi)]
        own = panel.loc[panel["peer_group"] == group, "rep_id"].unique()
        if (gp.empty and kpi != "activity_score") or len(own) == 0:
            continue
        g = gp.groupby("rep_id", sort=True)
        weeks = g.size().astype("float64")
        if d.kind == "rate":
            disp = rate_dispersion(gp["numerator"], gp["denominator"], gp["rep_id"])
            phi = disp.phi if np.isfinite(disp.phi) else 1.0
            k, n = g["numerator"].sum(), g["denominator"].sum()
            prior = fit_beta_binomial(k, n, phi=phi)
            s = shrink(k, n, prior=prior, phi=phi)
            label = "pooled (reps look alike)" if prior.method == "pooled" else "shrunk towards the group"
            out = pd.DataFrame(
                {"value": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"], "n": n, "raw": s["raw"]}
            )
            out["method"] = f"{label}, φ = {phi:.1f}"
        elif d.kind == "count":
            disp = count_dispersion(gp["value"], gp["rep_id"], gp["exposure"])
            phi = disp.phi if np.isfinite(disp.phi) else 1.0
            k, e = g["value"].sum(), g["exposure"].sum()
            lo, hi = poisson_interval(k, phi=phi)
            with np.errstate(divide="ignore", invalid="ignore"):
                per = 5.0 / e.where(e > 0)
            out = pd.DataFrame({"value": k * per, "ci_low": lo * per, "ci_high": hi * per, "n": k}, index=k.index)
            out["raw"] = out["value"]
            out["method"] = f"per week of 5 working days, φ = {phi:.1f}"
        elif d.kind == "sum":
            rows = {r: sum_interval(x["value"]) for r, x in g}
            out = pd.DataFrame(rows, index=["total", "ci_low", "ci_high"]).T.div(weeks, axis=0)
            out = out.rename(columns={"total": "value"}).assign(n=weeks)
            out["raw"] = out["value"]
            out["method"] = "per week, t interval over the weeks"
        elif kpi == "activity_score":
            sc = activity_scores(panel[panel["rep_id"].isin(members)], panel.attrs.get("playbook"))
            out = sc.set_index("rep_id")[["score", "ci_low", "ci_high", "targets", "over_target"]]
            out = out.rename(columns={"score": "value", "targets": "n", "over_target": "note"})
            out["note"] = np.where(out["note"] != "", "over target: " + out["note"], "")
            out["raw"] = out["value"]
            out["method"] = "each target capped at 100%; interval from the count model"
        else:
            mean = g["value"].mean()
            m = g["value"].count().astype("float64")
            with np.errstate(divide="ignore", invalid="ignore"):
                q = _st.t.ppf(0.975, np.maximum(m - 1, 1))
                half = np.where(m > 1, q * g["value"].std(ddof=1) / np.sqrt(m), np.nan)
            out = pd.DataFrame({"value": mean, "ci_low": mean - half, "ci_high": mean + half, "n": m})
            out["raw"] = out["value"]
            out["method"] = "mean of the weeks, t interval"
        if "note" not in out:
            out["note"] = ""
        out = out.reindex(sorted(own))
        out["note"] = out["note"].fillna("")
        out["weeks"] = weeks.reindex(out.index).fillna(0)
        out["peer_group"] = group
        parts.append(out)
    cols = SCORECARD_COLUMNS
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts).rename_axis("rep_id").reset_index().assign(kpi=kpi)
    info = panel.drop_duplicates("rep_id").set_index("rep_id")
    out["peer_label"] = out["rep_id"].map(info["peer_label"])
    out["peers_n"] = out["rep_id"].map(info["peers_n"])
    key = out["value"] if d.higher_is_better else -out["value"]
    out = out.assign(_key=key.where(out["n"] > 0)).sort_values(
        ["peer_label", "_key", "rep_id"], ascending=[True, False, True], na_position="last", kind="stable"
    )
    out["rank"] = out.groupby("peer_group", sort=False).cumcount() + 1
    return out[cols].reset_index(drop=True)


def funnel(panel: pd.DataFrame, kpi: str) -> list[tuple[str, pd.DataFrame, pd.DataFrame, float]]:
    """Funnel-plot data of rate ``kpi`` per peer group: a list of (peer label, points, limits, group rate).

    points: per rep of the group ``rep_id``, ``k``, ``n``, ``rate`` and ``flag_95`` / ``flag_99.8``
    (above / below / within the group's control limits, exact binomial at the effective volume n/φ:
    :func:`coachkit.stats.funnel_limits` with the group's dispersion φ).
    """
    out = []
    for group, members in _groups(panel).items():
        gp = panel[panel["rep_id"].isin(members) & (panel["kpi"] == kpi)]
        if gp.empty:
            continue
        disp = rate_dispersion(gp["numerator"], gp["denominator"], gp["rep_id"])
        phi = disp.phi if np.isfinite(disp.phi) else 1.0
        s = gp.groupby("rep_id", sort=True)[["numerator", "denominator"]].sum()
        f = funnel_limits(s["numerator"], s["denominator"], phi=phi)
        label = panel.loc[panel["peer_group"] == group, "peer_label"]
        name = str(label.iloc[0]) if len(label) else str(group)
        out.append((name, f.reps.rename_axis("rep_id").reset_index(), f.limits, f.p0))
    return out


def week_over_week(panel: pd.DataFrame, kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Each rep's change from the previous week to the latest week of ``panel``, per count or rate KPI.

    The test allows for week-to-week variation (:func:`coachkit.stats.compare_counts` /
    :func:`coachkit.stats.compare_rates` with the peer group's dispersion φ and its df): counts are compared
    per working day of exposure, so a latest week cut short (``partial_now``: the data ends mid-week) is
    prorated, not read as a drop. ``change`` is ``"up"``, ``"down"`` (p < 0.05, two-sided) or ``"no clear
    change"``; ``""`` without data. Amounts and durations (kind sum) and other kinds are left out: one week's
    amount has no interval. Intervals: φ·Garwood per week for counts, Wilson on (k/φ, n/φ) for rates.
    Columns: rep_id, peer_label, kpi, before, now, delta, ci_low_before, ci_high_before, ci_low_now,
    ci_high_now, n_before, n_now, exposure_before, exposure_now, partial_now, phi, p_value, change.
    """
    cols = ["rep_id", "peer_label", "kpi", "before", "now", "delta", "ci_low_before", "ci_high_before"]
    cols += ["ci_low_now", "ci_high_now", "n_before", "n_now", "exposure_before", "exposure_now", "partial_now"]
    cols += ["phi", "p_value", "change"]
    names = [k for k in (kpis or panel["kpi"].unique()) if k in registry and registry[k].kind in ("rate", "count")]
    periods = np.sort(panel["period_start"].unique())
    if len(periods) < 2 or not names:
        return pd.DataFrame(columns=cols)
    before_p, now_p = periods[-2], periods[-1]
    parts = []
    for name in names:
        is_rate = registry[name].kind == "rate"
        for group, members in _groups(panel).items():
            gp = panel[panel["rep_id"].isin(members) & (panel["kpi"] == name)]
            own = panel.loc[panel["peer_group"] == group, "rep_id"].unique()
            if gp.empty:
                continue
            disp = (
                rate_dispersion(gp["numerator"], gp["denominator"], gp["rep_id"])
                if is_rate
                else count_dispersion(gp["value"], gp["rep_id"], gp["exposure"])
            )
            b = gp[gp["period_start"] == before_p].set_index("rep_id").reindex(sorted(own))
            n = gp[gp["period_start"] == now_p].set_index("rep_id").reindex(sorted(own))
            phi, df = disp.phi, disp.df
            if is_rate:
                k1, n1 = b["numerator"].fillna(0), b["denominator"].fillna(0)
                k2, n2 = n["numerator"].fillna(0), n["denominator"].fillna(0)
                test = compare_rates(k1, n1, k2, n2, phi=phi, df=df)
                l1, h1 = wilson(k1, n1, phi=phi)
                l2, h2 = wilson(k2, n2, phi=phi)
                v1, v2, nb, nn = test["rate1"].to_numpy(), test["rate2"].to_numpy(), n1, n2
            else:
                k1, e1 = b["value"].fillna(0), b["exposure"].fillna(0)
                k2, e2 = n["value"].fillna(0), n["exposure"].fillna(0)
                test = compare_counts(k1, e1, k2, e2, phi=phi, df=df)
                l1, h1 = poisson_interval(k1, phi=phi)
                l2, h2 = poisson_interval(k2, phi=phi)
                v1, v2, nb, nn = k1.to_numpy(), k2.to_numpy(), k1, k2
            part = pd.DataFrame(
                {
                    "rep_id": sorted(own),
                    "kpi": name,
                    "before": v1,
                    "now": v2,
                    "ci_low_before": l1,
                    "ci_high_before": h1,
                    "ci_low_now": l2,
                    "ci_high_now": h2,
                    "n_before": np.asarray(nb, dtype="float64"),
                    "n_now": np.asarray(nn, dtype="float64"),
                    "exposure_before": b["exposure"].to_numpy(dtype="float64"),
                    "exposure_now": n["exposure"].to_numpy(dtype="float64"),
                    "partial_now": n["partial"].fillna(False).to_numpy(dtype=bool),
                    "phi": phi,
                    "p_value": test["p_value"].to_numpy(),
                    "change": test["change"].to_numpy(),
                }
            )
            parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out["delta"] = out["now"] - out["before"]
    info = panel.drop_duplicates("rep_id").set_index("rep_id")
    out["peer_label"] = out["rep_id"].map(info["peer_label"])
    order = {k: i for i, k in enumerate(names)}
    out = out.assign(_o=out["kpi"].map(order)).sort_values(["_o", "peer_label", "rep_id"], kind="stable")
    return out[cols].reset_index(drop=True)


def team_medians(panel: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """Per peer group and KPI: the median over its reps and how many reps it rests on.

    Rates: the median of each rep's Σ numerator / Σ denominator; counts: of each rep's count per week of 5
    working days; sums: of each rep's total per week. For a group of the role across teams the median is
    over every rep of the role. Columns ``peer_label``, ``kpi``, ``median``, ``reps`` (the n of the median),
    ``peer_basis``.
    """
    rows = []
    info = panel.drop_duplicates("rep_id").set_index("rep_id")
    for name in kpis:
        kind = registry[name].kind
        kp = panel[panel["kpi"] == name]
        for group, members in _groups(panel).items():
            gp = kp[kp["rep_id"].isin(members)]
            own = info[info["peer_group"] == group]
            if gp.empty or own.empty:
                continue
            g = gp.groupby("rep_id")
            if kind == "rate":
                den = g["denominator"].sum()
                vals = (g["numerator"].sum() / den.where(den > 0)).dropna()
            elif kind == "count":
                e = g["exposure"].sum()
                vals = (g["value"].sum() / e.where(e > 0) * 5).dropna()
            else:
                vals = (g["value"].sum() / g.size()).dropna()
            rows.append(
                {
                    "peer_label": own["peer_label"].iloc[0],
                    "kpi": name,
                    "median": float(vals.median()) if len(vals) else np.nan,
                    "reps": len(vals),
                    "peer_basis": own["peer_basis"].iloc[0],
                }
            )
    return pd.DataFrame(rows, columns=["peer_label", "kpi", "median", "reps", "peer_basis"])


def activity_spread(
    activities: pd.DataFrame, reps: pd.DataFrame, start: Any = None, end: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How activity is spread across reps: (per_rep, summary). Reps who left before ``start`` or were hired
    after ``end`` (when given) are left out.

    per_rep: ``rep_id``, ``team``, ``activities`` (all types), ``share`` of the team's activities, and one
    column per activity type; every rep of ``reps`` appears (0 when idle), most active first within a team.
    summary per team: ``reps``, ``activities``, ``median``, ``min``, ``max``, ``top_share`` = share of the
    team's activities done by its busiest fifth of reps (at least one rep), and ``idle_reps`` (no activity).
    """
    if start is not None:
        reps = reps[~(reps["left_at"] < pd.Timestamp(start))]
    if end is not None:
        reps = reps[~(reps["hired_at"] > pd.Timestamp(end))]
    activities = performed_activities(activities)  # to-dos not done (``done`` false) are not effort
    counts = pd.crosstab(activities["rep_id"], activities["activity_type"])
    base = reps[["rep_id", "team"]].drop_duplicates("rep_id").set_index("rep_id")
    per = base.join(counts).fillna(0)
    type_cols = list(counts.columns)
    per[type_cols] = per[type_cols].astype("int64")
    per["activities"] = per[type_cols].sum(axis=1).astype("int64")
    per["team"] = per["team"].fillna("(no team)")
    team_total = per.groupby("team")["activities"].transform("sum")
    per["share"] = per["activities"] / team_total.where(team_total > 0)
    per = per.reset_index().sort_values(["team", "activities", "rep_id"], ascending=[True, False, True])
    per = per[["rep_id", "team", "activities", "share", *type_cols]].reset_index(drop=True)

    def top(x: pd.Series) -> float:
        k = max(1, int(np.ceil(len(x) / 5)))
        total = x.sum()
        return float(np.sort(x.to_numpy())[::-1][:k].sum() / total) if total > 0 else np.nan

    g = per.groupby("team")["activities"]
    summary = pd.DataFrame(
        {
            "reps": g.size(),
            "activities": g.sum(),
            "median": g.median(),
            "min": g.min(),
            "max": g.max(),
            "top_share": g.apply(top),
            "idle_reps": g.apply(lambda x: int((x == 0).sum())),
        }
    ).reset_index()
    return per, summary
