"""Datasets at a URL (fsspec; ``file://`` here) and the worker side of a cluster review, without a cluster."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("fsspec", reason="the dask extra (pip install 'coachkit[dask]') brings fsspec")

from coachkit import SalesData, batch, cluster, engine, export, remote
from coachkit.active_days import rep_days
from coachkit.snapshot import DataChangedError


@pytest.fixture
def data(tmp_path: Path) -> Path:
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "team": ["East", "East", "West"]})
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4"],
            "rep_id": ["R1", "R1", "R2", "R3"],
            "activity_type": ["call"] * 4,
            "occurred_at": pd.to_datetime(
                ["2024-06-17 09:00", "2024-06-18 09:00", "2024-06-18 10:00", "2024-05-02 08:00"]
            ),
        }
    )
    SalesData.from_frames(acts, reps).save(tmp_path / "data", "parquet")
    return tmp_path / "data"


def test_is_url() -> None:
    assert remote.is_url("s3://bucket/crm") and remote.is_url("file:///tmp/x") and remote.is_url("abfs://c/p")
    assert not remote.is_url("/tmp/data") and not remote.is_url("data/sample") and not remote.is_url(Path("s3:/x"))
    assert not remote.is_url("C:\\data")


def test_fingerprint_and_rep_days_through_fsspec_match_the_local_files(data: Path, tmp_path: Path) -> None:
    url = "file://" + str(data)
    fp = remote.fingerprint(url)
    assert sorted(fp) == sorted(f"{url}/{p.name}" for p in data.iterdir())
    assert {k.rsplit("/", 1)[1]: v["size"] for k, v in fp.items()} == {p.name: p.stat().st_size for p in data.iterdir()}
    assert remote.fingerprint(url) == fp  # stable while nothing changes
    fs, path = remote.filesystem(url)
    far, near = rep_days(path, fs=fs), rep_days(data)
    pd.testing.assert_frame_equal(far.activities, near.activities)
    pd.testing.assert_frame_equal(far.reps, near.reps)
    assert far.activities["occurred_at"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-06-17", "2024-06-18", "2024-06-18", "2024-05-02",
    ]  # fmt: skip
    # a playbook given apart from the dataset is in the snapshot too
    pb = tmp_path / "pb.toml"
    pb.write_text('timezone = "UTC"\n', encoding="utf-8")
    assert str(pb.resolve()) in remote.fingerprint(url, pb)


def test_materialise_copies_once_and_refuses_changed_data(data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(remote.CACHE_ENV, str(tmp_path / "cache"))
    url = "file://" + str(data)
    snap = remote.fingerprint(url)
    local = remote.materialise(url, snap)
    assert sorted(p.name for p in local.iterdir()) == sorted([".complete", *(p.name for p in data.iterdir())])
    assert (local / "reps.parquet").read_bytes() == (data / "reps.parquet").read_bytes()
    stamp = (local / "reps.parquet").stat().st_mtime_ns
    assert remote.materialise(url, snap) == local and (local / "reps.parquet").stat().st_mtime_ns == stamp  # reused
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [local.name]  # no temporary folder left
    (data / "activities.parquet").write_bytes((data / "activities.parquet").read_bytes() + b"\0")
    with pytest.raises(
        DataChangedError, match=r"^the dataset changed after the run started \(activities.parquet modified\); "
    ):
        remote.materialise(url, snap)
    with pytest.raises(FileNotFoundError, match="no such folder or file"):
        remote.fingerprint(url + "-missing")


def test_an_unknown_protocol_is_one_line() -> None:
    with pytest.raises(ValueError, match=r"^nosuch://x: .*nosuch"):
        remote.filesystem("nosuch://x")


def _notebook(path: Path) -> Path:
    """Prints what the review reads: the data parameter and the previous review's summary."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                'rep_id = ""\ndata = ""\nas_of = ""\nweeks = 4\nplaybook = ""\nprevious = ""\ncoverage = ""',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "import json, os, nbformat\n"
                "from coachkit.export import read_summary\n"
                "prev = read_summary(nbformat.read(previous, as_version=4)) if previous else None\n"
                "cov = open(coverage).read() if coverage else None\n"
                "print(json.dumps({'data_is_dir': os.path.isdir(data), 'previous': prev, 'coverage': cov}))"
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_the_worker_side_review_sends_back_files_with_the_clients_paths(
    data: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(remote.CACHE_ENV, str(tmp_path / "cache"))
    nb = _notebook(tmp_path / "nb.ipynb")
    url = "file://" + str(data)
    summary = {"rep_id": "R1", "headline": [{"key": "calls", "value": 3}], "focus": [{"kpi": "calls"}]}
    gone = str(tmp_path / "elsewhere" / "2024-W25" / "R1.ipynb")  # the client's previous review: not on this machine
    task = {
        "rep_id": "R1",
        "stem": "R1",
        "staging": str(tmp_path / "client-staging"),
        "notebook": str(nb),
        "timeout": 60,
        "isolation": "warm",
        "html": True,
        "fingerprint": remote.fingerprint(url),
        "tag": "t",
        "parameters": {"rep_id": "R1", "data": url, "as_of": "", "weeks": 2, "playbook": "", "previous": gone},
        "notebook_source": batch._notebook_source(str(nb)),
        "previous_summary": summary,
    }
    # the run's coverage profile, in the client's staging folder, which this worker cannot read
    gone_cov = str(tmp_path / "client-staging" / ".run" / "coverage.json")
    task["parameters"]["coverage"] = gone_cov
    task["run_files"] = {"coverage": b'{"calls": 7}'}
    try:
        answer = cluster.review_task(
            task, functools.partial(remote.review_one, review=batch._review_one, classify=batch._classify)
        )
    finally:
        cluster._reviewer().submit(engine.shutdown_kernels).result()
    assert answer["status"] == "ok", answer["error"]
    assert sorted(answer["blobs"]) == ["R1.html", "R1.ipynb"] and answer["files"] == {
        "ipynb": "R1.ipynb",
        "html": "R1.html",
    }
    out = nbformat.reads(answer["blobs"]["R1.ipynb"].decode(), as_version=4)
    printed = json.loads(out.cells[-1].outputs[0]["text"])
    # a local copy, the summary the client sent and the run file's bytes it sent
    assert printed == {"data_is_dir": True, "previous": summary, "coverage": '{"calls": 7}'}
    meta = out.metadata.papermill
    assert meta.input_path == str(nb) and meta.output_path == str(tmp_path / "client-staging" / "R1.ipynb")
    assert meta.parameters["data"] == url and meta.parameters["previous"] == gone
    assert meta.parameters["coverage"] == gone_cov  # the client's path, not the worker's copy
    injected = next(c for c in out.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'data = "{url}"' in injected.source and f'previous = "{gone}"' in injected.source
    assert str(tmp_path / "cache") not in answer["blobs"]["R1.ipynb"].decode()
    assert not (tmp_path / "client-staging").exists()  # the worker wrote nothing where the client's files go
    assert "data_is_dir" in answer["blobs"]["R1.html"].decode()  # the page of this review


def test_summary_notebook_reads_back() -> None:
    summary = {"rep_id": "<b>x</b>", "headline": [], "focus": [{"kpi": "calls", "value": 1.5}]}
    assert export.read_summary(nbformat.reads(cluster._summary_notebook(summary), as_version=4)) == summary


@pytest.mark.slow
def test_a_url_dataset_with_the_built_in_pool(data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(remote.CACHE_ENV, str(tmp_path / "cache"))
    nb = _notebook(tmp_path / "nb.ipynb")
    url = "file://" + str(data)
    result = batch.run_reviews(url, tmp_path / "out", as_of="2024-06-30", weeks=2, workers=1, quiet=True, notebook=nb)
    assert result.ok == ["R1", "R2"] and result.skipped == {
        "R3": {"kind": "no activity", "message": "no activity in the window 2024-06-17 to 2024-06-30"}
    }
    kept = nbformat.read(result.folder / "R1.ipynb", as_version=4)
    assert kept.metadata.papermill.parameters["data"] == url
    assert result.manifest["data"]["changed"] is False
    assert os.listdir(tmp_path / "cache")  # the copy the reviews read
