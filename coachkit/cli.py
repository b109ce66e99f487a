"""The ``coachkit`` command line: sample, validate, info, kpis, review, import, playbook, explore.

Commands import their modules lazily so that ``coachkit --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_paths import InputPath

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="coachkit")
def main() -> None:
    """coachkit: measure a sales team's selling activities and link effort to feedback.

    A dataset is a folder with activities.csv|parquet, reps.csv|parquet,
    optionally deals.csv|parquet and playbook.toml, or a single .duckdb file.
    """


@main.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--reps", default=30, show_default=True, help="Number of reps.")
@click.option("--weeks", default=26, show_default=True, help="Number of weeks of activity.")
@click.option("--seed", default=0, show_default=True, help="Random seed; the same seed gives identical files.")
@click.option(
    "--start", default=None, help="First Monday (YYYY-MM-DD); default: a fixed date so output is reproducible."
)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
def sample_cmd(out: Path, reps: int, weeks: int, seed: int, start: str | None, fmt: str) -> None:
    """Write a realistic, deterministic sample dataset to OUT."""
    from .sample import sample

    data = sample(reps=reps, weeks=weeks, seed=seed, start=start)
    data.save(out, format=fmt)
    click.echo(
        f"wrote {out}: {len(data.activities):,} activities, {len(data.reps):,} reps, {len(data.deals):,} deals ({fmt})"
    )


# SOURCE and --playbook are not checked by click: coachkit says why a path cannot be read (a link loop,
# a directory in a file's place, a denied permission) in the report, in one line, instead of "does not exist".
@main.command("validate")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--playbook", type=click.Path(path_type=Path), help="Playbook override.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate_cmd(source: Path, playbook: Path | None, as_json: bool) -> None:
    """Check SOURCE against the data model; exit 1 when it has errors."""
    from .load import validate

    report = validate(source, playbook=playbook)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo(report.to_text())
    sys.exit(0 if report.ok else 1)


@main.command("info")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--playbook", type=click.Path(path_type=Path), help="Playbook override.")
def info_cmd(source: Path, playbook: Path | None) -> None:
    """Summarise SOURCE: rows, reps, teams, date range and activity mix."""
    from .info import summary, summary_text
    from .load import DataError, load

    try:
        data = load(source, playbook=playbook)
    except DataError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(summary_text(summary(data)))


@main.command("kpis")
@click.option(
    "--playbook",
    type=click.Path(path_type=Path),
    help="Also list the KPIs registered by this playbook's [kpis] modules.",
)
def kpis_cmd(playbook: Path | None) -> None:
    """List the KPIs: name, label, unit, kind and exact definition."""
    from . import kpis

    if playbook is not None:
        from .playbook import Playbook, PlaybookError

        try:
            kpis.import_kpi_modules(Playbook.from_toml(playbook))
        except PlaybookError as exc:
            raise click.ClickException(str(exc)) from exc
    table = kpis.list_kpis()
    for row in table.itertuples(index=False):
        direction = "higher is better" if row.higher_is_better else "lower is better"
        click.echo(f"{row.name}  —  {row.label} [{row.unit}] ({row.kind}, {direction})")
        for line in str(row.definition).splitlines():
            click.echo(f"    {line}")
        click.echo()


@main.command("playbook")
def playbook_cmd() -> None:
    """Print the documented default playbook (copy it to your dataset as playbook.toml)."""
    from .playbook import DEFAULT_PLAYBOOK_TEXT

    click.echo(DEFAULT_PLAYBOOK_TEXT, nl=False)


@main.command("explore")
@click.argument("source", type=InputPath("dataset"))
@click.option("--port", default=8866, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--playbook", type=InputPath("file"), help="Playbook override.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the address.")
@click.option("--verbose", is_flag=True, help="Show the server's (Voila's) log.")
def explore_cmd(source: Path, port: int, playbook: Path | None, no_browser: bool, verbose: bool) -> None:
    """Serve the coach's explorer for SOURCE as a web page on this computer (Voila; Ctrl-C stops it).

    The page needs no Jupyter and no network: pick a team, reps, a KPI and dates, search the notes and
    drill down to the activities behind a rep and period.
    """
    from .app import serve

    try:
        serve(source, port=port, playbook=playbook, open_browser=not no_browser, verbose=verbose, echo=click.echo)
    except RuntimeError as exc:
        click.echo(f"coachkit explore: {exc}", err=True)
        sys.exit(1)


def _register_subcommands() -> None:
    """Attach the commands defined beside the modules they drive."""
    from .importers.cli import import_group
    from .review_cli import review_command

    main.add_command(review_command, "review")
    main.add_command(import_group, "import")


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    main()
