"""`nearmiss export`: write curated negatives in a training format, with a manifest."""
from __future__ import annotations

from typing import Any

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.cli.options import config_options
from nearmiss.export import ExportConfig, export
from nearmiss.settings import build


@app.command("export")
@config_options(ExportConfig, flags={"filters.labels": "label", "filters.origins": "origin",
                                     "filters.datasets": "dataset", "filters.splits": "split"})
def export_cmd(ctx: typer.Context, settings: dict[str, Any]) -> None:
    """Export labeled negatives (and gold answers) as files of a training format, plus manifest.json."""
    cfg = build(ExportConfig, settings)
    manifest = export(store_of(ctx), cfg)
    sel = manifest["selection"]
    labels = ", ".join(f"{k} {v}" for k, v in sel["by_label"].items())
    typer.echo(f"{cfg.format} ({manifest['style']}): {sel['items']} items, {sel['negatives']} negatives ({labels}); "
               f"split {manifest['split']['items']}")
    for path, table in manifest["tables"].items():
        typer.echo(f"  {cfg.out / path}: {table['rows']} rows")
    typer.echo(f"manifest: {cfg.out / 'manifest.json'}")
