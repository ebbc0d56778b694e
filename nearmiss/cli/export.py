"""`nearmiss export`: write curated negatives in a training format, with a manifest."""
from __future__ import annotations

from pathlib import Path

import typer

from nearmiss.cli import app
from nearmiss.cli.core import store_of
from nearmiss.export import FORMATS, ExportConfig, ExportFilters, export, help_of
from nearmiss.export.config import HIR_TEMPLATE
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.store.schema import NEGATIVE_LABELS

F, C = ExportFilters, ExportConfig


@app.command("export")
def export_cmd(ctx: typer.Context,
               format: str = typer.Option(..., "--format", help=f"One of: {', '.join(FORMATS)}."),
               out: Path = typer.Option(..., "--out", help=help_of(C, "out")),
               label: list[str] = typer.Option(None, "--label", help=help_of(F, "labels") + " Repeatable."),
               min_annotators: int = typer.Option(1, help=help_of(F, "min_annotators")),
               min_agreement: float = typer.Option(0.0, help=help_of(F, "min_agreement")),
               nearness_min: float = typer.Option(None, help=help_of(F, "nearness_min")),
               nearness_max: float = typer.Option(None, help=help_of(F, "nearness_max")),
               p_near_min: float = typer.Option(None, help=help_of(F, "p_near_min")),
               p_near_max: float = typer.Option(None, help=help_of(F, "p_near_max")),
               origin: list[str] = typer.Option(None, "--origin", help=help_of(F, "origins") + " Repeatable."),
               dataset: list[str] = typer.Option(None, "--dataset", help=help_of(F, "datasets") + " Repeatable."),
               split: list[str] = typer.Option(None, "--split", help=help_of(F, "splits") + " Repeatable."),
               include_unlabeled_distractors: bool = typer.Option(False, help=help_of(F, "include_unlabeled_distractors")),
               style: str = typer.Option(None, help=help_of(C, "style")),
               parquet: bool = typer.Option(False, help=help_of(C, "parquet")),
               val_fraction: float = typer.Option(0.1, help=help_of(C, "val_fraction")),
               seed: int = typer.Option(0, help=help_of(C, "seed")),
               correct_marker: str = typer.Option(NAT_CORRECT, help=help_of(C, "correct_marker")),
               incorrect_marker: str = typer.Option(NAT_INCORRECT, help=help_of(C, "incorrect_marker")),
               hir_template: str = typer.Option(HIR_TEMPLATE, help=help_of(C, "hir_template")),
               overwrite: bool = typer.Option(False, help=help_of(C, "overwrite")),
               ) -> None:
    """Export labeled negatives (and gold answers) to dpo, kto, sft, nat, hir, likra or hf files plus manifest.json."""
    filters = ExportFilters(labels=label or list(NEGATIVE_LABELS), min_annotators=min_annotators,
                            min_agreement=min_agreement, nearness_min=nearness_min, nearness_max=nearness_max,
                            p_near_min=p_near_min, p_near_max=p_near_max,
                            origins=origin or [], datasets=dataset or [], splits=split or [],
                            include_unlabeled_distractors=include_unlabeled_distractors)
    cfg = ExportConfig(format=format, out=out, filters=filters, style=style, parquet=parquet,
                       val_fraction=val_fraction, seed=seed, correct_marker=correct_marker,
                       incorrect_marker=incorrect_marker, hir_template=hir_template, overwrite=overwrite)
    manifest = export(store_of(ctx), cfg)
    sel = manifest["selection"]
    labels = ", ".join(f"{k} {v}" for k, v in sel["by_label"].items())
    typer.echo(f"{format} ({manifest['style']}): {sel['items']} items, {sel['negatives']} negatives ({labels}); "
               f"split {manifest['split']['items']}")
    for path, table in manifest["tables"].items():
        typer.echo(f"  {out / path}: {table['rows']} rows")
    typer.echo(f"manifest: {out / 'manifest.json'}")
