"""The review's charts read as a coach needs: whole numbers on count axes, Mondays on the date axis, one colour
per outcome whatever the rep, and the sparse data's missing hours drawn as no chart."""

from __future__ import annotations

import re

import pandas as pd

from coachkit import charts


def _daily() -> pd.DataFrame:
    days = pd.bdate_range("2024-06-03", "2024-06-28")
    meetings = [1, 0, 2, 0, 1] * 4  # at most 2 a day: an axis of 0, 0.5, 1, 1.5, 2 would be wrong
    return pd.DataFrame(
        {
            "period_start": list(days) * 2,
            "activity_type": ["call"] * len(days) + ["meeting"] * len(days),
            "count": [40] * len(days) + meetings,
            "target": [50.0] * len(days) + [1.0] * len(days),
        }
    )


def _labels(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]


def test_daily_volume_has_whole_counts_and_monday_dates() -> None:
    chart = charts.volume_vs_target(_daily(), title="Daily volume")
    labels = _labels(charts.to_svg(chart))
    numbers = [x for x in labels if re.fullmatch(r"[0-9.,]+", x)]
    assert numbers and all("." not in x for x in numbers)  # no 0.5 meetings
    # the meetings panel (at most 2 a day) reads 0, 1, 2 once each, after the calls panel's 0, 20, 40
    assert numbers == ["0", "20", "40", "0", "1", "2"]
    dates = [x for x in labels if re.fullmatch(r"[A-Z][a-z]{2} \d{2} [A-Z][a-z]{2}", x)]
    assert dates == ["Mon 03 Jun", "Mon 10 Jun", "Mon 17 Jun", "Mon 24 Jun"]


def test_one_colour_per_outcome_whatever_the_rep() -> None:
    a = pd.DataFrame({"activity_type": ["call", "meeting"], "outcome": ["gatekeeper", "held"], "n": [3, 2]})
    b = pd.DataFrame({"activity_type": ["meeting", "call"], "outcome": ["held", "connected"], "n": [5, 9]})

    def colours(frame: pd.DataFrame) -> dict[str, str]:
        spec = charts.outcome_mix(frame).to_dict()
        scale = next(
            layer["encoding"]["color"]["scale"] for layer in spec["layer"] if "color" in layer.get("encoding", {})
        )
        return dict(zip(scale["domain"], scale["range"], strict=True))

    ca, cb = colours(a), colours(b)
    assert ca["held"] == cb["held"] == charts.outcome_colour("held")
    assert ca["gatekeeper"] != ca["held"]  # meeting "held" and call "gatekeeper" no longer share green
