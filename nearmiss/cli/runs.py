"""`nearmiss runs list|cancel|resume`: mining, training, load and export runs as jobs."""
from __future__ import annotations

import json

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.jobs.owners import ACTIVE
from nearmiss.jobs.resume import resume
from nearmiss.jobs.runs import cancel, list_runs

runs_app = typer.Typer(help="Mining, training, load and export runs: list them, cancel or resume one.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def list_cmd(ctx: typer.Context, kind: str = typer.Option(None, help="Only runs of this kind: mine, train, load or export."),
             limit: int = typer.Option(50, help="How many of the newest runs."),
             as_json: bool = typer.Option(False, "--json", help="A JSON list.")) -> None:
    """The newest runs of every kind: id, name (mining run 1, training run 1, ...), status, progress,
    dataset, what it does now (stage, i of n, rate, ETA) and its message (dead ones marked interrupted
    first). The id is what cancel and resume take."""
    runs = list_runs(store_of(ctx), kind, limit)
    if as_json:
        typer.echo(json.dumps(runs, default=str))
        return
    for r in runs:
        doing = f"{r['doing']}  " if r["status"] in ACTIVE and r["doing"] else ""
        typer.echo(f"{r['id']:>5}  {r['name']:<16} {r['status']:<11} {100 * r['progress']:5.1f}%  "
                   f"{r['dataset'] or '-'}  {doing}{r['message'] or ''}")
    if not runs:
        typer.echo("no runs yet")


@runs_app.command("cancel")
def cancel_cmd(ctx: typer.Context, run: int = typer.Argument(..., help="Run id (see `nearmiss runs list`).")) -> None:
    """Cancel a pending or running run and stop its process (what a mining or training run stored stays; a
    load undoes what it stored but labeled items, an export leaves no files)."""
    typer.echo(cancel(store_of(ctx), run))


@runs_app.command("resume")
def resume_cmd(ctx: typer.Context, run: int = typer.Argument(..., help="Run id (see `nearmiss runs list`).")) -> None:
    """Start a cancelled, interrupted or failed run again in the background, on what it has not
    stored yet (mining: items not mined; training: curve points not stored)."""
    typer.echo(resume(store_of(ctx), run))
