"""``coachkit import``: turn a CRM export into a validated canonical dataset folder.

Register with ``cli.add_command(import_group, name="import")``. Each subcommand
prints the import report, writes the dataset, validates it, and exits 1 with a
clear message when the export lacks required data.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import click

from ..load import validate
from ..playbook import Playbook, PlaybookError
from .common import ExportError, ImportResult

__all__ = ["import_group"]

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="File format of the dataset tables.",
)
_OUT = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dataset folder to write (created if needed).",
)
_PLAYBOOK = click.option(
    "--playbook",
    "playbook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="playbook.toml to use (timezone, outcomes, stages); default: the built-in playbook.",
)
_SRC = click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))


@click.group(name="import")
def import_group() -> None:
    """Import a CRM export (Salesforce, HubSpot, Pipedrive or any CSV with a mapping)."""


def _run(build: Callable[[Playbook], ImportResult], out: Path, fmt: str, playbook: Path | None) -> None:
    try:
        pb = Playbook.from_toml(playbook) if playbook else Playbook.default()
        result = build(pb)
    except (ExportError, PlaybookError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.report.to_text())
    result.data.save(out, fmt)
    check = validate(out)
    click.echo(f"Wrote {out} ({fmt}).")
    if not check.ok:
        click.echo(check.to_text(max_lines=20), err=True)
        raise click.ClickException(f"{out} does not pass validation; see the problems above")


def _mapping_option(help_text: str) -> Callable:
    return click.option(
        "--mapping",
        "mapping",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


_CRM_MAPPING_HELP = "TOML file extending the built-in maps: [files], [outcomes], [activity_types], [stages]."


def _crm_command(crm: str, help_text: str) -> None:
    """Register ``coachkit import CRM``, which runs ``coachkit.importers.CRM.import_CRM``."""

    @import_group.command(crm, help=help_text)
    @_SRC
    @_OUT
    @_FORMAT
    @_mapping_option(_CRM_MAPPING_HELP)
    @_PLAYBOOK
    def command(src: Path, out: Path, fmt: str, mapping: Path | None, playbook: Path | None) -> None:
        # imported on use so that `coachkit --help` stays fast
        importer = getattr(importlib.import_module(f".{crm}", __package__), f"import_{crm}")
        _run(lambda pb: importer(src, mapping=mapping, playbook=pb), out, fmt, playbook)


_crm_command("salesforce", "Import a Salesforce export folder (Task, Event, Opportunity, User .csv).")
_crm_command("hubspot", "Import a HubSpot export folder (calls, meetings, emails, notes, tasks, deals, owners .csv).")
_crm_command("pipedrive", "Import a Pipedrive export folder (activities, deals, users .csv).")


@import_group.command("csv")
@_SRC
@click.option(
    "--mapping",
    "mapping",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML mapping: source files and columns per canonical table (see coachkit/importers/mappings/README.md).",
)
@_OUT
@_FORMAT
@_PLAYBOOK
def csv_cmd(src: Path, mapping: Path, out: Path, fmt: str, playbook: Path | None) -> None:
    """Import any CSV export through a mapping file."""
    from .mapping import import_csv

    _run(lambda pb: import_csv(src, mapping, playbook=pb), out, fmt, playbook)
