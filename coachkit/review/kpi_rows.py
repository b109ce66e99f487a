"""One row per KPI for a rep and window: this window's value with its n and 95% interval, the prior window's value,
the change in between in words, the peers' median and the target (:func:`kpi_rows`). The summary, the scorecard,
"Going well" and the focus comparison all read these rows.

With the rep's focus candidates (:func:`coachkit.coaching.focus_candidates`: one row per focus KPI, with the peer
group's week-to-week dispersion φ and its df), counts and rates get the overdispersion-aware intervals
(φ·Garwood(K/φ), Wilson on k/φ of n/φ) and change tests (:func:`coachkit.stats.compare_counts` per working day,
:func:`coachkit.stats.compare_rates`), and the peers are the candidates' peer group (team × role, or the role
across teams when the team is small) with its median and size. Without them, Poisson and binomial ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..kpis import registry
from ..stats import compare_counts, compare_rates, poisson_interval, wilson
from ..window import Window
from .compare import change, t_interval
from .fmt import is_missing
from .rows import feedback_scores
from .targets import count_target, rate_target
from .team import Team, team_median, window_count, window_total

__all__ = ["kpi_rows"]


def present_count(
    team: Team, kpi: str, window: Window, playbook: Any, absent: Sequence[Any], which: str = "this"
) -> tuple[float, float]:
    """(count, working days) of a count KPI over the window's (or the prior window's) weeks that the rep worked:
    the rep's weekly rows of :class:`Team` (the KPI tables hold only weeks of employment, so weeks before a hire are
    not zero weeks) without the weeks starting on an ``absent`` Monday, and the working days of those weeks inside
    the window. (0, 0) when no week is left."""
    start, end = (window.start, window.end) if which == "this" else (window.prior_start, window.prior_end)
    rows = team.rep_rows(kpi, which)
    starts = rows["period_start"].to_numpy(dtype="datetime64[ns]")
    away = np.array([pd.Timestamp(a).to_datetime64() for a in absent], dtype="datetime64[ns]")
    week = np.timedelta64(7, "D")
    weeks = np.arange(pd.Timestamp(start).to_datetime64(), pd.Timestamp(end).to_datetime64() + 1, week)
    weeks = weeks[~np.isin(weeks, away) & np.isin(weeks, starts)]
    if not len(weeks):
        return 0.0, 0.0
    lo = np.maximum(weeks, pd.Timestamp(start).to_datetime64())
    hi = np.minimum(weeks + week, (pd.Timestamp(end) + pd.Timedelta(days=1)).to_datetime64())
    days = float(playbook.working_days_between(lo, hi).sum())
    values = rows["value"].to_numpy(dtype="float64", na_value=np.nan)[np.isin(starts, weeks)]
    count = float(np.where(np.isnan(values), 0.0, values).sum())
    return count, days


_WORDS = {"up": "up", "down": "down", "no clear change": "same", "same": "same"}


def _stats_change(kind: str, k1: float, n1: float, k2: float, n2: float, phi: float, df: float) -> str:
    """'up', 'down', 'same' or '' (no data) for this window (k1 of n1, or k1 over n1 working days) against the prior
    (k2, n2), with the overdispersion φ and its df (:func:`coachkit.stats.compare_counts` / ``compare_rates``)."""
    if any(is_missing(v) for v in (k1, n1, k2, n2)) or n1 <= 0 or n2 <= 0:
        return ""
    phi = 1.0 if is_missing(phi) else float(phi)
    df = np.inf if is_missing(df) else float(df)
    test = compare_rates if kind == "rate" else compare_counts
    res = test(round(k2), n2, round(k1), n1, phi=phi, df=df) if kind == "rate" else test(k2, n2, k1, n1, phi=phi, df=df)
    return _WORDS.get(str(res["change"].iloc[0]), "")


def kpi_rows(
    data: Any,
    rep_id: str,
    window: Window,
    team: Team,
    kpis: Sequence[str],
    *,
    absent: Sequence[Any] = (),
    candidates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per KPI of ``kpis`` (in order) with ``kpi``, ``label``, ``kind``, ``unit``, ``value``, ``prior``,
    ``team_median`` (the peers' median, the rep included), ``target`` (role target, else playbook benchmark;
    activity score: 100), ``target_kind``, ``numerator``, ``n`` (rates: the denominator; counts: the count;
    feedback score: scored activities; activity score: weeks), ``ci_low``/``ci_high`` (Wilson, Poisson or t),
    ``prior_n`` and ``change`` (``up``/``down``/``same`` from the change test, '' without data).
    ``team``: the rep's :func:`coachkit.review.team_tables`. ``absent``: the Mondays of the rep's absent weeks
    (:func:`coachkit.review.absences`): a count's change is judged per working day on the other weeks only, so that a
    week of leave is not read as a drop (the value shown stays the window's total). ``candidates``: the rep's focus
    candidates (module docstring); they add ``phi``, ``df``, ``peers_n`` and ``peer_label`` to the rows of their
    KPIs."""
    pb = data.playbook
    by_kpi = {} if candidates is None or candidates.empty else {str(r["kpi"]): r for r in candidates.to_dict("records")}
    rows = []
    for k in kpis:
        d = registry[k]
        this, prior = window_total(team, k), window_total(team, k, "prior")
        row: dict[str, Any] = {"kpi": k, "label": d.label, "kind": d.kind, "unit": d.unit}
        row["team_median"] = team_median(team, k)
        c = by_kpi.get(k)
        phi, df = (c["phi"], c["df"]) if c is not None else (np.nan, np.nan)
        if c is not None:  # the calibrated focus's peer group: its size, name and median (focus window)
            row |= {"phi": phi, "df": df, "peers_n": c["peers_n"], "peer_label": c["peer_label"]}
            row |= {"team_median": c["team_median"], "team_finding": bool(c.get("team_finding", False))}
        scale = 1.0 if is_missing(phi) else float(phi)
        if d.kind == "rate":
            kk, n = float(this["numerator"]), float(this["denominator"])
            lo, hi = (float(v) for v in wilson(kk, n, phi=scale)) if n > 0 else (np.nan, np.nan)
            target, tk = rate_target(data, rep_id, k)
            row |= {"value": kk / n if n > 0 else np.nan, "numerator": kk, "n": n, "ci_low": lo, "ci_high": hi}
            row |= {"prior": prior["value"], "prior_n": float(prior["denominator"])}
            row |= {"target": target, "target_kind": tk}
            if c is not None:
                row["change"] = _stats_change(
                    "rate", kk, n, float(prior["numerator"]), float(prior["denominator"]), phi, df
                )
            else:
                row["change"] = change("rate", kk, n, float(prior["numerator"]), float(prior["denominator"]))
        elif d.kind == "count":
            kk = window_count(team, k)
            lo, hi = (float(v[0]) for v in poisson_interval([kk], phi=scale))
            target = count_target(data, rep_id, window, k)
            row |= {"value": kk, "numerator": kk, "n": kk, "ci_low": lo, "ci_high": hi}
            pk = window_count(team, k, "prior")
            k1, e1 = present_count(team, k, window, pb, absent)
            k2, e2 = present_count(team, k, window, pb, absent, "prior")
            if e2 == 0:  # no week of the prior window worked (a new hire): nothing to compare with
                pk = np.nan
            row |= {
                "prior": pk,
                "prior_n": pk,
                "target": target,
                "target_kind": "role target" if not is_missing(target) else "",
            }
            if c is not None:
                row["change"] = _stats_change("count", k1, e1, k2, e2, phi, df)
            else:
                row["change"] = change("count", k1, 0, k2, 0, e1, e2) if e1 > 0 and e2 > 0 else ""
        elif k == "feedback_score":
            s1, s2 = (
                feedback_scores(data, rep_id, window.start, window.end),
                feedback_scores(data, rep_id, window.prior_start, window.prior_end),
            )
            lo, hi = t_interval(s1)
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
    return pd.DataFrame(rows)
