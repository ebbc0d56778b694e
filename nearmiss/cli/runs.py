"""`nearmiss runs list|cancel`: mining and training runs as jobs."""
from __future__ import annotations

import json

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.jobs.runs import cancel, list_runs

runs_app = typer.Typer(help="Mining and training runs: list them, cancel one.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_cmd(ctx: typer.Context, kind: str = typer.Option(None, help="Only runs of this kind: mine or train."),
             limit: int = typer.Option(50, help="How many of the newest runs."),
             as_json: bool = typer.Option(False, "--json", help="A JSON list.")) -> None:
    """The newest runs of every kind: id, kind, status, progress, dataset, message (dead ones
    marked interrupted first)."""
    runs = list_runs(store_of(ctx), kind, limit)
    if as_json:
        typer.echo(json.dumps(runs, default=str))
        return
    for r in runs:
        typer.echo(f"{r['id']:>5}  {r['kind']:<6} {r['status']:<11} {100 * r['progress']:5.1f}%  "
                   f"{r['dataset'] or '-'}  {r['message'] or ''}")
    if not runs:
        typer.echo("no runs yet")


@runs_app.command("cancel")
def cancel_cmd(ctx: typer.Context, run: int = typer.Argument(..., help="Run id (see `nearmiss runs list`).")) -> None:
    """Cancel a pending or running run and stop its process (what it stored stays)."""
    typer.echo(cancel(store_of(ctx), run))
