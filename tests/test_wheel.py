"""A wheel of coachkit runs reviews: the subpackages, the review notebook and the templates ship in it, it builds
without setuptools warnings, and ``coachkit review`` runs from it in a fresh virtual environment.

pip is configured on this machine with a local wheel cache and local indexes, so the builds and the install
work offline; the fresh-venv test installs every dependency, so it is marked slow (about a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "rep_review.ipynb"
SAMPLE = ROOT / "data" / "sample"


def test_the_packaged_notebook_is_the_notebook_nbval_checks() -> None:
    shipped = ROOT / "coachkit" / "notebooks" / "rep_review.ipynb"
    assert shipped.is_symlink(), "coachkit/notebooks/rep_review.ipynb must be a link to notebooks/, not a copy"
    assert shipped.resolve() == NOTEBOOK.resolve()
    from coachkit import batch

    assert Path(batch.DEFAULT_NOTEBOOK).resolve() == NOTEBOOK.resolve()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the wheel built from a copy of the sources, pip's verbose output). The copy keeps build/ out of the
    repository and follows the notebook's link, as an sdist does."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "coachkit", src / "coachkit", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = (tmp / "dist").glob("coachkit-*.whl")
    return built, done.stdout + done.stderr


@pytest.mark.slow
def test_the_wheel_holds_every_subpackage_the_notebook_and_the_templates(wheel: tuple[Path, str]) -> None:
    built, _ = wheel
    names = set(zipfile.ZipFile(built).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "coachkit").rglob("*.py")}
    assert sources <= names, sorted(sources - names)
    for data in (
        "coachkit/notebooks/rep_review.ipynb",
        "coachkit/templates/coachkit/index.html.j2",
        "coachkit/templates/coachkit/conf.json",
        "coachkit/default_playbook.toml",
        "coachkit/importers/mappings/maven_crm.toml",
    ):
        assert data in names
    # the notebook itself, not the link
    assert zipfile.ZipFile(built).read("coachkit/notebooks/rep_review.ipynb") == NOTEBOOK.read_bytes()
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/", "data/")) for n in names)


@pytest.mark.slow
def test_the_wheel_builds_without_setuptools_warnings(wheel: tuple[Path, str]) -> None:
    _, output = wheel
    for noise in ("SetuptoolsDeprecationWarning", "BuildBackendWarning", "is deprecated", "absent from the `packages`"):
        assert noise not in output


@pytest.mark.slow
def test_a_review_runs_from_the_wheel_in_a_fresh_venv(wheel: tuple[Path, str], tmp_path: Path) -> None:
    built, _ = wheel
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", str(built)], capture_output=True, text=True, timeout=1200
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    # nothing of the checkout may leak in: run elsewhere, without the user's site-packages or Jupyter folders
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH")}
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "PYTHONNOUSERSITE": "1",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
    }
    where = subprocess.run(
        [str(py), "-c", "import coachkit.review, sys; print(coachkit.review.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=120,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv)
    run = subprocess.run(
        [str(venv / "bin" / "coachkit"), "review", str(SAMPLE), "--out", "out", "--rep", "R003", "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    weeks = [p for p in (work / "out").iterdir() if p.is_dir()]
    assert [p.name for p in weeks] == ["2026-W47"]  # the sample's last full week: out/<ISO week>/
    out = weeks[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"ok": 1, "failed": 0, "skipped": 0}
    assert Path(manifest["parameters"]["notebook"]).is_relative_to(venv)
    page = (out / "R003.html").read_text(encoding="utf-8")
    assert "R003" in page and page.lstrip().lower().startswith("<!doctype html")
    assert (out / "index.html").is_file() and (out / "definitions.html").is_file()
    assert (work / "out" / "index.html").is_file()  # the weeks page
