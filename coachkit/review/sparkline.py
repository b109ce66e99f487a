"""A sparkline: a KPI's weekly series as a tiny inline SVG for the scorecard.

Drawn here from numbers (no chart library, no renderer: a few hundred bytes per KPI, microseconds to draw),
so that the scorecard's sparklines cost nothing next to a full chart. The only text in it is the
``aria-label``, escaped; everything else is numbers this module writes.

The picture: the weeks before the window in grey, the window's weeks in the rep's colour, the last week as
a dot (hollow when the week is not complete), a missing week as a gap, and the target (when there is one) as
a dashed line. The vertical scale runs from 0 (counts and rates, so that the height means something) or the
series' minimum (scores) to the highest of the series and the target.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["REP", "MUTED", "sparkline_svg"]

#: The rep's colour (the charts' rep colour) and the colour of the weeks before the window and the target.
REP = "#332288"
MUTED = "#9A9A9A"


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def sparkline_svg(
    values: Sequence[Any],
    *,
    window_from: int = 0,
    target: Any = None,
    last_partial: bool = False,
    zero_based: bool = True,
    label: str = "",
    width: int = 112,
    height: int = 26,
) -> str:
    """An inline ``<svg>`` of ``values`` (one per week, oldest first; None/NaN = no value that week).

    ``window_from``: the index of the window's first week (earlier weeks are grey). ``target``: drawn dashed when
    finite. ``last_partial``: the last week is not complete (its dot is hollow). ``zero_based``: the scale starts
    at 0 (else at the series' minimum). ``label``: the accessible name (escaped). An empty series, or one with no
    value, gives an empty ``<svg>`` of the same size, so that the table keeps its layout.
    """
    w, h, pad = int(width), int(height), 3
    head = (
        f'<svg class="ck-spark" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{_html.escape(label, quote=True)}">'
    )
    ys = [float(v) if _finite(v) else None for v in values]
    known = [y for y in ys if y is not None]
    if not known:
        return head + "</svg>"
    top = max(known + ([float(target)] if _finite(target) else []))
    low = 0.0 if zero_based else min(known + ([float(target)] if _finite(target) else []))
    if top <= low:
        top = low + 1.0
    n = len(ys)
    step = (w - 2 * pad) / max(n - 1, 1)

    def x(i: int) -> float:
        return pad + i * step if n > 1 else w / 2

    def y(v: float) -> float:
        return h - pad - (v - low) / (top - low) * (h - 2 * pad)

    parts = [head]
    if _finite(target):
        ty = y(float(target))
        parts.append(
            f'<line x1="{pad}" x2="{w - pad}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{MUTED}" '
            'stroke-width="1" stroke-dasharray="3,2"/>'
        )
    # segments of consecutive known values, split where the window starts (grey before, rep colour after)
    runs: list[tuple[str, list[int]]] = []
    for i, v in enumerate(ys):
        colour = MUTED if i < window_from else REP
        if v is None:
            runs.append(("", []))
            continue
        if runs and runs[-1][0] == colour and runs[-1][1] and runs[-1][1][-1] == i - 1:
            runs[-1][1].append(i)
        else:
            start = [i - 1] if i > 0 and ys[i - 1] is not None else []  # join the previous point
            runs.append((colour, [*start, i]))
    for colour, idx in runs:
        if colour and len(idx) > 1:
            pts = " ".join(f"{x(i):.1f},{y(ys[i]):.1f}" for i in idx)  # type: ignore[arg-type]
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    last = max(i for i, v in enumerate(ys) if v is not None)
    fill = "#ffffff" if last_partial and last == n - 1 else (MUTED if last < window_from else REP)
    stroke = MUTED if last < window_from else REP
    parts.append(
        f'<circle cx="{x(last):.1f}" cy="{y(ys[last]):.1f}" r="2.2" fill="{fill}" stroke="{stroke}" stroke-width="1"/>'  # type: ignore[arg-type]
    )
    parts.append("</svg>")
    return "".join(parts)
