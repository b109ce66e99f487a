"""``coachkit import``: turn a CRM export into a validated canonical dataset folder.

Register with ``cli.add_command(import_group, name="import")``. Each subcommand
prints the import report, writes the dataset, validates it, and exits 1 with a
one-line message when the export lacks required data (no dataset is written
then). ``--encoding``, ``--delimiter``, ``--decimal`` and ``--dayfirst /
--monthfirst`` override the mapping's ``[options]``. ``coachkit import csv
--draft-mapping FILE...`` profiles files and writes a commented draft mapping.
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..cli_paths import InputPath
from ..files import os_reason, write_text
from ..load import validate
from ..playbook import Playbook, PlaybookError
from .options import DELIMITERS
from .report import ExportError, ImportResult

__all__ = ["import_group"]

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="File format of the dataset tables.",
)
_PLAYBOOK = click.option(
    "--playbook",
    "playbook",
    type=InputPath("file"),
    default=None,
    help="playbook.toml to use (timezone, outcomes, stages); default: the built-in playbook.",
)


def _reading_options(func: Callable) -> Callable:
    """The options that say how to read the files (each overrides the mapping's [options])."""
    opts = [
        click.option(
            "--encoding",
            default=None,
            help="Text encoding of the files (utf-8, cp1252, latin-1, utf-16...); default: detected per file.",
        ),
        click.option(
            "--delimiter",
            default=None,
            type=click.Choice([",", ";", "tab", "|"]),
            help="Field delimiter; default: sniffed per file among , ; tab |.",
        ),
        click.option(
            "--decimal",
            default=None,
            type=click.Choice([".", ","]),
            help="Decimal mark of numbers and amounts; default: read from each column's values.",
        ),
        click.option(
            "--dayfirst/--monthfirst",
            "dayfirst",
            default=None,
            help="Whether 03/04/2024 is 3 April (--dayfirst) or 4 March; default: read from each column's values.",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _given(encoding: str | None, delimiter: str | None, decimal: str | None, dayfirst: bool | None) -> dict[str, Any]:
    out: dict[str, Any] = {"encoding": encoding, "delimiter": delimiter, "decimal": decimal, "dayfirst": dayfirst}
    if delimiter == "tab":
        out["delimiter"] = "\t"
    assert out["delimiter"] in (None, *DELIMITERS)
    return {k: v for k, v in out.items() if v is not None}


@click.group(name="import")
def import_group() -> None:
    """Import a CRM export (Salesforce, HubSpot, Pipedrive or any CSV with a mapping)."""


def _run(build: Callable[[Playbook], ImportResult], src: Path, out: Path, fmt: str, playbook: Path | None) -> None:
    if os.path.realpath(out) == os.path.realpath(src):
        raise click.ClickException(f"--out {out} is the export folder itself; write the dataset to another folder")
    problem = _writable_folder(out)
    if problem:
        raise click.ClickException(f"--out {out}: {problem}")
    try:
        pb = Playbook.from_toml(playbook) if playbook else Playbook.default()
        result = build(pb)
    except (ExportError, PlaybookError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.report.to_text())
    _write_validated(result, out, fmt)
    click.echo(f"Wrote {out} ({fmt}).")


def _write_validated(result: ImportResult, out: Path, fmt: str) -> None:
    """Write the dataset to ``out`` only once ``coachkit validate`` accepts it (checked in a temporary folder
    beside ``out``, removed afterwards); otherwise print the problems and write nothing."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        trial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise click.ClickException(f"--out {out}: {os_reason(exc, out.parent, what='folder')}") from None
    try:
        result.data.save(trial, fmt)
        check = validate(trial)
        if not check.ok:
            click.echo(check.to_text(max_lines=20), err=True)
            raise click.ClickException(
                f"the imported dataset does not pass validation (see the problems above), so nothing was written "
                f"to {out}; this is a coachkit bug: please report it with the import report"
            )
        result.data.save(out, fmt)
    except OSError as exc:
        raise click.ClickException(f"--out {out}: {os_reason(exc, out, what='folder')}") from None
    finally:
        shutil.rmtree(trial, ignore_errors=True)


def _writable_folder(out: Path) -> str | None:
    """Why ``out`` cannot be the dataset folder (one line), or None."""
    try:
        st = os.stat(out)
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.lexists(out):
            return None  # created
        return os_reason(exc, out, what="folder")
    if not stat.S_ISDIR(st.st_mode):
        return "is a file, not a folder; give a folder for the dataset"
    return None


def _mapping_option(help_text: str) -> Callable:
    return click.option(
        "--mapping",
        "mapping",
        type=InputPath("file"),
        default=None,
        help=help_text,
    )


_CRM_MAPPING_HELP = (
    "TOML file extending the built-in maps: [files], [options], [outcomes], [activity_types], [stages] "
    "(Salesforce also [subject_prefixes], [tasks])."
)
_OUT = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),  # checked by _writable_folder, with coachkit's reasons
    help="Dataset folder to write (created if needed).",
)
_SRC = click.argument("src", type=InputPath("folder"))


def _crm_command(crm: str, help_text: str) -> None:
    """Register ``coachkit import CRM``, which runs ``coachkit.importers.CRM.import_CRM``."""

    @import_group.command(crm, help=help_text)
    @_SRC
    @_OUT
    @_FORMAT
    @_mapping_option(_CRM_MAPPING_HELP)
    @_PLAYBOOK
    @_reading_options
    def command(src: Path, out: Path, fmt: str, mapping: Path | None, playbook: Path | None, **reading) -> None:
        # imported on use so that `coachkit --help` stays fast
        importer = getattr(importlib.import_module(f".{crm}", __package__), f"import_{crm}")
        opts = _given(**reading)
        _run(lambda pb: importer(src, mapping=mapping, playbook=pb, options=opts), src, out, fmt, playbook)


_crm_command("salesforce", "Import a Salesforce export folder (Task, Event, Opportunity, User .csv).")
_crm_command(
    "hubspot",
    "Import a HubSpot export folder (calls, meetings, emails, notes, tasks, deals, owners .csv): API property "
    "names or the UI export's labels.",
)
_crm_command(
    "pipedrive",
    "Import a Pipedrive export folder (activities, deals, optional users .csv): API fields or the UI export's "
    "'Activity - ...' / 'Deal - ...' headers.",
)


@import_group.command("csv")
@click.argument("paths", nargs=-1, required=True, type=InputPath("any"))
@click.option(
    "--mapping",
    "mapping",
    type=InputPath("file"),
    default=None,
    help="TOML mapping: source files and columns per canonical table (see coachkit/importers/mappings/README.md).",
)
@click.option(
    "--draft-mapping",
    "draft",
    is_flag=True,
    help="Profile PATHS (CSV files, or folders of them) and write a commented draft mapping to --out "
    "(a .toml file; default: print it).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Dataset folder to write; with --draft-mapping, the mapping file to write.",
)
@_FORMAT
@_PLAYBOOK
@_reading_options
def csv_cmd(
    paths: tuple[Path, ...],
    mapping: Path | None,
    draft: bool,
    out: Path | None,
    fmt: str,
    playbook: Path | None,
    **reading,
) -> None:
    """Import any CSV export through a mapping file: coachkit import csv SRC --mapping M.toml --out DIR.

    Without a mapping yet: coachkit import csv --draft-mapping FILE... [--out M.toml] drafts one.
    """
    opts = _given(**reading)
    if draft:
        _draft(list(paths), out, opts)
        return
    if len(paths) != 1 or not paths[0].is_dir():
        raise click.UsageError("give one export folder: coachkit import csv SRC --mapping M.toml --out DIR")
    if mapping is None or out is None:
        raise click.UsageError(
            "--mapping and --out are required (no mapping yet? `coachkit import csv --draft-mapping FILE...`)"
        )
    from .mapping import import_csv

    src = paths[0]
    _run(lambda pb: import_csv(src, mapping, playbook=pb, options=opts), src, out, fmt, playbook)


def _draft(paths: list[Path], out: Path | None, opts: dict[str, Any]) -> None:
    from .draft import draft_mapping
    from .options import ImportOptions

    try:
        text, root = draft_mapping(paths, options=ImportOptions().merged(where="option", **opts))
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    if out is None:
        click.echo(text, nl=False)
        return
    if out.exists():
        raise click.ClickException(f"{out} exists; coachkit does not overwrite your files: choose another name")
    write_text(out, text)
    click.echo(f"Wrote a draft mapping to {out}; check its guesses, then run:")
    click.echo(f"  coachkit import csv {root} --mapping {out} --out DATASET")
