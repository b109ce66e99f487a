"""Realistic, deterministic sample data: a sales team of SDRs and AEs with personas.

``sample(reps=30, weeks=26, seed=0)`` builds a canonical :class:`~coachkit.SalesData`
for three teams (Enterprise, Mid-Market, SMB) selling from London, with the
playbook ``sample_playbook.toml``. The same arguments always give the same data,
whatever today's date: by default the window ends on Sunday 2026-11-22.

What is in it:

- **Roster.** Reps are spread round-robin over the three segments; within a segment,
  positions 1, 3, 6 and 8 (of every 10) are AEs, the others SDRs. A segment of more
  than :data:`TEAM_SIZE` reps is split into teams of at most that many, in rep-id order
  ("Enterprise 1", "Enterprise 2", ...), each with its own manager, as a large sales
  org is; up to 3 x :data:`TEAM_SIZE` reps, the teams are the three segments. About 10% of
  the reps are new hires who start inside the window and ramp up by the
  playbook's ramp factors; one rep leaves (``left_at``, a Friday: their last
  activity is the day before).
- **Personas** (:data:`PERSONAS`, found with :func:`sample_personas`): reps whose
  weekly reviews tell different stories. Everyone else is ``ordinary``, with
  small random differences.
- **Rhythm.** Mon-Fri, calls 8:00-18:59 peaking mid-morning and late afternoon,
  meetings on the hour or half hour; Friday is lighter; weekend work is rare;
  no activity on playbook holidays, nor on a rep's days off (a few blocks of
  leave and sick days).
- **Outcomes** at published rates: call connect rate about 8.5% for SDRs and
  15% for AEs, about 10% overall (higher in the 8-10 and 16-18 windows; inbound
  calls always connect); meeting no-shows about 20% of held + no-show, plus
  some rescheduled and canceled; email replies and bounces; about 2% of calls
  without an outcome or a duration.
- **Feedback.** Notes on conversations (connected calls, held meetings) composed
  from a bank of fragments: openers, context, objections and buying signals
  worded with the playbook theme keywords, next steps. A ``feedback_score``
  (1-5) on about 40% of conversations, correlated with the rep's quality.
- **Follow-up.** Each conversation is followed up on the same account within
  24 hours with the rep's discipline probability, otherwise sometimes 2-5
  working days later.
- **Deals** created from held meetings (one per account), with amounts by team,
  a stage progression and wins and losses whose odds follow the quality of the
  effort (quality, follow-up discipline, notes habit) plus noise. Deals still
  open at the window's end have no ``closed_at`` / ``is_won``. Deals are owned by
  the rep who held the meeting (SDRs own the opportunities they source).

Everything is vectorised with numpy (counts per rep-day, then ``np.repeat``), so
``sample(reps=500, weeks=52)`` (about 8 million activities) takes seconds; see
``benchmarks/bench_sample.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .dataset import SalesData
from .playbook import Playbook
from .schema import STRING

__all__ = ["PERSONAS", "SAMPLE_PLAYBOOK_TEXT", "DEFAULT_END", "sample", "sample_personas", "sample_playbook"]

#: The playbook the sample ships with (Europe/London, bank holidays, SDR and AE targets).
SAMPLE_PLAYBOOK_TEXT: str = resources.files("coachkit").joinpath("sample_playbook.toml").read_text(encoding="utf-8")

#: The last day (a Sunday) of the default sample window; the window is fixed so the data never depends on today.
DEFAULT_END = dt.date(2026, 11, 22)

#: Persona name -> the story its reviews should tell.
PERSONAS: dict[str, str] = {
    "high_volume_low_connect": "an SDR who dials 1.5x the calls but connects half as often, with thin notes",
    "low_volume_high_quality": "an SDR with 0.6x the calls but a high connect rate, good meetings and feedback",
    "strong_follow_up": "follows up on the account within 24 hours after almost every conversation",
    "weak_follow_up": "rarely follows up within 24 hours; follow-ups come days later or never",
    "rich_notes": "writes detailed notes after almost every conversation",
    "empty_notes": "rarely writes notes and often leaves calls without an outcome",
    "improving": "volume, connect rate and feedback rise steadily over the window",
    "declining": "volume, connect rate and feedback fall steadily over the window",
    "ordinary": "everyone else: close to target, with small individual differences",
}

# Personas placed (in this order) before new hires and the leaver; the first two are SDRs so that
# their call volumes and connect rates are comparable.
_SPECIAL = (
    "high_volume_low_connect",
    "low_volume_high_quality",
    "strong_follow_up",
    "weak_follow_up",
    "rich_notes",
    "empty_notes",
    "improving",
    "declining",
)
_SDR_ONLY = {"high_volume_low_connect", "low_volume_high_quality"}

#: Per-rep parameters: volume and connect multipliers, quality (0-1), follow-up-within-24h probability,
#: notes probability, rich-notes probability, trend slope over the window, unlogged-outcome share.
_PERSONA_PARAMS: dict[str, dict[str, float]] = {
    "high_volume_low_connect": {"vol": 1.5, "conn": 0.5, "q": 0.3, "fu": 0.5, "notes": 0.5, "rich": 0.1},
    "low_volume_high_quality": {"vol": 0.6, "conn": 1.75, "q": 0.88, "fu": 0.8, "notes": 0.9, "rich": 0.7},
    "strong_follow_up": {"fu": 0.95},
    "weak_follow_up": {"fu": 0.1},
    "rich_notes": {"notes": 0.98, "rich": 0.95},
    "empty_notes": {"notes": 0.08, "rich": 0.0, "sloppy": 0.08},
    "improving": {"slope": 0.8},
    "declining": {"slope": -0.8},
}

TEAMS = ("Enterprise", "Mid-Market", "SMB")  # the segments
MANAGERS = ("Priya Raman", "Tom Whitaker", "Grace Okafor")  # the managers of each segment's first team
#: The most reps in one team: a bigger segment is split into teams ("Enterprise 1", "Enterprise 2", ...).
TEAM_SIZE = 20
_TEAM_AMOUNT = np.array([2.5, 1.0, 0.45])
_TEAM_CYCLE = np.array([1.5, 1.0, 0.6])

_FIRST = (
    "Aisha Ben Chloe Daniel Elena Farid Gemma Harry Imogen Jack Kofi Laura Marcus Nadia Oliver Petra Quentin Rosa "
    "Samir Tara Umar Vera William Xena Yusuf Zoe Amelia Callum Deepa Ewan Freya George Hana Ivan Jasmine Kieran "
    "Lucy Mateo Niamh Owen"
).split()
_LAST = (
    "Adams Bailey Chen Dalton Evans Fischer Gupta Hughes Iqbal Jones Kowalski Lewis Murphy Nguyen O'Brien Patel "
    "Quinn Roberts Singh Taylor Usman Vaughan Walsh Young Zielinski Ahmed Brooks Clarke Doyle Ellis Foster Grant "
    "Hart Ito Jensen Khan Lopez Morgan Novak Okoye"
).split()

# activity types generated from per-rep-day counts, in this order
_TYPES = ("call", "email", "meeting", "task", "note", "follow_up")
#: expected count per working day at full volume: rows SDR, AE
_BASE = np.array(
    [
        [55.0, 27.0, 1.15, 3.0, 0.3, 1.0],
        [17.0, 20.0, 2.4, 4.0, 0.5, 1.0],
    ]
)
_BOOK = np.array([700, 350])  # accounts per rep: SDR, AE
_CONNECT = np.array([0.07, 0.11])  # outbound connect probability at quality 1.0
_INBOUND = np.array([0.015, 0.03])  # share of calls that are inbound (all connected)
_WEEKDAY = np.array([0.97, 1.05, 1.05, 1.0, 0.88, 0.0, 0.0])
_WEEKEND_TYPES = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])  # weekend work: only calls, emails, tasks


def _profile(weights: dict[int, float]) -> np.ndarray:
    p = np.zeros(24)
    for h, w in weights.items():
        p[h] = w
    return p / p.sum()


_HOURS = {
    "call": _profile({8: 0.6, 9: 1.2, 10: 1.5, 11: 1.2, 12: 0.5, 13: 0.6, 14: 0.9, 15: 1.0, 16: 1.3, 17: 1.1, 18: 0.3}),
    "email": _profile(
        {
            7: 0.3,
            8: 0.9,
            9: 1.0,
            10: 0.9,
            11: 0.9,
            12: 0.7,
            13: 0.9,
            14: 1.0,
            15: 1.0,
            16: 0.9,
            17: 0.8,
            18: 0.4,
            19: 0.2,
        }
    ),
    "meeting": _profile({9: 0.8, 10: 1.2, 11: 1.2, 12: 0.4, 13: 0.7, 14: 1.2, 15: 1.1, 16: 0.8}),
    "task": _profile({8: 1.0, 9: 0.8, 10: 0.5, 11: 0.5, 12: 0.8, 13: 0.9, 14: 0.7, 15: 0.8, 16: 1.0, 17: 1.2}),
    "note": _profile({10: 0.5, 11: 0.7, 12: 0.8, 13: 0.6, 14: 0.6, 15: 0.7, 16: 0.9, 17: 1.0}),
    "follow_up": _profile({9: 0.8, 10: 1.0, 11: 1.0, 12: 0.6, 13: 0.8, 14: 1.0, 15: 1.0, 16: 0.9, 17: 0.8}),
    "weekend": _profile({10: 1.0, 11: 1.0, 12: 0.8, 13: 0.8, 14: 0.8, 15: 0.6}),
}
# connects are likelier early and late in the day (the playbook's "8-10 and 16-18 windows")
_CONNECT_BY_HOUR = np.ones(24)
_CONNECT_BY_HOUR[[8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]] = [
    1.35,
    1.2,
    0.95,
    0.85,
    0.7,
    0.8,
    0.9,
    1.0,
    1.25,
    1.35,
    1.1,
]

_CALL_MISSES = ("no_answer", "voicemail", "busy", "wrong_number", "gatekeeper")
_CALL_MISS_P = np.array([0.5, 0.3, 0.05, 0.04, 0.11])
# seconds: uniform low-high per unanswered outcome
_MISS_SECONDS = np.array([[15, 35], [25, 75], [2, 8], [10, 45], [30, 150]])

# ---- the notes bank: neutral fragments use no theme keyword; theme fragments use their own only ---------
NOTE_OPENERS: tuple[str, ...] = (
    "Spoke with the head of operations.",
    "Reached the IT manager on the second attempt.",
    "Good conversation with the finance lead.",
    "Short call, the contact was between meetings.",
    "Talked to the office manager.",
    "Long call with the COO.",
    "Caught the founder on her mobile.",
    "Spoke with the sales ops analyst.",
    "Conversation with the regional manager.",
    "Call with the new head of customer success.",
    "Discovery meeting with three stakeholders.",
    "Met the operations team on video.",
    "On-site meeting with the managing director.",
    "Spoke with the service desk lead.",
)
NOTE_CONTEXT: tuple[str, ...] = (
    "They run 40 field engineers across the UK.",
    "Everything is tracked in spreadsheets today.",
    "Team grew from 12 to 30 people this year.",
    "Main pain is manual weekly reporting.",
    "Recently merged with a smaller firm.",
    "They lost two large customers to slow response times.",
    "Data lives in three different systems.",
    "New leadership is reviewing every tool.",
    "Expanding into Ireland in the spring.",
    "Struggling to onboard new starters quickly.",
    "Managers spend Friday afternoons building reports by hand.",
    "Their CRM was set up years ago and nobody trusts it.",
)
NOTE_NEXT: tuple[str, ...] = (
    "Next step: call back on Thursday.",
    "Booked a follow-up call for next week.",
    "Sending a recap email today.",
    "No next step agreed yet.",
    "Will check in after their board meeting.",
    "Agreed to reconnect in two weeks.",
    "Sharing a customer case study.",
    "Adding the finance lead to the next call.",
    "They will send over their current process document.",
)
#: theme -> fragments worded with that theme's keywords (coachkit/default_playbook.toml [themes]).
NOTE_THEMES: dict[str, tuple[str, ...]] = {
    "price": (
        "Said the price is above what they planned for.",
        "Pushback: feels expensive for a team their size.",
        "No budget left this year for new tools.",
        "Asked for a discount before going any further.",
        "Worried about total cost once all seats are added.",
        "Thinks we charge too much compared with what they pay today.",
        "CFO says pricing too high for the value shown so far.",
    ),
    "timing": (
        "Timing is off, they are mid-migration.",
        "Asked us to come back next quarter.",
        "Revisit next year once the new office opens.",
        "Not now, they are in their busy season.",
        "Hiring freeze until the reorg settles.",
        "Open to it but wants to pick it up later in the year.",
    ),
    "competitor": (
        "They already use a competitor and the contract runs to March.",
        "The incumbent tool is embedded in their workflow.",
        "Comparing us with the competition on integrations.",
        "Their current vendor offered them a cheap renewal.",
        "Looking at an alternative that their IT team prefers.",
        "Switching away from the incumbent feels risky to them.",
    ),
    "authority": (
        "Not the decision maker; the head of finance signs.",
        "Needs sign-off from the board.",
        "Contact said: I need to check with my boss first.",
        "Anything over 10k goes through procurement.",
        "Buying committee meets monthly; we need a champion.",
        "Final approval sits with the regional director.",
    ),
    "need": (
        "Sees no need to change how they work.",
        "Said it is not a priority this quarter.",
        "They don't need reporting at that level.",
        "Feels it is not relevant for a team of five.",
        "Happy with spreadsheets for now.",
    ),
    "demo_requested": (
        "Asked for a demo with the ops team.",
        "Wants a walkthrough of the reporting module.",
        "Keen to start a trial with two teams.",
        "Suggested a pilot in the Manchester branch.",
        "Requested a demonstration for their managers.",
        "Booked a demo for Thursday afternoon.",
    ),
    "pricing_requested": (
        "Asked for a quote for 25 seats.",
        "Wants a proposal by the end of the month.",
        "Requested our pricing sheet to share internally.",
        "Asked us to send pricing for the annual plan.",
        "Needs a formal quote for their finance team.",
    ),
    "referral": (
        "Referred us to the operations director.",
        "Offered to introduce us to the IT lead.",
        "Came in as a referral from an existing customer.",
        "Will make an introduction to their sister company.",
        "Suggested we speak to a colleague in the Leeds office.",
    ),
}
NOTE_FOLLOW_UPS: tuple[str, ...] = (
    "Sent a recap with the agreed next steps.",
    "Shared the case study we discussed.",
    "Confirmed the next call in their calendar.",
    "Sent the summary to all attendees.",
)
_OBJECTIONS = ("price", "timing", "competitor", "authority", "need")
_OBJECTION_P = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
_SIGNALS = ("demo_requested", "pricing_requested", "referral")
_SIGNAL_P = np.array([0.45, 0.35, 0.2])


def sample_playbook() -> Playbook:
    """The sample team's playbook (``sample_playbook.toml``), with its text so ``save()`` writes it."""
    return Playbook.from_text(SAMPLE_PLAYBOOK_TEXT, source="coachkit sample")


@dataclass(frozen=True)
class _Roster:
    role: np.ndarray  # 0 = SDR, 1 = AE
    team: np.ndarray  # the segment (index into TEAMS)
    pod: np.ndarray  # the team within the segment (0 .. pods - 1)
    pods: int  # teams per segment
    persona: list[str]
    new_hires: np.ndarray  # rep indices
    leaver: int  # rep index, -1 when none


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"sample(): {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _rep_ids(n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"R{i + 1:0{width}d}" for i in range(n)]


def _roster(reps: int, rng: np.random.Generator) -> _Roster:
    """Teams, roles, personas, new hires and the leaver. Consumes ``rng`` first, in a fixed order."""
    idx = np.arange(reps)
    team = idx % len(TEAMS)
    role = np.isin((idx // len(TEAMS)) % 5, (1, 3)).astype(np.int64)
    # no random draws here: the split into teams must not change the rest of the data
    per_segment = -(-reps // len(TEAMS))
    pods = max(1, -(-per_segment // TEAM_SIZE))
    pod = (idx // len(TEAMS)) * pods // per_segment
    order = rng.permutation(reps)
    free = list(order)
    persona = ["ordinary"] * reps
    for name in _SPECIAL:
        pick = next((i for i in free if name not in _SDR_ONLY or role[i] == 0), None)
        if pick is None:
            continue
        persona[pick] = name
        free.remove(pick)
    n_new = max(1, round(reps * 0.1)) if reps >= 2 else 0
    new_hires = np.array(sorted(free[:n_new]), dtype=np.int64)
    free = free[n_new:]
    leaver = int(free[0]) if free and reps >= 3 else -1
    return _Roster(role=role, team=team, pod=pod, pods=pods, persona=persona, new_hires=new_hires, leaver=leaver)


def sample_personas(reps: int = 30, seed: int = 0) -> dict[str, str]:
    """rep_id -> persona (a key of :data:`PERSONAS`) for ``sample(reps=reps, seed=seed)``.

    Persona reps are established (not new hires, not the leaver); the
    ``high_volume_low_connect`` and ``low_volume_high_quality`` reps are SDRs.
    With fewer than 11 reps some personas are left out.
    """
    reps = _check_int("reps", reps, 1)
    roster = _roster(reps, np.random.default_rng(seed))
    return dict(zip(_rep_ids(reps), roster.persona, strict=True))


def _window_start(start: Any, weeks: int) -> np.datetime64:
    if start is None:
        end_excl = np.datetime64(DEFAULT_END, "D") + 1
        return end_excl - 7 * weeks
    try:
        ts = pd.Timestamp(start)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample(): start must be a date such as '2026-05-25', got {start!r}") from exc
    if pd.isna(ts):
        raise ValueError(f"sample(): start must be a date such as '2026-05-25', got {start!r}")
    return np.datetime64(ts.date(), "D")


_OUTCOMES = (
    "connected",
    "no_answer",
    "voicemail",
    "busy",
    "wrong_number",
    "gatekeeper",
    "held",
    "no_show",
    "rescheduled",
    "canceled",
    "sent",
    "replied",
    "bounced",
    "completed",
)
_O = {name: i for i, name in enumerate(_OUTCOMES)}
_CALL, _EMAIL, _MEETING, _TASK, _NOTE, _FOLLOW_UP = range(len(_TYPES))
_DAY = 86400


def _format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Arrow strings ``prefix`` + ``numbers`` zero-padded to ``width`` digits (numbers >= 0).

    Written straight into an Arrow buffer of fixed-width digits: several times faster than
    formatting millions of strings.
    """
    n = len(numbers)
    x = numbers.astype(np.uint64)
    width = max(width, len(str(int(x.max()))) if n else width)
    p = len(prefix)
    chars = np.empty((p + width, n), dtype=np.uint8)  # one row per character: contiguous writes
    chars[:p] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)[:, None]
    for j in range(p + width - 1, p - 1, -1):
        q = x // 10
        chars[j] = x - q * 10 + 48
        x = q
    offsets = np.arange(n + 1, dtype=np.int64) * (p + width)
    data = np.ascontiguousarray(chars.T)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _ids(prefix: str, codes: np.ndarray, width: int) -> pd.Series:
    """Ids ``prefix`` + zero-padded ``codes + 1`` as a canonical string Series; code -1 gives a missing value."""
    pool = _format_ids(prefix, np.arange(1, int(codes.max(initial=-1)) + 2), width)
    return pd.Series(pool.take(pa.array(codes, mask=codes < 0)), dtype=STRING)


def _take(pool: list[str | None], codes: np.ndarray) -> pd.Series:
    """Strings ``pool[codes]`` as a canonical string Series (a ``None`` entry gives a missing value)."""
    return pd.Series(pa.array(pool, type=pa.string()).take(pa.array(codes)), dtype=STRING)


def _categorical(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws of category indices with probabilities ``p``."""
    return np.searchsorted(np.cumsum(p) / p.sum(), rng.random(n), side="right").clip(0, len(p) - 1)


def _hours(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    return _categorical(rng, _HOURS[kind], n).astype(np.int32)


def _rep_params(roster: _Roster, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(roster.persona)
    p = {
        "vol": rng.normal(1.0, 0.1, n).clip(0.75, 1.25),
        "conn": rng.normal(1.0, 0.15, n).clip(0.7, 1.3),
        "q": rng.uniform(0.35, 0.65, n),
        "fu": rng.uniform(0.45, 0.75, n),
        "notes": rng.uniform(0.5, 0.85, n),
        "rich": rng.uniform(0.2, 0.5, n),
        "slope": rng.normal(0.0, 0.08, n),
        "sloppy": rng.uniform(0.005, 0.03, n),
    }
    for i, name in enumerate(roster.persona):
        for key, value in _PERSONA_PARAMS.get(name, {}).items():
            p[key][i] = value
    return p


@dataclass
class _Calendar:
    """The window's days and, per rep x day, who works how much."""

    start: np.datetime64  # first day, datetime64[D]
    days: np.ndarray  # datetime64[D], one per window day
    weekday: np.ndarray  # 0 = Monday
    holidays: np.ndarray  # datetime64[D]
    hire_day: np.ndarray  # per rep, day index (negative: before the window)
    leave_day: np.ndarray  # per rep, day index of left_at (len(days) when staying)
    ramp: np.ndarray  # (R, D) playbook ramp factor by tenure week
    trend: np.ndarray  # (R, D) persona trend multiplier
    level: np.ndarray  # (R, D) expected share of full volume on a working day (0 when off)
    weekend: np.ndarray  # (R, D) the same for the rare weekend work (calls, emails, tasks only)


def _calendar(
    roster: _Roster,
    par: dict[str, np.ndarray],
    start: np.datetime64,
    weeks: int,
    pb: Playbook,
    rng: np.random.Generator,
) -> _Calendar:
    R, D = len(roster.persona), weeks * 7
    days = start + np.arange(D)
    holidays = np.array(pb.holidays, dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    is_holiday = np.isin(days, holidays)
    hire_day = -rng.integers(60, 1500, R)  # established reps: hired months or years before the window
    if len(roster.new_hires):
        lo, hi = max(1, weeks // 8), max(2, weeks // 2)
        hire_day[roster.new_hires] = 7 * rng.integers(lo, hi, len(roster.new_hires)) if weeks > 1 else 0
    leave_day = np.full(R, D)
    if roster.leaver >= 0 and weeks >= 2:
        week = int(rng.integers(max(1, int(weeks * 0.55)), max(2, int(weeks * 0.8))))
        leave_day[roster.leaver] = 7 * week + 4  # a Friday; the last activity is on Thursday
    d = np.arange(D)
    employed = (d >= hire_day[:, None]) & (d < leave_day[:, None])
    # days off: a few blocks of leave (3-7 days) plus sick days
    n_blocks = max(1, round(weeks / 10))
    block_start = rng.integers(0, D, (R, n_blocks))
    block_len = rng.integers(3, 8, (R, n_blocks))
    off = ((d >= block_start[:, :, None]) & (d < (block_start + block_len)[:, :, None])).any(axis=1)
    off |= rng.random((R, D)) < 0.015
    active = employed & ~off
    working = (weekday < 5) & ~is_holiday
    weekend_work = (weekday >= 5) & ~is_holiday & (rng.random((R, D)) < 0.03)
    tenure_week = (d - hire_day[:, None]) // 7 + 1
    factors = np.asarray(pb.ramp_factors or (1.0,), dtype=float)
    ramp = np.where(tenure_week <= len(factors), factors[np.clip(tenure_week - 1, 0, len(factors) - 1)], 1.0)
    trend = 1.0 + par["slope"][:, None] * ((d // 7) / max(weeks - 1, 1) - 0.5)
    leaving = (d >= leave_day[:, None] - 21) & (d < leave_day[:, None])  # the leaver slows down
    base = ramp * trend * np.where(leaving, 0.75, 1.0) * active
    level = base * np.where(working, _WEEKDAY[weekday], 0.0)
    weekend = base * weekend_work * 0.12
    return _Calendar(start, days, weekday, holidays, hire_day, leave_day, ramp, trend, level, weekend)


def _base_activities(
    rng: np.random.Generator, roster: _Roster, par: dict[str, np.ndarray], cal: _Calendar
) -> dict[str, np.ndarray]:
    """Activities drawn from Poisson counts per type x rep x day, with times, accounts and outcomes.

    Returned arrays are grouped by type (in ``_TYPES`` order); ``t`` is seconds since the window start.
    """
    R, D = cal.level.shape
    mult = np.ones((len(_TYPES), R))
    mult[_CALL] = mult[_EMAIL] = par["vol"]
    mult[_MEETING] = 0.7 + 0.3 * par["conn"]
    rate = _BASE[roster.role].T * mult  # (T, R) per working day
    energy = rng.gamma(8.0, 1 / 8.0, (R, D))  # good and bad days
    lam = rate[:, :, None] * (energy * (cal.level + cal.weekend))[None]
    lam[_WEEKEND_TYPES == 0] *= (cal.weekend == 0)[None]
    counts = rng.poisson(lam)
    del lam, energy
    flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
    bounds = np.concatenate([[0], np.cumsum(counts.reshape(len(_TYPES), -1).sum(axis=1))])
    del counts
    typ = (flat // (R * D)).astype(np.int8)
    rep = ((flat // D) % R).astype(np.int32)
    day = (flat % D).astype(np.int32)
    del flat
    n = len(typ)
    weekend = cal.weekday[day] >= 5

    # time of day by type; meetings start on the hour or half hour
    sec = np.empty(n, dtype=np.int32)
    for k, kind in enumerate(_TYPES):
        s, e = bounds[k], bounds[k + 1]
        hour = _hours(rng, kind, e - s)
        wk = weekend[s:e]
        hour[wk] = _hours(rng, "weekend", int(wk.sum()))
        within = 1800 * rng.integers(0, 2, e - s) if k == _MEETING else rng.integers(0, 3600, e - s)
        sec[s:e] = hour * 3600 + within
    del weekend

    # accounts: each rep works a book of accounts; half the tasks are admin, a few calls are unlinked
    book = (_BOOK[roster.role] * rng.uniform(0.85, 1.15, R)).astype(np.int64)
    book_start = np.concatenate([[0], np.cumsum(book)[:-1]])
    account = (book_start[rep] + rng.random(n) * book[rep]).astype(np.int32)
    s, e = bounds[_TASK], bounds[_TASK + 1]
    account[s:e][rng.random(e - s) < 0.5] = -1
    s, e = bounds[_CALL], bounds[_CALL + 1]
    account[s:e][rng.random(e - s) < 0.01] = -1

    a = {"type": typ, "rep": rep, "t": day * _DAY + sec, "account": account}
    del sec
    a["outcome"], a["duration"], a["direction"] = _outcomes(rng, roster, par, cal, typ, rep, day, a["t"], bounds)
    a["bounds"] = bounds
    a["n_accounts"] = np.array(int(book.sum()))
    return a


def _outcomes(
    rng: np.random.Generator,
    roster: _Roster,
    par: dict[str, np.ndarray],
    cal: _Calendar,
    typ: np.ndarray,
    rep: np.ndarray,
    day: np.ndarray,
    t: np.ndarray,
    bounds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome codes (-1 = not logged), durations in seconds (NaN = not logged) and directions (-1, 0 in, 1 out)."""
    n = len(typ)
    outcome = np.full(n, -1, dtype=np.int8)
    duration = np.full(n, np.nan)
    direction = np.full(n, -1, dtype=np.int8)

    s, e = bounds[_CALL], bounds[_CALL + 1]
    r, dd = rep[s:e], day[s:e]
    role = roster.role[r]
    hour = (t[s:e] % _DAY) // 3600
    inbound = rng.random(e - s) < _INBOUND[role]
    p_conn = _CONNECT[role] * par["conn"][r] * _CONNECT_BY_HOUR[hour]
    p_conn *= (0.7 + 0.3 * cal.ramp[r, dd]) * (0.5 + 0.5 * cal.trend[r, dd])
    connected = inbound | (rng.random(e - s) < p_conn.clip(0, 0.6))
    del p_conn, hour
    miss = _categorical(rng, _CALL_MISS_P, e - s)
    miss_codes = np.array([_O[m] for m in _CALL_MISSES], dtype=np.int8)
    outcome[s:e] = np.where(connected, _O["connected"], miss_codes[miss])
    direction[s:e] = np.where(inbound, 0, 1)
    talk = rng.lognormal(np.log(240 * (0.8 + 0.6 * par["q"][r])), 0.6).clip(45, 2700)
    lo, hi = _MISS_SECONDS[miss, 0], _MISS_SECONDS[miss, 1]
    ring = lo + rng.random(e - s) * (hi - lo)
    duration[s:e] = np.round(np.where(connected, talk, ring))
    del talk, ring, lo, hi, miss
    duration[s:e][rng.random(e - s) < 0.02] = np.nan
    unlogged = (rng.random(e - s) < par["sloppy"][r]) & ~inbound
    outcome[s:e][unlogged] = -1

    s, e = bounds[_EMAIL], bounds[_EMAIL + 1]
    r, dd = rep[s:e], day[s:e]
    u = rng.random(e - s)
    p_reply = 0.05 * (0.5 + par["q"][r]) * cal.trend[r, dd]
    outcome[s:e] = np.where(u < 0.03, _O["bounced"], np.where(u < 0.03 + p_reply, _O["replied"], _O["sent"]))
    direction[s:e] = 1

    s, e = bounds[_MEETING], bounds[_MEETING + 1]
    u = rng.random(e - s)
    p_noshow = 0.18 * (1.5 - par["q"][rep[s:e]])
    outcome[s:e] = np.select(
        [u < p_noshow, u < p_noshow + 0.06, u < p_noshow + 0.11, u < 0.99],
        [_O["no_show"], _O["rescheduled"], _O["canceled"], _O["held"]],
        -1,
    )
    minutes = 30 + 5 * rng.integers(0, 7, e - s)  # 30-60 minutes
    duration[s:e] = np.where(outcome[s:e] == _O["held"], 60.0 * minutes, np.nan)

    for k, share in ((_TASK, 0.92), (_FOLLOW_UP, 0.95)):
        s, e = bounds[k], bounds[k + 1]
        outcome[s:e] = np.where(rng.random(e - s) < share, _O["completed"], -1)
    s, e = bounds[_FOLLOW_UP], bounds[_FOLLOW_UP + 1]
    direction[s:e] = 1
    return outcome, duration, direction


def _follow_ups(
    rng: np.random.Generator, par: dict[str, np.ndarray], cal: _Calendar, a: dict[str, np.ndarray], conv: np.ndarray
) -> dict[str, np.ndarray]:
    """Follow-ups on the account of each conversation: within 24 h with the rep's discipline, else maybe later."""
    conv = conv[a["account"][conv] >= 0]
    k = len(conv)
    rep = a["rep"][conv]
    t = a["t"][conv].astype(np.int64)
    day, sec = t // _DAY, t % _DAY
    fu_p = par["fu"][rep]
    u = rng.random(k)
    soon = u < fu_p
    late = ~soon & (u < fu_p + (1 - fu_p) * 0.5)
    # within 24 h: the same day, 5 minutes to 4 hours later, before 19:30
    room = np.maximum(19 * 3600 + 1800 - sec, 600)
    soon_t = t + 300 + (rng.random(k) * (np.minimum(4 * 3600, room) - 300)).astype(np.int64)
    # late: 2-5 working days later (always more than 24 h); dropped after the window or the rep's leaving
    late_date = np.busday_offset(cal.days[day], rng.integers(2, 6, k), roll="forward", holidays=cal.holidays)
    late_day = (late_date - cal.start).astype(np.int64)
    late &= (late_day < len(cal.days)) & (late_day < cal.leave_day[rep])
    late_t = late_day * _DAY + _hours(rng, "follow_up", k) * 3600 + rng.integers(0, 3600, k)
    src = np.concatenate([conv[soon], conv[late]])
    m = len(src)
    is_email = rng.random(m) < 0.25
    return {
        "src": src,
        "type": np.where(is_email, _EMAIL, _FOLLOW_UP).astype(np.int8),
        "rep": a["rep"][src],
        "t": np.concatenate([soon_t[soon], late_t[late]]).astype(np.int32),
        "account": a["account"][src],
        "outcome": np.where(is_email, _O["sent"], _O["completed"]).astype(np.int8),
        "duration": np.full(m, np.nan),
        "direction": np.ones(m, dtype=np.int8),
    }


def _theme_fragments() -> tuple[list[str], np.ndarray, np.ndarray]:
    """All theme fragments in one list, with each theme's start and size (objections, then signals)."""
    frags: list[str] = []
    starts, sizes = [], []
    for name in (*_OBJECTIONS, *_SIGNALS):
        starts.append(len(frags))
        sizes.append(len(NOTE_THEMES[name]))
        frags.extend(NOTE_THEMES[name])
    return frags, np.array(starts), np.array(sizes)


def _part(pool: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    """``pool[codes]`` as an Arrow string array; code -1 gives null."""
    return pa.array([*pool, None], type=pa.string()).take(pa.array(np.where(codes < 0, len(pool), codes)))


def _notes(
    rng: np.random.Generator, par: dict[str, np.ndarray], cal: _Calendar, rep: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Notes for conversations of reps ``rep`` on days ``day``, by the reps' notes habits.

    Returns which conversations have a note, the notes, and each conversation's note kind
    (0 none or neutral, 1 objection, 2 buying signal).
    """
    n = len(rep)
    has_note = rng.random(n) < par["notes"][rep]
    r, dd = rep[has_note], day[has_note]
    k = len(r)
    p_signal = (0.3 + 0.6 * (par["q"][r] - 0.5) + 0.5 * (cal.trend[r, dd] - 1)).clip(0.05, 0.8)
    u = rng.random(k)
    kind = np.where(u < 0.15, 0, np.where(u < 0.15 + 0.85 * p_signal, 2, 1)).astype(np.int8)
    frags, starts, sizes = _theme_fragments()
    rich = rng.random(k) < par["rich"][r]
    t1 = _theme_fragment(rng, kind, starts, sizes)
    second = np.where(rich & (rng.random(k) < 0.5), rng.integers(1, 3, k), 0)
    t2 = _theme_fragment(rng, second, starts, sizes)
    same = np.searchsorted(starts, t2, side="right") == np.searchsorted(starts, t1, side="right")
    t2[same] = -1
    opener = np.where(rich | (rng.random(k) < 0.45), rng.integers(0, len(NOTE_OPENERS), k), -1)
    context = np.where(rich | (rng.random(k) < 0.15), rng.integers(0, len(NOTE_CONTEXT), k), -1)
    nxt = np.where(rich | (rng.random(k) < 0.55), rng.integers(0, len(NOTE_NEXT), k), -1)
    blank = (opener < 0) & (context < 0) & (t1 < 0) & (t2 < 0)
    nxt[blank] = rng.integers(0, len(NOTE_NEXT), int(blank.sum()))
    text = pc.binary_join_element_wise(
        _part(NOTE_OPENERS, opener),
        _part(NOTE_CONTEXT, context),
        _part(frags, t1),
        _part(frags, t2),
        _part(NOTE_NEXT, nxt),
        " ",
        null_handling="skip",
    )
    kinds = np.zeros(n, dtype=np.int8)
    kinds[has_note] = kind
    return has_note, text, kinds


def _theme_fragment(rng: np.random.Generator, kinds: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A theme fragment index per note of kind 1 (objection) or 2 (signal); -1 for kind 0."""
    n = len(kinds)
    theme = np.where(kinds == 2, len(_OBJECTIONS) + _categorical(rng, _SIGNAL_P, n), _categorical(rng, _OBJECTION_P, n))
    frag = starts[theme] + (rng.random(n) * sizes[theme]).astype(np.int64)
    return np.where(kinds == 0, -1, frag)


def sample(reps: int = 30, weeks: int = 26, seed: int = 0, start: Any = None) -> SalesData:
    """A realistic, deterministic sample dataset: ``reps`` reps over ``weeks`` weeks.

    The window starts on ``start`` (default: the Monday ``weeks`` weeks before
    Sunday 2026-11-22, so the data never depends on today's date) and lasts
    ``weeks`` x 7 days. The same arguments always give identical frames. Activities are
    ordered by rep, then time (so that a saved Parquet file serves one rep's rows from few
    row groups). See the module docstring for what the data holds, :data:`PERSONAS` and
    :func:`sample_personas` for the personas.
    """
    reps = _check_int("reps", reps, 1)
    weeks = _check_int("weeks", weeks, 1)
    seed = _check_int("seed", seed, 0)
    start_day = _window_start(start, weeks)
    pb = sample_playbook()
    rng = np.random.default_rng(seed)
    roster = _roster(reps, rng)
    par = _rep_params(roster, rng)
    cal = _calendar(roster, par, start_day, weeks, pb, rng)
    a = _base_activities(rng, roster, par, cal)
    bounds = a.pop("bounds")
    n_accounts = int(a.pop("n_accounts"))
    n = len(a["type"])
    typ, outcome = a["type"], a["outcome"]
    conv = np.flatnonzero(
        ((typ == _CALL) & (outcome == _O["connected"])) | ((typ == _MEETING) & (outcome == _O["held"]))
    )
    f = _follow_ups(rng, par, cal, a, conv)
    m = len(f["src"])

    # notes on conversations, standalone notes, a few follow-ups; scores on ~40% of conversations
    conv_rep, conv_day = a["rep"][conv], a["t"][conv] // _DAY
    has_note, conv_notes, kinds = _notes(rng, par, cal, conv_rep, conv_day)
    frags, starts, sizes = _theme_fragments()
    s, e = bounds[_NOTE], bounds[_NOTE + 1]
    standalone = pc.binary_join_element_wise(
        _part(NOTE_CONTEXT, rng.integers(0, len(NOTE_CONTEXT), e - s)),
        _part(frags, _theme_fragment(rng, rng.integers(0, 3, e - s), starts, sizes)),
        " ",
        null_handling="skip",
    )
    fu_code = np.where(rng.random(m) < 0.2 * par["notes"][f["rep"]], rng.integers(0, len(NOTE_FOLLOW_UPS), m), -1)
    note_pool = pa.concat_arrays(
        [conv_notes, standalone, _part(NOTE_FOLLOW_UPS, fu_code), pa.array([None], pa.string())]
    )
    null_note = len(note_pool) - 1
    note_code = np.full(n + m, null_note, dtype=np.int64)
    note_code[conv[has_note]] = np.arange(len(conv_notes))
    note_code[s:e] = len(conv_notes) + np.arange(e - s)
    note_code[n:] = np.where(fu_code >= 0, len(conv_notes) + (e - s) + np.arange(m), null_note)
    scored = rng.random(len(conv)) < 0.4
    adj = np.select([kinds == 2, kinds == 1], [0.4, -0.3], 0.0)
    mean = 2.2 + 2.2 * par["q"][conv_rep] + 1.5 * (cal.trend[conv_rep, conv_day] - 1) + adj
    score = np.full(n + m, np.nan)
    score[conv[scored]] = np.round(rng.normal(mean[scored], 0.75)).clip(1, 5)
    del conv_rep, conv_day, mean, adj, kinds, has_note

    cols = {key: np.concatenate([a[key], f[key]]) for key in a}
    del a, f, typ, outcome
    account = cols["account"]
    contacts_per_account = rng.integers(1, 5, n_accounts)
    safe = np.maximum(account, 0)
    contact = np.where(account >= 0, safe * 4 + (rng.random(n + m) * contacts_per_account[safe]).astype(np.int32), -1)
    deals, deal_of_account, created, closed = _deals(rng, roster, par, cal, cols, n_accounts, pb)
    deal = np.where(account >= 0, deal_of_account[safe], -1)
    del safe
    t = cols["t"]
    if len(created):  # an activity belongs to its account's deal while the deal is open
        dsafe = np.maximum(deal, 0)
        deal[(t < created[dsafe]) | (t > closed[dsafe])] = -1
        del dsafe

    R, D = reps, weeks * 7
    # rows grouped by rep, in time order within a rep: as written to Parquet, reading some reps'
    # rows (one rep's review) skips the row groups of the others by their rep_id statistics
    key = (cols["rep"].astype(np.int64) * (int(t.max(initial=0)) + 1) + t) * len(_TYPES) + cols["type"]
    order = np.argsort(key, kind="stable")
    del key
    total = n + m
    rep_ids = _rep_ids(R)
    start_ns = np.datetime64(start_day, "ns")
    acts: dict[str, Any] = {"activity_id": pd.Series(_format_ids("A", np.arange(1, total + 1), 7), dtype=STRING)}
    acts["rep_id"] = _take(rep_ids, cols.pop("rep")[order])
    acts["activity_type"] = _take(list(_TYPES), cols.pop("type")[order])
    acts["occurred_at"] = start_ns + cols.pop("t")[order].astype("timedelta64[s]")
    del t
    acts["duration_s"] = cols.pop("duration")[order]
    d = cols.pop("direction")[order]
    acts["direction"] = _take(["inbound", "outbound", None], np.where(d < 0, 2, d))
    o = cols.pop("outcome")[order]
    acts["outcome"] = _take([*_OUTCOMES, None], np.where(o < 0, len(_OUTCOMES), o))
    del d, o
    acts["notes"] = pd.Series(note_pool.take(pa.array(note_code[order])), dtype=STRING)
    acts["feedback_score"] = score[order]
    a_sorted = account[order]
    acts["account_id"] = _ids("ACC", a_sorted, 6)
    del a_sorted, account
    c_sorted = contact[order]
    acts["contact_id"] = _ids("CON", c_sorted, 7)
    del c_sorted, contact
    d_sorted = deal[order]
    acts["deal_id"] = _ids("D", d_sorted, 5)
    del d_sorted, deal, order
    activities = pd.DataFrame(acts)
    del acts

    left = cal.leave_day < D
    reps_frame = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": _names(rng, R),
            "team": _team_names(roster),
            "role": ["AE" if r else "SDR" for r in roster.role],
            "manager": _manager_names(roster),
            "hired_at": (start_day + cal.hire_day).astype("datetime64[ns]"),
            "left_at": np.where(left, start_day + cal.leave_day, np.datetime64("NaT")).astype("datetime64[ns]"),
        }
    )
    deals["rep_id"] = _take(rep_ids, deals["rep_id"].to_numpy())
    return SalesData.from_frames(
        activities, reps_frame, deals, pb, source=f"coachkit sample(reps={reps}, weeks={weeks}, seed={seed})"
    )


def _team_names(roster: _Roster) -> list[str]:
    if roster.pods == 1:
        return [TEAMS[t] for t in roster.team]
    return [f"{TEAMS[t]} {p + 1}" for t, p in zip(roster.team, roster.pod, strict=True)]


def _manager_names(roster: _Roster) -> list[str]:
    """The segment's manager for its first team; other teams' managers from the name bank (no random draw)."""
    out = []
    for t, p in zip(roster.team, roster.pod, strict=True):
        k = int(p) * len(TEAMS) + int(t)  # team number across segments
        out.append(MANAGERS[t] if p == 0 else f"{_FIRST[(7 * k) % len(_FIRST)]} {_LAST[(11 * k) % len(_LAST)]}")
    return out


def _names(rng: np.random.Generator, n: int) -> list[str]:
    combos = len(_FIRST) * len(_LAST)
    picks = rng.permutation(combos)[: min(n, combos)]
    names = [f"{_FIRST[p // len(_LAST)]} {_LAST[p % len(_LAST)]}" for p in picks]
    names += [f"{names[i % combos]} {i // combos + 1}" for i in range(combos, n)]
    return names


def _deals(
    rng: np.random.Generator,
    roster: _Roster,
    par: dict[str, np.ndarray],
    cal: _Calendar,
    cols: dict[str, np.ndarray],
    n_accounts: int,
    pb: Playbook,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Deals created from held meetings (at most one per account), with stages and outcomes.

    Returns the deals frame (``rep_id`` still as rep index), account -> deal index (-1 when none),
    and each deal's created and closed time in seconds since the window start (closed: int max while open).
    """
    typ, outcome, t, account = cols["type"], cols["outcome"], cols["t"], cols["account"]
    held = np.flatnonzero((typ == _MEETING) & (outcome == _O["held"]) & (account >= 0))
    held = held[np.argsort(t[held], kind="stable")]
    r = cols["rep"][held]
    p_create = np.where(roster.role[r] == 1, 0.3, 0.22) * (0.6 + 0.8 * par["q"][r])
    cand = held[rng.random(len(held)) < p_create]
    _, first = np.unique(account[cand], return_index=True)
    src = cand[np.sort(first)]  # the first meeting per account, in time order
    k = len(src)
    r = cols["rep"][src]
    team = roster.team[r]
    created = t[src].astype(np.int64) + 900 + rng.integers(0, 6300, k)

    # the odds of winning follow the quality of the effort, with noise
    effort = 0.55 * par["q"][r] + 0.3 * par["fu"][r] + 0.15 * par["notes"][r]
    logit = -1.0 + 4.0 * (effort - 0.55) + rng.normal(0.0, 0.8, k)
    won = rng.random(k) < 1 / (1 + np.exp(-logit))
    cycle = np.where(won, rng.gamma(3.0, 14.0, k), rng.gamma(2.0, 15.0, k)) * _TEAM_CYCLE[team]
    cycle = np.maximum(cycle, 3.0)
    close_date = np.busday_offset(
        cal.days[0] + created // _DAY + np.round(cycle).astype(np.int64), 0, roll="forward", holidays=cal.holidays
    )
    closed = (close_date - cal.start).astype(np.int64) * _DAY + (9 + rng.integers(0, 9, k)) * 3600
    closed += rng.integers(0, 3600, k)
    end = np.minimum(len(cal.days), cal.leave_day[r]) * _DAY  # deals of a leaver stay open
    is_closed = closed < end

    open_stages = [s.name for s in pb.stages if not s.is_closed]
    won_stage = next(s.name for s in pb.stages if s.is_closed and s.is_won)
    lost_stage = next(s.name for s in pb.stages if s.is_closed and not s.is_won)
    progress = np.clip((end - created) / _DAY / cycle, 0, 0.999)
    reach = np.where(won, len(open_stages), max(len(open_stages) - 1, 1))  # lost deals stall earlier
    open_idx = np.minimum((progress * reach).astype(np.int64), len(open_stages) - 1)
    stage_pool = [*open_stages, won_stage, lost_stage]
    stage = np.where(is_closed, np.where(won, len(open_stages), len(open_stages) + 1), open_idx)
    base_amount = np.where(roster.role[r] == 1, 15000.0, 8000.0) * _TEAM_AMOUNT[team]
    amount = np.round(rng.lognormal(np.log(base_amount), 0.55) / 100) * 100

    deal_of_account = np.full(n_accounts, -1, dtype=np.int64)
    deal_of_account[account[src]] = np.arange(k)
    start_ns = np.datetime64(cal.start, "ns")
    closed_at = np.where(is_closed, start_ns + closed.astype("timedelta64[s]"), np.datetime64("NaT"))
    frame = pd.DataFrame(
        {
            "deal_id": _ids("D", np.arange(k), 5),
            "rep_id": r,
            "account_id": _ids("ACC", account[src], 6),
            "created_at": start_ns + created.astype("timedelta64[s]"),
            "closed_at": closed_at.astype("datetime64[ns]"),
            "stage": _take(stage_pool, stage),
            "amount": amount,
            "is_won": pd.array(np.where(is_closed, won, False), dtype="boolean"),
            "is_closed": pd.array(is_closed, dtype="boolean"),
        }
    )
    frame.loc[~is_closed, "is_won"] = pd.NA
    closed_t = np.where(is_closed, closed, np.iinfo(np.int64).max)
    return frame, deal_of_account, created, closed_t


def write_sample(folder: Any, reps: int, weeks: int = 52, seed: int = 0, *, chunk_reps: int = 500) -> Any:
    """Write a large sample dataset as Parquet, ``chunk_reps`` reps at a time, so that memory holds one chunk.

    Chunk ``i`` is ``sample(reps=chunk_reps, weeks=weeks, seed=seed + i)`` (the last one smaller) with its ids
    made unique across chunks: reps ``R00001``..., activities ``A000000001``..., deals and accounts numbered on
    from the previous chunk's; teams get the chunk's number (``Enterprise 1 (2)``). Each table is appended
    to one Parquet file (row groups of the writer's default size). For benchmarks of 5,000 reps and more
    (about 80 million activities); ``sample()`` itself is unchanged. Returns ``folder``.
    """
    import pathlib

    import pyarrow.parquet as pq

    from .files import write_text

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    n_acts = n_deals = n_accounts = 0
    rep_width = max(5, len(str(reps)))
    try:
        for i, start in enumerate(range(0, reps, chunk_reps)):
            data = sample(reps=min(chunk_reps, reps - start), weeks=weeks, seed=seed + i)
            rename = {r: f"R{start + j + 1:0{rep_width}d}" for j, r in enumerate(data.reps["rep_id"])}
            r = data.reps.assign(rep_id=data.reps["rep_id"].map(rename).astype(STRING))
            if i:
                r["team"] = (r["team"] + f" ({i + 1})").astype(STRING)
            a = data.activities
            acct = a["account_id"].str.slice(3).astype("float64") + n_accounts
            a = a.assign(
                activity_id=pd.Series(_format_ids("A", np.arange(n_acts + 1, n_acts + len(a) + 1), 9), dtype=STRING),
                rep_id=a["rep_id"].map(rename).astype(STRING),
                account_id=_ids("ACC", np.where(np.isnan(acct), -1, acct - 1).astype(np.int64), 7),
            )
            d = data.deals
            dacct = d["account_id"].str.slice(3).astype("float64") + n_accounts
            d = d.assign(
                deal_id=_ids("D", np.arange(n_deals, n_deals + len(d)), 8),
                rep_id=d["rep_id"].map(rename).astype(STRING),
                account_id=_ids("ACC", np.where(np.isnan(dacct), -1, dacct - 1).astype(np.int64), 7),
            )
            n_acts += len(a)
            n_deals += len(d)
            n_accounts += int(max(acct.max(skipna=True), dacct.max(skipna=True), 0) - n_accounts) + 1
            for name, frame in (("activities", a), ("reps", r), ("deals", d)):
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                writers[name].write_table(table)
            text = data.playbook.text
            del data, a, d
    finally:
        for w in writers.values():
            w.close()
    if text is not None:
        write_text(folder / "playbook.toml", text)
    return folder
