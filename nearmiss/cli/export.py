"""`nearmiss export`: write curated negatives in a training format, with a manifest."""
from __future__ import annotations

from typing import Any

import typer

from nearmiss.cli import app
from nearmiss.cli.core import say_run, store_of
from nearmiss.cli.options import config_options
from nearmiss.export import ExportConfig, export, export_record, export_summary
from nearmiss.jobs.inline import run_here
from nearmiss.settings import build


@app.command("export")
@config_options(ExportConfig, flags={"filters.labels": "label", "filters.origins": "origin",
                                     "filters.datasets": "dataset", "filters.splits": "split"})
def export_cmd(ctx: typer.Context, settings: dict[str, Any]) -> None:
    """Export labeled negatives (and gold answers) as files of a training format, plus manifest.json, as a
    run of kind export (see `nearmiss runs`; a cancelled export leaves no files)."""
    cfg = build(ExportConfig, settings)
    store = store_of(ctx)
    manifest = run_here(store, "export", export_record(cfg), lambda report: export(store, cfg, report),
                        export_summary, on_start=say_run)
    typer.echo(export_summary(manifest))
    for path, table in manifest["tables"].items():
        typer.echo(f"  {cfg.out / path}: {table['rows']} rows")
    typer.echo(f"manifest: {cfg.out / 'manifest.json'}")
