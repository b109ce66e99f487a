"""The coachkit command line: sample, validate, info, kpis, playbook."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from coachkit.cli import main
from coachkit.load import load
from coachkit.playbook import DEFAULT_PLAYBOOK_TEXT


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_every_command():
    out = run("--help").output
    for cmd in ("sample", "validate", "info", "kpis", "playbook", "review", "import"):
        assert f"  {cmd} " in out


def test_sample_writes_a_dataset_that_validates(tmp_path):
    out = tmp_path / "s"
    res = run("sample", str(out), "--reps", "4", "--weeks", "2", "--seed", "3", "--format", "csv")
    assert res.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["activities.csv", "deals.csv", "playbook.toml", "reps.csv"]
    data = load(out)
    assert len(data.reps) == 4
    assert f"{len(data.activities):,} activities" in res.output
    ok = run("validate", str(out))
    assert ok.exit_code == 0


def test_validate_exits_1_and_reports_file_row_column_value(tmp_path):
    pd.DataFrame({"rep_id": ["R1"]}).to_csv(tmp_path / "reps.csv", index=False)
    (tmp_path / "activities.csv").write_text(
        "activity_id,rep_id,activity_type,occurred_at,feedback_score\n"
        "A1,R1,call,2026-03-02T10:00:00,3\n"
        "A2,R1,call,2026-03-02T11:00:00,9\n"
    )
    res = run("validate", str(tmp_path), "--json")
    assert res.exit_code == 1
    report = json.loads(res.output)
    errors = [i for i in report["issues"] if i["severity"] == "error"]
    assert len(errors) == 1
    e = errors[0]
    assert (e["file"].endswith("activities.csv"), e["row"], e["column"], e["value"]) == (
        True,
        3,
        "feedback_score",
        "9",
    )
    text = run("validate", str(tmp_path))
    assert text.exit_code == 1
    assert "feedback_score" in text.output and "'9'" in text.output


def test_info_summarises_rows_teams_and_mix(tmp_path):
    pd.DataFrame({"rep_id": ["R1", "R2"], "team": ["East", "West"]}).to_csv(tmp_path / "reps.csv", index=False)
    pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3", "A4"],
            "rep_id": ["R1", "R1", "R2", "R1"],
            "activity_type": ["call", "call", "email", "call"],
            "occurred_at": ["2026-03-02T09:00", "2026-03-03T09:00", "2026-03-04T09:00", "2026-03-05T17:30"],
        }
    ).to_csv(tmp_path / "activities.csv", index=False)
    res = run("info", str(tmp_path))
    assert res.exit_code == 0
    assert "4 activities, 2 reps, 0 deals" in res.output
    assert "teams:      2: East, West" in res.output
    assert "2026-03-02 09:00 .. 2026-03-05 17:30" in res.output
    assert "call                  3   75.0%" in res.output
    assert "email                 1   25.0%" in res.output


def test_info_on_bad_data_exits_1(tmp_path):
    (tmp_path / "reps.csv").write_text("rep_id\nR1\n")
    res = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert res.exit_code == 1
    assert "activities" in res.output


def test_kpis_prints_exact_definitions():
    out = run("kpis").output
    assert "connect_rate  —  " in out
    assert (
        "connect_rate  —  Connect rate [%] (rate, higher is better)\n    Calls with outcome connected / all calls (dials), "
        in out
    )


def test_playbook_prints_the_default():
    assert run("playbook").output == DEFAULT_PLAYBOOK_TEXT


def test_validate_and_info_report_unreadable_paths_in_one_line(tmp_path):
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    for cmd in ("validate", "info"):
        res = CliRunner().invoke(main, [cmd, str(tmp_path / "loopA")])
        assert res.exit_code == 1, res.output  # coachkit's own report, not click's usage error (exit 2)
        assert "symbolic-link loop" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["validate", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "no such folder or file" in res.output


def test_validate_with_an_unreadable_playbook_override(tmp_path):
    data = tmp_path / "ds"
    run("sample", str(data), "--reps", "2", "--weeks", "1", "--format", "csv")
    res = CliRunner().invoke(main, ["validate", str(data), "--playbook", str(tmp_path)])
    assert res.exit_code == 1
    assert f"  {tmp_path.name}: is a directory, not a file" in res.output


def test_kpis_with_a_bad_playbook_is_a_one_line_error(tmp_path):
    bad = tmp_path / "pb.toml"
    bad.write_bytes(b"\xff")
    res = CliRunner().invoke(main, ["kpis", "--playbook", str(bad)])
    assert res.exit_code == 1 and res.output.startswith(f"Error: {bad}, line 1: not UTF-8 text")
    assert "Traceback" not in res.output
