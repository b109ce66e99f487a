"""`coachkit import csv --draft-mapping`: profiling files and drafting a mapping that imports; the import CLI."""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from coachkit.importers.cli import import_group
from coachkit.importers.draft import draft_mapping, profile_file
from coachkit.importers.mapping import check_mapping, import_csv

CASES = Path(__file__).parent / "fixtures" / "import_cases"
FIXTURES = Path(__file__).parent / "fixtures" / "importers"
T = pd.Timestamp


def case(name: str) -> Path:
    (path,) = CASES.glob(f"{name}-*")
    return path


def drafted(folder: Path) -> tuple[str, Path]:
    text, root = draft_mapping([folder])
    check_mapping(tomllib.loads(text))  # valid TOML, a valid mapping
    return text, root


def test_profile_guesses_kinds_orders_and_marks():
    p = profile_file(case("17") / "export" / "deals.csv", "deals.csv")
    kinds = {c.name: (c.kind, c.detail) for c in p.columns}
    assert p.delimiter == ";" and p.rows == 3
    assert kinds["Closed"] == ("date", "day-first") and kinds["Value"] == ("number", "decimal comma")
    assert kinds["Created"][1].startswith("day/month order unknown")  # 04.03, 05.03, 06.03: the draft looks wider
    assert kinds["Deal ID"][0] == "id" and kinds["Status"][0] == "category"


def test_a_draft_for_stacked_dynamics_files_imports_without_edits(tmp_path):
    text, root = drafted(case("10") / "export")
    assert root == (case("10") / "export").resolve()
    assert text.count("\n[[activities]]") == 3 and "# guess:" in text  # one block per file
    (tmp_path / "m.toml").write_text(text)
    a = import_csv(root, tmp_path / "m.toml").data.activities.sort_values("occurred_at")
    got = [(r.activity_type, r.occurred_at, None if pd.isna(r.duration_s) else r.duration_s) for r in a.itertuples()]
    assert got == [
        ("call", T("2024-03-01 09:10"), None),
        ("call", T("2024-03-04 11:00"), None),
        ("meeting", T("2024-03-05 14:00"), 3600.0),  # its start and end, month-first like the other dates
        ("email", T("2024-03-06 16:20"), None),
    ]


def test_a_draft_for_a_semicolon_decimal_comma_export_imports_right(tmp_path):
    text, root = drafted(case("17") / "export")
    assert 'decimal = ","' in text and "dayfirst = true" in text
    (tmp_path / "m.toml").write_text(text)
    d = import_csv(root, tmp_path / "m.toml").data
    assert d.deals.set_index("deal_id")["amount"].to_dict() == {"11": 12500.0, "12": 4000.0, "13": 950.5}
    assert d.activities.set_index("activity_id")["duration_s"].to_dict() == {"101": 90.0, "102": 2700.0}
    assert pd.isna(d.deals.set_index("deal_id").loc["12", "closed_at"])  # only where the status is closed


def test_a_draft_for_a_pipedrive_ui_export(tmp_path):
    text, root = drafted(case("07") / "export")
    assert 'concat = ["Activity - Due date", { const = " " }, "Activity - Due time"]' in text
    (tmp_path / "m.toml").write_text(text)
    d = import_csv(root, tmp_path / "m.toml").data
    assert sorted(d.activities.activity_type) == ["call", "meeting", "task"]
    assert sorted(d.reps.name) == ["Dana Field", "Sam Kerr"]


def test_a_draft_marks_what_it_cannot_guess(tmp_path):
    (tmp_path / "export.csv").write_text("a,b\nx,1\ny,2\n")
    text, _ = draft_mapping([tmp_path / "export.csv"])
    assert "# TODO occurred_at" in text and "# TODO [reps]" in text
    tomllib.loads(text)  # still valid TOML


def run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(import_group, args)
    return res.exit_code, res.output


def test_cli_draft_prints_or_writes_and_never_overwrites(tmp_path):
    src = case("14") / "export"
    code, out = run(["csv", "--draft-mapping", str(src / "calls.csv")])
    assert code == 0 and "[[activities]]" in out
    target = tmp_path / "draft.toml"
    code, out = run(["csv", "--draft-mapping", str(src), "--out", str(target)])
    assert code == 0 and target.is_file() and "coachkit import csv" in out
    before = target.read_bytes()
    code, out = run(["csv", "--draft-mapping", str(src), "--out", str(target)])
    assert code == 1 and "exists" in out and target.read_bytes() == before
    code, out = run(["csv", str(src), "--mapping", str(target), "--out", str(tmp_path / "ds")])
    assert code == 0, out


def test_cli_needs_a_mapping_and_names_the_draft_option(tmp_path):
    code, out = run(["csv", str(case("14") / "export"), "--out", str(tmp_path / "ds")])
    assert code == 2 and "--draft-mapping" in out


def test_cli_refuses_to_write_into_the_export_and_writes_nothing_on_error(tmp_path):
    shutil.copytree(case("07") / "export", tmp_path / "x")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "x").iterdir()}
    code, out = run(["pipedrive", str(tmp_path / "x"), "--out", str(tmp_path / "x"), "--format", "csv"])
    assert code == 1 and "export folder itself" in out
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "x").iterdir()}
    code, out = run(["salesforce", str(case("01") / "export"), "--out", str(tmp_path / "ds"), "--encoding", "utf-8"])
    assert code == 1 and "line 2" in out and "Traceback" not in out
    assert not (tmp_path / "ds").exists()


def test_cli_reading_options_reach_the_importer(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.csv").write_text("id|who|when|mins\n1|u|03/04/2024 10:00|1,234\n")
    (tmp_path / "m.toml").write_text(
        '[reps]\nfile = "a.csv"\n[reps.columns]\nrep_id = "who"\n[activities]\nfile = "a.csv"\n[activities.columns]\n'
        'activity_id = "id"\nrep_id = "who"\nactivity_type = { const = "call" }\noccurred_at = "when"\n'
        'duration_s = { column = "mins", scale = 60 }\n'
    )
    args = ["csv", str(tmp_path / "x"), "--mapping", str(tmp_path / "m.toml"), "--format", "csv"]
    code, out = run([*args, "--out", str(tmp_path / "a")])
    assert code == 1 and "ambiguous" in out  # 03/04 and 1,234 cannot be read either way
    code, out = run([*args, "--out", str(tmp_path / "b"), "--delimiter", "|", "--decimal", ",", "--monthfirst"])
    assert code == 0, out
    a = pd.read_csv(tmp_path / "b" / "activities.csv")
    assert a["occurred_at"].item() == "2024-03-04T10:00:00" and a["duration_s"].item() == pytest.approx(1.234 * 60)


def test_a_new_user_imports_an_unfamiliar_dynamics_excel_export_after_small_edits(tmp_path):
    """The newcomer trial: Dynamics 365 "Export to Excel" files, display-name headers, US dates, owners by name.

    The draft is edited as its comments ask: minutes as the duration unit (the "check the unit" comments),
    which statuses count (the TODO `where` lines), and the outcomes of appointments, emails and tasks.
    """
    src = FIXTURES / "dynamics365_excel"
    text, _ = drafted(src)
    assert text.count("check the unit") == 2 and text.count("# TODO keep only what happened?") == 4
    edits = [
        ('duration_s = { column = "Duration" }', 'duration_s = { column = "Duration", scale = 60 }'),  # x2
        ('# where = [{ column = "Status Reason", in = ["Sent"] }]',
         'where = [{ column = "Status Reason", in = ["Sent", "Received"] }]'),
        ('# where = [{ column = "Activity Status", in = ["Completed"] }]',
         'where = [{ column = "Activity Status", in = ["Completed"] }]'),  # phone calls and tasks
        ('activity_type = { const = "meeting" }',
         'activity_type = { const = "meeting" }\noutcome = { column = "Activity Status", map = { Completed = "held", '
         'Canceled = "canceled", Scheduled = "scheduled" } }'),
        ('activity_type = { const = "email" }',
         'activity_type = { const = "email" }\noutcome = { column = "Status Reason", map = { Sent = "sent", '
         'Received = "replied" } }'),
        ('activity_type = { const = "task" }', 'activity_type = { const = "task" }\noutcome = { const = "completed" }'),
    ]  # fmt: skip
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    text = text.replace('file = "Appointments.csv"\n# TODO keep only what happened? Activity Status: '
                        "'Completed' x1, 'Canceled' x1, 'Scheduled' x1\nwhere", 'file = "Appointments.csv"\n# where')  # fmt: skip
    (tmp_path / "m.toml").write_text(text)
    r = import_csv(src, tmp_path / "m.toml")
    a = r.data.activities.set_index("activity_id")
    assert a["activity_type"].value_counts().to_dict() == {"call": 4, "meeting": 3, "email": 2, "task": 1}
    call = a.loc["4f1c0e5a-6b0b-ef11-9f89-000d3a5c1001"]
    assert (call.occurred_at, call.duration_s, call.direction) == (T("2024-03-01 09:25"), 900.0, "outbound")
    assert a.loc["5a2d0e5a-6b0b-ef11-9f89-000d3a5c2001", ["occurred_at", "outcome"]].tolist() == [
        T("2024-03-05 14:00"),
        "held",
    ]
    assert a.loc["6b3e0e5a-6b0b-ef11-9f89-000d3a5c3001", "notes"] == "Please find the proposal attached"
    assert sorted(r.data.reps.name) == ["Nora Quist", "Omar Haddad"]
