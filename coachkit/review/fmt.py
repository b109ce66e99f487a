"""How a review writes numbers, dates and rates in words: percentages, counts, 95% intervals, the n
of each KPI, plurals and clipped notes. Missing values are written "–".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..kpis import registry
from ..stats import wilson

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
    "follow_ups": "follow-ups",
    "active_days": "active days",
}


#: How many characters of a note a review quotes at most.
NOTE_CHARS = 280


def is_missing(x: Any) -> bool:
    """True for None, NaN, NaT and pandas NA; False for anything else (also for values pandas cannot test)."""
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def pct(x: Any) -> str:
    """A proportion as a whole percentage ("8%"); "–" when missing. Below 1% keeps one decimal."""
    if is_missing(x):
        return "–"
    v = 100 * float(x)
    return f"{v:.1f}%" if 0 < abs(v) < 1 else f"{v:.0f}%"


def num(x: Any, digits: int = 0) -> str:
    """A number with thousands separators ("1,234"); "–" when missing."""
    if is_missing(x):
        return "–"
    return f"{float(x):,.{digits}f}"


def rate_text(k: Any, n: Any, *, noun: str = "") -> str:
    """A rate with its n and 95% Wilson interval: "8% (12/150 calls, 95% CI 5–14%)"; "no data (n = 0)" when n is 0."""
    if is_missing(n) or float(n) <= 0:
        return f"no data (n = 0{' ' + noun if noun else ''})"
    lo, hi = (float(v) for v in wilson(k, n))
    what = f" {noun}" if noun else ""
    return f"{pct(float(k) / float(n))} ({num(k)}/{num(n)}{what}, 95% CI {ci_range(lo, hi)})"


def ci_range(lo: float, hi: float) -> str:
    """An interval of two proportions as text: "5–14%" ("–" parts when missing)."""
    a, b = pct(lo), pct(hi)
    return f"{a.rstrip('%')}–{b}" if a.endswith("%") and b.endswith("%") else f"{a}–{b}"


def day_text(ts: Any) -> str:
    """A day as "Mon 07 Jun 2024"."""
    return pd.Timestamp(ts).strftime("%a %d %b %Y")


def short_day_text(ts: Any) -> str:
    """A day without its year, "Mon 07 Jun"."""
    return pd.Timestamp(ts).strftime("%a %d %b")


def p_text(p: float) -> str:
    """A p-value as text: "p = 0.23", or "p < 0.01"."""
    return "p < 0.01" if p < 0.01 else f"p = {p:.2f}"


def plural(n: float, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 week", "3 weeks" (``many``: the plural when not ``word`` + s); "– weeks" when
    ``n`` is missing."""
    if is_missing(n):
        return f"– {many or word + 's'}"
    return f"{num(n)} {word if round(float(n)) == 1 else (many or word + 's')}"


def fmt_value(kind: str, kpi: str, x: Any) -> str:
    """A KPI value as shown: rates "8%", counts "1,234", the activity score "87/100", others one decimal; "–" when missing."""
    if is_missing(x):
        return "–"
    if kind == "rate":
        return pct(x)
    if kind == "count":
        return num(x)
    if kpi == "activity_score":
        return f"{float(x):.0f}/100"
    return num(x, 1) if kpi == "feedback_score" else num(x, 1)


def fmt_interval(kind: str, kpi: str, lo: Any, hi: Any) -> str:
    """A KPI's 95% interval as shown, in the value's format ("5–14%", "12–30", "3.1–3.9"); "–" when missing."""
    if is_missing(lo) or is_missing(hi):
        return "–"
    if kind == "rate":
        return ci_range(lo, hi)
    if kind == "count":
        return f"{num(lo)}–{num(hi)}"
    return f"{num(lo, 1)}–{num(hi, 1)}"


def fmt_n(kpi: str, kind: str, n: Any) -> str:
    """A KPI's n with what it counts (:data:`N_NOUNS`, else the count KPI's unit): "150 calls with an outcome"."""
    if is_missing(n):
        return "–"
    noun = N_NOUNS.get(kpi, registry[kpi].unit if kind == "count" and kpi in registry else "")
    return f"{num(n)} {noun}".strip()


def clip(text: Any, n: int = NOTE_CHARS) -> str:
    """Text with its whitespace collapsed and clipped to ``n`` characters (ending "…" when cut); "" when missing."""
    if is_missing(text):
        return ""
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"
