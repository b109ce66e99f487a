"""The cases of ``../shared/cases/validate/`` (copied into ``tests/fixtures/validate_cases/``): each gives its
``expected.txt``.

Each test reads the case's input where it lies (nothing may change it: checked by digest), or builds the
input in a temporary folder as the case's ``cmd.sh`` does (16, 17, 23; 14 and 15 need another user than
root to be refused a file, so they run the real command under ``setpriv`` and skip without it). Case 11
(the review of a rep who left) belongs to the review code and is not here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from coachkit.cli import main
from coachkit.load import DataError, load, validate

CASES = Path(__file__).parent / "fixtures" / "validate_cases"
COACHKIT = Path(sys.executable).parent / "coachkit"


def case(name: str) -> Path:
    return CASES / name / "input"


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def issues(report) -> list[tuple]:
    return [(i.severity, i.file, i.row, i.column, i.value) for i in report.issues]


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def unchanged():
    """Check, after the test, that the case folders it names are byte-identical to before."""
    seen: dict[Path, dict[str, str]] = {}

    def watch(folder: Path) -> Path:
        seen[folder] = digest(folder)
        return folder

    yield watch
    for folder, before in seen.items():
        assert digest(folder) == before


def test_every_case_is_here():
    names = sorted(p.name for p in CASES.iterdir() if p.is_dir())
    # case 11 (a review of a rep who left) is tested with the review, in tests/test_review_edge_reps.py
    assert [n[:2] for n in names] == [f"{i:02d}" for i in (*range(1, 19), 23)]


def test_01_semicolon_separated_is_named_at_line_1(unchanged):
    folder = unchanged(case("01-semicolon-delimited-misleading-line"))
    report = validate(folder)
    header = (folder / "activities.csv").read_text().splitlines()[0]
    assert issues(report) == [("error", "activities.csv", 1, None, header)]
    message = report.issues[0].message
    assert message.startswith("not comma-separated: read with commas, the header is 1 column ('activity_id;rep_id;")
    assert "the separator looks like ';'" in message
    res = cli("validate", str(folder))
    assert res.exit_code == 1 and "line 1: 'activity_id;rep_id;activity_type;" in res.output


def test_02_rep_id_with_a_trailing_space_is_blamed_on_the_reps_file(unchanged):
    folder = unchanged(case("02-reps-rep_id-trailing-space-blames-activities"))
    report = validate(folder)
    assert issues(report) == [("warning", "reps.csv", 2, "rep_id", "R001 ")]
    assert "rep_id has spaces around it; it is read without them" in report.issues[0].message
    data = load(folder)  # read as R001: the activities and the deal match it
    assert data.reps["rep_id"].tolist() == ["R001"]
    assert data.activities["rep_id"].tolist() == ["R001"] * 3 and data.deals["rep_id"].tolist() == ["R001"]


@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("03-dst-gap-naive-timestamp-accepted-silently", "2026-03-08T02:30:00", "does not exist"),
        ("04-dst-fold-naive-timestamp-accepted-silently", "2026-11-01T01:30:00", "happens twice"),
    ],
)
def test_03_04_naive_time_in_a_dst_gap_or_fold_is_warned(unchanged, name, value, what):
    folder = unchanged(case(name))
    report = validate(folder)
    assert issues(report) == [("warning", "activities.csv", 2, "occurred_at", value)]
    message = report.issues[0].message
    assert message.startswith(f"this local time {what} in America/New_York")
    assert "Kept as written (wall time)" in message and "off by 60 minutes" in message
    data = load(folder)  # the documented rule: the wall time is kept
    assert data.activities["occurred_at"][0] == pd.Timestamp(value)


def test_05_year_only_month_only_and_compact_timestamps_are_errors(unchanged):
    folder = unchanged(case("05-year-only-or-compact-timestamp-accepted"))
    report = validate(folder)
    assert issues(report) == [
        ("error", "activities.csv", 2, "occurred_at", "2026"),
        ("error", "activities.csv", 3, "occurred_at", "2026-10"),
        ("error", "activities.csv", 4, "occurred_at", "20261013"),
    ]
    assert all(i.message.startswith("not a valid timestamp: it must start with a full date") for i in report.issues)
    with pytest.raises(DataError, match="line 2: '2026'"):
        load(folder)


def test_06_a_column_named_twice_with_different_values_is_an_error(unchanged):
    folder = unchanged(case("06-duplicate-column-name-second-ignored"))
    report = validate(folder)
    assert issues(report) == [("error", "activities.csv", 2, "rep_id", "R999")]
    assert report.issues[0].message.startswith(
        "the header names rep_id twice (columns 2 and 13) and the two columns disagree: 'R001' vs 'R999' on this line "
        "(3 of 3 rows differ)"
    )
    assert "rep_id.1" not in report.to_text()  # pandas' mangled name is not in the file


@pytest.mark.parametrize(
    ("name", "column", "value", "start"),
    [
        ("07-deal-closed-before-created-accepted", "closed_at", "2026-01-01T00:00:00", "closed_at is before"),
        ("08-deal-won-but-not-closed-accepted", "is_won", "true", "is_won is true but is_closed is false"),
        ("09-deal-negative-amount-accepted", "amount", "-10000", "negative amount"),
    ],
)
def test_07_08_09_deals_that_cannot_be_right_are_errors(unchanged, name, column, value, start):
    folder = unchanged(case(name))
    report = validate(folder)
    assert issues(report) == [("error", "deals.csv", 2, column, value)]
    assert report.issues[0].message.startswith(start)
    res = cli("validate", str(folder))
    assert res.exit_code == 1 and f"deals.csv, column {column}: {start}" in res.output


def test_10_left_at_before_hired_at_is_an_error_on_the_reps_row(unchanged):
    folder = unchanged(case("10-left_at-before-hired_at-accepted"))
    report = validate(folder)
    # the reps row itself, and no longer three warnings about activities "after left_at"
    assert issues(report) == [("error", "reps.csv", 2, "left_at", "2024-01-01")]
    assert report.issues[0].message.startswith("left_at is before hired_at")


def test_12_playbook_not_utf8_names_the_file_and_line(unchanged, tmp_path):
    folder = unchanged(case("12-playbook-not-utf8-traceback"))
    report = validate(folder)
    assert issues(report) == [("error", "playbook.toml", 2, None, None)]
    assert report.issues[0].message == "not UTF-8 text (byte 0xe9: invalid continuation byte); save the file as UTF-8"
    res = cli("validate", str(folder))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "playbook.toml: not UTF-8 text (byte 0xe9: invalid continuation byte); save the file as UTF-8" in res.output
    assert "    line 2\n" in res.output
    review = CliRunner().invoke(main, ["review", str(folder), "--out", str(tmp_path / "out")])
    assert review.exit_code == 1 and "playbook.toml: not UTF-8 text" in review.output
    assert review.exception is None or isinstance(review.exception, SystemExit)


def test_13_playbook_stage_named_twice_is_an_error(unchanged):
    folder = unchanged(case("13-playbook-duplicate-stage-names-accepted"))
    report = validate(folder)
    assert issues(report) == [("error", "playbook.toml", None, None, None)]
    assert report.issues[0].message == (
        "`stages[2]`: the stage name 'open' is used twice (also `stages[0]`), so the stage order and a deal's "
        "stage are ambiguous; give each stage its own name"
    )


def test_18_playbook_stage_with_capitals_matches_the_deals_stage(unchanged):
    folder = unchanged(case("18-playbook-stage-with-capitals-never-matches"))
    report = validate(folder)
    assert report.issues == []
    assert load(folder).deals["stage"].tolist() == ["Proposal Sent"]  # the playbook's spelling


def _as(tmp: Path, name: str) -> Path:
    """A copy of the case's input in a fresh folder that another user can enter."""
    folder = Path(tempfile.mkdtemp(prefix="coachkit-case-", dir=tmp))
    folder.chmod(0o755)
    for f in case(name).iterdir():
        shutil.copy(f, folder / f.name)
        (folder / f.name).chmod(0o644)
    return folder


def _as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run coachkit as another user (root reads any file)")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", str(COACHKIT), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def shared_tmp():
    """A folder under /tmp that user nobody can enter (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="coachkit-cases-"))
    path.chmod(0o755)
    yield path
    for p in path.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(path)


@pytest.mark.parametrize(
    ("name", "file"),
    [("14-activities-unreadable-traceback", "activities.csv"), ("15-playbook-unreadable-traceback", "playbook.toml")],
)
def test_14_15_a_file_the_user_cannot_read_is_one_line_not_a_traceback(shared_tmp, name, file):
    folder = _as(shared_tmp, name)
    (folder / file).chmod(0o000)
    for command in ("validate", "info"):
        res = _as_nobody(command, ".", cwd=folder)
        assert res.returncode == 1, res
        assert "Traceback" not in res.stdout + res.stderr
        assert f"  {file}: cannot read the file: permission denied; give your user read access (chmod a+r {file})" in (
            res.stdout + res.stderr
        )


def test_16_activities_as_a_symlink_loop_says_so(tmp_path):
    shutil.copytree(case("16-activities-symlink-loop-reported-as-missing"), tmp_path / "d")
    (tmp_path / "d" / "activities.csv").symlink_to("activities.csv")
    report = validate(tmp_path / "d")
    assert issues(report) == [("error", "activities.csv", None, None, None)]
    assert report.issues[0].message.startswith("cannot open the file: a symbolic-link loop (too many levels")
    res = cli("validate", str(tmp_path / "d"))
    assert res.exit_code == 1 and "required file missing" not in res.output


def test_17_activities_as_a_directory_says_so(tmp_path):
    shutil.copytree(case("17-activities-is-a-directory-reported-as-missing"), tmp_path / "d")
    (tmp_path / "d" / "activities.csv").mkdir()
    report = validate(tmp_path / "d")
    assert issues(report) == [("error", "activities.csv", None, None, None)]
    assert report.issues[0].message.startswith("is a directory, not a file")


def test_23_dataset_path_in_a_symlink_loop_says_so(tmp_path):
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    source = tmp_path / "loopA"
    report = validate(source)
    assert issues(report) == [("error", str(source), None, None, None)]
    assert report.issues[0].message.startswith("cannot open the dataset: a symbolic-link loop (too many levels")
    res = cli("validate", str(source))
    assert res.exit_code == 1  # coachkit's report (exit 1), not click's "does not exist" (exit 2)
    assert "symbolic-link loop" in res.output and "does not exist" not in res.output
    with pytest.raises(DataError, match="symbolic-link loop"):
        load(source)
