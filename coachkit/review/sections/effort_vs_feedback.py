"""Effort and what it earned (exploratory): whether weeks with more effort are followed by more conversations,
meetings, deals or better feedback, on the rep's peer group's last weeks, at the playbook's one pre-set lag;
within each rep and between reps, with their n; plus the rep's own week-by-week table.

Per-rep Spearman sentences over a dozen weeks (which told 8 of 30 reps "unlikely to be chance", with opposite
signs) are gone: one pre-specified lag, the peer group's rep-week panel, cluster-robust errors, and a direction
only when the interval excludes none (:func:`coachkit.coaching.effort_associations`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...coverage import Coverage
from ...kpis import registry
from ...window import Window, focus_as_of
from ..fmt import fmt_interval, is_missing, num, pct, plural
from ..page import Details, Section, Table, Text
from ..team import Team
from ..trend import history

__all__ = ["effort_vs_feedback"]


def _pairs(profile: Coverage | None) -> tuple[tuple[str, str], ...]:
    from ...coaching import ASSOCIATION_PAIRS

    if profile is None:
        return ASSOCIATION_PAIRS
    return tuple((e, o) for e, o in ASSOCIATION_PAIRS if not profile.supports(e) and not profile.supports(o))


def effort_vs_feedback(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    history_weeks: int = 12,
    weekly: pd.DataFrame | None = None,
    profile: Coverage | None = None,
    team: Team | None = None,
) -> Section:
    """Exploratory effort → outcome associations on the rep's peer group over the last ``history_weeks`` full weeks
    (:func:`coachkit.coaching.effort_associations`, pairs the data supports), in plain words: the directions found,
    then the pairs with no clear direction; every estimate with its interval and n in a collapsed block; and the
    rep's own last weeks, week by week (``weekly``, :func:`coachkit.review.history`). ``team``: the rep's
    :func:`coachkit.review.team_tables`, whose :attr:`~coachkit.review.team.Team.shared` keeps the associations
    for the next rep of the team. Frames ``association`` and ``weekly``."""
    from ...coaching import effort_associations

    sec = Section("effort_vs_feedback", "Effort and what it earned")
    ef = weekly if weekly is not None else history(data, rep_id, window, history_weeks)
    sec.frames["weekly"] = ef
    pairs = _pairs(profile)
    as_of = focus_as_of(data.playbook, window.end)
    cut = data.between(None, window.end)
    # the same for the whole peer group: computed once for the team (``team``: the rep's team_tables)
    cache = team.shared if team is not None and team.rep_id == rep_id else None
    assoc = effort_associations(cut, rep_id, as_of, history_weeks, pairs, cache=cache) if pairs else pd.DataFrame()
    sec.frames["association"] = assoc
    if assoc.empty:
        sec.add(
            Text("Effort and outcomes: not in this data (no outcome the data supports to relate effort to).", "note")
        )
    else:
        r0 = assoc.iloc[0]
        lag = int(r0["lag"])
        when = "in the same week" if lag == 0 else ("one week later" if lag == 1 else f"{lag} weeks later")
        found = assoc[assoc["direction"].isin(["positive", "negative"])]
        unclear = assoc[~assoc.index.isin(found.index)]
        n = f"{plural(int(assoc['reps'].max()), 'rep')}, {plural(int(assoc['rep_weeks'].max()), 'rep-week')}"
        head = f"Exploratory, on the peer group's last {plural(history_weeks, 'week')} ({n}), {when}: "
        reasons = assoc["reason"].fillna("").astype(str)
        if (reasons != "").all():
            sec.add(head + f"not estimated ({reasons.iloc[0]}).")
        elif len(found):
            bits = []
            for r in found.to_dict("records"):
                e, o = registry[r["effort"]].label.lower(), registry[r["outcome"]].label.lower()
                counted = registry[r["outcome"]].kind == "count"
                up = r["direction"] == "positive"
                more = ("more" if up else "fewer") if counted else ("a higher" if up else "a lower")
                who = "a rep's busier weeks" if r["effect"] == "within rep" else "reps who put in more"
                bits.append(f"{who} in {e} went with {more} {o}")
            sec.add(head + "; ".join(bits) + ". An association, not a cause.")
        else:
            sec.add(head + "no clear direction between effort and what followed.")
        if len(found) and len(unclear):
            names = sorted(
                {
                    f"{registry[e].label.lower()} → {registry[o].label.lower()}"
                    for e, o in zip(unclear["effort"], unclear["outcome"], strict=True)
                }
            )
            sec.add(Text("No clear direction: " + "; ".join(names) + ".", "note"))
        sec.add(Details("The associations, with their intervals and n", (_table(assoc),)))
    sec.add(Details(f"The rep's last {plural(len(ef), 'week')}, week by week", (Table(_weekly_table(ef)),)))
    return sec


def _table(assoc: pd.DataFrame) -> Table:
    return Table(
        pd.DataFrame(
            {
                "Effort → outcome": [
                    f"{registry[e].label} → {registry[o].label}"
                    for e, o in zip(assoc["effort"], assoc["outcome"], strict=True)
                ],
                "Effect": assoc["effect"],
                "Slope (outcome per unit of effort)": assoc["slope"].map(
                    lambda x: "–" if is_missing(x) else f"{x:+.3f}"
                ),
                "95% interval": [
                    "–" if is_missing(lo) else f"{lo:+.3f} to {hi:+.3f}"
                    for lo, hi in zip(assoc["ci_low"], assoc["ci_high"], strict=True)
                ],
                "n": [
                    f"{int(r)} reps, {int(w)} rep-weeks" for r, w in zip(assoc["reps"], assoc["rep_weeks"], strict=True)
                ],
                "In words": assoc["sentence"],
            }
        ),
        "Within rep: a rep's week against their own usual week (rep fixed effects, errors clustered by rep); "
        "between reps: each rep's average (one point per rep).",
    )


def _weekly_table(ef: pd.DataFrame) -> pd.DataFrame:
    from ...stats import wilson

    def rate(v: Any, k: Any, n: Any) -> str:
        if is_missing(v) or is_missing(n) or float(n) <= 0:
            return "–"
        lo, hi = (float(x) for x in wilson(round(float(k)), float(n)))
        return f"{pct(v)} ({fmt_interval('rate', 'connect_rate', lo, hi)}, n = {num(n)})"

    connect_k = (ef["connect_rate"] * ef["connect_n"]).round()
    return pd.DataFrame(
        {
            "Week of": pd.to_datetime(ef["period_start"]).dt.strftime("%d %b"),
            "Activities": ef["activities"].map(num),
            "Conversations": ef["conversations"].map(num),
            "Connect rate (95% CI, n)": [
                rate(v, k, n) for v, k, n in zip(ef["connect_rate"], connect_k, ef["connect_n"], strict=True)
            ],
            "Feedback score (n)": [
                "–" if is_missing(v) else f"{v:.1f} (n = {num(n)})"
                for v, n in zip(ef["feedback_score"], ef["feedback_n"], strict=True)
            ],
            "Notes coverage": ef["notes_coverage"].map(pct),
            "Top theme": ef["top_theme"].map(lambda s: "–" if is_missing(s) else str(s).replace("_", " ")),
        }
    )
