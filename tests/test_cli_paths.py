"""`coachkit import`, `review` and `explore` say in one line why an input path cannot be read (exit 1), with
coachkit's reasons (coachkit.files), never click's "does not exist" (exit 2) nor a traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from coachkit.cli import main
from coachkit.files import path_problem
from coachkit.importers import ExportError
from coachkit.importers.mapping import import_csv
from coachkit.importers.salesforce import import_salesforce

COACHKIT = Path(sys.executable).parent / "coachkit"
LOOP = "a symbolic-link loop (too many levels of symbolic links)"
LOOP_RE = re.escape(LOOP)


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line_error(res, *, code: int = 1) -> str:
    """The error line of a command that failed cleanly (no traceback, no usage text)."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    return lines[0]


@pytest.fixture
def loop(tmp_path) -> Path:
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    return tmp_path / "loopA"


@pytest.fixture
def export(tmp_path) -> Path:
    src = tmp_path / "export"
    src.mkdir()
    (src / "User.csv").write_text("Id,Name\n0051,Ada\n")
    (src / "Task.csv").write_text(
        "Id,OwnerId,Subject,Status,CompletedDateTime\nt1,0051,Call,Completed,2024-01-02T10:00:00Z\n"
    )
    return src


# ---- the rule ---------------------------------------------------------------------------------------------


def test_path_problem_names_each_cause(tmp_path, loop):
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "dangling").symlink_to("nowhere")
    assert path_problem(tmp_path, "folder") is None and path_problem(tmp_path / "f.txt", "file") is None
    assert path_problem(tmp_path / "absent", "folder") == "no such folder"
    assert path_problem(loop, "folder").startswith(f"cannot open the folder: {LOOP}")
    assert path_problem(loop, "dataset").startswith(f"cannot open the dataset: {LOOP}")
    assert path_problem(tmp_path, "file").startswith("is a directory, not a file")
    assert path_problem(tmp_path / "f.txt", "folder").startswith("is a file, not a folder")
    assert path_problem(tmp_path / "f.txt", "dataset") is None  # a .duckdb file is the loader's to check
    assert "which does not exist" in path_problem(tmp_path / "dangling", "file")
    with pytest.raises(ValueError, match="kind must be one of"):
        from coachkit.cli_paths import InputPath

        InputPath("socket")


# ---- the command line -------------------------------------------------------------------------------------


@pytest.mark.parametrize("crm", ["salesforce", "hubspot", "pipedrive"])
def test_import_from_a_link_loop_says_so(loop, tmp_path, crm):
    line = one_line_error(cli("import", crm, str(loop), "--out", str(tmp_path / "ds")))
    assert line == f"Error: {loop}: cannot open the folder: {LOOP}; replace the link with the folder itself or a " \
        "link that reaches it"  # fmt: skip
    assert not (tmp_path / "ds").exists()


def test_import_options_pointing_at_a_loop_or_a_folder_say_so(export, loop, tmp_path):
    out = str(tmp_path / "ds")
    line = one_line_error(cli("import", "salesforce", str(export), "--out", out, "--mapping", str(tmp_path)))
    assert line == f"Error: {tmp_path}: is a directory, not a file; give the file itself"
    line = one_line_error(cli("import", "salesforce", str(export), "--out", out, "--playbook", str(loop)))
    assert f"cannot open the file: {LOOP}" in line
    line = one_line_error(cli("import", "csv", str(loop), "--mapping", str(export / "User.csv"), "--out", out))
    assert f"cannot open the file or folder: {LOOP}" in line
    line = one_line_error(cli("import", "csv", "--draft-mapping", str(loop)))
    assert LOOP in line
    assert not (tmp_path / "ds").exists()


def test_a_file_of_the_export_that_is_a_folder_or_a_loop_is_named_not_missing(export, tmp_path):
    (export / "Task.csv").unlink()
    (export / "Task.csv").mkdir()
    line = one_line_error(cli("import", "salesforce", str(export), "--out", str(tmp_path / "ds")))
    assert line == "Error: Task.csv: is a directory, not a file; put the file itself here under this name"
    (export / "Task.csv").rmdir()
    (export / "Task.csv").symlink_to("Task.csv")
    with pytest.raises(ExportError, match=f"Task.csv: cannot open the file: {LOOP_RE}"):
        import_salesforce(export)


def test_a_mapping_naming_a_folder_or_a_loop_says_so(tmp_path):
    from coachkit.importers.mapping import check_mapping

    src = tmp_path / "src"
    src.mkdir()
    (src / "calls.csv").mkdir()
    (src / "reps.csv").symlink_to("reps.csv")
    mapping = {"reps": {"file": "reps.csv", "columns": {"rep_id": "Id"}}, "activities": {"file": "calls.csv",
               "columns": {"activity_id": "Id", "rep_id": "Owner", "activity_type": {"const": "call"},
                           "occurred_at": "When"}}}  # fmt: skip
    with pytest.raises(ExportError, match="calls.csv: file named in the mapping's \\[activities\\]: is a directory"):
        import_csv(src, check_mapping(mapping))
    (src / "calls.csv").rmdir()
    (src / "calls.csv").write_text("Id,Owner,When\n1,R1,2024-01-02T10:00:00\n")
    with pytest.raises(
        ExportError, match=f"reps.csv: file named in the mapping's \\[reps\\]: cannot open the file: {LOOP_RE}"
    ):
        import_csv(src, check_mapping(mapping))
    with pytest.raises(ExportError, match="the export folder: is a file, not a folder"):
        import_csv(src / "calls.csv", check_mapping(mapping))


def test_review_and_explore_of_a_link_loop_say_so(loop, tmp_path):
    for args in (["review", str(loop), "--out", str(tmp_path / "out")], ["explore", str(loop), "--no-browser"]):
        line = one_line_error(cli(*args))
        assert line.startswith(f"Error: {loop}: cannot open the dataset: {LOOP}")
        assert "does not exist" not in line
    sample = Path(__file__).parents[1] / "data" / "sample"
    line = one_line_error(cli("review", str(sample), "--out", str(tmp_path / "out"), "--playbook", str(tmp_path)))
    assert line == f"Error: {tmp_path}: is a directory, not a file; give the file itself"
    assert not (tmp_path / "out").exists()


def test_import_out_that_is_a_file_or_a_loop_says_so(export, loop, tmp_path):
    (tmp_path / "taken").write_text("x")
    line = one_line_error(cli("import", "salesforce", str(export), "--out", str(tmp_path / "taken")))
    assert line.endswith("is a file, not a folder; give a folder for the dataset")
    line = one_line_error(cli("import", "salesforce", str(export), "--out", str(loop)))
    assert LOOP in line
    assert (tmp_path / "taken").read_text() == "x"


# ---- as a user who may not read (root reads everything: run the real command as nobody) ----------------------


def _as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run coachkit as another user (root reads any file)")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", str(COACHKIT), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def shared_tmp():
    """A folder under /tmp that user nobody can enter and write in (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="coachkit-paths-"))
    path.chmod(0o777)
    yield path
    for p in path.rglob("*"):
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(path)


def _export_for_nobody(root: Path) -> Path:
    src = root / "export"
    src.mkdir()
    (src / "User.csv").write_text("Id,Name\n0051,Ada\n")
    (src / "Task.csv").write_text("Id,OwnerId,Status,CompletedDateTime\nt1,0051,Completed,2024-01-02T10:00:00Z\n")
    for p in (src, *src.iterdir()):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return src


def _clean(res: subprocess.CompletedProcess) -> str:
    text = res.stdout + res.stderr
    assert res.returncode == 1, text
    assert "Traceback" not in text
    return text


def test_a_permission_denied_export_folder_is_one_line(shared_tmp):
    src = _export_for_nobody(shared_tmp)
    ok = _as_nobody("import", "salesforce", "export", "--out", "ds", cwd=shared_tmp)
    assert ok.returncode == 0, ok.stdout + ok.stderr  # the same command works while the folder is readable
    src.chmod(0o000)
    text = _clean(_as_nobody("import", "salesforce", "export", "--out", "ds2", cwd=shared_tmp))
    assert "Error: export: cannot read the folder: permission denied; give your user read access (chmod a+rx " \
        "export)" in text  # fmt: skip
    src.chmod(0o711)  # entered but not listed
    assert "cannot read the folder: permission denied" in _clean(
        _as_nobody("import", "salesforce", "export", "--out", "ds2", cwd=shared_tmp)
    )
    src.chmod(0o755)
    (src / "Task.csv").chmod(0o000)
    text = _clean(_as_nobody("import", "salesforce", "export", "--out", "ds2", cwd=shared_tmp))
    assert "Error: Task.csv: cannot read the file: permission denied; give your user read access (chmod a+r " \
        "Task.csv)" in text  # fmt: skip
    assert not (shared_tmp / "ds2").exists()


def test_a_permission_denied_dataset_folder_for_review_is_one_line(shared_tmp):
    data = shared_tmp / "data"
    shutil.copytree(Path(__file__).parents[1] / "data" / "sample", data)
    data.chmod(0o000)
    text = _clean(_as_nobody("review", "data", "--out", "out", cwd=shared_tmp))
    assert (
        "Error: data: cannot read the folder: permission denied; give your user read access (chmod a+rx data)" in text
    )
    assert not (shared_tmp / "out").exists()


def test_an_out_folder_the_user_cannot_write_is_one_line(shared_tmp):
    _export_for_nobody(shared_tmp)
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    text = _clean(_as_nobody("import", "salesforce", "export", "--out", "locked/ds", cwd=shared_tmp))
    assert "Error: --out locked/ds:" in text and "permission denied" in text
