"""``coachkit review SOURCE --out DIR``: the weekly review of every rep, as HTML for managers.

Registered on the ``coachkit`` command group by :mod:`coachkit.cli`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from .cli_paths import InputPath

__all__ = ["review_command"]


class DatasetSource(InputPath):
    """A dataset folder or ``.duckdb`` file (checked as :class:`InputPath` does), or a URL kept as text
    (``s3://bucket/crm``: read through fsspec by the batch and the workers, :mod:`coachkit.remote`)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from .remote import is_url

        if is_url(str(value)):
            return str(value)
        return super().convert(value, param, ctx)


@click.command("review")
@click.argument("source", type=DatasetSource("dataset"))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: one folder per review week (DIR/2026-W47/: one .ipynb and .html per rep, index.html, "
    "manifest.json) and DIR/index.html listing the weeks.",
)
@click.option(
    "--rep", "reps", multiple=True, metavar="ID", help="Review this rep (repeatable). Default: every active rep."
)
@click.option("--team", "teams", multiple=True, metavar="NAME", help="Review this team's active reps (repeatable).")
@click.option(
    "--as-of", "as_of", default=None, metavar="DATE", help="Last day of the window; default: latest activity."
)
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(min=1), help="Window length in weeks.")
@click.option("--workers", default=None, type=click.IntRange(min=1), help="Parallel workers; default: number of cores.")
@click.option(
    "--timeout", default=600, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Seconds per cell."
)
@click.option("--no-html", "no_html", is_flag=True, help="Only the executed notebooks, no HTML.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary unless something failed.")
@click.option(
    "--isolation",
    type=click.Choice(["fresh", "warm"]),
    default="warm",
    show_default=True,
    help="warm: each worker reuses one kernel (imports paid once), clearing the namespace before each rep; "
    "fresh: a new kernel per rep, slower, but no module-level state (e.g. pandas options) can carry over.",
)
@click.option("--playbook", type=InputPath("file"), help="Playbook override.")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the reviews on a Dask cluster (needs coachkit[dask]): the scheduler's address, e.g. "
    "tcp://10.0.0.5:8786, or local:N for a cluster of N worker processes on this machine. Workers read SOURCE "
    "at the same path (a shared folder) or URL (s3://, gs://, abfs://); DIR needs to be on this machine only.",
)
def review_command(
    source: Path,
    out: Path,
    reps: tuple[str, ...],
    teams: tuple[str, ...],
    as_of: str | None,
    weeks: int,
    workers: int | None,
    timeout: float,
    no_html: bool,
    quiet: bool,
    isolation: str,
    playbook: Path | None,
    scheduler: str | None,
) -> None:
    """Review each rep of SOURCE into DIR/<week>; exit 1 naming the reps whose review failed.

    Exits 1 with a one-line error when DIR cannot be written, another run holds DIR, or the
    data changed while it was read; 130 (Ctrl-C) or 143 (SIGTERM) when stopped, after
    removing what the run had staged: DIR keeps its previous runs.
    """
    from .batch import run_reviews
    from .cluster import ClusterError
    from .procs import Interrupted
    from .publish import OutputError
    from .runlock import RunLockedError
    from .snapshot import DataChangedError

    try:
        result = run_reviews(
            source,
            out,
            reps=reps,
            teams=teams,
            as_of=as_of,
            weeks=weeks,
            workers=workers,
            timeout=timeout,
            html=not no_html,
            quiet=quiet,
            isolation=isolation,
            playbook=playbook,
            client=scheduler or None,
        )
    except Interrupted as exc:
        # nbclient's event loop was left mid-cell: asyncio would log its abandoned tasks at exit
        logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
        click.echo(f"coachkit review: stopped by {exc.signal_name}; nothing of this run was published.", err=True)
        sys.exit(exc.exit_code)
    except (OutputError, RunLockedError, DataChangedError, ClusterError) as exc:
        raise click.ClickException(str(exc)) from None
    except (ValueError, FileNotFoundError) as exc:
        raise click.UsageError(str(exc)) from exc
    except Exception as exc:
        if type(exc).__name__ == "DataError":  # the dataset failed validation: show the report
            raise click.ClickException(str(exc)) from exc
        raise
    if result.failed:
        click.echo(result.summary(), err=True)
        sys.exit(1)
    if not quiet:
        click.echo(result.summary())
    else:  # a rep asked for by name and not reviewed is said even when quiet
        for rep, reason in result.skipped.items():
            if rep in reps:
                click.echo(f"skipped {rep!r}: {reason.get('message')}", err=True)
