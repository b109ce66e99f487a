"""A crash at every step of publishing leaves the output folder one coherent run (fake reviews, no kernel).

Each scenario runs the real batch (selection, manifest, indexes, publication) with quick fake
reviews (publish_faults.py), failing the 1st, 2nd, ... rename, folder exchange or file write
in turn until a run gets through. After each failure the output folder must hold, in every
week, exactly one complete run (the previous one or the new one): every manifest entry
exists, every review file is listed and of that run, each week's index is its manifest's,
the top index links only complete weeks, and nothing is left over. The killed variant
(the process exits at that step, as ``strace -e inject=rename:signal=KILL:when=N`` did)
checks what a reader sees, then that the next run cleans up.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from publish_faults import Fault, check_out, fault_at, leftovers, run

from coachkit import SalesData, batch, publish

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "team": ["T", "T", "T"]})
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(6)],
            "rep_id": ["R1", "R2", "R3", "R1", "R2", "R3"],
            "activity_type": "call",
            "occurred_at": pd.to_datetime(["2024-06-12"] * 3 + ["2024-06-26"] * 3),
        }
    )
    folder = tmp_path_factory.mktemp("data")
    SalesData.from_frames(acts, reps).save(folder, "parquet")
    return folder


# (what is already published, what the run publishes): a new week after an earlier one, and a rerun
# of a week with another set of reps and a file of the user's in the week folder
SCENARIOS = {
    "new week": ([("2024-06-16", ["R1", "R2"])], ("2024-06-30", ["R1", "R2", "R3"])),
    "rerun of the week": ([("2024-06-16", ["R1"]), ("2024-06-30", ["R1", "R2"])], ("2024-06-30", ["R2", "R3"])),
}
USER = ("my-notes.txt",)


def _prepare(data: Path, out: Path, published: list) -> dict[str, str]:
    for as_of, reps in published:
        run(data, out, as_of, reps)
    (out / "2024-W26").mkdir(exist_ok=True)
    (out / "2024-W26" / "my-notes.txt").write_text("mine")
    if not (out / "2024-W26" / "manifest.json").exists():  # a week folder holding only the user's file
        shutil.rmtree(out / "2024-W26")
    return check_out(out, USER)


@pytest.fixture
def restore(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch, "_run_all", batch._run_all)  # publish_faults.run replaces it


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two renames"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_failure_at_every_step_of_publishing_leaves_one_coherent_run(
    data: Path, tmp_path: Path, scenario: str, exchange: bool, monkeypatch: pytest.MonkeyPatch, restore
) -> None:
    if not exchange:
        monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    published, (as_of, reps) = SCENARIOS[scenario]
    template = tmp_path / "template"
    before = _prepare(data, template, published)
    steps = 0
    for n in range(1, 200):
        out = tmp_path / f"out{n}"
        shutil.copytree(template, out, symlinks=True)
        with fault_at(n) as calls:
            try:
                result = run(data, out, as_of, reps)
            except (Fault, publish.OutputError) as exc:
                assert "injected fault" in str(exc)
                failed = True
            else:
                failed = False
        # the only state allowed besides "before" and "after": the new week published, the top
        # index not yet rewritten (a failed write of the top index is a notice, not an error)
        weeks = check_out(out, USER, unlisted=("2024-W26",))
        assert leftovers(out) == [], f"fault at {calls[-1]} #{n}"
        if failed:
            assert weeks == before, f"fault at {calls[-1]} #{n}: the previous runs changed"
        else:
            assert weeks["2024-W26"] == result.manifest["run"]["tag"]
            assert {k: v for k, v in weeks.items() if k != "2024-W26"} == {
                k: v for k, v in before.items() if k != "2024-W26"
            }
            assert sorted(result.ok) == sorted(reps)
            if len(calls) < n:  # this run saw no fault: every step has been failed once
                steps = n - 1
                break
        if (template / "2024-W26" / "my-notes.txt").exists():  # your file survives, whichever run is visible
            assert (out / "2024-W26" / "my-notes.txt").read_text() == "mine"
        shutil.rmtree(out)
    assert steps >= 6, steps  # rename, exchange and write calls, as counted
    # after the last failure, a clean run publishes and the top index lists every week
    out = tmp_path / "final"
    shutil.copytree(template, out, symlinks=True)
    run(data, out, as_of, reps)
    assert set(check_out(out, USER)) == set(before) | {"2024-W26"} and leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two renames"])
def test_killed_at_every_step_of_publishing(data: Path, tmp_path: Path, exchange: bool, restore) -> None:
    published, (as_of, reps) = SCENARIOS["rerun of the week"]
    template = tmp_path / "template"
    before = _prepare(data, template, published)
    script = [sys.executable, str(HERE / "publish_faults.py"), str(data)]
    for n in range(1, 200):
        out = tmp_path / f"out{n}"
        shutil.copytree(template, out, symlinks=True)
        args = [*script, str(out), as_of, str(n), *reps] + ([] if exchange else ["--no-exchange"])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, 137), stderr
        if proc.returncode == 0:
            assert int(stdout.split()[-1]) < n  # got through: every step has been killed once
            break
        # what a reader sees right after the kill: each week one complete run. The two-rename
        # switch killed between its renames leaves the week aside (hidden) until the next run.
        week_aside = not exchange and not (out / "2024-W26").exists()
        if week_aside:
            assert any(p.name.startswith(".coachkit-old-2024-W26-") for p in out.iterdir())
        else:
            weeks = check_out(out, USER, unlisted=("2024-W26",))
            assert weeks["2024-W24"] == before["2024-W24"]
            # the previous run, or the killed run's own (its tag starts with its pid)
            assert weeks["2024-W26"] == before["2024-W26"] or weeks["2024-W26"].startswith(f"{proc.pid}-")
        # the next run cleans up what the killed one left, and publishes
        result = run(data, out, as_of, reps)
        assert leftovers(out) == []
        weeks = check_out(out, USER)
        assert weeks["2024-W26"] == result.manifest["run"]["tag"] and weeks["2024-W24"] == before["2024-W24"]
        assert (out / "2024-W26" / "my-notes.txt").read_text() == "mine"
        shutil.rmtree(out)
    else:
        pytest.fail("never got through")
    assert n > 6
