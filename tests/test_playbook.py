"""The playbook: defaults, partial files, validation messages, calendar and targets."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from coachkit.playbook import DEFAULT_PLAYBOOK_TEXT, Playbook, PlaybookError, normalize_label


def test_default_playbook_has_documented_defaults():
    pb = Playbook.default()
    assert pb.timezone == "UTC"
    assert pb.activity_types == ("call", "meeting", "email", "follow_up", "task", "note")
    assert pb.working_days == (0, 1, 2, 3, 4)
    assert pb.stage_names[-2:] == ("closed_won", "closed_lost")
    assert pb.outcomes_for("call")[:2] == ("connected", "no_answer")
    assert "other" in pb.outcomes_for("call") and "other" in pb.outcomes_for("note")
    assert pb.text == DEFAULT_PLAYBOOK_TEXT
    assert {t.name for t in pb.themes} >= {
        "price",
        "timing",
        "competitor",
        "authority",
        "need",
        "demo_requested",
        "pricing_requested",
        "referral",
    }


def test_file_with_only_kpis_is_valid_and_takes_defaults(tmp_path):
    p = tmp_path / "playbook.toml"
    p.write_text('[kpis]\nmodules = ["my_team.kpis"]\n')
    pb = Playbook.from_toml(p)
    assert pb.kpi_modules == ("my_team.kpis",)
    assert pb.timezone == "UTC"
    assert pb.targets_for("SDR")["calls"] == ("day", 50.0)
    assert pb.source == str(p)


def test_partial_table_merges_with_defaults():
    pb = Playbook.from_text('[coaching]\nmin_n = 20\n[outcomes.labels]\n"Spoke To DM" = "connected"\n')
    assert pb.min_n == 20
    assert pb.max_focus == 3  # default kept
    assert pb.map_outcome("spoke  to dm") == "connected"
    assert pb.map_outcome("Left Voicemail") == "voicemail"  # default label kept


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("colour = 1", "unknown key `colour`"),
        ("[kpis]\nmodulez = []", "unknown key `kpis.modulez`"),
        ('timezone = "Mars/Olympus"', "not an IANA timezone"),
        ('[calendar]\nworking_days = ["Monday"]', "use day names Mon"),
        ('[calendar]\nholidays = ["25/12/2026"]', "use dates like 2026-12-25"),
        ('[outcomes.labels]\n"spoke" = "chatted"', "not a canonical outcome"),
        ("[coaching]\nmin_n = -1", "non-negative integer"),
        ("[targets.SDR.per_day]\ncalls = -5", "`targets.SDR.per_day.calls` must be a number >= 0"),
        ("[targets.SDR]\nper_month = {calls = 1}", "per_day` and/or `per_week"),
        ('[themes.price]\nkind = "worry"\nkeywords = ["price"]', "use 'objection' or 'signal'"),
        ('[[stages]]\nname = "won"\nis_won = true', "won but not closed"),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_bad_playbooks_name_the_key_and_the_fix(text, fragment):
    with pytest.raises(PlaybookError) as info:
        Playbook.from_text(text, source="team.toml")
    assert str(info.value).startswith("team.toml: ")
    assert fragment in str(info.value)


def test_normalize_label_ignores_case_and_spacing():
    assert normalize_label("  Left -  Voice_mail ") == "left_voice_mail"
    assert normalize_label("No Answer") == normalize_label("no_answer") == "no_answer"


def test_map_outcome_unknown_and_missing():
    pb = Playbook.default()
    assert pb.map_outcome("CONNECTED") == "connected"
    assert pb.map_outcome("teleported") is None
    assert pb.map_outcome(None) is None
    assert pb.map_outcome(float("nan")) is None


def test_extra_outcomes_extend_the_taxonomy():
    pb = Playbook.from_text('[outcomes]\nextra = { call = ["callback_requested"] }')
    assert pb.outcomes_for("call")[-2:] == ("callback_requested", "other")
    assert pb.map_outcome("Callback Requested") == "callback_requested"


def test_working_days_count_weekends_and_holidays():
    pb = Playbook.from_text('[calendar]\nholidays = ["2026-12-25"]')
    # Mon 2026-12-21 .. Mon 2026-12-28 (exclusive): 5 weekdays minus Christmas (a Friday) = 4
    got = pb.working_days_between(["2026-12-21", "2026-12-28"], ["2026-12-28", "2027-01-04"])
    assert got.tolist() == [4, 5]
    six_day = Playbook.from_text('[calendar]\nworking_days = ["Mon","Tue","Wed","Thu","Fri","Sat"]')
    assert six_day.working_days_between(np.array(["2026-12-21"]), np.array(["2026-12-28"])).tolist() == [6]


def test_ramp_factor_by_tenure_week():
    pb = Playbook.from_text("[ramp]\nfactors = [0.2, 0.6]")
    assert [pb.ramp_factor(w) for w in (0, 1, 2, 3, 50)] == [0.2, 0.2, 0.6, 1.0, 1.0]


def test_targets_for_unknown_or_missing_role_is_empty():
    pb = Playbook.default()
    assert pb.targets_for("CSM") == {}
    assert pb.targets_for(None) == {}
    assert pb.targets_for(float("nan")) == {}
    assert pb.targets_for("AE")["meetings"] == ("week", 10.0)


def test_theme_pattern_matches_whole_words_any_case():
    pb = Playbook.default()
    pat = re.compile(pb.theme("timing").pattern)
    assert pat.search("They said NOT   NOW, call next quarter")
    assert not pat.search("the translator was collateral")  # 'later' inside a word does not match
    price = re.compile(pb.theme("price").pattern)
    assert price.search("Too expensive for them")
    assert not price.search("priceless")


def test_action_for_falls_back_to_a_generic_action():
    pb = Playbook.default()
    assert "call sessions" in pb.action_for("calls")
    assert pb.action_for("novel_kpi").startswith("Review novel kpi together")


def test_holidays_accept_toml_dates():
    pb = Playbook.from_text("[calendar]\nholidays = [2026-01-01]")
    assert pb.holidays == (dt.date(2026, 1, 1),)


@pytest.mark.parametrize(
    ("stages", "fragment"),
    [
        ('[[stages]]\nname = "open"\n[[stages]]\nname = "open"\n', "`stages[1]`: the stage name 'open' is used twice"),
        (
            '[[stages]]\nname = "Proposal Sent"\n[[stages]]\nname = "proposal_sent"\n',
            "`stages[1]`: the stage name 'proposal_sent' matches stages[0] ('Proposal Sent') ignoring case and spacing",
        ),
        ('[[stages]]\nname = ""\n', "`stages[0].name` must be a non-empty text"),
        ("[[stages]]\nname = 3\n", "`stages[0].name` must be a non-empty text"),
    ],
)
def test_stage_names_must_be_distinct_ignoring_case_and_spacing(stages, fragment):
    with pytest.raises(PlaybookError, match=re.escape(fragment)):
        Playbook.from_text(stages, source="pb.toml")


def test_stage_names_keep_their_spelling():
    pb = Playbook.from_text('[[stages]]\nname = " Proposal Sent "\n[[stages]]\nname = "Closed Won"\nis_closed = true\n')
    assert pb.stage_names == ("Proposal Sent", "Closed Won")


def test_unreadable_playbook_files_name_the_cause_and_line(tmp_path):
    bad = tmp_path / "playbook.toml"
    bad.write_bytes(b'timezone = "UTC"\n# caf\xe9\n')
    with pytest.raises(PlaybookError) as err:
        Playbook.from_toml(bad)
    assert err.value.line == 2
    assert str(err.value) == (
        f"{bad}, line 2: not UTF-8 text (byte 0xe9: invalid continuation byte); save the file as UTF-8"
    )
    bad.unlink()
    bad.mkdir()
    with pytest.raises(PlaybookError, match="is a directory, not a file") as err:
        Playbook.from_toml(bad)
    assert err.value.line is None
    loop = tmp_path / "loop.toml"
    loop.symlink_to("loop.toml")
    with pytest.raises(PlaybookError, match="symbolic-link loop"):
        Playbook.from_toml(loop)


def test_toml_syntax_errors_carry_the_line():
    with pytest.raises(PlaybookError) as err:
        Playbook.from_text('timezone = "UTC"\n[calendar\n', source="pb.toml")
    assert err.value.line == 2 and str(err.value).startswith("pb.toml: not valid TOML")
