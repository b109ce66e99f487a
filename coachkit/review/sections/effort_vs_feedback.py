"""Section 7, effort and feedback: how weekly effort relates to the feedback it earned (exploratory)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...coverage import Coverage
from ...stats import lagged_association
from ...window import Window
from ..fmt import is_missing, num, p_text, pct, plural
from ..page import Details, Section, Table, Text
from ..trend import history


def _strength(rho: float) -> str:
    r = abs(rho)
    return "no visible" if r < 0.1 else ("a weak" if r < 0.3 else ("a moderate" if r < 0.5 else "a strong"))


def association_sentence(x_label: str, y_label: str, row: Mapping[str, Any]) -> str:
    """One exploratory sentence for a ``lagged_association`` row (always with n and wording that does not claim cause)."""
    lag = int(row["lag"])
    when = "in the same week" if lag == 0 else f"{plural(lag, 'week')} later"
    n = int(row["n"])
    if is_missing(row.get("rho")):
        return f"{x_label} and {y_label} {when}: not enough to say ({row.get('reason') or 'no data'}; n = {n} weeks)."
    rho, p = float(row["rho"]), float(row["p_value"])
    direction = "higher" if rho > 0 else "lower"
    head = f"{_strength(rho)} relation" if abs(rho) >= 0.1 else "no visible relation"
    if abs(rho) >= 0.1:
        head += f": weeks with more {x_label.lower()} tended to have {direction} {y_label.lower()} {when}"
    else:
        head += f" between {x_label.lower()} and {y_label.lower()} {when}"
    chance = "could well be chance" if p >= 0.05 else "unlikely to be chance alone, but not proof of cause"
    return f"{head[0].upper()}{head[1:]} (Spearman ρ = {rho:+.2f}, n = {n} weeks, permutation {p_text(p)}; {chance})."


def effort_vs_feedback(
    data: Any,
    rep_id: str,
    window: Window,
    *,
    history_weeks: int = 12,
    lags: Sequence[int] = (0, 1),
    weekly: pd.DataFrame | None = None,
    profile: Coverage | None = None,
) -> Section:
    """How the rep's weekly effort relates to the feedback it earned, over the last ``history_weeks``
    weeks (at least the window and the prior window): weekly activities against the feedback score in
    the same week and ``lags`` weeks later, and against the connect rate in the same week. Exploratory:
    Spearman ρ with n and a permutation p-value (:func:`coachkit.stats.lagged_association`), in a collapsed block;
    the week-by-week table likewise. With a ``profile`` that has no feedback scores, one "not in this data" line.
    """
    sec = Section("effort_vs_feedback", "Effort and feedback")
    ef = weekly if weekly is not None else history(data, rep_id, window, history_weeks)
    sec.frames["weekly"] = ef
    no_scores = profile.supports("feedback_score") if profile is not None else ""
    x = ef.set_index("period_start")["activities"].where(lambda s: s > 0)
    results = []
    sentences = []
    pairs = [("feedback_score", "feedback score", lags)] if not no_scores else []
    if profile is None or not profile.supports("connect_rate"):
        pairs.append(("connect_rate", "connect rate", (0,)))
    for y_name, y_label, y_lags in pairs:
        y = ef.set_index("period_start")[y_name]
        res = lagged_association(x, y, lags=y_lags, n_perm=2000).assign(outcome=y_name)
        results.append(res)
        sentences += [association_sentence("activities", y_label, r) for r in res.to_dict("records")]
    assoc = pd.concat(results, ignore_index=True) if results else pd.DataFrame()
    sec.frames["association"] = assoc
    if pairs:
        sec.add(
            Text(
                "Exploratory: a few weeks of one rep's data, weeks are not independent, and several relations "
                "are looked at; use these as questions for the 1:1, not conclusions.",
                "note",
            )
        )
    if no_scores:
        sec.add(Text(f"Feedback score: not in this data ({no_scores}).", "note"))
    if sentences:
        sec.add(Details("The relations, with their statistics", tuple(Text(t) for t in sentences)))
    disp = pd.DataFrame(
        {
            "Week of": pd.to_datetime(ef["period_start"]).dt.strftime("%d %b"),
            "Activities": ef["activities"].map(num),
            "Conversations": ef["conversations"].map(num),
            "Connect rate (n)": [
                "–" if is_missing(v) else f"{pct(v)} ({num(n)})"
                for v, n in zip(ef["connect_rate"], ef["connect_n"], strict=True)
            ],
            "Feedback score (n)": [
                "–" if is_missing(v) else f"{v:.1f} ({num(n)})"
                for v, n in zip(ef["feedback_score"], ef["feedback_n"], strict=True)
            ],
            "Notes coverage": ef["notes_coverage"].map(pct),
            "Top theme": ef["top_theme"].map(lambda s: "–" if is_missing(s) else str(s).replace("_", " ")),
        }
    )
    sec.add(Details(f"The last {plural(len(ef), 'week')}, week by week", (Table(disp),)))
    return sec
