"""Coaching focus: the few KPIs where a rep truly differs from what is expected, with the evidence and a next step.

What a focus area means. For every rep and leading KPI of a run, a one-sided test asks
whether the rep is behind its benchmark by more than week-to-week chance allows. Chance
is measured on the rep's own peer group (team × role, see :func:`coachkit.panel.peer_table`):
weekly counts and rates vary much more than Poisson or binomial noise (overdispersion φ,
:func:`coachkit.stats.count_dispersion`), so the tests are widened by φ. Then the
Benjamini–Hochberg procedure across every rep × KPI of the run keeps the expected share
of chance findings among the focus areas at the playbook's ``[coaching] fdr`` (5%), and a
gap must also be at least ``min_gap`` (10%) of the benchmark to be worth a conversation.
When a whole peer group misses a target, that is one **team finding**, not a focus area for
each of its reps; for that KPI each rep is compared with its peers instead.

Measured on null data (whole rep-weeks exchanged at random among the reps of each team and
role, so that no rep truly differs; :func:`coachkit.calibration.exchange_rep_weeks`), see
:data:`FOCUS_DEFINITION` and ``tests/test_calibration.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .panel import MIN_PEERS, active_reps, kpi_availability, peer_groups, peer_members, peer_table, rep_week_panel
from .playbook import Playbook
from .stats import _t_cdf, count_dispersion, poisson_interval, rate_dispersion, wilson
from .window import focus_window

__all__ = [
    "FOCUS_KPIS",
    "FOCUS_COLUMNS",
    "CANDIDATE_COLUMNS",
    "FOCUS_DEFINITION",
    "TERMS",
    "DISPERSION_WEEKS",
    "MIN_PEERS",
    "coaching_focus",
    "focus_candidates",
    "activity_score_parts",
    "activity_scores",
    "effort_associations",
    "weekly_trend",
    "ASSOCIATION_PAIRS",
    "select_focus",
    "team_findings",
    "focus_window",
    "peer_groups",
    "peer_table",
]

#: KPIs considered for coaching focus -> ``leading`` (activity the rep controls) or ``lagging`` (results).
#: Lagging results are tested and shown, but never a coaching focus. Only counts of whole events and
#: rates are considered: they have an honest model (amounts, talk time, means and scores do not).
FOCUS_KPIS: dict[str, str] = {
    "calls": "leading",
    "emails": "leading",
    "meetings": "leading",
    "follow_ups": "leading",
    "conversations": "leading",
    "active_days": "leading",
    "connect_rate": "leading",
    "meeting_show_rate": "leading",
    "follow_up_24h_rate": "leading",
    "notes_coverage": "leading",
    "outcome_logged_rate": "leading",
    "deals_created": "lagging",
    "win_rate": "lagging",
}

#: The dispersion φ is estimated on at least this many weeks (the window, or more weeks before it):
#: a 4-week window of 6 reps has only 18 residual degrees of freedom.
DISPERSION_WEEKS = 8

#: What the denominator of each rate counts, for the evidence sentence.
_DENOMINATOR_NOUNS: dict[str, str] = {
    "connect_rate": "calls",
    "meeting_show_rate": "meetings held or no-show",
    "follow_up_24h_rate": "conversations with an account",
    "notes_coverage": "conversations",
    "outcome_logged_rate": "calls",
    "win_rate": "closed deals",
}

#: Columns of :func:`coaching_focus`, in order (the first 15 as before; the rest added).
FOCUS_COLUMNS: tuple[str, ...] = (
    "kpi",
    "label",
    "kind",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "team_median",
    "target",
    "benchmark",
    "benchmark_value",
    "gap",
    "std_gap",
    "evidence",
    "action",
    "p_value",
    "q_value",
    "peer_group",
    "peer_basis",
    "peers_n",
    "family",
)

#: Columns of :func:`focus_candidates` (then :func:`select_focus` adds ``q_value``, ``flagged``).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "rep_id",
    "kpi",
    "label",
    "kind",
    "measure",
    "value",
    "n",
    "weeks",
    "exposure",
    "ci_low",
    "ci_high",
    "phi",
    "df",
    "peer_group",
    "peer_basis",
    "peer_label",
    "peers_n",
    "team_value",
    "team_ci_low",
    "team_ci_high",
    "team_median",
    "target",
    "target_kind",
    "team_finding",
    "benchmark",
    "benchmark_value",
    "gap",
    "std_gap",
    "p_value",
    "eligible",
    "reason",
    "evidence",
    "action",
)

#: Plain-words definition of a focus area, for the README and the review's definitions page.
FOCUS_DEFINITION = (
    "A focus area is a leading activity KPI on which the rep is behind its benchmark by more than week-to-week "
    "chance allows. The benchmark is the role's target, else the playbook benchmark, else the rep's peers (the "
    "other reps of the same team and role; the same role across teams when the team has fewer than "
    f"{MIN_PEERS}). Chance is measured on the peer group's own weeks, which vary far more than a simple count "
    "would. Across all reps and KPIs of a run, the share of focus areas that are chance is held at 5% "
    "(Benjamini-Hochberg false discovery rate), and a gap under 10% of the benchmark is not raised. When the "
    "whole peer group misses a target, that is reported once as a team finding and each rep is compared with "
    "the peers instead. Lagging results (deals, win rate) are never a focus area. On data where no rep truly "
    "differs, about 1 rep in 200 got a focus area in a week (2 of 390 measured); a rep with 70% of their calls "
    "missing or no follow-ups at all is found."
)

#: The statistics' terms in plain words, for the review's and the overview's definitions pages.
TERMS: dict[str, str] = {
    "Peer group": f"The reps of the same team and role. A team with fewer than {MIN_PEERS} reps of a role (with "
    "activity in the window) is compared within the role across all teams instead, and says so. Reps are only "
    "ranked and compared within their peer group.",
    "Focus area": FOCUS_DEFINITION,
    "Team finding": "A whole peer group below its role target or the playbook benchmark: the group's own 95% "
    "interval lies below it. Reported once for the group (a target or process question), not as every rep's "
    "focus area; for that KPI each rep is compared with the other reps of the group.",
    "Week-to-week variation": "Weekly counts and rates vary more than a simple Poisson count or a coin toss "
    "would (busy and quiet weeks). Each peer group's variation φ is measured on its own weeks, within each rep, "
    "and every interval and test below is widened by it.",
    "Intervals": "95%. Counts: the exact Poisson (Garwood) interval scaled by φ. Rates: the Wilson interval on "
    "the effective sample (k/φ of n/φ). Amounts and durations (pipeline, talk time): a t interval over the "
    "weeks, never a Poisson one. Shrunk rates: between the rep's own interval and the peer group's.",
    "Change": "'Up' or 'down' against the previous period only when a test that allows for the week-to-week "
    "variation finds a difference at the 5% level; counts are compared per working day, so a short week is "
    "not read as a drop. Otherwise 'no clear change'.",
    "Trend": "A rising or falling trend is stated only when the 95% interval of the weekly growth rate "
    "(quasi-Poisson regression on the week, allowing for week-to-week variation and autocorrelation) excludes "
    "0; weeks before the data or the rep's hire are not zero weeks.",
    "Effort and outcome": "Exploratory: whether weeks with more effort are followed, one pre-set number of "
    "weeks later, by more of an outcome, within each rep (against the rep's usual week) and between reps, "
    "with the number of reps and rep-weeks. A direction is named only when the 95% interval excludes 0; an "
    "association is not a cause.",
    "Activity score": "100 × the weighted average over the role's targets of each target's attainment, capped "
    "at 100%: 100 means every target met, and running over one target does not make up for another (the "
    "targets run over are named). Its interval comes from the counts' own variation.",
}

_BENCHMARK_NAMES = {"target": "role target", "playbook": "playbook benchmark", "peers": "peer group"}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x is not None and np.isfinite(x) else "–"


def _num(x: float) -> str:
    # whole numbers from 10 up; one decimal below, where it matters (a CI of 1.1-10 vs 0-10)
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x - round(x)) < 0.05 or abs(x) >= 10 else f"{x:,.1f}"


def _ramp(pb: Playbook, starts: np.ndarray, hired: np.ndarray) -> np.ndarray:
    """Ramp factor per rep-week: tenure week = floor((start − hired_at) / 7 days) + 1; 1 without hired_at."""
    out = np.ones(len(starts))
    has = ~np.isnat(hired)
    if has.any():
        days = (starts[has] - hired[has]).astype("timedelta64[D]").astype(np.int64)
        weeks = np.floor_divide(days, 7) + 1
        table = {int(w): pb.ramp_factor(int(w)) for w in np.unique(weeks)}
        out[has] = [table[int(w)] for w in weeks]
    return out


def _expected_rows(
    pb: Playbook, kpi: str, role: Any, exposure: np.ndarray, starts: np.ndarray, hired: np.ndarray
) -> tuple[np.ndarray, str, float]:
    """Per rep-week expected count of ``kpi`` for reps of ``role``: (expected, kind, target per week).

    The role target (per-day target × working days of exposure, or per-week target × exposure / 5, × the
    ramp factor of the tenure week), else the playbook benchmark (per week of 5 working days × exposure / 5);
    kind "target", "playbook" or "" (NaN expected). The target per week is a per-day target × 5, or the
    per-week target or benchmark as written.
    """
    t = pb.targets_for(role)
    if kpi in t:
        per, value = t[kpi]
        ramp = _ramp(pb, starts, hired)
        return value * exposure * (1.0 if per == "day" else 0.2) * ramp, "target", value * 5 if per == "day" else value
    if kpi in pb.benchmarks:
        return pb.benchmarks[kpi] * exposure * 0.2, "playbook", pb.benchmarks[kpi]
    return np.full(len(exposure), np.nan), "", np.nan


def focus_candidates(data: Any, as_of: Any, weeks: int = 4, reps: Any = None) -> pd.DataFrame:
    """Every rep × focus KPI of a run, with its value, interval, benchmark and one-sided p-value.

    The window is :func:`focus_window` (full Monday-Sunday weeks). ``reps``: the rep ids to report
    (default: every rep with an activity in the window, :func:`coachkit.panel.active_reps`); their peer
    groups are always computed whole.

    Per peer group (:func:`coachkit.panel.peer_table`) and KPI, on the rep-week panel
    (:func:`coachkit.panel.rep_week_panel`: only weeks the data and the rep's employment cover,
    counts per working day of exposure):

    - **dispersion** φ and its residual df from the group's rep-weeks of the last
      max(weeks, :data:`DISPERSION_WEEKS`) weeks, within rep (:func:`coachkit.stats.count_dispersion`,
      :func:`coachkit.stats.rate_dispersion`).
    - **value**: counts: the window total K with the interval φ·Garwood(K/φ), ``n`` = K, ``exposure`` =
      working days; rates: Σ numerator / Σ denominator with the Wilson interval on (k/φ, n/φ), ``n`` =
      Σ denominator.
    - **benchmark**: the role target (``targets`` of the rep's role; counts: per-day target × working
      days of exposure, per-week × exposure / 5, × the ramp factor of each tenure week), else the
      playbook benchmark (``[coaching] benchmarks``; counts per week of 5 working days), else the peers.
    - **team finding**: when the group as a whole misses its target or benchmark (the group total's
      95% interval lies wholly on the wrong side of the group's expected total), ``team_finding`` is
      True on every row of that group × KPI, and each rep is compared with its peers instead.
    - **peers**: the leave-one-out peers (the other reps of the group, pooled): counts per working day,
      z = (λᵢ − λ₋ᵢ) / √(φ·λ̂·(1/Eᵢ + 1/E₋ᵢ)); rates z = (pᵢ − p₋ᵢ) / √(φ·p̂(1 − p̂)(1/nᵢ + 1/n₋ᵢ)),
      λ̂, p̂ pooled over the group. ``benchmark_value`` is the peers' rate (counts: scaled to the rep's
      exposure).
    - **p_value**: one-sided, that the rep is behind (below; above for lower-is-better KPIs), from the
      t distribution with φ's df (:func:`coachkit.stats.count_p_below`, :func:`coachkit.stats.rate_p_below`).
      ``std_gap`` = the shortfall in standard errors (positive = behind).
    - **eligible** for focus: a leading KPI the dataset supports (:func:`coachkit.panel.kpi_availability`),
      with a p-value, a benchmark > 0 and, for rates, n >= ``[coaching] min_n``; otherwise ``reason`` says
      why not.

    Columns :data:`CANDIDATE_COLUMNS`; ``attrs`` carry the playbook's ``fdr``, ``min_gap`` and
    ``max_focus`` for :func:`select_focus`.
    """
    pb: Playbook = data.playbook
    first, last = focus_window(as_of, weeks)
    d_first = last - pd.Timedelta(days=7 * max(weeks, DISPERSION_WEEKS) - 1)
    from .kpis import registry

    names = [k for k in FOCUS_KPIS if k in registry and registry[k].kind in ("count", "rate")]
    all_reps = data.reps.drop_duplicates("rep_id")
    wanted = None if reps is None else ([reps] if isinstance(reps, str) else [str(r) for r in reps])
    if wanted is not None:
        unknown = sorted(set(wanted) - set(all_reps["rep_id"].astype(str)))
        if unknown:
            raise ValueError(f"reps not in the reps table: {', '.join(unknown)}")
        # whole peer groups, with the fallback to the role across teams
        roles = set(all_reps.loc[all_reps["rep_id"].isin(wanted), "role"].fillna(""))
        needed = all_reps.loc[all_reps["role"].fillna("").isin(roles), "rep_id"].tolist()
    else:
        needed = None
    panel = rep_week_panel(data, d_first, last, names, reps=needed)
    window = panel[panel["period_start"] >= first]
    covered = set(window.loc[window["exposure"] > 0, "rep_id"])
    active = [r for r in active_reps(data, first, last, needed) if r in covered]
    if wanted is None:
        wanted = active
    peers = peer_table(all_reps, active)
    avail = kpi_availability(data, names)
    info = all_reps.set_index("rep_id")

    rows: list[dict[str, Any]] = []
    panel = panel[panel["rep_id"].isin(active)].reset_index(drop=True)
    codes, uniq = pd.factorize(panel["rep_id"].astype(str).to_numpy(dtype=object))
    uniq = np.asarray(uniq, dtype=object)
    kpi_of = panel["kpi"].to_numpy(dtype=object)
    in_window = (panel["period_start"] >= first).to_numpy(dtype=bool)
    value = panel["value"].to_numpy(dtype="float64")
    num = panel["numerator"].to_numpy(dtype="float64")
    den = panel["denominator"].to_numpy(dtype="float64")
    expo = panel["exposure"].to_numpy(dtype="float64")
    starts = panel["period_start"].to_numpy(dtype="datetime64[ns]")
    role_of = info["role"].reindex(uniq).to_numpy(dtype=object)
    hired_of = info["hired_at"].reindex(uniq).to_numpy(dtype="datetime64[ns]")
    wanted_set = set(wanted)
    groups = {g: peer_members(peers, g) for g in sorted(peers["peer_group"].unique())}
    member_of = {g: np.isin(uniq, np.asarray(m, dtype=object)) for g, m in groups.items()}
    own_of = {g: [r for r in peers.index[peers["peer_group"] == g] if r in wanted_set] for g in groups}
    for name in names:
        d = registry[name]
        sign = 1.0 if d.higher_is_better else -1.0
        is_rate = d.kind == "rate"
        km = kpi_of == name
        for group, is_member in member_of.items():
            mine = own_of[group]
            gm = km & is_member[codes]
            if not gm.any() or not mine:
                continue
            disp = (
                rate_dispersion(num[gm], den[gm], codes[gm])
                if is_rate
                else count_dispersion(value[gm], codes[gm], expo[gm])
            )
            wm = gm & in_window
            c = codes[wm]
            reps_in = np.unique(c)
            if reps_in.size == 0:
                continue
            m = len(uniq)
            role = role_of[reps_in[0]]
            if is_rate:
                k_sum = np.bincount(c, weights=num[wm], minlength=m)
                n_sum = np.bincount(c, weights=den[wm], minlength=m)
                exp_sum = np.full(m, np.nan)
                t = pb.targets_for(role)
                e_kind, t_raw = "", np.nan
                if name in t:
                    e_kind, t_raw = "target", t[name][1]
                elif name in pb.benchmarks:
                    e_kind, t_raw = "playbook", pb.benchmarks[name]
            else:
                exp_rows, e_kind, t_raw = _expected_rows(pb, name, role, expo[wm], starts[wm], hired_of[c])
                k_sum = np.bincount(c, weights=value[wm], minlength=m)
                n_sum = k_sum
                exp_sum = np.bincount(c, weights=np.nan_to_num(exp_rows), minlength=m)
                if np.isnan(exp_rows).all():
                    exp_sum[:] = np.nan
            per = pd.DataFrame(
                {
                    "k": k_sum[reps_in],
                    "n": n_sum[reps_in],
                    "exposure": np.bincount(c, weights=expo[wm], minlength=m)[reps_in],
                    "weeks": np.bincount(c, minlength=m)[reps_in],
                    "expected": exp_sum[reps_in],
                    "e_kind": e_kind,
                    "t_raw": t_raw,
                },
                index=pd.Index(uniq[reps_in], name="rep_id"),
            ).sort_index()
            rows += _group_rows(pb, name, d, sign, is_rate, group, per, disp, peers, avail, mine)
    out = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    out = out[out["rep_id"].isin(wanted)].reset_index(drop=True)
    for c in ("rep_id", "kpi", "label", "kind", "measure", "peer_group", "peer_basis", "peer_label"):
        out[c] = out[c].astype(schema.STRING)
    for c in ("target_kind", "benchmark", "reason", "evidence", "action"):
        out[c] = out[c].astype(schema.STRING)
    out["team_finding"] = out["team_finding"].astype(bool)
    out["eligible"] = out["eligible"].astype(bool)
    out.attrs.update(fdr=pb.fdr, min_gap=pb.min_gap, max_focus=pb.max_focus, window=(first, last))
    return out


def _group_rows(
    pb: Playbook,
    name: str,
    d: Any,
    sign: float,
    is_rate: bool,
    group: str,
    per: pd.DataFrame,
    disp: Any,
    peers: pd.DataFrame,
    avail: dict[str, str],
    wanted: list[str],
) -> list[dict[str, Any]]:
    """The candidate rows of one peer group × KPI (see :func:`focus_candidates`)."""
    phi, df = disp.phi, disp.df
    k, n, e = per["k"].to_numpy(), per["n"].to_numpy(), per["exposure"].to_numpy()
    big_k, big_n, big_e = k.sum(), n.sum(), e.sum()
    reps_n = len(per)
    # the group as a whole, and its own interval
    if is_rate:
        team_value = big_k / big_n if big_n > 0 else np.nan
        tl, th = (float(v) for v in wilson(big_k, big_n, phi=phi)) if big_n > 0 else (np.nan, np.nan)
    else:
        team_value = big_k / big_e if big_e > 0 else np.nan
        tl, th = (float(v) / big_e for v in poisson_interval(big_k, phi=phi)) if big_e > 0 else (np.nan, np.nan)
    e_kind = per["e_kind"].iloc[0] if reps_n else ""
    t_raw = float(per["t_raw"].iloc[0]) if reps_n else np.nan
    has_bench = e_kind in ("target", "playbook") and not np.isnan(t_raw)
    # the group misses its target: its interval lies wholly on the wrong side (one finding per group x KPI)
    team_finding = False
    if has_bench and not avail.get(name):  # a KPI the data lacks (no emails at all) is no team finding either
        if is_rate:
            bench_team = t_raw
        else:
            total_expected = per["expected"].sum()
            bench_team = total_expected / big_e if big_e > 0 else np.nan
        if not np.isnan(bench_team) and not np.isnan(th):
            team_finding = bool(th < bench_team) if sign > 0 else bool(tl > bench_team)
    # peers' values for the median (rates: each rep's rate; counts: each rep's rate per working day)
    with np.errstate(divide="ignore", invalid="ignore"):
        rep_rates = np.where(n > 0, k / n, np.nan) if is_rate else np.where(e > 0, k / e, np.nan)
    median = float(np.nanmedian(rep_rates)) if np.isfinite(rep_rates).any() else np.nan
    # every rep at once: value, interval, benchmark, z and the one-sided p-value
    others = reps_n - 1 > 0
    ko, no, eo = big_k - k, big_n - n, big_e - e
    with np.errstate(divide="ignore", invalid="ignore"):
        if is_rate:
            value = np.where(n > 0, k / n, np.nan)
            lo, hi = wilson(k, n, phi=phi)
            medians = np.full(reps_n, median)
        else:
            value = k.astype("float64")
            lo, hi = poisson_interval(k, phi=phi)
            medians = np.where(e > 0, median * e, np.nan)
        if has_bench and not team_finding:
            bench_kind = e_kind
            if is_rate:
                bench = np.full(reps_n, t_raw)
                bt = np.clip(bench, 0.5 / n, 1 - 0.5 / n)
                z = np.where(n > 0, (value - bench) / np.sqrt(phi * bt * (1 - bt) / n), np.nan)
            else:
                bench = per["expected"].to_numpy(dtype="float64")
                z = np.where(bench > 0, (k - bench) / np.sqrt(phi * bench), np.nan)
        else:
            bench_kind = "peers"
            if is_rate:
                bench = np.where(others & (no > 0), ko / no, np.nan)
                p0 = big_k / big_n if big_n > 0 else np.nan
                se = np.sqrt(phi * p0 * (1 - p0) * (1 / n + 1 / no))
                z = np.where((n > 0) & (no > 0), np.where(se > 0, (value - bench) / se, 0.0), np.nan)
            else:
                lam_o = np.where(others & (eo > 0), ko / eo, np.nan)
                bench = np.where(e > 0, lam_o * e, np.nan)
                lam = big_k / big_e if big_e > 0 else np.nan
                se = np.sqrt(phi * lam * (1 / e + 1 / eo))
                z = np.where((e > 0) & (eo > 0), np.where(se > 0, (k / e - lam_o) / se, 0.0), np.nan)
    pvals = _t_cdf(sign * z, df)
    basis = peers["peer_basis"].reindex(per.index).tolist()
    labels = peers["peer_label"].reindex(per.index).tolist()
    sizes = peers["peers_n"].reindex(per.index).tolist()
    weeks = per["weeks"].tolist()
    wanted_set = set(wanted)
    out = []
    for i, rep in enumerate(per.index):
        if rep not in wanted_set:
            continue
        ni, p, b = float(n[i]), float(pvals[i]), float(bench[i])
        row: dict[str, Any] = {
            "rep_id": rep,
            "kpi": name,
            "label": d.label,
            "kind": FOCUS_KPIS[name],
            "measure": "rate" if is_rate else "count",
            "value": float(value[i]),
            "n": ni,
            "weeks": int(weeks[i]),
            "exposure": float(e[i]),
            "ci_low": float(lo[i]),
            "ci_high": float(hi[i]),
            "phi": phi,
            "df": df,
            "peer_group": group,
            "peer_basis": basis[i],
            "peer_label": labels[i],
            "peers_n": int(sizes[i]),
            "team_value": team_value,
            "team_ci_low": tl,
            "team_ci_high": th,
            "team_median": float(medians[i]),
            "team_finding": team_finding,
            "target": t_raw if has_bench else np.nan,
            "target_kind": _BENCHMARK_NAMES.get(e_kind, "") if has_bench else "",
            "benchmark": _BENCHMARK_NAMES[bench_kind],
            "benchmark_value": b,
            "gap": float(value[i]) - b,
            "std_gap": float(-sign * z[i]),
            "p_value": p,
            "action": pb.action_for(name),
        }
        reason = ""
        if FOCUS_KPIS[name] != "leading":
            reason = "a lagging result: monitored, never a coaching focus"
        elif avail.get(name):
            reason = avail[name]
        elif np.isnan(phi):
            reason = "too few weeks to measure week-to-week variation"
        elif np.isnan(b) or (not is_rate and b <= 0):
            if np.isnan(b):
                reason = "no benchmark (no target, and no peers with data)"
            else:
                reason = "nothing expected (a target of 0)" if bench_kind != "peers" else "the peers had none either"
        elif is_rate and ni < pb.min_n:
            reason = f"only {ni:,.0f} {_DENOMINATOR_NOUNS.get(name, 'events')} (need {pb.min_n})"
        elif np.isnan(p):
            reason = "no test possible"
        row["eligible"] = reason == ""
        row["reason"] = reason
        row["evidence"] = _evidence(row, d, is_rate)
        out.append(row)
    return out


def _evidence(row: dict[str, Any], d: Any, is_rate: bool) -> str:
    """One sentence with the value, its n and interval, and what it was compared with."""
    bench, kind = row["benchmark_value"], row["benchmark"]
    if kind == "peer group":
        others = max(int(row["peers_n"]) - 1, 0)
        against = f"the other {others} {row['peer_label']}"
    else:
        against = kind
    if is_rate:
        noun = _DENOMINATOR_NOUNS.get(row["kpi"], "events")
        lo, hi = row["ci_low"], row["ci_high"]
        ci = f", 95% CI {100 * lo:.0f}–{100 * hi:.0f}%" if not np.isnan(lo) else ""
        k = row["value"] * row["n"] if row["n"] > 0 else 0.0
        text = f"{d.label} {_pct(row['value'])} ({k:,.0f} of {row['n']:,.0f} {noun}{ci}) vs {against} {_pct(bench)}"
    else:
        w = int(row["weeks"])
        span = f"{w} week" + ("s" if w != 1 else "")
        text = (
            f"{d.label} {_num(row['value'])} in {span} (95% CI {_num(row['ci_low'])}–{_num(row['ci_high'])}) "
            f"vs {against} {_num(bench)}"
        )
    if row["team_finding"]:
        target = _pct(row["target"]) if is_rate else f"{_num(row['target'])} a week"
        text += f"; the whole group misses the {row['target_kind']} ({target}), so the rep is compared with the peers"
    return text + "."


def select_focus(candidates: pd.DataFrame, q: float | None = None, min_gap: float | None = None) -> pd.DataFrame:
    """The run's focus areas: Benjamini–Hochberg across every eligible rep × KPI of ``candidates``.

    The family is the eligible rows given (the run); their one-sided p-values get BH-adjusted
    q-values (statsmodels ``multipletests(method="fdr_bh")``; Benjamini & Hochberg 1995, valid for
    independent or positively dependent tests). A row is ``flagged`` when it is eligible, its
    q-value <= ``q`` (default: the playbook's ``[coaching] fdr``, 0.05), the rep is behind
    (std_gap > 0) and the gap is at least ``min_gap`` (default ``[coaching] min_gap``) × the
    benchmark. Returns ``candidates`` plus ``q_value`` (NaN outside the family) and ``flagged``.
    """
    from statsmodels.stats.multitest import multipletests

    q = candidates.attrs.get("fdr", 0.05) if q is None else q
    min_gap = candidates.attrs.get("min_gap", 0.1) if min_gap is None else min_gap
    out = candidates.copy()
    fam = out["eligible"].to_numpy(dtype=bool) & out["p_value"].notna().to_numpy()
    qv = np.full(len(out), np.nan)
    if fam.any():
        qv[fam] = multipletests(out.loc[fam, "p_value"].to_numpy(dtype="float64"), method="fdr_bh")[1]
    out["q_value"] = qv
    bench = out["benchmark_value"].abs()
    big = (out["gap"].abs() >= min_gap * bench).to_numpy(dtype=bool)
    out["flagged"] = fam & (qv <= q) & (out["std_gap"] > 0).to_numpy(dtype=bool) & big
    return out


def team_findings(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per peer group × KPI whose whole group misses its target or benchmark (reported once, not per rep).

    Columns ``peer_group``, ``peer_label``, ``peer_basis``, ``peers_n``, ``kpi``, ``label``, ``measure``,
    ``team_value`` (rates: the pooled rate; counts: per working day), ``team_ci_low``, ``team_ci_high``
    (the group's 95% interval with its dispersion φ), ``target`` (rates: the rate; counts: the target per
    day or week as written in the playbook), ``target_kind`` and ``evidence`` (one sentence).
    """
    cols = ["peer_group", "peer_label", "peer_basis", "peers_n", "kpi", "label", "measure", "team_value"]
    cols += ["team_ci_low", "team_ci_high", "target", "target_kind", "evidence"]
    t = candidates[candidates["team_finding"] & candidates["kind"].eq("leading")]
    t = t.drop_duplicates(["peer_group", "kpi"])
    rows = []
    for r in t.to_dict("records"):
        if r["measure"] == "rate":
            val = f"{_pct(r['team_value'])} (95% CI {100 * r['team_ci_low']:.0f}–{100 * r['team_ci_high']:.0f}%)"
            tgt = _pct(r["target"])
        else:
            for c in ("team_value", "team_ci_low", "team_ci_high"):
                r[c] = 5 * r[c]
            val = f"{r['team_value']:.1f} a week (95% CI {r['team_ci_low']:.1f}–{r['team_ci_high']:.1f})"
            tgt = f"{_num(r['target'])} a week"
        r["evidence"] = (
            f"The {r['peer_label']} ({r['peers_n']} reps) as a group: {r['label'].lower()} {val}, "
            f"below the {r['target_kind']} {tgt}. A team finding: a process or target question, not one rep's."
        )
        rows.append({c: r[c] for c in cols})
    return pd.DataFrame(rows, columns=cols)


def _empty() -> pd.DataFrame:
    text = {"kpi", "label", "kind", "benchmark", "evidence", "action", "peer_group", "peer_basis", "family"}
    return pd.DataFrame({c: pd.Series(dtype=schema.STRING if c in text else "float64") for c in FOCUS_COLUMNS}).astype(
        {"peers_n": "float64"}
    )


def coaching_focus(
    data: Any, rep_id: str, as_of: Any, weeks: int = 4, *, run: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rep's focus areas over the ``weeks`` full weeks ending on ``as_of``, most important first.

    ``run``: the :func:`select_focus` frame of the whole run (all reps reviewed together); the
    rep's flagged rows are taken from it, so the false discovery rate holds across the run
    (``family`` = "run"). Without it, the family is the rep's peer group: the candidates of the
    group's reps are computed and selected together (``family`` = "peer group").

    Columns :data:`FOCUS_COLUMNS` (see :func:`focus_candidates` for each): ``value``, ``n``,
    ``ci_low``/``ci_high``, ``team_median`` (median over the peer group: rates: of each rep's rate;
    counts: of each rep's count per working day × this rep's working days), ``target`` (the role
    target or playbook benchmark: a rate, or for counts per week of 5 working days; NaN if none), ``benchmark`` (``role target``,
    ``playbook benchmark`` or ``peer group``), ``benchmark_value``, ``gap`` = value − benchmark_value,
    ``std_gap`` (shortfall in standard errors), ``evidence``, ``action``, ``kind`` (always
    ``leading``), ``p_value``, ``q_value``, ``peer_group``, ``peer_basis``, ``peers_n``, ``family``.
    Sorted by ``std_gap``, at most ``[coaching] max_focus`` rows; an empty frame with these columns
    when nothing is flagged.
    """
    pb: Playbook = data.playbook
    reps = data.reps.drop_duplicates("rep_id")
    if not (reps["rep_id"] == rep_id).any():
        raise ValueError(f"rep {rep_id!r} is not in the reps table")
    if run is not None:
        sel, family = run[run["rep_id"] == rep_id], "run"
    else:
        cands = focus_candidates(
            data, as_of, weeks, reps=None if len(reps) <= 1 else _group_of(data, rep_id, as_of, weeks)
        )
        sel, family = select_focus(cands), "peer group"
        sel = sel[sel["rep_id"] == rep_id]
    if sel.empty or not sel["flagged"].any():
        return _empty()
    out = sel[sel["flagged"]].sort_values("std_gap", ascending=False, kind="stable")
    out = out.head(max(pb.max_focus, 0)).assign(family=family)
    out = out.assign(target=np.where(out["target_kind"] != "", out["target"], np.nan))
    return out[list(FOCUS_COLUMNS)].reset_index(drop=True).astype(_empty().dtypes.to_dict())


def _group_of(data: Any, rep_id: str, as_of: Any, weeks: int) -> list[str]:
    """The reps whose candidates make the rep's family: those of the rep's role (the peer group is among them)."""
    reps = data.reps.drop_duplicates("rep_id")
    role = reps.loc[reps["rep_id"] == rep_id, "role"].iloc[0]
    same = reps["role"].isna() if pd.isna(role) else reps["role"].eq(role)
    pool = reps.loc[same.to_numpy(dtype=bool), "rep_id"].astype(str).tolist()
    first, last = focus_window(as_of, weeks)
    active = active_reps(data, first, last, pool)
    if rep_id not in active:
        return [rep_id]
    groups = peer_table(reps, active)
    mine = groups.at[rep_id, "peer_group"]
    return groups.index[groups["peer_group"] == mine].tolist()


# ---- the activity score over a window ---------------------------------------------------------------


def activity_score_parts(panel: pd.DataFrame, playbook: Playbook) -> pd.DataFrame:
    """Each rep's attainment of each target of their role over the panel's weeks (uncapped).

    ``panel``: rep-week rows (:func:`coachkit.panel.rep_week_panel`) of the targets' KPIs with ``role``
    and ``hired_at`` columns (as :func:`coachkit.team.team_panel` gives). Per rep and target KPI:
    ``actual`` = Σ the KPI's weekly values; ``expected`` = Σ per-day target × working days of exposure (or
    per-week target × exposure / 5) × the ramp factor of the tenure week; ``attainment`` = actual /
    expected (uncapped: 1.5 = 150% of target); ``over_target`` = attainment > 1; ``weight`` (playbook
    ``[score] weights``, default 1); ``phi`` = the count dispersion of that KPI over the panel's reps (the
    peer group when the panel is one). Columns rep_id, kpi, label, actual, expected, attainment,
    over_target, weight, phi.
    """
    from .kpis import registry

    cols = ["rep_id", "kpi", "label", "actual", "expected", "attainment", "over_target", "weight", "phi"]
    rows = []
    reps = panel.drop_duplicates("rep_id")
    for rep, role in zip(reps["rep_id"], reps["role"], strict=True):
        for name, (per, target) in playbook.targets_for(role).items():
            if name not in registry:
                continue
            kp = panel[panel["kpi"] == name]
            mine = kp[kp["rep_id"] == rep]
            if mine.empty:
                continue
            ramp = _ramp(
                playbook,
                mine["period_start"].to_numpy(dtype="datetime64[ns]"),
                mine["hired_at"].to_numpy(dtype="datetime64[ns]"),
            )
            expected = float((target * mine["exposure"] * (1.0 if per == "day" else 0.2) * ramp).sum())
            actual = float(mine["value"].sum())
            phi = count_dispersion(kp["value"], kp["rep_id"], kp["exposure"]).phi
            rows.append(
                {
                    "rep_id": rep,
                    "kpi": name,
                    "label": registry[name].label,
                    "actual": actual,
                    "expected": expected,
                    "attainment": actual / expected if expected > 0 else np.nan,
                    "over_target": bool(expected > 0 and actual > expected),
                    "weight": float(playbook.weights.get(name, 1)),
                    "phi": phi if np.isfinite(phi) else 1.0,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def activity_scores(panel: pd.DataFrame, playbook: Playbook) -> pd.DataFrame:
    """Each rep's activity score over the panel's weeks: 100 = every target met, each target capped at 100%.

    score = 100 × Σ wₖ · min(actualₖ / expectedₖ, 1) / Σ wₖ over the role's targets
    (:func:`activity_score_parts`), with its 95% interval from the count model
    (:func:`coachkit.stats.capped_score_interval`: each count's true mean drawn from its scaled-Poisson
    posterior with the peer group's φ). Because of the cap, running over one target (150% of the calls)
    cannot make up for missing another; ``over_target`` names the targets run over, with their attainment
    (e.g. "Calls 150%"), so the text can say so. Columns rep_id, score, ci_low, ci_high, targets (how many
    were scored), over_target.
    """
    from .stats import capped_score_interval

    parts = activity_score_parts(panel, playbook)
    rows = []
    for rep in panel.drop_duplicates("rep_id")["rep_id"]:
        p = parts[(parts["rep_id"] == rep) & (parts["expected"] > 0)]
        score, lo, hi = capped_score_interval(p["actual"], p["expected"], p["weight"], phi=p["phi"])
        over = ", ".join(f"{lab} {100 * a:.0f}%" for lab, a in zip(p["label"], p["attainment"], strict=True) if a > 1)
        rows.append(
            {"rep_id": rep, "score": score, "ci_low": lo, "ci_high": hi, "targets": len(p), "over_target": over}
        )
    return pd.DataFrame(rows, columns=["rep_id", "score", "ci_low", "ci_high", "targets", "over_target"])


# ---- trends and effort -> outcome, for the review --------------------------------------------------

#: Pre-specified effort -> what it may earn, at the playbook's one lag (``[coaching] lag_weeks``).
ASSOCIATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("calls", "conversations"),
    ("conversations", "feedback_score"),
    ("conversations", "meetings"),
    ("meetings", "deals_created"),
)


def _per_week(panel: pd.DataFrame) -> pd.Series:
    """Weekly values, counts scaled to a full week of working days (a partial week is not a low week)."""
    from .kpis import registry

    kind = panel["kpi"].map(lambda k: registry[k].kind if k in registry else "")
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = panel["value"] / panel["exposure"].where(panel["exposure"] > 0) * panel["full_exposure"]
    return panel["value"].where(kind != "count", scaled)


def effort_associations(
    data: Any,
    rep_id: str,
    as_of: Any,
    weeks: int = 12,
    pairs: tuple[tuple[str, str], ...] = ASSOCIATION_PAIRS,
    *,
    cache: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """Exploratory effort → outcome associations on the rep's peer group, at the playbook's one lag.

    For each (effort, outcome) pair of ``pairs``, on the rep-week panel of the rep's peer group over the
    ``weeks`` full weeks ending on ``as_of`` (counts per full week of working days, so a partial week is
    not a low week), :func:`coachkit.stats.effort_association` at lag ``[coaching] lag_weeks``: the
    within-rep effect (rep fixed effects, cluster-robust by rep) and the between-rep effect, each with its
    n (reps, rep-weeks). ``sentence`` says it in plain words, always "exploratory", and names a direction
    only when the 95% interval excludes 0. Columns: effort, outcome, effect, slope, ci_low, ci_high,
    p_value, reps, rep_weeks, lag, direction, label, reason, sentence.

    The result is the same for every rep of the peer group. ``cache``: a dict kept by the caller for calls on
    the same ``data`` (e.g. :attr:`coachkit.review.team.Team.shared`): each peer group's result is computed once
    and a copy handed out.
    """
    group = _group_of(data, rep_id, as_of, weeks)
    if cache is None:
        return _effort_associations(data, group, as_of, weeks, pairs)
    key = ("effort_associations", tuple(group), pd.Timestamp(as_of), int(weeks), tuple(pairs))
    if key not in cache:
        cache[key] = _effort_associations(data, group, as_of, weeks, pairs)
    return cache[key].copy()


def _effort_associations(
    data: Any, group: list[str], as_of: Any, weeks: int, pairs: tuple[tuple[str, str], ...]
) -> pd.DataFrame:
    from .kpis import registry
    from .stats import effort_association

    pb: Playbook = data.playbook
    first, last = focus_window(as_of, weeks)
    names = sorted({k for pair in pairs for k in pair if k in registry})
    panel = rep_week_panel(data, first, last, names, reps=group)
    panel = panel[panel["exposure"] > 0].assign(weekly=lambda p: _per_week(p))
    wide = panel.pivot_table(index=["rep_id", "period_start"], columns="kpi", values="weekly", aggfunc="first")
    wide = wide.reset_index()
    parts = []
    for effort, outcome in pairs:
        if effort not in wide or outcome not in wide:
            continue
        res = effort_association(wide, effort, outcome, lag=pb.lag_weeks).assign(effort=effort, outcome=outcome)
        parts.append(res)
    cols = ["effort", "outcome", "effect", "slope", "ci_low", "ci_high", "p_value", "reps", "rep_weeks", "lag"]
    cols += ["direction", "label", "reason", "sentence"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["sentence"] = [_association_sentence(r) for r in out.to_dict("records")]
    return out[cols]


def _association_sentence(r: dict[str, Any]) -> str:
    from .kpis import registry

    e, o = registry[r["effort"]].label.lower(), registry[r["outcome"]].label.lower()
    lag = int(r["lag"])
    when = "the same week" if lag == 0 else ("the week after" if lag == 1 else f"{lag} weeks after")
    n = f"{r['reps']} reps, {r['rep_weeks']} rep-weeks"
    if r["reason"]:
        return f"Exploratory: {e} vs {o} {when}: not estimated ({r['reason']})."
    if r["effect"] == "within rep":
        subject = f"in {when} a week with more {e} than the rep's usual"
    else:
        subject = f"reps with more {e} on average, {when}"
    if r["direction"] in ("positive", "negative"):
        more = "more" if r["direction"] == "positive" else "less"
        ci = f"{r['slope']:+.2f} per unit, 95% CI {r['ci_low']:+.2f} to {r['ci_high']:+.2f}"
        return f"Exploratory ({r['effect']}, {n}): {subject} went with {more} {o} ({ci}); an association, not a cause."
    return f"Exploratory ({r['effect']}, {n}): no clear direction between {e} and {o} {when}."


def weekly_trend(
    data: Any,
    rep_id: str,
    as_of: Any,
    kpi: str = "activities",
    weeks: int = 12,
    *,
    panel: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The rep's trend in a count KPI over the ``weeks`` full weeks ending on ``as_of``.

    Only weeks the data and the rep's employment cover (no pre-data or pre-hire zero weeks), with their
    working days as exposure (a partial week is not a drop): :func:`coachkit.stats.trend` (quasi-Poisson
    GLM on the week with autocorrelation-robust errors; "rising"/"falling" only when the 95% interval of
    the slope excludes 0). Returns its dict plus ``kpi`` and ``values`` (the weekly counts used).

    ``panel``: :func:`coachkit.panel.rep_week_panel` of ``data`` for ``kpi`` over these weeks and reps that
    include ``rep_id`` (e.g. the rep's team, computed once for all of them); default: computed for the rep.
    """
    from .kpis import registry
    from .stats import trend

    if registry[kpi].kind != "count":
        raise ValueError(f"weekly_trend takes a count KPI; {kpi!r} is a {registry[kpi].kind}")
    first, last = focus_window(as_of, weeks)
    p = rep_week_panel(data, first, last, [kpi], reps=[rep_id]) if panel is None else panel
    p = p[(p["rep_id"] == rep_id).to_numpy(dtype=bool) & (p["kpi"] == kpi).to_numpy(dtype=bool)]
    p = p[p["exposure"] > 0].sort_values("period_start")
    out = trend(p["value"].to_numpy(), p["exposure"].to_numpy())
    return out | {"kpi": kpi, "values": p["value"].tolist()}
