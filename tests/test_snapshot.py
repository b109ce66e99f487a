"""The run's data snapshot: what is fingerprinted, how, and what a change says (no kernel)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import snapshot
from coachkit.snapshot import DataChangedError


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "reps.csv").write_text("rep_id\nR1\n")
    (folder / "activities.csv").write_text("activity_id,rep_id\na1,R1\n")
    (folder / "playbook.toml").write_text("[kpis]\n")
    (folder / "README.txt").write_text("not data")  # not read by load: not fingerprinted
    (folder / ".activities.csv.swp").write_text("editor")  # hidden: not fingerprinted
    return folder


def test_small_files_are_hashed_whole(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    fp = snapshot.fingerprint(folder)
    assert sorted(Path(p).name for p in fp) == ["activities.csv", "playbook.toml", "reps.csv"]
    reps = fp[str(folder.resolve() / "reps.csv")]
    assert reps["hash"] == "file" and reps["size"] == len("rep_id\nR1\n")
    assert reps["sha256"] == hashlib.sha256(b"rep_id\nR1\n").hexdigest()
    assert reps["mtime_ns"] == (folder / "reps.csv").stat().st_mtime_ns
    assert snapshot.fingerprint(folder) == fp  # nothing changed: the same


def test_large_parquet_files_by_their_footer_and_other_large_files_by_their_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"x": range(1000)}).to_parquet(folder / "activities.parquet")
    (folder / "deals.csv").write_bytes(b"a" * 300 + b"middle" + b"z" * 300)
    monkeypatch.setattr(snapshot, "SMALL", 100)
    monkeypatch.setattr(snapshot, "EDGE", 50)
    fp = snapshot.fingerprint(folder)
    raw = (folder / "activities.parquet").read_bytes()
    footer = int.from_bytes(raw[-8:-4], "little")  # Parquet: ... footer, 4-byte footer length, "PAR1"
    assert raw[-4:] == b"PAR1"
    parquet = fp[str(folder.resolve() / "activities.parquet")]
    assert parquet["hash"] == "footer"
    assert parquet["sha256"] == hashlib.sha256(raw[-8 - footer :]).hexdigest()
    csv = fp[str(folder.resolve() / "deals.csv")]
    assert csv["hash"] == "ends" and csv["sha256"] == hashlib.sha256(b"a" * 50 + b"z" * 50).hexdigest()


def test_a_duckdb_file_and_a_playbook_override(tmp_path: Path) -> None:
    db = tmp_path / "crm.duckdb"
    db.write_bytes(b"duck")
    pb = tmp_path / "elsewhere" / "pb.toml"
    pb.parent.mkdir()
    pb.write_text("[kpis]\n")
    assert sorted(Path(p).name for p in snapshot.fingerprint(db, pb)) == ["crm.duckdb", "pb.toml"]


def test_changes_name_each_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    before = snapshot.fingerprint(folder)
    (folder / "reps.csv").write_text("rep_id\nR2\n")  # same size, other content
    os.utime(folder / "reps.csv", ns=(1, before[str(folder.resolve() / "reps.csv")]["mtime_ns"]))  # and mtime
    (folder / "playbook.toml").unlink()
    (folder / "deals.csv").write_text("deal_id\n")
    after = snapshot.fingerprint(folder)
    assert snapshot.changes(before, after) == ["deals.csv added", "playbook.toml removed", "reps.csv modified"]
    with pytest.raises(DataChangedError) as info:
        snapshot.check(before, folder)
    assert str(info.value) == (
        "the dataset changed after the run started (deals.csv added, playbook.toml removed, reps.csv modified); "
        + snapshot.REVIEW_NOT_MADE
    )
    snapshot.check(after, folder)  # no change: no error


def test_a_file_replaced_by_a_rename_is_a_change_even_with_the_same_bytes(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    before = snapshot.fingerprint(folder)
    (folder / "new.csv").write_text("rep_id\nR1\n")
    os.replace(folder / "new.csv", folder / "reps.csv")  # a fresh export landing: new mtime
    os.utime(folder / "reps.csv", ns=(1, before[str(folder.resolve() / "reps.csv")]["mtime_ns"] + 1))
    assert snapshot.changes(before, snapshot.fingerprint(folder)) == ["reps.csv modified"]


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_byte_changed_in_a_small_file_is_detected_even_with_size_and_mtime_kept(
    content: bytes, where: int, flip: int
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "reps.csv"
        path.write_bytes(content)
        before = snapshot.fingerprint(d)
        st_ = path.stat()
        changed = bytearray(content)
        changed[where % len(content)] ^= flip
        path.write_bytes(bytes(changed))
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
        assert snapshot.changes(before, snapshot.fingerprint(d)) == ["reps.csv modified"]
